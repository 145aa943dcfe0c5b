// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IO address space (IOAS) commands of /dev/iommu, with no device or
 * domain attached: IOAS_ALLOC, DESTROY, IOAS_MAP, IOAS_UNMAP, IOAS_COPY,
 * IOAS_IOVA_RANGES, IOAS_ALLOW_IOVAS, OPTION and VFIO_IOAS.  Each test
 * name states one behaviour; after every test the fixture closes its file
 * and checks that none of the test buffer's pages stay pinned.
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

#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "kselftest_harness.h"
#include "uapi_calls.h"

#define RDWR (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED_RDWR (IOMMU_IOAS_MAP_FIXED_IOVA | RDWR)

/* Where tests place their fixed mappings; any IOVA would do */
#define BASE 0x100000000ULL
#define PAGES(n) ((__u64)(n) * psize)
#define BUFFER_PAGES 64
#define BUFFER_SIZE PAGES(BUFFER_PAGES)

static size_t psize;
/* BUFFER_SIZE bytes, aligned to BUFFER_SIZE */
static void *buffer;

static void __attribute__((constructor)) setup_buffer(void)
{
	uintptr_t p;
	void *mem;

	psize = sysconf(_SC_PAGESIZE);
	mem = mmap(NULL, 2 * BUFFER_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		abort();
	p = ((uintptr_t)mem + BUFFER_SIZE - 1) & ~(uintptr_t)(BUFFER_SIZE - 1);
	buffer = (void *)p;
	memset(buffer, 0, BUFFER_SIZE);
}

static __u64 buf(__u64 offset)
{
	return (uintptr_t)buffer + offset;
}

static bool overlaps(__u64 a, __u64 alen, __u64 b, __u64 blen)
{
	return a < b + blen && b < a + alen;
}

static __u64 range_length(const struct iommu_iova_range *range)
{
	return range->last - range->start + 1;
}

static bool inside(__u64 iova, __u64 length,
		   const struct iommu_iova_range *range)
{
	return iova >= range->start && iova + length - 1 <= range->last;
}

/* *iova is the fixed IOVA in, and the IOVA used out */
static int ioas_map(int fd, __u32 ioas_id, __u32 flags, __u64 user_va,
		    __u64 length, __u64 *iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.ioas_id = ioas_id,
		.user_va = user_va,
		.length = length,
		.iova = *iova,
	};
	int rc = do_ioctl(fd, IOMMU_IOAS_MAP, &cmd);

	if (!rc)
		*iova = cmd.iova;
	return rc;
}

/* Returns the bytes the kernel reports unmapped, or -errno */
static __s64 ioas_unmap(int fd, __u32 ioas_id, __u64 iova, __u64 length)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.iova = iova,
		.length = length,
	};

	if (ioctl(fd, IOMMU_IOAS_UNMAP, &cmd))
		return -errno;
	return cmd.length;
}

static int ioas_copy(int fd, __u32 flags, __u32 dst_ioas_id, __u64 *dst_iova,
		     __u32 src_ioas_id, __u64 src_iova, __u64 length)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.dst_ioas_id = dst_ioas_id,
		.src_ioas_id = src_ioas_id,
		.length = length,
		.dst_iova = *dst_iova,
		.src_iova = src_iova,
	};
	int rc = do_ioctl(fd, IOMMU_IOAS_COPY, &cmd);

	if (!rc)
		*dst_iova = cmd.dst_iova;
	return rc;
}

static int add_reserved(int fd, __u32 ioas_id, __u64 start, __u64 length)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_ADD_RESERVED,
		.id = ioas_id,
		.add_reserved = { .start = start, .length = length },
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static int check_refs(int fd, __u64 user_va, __u64 length, __u32 refs)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = length, .uptr = user_va,
				.refs = refs },
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static int allow_iovas(int fd, __u32 ioas_id,
		       const struct iommu_iova_range *ranges, __u32 num)
{
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = num,
		.allowed_iovas = (uintptr_t)ranges,
	};

	return do_ioctl(fd, IOMMU_IOAS_ALLOW_IOVAS, &cmd);
}

/* *num is the room in ranges in, and the ranges that exist out */
static int iova_ranges(int fd, __u32 ioas_id, struct iommu_iova_range *ranges,
		       __u32 *num, __u64 *alignment)
{
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = ioas_id,
		.num_iovas = *num,
		.allowed_iovas = (uintptr_t)ranges,
	};
	int rc = do_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd);

	*num = cmd.num_iovas;
	if (alignment)
		*alignment = cmd.out_iova_alignment;
	return rc;
}

static int option(int fd, __u32 option_id, __u16 op, __u32 object_id,
		  __u64 *val64)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd),
		.option_id = option_id,
		.op = op,
		.object_id = object_id,
		.val64 = *val64,
	};
	int rc = do_ioctl(fd, IOMMU_OPTION, &cmd);

	if (!rc)
		*val64 = cmd.val64;
	return rc;
}

static int vfio_ioas(int fd, __u16 op, __u32 *ioas_id)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.ioas_id = *ioas_id,
		.op = op,
	};
	int rc = do_ioctl(fd, IOMMU_VFIO_IOAS, &cmd);

	if (!rc)
		*ioas_id = cmd.ioas_id;
	return rc;
}

/* Ranges, in pages from BASE, that clash with a mapping of pages [4, 8) */
static const struct {
	unsigned int first;
	unsigned int pages;
} clashes[] = {
	{ 4, 4 },	/* the same range */
	{ 4, 1 },	/* the same start */
	{ 5, 2 },	/* strictly inside */
	{ 7, 1 },	/* the same end */
	{ 3, 2 },	/* straddling the start */
	{ 7, 2 },	/* straddling the end */
	{ 2, 8 },	/* covering it */
};

FIXTURE(ioas) {
	int fd;
	__u32 ioas_id;
};

FIXTURE_SETUP(ioas)
{
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
}

FIXTURE_TEARDOWN(ioas)
{
	int fd;

	close(self->fd);
	fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, check_refs(fd, buf(0), BUFFER_SIZE, 0));
	close(fd);
}

/*
 * Helpers on the fixture's own file and IOAS; struct _test_data_ioas is
 * FIXTURE_DATA(ioas).
 */

/* A fixed, read-write mapping of the buffer in the fixture's IOAS */
static int map_fixed(struct _test_data_ioas *self, __u64 iova, __u64 length)
{
	return ioas_map(self->fd, self->ioas_id, FIXED_RDWR, buf(0), length,
			&iova);
}

/* A read-write mapping in the fixture's IOAS at an IOVA the kernel picks */
static int map_auto(struct _test_data_ioas *self, __u64 user_va, __u64 length,
		    __u64 *iova)
{
	*iova = 0;
	return ioas_map(self->fd, self->ioas_id, RDWR, user_va, length, iova);
}

/* Unmaps from the fixture's IOAS: the bytes unmapped, or -errno */
static __s64 unmap(struct _test_data_ioas *self, __u64 iova, __u64 length)
{
	return ioas_unmap(self->fd, self->ioas_id, iova, length);
}

/* Copies within the fixture's IOAS */
static int copy(struct _test_data_ioas *self, __u32 flags, __u64 *dst_iova,
		__u64 src_iova, __u64 length)
{
	return ioas_copy(self->fd, flags, self->ioas_id, dst_iova,
			 self->ioas_id, src_iova, length);
}

static int reserve(struct _test_data_ioas *self, __u64 start, __u64 length)
{
	return add_reserved(self->fd, self->ioas_id, start, length);
}

