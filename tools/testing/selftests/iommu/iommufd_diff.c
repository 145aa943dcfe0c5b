// SPDX-License-Identifier: GPL-2.0-only
/*
 * A differential test: the same random call sequences on two kernels.
 *
 * For a seed, gen() draws a list of calls, plausible but random (a
 * container opened, a group joined and an IOMMU type set more often than
 * not, then maps, unmaps, copies, dirty bitmaps, groups leaving ...).  The
 * list depends on the seed alone, never on what a kernel answered, so it
 * is the same program on every kernel.  Running it writes a transcript:
 * one line per call with its arguments, its return or errno, every output
 * field and the bytes written back.  Two kernels behave alike on a seed
 * when their transcripts are equal.
 *
 * Two targets:
 *   container  /dev/vfio/vfio with two edu devices on emulated VT-d (their
 *              groups join and leave, their device files open, the edu
 *              copies through the IOMMU now and then);
 *              the peer is VFIO's own type1 (IMPL=type1)
 *   iommufd    /dev/iommu with mock devices (CONFIG_IOMMUFD_TEST); the
 *              peer is 6.12's iommufd (IMPL=intree), and nothing 6.12
 *              lacks is called
 *
 * Modes (FILE arguments are paths; "-" is standard output):
 *   record TARGET FIRST LAST FILE
 *        the transcripts of seeds FIRST..LAST, each after a "seed S" line,
 *        the first line naming the generator's version
 *   compare TARGET FIRST LAST PEER ALLOW [OUT]
 *        run the seeds, compare each transcript with PEER's (a record of
 *        the peer kernel), and judge the first differing call of every
 *        seed against the allow-list ALLOW; a difference outside it is a
 *        failure.  For each distinct difference, the sequence is
 *        minimized on this kernel (calls dropped while the differing
 *        call's line stays the same) and written to OUT as a "repro"
 *        line; KTAP on standard output
 *   replay TARGET IN OUT
 *        for each "repro" line of IN, run its calls on this kernel and
 *        write the line of its last call (the peer half of a reproducer)
 *
 * An allow-list line is "target<TAB>name<TAB>op<TAB>peer-glob<TAB>ours-glob":
 * on that target, the difference is allowed when the differing call is op
 * ("*": any) and the peer's line and ours match the fnmatch() globs.  A
 * container call's line says, in brackets, the state of its container as
 * the lines before imply (groups joined, type chosen, devices open,
 * "emptied" once its last group left), so that an entry can name the state
 * a difference belongs to.  '#' starts a comment.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "edu_device.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

/* Bump when gen() or a line's format changes: records go stale */
#define DIFF_VERSION 3

#define MAX_CALLS 96
#define LINE_MAX_LEN 1024
#define BUF_SIZE (32UL << 20)
#define MAX_FINDINGS 64

typedef unsigned long long u64;

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#endif

struct call {
	unsigned int op;
	unsigned int flags;
	u64 a, b, c, d, e;
};

struct run;

struct op_desc {
	const char *name;
	unsigned int weight;
	void (*gen)(struct call *c);
	void (*exec)(struct run *r, const struct call *c, char *line);
};

struct target {
	const char *name;
	const struct op_desc *ops;
	unsigned int nops;
	unsigned int (*prologue)(struct call *calls);
	int (*setup)(struct run *r);
	void (*teardown)(struct run *r);
	/* the state a call meets, as the earlier lines imply; may be NULL */
	void (*state)(struct run *r, const struct call *c, char *line);
};

/* What one execution of a sequence holds */
struct run {
	/* container: containers, groups, device files */
	int cfd[2];
	int gfd[2];
	int dfd[2];
	u64 bar0[2];
	/*
	 * What the lines so far say of the containers: each open one is an
	 * instance, named by a slot until closed and held by the groups that
	 * joined it; per instance the type chosen and whether its last group
	 * left.  joined[]: the instance a group joined, -1 for none.
	 */
	int cinst[2];
	int joined[2];
	unsigned int ninst;
	unsigned long type[MAX_CALLS + 2];
	bool emptied[MAX_CALLS + 2];
	/* iommufd: the context and the ids and files it handed out */
	int fd;
	unsigned int ids[16];
	unsigned int nids;
	int afd[4];
	unsigned int nafd;
};

static unsigned char *buf;
static char edu_bdf[2][64];
static const struct target *tgt;

/* The generator's random numbers: splitmix64, a function of the seed */
static u64 rng_state;

static u64 rnd(void)
{
	u64 z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u64 pick(u64 n)
{
	return n ? rnd() % n : 0;
}

static u64 pick_of(const u64 *v, unsigned int n)
{
	return v[pick(n)];
}

#define PICK(...)                                                         \
	({                                                                \
		static const u64 __v[] = { __VA_ARGS__ };                 \
		pick_of(__v, ARRAY_SIZE(__v));                            \
	})

static void out(char *line, const char *fmt, ...)
{
	size_t len = strlen(line);
	va_list ap;

	if (len >= LINE_MAX_LEN - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(line + len, LINE_MAX_LEN - len, fmt, ap);
	va_end(ap);
}

/* " | 0" or " | -EINVAL": the result of a call, by errno name */
static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENOSPC: return "ENOSPC";
	case ERANGE: return "ERANGE";
	case ENOTTY: return "ENOTTY";
	case EOVERFLOW: return "EOVERFLOW";
	case EBADFD: return "EBADFD";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EADDRINUSE: return "EADDRINUSE";
	case EDEADLK: return "EDEADLK";
	default: return NULL;
	}
}

static int result(char *line, long ret)
{
	const char *n;

	if (ret >= 0) {
		out(line, " | %ld", ret);
		return 0;
	}
	n = errname(errno);
	if (n)
		out(line, " | -%s", n);
	else
		out(line, " | -E%d", errno);
	return -1;
}

/* The bytes @p[0..@len) as hex, for what a call wrote back */
static void hexdump(char *line, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	out(line, " bytes=");
	for (i = 0; i != len; i++)
		out(line, "%02x", b[i]);
}

/* A user address, printed as where it is in the buffer */
static u64 uva(u64 off)
{
	/* 1 << 62: an address no process has; 0: NULL */
	if (off == 0 || off == 1ULL << 62)
		return off == 0 ? 0 : off;
	return (uintptr_t)buf + off;
}

/* Offsets into the buffer; a few are not page aligned, two are not in it */
static u64 gen_off(void)
{
	switch (pick(10)) {
	case 0:
		return PICK(0, 1ULL << 62, 0xcde, BUF_SIZE - 0x1000);
	case 1:
		return pick(BUF_SIZE / 0x1000) * 0x1000 + pick(0x1000);
	default:
		return pick(BUF_SIZE / 0x200000) * 0x200000 +
		       pick(4) * 0x1000;
	}
}

static u64 gen_iova(void)
{
	switch (pick(12)) {
	case 0:
		return PICK(0xfffffffffffff000ULL, ~0ULL, 0xffffffff00000000ULL,
			    1ULL << 48, 0x7fffffffffff000ULL, 0xfee00000);
	case 1:
		return pick(0x4000000) | 1;
	case 2:
		return 0x1000a7;
	case 3:
	case 4:
		return pick(64) * 0x1000 + 0x1000000;
	default:
		return pick(16) * 0x200000 + 0x1000000 + pick(3) * 0x1000;
	}
}

static u64 gen_size(void)
{
	switch (pick(12)) {
	case 0:
		return PICK(0, 1, 0x800, ~0ULL, 0x8000000000000000ULL,
			    1ULL << 40, 0x1fff);
	case 1:
	case 2:
		return 0x200000 * (1 + pick(4));
	default:
		return 0x1000 * (1 + pick(16));
	}
}

