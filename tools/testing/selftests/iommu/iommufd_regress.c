// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regression tests, on the mock IOMMU driver, for the classes of bugs that
 * hit IOMMUFD implementations: each test names the class and checks the
 * behaviour a correct implementation shows, including that nothing stays
 * pinned afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "uapi_calls.h"

#define PAGE ((__u64)sysconf(_SC_PAGESIZE))
#define START ((__u64)MOCK_APERTURE_START)
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static int map(int fd, __u32 ioas_id, __u32 flags, __u64 va, __u64 len,
	       __u64 *iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = flags, .ioas_id = ioas_id,
		.user_va = va, .length = len, .iova = *iova,
	};
	int ret = do_ioctl(fd, IOMMU_IOAS_MAP, &cmd);

	*iova = cmd.iova;
	return ret;
}

static int unmap(int fd, __u32 ioas_id, __u64 iova, __u64 len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas_id, .iova = iova,
		.length = len,
	};

	return do_ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
}

static int check_refs(int fd, void *va, __u64 len, unsigned int refs)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = len, .uptr = (uintptr_t)va,
				.refs = refs },
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static int check_map(int fd, __u32 hwpt_id, __u64 iova, void *va, __u64 len)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = hwpt_id,
		.check_map = { .iova = iova, .length = len,
			       .uptr = (uintptr_t)va },
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

static int create_access(int fd, __u32 ioas_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = ioas_id,
		.create_access = {
			.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
		},
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd) ? -1 :
		       (int)cmd.create_access.out_access_fd;
}

static int access_pin(int fd, int access_fd, __u64 iova, __u64 len,
		      void *va)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = access_fd,
		.access_pages = { .iova = iova, .length = len,
				  .uptr = (uintptr_t)va },
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

FIXTURE(regress) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 hwpt_id;
	unsigned char *buf;
	size_t len;
};

FIXTURE_SETUP(regress)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};

	self->fd = open("/dev/iommu", O_RDWR);
	if (self->fd < 0)
		SKIP(return, "no /dev/iommu");
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_ALLOC, &alloc));
	self->ioas_id = alloc.out_ioas_id;
	mock.id = self->ioas_id;
	if (do_ioctl(self->fd, IOMMU_TEST_CMD, &mock))
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	self->stdev_id = mock.mock_domain.out_stdev_id;
	self->hwpt_id = mock.mock_domain.out_hwpt_id;
	self->len = 64 * PAGE;
	self->buf = mmap(NULL, self->len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	memset(self->buf, 0x5a, self->len);
}

FIXTURE_TEARDOWN(regress)
{
	/* Whatever a test did, closing leaves nothing pinned */
	close(self->fd);
	self->fd = open("/dev/iommu", O_RDWR);
	if (self->fd >= 0) {
		EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 0));
		close(self->fd);
	}
	munmap(self->buf, self->len);
}

TEST_F(regress, automatic_iova_alignment_cannot_wrap_past_the_top)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_iova_range range = {
		.start = UINT64_MAX - 4 * PAGE + 1, .last = UINT64_MAX,
	};
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow), .num_iovas = 1,
		.allowed_iovas = (uintptr_t)&range,
	};
	__u64 iova = 0;
	int ret;

	/* No domain: the whole address space is usable, up to the top */
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_ALLOC, &alloc));
	allow.ioas_id = alloc.out_ioas_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow));
	/* Aligning 2 pages up within the last 4 must not wrap to 0 */
	ret = map(self->fd, alloc.out_ioas_id, RW,
		  (uintptr_t)self->buf + PAGE, 2 * PAGE, &iova);
	if (!ret) {
		EXPECT_LE(range.start, iova);
		EXPECT_LE(iova + 2 * PAGE - 1, range.last);
		EXPECT_NE(0, iova);
	} else {
		EXPECT_EQ(-ENOSPC, ret);
	}
	/* A length that cannot fit anywhere */
	iova = 0;
	EXPECT_EQ(-ENOSPC, map(self->fd, alloc.out_ioas_id, RW,
			       (uintptr_t)self->buf, 8 * PAGE, &iova));
}

