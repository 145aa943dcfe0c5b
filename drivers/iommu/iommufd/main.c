// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd.ko: the /dev/iommu character device, its contexts and the ioctl
 * dispatcher.
 *
 * Every /dev/iommu command takes a size-prefixed struct.  The dispatcher
 * applies the extensibility rules once, for all of them: a size below the
 * struct's first release is EINVAL, a tail beyond what this kernel knows
 * must be zero (else E2BIG), a shorter struct is zero-extended, and the
 * reply is written back up to the user's size.  Command numbers below the
 * iommufd range belong to the VFIO container emulation.
 */
#define pr_fmt(fmt) "iommufd: " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iommufd.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

static struct miscdevice iommufd_misc[];

static int iommufd_fops_open(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx;

	ictx = kzalloc(sizeof(*ictx), GFP_KERNEL_ACCOUNT);
	if (!ictx)
		return -ENOMEM;

	/* misc_open() leaves the miscdevice in private_data */
	if (filp->private_data != &iommufd_misc[0]) {
		/* /dev/vfio/vfio: charge pins like VFIO type1 does */
		ictx->account_mode = IOMMUFD_ACCOUNT_MM;
		pr_info_once("IOMMUFD is providing /dev/vfio/vfio, not VFIO\n");
	} else {
		ictx->account_mode = IOMMUFD_ACCOUNT_USER;
	}

	xa_init_flags(&ictx->objects, XA_FLAGS_ALLOC1 | XA_FLAGS_ACCOUNT);
	init_waitqueue_head(&ictx->remove_wait);
	xa_init(&ictx->groups);
	mutex_init(&ictx->lock);
	mutex_init(&ictx->vfio_map_lock);
	mutex_init(&ictx->handover_lock);
	ictx->file = filp;
	filp->private_data = ictx;
	return 0;
}

static int iommufd_fops_release(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx = filp->private_data;

	iommufd_object_destroy_all(ictx);
	xa_destroy(&ictx->objects);
	WARN_ON(!xa_empty(&ictx->groups));
	xa_destroy(&ictx->groups);
	mutex_destroy(&ictx->vfio_map_lock);
	mutex_destroy(&ictx->handover_lock);
	mutex_destroy(&ictx->lock);
	kfree(ictx);
	return 0;
}

/**
 * iommufd_ucmd_respond() - copy a command's reply back to the user
 * @ucmd: the command
 * @cmd_len: the kernel size of the command's struct
 *
 * Writes at most the user's size: a user with an older, shorter struct
 * gets the fields it knows of.
 *
 * Context: Process context, from an ioctl handler.
 * Return: 0, or -EFAULT.
 */
int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len)
{
	if (copy_to_user(ucmd->ubuffer, ucmd->cmd,
			 min_t(size_t, ucmd->user_size, cmd_len)))
		return -EFAULT;
	return 0;
}

static int iommufd_destroy(struct iommufd_ucmd *ucmd)
{
	struct iommu_destroy *cmd = ucmd->cmd;

	return iommufd_object_destroy_user(ucmd->ictx, cmd->id);
}

/**
 * struct iommufd_cmd - how to run one /dev/iommu command
 * @handler: executes it; NULL for a command this kernel lacks
 * @size: sizeof the kernel's struct
 * @first_size: the struct's size in its first release; a user size below
 *	it is EINVAL
 */
struct iommufd_cmd {
	int (*handler)(struct iommufd_ucmd *ucmd);
	u16 size;
	u16 first_size;
};

/* The largest command struct; command buffers live on the stack */
#define IOMMUFD_CMD_MAX_SIZE 128

#define IOMMUFD_CMD(_nr, _handler, _type, _first_member)                    \
	[(_nr) - IOMMUFD_CMD_BASE] = {                                          \
		.handler = _handler,                                          \
		.size = sizeof(_type) +                                       \
			BUILD_BUG_ON_ZERO(sizeof(_type) > IOMMUFD_CMD_MAX_SIZE), \
		.first_size = offsetofend(_type, _first_member),              \
	}

