// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every allocation failure inside an iommufd operation is survived, and a
 * failed operation leaves nothing behind: the fail-nth sweep (fail_sweep.h)
 * over scenarios on the mock IOMMU driver, one per area of the uAPI.
 */
#include "fail_sweep.h"
#include "mock_device.h"

#define APERTURE ((__u64)MOCK_APERTURE_START)
#define FAULT_SZ sizeof(struct iommu_hwpt_pgfault)
#define RESP_SZ sizeof(struct iommu_hwpt_page_response)

/* The memfd of the file-backed scenario; file_va maps it */
static int file_fd = -1;

static int mock_dev(int fd, __u32 pt_id, struct mock_dev *dev)
{
	return mock_dev_flags(fd, pt_id, 0, dev);
}

static int replace(int fd, __u32 stdev_id, __u32 pt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = stdev_id, .mock_domain_replace.pt_id = pt_id,
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static int create_access(struct run *r, __u32 ioas_id, __u32 flags,
			 int *access_fd)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = ioas_id, .create_access.flags = flags,
	};
	int ret = do_ioctl(r->fd, IOMMU_TEST_CMD, &cmd);

	if (ret)
		return ret;
	*access_fd = cmd.create_access.out_access_fd;
	run_add_fd(r, *access_fd);
	return 0;
}

static int access_pages(int fd, int access_fd, __u64 iova, __u64 len,
			void *uptr, __u32 *pages_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = access_fd,
		.access_pages = { .flags = MOCK_FLAGS_ACCESS_WRITE,
				  .iova = iova, .length = len,
				  .uptr = (uintptr_t)uptr },
	};
	int ret = do_ioctl(fd, IOMMU_TEST_CMD, &cmd);

	*pages_id = cmd.access_pages.out_access_pages_id;
	return ret;
}

static int access_unpin(int fd, int access_fd, __u32 pages_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
		.id = access_fd,
		.destroy_access_pages.access_pages_id = pages_id,
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static int access_rw(int fd, int access_fd, __u64 iova, __u64 len,
		     __u32 flags)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_RW,
		.id = access_fd,
		.access_rw = { .iova = iova, .length = len,
			       .uptr = (uintptr_t)scratch, .flags = flags },
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static int vfio_ioas_set(int fd, __u32 ioas_id)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd), .ioas_id = ioas_id,
		.op = IOMMU_VFIO_IOAS_SET,
	};

	return do_ioctl(fd, IOMMU_VFIO_IOAS, &cmd);
}

/* The scenarios: each returns 0 or the first -errno */

static int sc_ioas_map_unmap(struct run *r)
{
	struct iommu_iova_range ranges[4];
	struct iommu_ioas_iova_ranges rcmd = {
		.size = sizeof(rcmd), .num_iovas = 4,
		.allowed_iovas = (uintptr_t)ranges,
	};
	struct iommu_option opt = {
		.size = sizeof(opt), .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_GET,
	};
	__u64 iova = 0;
	__u32 ioas;
	int ret;

	ret = ioas_alloc(r->fd, &ioas);
	if (ret)
		return ret;
	ret = map(r->fd, ioas, RW, bufs[0], buf_len, &iova);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, bufs[1], buf_len / 2, APERTURE);
	if (ret)
		return ret;
	rcmd.ioas_id = ioas;
	ret = do_ioctl(r->fd, IOMMU_IOAS_IOVA_RANGES, &rcmd);
	if (ret)
		return ret;
	opt.object_id = ioas;
	ret = do_ioctl(r->fd, IOMMU_OPTION, &opt);
	if (ret)
		return ret;
	ret = unmap(r->fd, ioas, iova, buf_len);
	if (ret)
		return ret;
	ret = unmap(r->fd, ioas, 0, UINT64_MAX);
	if (ret)
		return ret;
	return destroy(r->fd, ioas);
}

/*
 * WIDE_PAGES small pages faulted in from the last to the first, so that
 * none continues the one before it: as many runs as pages, more than one
 * batch of the domain map (io_pagetable.c) takes.  Made before the sweep.
 */
#define WIDE_PAGES 24
#define WIDE_LEN (WIDE_PAGES * psize)
static char *wide_buf;

