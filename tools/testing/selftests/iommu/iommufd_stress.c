// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrent use of one iommufd context neither crashes the kernel nor
 * leaks a pin.
 *
 * Several threads share one /dev/iommu and, for a while, issue random
 * (seeded, so reproducible in their choices if not in their interleaving)
 * operations on shared objects: maps and unmaps, fixed and automatic IOVA,
 * on a shared IOAS; IOAS_COPY into a second IOAS; IOMMU_DESTROY of ids
 * other threads are using; IOMMU_OPTION huge page toggles; mock devices
 * created, replaced between IOASes and HWPTs, destroyed; HWPTs allocated;
 * in-kernel accesses created, pinning and reading, destroyed; unmap-all.
 * Any errno is an acceptable result.  What is specified:
 *  - no thread crashes;
 *  - once the threads are joined and every file closed, no page of any
 *    buffer is pinned (MD_CHECK_REFS 0) and VmPin in /proc/self/status is
 *    back where it was;
 *  - a process made by fork() sharing the file may do the same at once;
 *  - closing the file while threads still issue ioctls on it is safe, and
 *    every ioctl issued after close() returned fails with EBADF;
 *  - IOMMU_IOAS_CHANGE_PROCESS in forked children, racing file mappings
 *    that accumulate to thousands and mock domains that come and go,
 *    leaves lockdep on and nothing of the file pinned.
 *
 * Half the buffers are MAP_SHARED, so the pins a forked child takes on
 * them are visible to the parent's check.
 *
 * Environment: IOMMUFD_STRESS_SECONDS (default 10, at most 500) per test,
 * IOMMUFD_STRESS_SEED (default 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <linux/iommufd.h>

#include "kselftest_harness.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "lockdep_state.h"
#include "vm_pinned.h"

#define NTHREADS 4
#define NBUF 8
#define BUF_PAGES 16
#define NSLOTS 32
#define POOL 16
#define MAX_SECONDS 500
#define STRESS_TIMEOUT 1200
#define CALLS_AFTER_CLOSE 64
#define APERTURE ((__u64)MOCK_APERTURE_START)
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define FIXED_RW (IOMMU_IOAS_MAP_FIXED_IOVA | RW)

/* What the workers share; in MAP_SHARED memory for the fork test */
struct shared {
	int fd;
	bool no_fds;		/* create no files: the close test */
	int closed;		/* set once close(fd) has returned */
	__u64 deadline_ns;
	__u32 ioas[2];
	__u32 stdev[POOL];
	__u32 idev[POOL];
	__u32 hwpt[POOL];
	unsigned long calls;
	unsigned long bad_after_close;
};

struct worker {
	pthread_t thread;
	struct shared *sh;
	__u64 rng;
	unsigned long calls;
	int after_close;
};

static size_t psize;
static size_t buf_len;
static size_t slot_len;
static void *bufs[NBUF];

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* xorshift64*: reproducible choices from a seed */
static __u64 rnd(struct worker *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 0x2545f4914f6cdd1dULL;
}

static __u32 rnd_below(struct worker *w, __u32 n)
{
	return (rnd(w) >> 32) % n;
}

static __u32 load32(__u32 *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* Put @id into an empty slot of @pool; false when full */
static bool pool_put(__u32 *pool, __u32 id)
{
	int i;

	for (i = 0; i < POOL; i++) {
		__u32 empty = 0;

		if (__atomic_compare_exchange_n(&pool[i], &empty, id, false,
						__ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE))
			return true;
	}
	return false;
}

static __u32 pool_pick(struct worker *w, __u32 *pool)
{
	return load32(&pool[rnd_below(w, POOL)]);
}

static __u32 pool_take(struct worker *w, __u32 *pool)
{
	return __atomic_exchange_n(&pool[rnd_below(w, POOL)], 0,
				   __ATOMIC_ACQ_REL);
}

/*
 * Every ioctl of a worker: counts it and, once the file is known closed,
 * checks it fails with EBADF.
 */
static int wioctl(struct worker *w, unsigned long cmd, void *arg)
{
	struct shared *sh = w->sh;
	bool closed = __atomic_load_n(&sh->closed, __ATOMIC_ACQUIRE);
	int ret = ioctl(sh->fd, cmd, arg) < 0 ? -errno : 0;

	w->calls++;
	if (closed) {
		w->after_close++;
		if (ret != -EBADF)
			__atomic_add_fetch(&sh->bad_after_close, 1,
					   __ATOMIC_RELAXED);
	}
	return ret;
}

static int destroy(struct worker *w, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return wioctl(w, IOMMU_DESTROY, &cmd);
}

static __u32 pick_ioas(struct worker *w)
{
	return load32(&w->sh->ioas[rnd_below(w, 4) == 0]);
}

/* A page-aligned piece of a random buffer */
static void *pick_va(struct worker *w, __u64 *len)
{
	__u32 first = rnd_below(w, BUF_PAGES);
	__u32 npages = 1 + rnd_below(w, BUF_PAGES - first);

	*len = npages * psize;
	return (char *)bufs[rnd_below(w, NBUF)] + first * psize;
}

static __u64 pick_slot_iova(struct worker *w)
{
	return APERTURE + rnd_below(w, NSLOTS) * slot_len;
}

static void op_map(struct worker *w, bool fixed)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd), .flags = fixed ? FIXED_RW : RW,
		.ioas_id = pick_ioas(w),
	};

	cmd.user_va = (uintptr_t)pick_va(w, &cmd.length);
	if (fixed)
		cmd.iova = pick_slot_iova(w);
	wioctl(w, IOMMU_IOAS_MAP, &cmd);
}

