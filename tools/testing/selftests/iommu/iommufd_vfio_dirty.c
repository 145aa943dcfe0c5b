// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dirty page tracking of the VFIO type1 container emulation, on the mock
 * IOMMU driver (the container ioctls work on /dev/iommu as well).
 *
 * VFIO_IOMMU_DIRTY_PAGES starts and stops tracking and reads a bitmap, at
 * the container's smallest IO page size only.  Where every IOMMU domain of
 * the container tracks dirty IOVA (the container asks for such domains
 * where the IOMMU can), the bitmap holds what devices wrote; where one
 * cannot, type1's rule applies: every mapped page is dirty, every time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "uapi_calls.h"

#define MOCK_PAGE ((__u64)sysconf(_SC_PAGESIZE) / 2)
#define BUF_SIZE (64UL << 10)
#define NPAGES (BUF_SIZE / MOCK_PAGE)
#define IOVA ((__u64)MOCK_APERTURE_START)

/* A mock device with @flags attached to @pt_id; its HWPT in @hwpt_id */
static int mock_device(int fd, __u32 pt_id, __u32 flags, __u32 *hwpt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		.id = pt_id, .mock_domain_flags = { .dev_flags = flags },
	};
	int ret = do_ioctl(fd, IOMMU_TEST_CMD, &cmd);

	*hwpt_id = cmd.mock_domain_flags.out_hwpt_id;
	return ret;
}

/* Make the mock IOPTE at @iova dirty, as if the device wrote there */
static int device_writes(int fd, __u32 hwpt_id, __u64 iova)
{
	__u64 one = 1;
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DIRTY, .id = hwpt_id,
		.dirty = { .iova = iova, .length = MOCK_PAGE,
			   .page_size = MOCK_PAGE, .uptr = (uintptr_t)&one },
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static int dirty_pages(int fd, __u32 flags)
{
	struct vfio_iommu_type1_dirty_bitmap cmd = {
		.argsz = sizeof(cmd), .flags = flags,
	};

	return do_ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, &cmd);
}

/* VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP of [iova, iova + size) */
static int get_bitmap(int fd, __u64 iova, __u64 size, __u64 pgsize,
		      __u64 *bits, __u64 bits_size)
{
	struct vfio_iommu_type1_dirty_bitmap_get get = {
		.iova = iova, .size = size,
		.bitmap = { .pgsize = pgsize, .size = bits_size,
			    .data = bits },
	};
	struct vfio_iommu_type1_dirty_bitmap hdr = {
		.argsz = sizeof(hdr) + sizeof(get),
		.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
	};
	char buf[sizeof(hdr) + sizeof(get)];

	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &get, sizeof(get));
	return do_ioctl(fd, VFIO_IOMMU_DIRTY_PAGES, buf);
}

static int map_dma(int fd, void *va, __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va, .iova = iova, .size = size,
	};

	return do_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

/* Unmap with a dirty bitmap; the unmapped size comes back in @size */
static int unmap_dirty(int fd, __u32 flags, __u64 iova, __u64 *size,
		       __u64 *bits, __u64 bits_size)
{
	struct vfio_bitmap bitmap = {
		.pgsize = MOCK_PAGE, .size = bits_size, .data = bits,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap) + sizeof(bitmap),
		.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP | flags,
		.iova = iova, .size = *size,
	};
	char buf[sizeof(unmap) + sizeof(bitmap)];
	int ret;

	memcpy(buf, &unmap, sizeof(unmap));
	memcpy(buf + sizeof(unmap), &bitmap, sizeof(bitmap));
	ret = do_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, buf);
	memcpy(&unmap, buf, sizeof(unmap));
	*size = unmap.size;
	return ret;
}

static unsigned int count_bits(const __u64 *bits, unsigned int nwords)
{
	unsigned int i, n = 0;

	for (i = 0; i != nwords; i++)
		n += __builtin_popcountll(bits[i]);
	return n;
}

/* A type1v2 container over an IOAS with a mock device and 64 KiB mapped */
FIXTURE(container) {
	int fd;
	__u32 ioas_id;
	__u32 hwpt_id;
	void *buf;
	__u64 bits[8];
};

FIXTURE_SETUP(container)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_vfio_ioas set = {
		.size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET,
	};

	self->fd = open("/dev/iommu", O_RDWR);
	if (self->fd < 0)
		SKIP(return, "no /dev/iommu");
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_ALLOC, &alloc));
	self->ioas_id = alloc.out_ioas_id;
	set.ioas_id = self->ioas_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_VFIO_IOAS, &set));
	if (mock_device(self->fd, self->ioas_id, 0, &self->hwpt_id))
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	if (dirty_pages(self->fd, 0) == -ENOTTY)
		SKIP(return, "the container emulation has no dirty tracking");
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_EQ(0, map_dma(self->fd, self->buf, IOVA, BUF_SIZE));
}

