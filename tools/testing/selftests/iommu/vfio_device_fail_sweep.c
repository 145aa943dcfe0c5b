// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fail-nth sweep (fail_sweep.h) over the paths a real device takes
 * through iommufd: QEMU's edu devices behind emulated VT-d, bound to
 * vfio-pci.  The scenarios run the kernel API VFIO calls (bind, attach,
 * replace, detach, unbind on close) and the Intel IOMMU driver's domain
 * allocation and page-table fill under every injected failure:
 *  - the device cdev: VFIO_DEVICE_BIND_IOMMUFD, ATTACH/DETACH_IOMMUFD_PT
 *    to IOASes (automatic HWPTs) and user-allocated HWPTs, two devices
 *    sharing an automatic HWPT, maps and copies while attached;
 *  - the group path: /dev/vfio/vfio (type1v2) or /dev/iommu (type1 with
 *    cutting unmaps) as the container, SET_CONTAINER, SET_IOMMU, maps
 *    before and after the device fd attaches the compat IOAS, and of the
 *    device's own BAR;
 *  - the emulated-device path: the test mdev (mdev_device.h) bound through
 *    its cdev, DMA with vfio_dma_rw(), pins with vfio_pin_pages(), unmap
 *    and replace that make the driver unpin, close with pins held.
 * After the sweep each test checks that the device still does DMA, so a
 * failure path that left the device or vfio-pci in a broken state shows.
 *
 * Enabling the device evaluates ACPI methods, so these sweeps need the
 * kernel's fault-injection stack-trace filter to keep ACPICA out of them
 * (fail_sweep.h says why); without it they skip.
 */
#include "fail_sweep.h"
#include "edu_device.h"
#include "mdev_device.h"

#define PATH_LEN 256
#define IOVA_A 0x100000UL
#define IOVA_B 0x200000UL
#define NOT_READY "no two edus for vfio-pci, or no fault-injection stack filter"

/* Computed before any sweep: a scenario must not allocate to find them */
static char bdf[2][64];
static char cdev[2][PATH_LEN];
static char group[PATH_LEN];
static const char mdev_uuid[] = "5e1f0c2a-3b4d-4c6e-8f70-00000000f00d";
static char mdev_cdev[PATH_LEN];
/*
 * The edus' IOMMU driver builds a domain at its first attach (6.12's
 * virtio-iommu): a replace onto a new domain is refused there, so the
 * scenarios move a device by detach and attach instead.
 */
static bool domains_built_at_attach;

/*
 * Find both edus, hand them to vfio-pci; 0, or -1 to skip when they or
 * the ACPICA exclusion are missing.
 */
static int edus_ready(void)
{
	int i;

	if (!acpica_rejected())
		return -1;
	ksft_print_msg("ACPICA's text %s-%s is not swept\n", acpica_start,
		       acpica_end);
	for (i = 0; i != 2; i++) {
		if (edu_find(i, bdf[i], sizeof(bdf[i])) ||
		    edu_bind_vfio_pci(bdf[i]) ||
		    edu_cdev_path(bdf[i], cdev[i], sizeof(cdev[i])))
			return -1;
	}
	domains_built_at_attach = edu_iommu_of(bdf[0]) == EDU_IOMMU_VIRTIO;
	return edu_group_path(bdf[0], group, sizeof(group));
}

static int open_run_file(struct run *r, const char *path, int *fd)
{
	*fd = open(path, O_RDWR);
	if (*fd < 0)
		return -errno;
	run_add_fd(r, *fd);
	return 0;
}

/* Open the device cdev at @path and bind it to the run's iommufd */
static int cdev_bind(struct run *r, const char *path, int *devfd,
		     __u32 *dev_id)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = r->fd,
	};
	int ret;

	ret = open_run_file(r, path, devfd);
	if (ret)
		return ret;
	ret = do_ioctl(*devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	*dev_id = bind.out_devid;
	return ret;
}

static int cdev_attach(int devfd, __u32 pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach), .pt_id = pt_id,
	};

	return do_ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
}

static int cdev_detach(int devfd)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	return do_ioctl(devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
}

/* Move @devfd onto @pt_id, where the HWPT it lands on may be new */
static int cdev_move(int devfd, __u32 pt_id)
{
	int ret;

	if (domains_built_at_attach) {
		ret = cdev_detach(devfd);
		if (ret)
			return ret;
	}
	return cdev_attach(devfd, pt_id);
}

static int hw_info(int fd, __u32 dev_id)
{
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd), .dev_id = dev_id, .data_len = psize,
		.data_uptr = (uintptr_t)scratch,
	};

	return do_ioctl(fd, IOMMU_GET_HW_INFO, &cmd);
}

/* The scenarios: each returns 0 or the first -errno */