/* ===== /dev/vfio/vfio on edu devices, against VFIO's own type1 ===== */

enum {
	C_OPEN, C_CLOSE, C_VERSION, C_EXTENSION, C_SET_IOMMU, C_GET_INFO,
	C_MAP, C_UNMAP, C_DIRTY, C_STATUS, C_SET_CONTAINER, C_UNSET_CONTAINER,
	C_DEVICE_FD, C_DEVICE_CLOSE, C_EDU_COPY, C_GROUP_REOPEN, C_BAD_IOCTL,
};

static void gen_slot(struct call *c)
{
	c->a = pick(5) ? 0 : 1;
}

static void gen_extension(struct call *c)
{
	gen_slot(c);
	c->b = pick(12);
}

static void gen_set_iommu(struct call *c)
{
	gen_slot(c);
	c->b = PICK(VFIO_TYPE1v2_IOMMU, VFIO_TYPE1v2_IOMMU, VFIO_TYPE1_IOMMU,
		    VFIO_TYPE1_IOMMU, VFIO_NOIOMMU_IOMMU, VFIO_SPAPR_TCE_IOMMU,
		    0, 5, 42);
}

static void gen_get_info(struct call *c)
{
	gen_slot(c);
	c->b = PICK(15, 16, 20, 24, 32, 64, 116, 120, 256, 256);
}

static void gen_map(struct call *c)
{
	gen_slot(c);
	c->flags = PICK(3, 3, 3, 3, 3, 3, 1, 2, 0, 4, 7, 0x13);
	c->b = gen_off();
	c->c = gen_iova();
	c->d = gen_size();
	/* Most maps stay inside the buffer */
	if (c->b < BUF_SIZE && c->d < BUF_SIZE && pick(8) &&
	    c->b + c->d > BUF_SIZE)
		c->b = BUF_SIZE - c->d;
}

static void gen_unmap(struct call *c)
{
	gen_slot(c);
	c->flags = PICK(0, 0, 0, 0, 0, VFIO_DMA_UNMAP_FLAG_ALL,
			VFIO_DMA_UNMAP_FLAG_VADDR,
			VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
			VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, 0x10,
			VFIO_DMA_UNMAP_FLAG_ALL | VFIO_DMA_UNMAP_FLAG_VADDR);
	c->b = gen_iova();
	c->c = gen_size();
	if ((c->flags & VFIO_DMA_UNMAP_FLAG_ALL) && pick(4)) {
		c->b = 0;
		c->c = 0;
	}
	/* bitmap: page size and how many bytes of room */
	c->d = PICK(0x1000, 0x1000, 0x1000, 0x200000, 0) << 32 |
	       PICK(0, 8, 64, 512, 512);
}

static void gen_dirty(struct call *c)
{
	gen_slot(c);
	c->flags = PICK(VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
			VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
			VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
			VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
			VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP, 0, 3, 8);
	c->b = gen_iova();
	c->c = gen_size();
	c->d = PICK(0x1000, 0x1000, 0x1000, 0x200000, 0) << 32 |
	       PICK(0, 8, 64, 512, 512);
}

static void gen_group(struct call *c)
{
	c->a = pick(3) ? 0 : 1;
}

static void gen_set_container(struct call *c)
{
	gen_group(c);
	c->b = PICK(0, 0, 0, 0, 1, 2);	/* container 0, 1, or not one */
}

static void gen_edu_copy(struct call *c)
{
	gen_group(c);
	c->b = gen_iova();
	c->c = gen_iova();
	if (pick(3))
		c->c = c->b + 0x1000;
}

static void gen_bad_ioctl(struct call *c)
{
	gen_slot(c);
	c->b = VFIO_BASE + 20 + pick(12);
}

static void gen_none(struct call *c)
{
	gen_slot(c);
}

static int *cslot(struct run *r, const struct call *c)
{
	return &r->cfd[c->a & 1];
}

static void group_left(struct run *r, unsigned int g)
{
	int inst = r->joined[g];

	r->joined[g] = -1;
	if (inst >= 0 && r->joined[!g] != inst)
		r->emptied[inst] = true;
}

/* A container's file closed: its groups still hold the instance */
static void container_close(struct run *r, unsigned int slot)
{
	close(r->cfd[slot]);
	r->cfd[slot] = -1;
	r->cinst[slot] = -1;
}

/*
 * " [groups=N type=T devices=D emptied]": the container instance a call is
 * about (for a group call, the one the group joined), as the lines before
 * say; " [no container]" when there is none.
 */
static void container_state(struct run *r, const struct call *c, char *line)
{
	bool group_op = c->op >= C_STATUS && c->op <= C_GROUP_REOPEN;
	int inst = group_op ? r->joined[c->a] : r->cinst[c->a & 1];
	unsigned int g, groups = 0, devices = 0;

	if (inst < 0) {
		out(line, " [no container]");
		return;
	}
	for (g = 0; g != 2; g++) {
		if (r->joined[g] != inst)
			continue;
		groups++;
		devices += r->dfd[g] >= 0;
	}
	out(line, " [groups=%u type=%lu devices=%u%s]", groups, r->type[inst],
	    devices, r->emptied[inst] ? " emptied" : "");
}

static void x_open(struct run *r, const struct call *c, char *line)
{
	int *fd = cslot(r, c);

	if (*fd >= 0)
		container_close(r, c->a & 1);
	*fd = open("/dev/vfio/vfio", O_RDWR);
	if (!result(line, *fd < 0 ? -1 : 0) && r->ninst < MAX_CALLS + 2)
		r->cinst[c->a & 1] = r->ninst++;
}

static void x_close(struct run *r, const struct call *c, char *line)
{
	int *fd = cslot(r, c);

	if (*fd < 0) {
		errno = EBADF;
		result(line, -1);
		return;
	}
	container_close(r, c->a & 1);
	result(line, 0);
}

static void x_version(struct run *r, const struct call *c, char *line)
{
	result(line, ioctl(*cslot(r, c), VFIO_GET_API_VERSION));
}

static void x_extension(struct run *r, const struct call *c, char *line)
{
	result(line, ioctl(*cslot(r, c), VFIO_CHECK_EXTENSION, c->b));
}

static void x_set_iommu(struct run *r, const struct call *c, char *line)
{
	if (!result(line, ioctl(*cslot(r, c), VFIO_SET_IOMMU, c->b)) &&
	    r->cinst[c->a & 1] >= 0)
		r->type[r->cinst[c->a & 1]] = c->b;
}

/* GET_INFO: the bytes written back, then the capability chain decoded */
static void x_get_info(struct run *r, const struct call *c, char *line)
{
	unsigned char b[512];
	struct vfio_iommu_type1_info *info = (void *)b;
	struct vfio_info_cap_header *h;
	unsigned int off, n = 0;

	memset(b, 0xa5, sizeof(b));
	info->argsz = c->b;
	if (result(line, ioctl(*cslot(r, c), VFIO_IOMMU_GET_INFO, b)))
		return;
	out(line, " argsz=%u flags=%#x pgsizes=%#llx", info->argsz,
	    info->flags, (u64)info->iova_pgsizes);
	hexdump(line, b, c->b < 64 ? c->b : 64);
	if (c->b < sizeof(*info) || !(info->flags & VFIO_IOMMU_INFO_CAPS))
		return;
	for (off = info->cap_offset; off && n < 8; off = h->next, n++) {
		if (off + sizeof(*h) > c->b || off > sizeof(b) - 64) {
			out(line, " cap@%u:outside", off);
			return;
		}
		h = (void *)(b + off);
		out(line, " cap@%u:id=%u,v=%u", off, h->id, h->version);
		if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			struct vfio_iommu_type1_info_cap_iova_range *rg =
				(void *)h;
			unsigned int i;

			out(line, ",nr=%u", rg->nr_iovas);
			for (i = 0; i < rg->nr_iovas && i < 4; i++)
				out(line, ",%#llx-%#llx",
				    (u64)rg->iova_ranges[i].start,
				    (u64)rg->iova_ranges[i].end);
		} else if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION) {
			struct vfio_iommu_type1_info_cap_migration *m =
				(void *)h;

			out(line, ",flags=%#x,pgsize=%#llx,max=%#llx",
			    m->flags, (u64)m->pgsize_bitmap,
			    (u64)m->max_dirty_bitmap_size);
		} else if (h->id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
			struct vfio_iommu_type1_info_dma_avail *a = (void *)h;

			out(line, ",avail=%u", a->avail);
		}
	}
}