static int make_wide_buf(void)
{
	int i;

	wide_buf = mmap(NULL, WIDE_LEN, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (wide_buf == MAP_FAILED)
		return -1;
	madvise(wide_buf, WIDE_LEN, MADV_NOHUGEPAGE);
	for (i = WIDE_PAGES - 1; i >= 0; i--)
		wide_buf[i * psize] = (char)i;
	return 0;
}

/* A new IOAS with a mock device attached to it */
static int ioas_with_device(struct run *r, __u32 *ioas, struct mock_dev *dev)
{
	int ret = ioas_alloc(r->fd, ioas);

	return ret ? ret : mock_dev(r->fd, *ioas, dev);
}

static int sc_map_with_domain(struct run *r)
{
	struct mock_dev dev;
	__u32 ioas, hwpt;
	__u64 iova = 0;
	int ret;

	ret = ioas_with_device(r, &ioas, &dev);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, bufs[0], buf_len, APERTURE);
	if (ret)
		return ret;
	ret = map(r->fd, ioas, RW, bufs[1], buf_len, &iova);
	if (ret)
		return ret;
	/* A new domain is filled from the areas already mapped */
	ret = hwpt_alloc(r->fd, 0, dev.idev_id, ioas, 0, NULL, &hwpt);
	if (ret)
		return ret;
	/* A map into both domains at once, in several batches of runs */
	ret = map_fixed(r->fd, ioas, wide_buf, WIDE_LEN,
			APERTURE + (1ULL << 28));
	if (ret)
		return ret;
	ret = unmap(r->fd, ioas, APERTURE, buf_len);
	if (ret)
		return ret;
	ret = unmap(r->fd, ioas, 0, UINT64_MAX);
	if (ret)
		return ret;
	ret = destroy(r->fd, hwpt);
	if (ret)
		return ret;
	return destroy(r->fd, dev.stdev_id);
}

static int sc_copy(struct run *r)
{
	struct mock_dev dev1, dev2;
	__u32 ioas1, ioas2;
	int ret;

	ret = ioas_alloc(r->fd, &ioas1);
	if (ret)
		return ret;
	ret = ioas_alloc(r->fd, &ioas2);
	if (ret)
		return ret;
	ret = mock_dev(r->fd, ioas1, &dev1);
	if (ret)
		return ret;
	ret = mock_dev(r->fd, ioas2, &dev2);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas1, bufs[0], buf_len, APERTURE);
	if (ret)
		return ret;
	ret = copy(r->fd, ioas2, APERTURE + 16 * buf_len, ioas1, APERTURE,
		   buf_len);
	if (ret)
		return ret;
	/* A part of an area, shared with the first copy */
	ret = copy(r->fd, ioas2, APERTURE, ioas1, APERTURE + psize,
		   2 * psize);
	if (ret)
		return ret;
	ret = unmap(r->fd, ioas1, APERTURE, buf_len);
	if (ret)
		return ret;
	ret = unmap(r->fd, ioas2, 0, UINT64_MAX);
	if (ret)
		return ret;
	ret = destroy(r->fd, dev1.stdev_id);
	if (ret)
		return ret;
	return destroy(r->fd, dev2.stdev_id);
}

static int sc_unmap_pinned_by_access(struct run *r)
{
	__u32 ioas, pages_id;
	int ret, afd;

	ret = ioas_alloc(r->fd, &ioas);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, bufs[0], buf_len, APERTURE);
	if (ret)
		return ret;
	ret = create_access(r, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
			    &afd);
	if (ret)
		return ret;
	ret = access_pages(r->fd, afd, APERTURE + psize, 2 * psize,
			   (char *)bufs[0] + psize, &pages_id);
	if (ret)
		return ret;
	ret = access_pages(r->fd, afd, APERTURE, psize, bufs[0], &pages_id);
	if (ret)
		return ret;
	/* The access's unmap callback must give the pins back */
	return unmap(r->fd, ioas, APERTURE, buf_len);
}

static int sc_access_pin_rw(struct run *r)
{
	__u32 ioas, id1, id2;
	int ret, afd, afd2;

	ret = ioas_alloc(r->fd, &ioas);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, bufs[1], buf_len, APERTURE);
	if (ret)
		return ret;
	ret = create_access(r, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
			    &afd);
	if (ret)
		return ret;
	ret = access_pages(r->fd, afd, APERTURE, 4 * psize, bufs[1], &id1);
	if (ret)
		return ret;
	ret = access_pages(r->fd, afd, APERTURE + 2 * psize, psize,
			   (char *)bufs[1] + 2 * psize, &id2);
	if (ret)
		return ret;
	ret = access_unpin(r->fd, afd, id1);
	if (ret)
		return ret;
	ret = access_rw(r->fd, afd, APERTURE + 100, psize, 0);
	if (ret)
		return ret;
	ret = access_rw(r->fd, afd, APERTURE + 3 * psize - 8, 64,
			MOCK_ACCESS_RW_WRITE);
	if (ret)
		return ret;
	ret = access_rw(r->fd, afd, APERTURE + 5, 3 * psize,
			MOCK_ACCESS_RW_SLOW_PATH);
	if (ret)
		return ret;
	ret = access_unpin(r->fd, afd, id2);
	if (ret)
		return ret;
	/* An access without pin_pages, for access_rw alone */
	ret = create_access(r, ioas, 0, &afd2);
	if (ret)
		return ret;
	ret = access_rw(r->fd, afd2, APERTURE + psize, 2 * psize,
			MOCK_ACCESS_RW_WRITE);
	if (ret)
		return ret;
	return unmap(r->fd, ioas, APERTURE, buf_len);
}

