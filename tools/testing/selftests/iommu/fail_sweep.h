/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The machinery of the fail-nth sweeps (iommufd_fail_sweep on the mock,
 * vfio_device_fail_sweep on a real device behind VT-d).
 *
 * A scenario is a complete sequence of calls on a fresh /dev/iommu (and
 * whatever other files it opens and registers with run_add_fd()),
 * returning 0 or the first -errno.  sweep() runs it with the task's
 * fail-nth set to n = 1, 2, ... so that the n-th fault injection point it
 * reaches (slab, page allocator, or iommufd's own fail_iommufd points)
 * fails, until a run reaches fewer than n points.  Every run, with
 * injection disarmed afterwards, must leave after closing its files:
 *  - no page of any buffer the scenario used pinned (MD_CHECK_REFS 0,
 *    asked on another /dev/iommu);
 *  - VmPin in /proc/self/status where it was before the run.
 * A run in which a failure was injected may fail with any errno; the run
 * that reaches no injection must succeed.
 *
 * Scenarios must not fault in new memory of their own while armed: a
 * failed user page fault is an OOM, not an errno.  They use bufs[] and
 * scratch, faulted in by the fixture, and paths computed beforehand.
 *
 * The debugfs attributes failslab, fail_page_alloc and fail_iommufd are
 * set to fire always (probability 100, interval 1, times -1) but only for
 * tasks with make-it-fail set (task-filter Y), which this one is not, so
 * only fail-nth fires; their previous values are restored afterwards.
 * A program that sets sweep_spares_acpica, where the kernel has the
 * stack-trace filter, has ACPICA's text rejected (see acpica_start below):
 * points inside it are neither failed nor counted.
 *
 * Environment: IOMMUFD_FAIL_NTH_MAX (default 2000) caps n per scenario;
 * reaching the cap fails the test.  IOMMUFD_FAIL_NTH_STEP (default 1)
 * fails only every step-th point, for a quicker, partial sweep.
 */
#ifndef __SELFTEST_IOMMU_FAIL_SWEEP_H
#define __SELFTEST_IOMMU_FAIL_SWEEP_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "vm_pinned.h"
#include "uapi_calls.h"

#define NBUF 4
#define BUF_PAGES 8
#define MAX_RUN_FDS 8
#define DEFAULT_MAX_NTH 2000
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | RW)
#define DEBUGFS "/sys/kernel/debug"

/* One run of a scenario: its /dev/iommu and the other files it opened */
struct run {
	int fd;
	int nfds;
	int fds[MAX_RUN_FDS];
	int nth_fd;	/* the armed countdown (run_disarm()) */
};

typedef int (*scenario_t)(struct run *r);

static size_t psize;
static size_t buf_len;
/* Memory a scenario may map or pin; all of it is checked after each run */
static void *bufs[NBUF];
/* Unpinned memory for ioctl inputs and outputs, faulted in beforehand */
static void *scratch;
/* Injection points of all the tests, shared by their processes */
static unsigned long *total_points;

static void run_add_fd(struct run *r, int fd)
{
	if (r->nfds < MAX_RUN_FDS)
		r->fds[r->nfds++] = fd;
	else
		close(fd);
}

static void run_close(struct run *r)
{
	int i;

	for (i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	r->nfds = 0;
	close(r->fd);
	r->fd = -1;
}

static int map(int fd, __u32 ioas_id, __u32 flags, void *va, __u64 len,
	       __u64 *iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = flags, .ioas_id = ioas_id,
		.user_va = (uintptr_t)va, .length = len, .iova = *iova,
	};
	int ret = do_ioctl(fd, IOMMU_IOAS_MAP, &cmd);

	*iova = cmd.iova;
	return ret;
}

static int map_fixed(int fd, __u32 ioas_id, void *va, __u64 len, __u64 iova)
{
	return map(fd, ioas_id, FIXED_RW, va, len, &iova);
}

static int unmap(int fd, __u32 ioas_id, __u64 iova, __u64 len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas_id, .iova = iova,
		.length = len,
	};

	return do_ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
}

static int copy(int fd, __u32 dst_id, __u64 dst_iova, __u32 src_id,
		__u64 src_iova, __u64 len)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd), .flags = FIXED_RW, .dst_ioas_id = dst_id,
		.src_ioas_id = src_id, .length = len, .dst_iova = dst_iova,
		.src_iova = src_iova,
	};

	return do_ioctl(fd, IOMMU_IOAS_COPY, &cmd);
}

