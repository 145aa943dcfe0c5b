// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rules every /dev/iommu command shares: the device nodes, how the
 * size-prefixed structs are read, and which errno each kind of bad call
 * gets.  Each test name states the behaviour it checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"

#define MISC_MAJOR 10
#define VFIO_MINOR 196

/* IOMMU_DESTROY grown by a field a future kernel might add */
struct destroy_v2 {
	__u32 size;
	__u32 id;
	__u64 future;
};

TEST(dev_iommu_is_a_misc_char_device_mode_0660)
{
	struct stat st;

	ASSERT_EQ(0, stat("/dev/iommu", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(MISC_MAJOR, major(st.st_rdev));
	EXPECT_EQ(0660, st.st_mode & 07777);
}

TEST(dev_vfio_vfio_is_misc_196_mode_0666_and_not_a_symlink)
{
	char target[64];
	struct stat st;

	ASSERT_EQ(0, lstat("/dev/vfio/vfio", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(MISC_MAJOR, major(st.st_rdev));
	EXPECT_EQ(VFIO_MINOR, minor(st.st_rdev));
	EXPECT_EQ(0666, st.st_mode & 07777);
	/* SPDK compares readlink() of the container path */
	EXPECT_EQ(-1, readlink("/dev/vfio/vfio", target, sizeof(target)));
	EXPECT_EQ(EINVAL, errno);
}

TEST(many_opens_and_closes_leave_nothing_behind)
{
	int fds[256];
	int i;

	for (i = 0; i != 256; i++) {
		fds[i] = open("/dev/iommu", O_RDWR);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i != 256; i++)
		ASSERT_EQ(0, close(fds[i]));
}

FIXTURE(iommufd_file) {
	int fd;
};

/*
 * @unknown_errno: what an ioctl the file does not know is.  A container
 * (/dev/vfio/vfio) that VFIO_SET_IOMMU has not set up yet knows nothing
 * but its version, its extensions and that ioctl: EINVAL, as VFIO's own.
 */
FIXTURE_VARIANT(iommufd_file) {
	const char *path;
	int unknown_errno;
};

FIXTURE_VARIANT_ADD(iommufd_file, dev_iommu) {
	.path = "/dev/iommu",
	.unknown_errno = ENOTTY,
};

FIXTURE_VARIANT_ADD(iommufd_file, dev_vfio_vfio) {
	.path = "/dev/vfio/vfio",
	.unknown_errno = EINVAL,
};

FIXTURE_SETUP(iommufd_file)
{
	self->fd = open(variant->path, O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(iommufd_file)
{
	close(self->fd);
}

TEST_F(iommufd_file, unknown_iommufd_command_is_enotty)
{
	EXPECT_EQ(-1, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0xff), NULL));
	EXPECT_EQ(variant->unknown_errno, errno);
}

/* As in 6.12: a number of the table's range reads its size first */
TEST_F(iommufd_file, unknown_command_of_the_table_reads_its_size_first)
{
	__u32 size = 0;

	EXPECT_EQ(-1, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0x93), NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0x93), &size));
	EXPECT_EQ(ENOTTY, errno);
}

/*
 * The numbers between two commands (0x90 and 0x91: newer kernels' vIOMMU
 * objects) are unknown commands too
 */
TEST_F(iommufd_file, a_number_between_two_commands_is_enotty)
{
	__u32 size = 0;

	EXPECT_EQ(-1, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0x90), &size));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->fd, _IO(IOMMUFD_TYPE, 0x91), &size));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(iommufd_file, command_with_direction_bits_is_enotty)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd) };

	EXPECT_EQ(-1, ioctl(self->fd, _IOW(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY,
					   struct iommu_destroy), &cmd));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(iommufd_file, ioctl_of_another_type_is_enotty)
{
	EXPECT_EQ(-1, ioctl(self->fd, _IO('x', 1), NULL));
	EXPECT_EQ(variant->unknown_errno, errno);
}

TEST_F(iommufd_file, size_below_first_release_is_einval)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd) - 1, .id = 1 };

	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_DESTROY, &cmd));
	EXPECT_EQ(EINVAL, errno);
	cmd.size = 0;
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_DESTROY, &cmd));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(iommufd_file, unknown_nonzero_tail_is_e2big)
{
	struct destroy_v2 cmd = { .size = sizeof(cmd), .id = 1, .future = 1 };

	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_DESTROY, &cmd));
	EXPECT_EQ(E2BIG, errno);
}

TEST_F(iommufd_file, unknown_zero_tail_is_accepted)
{
	struct destroy_v2 cmd = { .size = sizeof(cmd), .id = 1 };

	/* Accepted, and then refused for its id, not its size */
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_DESTROY, &cmd));
	EXPECT_EQ(ENOENT, errno);
}

TEST_F(iommufd_file, destroy_of_an_unknown_id_is_enoent)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd) };
	__u32 ids[] = { 0, 1, 2, 0x7fffffff, 0xffffffff };
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(ids); i++) {
		cmd.id = ids[i];
		EXPECT_EQ(-1, ioctl(self->fd, IOMMU_DESTROY, &cmd));
		EXPECT_EQ(ENOENT, errno);
	}
}

TEST_F(iommufd_file, unreadable_argument_is_efault)
{
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_DESTROY, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_DESTROY, (void *)8));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(iommufd_file, vfio_api_version_is_answered)
{
	EXPECT_EQ(VFIO_API_VERSION, ioctl(self->fd, VFIO_GET_API_VERSION));
}

TEST_F(iommufd_file, vfio_unknown_extension_is_absent)
{
	EXPECT_EQ(0, ioctl(self->fd, VFIO_CHECK_EXTENSION, 0x7fff));
}

TEST_F(iommufd_file, vfio_unknown_container_ioctl_is_enotty)
{
	EXPECT_EQ(-1, ioctl(self->fd, _IO(VFIO_TYPE, VFIO_BASE + 27), NULL));
	EXPECT_EQ(variant->unknown_errno, errno);
}

TEST(fail_iommufd_injection_point_exists)
{
	struct stat st;

	if (stat("/sys/kernel/debug/fail_iommufd", &st))
		SKIP(return, "no fail_iommufd (CONFIG_IOMMUFD_TEST=n)");
	EXPECT_EQ(0, stat("/sys/kernel/debug/fail_iommufd/probability", &st));
}

TEST_HARNESS_MAIN