/* IOMMU_IOAS_ALLOC and IOMMU_DESTROY */

TEST_F(ioas, allocs_return_distinct_nonzero_ids)
{
	__u32 a, b;

	ASSERT_EQ(0, ioas_alloc(self->fd, &a));
	ASSERT_EQ(0, ioas_alloc(self->fd, &b));
	EXPECT_NE(0, self->ioas_id);
	EXPECT_NE(0, a);
	EXPECT_NE(0, b);
	EXPECT_NE(a, b);
	EXPECT_NE(self->ioas_id, a);
	EXPECT_NE(self->ioas_id, b);
}

TEST_F(ioas, alloc_with_nonzero_flags_is_eopnotsupp)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd), .flags = 1 };

	EXPECT_EQ(-EOPNOTSUPP, do_ioctl(self->fd, IOMMU_IOAS_ALLOC, &cmd));
}

TEST_F(ioas, destroy_succeeds_then_destroying_again_is_enoent)
{
	EXPECT_EQ(0, destroy(self->fd, self->ioas_id));
	EXPECT_EQ(-ENOENT, destroy(self->fd, self->ioas_id));
}

TEST_F(ioas, destroy_of_an_ioas_with_mappings_succeeds)
{
	__u64 iova = 0;

	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(4)));
	ASSERT_EQ(0, map_auto(self, buf(0), PAGES(2), &iova));
	EXPECT_EQ(0, destroy(self->fd, self->ioas_id));
	EXPECT_EQ(-ENOENT, unmap(self, BASE, PAGES(4)));
}

/* IOMMU_IOAS_MAP */

TEST_F(ioas, map_with_an_unknown_flag_is_eopnotsupp)
{
	__u64 iova = BASE;

	EXPECT_EQ(-EOPNOTSUPP, ioas_map(self->fd, self->ioas_id,
					FIXED_RDWR | 1 << 3, buf(0), PAGES(1),
					&iova));
}

TEST_F(ioas, map_with_nonzero_reserved_is_eopnotsupp)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = FIXED_RDWR,
		.ioas_id = self->ioas_id,
		.__reserved = 1,
		.user_va = buf(0),
		.length = PAGES(1),
		.iova = BASE,
	};

	EXPECT_EQ(-EOPNOTSUPP, do_ioctl(self->fd, IOMMU_IOAS_MAP, &cmd));
}

TEST_F(ioas, map_without_read_or_write_is_einval)
{
	__u64 iova = BASE;

	EXPECT_EQ(-EINVAL, ioas_map(self->fd, self->ioas_id, 0, buf(0),
				    PAGES(1), &iova));
	EXPECT_EQ(-EINVAL, ioas_map(self->fd, self->ioas_id,
				    IOMMU_IOAS_MAP_FIXED_IOVA, buf(0),
				    PAGES(1), &iova));
}

TEST_F(ioas, map_of_zero_length_is_einval)
{
	__u64 iova = BASE;

	EXPECT_EQ(-EINVAL, ioas_map(self->fd, self->ioas_id, FIXED_RDWR,
				    buf(0), 0, &iova));
	iova = 0;
	EXPECT_EQ(-EINVAL, map_auto(self, buf(0), 0, &iova));
}

TEST_F(ioas, map_with_user_va_plus_length_wrapping_is_eoverflow)
{
	__u64 iova = 0;

	EXPECT_EQ(-EOVERFLOW, map_auto(self, -PAGES(1), PAGES(2), &iova));
}

TEST_F(ioas, map_fixed_with_iova_plus_length_wrapping_is_eoverflow)
{
	__u64 iova = -PAGES(1);

	EXPECT_EQ(-EOVERFLOW, ioas_map(self->fd, self->ioas_id, FIXED_RDWR,
				       buf(0), PAGES(2), &iova));
}

TEST_F(ioas, map_into_an_unknown_ioas_is_enoent)
{
	__u64 iova = BASE;
	__u32 gone;

	ASSERT_EQ(0, ioas_alloc(self->fd, &gone));
	ASSERT_EQ(0, destroy(self->fd, gone));
	EXPECT_EQ(-ENOENT, ioas_map(self->fd, gone, FIXED_RDWR, buf(0),
				    PAGES(1), &iova));
	EXPECT_EQ(-ENOENT, ioas_map(self->fd, 0, FIXED_RDWR, buf(0),
				    PAGES(1), &iova));
}

TEST_F(ioas, map_fixed_over_an_existing_mapping_is_eexist)
{
	unsigned int i;

	ASSERT_EQ(0, map_fixed(self, BASE + PAGES(4), PAGES(4)));
	for (i = 0; i != ARRAY_SIZE(clashes); i++)
		EXPECT_EQ(-EEXIST, map_fixed(self,
					     BASE + PAGES(clashes[i].first),
					     PAGES(clashes[i].pages)));
}

TEST_F(ioas, map_fixed_right_next_to_a_mapping_succeeds)
{
	ASSERT_EQ(0, map_fixed(self, BASE + PAGES(4), PAGES(4)));
	EXPECT_EQ(0, map_fixed(self, BASE + PAGES(3), PAGES(1)));
	EXPECT_EQ(0, map_fixed(self, BASE + PAGES(8), PAGES(1)));
}

TEST_F(ioas, map_fixed_over_a_reserved_range_is_einval)
{
	unsigned int i;

	ASSERT_EQ(0, reserve(self, BASE + PAGES(4), PAGES(4)));
	for (i = 0; i != ARRAY_SIZE(clashes); i++)
		EXPECT_EQ(-EINVAL, map_fixed(self,
					     BASE + PAGES(clashes[i].first),
					     PAGES(clashes[i].pages)));
}

TEST_F(ioas, map_chooses_an_iova_aligned_to_the_lowest_set_bit_of_length)
{
	unsigned int n;

	/* buffer is aligned to more than any of these lengths */
	for (n = 1; n <= 16; n++) {
		__u64 length = PAGES(n);
		__u64 iova = 0;

		ASSERT_EQ(0, map_auto(self, buf(0), length, &iova));
		EXPECT_EQ(0, iova % (length & -length));
	}
}

TEST_F(ioas, map_chooses_iovas_outside_reserved_ranges_and_each_other)
{
	const struct iommu_iova_range reserved[] = {
		{ 0, BASE - 1 },
		{ BASE + PAGES(64), BASE + (1ULL << 40) - 1 },
	};
	__u64 iovas[16], lengths[16];
	unsigned int i, j;

	for (i = 0; i != ARRAY_SIZE(reserved); i++)
		ASSERT_EQ(0, reserve(self, reserved[i].start,
				     range_length(&reserved[i])));
	for (i = 0; i != ARRAY_SIZE(iovas); i++) {
		lengths[i] = PAGES(1 + i % 4);
		iovas[i] = 0;
		ASSERT_EQ(0, map_auto(self, buf(0), lengths[i], &iovas[i]));
		ASSERT_GE(-lengths[i], iovas[i]);
		for (j = 0; j != ARRAY_SIZE(reserved); j++)
			EXPECT_FALSE(overlaps(iovas[i], lengths[i],
					      reserved[j].start,
					      range_length(&reserved[j])));
		for (j = 0; j != i; j++)
			EXPECT_FALSE(overlaps(iovas[i], lengths[i], iovas[j],
					      lengths[j]));
	}
}