static int hwpt_alloc(int fd, __u32 flags, __u32 dev_id, __u32 pt_id,
		      __u32 fault_id, const void *data, __u32 *id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev_id,
		.pt_id = pt_id, .fault_id = fault_id,
	};
	int ret;

	if (data) {
		cmd.data_type = IOMMU_HWPT_DATA_SELFTEST;
		cmd.data_len = sizeof(struct iommu_hwpt_selftest);
		cmd.data_uptr = (uintptr_t)data;
	}
	ret = do_ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);
	*id = cmd.out_hwpt_id;
	return ret;
}

/* A file-backed scenario's file, mapped here to check its pins */
static void *file_va;

/* 0 when no page of any buffer is pinned, else the first -errno */
static int check_bufs_unpinned(int check_fd)
{
	int i, ret;

	if (file_va) {
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_REFS,
			.check_refs = { .length = buf_len,
					.uptr = (uintptr_t)file_va,
					.refs = 0 },
		};

		ret = do_ioctl(check_fd, IOMMU_TEST_CMD, &cmd);
		if (ret)
			return ret;
	}

	for (i = 0; i < NBUF; i++) {
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_REFS,
			.check_refs = { .length = buf_len,
					.uptr = (uintptr_t)bufs[i],
					.refs = 0 },
		};

		ret = do_ioctl(check_fd, IOMMU_TEST_CMD, &cmd);
		if (ret)
			return ret;
	}
	return 0;
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) +
	       (now.tv_nsec - start->tv_nsec) / 1e9;
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

struct fi_attr {
	const char *path;
	const char *value;
	char saved[64];
	bool was_set;
};

#define FI(dir, name, val) { DEBUGFS "/" dir "/" name, val }

/*
 * The text of the ACPI interpreter (ACPICA), as hex addresses, which no
 * injected failure may have on its stack; 0 to 0 when unknown.  Enabling
 * a PCI device evaluates _PRT, and 6.12's ACPICA, failing an allocation in
 * acpi_ut_update_ref_count() ("Could not update object reference count"),
 * frees a namespace object that is still in use: a base-tree bug outside
 * iommufd that the device sweeps would otherwise trip over.
 */
static char acpica_start[24] = "0", acpica_end[24] = "0";
/*
 * Set by a program whose scenarios reach ACPI.  Costly: every allocation
 * of the armed task then takes a stack trace (of the first 16 frames,
 * enough to reach ACPICA from the allocator).
 */
static bool sweep_spares_acpica;

static struct fi_attr fi_attrs[] = {
	FI("failslab", "probability", "100"),
	FI("failslab", "interval", "1"),
	FI("failslab", "times", "-1"),
	FI("failslab", "space", "0"),
	FI("failslab", "verbose", "0"),
	FI("failslab", "task-filter", "Y"),
	FI("failslab", "ignore-gfp-wait", "N"),
	FI("failslab", "stacktrace-depth", "16"),
	FI("failslab", "reject-start", acpica_start),
	FI("failslab", "reject-end", acpica_end),
	FI("fail_page_alloc", "probability", "100"),
	FI("fail_page_alloc", "interval", "1"),
	FI("fail_page_alloc", "times", "-1"),
	FI("fail_page_alloc", "space", "0"),
	FI("fail_page_alloc", "verbose", "0"),
	FI("fail_page_alloc", "task-filter", "Y"),
	FI("fail_page_alloc", "ignore-gfp-wait", "N"),
	FI("fail_page_alloc", "ignore-gfp-highmem", "N"),
	FI("fail_page_alloc", "min-order", "0"),
	FI("fail_page_alloc", "stacktrace-depth", "16"),
	FI("fail_page_alloc", "reject-start", acpica_start),
	FI("fail_page_alloc", "reject-end", acpica_end),
	FI("fail_iommufd", "probability", "100"),
	FI("fail_iommufd", "interval", "1"),
	FI("fail_iommufd", "times", "-1"),
	FI("fail_iommufd", "space", "0"),
	FI("fail_iommufd", "verbose", "0"),
	FI("fail_iommufd", "task-filter", "Y"),
};

