// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO device cdev on a real device behind an emulated IOMMU (QEMU's
 * edu; VT-d, virtio-iommu, AMD-Vi or SMMUv3):
 * the rules around VFIO_DEVICE_BIND_IOMMUFD, and real DMA through IOAS
 * mappings, automatic and user-allocated HWPTs, replace and unmap.
 *
 * Dirty tracking and nesting are used only where the emulated IOMMU
 * offers them: QEMU 7.2's VT-d has neither second-stage access/dirty bits
 * nor nesting, and virtio-iommu and AMD-Vi offer neither in 6.12, so
 * there the tests check that both are refused with EOPNOTSUPP and report
 * themselves skipped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "edu_device.h"
#include "uapi_calls.h"
#include "vm_pinned.h"

/* Given to vfio-pci, both edus are translated: each sits in a group */
TEST(edu_devices_sit_in_iommu_groups)
{
	char bdf[64];
	int i;

	for (i = 0; i != 2; i++) {
		ASSERT_EQ(0, edu_find(i, bdf, sizeof(bdf)));
		ASSERT_EQ(0, edu_bind_vfio_pci(bdf));
		EXPECT_TRUE(edu_translated(bdf));
	}
}

TEST(edu_binds_to_vfio_pci_and_gets_a_cdev)
{
	char bdf[64];
	int fd;

	ASSERT_EQ(0, edu_find(0, bdf, sizeof(bdf)));
	ASSERT_EQ(0, edu_bind_vfio_pci(bdf));
	fd = edu_open_cdev(bdf);
	ASSERT_LE(0, fd);
	close(fd);
}

/*
 * DMA needs the device's file: a process that may not open it (here: not
 * root, with the node 0600) cannot reach the device through any iommufd.
 */
TEST(a_process_without_access_to_the_device_cannot_open_it)
{
	char bdf[64], path[1024];
	struct dirent *d;
	int status;
	pid_t pid;
	DIR *dir;

	ASSERT_EQ(0, edu_find(0, bdf, sizeof(bdf)));
	ASSERT_EQ(0, edu_bind_vfio_pci(bdf));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	dir = opendir(path);
	ASSERT_NE(NULL, dir);
	path[0] = 0;
	while ((d = readdir(dir)))
		if (!strncmp(d->d_name, "vfio", 4))
			snprintf(path, sizeof(path), "/dev/vfio/devices/%s",
				 d->d_name);
	closedir(dir);
	ASSERT_NE(0, path[0]);
	ASSERT_EQ(0, chmod(path, 0600));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(2);
		_exit(open(path, O_RDWR) < 0 && errno == EACCES ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * VFIO_DEVICE_BIND_IOMMUFD of @devfd to a new /dev/iommu file, which is
 * closed again (a bound device holds its context): 0 or the errno
 */
static int bind_to_a_new_iommufd(int devfd)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	int ret;

	bind.iommufd = open("/dev/iommu", O_RDWR);
	if (bind.iommufd < 0)
		return errno;
	ret = ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind) ? errno : 0;
	close(bind.iommufd);
	return ret;
}

/*
 * An edu behind a PCIe-to-PCI bridge shares its IOMMU group with the
 * bridge and a virtio device that a kernel driver (virtio-pci) drives.
 * User space may not take the DMA of a group a kernel driver uses: the
 * IOMMU core refuses to hand its ownership over (EPERM).
 */
TEST(a_device_whose_group_has_a_kernel_driver_cannot_be_bound)
{
	char bdf[64];
	int devfd;

	if (edu_find_on(1, 0, bdf, sizeof(bdf)))
		SKIP(return, "no edu behind a bridge in this machine");
	edu_bind_vfio_pci(bdf);
	if (!edu_translated(bdf) && edu_machine_iommu() != EDU_IOMMU_VTD)
		SKIP(return, "the edu behind the bridge has no IOMMU group here");
	ASSERT_TRUE(edu_translated(bdf));
	devfd = edu_open_cdev(bdf);
	ASSERT_LE(0, devfd);
	EXPECT_EQ(EPERM, bind_to_a_new_iommufd(devfd));
	close(devfd);
}

/*
 * A device is used through its cdev or through its group, never both: while
 * the group's file is open, the cdev cannot bind (EBUSY); once it closes,
 * it can.
 */
TEST(a_device_whose_group_file_is_open_cannot_bind)
{
	char bdf[64];
	int devfd, group;

	ASSERT_EQ(0, edu_find(0, bdf, sizeof(bdf)));
	ASSERT_EQ(0, edu_bind_vfio_pci(bdf));
	devfd = edu_open_cdev(bdf);
	ASSERT_LE(0, devfd);
	group = edu_open_group(bdf);
	ASSERT_LE(0, group);
	EXPECT_EQ(EBUSY, bind_to_a_new_iommufd(devfd));
	close(group);
	EXPECT_EQ(0, bind_to_a_new_iommufd(devfd));
	close(devfd);
}

