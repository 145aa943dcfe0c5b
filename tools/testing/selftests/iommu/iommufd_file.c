// SPDX-License-Identifier: GPL-2.0-only
/*
 * File-backed mappings and process handover, on the mock IOMMU driver:
 *
 *  - IOMMU_IOAS_MAP_FILE maps a range of a memfd by file offset.  The
 *    folios are pinned from the file, so nothing needs to be mapped in the
 *    caller's address space; everything else (domains, copies, accesses,
 *    unmap) treats such a mapping like any other.
 *  - IOMMU_IOAS_CHANGE_PROCESS moves the charge for what the context's
 *    mappings pin to the calling process, all or nothing, and only when
 *    every mapping is file-backed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
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
#include "lockdep_state.h"
#include "vm_pinned.h"
#include "uapi_calls.h"

#define FILE_SIZE (256UL << 10)
#define IOVA ((__u64)MOCK_APERTURE_START)
#define RDWR (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define NOBODY 65534

static int map_file(int fd, __u32 ioas_id, int mfd, __u64 start, __u64 len,
		    __u32 flags, __u64 *iova)
{
	struct iommu_ioas_map_file cmd = {
		.size = sizeof(cmd), .flags = flags, .ioas_id = ioas_id,
		.fd = mfd, .start = start, .length = len, .iova = *iova,
	};
	int ret = do_ioctl(fd, IOMMU_IOAS_MAP_FILE, &cmd);

	*iova = cmd.iova;
	return ret;
}

static int map_file_at(int fd, __u32 ioas_id, int mfd, __u64 start,
		       __u64 len, __u64 iova)
{
	return map_file(fd, ioas_id, mfd, start, len,
			RDWR | IOMMU_IOAS_MAP_FIXED_IOVA, &iova);
}

static int unmap_all(int fd, __u32 ioas_id)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas_id, .length = UINT64_MAX,
	};

	return do_ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
}

static int change_process(int fd)
{
	struct iommu_ioas_change_process cmd = { .size = sizeof(cmd) };

	return do_ioctl(fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd);
}

/* How often each page of [va, va + len) is pinned is @refs */
static int check_refs(int fd, void *va, __u64 len, unsigned int refs)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_REFS,
		.check_refs = { .length = len, .uptr = (uintptr_t)va,
				.refs = refs },
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* Does HWPT @hwpt_id map [iova, iova + len) to the memory at @va? */
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

/* A memfd of FILE_SIZE bytes, each byte holding its offset's low bits */
static int make_memfd(unsigned int flags)
{
	static unsigned char page[4096];
	unsigned long off;
	int mfd = memfd_create("iommufd-file", flags);

	if (mfd < 0 || ftruncate(mfd, FILE_SIZE))
		return -1;
	for (off = 0; off < FILE_SIZE; off += sizeof(page)) {
		unsigned int i;

		for (i = 0; i != sizeof(page); i++)
			page[i] = (unsigned char)((off + i) * 7);
		if (pwrite(mfd, page, sizeof(page), off) != sizeof(page))
			return -1;
	}
	return mfd;
}

FIXTURE(file) {
	int fd;
	int mfd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 hwpt_id;
};

FIXTURE_SETUP(file)
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
	{
		struct iommu_ioas_map_file probe = { .size = sizeof(probe) };

		/* Only kernels after 6.12's own iommufd know the command */
		if (do_ioctl(self->fd, IOMMU_IOAS_MAP_FILE, &probe) == -ENOTTY)
			SKIP(return, "no IOMMU_IOAS_MAP_FILE");
	}
	self->mfd = make_memfd(0);
	ASSERT_LE(0, self->mfd);
}

FIXTURE_TEARDOWN(file)
{
	close(self->mfd);
	close(self->fd);
}

TEST_F(file, a_memfd_range_maps_to_the_file_pages)
{
	void *va = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, self->mfd, 0);

	ASSERT_NE(MAP_FAILED, va);
	ASSERT_EQ(0, map_file_at(self->fd, self->ioas_id, self->mfd, 0,
				 FILE_SIZE, IOVA));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, IOVA, va, FILE_SIZE));
	EXPECT_EQ(0, check_refs(self->fd, va, FILE_SIZE, 1));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioas_id));
	EXPECT_EQ(0, check_refs(self->fd, va, FILE_SIZE, 0));
	munmap(va, FILE_SIZE);
}