static int sc_cdev(struct run *r)
{
	__u32 ioas, ioas2, hwpt, dev0, dev1;
	int devfd0, devfd1, ret;

	ret = ioas_alloc(r->fd, &ioas);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, bufs[0], buf_len, IOVA_A);
	if (ret)
		return ret;
	ret = cdev_bind(r, cdev[0], &devfd0, &dev0);
	if (ret)
		return ret;
	ret = hw_info(r->fd, dev0);
	if (ret)
		return ret;
	/* An automatic HWPT, filled from the existing mapping */
	ret = cdev_attach(devfd0, ioas);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, bufs[1], buf_len, IOVA_B);
	if (ret)
		return ret;
	/* Replace by a user-allocated HWPT of the same IOAS */
	ret = hwpt_alloc(r->fd, 0, dev0, ioas, 0, NULL, &hwpt);
	if (ret)
		return ret;
	ret = cdev_move(devfd0, hwpt);
	if (ret)
		return ret;
	/* A second device, then the first back beside it in its HWPT */
	ret = cdev_bind(r, cdev[1], &devfd1, &dev1);
	if (ret)
		return ret;
	ret = cdev_attach(devfd1, ioas);
	if (ret)
		return ret;
	ret = cdev_attach(devfd0, ioas);
	if (ret)
		return ret;
	ret = destroy(r->fd, hwpt);
	if (ret)
		return ret;
	ret = unmap(r->fd, ioas, IOVA_A, buf_len);
	if (ret)
		return ret;
	/* Replace across IOASes: into one that holds a copy */
	ret = ioas_alloc(r->fd, &ioas2);
	if (ret)
		return ret;
	ret = copy(r->fd, ioas2, IOVA_A, ioas, IOVA_B, buf_len);
	if (ret)
		return ret;
	ret = cdev_move(devfd1, ioas2);
	if (ret)
		return ret;
	ret = cdev_detach(devfd0);
	if (ret)
		return ret;
	/* Closing unbinds devfd1 with its attachment and mappings present */
	return map_fixed(r->fd, ioas2, bufs[2], buf_len, IOVA_B);
}

/*
 * The first page of the device's own BAR0, mmapped through @devfd, mapped
 * at IOVA_BAR (a PFN mapping: no pages, the IOPTEs are MMIO); the user
 * mapping goes at once, the IOMMU's stays.  One page: each page of a BAR
 * is faulted in on its own, and each injection point costs a device
 * enable under TCG.
 */
#define IOVA_BAR 0x40000000UL

static int map_own_bar(int devfd, int container)
{
	struct vfio_region_info bar = {
		.argsz = sizeof(bar), .index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	void *va;
	int ret;

	if (ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &bar))
		return -errno;
	va = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, devfd,
		  bar.offset);
	if (va == MAP_FAILED)
		return -errno;
	ret = vfio_map(container, va, psize, IOVA_BAR);
	munmap(va, bar.size);
	return ret;
}

/*
 * The legacy flow up to the device fd, with a map before and after it;
 * the container is @node: /dev/vfio/vfio, or /dev/iommu, which VFIO takes
 * as a container too (its compat IOAS is made by SET_CONTAINER then)
 */
static int group_start(struct run *r, const char *node, unsigned long type,
		       int *container)
{
	int grp, devfd, ret;

	ret = open_run_file(r, node, container);
	if (ret)
		return ret;
	ret = open_run_file(r, group, &grp);
	if (ret)
		return ret;
	ret = do_ioctl(grp, VFIO_GROUP_SET_CONTAINER, container);
	if (ret)
		return ret;
	ret = ioctl(*container, VFIO_SET_IOMMU, type) < 0 ? -errno : 0;
	if (ret)
		return ret;
	ret = vfio_map(*container, bufs[0], buf_len, IOVA_A);
	if (ret)
		return ret;
	devfd = ioctl(grp, VFIO_GROUP_GET_DEVICE_FD, bdf[0]);
	if (devfd < 0)
		return -errno;
	run_add_fd(r, devfd);
	ret = vfio_map(*container, bufs[1], buf_len, IOVA_B);
	if (ret)
		return ret;
	return map_own_bar(devfd, *container);
}

static int sc_group_type1v2(struct run *r)
{
	struct vfio_iommu_type1_info *info = scratch;
	__u64 unmapped;
	int container, ret;

	ret = group_start(r, "/dev/vfio/vfio", VFIO_TYPE1v2_IOMMU,
			  &container);
	if (ret)
		return ret;
	memset(info, 0, 512);
	info->argsz = 512;
	ret = do_ioctl(container, VFIO_IOMMU_GET_INFO, info);
	if (ret)
		return ret;
	ret = vfio_unmap(container, 0, IOVA_A, buf_len, &unmapped);
	if (ret)
		return ret;
	ret = vfio_map(container, bufs[2], buf_len, IOVA_A);
	if (ret)
		return ret;
	return vfio_unmap(container, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0,
			  &unmapped);
}

static int sc_group_type1_cut(struct run *r)
{
	__u64 unmapped;
	int container, ret;

	ret = group_start(r, "/dev/iommu", VFIO_TYPE1_IOMMU, &container);
	if (ret)
		return ret;
	/* The two maps are not adjacent: cut the middle out of each */
	ret = vfio_unmap(container, 0, IOVA_A + psize, psize, &unmapped);
	if (ret)
		return ret;
	ret = vfio_unmap(container, 0, IOVA_B + 2 * psize, 2 * psize,
			 &unmapped);
	if (ret)
		return ret;
	/* Closing leaves the remaining pieces to the release of the file */
	return 0;
}

