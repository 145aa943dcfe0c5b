// SPDX-License-Identifier: GPL-2.0-only
/*
 * A seeded ioctl fuzzer for /dev/iommu.
 *
 * Random but reproducible calls of every IOMMUFD command (0x80..0x8e),
 * the harmless operations of IOMMU_TEST_CMD (mock devices and their
 * replacement, accesses, their pins and reads, CHECK_MAP and a few more),
 * the VFIO type1 container ioctls, and read()/write() on the files the
 * context hands out.  Arguments are drawn near the edges: struct sizes
 * 0, size - 1, size, size + 8 with a zero or non-zero tail, and wild ones;
 * structs at a NULL, read-only, PROT_NONE or kernel address, or ending at
 * a guard page; random flags; ids of live objects, 0 and garbage; IOVAs
 * near 0, at the mock aperture's edges, at ULONG_MAX, overflowing; lengths
 * 0, 1, a page and huge; user pointers to valid memory, NULL, kernel and
 * unmapped addresses, read-only and PROT_NONE mappings; files of the
 * wrong kind (a pipe, /dev/null, /dev/iommu itself) where an access file
 * is expected.  Ids and files of successful allocations are used again.
 *
 * What is specified:
 *  - the program never crashes (the kernel writes only where told to);
 *  - every failing call fails with a plausible errno (see plausible());
 *  - every IOMMUFD_FUZZ_SWAP (default 2000) calls, and at the end, the
 *    context is closed, and then no page of any buffer is pinned
 *    (MD_CHECK_REFS 0) and VmPin in /proc/self/status is at its baseline;
 *    a fresh context follows.
 *
 * All memory the kernel may be pointed at is one reservation whose every
 * region ends in a guard page, so a kernel write that runs past what it
 * was given faults instead of corrupting this program.  The only way for
 * a kernel write to reach other memory is an access write through a map
 * of a range that leaves the reservation; once such a map was made in a
 * context, access writes are not issued until the next context.
 *
 * Pinning any page of a mapped range makes the kernel allocate a word per
 * page of the whole range, so maps that do not overflow are kept to 4 GiB
 * unless IOMMUFD_FUZZ_HUGE=1; ranges a mock domain walks page by page are
 * kept short when a valid bitmap would let the walk go on.
 *
 * Each test fuzzes IOMMUFD_FUZZ_CALLS / 3 (default 20000 / 3) calls, from
 * the seeds IOMMUFD_FUZZ_SEED (default 1), + 1 and + 2.  The seed is
 * printed; rerun with it to reproduce the sequence of calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "vm_pinned.h"

#define NBUF 4
#define BUF_PAGES 8
#define RO_PAGES 4
#define NONE_PAGES 4
#define SCRATCH_PAGES 16
#define ARG_PAGES 2
#define NIDS 64
#define NFDS 16
#define FUZZ_TIMEOUT 900
#define APERTURE ((__u64)MOCK_APERTURE_START)
#define APERTURE_END ((__u64)MOCK_APERTURE_LAST + 1)
#define USER_TOP 0x800000000000ULL
#define MAP_LEN_MAX 0x100000000ULL
#define DIRTY_LEN_MAX 0x4000000ULL
#define DIRTY_BITS_MAX 4096
#define KERNEL_ADDR 0xffff888000000000ULL
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FAULT_SZ sizeof(struct iommu_hwpt_pgfault)
#define RESP_SZ sizeof(struct iommu_hwpt_page_response)

/* The memory the kernel is shown, one mmap(), regions ending in guards */
struct layout {
	char *base;
	size_t len;
	char *bufs[NBUF];	/* BUF_PAGES each: mapped, pinned */
	char *ro;		/* RO_PAGES, read-only */
	char *none;		/* NONE_PAGES, PROT_NONE */
	char *scratch;		/* SCRATCH_PAGES: inputs and outputs */
	char *arg;		/* ARG_PAGES: ioctl argument structs */
	char *ro_arg;		/* one read-only page for structs */
};

struct fuzz {
	__u64 rng;
	__u64 seed;
	int fd;			/* the context being fuzzed */
	int check_fd;		/* another /dev/iommu, for MD_CHECK_REFS */
	int pipe_fd;
	int null_fd;
	int keep_max;		/* files above this are the context's */
	long pinned;		/* VmPin baseline, KiB */
	bool wild;		/* a map left the reservation: no writes */
	bool huge;		/* maps of any length */
	__u32 ids[NIDS];
	unsigned int nids;
	int fds[NFDS];
	unsigned int nfds;
	unsigned long calls;
	unsigned long failed;
	unsigned long implausible;
};

static size_t psize;
static struct layout lay;

static __u64 rnd(struct fuzz *f)
{
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return f->rng * 0x2545f4914f6cdd1dULL;
}

static __u32 below(struct fuzz *f, __u32 n)
{
	return (rnd(f) >> 32) % n;
}

static bool chance(struct fuzz *f, __u32 percent)
{
	return below(f, 100) < percent;
}

static __u64 pick(struct fuzz *f, const __u64 *v, size_t n)
{
	return v[below(f, n)];
}

static bool plausible(int err)
{
	switch (err) {
	case EINVAL: case E2BIG: case ENOTTY: case EOPNOTSUPP: case ENOENT:
	case EFAULT: case EOVERFLOW: case EBUSY: case ENOMEM: case EADDRINUSE:
	case ERANGE: case ENODEV: case EPERM: case EBADF: case ENXIO:
	case EMSGSIZE: case EINTR: case EEXIST: case ENOSPC: case ESRCH:
	case ESPIPE: case EBADFD:
	/* VFIO_IOMMU_DIRTY_PAGES of a type1 (v1) container, as type1's */
	case EACCES:
		return true;
	default:
		return false;
	}
}

