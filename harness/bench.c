// SPDX-License-Identifier: GPL-2.0
/*
 * bench: the guest half of make bench.  It runs unchanged on every IMPL's
 * kernel and prints one line per sample:
 *
 *	bench: CASE METRIC VALUE
 *
 * for harness/bench-table to gather across boots.  A case that finds its
 * own result wrong prints "bench: WRONG CASE why" and no samples, so a fast
 * wrong answer cannot win; a case that cannot run here prints
 * "bench: skip CASE why".
 *
 * The cases (sizes for the full run; --quick shrinks them and takes one
 * sample each):
 *   ioas-{4k,thp,hugetlb}  IOAS_MAP and IOAS_UNMAP of 1 GiB on the edu's
 *                          VT-d domain; the page store's kernel memory.
 *                          4k's pages are faulted in a scrambled order, so
 *                          physically scattered (the worst case)
 *   ioas-4kseq             the same with 4 KiB pages faulted in order
 *   small-{4k,64k}         map+unmap of one small range, 100k times
 *   copy                   IOAS_COPY of a mapped 1 GiB into a second IOAS
 *                          that a second edu's domain is attached to
 *   compat-dpdk            DPDK's pattern on /dev/vfio/vfio: TYPE1 (v1),
 *                          4096 MAP_DMA of one 2 MiB hugepage each, then
 *                          UNMAP_DMA one by one
 *   compat-v2-4k           TYPE1v2 MAP_DMA and UNMAP_DMA of 1 GiB
 *   floor-{4k,thp,hugetlb} pin_user_pages_fast() plus iommu_map() of the
 *                          same buffer, and back (iommufd_bench_floor.ko)
 *   vmstart-{4k,thp}-SIZE  VM start: IOAS_MAP of anonymous memory nobody
 *                          has touched (1 and 4 GiB), so pinning faults
 *                          every page in, as a VMM mapping fresh guest RAM
 *   scale-4k-SIZE          map+unmap of 1, 2, 4 and 8 GiB of 4 KiB pages
 *                          (in order), as cost per GiB; a size the guest
 *                          has no memory for is skipped
 *
 * --mock runs the ioas-* and small-* cases on a domain of the mock IOMMU
 * driver instead (CONFIG_IOMMUFD_TEST, a guest booted with intel_iommu=off),
 * named mock-*, checked with IOMMU_TEST_OP_MD_CHECK_MAP.  There the
 * store_kib_per_gib metric also counts the mock domain's own page table,
 * an xarray in slab memory.
 * --only CASE,CASE... runs only the cases named (as printed).
 * --compat-only runs only the container and floor cases: on IMPL=type1
 * the /dev/iommu cases would measure the in-tree code a second time.
 * --ktap also reports each case as a KTAP test (make check's quick run):
 * ok when it measured and its checks held, not ok when it found its
 * result wrong, SKIP when the guest lacks what it needs.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "edu_device.h"
#include "vm_pinned.h"
#include "bench_floor/bench_floor.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"

#define IOVA_BASE 0x40000000UL
/* The DPDK pattern's 8 GiB of IOVA: above 4 GiB's MSI window */
#define IOVA_DPDK 0x400000000UL
/* VM start and scale map up to 8 GiB: there too */
#define IOVA_BIG 0x400000000UL
#define SZ_2M (2UL << 20)

static size_t big = 1UL << 30;		/* the large cases' buffer */
static int reps = 3;			/* samples per case and boot */
static int small_count = 100000;	/* small map+unmap pairs */
static int dpdk_maps = 4096;		/* DPDK pattern: 2 MiB mappings */
/* VM start and scale: the sizes mapped */
static size_t vmstart_sizes[] = { 1UL << 30, 4UL << 30 };
static size_t scale_sizes[] = { 1UL << 30, 2UL << 30, 4UL << 30, 8UL << 30 };
static const char *only;		/* --only: the cases to run */
static int perf_ctl = -1;		/* $BENCH_PERF_CTL: perf's control fifo */

static char bdf[2][64];
static int iommufd;

static bool ktap;
static const char *prefix = "ioas";	/* "mock" with --mock */
static __u32 mock_hwpt;			/* the mock domain's HWPT */
static int case_nr, case_wrong, case_skipped;