static int sc_attach_replace_detach(struct run *r)
{
	struct mock_dev dev, dev2;
	__u32 ioas, hwpt;
	int ret;

	ret = ioas_alloc(r->fd, &ioas);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, bufs[2], buf_len, APERTURE);
	if (ret)
		return ret;
	ret = mock_dev(r->fd, ioas, &dev);
	if (ret)
		return ret;
	ret = hwpt_alloc(r->fd, 0, dev.idev_id, ioas, 0, NULL, &hwpt);
	if (ret)
		return ret;
	ret = replace(r->fd, dev.stdev_id, hwpt);
	if (ret)
		return ret;
	ret = mock_dev(r->fd, hwpt, &dev2);
	if (ret)
		return ret;
	ret = replace(r->fd, dev.stdev_id, ioas);
	if (ret)
		return ret;
	ret = replace(r->fd, dev2.stdev_id, ioas);
	if (ret)
		return ret;
	ret = destroy(r->fd, hwpt);
	if (ret)
		return ret;
	ret = destroy(r->fd, dev.stdev_id);
	if (ret)
		return ret;
	ret = destroy(r->fd, dev2.stdev_id);
	if (ret)
		return ret;
	return unmap(r->fd, ioas, APERTURE, buf_len);
}

/*
 * Devices with MSI windows and relaxable regions, attached, replaced and
 * detached in the orders that set a domain's MSI cookie: at attach, at a
 * replace to a HWPT, to another IOAS, and to a domain whose cookie is at
 * another window (which makes a new automatic HWPT).
 */
static int sc_msi_windows(struct run *r)
{
	struct mock_dev dev, alt, rmrr;
	__u32 ioas, ioas2, hwpt;
	int ret;

	ret = ioas_alloc(r->fd, &ioas);
	if (ret)
		return ret;
	ret = ioas_alloc(r->fd, &ioas2);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, bufs[2], buf_len, APERTURE);
	if (ret)
		return ret;
	ret = mock_dev_flags(r->fd, ioas, MOCK_FLAGS_DEVICE_SW_MSI, &dev);
	if (ret)
		return ret;
	ret = hwpt_alloc(r->fd, 0, dev.idev_id, ioas, 0, NULL, &hwpt);
	if (ret)
		return ret;
	ret = replace(r->fd, dev.stdev_id, hwpt);
	if (ret)
		return ret;
	ret = mock_dev_flags(r->fd, ioas, MOCK_FLAGS_DEVICE_SW_MSI_ALT, &alt);
	if (ret)
		return ret;
	ret = replace(r->fd, alt.stdev_id, ioas2);
	if (ret)
		return ret;
	ret = mock_dev_flags(r->fd, ioas2, MOCK_FLAGS_DEVICE_RELAXABLE |
			     MOCK_FLAGS_DEVICE_HW_MSI, &rmrr);
	if (ret)
		return ret;
	ret = replace(r->fd, dev.stdev_id, ioas2);
	if (ret)
		return ret;
	ret = destroy(r->fd, alt.stdev_id);
	if (ret)
		return ret;
	ret = destroy(r->fd, dev.stdev_id);
	if (ret)
		return ret;
	ret = destroy(r->fd, rmrr.stdev_id);
	if (ret)
		return ret;
	ret = destroy(r->fd, hwpt);
	if (ret)
		return ret;
	return unmap(r->fd, ioas, APERTURE, buf_len);
}

static int set_dirty_tracking(int fd, __u32 hwpt, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt,
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
	};

	return do_ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

static int sc_dirty(struct run *r)
{
	__u64 mock_page = psize / 2;
	struct iommu_test_cmd dirty = {
		.size = sizeof(dirty), .op = IOMMU_TEST_OP_DIRTY,
		.dirty = { .iova = APERTURE, .length = buf_len,
			   .page_size = mock_page,
			   .uptr = (uintptr_t)scratch },
	};
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get), .iova = APERTURE, .length = buf_len,
		.page_size = mock_page, .data = (uintptr_t)bufs[3],
	};
	struct mock_dev dev;
	__u32 ioas, hwpt;
	int ret;

	ret = ioas_alloc(r->fd, &ioas);
	if (ret)
		return ret;
	ret = mock_dev(r->fd, ioas, &dev);
	if (ret)
		return ret;
	ret = hwpt_alloc(r->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, dev.idev_id,
			 ioas, 0, NULL, &hwpt);
	if (ret)
		return ret;
	ret = replace(r->fd, dev.stdev_id, hwpt);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, bufs[0], buf_len, APERTURE);
	if (ret)
		return ret;
	ret = set_dirty_tracking(r->fd, hwpt, true);
	if (ret)
		return ret;
	dirty.id = hwpt;
	ret = do_ioctl(r->fd, IOMMU_TEST_CMD, &dirty);
	if (ret)
		return ret;
	get.hwpt_id = hwpt;
	get.flags = IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR;
	ret = do_ioctl(r->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get);
	if (ret)
		return ret;
	get.flags = 0;
	ret = do_ioctl(r->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get);
	if (ret)
		return ret;
	ret = set_dirty_tracking(r->fd, hwpt, false);
	if (ret)
		return ret;
	ret = unmap(r->fd, ioas, APERTURE, buf_len);
	if (ret)
		return ret;
	ret = replace(r->fd, dev.stdev_id, ioas);
	if (ret)
		return ret;
	ret = destroy(r->fd, hwpt);
	if (ret)
		return ret;
	return destroy(r->fd, dev.stdev_id);
}