/* Record a call's result: -errno, or >= 0 */
static long result(struct fuzz *f, const char *name, long ret)
{
	f->calls++;
	if (ret >= 0)
		return ret;
	f->failed++;
	if (!plausible(-ret)) {
		f->implausible++;
		ksft_print_msg("seed %llu call %lu: %s failed with errno %ld (%s)\n",
			       (unsigned long long)f->seed, f->calls, name,
			       -ret, strerror(-ret));
	}
	return ret;
}

static void add_id(struct fuzz *f, __u32 id)
{
	if (!id)
		return;
	if (f->nids < NIDS)
		f->ids[f->nids++] = id;
	else
		f->ids[below(f, NIDS)] = id;
}

/* Keep a file the context gave out; the oldest beyond NFDS is closed */
static void add_fd(struct fuzz *f, int fd)
{
	if (fd <= f->keep_max)
		return;
	if (f->nfds == NFDS) {
		close(f->fds[0]);
		memmove(f->fds, f->fds + 1, sizeof(f->fds[0]) * (NFDS - 1));
		f->nfds--;
	}
	f->fds[f->nfds++] = fd;
}

static __u32 pick_id(struct fuzz *f)
{
	__u32 r = below(f, 100);

	if (r < 70 && f->nids)
		return f->ids[below(f, f->nids)];
	if (r < 78)
		return 0;
	if (r < 90)
		return 1 + below(f, 32);
	if (r < 95)
		return UINT32_MAX;
	return rnd(f);
}

/* A file where an access file is expected: often not one */
static int pick_fd(struct fuzz *f)
{
	switch (below(f, 10)) {
	case 0 ... 4:
		if (f->nfds)
			return f->fds[below(f, f->nfds)];
		return f->fd;
	case 5:
		return f->pipe_fd;
	case 6:
		return f->null_fd;
	case 7:
		return f->fd;
	case 8:
		return below(f, 2) ? -1 : 999;
	default:
		return rnd(f);
	}
}

static __u32 pick_flags(struct fuzz *f, __u32 valid)
{
	__u32 r = below(f, 100);

	if (r < 45)
		return valid & rnd(f);
	if (r < 65)
		return 0;
	if (r < 85)
		return valid;
	if (r < 95)
		return valid | 1U << below(f, 32);
	return rnd(f);
}

static __u64 pick_iova(struct fuzz *f)
{
	const __u64 v[] = {
		0, 1, psize, APERTURE, APERTURE - psize, APERTURE + psize,
		APERTURE_END - psize, APERTURE_END, APERTURE_END - 1,
		UINT64_MAX, UINT64_MAX - psize + 1, 1ULL << 63,
		UINT32_MAX + 1ULL, APERTURE + 1,
	};

	switch (below(f, 4)) {
	case 0:
		return pick(f, v, ARRAY_SIZE(v));
	case 1:
		return rnd(f);
	default:
		return APERTURE + (__u64)below(f, 64) * psize;
	}
}

static __u64 pick_len(struct fuzz *f)
{
	const __u64 v[] = {
		0, 1, psize / 2, psize - 1, psize, psize + 1, 2 * psize,
		BUF_PAGES * psize, 1ULL << 21, 1ULL << 30, 1ULL << 40,
		UINT64_MAX, UINT64_MAX - psize + 1, 1ULL << 63, UINT32_MAX,
		APERTURE_END - APERTURE,
	};

	switch (below(f, 4)) {
	case 0:
	case 1:
		return pick(f, v, ARRAY_SIZE(v));
	case 2:
		return rnd(f) >> below(f, 64);
	default:
		return psize * (1 + below(f, BUF_PAGES));
	}
}

/* A user pointer the kernel only reads or pins */
static __u64 pick_uptr(struct fuzz *f)
{
	const __u64 bad[] = {
		0, 0x1000, KERNEL_ADDR, USER_TOP, UINT64_MAX & ~0xfffULL,
		UINT64_MAX,
	};
	char *buf = lay.bufs[below(f, NBUF)];

	switch (below(f, 20)) {
	case 0 ... 9:
		return (uintptr_t)(buf + below(f, BUF_PAGES) * psize);
	case 10:
		return (uintptr_t)(buf + below(f, BUF_PAGES * psize));
	case 11 ... 12:
		return (uintptr_t)(lay.ro + below(f, RO_PAGES) * psize);
	case 13:
		return (uintptr_t)(lay.none + below(f, NONE_PAGES) * psize);
	case 14:
		return (uintptr_t)lay.scratch;
	case 15 ... 18:
		return pick(f, bad, ARRAY_SIZE(bad));
	default:
		return rnd(f);
	}
}

/* A page-aligned piece of a buffer, or (half the time) anything */
static void pick_mem(struct fuzz *f, __u64 *uptr, __u64 *len)
{
	__u64 end;

	if (chance(f, 50)) {
		__u32 first = below(f, BUF_PAGES);

		*uptr = (uintptr_t)(lay.bufs[below(f, NBUF)] + first * psize);
		*len = psize * (1 + below(f, BUF_PAGES - first));
		return;
	}
	*uptr = pick_uptr(f);
	*len = pick_len(f);
	/*
	 * Pinning any of a store allocates for all of it: keep maps small
	 * enough for that to succeed, unless asked, or overflowing.
	 */
	if (!f->huge && *len > MAP_LEN_MAX &&
	    !__builtin_add_overflow(*uptr, *len, &end))
		*len = psize * (1 + below(f, BUF_PAGES));
}

/*
 * A pointer the kernel writes up to @len bytes at: guarded scratch
 * memory, or somewhere a write faults.
 */
