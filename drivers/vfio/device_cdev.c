// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO device cdev, /dev/vfio/devices/vfioN: a device file that is
 * bound straight to an iommufd, with no VFIO group or container.
 *
 * Life of a cdev file: open() only grants a file; VFIO_DEVICE_BIND_IOMMUFD
 * blocks the device's group, binds the device to the iommufd and opens it
 * (df->access_granted); from then on the device ioctls work, and
 * VFIO_DEVICE_{ATTACH,DETACH}_IOMMUFD_PT pick its IO page table.  Closing
 * the file undoes the binding.
 *
 * Locking: binding state (df->iommufd, df->access_granted, the device's
 * open count and its KVM reference) changes under device->dev_set->lock.
 */
#include <linux/iommufd.h>
#include <linux/slab.h>
#include <linux/vfio.h>

#include "vfio.h"

/* Every possible minor: a device's minor is its VFIO index */
#define VFIO_CDEV_MINORS (MINORMASK + 1)

static dev_t vfio_cdev_base;

/* The nodes live in /dev/vfio/devices/ */
static char *vfio_cdev_node_name(const struct device *dev, umode_t *mode)
{
	const char *name = dev_name(dev);

	return kasprintf(GFP_KERNEL, "vfio/devices/%s", name);
}

int vfio_cdev_init(struct class *device_class)
{
	int ret = alloc_chrdev_region(&vfio_cdev_base, 0, VFIO_CDEV_MINORS,
				      "vfio-dev");

	if (ret)
		return ret;
	device_class->devnode = vfio_cdev_node_name;
	return 0;
}

void vfio_cdev_cleanup(void)
{
	unregister_chrdev_region(vfio_cdev_base, VFIO_CDEV_MINORS);
}

void vfio_init_device_cdev(struct vfio_device *device)
{
	device->device.devt = MKDEV(MAJOR(vfio_cdev_base), device->index);
	cdev_init(&device->cdev, &vfio_device_fops);
	device->cdev.owner = THIS_MODULE;
}

static struct vfio_device *vfio_cdev_to_device(struct inode *inode)
{
	return container_of(inode->i_cdev, struct vfio_device, cdev);
}

int vfio_device_fops_cdev_open(struct inode *inode, struct file *filep)
{
	struct vfio_device *device = vfio_cdev_to_device(inode);
	struct vfio_device_file *df = NULL;
	int ret = -ENODEV;

	/* The registration is held until release: the device stays */
	if (vfio_device_try_get_registration(device)) {
		df = vfio_allocate_device_file(device);
		ret = PTR_ERR_OR_ZERO(df);
		if (ret)
			vfio_device_put_registration(device);
	}
	if (ret)
		return ret;
	filep->private_data = df;
	/* The driver zaps user mmaps of the device through its inode */
	filep->f_mapping = device->inode->i_mapping;
	return 0;
}

/*
 * Read the argument of a cdev ioctl.  Each begins with argsz and flags; the
 * user's argsz must cover the @minsz bytes this kernel reads, and no flag
 * is defined for any of them.
 */
static int vfio_cdev_get_arg(void *karg, const void __user *uarg,
			     size_t minsz)
{
	const struct vfio_device_detach_iommufd_pt *head = karg;

	BUILD_BUG_ON(sizeof(*head) != 2 * sizeof(u32));
	if (copy_from_user(karg, uarg, minsz))
		return -EFAULT;
	return head->argsz < minsz || head->flags ? -EINVAL : 0;
}

/* Drop what binding took: the iommufd and the KVM reference */
static void vfio_df_drop_iommufd(struct vfio_device_file *df)
{
	lockdep_assert_held(&df->device->dev_set->lock);

	vfio_device_put_kvm(df->device);
	iommufd_ctx_put(df->iommufd);
	df->iommufd = NULL;
}

