// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dirty tracking on the mock IOMMU driver: which devices report the
 * capability, which HWPTs may track, and what IOMMU_HWPT_SET_DIRTY_TRACKING
 * and IOMMU_HWPT_GET_DIRTY_BITMAP accept and report.
 *
 * Pages are made dirty with IOMMU_TEST_OP_DIRTY, which marks the mock IO
 * page table entry (IOPTE) holding each IOVA named by its bitmap.  A mock
 * IOPTE covers MOCK_PAGE bytes (half a CPU page), or 1 MiB on a domain made
 * for a MOCK_FLAGS_DEVICE_HUGE_IOVA device when memory and IOVA allow it.
 * A read reports every MOCK_PAGE (or page_size) piece of every dirty IOPTE
 * and, unless told not to, clears what it reports.
 *
 * Bitmaps are handled as bytes, bit n being bit n % 8 of byte n / 8: the
 * layout of the kernel's unsigned long bitmaps on a little-endian machine.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/iommufd.h>

#include "kselftest_harness.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "uapi_calls.h"

#define MOCK_PAGE ((__u64)sysconf(_SC_PAGESIZE) / 2)
#define HUGE_IOPTE (512 * MOCK_PAGE)
#define HUGE_BUF (2UL << 20)
#define START ((__u64)MOCK_APERTURE_START)
#define FIXED_RDWR (IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | \
		    IOMMU_IOAS_MAP_WRITEABLE)
#define NO_SUCH_ID 1000000
#define NO_CLEAR IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR

struct mock_dev {
	__u32 stdev_id;	/* the selftest object; destroying it unbinds */
	__u32 hwpt_id;	/* what it was attached to */
	__u32 dev_id;	/* the iommufd device */
};

static int map_fixed(int fd, __u32 ioas_id, void *buf, __u64 len, __u64 iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = FIXED_RDWR, .ioas_id = ioas_id,
		.user_va = (uintptr_t)buf, .length = len, .iova = iova,
	};

	return do_ioctl(fd, IOMMU_IOAS_MAP, &cmd);
}

static int unmap(int fd, __u32 ioas_id, __u64 iova, __u64 len, __u64 *done)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas_id, .iova = iova,
		.length = len,
	};
	int ret = do_ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);

	*done = cmd.length;
	return ret;
}

/* A mock device with @dev_flags, bound and attached to @pt_id */
static int mock_device(int fd, __u32 pt_id, __u32 dev_flags,
		       struct mock_dev *dev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pt_id,
	};
	int ret;

	if (dev_flags) {
		cmd.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS;
		cmd.mock_domain_flags.dev_flags = dev_flags;
	}
	ret = do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
	dev->stdev_id = cmd.mock_domain.out_stdev_id;
	dev->hwpt_id = cmd.mock_domain.out_hwpt_id;
	dev->dev_id = cmd.mock_domain.out_idev_id;
	return ret;
}

static int replace(int fd, __u32 stdev_id, __u32 pt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = stdev_id, .mock_domain_replace.pt_id = pt_id,
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static int hwpt_alloc(int fd, __u32 flags, __u32 dev_id, __u32 pt_id,
		      __u32 *hwpt_id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev_id,
		.pt_id = pt_id,
	};
	int ret = do_ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	*hwpt_id = cmd.out_hwpt_id;
	return ret;
}

static int hw_caps(int fd, __u32 dev_id, __u64 *caps)
{
	struct iommu_hw_info cmd = { .size = sizeof(cmd), .dev_id = dev_id };
	int ret = do_ioctl(fd, IOMMU_GET_HW_INFO, &cmd);

	*caps = cmd.out_capabilities;
	return ret;
}

static int set_tracking(int fd, __u32 hwpt_id, bool enable)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt_id,
		.flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
	};

	return do_ioctl(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd);
}

/* Marks dirty the IOPTE of each IOVA whose bit is set in @bits */
static int mark_dirty(int fd, __u32 hwpt_id, __u64 iova, __u64 length,
		      __u64 page_size, const void *bits, __u64 *nr_dirty)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_DIRTY, .id = hwpt_id,
		.dirty = { .iova = iova, .length = length,
			   .page_size = page_size, .uptr = (uintptr_t)bits },
	};
	int ret = do_ioctl(fd, IOMMU_TEST_CMD, &cmd);

	*nr_dirty = cmd.dirty.out_nr_dirty;
	return ret;
}

static int read_dirty(int fd, __u32 hwpt_id, __u64 iova, __u64 length,
		      __u64 page_size, void *bits, __u32 flags)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt_id, .flags = flags,
		.iova = iova, .length = length, .page_size = page_size,
		.data = (uintptr_t)bits,
	};

	return do_ioctl(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd);
}

static void set_bit8(void *map, __u64 nr)
{
	((__u8 *)map)[nr / 8] |= 1 << (nr % 8);
}

static __u64 bytes_for(__u64 nbits)
{
	return (nbits + 7) / 8;
}

static __u64 count_bits(const void *map, __u64 nbits)
{
	const __u8 *bytes = map;
	__u64 i, n = 0;

	for (i = 0; i < nbits / 8; i++)
		n += __builtin_popcount(bytes[i]);
	for (i = nbits / 8 * 8; i < nbits; i++)
		n += (bytes[i / 8] >> (i % 8)) & 1;
	return n;
}

static void *zalloc_pages(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * A device that can track and a device that cannot; @hwpt_id tracks,
 * @plain_id does not.  Both HWPTs hold the IOAS's 64 KiB mapping at START.
 */
FIXTURE(dirty) {
	int fd;
	__u32 ioas_id;
	struct mock_dev dev;
	__u32 hwpt_id;
	__u32 plain_id;
	void *buf;
	__u8 bits[64];
};

#define DIRTY_BUF (64UL << 10)

FIXTURE_SETUP(dirty)
{
	self->fd = open("/dev/iommu", O_RDWR);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "no /dev/iommu");
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	if (mock_device(self->fd, self->ioas_id, 0, &self->dev))
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				self->dev.dev_id, self->ioas_id,
				&self->hwpt_id));
	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->dev.dev_id, self->ioas_id,
				&self->plain_id));
	self->buf = zalloc_pages(DIRTY_BUF);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, map_fixed(self->fd, self->ioas_id, self->buf, DIRTY_BUF,
			       START));
}