/* Reserve [start, last] of @ioas_id, as a device's reserved region would */
static int reserve(int fd, __u32 ioas_id, __u64 start, __u64 last)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ADD_RESERVED,
		.id = ioas_id,
		.add_reserved = { .start = start, .length = last - start + 1 },
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* A new IOAS's id, or 0 */
static __u32 new_ioas(int fd)
{
	__u32 id = 0;

	return ioas_alloc(fd, &id) ? 0 : id;
}

/*
 * An IOAS without domains accepts byte-granular fixed IOVAs, but the IOVA
 * it chooses itself must be one an IOMMU attached later can map: never
 * below PAGE_SIZE for a page-aligned buffer, whatever its length, and
 * with the buffer's own offset in its page otherwise.
 */
TEST_F(regress, automatic_iova_of_a_page_aligned_buffer_is_never_sub_page)
{
	const __u64 half = PAGE / 2;
	__u32 ioas = new_ioas(self->fd);
	__u64 iova = 0;

	ASSERT_NE(0, ioas);
	/* Free: [1.5 pages, 6.5 pages), 5 pages long but not 5 aligned ones */
	ASSERT_EQ(0, reserve(self->fd, ioas, 0, PAGE + half - 1));
	ASSERT_EQ(0, reserve(self->fd, ioas, 6 * PAGE + half, UINT64_MAX - 1));
	EXPECT_EQ(-ENOSPC, map(self->fd, ioas, RW, (uintptr_t)self->buf,
			       5 * PAGE, &iova));
	/* 4 pages fit, on a page boundary */
	iova = 0;
	ASSERT_EQ(0, map(self->fd, ioas, RW, (uintptr_t)self->buf, 4 * PAGE,
			 &iova));
	EXPECT_EQ(2 * PAGE, iova);
	/* Half a page of a page-aligned buffer still starts on a page */
	iova = 0;
	ASSERT_EQ(0, map(self->fd, ioas, RW, (uintptr_t)self->buf + 4 * PAGE,
			 half, &iova));
	EXPECT_EQ(6 * PAGE, iova);
	/* An unaligned buffer keeps its offset in the page */
	iova = 0;
	EXPECT_EQ(-ENOSPC, map(self->fd, ioas, RW,
			       (uintptr_t)self->buf + 8 * PAGE + 0x100, 0x100,
			       &iova));

	/* At the top: a hole of half a page ending at U64_MAX takes nothing */
	ioas = new_ioas(self->fd);
	ASSERT_NE(0, ioas);
	ASSERT_EQ(0, reserve(self->fd, ioas, 0, UINT64_MAX - half));
	iova = 0;
	EXPECT_EQ(-ENOSPC, map(self->fd, ioas, RW, (uintptr_t)self->buf, half,
			       &iova));
	/*
	 * Near the top two whole pages take two pages without a wrap, and
	 * the last page of the IOVA space is never chosen (as in 6.12)
	 */
	ioas = new_ioas(self->fd);
	ASSERT_NE(0, ioas);
	ASSERT_EQ(0, reserve(self->fd, ioas, 0, UINT64_MAX - 3 * PAGE));
	iova = 0;
	ASSERT_EQ(0, map(self->fd, ioas, RW, (uintptr_t)self->buf, 2 * PAGE,
			 &iova));
	EXPECT_EQ(UINT64_MAX - 3 * PAGE + 1, iova);
	iova = 0;
	EXPECT_EQ(-ENOSPC, map(self->fd, ioas, RW, (uintptr_t)self->buf, PAGE,
			       &iova));
}

/* The mapping made above can be mapped by the mock domain attached later */
TEST_F(regress, an_automatic_iova_chosen_without_domains_takes_a_domain_later)
{
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};
	__u32 ioas = new_ioas(self->fd);
	__u64 iova = 0, align = 2 * PAGE;

	ASSERT_NE(0, ioas);
	/*
	 * Free from half a page into the mock domain's aperture.  The IOVA
	 * is aligned like the length rounded up to a power of two, as far as
	 * the buffer's own alignment goes (6.12's rule).
	 */
	ASSERT_EQ(0, reserve(self->fd, ioas, 0, START + PAGE / 2 - 1));
	ASSERT_EQ(0, map(self->fd, ioas, RW, (uintptr_t)self->buf,
			 PAGE + PAGE / 2, &iova));
	if ((uintptr_t)self->buf & (align - 1))
		align = PAGE;
	EXPECT_EQ((START + PAGE / 2 + align - 1) & ~(align - 1), iova);
	mock.id = ioas;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &mock));
	EXPECT_EQ(0, check_map(self->fd, mock.mock_domain.out_hwpt_id, iova,
			       self->buf, PAGE + PAGE / 2));
}