static __u64 pick_out(struct fuzz *f)
{
	const __u64 bad[] = {
		0, 0x1000, KERNEL_ADDR, UINT64_MAX & ~0xfffULL,
		(uintptr_t)lay.ro, (uintptr_t)lay.none,
	};

	if (chance(f, 75))
		return (uintptr_t)(lay.scratch +
				   (chance(f, 80) ? 0 : below(f, psize)));
	return pick(f, bad, ARRAY_SIZE(bad));
}

/* Does a map of [uptr, uptr + len) reach memory outside the reservation? */
static void note_map(struct fuzz *f, __u64 uptr, __u64 len)
{
	__u64 base = (uintptr_t)lay.base;
	__u64 end;

	if (!len)
		return;
	if (__builtin_add_overflow(uptr, len, &end)) {
		f->wild = true;
		return;
	}
	if (uptr >= USER_TOP)
		return;
	if (uptr < base || end > base + lay.len)
		f->wild = true;
}

/* Fill scratch with random words, some small */
static void fill_scratch(struct fuzz *f, size_t len)
{
	__u64 *p = (__u64 *)lay.scratch;
	size_t i;

	for (i = 0; i < len / sizeof(*p); i++)
		p[i] = chance(f, 50) ? rnd(f) : below(f, 4);
}

/*
 * Issue @cmd with the @size bytes of struct @s, whose first u32 is its
 * size, on @fd: with the size and the struct's place chosen at random.
 * Returns the result, and in *out the kernel's view of the struct if it
 * is readable and was passed whole, else NULL.
 */
static long issue_on(struct fuzz *f, int fd, const char *name,
		     unsigned long cmd, void *s, size_t size, void **out)
{
	__u32 user_size = size;
	void *arg;
	bool tail;
	__u32 r;

	*out = NULL;
	r = below(f, 100);
	if (r < 62)
		user_size = size;
	else if (r < 68)
		user_size = 0;
	else if (r < 74)
		user_size = size - 1;
	else if (r < 90)
		user_size = size + 8;
	else if (r < 95)
		user_size = below(f, 256);
	else
		user_size = chance(f, 50) ? UINT32_MAX : rnd(f);
	tail = r >= 82 && r < 90;
	memcpy(s, &user_size, sizeof(user_size));

	r = below(f, 100);
	if (r < 88) {
		arg = lay.arg;
		memset(arg, 0, 512);
		memcpy(arg, s, size);
		if (tail)
			memset((char *)arg + size + below(f, 8),
			       1 + below(f, 255), 1);
		if (user_size >= size)
			*out = arg;
	} else if (r < 91) {
		/* Ends at the guard page: only a longer size faults */
		arg = lay.arg + ARG_PAGES * psize - size;
		memcpy(arg, s, size);
		if (user_size >= size)
			*out = arg;
	} else if (r < 94) {
		mprotect(lay.ro_arg, psize, PROT_READ | PROT_WRITE);
		memset(lay.ro_arg, 0, psize);
		memcpy(lay.ro_arg, s, size);
		mprotect(lay.ro_arg, psize, PROT_READ);
		arg = lay.ro_arg;
	} else if (r < 96) {
		arg = NULL;
	} else if (r < 98) {
		arg = lay.none;
	} else {
		arg = (void *)(uintptr_t)KERNEL_ADDR;
	}
	return result(f, name, ioctl(fd, cmd, arg) < 0 ? -errno : 0);
}

static long issue(struct fuzz *f, const char *name, unsigned long cmd,
		  void *s, size_t size, void **out)
{
	return issue_on(f, f->fd, name, cmd, s, size, out);
}

/* The IOMMUFD commands */

static void fz_destroy(struct fuzz *f)
{
	struct iommu_destroy c = { .id = pick_id(f) };
	void *out;

	issue(f, "DESTROY", IOMMU_DESTROY, &c, sizeof(c), &out);
}

static void fz_ioas_alloc(struct fuzz *f)
{
	struct iommu_ioas_alloc c = { .flags = pick_flags(f, 0) };
	struct iommu_ioas_alloc *o;

	if (!issue(f, "IOAS_ALLOC", IOMMU_IOAS_ALLOC, &c, sizeof(c),
		   (void **)&o) && o)
		add_id(f, o->out_ioas_id);
}

static void fz_allow_iovas(struct fuzz *f)
{
	const __u64 nums[] = { 0, 1, 2, 8, 100, 4096, UINT32_MAX };
	struct iommu_ioas_allow_iovas c = {
		.ioas_id = pick_id(f), .num_iovas = pick(f, nums, 7),
		.__reserved = chance(f, 5),
		.allowed_iovas = chance(f, 80) ? (uintptr_t)lay.scratch :
						 pick_uptr(f),
	};
	struct iommu_iova_range *r = (void *)lay.scratch;
	void *out;
	__u32 i;

	for (i = 0; i < 8; i++) {
		r[i].start = chance(f, 50) ? pick_iova(f) : 0;
		r[i].last = chance(f, 50) ? r[i].start + pick_len(f) - 1 :
					    UINT64_MAX;
	}
	issue(f, "IOAS_ALLOW_IOVAS", IOMMU_IOAS_ALLOW_IOVAS, &c, sizeof(c),
	      &out);
}

static void fz_copy(struct fuzz *f)
{
	struct iommu_ioas_copy c = {
		.flags = pick_flags(f, IOMMU_IOAS_MAP_FIXED_IOVA | RW),
		.dst_ioas_id = pick_id(f), .src_ioas_id = pick_id(f),
		.length = pick_len(f), .dst_iova = pick_iova(f),
		.src_iova = pick_iova(f),
	};
	void *out;

	issue(f, "IOAS_COPY", IOMMU_IOAS_COPY, &c, sizeof(c), &out);
}