static bool acpica_symbol(const char *name)
{
	static const char *const prefixes[] = {
		"acpi_ds_", "acpi_ev_", "acpi_ex_", "acpi_hw_", "acpi_ns_",
		"acpi_ps_", "acpi_rs_", "acpi_tb_", "acpi_ut_",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* The address of symbol @want in /proc/kallsyms, 0 if not found */
static unsigned long long kallsyms_addr(FILE *f, const char *want)
{
	char line[512], type, name[256];
	unsigned long long addr;

	rewind(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
		    !strcmp(name, want))
			return addr;
	return 0;
}

/*
 * Find ACPICA's text in /proc/kallsyms: from its lowest function to the
 * first function above its highest (ACPICA links as one directory, so
 * nothing else lies in between).  Only the kernel's main text counts:
 * ACPICA's __init functions sit far above it.  Return: true when found.
 */
static bool acpica_find_text(void)
{
	unsigned long long lo = ~0ULL, hi = 0, end, addr, stext, etext;
	char line[512], type, name[256];
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return false;
	stext = kallsyms_addr(f, "_stext");
	etext = kallsyms_addr(f, "_etext");
	end = etext;
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 ||
		    (type != 't' && type != 'T') || addr < stext ||
		    addr >= etext || !acpica_symbol(name))
			continue;
		lo = addr < lo ? addr : lo;
		hi = addr > hi ? addr : hi;
	}
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3 ||
		    (type != 't' && type != 'T'))
			continue;
		if (addr > hi && addr < end)
			end = addr;
	}
	fclose(f);
	/* ACPICA is about half a megabyte: more would be a wrong guess */
	if (!stext || lo >= hi || end - lo > (2ULL << 20))
		return false;
	snprintf(acpica_start, sizeof(acpica_start), "0x%llx", lo);
	snprintf(acpica_end, sizeof(acpica_end), "0x%llx", end);
	return true;
}

/* Is ACPICA excluded from injection (the stack-trace filter is built)? */
static bool acpica_rejected(void)
{
	struct stat st;

	return strcmp(acpica_end, "0") &&
	       !stat(DEBUGFS "/failslab/reject-end", &st);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static int read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/*
 * Task-filter first, probability last: no moment in which every task
 * could see injected failures.
 */
static void fi_configure(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fi_attrs); i++) {
		struct fi_attr *a = &fi_attrs[i];

		a->was_set = false;
		if (read_str(a->path, a->saved, sizeof(a->saved)))
			continue;
		a->saved[strcspn(a->saved, "\n")] = 0;
		a->was_set = true;
	}
	for (i = 0; i < ARRAY_SIZE(fi_attrs); i++)
		if (fi_attrs[i].was_set &&
		    strstr(fi_attrs[i].path, "task-filter"))
			write_str(fi_attrs[i].path, fi_attrs[i].value);
	for (i = 0; i < ARRAY_SIZE(fi_attrs); i++)
		if (fi_attrs[i].was_set)
			write_str(fi_attrs[i].path, fi_attrs[i].value);
}

/* The reverse: probability first, task-filter last */
static void fi_restore(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fi_attrs); i++)
		if (fi_attrs[i].was_set &&
		    strstr(fi_attrs[i].path, "probability"))
			write_str(fi_attrs[i].path, fi_attrs[i].saved);
	for (i = ARRAY_SIZE(fi_attrs); i-- > 0;)
		if (fi_attrs[i].was_set)
			write_str(fi_attrs[i].path, fi_attrs[i].saved);
}

static int nth_set(int nth_fd, unsigned long n)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%lu", n);

	return pwrite(nth_fd, buf, len, 0) == len ? 0 : -errno;
}

/* The fail-nth countdown left: 0 once the failure was injected */
static long nth_get(int nth_fd)
{
	char buf[32];
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

/*
 * Stop the countdown for a scenario's setup whose points are swept
 * elsewhere: what was left of it (run_rearm() sets it again), or -1.
 */
static long run_disarm(struct run *r)
{
	long left = nth_get(r->nth_fd);

	return left > 0 && !nth_set(r->nth_fd, 0) ? left : -1;
}

static int run_rearm(struct run *r, long left)
{
	return nth_set(r->nth_fd, left);
}

static void *alloc_buf(size_t len, int fill)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* MD_CHECK_REFS cannot see into huge pages */
	madvise(p, len, MADV_NOHUGEPAGE);
	memset(p, fill, len);
	return p;
}

FIXTURE(sweep) {
	int nth_fd;
	int check_fd;
	bool configured;
};

