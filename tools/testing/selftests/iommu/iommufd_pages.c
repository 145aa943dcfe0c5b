// SPDX-License-Identifier: GPL-2.0-only
/*
 * The page store, on the mock IOMMU driver: how the PFNs of pinned pages
 * are kept (runs, arrays, one chunk or many, or lent to a domain) and how
 * large spans are pinned, and mapped into a domain, in pieces in
 * parallel.  Each test checks what a device would see, every page of a
 * mapping translating to the page the process has there, and that nothing
 * stays pinned afterwards, whatever went wrong.
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
#include "vm_pinned.h"

#define PAGE ((__u64)sysconf(_SC_PAGESIZE))
#define START ((__u64)MOCK_APERTURE_START)
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED (RW | IOMMU_IOAS_MAP_FIXED_IOVA)
#define SZ_2M (2UL << 20)
/*
 * Large enough for the store to pin it, and with small pages to map it
 * into a domain, in several pieces
 */
#define LARGE (160UL << 20)

static int map_at(int fd, __u32 ioas_id, void *va, __u64 len, __u64 iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = FIXED, .ioas_id = ioas_id,
		.user_va = (uintptr_t)va, .length = len, .iova = iova,
	};

	return do_ioctl(fd, IOMMU_IOAS_MAP, &cmd);
}

static int unmap_all(int fd, __u32 ioas_id)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas_id, .length = UINT64_MAX,
	};

	return do_ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
}

static int mock_domain(int fd, __u32 ioas_id, __u32 *hwpt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = ioas_id,
	};
	int ret = do_ioctl(fd, IOMMU_TEST_CMD, &cmd);

	*hwpt_id = cmd.mock_domain.out_hwpt_id;
	return ret;
}

/*
 * A second domain on @ioas_id: a HWPT allocated for a new mock device (the
 * device itself joins the IOAS's automatic HWPT, as a second device would)
 */
static int second_domain(int fd, __u32 ioas_id, __u32 *hwpt_id)
{
	struct iommu_test_cmd dev = {
		.size = sizeof(dev), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = ioas_id,
	};
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc), .pt_id = ioas_id,
	};
	int ret = do_ioctl(fd, IOMMU_TEST_CMD, &dev);

	if (ret)
		return ret;
	alloc.dev_id = dev.mock_domain.out_idev_id;
	ret = do_ioctl(fd, IOMMU_HWPT_ALLOC, &alloc);
	*hwpt_id = alloc.out_hwpt_id;
	return ret;
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

static int check_refs(int fd, void *va, __u64 len, unsigned int refs)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = len, .uptr = (uintptr_t)va,
				.refs = refs },
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

/* The next map call of @hwpt_id's mock domain that covers @iova fails */
static int refuse_map(int fd, __u32 hwpt_id, __u64 iova)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_REFUSE_MAP,
		.id = hwpt_id, .refuse_map = { .iova = iova },
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* The PFN behind @va (root reads them from /proc/self/pagemap), or 0 */
static __u64 pfn_of(void *va)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	__u64 ent = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), (uintptr_t)va / PAGE * 8) !=
	    sizeof(ent))
		ent = 0;
	close(fd);
	return ent & (1ULL << 63) ? ent & ((1ULL << 55) - 1) : 0;
}

