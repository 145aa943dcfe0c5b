/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for tests of VFIO devices: the cdev and group file of a device by
 * its sysfs directory; and for QEMU's "edu" PCI device (1234:11e8) through
 * VFIO: finding it, handing it to vfio-pci and opening its cdev.
 */
#ifndef __SELFTEST_IOMMU_EDU_DEVICE_H
#define __SELFTEST_IOMMU_EDU_DEVICE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <linux/vfio.h>

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_REG_ID 0x00
#define EDU_REG_DMA_SRC 0x80
#define EDU_REG_DMA_DST 0x88
#define EDU_REG_DMA_COUNT 0x90
#define EDU_REG_DMA_CMD 0x98
#define EDU_DMA_START 0x1
#define EDU_DMA_TO_RAM 0x2
#define EDU_BUFFER 0x40000
/*
 * The device buffer is 4 KiB, but QEMU 7.2's edu rejects (and aborts the
 * whole emulator on) a transfer that ends exactly at the buffer's end: an
 * off-by-one in its range check.  Stay at half the buffer per command.
 */
#define EDU_DMA_MAX 2048

static inline int edu_read_hex(const char *dir, const char *file,
			       unsigned int *val)
{
	char path[1024];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	ret = fscanf(f, "%x", val) == 1 ? 0 : -1;
	fclose(f);
	return ret;
}

static inline int edu_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/*
 * Find the @nth edu device on PCI bus @bus (0: the root bus, where the tests'
 * two edus sit; others sit behind a bridge); its PCI address goes to
 * @bdf.
 */
static inline int edu_find_on(int bus, int nth, char *bdf, size_t len)
{
	const char *base = "/sys/bus/pci/devices";
	struct dirent *d;
	DIR *dir = opendir(base);
	int found = -1;

	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		unsigned int vendor, device;
		char path[512];

		unsigned int dom, b;

		if (d->d_name[0] == '.' || strlen(d->d_name) >= len)
			continue;
		if (sscanf(d->d_name, "%x:%x:", &dom, &b) != 2 ||
		    (int)b != bus)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, d->d_name);
		if (edu_read_hex(path, "vendor", &vendor) ||
		    edu_read_hex(path, "device", &device))
			continue;
		if (vendor != EDU_VENDOR || device != EDU_DEVICE)
			continue;
		/* readdir order is stable enough; keep the lowest address */
		if (nth-- == 0) {
			memcpy(bdf, d->d_name, strlen(d->d_name) + 1);
			found = 0;
			break;
		}
	}
	closedir(dir);
	return found;
}

/* The @nth edu device on the root bus */
static inline int edu_find(int nth, char *bdf, size_t len)
{
	return edu_find_on(0, nth, bdf, len);
}

/* Give the device to vfio-pci.  Idempotent. */
static inline int edu_bind_vfio_pci(const char *bdf)
{
	char path[512], link[512];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		if (strstr(link, "/vfio-pci"))
			return 0;
		snprintf(path, sizeof(path),
			 "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		if (edu_write(path, bdf))
			return -1;
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override",
		 bdf);
	if (edu_write(path, "vfio-pci"))
		return -1;
	return edu_write("/sys/bus/pci/drivers_probe", bdf);
}

/*
 * The path of the VFIO cdev, /dev/vfio/devices/vfioN, of the device whose
 * sysfs directory is @devdir, into @path.
 */
static inline int vfio_cdev_path_of(const char *devdir, char *path,
				    size_t len)
{
	char dirpath[PATH_MAX];
	struct dirent *d;
	int ret = -1;
	DIR *dir;

	if (snprintf(dirpath, sizeof(dirpath), "%s/vfio-dev", devdir) >=
	    (int)sizeof(dirpath))
		return -1;
	dir = opendir(dirpath);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, "vfio", 4))
			continue;
		if (snprintf(path, len, "/dev/vfio/devices/%s", d->d_name) <
		    (int)len)
			ret = 0;
		break;
	}
	closedir(dir);
	return ret;
}

/*
 * The path of the group file, /dev/vfio/<@prefix>GROUP, of the device whose
 * sysfs directory is @devdir, into @path.  @prefix is "" but for no-IOMMU
 * groups ("noiommu-").
 */
static inline int vfio_group_path_of(const char *devdir, const char *prefix,
				     char *path, size_t len)
{
	char link[PATH_MAX], target[PATH_MAX];
	const char *group;
	ssize_t n;

	if (snprintf(link, sizeof(link), "%s/iommu_group", devdir) >=
	    (int)sizeof(link))
		return -1;
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = 0;
	group = strrchr(target, '/');
	group = group ? group + 1 : target;
	return snprintf(path, len, "/dev/vfio/%s%s", prefix, group) <
	       (int)len ? 0 : -1;
}

/* Open the file at @path, -1 if @ret says there is none */
static inline int vfio_open_path(int ret, const char *path)
{
	return ret ? -1 : open(path, O_RDWR);
}

#define EDU_SYSFS "/sys/bus/pci/devices/"

/* The path of the edu's /dev/vfio/devices/vfioN into @path */
/*
 * Does an IOMMU translate the DMA of the PCI device @bdf (is it in an
 * IOMMU group)?  VT-d groups every device at boot; behind virtio-iommu
 * (ACPI VIOT) and SMMUv3 (device tree) a device joins its group when a
 * driver binds.  Behind a PCIe-to-PCI bridge none may: QEMU 7.2's VIOT
 * covers PCI bus 0 only, and 6.12's arm-smmu-v3 refuses a second device
 * with the bridge's stream ID.
 */