TEST_F(file, the_file_offset_selects_the_pages)
{
	const __u64 page = getpagesize();
	char *va = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, self->mfd, 0);

	ASSERT_NE(MAP_FAILED, va);
	ASSERT_EQ(0, map_file_at(self->fd, self->ioas_id, self->mfd, 4 * page,
				 8 * page, IOVA));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, IOVA, va + 4 * page,
			       8 * page));
	EXPECT_EQ(0, check_refs(self->fd, va, 4 * page, 0));
	EXPECT_EQ(0, check_refs(self->fd, va + 4 * page, 8 * page, 1));
	munmap(va, FILE_SIZE);
}

TEST_F(file, nothing_needs_to_be_mapped_in_the_caller)
{
	__u64 iova = 0;
	void *va;

	/* Pinned from the file while no page table maps it */
	ASSERT_EQ(0, map_file(self->fd, self->ioas_id, self->mfd, 0, FILE_SIZE,
			      RDWR, &iova));
	EXPECT_NE(0, iova);
	va = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, self->mfd, 0);
	ASSERT_NE(MAP_FAILED, va);
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, iova, va, FILE_SIZE));
	munmap(va, FILE_SIZE);
}

TEST_F(file, a_copy_shares_the_pins)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};
	struct iommu_ioas_copy copy = {
		.size = sizeof(copy),
		.flags = RDWR | IOMMU_IOAS_MAP_FIXED_IOVA,
		.src_ioas_id = self->ioas_id, .length = FILE_SIZE,
		.src_iova = IOVA, .dst_iova = IOVA,
	};
	void *va = mmap(NULL, FILE_SIZE, PROT_READ, MAP_SHARED, self->mfd, 0);

	ASSERT_NE(MAP_FAILED, va);
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_ALLOC, &alloc));
	mock.id = alloc.out_ioas_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &mock));
	ASSERT_EQ(0, map_file_at(self->fd, self->ioas_id, self->mfd, 0,
				 FILE_SIZE, IOVA));
	copy.dst_ioas_id = alloc.out_ioas_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_COPY, &copy));
	EXPECT_EQ(0, check_map(self->fd, mock.mock_domain.out_hwpt_id, IOVA,
			       va, FILE_SIZE));
	EXPECT_EQ(0, check_refs(self->fd, va, FILE_SIZE, 1));
	munmap(va, FILE_SIZE);
}

TEST_F(file, an_access_reads_and_writes_file_memory)
{
	struct iommu_test_cmd create = {
		.size = sizeof(create), .op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = self->ioas_id,
		.create_access = { .flags = MOCK_FLAGS_ACCESS_WRITE },
	};
	unsigned char buf[64], want[64];
	struct iommu_test_cmd rw = {
		.size = sizeof(rw), .op = IOMMU_TEST_OP_ACCESS_RW,
		.access_rw = { .iova = IOVA + 100, .length = sizeof(buf),
			       .uptr = (uintptr_t)buf },
	};
	unsigned int i;

	ASSERT_EQ(0, map_file_at(self->fd, self->ioas_id, self->mfd, 0,
				 FILE_SIZE, IOVA));
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &create));
	rw.id = create.create_access.out_access_fd;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &rw));
	for (i = 0; i != sizeof(buf); i++)
		EXPECT_EQ((unsigned char)((100 + i) * 7), buf[i]);

	memset(buf, 0xa5, sizeof(buf));
	rw.access_rw.flags = MOCK_ACCESS_RW_WRITE;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &rw));
	ASSERT_EQ(sizeof(want), pread(self->mfd, want, sizeof(want), 100));
	EXPECT_EQ(0, memcmp(buf, want, sizeof(want)));
	close(create.create_access.out_access_fd);
}

TEST_F(file, hugetlbfs_memfds_map_too)
{
	const __u64 huge = 2UL << 20;
	int hfd = memfd_create("iommufd-huge", MFD_HUGETLB);
	void *va;

	if (hfd < 0 || ftruncate(hfd, huge))
		SKIP(return, "no 2 MiB huge pages");
	va = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_SHARED, hfd, 0);
	if (va == MAP_FAILED)
		SKIP(close(hfd); return, "no 2 MiB huge page to back the memfd");
	ASSERT_EQ(0, map_file_at(self->fd, self->ioas_id, hfd, 0, huge,
				 IOVA + huge));
	EXPECT_EQ(0, check_map(self->fd, self->hwpt_id, IOVA + huge, va, huge));
	ASSERT_EQ(0, unmap_all(self->fd, self->ioas_id));
	munmap(va, huge);
	close(hfd);
}

