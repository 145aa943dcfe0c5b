// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hardware page tables (HWPT): the IOMMU domains that devices attach to.
 *
 * A paging HWPT owns a paging iommu_domain that mirrors an IOAS: it is
 * added to the IOAS's io_pagetable, which fills it with every mapping and
 * keeps it in step, and it holds the IOAS.  Automatic HWPTs are made by
 * attaching a device to an IOAS (device.c); IOMMU_HWPT_ALLOC makes them on
 * request, optionally able to parent nested HWPTs or to track dirty IOVA.
 *
 * A nested HWPT is a two-stage domain: user space owns the first stage (a
 * guest's IO page table, described by driver data the IOMMU driver
 * checks), and a nest-parent paging HWPT is the second.  It holds its
 * parent; the parent's IOAS is where its devices' reserved regions go.
 * User space keeps the first stage's caches coherent with
 * IOMMU_HWPT_INVALIDATE.  A nested HWPT may name a fault object to which
 * its IO page faults are delivered (fault.c).
 *
 * Dirty tracking is the domain driver's: IOMMU_HWPT_SET_DIRTY_TRACKING
 * turns it on and off, IOMMU_HWPT_GET_DIRTY_BITMAP reads it into a user
 * bitmap (io_pagetable.c walks the mapped areas).
 */
#include <linux/iommu.h>
#include <uapi/linux/iommufd.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"

static void iommufd_hwpt_release_common(struct iommufd_hwpt *hwpt)
{
	if (hwpt->domain)
		iommu_domain_free(hwpt->domain);
	if (hwpt->fault)
		iommufd_obj_unref(hwpt->ctx, &hwpt->fault->base);
}

static void iommufd_hwpt_paging_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_paging *hwpt =
		container_of(obj, struct iommufd_hwpt_paging, core.base);

	if (hwpt->in_iopt)
		iopt_remove_domain(&hwpt->ioas->table, hwpt->core.domain);
	iommufd_hwpt_release_common(&hwpt->core);
	if (hwpt->ioas)
		iommufd_obj_unref(hwpt->core.ctx, &hwpt->ioas->base);
}

static void iommufd_hwpt_nested_destroy(struct iommufd_object *obj)
{
	struct iommufd_hwpt_nested *hwpt =
		container_of(obj, struct iommufd_hwpt_nested, core.base);

	iommufd_hwpt_release_common(&hwpt->core);
	if (hwpt->backing)
		iommufd_obj_unref(hwpt->core.ctx,
				  &hwpt->backing->core.base);
}

const struct iommufd_kind_ops iommufd_hwpt_paging_ops = {
	.release = iommufd_hwpt_paging_destroy,
};

const struct iommufd_kind_ops iommufd_hwpt_nested_ops = {
	.release = iommufd_hwpt_nested_destroy,
};

/**
 * iommufd_get_hwpt_paging() - look up a paging HWPT
 * @ictx: the context
 * @id: the HWPT's id
 *
 * Context: Process context.
 * Return: the HWPT, held, or ERR_PTR(-ENOENT).
 */
struct iommufd_hwpt_paging *iommufd_get_hwpt_paging(struct iommufd_ctx *ictx,
						    u32 id)
{
	return iommufd_get_typed(ictx, id, IOMMUFD_KIND_HWPT_PAGING,
				 struct iommufd_hwpt_paging, core.base);
}

#define IOMMUFD_HWPT_ALLOC_FLAGS                                             \
	(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING |     \
	 IOMMU_HWPT_FAULT_ID_VALID)

/**
 * iommufd_hwpt_paging_fill() - put a paging HWPT's domain into its IOAS
 * @hwpt: the HWPT, its domain not yet in the IOAS's io_pagetable
 *
 * The io_pagetable maps every mapping of the IOAS into the domain and
 * keeps it in step from then on; the VFIO container's dirty tracking, if
 * on, is turned on in the domain too.  The caller holds @hwpt->ioas->mutex.
 *
 * Context: Process context; sleeps.
 * Return: 0, or an error of iopt_add_domain() or iopt_dirty_track(); on
 * error the domain is not in the io_pagetable.
 */