static void x_map(struct run *r, const struct call *c, char *line)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = c->flags,
		.vaddr = uva(c->b), .iova = c->c, .size = c->d,
	};

	result(line, ioctl(*cslot(r, c), VFIO_IOMMU_MAP_DMA, &map));
}

/* Where dirty bitmaps land; a call's d is page size << 32 | bytes of room */
static u64 bitmap_words[64];

static void x_unmap(struct run *r, const struct call *c, char *line)
{
	struct {
		struct vfio_iommu_type1_dma_unmap unmap;
		struct vfio_bitmap bitmap;
	} arg = {
		.unmap = { .argsz = sizeof(arg.unmap), .flags = c->flags,
			   .iova = c->b, .size = c->c },
		.bitmap = { .pgsize = c->d >> 32, .size = (__u32)c->d,
			    .data = (__u64 *)bitmap_words },
	};
	unsigned int i;

	memset(bitmap_words, 0, sizeof(bitmap_words));
	if (c->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP)
		arg.unmap.argsz = sizeof(arg);
	if (result(line, ioctl(*cslot(r, c), VFIO_IOMMU_UNMAP_DMA, &arg)))
		return;
	out(line, " size=%#llx", (u64)arg.unmap.size);
	if (c->flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP)
		for (i = 0; i != 64; i++)
			if (bitmap_words[i])
				out(line, " w%u=%#llx", i, bitmap_words[i]);
}

static void x_dirty(struct run *r, const struct call *c, char *line)
{
	struct {
		struct vfio_iommu_type1_dirty_bitmap head;
		struct vfio_iommu_type1_dirty_bitmap_get get;
	} arg = {
		.head = { .argsz = sizeof(arg), .flags = c->flags },
		.get = { .iova = c->b, .size = c->c,
			 .bitmap = { .pgsize = c->d >> 32,
				     .size = (__u32)c->d,
				     .data = (__u64 *)bitmap_words } },
	};
	unsigned int i;

	memset(bitmap_words, 0, sizeof(bitmap_words));
	if (result(line, ioctl(*cslot(r, c), VFIO_IOMMU_DIRTY_PAGES, &arg)))
		return;
	for (i = 0; i != 64; i++)
		if (bitmap_words[i])
			out(line, " w%u=%#llx", i, bitmap_words[i]);
}

static void x_status(struct run *r, const struct call *c, char *line)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };

	if (!result(line, ioctl(r->gfd[c->a], VFIO_GROUP_GET_STATUS, &st)))
		out(line, " flags=%#x", st.flags);
}

static void x_set_container(struct run *r, const struct call *c, char *line)
{
	int fd = c->b < 2 ? r->cfd[c->b] : r->gfd[c->a];

	if (!result(line, ioctl(r->gfd[c->a], VFIO_GROUP_SET_CONTAINER, &fd)))
		r->joined[c->a] = r->cinst[c->b];
}

static void x_unset_container(struct run *r, const struct call *c,
			      char *line)
{
	if (!result(line, ioctl(r->gfd[c->a], VFIO_GROUP_UNSET_CONTAINER)))
		group_left(r, c->a);
}

static void x_device_fd(struct run *r, const struct call *c, char *line)
{
	int fd = ioctl(r->gfd[c->a], VFIO_GROUP_GET_DEVICE_FD,
		       edu_bdf[c->a]);

	if (result(line, fd < 0 ? -1 : 0))
		return;
	if (r->dfd[c->a] >= 0)
		close(r->dfd[c->a]);
	r->dfd[c->a] = fd;
	out(line, " prepare=%d", edu_prepare_dma(fd, &r->bar0[c->a]));
}

static void x_device_close(struct run *r, const struct call *c, char *line)
{
	int *fd = &r->dfd[c->a];

	result(line, *fd < 0 ? (errno = EBADF, -1) : close(*fd));
	*fd = -1;
	/* The last hold of a group whose file was closed */
	if (r->gfd[c->a] < 0 && r->joined[c->a] >= 0)
		group_left(r, c->a);
}

/* The buffer's contents when nothing wrote to it: each word its offset */
#define PATTERN(off) (0xd1ff000000000000ULL | (off))

static void fill_pattern(void)
{
	u64 *w = (u64 *)buf;
	size_t i;

	for (i = 0; i != BUF_SIZE / 8; i++)
		w[i] = PATTERN(i * 8);
}

/*
 * The edu copies 64 bytes from IOVA b to IOVA b through its buffer.  The
 * line says where in our buffer the device wrote, and what: the bytes
 * from the buffer offset they came from, or something else.
 */
static void x_edu_copy(struct run *r, const struct call *c, char *line)
{
	int fd = r->dfd[c->a];
	u64 *w = (u64 *)buf;
	size_t i, n = 0;

	if (fd < 0) {
		out(line, " | no device");
		return;
	}
	if (edu_dma(fd, r->bar0[c->a], c->b, EDU_BUFFER, 64, 0) ||
	    edu_dma(fd, r->bar0[c->a], EDU_BUFFER, c->c, 64, EDU_DMA_TO_RAM)) {
		out(line, " | dma error");
		return;
	}
	out(line, " | done");
	for (i = 0; i != BUF_SIZE / 8; i++) {
		if (w[i] == PATTERN(i * 8))
			continue;
		if (n++ < 2) {
			if ((w[i] >> 48) == 0xd1ff)
				out(line, " at=%#zx from=%#llx", i * 8,
				    w[i] & 0xffffffffffffULL);
			else
				out(line, " at=%#zx other", i * 8);
		}
		w[i] = PATTERN(i * 8);
	}
	out(line, " written=%zu", n);
}

static void x_group_reopen(struct run *r, const struct call *c, char *line)
{
	if (r->gfd[c->a] >= 0)
		close(r->gfd[c->a]);
	r->gfd[c->a] = edu_open_group(edu_bdf[c->a]);
	/* Open again: the old file was released, and the group left */
	if (!result(line, r->gfd[c->a] < 0 ? -1 : 0))
		group_left(r, c->a);
}

static void x_bad_ioctl(struct run *r, const struct call *c, char *line)
{
	unsigned char b[64] = {};

	result(line, ioctl(*cslot(r, c), _IO(VFIO_TYPE, c->b), b));
}

