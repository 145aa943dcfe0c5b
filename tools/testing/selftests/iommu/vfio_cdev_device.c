// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO device cdev on a real device behind emulated VT-d (QEMU's edu):
 * the rules that hold before and around VFIO_DEVICE_BIND_IOMMUFD.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "edu_device.h"

TEST(edu_devices_sit_in_iommu_groups)
{
	char bdf[64], path[512];
	struct stat st;
	int i;

	for (i = 0; i != 2; i++) {
		ASSERT_EQ(0, edu_find(i, bdf, sizeof(bdf)));
		snprintf(path, sizeof(path),
			 "/sys/bus/pci/devices/%s/iommu_group", bdf);
		EXPECT_EQ(0, stat(path, &st));
	}
}

TEST(edu_binds_to_vfio_pci_and_gets_a_cdev)
{
	char bdf[64];
	int fd;

	ASSERT_EQ(0, edu_find(0, bdf, sizeof(bdf)));
	ASSERT_EQ(0, edu_bind_vfio_pci(bdf));
	fd = edu_open_cdev(bdf);
	ASSERT_LE(0, fd);
	close(fd);
}

FIXTURE(edu_cdev) {
	int devfd;
	int iommufd;
};

FIXTURE_SETUP(edu_cdev)
{
	char bdf[64];

	ASSERT_EQ(0, edu_find(0, bdf, sizeof(bdf)));
	ASSERT_EQ(0, edu_bind_vfio_pci(bdf));
	self->devfd = edu_open_cdev(bdf);
	ASSERT_LE(0, self->devfd);
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
}

FIXTURE_TEARDOWN(edu_cdev)
{
	close(self->devfd);
	close(self->iommufd);
}

TEST_F(edu_cdev, device_ioctls_before_bind_are_einval)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(edu_cdev, attach_and_detach_before_bind_are_einval)
{
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach), .pt_id = 1,
	};
	struct vfio_device_detach_iommufd_pt detach = {
		.argsz = sizeof(detach),
	};

	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT,
			    &attach));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT,
			    &detach));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(edu_cdev, bind_with_short_argsz_is_einval)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind) - 1, .iommufd = self->iommufd,
	};

	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(edu_cdev, bind_with_flags_is_einval)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .flags = 1, .iommufd = self->iommufd,
	};

	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(edu_cdev, bind_with_negative_fd_is_einval)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = -1,
	};

	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(edu_cdev, bind_to_a_closed_fd_is_ebadf)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = 1000,
	};

	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EBADF, errno);
}

TEST_F(edu_cdev, bind_to_a_file_that_is_not_an_iommufd_is_ebadfd)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	int nullfd = open("/dev/null", O_RDWR);

	ASSERT_LE(0, nullfd);
	bind.iommufd = nullfd;
	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EBADFD, errno);
	close(nullfd);
}

TEST_F(edu_cdev, bind_with_unreadable_argument_is_efault)
{
	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, NULL));
	EXPECT_EQ(EFAULT, errno);
}

TEST_HARNESS_MAIN