TEST_F(ioas, map_chooses_iovas_inside_the_allowed_ranges)
{
	const struct iommu_iova_range allowed[] = {
		{ BASE, BASE + PAGES(256) - 1 },
		{ BASE + PAGES(1024), BASE + PAGES(1280) - 1 },
	};
	__u64 iovas[16], lengths[16];
	unsigned int i, j;

	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, allowed,
				 ARRAY_SIZE(allowed)));
	for (i = 0; i != ARRAY_SIZE(iovas); i++) {
		lengths[i] = PAGES(1 + i % 4);
		iovas[i] = 0;
		ASSERT_EQ(0, map_auto(self, buf(0), lengths[i], &iovas[i]));
		EXPECT_TRUE(inside(iovas[i], lengths[i], &allowed[0]) ||
			    inside(iovas[i], lengths[i], &allowed[1]));
		for (j = 0; j != i; j++)
			EXPECT_FALSE(overlaps(iovas[i], lengths[i], iovas[j],
					      lengths[j]));
	}
}

TEST_F(ioas, map_of_user_memory_the_process_has_not_mapped_succeeds)
{
	__u64 iova = 0;

	/* Nothing is pinned while no device is attached */
	ASSERT_EQ(0, map_auto(self, 1ULL << 40, PAGES(4), &iova));
	EXPECT_EQ(PAGES(4), unmap(self, iova, PAGES(4)));
}

TEST_F(ioas, map_is_byte_granular_without_a_domain)
{
	struct iommu_iova_range range;
	__u64 alignment;
	__u64 iova = BASE + 3;
	__u32 num = 1;

	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, &range, &num,
				 &alignment));
	EXPECT_EQ(1, alignment);

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, FIXED_RDWR, buf(1), 5,
			      &iova));
	EXPECT_EQ(BASE + 3, iova);
	iova = 0;
	ASSERT_EQ(0, map_auto(self, buf(7), 3, &iova));
	EXPECT_EQ(3, unmap(self, iova, 3));
	EXPECT_EQ(5, unmap(self, BASE + 3, 5));
}

/* IOMMU_IOAS_UNMAP */

TEST_F(ioas, unmap_of_a_range_with_nothing_mapped_is_enoent)
{
	EXPECT_EQ(-ENOENT, unmap(self, BASE, PAGES(1)));
	ASSERT_EQ(0, map_fixed(self, BASE + PAGES(4), PAGES(4)));
	EXPECT_EQ(-ENOENT, unmap(self, BASE, PAGES(4)));
	EXPECT_EQ(-ENOENT, unmap(self, BASE + PAGES(8), PAGES(4)));
}

TEST_F(ioas, unmap_of_one_mapping_returns_its_length)
{
	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(3)));
	EXPECT_EQ(PAGES(3), unmap(self, BASE, PAGES(3)));
	EXPECT_EQ(-ENOENT, unmap(self, BASE, PAGES(3)));
}

TEST_F(ioas, unmap_of_a_range_covering_several_mappings_returns_the_sum)
{
	ASSERT_EQ(0, map_fixed(self, BASE + PAGES(1), PAGES(2)));
	ASSERT_EQ(0, map_fixed(self, BASE + PAGES(3), PAGES(1)));
	ASSERT_EQ(0, map_fixed(self, BASE + PAGES(8), PAGES(4)));
	EXPECT_EQ(PAGES(7), unmap(self, BASE, PAGES(16)));
	EXPECT_EQ(-ENOENT, unmap(self, BASE, PAGES(16)));
}

TEST_F(ioas, unmap_cutting_a_mapping_is_enoent_and_unmaps_nothing)
{
	/* Ranges, in pages from BASE, cutting the mapping of [4, 8) */
	static const struct {
		unsigned int first;
		unsigned int pages;
	} cuts[] = {
		{ 5, 3 },	/* starts inside it */
		{ 5, 8 },	/* starts inside it, ends after it */
		{ 4, 2 },	/* ends inside it */
		{ 0, 6 },	/* starts before it, ends inside it */
		{ 5, 2 },	/* strictly inside it */
	};
	unsigned int i;

	ASSERT_EQ(0, map_fixed(self, BASE + PAGES(4), PAGES(4)));
	for (i = 0; i != ARRAY_SIZE(cuts); i++)
		EXPECT_EQ(-ENOENT, unmap(self, BASE + PAGES(cuts[i].first),
					 PAGES(cuts[i].pages)));
	EXPECT_EQ(PAGES(4), unmap(self, BASE + PAGES(4), PAGES(4)));
}

TEST_F(ioas, unmap_of_everything_returns_the_total)
{
	__u64 iova = 0;

	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(2)));
	ASSERT_EQ(0, map_fixed(self, BASE + PAGES(4), PAGES(3)));
	ASSERT_EQ(0, map_auto(self, buf(0), PAGES(5), &iova));
	EXPECT_EQ(PAGES(10), unmap(self, 0, UINT64_MAX));
	EXPECT_EQ(-ENOENT, unmap(self, iova, PAGES(5)));
}

TEST_F(ioas, unmap_of_everything_on_an_empty_ioas_returns_zero_length)
{
	EXPECT_EQ(0, unmap(self, 0, UINT64_MAX));
}

TEST_F(ioas, unmap_of_zero_length_is_einval)
{
	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(1)));
	EXPECT_EQ(-EINVAL, unmap(self, BASE, 0));
}

TEST_F(ioas, unmap_with_iova_plus_length_wrapping_is_eoverflow)
{
	EXPECT_EQ(-EOVERFLOW, unmap(self, -PAGES(1), PAGES(2)));
}

/* IOMMU_IOAS_COPY */

TEST_F(ioas, copy_to_a_fixed_iova_in_the_same_ioas_maps_it)
{
	__u64 dst = BASE + PAGES(16);

	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(4)));
	ASSERT_EQ(0, copy(self, FIXED_RDWR, &dst, BASE, PAGES(4)));
	EXPECT_EQ(BASE + PAGES(16), dst);
	EXPECT_EQ(PAGES(4), unmap(self, dst, PAGES(4)));
}

TEST_F(ioas, copy_to_another_ioas_maps_it_there)
{
	__u64 dst = BASE;
	__u32 other;

	ASSERT_EQ(0, ioas_alloc(self->fd, &other));
	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(4)));
	ASSERT_EQ(0, ioas_copy(self->fd, FIXED_RDWR, other, &dst,
			       self->ioas_id, BASE, PAGES(4)));
	EXPECT_EQ(PAGES(4), ioas_unmap(self->fd, other, BASE, PAGES(4)));
}

TEST_F(ioas, copy_without_fixed_iova_writes_back_the_chosen_iova)
{
	__u64 dst = 0;

	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(4)));
	ASSERT_EQ(0, copy(self, RDWR, &dst, BASE, PAGES(4)));
	EXPECT_FALSE(overlaps(dst, PAGES(4), BASE, PAGES(4)));
	EXPECT_EQ(PAGES(4), unmap(self, dst, PAGES(4)));
}

TEST_F(ioas, copy_of_a_source_range_with_a_hole_is_enoent)
{
	__u64 dst = BASE + PAGES(16);

	EXPECT_EQ(-ENOENT, copy(self, FIXED_RDWR, &dst, BASE, PAGES(3)));
	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(1)));
	ASSERT_EQ(0, map_fixed(self, BASE + PAGES(2), PAGES(1)));
	EXPECT_EQ(-ENOENT, copy(self, FIXED_RDWR, &dst, BASE, PAGES(3)));
	EXPECT_EQ(-ENOENT, unmap(self, dst, PAGES(3)));
}