/* @len bytes of address space, 2 MiB aligned, nothing touched yet */
static void *fresh(size_t len)
{
	char *raw = mmap(NULL, len + SZ_2M, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (raw == MAP_FAILED)
		return NULL;
	return (void *)(((uintptr_t)raw + SZ_2M - 1) & ~(SZ_2M - 1));
}

/*
 * @len bytes of small pages faulted in a scrambled order, so physically
 * scattered: the store keeps them in arrays, which a domain borrows
 */
static char *scattered(size_t len)
{
	char *va = fresh(len);
	size_t n = len / PAGE, i;

	if (!va)
		return NULL;
	madvise(va, len, MADV_NOHUGEPAGE);
	/* 7919 is prime: this visits every page once, out of order */
	for (i = 0; i != n; i++)
		va[(i * 7919 % n) * PAGE] = (char)i;
	return va;
}

FIXTURE(store) {
	int fd;
	__u32 ioas_id;
	__u32 hwpt_id;
	long pinned;
};

FIXTURE_SETUP(store)
{
	self->fd = open("/dev/iommu", O_RDWR);
	if (self->fd < 0)
		SKIP(return, "no /dev/iommu");
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	if (mock_domain(self->fd, self->ioas_id, &self->hwpt_id))
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	self->pinned = vm_pinned_kib();
}

FIXTURE_TEARDOWN(store)
{
	/* Whatever a test did, closing leaves nothing pinned */
	close(self->fd);
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

/*
 * A map of memory nobody touched (a VM's RAM at its start) faults every
 * page in while pinning it, a large one in pieces at once, and maps it
 * into the domain in pieces too: the device sees each page where the
 * process does, each pinned once.
 */
TEST_F(store, a_large_map_of_untouched_memory_maps_every_page_once)
{
	/* Not on a 2 MiB boundary: the pieces' edges are not the span's */
	char *va = (char *)fresh(LARGE + SZ_2M) + 3 * PAGE;

	ASSERT_NE(NULL, va);
	/* Small pages: each needs an IOPTE of its own */
	madvise(va, LARGE, MADV_NOHUGEPAGE);
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, va, LARGE, START));
	EXPECT_EQ(self->pinned + (long)(LARGE >> 10), vm_pinned_kib());
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, START, va, LARGE));
	EXPECT_EQ(0, check_refs(self->fd, va, LARGE, 1));
	EXPECT_EQ(0, unmap_all(self->fd, self->ioas_id));
	EXPECT_EQ(self->pinned, vm_pinned_kib());
	EXPECT_EQ(0, check_refs(self->fd, va, LARGE, 0));
}

/*
 * Pages faulted in a scrambled order are physically scattered, so each
 * needs an IOPTE of its own: a large map of them fills the domain in
 * pieces at once, and the device still sees each page where the process
 * does.
 */
TEST_F(store, a_large_map_of_scattered_pages_maps_every_page)
{
	char *va = scattered(LARGE);

	ASSERT_NE(NULL, va);
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, va, LARGE, START));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, START, va, LARGE));
	EXPECT_EQ(0, check_refs(self->fd, va, LARGE, 1));
	EXPECT_EQ(0, unmap_all(self->fd, self->ioas_id));
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

FIXTURE(hole) {
	int fd;
	__u32 ioas_id;
	__u32 hwpt_id;
	long pinned;
};

FIXTURE_VARIANT(hole) {
	__u64 offset;	/* of the page missing from the range */
};

/* In the first piece, which the caller pins */
FIXTURE_VARIANT_ADD(hole, near_the_start) {
	.offset = 1UL << 20,
};

/* In the last piece, which a worker pins */
FIXTURE_VARIANT_ADD(hole, near_the_end) {
	.offset = LARGE - (1UL << 20),
};

FIXTURE_SETUP(hole)
{
	self->fd = open("/dev/iommu", O_RDWR);
	if (self->fd < 0)
		SKIP(return, "no /dev/iommu");
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	if (mock_domain(self->fd, self->ioas_id, &self->hwpt_id))
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	self->pinned = vm_pinned_kib();
}

FIXTURE_TEARDOWN(hole)
{
	close(self->fd);
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

/*
 * A page missing anywhere in a large span fails the whole map with EFAULT
 * and leaves nothing pinned, whichever piece met it; the range maps
 * fully afterwards once the page is back.
 */
TEST_F(hole, a_large_map_over_a_hole_is_efault_and_pins_nothing)
{
	char *va = fresh(LARGE);

	ASSERT_NE(NULL, va);
	memset(va, 0x3c, LARGE);
	ASSERT_EQ(0, munmap(va + variant->offset, PAGE));
	EXPECT_EQ(-EFAULT, map_at(self->fd, self->ioas_id, va, LARGE, START));
	EXPECT_EQ(self->pinned, vm_pinned_kib());
	EXPECT_EQ(0, check_refs(self->fd, va, variant->offset, 0));
	EXPECT_EQ(0, check_refs(self->fd, va + variant->offset + PAGE,
				LARGE - variant->offset - PAGE, 0));

	ASSERT_EQ(va + variant->offset,
		  mmap(va + variant->offset, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, va, LARGE, START));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, START, va, LARGE));
	EXPECT_EQ(0, unmap_all(self->fd, self->ioas_id));
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

/*
 * The container's maps may take a device's BAR by PFN, which only the
 * serial pin looks up: a large map over a hole is tried in pieces, then
 * again serially, and fails the same, EFAULT with nothing pinned; the
 * same map without the hole maps every page.
 */