FIXTURE_TEARDOWN(dirty)
{
	close(self->fd);
	munmap(self->buf, DIRTY_BUF);
}

TEST_F(dirty, hw_info_reports_dirty_tracking_for_a_device_that_can_track)
{
	__u64 caps;

	ASSERT_EQ(0, hw_caps(self->fd, self->dev.dev_id, &caps));
	EXPECT_TRUE(caps & IOMMU_HW_CAP_DIRTY_TRACKING);
}

TEST_F(dirty, hw_info_reports_no_dirty_tracking_for_a_no_dirty_device)
{
	struct mock_dev nd;
	__u64 caps;

	ASSERT_EQ(0, mock_device(self->fd, self->ioas_id,
				 MOCK_FLAGS_DEVICE_NO_DIRTY, &nd));
	ASSERT_EQ(0, hw_caps(self->fd, nd.dev_id, &caps));
	EXPECT_FALSE(caps & IOMMU_HW_CAP_DIRTY_TRACKING);
	EXPECT_EQ(0, destroy(self->fd, nd.stdev_id));
}

TEST_F(dirty, a_tracking_hwpt_cannot_be_allocated_for_a_no_dirty_device)
{
	struct mock_dev nd;
	__u32 id;

	ASSERT_EQ(0, mock_device(self->fd, self->ioas_id,
				 MOCK_FLAGS_DEVICE_NO_DIRTY, &nd));
	EXPECT_EQ(-EOPNOTSUPP,
		  hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
			     nd.dev_id, self->ioas_id, &id));
	EXPECT_EQ(0, destroy(self->fd, nd.stdev_id));
}

TEST_F(dirty, a_device_that_can_track_attaches_to_a_tracking_hwpt)
{
	struct mock_dev d;

	ASSERT_EQ(0, mock_device(self->fd, self->hwpt_id, 0, &d));
	EXPECT_EQ(self->hwpt_id, d.hwpt_id);
	EXPECT_EQ(0, replace(self->fd, self->dev.stdev_id, self->hwpt_id));
	EXPECT_EQ(0, destroy(self->fd, d.stdev_id));
}

TEST_F(dirty, a_no_dirty_device_cannot_attach_to_a_tracking_hwpt)
{
	struct mock_dev nd;

	EXPECT_EQ(-EINVAL, mock_device(self->fd, self->hwpt_id,
				       MOCK_FLAGS_DEVICE_NO_DIRTY, &nd));
}

TEST_F(dirty, set_dirty_tracking_rejects_unknown_flags)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .hwpt_id = self->hwpt_id,
	};

	cmd.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE << 1;
	EXPECT_EQ(-EOPNOTSUPP,
		  do_ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd));
	cmd.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE | 1U << 31;
	EXPECT_EQ(-EOPNOTSUPP,
		  do_ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd));
}

TEST_F(dirty, set_dirty_tracking_rejects_a_nonzero_reserved_field)
{
	struct iommu_hwpt_set_dirty_tracking cmd = {
		.size = sizeof(cmd), .hwpt_id = self->hwpt_id,
		.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE, .__reserved = 1,
	};

	EXPECT_EQ(-EOPNOTSUPP,
		  do_ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &cmd));
}

TEST_F(dirty, set_dirty_tracking_needs_an_existing_hwpt)
{
	EXPECT_EQ(-ENOENT, set_tracking(self->fd, NO_SUCH_ID, true));
}

TEST_F(dirty, set_dirty_tracking_does_not_take_an_ioas)
{
	EXPECT_EQ(-ENOENT, set_tracking(self->fd, self->ioas_id, true));
}

TEST_F(dirty, set_dirty_tracking_needs_a_hwpt_allocated_for_tracking)
{
	EXPECT_EQ(-EOPNOTSUPP, set_tracking(self->fd, self->plain_id, true));
}

TEST_F(dirty, tracking_can_be_enabled_and_then_disabled)
{
	EXPECT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
	EXPECT_EQ(0, set_tracking(self->fd, self->hwpt_id, false));
}

TEST_F(dirty, enabling_tracking_twice_succeeds)
{
	EXPECT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
	EXPECT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
}

TEST_F(dirty, get_dirty_bitmap_rejects_unknown_flags)
{
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
	EXPECT_EQ(-EOPNOTSUPP, read_dirty(self->fd, self->hwpt_id, START,
					  DIRTY_BUF, MOCK_PAGE, self->bits,
					  NO_CLEAR << 1));
	EXPECT_EQ(-EOPNOTSUPP, read_dirty(self->fd, self->hwpt_id, START,
					  DIRTY_BUF, MOCK_PAGE, self->bits,
					  NO_CLEAR | 1U << 31));
}

TEST_F(dirty, get_dirty_bitmap_rejects_a_nonzero_reserved_field)
{
	struct iommu_hwpt_get_dirty_bitmap cmd = {
		.size = sizeof(cmd), .hwpt_id = self->hwpt_id,
		.__reserved = 1, .iova = START, .length = DIRTY_BUF,
		.page_size = MOCK_PAGE, .data = (uintptr_t)self->bits,
	};

	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
	EXPECT_EQ(-EOPNOTSUPP,
		  do_ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &cmd));
}

TEST_F(dirty, get_dirty_bitmap_needs_an_existing_hwpt)
{
	EXPECT_EQ(-ENOENT, read_dirty(self->fd, NO_SUCH_ID, START, DIRTY_BUF,
				      MOCK_PAGE, self->bits, 0));
}

TEST_F(dirty, get_dirty_bitmap_needs_a_hwpt_allocated_for_tracking)
{
	EXPECT_EQ(-EOPNOTSUPP, read_dirty(self->fd, self->plain_id, START,
					  DIRTY_BUF, MOCK_PAGE, self->bits,
					  0));
}