FIXTURE(edu_cdev) {
	int devfd;
	int iommufd;
};

FIXTURE_SETUP(edu_cdev)
{
	char bdf[64];

	ASSERT_EQ(0, edu_find(0, bdf, sizeof(bdf)));
	ASSERT_EQ(0, edu_bind_vfio_pci(bdf));
	self->devfd = edu_open_cdev(bdf);
	ASSERT_LE(0, self->devfd);
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
}

FIXTURE_TEARDOWN(edu_cdev)
{
	close(self->devfd);
	close(self->iommufd);
}

TEST_F(edu_cdev, device_ioctls_before_bind_are_einval)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(edu_cdev, attach_and_detach_before_bind_are_einval)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach), .pt_id = 1,
	};
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT,
			    &attach));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT,
			    &detach));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(edu_cdev, bind_with_short_argsz_is_einval)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind) - 1, .iommufd = self->iommufd,
	};

	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(edu_cdev, bind_with_flags_is_einval)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .flags = 1, .iommufd = self->iommufd,
	};

	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(edu_cdev, bind_with_negative_fd_is_einval)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = -1,
	};

	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(edu_cdev, bind_to_a_closed_fd_is_ebadf)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = 1000,
	};

	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EBADF, errno);
}

TEST_F(edu_cdev, bind_to_a_file_that_is_not_an_iommufd_is_ebadfd)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	int nullfd = open("/dev/null", O_RDWR);

	ASSERT_LE(0, nullfd);
	bind.iommufd = nullfd;
	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EBADFD, errno);
	close(nullfd);
}

TEST_F(edu_cdev, bind_with_unreadable_argument_is_efault)
{
	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, NULL));
	EXPECT_EQ(EFAULT, errno);
}

/* A page of @len bytes of @arg that the caller can read but not write */
static void *read_only_copy(const void *arg, size_t len)
{
	void *p = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memcpy(p, arg, len);
	if (mprotect(p, getpagesize(), PROT_READ)) {
		munmap(p, getpagesize());
		return NULL;
	}
	return p;
}

/*
 * Bind and attach write their result back last: when that write fails,
 * the call is EFAULT and undone, and the same call can then succeed.
 */
/* A device file binds once: the second bind, to any iommufd, is EINVAL */
TEST_F(edu_cdev, a_device_file_binds_only_once)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = self->iommufd,
	};
	int other = open("/dev/iommu", O_RDWR);

	ASSERT_LE(0, other);
	ASSERT_EQ(0, do_ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(-EINVAL,
		  do_ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	bind.iommufd = other;
	EXPECT_EQ(-EINVAL,
		  do_ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	close(other);
}

/* Attach and detach check their argsz and flags once bound, as bind does */
TEST_F(edu_cdev, attach_and_detach_with_short_argsz_or_flags_are_einval)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = self->iommufd,
	};
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach) - 1,
	};
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach) - 1,
	};
	const unsigned long at = VFIO_DEVICE_ATTACH_IOMMUFD_PT;
	const unsigned long dt = VFIO_DEVICE_DETACH_IOMMUFD_PT;

	ASSERT_EQ(0, do_ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	ASSERT_EQ(0, do_ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	attach.pt_id = alloc.out_ioas_id;
	EXPECT_EQ(-EINVAL, do_ioctl(self->devfd, at, &attach));
	attach.argsz = sizeof(attach);
	attach.flags = 1;
	EXPECT_EQ(-EINVAL, do_ioctl(self->devfd, at, &attach));
	/* Neither call attached; a proper one does */
	attach.flags = 0;
	ASSERT_EQ(0, do_ioctl(self->devfd, at, &attach));
	EXPECT_EQ(-EINVAL, do_ioctl(self->devfd, dt, &detach));
	detach.argsz = sizeof(detach);
	detach.flags = 1;
	EXPECT_EQ(-EINVAL, do_ioctl(self->devfd, dt, &detach));
	/* Still attached after both: a proper detach works */
	detach.flags = 0;
	EXPECT_EQ(0, do_ioctl(self->devfd, dt, &detach));
}

TEST_F(edu_cdev, bind_and_attach_whose_reply_cannot_be_written_are_undone)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = self->iommufd,
	};
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	void *ro;

	ro = read_only_copy(&bind, sizeof(bind));
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, getpagesize());
	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));

	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	attach.pt_id = alloc.out_ioas_id;
	ro = read_only_copy(&attach, sizeof(attach));
	ASSERT_NE(NULL, ro);
	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, ro));
	EXPECT_EQ(EFAULT, errno);
	munmap(ro, getpagesize());
	/* Not attached: nothing holds the IOAS */
	destroy.id = alloc.out_ioas_id;
	EXPECT_EQ(0, ioctl(self->iommufd, IOMMU_DESTROY, &destroy));
}