TEST_F(hole, a_large_container_map_over_a_hole_is_efault_and_pins_nothing)
{
	struct iommu_vfio_ioas set = {
		.size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET,
		.ioas_id = self->ioas_id,
	};
	struct vfio_iommu_type1_dma_map vmap = {
		.argsz = sizeof(vmap),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = START, .size = LARGE,
	};
	char *va = fresh(LARGE);

	ASSERT_NE(NULL, va);
	vmap.vaddr = (uintptr_t)va;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_VFIO_IOAS, &set));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	ASSERT_EQ(0, munmap(va + variant->offset, PAGE));
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &vmap));
	EXPECT_EQ(self->pinned, vm_pinned_kib());

	ASSERT_EQ(va + variant->offset,
		  mmap(va + variant->offset, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	ASSERT_EQ(0, do_ioctl(self->fd, VFIO_IOMMU_MAP_DMA, &vmap));
	EXPECT_EQ(self->pinned + (long)(LARGE >> 10), vm_pinned_kib());
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, START, va, LARGE));
	EXPECT_EQ(0, unmap_all(self->fd, self->ioas_id));
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

/*
 * A chunk of the store whose first pins were one huge page is kept as a
 * run; when pages that do not continue it are pinned beside them, the
 * chunk must give every page its own PFN, old and new.
 */
TEST_F(store, a_run_joined_by_unrelated_pages_keeps_every_pfn)
{
	__u32 ioas_id, hwpt_id;
	char *va = fresh(SZ_2M);
	unsigned int i;
	__u64 pfn0;
	int afd;

	ASSERT_NE(NULL, va);
	madvise(va, SZ_2M, MADV_HUGEPAGE);
	memset(va, 0x11, SZ_2M);
	pfn0 = pfn_of(va);
	for (i = 1; i != SZ_2M / PAGE; i++)
		if (!pfn0 || pfn_of(va + i * PAGE) != pfn0 + i)
			SKIP(return, "no transparent huge page here");

	/* An IOAS without a domain: only the access pins, 16 pages */
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	ASSERT_EQ(0, map_at(self->fd, ioas_id, va, SZ_2M, START));
	afd = create_access(self->fd, ioas_id);
	ASSERT_LE(0, afd);
	ASSERT_EQ(0, access_pin(self->fd, afd, START, 16 * PAGE, va));

	/* The rest of the huge page goes; new, unrelated pages take its place */
	ASSERT_EQ(0, madvise(va + 16 * PAGE, SZ_2M - 16 * PAGE,
			     MADV_DONTNEED));
	for (i = SZ_2M / PAGE - 1; i >= 16; i--)
		va[i * PAGE] = 0x22;
	if (pfn_of(va + 16 * PAGE) == pfn0 + 16)
		SKIP(goto out, "the new page is the old one");

	/* A domain now pins the other 496 pages into the same chunk */
	ASSERT_EQ(0, mock_domain(self->fd, ioas_id, &hwpt_id));
	EXPECT_EQ(0, check_map(self->fd, hwpt_id, START, va, SZ_2M));
	EXPECT_EQ(self->pinned + (long)(SZ_2M >> 10), vm_pinned_kib());
out:
	close(afd);
	EXPECT_EQ(0, unmap_all(self->fd, ioas_id));
}

/*
 * Small stores keep their PFNs without tables of their own: mappings of
 * one page and of a few scattered pages, side by side, map and unmap
 * right many times over.
 */