int iommufd_hwpt_paging_fill(struct iommufd_hwpt_paging *hwpt)
{
	struct iommu_domain *domain = hwpt->core.domain;
	struct iommufd_ioas *ioas = hwpt->ioas;
	int ret;

	lockdep_assert_held(&ioas->mutex);
	ret = iopt_add_domain(&ioas->table, domain);
	if (ret)
		return ret;
	/* The VFIO container's dirty tracking covers every domain */
	if (ioas->vfio_dirty_tracking && domain->dirty_ops) {
		ret = iopt_dirty_track(&ioas->table, domain, true);
		if (ret) {
			iopt_remove_domain(&ioas->table, domain);
			return ret;
		}
	}
	hwpt->in_iopt = true;
	return 0;
}

/**
 * iommufd_hwpt_paging_create() - make an unpublished paging HWPT
 * @ictx: the context
 * @ioas: the IOAS it mirrors
 * @idev: a device the domain must suit
 * @flags: IOMMU_HWPT_ALLOC_NEST_PARENT and IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
 *	and IOMMUFD_HWPT_AUTO for an automatic HWPT
 *
 * The domain is filled with every mapping of @ioas before this returns,
 * but for a driver that builds its domains at their first attach: then
 * the first device attached fills it.  The caller holds @ioas->mutex.
 *
 * Context: Process context; sleeps.
 * Return: the HWPT, or an ERR_PTR(): -EOPNOTSUPP for flags the driver
 * lacks, -EADDRINUSE if a mapping does not fit the domain, -ENOMEM, or an
 * error of pinning.
 */
struct iommufd_hwpt_paging *
iommufd_hwpt_paging_create(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			   struct iommufd_device *idev, u32 flags)
{
	bool made_auto = flags & IOMMUFD_HWPT_AUTO;
	const struct iommu_ops *ops = dev_iommu_ops(idev->dev);
	struct iommufd_hwpt_paging *hwpt;
	struct iommufd_object *obj;
	struct iommu_domain *domain;
	int ret;

	lockdep_assert_held(&ioas->mutex);
	/* The driver sees only the uAPI's flags */
	BUILD_BUG_ON(IOMMUFD_HWPT_AUTO & IOMMUFD_HWPT_ALLOC_FLAGS);
	flags &= ~IOMMUFD_HWPT_AUTO;
	obj = iommufd_obj_alloc_bytes(ictx, sizeof(*hwpt),
				      IOMMUFD_KIND_HWPT_PAGING);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	hwpt = container_of(obj, struct iommufd_hwpt_paging, core.base);
	hwpt->core.ctx = ictx;
	hwpt->made_auto = made_auto;
	hwpt->parent_capable = flags & IOMMU_HWPT_ALLOC_NEST_PARENT;
	refcount_inc(&ioas->base.refcnt);
	hwpt->ioas = ioas;
	hwpt->msi_window = IOMMUFD_NO_MSI;

	/*
	 * Dirty tracking only where IOMMU_GET_HW_INFO offers it: 6.12's
	 * arm-smmu-v3 gives a domain dirty ops even without hardware dirty
	 * bits (HTTU), and its bitmap would never show a device's write.
	 */
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
	    !device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING)) {
		ret = -EOPNOTSUPP;
		goto err_discard;
	}

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
	hwpt->core.domain = domain;
	/* Domains made outside the core's allocator name no owner yet */
	if (!domain->owner)
		domain->owner = ops;
	if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && !domain->dirty_ops) {
		ret = -EOPNOTSUPP;
		goto err_discard;
	}

	if (idev->coherent_dma) {
		hwpt->coherent_dma =
			domain->ops->enforce_cache_coherency &&
			domain->ops->enforce_cache_coherency(domain);
	}
	/*
	 * A driver with only the legacy domain_alloc (virtio-iommu in 6.12)
	 * builds the domain at its first attach: until then it has no page
	 * sizes, aperture or map flags, and a map fails.  Such a domain is
	 * filled when its first device attaches (device.c).
	 */
	if (ops->domain_alloc_paging || ops->domain_alloc_user) {
		ret = iommufd_hwpt_paging_fill(hwpt);
		if (ret)
			goto err_discard;
	}
	return hwpt;

