// SPDX-License-Identifier: GPL-2.0-only
/*
 * A passed-through device's interrupts arrive: QEMU's edu, its MSI
 * enabled through VFIO_DEVICE_SET_IRQS with an eventfd, raises interrupts
 * by its interrupt-raise register and at the end of a DMA, and each one
 * is counted on the eventfd, through the VFIO cdev on /dev/iommu and
 * through the legacy group and container.
 *
 * Behind an IOMMU whose MSIs pass through a software-managed window
 * (arm-smmu-v3, virtio-iommu without an MSI bypass range) this is what
 * proves the MSI cookie rule: without the cookie on the device's domain
 * the MSI write faults in the IOMMU and the eventfd never fires.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "edu_device.h"

#define EDU_REG_IRQ_STATUS 0x24
#define EDU_REG_IRQ_RAISE 0x60
#define EDU_REG_IRQ_ACK 0x64
#define EDU_DMA_IRQ 0x4		/* raise an interrupt when the DMA is done */
#define EDU_IRQ_DMA_DONE 0x100	/* the status bit that DMA raises */
#define IRQ_IOVA 0x100000ULL
#define IRQ_BUF 16384
#define IRQ_WAIT_MS 5000

FIXTURE(edu_irq) {
	int devfd;
	int iommufd;		/* cdev path: /dev/iommu */
	int container;		/* container path */
	int group;
	int efd;
	__u64 bar0;
	unsigned char *buf;
};

FIXTURE_VARIANT(edu_irq) {
	bool container;
};

FIXTURE_VARIANT_ADD(edu_irq, cdev) {
	.container = false,
};

FIXTURE_VARIANT_ADD(edu_irq, container) {
	.container = true,
};

static int cdev_setup(struct __test_metadata *_metadata,
		      struct _test_data_edu_irq *self, const char *bdf)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)self->buf, .length = IRQ_BUF,
		.iova = IRQ_IOVA,
	};

	self->devfd = edu_open_cdev(bdf);
	ASSERT_LE(0, self->devfd);
	self->iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->iommufd);
	bind.iommufd = self->iommufd;
	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_ALLOC, &alloc));
	attach.pt_id = alloc.out_ioas_id;
	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT,
			   &attach));
	map.ioas_id = alloc.out_ioas_id;
	ASSERT_EQ(0, ioctl(self->iommufd, IOMMU_IOAS_MAP, &map));
	return 0;
}

static int container_setup(struct __test_metadata *_metadata,
			   struct _test_data_edu_irq *self, const char *bdf)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)self->buf, .iova = IRQ_IOVA,
		.size = IRQ_BUF,
	};

	self->container = open("/dev/vfio/vfio", O_RDWR);
	if (self->container < 0)
		SKIP(return 1, "no /dev/vfio/vfio");
	self->group = edu_open_group(bdf);
	ASSERT_LE(0, self->group);
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU,
			   VFIO_TYPE1v2_IOMMU));
	self->devfd = ioctl(self->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	ASSERT_LE(0, self->devfd);
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map));
	return 0;
}

/* Route the device's MSI vector 0 to @efd (-1: tear MSI down) */
static int msi_route(int devfd, int efd)
{
	char raw[sizeof(struct vfio_irq_set) + sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)raw;

	memset(raw, 0, sizeof(raw));
	set->argsz = sizeof(raw);
	set->index = VFIO_PCI_MSI_IRQ_INDEX;
	set->flags = VFIO_IRQ_SET_ACTION_TRIGGER;
	if (efd < 0) {
		set->flags |= VFIO_IRQ_SET_DATA_NONE;
		set->argsz = sizeof(*set);
	} else {
		set->flags |= VFIO_IRQ_SET_DATA_EVENTFD;
		set->count = 1;
		memcpy(set->data, &efd, sizeof(efd));
	}
	return ioctl(devfd, VFIO_DEVICE_SET_IRQS, set);
}

/* Interrupts signalled on @efd within @ms; 0 when none came */
static __u64 irqs_within(int efd, int ms)
{
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	__u64 count = 0;

	if (poll(&pfd, 1, ms) != 1)
		return 0;
	if (read(efd, &count, sizeof(count)) != sizeof(count))
		return 0;
	return count;
}

static int edu_reg_write32(struct _test_data_edu_irq *self, __u64 reg,
			   __u32 val)
{
	return pwrite(self->devfd, &val, 4, self->bar0 + reg) == 4 ? 0 : -1;
}

