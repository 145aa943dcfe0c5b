// SPDX-License-Identifier: GPL-2.0
/*
 * edu-demo: the `make run` demonstration.  Gives QEMU's edu device to
 * vfio-pci, binds its cdev to /dev/iommu, maps a user buffer into an IOAS
 * and has the device DMA into and out of it through the emulated VT-d.
 * Each step prints what it did; the first step the kernel cannot do yet
 * is reported as "not available yet" and the demo stops there.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "edu_device.h"

#define DEMO_IOVA 0x100000UL

static int step;

static void say(const char *what, int ok)
{
	if (ok)
		printf("edu-demo: step %d: %s: ok\n", ++step, what);
	else
		printf("edu-demo: step %d: %s: not available yet (%s)\n",
		       ++step, what, strerror(errno));
	fflush(stdout);
	if (!ok)
		exit(1);
}

static __u64 bar0;

/* Registers below 0x80 take 4-byte accesses only */
static int reg_read32(int fd, unsigned int reg, uint32_t *val)
{
	return pread(fd, val, 4, bar0 + reg) == 4 ? 0 : -1;
}

int main(void)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_ioas_map map = { .size = sizeof(map) };
	unsigned char *buf;
	char bdf[64], what[160];
	uint32_t id;
	int devfd, iommufd, i;

	say("find the edu device", edu_find(0, bdf, sizeof(bdf)) == 0);
	say("give it to vfio-pci", edu_bind_vfio_pci(bdf) == 0);
	devfd = edu_open_cdev(bdf);
	snprintf(what, sizeof(what), "open /dev/vfio/devices/vfioN of %s", bdf);
	say(what, devfd >= 0);
	iommufd = open("/dev/iommu", O_RDWR);
	say("open /dev/iommu", iommufd >= 0);

	bind.iommufd = iommufd;
	say("VFIO_DEVICE_BIND_IOMMUFD",
	    !ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	say("IOMMU_IOAS_ALLOC", !ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc));
	attach.pt_id = alloc.out_ioas_id;
	say("VFIO_DEVICE_ATTACH_IOMMUFD_PT to the IOAS",
	    !ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach));

	buf = mmap(NULL, 2 * EDU_DMA_MAX, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say("allocate a user buffer", buf != MAP_FAILED);
	for (i = 0; i != EDU_DMA_MAX; i++) {
		buf[i] = (unsigned char)(i * 7 + 3);
		buf[EDU_DMA_MAX + i] = 0;
	}
	map.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
		    IOMMU_IOAS_MAP_WRITEABLE;
	map.ioas_id = alloc.out_ioas_id;
	map.user_va = (uintptr_t)buf;
	map.length = 2 * EDU_DMA_MAX;
	map.iova = DEMO_IOVA;
	say("IOMMU_IOAS_MAP the buffer at IOVA 0x100000",
	    !ioctl(iommufd, IOMMU_IOAS_MAP, &map));

	say("enable bus mastering and find BAR0",
	    !edu_prepare_dma(devfd, &bar0));
	say("read the edu id register", !reg_read32(devfd, EDU_REG_ID, &id));
	printf("edu-demo: edu id register: 0x%08x\n", id);

	say("DMA 2048 bytes from IOVA 0x100000 into the device",
	    !edu_dma(devfd, bar0, DEMO_IOVA, EDU_BUFFER, EDU_DMA_MAX, 0));
	say("DMA 2048 bytes from the device to IOVA 0x100800",
	    !edu_dma(devfd, bar0, EDU_BUFFER, DEMO_IOVA + EDU_DMA_MAX,
		     EDU_DMA_MAX, EDU_DMA_TO_RAM));
	printf("edu-demo: sent %02x %02x %02x %02x, got back %02x %02x %02x %02x\n",
	       buf[0], buf[1], buf[2], buf[3], buf[EDU_DMA_MAX],
	       buf[EDU_DMA_MAX + 1], buf[EDU_DMA_MAX + 2], buf[EDU_DMA_MAX + 3]);
	errno = EIO;
	say("verify the bytes that came back",
	    !memcmp(buf, buf + EDU_DMA_MAX, EDU_DMA_MAX));
	printf("edu-demo: IOVA 0x%lx: %d bytes to the device and %d bytes back, verified\n",
	       DEMO_IOVA, EDU_DMA_MAX, EDU_DMA_MAX);
	return 0;
}