TEST_F(dirty, the_page_size_must_be_a_nonzero_power_of_two)
{
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt_id, START,
				      DIRTY_BUF, 0, self->bits, 0));
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt_id, START,
				      DIRTY_BUF, 3 * MOCK_PAGE, self->bits,
				      0));
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt_id, START,
				      DIRTY_BUF, MOCK_PAGE + 1, self->bits,
				      0));
}

TEST_F(dirty, iova_and_length_must_be_multiples_of_the_page_size)
{
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt_id,
				      START + MOCK_PAGE / 2, MOCK_PAGE,
				      MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt_id, START,
				      MOCK_PAGE + MOCK_PAGE / 2, MOCK_PAGE,
				      self->bits, 0));
	/* Aligned to MOCK_PAGE is not enough for a larger page_size */
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt_id,
				      START + MOCK_PAGE, 4 * MOCK_PAGE,
				      4 * MOCK_PAGE, self->bits, 0));
}

/*
 * A page_size below the IOMMU's smallest IO page is allowed, but the range
 * must still be whole IO pages: IOVA and length aligned to the page_size
 * alone are EINVAL
 */
TEST_F(dirty, a_range_of_less_than_whole_io_pages_is_einval)
{
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt_id,
				      START + MOCK_PAGE / 2, MOCK_PAGE / 2,
				      MOCK_PAGE / 2, self->bits, 0));
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt_id, START,
				      MOCK_PAGE / 2, MOCK_PAGE / 2,
				      self->bits, 0));
	EXPECT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, MOCK_PAGE,
				MOCK_PAGE / 2, self->bits, 0));
}

TEST_F(dirty, an_empty_range_is_rejected)
{
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
	EXPECT_EQ(-EINVAL, read_dirty(self->fd, self->hwpt_id, START, 0,
				      MOCK_PAGE, self->bits, 0));
}

TEST_F(dirty, a_range_past_the_end_of_the_iova_space_overflows)
{
	__u64 iova = ~(MOCK_PAGE - 1);	/* the last MOCK_PAGE of u64 */

	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
	EXPECT_EQ(-EOVERFLOW, read_dirty(self->fd, self->hwpt_id, iova,
					 2 * MOCK_PAGE, MOCK_PAGE, self->bits,
					 0));
}

/*
 * Regression, bitmap sizes: a length whose bitmap (length / page_size
 * bits from the data pointer) cannot be user memory is EFAULT before
 * anything is read: no bit reported, no dirty bit cleared, however much
 * of the range the walk could have served.
 */
TEST_F(dirty, a_bitmap_larger_than_user_memory_is_efault_and_reads_nothing)
{
	/* 2^62 bytes of IOVA: 2^48 bytes of bitmap at 2 KiB a bit */
	const __u64 lengths[] = { 1ULL << 62, UINT64_MAX - START + 1 -
					      MOCK_PAGE };
	const __u64 sizes[] = { MOCK_PAGE, 1 };
	__u8 all[DIRTY_BUF / MOCK_PAGE / 8], zero[sizeof(self->bits)] = { 0 };
	unsigned int i, j;
	__u64 nr;

	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
	memset(all, 0xff, sizeof(all));
	ASSERT_EQ(0, mark_dirty(self->fd, self->hwpt_id, START, DIRTY_BUF,
				MOCK_PAGE, all, &nr));
	memset(self->bits, 0, sizeof(self->bits));
	for (i = 0; i < ARRAY_SIZE(lengths); i++) {
		for (j = 0; j < ARRAY_SIZE(sizes); j++) {
			__u64 len = lengths[i] & ~(sizes[j] - 1);

			EXPECT_EQ(-EFAULT,
				  read_dirty(self->fd, self->hwpt_id, START,
					     len, sizes[j], self->bits, 0));
		}
	}
	EXPECT_EQ(0, memcmp(self->bits, zero, sizeof(zero)));
	/* Still dirty: a read of the mapping reports every page */
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, DIRTY_BUF,
				MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(0, memcmp(self->bits, all, sizeof(all)));
}

TEST_F(dirty, a_null_bitmap_pointer_faults)
{
	__u64 nr;

	ASSERT_EQ(0, replace(self->fd, self->dev.stdev_id, self->hwpt_id));
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
	memset(self->bits, 0, sizeof(self->bits));
	set_bit8(self->bits, 0);
	ASSERT_EQ(0, mark_dirty(self->fd, self->hwpt_id, START, DIRTY_BUF,
				MOCK_PAGE, self->bits, &nr));
	ASSERT_EQ(1, nr);
	EXPECT_EQ(-EFAULT, read_dirty(self->fd, self->hwpt_id, START,
				      DIRTY_BUF, MOCK_PAGE, NULL, 0));
}

/*
 * 64 MiB of IOVA, the same 1 MiB buffer mapped 64 times over, read in a
 * single call into a bitmap that starts mid-page and crosses a page.
 */
TEST_F(dirty, a_64_mib_range_is_read_in_one_call)
{
	const __u64 chunk = 1UL << 20, total = 64 * chunk;
	const __u64 nbits = total / MOCK_PAGE;
	const size_t region = 4 * sysconf(_SC_PAGESIZE);
	__u64 i, nr, done, marks[3] = { 0, nbits / 2 + 3, nbits - 1 };
	void *chunk_buf = zalloc_pages(chunk);
	__u8 *region_buf = zalloc_pages(region);
	__u8 *want = zalloc_pages(region);
	__u8 *bits = region_buf + 0x801;

	ASSERT_NE(NULL, chunk_buf);
	ASSERT_NE(NULL, region_buf);
	ASSERT_NE(NULL, want);
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, START, DIRTY_BUF, &done));
	for (i = 0; i < total / chunk; i++)
		ASSERT_EQ(0, map_fixed(self->fd, self->ioas_id, chunk_buf,
				       chunk, START + i * chunk));
	ASSERT_EQ(0, replace(self->fd, self->dev.stdev_id, self->hwpt_id));
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));

	for (i = 0; i < 3; i++)
		set_bit8(want, marks[i]);
	ASSERT_EQ(0, mark_dirty(self->fd, self->hwpt_id, START, total,
				MOCK_PAGE, want, &nr));
	EXPECT_EQ(3, nr);
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, total,
				MOCK_PAGE, bits, 0));
	EXPECT_EQ(0, memcmp(want, bits, bytes_for(nbits)));
	EXPECT_EQ(3, count_bits(region_buf, region * 8));

	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, START, total, &done));
	EXPECT_EQ(total, done);
	munmap(chunk_buf, chunk);
	munmap(region_buf, region);
	munmap(want, region);
}

