// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd.ko: the /dev/iommu (and /dev/vfio/vfio) character devices and
 * the ioctl dispatcher.  The top layer: nothing below calls into this
 * file; a file's context is object.c's.
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
#include <linux/uaccess.h>
#include <linux/vfio.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

/*
 * Which node was opened decides how the pins of the context's mappings are
 * charged: /dev/iommu per user, /dev/vfio/vfio (the type1 container) per
 * process, as VFIO's own type1 driver does.
 */
static int iommufd_open_dev_iommu(struct inode *inode, struct file *filp)
{
	return iommufd_ctx_create(filp, IOMMUFD_ACCOUNT_USER);
}

static int iommufd_open_vfio_container(struct inode *inode, struct file *filp)
{
	struct iommufd_ctx *ictx;
	int ret;

	pr_info_once("serving /dev/vfio/vfio in place of VFIO's container\n");
	ret = iommufd_ctx_create(filp, IOMMUFD_ACCOUNT_MM);
	if (ret)
		return ret;
	ictx = filp->private_data;
	ictx->vfio_node = true;
	return 0;
}

static int iommufd_dev_release(struct inode *inode, struct file *filp)
{
	iommufd_ctx_destroy(filp->private_data);
	return 0;
}

static int iommufd_destroy_call(struct iommufd_call *call)
{
	struct iommu_destroy *cmd = call->kbuf;

	return iommufd_object_destroy_user(call->ctx, cmd->id);
}

/**
 * struct iommufd_op - how one /dev/iommu command runs
 * @run: the handler; NULL for a number this kernel has no command for
 * @kernel_size: sizeof the kernel's struct, what the handler sees
 * @min_size: the struct's size in its first release; a user size below it
 *	is EINVAL
 */
struct iommufd_op {
	int (*run)(struct iommufd_call *call);
	u16 kernel_size;
	u16 min_size;
};

/* Command structs are copied to the stack: none may be larger */
#define IOMMUFD_STRUCT_LIMIT 128

/*
 * IOMMUFD_OP(NAME, handler, type, last member of the first release): the
 * descriptor of command IOMMUFD_CMD_NAME, whose struct is struct type.
 */
#define IOMMUFD_OP(name, fn, type, first_last)				\
	[IOMMUFD_CMD_##name - IOMMUFD_CMD_BASE] = {			\
		.run = fn,						\
		.min_size = offsetofend(struct type, first_last),	\
		.kernel_size = sizeof(struct type) +			\
			BUILD_BUG_ON_ZERO(sizeof(struct type) >		\
					  IOMMUFD_STRUCT_LIMIT),	\
	}

static const struct iommufd_op iommufd_ops[] = {
	IOMMUFD_OP(DESTROY, iommufd_destroy_call, iommu_destroy, id),
	IOMMUFD_OP(IOAS_ALLOC, iommufd_ioas_alloc_ioctl, iommu_ioas_alloc,
		   out_ioas_id),
	IOMMUFD_OP(IOAS_ALLOW_IOVAS, iommufd_ioas_allow_iovas,
		   iommu_ioas_allow_iovas, allowed_iovas),
	IOMMUFD_OP(IOAS_COPY, iommufd_ioas_copy, iommu_ioas_copy, src_iova),
	IOMMUFD_OP(IOAS_IOVA_RANGES, iommufd_ioas_iova_ranges,
		   iommu_ioas_iova_ranges, out_iova_alignment),
	IOMMUFD_OP(IOAS_MAP, iommufd_ioas_map, iommu_ioas_map, iova),
	IOMMUFD_OP(IOAS_UNMAP, iommufd_ioas_unmap, iommu_ioas_unmap, length),
	IOMMUFD_OP(OPTION, iommufd_option, iommu_option, val64),
	IOMMUFD_OP(VFIO_IOAS, iommufd_vfio_ioas, iommu_vfio_ioas, __reserved),
	IOMMUFD_OP(HWPT_ALLOC, iommufd_hwpt_alloc, iommu_hwpt_alloc,
		   __reserved),
	IOMMUFD_OP(GET_HW_INFO, iommufd_get_hw_info, iommu_hw_info,
		   __reserved),
	IOMMUFD_OP(HWPT_SET_DIRTY_TRACKING, iommufd_hwpt_set_dirty_tracking,
		   iommu_hwpt_set_dirty_tracking, __reserved),
	IOMMUFD_OP(HWPT_GET_DIRTY_BITMAP, iommufd_hwpt_get_dirty_bitmap,
		   iommu_hwpt_get_dirty_bitmap, data),
	IOMMUFD_OP(HWPT_INVALIDATE, iommufd_hwpt_invalidate,
		   iommu_hwpt_invalidate, __reserved),
	IOMMUFD_OP(FAULT_QUEUE_ALLOC, iommufd_fault_queue_alloc, iommu_fault_alloc,
		   out_fault_fd),
	IOMMUFD_OP(IOAS_MAP_FILE, iommufd_ioas_map_file, iommu_ioas_map_file,
		   iova),
	IOMMUFD_OP(IOAS_CHANGE_PROCESS, iommufd_ioas_change_process,
		   iommu_ioas_change_process, __reserved),
#ifdef CONFIG_IOMMUFD_TEST
	/* The test ABI's one command sits past the numbered ones */
	[_IOC_NR(IOMMU_TEST_CMD) - IOMMUFD_CMD_BASE] = {
		.run = iommufd_test,
		.min_size = offsetofend(struct iommu_test_cmd, last),
		.kernel_size = sizeof(struct iommu_test_cmd),
	},
#endif
};

