// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hardware page tables (HWPT): the IOMMU domains that devices attach to.
 *
 * A paging HWPT owns a paging iommu_domain that mirrors an IOAS: it is
 * added to the IOAS's io_pagetable, which fills it with every mapping and
 * keeps it in step, and it holds the IOAS.  Automatic HWPTs are made by
 * attaching a device to an IOAS (device.c); IOMMU_HWPT_ALLOC makes them on
 * request.
 *
 * Nested HWPTs, dirty tracking and IO page fault reporting are not
 * implemented yet: their flags and data types give EOPNOTSUPP.
 */
#include <linux/iommu.h>
#include <uapi/linux/iommufd.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"

static void iommufd_hwpt_paging_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *hwpt =
		container_of(obj, struct iommufd_hwpt_paging, obj);

	if (hwpt->in_iopt)
		iopt_remove_domain(&hwpt->ioas->iopt, hwpt->domain);
	if (hwpt->domain)
		iommu_domain_free(hwpt->domain);
	if (hwpt->ioas)
		iommufd_put_object(hwpt->ictx, &hwpt->ioas->obj);
}

static const struct iommufd_object_ops iommufd_hwpt_paging_ops = {
	.destroy = iommufd_hwpt_paging_destroy,
};

void iommufd_hwpt_init(void)
{
	iommufd_object_register_type(IOMMUFD_OBJ_HWPT_PAGING,
				     &iommufd_hwpt_paging_ops);
}

/**
 * iommufd_hwpt_paging_create() - make an unpublished paging HWPT
 * @ictx: the context
 * @ioas: the IOAS it mirrors
 * @idev: a device the domain must suit
 * @flags: IOMMU_HWPT_ALLOC_* flags for the IOMMU driver
 * @auto_domain: an automatic HWPT, destroyed with its last attachment
 *
 * The domain is filled with every mapping of @ioas before this returns.
 *
 * Context: Process context; sleeps.
 * Return: the HWPT, or an ERR_PTR(): -EOPNOTSUPP for flags the driver
 * lacks, -EADDRINUSE if a mapping does not fit the domain, -ENOMEM, or an
 * error of pinning.
 */
struct iommufd_hwpt_paging *
iommufd_hwpt_paging_create(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			   struct iommufd_device *idev, u32 flags,
			   bool auto_domain)
{
	const struct iommu_ops *ops = dev_iommu_ops(idev->dev);
	struct iommufd_hwpt_paging *hwpt;
	struct iommu_domain *domain;
	int ret;

	hwpt = iommufd_object_alloc(ictx, struct iommufd_hwpt_paging,
				    IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(hwpt))
		return hwpt;
	hwpt->ictx = ictx;
	hwpt->auto_domain = auto_domain;
	hwpt->nest_parent = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	refcount_inc(&ioas->obj.users);
	hwpt->ioas = ioas;

	if (ops->domain_alloc_user)
		domain = ops->domain_alloc_user(idev->dev, flags, NULL, NULL);
	else if (flags)
		domain = ERR_PTR(-EOPNOTSUPP);
	else
		domain = iommu_paging_domain_alloc(idev->dev);
	if (IS_ERR_OR_NULL(domain)) {
		ret = domain ? PTR_ERR(domain) : -ENOMEM;
		goto err_discard;
	}
	hwpt->domain = domain;
	/* Domains made outside the core's allocator name no owner yet */
	if (!domain->owner)
		domain->owner = ops;

	if (idev->enforce_cache_coherency) {
		hwpt->enforce_cache_coherency =
			domain->ops->enforce_cache_coherency &&
			domain->ops->enforce_cache_coherency(domain);
	}
	ret = iopt_add_domain(&ioas->iopt, domain);
	if (ret)
		goto err_discard;
	hwpt->in_iopt = true;
	return hwpt;

err_discard:
	iommufd_object_discard(ictx, &hwpt->obj);
	return ERR_PTR(ret);
}

#define IOMMUFD_HWPT_ALLOC_FLAGS                                             \
	(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING |     \
	 IOMMU_HWPT_FAULT_ID_VALID)

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;
	struct iommufd_hwpt_paging *hwpt;
	struct iommufd_object *dev_obj;
	struct iommufd_device *idev;
	struct iommufd_ioas *ioas;
	int ret;

	if ((cmd->flags & ~IOMMUFD_HWPT_ALLOC_FLAGS) || cmd->__reserved ||
	    cmd->__reserved2)
		return -EOPNOTSUPP;
	if (!cmd->data_len && cmd->data_type != IOMMU_HWPT_DATA_NONE)
		return -EINVAL;
	/* Not yet: nested tables, dirty tracking, fault reporting */
	if (cmd->data_type != IOMMU_HWPT_DATA_NONE ||
	    (cmd->flags & (IOMMU_HWPT_ALLOC_DIRTY_TRACKING |
			   IOMMU_HWPT_FAULT_ID_VALID)))
		return -EOPNOTSUPP;

	dev_obj = iommufd_get_object(ucmd->ictx, cmd->dev_id,
				     IOMMUFD_OBJ_DEVICE);
	if (IS_ERR(dev_obj))
		return PTR_ERR(dev_obj);
	/* As in 6.12: a pt_id that names no usable parent is EINVAL */
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->pt_id);
	if (IS_ERR(ioas)) {
		ret = -EINVAL;
		goto out_put_dev;
	}
	idev = container_of(dev_obj, struct iommufd_device, obj);
	mutex_lock(&ioas->mutex);
	hwpt = iommufd_hwpt_paging_create(ucmd->ictx, ioas, idev, cmd->flags,
					  false);
	mutex_unlock(&ioas->mutex);
	if (IS_ERR(hwpt)) {
		ret = PTR_ERR(hwpt);
		goto out_put_ioas;
	}
	cmd->out_hwpt_id = hwpt->obj.id;
	ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		iommufd_object_discard(ucmd->ictx, &hwpt->obj);
	else
		iommufd_object_publish(ucmd->ictx, &hwpt->obj);
out_put_ioas:
	iommufd_put_object(ucmd->ictx, &ioas->obj);
out_put_dev:
	iommufd_put_object(ucmd->ictx, dev_obj);
	return ret;
}

static int iommufd_hwpt_lookup_only(struct iommufd_ucmd *ucmd, u32 id)
{
	struct iommufd_object *obj;

	obj = iommufd_get_object(ucmd->ictx, id, IOMMUFD_OBJ_HWPT_PAGING);
	if (IS_ERR(obj))
		return PTR_ERR(obj);
	iommufd_put_object(ucmd->ictx, obj);
	return -EOPNOTSUPP;
}

int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	/* Only nested HWPTs take invalidations, and none exist yet */
	return iommufd_hwpt_lookup_only(ucmd, cmd->hwpt_id);
}

int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;

	if ((cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) || cmd->__reserved)
		return -EOPNOTSUPP;
	return iommufd_hwpt_lookup_only(ucmd, cmd->hwpt_id);
}

int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;
	return iommufd_hwpt_lookup_only(ucmd, cmd->hwpt_id);
}