/*
 * The kernel pins a user bitmap some pages at a time.  With one bit per
 * byte of IOVA, 64 MiB of IOVA takes an 8 MiB bitmap, several such
 * windows; started one byte into a page, a window boundary falls inside an
 * IOPTE, whose bits must still all be set, on both sides.
 */
TEST_F(dirty, an_iopte_straddling_two_bitmap_windows_is_reported_whole)
{
	const __u64 chunk = 1UL << 20, total = 64 * chunk;
	const __u64 per_iopte = MOCK_PAGE;	/* bits, at one bit a byte */
	const size_t region = total / 8 + 2 * sysconf(_SC_PAGESIZE);
	const __u64 iopte_bits[] = { 0, 16 * chunk - per_iopte,
				     32 * chunk, total - per_iopte };
	__u8 *region_buf = zalloc_pages(region);
	void *chunk_buf = zalloc_pages(chunk);
	__u8 *bits = region_buf + 1;
	__u8 mark[8] = {};
	__u64 i, j, nr, done, total_nr = 0;

	ASSERT_NE(NULL, chunk_buf);
	ASSERT_NE(NULL, region_buf);
	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, START, DIRTY_BUF, &done));
	for (i = 0; i < total / chunk; i++)
		ASSERT_EQ(0, map_fixed(self->fd, self->ioas_id, chunk_buf,
				       chunk, START + i * chunk));
	ASSERT_EQ(0, replace(self->fd, self->dev.stdev_id, self->hwpt_id));
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));

	/* Dirty four IOPTEs: the first, one across a window end, ... */
	mark[0] = 1;
	for (i = 0; i < ARRAY_SIZE(iopte_bits); i++) {
		ASSERT_EQ(0, mark_dirty(self->fd, self->hwpt_id,
					START + iopte_bits[i], MOCK_PAGE,
					MOCK_PAGE, mark, &nr));
		total_nr += nr;
	}
	ASSERT_EQ(4, total_nr);

	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, total, 1,
				bits, 0));
	for (i = 0; i < ARRAY_SIZE(iopte_bits); i++) {
		for (j = 0; j < per_iopte; j += 97)
			ASSERT_TRUE(bits[(iopte_bits[i] + j) / 8] &
				    (1 << ((iopte_bits[i] + j) % 8)));
		ASSERT_TRUE(bits[(iopte_bits[i] + per_iopte - 1) / 8] &
			    (1 << ((iopte_bits[i] + per_iopte - 1) % 8)));
	}
	EXPECT_EQ(4 * per_iopte, count_bits(region_buf, region * 8));

	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, START, total, &done));
	munmap(chunk_buf, chunk);
	munmap(region_buf, region);
}

/*
 * A device attached to a tracking HWPT, a buffer mapped at START and
 * tracking on.  @bits and @want are page aligned and have room for a bitmap
 * of twice the buffer's pages, started up to a page into them.
 */
FIXTURE(tracking) {
	int fd;
	__u32 ioas_id;
	struct mock_dev dev;
	__u32 hwpt_id;
	void *buf;
	__u64 size;
	__u64 npages;
	__u8 *bits;
	__u8 *want;
	size_t bitmap_len;
};

FIXTURE_VARIANT(tracking) {
	__u64 size;
};

FIXTURE_VARIANT_ADD(tracking, buffer_64_kib) {
	.size = 64UL << 10,
};

FIXTURE_VARIANT_ADD(tracking, buffer_4_mib) {
	.size = 4UL << 20,
};

FIXTURE_SETUP(tracking)
{
	long psize = sysconf(_SC_PAGESIZE);

	self->fd = open("/dev/iommu", O_RDWR);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "no /dev/iommu");
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	if (mock_device(self->fd, self->ioas_id, 0, &self->dev))
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				self->dev.dev_id, self->ioas_id,
				&self->hwpt_id));
	ASSERT_EQ(0, replace(self->fd, self->dev.stdev_id, self->hwpt_id));

	self->size = variant->size;
	self->npages = self->size / MOCK_PAGE;
	self->buf = zalloc_pages(self->size);
	ASSERT_NE(NULL, self->buf);
	ASSERT_EQ(0, map_fixed(self->fd, self->ioas_id, self->buf,
			       self->size, START));
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));

	self->bitmap_len = bytes_for(2 * self->npages) + 2 * psize;
	self->bitmap_len = (self->bitmap_len + psize - 1) & ~(psize - 1);
	self->bits = zalloc_pages(self->bitmap_len);
	self->want = zalloc_pages(self->bitmap_len);
	ASSERT_NE(NULL, self->bits);
	ASSERT_NE(NULL, self->want);
}

FIXTURE_TEARDOWN(tracking)
{
	close(self->fd);
	munmap(self->buf, self->size);
	munmap(self->bits, self->bitmap_len);
	munmap(self->want, self->bitmap_len);
}

/* Marks every third page and the last; returns how many were marked */
static __u64 mark_pattern(int fd, __u32 hwpt_id, __u64 npages, __u8 *want)
{
	__u64 i, nr = 0;

	memset(want, 0, bytes_for(npages));
	for (i = 0; i < npages; i++)
		if (i % 3 == 0 || i == npages - 1)
			set_bit8(want, i);
	if (mark_dirty(fd, hwpt_id, START, npages * MOCK_PAGE, MOCK_PAGE,
		       want, &nr))
		return 0;
	return nr;
}