TEST_F(store, small_maps_side_by_side_map_every_page)
{
	char *va = fresh(SZ_2M);
	unsigned int i, round;

	ASSERT_NE(NULL, va);
	/* Scattered pages: touched backwards */
	for (i = 64; i-- > 0;)
		va[i * PAGE] = (char)i;
	for (round = 0; round != 20; round++) {
		/* Eight stores: of one page and of seven, alternately */
		for (i = 0; i != 8; i++)
			ASSERT_EQ(0, map_at(self->fd, self->ioas_id,
					    va + i * 8 * PAGE,
					    i % 2 ? PAGE : 7 * PAGE,
					    START + i * SZ_2M));
		for (i = 0; i != 8; i++)
			EXPECT_EQ(0, check_map(self->fd, self->hwpt_id,
					       START + i * SZ_2M,
					       va + i * 8 * PAGE,
					       i % 2 ? PAGE : 7 * PAGE));
		ASSERT_EQ(0, unmap_all(self->fd, self->ioas_id));
	}
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

/*
 * Lending: once mapped, the PFNs of scattered pages are kept by the
 * domain alone.  Each test below changes who uses the pages, and checks
 * that every page stays pinned exactly while something maps it.
 */
#define LENT (8 * SZ_2M)

/*
 * A second IOAS that copies a mapping uses its pages too: the first
 * IOAS's unmap leaves them pinned, once, and mapped in the second's
 * domain, until the second unmaps them.
 */
TEST_F(store, lent_pages_copied_to_a_second_ioas_outlive_the_first_map)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy), .flags = FIXED,
		.src_ioas_id = self->ioas_id, .length = LENT / 2,
		/* From inside the first chunk to inside the last */
		.src_iova = START + SZ_2M / 2, .dst_iova = START,
	};
	char *va = scattered(LENT);
	__u32 ioas2, hwpt2;

	ASSERT_NE(NULL, va);
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, va, LENT, START));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, &hwpt2));
	copy.dst_ioas_id = ioas2;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_COPY, &copy));
	EXPECT_EQ(0, check_map(self->fd, hwpt2, START, va + SZ_2M / 2,
			       LENT / 2));

	ASSERT_EQ(0, unmap_all(self->fd, self->ioas_id));
	EXPECT_EQ(self->pinned + (long)(LENT / 2 >> 10), vm_pinned_kib());
	EXPECT_EQ(0, check_refs(self->fd, va + SZ_2M / 2, LENT / 2, 1));
	EXPECT_EQ(0, check_map(self->fd, hwpt2, START, va + SZ_2M / 2,
			       LENT / 2));
	EXPECT_EQ(0, unmap_all(self->fd, ioas2));
	EXPECT_EQ(0, check_refs(self->fd, va, LENT, 0));
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

/*
 * Huge pages lent whole keep only a bit each: a copy to a second IOAS
 * gives the store its runs back, and the second domain gets every page
 * right, before and after the first IOAS unmaps.
 */
TEST_F(store, lent_huge_pages_copied_to_a_second_ioas_map_right)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy), .flags = FIXED,
		.src_ioas_id = self->ioas_id, .length = LENT,
		.src_iova = START, .dst_iova = START,
	};
	char *huge = fresh(LENT + SZ_2M);
	/* Inside a huge page: the store's first chunk begins mid-run */
	char *va = huge + 4 * PAGE;
	__u32 ioas2, hwpt2;

	ASSERT_NE(NULL, huge);
	madvise(huge, LENT + SZ_2M, MADV_HUGEPAGE);
	memset(huge, 0x5a, LENT + SZ_2M);
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, va, LENT, START));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, &hwpt2));
	copy.dst_ioas_id = ioas2;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_COPY, &copy));
	EXPECT_EQ(0, check_map(self->fd, hwpt2, START, va, LENT));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioas_id));
	EXPECT_EQ(0, check_map(self->fd, hwpt2, START, va, LENT));
	EXPECT_EQ(0, check_refs(self->fd, va, LENT, 1));
	EXPECT_EQ(0, unmap_all(self->fd, ioas2));
	EXPECT_EQ(0, check_refs(self->fd, va, LENT, 0));
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

/*
 * Huge pages lent whole keep a bit per chunk, not a PFN: a second domain
 * of the same IOAS is filled from the lender's runs, chunk after chunk,
 * and gets every page right, a run beginning mid-chunk included.
 */
TEST_F(store, a_second_domain_is_filled_from_lent_huge_page_runs)
{
	__u32 second;
	char *huge = fresh(LENT + SZ_2M);
	char *va = huge + 4 * PAGE;

	ASSERT_NE(NULL, huge);
	madvise(huge, LENT + SZ_2M, MADV_HUGEPAGE);
	memset(huge, 0x5a, LENT + SZ_2M);
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, va, LENT, START));
	ASSERT_EQ(0, second_domain(self->fd, self->ioas_id, &second));
	EXPECT_EQ(0, check_map(self->fd, second, START, va, LENT));
	EXPECT_EQ(0, check_refs(self->fd, va, LENT, 1));
	EXPECT_EQ(0, unmap_all(self->fd, self->ioas_id));
	EXPECT_EQ(0, check_refs(self->fd, va, LENT, 0));
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

/*
 * An access pins lent pages and gets the process's own pages; after it
 * lets go, the unmap unpins every page once.
 */
