// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hardware page tables (HWPT): the IOMMU domains that devices attach to,
 * paging domains that mirror an IOAS and nested domains under them.
 *
 * No HWPT can exist yet: the commands check their arguments and then find
 * that the id they name is not a HWPT (ENOENT).
 */
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

#define IOMMUFD_HWPT_ALLOC_FLAGS                                             \
	(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING |     \
	 IOMMU_HWPT_FAULT_ID_VALID)

/* Every HWPT command names a HWPT or a device; none exists yet */
static int iommufd_no_such_object(struct iommufd_ucmd *ucmd, u32 id,
				  enum iommufd_object_type type)
{
	struct iommufd_object *obj = iommufd_get_object(ucmd->ictx, id, type);

	if (IS_ERR(obj))
		return PTR_ERR(obj);
	iommufd_put_object(ucmd->ictx, obj);
	return -EOPNOTSUPP;
}

int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_alloc *cmd = ucmd->cmd;

	if ((cmd->flags & ~IOMMUFD_HWPT_ALLOC_FLAGS) || cmd->__reserved ||
	    cmd->__reserved2)
		return -EOPNOTSUPP;
	return iommufd_no_such_object(ucmd, cmd->dev_id, IOMMUFD_OBJ_DEVICE);
}

int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_invalidate *cmd = ucmd->cmd;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	return iommufd_no_such_object(ucmd, cmd->hwpt_id,
				      IOMMUFD_OBJ_HWPT_PAGING);
}

int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = ucmd->cmd;

	if ((cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) || cmd->__reserved)
		return -EOPNOTSUPP;
	return iommufd_no_such_object(ucmd, cmd->hwpt_id,
				      IOMMUFD_OBJ_HWPT_PAGING);
}

int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = ucmd->cmd;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;
	return iommufd_no_such_object(ucmd, cmd->hwpt_id,
				      IOMMUFD_OBJ_HWPT_PAGING);
}

int iommufd_get_hw_info(struct iommufd_ucmd *ucmd)
{
	struct iommu_hw_info *cmd = ucmd->cmd;

	if ((cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE) ||
	    cmd->__reserved[0] || cmd->__reserved[1] || cmd->__reserved[2])
		return -EOPNOTSUPP;
	return iommufd_no_such_object(ucmd, cmd->dev_id, IOMMUFD_OBJ_DEVICE);
}