/*
 * The container's arithmetic overflow is EOVERFLOW in both directions,
 * as /dev/iommu's is: a range that runs past the end of the IOVA space,
 * and an iova or size of ULONG_MAX or more.
 */
TEST_F(regress, the_containers_unmap_overflow_is_eoverflow_like_its_map)
{
	struct iommu_vfio_ioas set = {
		.size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET,
		.ioas_id = self->ioas_id,
	};
	const __u64 top = UINT64_MAX - PAGE + 1;

	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_VFIO_IOAS, &set));
	EXPECT_EQ(-EOVERFLOW, vfio_map(self->fd, self->buf, 2 * PAGE, top));
	EXPECT_EQ(-EOVERFLOW, vfio_unmap(self->fd, 0, top, 2 * PAGE, NULL));
	EXPECT_EQ(-EOVERFLOW, vfio_map(self->fd, self->buf, PAGE, UINT64_MAX));
	EXPECT_EQ(-EOVERFLOW, vfio_unmap(self->fd, 0, UINT64_MAX, PAGE, NULL));
	EXPECT_EQ(-EOVERFLOW, vfio_map(self->fd, self->buf, UINT64_MAX, 0));
	EXPECT_EQ(-EOVERFLOW, vfio_unmap(self->fd, 0, 0, UINT64_MAX, NULL));
	/* A size of 0 is no range at all: EINVAL, as before */
	EXPECT_EQ(-EINVAL, vfio_unmap(self->fd, 0, top, 0, NULL));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 0));
}

/*
 * Regression, user-supplied counts: IOMMU_IOAS_ALLOW_IOVAS with num_iovas
 * near U32_MAX reads the ranges that are there, faults at the first that
 * is not, and changes nothing.
 */
TEST_F(regress, allow_iovas_with_a_count_near_u32_max_changes_nothing)
{
	struct iommu_iova_range *r = bytes_before_a_hole(2 * sizeof(*r));
	struct iommu_ioas_allow_iovas allow = {
		.size = sizeof(allow), .ioas_id = self->ioas_id,
		.num_iovas = UINT32_MAX,
	};
	__u64 iova = START + 64 * PAGE;

	ASSERT_NE(NULL, r);
	r[0] = (struct iommu_iova_range){ START, START + 16 * PAGE - 1 };
	r[1] = (struct iommu_iova_range){ START + 32 * PAGE,
					  START + 48 * PAGE - 1 };
	allow.allowed_iovas = (uintptr_t)r;
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow));
	/* Outside both ranges: still allowed, as before the call */
	EXPECT_EQ(0, map(self->fd, self->ioas_id, RW | IOMMU_IOAS_MAP_FIXED_IOVA,
			 (uintptr_t)self->buf, PAGE, &iova));
	EXPECT_EQ(0, unmap(self->fd, self->ioas_id, iova, PAGE));
	allow.num_iovas = UINT32_MAX;
	allow.allowed_iovas = 0;
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, IOMMU_IOAS_ALLOW_IOVAS, &allow));
	bytes_before_a_hole_free(r);
}

/*
 * ... and IOMMU_IOAS_IOVA_RANGES with room claimed for U32_MAX ranges
 * writes only the ranges there are, and says how many.
 */
TEST_F(regress, iova_ranges_with_a_count_near_u32_max_writes_only_the_ranges)
{
	struct iommu_iova_range *r = bytes_before_a_hole(sizeof(*r));
	struct iommu_ioas_iova_ranges get = {
		.size = sizeof(get), .ioas_id = self->ioas_id,
		.num_iovas = UINT32_MAX,
	};

	ASSERT_NE(NULL, r);
	get.allowed_iovas = (uintptr_t)r;
	/* The mock's aperture is one range */
	EXPECT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_IOVA_RANGES, &get));
	EXPECT_EQ(1, get.num_iovas);
	EXPECT_EQ(START, r[0].start);
	bytes_before_a_hole_free(r);
}

