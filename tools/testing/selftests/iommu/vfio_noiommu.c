// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO container in no-IOMMU mode: with vfio's
 * enable_unsafe_noiommu_mode set and no IOMMU, vfio-pci gives the edu
 * device a no-IOMMU group (/dev/vfio/noiommu-N).  In a container served
 * by iommufd such a group joins, VFIO_SET_IOMMU takes only
 * VFIO_NOIOMMU_IOMMU, the device opens and DMAs to physical addresses,
 * the mapping ioctls are ENOTTY (as under VFIO's own no-IOMMU driver),
 * and a container that already translates refuses the group (EPERM).
 *
 * Runs in the mock boot (intel_iommu=off); skips where the mode is off.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "edu_device.h"
#include "uapi_calls.h"

#define NOIOMMU_PARAM "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"

static bool noiommu_enabled(void)
{
	char c = 0;
	int fd = open(NOIOMMU_PARAM, O_RDONLY);

	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == 'Y';
}

static int open_noiommu_group(const char *bdf)
{
	char devdir[512], path[600];

	snprintf(devdir, sizeof(devdir), EDU_SYSFS "%s", bdf);
	return vfio_open_path(vfio_group_path_of(devdir, "noiommu-", path,
						 sizeof(path)), path);
}

/* The physical address of the page at @va, 0 if unknown */
static __u64 phys_addr(void *va)
{
	long psize = sysconf(_SC_PAGESIZE);
	__u64 entry = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry),
		  (uintptr_t)va / psize * sizeof(entry)) != sizeof(entry))
		entry = 0;
	close(fd);
	if (!(entry & (1ULL << 63)))
		return 0;
	return (entry & ((1ULL << 55) - 1)) * psize;
}

FIXTURE(noiommu) {
	char bdf[64];
	int container;
	int group;
};

FIXTURE_SETUP(noiommu)
{
	self->container = -1;
	self->group = -1;
	if (!noiommu_enabled())
		SKIP(return, "vfio.enable_unsafe_noiommu_mode is off");
	if (edu_find(0, self->bdf, sizeof(self->bdf)))
		SKIP(return, "no edu device");
	ASSERT_EQ(0, edu_bind_vfio_pci(self->bdf));
	self->group = open_noiommu_group(self->bdf);
	ASSERT_LE(0, self->group);
	self->container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->container);
}

FIXTURE_TEARDOWN(noiommu)
{
	if (self->group >= 0)
		close(self->group);
	if (self->container >= 0)
		close(self->container);
}

TEST_F(noiommu, the_container_offers_the_noiommu_type)
{
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_NOIOMMU_IOMMU));
}

TEST_F(noiommu, the_group_joins_and_only_the_noiommu_type_is_accepted)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.size = 4096,
	};
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	int devfd;

	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	/* As in VFIO's own container: no driver of that type may serve it */
	EXPECT_EQ(-1, ioctl(self->container, VFIO_SET_IOMMU,
			    VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(ENODEV, errno);
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_NOIOMMU_IOMMU));
	/* Its type chosen, it offers that type alone, as its driver would */
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_NOIOMMU_IOMMU));
	EXPECT_EQ(0, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1v2_IOMMU));
	devfd = ioctl(self->group, VFIO_GROUP_GET_DEVICE_FD, self->bdf);
	ASSERT_LE(0, devfd);
	EXPECT_EQ(0, ioctl(devfd, VFIO_DEVICE_GET_INFO, &dinfo));
	EXPECT_TRUE(dinfo.flags & VFIO_DEVICE_FLAGS_PCI);

	/* Nothing to map in */
	map.vaddr = (uintptr_t)&map;
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_GET_INFO, &info));
	EXPECT_EQ(ENOTTY, errno);
	close(devfd);
}

/* Without translation the device's DMA addresses are physical addresses */
TEST_F(noiommu, the_device_dmas_to_physical_addresses)
{
	long psize = sysconf(_SC_PAGESIZE);
	unsigned char *buf, *page = NULL;
	__u64 pa = 0, bar0;
	int devfd, i;

	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_NOIOMMU_IOMMU));
	devfd = ioctl(self->group, VFIO_GROUP_GET_DEVICE_FD, self->bdf);
	ASSERT_LE(0, devfd);
	ASSERT_EQ(0, edu_prepare_dma(devfd, &bar0));

	/* A locked page (the harness gives edu a 64-bit DMA mask) */
	buf = mmap(NULL, 64 * psize, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	for (i = 0; i != 64 && !page; i++) {
		buf[i * psize] = 1;
		pa = phys_addr(buf + i * psize);
		if (pa)
			page = buf + i * psize;
	}
	if (!page)
		SKIP(goto out, "no physical address in /proc/self/pagemap");
	for (i = 0; i != EDU_DMA_MAX; i++) {
		page[i] = (unsigned char)(i * 17 + 3);
		page[EDU_DMA_MAX + i] = 0;
	}
	ASSERT_EQ(0, edu_dma(devfd, bar0, pa, EDU_BUFFER, EDU_DMA_MAX, 0));
	ASSERT_EQ(0, edu_dma(devfd, bar0, EDU_BUFFER, pa + EDU_DMA_MAX,
			     EDU_DMA_MAX, EDU_DMA_TO_RAM));
	EXPECT_EQ(0, memcmp(page, page + EDU_DMA_MAX, EDU_DMA_MAX));
out:
	munmap(buf, 64 * psize);
	close(devfd);
}

/* A container that translates for other devices cannot take the group */
TEST_F(noiommu, a_translating_container_refuses_the_group)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_vfio_ioas set = {
		.size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET,
	};
	int iommufd = open("/dev/iommu", O_RDWR);

	ASSERT_LE(0, iommufd);
	ASSERT_EQ(0, ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc));
	set.ioas_id = alloc.out_ioas_id;
	ASSERT_EQ(0, ioctl(iommufd, IOMMU_VFIO_IOAS, &set));
	EXPECT_EQ(-1, ioctl(self->group, VFIO_GROUP_SET_CONTAINER, &iommufd));
	EXPECT_EQ(EPERM, errno);
	close(iommufd);
}

/* Drop @cap from this process's effective set: 0, or -1 with errno */
/*
 * A fresh /dev/iommu file takes the group as a no-IOMMU container; as on
 * /dev/vfio/vfio, only the no-IOMMU type is accepted, and only from a
 * process with CAP_SYS_RAWIO.  The file is not VFIO's node: a translated
 * type is not "no such driver" (ENODEV) but a bad argument (EINVAL).
 */
TEST_F(noiommu, an_iommufd_container_takes_the_noiommu_type_with_cap_sys_rawio)
{
	int iommufd = open("/dev/iommu", O_RDWR);
	int status;
	pid_t pid;

	ASSERT_LE(0, iommufd);
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_SET_CONTAINER, &iommufd));
	EXPECT_EQ(-1, ioctl(iommufd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(EINVAL, errno);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (drop_capability(CAP_SYS_RAWIO))
			_exit(2);
		if (ioctl(iommufd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU) != -1)
			_exit(3);
		_exit(errno == EPERM ? 0 : 4);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, ioctl(iommufd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU));
	ioctl(self->group, VFIO_GROUP_UNSET_CONTAINER);
	close(iommufd);
}

TEST_HARNESS_MAIN