err_discard:
	iommufd_object_discard(ictx, &hwpt->core.base);
	return ERR_PTR(ret);
}

/*
 * Make an unpublished nested HWPT over @parent from the user's driver
 * data; @fault, if any, receives its IO page faults.
 */
static struct iommufd_hwpt_nested *
iommufd_hwpt_nested_create(struct iommufd_ctx *ictx,
			   struct iommufd_hwpt_paging *parent,
			   struct iommufd_device *idev, u32 flags,
			   const struct iommu_user_data *user_data,
			   struct iommufd_fault_queue *fault)
{
	const struct iommu_ops *ops = dev_iommu_ops(idev->dev);
	struct iommufd_hwpt_nested *hwpt;
	struct iommufd_object *obj;
	struct iommu_domain *domain;
	int ret;

	/* As in 6.12: no data at all is EOPNOTSUPP, data of no type EINVAL */
	if ((flags & ~IOMMU_HWPT_FAULT_ID_VALID) || !user_data->len ||
	    !ops->domain_alloc_user)
		return ERR_PTR(-EOPNOTSUPP);
	if (!parent->parent_capable || user_data->type == IOMMU_HWPT_DATA_NONE)
		return ERR_PTR(-EINVAL);

	obj = iommufd_obj_alloc_bytes(ictx, sizeof(*hwpt),
				      IOMMUFD_KIND_HWPT_NESTED);
	if (IS_ERR(obj))
		return ERR_CAST(obj);
	hwpt = container_of(obj, struct iommufd_hwpt_nested, core.base);
	hwpt->core.ctx = ictx;
	refcount_inc(&parent->core.base.refcnt);
	hwpt->backing = parent;

	domain = ops->domain_alloc_user(idev->dev, 0, parent->core.domain,
					user_data);
	if (IS_ERR_OR_NULL(domain)) {
		ret = domain ? PTR_ERR(domain) : -ENOMEM;
		goto err_discard;
	}
	hwpt->core.domain = domain;
	if (!domain->owner)
		domain->owner = ops;
	if (WARN_ON_ONCE(domain->type != IOMMU_DOMAIN_NESTED)) {
		ret = -EINVAL;
		goto err_discard;
	}
	if (fault) {
		refcount_inc(&fault->base.refcnt);
		hwpt->core.fault = fault;
		domain->iopf_handler = iommufd_fq_handle_iopf;
	}
	return hwpt;

err_discard:
	iommufd_object_discard(ictx, &hwpt->core.base);
	return ERR_PTR(ret);
}

/* IOMMU_HWPT_ALLOC of a paging HWPT over @ioas */
static struct iommufd_hwpt *
iommufd_hwpt_alloc_paging(struct iommufd_call *call,
			  struct iommufd_ioas *ioas, struct iommufd_device *idev)
{
	struct iommu_hwpt_alloc *cmd = call->kbuf;
	struct iommufd_hwpt_paging *hwpt;

	/* 6.12 delivers faults only from nested HWPTs, and takes no data */
	if (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID)
		return ERR_PTR(-EOPNOTSUPP);
	if (cmd->data_type != IOMMU_HWPT_DATA_NONE)
		return ERR_PTR(-EOPNOTSUPP);
	mutex_lock(&ioas->mutex);
	hwpt = iommufd_hwpt_paging_create(call->ctx, ioas, idev, cmd->flags);
	mutex_unlock(&ioas->mutex);
	return IS_ERR(hwpt) ? ERR_CAST(hwpt) : &hwpt->core;
}