TEST_F(ioas, copy_without_read_or_write_is_einval)
{
	__u64 dst = BASE + PAGES(16);

	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(4)));
	EXPECT_EQ(-EINVAL, copy(self, IOMMU_IOAS_MAP_FIXED_IOVA, &dst, BASE,
				PAGES(4)));
}

TEST_F(ioas, copy_of_zero_length_is_einval_and_a_wrapping_one_eoverflow)
{
	__u64 dst = BASE + PAGES(16);

	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(4)));
	EXPECT_EQ(-EINVAL, copy(self, FIXED_RDWR, &dst, BASE, 0));
	EXPECT_EQ(-EOVERFLOW, copy(self, FIXED_RDWR, &dst, BASE, -BASE + 1));
}

TEST_F(ioas, copy_with_an_unknown_flag_is_eopnotsupp)
{
	__u64 dst = BASE + PAGES(16);

	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(4)));
	EXPECT_EQ(-EOPNOTSUPP, copy(self, FIXED_RDWR | 1 << 3, &dst, BASE,
				    PAGES(4)));
}

TEST_F(ioas, copy_writeable_from_a_read_only_source_is_eperm)
{
	const __u32 fixed_ro = IOMMU_IOAS_MAP_FIXED_IOVA |
			       IOMMU_IOAS_MAP_READABLE;
	__u64 dst = BASE + PAGES(16);
	__u64 iova = BASE;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, fixed_ro, buf(0),
			      PAGES(4), &iova));
	EXPECT_EQ(-EPERM, copy(self, FIXED_RDWR, &dst, BASE, PAGES(4)));
	EXPECT_EQ(0, copy(self, fixed_ro, &dst, BASE, PAGES(4)));
}

TEST_F(ioas, copy_to_a_fixed_iova_over_a_mapping_is_eexist)
{
	__u64 dst;

	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(4)));
	ASSERT_EQ(0, map_fixed(self, BASE + PAGES(16), PAGES(4)));
	dst = BASE + PAGES(18);
	EXPECT_EQ(-EEXIST, copy(self, FIXED_RDWR, &dst, BASE, PAGES(4)));
	dst = BASE + PAGES(2);
	EXPECT_EQ(-EEXIST, copy(self, FIXED_RDWR, &dst, BASE, PAGES(4)));
}

TEST_F(ioas, copy_stays_mapped_after_its_source_is_unmapped)
{
	__u64 dst = BASE + PAGES(16);

	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(4)));
	ASSERT_EQ(0, copy(self, FIXED_RDWR, &dst, BASE, PAGES(4)));
	EXPECT_EQ(PAGES(4), unmap(self, BASE, PAGES(4)));
	EXPECT_EQ(PAGES(4), unmap(self, dst, PAGES(4)));
}

/* IOMMU_IOAS_IOVA_RANGES */

TEST_F(ioas, iova_ranges_of_a_fresh_ioas_is_all_of_the_iova_space)
{
	struct iommu_iova_range ranges[2] = {};
	__u64 alignment;
	__u32 num = ARRAY_SIZE(ranges);

	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, ranges, &num,
				 &alignment));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0, ranges[0].start);
	EXPECT_EQ(UINT64_MAX, ranges[0].last);
	EXPECT_EQ(1, alignment);
}

TEST_F(ioas, iova_ranges_without_room_is_emsgsize_and_gives_the_count)
{
	struct iommu_iova_range range = { .start = 7, .last = 7 };
	__u32 num = 0;

	EXPECT_EQ(-EMSGSIZE, iova_ranges(self->fd, self->ioas_id, &range, &num,
					 NULL));
	EXPECT_EQ(1, num);
	EXPECT_EQ(7, range.start);
	EXPECT_EQ(7, range.last);
}

TEST_F(ioas, iova_ranges_leave_out_a_reserved_range)
{
	struct iommu_iova_range ranges[3] = {};
	__u32 num = ARRAY_SIZE(ranges);

	ASSERT_EQ(0, reserve(self, PAGES(1), PAGES(1)));
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, ranges, &num, NULL));
	EXPECT_EQ(2, num);
	EXPECT_EQ(0, ranges[0].start);
	EXPECT_EQ(PAGES(1) - 1, ranges[0].last);
	EXPECT_EQ(PAGES(2), ranges[1].start);
	EXPECT_EQ(UINT64_MAX, ranges[1].last);
}

TEST_F(ioas, iova_ranges_with_too_little_room_is_emsgsize_and_fills_it)
{
	struct iommu_iova_range ranges[2] = {
		{ .start = 7, .last = 7 },
		{ .start = 7, .last = 7 },
	};
	__u32 num = 1;

	ASSERT_EQ(0, reserve(self, PAGES(1), PAGES(1)));
	EXPECT_EQ(-EMSGSIZE, iova_ranges(self->fd, self->ioas_id, ranges, &num,
					 NULL));
	EXPECT_EQ(2, num);
	EXPECT_EQ(0, ranges[0].start);
	EXPECT_EQ(PAGES(1) - 1, ranges[0].last);
	/* Nothing is written beyond the room given */
	EXPECT_EQ(7, ranges[1].start);
	EXPECT_EQ(7, ranges[1].last);
}

TEST_F(ioas, iova_ranges_with_nonzero_reserved_is_eopnotsupp)
{
	struct iommu_iova_range range;
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 1,
		.__reserved = 1,
		.allowed_iovas = (uintptr_t)&range,
	};

	EXPECT_EQ(-EOPNOTSUPP, do_ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES,
					&cmd));
}

TEST_F(ioas, iova_ranges_of_an_unknown_ioas_is_enoent)
{
	struct iommu_iova_range range;
	__u32 num = 1;

	ASSERT_EQ(0, destroy(self->fd, self->ioas_id));
	EXPECT_EQ(-ENOENT, iova_ranges(self->fd, self->ioas_id, &range, &num,
				       NULL));
}

/* IOMMU_IOAS_ALLOW_IOVAS */

TEST_F(ioas, iova_ranges_report_hardware_limits_not_allowed_ranges)
{
	const struct iommu_iova_range allowed = { BASE, BASE + PAGES(16) - 1 };
	struct iommu_iova_range ranges[4] = {};
	__u32 num = ARRAY_SIZE(ranges);

	/* Allowed ranges steer automatic IOVA; they do not restrict mapping */
	ASSERT_EQ(0, reserve(self, 0, PAGES(1)));
	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, &allowed, 1));
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, ranges, &num, NULL));
	EXPECT_EQ(1, num);
	EXPECT_EQ(PAGES(1), ranges[0].start);
	EXPECT_EQ(UINT64_MAX, ranges[0].last);
}

TEST_F(ioas, allowing_a_range_over_a_reserved_range_is_eaddrinuse)
{
	const struct iommu_iova_range allowed = { BASE, BASE + PAGES(16) - 1 };

	ASSERT_EQ(0, reserve(self, BASE + PAGES(4), PAGES(4)));
	EXPECT_EQ(-EADDRINUSE, allow_iovas(self->fd, self->ioas_id, &allowed,
					   1));
}

TEST_F(ioas, reserving_a_range_over_an_allowed_range_is_eaddrinuse)
{
	const struct iommu_iova_range allowed = { BASE, BASE + PAGES(16) - 1 };

	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, &allowed, 1));
	EXPECT_EQ(-EADDRINUSE, reserve(self, BASE + PAGES(4), PAGES(4)));
	EXPECT_EQ(-EADDRINUSE, reserve(self, BASE + PAGES(15), PAGES(2)));
	EXPECT_EQ(0, reserve(self, BASE + PAGES(16), PAGES(4)));
}