static const struct iommufd_cmd iommufd_cmds[] = {
	IOMMUFD_CMD(IOMMUFD_CMD_DESTROY, iommufd_destroy,
		    struct iommu_destroy, id),
	IOMMUFD_CMD(IOMMUFD_CMD_IOAS_ALLOC, iommufd_ioas_alloc_ioctl,
		    struct iommu_ioas_alloc, out_ioas_id),
	IOMMUFD_CMD(IOMMUFD_CMD_IOAS_ALLOW_IOVAS, iommufd_ioas_allow_iovas,
		    struct iommu_ioas_allow_iovas, allowed_iovas),
	IOMMUFD_CMD(IOMMUFD_CMD_IOAS_COPY, iommufd_ioas_copy,
		    struct iommu_ioas_copy, src_iova),
	IOMMUFD_CMD(IOMMUFD_CMD_IOAS_IOVA_RANGES, iommufd_ioas_iova_ranges,
		    struct iommu_ioas_iova_ranges, out_iova_alignment),
	IOMMUFD_CMD(IOMMUFD_CMD_IOAS_MAP, iommufd_ioas_map,
		    struct iommu_ioas_map, iova),
	IOMMUFD_CMD(IOMMUFD_CMD_IOAS_UNMAP, iommufd_ioas_unmap,
		    struct iommu_ioas_unmap, length),
	IOMMUFD_CMD(IOMMUFD_CMD_OPTION, iommufd_option,
		    struct iommu_option, val64),
	IOMMUFD_CMD(IOMMUFD_CMD_VFIO_IOAS, iommufd_vfio_ioas,
		    struct iommu_vfio_ioas, __reserved),
	IOMMUFD_CMD(IOMMUFD_CMD_HWPT_ALLOC, iommufd_hwpt_alloc,
		    struct iommu_hwpt_alloc, __reserved),
	IOMMUFD_CMD(IOMMUFD_CMD_GET_HW_INFO, iommufd_get_hw_info,
		    struct iommu_hw_info, __reserved),
	IOMMUFD_CMD(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING,
		    iommufd_hwpt_set_dirty_tracking,
		    struct iommu_hwpt_set_dirty_tracking, __reserved),
	IOMMUFD_CMD(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP,
		    iommufd_hwpt_get_dirty_bitmap,
		    struct iommu_hwpt_get_dirty_bitmap, data),
	IOMMUFD_CMD(IOMMUFD_CMD_HWPT_INVALIDATE, iommufd_hwpt_invalidate,
		    struct iommu_hwpt_invalidate, __reserved),
	IOMMUFD_CMD(IOMMUFD_CMD_FAULT_QUEUE_ALLOC, iommufd_fault_alloc,
		    struct iommu_fault_alloc, out_fault_fd),
	IOMMUFD_CMD(IOMMUFD_CMD_IOAS_MAP_FILE, iommufd_ioas_map_file,
		    struct iommu_ioas_map_file, iova),
	IOMMUFD_CMD(IOMMUFD_CMD_IOAS_CHANGE_PROCESS,
		    iommufd_ioas_change_process,
		    struct iommu_ioas_change_process, __reserved),
#ifdef CONFIG_IOMMUFD_TEST
	IOMMUFD_CMD(IOMMUFD_CMD_BASE + 32, iommufd_test,
		    struct iommu_test_cmd, last),
#endif
};

static long iommufd_fops_ioctl(struct file *filp, unsigned int cmd,
			       unsigned long arg)
{
	u64 buf[IOMMUFD_CMD_MAX_SIZE / sizeof(u64)];
	struct iommufd_ucmd ucmd = {
		.ictx = filp->private_data,
		.ubuffer = (void __user *)arg,
		.cmd = buf,
	};
	const struct iommufd_cmd *op;
	unsigned int nr = _IOC_NR(cmd);
	int ret;

	if (_IOC_TYPE(cmd) != IOMMUFD_TYPE || nr < IOMMUFD_CMD_BASE)
		return iommufd_vfio_ioctl(ucmd.ictx, cmd, arg);
	if (nr - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_cmds) ||
	    cmd != _IO(IOMMUFD_TYPE, nr))
		return -ENOTTY;
	op = &iommufd_cmds[nr - IOMMUFD_CMD_BASE];
	if (!op->handler)
		return -ENOTTY;

	if (get_user(ucmd.user_size, (u32 __user *)ucmd.ubuffer))
		return -EFAULT;
	if (ucmd.user_size < op->first_size)
		return -EINVAL;
	ret = copy_struct_from_user(buf, op->size, ucmd.ubuffer,
				    ucmd.user_size);
	if (ret)
		return ret;
	return op->handler(&ucmd);
}

