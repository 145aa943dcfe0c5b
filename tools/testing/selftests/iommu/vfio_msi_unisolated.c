// SPDX-License-Identifier: GPL-2.0-only
/*
 * A device whose MSIs the platform does not isolate (here: VT-d with
 * interrupt remapping turned off on the kernel command line, intremap=off)
 * could write to the interrupt window and raise any interrupt.  Binding
 * it to an iommufd is refused with EPERM, by the cdev and by the group
 * path, unless the administrator accepts the risk with iommufd's
 * allow_unsafe_interrupts parameter.
 *
 * This program runs only in the check-msi boot; where MSIs are isolated
 * it skips.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "edu_device.h"

#define PARAM "/sys/module/iommufd/parameters/allow_unsafe_interrupts"

/* Is interrupt remapping off, so that no MSI is isolated? */
static bool msi_unisolated(void)
{
	char cmdline[4096];
	ssize_t n;
	int fd = open("/proc/cmdline", O_RDONLY);

	if (fd < 0)
		return false;
	n = read(fd, cmdline, sizeof(cmdline) - 1);
	close(fd);
	if (n <= 0)
		return false;
	cmdline[n] = 0;
	return strstr(cmdline, "intremap=off");
}

static int set_param(const char *val)
{
	return edu_write(PARAM, val);
}

FIXTURE(unisolated) {
	char bdf[64];
	int devfd;
	int iommufd;
};

FIXTURE_SETUP(unisolated)
{
	self->devfd = -1;
	self->iommufd = -1;
	if (!msi_unisolated())
		SKIP(return, "interrupt remapping is on: MSIs are isolated");
	ASSERT_EQ(0, edu_find(0, self->bdf, sizeof(self->bdf)));
	ASSERT_EQ(0, edu_bind_vfio_pci(self->bdf));
	ASSERT_EQ(0, set_param("N"));
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
}

FIXTURE_TEARDOWN(unisolated)
{
	if (self->devfd >= 0)
		close(self->devfd);
	if (self->iommufd >= 0)
		close(self->iommufd);
	set_param("N");
}

TEST_F(unisolated, binding_the_cdev_is_refused_with_eperm)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = self->iommufd,
	};

	self->devfd = edu_open_cdev(self->bdf);
	ASSERT_LE(0, self->devfd);
	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EPERM, errno);
}

TEST_F(unisolated, the_group_path_refuses_the_device_fd_with_eperm)
{
	int container, group;

	container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, container);
	group = edu_open_group(self->bdf);
	ASSERT_LE(0, group);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
	ASSERT_EQ(0, ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(-1, ioctl(group, VFIO_GROUP_GET_DEVICE_FD, self->bdf));
	EXPECT_EQ(EPERM, errno);
	close(group);
	close(container);
}

TEST_F(unisolated, allow_unsafe_interrupts_lets_the_device_bind_and_dma)
{
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind), .iommufd = self->iommufd,
	};
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.length = 2 * EDU_DMA_MAX, .iova = 0x100000,
	};
	unsigned char *buf;
	__u64 bar0;
	unsigned int i;

	buf = mmap(NULL, map.length, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	map.user_va = (uintptr_t)buf;
	ASSERT_EQ(0, set_param("Y"));
	self->devfd = edu_open_cdev(self->bdf);
	ASSERT_LE(0, self->devfd);
	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	attach.pt_id = alloc.out_ioas_id;
	map.ioas_id = alloc.out_ioas_id;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_MAP, &map));
	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT,
			   &attach));
	for (i = 0; i != EDU_DMA_MAX; i++) {
		buf[i] = (unsigned char)(i * 13 + 5);
		buf[EDU_DMA_MAX + i] = 0;
	}
	ASSERT_EQ(0, edu_prepare_dma(self->devfd, &bar0));
	ASSERT_EQ(0, edu_dma(self->devfd, bar0, map.iova, EDU_BUFFER,
			     EDU_DMA_MAX, 0));
	ASSERT_EQ(0, edu_dma(self->devfd, bar0, EDU_BUFFER,
			     map.iova + EDU_DMA_MAX, EDU_DMA_MAX,
			     EDU_DMA_TO_RAM));
	EXPECT_EQ(0, memcmp(buf, buf + EDU_DMA_MAX, EDU_DMA_MAX));
}

TEST_HARNESS_MAIN