struct edu {
	int devfd;
	__u64 bar0;
};

/*
 * Under make bench's profile (BENCH_PERF=1) perf records only while the
 * bench measures: it starts disabled and listens on a control fifo.
 */
static void perf_ctl_open(void)
{
	const char *path = getenv("BENCH_PERF_CTL");

	if (path)
		perf_ctl = open(path, O_WRONLY);
}

static void perf_switch(bool on)
{
	const char *cmd = on ? "enable\n" : "disable\n";

	if (perf_ctl >= 0 && write(perf_ctl, cmd, strlen(cmd)) < 0)
		perf_ctl = -1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void sample(const char *name, const char *metric, double val)
{
	printf("bench: %s %s %.3f\n", name, metric, val);
}

static void wrong(const char *name, const char *why)
{
	printf("bench: WRONG %s %s (%s)\n", name, why, strerror(errno));
	case_wrong = 1;
}

static void skip(const char *name, const char *why)
{
	printf("bench: skip %s %s (%s)\n", name, why, strerror(errno));
	case_skipped = 1;
}

/* Close case @name: its KTAP line, if asked for */
static void end_case(const char *name)
{
	case_nr++;
	if (ktap)
		printf("%s %d %s%s\n", case_wrong ? "not ok" : "ok", case_nr,
		       name, !case_wrong && case_skipped ? " # SKIP" : "");
	case_wrong = case_skipped = 0;
}

/* Is case @name to run: every case, or one of --only's list */
static bool wanted(const char *name)
{
	size_t len = strlen(name);
	const char *at = only;

	if (!only)
		return true;
	for (; at; at = strchr(at, ',')) {
		at += *at == ',';
		if (!strncmp(at, name, len) && (at[len] == ',' || !at[len]))
			return true;
	}
	return false;
}

/* "1g", "64m": how case names give a size */
static const char *size_name(size_t len)
{
	static char buf[16];

	if (len >= (1UL << 30))
		snprintf(buf, sizeof(buf), "%zug", len >> 30);
	else
		snprintf(buf, sizeof(buf), "%zum", len >> 20);
	return buf;
}

/*
 * A populated, 2 MiB-aligned buffer of @len bytes backed by @kind pages;
 * munmap(va, len) frees it (the slack of a non-hugetlb one stays mapped,
 * harmlessly)
 */
static void *buffer(size_t len, const char *kind)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	size_t slack = strcmp(kind, "hugetlb") ? SZ_2M : 0;
	char *va;

	if (!strcmp(kind, "hugetlb"))
		flags |= MAP_HUGETLB;
	va = mmap(NULL, len + slack, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (va == MAP_FAILED)
		return NULL;
	va = (char *)(((uintptr_t)va + slack) & ~(SZ_2M - 1));
	if (!strcmp(kind, "thp"))
		madvise(va, len, MADV_HUGEPAGE);
	if (!strcmp(kind, "4kseq"))
		madvise(va, len, MADV_NOHUGEPAGE);	/* faulted in order */
	if (!strcmp(kind, "4k")) {
		size_t n = len / 4096, i;

		/*
		 * Fault the pages in a scrambled order (7919 is prime, so
		 * this visits each page once): in a freshly booted guest,
		 * touching them in order hands out physically consecutive
		 * pages, which a long-running system would not.  Scattered
		 * 4 KiB pages are the worst case for every implementation.
		 */
		madvise(va, len, MADV_NOHUGEPAGE);
		for (i = 0; i != n; i++)
			va[(i * 7919 % n) * 4096] = 1;
	}
	memset(va, 1, len);	/* fault everything in before timing */
	return va;
}

/*
 * Let edu read 8 bytes at @iova into its buffer and write them back 64 bytes
 * further: the IOMMU translates @iova to @va, for reading and for writing.
 */
static int check_by_dma(struct edu *edu, unsigned char *va, __u64 iova)
{
	memcpy(va, "iommufd!", 8);
	memset(va + 64, 0, 8);
	if (edu_dma(edu->devfd, edu->bar0, iova, EDU_BUFFER, 8, 0) ||
	    edu_dma(edu->devfd, edu->bar0, EDU_BUFFER, iova + 64, 8,
		    EDU_DMA_TO_RAM))
		return -1;
	return memcmp(va + 64, "iommufd!", 8) ? -1 : 0;
}

/* Does the mock domain map the page at @iova to @va? */
static int check_by_mock(unsigned char *va, __u64 iova)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = mock_hwpt,
		.check_map = { .iova = iova, .length = 4096,
			       .uptr = (uintptr_t)va },
	};

	return ioctl(iommufd, IOMMU_TEST_CMD, &cmd);
}

