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

static dev_t vfio_cdev_devt;

static char *vfio_device_devnode(const struct device *dev, umode_t *mode)
{
	return kasprintf(GFP_KERNEL, "vfio/devices/%s", dev_name(dev));
}

int vfio_cdev_init(struct class *device_class)
{
	device_class->devnode = vfio_device_devnode;
	return alloc_chrdev_region(&vfio_cdev_devt, 0, MINORMASK + 1,
				   "vfio-dev");
}

void vfio_cdev_cleanup(void)
{
	unregister_chrdev_region(vfio_cdev_devt, MINORMASK + 1);
}

void vfio_init_device_cdev(struct vfio_device *device)
{
	cdev_init(&device->cdev, &vfio_device_fops);
	device->cdev.owner = THIS_MODULE;
	/* One minor per device, by its VFIO index */
	device->device.devt = MKDEV(MAJOR(vfio_cdev_devt), device->index);
}

int vfio_device_fops_cdev_open(struct inode *inode, struct file *filep)
{
	struct vfio_device *device = container_of(inode->i_cdev,
						  struct vfio_device, cdev);
	struct vfio_device_file *df;

	/* Held until release; keeps the device registered */
	if (!vfio_device_try_get_registration(device))
		return -ENODEV;

	df = vfio_allocate_device_file(device);
	if (!IS_ERR(df)) {
		filep->private_data = df;
		/* The driver zaps user mmaps of the device through it */
		filep->f_mapping = device->inode->i_mapping;
		return 0;
	}
	vfio_device_put_registration(device);
	return PTR_ERR(df);
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
	if (!ret && put_user(df->devid, out_devid)) {
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
	const size_t minsz = offsetofend(struct vfio_device_bind_iommufd,
					 out_devid);
	struct vfio_device *device = df->device;
	struct vfio_device_bind_iommufd bind;
	int ret;

	static_assert(__same_type(arg->out_devid, df->devid));

	ret = vfio_cdev_get_arg(&bind, arg, minsz);
	if (ret)
		return ret;
	/* A file from VFIO_GROUP_GET_DEVICE_FD uses the group's container */
	if (bind.iommufd < 0 || df->group)
		return -EINVAL;

	/* While bound through the cdev, the group cannot be used */
	ret = vfio_device_block_group(device);
	if (ret)
		return ret;
	mutex_lock(&device->dev_set->lock);
	ret = vfio_df_bind_locked(df, bind.iommufd, &arg->out_devid);
	mutex_unlock(&device->dev_set->lock);
	if (ret)
		vfio_device_unblock_group(device);
	return ret;
}

/* Called when a cdev file is released, bound or not */
void vfio_df_unbind_iommufd(struct vfio_device_file *df)
{
	struct vfio_device *device = df->device;

	if (!df->access_granted)
		return;		/* never bound: nothing to undo */

	scoped_guard(mutex, &device->dev_set->lock) {
		vfio_df_close(df);
		vfio_df_drop_iommufd(df);
		device->cdev_opened = false;
	}
	vfio_device_unblock_group(device);
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