TEST_F(store, an_access_gets_lent_pages_right)
{
	char *va = scattered(LENT);
	int afd;

	ASSERT_NE(NULL, va);
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, va, LENT, START));
	afd = create_access(self->fd, self->ioas_id);
	ASSERT_LE(0, afd);
	/* Across a chunk's edge, so two chunks are taken back */
	EXPECT_EQ(0, access_pin(self->fd, afd, START + SZ_2M - 8 * PAGE,
				16 * PAGE, va + SZ_2M - 8 * PAGE));
	close(afd);
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, START, va, LENT));
	EXPECT_EQ(0, check_refs(self->fd, va, LENT, 1));
	EXPECT_EQ(0, unmap_all(self->fd, self->ioas_id));
	EXPECT_EQ(0, check_refs(self->fd, va, LENT, 0));
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

/*
 * A second domain is filled from the first, which keeps the PFNs; when
 * the first goes, the second keeps them, and its unmap unpins them.
 */
TEST_F(store, lent_pages_stay_right_when_the_lending_domain_goes)
{
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};
	struct iommu_test_cmd replace = {
		.size = sizeof(replace), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
	};
	struct iommu_hwpt_alloc alloc = { .size = sizeof(alloc) };
	char *va = scattered(LENT);
	__u32 ioas_id;

	ASSERT_NE(NULL, va);
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	/* A device on an automatic domain, the one mapped first: the lender */
	mock.id = ioas_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &mock));
	ASSERT_EQ(0, map_at(self->fd, ioas_id, va, LENT, START));
	/* A second domain of the IOAS, filled from the first */
	alloc.dev_id = mock.mock_domain.out_idev_id;
	alloc.pt_id = ioas_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_HWPT_ALLOC, &alloc));
	EXPECT_EQ(0, check_map(self->fd, alloc.out_hwpt_id, START, va, LENT));

	/* The device moves to it: the automatic domain, the lender, goes */
	replace.id = mock.mock_domain.out_stdev_id;
	replace.mock_domain_replace.pt_id = alloc.out_hwpt_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &replace));
	EXPECT_EQ(-ENOENT, destroy(self->fd, mock.mock_domain.out_hwpt_id));
	EXPECT_EQ(0, check_map(self->fd, alloc.out_hwpt_id, START, va, LENT));
	EXPECT_EQ(0, check_refs(self->fd, va, LENT, 1));
	EXPECT_EQ(self->pinned + (long)(LENT >> 10), vm_pinned_kib());

	ASSERT_EQ(0, unmap_all(self->fd, ioas_id));
	EXPECT_EQ(0, check_refs(self->fd, va, LENT, 0));
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

/*
 * A large lent area whose store has another user (a copy of 2 MiB of it in
 * a second IOAS) is no longer lent whole: its unmap reads the PFNs back in
 * spans that begin at chunk starts, in parallel.  Every page but the
 * copied ones is unpinned, and those stay pinned once and mapped.
 */
TEST_F(store, a_large_lent_area_sharing_its_store_unmaps_in_spans_right)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy), .flags = FIXED,
		.src_ioas_id = self->ioas_id, .length = SZ_2M,
		.src_iova = START + LARGE / 2 + SZ_2M / 2, .dst_iova = START,
	};
	char *va = scattered(LARGE);
	__u32 ioas2, hwpt2;

	ASSERT_NE(NULL, va);
	ASSERT_EQ(0, map_at(self->fd, self->ioas_id, va, LARGE, START));
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, &hwpt2));
	copy.dst_ioas_id = ioas2;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_COPY, &copy));

	ASSERT_EQ(0, unmap_all(self->fd, self->ioas_id));
	EXPECT_EQ(self->pinned + (long)(SZ_2M >> 10), vm_pinned_kib());
	EXPECT_EQ(0, check_refs(self->fd, va, LARGE / 2 + SZ_2M / 2, 0));
	EXPECT_EQ(0, check_refs(self->fd, va + LARGE / 2 + SZ_2M / 2, SZ_2M,
				1));
	EXPECT_EQ(0, check_map(self->fd, hwpt2, START,
			       va + LARGE / 2 + SZ_2M / 2, SZ_2M));
	EXPECT_EQ(0, unmap_all(self->fd, ioas2));
	EXPECT_EQ(0, check_refs(self->fd, va, LARGE, 0));
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

/*
 * Page allocations of this thread fail while armed: fail_page_alloc fires
 * for tasks with make-it-fail set, only this one (its other settings are
 * kept and given back).  The make-it-fail file is opened beforehand, since
 * opening a file may need a page.
 */