TEST_F(tracking, a_read_reports_exactly_the_marked_pages)
{
	__u64 nr = mark_pattern(self->fd, self->hwpt_id, self->npages,
				self->want);
	__u64 expect = count_bits(self->want, self->npages);

	ASSERT_NE(0, expect);
	ASSERT_EQ(expect, nr);
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, self->size,
				MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(0, memcmp(self->want, self->bits, bytes_for(self->npages)));
	EXPECT_EQ(expect, count_bits(self->bits, self->bitmap_len * 8));
}

TEST_F(tracking, a_read_clears_what_it_reports)
{
	ASSERT_NE(0, mark_pattern(self->fd, self->hwpt_id, self->npages,
				  self->want));
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, self->size,
				MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(0, memcmp(self->want, self->bits, bytes_for(self->npages)));

	memset(self->bits, 0, self->bitmap_len);
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, self->size,
				MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(0, count_bits(self->bits, self->bitmap_len * 8));
}

TEST_F(tracking, a_no_clear_read_leaves_the_pages_dirty)
{
	int i;

	ASSERT_NE(0, mark_pattern(self->fd, self->hwpt_id, self->npages,
				  self->want));
	for (i = 0; i < 2; i++) {
		memset(self->bits, 0, self->bitmap_len);
		ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START,
					self->size, MOCK_PAGE, self->bits,
					NO_CLEAR));
		EXPECT_EQ(0, memcmp(self->want, self->bits,
				    bytes_for(self->npages)));
	}
	/* A clearing read still sees them, and clears them */
	memset(self->bits, 0, self->bitmap_len);
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, self->size,
				MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(0, memcmp(self->want, self->bits, bytes_for(self->npages)));
	memset(self->bits, 0, self->bitmap_len);
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, self->size,
				MOCK_PAGE, self->bits, NO_CLEAR));
	EXPECT_EQ(0, count_bits(self->bits, self->bitmap_len * 8));
}

TEST_F(tracking, the_kernel_sets_bits_and_never_clears_them)
{
	__u64 i, n = bytes_for(self->npages), nr;

	memset(self->want, 0, self->bitmap_len);
	set_bit8(self->want, 1);
	ASSERT_EQ(0, mark_dirty(self->fd, self->hwpt_id, START, self->size,
				MOCK_PAGE, self->want, &nr));
	ASSERT_EQ(1, nr);
	/* Bits of clean pages the user left set stay set */
	memset(self->bits, 0xff, n);
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, self->size,
				MOCK_PAGE, self->bits, 0));
	for (i = 0; i < n; i++)
		ASSERT_EQ(0xff, self->bits[i]);
}

TEST_F(tracking, the_bitmap_may_start_at_any_byte)
{
	const size_t offsets[] = { 1, 0xff1 };
	size_t n = bytes_for(self->npages);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(offsets); i++) {
		__u8 *bits = self->bits + offsets[i];

		ASSERT_NE(0, mark_pattern(self->fd, self->hwpt_id,
					  self->npages, self->want));
		memset(self->bits, 0, self->bitmap_len);
		ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START,
					self->size, MOCK_PAGE, bits, 0));
		EXPECT_EQ(0, memcmp(self->want, bits, n));
		/* Nothing outside the bitmap is touched */
		EXPECT_EQ(count_bits(self->want, self->npages),
			  count_bits(self->bits, self->bitmap_len * 8));
	}
}

TEST_F(tracking, a_larger_page_size_sets_the_one_bit_covering_each_page)
{
	const __u64 big = 4 * MOCK_PAGE;
	__u64 i, nr, marks[4] = { 0, 5, 6, self->npages - 1 };

	memset(self->want, 0, self->bitmap_len);
	for (i = 0; i < 4; i++)
		set_bit8(self->want, marks[i]);
	ASSERT_EQ(0, mark_dirty(self->fd, self->hwpt_id, START, self->size,
				MOCK_PAGE, self->want, &nr));
	ASSERT_EQ(4, nr);

	memset(self->want, 0, self->bitmap_len);
	for (i = 0; i < 4; i++)
		set_bit8(self->want, marks[i] / 4);
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, self->size,
				big, self->bits, 0));
	EXPECT_EQ(0, memcmp(self->want, self->bits,
			    bytes_for(self->size / big)));
	EXPECT_EQ(3, count_bits(self->bits, self->bitmap_len * 8));
}

TEST_F(tracking, a_partial_read_reports_and_clears_only_its_range)
{
	__u64 half = self->npages / 2, nr;

	memset(self->want, 0, self->bitmap_len);
	set_bit8(self->want, 0);
	set_bit8(self->want, half);
	set_bit8(self->want, half + 1);
	set_bit8(self->want, self->npages - 1);
	ASSERT_EQ(0, mark_dirty(self->fd, self->hwpt_id, START, self->size,
				MOCK_PAGE, self->want, &nr));
	ASSERT_EQ(4, nr);

	/* Bit 0 stands for the range's first page, not for START */
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id,
				START + half * MOCK_PAGE, half * MOCK_PAGE,
				MOCK_PAGE, self->bits, 0));
	memset(self->want, 0, self->bitmap_len);
	set_bit8(self->want, 0);
	set_bit8(self->want, 1);
	set_bit8(self->want, half - 1);
	EXPECT_EQ(0, memcmp(self->want, self->bits, self->bitmap_len));

	/* The first half was not cleared by that read */
	memset(self->bits, 0, self->bitmap_len);
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, self->size,
				MOCK_PAGE, self->bits, 0));
	memset(self->want, 0, self->bitmap_len);
	set_bit8(self->want, 0);
	EXPECT_EQ(0, memcmp(self->want, self->bits, self->bitmap_len));
}

TEST_F(tracking, unmapped_iova_is_neither_marked_nor_reported)
{
	__u64 nr;

	/* Every page of twice the buffer: only the mapped half counts */
	memset(self->want, 0xff, bytes_for(2 * self->npages));
	ASSERT_EQ(0, mark_dirty(self->fd, self->hwpt_id, START,
				2 * self->size, MOCK_PAGE, self->want, &nr));
	EXPECT_EQ(self->npages, nr);

	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START,
				2 * self->size, MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(self->npages, count_bits(self->bits, self->bitmap_len * 8));
	EXPECT_EQ(self->npages, count_bits(self->bits, self->npages));
}