static void fz_iova_ranges(struct fuzz *f)
{
	const __u64 nums[] = { 0, 1, 2, 4, 64, UINT32_MAX };
	struct iommu_ioas_iova_ranges c = {
		.ioas_id = pick_id(f), .num_iovas = pick(f, nums, 6),
		.__reserved = chance(f, 5), .allowed_iovas = pick_out(f),
	};
	void *out;

	issue(f, "IOAS_IOVA_RANGES", IOMMU_IOAS_IOVA_RANGES, &c, sizeof(c),
	      &out);
}

static void fz_map(struct fuzz *f)
{
	struct iommu_ioas_map c = {
		.flags = pick_flags(f, IOMMU_IOAS_MAP_FIXED_IOVA | RW),
		.ioas_id = pick_id(f), .__reserved = chance(f, 3),
		.iova = pick_iova(f),
	};
	void *out;

	pick_mem(f, &c.user_va, &c.length);
	note_map(f, c.user_va, c.length);
	issue(f, "IOAS_MAP", IOMMU_IOAS_MAP, &c, sizeof(c), &out);
}

static void fz_unmap(struct fuzz *f)
{
	struct iommu_ioas_unmap c = {
		.ioas_id = pick_id(f), .iova = pick_iova(f),
		.length = pick_len(f),
	};
	void *out;

	if (chance(f, 15)) {
		c.iova = 0;
		c.length = UINT64_MAX;
	}
	issue(f, "IOAS_UNMAP", IOMMU_IOAS_UNMAP, &c, sizeof(c), &out);
}

static void fz_option(struct fuzz *f)
{
	struct iommu_option c = {
		.option_id = chance(f, 90) ? below(f, 2) : rnd(f),
		.op = chance(f, 90) ? below(f, 2) : rnd(f),
		.__reserved = chance(f, 5),
		.object_id = chance(f, 30) ? 0 : pick_id(f),
		.val64 = chance(f, 80) ? below(f, 2) : rnd(f),
	};
	void *out;

	issue(f, "OPTION", IOMMU_OPTION, &c, sizeof(c), &out);
}

static void fz_vfio_ioas(struct fuzz *f)
{
	struct iommu_vfio_ioas c = {
		.ioas_id = pick_id(f),
		.op = chance(f, 90) ? below(f, 3) : rnd(f),
		.__reserved = chance(f, 5),
	};
	struct iommu_vfio_ioas *o;

	if (!issue(f, "VFIO_IOAS", IOMMU_VFIO_IOAS, &c, sizeof(c),
		   (void **)&o) && o && c.op == IOMMU_VFIO_IOAS_GET)
		add_id(f, o->ioas_id);
}

static void fz_hwpt_alloc(struct fuzz *f)
{
	const __u64 types[] = {
		IOMMU_HWPT_DATA_NONE, IOMMU_HWPT_DATA_NONE,
		IOMMU_HWPT_DATA_SELFTEST, IOMMU_HWPT_DATA_SELFTEST,
		IOMMU_HWPT_DATA_VTD_S1, UINT32_MAX,
	};
	const __u64 lens[] = {
		0, sizeof(struct iommu_hwpt_selftest),
		sizeof(struct iommu_hwpt_selftest),
		sizeof(struct iommu_hwpt_selftest) - 1,
		sizeof(struct iommu_hwpt_selftest) + 8, 4096, UINT32_MAX,
	};
	struct iommu_hwpt_alloc c = {
		.flags = pick_flags(f, IOMMU_HWPT_ALLOC_NEST_PARENT |
				       IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
				       IOMMU_HWPT_FAULT_ID_VALID),
		.dev_id = pick_id(f), .pt_id = pick_id(f),
		.__reserved = chance(f, 3),
		.data_type = pick(f, types, ARRAY_SIZE(types)),
		.data_len = pick(f, lens, ARRAY_SIZE(lens)),
		.data_uptr = chance(f, 80) ? (uintptr_t)lay.scratch :
					     pick_uptr(f),
		.fault_id = pick_id(f), .__reserved2 = chance(f, 3),
	};
	struct iommu_hwpt_alloc *o;

	fill_scratch(f, 64);
	if (chance(f, 70))
		memset(lay.scratch + 4, 0, 60);
	if (!issue(f, "HWPT_ALLOC", IOMMU_HWPT_ALLOC, &c, sizeof(c),
		   (void **)&o) && o)
		add_id(f, o->out_hwpt_id);
}

static void fz_hw_info(struct fuzz *f)
{
	const __u64 lens[] = {
		0, 4, sizeof(struct iommu_test_hw_info), 64, 4096,
		UINT32_MAX,
	};
	struct iommu_hw_info c = {
		.flags = pick_flags(f, IOMMU_HW_INFO_FLAG_INPUT_TYPE),
		.dev_id = pick_id(f),
		.data_len = pick(f, lens, ARRAY_SIZE(lens)),
		.data_uptr = pick_out(f),
		.in_data_type = chance(f, 50) ? 0 : rnd(f),
		.__reserved = { chance(f, 5) },
	};
	void *out;

	issue(f, "GET_HW_INFO", IOMMU_GET_HW_INFO, &c, sizeof(c), &out);
}

static void fz_set_dirty(struct fuzz *f)
{
	struct iommu_hwpt_set_dirty_tracking c = {
		.flags = pick_flags(f, IOMMU_HWPT_DIRTY_TRACKING_ENABLE),
		.hwpt_id = pick_id(f), .__reserved = chance(f, 5),
	};
	void *out;

	issue(f, "HWPT_SET_DIRTY_TRACKING", IOMMU_HWPT_SET_DIRTY_TRACKING, &c,
	      sizeof(c), &out);
}