/*
 * Regression, the compat info leak: every byte of VFIO_IOMMU_GET_INFO's
 * reply (the argsz it asks for), capabilities and their padding included,
 * is written by the kernel: two calls over buffers filled differently
 * return the same bytes, and each capability's bytes 12 to 15 (implicit
 * padding, alignment padding or a reserved field in every type1
 * capability) are zero.
 */
TEST_F(regress, get_info_writes_or_zeroes_every_byte_it_returns)
{
	struct iommu_vfio_ioas set = {
		.size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET,
		.ioas_id = self->ioas_id,
	};
	const unsigned char fills[2] = { 0xa5, 0x5a };
	struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) };
	struct vfio_iommu_type1_info *info[2];
	__u32 need, off, ncaps = 0;
	const __u8 zero[4] = { 0 };
	unsigned int i;

	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_VFIO_IOAS, &set));
	/* A struct without room for the chain: argsz says what it needs */
	ASSERT_EQ(0, do_ioctl(self->fd, VFIO_IOMMU_GET_INFO, &probe));
	need = probe.argsz;
	ASSERT_LT(sizeof(probe), need);
	ASSERT_GE(PAGE, need);
	for (i = 0; i < 2; i++) {
		info[i] = malloc(need);
		ASSERT_NE(NULL, info[i]);
		memset(info[i], fills[i], need);
		info[i]->argsz = need;
		ASSERT_EQ(0, do_ioctl(self->fd, VFIO_IOMMU_GET_INFO, info[i]));
	}
	ASSERT_TRUE(info[0]->flags & VFIO_IOMMU_INFO_CAPS);
	EXPECT_EQ(0, memcmp(info[0], info[1], need));
	EXPECT_EQ(0, info[0]->pad);
	for (off = info[0]->cap_offset; off && ncaps < 16; ncaps++) {
		struct vfio_info_cap_header *h = (void *)info[0] + off;

		ASSERT_GE(need, off + 16);
		EXPECT_EQ(0, memcmp((__u8 *)h + 12, zero, sizeof(zero)))
			TH_LOG("capability %u at %u: padding not zeroed",
			       h->id, off);
		off = h->next;
	}
	/* type1's three: migration, mappings available, IOVA ranges */
	EXPECT_EQ(3, ncaps);
	free(info[0]);
	free(info[1]);
}

/* Capabilities the kernel cannot write back are EFAULT, not dropped */
TEST_F(regress, get_info_whose_capabilities_cannot_be_written_is_efault)
{
	struct iommu_vfio_ioas set = {
		.size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET,
		.ioas_id = self->ioas_id,
	};
	struct vfio_iommu_type1_info probe = { .argsz = sizeof(probe) };
	struct vfio_iommu_type1_info *info;

	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_VFIO_IOAS, &set));
	ASSERT_EQ(0, do_ioctl(self->fd, VFIO_IOMMU_GET_INFO, &probe));
	ASSERT_LT(sizeof(probe), probe.argsz);
	/* Room for the struct, then no memory where the chain goes */
	info = bytes_before_a_hole(sizeof(*info));
	ASSERT_NE(NULL, info);
	info->argsz = probe.argsz;
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, VFIO_IOMMU_GET_INFO, info));
	bytes_before_a_hole_free(info);
}

TEST_F(regress, a_map_with_neither_read_nor_write_is_einval)
{
	__u64 iova = START;

	EXPECT_EQ(-EINVAL, map(self->fd, self->ioas_id,
			       IOMMU_IOAS_MAP_FIXED_IOVA,
			       (uintptr_t)self->buf, self->len, &iova));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 0));
}

