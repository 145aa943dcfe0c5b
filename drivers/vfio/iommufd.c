// SPDX-License-Identifier: GPL-2.0-only
/*
 * VFIO devices on iommufd: the bind/attach callbacks that VFIO drivers put
 * in their vfio_device_ops, for physical devices (an iommufd_device) and
 * for emulated ones (an iommufd_access).
 *
 * Locking: every entry point runs under the device set's lock,
 * vdev->dev_set->lock, which also covers vdev->iommufd_device,
 * vdev->iommufd_access and vdev->iommufd_attached.
 */
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/lockdep.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#include "vfio.h"

MODULE_IMPORT_NS(IOMMUFD);
MODULE_IMPORT_NS(IOMMUFD_VFIO);

/* iommufd tells an emulated device that an IOVA range goes away */
static void vfio_emu_revoke(void *data, unsigned long iova,
			    unsigned long length)
{
	const struct vfio_device_ops *ops = ((struct vfio_device *)data)->ops;

	if (ops->dma_unmap)
		ops->dma_unmap(data, iova, length);
}

static const struct iommufd_access_ops vfio_emulated_access_ops = {
	.needs_pin_pages = 1,
	.unmap = vfio_emu_revoke,
};

bool vfio_iommufd_device_has_compat_ioas(struct vfio_device *vdev,
					 struct iommufd_ctx *ictx)
{
	u32 ioas_id;

	return iommufd_vfio_compat_ioas_get_id(ictx, &ioas_id) == 0;
}

/*
 * A no-IOMMU device has nothing to bind or attach; only the group path
 * opens one, and it passes through.
 */
static bool vfio_iommufd_passthrough(struct vfio_device *vdev)
{
	lockdep_assert_held(&vdev->dev_set->lock);
	return vfio_device_is_noiommu(vdev);
}

/* Called at first open, with df->iommufd set, from the cdev and group paths */
int vfio_df_iommufd_bind(struct vfio_device_file *df)
{
	struct vfio_device *vdev = df->device;

	if (vfio_iommufd_passthrough(vdev))
		return 0;
	return vdev->ops->bind_iommufd(vdev, df->iommufd, &df->devid);
}

void vfio_df_iommufd_unbind(struct vfio_device_file *df)
{
	struct vfio_device *vdev = df->device;

	if (!vfio_iommufd_passthrough(vdev) && vdev->ops->unbind_iommufd)
		vdev->ops->unbind_iommufd(vdev);
}

/* The group path: attach a newly opened device to the container's IOAS */
int vfio_iommufd_compat_attach_ioas(struct vfio_device *vdev,
				    struct iommufd_ctx *ictx)
{
	u32 ioas_id;
	int ret;

	/* VFIO's own container opens no device before VFIO_SET_IOMMU */
	if (!iommufd_vfio_compat_iommu_chosen(ictx))
		return -EINVAL;
	if (vfio_iommufd_passthrough(vdev))
		return 0;
	ret = iommufd_vfio_compat_ioas_get_id(ictx, &ioas_id);
	return ret ?: vdev->ops->attach_ioas(vdev, &ioas_id);
}

/**
 * vfio_iommufd_device_ictx() - the iommufd a physical device is bound to
 * @vdev: the device
 *
 * Context: Under vdev->dev_set->lock.
 * Return: the context, or NULL if @vdev is not bound as a physical device.
 */
struct iommufd_ctx *vfio_iommufd_device_ictx(struct vfio_device *vdev)
{
	struct iommufd_device *idev = vdev->iommufd_device;

	return idev ? iommufd_device_to_ictx(idev) : NULL;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_device_ictx);

/**
 * vfio_iommufd_get_dev_id() - the device's id in an iommufd, for hot reset
 * @vdev: the device
 * @ictx: the iommufd of the caller
 *
 * Context: Under vdev->dev_set->lock.
 * Return: the device's object id if it is bound to @ictx; -ENOENT if it is
 * not bound but its IOMMU group is owned by @ictx (another device of the
 * group is bound there); -ENODEV or -EINVAL otherwise.
 */
int vfio_iommufd_get_dev_id(struct vfio_device *vdev, struct iommufd_ctx *ictx)
{
	struct iommu_group *group;
	int ret = -ENODEV;

	if (!ictx)
		return -EINVAL;
	if (vfio_iommufd_device_ictx(vdev) == ictx)
		return iommufd_device_to_id(vdev->iommufd_device);
	/* Not bound to @ictx: but another device of its group may be */
	group = iommu_group_get(vdev->dev);
	if (group) {
		if (iommufd_ctx_has_group(ictx, group))
			ret = -ENOENT;
		iommu_group_put(group);
	}
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_get_dev_id);

/**
 * vfio_iommufd_physical_bind() - bind_iommufd for a device behind an IOMMU
 * @vdev: the device
 * @ictx: the iommufd to bind to
 * @out_device_id: output: the device's object id in @ictx
 *
 * Context: Under vdev->dev_set->lock.
 * Return: 0 or a negative errno of iommufd_device_bind().
 */
int vfio_iommufd_physical_bind(struct vfio_device *vdev,
			       struct iommufd_ctx *ictx, u32 *out_device_id)
{
	struct iommufd_device *bound;

	lockdep_assert_held(&vdev->dev_set->lock);
	bound = iommufd_device_bind(ictx, vdev->dev, out_device_id);
	if (IS_ERR(bound))
		return PTR_ERR(bound);
	vdev->iommufd_device = bound;
	return 0;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_physical_bind);