/*
 * The first, middle and last page of a @len mapping of @va at @iova: by
 * edu DMA, or asking the mock driver when @edu is NULL
 */
static int check_range(struct edu *edu, unsigned char *va, __u64 iova,
		       size_t len)
{
	size_t off[] = { 0, len / 2, len - 4096 };
	unsigned int i;

	for (i = 0; i != sizeof(off) / sizeof(off[0]); i++)
		if (edu ? check_by_dma(edu, va + off[i], iova + off[i]) :
			  check_by_mock(va + off[i], iova + off[i]))
			return -1;
	return 0;
}

/* The kernel memory counters the page store can grow, in KiB */
struct kmem {
	long slab_kib, vmalloc_kib, iommu_kib;
};

static long vmstat_pages(const char *key)
{
	char name[128];
	long val;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%127s %ld", name, &val) == 2)
		if (!strcmp(name, key)) {
			fclose(f);
			return val;
		}
	fclose(f);
	return -1;
}

/*
 * The bytes of slab objects in use, over every cache: unlike meminfo's
 * Slab, which grows only when a cache needs new slabs, this also counts
 * objects taken from free room in existing slabs.  -1 without SLUB's sysfs.
 */
static long slab_inuse_kib(void)
{
	const char *base = "/sys/kernel/slab";
	DIR *dir = opendir(base);
	long long bytes = 0;
	struct dirent *d;

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		char path[512];
		long objects, size;
		struct stat st;
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", base, d->d_name);
		/* Aliases are symlinks to the cache they share */
		if (d->d_name[0] == '.' || lstat(path, &st) ||
		    !S_ISDIR(st.st_mode))
			continue;
		snprintf(path, sizeof(path), "%s/%s/objects", base, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		objects = fscanf(f, "%ld", &objects) == 1 ? objects : 0;
		fclose(f);
		snprintf(path, sizeof(path), "%s/%s/slab_size", base, d->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		size = fscanf(f, "%ld", &size) == 1 ? size : 0;
		fclose(f);
		bytes += (long long)objects * size;
	}
	closedir(dir);
	return bytes / 1024;
}

static void kmem_read(struct kmem *k)
{
	k->slab_kib = slab_inuse_kib();
	if (k->slab_kib < 0)
		k->slab_kib = proc_kib("/proc/meminfo", "Slab");
	k->vmalloc_kib = proc_kib("/proc/meminfo", "VmallocUsed");
	k->iommu_kib = vmstat_pages("nr_iommu_pages") * 4;
}

/* ---- /dev/iommu ---- */

static int ioas_alloc(__u32 *id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

	if (ioctl(iommufd, IOMMU_IOAS_ALLOC, &cmd))
		return -1;
	*id = cmd.out_ioas_id;
	return 0;
}

static int ioas_map(__u32 ioas, void *va, size_t len, __u64 iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas, .user_va = (uintptr_t)va, .length = len,
		.iova = iova,
	};

	return ioctl(iommufd, IOMMU_IOAS_MAP, &cmd);
}

static int ioas_unmap(__u32 ioas, __u64 iova, size_t len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
		.length = len,
	};

	return ioctl(iommufd, IOMMU_IOAS_UNMAP, &cmd);
}

/* Bind the @nth edu's cdev to iommufd and attach it to @ioas */
static int edu_attach(int nth, __u32 ioas, struct edu *edu)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = iommufd,
	};
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach), .pt_id = ioas,
	};

	edu->devfd = edu_open_cdev(bdf[nth]);
	if (edu->devfd < 0)
		return -1;
	if (ioctl(edu->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind) ||
	    ioctl(edu->devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) ||
	    edu_prepare_dma(edu->devfd, &edu->bar0)) {
		close(edu->devfd);
		return -1;
	}
	return 0;
}