#define DMA_IOVA 0x200000UL
#define BUF_SIZE 0x4000UL

/* An edu device bound to /dev/iommu and attached to an IOAS */
FIXTURE(edu_dma) {
	int devfd;
	int iommufd;
	enum edu_iommu iommu;
	__u32 dev_id;
	__u32 ioas_id;
	__u32 hwpt_id;
	__u64 bar0;
	unsigned char *buf;
};

static int ioas_map_fixed(int iommufd, __u32 ioas_id, void *va, __u64 len,
			  __u64 iova)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas_id,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	return ioctl(iommufd, IOMMU_IOAS_MAP, &map);
}

static int attach_pt(int devfd, __u32 *pt_id)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach), .pt_id = *pt_id,
	};
	int ret = ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);

	*pt_id = attach.pt_id;
	return ret;
}

FIXTURE_SETUP(edu_dma)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	char bdf[64];

	ASSERT_EQ(0, edu_find(0, bdf, sizeof(bdf)));
	ASSERT_EQ(0, edu_bind_vfio_pci(bdf));
	self->iommu = edu_iommu_of(bdf);
	self->devfd = edu_open_cdev(bdf);
	ASSERT_LE(0, self->devfd);
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
	bind.iommufd = self->iommufd;
	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	self->dev_id = bind.out_devid;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	self->ioas_id = alloc.out_ioas_id;
	self->hwpt_id = self->ioas_id;
	ASSERT_EQ(0, attach_pt(self->devfd, &self->hwpt_id));
	ASSERT_NE(self->ioas_id, self->hwpt_id);
	ASSERT_EQ(0, edu_prepare_dma(self->devfd, &self->bar0));
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(edu_dma)
{
	munmap(self->buf, BUF_SIZE);
	close(self->devfd);
	close(self->iommufd);
}

/* Send the first half of @buf through the device into its second half */
static int round_trip(struct _test_data_edu_dma *self, __u64 iova)
{
	unsigned int i;

	for (i = 0; i != EDU_DMA_MAX; i++) {
		self->buf[i] = (unsigned char)(i * 13 + 7);
		self->buf[EDU_DMA_MAX + i] = 0;
	}
	if (edu_dma(self->devfd, self->bar0, iova, EDU_BUFFER, EDU_DMA_MAX,
		    0) ||
	    edu_dma(self->devfd, self->bar0, EDU_BUFFER, iova + EDU_DMA_MAX,
		    EDU_DMA_MAX, EDU_DMA_TO_RAM))
		return -1;
	return memcmp(self->buf, self->buf + EDU_DMA_MAX, EDU_DMA_MAX) ? 1 : 0;
}

TEST_F(edu_dma, dma_round_trip_through_an_automatic_hwpt)
{
	ASSERT_EQ(0, ioas_map_fixed(self->iommufd, self->ioas_id, self->buf,
				    BUF_SIZE, DMA_IOVA));
	EXPECT_EQ(0, round_trip(self, DMA_IOVA));
}

TEST_F(edu_dma, dma_round_trip_through_a_user_allocated_hwpt)
{
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc), .dev_id = self->dev_id,
		.pt_id = self->ioas_id,
	};
	__u32 pt_id;

	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_HWPT_ALLOC, &alloc));
	pt_id = alloc.out_hwpt_id;
	/* Its first attach (a replace onto it is another test's) */
	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT,
			   &detach));
	ASSERT_EQ(0, attach_pt(self->devfd, &pt_id));
	EXPECT_EQ(alloc.out_hwpt_id, pt_id);
	ASSERT_EQ(0, ioas_map_fixed(self->iommufd, self->ioas_id, self->buf,
				    BUF_SIZE, DMA_IOVA));
	EXPECT_EQ(0, round_trip(self, DMA_IOVA));
}