#define FAIL_PAGE_ALLOC "/sys/kernel/debug/fail_page_alloc/"

static const char *const page_alloc_failure[][2] = {
	{ "probability", "100" }, { "interval", "1" }, { "times", "-1" },
	{ "space", "0" }, { "verbose", "0" }, { "task-filter", "Y" },
	{ "ignore-gfp-wait", "N" }, { "ignore-gfp-highmem", "N" },
	{ "min-order", "0" },
};

struct page_alloc_failure {
	char saved[ARRAY_SIZE(page_alloc_failure)][32];
	int make_it_fail;
};

static int attr_io(const char *name, char *val, size_t len, bool store)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), FAIL_PAGE_ALLOC "%s", name);
	fd = open(path, store ? O_WRONLY : O_RDONLY);
	if (fd < 0)
		return -1;
	n = store ? write(fd, val, strlen(val)) : read(fd, val, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	if (!store) {
		val[n] = 0;
		val[strcspn(val, "\n")] = 0;
	}
	return 0;
}

/* Set up (disarmed); Return: 0, or -1 if the kernel cannot inject them */
static int page_alloc_failure_setup(struct page_alloc_failure *f)
{
	size_t i;

	for (i = 0; i != ARRAY_SIZE(page_alloc_failure); i++) {
		if (attr_io(page_alloc_failure[i][0], f->saved[i],
			    sizeof(f->saved[i]), false))
			return -1;
		attr_io(page_alloc_failure[i][0],
			(char *)page_alloc_failure[i][1], 0, true);
	}
	f->make_it_fail = open("/proc/thread-self/make-it-fail", O_WRONLY);
	return f->make_it_fail < 0 ? -1 : 0;
}

static void page_alloc_failure_arm(struct page_alloc_failure *f, bool on)
{
	pwrite(f->make_it_fail, on ? "1" : "0", 1, 0);
}

static void page_alloc_failure_teardown(struct page_alloc_failure *f)
{
	size_t i;

	page_alloc_failure_arm(f, false);
	close(f->make_it_fail);
	for (i = 0; i != ARRAY_SIZE(page_alloc_failure); i++)
		attr_io(page_alloc_failure[i][0], f->saved[i], 0, true);
}

/*
 * Unmapping a lender never fails: with no page for its table of runs, it
 * unmaps in pieces of the few runs its stack holds.  A piece may begin
 * only where the PFN does not continue the page before; here the store is
 * not lent whole (a second IOAS copies part of it), so huge-page chunks
 * between scattered ones are kept as runs, not lent, and the walk meets
 * pieces that begin after them.  The mapping begins @skip pages into its
 * first 2 MiB, for every @skip of a stack table's length, so that a full
 * table meets each kind of page.  Every page is unpinned but the copied
 * ones, which stay pinned once and mapped.
 */
TEST_F(store, a_lender_unmapped_without_memory_for_its_table_unpins_all)
{
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy), .flags = FIXED, .length = SZ_2M / 2,
		.src_ioas_id = self->ioas_id, .dst_iova = START,
	};
	struct page_alloc_failure f;
	size_t len = 4 * SZ_2M, n = 2 * SZ_2M / PAGE, i;
	char *base = fresh(len);
	__u32 ioas2, hwpt2;
	unsigned int skip;

	ASSERT_NE(NULL, base);
	/* Chunks 0 and 2 scattered small pages, 1 and 3 huge pages */
	for (i = 0; i != 4; i++)
		madvise(base + i * SZ_2M, SZ_2M,
			i % 2 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	memset(base + SZ_2M, 0x5a, SZ_2M);
	memset(base + 3 * SZ_2M, 0x5a, SZ_2M);
	for (i = 0; i != n; i++) {
		size_t page = i * 7919 % n;

		base[(page / (SZ_2M / PAGE) * 2) * SZ_2M +
		     page % (SZ_2M / PAGE) * PAGE] = (char)i;
	}
	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_domain(self->fd, ioas2, &hwpt2));
	copy.dst_ioas_id = ioas2;
	if (page_alloc_failure_setup(&f))
		SKIP(return, "no fail_page_alloc");

	for (skip = 0; skip != 16; skip++) {
		char *va = base + skip * PAGE;
		__u64 size = len - skip * PAGE;

		ASSERT_EQ(0, map_at(self->fd, self->ioas_id, va, size, START));
		/* Half of the last huge page, in the second IOAS */
		copy.src_iova = START + size - SZ_2M / 2;
		ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_COPY, &copy));

		page_alloc_failure_arm(&f, true);
		i = unmap_all(self->fd, self->ioas_id);
		page_alloc_failure_arm(&f, false);
		ASSERT_EQ(0, i);
		EXPECT_EQ(0, check_refs(self->fd, va, size - SZ_2M / 2, 0));
		EXPECT_EQ(0, check_refs(self->fd, va + size - SZ_2M / 2,
					SZ_2M / 2, 1));
		EXPECT_EQ(0, check_map(self->fd, hwpt2, START,
				       va + size - SZ_2M / 2, SZ_2M / 2));
		EXPECT_EQ(self->pinned + (long)(SZ_2M / 2 >> 10),
			  vm_pinned_kib());
		ASSERT_EQ(0, unmap_all(self->fd, ioas2));
		EXPECT_EQ(self->pinned, vm_pinned_kib());
	}
	page_alloc_failure_teardown(&f);
}

