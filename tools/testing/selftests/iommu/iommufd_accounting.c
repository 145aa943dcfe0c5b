// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pinned memory is charged, and RLIMIT_MEMLOCK bounds it: a process
 * without CAP_IPC_LOCK cannot make a device reach more of its memory than
 * its limit, and a refused pin leaves nothing pinned or charged.
 *
 * Each test opens /dev/iommu as root, attaches a mock device (pins happen
 * only when something can DMA), then forks a child that drops to an
 * unprivileged user, sets its limit and maps.  By default the limit holds
 * for the user across all its processes; in per-process mode (what
 * /dev/vfio/vfio uses), for each process; only CAP_SYS_RESOURCE changes
 * the mode.
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

#include "kselftest_harness.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "vm_pinned.h"

#define NOBODY 65534
#define LIMIT (256 * 1024)

FIXTURE(pinned) {
	int fd;
	__u32 ioas_id;
};

FIXTURE_SETUP(pinned)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};

	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_IOAS_ALLOC, &alloc));
	self->ioas_id = alloc.out_ioas_id;
	mock.id = self->ioas_id;
	if (ioctl(self->fd, IOMMU_TEST_CMD, &mock))
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
}

FIXTURE_TEARDOWN(pinned)
{
	close(self->fd);
}

static int map(int fd, __u32 ioas_id, void *va, size_t len)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas_id, .user_va = (uintptr_t)va, .length = len,
	};

	return ioctl(fd, IOMMU_IOAS_MAP, &cmd) ? -errno : 0;
}

/* Flags of child_maps_field() */
enum {
	/* stay root: CAP_IPC_LOCK exempts the child from RLIMIT_MEMLOCK */
	CHILD_KEEP_CAPS = 1 << 0,
};

/*
 * In a child with RLIMIT_MEMLOCK = LIMIT, unprivileged unless @flags has
 * CHILD_KEEP_CAPS: map @len bytes, and exit with 0 if the map's result is
 * @want and the @field line of /proc/self/status (NULL: VmPin plus VmLck)
 * then says @want_kib.
 */
static int child_maps_field(int fd, __u32 ioas_id, size_t len, int want,
			    const char *field, long want_kib,
			    unsigned int flags)
{
	struct rlimit lim = { LIMIT, LIMIT };
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		void *va = mmap(NULL, len, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
				-1, 0);
		long kib;

		if (va == MAP_FAILED || setrlimit(RLIMIT_MEMLOCK, &lim))
			_exit(2);
		if (!(flags & CHILD_KEEP_CAPS) &&
		    (setresgid(NOBODY, NOBODY, NOBODY) ||
		     setresuid(NOBODY, NOBODY, NOBODY)))
			_exit(2);
		if (map(fd, ioas_id, va, len) != want)
			_exit(3);
		kib = field ? proc_kib("/proc/self/status", field) :
			      vm_pinned_kib();
		_exit(kib == want_kib ? 0 : 4);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* As an unprivileged child: map, and expect @want_pinned_kib charged */
static int child_maps(int fd, __u32 ioas_id, size_t len, int want,
		      long want_pinned_kib)
{
	return child_maps_field(fd, ioas_id, len, want, NULL, want_pinned_kib,
				0);
}

TEST_F(pinned, pinning_within_rlimit_memlock_is_charged)
{
	EXPECT_EQ(0, child_maps(self->fd, self->ioas_id, LIMIT / 2, 0,
				LIMIT / 2 / 1024));
}

TEST_F(pinned, pinning_beyond_rlimit_memlock_is_enomem_and_pins_nothing)
{
	EXPECT_EQ(0, child_maps(self->fd, self->ioas_id, 2 * LIMIT, -ENOMEM,
				0));
}

TEST_F(pinned, pinning_exactly_rlimit_memlock_is_allowed)
{
	EXPECT_EQ(0, child_maps(self->fd, self->ioas_id, LIMIT, 0,
				LIMIT / 1024));
}

TEST_F(pinned, one_user_is_limited_across_all_its_processes)
{
	/* The first process's pins stay charged to the user after it exits */
	EXPECT_EQ(0, child_maps(self->fd, self->ioas_id, 3 * LIMIT / 4, 0,
				3 * LIMIT / 4 / 1024));
	EXPECT_EQ(0, child_maps(self->fd, self->ioas_id, LIMIT / 2, -ENOMEM,
				0));
}

static int set_rlimit_mode(int fd, __u64 per_mm)
{
	struct iommu_option cmd = {
		.size = sizeof(cmd), .option_id = IOMMU_OPTION_RLIMIT_MODE,
		.op = IOMMU_OPTION_OP_SET, .val64 = per_mm,
	};

	return ioctl(fd, IOMMU_OPTION, &cmd) ? -errno : 0;
}

TEST_F(pinned, the_accounting_mode_changes_only_while_the_context_is_empty)
{
	EXPECT_EQ(-EBUSY, set_rlimit_mode(self->fd, 1));
}

TEST(changing_the_accounting_mode_needs_cap_sys_resource)
{
	int status, fd = open("/dev/iommu", O_RDWR);
	pid_t pid;

	if (fd < 0)
		SKIP(return, "no /dev/iommu");
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (setresgid(NOBODY, NOBODY, NOBODY) ||
		    setresuid(NOBODY, NOBODY, NOBODY))
			_exit(2);
		_exit(set_rlimit_mode(fd, 1) == -EPERM ? 0 : 3);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, set_rlimit_mode(fd, 1));
	close(fd);
}