TEST_F(edu_dma, dma_to_an_unmapped_iova_faults_and_writes_nothing)
{
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .ioas_id = self->ioas_id,
		.iova = DMA_IOVA, .length = BUF_SIZE,
	};
	struct timespec settle = { 1, 0 };
	unsigned int i;

	ASSERT_EQ(0, ioas_map_fixed(self->iommufd, self->ioas_id, self->buf,
				    BUF_SIZE, DMA_IOVA));
	ASSERT_EQ(0, round_trip(self, DMA_IOVA));
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_UNMAP, &unmap));
	memset(self->buf + EDU_DMA_MAX, 0x5a, EDU_DMA_MAX);

	/* The device's write must be blocked by the IOMMU, which reports it */
	kernel_log_marker("harness: expect-fault begin\n");
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, EDU_BUFFER,
			     DMA_IOVA + EDU_DMA_MAX, EDU_DMA_MAX,
			     EDU_DMA_TO_RAM));
	nanosleep(&settle, NULL);
	kernel_log_marker("harness: expect-fault end\n");
	for (i = 0; i != EDU_DMA_MAX; i++)
		ASSERT_EQ(0x5a, self->buf[EDU_DMA_MAX + i]);
}

TEST_F(edu_dma, replace_moves_dma_to_the_new_ioas)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	unsigned char *other;
	__u32 pt_id;
	int ret;

	other = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, other);
	memset(other, 0, BUF_SIZE);
	ASSERT_EQ(0, ioas_map_fixed(self->iommufd, self->ioas_id, self->buf,
				    BUF_SIZE, DMA_IOVA));
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	ASSERT_EQ(0, ioas_map_fixed(self->iommufd, alloc.out_ioas_id, other,
				    BUF_SIZE, DMA_IOVA));
	ASSERT_EQ(0, round_trip(self, DMA_IOVA));

	/*
	 * A second attach replaces: the same IOVA now reaches @other.  An
	 * IOMMU driver that builds a domain at its first attach (6.12's
	 * virtio-iommu) has an empty one at the switch: refused there.
	 */
	pt_id = alloc.out_ioas_id;
	ret = attach_pt(self->devfd, &pt_id);
	if (ret && errno == EOPNOTSUPP && self->iommu == EDU_IOMMU_VIRTIO) {
		munmap(other, BUF_SIZE);
		SKIP(return, "virtio-iommu: a replace onto a new domain is EOPNOTSUPP");
	}
	ASSERT_EQ(0, ret);
	memset(self->buf + EDU_DMA_MAX, 0, EDU_DMA_MAX);
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, EDU_BUFFER,
			     DMA_IOVA + EDU_DMA_MAX, EDU_DMA_MAX,
			     EDU_DMA_TO_RAM));
	EXPECT_EQ(0, memcmp(self->buf, other + EDU_DMA_MAX, EDU_DMA_MAX));
	EXPECT_EQ(0, self->buf[EDU_DMA_MAX]);
	munmap(other, BUF_SIZE);
}

/* Detach, and a new IOAS with @buf mapped at DMA_IOVA; its id */
static __u32 mapped_ioas(struct __test_metadata *_metadata,
			 struct _test_data_edu_dma *self)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	EXPECT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT,
			   &detach));
	EXPECT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	EXPECT_EQ(0, ioas_map_fixed(self->iommufd, alloc.out_ioas_id,
				    self->buf, BUF_SIZE, DMA_IOVA));
	return alloc.out_ioas_id;
}

/*
 * A domain made for an IOAS that already has mappings holds them all once
 * the device is attached, whenever its driver builds it.
 */
TEST_F(edu_dma, a_new_automatic_hwpt_maps_what_the_ioas_already_maps)
{
	__u32 pt_id = mapped_ioas(_metadata, self);

	ASSERT_EQ(0, attach_pt(self->devfd, &pt_id));
	EXPECT_EQ(0, round_trip(self, DMA_IOVA));
}

TEST_F(edu_dma, a_user_allocated_hwpt_maps_what_the_ioas_already_maps)
{
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc), .dev_id = self->dev_id,
	};
	__u32 pt_id;

	alloc.pt_id = mapped_ioas(_metadata, self);
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_HWPT_ALLOC, &alloc));
	pt_id = alloc.out_hwpt_id;
	ASSERT_EQ(0, attach_pt(self->devfd, &pt_id));
	EXPECT_EQ(alloc.out_hwpt_id, pt_id);
	EXPECT_EQ(0, round_trip(self, DMA_IOVA));
}

TEST_F(edu_dma, an_ioas_with_an_attached_device_cannot_be_destroyed)
{
	struct iommu_destroy destroy = {
		.size = sizeof(destroy), .id = self->ioas_id,
	};

	EXPECT_EQ(-1, ioctl(self->iommufd, IOMMU_DESTROY, &destroy));
	EXPECT_EQ(EBUSY, errno);
}

TEST_F(edu_dma, a_detached_device_lets_its_ioas_go)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};
	struct iommu_destroy destroy = {
		.size = sizeof(destroy), .id = self->ioas_id,
	};

	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT,
			   &detach));
	EXPECT_EQ(0, ioctl(self->iommufd, IOMMU_DESTROY, &destroy));
}