static int sc_nested(struct run *r)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_hwpt_invalidate_selftest inv[2] = {
		{ .flags = 0, .iotlb_id = 1 },
		{ .flags = IOMMU_TEST_INVALIDATE_FLAG_ALL },
	};
	struct iommu_hwpt_invalidate icmd = {
		.size = sizeof(icmd), .data_uptr = (uintptr_t)inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		.entry_len = sizeof(inv[0]), .entry_num = 2,
	};
	__u32 ioas, parent, nested;
	struct mock_dev dev;
	int ret;

	ret = ioas_alloc(r->fd, &ioas);
	if (ret)
		return ret;
	ret = mock_dev(r->fd, ioas, &dev);
	if (ret)
		return ret;
	ret = hwpt_alloc(r->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, dev.idev_id,
			 ioas, 0, NULL, &parent);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, bufs[2], buf_len, APERTURE);
	if (ret)
		return ret;
	ret = hwpt_alloc(r->fd, 0, dev.idev_id, parent, 0, &data, &nested);
	if (ret)
		return ret;
	ret = replace(r->fd, dev.stdev_id, nested);
	if (ret)
		return ret;
	icmd.hwpt_id = nested;
	ret = do_ioctl(r->fd, IOMMU_HWPT_INVALIDATE, &icmd);
	if (ret)
		return ret;
	ret = replace(r->fd, dev.stdev_id, ioas);
	if (ret)
		return ret;
	ret = destroy(r->fd, nested);
	if (ret)
		return ret;
	ret = destroy(r->fd, parent);
	if (ret)
		return ret;
	return unmap(r->fd, ioas, APERTURE, buf_len);
}

static int sc_iopf(struct run *r)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct iommu_fault_alloc fcmd = { .size = sizeof(fcmd) };
	struct iommu_test_cmd trig = {
		.size = sizeof(trig), .op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = { .grpid = 1,
				  .perm = IOMMU_PGFAULT_PERM_READ |
					  IOMMU_PGFAULT_PERM_WRITE,
				  .addr = APERTURE + psize },
	};
	struct iommu_hwpt_page_response resp = {
		.code = IOMMUFD_PAGE_RESP_SUCCESS,
	};
	struct iommu_hwpt_pgfault f;
	__u32 ioas, parent, nested;
	struct mock_dev dev, other;
	int ret, ffd;
	ssize_t n;

	ret = ioas_alloc(r->fd, &ioas);
	if (ret)
		return ret;
	ret = mock_dev(r->fd, ioas, &dev);
	if (ret)
		return ret;
	ret = hwpt_alloc(r->fd, IOMMU_HWPT_ALLOC_NEST_PARENT, dev.idev_id,
			 ioas, 0, NULL, &parent);
	if (ret)
		return ret;
	ret = do_ioctl(r->fd, IOMMU_FAULT_QUEUE_ALLOC, &fcmd);
	if (ret)
		return ret;
	ffd = fcmd.out_fault_fd;
	run_add_fd(r, ffd);
	ret = hwpt_alloc(r->fd, IOMMU_HWPT_FAULT_ID_VALID, dev.idev_id,
			 parent, fcmd.out_fault_id, &data, &nested);
	if (ret)
		return ret;
	ret = replace(r->fd, dev.stdev_id, nested);
	if (ret)
		return ret;
	/* A second device attached to it at its creation, not by replace */
	ret = mock_dev(r->fd, nested, &other);
	if (ret)
		return ret;
	trig.trigger_iopf.dev_id = dev.idev_id;
	ret = do_ioctl(r->fd, IOMMU_TEST_CMD, &trig);
	if (ret)
		return ret;
	n = read(ffd, &f, sizeof(f));
	if (n < 0)
		return -errno;
	if (n != FAULT_SZ)
		return -ENODATA;
	resp.cookie = f.cookie;
	n = write(ffd, &resp, sizeof(resp));
	if (n < 0)
		return -errno;
	if (n != RESP_SZ)
		return -EIO;
	ret = replace(r->fd, dev.stdev_id, ioas);
	if (ret)
		return ret;
	ret = destroy(r->fd, other.stdev_id);
	if (ret)
		return ret;
	ret = destroy(r->fd, nested);
	if (ret)
		return ret;
	return destroy(r->fd, parent);
}

/* The container's IOAS, in *@ioas, with a mock device attached */
static int vfio_start(struct run *r, unsigned long type, __u32 *ioas,
		      struct mock_dev *dev)
{
	int ret;