/* The descriptor of ioctl number @cmd, or NULL if there is no such command */
static const struct iommufd_op *iommufd_op_of(unsigned int cmd)
{
	unsigned int idx = _IOC_NR(cmd) - IOMMUFD_CMD_BASE;

	/* Commands carry no direction or size bits: they are _IO() */
	if (cmd != _IO(IOMMUFD_TYPE, _IOC_NR(cmd)) ||
	    idx >= ARRAY_SIZE(iommufd_ops) || !iommufd_ops[idx].run)
		return NULL;
	return &iommufd_ops[idx];
}

static long iommufd_dev_ioctl(struct file *filp, unsigned int cmd,
			      unsigned long arg)
{
	u64 kbuf[IOMMUFD_STRUCT_LIMIT / sizeof(u64)];
	struct iommufd_call call;
	const struct iommufd_op *op;
	int ret;

	call.ctx = filp->private_data;
	if (_IOC_TYPE(cmd) != IOMMUFD_TYPE || _IOC_NR(cmd) < IOMMUFD_CMD_BASE ||
	    _IOC_NR(cmd) - IOMMUFD_CMD_BASE >= ARRAY_SIZE(iommufd_ops))
		return iommufd_container_ioctl(call.ctx, cmd, arg);

	/*
	 * Every struct starts with its size, in the user's version.  It is
	 * read for every number of the table, one without a command too, so
	 * an unreadable argument is EFAULT before ENOTTY, as in 6.12.
	 */
	call.uarg = (void __user *)arg;
	if (get_user(call.ulen, (u32 __user *)call.uarg))
		return -EFAULT;
	op = iommufd_op_of(cmd);
	if (!op)
		return -ENOTTY;
	if (call.ulen < op->min_size)
		return -EINVAL;
	ret = copy_struct_from_user(kbuf, op->kernel_size, call.uarg,
				    call.ulen);
	if (ret)
		return ret;
	call.kbuf = kbuf;
	return op->run(&call);
}

static const struct file_operations iommufd_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_open_dev_iommu,
	.release = iommufd_dev_release,
	.unlocked_ioctl = iommufd_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

/* /dev/vfio/vfio: the same file, charged like VFIO type1 */
static const struct file_operations iommufd_vfio_fops = {
	.owner = THIS_MODULE,
	.open = iommufd_open_vfio_container,
	.release = iommufd_dev_release,
	.unlocked_ioctl = iommufd_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static bool iommufd_is_ctx_file(struct file *file)
{
	return file->f_op == &iommufd_fops || file->f_op == &iommufd_vfio_fops;
}

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
	if (!iommufd_is_ctx_file(file))
		return ERR_PTR(-EBADFD);
	/* The file's reference is the context's */
	get_file(file);
	return file->private_data;
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
	struct iommufd_ctx *ictx;
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	ictx = iommufd_ctx_from_file(file);
	fput(file);
	return ictx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_from_fd, IOMMUFD);

static struct miscdevice iommufd_node_iommu = {
	.fops = &iommufd_fops,
	.name = "iommu",
	.nodename = "iommu",
	.minor = MISC_DYNAMIC_MINOR,
	.mode = 0660,
};

#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
static struct miscdevice iommufd_node_vfio = {
	.fops = &iommufd_vfio_fops,
	.name = "vfio",
	.nodename = "vfio/vfio",
	.minor = VFIO_MINOR,
	.mode = 0666,
};

static int iommufd_vfio_node_add(void)
{
	return misc_register(&iommufd_node_vfio);
}

static void iommufd_vfio_node_remove(void)
{
	misc_deregister(&iommufd_node_vfio);
}
#else
static int iommufd_vfio_node_add(void)
{
	return 0;
}

static void iommufd_vfio_node_remove(void)
{
}
#endif

/*
 * Everything a file can reach (the test driver; the object types are a
 * const table) is set up before the device nodes appear, and the nodes go
 * first at exit.
 */
static int __init iommufd_module_init(void)
{
	int ret;

	ret = iommufd_mock_init();
	if (ret)
		return ret;
	ret = misc_register(&iommufd_node_iommu);
	if (ret)
		goto err_test_exit;
	ret = iommufd_vfio_node_add();
	if (ret)
		goto err_remove_iommu;
	return 0;

err_remove_iommu:
	misc_deregister(&iommufd_node_iommu);
err_test_exit:
	iommufd_mock_exit();
	return ret;
}
module_init(iommufd_module_init);

static void __exit iommufd_module_exit(void)
{
	iommufd_vfio_node_remove();
	misc_deregister(&iommufd_node_iommu);
	iommufd_mock_exit();
}
module_exit(iommufd_module_exit);

MODULE_DESCRIPTION("I/O address space management for passthrough devices");
MODULE_IMPORT_NS(IOMMUFD_INTERNAL);
MODULE_IMPORT_NS(IOMMUFD);
MODULE_LICENSE("GPL");
#if IS_ENABLED(CONFIG_IOMMUFD_VFIO_CONTAINER)
/* Loaded on first open of /dev/vfio/vfio */
MODULE_ALIAS("devname:vfio/vfio");
MODULE_ALIAS_MISCDEV(VFIO_MINOR);
#endif
