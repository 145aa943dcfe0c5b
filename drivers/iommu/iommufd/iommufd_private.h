/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Definitions shared by the files of iommufd.ko.
 *
 * Lifetimes, stated once:
 *  - An iommufd_ctx lives exactly as long as its struct file.  Kernel users
 *    (VFIO) hold the file with iommufd_ctx_get() / iommufd_ctx_put().
 *  - Every object the context owns is in ctx->objects under its id; an
 *    object is inserted only once fully built, and all of them are
 *    destroyed when the file is released.
 */
#ifndef __IOMMUFD_PRIVATE_H
#define __IOMMUFD_PRIVATE_H

#include <linux/fault-inject.h>
#include <linux/types.h>
#include <linux/xarray.h>

struct file;

/**
 * enum iommufd_account_mode - how pinned pages are charged
 * @IOMMUFD_ACCOUNT_NONE: not charged (CAP_IPC_LOCK)
 * @IOMMUFD_ACCOUNT_USER: the user's locked_vm, against RLIMIT_MEMLOCK
 * @IOMMUFD_ACCOUNT_MM: the process's pinned_vm, like VFIO type1
 */
enum iommufd_account_mode {
	IOMMUFD_ACCOUNT_NONE,
	IOMMUFD_ACCOUNT_USER,
	IOMMUFD_ACCOUNT_MM,
};

/**
 * struct iommufd_ctx - the state behind one open /dev/iommu
 * @file: the file; the context's lifetime is the file's
 * @objects: id -> object; the xarray's own lock protects it
 * @account_mode: enum iommufd_account_mode; set before anything is pinned
 * @opened_as_vfio: opened through /dev/vfio/vfio
 */
struct iommufd_ctx {
	struct file *file;
	struct xarray objects;
	u8 account_mode;
	bool opened_as_vfio;
};

/**
 * struct iommufd_ucmd - one ioctl being executed
 * @ictx: the context
 * @ubuffer: the user's struct
 * @user_size: the size the user gave
 * @cmd: the kernel copy, zero-extended to the kernel's struct size
 */
struct iommufd_ucmd {
	struct iommufd_ctx *ictx;
	void __user *ubuffer;
	u32 user_size;
	void *cmd;
};

int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len);

/* vfio_compat.c: the VFIO container ioctls, on /dev/vfio/vfio and /dev/iommu */
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg);

#ifdef CONFIG_IOMMUFD_TEST
/* selftest.c */
int iommufd_test(struct iommufd_ucmd *ucmd);
int iommufd_test_init(void);
void iommufd_test_exit(void);
bool iommufd_should_fail(void);
#else
static inline int iommufd_test_init(void)
{
	return 0;
}

static inline void iommufd_test_exit(void)
{
}

static inline bool iommufd_should_fail(void)
{
	return false;
}
#endif
#endif
