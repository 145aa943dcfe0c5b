/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers for tests that use the selftests' mediated device (test_mdev/,
 * the iommufd_test_mdev module): creating and removing one, opening its
 * cdev and group, and running its DMA commands.
 */
#ifndef __SELFTEST_IOMMU_MDEV_DEVICE_H
#define __SELFTEST_IOMMU_MDEV_DEVICE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>

#include "edu_device.h"

#define MDEV_PARENT "/sys/class/mdev_bus/iommufd_test_mdev"
#define MDEV_DEVICES "/sys/bus/mdev/devices"

/* The registers of test_mdev/iommufd_test_mdev.c */
#define REG_IOVA 0x00
#define REG_LENGTH 0x08
#define REG_COMMAND 0x10
#define REG_RESULT 0x18
#define REG_UNMAPS 0x20
#define REG_PINNED 0x28
#define DEV_BUFFER 0x800
#define DEV_BUFFER_SIZE 0x800
#define CMD_READ 1
#define CMD_WRITE 2
#define CMD_PIN 3
#define CMD_POKE 4
#define CMD_UNPIN 5

static inline __u64 mdev_reg_read(int devfd, __u64 reg)
{
	__u64 val = ~0ULL;

	if (pread(devfd, &val, sizeof(val), reg) != sizeof(val))
		return ~0ULL;
	return val;
}

/* Run @cmd on [@iova, @iova + @len): 0 or the driver's -errno */
static inline long long mdev_cmd(int devfd, __u64 cmd, __u64 iova, __u64 len)
{
	if (pwrite(devfd, &iova, 8, REG_IOVA) != 8 ||
	    pwrite(devfd, &len, 8, REG_LENGTH) != 8 ||
	    pwrite(devfd, &cmd, 8, REG_COMMAND) != 8)
		return -EIO;
	return (long long)mdev_reg_read(devfd, REG_RESULT);
}

/*
 * Create the mediated device @uuid of the type whose name ends in @type
 * ("-dma", or "-rw": no dma_unmap, so it cannot pin); 0, or -1 if its
 * parent or the type is missing
 */
static inline int mdev_create_type(const char *uuid, const char *type)
{
	char path[512];
	struct dirent *d;
	DIR *dir;
	int ret = -1;

	dir = opendir(MDEV_PARENT "/mdev_supported_types");
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		size_t n = strlen(d->d_name), t = strlen(type);
		int fd;

		if (n < t || strcmp(d->d_name + n - t, type))
			continue;
		snprintf(path, sizeof(path),
			 MDEV_PARENT "/mdev_supported_types/%s/create",
			 d->d_name);
		fd = open(path, O_WRONLY);
		if (fd < 0)
			break;
		ret = write(fd, uuid, strlen(uuid)) == (ssize_t)strlen(uuid) ?
			0 : -1;
		close(fd);
		break;
	}
	closedir(dir);
	return ret;
}

/* Create the mediated device @uuid, a DMA engine that pins */
static inline int mdev_create(const char *uuid)
{
	return mdev_create_type(uuid, "-dma");
}

static inline void mdev_remove(const char *uuid)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), MDEV_DEVICES "/%s/remove", uuid);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1)
		perror("mdev remove");
	close(fd);
}

/* The path of the mdev's /dev/vfio/devices/vfioN into @path */
static inline int mdev_cdev_path(const char *uuid, char *path, size_t len)
{
	char devdir[512];

	snprintf(devdir, sizeof(devdir), MDEV_DEVICES "/%s", uuid);
	return vfio_cdev_path_of(devdir, path, len);
}

static inline int mdev_open_cdev(const char *uuid)
{
	char path[512];

	return vfio_open_path(mdev_cdev_path(uuid, path, sizeof(path)), path);
}

static inline int mdev_open_group(const char *uuid)
{
	char devdir[512], path[600];

	snprintf(devdir, sizeof(devdir), MDEV_DEVICES "/%s", uuid);
	return vfio_open_path(vfio_group_path_of(devdir, "", path,
						 sizeof(path)), path);
}
#endif