	ret = ioas_alloc(r->fd, ioas);
	if (ret)
		return ret;
	ret = vfio_ioas_set(r->fd, *ioas);
	if (ret)
		return ret;
	ret = ioctl(r->fd, VFIO_SET_IOMMU, type) < 0 ? -errno : 0;
	if (ret)
		return ret;
	return mock_dev(r->fd, *ioas, dev);
}

static int sc_vfio_type1v2(struct run *r)
{
	struct vfio_iommu_type1_info *info = scratch;
	struct mock_dev dev;
	__u32 ioas;
	__u64 unmapped;
	int ret;

	ret = vfio_start(r, VFIO_TYPE1v2_IOMMU, &ioas, &dev);
	if (ret)
		return ret;
	ret = vfio_map(r->fd, bufs[0], buf_len, APERTURE);
	if (ret)
		return ret;
	ret = vfio_map(r->fd, bufs[1], buf_len, APERTURE + buf_len);
	if (ret)
		return ret;
	memset(info, 0, 512);
	info->argsz = 512;
	ret = do_ioctl(r->fd, VFIO_IOMMU_GET_INFO, info);
	if (ret)
		return ret;
	ret = vfio_unmap(r->fd, 0, APERTURE, buf_len, &unmapped);
	if (ret)
		return ret;
	ret = vfio_unmap(r->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &unmapped);
	if (ret)
		return ret;
	return destroy(r->fd, dev.stdev_id);
}

static int sc_vfio_type1_cut(struct run *r)
{
	struct mock_dev dev;
	__u32 ioas;
	__u64 unmapped;
	int ret;

	ret = vfio_start(r, VFIO_TYPE1_IOMMU, &ioas, &dev);
	if (ret)
		return ret;
	ret = vfio_map(r->fd, bufs[0], buf_len, APERTURE);
	if (ret)
		return ret;
	ret = vfio_map(r->fd, bufs[1], buf_len, APERTURE + buf_len);
	if (ret)
		return ret;
	/* Cuts both areas: the tail of the first, the head of the second */
	ret = vfio_unmap(r->fd, 0, APERTURE + buf_len - 2 * psize,
			 4 * psize, &unmapped);
	if (ret)
		return ret;
	/* Cuts the middle out of what is left of the first */
	ret = vfio_unmap(r->fd, 0, APERTURE + psize, psize, &unmapped);
	if (ret)
		return ret;
	/* A cut whose tail is long enough to pin with a page of PFNs */
	ret = vfio_map(r->fd, wide_buf, WIDE_LEN, APERTURE + 4 * buf_len);
	if (ret)
		return ret;
	ret = vfio_unmap(r->fd, 0, APERTURE + 4 * buf_len, 2 * psize,
			 &unmapped);
	if (ret)
		return ret;
	ret = vfio_unmap(r->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0, 0, &unmapped);
	if (ret)
		return ret;
	return destroy(r->fd, dev.stdev_id);
}

/* Fault injection attributes, and their values before the test */

static int sc_map_file_and_change_process(struct run *r)
{
	struct iommu_ioas_change_process change = { .size = sizeof(change) };
	struct iommu_ioas_map_file mf = {
		.size = sizeof(mf), .flags = FIXED_RW, .fd = file_fd,
		.length = buf_len, .iova = APERTURE,
	};
	struct mock_dev dev;
	__u32 ioas, ioas2;
	int ret;

	ret = ioas_alloc(r->fd, &ioas);
	if (ret)
		return ret;
	ret = mock_dev(r->fd, ioas, &dev);
	if (ret)
		return ret;
	mf.ioas_id = ioas;
	ret = do_ioctl(r->fd, IOMMU_IOAS_MAP_FILE, &mf);
	if (ret)
		return ret;
	ret = ioas_alloc(r->fd, &ioas2);
	if (ret)
		return ret;
	ret = copy(r->fd, ioas2, APERTURE, ioas, APERTURE, buf_len);
	if (ret)
		return ret;
	ret = do_ioctl(r->fd, IOMMU_IOAS_CHANGE_PROCESS, &change);
	if (ret)
		return ret;
	ret = unmap(r->fd, ioas, APERTURE, buf_len);
	if (ret)
		return ret;
	return destroy(r->fd, dev.stdev_id);
}

static int vfio_dirty(int fd, __u32 flags, __u64 iova, __u64 len)
{
	struct vfio_iommu_type1_dirty_bitmap_get get = {
		.iova = iova, .size = len,
		.bitmap = { .pgsize = psize / 2, .size = psize,
			    .data = scratch },
	};
	struct vfio_iommu_type1_dirty_bitmap hdr = {
		.argsz = sizeof(hdr) + sizeof(get), .flags = flags,
	};
	char buf[sizeof(hdr) + sizeof(get)];

	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &get, sizeof(get));
	return do_ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, buf);
}

