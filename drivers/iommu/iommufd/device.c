// SPDX-License-Identifier: GPL-2.0-only
/*
 * Binding physical devices to an iommufd context and attaching them to IO
 * page tables.
 *
 * Not implemented yet: every entry point refuses with -EOPNOTSUPP, so VFIO
 * builds and runs against this module and reports a clear error to user
 * space when it tries to bind a device.
 */
#include <linux/iommufd.h>
#include <linux/module.h>

/**
 * iommufd_device_bind() - bind a physical device to a context
 * @ictx: the context
 * @dev: the device; the caller's driver must own it
 * @id: output: the device's object id in @ictx
 *
 * Context: Process context.
 * Return: the binding, or ERR_PTR(-EOPNOTSUPP) until binding is supported.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id)
{
	return ERR_PTR(-EOPNOTSUPP);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_bind, IOMMUFD);

/**
 * iommufd_device_unbind() - undo iommufd_device_bind()
 * @idev: a binding; none can exist yet
 *
 * Context: Process context.
 */
void iommufd_device_unbind(struct iommufd_device *idev)
{
	WARN_ON_ONCE(idev);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_unbind, IOMMUFD);

/**
 * iommufd_device_attach() - attach a bound device to an IOAS or HWPT
 * @idev: the binding
 * @pt_id: in: an IOAS or HWPT id; out: the HWPT attached
 *
 * Context: Process context.
 * Return: -EOPNOTSUPP until binding is supported.
 */
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_attach, IOMMUFD);

/**
 * iommufd_device_replace() - move an attached device to another IOAS or HWPT
 * @idev: the binding
 * @pt_id: in: an IOAS or HWPT id; out: the HWPT attached
 *
 * Context: Process context.
 * Return: -EOPNOTSUPP until binding is supported.
 */
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_replace, IOMMUFD);

/**
 * iommufd_device_detach() - undo iommufd_device_attach()
 * @idev: the binding
 *
 * Context: Process context.
 */
void iommufd_device_detach(struct iommufd_device *idev)
{
	WARN_ON_ONCE(idev);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_detach, IOMMUFD);

/**
 * iommufd_device_to_ictx() - the context a device is bound to
 * @idev: the binding
 *
 * Context: Any context.
 * Return: the context, NULL while no binding can exist.
 */
struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev)
{
	return NULL;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_ictx, IOMMUFD);

/**
 * iommufd_device_to_id() - the object id of a binding
 * @idev: the binding
 *
 * Context: Any context.
 * Return: the id, 0 while no binding can exist.
 */
u32 iommufd_device_to_id(struct iommufd_device *idev)
{
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_id, IOMMUFD);

/**
 * iommufd_ctx_has_group() - is any device of @group bound to @ictx
 * @ictx: the context
 * @group: the IOMMU group
 *
 * Context: Process context.
 * Return: false while no binding can exist.
 */
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, struct iommu_group *group)
{
	return false;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_has_group, IOMMUFD);