/*
 * Without a domain an IOAS maps byte ranges; no IOMMU here maps less than
 * a page.  Moving the device to an IOAS holding such a mapping, or
 * attaching it there, is EADDRINUSE and changes nothing: the device keeps
 * DMA through where it was.  Once the mapping goes, the attach works.  (A
 * driver that builds its domain at the first attach, virtio-iommu in 6.12,
 * refuses any replace onto a new domain: EOPNOTSUPP.)
 */
TEST_F(edu_dma, an_ioas_holding_part_of_a_page_refuses_the_device)
{
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_unmap unmap = {
		.size = sizeof(unmap), .iova = DMA_IOVA, .length = 100,
	};
	__u32 pt_id;

	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	ASSERT_EQ(0, ioas_map_fixed(self->iommufd, alloc.out_ioas_id,
				    self->buf, 100, DMA_IOVA));
	ASSERT_EQ(0, ioas_map_fixed(self->iommufd, self->ioas_id, self->buf,
				    BUF_SIZE, DMA_IOVA));
	/* A replace (virtio-iommu: refused before the domain is filled) */
	pt_id = alloc.out_ioas_id;
	EXPECT_EQ(-1, attach_pt(self->devfd, &pt_id));
	EXPECT_EQ(self->iommu == EDU_IOMMU_VIRTIO ? EOPNOTSUPP : EADDRINUSE,
		  errno);
	EXPECT_EQ(0, round_trip(self, DMA_IOVA));

	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT,
			   &detach));
	pt_id = alloc.out_ioas_id;
	EXPECT_EQ(-1, attach_pt(self->devfd, &pt_id));
	EXPECT_EQ(EADDRINUSE, errno);

	unmap.ioas_id = alloc.out_ioas_id;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_UNMAP, &unmap));
	ASSERT_EQ(0, ioas_map_fixed(self->iommufd, alloc.out_ioas_id,
				    self->buf, BUF_SIZE, DMA_IOVA));
	pt_id = alloc.out_ioas_id;
	ASSERT_EQ(0, attach_pt(self->devfd, &pt_id));
	EXPECT_EQ(0, round_trip(self, DMA_IOVA));
}

/*
 * VT-d reports its registers; in 6.12 the other drivers (AMD-Vi,
 * virtio-iommu, SMMUv3) report no blob, and the buffer is zeroed.
 */
TEST_F(edu_dma, hw_info_reports_the_iommu_driver_blob)
{
	struct iommu_hw_info_vtd vtd;
	struct iommu_hw_info info = {
		.size = sizeof(info), .dev_id = self->dev_id,
		.data_len = sizeof(vtd), .data_uptr = (uintptr_t)&vtd,
	};
	char bdf[64];

	ASSERT_EQ(0, edu_find(0, bdf, sizeof(bdf)));
	memset(&vtd, 0xa5, sizeof(vtd));
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_GET_HW_INFO, &info));
	if (edu_iommu_of(bdf) == EDU_IOMMU_VTD) {
		EXPECT_EQ(IOMMU_HW_INFO_TYPE_INTEL_VTD, info.out_data_type);
		EXPECT_EQ(sizeof(vtd), info.data_len);
		EXPECT_NE(0, vtd.cap_reg);
	} else {
		EXPECT_EQ(IOMMU_HW_INFO_TYPE_NONE, info.out_data_type);
		EXPECT_EQ(0, info.data_len);
		EXPECT_EQ(0, vtd.cap_reg);
		EXPECT_EQ(0, vtd.ecap_reg);
	}
}

TEST_F(edu_dma, a_second_device_shares_the_automatic_hwpt)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = self->iommufd,
	};
	__u32 pt_id = self->ioas_id;
	char bdf[64];
	int devfd;

	ASSERT_EQ(0, edu_find(1, bdf, sizeof(bdf)));
	ASSERT_EQ(0, edu_bind_vfio_pci(bdf));
	devfd = edu_open_cdev(bdf);
	ASSERT_LE(0, devfd);
	ASSERT_EQ(0, ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	ASSERT_EQ(0, attach_pt(devfd, &pt_id));
	EXPECT_EQ(self->hwpt_id, pt_id);
	close(devfd);
}

static __u32 hw_capabilities(struct _test_data_edu_dma *self)
{
	struct iommu_hw_info info = {
		.size = sizeof(info), .dev_id = self->dev_id,
	};

	if (ioctl(self->iommufd, IOMMU_GET_HW_INFO, &info))
		return 0;
	return info.out_capabilities;
}