FIXTURE_TEARDOWN(container)
{
	close(self->fd);
	munmap(self->buf, BUF_SIZE);
}

TEST_F(container, get_info_offers_migration_at_the_smallest_page_size)
{
	char buf[4096];
	struct vfio_iommu_type1_info *info = (void *)buf;
	struct vfio_iommu_type1_info_cap_migration *mig = NULL;
	struct vfio_info_cap_header *cap;
	__u32 off;

	memset(buf, 0, sizeof(buf));
	info->argsz = sizeof(buf);
	ASSERT_EQ(0, do_ioctl(self->fd, VFIO_IOMMU_GET_INFO, info));
	ASSERT_TRUE(info->flags & VFIO_IOMMU_INFO_CAPS);
	for (off = info->cap_offset; off && off < sizeof(buf) && !mig;
	     off = cap->next) {
		cap = (void *)(buf + off);
		if (cap->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION)
			mig = (void *)cap;
	}
	ASSERT_NE(NULL, mig);
	EXPECT_EQ(MOCK_PAGE, mig->pgsize_bitmap);
	EXPECT_EQ(256ULL << 20, mig->max_dirty_bitmap_size);
	EXPECT_EQ(0, mig->flags);
}

TEST_F(container, dirty_pages_takes_exactly_one_flag)
{
	EXPECT_EQ(-EINVAL, dirty_pages(self->fd, 0));
	EXPECT_EQ(-EINVAL, dirty_pages(self->fd,
				       VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
					       VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	EXPECT_EQ(-EINVAL, dirty_pages(self->fd, 1U << 7));
}

TEST_F(container, a_bitmap_needs_tracking_started)
{
	EXPECT_EQ(-EINVAL, get_bitmap(self->fd, IOVA, BUF_SIZE, MOCK_PAGE,
				      self->bits, sizeof(self->bits)));
	ASSERT_EQ(0, dirty_pages(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_EQ(0, dirty_pages(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_EQ(0, dirty_pages(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP));
	EXPECT_EQ(-EINVAL, get_bitmap(self->fd, IOVA, BUF_SIZE, MOCK_PAGE,
				      self->bits, sizeof(self->bits)));
}

TEST_F(container, the_iommu_reports_exactly_what_the_device_wrote)
{
	ASSERT_EQ(0, dirty_pages(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_EQ(0, device_writes(self->fd, self->hwpt_id,
				   IOVA + 3 * MOCK_PAGE));
	ASSERT_EQ(0, get_bitmap(self->fd, IOVA, BUF_SIZE, MOCK_PAGE,
				self->bits, sizeof(self->bits)));
	EXPECT_EQ(1ULL << 3, self->bits[0]);
	EXPECT_EQ(1, count_bits(self->bits, 8));

	/* Reading cleared it */
	memset(self->bits, 0, sizeof(self->bits));
	ASSERT_EQ(0, get_bitmap(self->fd, IOVA, BUF_SIZE, MOCK_PAGE,
				self->bits, sizeof(self->bits)));
	EXPECT_EQ(0, count_bits(self->bits, 8));
}

TEST_F(container, a_domain_without_dirty_bits_makes_every_mapped_page_dirty)
{
	__u32 plain_hwpt;

	ASSERT_EQ(0, mock_device(self->fd, self->ioas_id,
				 MOCK_FLAGS_DEVICE_NO_DIRTY, &plain_hwpt));
	ASSERT_NE(self->hwpt_id, plain_hwpt);
	ASSERT_EQ(0, dirty_pages(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_EQ(0, get_bitmap(self->fd, IOVA, BUF_SIZE, MOCK_PAGE,
				self->bits, sizeof(self->bits)));
	EXPECT_EQ(NPAGES, count_bits(self->bits, 8));
	/* ... every time */
	memset(self->bits, 0, sizeof(self->bits));
	ASSERT_EQ(0, get_bitmap(self->fd, IOVA, BUF_SIZE, MOCK_PAGE,
				self->bits, sizeof(self->bits)));
	EXPECT_EQ(NPAGES, count_bits(self->bits, 8));
}

/*
 * A domain that joins while tracking is on (an HWPT allocated for a second
 * device) tracks from its first write; one that cannot track makes every
 * mapped page dirty from then on.
 */
TEST_F(container, a_domain_added_while_tracking_is_on_tracks_at_once)
{
	struct iommu_test_cmd dev = {
		.size = sizeof(dev), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = self->ioas_id,
	};
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc), .pt_id = self->ioas_id,
		.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
	};
	__u32 plain_hwpt;

	ASSERT_EQ(0, dirty_pages(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &dev));
	alloc.dev_id = dev.mock_domain.out_idev_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_HWPT_ALLOC, &alloc));
	ASSERT_NE(self->hwpt_id, alloc.out_hwpt_id);
	ASSERT_EQ(0, device_writes(self->fd, alloc.out_hwpt_id,
				   IOVA + 2 * MOCK_PAGE));
	ASSERT_EQ(0, get_bitmap(self->fd, IOVA, BUF_SIZE, MOCK_PAGE,
				self->bits, sizeof(self->bits)));
	EXPECT_EQ(1ULL << 2, self->bits[0]);
	EXPECT_EQ(1, count_bits(self->bits, 8));

	ASSERT_EQ(0, mock_device(self->fd, self->ioas_id,
				 MOCK_FLAGS_DEVICE_NO_DIRTY, &plain_hwpt));
	memset(self->bits, 0, sizeof(self->bits));
	ASSERT_EQ(0, get_bitmap(self->fd, IOVA, BUF_SIZE, MOCK_PAGE,
				self->bits, sizeof(self->bits)));
	EXPECT_EQ(NPAGES, count_bits(self->bits, 8));
}

TEST_F(container, unmapped_iova_is_never_dirty)
{
	__u64 size = BUF_SIZE;

	ASSERT_EQ(0, dirty_pages(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_EQ(0, unmap_dirty(self->fd, 0, IOVA, &size, self->bits,
				 sizeof(self->bits)));
	memset(self->bits, 0, sizeof(self->bits));
	ASSERT_EQ(0, get_bitmap(self->fd, IOVA, BUF_SIZE, MOCK_PAGE,
				self->bits, sizeof(self->bits)));
	EXPECT_EQ(0, count_bits(self->bits, 8));
}

TEST_F(container, bitmap_argument_errors)
{
	ASSERT_EQ(0, dirty_pages(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	/* Only the smallest IO page size */
	EXPECT_EQ(-EINVAL, get_bitmap(self->fd, IOVA, BUF_SIZE, 2 * MOCK_PAGE,
				      self->bits, sizeof(self->bits)));
	EXPECT_EQ(-EINVAL, get_bitmap(self->fd, IOVA + 1, BUF_SIZE, MOCK_PAGE,
				      self->bits, sizeof(self->bits)));
	EXPECT_EQ(-EINVAL, get_bitmap(self->fd, IOVA, 0, MOCK_PAGE,
				      self->bits, sizeof(self->bits)));
	/* Room for a bit per page, in whole u64s */
	EXPECT_EQ(-EINVAL, get_bitmap(self->fd, IOVA, BUF_SIZE, MOCK_PAGE,
				      self->bits, 2));
	/* A range may not cut a mapping */
	EXPECT_EQ(-EINVAL, get_bitmap(self->fd, IOVA + MOCK_PAGE,
				      2 * MOCK_PAGE, MOCK_PAGE, self->bits,
				      sizeof(self->bits)));
	EXPECT_EQ(-EINVAL, get_bitmap(self->fd, IOVA, BUF_SIZE - MOCK_PAGE,
				      MOCK_PAGE, self->bits,
				      sizeof(self->bits)));
}

/* The header, then the range: each read whole or the call fails */
TEST_F(container, dirty_pages_reads_its_argument_with_its_faults_and_sizes)
{
	struct vfio_iommu_type1_dirty_bitmap hdr = {
		.argsz = 4, .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
	};
	struct vfio_iommu_type1_dirty_bitmap_get *range;
	struct vfio_iommu_type1_dirty_bitmap *tail;
	char *hole;

	ASSERT_EQ(0, dirty_pages(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	/* argsz shorter than the header */
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &hdr));
	/* A header the kernel cannot read */
	hole = bytes_before_a_hole(sizeof(hdr) + sizeof(*range));
	ASSERT_NE(NULL, hole);
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES,
				    hole + sizeof(hdr) + sizeof(*range)));
	/* GET_BITMAP's argsz must cover the range */
	hdr.argsz = sizeof(hdr);
	hdr.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &hdr));
	/* ... and the range must be readable */
	hdr.argsz = sizeof(hdr) + sizeof(*range);
	tail = (void *)(hole + sizeof(*range));
	memcpy(tail, &hdr, sizeof(hdr));
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, tail));
	/* A range that wraps */
	tail = (void *)hole;
	range = (void *)(hole + sizeof(hdr));
	memcpy(tail, &hdr, sizeof(hdr));
	*range = (struct vfio_iommu_type1_dirty_bitmap_get){
		.iova = IOVA, .size = -IOVA + MOCK_PAGE,
		.bitmap = { .pgsize = MOCK_PAGE, .size = sizeof(self->bits),
			    .data = self->bits },
	};
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, tail));
	/* More pages than one bitmap may hold (INT_MAX, as type1) */
	range->size = ((__u64)INT32_MAX + 1) * MOCK_PAGE;
	range->bitmap.size = ~0ULL >> 1;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, tail));
	/* The same call over what is mapped works */
	range->size = BUF_SIZE;
	range->bitmap.size = sizeof(self->bits);
	EXPECT_EQ(0, do_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, tail));
	bytes_before_a_hole_free(hole);
}