TEST_F(ioas, allowing_overlapping_ranges_is_einval)
{
	const struct iommu_iova_range allowed[] = {
		{ BASE, BASE + PAGES(8) - 1 },
		{ BASE + PAGES(4), BASE + PAGES(12) - 1 },
	};

	EXPECT_EQ(-EINVAL, allow_iovas(self->fd, self->ioas_id, allowed,
				       ARRAY_SIZE(allowed)));
}

TEST_F(ioas, allowing_a_range_that_starts_after_its_last_is_einval)
{
	const struct iommu_iova_range allowed = { BASE + PAGES(1), BASE };

	EXPECT_EQ(-EINVAL, allow_iovas(self->fd, self->ioas_id, &allowed, 1));
}

TEST_F(ioas, allowing_no_ranges_allows_everything_again)
{
	const struct iommu_iova_range allowed = { BASE, BASE + PAGES(16) - 1 };
	struct iommu_iova_range range = {};
	__u32 num = 1;

	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, &allowed, 1));
	ASSERT_EQ(0, allow_iovas(self->fd, self->ioas_id, NULL, 0));
	ASSERT_EQ(0, iova_ranges(self->fd, self->ioas_id, &range, &num, NULL));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0, range.start);
	EXPECT_EQ(UINT64_MAX, range.last);
}

TEST_F(ioas, allow_iovas_with_nonzero_reserved_is_eopnotsupp)
{
	const struct iommu_iova_range allowed = { BASE, BASE + PAGES(16) - 1 };
	struct iommu_ioas_allow_iovas cmd = {
		.size = sizeof(cmd),
		.ioas_id = self->ioas_id,
		.num_iovas = 1,
		.__reserved = 1,
		.allowed_iovas = (uintptr_t)&allowed,
	};

	EXPECT_EQ(-EOPNOTSUPP, do_ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS,
					&cmd));
}

TEST_F(ioas, reserving_a_range_over_a_mapping_is_eaddrinuse)
{
	ASSERT_EQ(0, map_fixed(self, BASE + PAGES(4), PAGES(4)));
	EXPECT_EQ(-EADDRINUSE, reserve(self, BASE + PAGES(7), PAGES(2)));
	EXPECT_EQ(0, reserve(self, BASE + PAGES(8), PAGES(2)));
}

/* IOMMU_OPTION */

TEST_F(ioas, rlimit_mode_is_0_on_dev_iommu_and_1_on_dev_vfio_vfio)
{
	__u64 val = 7;
	int fd;

	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
			    IOMMU_OPTION_OP_GET, 0, &val));
	EXPECT_EQ(0, val);
	fd = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET,
			    0, &val));
	EXPECT_EQ(1, val);
	close(fd);
}

TEST_F(ioas, rlimit_mode_can_be_set_on_a_context_with_no_objects)
{
	__u64 val;
	int fd;

	fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd);
	val = 2;
	EXPECT_EQ(-EINVAL, option(fd, IOMMU_OPTION_RLIMIT_MODE,
				  IOMMU_OPTION_OP_SET, 0, &val));
	val = 1;
	EXPECT_EQ(0, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_SET,
			    0, &val));
	val = 7;
	EXPECT_EQ(0, option(fd, IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_OP_GET,
			    0, &val));
	EXPECT_EQ(1, val);
	close(fd);
}

TEST_F(ioas, rlimit_mode_set_while_owning_an_ioas_is_ebusy)
{
	__u64 val = 1;

	EXPECT_EQ(-EBUSY, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
				 IOMMU_OPTION_OP_SET, 0, &val));
}

TEST_F(ioas, rlimit_mode_with_an_object_id_is_eopnotsupp)
{
	__u64 val = 0;

	EXPECT_EQ(-EOPNOTSUPP, option(self->fd, IOMMU_OPTION_RLIMIT_MODE,
				      IOMMU_OPTION_OP_GET, self->ioas_id,
				      &val));
}

TEST_F(ioas, huge_pages_is_1_by_default_and_can_be_set_to_0)
{
	__u64 val = 7;

	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_GET, self->ioas_id, &val));
	EXPECT_EQ(1, val);
	val = 0;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_SET, self->ioas_id, &val));
	val = 7;
	ASSERT_EQ(0, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
			    IOMMU_OPTION_OP_GET, self->ioas_id, &val));
	EXPECT_EQ(0, val);
}

TEST_F(ioas, huge_pages_set_to_2_is_einval)
{
	__u64 val = 2;

	EXPECT_EQ(-EINVAL, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				  IOMMU_OPTION_OP_SET, self->ioas_id, &val));
}

TEST_F(ioas, huge_pages_of_object_0_or_of_no_ioas_is_enoent)
{
	__u64 val = 0;
	__u32 gone;

	EXPECT_EQ(-ENOENT, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				  IOMMU_OPTION_OP_GET, 0, &val));
	ASSERT_EQ(0, ioas_alloc(self->fd, &gone));
	ASSERT_EQ(0, destroy(self->fd, gone));
	EXPECT_EQ(-ENOENT, option(self->fd, IOMMU_OPTION_HUGE_PAGES,
				  IOMMU_OPTION_OP_GET, gone, &val));
}

TEST_F(ioas, option_with_an_unknown_id_is_eopnotsupp)
{
	__u64 val = 0;

	EXPECT_EQ(-EOPNOTSUPP, option(self->fd, 99, IOMMU_OPTION_OP_GET, 0,
				      &val));
}

TEST_F(ioas, option_with_an_unknown_op_is_eopnotsupp)
{
	__u64 val = 0;

	EXPECT_EQ(-EOPNOTSUPP, option(self->fd, IOMMU_OPTION_RLIMIT_MODE, 2, 0,
				      &val));
	EXPECT_EQ(-EOPNOTSUPP, option(self->fd, IOMMU_OPTION_HUGE_PAGES, 2,
				      self->ioas_id, &val));
}

TEST_F(ioas, option_with_nonzero_reserved_is_eopnotsupp)
{
	struct iommu_option cmd = { .size = sizeof(cmd) };

	/* RLIMIT_MODE GET alone would succeed; the reserved field fails it */
	cmd.op = IOMMU_OPTION_OP_GET;
	cmd.__reserved = 1;
	EXPECT_EQ(-EOPNOTSUPP, do_ioctl(self->fd, IOMMU_OPTION, &cmd));
}

/* IOMMU_VFIO_IOAS */

TEST_F(ioas, vfio_ioas_get_without_a_compat_ioas_is_enodev)
{
	__u32 id = 0;

	/* Only the VFIO container and group paths create it */
	EXPECT_EQ(-ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &id));
}

/*
 * The VFIO calls of /dev/iommu act on the compat IOAS: without one, those
 * that need it are ENODEV (IOMMU_VFIO_IOAS_SET chooses it).
 */
TEST_F(ioas, vfio_calls_without_a_compat_ioas_are_enodev)
{
	struct vfio_iommu_type1_dma_map vaddr = {
		.argsz = sizeof(vaddr), .flags = VFIO_DMA_MAP_FLAG_VADDR,
		.vaddr = buf(0), .iova = MOCK_APERTURE_START,
		.size = BUFFER_SIZE,
	};
	struct vfio_iommu_type1_dirty_bitmap dirty = {
		.argsz = sizeof(dirty), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
	};

	EXPECT_EQ(-ENODEV, do_ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &vaddr));
	EXPECT_EQ(-ENODEV, do_ioctl(self->fd, VFIO_IOMMU_DIRTY_PAGES, &dirty));
}