TEST_F(regress, a_user_address_range_that_wraps_is_eoverflow)
{
	__u64 iova = START;

	EXPECT_EQ(-EOVERFLOW,
		  map(self->fd, self->ioas_id, RW | IOMMU_IOAS_MAP_FIXED_IOVA,
		      UINT64_MAX - PAGE + 1, 2 * PAGE, &iova));
	iova = START;
	EXPECT_EQ(-EOVERFLOW,
		  map(self->fd, self->ioas_id, RW | IOMMU_IOAS_MAP_FIXED_IOVA,
		      (uintptr_t)self->buf, UINT64_MAX, &iova));
}

TEST_F(regress, pinning_in_small_batches_keeps_every_page_in_place)
{
	struct iommu_test_cmd limit = {
		.size = sizeof(limit),
		.op = IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
		.memory_limit = { .limit = 16 },
	};
	__u64 iova = START;
	unsigned int i;

	/* Break the buffer into runs of 1..4 physically unrelated pages */
	for (i = 0; i < 64; i += 5)
		ASSERT_EQ(0, madvise(self->buf + i * PAGE, PAGE,
				     MADV_DONTNEED));
	memset(self->buf, 0x33, self->len);
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &limit));
	ASSERT_EQ(0, map(self->fd, self->ioas_id,
			 RW | IOMMU_IOAS_MAP_FIXED_IOVA,
			 (uintptr_t)self->buf + PAGE / 2,
			 self->len - PAGE, &iova));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, START,
			       self->buf + PAGE / 2, self->len - PAGE));
	limit.memory_limit.limit = 65536;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &limit));
}

TEST_F(regress, an_unmap_under_an_access_pin_makes_the_access_let_go)
{
	__u64 iova = START;
	int afd = create_access(self->fd, self->ioas_id);

	ASSERT_LE(0, afd);
	ASSERT_EQ(0, map(self->fd, self->ioas_id,
			 RW | IOMMU_IOAS_MAP_FIXED_IOVA, (uintptr_t)self->buf,
			 self->len, &iova));
	ASSERT_EQ(0, access_pin(self->fd, afd, START + PAGE, 2 * PAGE,
				self->buf + PAGE));
	/* The access's unmap callback drops its pin; then the unmap goes */
	EXPECT_EQ(0, unmap(self->fd, self->ioas_id, START, self->len));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 0));
	close(afd);
}

/*
 * A type1 (v1) container of its own on the fixture's file, with a mock
 * device, the buffer mapped at START; its IOAS in @ioas_id, the device's
 * HWPT in @hwpt_id.  0 or -errno.
 */
static int type1_v1_with_a_mapping(struct _test_data_regress *self,
				   __u32 *ioas_id, __u32 *hwpt_id)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_vfio_ioas set = {
		.size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET,
	};
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};
	struct vfio_iommu_type1_dma_map vmap = {
		.argsz = sizeof(vmap),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)self->buf, .iova = START,
		.size = self->len,
	};
	int ret;

	ret = do_ioctl(self->fd, IOMMU_IOAS_ALLOC, &alloc);
	if (ret)
		return ret;
	*ioas_id = alloc.out_ioas_id;
	set.ioas_id = alloc.out_ioas_id;
	mock.id = alloc.out_ioas_id;
	ret = do_ioctl(self->fd, IOMMU_VFIO_IOAS, &set);
	if (!ret && ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU))
		ret = -errno;
	if (!ret)
		ret = do_ioctl(self->fd, IOMMU_TEST_CMD, &mock);
	*hwpt_id = mock.mock_domain.out_hwpt_id;
	return ret ?: do_ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &vmap);
}

TEST_F(regress, a_type1_cut_through_an_access_pin_makes_it_let_go)
{
	struct vfio_iommu_type1_dma_unmap vunmap = {
		.argsz = sizeof(vunmap), .iova = START + 2 * PAGE,
		.size = 4 * PAGE,
	};
	__u32 ioas_id, hwpt_id;
	int afd;

	ASSERT_EQ(0, type1_v1_with_a_mapping(self, &ioas_id, &hwpt_id));
	afd = create_access(self->fd, ioas_id);
	ASSERT_LE(0, afd);
	ASSERT_EQ(0, access_pin(self->fd, afd, START + 3 * PAGE, PAGE,
				self->buf + 3 * PAGE));
	/* Cutting the area the access pins: it is told, then the cut goes */
	ASSERT_EQ(0, do_ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &vunmap));
	EXPECT_EQ(4 * PAGE, vunmap.size);
	/* The pieces either side still map their pages */
	EXPECT_EQ(0, check_map(self->fd, hwpt_id, START,
			       self->buf, 2 * PAGE));
	EXPECT_EQ(0, check_map(self->fd, hwpt_id,
			       START + 6 * PAGE, self->buf + 6 * PAGE,
			       self->len - 6 * PAGE));
	EXPECT_EQ(0, check_refs(self->fd, self->buf + 2 * PAGE, 4 * PAGE, 0));
	close(afd);
}