static int sc_mdev(struct run *r)
{
	__u32 ioas, ioas2, dev_id;
	int devfd, ret;

	ret = ioas_alloc(r->fd, &ioas);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, bufs[0], buf_len, IOVA_A);
	if (ret)
		return ret;
	ret = cdev_bind(r, mdev_cdev, &devfd, &dev_id);
	if (ret)
		return ret;
	ret = cdev_attach(devfd, ioas);
	if (ret)
		return ret;
	ret = mdev_cmd(devfd, CMD_READ, IOVA_A + 64, 256);
	if (ret)
		return ret;
	ret = mdev_cmd(devfd, CMD_PIN, IOVA_A, 2 * psize);
	if (ret)
		return ret;
	/* The driver unpins, then the unmap goes through */
	ret = unmap(r->fd, ioas, IOVA_A, buf_len);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, bufs[1], buf_len, IOVA_A);
	if (ret)
		return ret;
	ret = mdev_cmd(devfd, CMD_PIN, IOVA_A + psize, psize);
	if (ret)
		return ret;
	/* Replace: the driver drops its pins, DMA moves to the copy */
	ret = ioas_alloc(r->fd, &ioas2);
	if (ret)
		return ret;
	ret = copy(r->fd, ioas2, IOVA_B, ioas, IOVA_A, buf_len);
	if (ret)
		return ret;
	ret = cdev_attach(devfd, ioas2);
	if (ret)
		return ret;
	ret = mdev_cmd(devfd, CMD_WRITE, IOVA_B, 256);
	if (ret)
		return ret;
	/* Closing unbinds with these pins held */
	return mdev_cmd(devfd, CMD_PIN, IOVA_B, 3 * psize);
}

/*
 * After the sweep: a fresh bind and attach of edu 0 still moves data both
 * ways through the IOMMU.
 */
static int edu_still_does_dma(void)
{
	unsigned char *buf = bufs[3];
	int fd, devfd = -1, ret = -1;
	struct run r = { .fd = -1 };
	__u32 ioas, dev_id;
	__u64 bar0;

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		return -1;
	r.fd = fd;
	memset(buf, 0x5a, EDU_DMA_MAX);
	memset(buf + EDU_DMA_MAX, 0, EDU_DMA_MAX);
	if (ioas_alloc(fd, &ioas) ||
	    map_fixed(fd, ioas, buf, buf_len, IOVA_A) ||
	    cdev_bind(&r, cdev[0], &devfd, &dev_id) || cdev_attach(devfd, ioas) ||
	    edu_prepare_dma(devfd, &bar0))
		goto out;
	if (edu_dma(devfd, bar0, IOVA_A, EDU_BUFFER, EDU_DMA_MAX, 0) ||
	    edu_dma(devfd, bar0, EDU_BUFFER, IOVA_A + EDU_DMA_MAX,
		    EDU_DMA_MAX, EDU_DMA_TO_RAM))
		goto out;
	ret = memcmp(buf, buf + EDU_DMA_MAX, EDU_DMA_MAX) ? -1 : 0;
out:
	run_close(&r);
	return ret;
}

TEST_F_TIMEOUT(sweep, cdev_bind_attach_replace_two_devices_detach,
	       SWEEP_TIMEOUT)
{
	if (edus_ready())
		SKIP(return, NOT_READY);
	sweep(_metadata, self->nth_fd, self->check_fd, sc_cdev);
	EXPECT_EQ(0, edu_still_does_dma());
}

TEST_F_TIMEOUT(sweep, group_container_type1v2_map_unmap, SWEEP_TIMEOUT)
{
	if (edus_ready())
		SKIP(return, NOT_READY);
	sweep(_metadata, self->nth_fd, self->check_fd, sc_group_type1v2);
	EXPECT_EQ(0, edu_still_does_dma());
}

TEST_F_TIMEOUT(sweep, group_iommufd_container_type1_cutting_unmap,
	       SWEEP_TIMEOUT)
{
	if (edus_ready())
		SKIP(return, NOT_READY);
	sweep(_metadata, self->nth_fd, self->check_fd, sc_group_type1_cut);
	EXPECT_EQ(0, edu_still_does_dma());
}

TEST_F_TIMEOUT(sweep, mdev_bind_attach_dma_pin_unmap_replace, SWEEP_TIMEOUT)
{
	if (mdev_create(mdev_uuid))
		SKIP(return, "no iommufd_test_mdev parent (module not loaded)");
	if (mdev_cdev_path(mdev_uuid, mdev_cdev, sizeof(mdev_cdev))) {
		mdev_remove(mdev_uuid);
		ASSERT_TRUE(false) TH_LOG("the test mdev has no cdev");
	}
	sweep(_metadata, self->nth_fd, self->check_fd, sc_mdev);
	mdev_remove(mdev_uuid);
}

int main(int argc, char **argv)
{
	sweep_spares_acpica = true;
	return sweep_main(argc, argv);
}