static int sc_vfio_dirty(struct run *r)
{
	struct vfio_bitmap bitmap = {
		.pgsize = psize / 2, .size = psize, .data = scratch,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap) + sizeof(bitmap),
		.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
		.iova = APERTURE, .size = buf_len,
	};
	char ubuf[sizeof(unmap) + sizeof(bitmap)];
	struct mock_dev dev, plain;
	__u32 ioas;
	int ret;

	ret = vfio_start(r, VFIO_TYPE1v2_IOMMU, &ioas, &dev);
	if (ret)
		return ret;
	ret = vfio_map(r->fd, bufs[0], buf_len, APERTURE);
	if (ret)
		return ret;
	ret = vfio_dirty(r->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START, 0, 0);
	if (ret)
		return ret;
	ret = vfio_dirty(r->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
			 APERTURE, buf_len);
	if (ret)
		return ret;
	/* A domain that cannot track: every mapped page is reported */
	ret = mock_dev_flags(r->fd, ioas, MOCK_FLAGS_DEVICE_NO_DIRTY, &plain);
	if (ret)
		return ret;
	ret = vfio_dirty(r->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
			 APERTURE, buf_len);
	if (ret)
		return ret;
	memcpy(ubuf, &unmap, sizeof(unmap));
	memcpy(ubuf + sizeof(unmap), &bitmap, sizeof(bitmap));
	ret = do_ioctl(r->fd, VFIO_IOMMU_UNMAP_DMA, ubuf);
	if (ret)
		return ret;
	ret = vfio_dirty(r->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP, 0, 0);
	if (ret)
		return ret;
	return destroy(r->fd, dev.stdev_id);
}

static int sc_vfio_vaddr(struct run *r)
{
	struct vfio_iommu_type1_dma_map update = {
		.argsz = sizeof(update), .flags = VFIO_DMA_MAP_FLAG_VADDR,
		.vaddr = (uintptr_t)bufs[0], .iova = APERTURE, .size = buf_len,
	};
	struct mock_dev dev;
	__u32 ioas;
	__u64 n;
	int ret;

	ret = vfio_start(r, VFIO_TYPE1v2_IOMMU, &ioas, &dev);
	if (ret)
		return ret;
	ret = vfio_map(r->fd, bufs[0], buf_len, APERTURE);
	if (ret)
		return ret;
	ret = vfio_unmap(r->fd, VFIO_DMA_UNMAP_FLAG_VADDR, APERTURE, buf_len,
			 &n);
	if (ret)
		return ret;
	ret = do_ioctl(r->fd, VFIO_IOMMU_MAP_DMA, &update);
	if (ret)
		return ret;
	ret = vfio_unmap(r->fd, 0, APERTURE, buf_len, &n);
	if (ret)
		return ret;
	return destroy(r->fd, dev.stdev_id);
}

/* The remaining commands: allowed IOVAs, hardware info, the VFIO IOAS */
static int sc_allow_info_vfio_ioas(struct run *r)
{
	struct iommu_iova_range range = {
		.start = APERTURE, .last = APERTURE + 16 * buf_len - 1,
	};
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow), .num_iovas = 1,
		.allowed_iovas = (uintptr_t)&range,
	};
	struct iommu_hw_info info = {
		.size = sizeof(info), .data_len = 64,
		.data_uptr = (uintptr_t)scratch,
	};
	struct iommu_vfio_ioas vioas = { .size = sizeof(vioas) };
	struct mock_dev dev;
	__u64 iova = 0;
	__u32 ioas;
	int ret;

	ret = ioas_alloc(r->fd, &ioas);
	if (ret)
		return ret;
	allow.ioas_id = ioas;
	ret = do_ioctl(r->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow);
	if (ret)
		return ret;
	ret = mock_dev(r->fd, ioas, &dev);
	if (ret)
		return ret;
	ret = map(r->fd, ioas, RW, bufs[0], buf_len, &iova);
	if (ret)
		return ret;
	info.dev_id = dev.idev_id;
	ret = do_ioctl(r->fd, IOMMU_GET_HW_INFO, &info);
	if (ret)
		return ret;
	vioas.op = IOMMU_VFIO_IOAS_SET;
	vioas.ioas_id = ioas;
	ret = do_ioctl(r->fd, IOMMU_VFIO_IOAS, &vioas);
	if (ret)
		return ret;
	vioas.op = IOMMU_VFIO_IOAS_GET;
	ret = do_ioctl(r->fd, IOMMU_VFIO_IOAS, &vioas);
	if (ret)
		return ret;
	vioas.op = IOMMU_VFIO_IOAS_CLEAR;
	ret = do_ioctl(r->fd, IOMMU_VFIO_IOAS, &vioas);
	if (ret)
		return ret;
	return destroy(r->fd, dev.stdev_id);
}

/*
 * A 2 MiB huge page, faulted in before the sweep arms anything: the page
 * store keeps it as one run of PFNs.  The run is made whole by a domain,
 * cut down to an access's two pages when the domain goes, and filled again
 * by a second domain.  MD_CHECK_REFS cannot see into huge pages; the
 * sweep's VmPin check does.
 */
#define HUGE_LEN (2UL << 20)
static void *huge_buf;