static void op_unmap(struct worker *w, bool all)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = pick_ioas(w),
	};

	if (all) {
		cmd.length = UINT64_MAX;
	} else {
		cmd.iova = pick_slot_iova(w);
		cmd.length = slot_len * (1 + rnd_below(w, 4));
	}
	wioctl(w, IOMMU_IOAS_UNMAP, &cmd);
}

static void op_copy(struct worker *w)
{
	struct iommu_ioas_copy cmd = {
		.size = sizeof(cmd), .flags = RW,
		.src_ioas_id = load32(&w->sh->ioas[0]),
		.dst_ioas_id = load32(&w->sh->ioas[1]),
		.src_iova = pick_slot_iova(w),
		.length = psize * (1 + rnd_below(w, BUF_PAGES)),
	};

	if (rnd_below(w, 2)) {
		cmd.flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
		cmd.dst_iova = pick_slot_iova(w);
	}
	wioctl(w, IOMMU_IOAS_COPY, &cmd);
}

static void op_destroy_any(struct worker *w)
{
	struct shared *sh = w->sh;
	__u32 id;
	int k;

	switch (rnd_below(w, 5)) {
	case 0:
		k = rnd_below(w, 2);
		id = load32(&sh->ioas[k]);
		if (!destroy(w, id)) {
			struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };

			/* Replace the shared IOAS for everyone */
			if (!wioctl(w, IOMMU_IOAS_ALLOC, &cmd) &&
			    !__atomic_compare_exchange_n(&sh->ioas[k], &id,
							 cmd.out_ioas_id,
							 false,
							 __ATOMIC_ACQ_REL,
							 __ATOMIC_ACQUIRE))
				destroy(w, cmd.out_ioas_id);
		}
		return;
	case 1:
		destroy(w, pool_pick(w, sh->stdev));
		return;
	case 2:
		destroy(w, pool_pick(w, sh->hwpt));
		return;
	case 3:
		destroy(w, pool_pick(w, sh->idev));
		return;
	default:
		destroy(w, rnd_below(w, 64));
		return;
	}
}

static void op_huge_pages(struct worker *w)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = rnd_below(w, 4) ? IOMMU_OPTION_OP_SET :
					IOMMU_OPTION_OP_GET,
		.object_id = pick_ioas(w), .val64 = rnd_below(w, 2),
	};

	wioctl(w, IOMMU_OPTION, &cmd);
}