/*
 * VFIO type1 v1 unmaps part of a mapping by cutting its area: the pages
 * of the part unmapped are unpinned, the others stay pinned and mapped,
 * and go with the rest.
 */
TEST_F(store, cutting_a_lent_area_keeps_each_part_pinned_right)
{
	struct iommu_vfio_ioas set = {
		.size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET,
		.ioas_id = self->ioas_id,
	};
	/* Mid-chunk to mid-chunk, so both cuts split a chunk */
	__u64 cut = SZ_2M + SZ_2M / 2, cut_len = 2 * SZ_2M;
	char *va = scattered(LENT);

	ASSERT_NE(NULL, va);
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_VFIO_IOAS, &set));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, vfio_map(self->fd, va, LENT, START));
	ASSERT_EQ(0, vfio_unmap(self->fd, 0, START + cut, cut_len, NULL));
	EXPECT_EQ(self->pinned + (long)((LENT - cut_len) >> 10),
		  vm_pinned_kib());
	EXPECT_EQ(0, check_refs(self->fd, va + cut, cut_len, 0));
	EXPECT_EQ(0, check_refs(self->fd, va, cut, 1));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, START, va, cut));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, START + cut + cut_len,
			       va + cut + cut_len, LENT - cut - cut_len));
	ASSERT_EQ(0, vfio_unmap(self->fd, 0, START, LENT, NULL));
	EXPECT_EQ(0, check_refs(self->fd, va, LENT, 0));
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

/*
 * A cut needs memory (the new part's bookkeeping, and room to read its
 * PFNs): with no page to be had, a type1 v1 unmap through the middle of a
 * mapping fails with ENOMEM and changes nothing, every page still pinned
 * once and mapped; with memory again, the same unmap cuts.
 */
TEST_F(store, a_cut_without_memory_is_enomem_and_changes_nothing)
{
	struct iommu_vfio_ioas set = {
		.size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET,
		.ioas_id = self->ioas_id,
	};
	size_t len = 64 * PAGE;
	char *va = scattered(len);
	struct page_alloc_failure f;
	__u64 unmapped = 0;
	int ret;

	ASSERT_NE(NULL, va);
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_VFIO_IOAS, &set));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	ASSERT_EQ(0, vfio_map(self->fd, va, len, START));
	if (page_alloc_failure_setup(&f))
		SKIP(return, "no fail_page_alloc");

	page_alloc_failure_arm(&f, true);
	ret = vfio_unmap(self->fd, 0, START + 2 * PAGE, 2 * PAGE, &unmapped);
	page_alloc_failure_arm(&f, false);
	page_alloc_failure_teardown(&f);
	EXPECT_EQ(-ENOMEM, ret);
	EXPECT_EQ(0, check_refs(self->fd, va, len, 1));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, START, va, len));
	EXPECT_EQ(self->pinned + (long)(len >> 10), vm_pinned_kib());

	ASSERT_EQ(0, vfio_unmap(self->fd, 0, START + 2 * PAGE, 2 * PAGE,
				&unmapped));
	EXPECT_EQ(2 * PAGE, unmapped);
	EXPECT_EQ(0, check_refs(self->fd, va + 2 * PAGE, 2 * PAGE, 0));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, START + 4 * PAGE,
			       va + 4 * PAGE, len - 4 * PAGE));
	ASSERT_EQ(0, vfio_unmap(self->fd, 0, START, len, NULL));
	EXPECT_EQ(self->pinned, vm_pinned_kib());
}