static const struct op_desc container_ops[] = {
	[C_OPEN] = { "open", 4, gen_slot, x_open },
	[C_CLOSE] = { "close", 2, gen_slot, x_close },
	[C_VERSION] = { "version", 1, gen_none, x_version },
	[C_EXTENSION] = { "extension", 3, gen_extension, x_extension },
	[C_SET_IOMMU] = { "set_iommu", 6, gen_set_iommu, x_set_iommu },
	[C_GET_INFO] = { "get_info", 6, gen_get_info, x_get_info },
	[C_MAP] = { "map", 30, gen_map, x_map },
	[C_UNMAP] = { "unmap", 20, gen_unmap, x_unmap },
	[C_DIRTY] = { "dirty", 6, gen_dirty, x_dirty },
	[C_STATUS] = { "status", 2, gen_group, x_status },
	[C_SET_CONTAINER] = { "set_container", 5, gen_set_container,
			      x_set_container },
	[C_UNSET_CONTAINER] = { "unset_container", 1, gen_group,
				x_unset_container },
	[C_DEVICE_FD] = { "device_fd", 4, gen_group, x_device_fd },
	[C_DEVICE_CLOSE] = { "device_close", 2, gen_group, x_device_close },
	[C_EDU_COPY] = { "edu_copy", 3, gen_edu_copy, x_edu_copy },
	[C_GROUP_REOPEN] = { "group_reopen", 1, gen_group, x_group_reopen },
	[C_BAD_IOCTL] = { "bad_ioctl", 1, gen_bad_ioctl, x_bad_ioctl },
};

/* What most programs do first: container, group, IOMMU type, a device */
static unsigned int container_prologue(struct call *calls)
{
	unsigned int n = 0;

	if (pick(5) == 0)
		return 0;
	calls[n++] = (struct call){ .op = C_OPEN };
	calls[n++] = (struct call){ .op = C_SET_CONTAINER };
	if (pick(3) == 0)
		calls[n++] = (struct call){ .op = C_SET_CONTAINER, .a = 1 };
	if (pick(6))
		calls[n++] = (struct call){
			.op = C_SET_IOMMU,
			.b = pick(3) ? VFIO_TYPE1v2_IOMMU : VFIO_TYPE1_IOMMU };
	if (pick(2))
		calls[n++] = (struct call){ .op = C_DEVICE_FD };
	return n;
}

static int container_setup(struct run *r)
{
	int i;

	for (i = 0; i != 2; i++) {
		r->cfd[i] = -1;
		r->dfd[i] = -1;
		r->joined[i] = -1;
		r->cinst[i] = -1;
		r->gfd[i] = edu_open_group(edu_bdf[i]);
		if (r->gfd[i] < 0)
			return -1;
	}
	return 0;
}

static void container_teardown(struct run *r)
{
	int i;

	for (i = 0; i != 2; i++) {
		if (r->dfd[i] >= 0)
			close(r->dfd[i]);
		if (r->gfd[i] >= 0)
			close(r->gfd[i]);
		if (r->cfd[i] >= 0)
			close(r->cfd[i]);
	}
}

/* ===== /dev/iommu on the mock driver, against 6.12's iommufd ===== */

enum {
	I_IOAS_ALLOC, I_DESTROY, I_MAP, I_UNMAP, I_COPY, I_RANGES, I_ALLOW,
	I_OPTION, I_UNKNOWN, I_MOCK_DOMAIN, I_REPLACE, I_HWPT_ALLOC, I_HW_INFO,
	I_CREATE_ACCESS, I_ACCESS_PAGES, I_ACCESS_RW, I_IOPF, I_CHECK_MAP,
	I_VFIO_IOAS, I_SIZE_EDGE,
};

/* An id: mostly one handed out before (by its slot), now and then not */
static u64 gen_id(void)
{
	if (pick(8) == 0)
		return 1ULL << 32 | PICK(0, 1, 7, 1000, 0xffffffff);
	return pick(8);
}

static unsigned int id_of(struct run *r, u64 v)
{
	if (v >> 32)
		return (unsigned int)v;
	if (!r->nids)
		return v + 1;
	return r->ids[v % r->nids];
}

static void remember(struct run *r, unsigned int id)
{
	if (r->nids < 16)
		r->ids[r->nids++] = id;
}

static u64 gen_mock_iova(void)
{
	switch (pick(8)) {
	case 0:
		return gen_iova();
	case 1:
		return (u64)MOCK_APERTURE_LAST + 1 - 0x1000 * pick(3);
	default:
		return MOCK_APERTURE_START + pick(32) * 0x1000 +
		       pick(4) * 0x200000;
	}
}

static void gen_i_alloc(struct call *c)
{
	c->a = PICK(0, 0, 0, 1, 2, 3);	/* size: right, -1, +8 zero, +8 tail */
}

static void gen_i_destroy(struct call *c)
{
	c->a = gen_id();
}

static void gen_i_map(struct call *c)
{
	c->a = gen_id();
	c->flags = PICK(7, 6, 6, 6, 6, 2, 4, 0, 1, 0x10);
	c->b = gen_off();
	c->c = gen_mock_iova();
	c->d = gen_size();
	if (c->b < BUF_SIZE && c->d < BUF_SIZE && c->b + c->d > BUF_SIZE)
		c->b = BUF_SIZE - c->d;
}

static void gen_i_unmap(struct call *c)
{
	c->a = gen_id();
	c->b = gen_mock_iova();
	c->c = PICK(0, 0, 0) ? 0 : gen_size();
	if (pick(10) == 0) {
		c->b = 0;
		c->c = 0;
	}
}

static void gen_i_copy(struct call *c)
{
	c->a = gen_id();
	c->e = gen_id();
	c->flags = PICK(7, 7, 6, 6, 2, 0, 0x10);
	c->b = gen_mock_iova();
	c->c = gen_mock_iova();
	c->d = gen_size();
}

static void gen_i_ranges(struct call *c)
{
	c->a = gen_id();
	c->b = PICK(0, 1, 4, 4);
}

static void gen_i_allow(struct call *c)
{
	c->a = gen_id();
	c->b = pick(3);
	c->c = gen_mock_iova();
	c->d = gen_size();
}

static void gen_i_option(struct call *c)
{
	c->a = gen_id();
	c->flags = PICK(IOMMU_OPTION_OP_SET, IOMMU_OPTION_OP_GET, 2);
	c->b = PICK(IOMMU_OPTION_RLIMIT_MODE, IOMMU_OPTION_HUGE_PAGES, 7);
	c->c = PICK(0, 1, 2);
	c->d = pick(2);	/* object id 0 for the context's options */
}

static void gen_i_unknown(struct call *c)
{
	/*
	 * Numbers neither kernel has a command for, inside and outside the
	 * table's range, and 0x8e with an empty struct; 0x8f..0x92 are
	 * commands of ours 6.12 lacks, left out.
	 */
	c->b = PICK(0x70, 0x7f, 0x93, 0x9f, 0xa1, 0xbf, 0x8f - 1);
	c->a = pick(2);	/* argument: NULL or a zeroed struct */
}

static void gen_i_id(struct call *c)
{
	c->a = gen_id();
	c->b = gen_id();
	c->flags = pick(4);
}

static void gen_i_access_pages(struct call *c)
{
	c->a = pick(4);	/* an access file, or one that is not */
	c->b = gen_mock_iova();
	c->c = gen_size();
	c->flags = PICK(0, 0, 1, 8);
}

static void gen_i_size_edge(struct call *c)
{
	c->a = PICK(IOMMUFD_CMD_IOAS_ALLOC, IOMMUFD_CMD_IOAS_MAP,
		    IOMMUFD_CMD_IOAS_COPY, IOMMUFD_CMD_DESTROY,
		    IOMMUFD_CMD_OPTION, IOMMUFD_CMD_IOAS_IOVA_RANGES);
	c->b = PICK(0, 4, 7, 8, 23, 24, 4096);
	c->c = pick(2);	/* a non-zero byte past the struct */
}

static struct iommu_test_cmd test_cmd(unsigned int op, unsigned int id)
{
	return (struct iommu_test_cmd){ .size = sizeof(struct iommu_test_cmd),
					.op = op, .id = id };
}

