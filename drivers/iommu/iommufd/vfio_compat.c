// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO container, /dev/vfio/vfio, emulated on an iommufd context.
 *
 * So far the container answers only the API version and offers no IOMMU
 * type: VFIO_CHECK_EXTENSION reports none, so a legacy program stops at
 * VFIO_SET_IOMMU with a clear error instead of misbehaving later.  The
 * compat IOAS that the VFIO group path attaches devices to is real.
 */
#include <linux/iommufd.h>
#include <linux/module.h>
#include <linux/vfio.h>

#include "iommufd_private.h"

/**
 * iommufd_vfio_compat_ioas_get_id() - the IOAS the container ioctls use
 * @ictx: the context
 * @out_ioas_id: output: its id
 *
 * Context: Process context.
 * Return: 0, or -ENODEV when there is no compat IOAS.
 */
int iommufd_vfio_compat_ioas_get_id(struct iommufd_ctx *ictx, u32 *out_ioas_id)
{
	int ret = -ENODEV;

	mutex_lock(&ictx->lock);
	if (ictx->vfio_ioas) {
		*out_ioas_id = ictx->vfio_ioas->obj.id;
		ret = 0;
	}
	mutex_unlock(&ictx->lock);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_get_id, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_ioas_create() - make sure the compat IOAS exists
 * @ictx: the context
 *
 * Context: Process context.
 * Return: 0, or -ENOMEM.
 */
int iommufd_vfio_compat_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = iommufd_vfio_compat_ioas_get(ictx, true);

	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	iommufd_put_object(ictx, &ioas->obj);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_create, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_set_no_iommu() - use the container in no-IOMMU mode
 * @ictx: the context
 *
 * Context: Process context.
 * Return: -EOPNOTSUPP until the container emulation supports it.
 */
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_set_no_iommu, IOMMUFD_VFIO);

/**
 * iommufd_vfio_ioctl() - a VFIO container ioctl on an iommufd file
 * @ictx: the context
 * @cmd: the ioctl number
 * @arg: its argument
 *
 * Context: Process context.
 * Return: the ioctl's result, -ENOTTY for what the emulation lacks.
 */
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg)
{
	switch (cmd) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return 0;
	default:
		return -ENOTTY;
	}
}