static __u64 pick_page_size(struct fuzz *f)
{
	const __u64 v[] = {
		0, 1, psize / 2, psize, 2 * psize, 1ULL << 21, 3, psize - 1,
		1ULL << 63, UINT64_MAX,
	};

	return pick(f, v, ARRAY_SIZE(v));
}

static void fz_get_dirty(struct fuzz *f)
{
	struct iommu_hwpt_get_dirty_bitmap c = {
		.hwpt_id = pick_id(f),
		.flags = pick_flags(f, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR),
		.__reserved = chance(f, 5), .iova = pick_iova(f),
		.length = pick_len(f), .page_size = pick_page_size(f),
		.data = pick_out(f),
	};
	__u64 base = (uintptr_t)lay.base;
	void *out;

	/* A valid bitmap for a huge range takes the mock long to walk */
	if (c.length > DIRTY_LEN_MAX && c.data >= base &&
	    c.data < base + lay.len)
		c.data = 0;
	issue(f, "HWPT_GET_DIRTY_BITMAP", IOMMU_HWPT_GET_DIRTY_BITMAP, &c,
	      sizeof(c), &out);
}

static void fz_invalidate(struct fuzz *f)
{
	const __u64 types[] = {
		IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
		IOMMU_HWPT_INVALIDATE_DATA_VTD_S1, UINT32_MAX,
	};
	const __u64 lens[] = {
		0, 4, sizeof(struct iommu_hwpt_invalidate_selftest),
		sizeof(struct iommu_hwpt_invalidate_selftest),
		sizeof(struct iommu_hwpt_invalidate_selftest) + 8, 4096,
		UINT32_MAX,
	};
	const __u64 nums[] = { 0, 1, 2, 4, 1000, UINT32_MAX };
	struct iommu_hwpt_invalidate c = {
		.hwpt_id = pick_id(f),
		.data_uptr = chance(f, 80) ? (uintptr_t)lay.scratch :
					     pick_uptr(f),
		.data_type = pick(f, types, ARRAY_SIZE(types)),
		.entry_len = pick(f, lens, ARRAY_SIZE(lens)),
		.entry_num = pick(f, nums, ARRAY_SIZE(nums)),
		.__reserved = chance(f, 5),
	};
	__u32 *e = (__u32 *)lay.scratch;
	void *out;
	int i;

	for (i = 0; i < 16; i++)
		e[i] = chance(f, 70) ? below(f, 5) : rnd(f);
	issue(f, "HWPT_INVALIDATE", IOMMU_HWPT_INVALIDATE, &c, sizeof(c),
	      &out);
}

static void fz_fault_alloc(struct fuzz *f)
{
	struct iommu_fault_alloc c = { .flags = pick_flags(f, 0) };
	struct iommu_fault_alloc *o;

	if (!issue(f, "FAULT_QUEUE_ALLOC", IOMMU_FAULT_QUEUE_ALLOC, &c,
		   sizeof(c), (void **)&o) && o) {
		add_id(f, o->out_fault_id);
		add_fd(f, o->out_fault_fd);
	}
}

/* IOMMU_TEST_CMD */

static long test_cmd(struct fuzz *f, const char *name,
		     struct iommu_test_cmd *c, struct iommu_test_cmd **o)
{
	if (chance(f, 3))
		c->__reserved = rnd(f);
	return issue(f, name, IOMMU_TEST_CMD, c, sizeof(*c), (void **)o);
}

static void fz_mock_domain(struct fuzz *f)
{
	struct iommu_test_cmd c = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN, .id = pick_id(f),
	};
	struct iommu_test_cmd *o;

	if (chance(f, 40)) {
		c.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS;
		c.mock_domain_flags.dev_flags =
			pick_flags(f, MOCK_FLAGS_DEVICE_NO_DIRTY |
				      MOCK_FLAGS_DEVICE_HUGE_IOVA |
				      MOCK_FLAGS_DEVICE_PASID);
	}
	if (!test_cmd(f, "TEST_MOCK_DOMAIN", &c, &o) && o) {
		add_id(f, o->mock_domain.out_stdev_id);
		add_id(f, o->mock_domain.out_hwpt_id);
		add_id(f, o->mock_domain.out_idev_id);
	}
}

static void fz_mock_replace(struct fuzz *f)
{
	struct iommu_test_cmd c = {
		.op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, .id = pick_id(f),
		.mock_domain_replace.pt_id = pick_id(f),
	};
	struct iommu_test_cmd *o;

	test_cmd(f, "TEST_MOCK_DOMAIN_REPLACE", &c, &o);
}

static void fz_create_access(struct fuzz *f)
{
	struct iommu_test_cmd c = {
		.op = IOMMU_TEST_OP_CREATE_ACCESS, .id = pick_id(f),
		.create_access.flags =
			pick_flags(f, MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES),
	};
	struct iommu_test_cmd *o;

	if (!test_cmd(f, "TEST_CREATE_ACCESS", &c, &o) && o)
		add_fd(f, o->create_access.out_access_fd);
}