/* The mock's emulated device on the fixture's IOAS: its access fd */
static int access_create(struct _test_data_ioas *self, __u32 flags)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = self->ioas_id, .create_access = { .flags = flags },
	};
	int ret = do_ioctl(self->fd, IOMMU_TEST_CMD, &cmd);

	return ret ? ret : (int)cmd.create_access.out_access_fd;
}

/* IOMMU_TEST_OP_ACCESS_RW with MOCK_ACCESS_RW_* @flags */
static int access_rw_flags(struct _test_data_ioas *self, int access_fd,
			   __u64 iova, void *data, __u64 length, __u32 flags)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_RW,
		.id = access_fd,
		.access_rw = { .iova = iova, .length = length,
			       .uptr = (uintptr_t)data, .flags = flags },
	};

	return do_ioctl(self->fd, IOMMU_TEST_CMD, &cmd);
}

static int access_rw(struct _test_data_ioas *self, int access_fd, __u64 iova,
		     void *data, __u64 length)
{
	return access_rw_flags(self, access_fd, iova, data, length, 0);
}

/*
 * IOMMU_TEST_OP_ACCESS_PAGES for reading: 0 or -errno.  No user address,
 * so the test ABI does not compare the pages.
 */
static int access_pin(struct _test_data_ioas *self, int access_fd,
		      __u64 iova, __u64 length)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = access_fd,
		.access_pages = { .iova = iova, .length = length },
	};

	return do_ioctl(self->fd, IOMMU_TEST_CMD, &cmd);
}

/* An emulated device pins for writing only what a mapping lets it write */
TEST_F(ioas, an_access_pinning_a_read_only_mapping_for_writing_is_eperm)
{
	struct iommu_test_cmd pin = {
		.size = sizeof(pin), .op = IOMMU_TEST_OP_ACCESS_PAGES,
		.access_pages = { .flags = MOCK_FLAGS_ACCESS_WRITE,
				  .iova = MOCK_APERTURE_START,
				  .length = BUFFER_SIZE, .uptr = buf(0) },
	};
	__u64 iova = MOCK_APERTURE_START;
	int access_fd;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id,
			      IOMMU_IOAS_MAP_FIXED_IOVA |
			      IOMMU_IOAS_MAP_READABLE, buf(0), BUFFER_SIZE,
			      &iova));
	access_fd = access_create(self,
				  MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	ASSERT_LE(0, access_fd);
	pin.id = access_fd;
	EXPECT_EQ(-EPERM, do_ioctl(self->fd, IOMMU_TEST_CMD, &pin));
	EXPECT_EQ(0, check_refs(self->fd, buf(0), BUFFER_SIZE, 0));
	/* Reading is what the mapping allows */
	pin.access_pages.flags = 0;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &pin));
	close(access_fd);
}

/*
 * A pin is whole pages of IOVA, at least one (EINVAL), that do not wrap
 * (EOVERFLOW, as 6.12)
 */
TEST_F(ioas, an_access_pin_not_whole_pages_is_einval_wrapping_eoverflow)
{
	__u64 top = -(__u64)psize;
	int access_fd;

	ASSERT_EQ(0, map_fixed(self, MOCK_APERTURE_START, BUFFER_SIZE));
	access_fd = access_create(self,
				  MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	ASSERT_LE(0, access_fd);
	EXPECT_EQ(-EINVAL, access_pin(self, access_fd, MOCK_APERTURE_START,
				      0));
	EXPECT_EQ(-EINVAL, access_pin(self, access_fd,
				      MOCK_APERTURE_START + 1, psize));
	EXPECT_EQ(-EINVAL, access_pin(self, access_fd, MOCK_APERTURE_START,
				      psize / 2));
	EXPECT_EQ(-EOVERFLOW, access_pin(self, access_fd, top, 2 * psize));
	EXPECT_EQ(0, check_refs(self->fd, buf(0), BUFFER_SIZE, 0));
	/* The same access pins a page that is mapped */
	EXPECT_EQ(0, access_pin(self, access_fd, MOCK_APERTURE_START, psize));
	close(access_fd);
}

/*
 * An emulated device reads only what a mapping lets devices read, writes
 * only what it lets them write, and never a range that wraps.
 */
TEST_F(ioas, an_access_rw_follows_the_mapping_permissions)
{
	__u64 ro = MOCK_APERTURE_START, wo = MOCK_APERTURE_START + BUFFER_SIZE;
	char data[16] = { 0 };
	int access_fd;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id,
			      IOMMU_IOAS_MAP_FIXED_IOVA |
			      IOMMU_IOAS_MAP_READABLE, buf(0), BUFFER_SIZE,
			      &ro));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id,
			      IOMMU_IOAS_MAP_FIXED_IOVA |
			      IOMMU_IOAS_MAP_WRITEABLE, buf(0), BUFFER_SIZE,
			      &wo));
	access_fd = access_create(self, 0);
	ASSERT_LE(0, access_fd);
	EXPECT_EQ(0, access_rw(self, access_fd, ro, data, sizeof(data)));
	EXPECT_EQ(-EPERM, access_rw_flags(self, access_fd, ro, data,
					  sizeof(data), MOCK_ACCESS_RW_WRITE));
	EXPECT_EQ(-EPERM, access_rw(self, access_fd, wo, data, sizeof(data)));
	EXPECT_EQ(0, access_rw_flags(self, access_fd, wo, data, sizeof(data),
				     MOCK_ACCESS_RW_WRITE));
	/* A range that wraps: EOVERFLOW, as 6.12 */
	EXPECT_EQ(-EOVERFLOW, access_rw(self, access_fd, -8ULL, data,
					sizeof(data)));
	close(access_fd);
}

/*
 * A write over a read-only mapping that a hole follows: the mapping's
 * permission is found first (EPERM), as 6.12 walks the range, for a pin and
 * for a copy alike
 */
TEST_F(ioas, a_write_over_a_read_only_mapping_then_a_hole_is_eperm)
{
	struct iommu_test_cmd pin = {
		.size = sizeof(pin), .op = IOMMU_TEST_OP_ACCESS_PAGES,
		.access_pages = { .flags = MOCK_FLAGS_ACCESS_WRITE,
				  .iova = MOCK_APERTURE_START,
				  .length = 2 * psize, .uptr = buf(0) },
	};
	__u64 iova = MOCK_APERTURE_START;
	static char data[2 * 65536];
	int access_fd;

	ASSERT_GE(sizeof(data), 2 * psize);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id,
			      IOMMU_IOAS_MAP_FIXED_IOVA |
			      IOMMU_IOAS_MAP_READABLE, buf(0), psize, &iova));
	access_fd = access_create(self,
				  MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	ASSERT_LE(0, access_fd);
	EXPECT_EQ(-EPERM, access_rw_flags(self, access_fd, iova, data,
					  2 * psize, MOCK_ACCESS_RW_WRITE));
	pin.id = access_fd;
	EXPECT_EQ(-EPERM, do_ioctl(self->fd, IOMMU_TEST_CMD, &pin));
	/* Reading stops at the hole */
	EXPECT_EQ(-ENOENT, access_rw(self, access_fd, iova, data, 2 * psize));
	EXPECT_EQ(0, check_refs(self->fd, buf(0), psize, 0));
	close(access_fd);
}