FIXTURE_SETUP(sweep)
{
	struct stat st;
	int i, ret;

	self->nth_fd = -1;
	self->check_fd = -1;
	self->configured = false;
	psize = sysconf(_SC_PAGESIZE);
	buf_len = BUF_PAGES * psize;
	for (i = 0; i < NBUF; i++) {
		bufs[i] = alloc_buf(buf_len, 0x11 * (i + 1));
		ASSERT_NE(NULL, bufs[i]);
	}
	scratch = alloc_buf(4 * psize, 0xff);
	ASSERT_NE(NULL, scratch);

	self->check_fd = open("/dev/iommu", O_RDWR);
	if (self->check_fd < 0 && errno == ENOENT)
		SKIP(return, "no /dev/iommu");
	ASSERT_LE(0, self->check_fd);
	ret = check_bufs_unpinned(self->check_fd);
	if (ret == -ENOTTY || ret == -EOPNOTSUPP)
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	ASSERT_EQ(0, ret);

	if (stat(DEBUGFS "/fail_iommufd", &st))
		mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	if (stat(DEBUGFS "/fail_iommufd", &st))
		SKIP(return, "no %s/fail_iommufd", DEBUGFS);
	self->nth_fd = open("/proc/thread-self/fail-nth", O_RDWR);
	if (self->nth_fd < 0)
		SKIP(return, "no fail-nth (CONFIG_FAULT_INJECTION=n)");
	if (sweep_spares_acpica)
		acpica_find_text();
	fi_configure();
	self->configured = true;
}

FIXTURE_TEARDOWN(sweep)
{
	if (self->nth_fd >= 0) {
		nth_set(self->nth_fd, 0);
		close(self->nth_fd);
	}
	if (self->configured)
		fi_restore();
	if (self->check_fd >= 0)
		close(self->check_fd);
}

/*
 * Run @fn with the n-th injection point failing, for n = 1 to @dense, then
 * every @stride points (at least IOMMUFD_FAIL_NTH_STEP apart), until a run
 * reaches no injection.  Returns how many points there were.
 */
static unsigned long sweep_thinned(struct __test_metadata *_metadata,
				   int nth_fd, int check_fd, scenario_t fn,
				   unsigned long dense, unsigned long stride)
{
	unsigned long max = env_ulong("IOMMUFD_FAIL_NTH_MAX", DEFAULT_MAX_NTH);
	unsigned long step = env_ulong("IOMMUFD_FAIL_NTH_STEP", 1);
	unsigned long n, runs = 0;
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	if (!step)
		step = 1;
	if (stride < step)
		stride = step;
	for (n = 1; n <= max; n += n < dense ? step : stride) {
		long pinned = vm_pinned_kib();
		struct run r = {
			.fd = open("/dev/iommu", O_RDWR), .nth_fd = nth_fd,
		};
		long left;
		int ret;

		ASSERT_LE(0, r.fd);
		ASSERT_LE(0, pinned);

		ASSERT_EQ(0, nth_set(nth_fd, n));
		ret = fn(&r);
		left = nth_get(nth_fd);
		runs++;
		ASSERT_EQ(0, nth_set(nth_fd, 0));

		run_close(&r);
		ASSERT_LE(0, left);
		ASSERT_EQ(0, check_bufs_unpinned(check_fd))
			TH_LOG("pages left pinned after failing point %lu (%d)",
			       n, ret);
		ASSERT_EQ(pinned, vm_pinned_kib())
			TH_LOG("VmPin changed after failing point %lu (%d)",
			       n, ret);
		if (left) {
			/* The run reached n - left points, none failing */
			ASSERT_EQ(0, ret)
				TH_LOG("failed with nothing injected (%lu)", n);
			ksft_print_msg("%s: %lu injection points, %lu failed (%s), %.1f s\n",
				       _metadata->name, n - left, runs - 1,
				       dense || stride > 1 ? "thinned" :
							     "a run each",
				       seconds_since(&start));
			__atomic_add_fetch(total_points, n - left,
					   __ATOMIC_RELAXED);
			return n - left;
		}
	}
	ASSERT_TRUE(false)
		TH_LOG("more than %lu injection points (IOMMUFD_FAIL_NTH_MAX)",
		       max);
	return 0;
}

/* Every injection point (every IOMMUFD_FAIL_NTH_STEP-th) */
static unsigned long sweep(struct __test_metadata *_metadata, int nth_fd,
			   int check_fd, scenario_t fn)
{
	return sweep_thinned(_metadata, nth_fd, check_fd, fn, 0, 1);
}

#define SWEEP_TIMEOUT 600

/* The main() of a sweep program: the tests, then the sum of their points */
static int sweep_main(int argc, char **argv)
{
	int ret;

	total_points = mmap(NULL, sizeof(*total_points),
			    PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (total_points == MAP_FAILED)
		return KSFT_FAIL;
	*total_points = 0;
	ret = test_harness_run(argc, argv);
	ksft_print_msg("total: %lu injection points swept\n",
		       __atomic_load_n(total_points, __ATOMIC_RELAXED));
	return ret;
}
#endif