/*
 * A v1 container cuts mappings because its IOAS maps only small pages.  If
 * user space gives the IOAS huge pages back (IOMMU_OPTION_HUGE_PAGES 1 on
 * /dev/iommu), a domain may hold IOPTEs a cut would split: the cut is
 * EINVAL and unmaps nothing, while whole mappings still unmap.
 */
TEST_F(regress, a_type1_cut_after_huge_pages_are_allowed_again_is_einval)
{
	struct iommu_option huge = {
		.size = sizeof(huge), .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_SET, .val64 = 1,
	};
	struct vfio_iommu_type1_dma_unmap vunmap = {
		.argsz = sizeof(vunmap), .iova = START + 2 * PAGE,
		.size = 4 * PAGE,
	};
	__u32 hwpt_id;

	/* The device pins the mapping */
	ASSERT_EQ(0, type1_v1_with_a_mapping(self, &huge.object_id, &hwpt_id));
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_OPTION, &huge));

	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &vunmap));
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 1));
	vunmap.iova = START;
	vunmap.size = self->len;
	ASSERT_EQ(0, do_ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &vunmap));
	EXPECT_EQ(self->len, vunmap.size);
	EXPECT_EQ(0, check_refs(self->fd, self->buf, self->len, 0));
}

struct racer {
	int fd;
	__u32 id;
	int stop;
};

static void *destroy_loop(void *arg)
{
	struct racer *r = arg;
	struct iommu_destroy cmd = { .size = sizeof(cmd) };

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		cmd.id = __atomic_load_n(&r->id, __ATOMIC_ACQUIRE);
		ioctl(r->fd, IOMMU_DESTROY, &cmd);
	}
	return NULL;
}

TEST_F(regress, destroy_racing_lookups_of_the_same_id_is_safe)
{
	struct racer r = { .fd = self->fd };
	pthread_t thread;
	unsigned int i;

	ASSERT_EQ(0, pthread_create(&thread, NULL, destroy_loop, &r));
	for (i = 0; i != 2000; i++) {
		struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
		__u64 iova = START;
		int ret;

		ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_ALLOC, &alloc));
		__atomic_store_n(&r.id, alloc.out_ioas_id, __ATOMIC_RELEASE);
		ret = map(self->fd, alloc.out_ioas_id,
			  RW | IOMMU_IOAS_MAP_FIXED_IOVA,
			  (uintptr_t)self->buf, PAGE, &iova);
		ASSERT_TRUE(ret == 0 || ret == -ENOENT);
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(thread, NULL));
}

TEST_F(regress, a_dirty_bitmap_is_written_only_within_its_size)
{
	const __u64 mock_page = PAGE / 2;
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc), .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		.pt_id = self->ioas_id,
	};
	struct iommu_test_cmd info = {
		.size = sizeof(info), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = self->ioas_id,
	};
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set), .flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
	};
	unsigned char all[16];
	struct iommu_test_cmd dirty = {
		.size = sizeof(dirty), .op = IOMMU_TEST_OP_DIRTY,
		.dirty = { .iova = START, .length = 128 * mock_page,
			   .page_size = mock_page, .uptr = (uintptr_t)all },
	};
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get), .iova = START,
		.length = 128 * mock_page, .page_size = mock_page,
	};
	unsigned char *guard;
	__u64 iova = START;

	/* 128 bits end exactly where an inaccessible page begins */
	guard = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, guard);
	ASSERT_EQ(0, mprotect(guard + PAGE, PAGE, PROT_NONE));
	memset(all, 0xff, sizeof(all));
	ASSERT_EQ(0, map(self->fd, self->ioas_id,
			 RW | IOMMU_IOAS_MAP_FIXED_IOVA, (uintptr_t)self->buf,
			 self->len, &iova));
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &info));
	alloc.dev_id = info.mock_domain.out_idev_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_HWPT_ALLOC, &alloc));
	set.hwpt_id = alloc.out_hwpt_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set));
	dirty.id = alloc.out_hwpt_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &dirty));
	get.hwpt_id = alloc.out_hwpt_id;
	get.data = (uintptr_t)(guard + PAGE - 16);
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get));
	EXPECT_EQ(0, memcmp(all, guard + PAGE - 16, 16));
	munmap(guard, 2 * PAGE);
}