/* Bind @df to the iommufd behind @fd and open the device */
static int vfio_df_bind_locked(struct vfio_device_file *df, int fd,
			       u32 __user *out_devid)
{
	struct vfio_device *device = df->device;
	struct iommufd_ctx *ictx;
	int ret;

	lockdep_assert_held(&device->dev_set->lock);

	if (df->access_granted)
		return -EINVAL;		/* a file binds once */
	ictx = iommufd_ctx_from_fd(fd);
	if (IS_ERR(ictx))
		return PTR_ERR(ictx);

	/* The KVM reference taken here is held until the device is closed */
	spin_lock(&df->kvm_ref_lock);
	vfio_device_get_kvm_safe(device, df->kvm);
	spin_unlock(&df->kvm_ref_lock);

	df->iommufd = ictx;
	ret = vfio_df_open(df);
	/* The id goes out as the uAPI's u32, whatever type VFIO keeps */
	if (!ret && put_user((u32)df->devid, out_devid)) {
		vfio_df_close(df);
		ret = -EFAULT;
	}
	if (ret) {
		vfio_df_drop_iommufd(df);
		return ret;
	}
	device->cdev_opened = true;
	/* Pairs with smp_load_acquire() in the device file's ioctl/mmap */
	smp_store_release(&df->access_granted, true);
	return 0;
}

long vfio_df_ioctl_bind_iommufd(struct vfio_device_file *df,
				struct vfio_device_bind_iommufd __user *arg)
{
	struct vfio_device_bind_iommufd req;
	long ret;

	ret = vfio_cdev_get_arg(&req, arg,
				offsetofend(struct vfio_device_bind_iommufd,
					    out_devid));
	if (ret)
		return ret;
	/* A file from VFIO_GROUP_GET_DEVICE_FD uses the group's container */
	if (df->group || req.iommufd < 0)
		return -EINVAL;
	/* Bound through the cdev, the device's group cannot be used */
	ret = vfio_device_block_group(df->device);
	if (ret)
		return ret;
	scoped_guard(mutex, &df->device->dev_set->lock)
		ret = vfio_df_bind_locked(df, req.iommufd, &arg->out_devid);
	if (ret)
		vfio_device_unblock_group(df->device);
	return ret;
}

/* Called when a cdev file is released, bound or not */
void vfio_df_unbind_iommufd(struct vfio_device_file *df)
{
	struct vfio_device *device = df->device;

	/* A file that never bound has nothing to undo */
	if (df->access_granted) {
		mutex_lock(&device->dev_set->lock);
		device->cdev_opened = false;
		vfio_df_close(df);
		vfio_df_drop_iommufd(df);
		mutex_unlock(&device->dev_set->lock);
		vfio_device_unblock_group(device);
	}
}

int vfio_df_ioctl_attach_pt(struct vfio_device_file *df,
			    struct vfio_device_attach_iommufd_pt __user *arg)
{
	const size_t minsz = offsetofend(struct vfio_device_attach_iommufd_pt,
					 pt_id);
	struct vfio_device *device = df->device;
	struct vfio_device_attach_iommufd_pt attach;
	int ret;

	ret = vfio_cdev_get_arg(&attach, arg, minsz);
	if (ret)
		return ret;

	mutex_lock(&device->dev_set->lock);
	ret = device->ops->attach_ioas(device, &attach.pt_id);
	if (!ret && copy_to_user(&arg->pt_id, &attach.pt_id,
				 sizeof(attach.pt_id))) {
		device->ops->detach_ioas(device);
		ret = -EFAULT;
	}
	mutex_unlock(&device->dev_set->lock);
	return ret;
}

int vfio_df_ioctl_detach_pt(struct vfio_device_file *df,
			    struct vfio_device_detach_iommufd_pt __user *arg)
{
	const size_t minsz = offsetofend(struct vfio_device_detach_iommufd_pt,
					 flags);
	struct vfio_device *device = df->device;
	struct vfio_device_detach_iommufd_pt detach;
	int ret = vfio_cdev_get_arg(&detach, arg, minsz);

	if (!ret) {
		mutex_lock(&device->dev_set->lock);
		device->ops->detach_ioas(device);
		mutex_unlock(&device->dev_set->lock);
	}
	return ret;
}