static __u32 pick_pt(struct worker *w)
{
	__u32 id = 0;

	if (rnd_below(w, 3) == 0)
		id = pool_pick(w, w->sh->hwpt);
	return id ? id : pick_ioas(w);
}

static void op_mock_dev(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pick_pt(w),
	};

	if (wioctl(w, IOMMU_TEST_CMD, &cmd))
		return;
	pool_put(w->sh->idev, cmd.mock_domain.out_idev_id);
	if (!pool_put(w->sh->stdev, cmd.mock_domain.out_stdev_id))
		destroy(w, cmd.mock_domain.out_stdev_id);
}

static void op_replace(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = pool_pick(w, w->sh->stdev),
		.mock_domain_replace.pt_id = pick_pt(w),
	};

	wioctl(w, IOMMU_TEST_CMD, &cmd);
}

static void op_destroy_dev(struct worker *w)
{
	__u32 id = pool_take(w, w->sh->stdev);

	if (id)
		destroy(w, id);
}

static void op_hwpt_alloc(struct worker *w)
{
	static const __u32 flags[] = {
		0, IOMMU_HWPT_ALLOC_NEST_PARENT,
		IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
	};
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags[rnd_below(w, 3)],
		.dev_id = pool_pick(w, w->sh->idev), .pt_id = pick_ioas(w),
	};

	if (wioctl(w, IOMMU_HWPT_ALLOC, &cmd))
		return;
	if (!pool_put(w->sh->hwpt, cmd.out_hwpt_id))
		destroy(w, cmd.out_hwpt_id);
}

static void op_access(struct worker *w)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = pick_ioas(w),
		.create_access.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
	};
	char out[256];
	int afd, i;

	if (w->sh->no_fds || wioctl(w, IOMMU_TEST_CMD, &cmd))
		return;
	afd = cmd.create_access.out_access_fd;
	for (i = 0; i < 3; i++) {
		__u64 iova = pick_slot_iova(w) + psize * rnd_below(w, 4);
		struct iommu_test_cmd pin = {
			.size = sizeof(pin), .op = IOMMU_TEST_OP_ACCESS_PAGES,
			.id = afd,
			.access_pages = {
				/* No uptr: the pages are not compared */
				.flags = rnd_below(w, 2),
				.iova = iova,
				.length = psize * (1 + rnd_below(w, 4)),
			},
		};
		struct iommu_test_cmd rd = {
			.size = sizeof(rd), .op = IOMMU_TEST_OP_ACCESS_RW,
			.id = afd,
			.access_rw = { .iova = iova + rnd_below(w, psize),
				       .length = 1 + rnd_below(w, sizeof(out)),
				       .uptr = (uintptr_t)out },
		};
		struct iommu_test_cmd unpin = {
			.size = sizeof(unpin),
			.op = IOMMU_TEST_OP_DESTROY_ACCESS_PAGES, .id = afd,
		};

		if (!wioctl(w, IOMMU_TEST_CMD, &pin) && rnd_below(w, 2)) {
			unpin.destroy_access_pages.access_pages_id =
				pin.access_pages.out_access_pages_id;
			wioctl(w, IOMMU_TEST_CMD, &unpin);
		}
		wioctl(w, IOMMU_TEST_CMD, &rd);
	}
	/* Unpins what is left and destroys the access */
	close(afd);
}