static void fz_access(struct fuzz *f)
{
	struct iommu_test_cmd c = { .id = pick_fd(f) };
	struct iommu_test_cmd *o;
	__u64 len = pick_len(f);

	switch (below(f, 3)) {
	case 0:
		c.op = IOMMU_TEST_OP_ACCESS_PAGES;
		c.access_pages.flags =
			pick_flags(f, MOCK_FLAGS_ACCESS_WRITE |
				      MOCK_FLAGS_ACCESS_SYZ);
		c.access_pages.iova = pick_iova(f);
		/* The test driver allocates a page array for all of it */
		c.access_pages.length = len > 1ULL << 30 ? psize : len;
		c.access_pages.uptr = pick_uptr(f);
		if (!test_cmd(f, "TEST_ACCESS_PAGES", &c, &o) && o)
			add_id(f, o->access_pages.out_access_pages_id);
		return;
	case 1:
		c.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES;
		c.destroy_access_pages.access_pages_id =
			chance(f, 80) ? 1 + below(f, 8) : pick_id(f);
		test_cmd(f, "TEST_DESTROY_ACCESS_PAGES", &c, &o);
		return;
	default:
		c.op = IOMMU_TEST_OP_ACCESS_RW;
		c.access_rw.iova = pick_iova(f) + below(f, 2) * below(f, 64);
		c.access_rw.length = chance(f, 70) ? 1 + below(f, 3 * psize) :
						     len;
		c.access_rw.flags =
			pick_flags(f, MOCK_ACCESS_RW_WRITE |
				      MOCK_ACCESS_RW_SLOW_PATH);
		if (f->wild)
			c.access_rw.flags &= ~MOCK_ACCESS_RW_WRITE;
		if (c.access_rw.flags & MOCK_ACCESS_RW_WRITE)
			c.access_rw.uptr = pick_uptr(f);
		else
			c.access_rw.uptr = pick_out(f);
		test_cmd(f, "TEST_ACCESS_RW", &c, &o);
		return;
	}
}

static void fz_check_map(struct fuzz *f)
{
	struct iommu_test_cmd c = {
		.op = IOMMU_TEST_OP_MD_CHECK_MAP, .id = pick_id(f),
		.check_map = { .iova = pick_iova(f) },
	};
	struct iommu_test_cmd *o;

	pick_mem(f, &c.check_map.uptr, &c.check_map.length);
	test_cmd(f, "TEST_MD_CHECK_MAP", &c, &o);
}

static void fz_test_misc(struct fuzz *f)
{
	struct iommu_test_cmd c = { .id = pick_id(f) };
	struct iommu_test_cmd *o;

	switch (below(f, 4)) {
	case 0:
		c.op = IOMMU_TEST_OP_ADD_RESERVED;
		c.add_reserved.start = pick_iova(f);
		c.add_reserved.length = pick_len(f);
		test_cmd(f, "TEST_ADD_RESERVED", &c, &o);
		return;
	case 1:
		c.op = IOMMU_TEST_OP_MD_CHECK_IOTLB;
		c.check_iotlb.id = chance(f, 80) ? below(f, 5) : rnd(f);
		c.check_iotlb.iotlb = chance(f, 50) ?
					      IOMMU_TEST_IOTLB_DEFAULT : 0;
		test_cmd(f, "TEST_MD_CHECK_IOTLB", &c, &o);
		return;
	case 2:
		c.op = IOMMU_TEST_OP_DIRTY;
		c.dirty.flags = pick_flags(f, 0);
		c.dirty.iova = pick_iova(f);
		c.dirty.length = pick_len(f);
		c.dirty.page_size = pick_page_size(f);
		c.dirty.uptr = chance(f, 80) ? (uintptr_t)lay.scratch :
					       pick_uptr(f);
		/* Bits read are bounded by the guard page, but keep it brief */
		if (!c.dirty.page_size ||
		    c.dirty.length / c.dirty.page_size > DIRTY_BITS_MAX)
			c.dirty.uptr = KERNEL_ADDR;
		test_cmd(f, "TEST_DIRTY", &c, &o);
		return;
	default:
		/* Operations that do not exist */
		c.op = chance(f, 50) ? 0 : IOMMU_TEST_OP_TRIGGER_IOPF + 1 +
						   below(f, 1000);
		test_cmd(f, "TEST_UNKNOWN_OP", &c, &o);
		return;
	}
}

/* The VFIO type1 container on the context */

static void fz_vfio(struct fuzz *f)
{
	const __u64 types[] = {
		VFIO_TYPE1_IOMMU, VFIO_TYPE1v2_IOMMU, VFIO_TYPE1v2_IOMMU,
		VFIO_SPAPR_TCE_IOMMU, VFIO_NOIOMMU_IOMMU, 0, 1000,
		UINT64_MAX,
	};
	union {
		struct vfio_iommu_type1_dma_map map;
		struct vfio_iommu_type1_dma_unmap unmap;
		struct vfio_iommu_type1_info info;
		char raw[512];
	} c;
	void *out;

	memset(&c, 0, sizeof(c));
	switch (below(f, 7)) {
	case 0:
		result(f, "VFIO_GET_API_VERSION",
		       ioctl(f->fd, VFIO_GET_API_VERSION, rnd(f)) < 0 ?
			       -errno : 0);
		return;
	case 1:
		result(f, "VFIO_CHECK_EXTENSION",
		       ioctl(f->fd, VFIO_CHECK_EXTENSION,
			     (unsigned long)pick(f, types,
						 ARRAY_SIZE(types))) < 0 ?
			       -errno : 0);
		return;
	case 2:
		result(f, "VFIO_SET_IOMMU",
		       ioctl(f->fd, VFIO_SET_IOMMU,
			     (unsigned long)pick(f, types,
						 ARRAY_SIZE(types))) < 0 ?
			       -errno : 0);
		return;
	case 3:
		c.info.flags = pick_flags(f, 0);
		issue(f, "VFIO_IOMMU_GET_INFO", VFIO_IOMMU_GET_INFO, &c,
		      chance(f, 50) ? sizeof(c.info) : 512, &out);
		return;
	case 4:
	case 5:
		c.map.flags = pick_flags(f, VFIO_DMA_MAP_FLAG_READ |
					    VFIO_DMA_MAP_FLAG_WRITE);
		c.map.iova = pick_iova(f);
		pick_mem(f, &c.map.vaddr, &c.map.size);
		note_map(f, c.map.vaddr, c.map.size);
		issue(f, "VFIO_IOMMU_MAP_DMA", VFIO_IOMMU_MAP_DMA, &c,
		      sizeof(c.map), &out);
		return;
	default:
		/* Not GET_DIRTY_BITMAP: that would write anywhere */
		c.unmap.flags = pick_flags(f, VFIO_DMA_UNMAP_FLAG_ALL) &
				~VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP;
		c.unmap.iova = pick_iova(f);
		c.unmap.size = pick_len(f);
		issue(f, "VFIO_IOMMU_UNMAP_DMA", VFIO_IOMMU_UNMAP_DMA, &c,
		      sizeof(c.unmap), &out);
		return;
	}
}