/* Of GET_INFO's reply, a part the kernel cannot write fails the call */
TEST_F(container, get_info_into_memory_it_cannot_write_is_efault)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	void *ro, *hole;
	int memfd;

	/* Room for the struct, not for the capability chain after it */
	info.argsz = 4096;
	hole = bytes_before_a_hole(sizeof(info));
	ASSERT_NE(NULL, hole);
	memcpy(hole, &info, sizeof(info));
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, VFIO_IOMMU_GET_INFO, hole));
	bytes_before_a_hole_free(hole);

	/* A struct the kernel can read but not write */
	memfd = memfd_create("info", 0);
	ASSERT_LE(0, memfd);
	info.argsz = sizeof(info);
	ASSERT_EQ(sizeof(info), write(memfd, &info, sizeof(info)));
	ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, ro);
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, VFIO_IOMMU_GET_INFO, ro));
	munmap(ro, 4096);
	close(memfd);
}

TEST_F(container, unmap_reports_the_dirty_pages_then_unmaps)
{
	__u64 size = BUF_SIZE;

	ASSERT_EQ(0, dirty_pages(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	ASSERT_EQ(0, device_writes(self->fd, self->hwpt_id,
				   IOVA + 5 * MOCK_PAGE));
	ASSERT_EQ(0, unmap_dirty(self->fd, 0, IOVA, &size, self->bits,
				 sizeof(self->bits)));
	EXPECT_EQ(BUF_SIZE, size);
	EXPECT_EQ(1ULL << 5, self->bits[0]);
	EXPECT_EQ(1, count_bits(self->bits, 8));
}

TEST_F(container, unmap_with_a_bitmap_errors)
{
	__u64 size = BUF_SIZE;

	/* Tracking must be on */
	EXPECT_EQ(-EINVAL, unmap_dirty(self->fd, 0, IOVA, &size, self->bits,
				       sizeof(self->bits)));
	ASSERT_EQ(0, dirty_pages(self->fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	size = 0;
	EXPECT_EQ(-EINVAL, unmap_dirty(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0,
				       &size, self->bits, sizeof(self->bits)));
	/* Nor with a change of vaddr */
	size = BUF_SIZE;
	EXPECT_EQ(-EINVAL, unmap_dirty(self->fd, VFIO_DMA_UNMAP_FLAG_VADDR,
				       IOVA, &size, self->bits,
				       sizeof(self->bits)));
	/* A bitmap description the kernel cannot read */
	{
		struct vfio_iommu_type1_dma_unmap unmap = {
			.argsz = sizeof(unmap) + sizeof(struct vfio_bitmap),
			.flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
			.iova = IOVA, .size = BUF_SIZE,
		};
		void *hole = bytes_before_a_hole(sizeof(unmap));

		ASSERT_NE(NULL, hole);
		memcpy(hole, &unmap, sizeof(unmap));
		EXPECT_EQ(-EFAULT,
			  do_ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, hole));
		bytes_before_a_hole_free(hole);
	}
	/* Nothing was unmapped by the failures */
	size = BUF_SIZE;
	EXPECT_EQ(0, unmap_dirty(self->fd, 0, IOVA, &size, self->bits,
				 sizeof(self->bits)));
	EXPECT_EQ(BUF_SIZE, size);
}

TEST(a_type1_v1_container_does_not_track)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_vfio_ioas set = {
		.size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET,
	};
	int fd = open("/dev/iommu", O_RDWR);

	if (fd < 0)
		SKIP(return, "no /dev/iommu");
	ASSERT_EQ(0, do_ioctl(fd, IOMMU_IOAS_ALLOC, &alloc));
	set.ioas_id = alloc.out_ioas_id;
	ASSERT_EQ(0, do_ioctl(fd, IOMMU_VFIO_IOAS, &set));
	ASSERT_EQ(0, ioctl(fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	if (dirty_pages(fd, 0) == -ENOTTY)
		SKIP(return, "the container emulation has no dirty tracking");
	EXPECT_EQ(-EACCES, dirty_pages(fd, VFIO_IOMMU_DIRTY_PAGES_FLAG_START));
	close(fd);
}

TEST_HARNESS_MAIN