/**
 * vfio_iommufd_physical_unbind() - undo vfio_iommufd_physical_bind()
 * @vdev: the device; detached first if attached
 *
 * Context: Under vdev->dev_set->lock.
 */
void vfio_iommufd_physical_unbind(struct vfio_device *vdev)
{
	struct iommufd_device *bound = vdev->iommufd_device;

	lockdep_assert_held(&vdev->dev_set->lock);
	/* An attached device is detached first */
	vfio_iommufd_physical_detach_ioas(vdev);
	vdev->iommufd_device = NULL;
	iommufd_device_unbind(bound);
}
EXPORT_SYMBOL_GPL(vfio_iommufd_physical_unbind);

/**
 * vfio_iommufd_physical_attach_ioas() - attach, or move, to an IOAS or HWPT
 * @vdev: a bound device
 * @pt_id: in: the IOAS or HWPT; out: the HWPT now in use
 *
 * A device already attached is moved with iommufd_device_replace(), so its
 * DMA keeps working throughout.
 *
 * Context: Under vdev->dev_set->lock.
 * Return: 0 or a negative errno; on error the old attachment stays.
 */
int vfio_iommufd_physical_attach_ioas(struct vfio_device *vdev, u32 *pt_id)
{
	int (*attach)(struct iommufd_device *idev, u32 *pt_id) =
		iommufd_device_attach;
	struct iommufd_device *bound = vdev->iommufd_device;
	int ret;

	lockdep_assert_held(&vdev->dev_set->lock);
	/* Only a bound device has something to attach */
	if (WARN_ON(!bound))
		return -EINVAL;
	/* Moving an attached device keeps its DMA working throughout */
	if (vdev->iommufd_attached)
		attach = iommufd_device_replace;
	ret = attach(bound, pt_id);
	if (!ret)
		vdev->iommufd_attached = true;
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_physical_attach_ioas);

/**
 * vfio_iommufd_physical_detach_ioas() - detach from the IOAS or HWPT
 * @vdev: the device; nothing happens if it is not attached
 *
 * Context: Under vdev->dev_set->lock.
 */
void vfio_iommufd_physical_detach_ioas(struct vfio_device *vdev)
{
	bool was_attached = vdev->iommufd_attached;

	lockdep_assert_held(&vdev->dev_set->lock);
	vdev->iommufd_attached = false;
	if (was_attached && vdev->iommufd_device)
		iommufd_device_detach(vdev->iommufd_device);
}
EXPORT_SYMBOL_GPL(vfio_iommufd_physical_detach_ioas);

/**
 * vfio_iommufd_emulated_bind() - bind_iommufd for an emulated device
 * @vdev: the device; it reaches memory through vfio_pin_pages/vfio_dma_rw
 * @ictx: the iommufd to bind to
 * @out_device_id: output: the id of the device's access object
 *
 * Context: Under vdev->dev_set->lock.
 * Return: 0 or a negative errno of iommufd_access_create().
 */
int vfio_iommufd_emulated_bind(struct vfio_device *vdev,
			       struct iommufd_ctx *ictx, u32 *out_device_id)
{
	struct iommufd_access *access;

	lockdep_assert_held(&vdev->dev_set->lock);

	access = iommufd_access_create(ictx, &vfio_emulated_access_ops, vdev,
				       out_device_id);
	if (!IS_ERR(access))
		vdev->iommufd_access = access;
	return PTR_ERR_OR_ZERO(access);
}
EXPORT_SYMBOL_GPL(vfio_iommufd_emulated_bind);

/**
 * vfio_iommufd_emulated_unbind() - undo vfio_iommufd_emulated_bind()
 * @vdev: the device
 *
 * Context: Under vdev->dev_set->lock.
 */
void vfio_iommufd_emulated_unbind(struct vfio_device *vdev)
{
	lockdep_assert_held(&vdev->dev_set->lock);

	vfio_iommufd_emulated_detach_ioas(vdev);
	if (vdev->iommufd_access)
		iommufd_access_destroy(vdev->iommufd_access);
	vdev->iommufd_access = NULL;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_emulated_unbind);

/**
 * vfio_iommufd_emulated_attach_ioas() - attach, or move, an emulated device
 * @vdev: a bound emulated device
 * @pt_id: the IOAS (a HWPT is not usable without an IOMMU)
 *
 * Context: Under vdev->dev_set->lock.
 * Return: 0 or a negative errno; on error the old attachment stays.
 */
int vfio_iommufd_emulated_attach_ioas(struct vfio_device *vdev, u32 *pt_id)
{
	struct iommufd_access *access = vdev->iommufd_access;
	int ret;

	lockdep_assert_held(&vdev->dev_set->lock);

	if (WARN_ON(!access))
		return -EINVAL;
	ret = vdev->iommufd_attached ? iommufd_access_replace(access, *pt_id) :
				       iommufd_access_attach(access, *pt_id);
	vdev->iommufd_attached |= !ret;
	return ret;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_emulated_attach_ioas);

/**
 * vfio_iommufd_emulated_detach_ioas() - detach an emulated device
 * @vdev: the device; nothing happens if it is not attached
 *
 * Context: Under vdev->dev_set->lock.
 */
void vfio_iommufd_emulated_detach_ioas(struct vfio_device *vdev)
{
	lockdep_assert_held(&vdev->dev_set->lock);

	if (vdev->iommufd_access && vdev->iommufd_attached)
		iommufd_access_detach(vdev->iommufd_access);
	vdev->iommufd_attached = false;
}
EXPORT_SYMBOL_GPL(vfio_iommufd_emulated_detach_ioas);