/* Memory the process unmapped after mapping it: its reads, writes fault */
TEST_F(ioas, an_access_rw_of_memory_the_owner_unmapped_is_efault)
{
	__u64 iova = MOCK_APERTURE_START;
	char data[16] = { 0 };
	int access_fd;
	void *mem;

	mem = mmap(NULL, psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, FIXED_RDWR,
			      (uintptr_t)mem, psize, &iova));
	ASSERT_EQ(0, munmap(mem, psize));
	access_fd = access_create(self, 0);
	ASSERT_LE(0, access_fd);
	EXPECT_EQ(-EFAULT, access_rw(self, access_fd, iova, data,
				     sizeof(data)));
	EXPECT_EQ(-EFAULT, access_rw_flags(self, access_fd, iova, data,
					   sizeof(data),
					   MOCK_ACCESS_RW_WRITE));
	close(access_fd);
}

/* A failed move of an emulated device leaves it where it was */
TEST_F(ioas, replacing_an_access_ioas_by_an_unknown_id_keeps_the_old)
{
	struct iommu_test_cmd replace = {
		.size = sizeof(replace), .op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
		.access_replace_ioas = { .ioas_id = self->ioas_id + 1000 },
	};
	char data[16] = { 0 };
	int access_fd;

	ASSERT_EQ(0, map_fixed(self, MOCK_APERTURE_START, BUFFER_SIZE));
	memset((void *)(uintptr_t)buf(0), 0x5a, sizeof(data));
	access_fd = access_create(self, 0);
	ASSERT_LE(0, access_fd);
	replace.id = access_fd;
	EXPECT_EQ(-ENOENT, do_ioctl(self->fd, IOMMU_TEST_CMD, &replace));
	ASSERT_EQ(0, access_rw(self, access_fd, MOCK_APERTURE_START, data,
			       sizeof(data)));
	EXPECT_EQ(0x5a, data[0]);
	EXPECT_EQ(0x5a, data[sizeof(data) - 1]);
	close(access_fd);
}

/*
 * Moving an emulated device to the IOAS it is on changes nothing, its pins
 * included; moving it elsewhere has its driver release them first (the
 * unmap callback), since they name IOVA of the old IOAS.
 */
TEST_F(ioas, replacing_an_access_ioas_keeps_pins_only_when_it_stays)
{
	struct iommu_test_cmd replace = {
		.size = sizeof(replace), .op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
		.access_replace_ioas = { .ioas_id = self->ioas_id },
	};
	__u32 other;
	int access_fd;

	ASSERT_EQ(0, map_fixed(self, MOCK_APERTURE_START, BUFFER_SIZE));
	access_fd = access_create(self,
				  MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	ASSERT_LE(0, access_fd);
	ASSERT_EQ(0, access_pin(self, access_fd, MOCK_APERTURE_START, psize));
	replace.id = access_fd;
	EXPECT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &replace));
	EXPECT_EQ(0, check_refs(self->fd, buf(0), psize, 1));

	ASSERT_EQ(0, ioas_alloc(self->fd, &other));
	replace.access_replace_ioas.ioas_id = other;
	EXPECT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &replace));
	EXPECT_EQ(0, check_refs(self->fd, buf(0), psize, 0));
	/* The old IOAS has no access left: its mapping goes freely */
	EXPECT_EQ(BUFFER_SIZE, unmap(self, MOCK_APERTURE_START, BUFFER_SIZE));
	close(access_fd);
}

/*
 * IOMMU_TEST_OP_ACCESS_CALL: @call of the exported access API, with the
 * arguments as they are; -EOPNOTSUPP where the operation does not exist
 */
static int access_call(struct _test_data_ioas *self, int access_fd,
		       __u32 call, __u32 ioas_id, __u64 iova, __u64 length)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_CALL,
		.id = access_fd,
		.access_call = { .call = call, .ioas_id = ioas_id,
				 .iova = iova, .length = length },
	};

	return do_ioctl(self->fd, IOMMU_TEST_CMD, &cmd);
}

/*
 * A detached access (iommufd_access_detach(), which VFIO calls when an
 * emulated device detaches) pins, copies and moves nothing: ENOENT, as
 * 6.12.  Attached anew it works again, and attaching it twice is EINVAL.
 */