static int hwpt_alloc_flags(struct _test_data_edu_dma *self, __u32 flags,
			    __u32 *hwpt_id)
{
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc), .flags = flags,
		.dev_id = self->dev_id, .pt_id = self->ioas_id,
	};

	if (ioctl(self->iommufd, IOMMU_HWPT_ALLOC, &alloc))
		return -errno;
	*hwpt_id = alloc.out_hwpt_id;
	return 0;
}

TEST_F(edu_dma, dirty_tracking_is_offered_exactly_when_hw_info_says_so)
{
	bool capable = hw_capabilities(self) & IOMMU_HW_CAP_DIRTY_TRACKING;
	__u32 hwpt_id;
	int ret;

	ret = hwpt_alloc_flags(self, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt_id);
	EXPECT_EQ(capable ? 0 : -EOPNOTSUPP, ret);
}

TEST_F(edu_dma, device_writes_show_up_in_the_dirty_bitmap)
{
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set), .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
	};
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get), .iova = DMA_IOVA, .length = BUF_SIZE,
		.page_size = getpagesize(),
	};
	__u64 bitmap[4] = {};
	unsigned long page = getpagesize();
	__u32 hwpt_id;

	if (!(hw_capabilities(self) & IOMMU_HW_CAP_DIRTY_TRACKING))
		SKIP(return, "this IOMMU cannot track dirty IOVA (no IOMMU_HW_CAP_DIRTY_TRACKING)");
	ASSERT_EQ(0, hwpt_alloc_flags(self, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				      &hwpt_id));
	ASSERT_EQ(0, attach_pt(self->devfd, &hwpt_id));
	ASSERT_EQ(0, ioas_map_fixed(self->iommufd, self->ioas_id, self->buf,
				    BUF_SIZE, DMA_IOVA));
	set.hwpt_id = hwpt_id;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set));
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, EDU_BUFFER,
			     DMA_IOVA + 2 * page, EDU_DMA_MAX, EDU_DMA_TO_RAM));
	get.hwpt_id = hwpt_id;
	get.data = (uintptr_t)bitmap;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get));
	EXPECT_EQ(1ULL << 2, bitmap[0] & (1ULL << 2));
}

TEST_F(edu_dma, a_nest_parent_is_offered_only_by_an_iommu_that_nests)
{
	__u32 hwpt_id;
	int ret;

	ret = hwpt_alloc_flags(self, IOMMU_HWPT_ALLOC_NEST_PARENT, &hwpt_id);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "this IOMMU does not nest (EOPNOTSUPP)");
	ASSERT_EQ(0, ret);
	/* A nest parent is a paging domain: DMA works through it */
	ASSERT_EQ(0, attach_pt(self->devfd, &hwpt_id));
	ASSERT_EQ(0, ioas_map_fixed(self->iommufd, self->ioas_id, self->buf,
				    BUF_SIZE, DMA_IOVA));
	EXPECT_EQ(0, round_trip(self, DMA_IOVA));
}

static int send_fds(int sock, int a, int b)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = {};
	char byte = 0;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	int fds[2] = { a, b };

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fds(int sock, int *a, int *b)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = {};
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	int fds[2];

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(fds, CMSG_DATA(cmsg), sizeof(fds));
	*a = fds[0];
	*b = fds[1];
	return 0;
}

/*
 * The child of a live update: it gets the iommufd and the device over a
 * unix socket, takes the mappings over, and keeps the device's DMA going.
 * Exit codes name the step that failed.
 */
static int new_process(struct _test_data_edu_dma *self, int sock,
		       long want_kib)
{
	struct iommu_ioas_change_process change = { .size = sizeof(change) };
	int iommufd, devfd;

	close(self->iommufd);
	close(self->devfd);
	if (recv_fds(sock, &iommufd, &devfd))
		return 2;
	self->iommufd = iommufd;
	self->devfd = devfd;
	if (ioctl(iommufd, IOMMU_IOAS_CHANGE_PROCESS, &change))
		return 3;
	if (vm_pinned_kib() != want_kib)
		return 4;
	if (round_trip(self, DMA_IOVA))
		return 5;
	return 0;
}

TEST_F(edu_dma, a_new_process_takes_over_file_mappings_with_dma_running)
{
	struct iommu_ioas_map_file map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = self->ioas_id, .length = BUF_SIZE, .iova = DMA_IOVA,
	};
	long before = vm_pinned_kib();
	int sock[2], status, mfd;
	pid_t pid;

	mfd = memfd_create("guest-ram", 0);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, BUF_SIZE));
	munmap(self->buf, BUF_SIZE);
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
			 mfd, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	map.fd = mfd;
	if (ioctl(self->iommufd, IOMMU_IOAS_MAP_FILE, &map)) {
		ASSERT_EQ(ENOTTY, errno);
		close(mfd);
		SKIP(return, "no IOMMU_IOAS_MAP_FILE (newer than 6.12)");
	}
	EXPECT_EQ(before + (long)(BUF_SIZE >> 10), vm_pinned_kib());
	ASSERT_EQ(0, round_trip(self, DMA_IOVA));

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sock));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(sock[0]);
		_exit(new_process(self, sock[1], BUF_SIZE >> 10));
	}
	close(sock[1]);
	ASSERT_EQ(0, send_fds(sock[0], self->iommufd, self->devfd));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* The old process is charged nothing any more, and DMA still works */
	EXPECT_EQ(before, vm_pinned_kib());
	EXPECT_EQ(0, round_trip(self, DMA_IOVA));
	close(sock[0]);
	close(mfd);
}