/* IOMMU_HWPT_ALLOC of a nested HWPT over @parent */
static struct iommufd_hwpt *
iommufd_hwpt_alloc_nested(struct iommufd_call *call,
			  struct iommufd_hwpt_paging *parent,
			  struct iommufd_device *idev)
{
	struct iommu_hwpt_alloc *cmd = call->kbuf;
	struct iommufd_hwpt_nested *nested;
	struct iommufd_fault_queue *fault = NULL;
	struct iommu_user_data blob;

	if (cmd->flags & IOMMU_HWPT_FAULT_ID_VALID) {
		fault = iommufd_get_fault(call->ctx, cmd->fault_id);
		if (IS_ERR(fault))
			return ERR_CAST(fault);
	}
	/* The driver-specific description of the nested table */
	blob.type = cmd->data_type;
	blob.len = cmd->data_len;
	blob.uptr = u64_to_user_ptr(cmd->data_uptr);
	nested = iommufd_hwpt_nested_create(call->ctx, parent, idev,
					    cmd->flags, &blob, fault);
	if (fault)
		iommufd_obj_unref(call->ctx, &fault->base);
	if (IS_ERR(nested))
		return ERR_CAST(nested);
	return &nested->core;
}

/*
 * The HWPT to make over @parent_obj: a paging one over an IOAS, a nested
 * one over a paging HWPT.  Any other object is EINVAL, as in 6.12.
 */
static struct iommufd_hwpt *
iommufd_hwpt_alloc_over(struct iommufd_call *call,
			struct iommufd_object *parent_obj,
			struct iommufd_device *idev)
{
	if (parent_obj->kind == IOMMUFD_KIND_IOAS)
		return iommufd_hwpt_alloc_paging(call,
			container_of(parent_obj, struct iommufd_ioas, base),
			idev);
	if (parent_obj->kind == IOMMUFD_KIND_HWPT_PAGING)
		return iommufd_hwpt_alloc_nested(call,
			container_of(parent_obj, struct iommufd_hwpt_paging,
				     core.base),
			idev);
	return ERR_PTR(-EINVAL);
}

int iommufd_hwpt_alloc(struct iommufd_call *call)
{
	struct iommu_hwpt_alloc *cmd = call->kbuf;
	struct iommufd_object *parent_obj;
	struct iommufd_device *idev;
	struct iommufd_hwpt *hwpt;
	int ret;

	if (cmd->flags & ~IOMMUFD_HWPT_ALLOC_FLAGS)
		return -EOPNOTSUPP;
	if (cmd->__reserved || cmd->__reserved2)
		return -EOPNOTSUPP;
	if (cmd->data_type != IOMMU_HWPT_DATA_NONE && !cmd->data_len)
		return -EINVAL;

	idev = iommufd_get_typed(call->ctx, cmd->dev_id, IOMMUFD_KIND_DEVICE,
				 struct iommufd_device, base);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	/* As in 6.12: a pt_id that names nothing is EINVAL, not ENOENT */
	parent_obj = iommufd_obj_lookup(call->ctx, cmd->pt_id,
					IOMMUFD_KIND_ANY);
	if (IS_ERR(parent_obj)) {
		ret = -EINVAL;
		goto out_put_idev;
	}
	hwpt = iommufd_hwpt_alloc_over(call, parent_obj, idev);
	ret = PTR_ERR_OR_ZERO(hwpt);
	if (!ret) {
		cmd->out_hwpt_id = hwpt->base.nr;
		if (iommufd_call_reply(call, sizeof(*cmd))) {
			iommufd_object_discard(call->ctx, &hwpt->base);
			ret = -EFAULT;
		} else {
			iommufd_object_publish(call->ctx, &hwpt->base);
		}
	}
	iommufd_obj_unref(call->ctx, parent_obj);
out_put_idev:
	iommufd_obj_unref(call->ctx, &idev->base);
	return ret;
}

/* The most entries one IOMMU_HWPT_INVALIDATE takes (6.12's bound) */
#define IOMMUFD_INVALIDATE_MAX_ENTRIES (512U * 1024)