/* read() and write() of fault records on the context's files */
static void fz_fault_rw(struct fuzz *f)
{
	const __u64 counts[] = {
		0, FAULT_SZ - 1, FAULT_SZ, 2 * FAULT_SZ, RESP_SZ - 1, RESP_SZ,
		2 * RESP_SZ, 4096,
	};
	size_t count = pick(f, counts, ARRAY_SIZE(counts));
	struct iommu_hwpt_page_response *r = (void *)lay.scratch;
	int fd;

	if (!f->nfds)
		return;
	fd = f->fds[below(f, f->nfds)];
	if (chance(f, 50)) {
		result(f, "read", read(fd, lay.scratch, count) < 0 ?
					  -errno : 0);
		return;
	}
	r[0].cookie = chance(f, 50) ? below(f, 8) : rnd(f);
	r[0].code = chance(f, 80) ? below(f, 2) : rnd(f);
	r[1] = r[0];
	result(f, "write", write(fd, lay.scratch, count) < 0 ? -errno : 0);
}

/* Commands that do not exist, and files that are not an iommufd */
static void fz_bogus(struct fuzz *f)
{
	struct iommu_ioas_alloc c = { 0 };
	const int fds[] = { f->pipe_fd, f->null_fd, -1, 999 };
	unsigned long cmd;
	void *out;

	switch (below(f, 4)) {
	case 0:
		cmd = _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 15 + below(f, 17));
		break;
	case 1:
		cmd = _IOWR(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + below(f, 15),
			    struct iommu_ioas_alloc);
		break;
	case 2:
		cmd = _IO(IOMMUFD_TYPE, VFIO_BASE + below(f, 28));
		break;
	default:
		cmd = IOMMU_IOAS_ALLOC;
		break;
	}
	if (chance(f, 50)) {
		issue(f, "bogus", cmd, &c, sizeof(c), &out);
		return;
	}
	if (f->nfds && chance(f, 50))
		issue_on(f, f->fds[below(f, f->nfds)], "wrong file", cmd, &c,
			 sizeof(c), &out);
	else
		issue_on(f, fds[below(f, 4)], "wrong file", cmd, &c,
			 sizeof(c), &out);
}

static void fuzz_one(struct fuzz *f)
{
	__u32 r = below(f, 100);

	if (r < 6)
		fz_destroy(f);
	else if (r < 12)
		fz_ioas_alloc(f);
	else if (r < 15)
		fz_allow_iovas(f);
	else if (r < 20)
		fz_copy(f);
	else if (r < 23)
		fz_iova_ranges(f);
	else if (r < 38)
		fz_map(f);
	else if (r < 45)
		fz_unmap(f);
	else if (r < 48)
		fz_option(f);
	else if (r < 51)
		fz_vfio_ioas(f);
	else if (r < 57)
		fz_hwpt_alloc(f);
	else if (r < 60)
		fz_hw_info(f);
	else if (r < 62)
		fz_set_dirty(f);
	else if (r < 65)
		fz_get_dirty(f);
	else if (r < 68)
		fz_invalidate(f);
	else if (r < 70)
		fz_fault_alloc(f);
	else if (r < 75)
		fz_mock_domain(f);
	else if (r < 78)
		fz_mock_replace(f);
	else if (r < 81)
		fz_create_access(f);
	else if (r < 86)
		fz_access(f);
	else if (r < 88)
		fz_check_map(f);
	else if (r < 91)
		fz_test_misc(f);
	else if (r < 97)
		fz_vfio(f);
	else if (r < 98)
		fz_fault_rw(f);
	else
		fz_bogus(f);
}

/* Checks and setup */

static int check_refs0(int fd, void *p, size_t len)
{
	struct iommu_test_cmd c = {
		.size = sizeof(c), .op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = len, .uptr = (uintptr_t)p },
	};

	return ioctl(fd, IOMMU_TEST_CMD, &c) < 0 ? -errno : 0;
}

/* 0 when no page the kernel may have pinned is pinned */
static int check_unpinned(int fd)
{
	int i, ret = 0;

	for (i = 0; i < NBUF && !ret; i++)
		ret = check_refs0(fd, lay.bufs[i], BUF_PAGES * psize);
	if (!ret)
		ret = check_refs0(fd, lay.ro, RO_PAGES * psize);
	if (!ret)
		ret = check_refs0(fd, lay.scratch, SCRATCH_PAGES * psize);
	return ret;
}

/* Close every file of the context, then everything must be unpinned */
static void close_context(struct fuzz *f)
{
	int fd;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, f->keep_max + 1, ~0U, 0))
#endif
		for (fd = f->keep_max + 1; fd < 1024; fd++)
			close(fd);
	f->fd = -1;
	f->nfds = 0;
	f->nids = 0;
	f->wild = false;
}