static void bench_ioas(struct edu *edu, __u32 ioas, const char *kind)
{
	long pinned = vm_pinned_kib();
	char name[32];
	struct kmem k0, k1;
	double t;
	void *va;
	int r;

	snprintf(name, sizeof(name), "%s-%s", prefix, kind);
	va = buffer(big, kind);
	if (!va)
		return skip(name, "no memory of the kind");
	for (r = 0; r != reps; r++) {
		kmem_read(&k0);
		perf_switch(true);
		t = now_ms();
		if (ioas_map(ioas, va, big, IOVA_BASE)) {
			wrong(name, "IOAS_MAP failed");
			break;
		}
		t = now_ms() - t;
		perf_switch(false);
		kmem_read(&k1);
		if (check_range(edu, va, IOVA_BASE, big)) {
			wrong(name, "DMA through the mapping failed");
			break;
		}
		sample(name, "map_ms", t);
		/* Per GiB pinned: the page store and the IOMMU page table */
		sample(name, "store_kib_per_gib",
		       (double)(k1.slab_kib + k1.vmalloc_kib - k0.slab_kib -
				k0.vmalloc_kib) * (1UL << 30) / big);
		sample(name, "iopt_kib_per_gib",
		       (double)(k1.iommu_kib - k0.iommu_kib) * (1UL << 30) /
		       big);
		perf_switch(true);
		t = now_ms();
		if (ioas_unmap(ioas, IOVA_BASE, big)) {
			wrong(name, "IOAS_UNMAP failed");
			break;
		}
		t = now_ms() - t;
		perf_switch(false);
		sample(name, "unmap_ms", t);
		if (vm_pinned_kib() != pinned) {
			wrong(name, "pages left pinned after unmap");
			break;
		}
	}
	ioas_unmap(ioas, 0, UINT64_MAX);
	munmap(va, big);
}

static void bench_small(__u32 ioas, size_t len)
{
	char name[32];
	void *va = buffer(SZ_2M, "4k");
	double t;
	int i, r;

	snprintf(name, sizeof(name), "%s%s-%zuk",
		 strcmp(prefix, "mock") ? "" : "mock-", "small", len >> 10);
	if (!va)
		return wrong(name, "no buffer");
	for (r = 0; r != reps; r++) {
		perf_switch(true);
		t = now_ms();
		for (i = 0; i != small_count; i++)
			if (ioas_map(ioas, va, len, IOVA_BASE) ||
			    ioas_unmap(ioas, IOVA_BASE, len))
				return wrong(name, "map or unmap failed");
		t = now_ms() - t;
		perf_switch(false);
		sample(name, "map_unmap_us", t * 1e3 / small_count);
	}
	munmap(va, SZ_2M);
}

static void bench_copy(struct edu *edu_a, __u32 ioas_a)
{
	struct edu edu_b;
	__u32 ioas_b;
	void *va;
	long pinned;
	double t;
	int r;

	if (ioas_alloc(&ioas_b) || edu_attach(1, ioas_b, &edu_b))
		return wrong("copy", "second IOAS and edu");
	va = buffer(big, "4k");
	if (!va || ioas_map(ioas_a, va, big, IOVA_BASE)) {
		wrong("copy", "source mapping");
		goto out_close;
	}
	for (r = 0; r != reps; r++) {
		struct iommu_ioas_copy cmd = {
			.size = sizeof(cmd),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA |
				 IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.dst_ioas_id = ioas_b, .src_ioas_id = ioas_a,
			.length = big, .dst_iova = IOVA_BASE,
			.src_iova = IOVA_BASE,
		};

		pinned = vm_pinned_kib();
		t = now_ms();
		if (ioctl(iommufd, IOMMU_IOAS_COPY, &cmd)) {
			wrong("copy", "IOAS_COPY failed");
			break;
		}
		t = now_ms() - t;
		if (check_range(&edu_b, va, IOVA_BASE, big)) {
			wrong("copy", "DMA through the copy failed");
			break;
		}
		if (vm_pinned_kib() != pinned) {
			wrong("copy", "the copy pinned the pages again");
			break;
		}
		sample("copy", "copy_ms", t);
		if (ioas_unmap(ioas_b, IOVA_BASE, big)) {
			wrong("copy", "unmap of the copy failed");
			break;
		}
	}
	ioas_unmap(ioas_b, 0, UINT64_MAX);
	ioas_unmap(ioas_a, IOVA_BASE, big);
out_close:
	if (va)
		munmap(va, big);
	close(edu_b.devfd);
}