TEST(per_process_accounting_limits_each_process)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};
	int fd = open("/dev/iommu", O_RDWR);

	if (fd < 0)
		SKIP(return, "no /dev/iommu");
	/* As /dev/vfio/vfio does: charge each process's own locked_vm */
	ASSERT_EQ(0, set_rlimit_mode(fd, 1));
	ASSERT_EQ(0, ioctl(fd, IOMMU_IOAS_ALLOC, &alloc));
	mock.id = alloc.out_ioas_id;
	if (ioctl(fd, IOMMU_TEST_CMD, &mock))
		SKIP(close(fd); return, "no mock IOMMU driver");
	EXPECT_EQ(0, child_maps(fd, alloc.out_ioas_id, 2 * LIMIT, -ENOMEM,
				0));
	EXPECT_EQ(0, child_maps(fd, alloc.out_ioas_id, 3 * LIMIT / 4, 0,
				3 * LIMIT / 4 / 1024));
	/* A forked process has a budget of its own, and no more */
	EXPECT_EQ(0, child_maps(fd, alloc.out_ioas_id, 3 * LIMIT / 4, 0,
				3 * LIMIT / 4 / 1024));
	EXPECT_EQ(0, child_maps(fd, alloc.out_ioas_id, 2 * LIMIT, -ENOMEM,
				0));
	close(fd);
}

/* A new /dev/iommu context in per-process mode with a mock domain */
static int per_process_context(__u32 *ioas_id)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_test_cmd mock = {
		.size = sizeof(mock), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
	};
	int fd = open("/dev/iommu", O_RDWR);

	if (fd < 0)
		return -1;
	if (set_rlimit_mode(fd, 1) ||
	    ioctl(fd, IOMMU_IOAS_ALLOC, &alloc)) {
		close(fd);
		return -1;
	}
	mock.id = alloc.out_ioas_id;
	if (ioctl(fd, IOMMU_TEST_CMD, &mock)) {
		close(fd);
		return -1;
	}
	*ioas_id = alloc.out_ioas_id;
	return fd;
}

TEST(per_process_accounting_charges_locked_vm_alone_as_type1)
{
	__u32 ioas_id;
	int fd = per_process_context(&ioas_id);

	if (fd < 0)
		SKIP(return, "no /dev/iommu or no mock IOMMU driver");
	/* type1 charges VmLck and nothing else: libvirt sizes for that */
	EXPECT_EQ(0, child_maps_field(fd, ioas_id, LIMIT / 2, 0, "VmLck",
				      LIMIT / 2 / 1024, 0));
	EXPECT_EQ(0, child_maps_field(fd, ioas_id, LIMIT / 2, 0, "VmPin", 0,
				      0));
	close(fd);
}

TEST(per_process_accounting_charges_cap_ipc_lock_without_a_limit)
{
	__u32 ioas_id;
	int fd = per_process_context(&ioas_id);

	if (fd < 0)
		SKIP(return, "no /dev/iommu or no mock IOMMU driver");
	/* As type1: past RLIMIT_MEMLOCK, yet every page shows in VmLck */
	EXPECT_EQ(0, child_maps_field(fd, ioas_id, 2 * LIMIT, 0, "VmLck",
				      2 * LIMIT / 1024, CHILD_KEEP_CAPS));
	close(fd);
}

TEST_HARNESS_MAIN