TEST_F(ioas, a_detached_access_pins_copies_and_moves_nothing_enoent)
{
	struct iommu_test_cmd replace = {
		.size = sizeof(replace), .op = IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
	};
	char data[16] = { 0 };
	int access_fd, ret;

	ASSERT_EQ(0, map_fixed(self, MOCK_APERTURE_START, BUFFER_SIZE));
	access_fd = access_create(self,
				  MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	ASSERT_LE(0, access_fd);
	ASSERT_EQ(0, access_pin(self, access_fd, MOCK_APERTURE_START, psize));
	/* Its owner drops its pins, then detaches */
	ret = access_call(self, access_fd, MOCK_ACCESS_CALL_DETACH, 0, 0, 0);
	if (ret == -EOPNOTSUPP) {
		close(access_fd);
		SKIP(return, "no IOMMU_TEST_OP_ACCESS_CALL");
	}
	ASSERT_EQ(0, ret);
	EXPECT_EQ(0, check_refs(self->fd, buf(0), BUFFER_SIZE, 0));

	EXPECT_EQ(-ENOENT, access_pin(self, access_fd, MOCK_APERTURE_START,
				      psize));
	EXPECT_EQ(-ENOENT, access_rw(self, access_fd, MOCK_APERTURE_START,
				     data, sizeof(data)));
	replace.id = access_fd;
	ASSERT_EQ(0, ioas_alloc(self->fd, &replace.access_replace_ioas.ioas_id));
	EXPECT_EQ(-ENOENT, do_ioctl(self->fd, IOMMU_TEST_CMD, &replace));
	EXPECT_EQ(0, check_refs(self->fd, buf(0), BUFFER_SIZE, 0));

	ASSERT_EQ(0, access_call(self, access_fd, MOCK_ACCESS_CALL_ATTACH,
				 self->ioas_id, 0, 0));
	EXPECT_EQ(-EINVAL, access_call(self, access_fd,
				       MOCK_ACCESS_CALL_ATTACH, self->ioas_id,
				       0, 0));
	EXPECT_EQ(0, access_pin(self, access_fd, MOCK_APERTURE_START, psize));
	EXPECT_EQ(0, check_refs(self->fd, buf(0), psize, 1));
	close(access_fd);
}

/*
 * iommufd_access_pin_pages() refuses an access whose driver said it never
 * pins (no needs_pin_pages: it has nothing to answer an unmap with), and
 * iommufd_access_rw() a copy of no length: EINVAL, and nothing is pinned
 */
TEST_F(ioas, an_access_may_pin_only_if_made_to_and_copy_only_some_bytes)
{
	int access_fd, ret;

	ASSERT_EQ(0, map_fixed(self, MOCK_APERTURE_START, BUFFER_SIZE));
	access_fd = access_create(self, 0);
	ASSERT_LE(0, access_fd);
	ret = access_call(self, access_fd, MOCK_ACCESS_CALL_PIN, 0,
			  MOCK_APERTURE_START, psize);
	if (ret == -EOPNOTSUPP) {
		close(access_fd);
		SKIP(return, "no IOMMU_TEST_OP_ACCESS_CALL");
	}
	EXPECT_EQ(-EINVAL, ret);
	EXPECT_EQ(-EINVAL, access_call(self, access_fd, MOCK_ACCESS_CALL_RW,
				       0, MOCK_APERTURE_START, 0));
	EXPECT_EQ(0, check_refs(self->fd, buf(0), BUFFER_SIZE, 0));
	/* The same calls within the rules succeed */
	EXPECT_EQ(0, access_call(self, access_fd, MOCK_ACCESS_CALL_RW, 0,
				 MOCK_APERTURE_START, 16));
	close(access_fd);
	access_fd = access_create(self,
				  MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	ASSERT_LE(0, access_fd);
	EXPECT_EQ(0, access_call(self, access_fd, MOCK_ACCESS_CALL_PIN, 0,
				 MOCK_APERTURE_START, psize));
	EXPECT_EQ(0, check_refs(self->fd, buf(0), BUFFER_SIZE, 0));
	close(access_fd);
}

/*
 * The test ABI's syzkaller IOVAs (MOCK_FLAGS_ACCESS_SYZ), as in 6.12: the
 * u64 holds, as two u32s in its memory, the index of a mapping in IOVA
 * order and an offset into it, for a copy through an access (ACCESS_RW),
 * a pin (ACCESS_PAGES) and IOMMU_IOAS_COPY's source.  An index past the
 * last mapping names IOVA 0, which nothing maps here.
 */
TEST_F(ioas, a_syzkaller_iova_names_the_nth_mapping_and_an_offset)
{
	struct { __u32 index, offset; } syz = { 1, psize + 8 };
	struct iommu_test_cmd rw = {
		.size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW,
		.access_rw = { .length = 8, .flags = MOCK_FLAGS_ACCESS_SYZ },
	};
	struct iommu_test_cmd pin = {
		.size = sizeof(pin), .op = IOMMU_TEST_OP_ACCESS_PAGES,
		.access_pages = { .length = psize,
				  .flags = MOCK_FLAGS_ACCESS_SYZ },
	};
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy), .length = psize,
		.flags = FIXED_RDWR | MOCK_FLAGS_ACCESS_SYZ,
		.src_ioas_id = self->ioas_id, .dst_ioas_id = self->ioas_id,
		.dst_iova = MOCK_APERTURE_START + 64 * psize,
	};
	__u64 second = MOCK_APERTURE_START + 16 * psize, value;
	char data[8];
	int access_fd;

	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, FIXED_RDWR, buf(0),
			      PAGES(4), &(__u64){ MOCK_APERTURE_START }));
	ASSERT_EQ(0, ioas_map(self->fd, self->ioas_id, FIXED_RDWR,
			      buf(PAGES(8)), PAGES(4), &second));
	memcpy((void *)(uintptr_t)buf(PAGES(9) + 8), "syz-iova", 8);
	access_fd = access_create(self,
				  MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	ASSERT_LE(0, access_fd);
	memcpy(&value, &syz, sizeof(value));

	rw.id = access_fd;
	rw.access_rw.iova = value;
	rw.access_rw.uptr = (uintptr_t)data;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &rw));
	EXPECT_EQ(0, memcmp(data, "syz-iova", 8));

	/* The second mapping's second page, whose user page is buf(9 pages) */
	syz.offset = psize;
	memcpy(&value, &syz, sizeof(value));
	pin.id = access_fd;
	pin.access_pages.iova = value;
	pin.access_pages.uptr = buf(PAGES(9));
	EXPECT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &pin));
	EXPECT_EQ(0, check_refs(self->fd, buf(PAGES(9)), psize, 1));
	close(access_fd);

	copy.src_iova = value;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_COPY, &copy));
	access_fd = access_create(self, 0);
	ASSERT_LE(0, access_fd);
	rw.id = access_fd;
	rw.access_rw.flags = 0;
	rw.access_rw.iova = copy.dst_iova + 8;
	memset(data, 0, sizeof(data));
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &rw));
	EXPECT_EQ(0, memcmp(data, "syz-iova", 8));

	syz.index = 3;
	memcpy(&value, &syz, sizeof(value));
	rw.access_rw.flags = MOCK_FLAGS_ACCESS_SYZ;
	rw.access_rw.iova = value;
	EXPECT_EQ(-ENOENT, do_ioctl(self->fd, IOMMU_TEST_CMD, &rw));
	close(access_fd);
}

TEST_F(ioas, vfio_ioas_get_returns_the_ioas_set)
{
	__u32 id = self->ioas_id;

	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	id = 0;
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &id));
	EXPECT_EQ(self->ioas_id, id);
}

TEST_F(ioas, vfio_ioas_get_after_clear_is_enodev)
{
	__u32 id = self->ioas_id;

	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_CLEAR, &id));
	EXPECT_EQ(-ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &id));
}

TEST_F(ioas, vfio_ioas_get_after_destroying_the_compat_ioas_is_enodev)
{
	__u32 id = self->ioas_id;

	ASSERT_EQ(0, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &id));
	ASSERT_EQ(0, destroy(self->fd, self->ioas_id));
	EXPECT_EQ(-ENODEV, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_GET, &id));
}

TEST_F(ioas, vfio_ioas_set_to_an_unknown_id_is_enoent)
{
	__u32 gone;

	ASSERT_EQ(0, ioas_alloc(self->fd, &gone));
	ASSERT_EQ(0, destroy(self->fd, gone));
	EXPECT_EQ(-ENOENT, vfio_ioas(self->fd, IOMMU_VFIO_IOAS_SET, &gone));
}

TEST_F(ioas, vfio_ioas_with_an_unknown_op_is_eopnotsupp)
{
	__u32 id = self->ioas_id;

	EXPECT_EQ(-EOPNOTSUPP, vfio_ioas(self->fd, 3, &id));
}

TEST_F(ioas, vfio_ioas_with_nonzero_reserved_is_eopnotsupp)
{
	struct iommu_vfio_ioas cmd = {
		.size = sizeof(cmd),
		.op = IOMMU_VFIO_IOAS_GET,
		.__reserved = 1,
	};

	EXPECT_EQ(-EOPNOTSUPP, do_ioctl(self->fd, IOMMU_VFIO_IOAS, &cmd));
}

/* Lifetime */

TEST_F(ioas, closing_the_file_with_mappings_and_copies_leaves_nothing_pinned)
{
	__u64 iova = 0, dst = BASE;
	__u32 other;

	/* The fixture's teardown closes the file and checks the pages */
	ASSERT_EQ(0, ioas_alloc(self->fd, &other));
	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(4)));
	ASSERT_EQ(0, map_auto(self, buf(0), BUFFER_SIZE, &iova));
	ASSERT_EQ(0, ioas_copy(self->fd, FIXED_RDWR, other, &dst,
			       self->ioas_id, iova, BUFFER_SIZE));
}

TEST_F(ioas, copy_outlives_the_destroyed_source_ioas)
{
	__u64 dst = BASE;
	__u32 other;

	ASSERT_EQ(0, ioas_alloc(self->fd, &other));
	ASSERT_EQ(0, map_fixed(self, BASE, PAGES(4)));
	ASSERT_EQ(0, ioas_copy(self->fd, FIXED_RDWR, other, &dst,
			       self->ioas_id, BASE, PAGES(4)));
	ASSERT_EQ(0, destroy(self->fd, self->ioas_id));
	EXPECT_EQ(PAGES(4), ioas_unmap(self->fd, other, BASE, PAGES(4)));
}

TEST_HARNESS_MAIN