static void one_op(struct worker *w)
{
	switch (rnd_below(w, 24)) {
	case 0 ... 3:
		op_map(w, true);
		break;
	case 4:
		op_map(w, false);
		break;
	case 5 ... 7:
		op_unmap(w, false);
		break;
	case 8:
		op_unmap(w, rnd_below(w, 4) == 0);
		break;
	case 9 ... 10:
		op_copy(w);
		break;
	case 11 ... 12:
		op_destroy_any(w);
		break;
	case 13:
		op_huge_pages(w);
		break;
	case 14 ... 15:
		op_mock_dev(w);
		break;
	case 16 ... 17:
		op_replace(w);
		break;
	case 18:
		op_destroy_dev(w);
		break;
	case 19:
		op_hwpt_alloc(w);
		break;
	default:
		op_access(w);
		break;
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;

	while (now_ns() < sh->deadline_ns) {
		one_op(w);
		__atomic_add_fetch(&sh->calls, 1, __ATOMIC_RELAXED);
		if (w->after_close >= CALLS_AFTER_CLOSE)
			break;
	}
	return NULL;
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

static unsigned long stress_seconds(void)
{
	unsigned long s = env_ulong("IOMMUFD_STRESS_SECONDS", 10);

	return s > MAX_SECONDS ? MAX_SECONDS : s;
}

/* Start @n workers seeded from @seed; 0 or -errno */
static int start_workers(struct shared *sh, struct worker *ws, int n,
			 __u64 seed)
{
	int i, ret;

	for (i = 0; i < n; i++) {
		ws[i].sh = sh;
		ws[i].rng = (seed + 1) * 0x9e3779b97f4a7c15ULL + i;
		ws[i].calls = 0;
		ws[i].after_close = 0;
		ret = pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
		if (ret)
			return -ret;
	}
	return 0;
}

static void join_workers(struct worker *ws, int n)
{
	int i;

	for (i = 0; i < n; i++)
		pthread_join(ws[i].thread, NULL);
}

/* 0 when no page of any buffer is pinned, on a /dev/iommu of its own */
static int check_bufs_unpinned(void)
{
	int fd = open("/dev/iommu", O_RDWR);
	int i, ret = 0;

	if (fd < 0)
		return -errno;
	for (i = 0; i < NBUF && !ret; i++) {
		struct iommu_test_cmd cmd = {
			.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_REFS,
			.check_refs = { .length = buf_len,
					.uptr = (uintptr_t)bufs[i],
					.refs = 0 },
		};

		if (ioctl(fd, IOMMU_TEST_CMD, &cmd))
			ret = -errno;
	}
	close(fd);
	return ret;
}

FIXTURE(stress) {
	struct shared *sh;
	long pinned;
	__u64 seed;
	unsigned long seconds;
};

FIXTURE_SETUP(stress)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};
	struct shared *sh;
	int i, fd;

	psize = sysconf(_SC_PAGESIZE);
	buf_len = BUF_PAGES * psize;
	slot_len = 2 * buf_len;
	for (i = 0; i < NBUF; i++) {
		/* Odd buffers are shared with a forked child */
		bufs[i] = mmap(NULL, buf_len, PROT_READ | PROT_WRITE,
			       (i & 1 ? MAP_SHARED : MAP_PRIVATE) |
			       MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, bufs[i]);
		/* MD_CHECK_REFS cannot see into huge pages */
		madvise(bufs[i], buf_len, MADV_NOHUGEPAGE);
		memset(bufs[i], 0x5a + i, buf_len);
	}
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	memset(sh, 0, sizeof(*sh));
	self->sh = sh;

	self->pinned = vm_pinned_kib();
	ASSERT_LE(0, self->pinned);
	fd = open("/dev/iommu", O_RDWR);
	if (fd < 0 && errno == ENOENT)
		SKIP(return, "no /dev/iommu");
	ASSERT_LE(0, fd);
	sh->fd = fd;
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, ioctl(fd, IOMMU_IOAS_ALLOC, &alloc));
		sh->ioas[i] = alloc.out_ioas_id;
	}
	/* A device on each IOAS, so maps pin */
	for (i = 0; i < 2; i++) {
		mock.id = sh->ioas[i];
		if (ioctl(fd, IOMMU_TEST_CMD, &mock))
			SKIP(return,
			     "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
		sh->stdev[i] = mock.mock_domain.out_stdev_id;
		sh->idev[i] = mock.mock_domain.out_idev_id;
	}
	self->seed = env_ulong("IOMMUFD_STRESS_SEED", 1);
	self->seconds = stress_seconds();
	sh->deadline_ns = now_ns() + self->seconds * 1000000000ULL;
	ksft_print_msg("%s: seed %llu, %lu seconds\n", _metadata->name,
		       (unsigned long long)self->seed, self->seconds);
}