static void x_i_alloc(struct run *r, const struct call *c, char *line)
{
	struct {
		struct iommu_ioas_alloc cmd;
		__u64 tail;
	} a = { .cmd = { .size = sizeof(a.cmd) } };

	if (c->a == 1)
		a.cmd.size -= 1;
	if (c->a >= 2)
		a.cmd.size += 8;
	if (c->a == 3)
		a.tail = 1;
	if (result(line, ioctl(r->fd, IOMMU_IOAS_ALLOC, &a)))
		return;
	out(line, " id=%u", a.cmd.out_ioas_id);
	remember(r, a.cmd.out_ioas_id);
}

static void x_i_destroy(struct run *r, const struct call *c, char *line)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id_of(r, c->a) };

	result(line, ioctl(r->fd, IOMMU_DESTROY, &d));
}

static void x_i_map(struct run *r, const struct call *c, char *line)
{
	struct iommu_ioas_map m = {
		.size = sizeof(m), .flags = c->flags,
		.ioas_id = id_of(r, c->a), .user_va = uva(c->b),
		.length = c->d, .iova = c->c,
	};

	if (!result(line, ioctl(r->fd, IOMMU_IOAS_MAP, &m)))
		out(line, " iova=%#llx", (u64)m.iova);
}

static void x_i_unmap(struct run *r, const struct call *c, char *line)
{
	struct iommu_ioas_unmap u = {
		.size = sizeof(u), .ioas_id = id_of(r, c->a),
		.iova = c->b, .length = c->c,
	};

	if (!result(line, ioctl(r->fd, IOMMU_IOAS_UNMAP, &u)))
		out(line, " length=%#llx", (u64)u.length);
}

static void x_i_copy(struct run *r, const struct call *c, char *line)
{
	struct iommu_ioas_copy cp = {
		.size = sizeof(cp), .flags = c->flags,
		.dst_ioas_id = id_of(r, c->a), .src_ioas_id = id_of(r, c->e),
		.length = c->d, .dst_iova = c->b, .src_iova = c->c,
	};

	if (!result(line, ioctl(r->fd, IOMMU_IOAS_COPY, &cp)))
		out(line, " dst_iova=%#llx", (u64)cp.dst_iova);
}

static void x_i_ranges(struct run *r, const struct call *c, char *line)
{
	struct iommu_iova_range rg[4];
	struct iommu_ioas_iova_ranges q = {
		.size = sizeof(q), .ioas_id = id_of(r, c->a),
		.num_iovas = c->b, .allowed_iovas = (uintptr_t)rg,
	};
	int ret = ioctl(r->fd, IOMMU_IOAS_IOVA_RANGES, &q);
	unsigned int i;

	result(line, ret);
	if (ret && errno != EMSGSIZE)
		return;
	out(line, " num=%u align=%#llx", q.num_iovas,
	    (u64)q.out_iova_alignment);
	for (i = 0; !ret && i < q.num_iovas && i < 4; i++)
		out(line, " %#llx-%#llx", (u64)rg[i].start, (u64)rg[i].last);
}

static void x_i_allow(struct run *r, const struct call *c, char *line)
{
	struct iommu_iova_range rg[2] = {
		{ c->c, c->c + c->d - 1 },
		{ c->c + c->d + 0x100000, c->c + c->d + 0x200000 - 1 },
	};
	struct iommu_ioas_allow_iovas q = {
		.size = sizeof(q), .ioas_id = id_of(r, c->a),
		.num_iovas = c->b, .allowed_iovas = (uintptr_t)rg,
	};

	result(line, ioctl(r->fd, IOMMU_IOAS_ALLOW_IOVAS, &q));
}

static void x_i_option(struct run *r, const struct call *c, char *line)
{
	struct iommu_option o = {
		.size = sizeof(o), .option_id = c->b, .op = c->flags,
		.object_id = c->d ? id_of(r, c->a) : 0, .val64 = c->c,
	};

	if (!result(line, ioctl(r->fd, IOMMU_OPTION, &o)))
		out(line, " val=%#llx", (u64)o.val64);
}

static void x_i_unknown(struct run *r, const struct call *c, char *line)
{
	unsigned char b[64] = {};

	result(line, ioctl(r->fd, _IO(IOMMUFD_TYPE, c->b), c->a ? b : NULL));
}

static void x_i_mock_domain(struct run *r, const struct call *c, char *line)
{
	struct iommu_test_cmd t = test_cmd(IOMMU_TEST_OP_MOCK_DOMAIN,
					   id_of(r, c->a));

	if (result(line, ioctl(r->fd, IOMMU_TEST_CMD, &t)))
		return;
	out(line, " stdev=%u hwpt=%u idev=%u", t.mock_domain.out_stdev_id,
	    t.mock_domain.out_hwpt_id, t.mock_domain.out_idev_id);
	remember(r, t.mock_domain.out_stdev_id);
	remember(r, t.mock_domain.out_hwpt_id);
	remember(r, t.mock_domain.out_idev_id);
}

static void x_i_replace(struct run *r, const struct call *c, char *line)
{
	struct iommu_test_cmd t = test_cmd(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
					   id_of(r, c->a));

	t.mock_domain_replace.pt_id = id_of(r, c->b);
	if (!result(line, ioctl(r->fd, IOMMU_TEST_CMD, &t)))
		out(line, " pt=%u", t.mock_domain_replace.pt_id);
}

static void x_i_hwpt_alloc(struct run *r, const struct call *c, char *line)
{
	struct iommu_hwpt_alloc h = {
		.size = sizeof(h), .dev_id = id_of(r, c->a),
		.pt_id = id_of(r, c->b),
		.flags = c->flags == 1 ? IOMMU_HWPT_ALLOC_NEST_PARENT :
			 c->flags == 2 ? IOMMU_HWPT_ALLOC_DIRTY_TRACKING : 0,
	};

	if (result(line, ioctl(r->fd, IOMMU_HWPT_ALLOC, &h)))
		return;
	out(line, " id=%u", h.out_hwpt_id);
	remember(r, h.out_hwpt_id);
}

static void x_i_hw_info(struct run *r, const struct call *c, char *line)
{
	unsigned char data[64];
	struct iommu_hw_info h = {
		.size = sizeof(h), .dev_id = id_of(r, c->a),
		.data_len = c->flags * 4, .data_uptr = (uintptr_t)data,
	};

	memset(data, 0xa5, sizeof(data));
	if (result(line, ioctl(r->fd, IOMMU_GET_HW_INFO, &h)))
		return;
	out(line, " type=%u len=%u caps=%#llx", h.out_data_type, h.data_len,
	    (u64)h.out_capabilities);
	hexdump(line, data, 16);
}

static void x_i_create_access(struct run *r, const struct call *c,
			      char *line)
{
	struct iommu_test_cmd t = test_cmd(IOMMU_TEST_OP_CREATE_ACCESS,
					   id_of(r, c->a));

	t.create_access.flags = c->flags & 1 ?
				MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES : 0;
	if (result(line, ioctl(r->fd, IOMMU_TEST_CMD, &t)))
		return;
	if (r->nafd < 4)
		r->afd[r->nafd++] = t.create_access.out_access_fd;
	else
		close(t.create_access.out_access_fd);
}

/* An access file by slot; past the files made, a file of another kind */
static int access_fd(struct run *r, u64 slot)
{
	if (slot < r->nafd)
		return r->afd[slot];
	return slot == 3 ? 1000 : r->fd;
}

static void x_i_access_pages(struct run *r, const struct call *c,
			     char *line)
{
	struct iommu_test_cmd t = test_cmd(IOMMU_TEST_OP_ACCESS_PAGES,
					   access_fd(r, c->a));

	t.access_pages.flags = c->flags;
	t.access_pages.iova = c->b;
	t.access_pages.length = c->c;
	t.access_pages.uptr = (uintptr_t)buf;
	if (!result(line, ioctl(r->fd, IOMMU_TEST_CMD, &t)))
		out(line, " pages_id=%u", t.access_pages.out_access_pages_id);
}