/* Has the guest @len bytes to spare, with room for everything else? */
static bool memory_for(size_t len)
{
	long avail = proc_kib("/proc/meminfo", "MemAvailable");

	return avail > 0 && (size_t)avail > (len >> 10) + (512UL << 10);
}

/*
 * VM start: IOAS_MAP of anonymous memory nobody has touched, as a VMM maps
 * a new guest's RAM: pinning faults every page in, allocating and zeroing
 * it.  Each sample maps memory of its own, fresh.
 */
static void bench_vmstart(struct edu *edu, __u32 ioas, const char *kind,
			  size_t len, const char *name)
{
	long pinned = vm_pinned_kib();
	int r;

	if (!memory_for(len))
		return skip(name, "not enough guest memory");
	for (r = 0; r != reps; r++) {
		char *raw = mmap(NULL, len + SZ_2M, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				 -1, 0);
		char *va;
		double t;

		if (raw == MAP_FAILED)
			return wrong(name, "no address space");
		va = (char *)(((uintptr_t)raw + SZ_2M - 1) & ~(SZ_2M - 1));
		madvise(va, len, strcmp(kind, "thp") ? MADV_NOHUGEPAGE :
						       MADV_HUGEPAGE);
		perf_switch(true);
		t = now_ms();
		if (ioas_map(ioas, va, len, IOVA_BIG)) {
			wrong(name, "IOAS_MAP failed");
			munmap(raw, len + SZ_2M);
			return;
		}
		t = now_ms() - t;
		perf_switch(false);
		if (vm_pinned_kib() - pinned != (long)(len >> 10))
			wrong(name, "the map did not pin every page once");
		else if (check_range(edu, (unsigned char *)va, IOVA_BIG, len))
			wrong(name, "DMA through the mapping failed");
		if (ioas_unmap(ioas, IOVA_BIG, len))
			wrong(name, "IOAS_UNMAP failed");
		else if (vm_pinned_kib() != pinned)
			wrong(name, "pages left pinned after unmap");
		munmap(raw, len + SZ_2M);
		if (case_wrong)
			return;
		sample(name, "map_ms", t);
		sample(name, "map_ms_per_gib", t * (1UL << 30) / len);
	}
}

/*
 * Scale: map+unmap of @len bytes of 4 KiB pages faulted in order, as
 * cost per GiB, and the page store's memory per GiB: both should not
 * grow with the size.
 */
static void bench_scale(struct edu *edu, __u32 ioas, size_t len,
			const char *name)
{
	long pinned = vm_pinned_kib();
	struct kmem k0, k1;
	double map, unmap;
	void *va;
	int r;

	if (!memory_for(len))
		return skip(name, "not enough guest memory");
	va = buffer(len, "4kseq");
	if (!va)
		return skip(name, "no memory");
	for (r = 0; r != reps; r++) {
		kmem_read(&k0);
		map = now_ms();
		if (ioas_map(ioas, va, len, IOVA_BIG)) {
			wrong(name, "IOAS_MAP failed");
			break;
		}
		map = now_ms() - map;
		kmem_read(&k1);
		if (check_range(edu, va, IOVA_BIG, len)) {
			wrong(name, "DMA through the mapping failed");
			break;
		}
		unmap = now_ms();
		if (ioas_unmap(ioas, IOVA_BIG, len)) {
			wrong(name, "IOAS_UNMAP failed");
			break;
		}
		unmap = now_ms() - unmap;
		if (vm_pinned_kib() != pinned) {
			wrong(name, "pages left pinned after unmap");
			break;
		}
		sample(name, "ms_per_gib", (map + unmap) * (1UL << 30) / len);
		sample(name, "store_kib_per_gib",
		       (double)(k1.slab_kib + k1.vmalloc_kib - k0.slab_kib -
				k0.vmalloc_kib) * (1UL << 30) / len);
	}
	ioas_unmap(ioas, 0, UINT64_MAX);
	munmap(va, len);
}