/* No start, length or IOVA of 2^64 - 1 fits an unsigned long range */
TEST_F(file, a_start_length_or_iova_of_all_ones_is_eoverflow)
{
	EXPECT_EQ(-EOVERFLOW, map_file_at(self->fd, self->ioas_id, self->mfd,
					  UINT64_MAX, FILE_SIZE, IOVA));
	EXPECT_EQ(-EOVERFLOW, map_file_at(self->fd, self->ioas_id, self->mfd,
					  0, UINT64_MAX, IOVA));
	EXPECT_EQ(-EOVERFLOW, map_file_at(self->fd, self->ioas_id, self->mfd,
					  0, FILE_SIZE, UINT64_MAX));
}

TEST_F(file, map_file_argument_errors)
{
	int pipefd[2], ro, zero = open("/dev/zero", O_RDWR);
	char path[64];
	__u64 iova = IOVA;

	ASSERT_EQ(0, pipe(pipefd));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->mfd);
	ro = open(path, O_RDONLY);
	ASSERT_LE(0, ro);

	EXPECT_EQ(-EBADF, map_file_at(self->fd, self->ioas_id, -1, 0,
				      FILE_SIZE, IOVA));
	EXPECT_EQ(-EINVAL, map_file_at(self->fd, self->ioas_id, pipefd[0], 0,
				       FILE_SIZE, IOVA));
	EXPECT_EQ(-EINVAL, map_file_at(self->fd, self->ioas_id, zero, 0,
				       FILE_SIZE, IOVA));
	EXPECT_EQ(-EINVAL, map_file_at(self->fd, self->ioas_id, self->mfd, 0,
				       FILE_SIZE * 2, IOVA));
	EXPECT_EQ(-EINVAL, map_file_at(self->fd, self->ioas_id, self->mfd, 0,
				       0, IOVA));
	EXPECT_EQ(-EOVERFLOW, map_file_at(self->fd, self->ioas_id, self->mfd,
					  UINT64_MAX - 4095, 8192, IOVA));
	EXPECT_EQ(-EOPNOTSUPP, map_file(self->fd, self->ioas_id, self->mfd, 0,
					FILE_SIZE, RDWR | (1U << 30), &iova));
	EXPECT_EQ(-EINVAL, map_file(self->fd, self->ioas_id, self->mfd, 0,
				    FILE_SIZE, IOMMU_IOAS_MAP_FIXED_IOVA,
				    &iova));
	EXPECT_EQ(-ENOENT, map_file_at(self->fd, 9999, self->mfd, 0,
				       FILE_SIZE, IOVA));
	/* Devices may not write where the file's opener may not */
	EXPECT_EQ(-EPERM, map_file_at(self->fd, self->ioas_id, ro, 0,
				      FILE_SIZE, IOVA));
	iova = IOVA;
	EXPECT_EQ(0, map_file(self->fd, self->ioas_id, ro, 0, FILE_SIZE,
			      IOMMU_IOAS_MAP_READABLE |
				      IOMMU_IOAS_MAP_FIXED_IOVA, &iova));
	close(ro);
	close(zero);
	close(pipefd[0]);
	close(pipefd[1]);
}

/*
 * The file shrank after it was mapped, and only a domain pins it: the
 * attach that would pin pages past its end fails, pinning nothing, and
 * leaves the IOAS as it was.  What is left of the file still maps.
 */