static void x_i_access_rw(struct run *r, const struct call *c, char *line)
{
	unsigned char data[64] = {};
	struct iommu_test_cmd t = test_cmd(IOMMU_TEST_OP_ACCESS_RW,
					   access_fd(r, c->a));

	t.access_rw.iova = c->b;
	t.access_rw.length = c->c > 64 ? 64 : c->c;
	t.access_rw.uptr = (uintptr_t)data;
	t.access_rw.flags = c->flags & 1 ? MOCK_ACCESS_RW_WRITE : 0;
	if (!result(line, ioctl(r->fd, IOMMU_TEST_CMD, &t)) && !c->flags)
		hexdump(line, data, 16);
}

static void x_i_iopf(struct run *r, const struct call *c, char *line)
{
	struct iommu_test_cmd t = test_cmd(IOMMU_TEST_OP_TRIGGER_IOPF, 0);

	t.trigger_iopf.dev_id = id_of(r, c->a);
	t.trigger_iopf.addr = MOCK_APERTURE_START;
	t.trigger_iopf.perm = IOMMU_PGFAULT_PERM_READ;
	result(line, ioctl(r->fd, IOMMU_TEST_CMD, &t));
}

static void x_i_check_map(struct run *r, const struct call *c, char *line)
{
	struct iommu_test_cmd t = test_cmd(IOMMU_TEST_OP_MD_CHECK_MAP,
					   id_of(r, c->a));

	t.check_map.iova = MOCK_APERTURE_START + (c->b & 7) * 0x200000;
	t.check_map.length = 0x1000;
	t.check_map.uptr = (uintptr_t)buf;
	result(line, ioctl(r->fd, IOMMU_TEST_CMD, &t));
}

static void x_i_vfio_ioas(struct run *r, const struct call *c, char *line)
{
	struct iommu_vfio_ioas v = {
		.size = sizeof(v), .ioas_id = id_of(r, c->a),
		.op = c->flags < 3 ? c->flags : 7,
	};

	if (!result(line, ioctl(r->fd, IOMMU_VFIO_IOAS, &v)))
		out(line, " id=%u", v.ioas_id);
}

/* A command whose struct is shorter than its base, or longer */
static void x_i_size_edge(struct run *r, const struct call *c, char *line)
{
	unsigned char b[4096 + 8] = {};

	memcpy(b, &(__u32){ c->b }, 4);
	if (c->c)
		b[c->b < 4096 ? c->b + 4 : 4096] = 1;
	result(line, ioctl(r->fd, _IO(IOMMUFD_TYPE, c->a), b));
}

static const struct op_desc iommufd_ops[] = {
	[I_IOAS_ALLOC] = { "ioas_alloc", 6, gen_i_alloc, x_i_alloc },
	[I_DESTROY] = { "destroy", 4, gen_i_destroy, x_i_destroy },
	[I_MAP] = { "map", 24, gen_i_map, x_i_map },
	[I_UNMAP] = { "unmap", 14, gen_i_unmap, x_i_unmap },
	[I_COPY] = { "copy", 8, gen_i_copy, x_i_copy },
	[I_RANGES] = { "iova_ranges", 4, gen_i_ranges, x_i_ranges },
	[I_ALLOW] = { "allow_iovas", 4, gen_i_allow, x_i_allow },
	[I_OPTION] = { "option", 4, gen_i_option, x_i_option },
	[I_UNKNOWN] = { "unknown", 1, gen_i_unknown, x_i_unknown },
	[I_MOCK_DOMAIN] = { "mock_domain", 5, gen_i_destroy, x_i_mock_domain },
	[I_REPLACE] = { "replace", 3, gen_i_id, x_i_replace },
	[I_HWPT_ALLOC] = { "hwpt_alloc", 3, gen_i_id, x_i_hwpt_alloc },
	[I_HW_INFO] = { "hw_info", 2, gen_i_id, x_i_hw_info },
	[I_CREATE_ACCESS] = { "create_access", 3, gen_i_id,
			      x_i_create_access },
	[I_ACCESS_PAGES] = { "access_pages", 3, gen_i_access_pages,
			     x_i_access_pages },
	[I_ACCESS_RW] = { "access_rw", 3, gen_i_access_pages, x_i_access_rw },
	[I_IOPF] = { "iopf", 1, gen_i_id, x_i_iopf },
	[I_CHECK_MAP] = { "check_map", 2, gen_i_id, x_i_check_map },
	[I_VFIO_IOAS] = { "vfio_ioas", 2, gen_i_id, x_i_vfio_ioas },
	[I_SIZE_EDGE] = { "size_edge", 3, gen_i_size_edge, x_i_size_edge },
};

static unsigned int iommufd_prologue(struct call *calls)
{
	unsigned int n = 0;

	if (pick(4) == 0)
		return 0;
	calls[n++] = (struct call){ .op = I_IOAS_ALLOC };
	if (pick(2))
		calls[n++] = (struct call){ .op = I_MOCK_DOMAIN };
	return n;
}

static int iommufd_setup(struct run *r)
{
	r->fd = open("/dev/iommu", O_RDWR);
	r->nids = 0;
	r->nafd = 0;
	return r->fd < 0 ? -1 : 0;
}

static void iommufd_teardown(struct run *r)
{
	unsigned int i;

	for (i = 0; i != r->nafd; i++)
		close(r->afd[i]);
	close(r->fd);
}

static const struct target targets[] = {
	{ "container", container_ops, ARRAY_SIZE(container_ops),
	  container_prologue, container_setup, container_teardown,
	  container_state },
	{ "iommufd", iommufd_ops, ARRAY_SIZE(iommufd_ops),
	  iommufd_prologue, iommufd_setup, iommufd_teardown, NULL },
};

/* ===== sequences, transcripts, comparison ===== */

static unsigned int gen(unsigned long seed, struct call *calls)
{
	unsigned int total = 0, i, n, w, len;

	rng_state = seed * 0x2545f4914f6cdd1dULL + DIFF_VERSION;
	for (i = 0; i != tgt->nops; i++)
		total += tgt->ops[i].weight;
	len = MAX_CALLS / 2 + pick(MAX_CALLS / 2);
	for (n = tgt->prologue(calls); n < len; n++) {
		w = pick(total);
		for (i = 0; w >= tgt->ops[i].weight; i++)
			w -= tgt->ops[i].weight;
		calls[n] = (struct call){ .op = i };
		tgt->ops[i].gen(&calls[n]);
	}
	return n;
}

static void describe(const struct call *c, char *line)
{
	snprintf(line, LINE_MAX_LEN,
		 "%s a=%#llx f=%#x b=%#llx c=%#llx d=%#llx e=%#llx",
		 tgt->ops[c->op].name, c->a, c->flags, c->b, c->c, c->d,
		 c->e);
}

/*
 * Run the calls of @calls whose index @keep lists (all when NULL, in
 * order), the lines into @lines.  Return: the number run, -1 when the
 * target could not be set up.
 */
static int execute(const struct call *calls, unsigned int n,
		   const unsigned int *keep, unsigned int nkeep,
		   char (*lines)[LINE_MAX_LEN])
{
	struct run r = {};
	unsigned int i, k;

	if (tgt->setup(&r)) {
		tgt->teardown(&r);
		return -1;
	}
	for (i = 0; i != (keep ? nkeep : n); i++) {
		k = keep ? keep[i] : i;
		describe(&calls[k], lines[i]);
		if (tgt->state)
			tgt->state(&r, &calls[k], lines[i]);
		errno = 0;
		tgt->ops[calls[k].op].exec(&r, &calls[k], lines[i]);
	}
	tgt->teardown(&r);
	return i;
}