static inline bool edu_translated(const char *bdf)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), EDU_SYSFS "%s/iommu_group", bdf);
	return !stat(path, &st);
}

/* The kind of IOMMU that translates a device's DMA */
enum edu_iommu {
	EDU_IOMMU_NONE,
	EDU_IOMMU_VTD,
	EDU_IOMMU_AMD,
	EDU_IOMMU_SMMUV3,
	EDU_IOMMU_VIRTIO,
};

/*
 * Which IOMMU translates the DMA of the PCI device @bdf, by the sysfs name
 * its driver gives the IOMMU: dmarN (VT-d), ivhdN (AMD-Vi), smmu3.ADDR
 * (SMMUv3); virtio-iommu names it after its own PCI device.
 */
static inline enum edu_iommu edu_iommu_of(const char *bdf)
{
	char path[512], target[512], *name;
	ssize_t n;

	snprintf(path, sizeof(path), EDU_SYSFS "%s/iommu", bdf);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return EDU_IOMMU_NONE;
	target[n] = 0;
	name = strrchr(target, '/');
	name = name ? name + 1 : target;
	if (!strncmp(name, "dmar", 4))
		return EDU_IOMMU_VTD;
	if (!strncmp(name, "ivhd", 4))
		return EDU_IOMMU_AMD;
	if (!strncmp(name, "smmu3.", 6))
		return EDU_IOMMU_SMMUV3;
	return EDU_IOMMU_VIRTIO;
}

/*
 * The machine's IOMMU: the one behind the first edu on the root bus, once
 * vfio-pci has it (virtio-iommu groups a device when a driver binds).
 */
static inline enum edu_iommu edu_machine_iommu(void)
{
	char bdf[64];

	if (edu_find(0, bdf, sizeof(bdf)) || edu_bind_vfio_pci(bdf))
		return EDU_IOMMU_NONE;
	return edu_iommu_of(bdf);
}

static inline int edu_cdev_path(const char *bdf, char *path, size_t len)
{
	char devdir[512];

	snprintf(devdir, sizeof(devdir), EDU_SYSFS "%s", bdf);
	return vfio_cdev_path_of(devdir, path, len);
}

/* The path of the edu's group file, /dev/vfio/GROUP, into @path */
static inline int edu_group_path(const char *bdf, char *path, size_t len)
{
	char devdir[512];

	snprintf(devdir, sizeof(devdir), EDU_SYSFS "%s", bdf);
	return vfio_group_path_of(devdir, "", path, len);
}

/* Open /dev/vfio/devices/vfioN of the device. */
static inline int edu_open_cdev(const char *bdf)
{
	char path[1024];

	return vfio_open_path(edu_cdev_path(bdf, path, sizeof(path)), path);
}

/* Open the device's group file */
static inline int edu_open_group(const char *bdf)
{
	char path[1024];

	return vfio_open_path(edu_group_path(bdf, path, sizeof(path)), path);
}

/*
 * Run one DMA command of @len bytes (at most EDU_DMA_MAX) through the
 * device's BAR0 at offset @bar0 of @devfd.  Return: 0 once the engine is
 * idle again, -1 on an access error or after 10 s.
 */
static inline int edu_dma(int devfd, __u64 bar0, __u64 src, __u64 dst,
			  __u64 len, __u64 cmd)
{
	const __u64 regs[][2] = {
		{ EDU_REG_DMA_SRC, src }, { EDU_REG_DMA_DST, dst },
		{ EDU_REG_DMA_COUNT, len },
		{ EDU_REG_DMA_CMD, cmd | EDU_DMA_START },
	};
	struct timespec ts = { 0, 5 * 1000 * 1000 };
	__u64 status;
	int i;

	for (i = 0; i != 4; i++)
		if (pwrite(devfd, &regs[i][1], 8, bar0 + regs[i][0]) != 8)
			return -1;
	for (i = 0; i != 2000; i++) {
		if (pread(devfd, &status, 8, bar0 + EDU_REG_DMA_CMD) != 8)
			return -1;
		if (!(status & EDU_DMA_START))
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

/*
 * vfio-pci leaves bus mastering off; without it QEMU silently drops the
 * device's DMA.  Turn it on through the config space region.
 */
static inline int edu_enable_bus_master(int devfd)
{
	struct vfio_region_info cfg = {
		.argsz = sizeof(cfg), .index = VFIO_PCI_CONFIG_REGION_INDEX,
	};
	unsigned short cmd;

	if (ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &cfg))
		return -1;
	if (pread(devfd, &cmd, 2, cfg.offset + 4) != 2)
		return -1;
	cmd |= 0x4;	/* PCI_COMMAND_MASTER */
	return pwrite(devfd, &cmd, 2, cfg.offset + 4) == 2 ? 0 : -1;
}

/* Ready the device for edu_dma(): bus mastering on, BAR0's offset found */
static inline int edu_prepare_dma(int devfd, __u64 *bar0)
{
	struct vfio_region_info region = {
		.argsz = sizeof(region), .index = VFIO_PCI_BAR0_REGION_INDEX,
	};

	if (edu_enable_bus_master(devfd) ||
	    ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &region))
		return -1;
	*bar0 = region.offset;
	return 0;
}

/*
 * Write @text into the kernel log: the harness reads "harness:
 * expect-fault begin" and "... end" lines there as the window in which
 * the IOMMU's fault reports are what a test expects.
 */
static inline void kernel_log_marker(const char *text)
{
	int fd = open("/dev/kmsg", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("/dev/kmsg");
		close(fd);
	}
}
#endif