TEST_F(tracking, enabling_tracking_discards_stale_dirty_bits)
{
	ASSERT_NE(0, mark_pattern(self->fd, self->hwpt_id, self->npages,
				  self->want));
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, false));
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, self->size,
				MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(0, count_bits(self->bits, self->bitmap_len * 8));
}

TEST_F(tracking, pages_marked_while_tracking_is_off_are_never_reported)
{
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, false));
	mark_pattern(self->fd, self->hwpt_id, self->npages, self->want);
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, self->size,
				MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(0, count_bits(self->bits, self->bitmap_len * 8));
}

TEST_F(tracking, an_area_unmapped_while_tracking_reports_nothing)
{
	__u64 nr, done;

	ASSERT_EQ(0, map_fixed(self->fd, self->ioas_id, self->buf,
			       self->size, START + self->size));
	memset(self->want, 0, self->bitmap_len);
	set_bit8(self->want, 0);
	set_bit8(self->want, self->npages);
	ASSERT_EQ(0, mark_dirty(self->fd, self->hwpt_id, START,
				2 * self->size, MOCK_PAGE, self->want, &nr));
	ASSERT_EQ(2, nr);

	ASSERT_EQ(0, unmap(self->fd, self->ioas_id, START + self->size,
			   self->size, &done));
	EXPECT_EQ(self->size, done);
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START + self->size,
				self->size, MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(0, count_bits(self->bits, self->bitmap_len * 8));

	/* The area that stayed keeps its dirty page */
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, self->size,
				MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(1, count_bits(self->bits, self->bitmap_len * 8));
	EXPECT_EQ(1, self->bits[0] & 1);
}

/*
 * A MOCK_FLAGS_DEVICE_HUGE_IOVA device on a tracking HWPT that maps a
 * 2 MiB huge page at START, 1 MiB aligned: two 1 MiB IOPTEs.
 */
FIXTURE(huge) {
	int fd;
	__u32 ioas_id;
	struct mock_dev dev;
	__u32 hwpt_id;
	void *buf;
	__u64 npages;
	__u8 *bits;
	__u8 *want;
};

FIXTURE_SETUP(huge)
{
	long psize = sysconf(_SC_PAGESIZE);

	self->fd = open("/dev/iommu", O_RDWR);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "no /dev/iommu");
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	if (mock_device(self->fd, self->ioas_id, MOCK_FLAGS_DEVICE_HUGE_IOVA,
			&self->dev))
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	if (2 * HUGE_IOPTE > HUGE_BUF)
		SKIP(return, "huge IOPTEs do not fit a 2 MiB page here");
	self->buf = mmap(NULL, HUGE_BUF, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (self->buf == MAP_FAILED)
		SKIP(return, "no 2 MiB huge page available");
	if ((uintptr_t)self->buf % HUGE_BUF) {
		munmap(self->buf, HUGE_BUF);
		SKIP(return, "the default huge page size is not 2 MiB");
	}
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				self->dev.dev_id, self->ioas_id,
				&self->hwpt_id));
	ASSERT_EQ(0, replace(self->fd, self->dev.stdev_id, self->hwpt_id));
	ASSERT_EQ(0, map_fixed(self->fd, self->ioas_id, self->buf, HUGE_BUF,
			       START));
	ASSERT_EQ(0, set_tracking(self->fd, self->hwpt_id, true));

	self->npages = HUGE_BUF / MOCK_PAGE;
	self->bits = zalloc_pages(psize);
	self->want = zalloc_pages(psize);
	ASSERT_NE(NULL, self->bits);
	ASSERT_NE(NULL, self->want);
}

FIXTURE_TEARDOWN(huge)
{
	long psize = sysconf(_SC_PAGESIZE);

	close(self->fd);
	munmap(self->buf, HUGE_BUF);
	munmap(self->bits, psize);
	munmap(self->want, psize);
}

/* Marks the one MOCK_PAGE @page of the huge mapping */
static int mark_one(int fd, __u32 hwpt_id, __u64 npages, __u64 page,
		    __u64 *nr)
{
	__u8 map[1024] = { 0 };

	if (bytes_for(npages) > sizeof(map))
		return -E2BIG;
	set_bit8(map, page);
	return mark_dirty(fd, hwpt_id, START, npages * MOCK_PAGE, MOCK_PAGE,
			  map, nr);
}

TEST_F(huge, a_dirty_huge_iopte_reports_every_page_it_covers)
{
	const __u64 per_iopte = HUGE_IOPTE / MOCK_PAGE;
	__u64 i, nr;

	ASSERT_EQ(0, mark_one(self->fd, self->hwpt_id, self->npages,
			      per_iopte + 7, &nr));
	ASSERT_EQ(1, nr);
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, HUGE_BUF,
				MOCK_PAGE, self->bits, 0));
	for (i = per_iopte; i < 2 * per_iopte; i++)
		set_bit8(self->want, i);
	EXPECT_EQ(0, memcmp(self->want, self->bits, bytes_for(self->npages)));
	EXPECT_EQ(per_iopte, count_bits(self->bits, self->npages));
}

TEST_F(huge, a_read_clears_the_whole_huge_iopte)
{
	const __u64 per_iopte = HUGE_IOPTE / MOCK_PAGE;
	__u64 nr;

	ASSERT_EQ(0, mark_one(self->fd, self->hwpt_id, self->npages, 3, &nr));
	ASSERT_EQ(1, nr);
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, HUGE_BUF,
				MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(per_iopte, count_bits(self->bits, per_iopte));
	EXPECT_EQ(per_iopte, count_bits(self->bits, self->npages));

	memset(self->bits, 0, bytes_for(self->npages));
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, HUGE_BUF,
				MOCK_PAGE, self->bits, 0));
	EXPECT_EQ(0, count_bits(self->bits, self->npages));
}