/* ---- /dev/vfio/vfio ---- */

struct container {
	int fd, group;
	struct edu edu;
};

/* The second edu through its group, in a container of @type */
static int container_open(struct container *c, unsigned long type)
{
	c->fd = open("/dev/vfio/vfio", O_RDWR);
	c->group = edu_open_group(bdf[1]);
	if (c->fd < 0 || c->group < 0 ||
	    ioctl(c->group, VFIO_GROUP_SET_CONTAINER, &c->fd) ||
	    ioctl(c->fd, VFIO_SET_IOMMU, type))
		goto err;
	c->edu.devfd = ioctl(c->group, VFIO_GROUP_GET_DEVICE_FD, bdf[1]);
	if (c->edu.devfd < 0)
		goto err;
	if (edu_prepare_dma(c->edu.devfd, &c->edu.bar0)) {
		close(c->edu.devfd);
		goto err;
	}
	return 0;
err:
	if (c->group >= 0)
		close(c->group);
	if (c->fd >= 0)
		close(c->fd);
	return -1;
}

static void container_close(struct container *c)
{
	close(c->edu.devfd);
	close(c->group);
	close(c->fd);
}

static int dma_map(struct container *c, void *va, size_t len, __u64 iova)
{
	struct vfio_iommu_type1_dma_map cmd = {
		.argsz = sizeof(cmd),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va, .iova = iova, .size = len,
	};

	return ioctl(c->fd, VFIO_IOMMU_MAP_DMA, &cmd);
}

/* Unmap exactly [@iova, @iova + @len): DPDK checks the size it gets back */
static int dma_unmap(struct container *c, __u64 iova, size_t len)
{
	struct vfio_iommu_type1_dma_unmap cmd = {
		.argsz = sizeof(cmd), .iova = iova, .size = len,
	};

	if (ioctl(c->fd, VFIO_IOMMU_UNMAP_DMA, &cmd))
		return -1;
	return cmd.size == len ? 0 : -1;
}

/*
 * DPDK 22.11's legacy-container pattern: one MAP_DMA per 2 MiB hugepage.
 * Guest memory is short, so 4096 IOVAs share a smaller set of hugepages.
 */
static void bench_dpdk(void)
{
	size_t npages = 64;
	struct container c;
	char *va;
	double t;
	int i, r;

	if (dpdk_maps < (int)npages)
		npages = dpdk_maps;
	va = buffer(npages * SZ_2M, "hugetlb");
	if (!va)
		return skip("compat-dpdk", "no hugepages");
	if (container_open(&c, VFIO_TYPE1_IOMMU)) {
		wrong("compat-dpdk", "TYPE1 container");
		goto out_free;
	}
	for (r = 0; r != reps; r++) {
		t = now_ms();
		for (i = 0; i != dpdk_maps; i++)
			if (dma_map(&c, va + (i % npages) * SZ_2M, SZ_2M,
				    IOVA_DPDK + i * SZ_2M)) {
				wrong("compat-dpdk", "MAP_DMA failed");
				goto out_close;
			}
		t = now_ms() - t;
		i = dpdk_maps - 1;
		if (check_by_dma(&c.edu, (unsigned char *)va +
				 (i % npages) * SZ_2M + 4096,
				 IOVA_DPDK + i * SZ_2M + 4096)) {
			wrong("compat-dpdk", "DMA through a mapping failed");
			goto out_close;
		}
		sample("compat-dpdk", "map_ms", t);
		t = now_ms();
		for (i = 0; i != dpdk_maps; i++)
			if (dma_unmap(&c, IOVA_DPDK + i * SZ_2M, SZ_2M)) {
				wrong("compat-dpdk", "UNMAP_DMA failed");
				goto out_close;
			}
		sample("compat-dpdk", "unmap_ms", now_ms() - t);
	}
out_close:
	container_close(&c);
out_free:
	munmap(va, npages * SZ_2M);
}

