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

void vfio_init_device_cdev(struct vfio_device *device)
{
	device->device.devt = MKDEV(MAJOR(vfio_cdev_devt), device->index);
	cdev_init(&device->cdev, &vfio_device_fops);
	device->cdev.owner = THIS_MODULE;
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
	if (IS_ERR(df)) {
		vfio_device_put_registration(device);
		return PTR_ERR(df);
	}
	filep->private_data = df;
	/* Lets the driver zap user mmaps of the device on reset or removal */
	filep->f_mapping = device->inode->i_mapping;
	return 0;
}

long vfio_df_ioctl_bind_iommufd(struct vfio_device_file *df,
				struct vfio_device_bind_iommufd __user *arg)
{
	const size_t minsz = offsetofend(struct vfio_device_bind_iommufd,
					 out_devid);
	struct vfio_device *device = df->device;
	struct vfio_device_bind_iommufd bind;
	struct iommufd_ctx *ictx;
	int ret;

	static_assert(__same_type(arg->out_devid, df->devid));

	if (copy_from_user(&bind, arg, minsz))
		return -EFAULT;
	if (bind.argsz < minsz || bind.flags || bind.iommufd < 0)
		return -EINVAL;
	/* A file from VFIO_GROUP_GET_DEVICE_FD uses the group's container */
	if (df->group)
		return -EINVAL;

	/* While bound through the cdev, the group cannot be used */
	ret = vfio_device_block_group(device);
	if (ret)
		return ret;

	mutex_lock(&device->dev_set->lock);
	if (df->access_granted) {
		ret = -EINVAL;
		goto err_unlock;
	}
	ictx = iommufd_ctx_from_fd(bind.iommufd);
	if (IS_ERR(ictx)) {
		ret = PTR_ERR(ictx);
		goto err_unlock;
	}

	/* The KVM reference taken here is held until the device is closed */
	spin_lock(&df->kvm_ref_lock);
	vfio_device_get_kvm_safe(device, df->kvm);
	spin_unlock(&df->kvm_ref_lock);

	df->iommufd = ictx;
	ret = vfio_df_open(df);
	if (ret)
		goto err_put_ictx;

	if (copy_to_user(&arg->out_devid, &df->devid, sizeof(df->devid))) {
		ret = -EFAULT;
		goto err_close;
	}

	device->cdev_opened = true;
	/* Pairs with smp_load_acquire() in the device file's ioctl/mmap */
	smp_store_release(&df->access_granted, true);
	mutex_unlock(&device->dev_set->lock);
	return 0;

err_close:
	vfio_df_close(df);
err_put_ictx:
	df->iommufd = NULL;
	vfio_device_put_kvm(device);
	iommufd_ctx_put(ictx);
err_unlock:
	mutex_unlock(&device->dev_set->lock);
	vfio_device_unblock_group(device);
	return ret;
}

/* Called when a cdev file is released, bound or not */
void vfio_df_unbind_iommufd(struct vfio_device_file *df)
{
	struct vfio_device *device = df->device;

	/* Never bound: there is nothing to undo */
	if (!df->access_granted)
		return;

	mutex_lock(&device->dev_set->lock);
	vfio_df_close(df);
	vfio_device_put_kvm(device);
	iommufd_ctx_put(df->iommufd);
	df->iommufd = NULL;
	device->cdev_opened = false;
	mutex_unlock(&device->dev_set->lock);
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

	if (copy_from_user(&attach, arg, minsz))
		return -EFAULT;
	if (attach.argsz < minsz || attach.flags)
		return -EINVAL;

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

	if (copy_from_user(&detach, arg, minsz))
		return -EFAULT;
	if (detach.argsz < minsz || detach.flags)
		return -EINVAL;

	mutex_lock(&device->dev_set->lock);
	device->ops->detach_ioas(device);
	mutex_unlock(&device->dev_set->lock);
	return 0;
}

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