TEST_F(huge, a_page_size_of_the_huge_iopte_sets_one_bit)
{
	const __u64 per_iopte = HUGE_IOPTE / MOCK_PAGE;
	__u64 nr;

	ASSERT_EQ(0, mark_one(self->fd, self->hwpt_id, self->npages,
			      2 * per_iopte - 1, &nr));
	ASSERT_EQ(1, nr);
	ASSERT_EQ(0, read_dirty(self->fd, self->hwpt_id, START, HUGE_BUF,
				HUGE_IOPTE, self->bits, 0));
	EXPECT_EQ(0x2, self->bits[0]);
	EXPECT_EQ(1, count_bits(self->bits, 8 * sizeof(__u64)));
}

/*
 * IOMMU_OPTION_HUGE_PAGES 0 (type1 v1's rule) on an IOAS whose device
 * offers huge IOPTEs: the 2 MiB page is mapped with small IOPTEs only, so
 * one dirty page reports one bit.  Turned off before the domains exist
 * (they are restricted as they join) or after they exist but before
 * anything is mapped (they are restricted on the spot).
 */
FIXTURE(huge_off) {
	int fd;
	void *buf;
};

FIXTURE_VARIANT(huge_off) {
	bool before_domains;
};

FIXTURE_VARIANT_ADD(huge_off, before_domains) {
	.before_domains = true,
};

FIXTURE_VARIANT_ADD(huge_off, after_domains) {
	.before_domains = false,
};

FIXTURE_SETUP(huge_off)
{
	self->fd = open("/dev/iommu", O_RDWR);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "no /dev/iommu");
	ASSERT_LE(0, self->fd);
	self->buf = mmap(NULL, HUGE_BUF, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (self->buf == MAP_FAILED)
		SKIP(return, "no 2 MiB huge page available");
	if ((uintptr_t)self->buf % HUGE_BUF || 2 * HUGE_IOPTE > HUGE_BUF) {
		munmap(self->buf, HUGE_BUF);
		self->buf = MAP_FAILED;
		SKIP(return, "huge IOPTEs do not fit a 2 MiB page here");
	}
}

FIXTURE_TEARDOWN(huge_off)
{
	close(self->fd);
	if (self->buf != MAP_FAILED)
		munmap(self->buf, HUGE_BUF);
}

static int huge_pages_off(int fd, __u32 ioas_id)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_SET, .object_id = ioas_id, .val64 = 0,
	};

	return do_ioctl(fd, IOMMU_OPTION, &cmd);
}

TEST_F(huge_off, a_huge_page_is_mapped_with_small_ioptes_only)
{
	const __u64 npages = HUGE_BUF / MOCK_PAGE;
	long psize = sysconf(_SC_PAGESIZE);
	__u32 ioas_id, hwpt_id;
	struct mock_dev dev;
	__u8 *bits;
	__u64 nr;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	if (variant->before_domains)
		ASSERT_EQ(0, huge_pages_off(self->fd, ioas_id));
	if (mock_device(self->fd, ioas_id, MOCK_FLAGS_DEVICE_HUGE_IOVA, &dev))
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				dev.dev_id, ioas_id, &hwpt_id));
	ASSERT_EQ(0, replace(self->fd, dev.stdev_id, hwpt_id));
	if (!variant->before_domains)
		ASSERT_EQ(0, huge_pages_off(self->fd, ioas_id));
	ASSERT_EQ(0, map_fixed(self->fd, ioas_id, self->buf, HUGE_BUF, START));
	ASSERT_EQ(0, set_tracking(self->fd, hwpt_id, true));

	ASSERT_EQ(0, mark_one(self->fd, hwpt_id, npages, HUGE_IOPTE / MOCK_PAGE + 7,
			      &nr));
	ASSERT_EQ(1, nr);
	bits = zalloc_pages(psize);
	ASSERT_NE(NULL, bits);
	ASSERT_EQ(0, read_dirty(self->fd, hwpt_id, START, HUGE_BUF, MOCK_PAGE,
				bits, 0));
	EXPECT_EQ(1, count_bits(bits, npages));
	EXPECT_EQ(1, (bits[(HUGE_IOPTE / MOCK_PAGE + 7) / 8] >>
		      ((HUGE_IOPTE / MOCK_PAGE + 7) % 8)) & 1);
	munmap(bits, psize);
}

/*
 * The bitmap walk itself (IOMMU_TEST_OP_IOVA_BITMAP), with arguments no
 * ioctl passes it unchecked.  The walk pins a window of 512 pages of the
 * bitmap at a time (2 MiB, 2^24 bits); @bits holds three windows, so a
 * range set in every window crosses two window ends.
 */
#define WALK_PAGE 4096UL
#define WALK_WINDOW_BITS (512UL * 4096 * 8)
#define WALK_BITS (3 * WALK_WINDOW_BITS)
#define WALK_IOVA (1024UL << 30)	/* 1 TiB */
#define WALK_LENGTH (WALK_BITS * WALK_PAGE)

FIXTURE(bitmap_walk) {
	int fd;
	__u8 *bits;
};

static int bitmap_walk(int fd, __u64 iova, __u64 length, __u64 page_size,
		       void *bits, const struct iommu_test_bitmap_range *ranges,
		       __u32 nranges, __u32 fail_window)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_IOVA_BITMAP,
		.iova_bitmap = {
			.iova = iova, .length = length,
			.page_size = page_size,
			.uptr = (uintptr_t)bits, .ranges = (uintptr_t)ranges,
			.nranges = nranges, .fail_window = fail_window,
		},
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* Are bits [@first, @last] of @bits set, and no other of its @nbits? */
static bool only_bits_set(const __u8 *bits, unsigned long nbits,
			  unsigned long first, unsigned long last)
{
	unsigned long byte;

	for (byte = 0; byte != nbits / 8; byte++) {
		unsigned long lo = byte * 8, hi = lo + 7;
		__u8 want = 0;
		unsigned int b;

		if (hi < first || lo > last)
			want = 0;
		else if (lo >= first && hi <= last)
			want = 0xff;
		else
			for (b = 0; b != 8; b++)
				if (lo + b >= first && lo + b <= last)
					want |= 1 << b;
		if (bits[byte] != want)
			return false;
	}
	return true;
}