static char (*lines_a)[LINE_MAX_LEN];
static char (*lines_b)[LINE_MAX_LEN];

/* An allow-list entry */
struct allowed {
	char name[96];
	char op[32];
	char peer[256];
	char ours[256];
	unsigned int seen;
};

static struct allowed allow[128];
static unsigned int nallow;

static int read_allow(const char *path)
{
	char l[1024], *f[4], *save;
	FILE *fp = fopen(path, "r");
	int i;

	if (!fp)
		return -1;
	while (fgets(l, sizeof(l), fp) && nallow < 128) {
		l[strcspn(l, "\n")] = 0;
		if (!l[0] || l[0] == '#')
			continue;
		f[0] = strtok_r(l, "\t", &save);
		for (i = 1; i != 4; i++)
			f[i] = strtok_r(NULL, "\t", &save);
		if (!f[3] || strcmp(f[0], tgt->name))
			continue;
		/* fields: target, name, op, peer-glob, ours-glob */
		f[0] = f[1];
		f[1] = f[2];
		f[2] = f[3];
		f[3] = strtok_r(NULL, "\t", &save);
		if (!f[3])
			continue;
		snprintf(allow[nallow].name, 96, "%s", f[0]);
		snprintf(allow[nallow].op, 32, "%s", f[1]);
		snprintf(allow[nallow].peer, 256, "%s", f[2]);
		snprintf(allow[nallow].ours, 256, "%s", f[3]);
		nallow++;
	}
	fclose(fp);
	return 0;
}

static struct allowed *allowed_by(const char *peer, const char *ours)
{
	unsigned int i;
	size_t n;

	for (i = 0; i != nallow; i++) {
		n = strlen(allow[i].op);
		if (strcmp(allow[i].op, "*") &&
		    (strncmp(ours, allow[i].op, n) || ours[n] != ' '))
			continue;
		if (!fnmatch(allow[i].peer, peer, 0) &&
		    !fnmatch(allow[i].ours, ours, 0))
			return &allow[i];
	}
	return NULL;
}

/* The peer's record: its transcripts, read once, each seed's found once */
static char *peer_text;
static const char **peer_index;
static unsigned long peer_first, peer_count;

static void index_peer(unsigned long first, unsigned long last)
{
	const char *p = peer_text;
	unsigned long s;

	peer_first = first;
	peer_count = last - first + 1;
	peer_index = calloc(peer_count, sizeof(*peer_index));
	while (peer_index && (p = strstr(p, "\nseed "))) {
		p += 6;
		s = strtoul(p, NULL, 10);
		p = strchr(p, '\n');
		if (!p)
			break;
		if (s >= first && s <= last)
			peer_index[s - first] = p + 1;
	}
}

static const char *peer_seed(unsigned long seed)
{
	if (!peer_index || seed < peer_first ||
	    seed - peer_first >= peer_count)
		return NULL;
	return peer_index[seed - peer_first];
}

/* The peer's line @k of a seed whose transcript starts at @p */
static int peer_line(const char *p, unsigned int k, char *line)
{
	const char *e;

	while (k--) {
		p = strchr(p, '\n');
		if (!p)
			return -1;
		p++;
	}
	e = strchr(p, '\n');
	if (!e || !strncmp(p, "seed ", 5))
		return -1;
	snprintf(line, LINE_MAX_LEN, "%.*s", (int)(e - p), p);
	return 0;
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	size_t len = 0, room = 1 << 20, n;
	char *t = malloc(room + 1);

	if (!fp || !t)
		return NULL;
	while ((n = fread(t + len, 1, room - len, fp)) > 0) {
		len += n;
		if (len == room) {
			room *= 2;
			t = realloc(t, room + 1);
			if (!t)
				return NULL;
		}
	}
	fclose(fp);
	t[len] = 0;
	return t;
}

static FILE *open_out(const char *path)
{
	return strcmp(path, "-") ? fopen(path, "w") : stdout;
}

static int do_record(unsigned long first, unsigned long last,
		     const char *path)
{
	static struct call calls[MAX_CALLS];
	FILE *fp = open_out(path);
	unsigned long seed;
	unsigned int n, i;
	u64 ncalls = 0;

	if (!fp)
		return 1;
	fprintf(fp, "iommufd_diff %s version %d\n", tgt->name, DIFF_VERSION);
	for (seed = first; seed <= last; seed++) {
		n = gen(seed, calls);
		if (execute(calls, n, NULL, 0, lines_a) < 0) {
			fprintf(stderr, "%s: setup failed\n", tgt->name);
			return 1;
		}
		fprintf(fp, "seed %lu\n", seed);
		for (i = 0; i != n; i++)
			fprintf(fp, "%s\n", lines_a[i]);
		ncalls += n;
	}
	fprintf(fp, "seed end\n");
	fprintf(stderr, "%s: %lu seeds, %llu calls\n", tgt->name,
		last - first + 1, ncalls);
	return fp == stdout ? 0 : fclose(fp);
}

/*
 * Drop calls before @k while call @k's line stays @want: first halves,
 * then quarters, down to single calls.  @keep ends with @k.
 */
static unsigned int minimize(const struct call *calls, unsigned int k,
			     const char *want, unsigned int *keep)
{
	static unsigned int trial[MAX_CALLS];
	unsigned int nkeep = k + 1, chunk, start, i, j;

	for (i = 0; i <= k; i++)
		keep[i] = i;
	for (chunk = nkeep / 2 ? nkeep / 2 : 1; chunk; chunk /= 2) {
		for (start = 0; start + 1 < nkeep;) {
			unsigned int n = 0;

			for (i = 0; i != nkeep; i++)
				if (i < start || i >= start + chunk ||
				    i == nkeep - 1)
					trial[n++] = keep[i];
			if (n == nkeep) {
				start += chunk;
				continue;
			}
			if (execute(calls, 0, trial, n, lines_b) == (int)n &&
			    !strcmp(lines_b[n - 1], want)) {
				for (j = 0; j != n; j++)
					keep[j] = trial[j];
				nkeep = n;
			} else {
				start += chunk;
			}
		}
	}
	return nkeep;
}

struct finding {
	char key[LINE_MAX_LEN];
	unsigned long seed;
	unsigned int count;
	const struct allowed *allowed;
};

static struct finding findings[MAX_FINDINGS];
static unsigned int nfindings;

/* Strip a line's arguments' numbers: "map ... | -EINVAL" -> its kind */
static void kind_of(const char *peer, const char *ours, char *key)
{
	const char *op_end = strchr(ours, ' ');
	const char *pr = strstr(peer, " | "), *or = strstr(ours, " | ");
	int oplen = op_end ? (int)(op_end - ours) : (int)strlen(ours);

	snprintf(key, LINE_MAX_LEN, "%.*s: peer%.40s, ours%.40s", oplen, ours,
		 pr ? pr + 2 : " ?", or ? or + 2 : " ?");
}