FIXTURE_TEARDOWN(stress)
{
	if (self->sh && !self->sh->closed)
		close(self->sh->fd);
}

/* After everything is closed: nothing pinned, VmPin at its baseline */
static void check_nothing_pinned(struct __test_metadata *_metadata,
				 long pinned)
{
	ASSERT_EQ(0, check_bufs_unpinned());
	ASSERT_EQ(pinned, vm_pinned_kib());
}

TEST_F_TIMEOUT(stress, threads_share_one_context, STRESS_TIMEOUT)
{
	struct worker ws[NTHREADS];

	ASSERT_EQ(0, start_workers(self->sh, ws, NTHREADS, self->seed));
	join_workers(ws, NTHREADS);
	ksft_print_msg("%lu operations\n", self->sh->calls);
	close(self->sh->fd);
	self->sh->closed = 1;
	check_nothing_pinned(_metadata, self->pinned);
}

TEST_F_TIMEOUT(stress, a_forked_child_shares_the_context, STRESS_TIMEOUT)
{
	struct worker ws[NTHREADS];
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* The child: its own threads on the inherited file */
		if (start_workers(self->sh, ws, NTHREADS, self->seed + 1000))
			_exit(2);
		join_workers(ws, NTHREADS);
		_exit(0);
	}
	ASSERT_EQ(0, start_workers(self->sh, ws, NTHREADS, self->seed));
	join_workers(ws, NTHREADS);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status))
		TH_LOG("child killed by signal %d", WTERMSIG(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ksft_print_msg("%lu operations\n", self->sh->calls);
	close(self->sh->fd);
	self->sh->closed = 1;
	check_nothing_pinned(_metadata, self->pinned);
}

TEST_F_TIMEOUT(stress, closing_the_file_under_running_ioctls, STRESS_TIMEOUT)
{
	struct shared *sh = self->sh;
	struct worker ws[NTHREADS];
	__u64 half = now_ns() + self->seconds * 500000000ULL;

	/* No thread opens a file, so the closed number stays unused */
	sh->no_fds = true;
	ASSERT_EQ(0, start_workers(sh, ws, NTHREADS, self->seed));
	/* Close in the thick of it: after some calls, or half way */
	while (__atomic_load_n(&sh->calls, __ATOMIC_RELAXED) < 500 &&
	       now_ns() < half)
		sched_yield();
	ASSERT_EQ(0, close(sh->fd));
	__atomic_store_n(&sh->closed, 1, __ATOMIC_RELEASE);
	join_workers(ws, NTHREADS);
	ksft_print_msg("%lu operations\n", sh->calls);
	EXPECT_EQ(0, sh->bad_after_close);
	check_nothing_pinned(_metadata, self->pinned);
}

/*
 * The handover race.  Two threads map (three times in four) and unmap
 * ranges of one memfd, 1 to 64 pages at random offsets, into slots of four
 * IOASes with IOMMU_IOAS_MAP_FILE; a third keeps mock domains coming and
 * going on three of them (the fourth keeps one, so that maps pin); two
 * forked children sharing the file call IOMMU_IOAS_CHANGE_PROCESS in a
 * loop, one as root and one as user nobody whose RLIMIT_MEMLOCK runs out
 * part way, so that handovers also fail and move everything back.
 */
#define HO_IOAS 4
#define HO_FILE_PAGES 1024
#define HO_MAP_PAGES 64
#define HO_SLOTS 4096
#define HO_NOBODY 65534
#define HO_NOBODY_MEMLOCK (16UL << 20)

struct handover_race {
	int fd;
	int mfd;
	__u32 ioas[HO_IOAS];
	__u64 deadline_ns;
	unsigned long maps;		/* successful maps, all threads */
	unsigned long moved;		/* successful handovers */
	unsigned long refused;		/* handovers refused with ENOMEM */
	unsigned long bad_errno;	/* a handover failing any other way */
};

struct handover_thread {
	pthread_t thread;
	struct handover_race *hr;
	struct worker w;		/* its random numbers */
};

static void *handover_mapper(void *arg)
{
	struct handover_thread *t = arg;
	struct handover_race *hr = t->hr;

	while (now_ns() < hr->deadline_ns) {
		__u32 ioas = hr->ioas[rnd_below(&t->w, HO_IOAS)];
		__u64 iova = APERTURE + (__u64)rnd_below(&t->w, HO_SLOTS) *
			     HO_MAP_PAGES * psize;

		if (rnd_below(&t->w, 4)) {
			__u32 n = 1 + rnd_below(&t->w, HO_MAP_PAGES);
			struct iommu_ioas_map_file map = {
				.size = sizeof(map), .flags = FIXED_RW,
				.ioas_id = ioas, .fd = hr->mfd,
				.start = (__u64)rnd_below(&t->w,
					HO_FILE_PAGES - n + 1) * psize,
				.length = n * psize, .iova = iova,
			};

			if (!ioctl(hr->fd, IOMMU_IOAS_MAP_FILE, &map))
				__atomic_add_fetch(&hr->maps, 1,
						   __ATOMIC_RELAXED);
		} else {
			struct iommu_ioas_unmap unmap = {
				.size = sizeof(unmap), .ioas_id = ioas,
				.iova = iova, .length = HO_MAP_PAGES * psize,
			};

			ioctl(hr->fd, IOMMU_IOAS_UNMAP, &unmap);
		}
	}
	return NULL;
}

static void *handover_domains(void *arg)
{
	struct handover_thread *t = arg;
	struct handover_race *hr = t->hr;
	__u32 stdev[HO_IOAS - 1] = {};

	while (now_ns() < hr->deadline_ns) {
		__u32 i = rnd_below(&t->w, HO_IOAS - 1);
		struct iommu_test_cmd mock = {
			.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
			.id = hr->ioas[i + 1],
		};

		if (stdev[i]) {
			struct iommu_destroy destroy = {
				.size = sizeof(destroy), .id = stdev[i],
			};

			ioctl(hr->fd, IOMMU_DESTROY, &destroy);
			stdev[i] = 0;
		} else if (!ioctl(hr->fd, IOMMU_TEST_CMD, &mock)) {
			stdev[i] = mock.mock_domain.out_stdev_id;
		}
		usleep(1000 * rnd_below(&t->w, 20));
	}
	return NULL;
}

/* A child taking the context over until the deadline; never returns */
static void handover_child(struct handover_race *hr, bool as_nobody)
{
	struct rlimit lim = { HO_NOBODY_MEMLOCK, HO_NOBODY_MEMLOCK };
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };

	if (as_nobody &&
	    (setrlimit(RLIMIT_MEMLOCK, &lim) ||
	     setresgid(HO_NOBODY, HO_NOBODY, HO_NOBODY) ||
	     setresuid(HO_NOBODY, HO_NOBODY, HO_NOBODY)))
		_exit(2);
	while (now_ns() < hr->deadline_ns) {
		if (!ioctl(hr->fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd))
			__atomic_add_fetch(&hr->moved, 1, __ATOMIC_RELAXED);
		else if (errno == ENOMEM)
			__atomic_add_fetch(&hr->refused, 1, __ATOMIC_RELAXED);
		else
			__atomic_add_fetch(&hr->bad_errno, 1,
					   __ATOMIC_RELAXED);
		usleep(2000);
	}
	_exit(0);
}