/*
 * Regression, IOMMU_IOAS_CHANGE_PROCESS racing IOMMU_IOAS_MAP_FILE: a
 * handover walks every page store of the context while new file mappings
 * are setting theirs up (upstream dereferenced a store not yet set up).
 * A forked child hands the context over again and again while the parent
 * maps and unmaps fresh areas of a memfd: every handover succeeds, and
 * closing leaves nothing pinned (the fixture's teardown).
 */
TEST_F(regress, change_process_racing_map_file_of_new_areas_is_safe)
{
	int *stop = mmap(NULL, sizeof(*stop), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct iommu_ioas_change_process probe = { .size = sizeof(probe) };
	int mfd = memfd_create("regress", 0);
	unsigned int i;
	int status;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, stop);
	ASSERT_LE(0, mfd);
	ASSERT_EQ(0, ftruncate(mfd, 64 * PAGE));
	if (do_ioctl(self->fd, IOMMU_IOAS_CHANGE_PROCESS, &probe) == -ENOTTY)
		SKIP(return, "no IOMMU_IOAS_CHANGE_PROCESS (before 6.13)");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };
		int bad = 0;

		while (!__atomic_load_n(stop, __ATOMIC_ACQUIRE))
			bad |= do_ioctl(self->fd, IOMMU_IOAS_CHANGE_PROCESS,
					&cmd);
		_exit(bad ? 3 : 0);
	}
	for (i = 0; i != 2000; i++) {
		struct iommu_ioas_map_file mapf = {
			.size = sizeof(mapf), .ioas_id = self->ioas_id,
			.flags = RW | IOMMU_IOAS_MAP_FIXED_IOVA, .fd = mfd,
			.start = (i % 16) * 4 * PAGE, .length = 4 * PAGE,
			.iova = START + (i % 16) * 4 * PAGE,
		};

		ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_MAP_FILE, &mapf));
		if (i % 16 == 15)
			ASSERT_EQ(0, unmap(self->fd, self->ioas_id, START,
					   64 * PAGE));
	}
	__atomic_store_n(stop, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(mfd);
	munmap(stop, sizeof(*stop));
}

TEST_F(regress, a_fault_queue_that_gets_no_fd_leaves_nothing_behind)
{
	struct rlimit lim, none = { 0, 0 };
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	int i;

	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &lim));
	for (i = 0; i != 3; i++) {
		none.rlim_max = lim.rlim_max;
		ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &none));
		EXPECT_EQ(-EMFILE, do_ioctl(self->fd,
					    IOMMU_FAULT_QUEUE_ALLOC, &cmd));
		ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &lim));
	}
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd));
	close(cmd.out_fault_fd);
	destroy.id = cmd.out_fault_id;
	EXPECT_EQ(0, do_ioctl(self->fd, IOMMU_DESTROY, &destroy));
}

/*
 * With the system's file table full (fs.file-max reached, which only
 * CAP_SYS_ADMIN passes), a fault queue gets no file: ENFILE, and the
 * queue object is dropped with it.
 */