FIXTURE_SETUP(edu_irq)
{
	struct vfio_irq_info info = {
		.argsz = sizeof(info), .index = VFIO_PCI_MSI_IRQ_INDEX,
	};
	char bdf[64];

	self->iommufd = -1;
	self->container = -1;
	self->group = -1;
	self->efd = -1;
	self->buf = mmap(NULL, IRQ_BUF, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	ASSERT_EQ(0, edu_find(0, bdf, sizeof(bdf)));
	ASSERT_EQ(0, edu_bind_vfio_pci(bdf));
	if (variant->container ? container_setup(_metadata, self, bdf) :
				 cdev_setup(_metadata, self, bdf))
		return;
	ASSERT_EQ(0, edu_prepare_dma(self->devfd, &self->bar0));
	ASSERT_EQ(0, ioctl(self->devfd, VFIO_DEVICE_GET_IRQ_INFO, &info));
	ASSERT_LE(1, info.count);
	ASSERT_TRUE(info.flags & VFIO_IRQ_INFO_EVENTFD);
	self->efd = eventfd(0, EFD_NONBLOCK);
	ASSERT_LE(0, self->efd);
	ASSERT_EQ(0, msi_route(self->devfd, self->efd));
}

FIXTURE_TEARDOWN(edu_irq)
{
	if (self->devfd >= 0)
		close(self->devfd);
	if (self->efd >= 0)
		close(self->efd);
	if (self->group >= 0)
		close(self->group);
	if (self->container >= 0)
		close(self->container);
	if (self->iommufd >= 0)
		close(self->iommufd);
	munmap(self->buf, IRQ_BUF);
}

TEST_F(edu_irq, every_raised_msi_arrives_on_the_eventfd)
{
	int i;

	for (i = 0; i != 4; i++) {
		ASSERT_EQ(0, edu_reg_write32(self, EDU_REG_IRQ_RAISE, 1u << i));
		EXPECT_EQ(1, irqs_within(self->efd, IRQ_WAIT_MS));
		ASSERT_EQ(0, edu_reg_write32(self, EDU_REG_IRQ_ACK, 1u << i));
	}
}

TEST_F(edu_irq, a_dma_completion_msi_arrives_after_the_data)
{
	__u32 status = 0;
	int i;

	for (i = 0; i != EDU_DMA_MAX; i++) {
		self->buf[i] = (unsigned char)(i * 7 + 3);
		self->buf[EDU_DMA_MAX + i] = 0;
	}
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, IRQ_IOVA, EDU_BUFFER,
			     EDU_DMA_MAX, EDU_DMA_IRQ));
	EXPECT_EQ(1, irqs_within(self->efd, IRQ_WAIT_MS));
	ASSERT_EQ(4, pread(self->devfd, &status, 4,
			   self->bar0 + EDU_REG_IRQ_STATUS));
	EXPECT_TRUE(status & EDU_IRQ_DMA_DONE);
	ASSERT_EQ(0, edu_reg_write32(self, EDU_REG_IRQ_ACK, status));
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, EDU_BUFFER,
			     IRQ_IOVA + EDU_DMA_MAX, EDU_DMA_MAX,
			     EDU_DMA_TO_RAM | EDU_DMA_IRQ));
	EXPECT_EQ(1, irqs_within(self->efd, IRQ_WAIT_MS));
	EXPECT_EQ(0, memcmp(self->buf, self->buf + EDU_DMA_MAX, EDU_DMA_MAX));
	ASSERT_EQ(0, edu_reg_write32(self, EDU_REG_IRQ_ACK, EDU_IRQ_DMA_DONE));
}

TEST_F(edu_irq, no_interrupt_arrives_once_msi_is_torn_down)
{
	ASSERT_EQ(0, msi_route(self->devfd, -1));
	ASSERT_EQ(0, edu_reg_write32(self, EDU_REG_IRQ_RAISE, 1));
	EXPECT_EQ(0, irqs_within(self->efd, 500));
	ASSERT_EQ(0, edu_reg_write32(self, EDU_REG_IRQ_ACK, 1));
	/* And routed again, they arrive again */
	ASSERT_EQ(0, msi_route(self->devfd, self->efd));
	ASSERT_EQ(0, edu_reg_write32(self, EDU_REG_IRQ_RAISE, 1));
	EXPECT_EQ(1, irqs_within(self->efd, IRQ_WAIT_MS));
	ASSERT_EQ(0, edu_reg_write32(self, EDU_REG_IRQ_ACK, 1));
}

TEST_HARNESS_MAIN