static const struct file_operations iommufd_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_fops_open,
	.release = iommufd_fops_release,
	.unlocked_ioctl = iommufd_fops_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/* The context behind @file, or NULL if @file is not an iommufd */
static struct iommufd_ctx *iommufd_file_ctx(struct file *file)
{
	return file->f_op == &iommufd_fops ? file->private_data : NULL;
}

/**
 * iommufd_ctx_get() - take a reference on a context
 * @ictx: the context
 *
 * The reference keeps the context's file, and so the context, alive.
 *
 * Context: Any context.
 */
void iommufd_ctx_get(struct iommufd_ctx *ictx)
{
	get_file(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_get, IOMMUFD);

/**
 * iommufd_ctx_from_file() - the context behind a /dev/iommu file
 * @file: a file the caller holds
 *
 * Context: Any context.
 * Return: the context with a reference the caller drops with
 * iommufd_ctx_put(), or ERR_PTR(-EBADFD) if @file is not an iommufd.
 */
struct iommufd_ctx *iommufd_ctx_from_file(struct file *file)
{
	struct iommufd_ctx *ictx = iommufd_file_ctx(file);

	if (!ictx)
		return ERR_PTR(-EBADFD);
	iommufd_ctx_get(ictx);
	return ictx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_file, IOMMUFD);

/**
 * iommufd_ctx_from_fd() - the context behind a /dev/iommu file descriptor
 * @fd: a file descriptor of the calling process
 *
 * Context: Process context.
 * Return: the context with a reference the caller drops with
 * iommufd_ctx_put(), ERR_PTR(-EBADF) for a bad descriptor, or
 * ERR_PTR(-EBADFD) if it is not an iommufd.
 */
struct iommufd_ctx *iommufd_ctx_from_fd(int fd)
{
	CLASS(fd, f)(fd);

	return fd_empty(f) ? ERR_PTR(-EBADF) : iommufd_ctx_from_file(fd_file(f));
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_fd, IOMMUFD);

/**
 * iommufd_ctx_put() - drop a reference taken on a context
 * @ictx: the context
 *
 * Context: Process context; the last reference releases the file.
 */
void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
	fput(ictx->file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_put, IOMMUFD);

/* The character devices of iommufd; the first is /dev/iommu. */
static struct miscdevice iommufd_misc[] = {
	{
		.minor = MISC_DYNAMIC_MINOR, .name = "iommu",
		.nodename = "iommu", .mode = 0660, .fops = &iommufd_fops,
	},
#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
	{
		.minor = VFIO_MINOR, .name = "vfio",
		.nodename = "vfio/vfio", .mode = 0666, .fops = &iommufd_fops,
	},
#endif
};

static int __init iommufd_init(void)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i != ARRAY_SIZE(iommufd_misc) && !ret; i++)
		ret = misc_register(&iommufd_misc[i]);
	if (ret) {
		i--;		/* the one that failed is not registered */
		goto err_deregister;
	}
	iommufd_ioas_init();
	iommufd_access_init();
	iommufd_device_init();
	iommufd_hwpt_init();
	iommufd_fault_init();
	ret = iommufd_test_init();
	if (ret)
		goto err_deregister;
	return 0;

err_deregister:
	while (i--)
		misc_deregister(&iommufd_misc[i]);
	return ret;
}
module_init(iommufd_init);

static void __exit iommufd_exit(void)
{
	unsigned int i = ARRAY_SIZE(iommufd_misc);

	iommufd_test_exit();
	while (i--)
		misc_deregister(&iommufd_misc[i]);
}
module_exit(iommufd_exit);

MODULE_DESCRIPTION("I/O address space management for passthrough devices");
MODULE_IMPORT_NS(IOMMUFD_INTERNAL);
MODULE_IMPORT_NS(IOMMUFD);
MODULE_LICENSE("GPL");
#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
/* Loaded on first open of /dev/vfio/vfio */
MODULE_ALIAS("devname:vfio/vfio");
MODULE_ALIAS_MISCDEV(VFIO_MINOR);
#endif