/* QEMU's legacy pattern: TYPE1v2, one large RAM block */
static void bench_compat_v2(void)
{
	struct container c;
	void *va = buffer(big, "4k");
	double t;
	int r;

	if (!va)
		return wrong("compat-v2-4k", "no buffer");
	if (container_open(&c, VFIO_TYPE1v2_IOMMU)) {
		wrong("compat-v2-4k", "TYPE1v2 container");
		goto out_free;
	}
	for (r = 0; r != reps; r++) {
		t = now_ms();
		if (dma_map(&c, va, big, IOVA_BASE)) {
			wrong("compat-v2-4k", "MAP_DMA failed");
			break;
		}
		t = now_ms() - t;
		if (check_range(&c.edu, va, IOVA_BASE, big)) {
			wrong("compat-v2-4k", "DMA through the mapping failed");
			break;
		}
		sample("compat-v2-4k", "map_ms", t);
		t = now_ms();
		if (dma_unmap(&c, IOVA_BASE, big)) {
			wrong("compat-v2-4k", "UNMAP_DMA failed");
			break;
		}
		sample("compat-v2-4k", "unmap_ms", now_ms() - t);
	}
	container_close(&c);
out_free:
	munmap(va, big);
}

/* ---- the floor ---- */

static void bench_floor(const char *kind)
{
	int fd = open("/dev/iommufd_bench_floor", O_RDWR);
	char name[32];
	void *va;
	int r;

	snprintf(name, sizeof(name), "floor-%s", kind);
	if (fd < 0)
		return skip(name, "no floor module");
	va = buffer(big, kind);
	if (!va) {
		skip(name, "no memory of the kind");
		close(fd);
		return;
	}
	for (r = 0; r != reps; r++) {
		struct bench_floor_run run = {
			.uaddr = (uintptr_t)va, .length = big,
			.iova = IOVA_BASE,
		};

		if (ioctl(fd, BENCH_FLOOR_RUN, &run)) {
			wrong(name, "BENCH_FLOOR_RUN failed");
			break;
		}
		sample(name, "map_ms", (run.pin_ns + run.map_ns) / 1e6);
		sample(name, "unmap_ms", (run.unmap_ns + run.unpin_ns) / 1e6);
		sample(name, "pin_ms", run.pin_ns / 1e6);
		sample(name, "iommu_maps", run.nr_maps);
	}
	munmap(va, big);
	close(fd);
}

/*
 * The run is planned before it starts: a first pass with @counting set
 * only counts the cases wanted, for the KTAP plan, and runs nothing.
 */
static bool counting;
static int planned;

/* Is case @name to run now?  (While counting: count it, run nothing.) */
static bool take(const char *name)
{
	if (!wanted(name))
		return false;
	if (counting) {
		planned++;
		return false;
	}
	return true;
}

static const char * const kinds[] = { "4k", "thp", "hugetlb" };

/* The /dev/iommu cases on a mock domain: no edu, no container */
static void mock_cases(__u32 ioas)
{
	char name[32];
	unsigned int k;

	for (k = 0; k != 3; k++) {
		snprintf(name, sizeof(name), "mock-%s", kinds[k]);
		if (take(name)) {
			bench_ioas(NULL, ioas, kinds[k]);
			end_case(name);
		}
	}
	if (take("mock-small-4k")) {
		bench_small(ioas, 4096);
		end_case("mock-small-4k");
	}
	if (take("mock-small-64k")) {
		bench_small(ioas, 65536);
		end_case("mock-small-64k");
	}
}