/* Hand the user's invalidation entries to the nested HWPT's driver */
static int iommufd_hwpt_do_invalidate(struct iommufd_call *call,
				      u32 *handled)
{
	struct iommu_hwpt_invalidate *cmd = call->kbuf;
	struct iommu_user_data_array entries;
	struct iommufd_hwpt_nested *nested;
	struct iommu_domain *domain;
	int ret = -EOPNOTSUPP;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	/*
	 * As in 6.12: one call handles at most IOMMUFD_INVALIDATE_MAX_ENTRIES
	 * entries of at most a page each, so it cannot hold the CPU for long
	 */
	if (cmd->entry_num &&
	    (!cmd->entry_len || !cmd->data_uptr ||
	     cmd->entry_len > PAGE_SIZE ||
	     cmd->entry_num > IOMMUFD_INVALIDATE_MAX_ENTRIES))
		return -EINVAL;
	nested = iommufd_get_typed(call->ctx, cmd->hwpt_id,
				   IOMMUFD_KIND_HWPT_NESTED,
				   struct iommufd_hwpt_nested, core.base);
	if (IS_ERR(nested))
		return PTR_ERR(nested);
	domain = nested->core.domain;
	if (domain->ops->cache_invalidate_user) {
		entries.type = cmd->data_type;
		entries.uptr = u64_to_user_ptr(cmd->data_uptr);
		entries.entry_len = cmd->entry_len;
		entries.entry_num = cmd->entry_num;
		ret = domain->ops->cache_invalidate_user(domain, &entries);
		/* The driver says how many it got through */
		*handled = entries.entry_num;
	}
	iommufd_obj_unref(call->ctx, &nested->core.base);
	return ret;
}

/*
 * IOMMU_HWPT_INVALIDATE: entry_num goes back to the user as the number of
 * entries the driver handled, on failure too, so that user space knows
 * where to resume.
 */
int iommufd_hwpt_invalidate(struct iommufd_call *call)
{
	struct iommu_hwpt_invalidate *cmd = call->kbuf;
	u32 handled = 0;
	int ret;

	ret = iommufd_hwpt_do_invalidate(call, &handled);
	cmd->entry_num = handled;
	/* As in 6.12: a count that cannot go back is EFAULT, whatever else */
	if (iommufd_call_reply(call, sizeof(*cmd)))
		return -EFAULT;
	return ret;
}

int iommufd_hwpt_set_dirty_tracking(struct iommufd_call *call)
{
	struct iommu_hwpt_set_dirty_tracking *cmd = call->kbuf;
	struct iommufd_hwpt_paging *hwpt;
	int ret;

	if ((cmd->flags & ~IOMMU_HWPT_DIRTY_TRACKING_ENABLE) || cmd->__reserved)
		return -EOPNOTSUPP;
	hwpt = iommufd_get_hwpt_paging(call->ctx, cmd->hwpt_id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	ret = iopt_dirty_track(&hwpt->ioas->table, hwpt->core.domain,
			       cmd->flags &
					      IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
	iommufd_obj_unref(call->ctx, &hwpt->core.base);
	return ret;
}

int iommufd_hwpt_get_dirty_bitmap(struct iommufd_call *call)
{
	struct iommu_hwpt_get_dirty_bitmap *cmd = call->kbuf;
	struct iommufd_hwpt_paging *hwpt;
	int ret;

	if ((cmd->flags & ~IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) ||
	    cmd->__reserved)
		return -EOPNOTSUPP;
	hwpt = iommufd_get_hwpt_paging(call->ctx, cmd->hwpt_id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	ret = iopt_dirty_collect(&hwpt->ioas->table, hwpt->core.domain,
				 cmd->flags, cmd->iova, cmd->length,
					cmd->page_size,
					u64_to_user_ptr(cmd->data));
	iommufd_obj_unref(call->ctx, &hwpt->core.base);
	return ret;
}