/* The virtio device behind the bridge, beside the third edu */
static int virtio_find_on_bridge(char *bdf, size_t len)
{
	const char *base = "/sys/bus/pci/devices";
	unsigned int dom, bus, vendor;
	struct dirent *d;
	char path[512];
	int found = -1;
	DIR *dir;

	dir = opendir(base);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (sscanf(d->d_name, "%x:%x:", &dom, &bus) != 2 || bus != 1 ||
		    strlen(d->d_name) >= len)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, d->d_name);
		if (edu_read_hex(path, "vendor", &vendor) || vendor != 0x1af4)
			continue;
		memcpy(bdf, d->d_name, strlen(d->d_name) + 1);
		found = 0;
		break;
	}
	closedir(dir);
	return found;
}

/* Hand @bdf from vfio-pci back to whatever kernel driver wants it */
static void give_back_to_its_driver(const char *bdf)
{
	char path[512];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
		 bdf);
	edu_write(path, "\n");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind",
		 bdf);
	edu_write(path, bdf);
	edu_write("/sys/bus/pci/drivers_probe", bdf);
}

/*
 * The bridge's group: its edu and virtio device given to vfio-pci, a cdev
 * of each open, and an iommufd.  The virtio device goes back to its own
 * driver after each test.
 */
FIXTURE(bridge) {
	char edu[64];
	char virtio[64];
	bool virtio_taken;
	int edufd;
	int virtiofd;
	int iommufd;
};

FIXTURE_SETUP(bridge)
{
	self->edufd = -1;
	self->virtiofd = -1;
	self->iommufd = -1;
	if (edu_find_on(1, 0, self->edu, sizeof(self->edu)) ||
	    virtio_find_on_bridge(self->virtio, sizeof(self->virtio)))
		SKIP(return, "no edu and virtio device behind a bridge");
	edu_bind_vfio_pci(self->edu);
	if (!edu_translated(self->edu) &&
	    edu_machine_iommu() != EDU_IOMMU_VTD)
		SKIP(return, "the edu behind the bridge has no IOMMU group here");
	ASSERT_TRUE(edu_translated(self->edu));
	ASSERT_EQ(0, edu_bind_vfio_pci(self->virtio));
	self->virtio_taken = true;
	self->edufd = edu_open_cdev(self->edu);
	ASSERT_LE(0, self->edufd);
	self->virtiofd = edu_open_cdev(self->virtio);
	ASSERT_LE(0, self->virtiofd);
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
}

FIXTURE_TEARDOWN(bridge)
{
	if (self->virtiofd >= 0)
		close(self->virtiofd);
	if (self->edufd >= 0)
		close(self->edufd);
	if (self->iommufd >= 0)
		close(self->iommufd);
	if (self->virtio_taken)
		give_back_to_its_driver(self->virtio);
}

/*
 * The IOMMU translates the bridge's group as one: once no kernel driver
 * uses it, both its devices can be bound, and they share one attachment:
 * the second may join the first's HWPT, not use another (EINVAL).
 */