/*
 * A map that one domain refuses part of (@refusing's page table
 * allocation failing at IOVA START + @at) is ENOMEM and leaves nothing
 * behind: no mapping in the IOAS, no page pinned, nothing in a domain;
 * the same map then succeeds in every domain (@hwpt_id's and @refusing's).
 */
struct refusal {
	__u32 hwpt_id;
	__u32 refusing;
	char *va;
	__u64 len;
	__u64 at;
};

static void refused_then_mapped(struct __test_metadata *_metadata, int fd,
				__u32 ioas_id, long pinned,
				const struct refusal *r)
{
	int ret;

	ASSERT_NE(NULL, r->va);
	ret = refuse_map(fd, r->refusing, START + r->at);
	if (ret == -EOPNOTSUPP)
		SKIP(return, "no IOMMU_TEST_OP_MD_REFUSE_MAP");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(-ENOMEM, map_at(fd, ioas_id, r->va, r->len, START));
	EXPECT_EQ(pinned, vm_pinned_kib());
	EXPECT_EQ(0, check_refs(fd, r->va, r->len, 0));
	/* The domains translate neither end (the mock translates to 0) */
	EXPECT_EQ(-EINVAL, check_map(fd, r->hwpt_id, START, r->va, PAGE));
	EXPECT_EQ(-EINVAL, check_map(fd, r->hwpt_id, START + r->len - PAGE,
				     r->va + r->len - PAGE, PAGE));

	/* A fixed map would find a mapping left behind: EEXIST */
	ASSERT_EQ(0, map_at(fd, ioas_id, r->va, r->len, START));
	EXPECT_EQ(0, check_map(fd, r->hwpt_id, START, r->va, r->len));
	EXPECT_EQ(0, check_map(fd, r->refusing, START, r->va, r->len));
	EXPECT_EQ(0, check_refs(fd, r->va, r->len, 1));
	EXPECT_EQ(0, unmap_all(fd, ioas_id));
}

/* A large map is mapped in pieces: the caller maps the first itself */
TEST_F(store, a_map_refused_in_the_callers_piece_unmaps_the_other_pieces)
{
	const struct refusal r = {
		self->hwpt_id, self->hwpt_id, scattered(LARGE), LARGE, 0,
	};

	refused_then_mapped(_metadata, self->fd, self->ioas_id, self->pinned,
			    &r);
}

TEST_F(store, a_map_refused_in_a_workers_piece_unmaps_the_other_pieces)
{
	const struct refusal r = {
		self->hwpt_id, self->hwpt_id, scattered(LARGE), LARGE,
		LARGE - PAGE,
	};

	refused_then_mapped(_metadata, self->fd, self->ioas_id, self->pinned,
			    &r);
}

/* Scattered pages go to the domain in batches: the first few, then more */
TEST_F(store, a_map_refused_in_a_later_batch_unmaps_the_batches_before)
{
	const struct refusal r = {
		self->hwpt_id, self->hwpt_id, scattered(64 * PAGE), 64 * PAGE,
		40 * PAGE,
	};

	refused_then_mapped(_metadata, self->fd, self->ioas_id, self->pinned,
			    &r);
}

/* Large pages off: contiguous pages go one per map call */
TEST_F(store, a_map_of_small_pages_refused_midway_unmaps_the_pages_before)
{
	struct iommu_option off = {
		.size = sizeof(off), .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_SET, .object_id = self->ioas_id,
	};
	const struct refusal r = {
		self->hwpt_id, self->hwpt_id, fresh(SZ_2M), SZ_2M, 300 * PAGE,
	};

	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_OPTION, &off));
	refused_then_mapped(_metadata, self->fd, self->ioas_id, self->pinned,
			    &r);
}

/* A map goes into each domain in turn: the second refusing it */
TEST_F(store, a_map_the_second_domain_refuses_is_unmapped_from_the_first)
{
	struct refusal r = {
		self->hwpt_id, 0, scattered(16 * PAGE), 16 * PAGE, 0,
	};

	ASSERT_EQ(0, second_domain(self->fd, self->ioas_id, &r.refusing));
	ASSERT_NE(self->hwpt_id, r.refusing);
	refused_then_mapped(_metadata, self->fd, self->ioas_id, self->pinned,
			    &r);
}

TEST_HARNESS_MAIN