FIXTURE_SETUP(bitmap_walk)
{
	struct iommu_test_bitmap_range none[MOCK_BITMAP_RANGES + 1] = {};

	self->fd = open("/dev/iommu", O_RDWR);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "no /dev/iommu");
	ASSERT_LE(0, self->fd);
	if (bitmap_walk(self->fd, WALK_IOVA, WALK_PAGE, WALK_PAGE, NULL, none,
			MOCK_BITMAP_RANGES + 1, 0) != -EINVAL)
		SKIP(return, "no IOMMU_TEST_OP_IOVA_BITMAP (CONFIG_IOMMUFD_TEST=n?)");
	self->bits = mmap(NULL, WALK_BITS / 8, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->bits);
}

FIXTURE_TEARDOWN(bitmap_walk)
{
	close(self->fd);
	munmap(self->bits, WALK_BITS / 8);
}

TEST_F(bitmap_walk, a_walk_of_no_length_is_einval)
{
	EXPECT_EQ(-EINVAL, bitmap_walk(self->fd, WALK_IOVA, 0, WALK_PAGE,
				       self->bits, NULL, 0, 0));
}

TEST_F(bitmap_walk, a_page_size_that_is_not_a_power_of_two_is_einval)
{
	EXPECT_EQ(-EINVAL, bitmap_walk(self->fd, WALK_IOVA, WALK_LENGTH,
				       3 * WALK_PAGE, self->bits, NULL, 0, 0));
	EXPECT_EQ(-EINVAL, bitmap_walk(self->fd, WALK_IOVA, WALK_LENGTH, 0,
				       self->bits, NULL, 0, 0));
}

TEST_F(bitmap_walk, a_range_past_the_top_of_the_iova_space_is_eoverflow)
{
	EXPECT_EQ(-EOVERFLOW, bitmap_walk(self->fd, -WALK_PAGE, 2 * WALK_PAGE,
					  WALK_PAGE, self->bits, NULL, 0, 0));
}

TEST_F(bitmap_walk, a_bitmap_that_is_not_user_memory_is_efault)
{
	/* The kernel's half of the address space: access_ok() refuses it */
	EXPECT_EQ(-EFAULT, bitmap_walk(self->fd, WALK_IOVA, WALK_LENGTH,
				       WALK_PAGE, (void *)(~0UL << 47),
				       NULL, 0, 0));
}

TEST_F(bitmap_walk, a_read_only_bitmap_is_efault)
{
	const struct iommu_test_bitmap_range all = { WALK_IOVA, WALK_PAGE };

	ASSERT_EQ(0, mprotect(self->bits, WALK_BITS / 8, PROT_READ));
	EXPECT_EQ(-EFAULT, bitmap_walk(self->fd, WALK_IOVA, WALK_LENGTH,
				       WALK_PAGE, self->bits, &all, 1, 0));
}

TEST_F(bitmap_walk, a_range_across_windows_sets_every_bit_of_it)
{
	/* From 100 pages in to 100 pages before the end of the third window */
	const struct iommu_test_bitmap_range r[] = {
		{ WALK_IOVA + 100 * WALK_PAGE,
		  (WALK_BITS - 200) * WALK_PAGE },
		/* set again, overlapping: the pending tail grows, no more */
		{ WALK_IOVA + WALK_WINDOW_BITS * WALK_PAGE, WALK_PAGE },
	};

	ASSERT_EQ(0, bitmap_walk(self->fd, WALK_IOVA, WALK_LENGTH, WALK_PAGE,
				 self->bits, r, 2, 0));
	EXPECT_TRUE(only_bits_set(self->bits, WALK_BITS, 100,
				  WALK_BITS - 101));
}

TEST_F(bitmap_walk, ranges_outside_the_bitmap_or_empty_set_nothing)
{
	const struct iommu_test_bitmap_range r[] = {
		{ WALK_IOVA - WALK_PAGE, WALK_PAGE },	/* just before it */
		{ WALK_IOVA + WALK_LENGTH, WALK_PAGE },	/* just after it */
		{ WALK_IOVA + WALK_PAGE, 0 },		/* empty */
	};
	unsigned long i;

	ASSERT_EQ(0, bitmap_walk(self->fd, WALK_IOVA, WALK_LENGTH, WALK_PAGE,
				 self->bits, r, 3, 0));
	for (i = 0; i != WALK_BITS / 8; i++)
		if (self->bits[i])
			break;
	EXPECT_EQ(WALK_BITS / 8, i);
}

TEST_F(bitmap_walk, a_range_that_wraps_is_clipped_at_the_bitmap_end)
{
	/* iova + length - 1 wraps past the top: up to the end it is */
	const struct iommu_test_bitmap_range r = {
		WALK_IOVA + WALK_LENGTH - WALK_PAGE, ~0ULL
	};

	ASSERT_EQ(0, bitmap_walk(self->fd, WALK_IOVA, WALK_LENGTH, WALK_PAGE,
				 self->bits, &r, 1, 0));
	EXPECT_TRUE(only_bits_set(self->bits, WALK_BITS, WALK_BITS - 1,
				  WALK_BITS - 1));
}

TEST_F(bitmap_walk, a_failing_window_ends_the_walk_with_its_error)
{
	const struct iommu_test_bitmap_range all = { WALK_IOVA, WALK_LENGTH };

	/*
	 * The first window's call set the whole range: its own part then,
	 * the second window's part once that window was pinned, before its
	 * call failed.  The third window was never reached.
	 */
	EXPECT_EQ(-EIO, bitmap_walk(self->fd, WALK_IOVA, WALK_LENGTH,
				    WALK_PAGE, self->bits, &all, 1, 2));
	EXPECT_TRUE(only_bits_set(self->bits, WALK_BITS, 0,
				  2 * WALK_WINDOW_BITS - 1));
}

TEST_HARNESS_MAIN