static int layout_init(void)
{
	size_t pages = NBUF * (BUF_PAGES + 1) + RO_PAGES + 1 + NONE_PAGES +
		       SCRATCH_PAGES + 1 + ARG_PAGES + 1 + 1 + 1;
	char *p;
	int i;

	lay.len = pages * psize;
	lay.base = mmap(NULL, lay.len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (lay.base == MAP_FAILED)
		return -errno;
	/* MD_CHECK_REFS cannot see into huge pages */
	madvise(lay.base, lay.len, MADV_NOHUGEPAGE);
	memset(lay.base, 0x3c, lay.len);
	p = lay.base;
	for (i = 0; i < NBUF; i++) {
		lay.bufs[i] = p;
		p += (BUF_PAGES + 1) * psize;
		mprotect(p - psize, psize, PROT_NONE);
	}
	lay.ro = p;
	p += (RO_PAGES + 1) * psize;
	mprotect(lay.ro, (RO_PAGES + 1) * psize, PROT_READ);
	mprotect(p - psize, psize, PROT_NONE);
	lay.none = p;
	p += NONE_PAGES * psize;
	mprotect(lay.none, NONE_PAGES * psize, PROT_NONE);
	lay.scratch = p;
	p += (SCRATCH_PAGES + 1) * psize;
	mprotect(p - psize, psize, PROT_NONE);
	lay.arg = p;
	p += (ARG_PAGES + 1) * psize;
	mprotect(p - psize, psize, PROT_NONE);
	lay.ro_arg = p;
	p += 2 * psize;
	mprotect(lay.ro_arg, psize, PROT_READ);
	mprotect(p - psize, psize, PROT_NONE);
	return 0;
}

static unsigned long env_ulong(const char *name, unsigned long def)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return def;
	v = strtoul(s, &end, 0);
	return *end ? def : v;
}

FIXTURE(fuzz) {
	struct fuzz f;
};

FIXTURE_VARIANT(fuzz) {
	unsigned int seed_offset;
};

FIXTURE_VARIANT_ADD(fuzz, seed0) {
	.seed_offset = 0,
};

FIXTURE_VARIANT_ADD(fuzz, seed1) {
	.seed_offset = 1,
};

FIXTURE_VARIANT_ADD(fuzz, seed2) {
	.seed_offset = 2,
};

FIXTURE_SETUP(fuzz)
{
	struct fuzz *f = &self->f;
	int fd, p[2];

	memset(f, 0, sizeof(*f));
	psize = sysconf(_SC_PAGESIZE);
	ASSERT_EQ(0, layout_init());
	f->check_fd = open("/dev/iommu", O_RDWR);
	if (f->check_fd < 0 && errno == ENOENT)
		SKIP(return, "no /dev/iommu");
	ASSERT_LE(0, f->check_fd);
	if (check_unpinned(f->check_fd) == -ENOTTY)
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	ASSERT_EQ(0, check_unpinned(f->check_fd));
	f->null_fd = open("/dev/null", O_RDWR);
	ASSERT_LE(0, f->null_fd);
	ASSERT_EQ(0, pipe(p));
	f->pipe_fd = p[0];
	/* No writer: a read would see end of file, not block */
	ASSERT_LE(0, dup2(f->null_fd, p[1]));
	/*
	 * Every file above the highest so far belongs to a context: fill
	 * the holes below it, so none of a context's lands there.
	 */
	f->keep_max = p[1];
	for (fd = 0; fd < f->keep_max; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
			ASSERT_LE(0, dup2(f->null_fd, fd));
	f->pinned = vm_pinned_kib();
	ASSERT_LE(0, f->pinned);
	f->seed = env_ulong("IOMMUFD_FUZZ_SEED", 1) + variant->seed_offset;
	f->huge = env_ulong("IOMMUFD_FUZZ_HUGE", 0);
	f->rng = (f->seed + 1) * 0x9e3779b97f4a7c15ULL;
	f->fd = -1;
}

FIXTURE_TEARDOWN(fuzz)
{
}

TEST_F_TIMEOUT(fuzz, random_ioctls, FUZZ_TIMEOUT)
{
	unsigned long calls = env_ulong("IOMMUFD_FUZZ_CALLS", 20000) / 3;
	unsigned long swap = env_ulong("IOMMUFD_FUZZ_SWAP", 2000);
	struct fuzz *f = &self->f;
	unsigned long ctx_start = 0, contexts = 0;

	ksft_print_msg("seed %llu: %lu calls, a new context every %lu\n",
		       (unsigned long long)f->seed, calls, swap);
	if (!swap)
		swap = calls + 1;
	while (f->calls < calls) {
		if (f->fd < 0) {
			f->fd = open("/dev/iommu", O_RDWR);
			ASSERT_LE(0, f->fd);
			ctx_start = f->calls;
			contexts++;
		}
		fuzz_one(f);
		if (f->calls - ctx_start >= swap || f->calls >= calls) {
			close_context(f);
			ASSERT_EQ(0, check_unpinned(f->check_fd))
				TH_LOG("seed %llu: pages pinned after calls %lu..%lu",
				       (unsigned long long)f->seed, ctx_start,
				       f->calls);
			ASSERT_EQ(f->pinned, vm_pinned_kib())
				TH_LOG("seed %llu: VmPin changed by calls %lu..%lu",
				       (unsigned long long)f->seed, ctx_start,
				       f->calls);
		}
	}
	ksft_print_msg("seed %llu: %lu calls, %lu failed, %lu contexts\n",
		       (unsigned long long)f->seed, f->calls, f->failed,
		       contexts);
	EXPECT_EQ(0, f->implausible);
}

TEST_HARNESS_MAIN