FIXTURE(handover) {};
FIXTURE_SETUP(handover) {}
FIXTURE_TEARDOWN(handover) {}

TEST_F_TIMEOUT(handover, races_file_maps_and_domains, STRESS_TIMEOUT)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};
	struct iommu_test_cmd refs = {
		.size = sizeof(refs), .op = IOMMU_TEST_OP_MD_CHECK_REFS,
	};
	struct handover_thread ts[3];
	struct handover_race *hr;
	unsigned long seconds = stress_seconds();
	__u64 seed = env_ulong("IOMMUFD_STRESS_SEED", 1);
	long pinned = vm_pinned_kib();
	int i, status, fd;
	pid_t kids[2];
	void *file_va;

	psize = sysconf(_SC_PAGESIZE);
	hr = mmap(NULL, sizeof(*hr), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hr);
	memset(hr, 0, sizeof(*hr));
	hr->fd = open("/dev/iommu", O_RDWR);
	if (hr->fd < 0 && errno == ENOENT)
		SKIP(return, "no /dev/iommu");
	ASSERT_LE(0, hr->fd);
	hr->mfd = memfd_create("iommufd-handover", 0);
	ASSERT_LE(0, hr->mfd);
	ASSERT_EQ(0, ftruncate(hr->mfd, HO_FILE_PAGES * psize));
	/* Faulted in, so that MD_CHECK_REFS can see every page at the end */
	file_va = mmap(NULL, HO_FILE_PAGES * psize, PROT_READ | PROT_WRITE,
		       MAP_SHARED, hr->mfd, 0);
	ASSERT_NE(MAP_FAILED, file_va);
	memset(file_va, 0x3c, HO_FILE_PAGES * psize);
	for (i = 0; i < HO_IOAS; i++) {
		ASSERT_EQ(0, ioctl(hr->fd, IOMMU_IOAS_ALLOC, &alloc));
		hr->ioas[i] = alloc.out_ioas_id;
	}
	mock.id = hr->ioas[0];
	if (ioctl(hr->fd, IOMMU_TEST_CMD, &mock))
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	{
		struct iommu_ioas_map_file probe = { .size = sizeof(probe) };

		if (ioctl(hr->fd, IOMMU_IOAS_MAP_FILE, &probe) &&
		    errno == ENOTTY)
			SKIP(return, "no IOMMU_IOAS_MAP_FILE");
	}
	hr->deadline_ns = now_ns() + seconds * 1000000000ULL;
	ksft_print_msg("%s: seed %llu, %lu seconds\n", _metadata->name,
		       (unsigned long long)seed, seconds);

	for (i = 0; i < 2; i++) {
		kids[i] = fork();
		if (!kids[i])
			handover_child(hr, i == 1);
		ASSERT_LE(0, kids[i]);
	}
	for (i = 0; i < 3; i++) {
		ts[i].hr = hr;
		ts[i].w.rng = (seed + 1) * 0x9e3779b97f4a7c15ULL + 100 + i;
		ASSERT_EQ(0, pthread_create(&ts[i].thread, NULL,
					    i < 2 ? handover_mapper :
						    handover_domains, &ts[i]));
	}
	for (i = 0; i < 3; i++)
		pthread_join(ts[i].thread, NULL);
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(kids[i], waitpid(kids[i], &status, 0));
		ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
			TH_LOG("handover child %d: status 0x%x", i, status);
	}
	ksft_print_msg("%lu maps, %lu handovers, %lu refused for the limit\n",
		       hr->maps, hr->moved, hr->refused);
	EXPECT_EQ(0, hr->bad_errno);
	EXPECT_LT(0, hr->moved);
	EXPECT_NE(0, lockdep_debug_locks());

	/* Everything closed: nothing of the file pinned, VmPin as it was */
	close(hr->fd);
	refs.check_refs.length = HO_FILE_PAGES * psize;
	refs.check_refs.uptr = (uintptr_t)file_va;
	fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ioctl(fd, IOMMU_TEST_CMD, &refs));
	close(fd);
	EXPECT_EQ(pinned, vm_pinned_kib());
	munmap(file_va, HO_FILE_PAGES * psize);
	close(hr->mfd);
	munmap(hr, sizeof(*hr));
}

TEST_HARNESS_MAIN