TEST_F(file, a_file_that_shrank_under_its_mapping_refuses_a_domain)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};
	void *va;

	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_ALLOC, &alloc));
	ASSERT_EQ(0, map_file_at(self->fd, alloc.out_ioas_id, self->mfd, 0,
				 FILE_SIZE, IOVA));
	ASSERT_EQ(0, ftruncate(self->mfd, FILE_SIZE / 2));
	mock.id = alloc.out_ioas_id;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, IOMMU_TEST_CMD, &mock));
	va = mmap(NULL, FILE_SIZE / 2, PROT_READ, MAP_SHARED, self->mfd, 0);
	ASSERT_NE(MAP_FAILED, va);
	EXPECT_EQ(0, check_refs(self->fd, va, FILE_SIZE / 2, 0));

	ASSERT_EQ(0, unmap_all(self->fd, alloc.out_ioas_id));
	ASSERT_EQ(0, map_file_at(self->fd, alloc.out_ioas_id, self->mfd, 0,
				 FILE_SIZE / 2, IOVA));
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &mock));
	EXPECT_EQ(0, check_map(self->fd, mock.mock_domain.out_hwpt_id, IOVA,
			       va, FILE_SIZE / 2));
	munmap(va, FILE_SIZE / 2);
}

TEST_F(file, change_process_rejects_a_reserved_field)
{
	struct iommu_ioas_change_process cmd = {
		.size = sizeof(cmd), .__reserved = 1,
	};

	EXPECT_EQ(-EOPNOTSUPP,
		  do_ioctl(self->fd, IOMMU_IOAS_CHANGE_PROCESS, &cmd));
}

TEST_F(file, change_process_without_mappings_does_nothing)
{
	EXPECT_EQ(0, change_process(self->fd));
}

TEST_F(file, change_process_refuses_when_any_mapping_is_not_file_backed)
{
	struct iommu_ioas_map map = {
		.size = sizeof(map), .flags = RDWR | IOMMU_IOAS_MAP_FIXED_IOVA,
		.ioas_id = self->ioas_id, .length = FILE_SIZE,
		.iova = IOVA + FILE_SIZE,
	};
	void *anon = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, anon);
	map.user_va = (uintptr_t)anon;
	ASSERT_EQ(0, map_file_at(self->fd, self->ioas_id, self->mfd, 0,
				 FILE_SIZE, IOVA));
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_MAP, &map));
	EXPECT_EQ(-EINVAL, change_process(self->fd));
	munmap(anon, FILE_SIZE);
}

/*
 * Fork a child that drops to user nobody with an RLIMIT_MEMLOCK of
 * @memlock bytes and calls IOMMU_IOAS_CHANGE_PROCESS: its errno (0 on
 * success), or -1 if the child could not be set up.
 */
static int handover_as_nobody(int fd, unsigned long memlock)
{
	struct rlimit lim = { memlock, memlock };
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		if (setrlimit(RLIMIT_MEMLOCK, &lim) ||
		    setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(255);
		_exit(-change_process(fd));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) == 255)
		return -1;
	return WEXITSTATUS(status);
}

/*
 * Fork a child that calls IOMMU_IOAS_CHANGE_PROCESS; 0 when it did what
 * was expected: as root, take over (and then have @want_kib pinned);
 * unprivileged, with a limit of 4 KiB, be refused with ENOMEM.
 */