static int sc_huge_page_run(struct run *r)
{
	struct mock_dev dev;
	__u32 ioas, pages_id;
	int ret, afd;

	ret = ioas_alloc(r->fd, &ioas);
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, huge_buf, HUGE_LEN, APERTURE);
	if (ret)
		return ret;
	ret = mock_dev(r->fd, ioas, &dev);
	if (ret)
		return ret;
	ret = create_access(r, ioas, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
			    &afd);
	if (ret)
		return ret;
	ret = access_pages(r->fd, afd, APERTURE + 4 * psize, 2 * psize,
			   (char *)huge_buf + 4 * psize, &pages_id);
	if (ret)
		return ret;
	ret = destroy(r->fd, dev.stdev_id);
	if (ret)
		return ret;
	ret = mock_dev(r->fd, ioas, &dev);
	if (ret)
		return ret;
	return unmap(r->fd, ioas, APERTURE, HUGE_LEN);
}

#define SWEEP_TIMEOUT 600

/*
 * A map large enough to be pinned and mapped into its domain in pieces at
 * once (pages.c, io_pagetable.c): 160 MiB of scattered small pages, faulted
 * in before the sweep.  Only the caller's pieces meet an injected failure
 * (fail-nth is per task): a worker's list page not allocated, the caller's
 * piece failing while a worker's succeeded.  Thinned (the first 200
 * points of the map, then every 97th) and run where the kernel is fast
 * enough, in make stress and make coverage (IOMMUFD_FAIL_SWEEP_LARGE=1).
 */
#define PARALLEL_LEN (160UL << 20)
static char *parallel_buf;

static int sc_large_parallel_map(struct run *r)
{
	struct mock_dev dev;
	long left;
	__u32 ioas;
	int ret;

	/* The IOAS and the device are swept elsewhere: only the map here */
	left = run_disarm(r);
	if (left <= 0)
		return -EIO;
	ret = ioas_with_device(r, &ioas, &dev);
	if (run_rearm(r, left))
		return -EIO;
	if (ret)
		return ret;
	ret = map_fixed(r->fd, ioas, parallel_buf, PARALLEL_LEN, APERTURE);
	if (ret)
		return ret;
	return unmap(r->fd, ioas, APERTURE, PARALLEL_LEN);
}

TEST_F_TIMEOUT(sweep, ioas_alloc_map_unmap, SWEEP_TIMEOUT)
{
	sweep(_metadata, self->nth_fd, self->check_fd,
	      sc_ioas_map_unmap);
}

TEST_F_TIMEOUT(sweep, map_with_a_mock_domain, SWEEP_TIMEOUT)
{
	ASSERT_EQ(0, make_wide_buf());
	sweep(_metadata, self->nth_fd, self->check_fd,
	      sc_map_with_domain);
	munmap(wide_buf, WIDE_LEN);
}

TEST_F_TIMEOUT(sweep, copy_between_ioas_with_domains, SWEEP_TIMEOUT)
{
	sweep(_metadata, self->nth_fd, self->check_fd,
	      sc_copy);
}

TEST_F_TIMEOUT(sweep, unmap_while_an_access_holds_pins, SWEEP_TIMEOUT)
{
	sweep(_metadata, self->nth_fd, self->check_fd,
	      sc_unmap_pinned_by_access);
}

TEST_F_TIMEOUT(sweep, access_pin_unpin_and_rw, SWEEP_TIMEOUT)
{
	sweep(_metadata, self->nth_fd, self->check_fd,
	      sc_access_pin_rw);
}

TEST_F_TIMEOUT(sweep, mock_device_attach_replace_detach, SWEEP_TIMEOUT)
{
	sweep(_metadata, self->nth_fd, self->check_fd,
	      sc_attach_replace_detach);
}

TEST_F_TIMEOUT(sweep, msi_windows_attach_replace_detach, SWEEP_TIMEOUT)
{
	struct mock_dev probe;
	__u32 ioas;

	ASSERT_EQ(0, ioas_alloc(self->check_fd, &ioas));
	if (mock_dev_flags(self->check_fd, ioas, MOCK_FLAGS_DEVICE_SW_MSI,
			   &probe))
		SKIP(return, "the mock driver reports no reserved regions");
	ASSERT_EQ(0, destroy(self->check_fd, probe.stdev_id));
	ASSERT_EQ(0, destroy(self->check_fd, ioas));
	sweep(_metadata, self->nth_fd, self->check_fd, sc_msi_windows);
}

TEST_F_TIMEOUT(sweep, hwpt_dirty_tracking_and_bitmap, SWEEP_TIMEOUT)
{
	sweep(_metadata, self->nth_fd, self->check_fd,
	      sc_dirty);
}

TEST_F_TIMEOUT(sweep, nested_hwpt_alloc_and_invalidate, SWEEP_TIMEOUT)
{
	sweep(_metadata, self->nth_fd, self->check_fd,
	      sc_nested);
}