static int do_compare(unsigned long first, unsigned long last,
		      const char *peer_path, const char *allow_path,
		      const char *out_path)
{
	static struct call calls[MAX_CALLS];
	static unsigned int keep[MAX_CALLS];
	char peer[LINE_MAX_LEN], key[LINE_MAX_LEN], head[128];
	unsigned long seed, same = 0, at_allowed = 0, failed = 0;
	FILE *fp = out_path ? open_out(out_path) : NULL;
	unsigned int n, i, k, f, nkeep;
	const struct allowed *al;
	const char *p;
	u64 ncalls = 0;
	bool stale;

	peer_text = slurp(peer_path);
	if (read_allow(allow_path)) {
		printf("# cannot read %s\nnot ok 1 the_allow_list_can_be_read\n",
		       allow_path);
		return 1;
	}
	snprintf(head, sizeof(head), "iommufd_diff %s version %d\n",
		 tgt->name, DIFF_VERSION);
	stale = !peer_text || strncmp(peer_text, head, strlen(head));
	printf("TAP version 13\n1..3\n");
	printf("# peer record %s\n%sok 1 the_peer_record_is_of_this_generator\n",
	       peer_path, stale ? "not " : "");
	if (stale) {
		printf("# re-record it: make diff (DIFF_RECORD=1)\n");
		printf("ok 2 %s # SKIP no record\n",
		       "a_seed_gives_the_same_transcript_twice");
		printf("ok 3 %s # SKIP no record\n",
		       "seeds_behave_as_on_the_peer_but_for_the_allow_list");
		return 1;
	}
	index_peer(first, last);
	/* The transcript is a function of the seed: run one twice */
	n = gen(first, calls);
	execute(calls, n, NULL, 0, lines_a);
	execute(calls, n, NULL, 0, lines_b);
	for (i = 0; i != n && !strcmp(lines_a[i], lines_b[i]); i++)
		;
	printf("%sok 2 a_seed_gives_the_same_transcript_twice\n",
	       i == n ? "" : "not ");
	if (i != n)
		printf("# seed %lu call %u: '%s' then '%s'\n", first, i,
		       lines_a[i], lines_b[i]);

	for (seed = first; seed <= last; seed++) {
		n = gen(seed, calls);
		if (execute(calls, n, NULL, 0, lines_a) < 0) {
			printf("# %s: setup failed\n", tgt->name);
			failed++;
			break;
		}
		ncalls += n;
		p = peer_seed(seed);
		for (k = 0; k != n; k++) {
			if (!p || peer_line(p, k, peer)) {
				snprintf(peer, sizeof(peer), "(no record)");
				break;
			}
			if (strcmp(peer, lines_a[k]))
				break;
		}
		if (k == n) {
			same++;
			continue;
		}
		al = allowed_by(peer, lines_a[k]);
		if (al) {
			at_allowed++;
			snprintf(key, sizeof(key), "allowed %s", al->name);
		} else {
			failed++;
			kind_of(peer, lines_a[k], key);
		}
		for (f = 0; f != nfindings; f++)
			if (!strcmp(findings[f].key, key))
				break;
		if (f != nfindings) {
			findings[f].count++;
			continue;
		}
		if (nfindings == MAX_FINDINGS)
			continue;
		snprintf(findings[f].key, LINE_MAX_LEN, "%s", key);
		findings[f].seed = seed;
		findings[f].count = 1;
		findings[f].allowed = al;
		nfindings++;
		/* The first of its kind: minimized, on this kernel */
		nkeep = minimize(calls, k, lines_a[k], keep);
		if (!al)
			printf("# difference: seed %lu call %u\n#   peer: %s\n"
			       "#   ours: %s\n#   minimized to %u calls:\n",
			       seed, k, peer, lines_a[k], nkeep);
		if (fp) {
			fprintf(fp, "repro %s seed=%lu k=%u keep=", tgt->name,
				seed, k);
			for (i = 0; i != nkeep; i++)
				fprintf(fp, "%s%u", i ? "," : "", keep[i]);
			fprintf(fp, "\nfinding %s\npeer %s\nours %s\n", key,
				peer, lines_a[k]);
		}
		if (!al)
			for (i = 0; i != nkeep; i++) {
				describe(&calls[keep[i]], peer);
				printf("#     %s\n", peer);
			}
	}
	printf("# %s: %lu seeds, %llu calls: %lu the same as the peer,",
	       tgt->name, last - first + 1, ncalls, same);
	printf(" %lu end at an allowed difference, %lu at another\n",
	       at_allowed, failed);
	for (f = 0; f != nfindings; f++)
		printf("# %s %u seeds, first %lu: %s\n",
		       findings[f].allowed ? "allowed" : "DIFFERENT",
		       findings[f].count, findings[f].seed, findings[f].key);
	if (fp) {
		fprintf(fp, "summary %s seeds=%lu calls=%llu same=%lu",
			tgt->name, last - first + 1, ncalls, same);
		fprintf(fp, " allowed=%lu different=%lu\n", at_allowed,
			failed);
		for (f = 0; f != nfindings; f++)
			fprintf(fp, "count %u %s\n", findings[f].count,
				findings[f].key);
		if (fp != stdout)
			fclose(fp);
	}
	printf("%sok 3 seeds_behave_as_on_the_peer_but_for_the_allow_list\n",
	       failed ? "not " : "");
	return failed ? 1 : 0;
}

/* The peer half of each reproducer: the line of its last call */
static int do_replay(const char *in_path, const char *out_path)
{
	static struct call calls[MAX_CALLS];
	static unsigned int keep[MAX_CALLS];
	char *text = slurp(in_path), *l, *save, name[32], list[1024];
	FILE *fp = open_out(out_path);
	unsigned long seed;
	unsigned int k, n, nkeep;
	char *tok, *s2;

	if (!text || !fp)
		return 1;
	for (l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (sscanf(l, "repro %31s seed=%lu k=%u keep=%1023s", name,
			   &seed, &k, list) != 4 || strcmp(name, tgt->name))
			continue;
		n = gen(seed, calls);
		/* the whole prefix up to k, then the minimized calls */
		execute(calls, k + 1, NULL, 0, lines_a);
		nkeep = 0;
		for (tok = strtok_r(list, ",", &s2); tok && nkeep < MAX_CALLS;
		     tok = strtok_r(NULL, ",", &s2))
			keep[nkeep++] = strtoul(tok, NULL, 10);
		execute(calls, n, keep, nkeep, lines_b);
		fprintf(fp, "replay %s seed=%lu k=%u\nfull %s\nminimized %s\n",
			tgt->name, seed, k, lines_a[k], lines_b[nkeep - 1]);
	}
	return fp == stdout ? 0 : fclose(fp);
}

int main(int argc, char **argv)
{
	unsigned int i;
	void *p;

	if (argc < 3) {
		fprintf(stderr, "usage: %s record|compare|replay TARGET ...\n",
			argv[0]);
		return 2;
	}
	for (i = 0; i != ARRAY_SIZE(targets); i++)
		if (!strcmp(argv[2], targets[i].name))
			tgt = &targets[i];
	if (!tgt)
		return 2;
	p = mmap(NULL, BUF_SIZE + (2UL << 20), PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	lines_a = calloc(MAX_CALLS, LINE_MAX_LEN);
	lines_b = calloc(MAX_CALLS, LINE_MAX_LEN);
	if (p == MAP_FAILED || !lines_a || !lines_b)
		return 1;
	buf = (unsigned char *)(((uintptr_t)p + (2UL << 20) - 1) &
				~((2UL << 20) - 1));
	fill_pattern();
	if (tgt == &targets[0]) {
		for (i = 0; i != 2; i++)
			if (edu_find((int)i, edu_bdf[i], sizeof(edu_bdf[i])) ||
			    edu_bind_vfio_pci(edu_bdf[i])) {
				fprintf(stderr, "no edu device %u\n", i);
				return 1;
			}
	}
	if (!strcmp(argv[1], "record") && argc == 6)
		return do_record(strtoul(argv[3], NULL, 0),
				 strtoul(argv[4], NULL, 0), argv[5]);
	if (!strcmp(argv[1], "compare") && (argc == 7 || argc == 8))
		return do_compare(strtoul(argv[3], NULL, 0),
				  strtoul(argv[4], NULL, 0), argv[5], argv[6],
				  argc == 8 ? argv[7] : NULL);
	if (!strcmp(argv[1], "replay") && argc == 5)
		return do_replay(argv[3], argv[4]);
	fprintf(stderr, "bad arguments\n");
	return 2;
}