static int child_takes_over(int fd, bool unprivileged, long want_kib)
{
	int status;
	pid_t pid;

	if (unprivileged)
		return handover_as_nobody(fd, 4096) == ENOMEM ? 0 : 3;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		if (change_process(fd))
			_exit(4);
		_exit(vm_pinned_kib() == want_kib ? 0 : 5);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST_F(file, change_process_moves_the_charge_to_the_caller)
{
	long before = vm_pinned_kib();

	ASSERT_LE(0, before);
	ASSERT_EQ(0, map_file_at(self->fd, self->ioas_id, self->mfd, 0,
				 FILE_SIZE, IOVA));
	ASSERT_EQ(before + (long)(FILE_SIZE >> 10), vm_pinned_kib());
	/* The child pins nothing itself: all its VmPin came with the move */
	EXPECT_EQ(0, child_takes_over(self->fd, false, FILE_SIZE >> 10));
	EXPECT_EQ(before, vm_pinned_kib());
	/* The mapping works as before, and unmapping uncharges nobody twice */
	EXPECT_EQ(0, unmap_all(self->fd, self->ioas_id));
	EXPECT_EQ(before, vm_pinned_kib());
}

TEST_F(file, change_process_beyond_the_callers_limit_moves_nothing)
{
	long before = vm_pinned_kib();

	ASSERT_EQ(0, map_file_at(self->fd, self->ioas_id, self->mfd, 0,
				 FILE_SIZE, IOVA));
	/* RLIMIT_MEMLOCK of 4 KiB cannot take 256 KiB */
	EXPECT_EQ(0, child_takes_over(self->fd, true, 0));
	EXPECT_EQ(before + (long)(FILE_SIZE >> 10), vm_pinned_kib());
}

/*
 * A context may hold any number of file mappings: the handover takes a
 * bounded number of locks whatever their count (lockdep, which counts a
 * lock class taken 4096 times at once as a bug of its own, stays on).
 */
TEST_F(file, change_process_moves_5000_file_mappings_at_once)
{
	const __u64 page = getpagesize();
	const unsigned int nmaps = 5000;
	long before = vm_pinned_kib();
	unsigned int i;

	ASSERT_LE(0, before);
	for (i = 0; i != nmaps; i++)
		ASSERT_EQ(0, map_file_at(self->fd, self->ioas_id, self->mfd,
					 (i % (FILE_SIZE / page)) * page, page,
					 IOVA + i * page));
	ASSERT_EQ(before + (long)(nmaps * page >> 10), vm_pinned_kib());
	EXPECT_EQ(0, child_takes_over(self->fd, false, nmaps * page >> 10));
	EXPECT_EQ(before, vm_pinned_kib());
	EXPECT_NE(0, lockdep_debug_locks());
	EXPECT_EQ(0, unmap_all(self->fd, self->ioas_id));
	EXPECT_EQ(before, vm_pinned_kib());
}

/*
 * Either every mapping moves or none does, also when the caller's limit
 * is reached after some of them have moved: they all go back, and the
 * failed caller is left with no charge at all (so the whole total fits
 * under a limit of exactly the total afterwards).
 */
TEST_F(file, a_handover_that_fails_midway_gives_every_mapping_back)
{
	const __u64 page = getpagesize(), each = FILE_SIZE / 8;
	long before = vm_pinned_kib();
	unsigned int i;

	for (i = 0; i != 8; i++)
		ASSERT_EQ(0, map_file_at(self->fd, self->ioas_id, self->mfd,
					 i * each, each, IOVA + i * each));
	ASSERT_EQ(before + (long)(FILE_SIZE >> 10), vm_pinned_kib());
	EXPECT_EQ(ENOMEM, handover_as_nobody(self->fd, FILE_SIZE / 2 + page));
	EXPECT_EQ(before + (long)(FILE_SIZE >> 10), vm_pinned_kib());
	EXPECT_EQ(0, handover_as_nobody(self->fd, FILE_SIZE));
	EXPECT_EQ(before, vm_pinned_kib());
}

TEST_F(file, dirty_tracking_covers_file_mappings)
{
	const __u64 mock_page = getpagesize() / 2;
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
	__u64 mark = 1ULL << 3, bits[2] = {};
	struct iommu_test_cmd dirty = {
		.size = sizeof(dirty), .op = IOMMU_TEST_OP_DIRTY,
		.dirty = { .iova = IOVA, .length = 64 * mock_page,
			   .page_size = mock_page, .uptr = (uintptr_t)&mark },
	};
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get), .iova = IOVA, .length = 64 * mock_page,
		.page_size = mock_page, .data = (uintptr_t)bits,
	};

	ASSERT_EQ(0, map_file_at(self->fd, self->ioas_id, self->mfd, 0,
				 FILE_SIZE, IOVA));
	/* A second mock device gives the device id HWPT_ALLOC needs */
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &info));
	alloc.dev_id = info.mock_domain.out_idev_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_HWPT_ALLOC, &alloc));
	set.hwpt_id = alloc.out_hwpt_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set));
	dirty.id = alloc.out_hwpt_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &dirty));
	EXPECT_EQ(1, dirty.dirty.out_nr_dirty);
	get.hwpt_id = alloc.out_hwpt_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get));
	EXPECT_EQ(1ULL << 3, bits[0]);
}

TEST_F(file, the_vfio_container_unmaps_file_mappings)
{
	struct iommu_vfio_ioas set = {
		.size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET,
		.ioas_id = self->ioas_id,
	};
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = IOVA, .size = FILE_SIZE,
	};

	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_VFIO_IOAS, &set));
	ASSERT_EQ(0, map_file_at(self->fd, self->ioas_id, self->mfd, 0,
				 FILE_SIZE, IOVA));
	ASSERT_EQ(0, do_ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(FILE_SIZE, unmap.size);
}

TEST_HARNESS_MAIN