TEST_F(bridge, two_devices_of_one_group_share_its_attachment)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	__u32 ioas_a, ioas_b, pt_id;

	bind.iommufd = self->iommufd;
	ASSERT_EQ(0, ioctl(bind.iommufd, IOMMU_IOAS_ALLOC, &alloc));
	ioas_a = alloc.out_ioas_id;
	ASSERT_EQ(0, ioctl(bind.iommufd, IOMMU_IOAS_ALLOC, &alloc));
	ioas_b = alloc.out_ioas_id;
	ASSERT_EQ(0, ioctl(self->edufd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	ASSERT_EQ(0, ioctl(self->virtiofd, VFIO_DEVICE_BIND_IOMMUFD, &bind));

	pt_id = ioas_a;
	ASSERT_EQ(0, attach_pt(self->edufd, &pt_id));
	pt_id = ioas_b;
	EXPECT_EQ(-1, attach_pt(self->virtiofd, &pt_id));
	EXPECT_EQ(EINVAL, errno);
	pt_id = ioas_a;
	EXPECT_EQ(0, attach_pt(self->virtiofd, &pt_id));
}

/*
 * A replace moves the group's one attachment: a device of the group that
 * is bound but not attached stays so, and may join the new one later.
 */
TEST_F(bridge, a_replace_leaves_a_bound_but_detached_group_member_detached)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};
	__u32 ioas_a, ioas_b, pt_id;

	bind.iommufd = self->iommufd;
	ASSERT_EQ(0, ioctl(bind.iommufd, IOMMU_IOAS_ALLOC, &alloc));
	ioas_a = alloc.out_ioas_id;
	ASSERT_EQ(0, ioctl(bind.iommufd, IOMMU_IOAS_ALLOC, &alloc));
	ioas_b = alloc.out_ioas_id;
	ASSERT_EQ(0, ioctl(self->edufd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	ASSERT_EQ(0, ioctl(self->virtiofd, VFIO_DEVICE_BIND_IOMMUFD, &bind));

	pt_id = ioas_a;
	ASSERT_EQ(0, attach_pt(self->edufd, &pt_id));
	/* Attached again: a replace, to the other IOAS */
	pt_id = ioas_b;
	ASSERT_EQ(0, attach_pt(self->edufd, &pt_id));
	/* The other member was never attached: its detach does nothing */
	EXPECT_EQ(0, ioctl(self->virtiofd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach));
	/* and it joins only where the group now is */
	pt_id = ioas_a;
	EXPECT_EQ(-1, attach_pt(self->virtiofd, &pt_id));
	EXPECT_EQ(EINVAL, errno);
	pt_id = ioas_b;
	EXPECT_EQ(0, attach_pt(self->virtiofd, &pt_id));
}

/* The dependent device of @info at PCI address @bdf, or NULL */
static struct vfio_pci_dependent_device *
dependent_at(struct vfio_pci_hot_reset_info *info, const char *bdf)
{
	unsigned int seg, bus, slot, fn;
	__u32 i;

	if (sscanf(bdf, "%x:%x:%x.%x", &seg, &bus, &slot, &fn) != 4)
		return NULL;
	for (i = 0; i != info->count; i++) {
		struct vfio_pci_dependent_device *d = &info->devices[i];

		if (d->segment == seg && d->bus == bus &&
		    d->devfn == ((slot << 3) | fn))
			return d;
	}
	return NULL;
}

/*
 * A device bound to an iommufd describes a bus reset by dev ids: the
 * devices bound to the same iommufd by theirs, a device of a group that
 * iommufd holds by VFIO_PCI_DEVID_OWNED; and when it owns every one, the
 * reset needs no group fds (a zero-length array).
 */
TEST_F(bridge, hot_reset_names_devices_by_dev_id_and_needs_no_group_fds)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_pci_dependent_device *d;
	struct vfio_pci_hot_reset_info *info;
	struct vfio_pci_hot_reset reset = { .argsz = sizeof(reset) };
	size_t size = sizeof(*info) + 8 * sizeof(info->devices[0]);
	__u32 edu_id;

	info = calloc(1, size);
	ASSERT_NE(NULL, info);
	bind.iommufd = self->iommufd;
	ASSERT_EQ(0, ioctl(self->edufd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	edu_id = bind.out_devid;

	/* The virtio device is not bound, but its group is the edu's */
	info->argsz = size;
	if (ioctl(self->edufd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info) &&
	    errno == ENODEV)
		SKIP(goto out, "the bridge's bus cannot be reset here");
	ASSERT_EQ(0, ioctl(self->edufd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info));
	EXPECT_EQ(VFIO_PCI_HOT_RESET_FLAG_DEV_ID |
		  VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, info->flags);
	d = dependent_at(info, self->edu);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(edu_id, d->devid);
	d = dependent_at(info, self->virtio);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(VFIO_PCI_DEVID_OWNED, d->devid);
	EXPECT_EQ(0, ioctl(self->edufd, VFIO_DEVICE_PCI_HOT_RESET, &reset));

	/* Bound too, it is named by its own dev id */
	ASSERT_EQ(0, ioctl(self->virtiofd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	memset(info, 0, size);
	info->argsz = size;
	ASSERT_EQ(0, ioctl(self->edufd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info));
	d = dependent_at(info, self->virtio);
	ASSERT_NE(NULL, d);
	EXPECT_EQ(bind.out_devid, d->devid);
	EXPECT_NE(edu_id, d->devid);
	EXPECT_EQ(0, ioctl(self->virtiofd, VFIO_DEVICE_PCI_HOT_RESET, &reset));
out:
	free(info);
}

TEST_HARNESS_MAIN