TEST_F(regress, a_fault_queue_that_gets_no_file_is_enfile)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd) };
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	char was[32] = "";
	int max_fd, status;
	ssize_t len;
	pid_t pid;

	max_fd = open("/proc/sys/fs/file-max", O_RDWR);
	ASSERT_LE(0, max_fd);
	len = read(max_fd, was, sizeof(was) - 1);
	ASSERT_LT(0, len);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (drop_capability(CAP_SYS_ADMIN))
			_exit(255);
		/* The parent lowers the limit once this process is ready */
		raise(SIGSTOP);
		/* The errno it got, or 0 for a queue it should not have */
		_exit(-do_ioctl(self->fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd));
	}
	ASSERT_EQ(pid, waitpid(pid, &status, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(status));
	/*
	 * 0: the check reads an approximate count of open files, which can
	 * be 0 on a small system.  Restored before any assertion can end
	 * the test.
	 */
	EXPECT_EQ(1, pwrite(max_fd, "0", 1, 0));
	kill(pid, SIGCONT);
	waitpid(pid, &status, 0);
	EXPECT_EQ(len, pwrite(max_fd, was, len, 0));
	close(max_fd);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(ENFILE, WEXITSTATUS(status));

	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd));
	close(cmd.out_fault_fd);
	destroy.id = cmd.out_fault_id;
	EXPECT_EQ(0, do_ioctl(self->fd, IOMMU_DESTROY, &destroy));
}

/*
 * The page store keeps a huge page as one run of PFNs.  When part of the
 * run is unpinned while an access holds the rest, and the address then
 * maps other memory, pinning the holes again must store the new pages
 * page by page: the run becomes an array, and each IOVA maps the page its
 * pin took.
 */
TEST(a_huge_page_run_partly_replaced_maps_each_page_it_pinned)
{
	const size_t huge = 2UL << 20;
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};
	struct iommu_destroy destroy = { .size = sizeof(destroy) };
	__u64 iova = START;
	unsigned char *buf;
	int fd, afd;

	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0)
		SKIP(return, "no /dev/iommu");
	buf = mmap(NULL, huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (buf == MAP_FAILED || (uintptr_t)buf % huge)
		SKIP(close(fd); return, "no 2 MiB huge page");
	memset(buf, 0x11, huge);
	ASSERT_EQ(0, do_ioctl(fd, IOMMU_IOAS_ALLOC, &alloc));
	ASSERT_EQ(0, map(fd, alloc.out_ioas_id, RW | IOMMU_IOAS_MAP_FIXED_IOVA,
			 (uintptr_t)buf, huge, &iova));
	mock.id = alloc.out_ioas_id;
	if (do_ioctl(fd, IOMMU_TEST_CMD, &mock))
		SKIP(close(fd); return, "no mock IOMMU driver");
	/* The domain pins the whole huge page: one run */
	EXPECT_EQ(0, check_map(fd, mock.mock_domain.out_hwpt_id, START, buf,
			       huge));
	afd = create_access(fd, alloc.out_ioas_id);
	ASSERT_LE(0, afd);
	ASSERT_EQ(0, access_pin(fd, afd, START + 4 * PAGE, 2 * PAGE,
				buf + 4 * PAGE));
	/* Without the domain only the access's two pages stay pinned */
	destroy.id = mock.mock_domain.out_stdev_id;
	ASSERT_EQ(0, do_ioctl(fd, IOMMU_DESTROY, &destroy));

	/* The address now maps another huge page */
	ASSERT_EQ(buf, mmap(buf, huge, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
				    MAP_FIXED, -1, 0));
	memset(buf, 0x22, huge);
	mock.mock_domain.out_hwpt_id = 0;
	ASSERT_EQ(0, do_ioctl(fd, IOMMU_TEST_CMD, &mock));
	/* The holes come from the new page, the access's pages from the old */
	EXPECT_EQ(0, check_map(fd, mock.mock_domain.out_hwpt_id, START, buf,
			       4 * PAGE));
	EXPECT_EQ(0, check_map(fd, mock.mock_domain.out_hwpt_id,
			       START + 6 * PAGE, buf + 6 * PAGE,
			       huge - 6 * PAGE));
	EXPECT_EQ(-EINVAL, check_map(fd, mock.mock_domain.out_hwpt_id,
				     START + 4 * PAGE, buf + 4 * PAGE, PAGE));
	close(afd);
	close(fd);
	munmap(buf, huge);
}

TEST_HARNESS_MAIN