/* The /dev/iommu cases on the first edu's VT-d domain */
static void ioas_cases(struct edu *edu, __u32 ioas)
{
	static const char * const vmstart_kinds[] = { "4k", "thp" };
	char name[32];
	unsigned int k, i;

	for (k = 0; k != 3; k++) {
		snprintf(name, sizeof(name), "ioas-%s", kinds[k]);
		if (take(name)) {
			bench_ioas(edu, ioas, kinds[k]);
			end_case(name);
		}
	}
	/* 4 KiB pages again, faulted in order: mostly consecutive */
	if (take("ioas-4kseq")) {
		bench_ioas(edu, ioas, "4kseq");
		end_case("ioas-4kseq");
	}
	if (take("small-4k")) {
		bench_small(ioas, 4096);
		end_case("small-4k");
	}
	if (take("small-64k")) {
		bench_small(ioas, 65536);
		end_case("small-64k");
	}
	if (take("copy")) {
		bench_copy(edu, ioas);
		end_case("copy");
	}
	for (k = 0; k != 2; k++) {
		for (i = 0; i != 2; i++) {
			snprintf(name, sizeof(name), "vmstart-%s-%s",
				 vmstart_kinds[k], size_name(vmstart_sizes[i]));
			if (take(name)) {
				bench_vmstart(edu, ioas, vmstart_kinds[k],
					      vmstart_sizes[i], name);
				end_case(name);
			}
		}
	}
	for (i = 0; i != 4; i++) {
		snprintf(name, sizeof(name), "scale-4k-%s",
			 size_name(scale_sizes[i]));
		if (take(name)) {
			bench_scale(edu, ioas, scale_sizes[i], name);
			end_case(name);
		}
	}
}

/* The container cases, and the floor */
static void compat_cases(void)
{
	char name[32];
	unsigned int k;

	if (take("compat-dpdk")) {
		bench_dpdk();
		end_case("compat-dpdk");
	}
	if (take("compat-v2-4k")) {
		bench_compat_v2();
		end_case("compat-v2-4k");
	}
	for (k = 0; k != 3; k++) {
		snprintf(name, sizeof(name), "floor-%s", kinds[k]);
		if (take(name)) {
			bench_floor(kinds[k]);
			end_case(name);
		}
	}
}

static int bench_mock(void)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};
	__u32 ioas;

	iommufd = open("/dev/iommu", O_RDWR);
	if (iommufd < 0 || ioas_alloc(&ioas))
		return wrong("setup", "no /dev/iommu"), 1;
	cmd.id = ioas;
	if (ioctl(iommufd, IOMMU_TEST_CMD, &cmd))
		return wrong("setup", "no mock domain"), 1;
	mock_hwpt = cmd.mock_domain.out_hwpt_id;
	printf("bench: size big_mib %zu\n", big >> 20);
	mock_cases(ioas);
	close(iommufd);
	printf("bench: done\n");
	return 0;
}

int main(int argc, char **argv)
{
	bool compat_only = false, mock = false;
	int i, k, ioas_planned;
	struct edu edu;
	__u32 ioas;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			big = 64UL << 20;
			reps = 1;
			small_count = 2000;
			dpdk_maps = 256;
			for (k = 0; k != 2; k++)
				vmstart_sizes[k] = 64UL << (20 + k);
			for (k = 0; k != 4; k++)
				scale_sizes[k] = 64UL << (20 + k);
		} else if (!strcmp(argv[i], "--compat-only")) {
			compat_only = true;
		} else if (!strcmp(argv[i], "--ktap")) {
			ktap = true;
		} else if (!strcmp(argv[i], "--mock")) {
			mock = true;
			prefix = "mock";
		} else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
			only = argv[++i];
		} else {
			fprintf(stderr,
				"usage: bench [--quick] [--compat-only | --mock] [--only CASE,...] [--ktap]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	perf_ctl_open();
	counting = true;
	if (mock) {
		mock_cases(0);
	} else {
		if (!compat_only)
			ioas_cases(NULL, 0);
		ioas_planned = planned;
		compat_cases();
	}
	counting = false;
	if (ktap)
		printf("TAP version 13\n1..%d\n", planned);
	if (mock)
		return bench_mock();
	for (i = 0; i != 2; i++)
		if (edu_find(i, bdf[i], sizeof(bdf[i])) ||
		    edu_bind_vfio_pci(bdf[i]))
			return printf("bench: WRONG setup no edu %d\n", i), 1;
	printf("bench: size big_mib %zu\n", big >> 20);

	if (ioas_planned) {
		iommufd = open("/dev/iommu", O_RDWR);
		if (iommufd < 0 || ioas_alloc(&ioas) ||
		    edu_attach(0, ioas, &edu))
			return wrong("setup", "edu on an IOAS"), 1;
		ioas_cases(&edu, ioas);
		close(edu.devfd);
		close(iommufd);
	}
	compat_cases();
	printf("bench: done\n");
	return 0;
}