TEST_F_TIMEOUT(sweep, fault_queue_iopf_read_and_respond, SWEEP_TIMEOUT)
{
	sweep(_metadata, self->nth_fd, self->check_fd,
	      sc_iopf);
}

/* Does /dev/iommu serve the VFIO container ioctls? */
static bool vfio_container_served(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	bool served;

	if (fd < 0)
		return false;
	served = ioctl(fd, VFIO_GET_API_VERSION) == VFIO_API_VERSION;
	close(fd);
	return served;
}

TEST_F_TIMEOUT(sweep, vfio_type1v2_map_unmap, SWEEP_TIMEOUT)
{
	if (!vfio_container_served())
		SKIP(return, "no VFIO container emulation");
	sweep(_metadata, self->nth_fd, self->check_fd,
	      sc_vfio_type1v2);
}

TEST_F_TIMEOUT(sweep, vfio_type1_cutting_unmap, SWEEP_TIMEOUT)
{
	if (!vfio_container_served())
		SKIP(return, "no VFIO container emulation");
	ASSERT_EQ(0, make_wide_buf());
	sweep(_metadata, self->nth_fd, self->check_fd,
	      sc_vfio_type1_cut);
	munmap(wide_buf, WIDE_LEN);
}

/* Last: the sum over the tests above that ran */
TEST_F_TIMEOUT(sweep, map_file_copy_and_change_process, SWEEP_TIMEOUT)
{
	struct iommu_ioas_map_file probe = { .size = sizeof(probe) };

	if (do_ioctl(self->check_fd, IOMMU_IOAS_MAP_FILE, &probe) == -ENOTTY)
		SKIP(return, "no IOMMU_IOAS_MAP_FILE");
	file_fd = memfd_create("sweep", 0);
	ASSERT_LE(0, file_fd);
	ASSERT_EQ(0, ftruncate(file_fd, buf_len));
	file_va = mmap(NULL, buf_len, PROT_READ, MAP_SHARED, file_fd, 0);
	ASSERT_NE(MAP_FAILED, file_va);
	sweep(_metadata, self->nth_fd, self->check_fd,
	      sc_map_file_and_change_process);
}

TEST_F_TIMEOUT(sweep, allow_iovas_hw_info_and_the_vfio_ioas, SWEEP_TIMEOUT)
{
	sweep(_metadata, self->nth_fd, self->check_fd,
	      sc_allow_info_vfio_ioas);
}

TEST_F_TIMEOUT(sweep, vfio_type1v2_vaddr_update, SWEEP_TIMEOUT)
{
	if (!vfio_container_served() ||
	    ioctl(self->check_fd, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR) != 1)
		SKIP(return, "no VFIO vaddr update on /dev/iommu");
	sweep(_metadata, self->nth_fd, self->check_fd, sc_vfio_vaddr);
}

TEST_F_TIMEOUT(sweep, vfio_type1v2_dirty_pages, SWEEP_TIMEOUT)
{
	struct vfio_iommu_type1_dirty_bitmap probe = {
		.argsz = sizeof(probe),
	};

	if (!vfio_container_served() ||
	    do_ioctl(self->check_fd, VFIO_IOMMU_DIRTY_PAGES, &probe) == -ENOTTY)
		SKIP(return, "no VFIO container dirty tracking on /dev/iommu");
	sweep(_metadata, self->nth_fd, self->check_fd, sc_vfio_dirty);
}

TEST_F_TIMEOUT(sweep, a_huge_page_run_made_cut_and_refilled, SWEEP_TIMEOUT)
{
	huge_buf = mmap(NULL, HUGE_LEN, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (huge_buf == MAP_FAILED || (uintptr_t)huge_buf % HUGE_LEN)
		SKIP(return, "no 2 MiB huge page");
	memset(huge_buf, 0x77, HUGE_LEN);
	sweep(_metadata, self->nth_fd, self->check_fd, sc_huge_page_run);
	munmap(huge_buf, HUGE_LEN);
}

TEST_F_TIMEOUT(sweep, a_large_map_in_parallel_pieces, SWEEP_TIMEOUT)
{
	size_t n = PARALLEL_LEN / psize, i;

	if (env_ulong("IOMMUFD_FAIL_SWEEP_LARGE", 0) != 1)
		SKIP(return, "runs in make stress and make coverage");
	/* A thinned sweep: the points are many, the runs are not */
	setenv("IOMMUFD_FAIL_NTH_MAX", "20000", 1);
	parallel_buf = mmap(NULL, PARALLEL_LEN, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, parallel_buf);
	madvise(parallel_buf, PARALLEL_LEN, MADV_NOHUGEPAGE);
	/* 7919 is prime: every page once, out of order, so scattered */
	for (i = 0; i != n; i++)
		parallel_buf[(i * 7919 % n) * psize] = (char)i;
	sweep_thinned(_metadata, self->nth_fd, self->check_fd,
		      sc_large_parallel_map, 200, 97);
	munmap(parallel_buf, PARALLEL_LEN);
}

int main(int argc, char **argv)
{
	return sweep_main(argc, argv);
}
