// SPDX-License-Identifier: GPL-2.0-only
/*
 * Physical devices: binding to a context and attaching to IO page tables.
 *
 * Binding claims the device's DMA ownership for the context, so no kernel
 * driver can use it, and joins it to the context's iommufd_group_slot for its
 * IOMMU group.  The IOMMU attaches whole groups, so every device of a group
 * must use the same HWPT: the group holds the attachment, its devices count
 * in it.  Each attached device reserves its IOMMU reserved regions in the
 * HWPT's IOAS, and holds a reference on the HWPT.
 *
 * Attaching to an IOAS uses an automatic paging HWPT: one the IOAS already
 * has, if the device's IOMMU accepts its domain, else a new one.  An
 * automatic HWPT is destroyed when its last device detaches.
 *
 * Locking, outermost first: ioas->mutex (the IOAS's automatic HWPTs and
 * every HWPT's attachment count), slot->lock (the group's attachment).
 */
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/pci-ats.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/iommufd.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"

static bool allow_unsafe_interrupts;
module_param(allow_unsafe_interrupts, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_interrupts,
		 "Allow devices whose MSIs are not isolated by interrupt remapping; lets such a device attack the system through interrupts");

/* A new group record for @group; it takes its own reference on @group */
static struct iommufd_group_slot *iommufd_group_new(struct iommufd_ctx *ictx,
						    struct iommu_group *group)
{
	struct iommufd_group_slot *slot = kzalloc(sizeof(*slot),
					       GFP_KERNEL_ACCOUNT);

	if (!slot)
		return ERR_PTR(-ENOMEM);
	slot->ctx = ictx;
	slot->group = group;
	iommu_group_ref_get(group);
	INIT_LIST_HEAD(&slot->devices);
	mutex_init(&slot->lock);
	kref_init(&slot->kref);
	return slot;
}

static void iommufd_group_free(struct iommufd_group_slot *slot)
{
	WARN_ON(!list_empty(&slot->devices));
	WARN_ON(slot->cur_hwpt);
	mutex_destroy(&slot->lock);
	iommu_group_put(slot->group);
	kfree(slot);
}

/* The last device left: out of the context's table, then freed */
static void iommufd_group_last_put(struct kref *kref)
{
	struct iommufd_group_slot *slot =
		container_of(kref, struct iommufd_group_slot, kref);

	lockdep_assert_held(&slot->ctx->lock);
	xa_erase(&slot->ctx->group_slots, iommu_group_id(slot->group));
	iommufd_group_free(slot);
}

static void iommufd_group_put(struct iommufd_group_slot *slot)
{
	struct iommufd_ctx *ictx = slot->ctx;

	/* Under the lock, so a lookup never finds a group being freed */
	mutex_lock(&ictx->lock);
	kref_put(&slot->kref, iommufd_group_last_put);
	mutex_unlock(&ictx->lock);
}

/* The context's iommufd_group_slot of @group, created if needed; referenced */
static struct iommufd_group_slot *iommufd_group_get(struct iommufd_ctx *ictx,
						    struct iommu_group *group)
{
	unsigned long key = iommu_group_id(group);
	struct iommufd_group_slot *slot;
	int ret;

	mutex_lock(&ictx->lock);
	slot = xa_load(&ictx->group_slots, key);
	if (slot) {
		kref_get(&slot->kref);
		goto out_unlock;
	}
	slot = iommufd_group_new(ictx, group);
	if (IS_ERR(slot))
		goto out_unlock;
	ret = xa_insert(&ictx->group_slots, key, slot, GFP_KERNEL_ACCOUNT);
	if (ret) {
		iommufd_group_free(slot);
		slot = ERR_PTR(ret);
	}
out_unlock:
	mutex_unlock(&ictx->lock);
	return slot;
}

static void iommufd_device_destroy(struct iommufd_object *obj)
{
	struct iommufd_device *idev =
		container_of(obj, struct iommufd_device, base);

	if (idev->slot) {
		mutex_lock(&idev->slot->lock);
		list_del(&idev->slot_link);
		mutex_unlock(&idev->slot->lock);
		iommufd_group_put(idev->slot);
	}
	/* Set only once bind claimed the device's DMA ownership */
	if (idev->dev)
		iommu_device_release_dma_owner(idev->dev);
}

const struct iommufd_kind_ops iommufd_device_ops = {
	.release = iommufd_device_destroy,
};

/**
 * iommufd_device_to_id() - the object id of a binding
 * @idev: the binding
 *
 * Context: Any context.
 * Return: the id.
 */
u32 iommufd_device_to_id(struct iommufd_device *idev)
{
	return idev->base.nr;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_id, IOMMUFD);

/**
 * iommufd_device_to_ictx() - the context a device is bound to
 * @idev: the binding
 *
 * Context: Any context.
 * Return: the context.
 */
struct iommufd_ctx *iommufd_device_to_ictx(struct iommufd_device *idev)
{
	return idev->ctx;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_to_ictx, IOMMUFD);

/**
 * iommufd_device_bind() - bind a physical device to a context
 * @ictx: the context
 * @dev: the device; the caller's driver owns it and keeps it alive while
 *	bound
 * @id: output: the device's object id in @ictx
 *
 * Claims the device's DMA ownership: from now on only the context decides
 * where it can DMA.  A device whose MSIs are not isolated by the platform
 * is refused unless the allow_unsafe_interrupts parameter is set.
 *
 * The binding holds a reference on @ictx until iommufd_device_unbind(), so
 * the context outlives every device bound to it whatever order its users
 * close their files in (VFIO's group file may go before a device file).
 * The mock devices of the selftest are the exception: an object of @ictx
 * owns them, so a reference would keep @ictx alive forever.
 *
 * Context: Process context.
 * Return: the binding, or ERR_PTR(): -ENODEV without an IOMMU group,
 * -EPERM for unisolated MSIs, -EBUSY if a kernel driver uses DMA of the
 * group, -ENOMEM.
 */
struct iommufd_device *iommufd_device_bind(struct iommufd_ctx *ictx,
					   struct device *dev, u32 *id)
{
	struct iommufd_device *idev;
	struct iommu_group *group;
	int ret;

	group = iommu_group_get(dev);
	if (!group)
		return ERR_PTR(-ENODEV);
	if (!allow_unsafe_interrupts && !iommufd_dev_is_mock(dev) &&
	    !iommu_group_has_isolated_msi(group)) {
		dev_warn(dev, "iommufd: MSIs of this device are not isolated; refusing to bind (see allow_unsafe_interrupts)\n");
		ret = -EPERM;
		goto err_put_group;
	}
	ret = iommu_device_claim_dma_owner(dev, ictx);
	if (ret)
		goto err_put_group;

	idev = iommufd_object_alloc(ictx, struct iommufd_device,
				    IOMMUFD_KIND_DEVICE);
	if (IS_ERR(idev)) {
		ret = PTR_ERR(idev);
		goto err_release_owner;
	}
	idev->ctx = ictx;
	idev->holds_ctx = !iommufd_dev_is_mock(dev);
	idev->dev = dev;
	idev->coherent_dma =
		device_iommu_capable(dev, IOMMU_CAP_ENFORCE_CACHE_COHERENCY);
	idev->slot = iommufd_group_get(ictx, group);
	if (IS_ERR(idev->slot)) {
		ret = PTR_ERR(idev->slot);
		idev->slot = NULL;
		/* Discarding the device releases its DMA ownership */
		iommufd_object_discard(ictx, &idev->base);
		goto err_put_group;
	}
	iommu_group_put(group);
	mutex_lock(&idev->slot->lock);
	list_add_tail(&idev->slot_link, &idev->slot->devices);
	mutex_unlock(&idev->slot->lock);

	/* The owner's reference, next to the table's */
	refcount_inc(&idev->base.refcnt);
	if (idev->holds_ctx)
		iommufd_ctx_get(ictx);
	*id = idev->base.nr;
	iommufd_object_publish(ictx, &idev->base);
	return idev;

err_release_owner:
	iommu_device_release_dma_owner(dev);
err_put_group:
	iommu_group_put(group);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_bind, IOMMUFD);

/**
 * iommufd_device_unbind() - undo iommufd_device_bind()
 * @idev: the binding; detached first if still attached
 *
 * Context: Process context; sleeps until ioctls using the device finish.
 */
void iommufd_device_unbind(struct iommufd_device *idev)
{
	struct iommufd_ctx *ictx = idev->ctx;
	bool holds_ctx = idev->holds_ctx;

	iommufd_device_detach(idev);
	iommufd_obj_remove(ictx, &idev->base);
	/* Last: this may be what releases @ictx */
	if (holds_ctx)
		iommufd_ctx_put(ictx);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_unbind, IOMMUFD);

/**
 * iommufd_ctx_has_group() - is any device of @group bound to @ictx
 * @ictx: the context
 * @group: the IOMMU group
 *
 * Context: Any context where a spinlock may be taken; takes no mutex, so
 * callers may hold VFIO's memory_lock.
 * Return: true if a device of the group is bound to the context.
 */
bool iommufd_ctx_has_group(struct iommufd_ctx *ictx, struct iommu_group *group)
{
	struct iommufd_group_slot *slot;
	bool ret;

	if (!ictx || !group)
		return false;
	/*
	 * No mutex: VFIO asks while it holds a device's memory_lock, which a
	 * BAR fault takes under mmap_lock, itself taken under iopt->tree_sem
	 * and so under the slot and context locks.  The table's spinlock
	 * keeps the slot alive: iommufd_group_last_put() erases it first.
	 * list_empty() is a single READ_ONCE() of what list_add() and
	 * list_del() write with WRITE_ONCE(): a snapshot, as any answer is.
	 */
	xa_lock(&ictx->group_slots);
	slot = xa_load(&ictx->group_slots, iommu_group_id(group));
	ret = slot && !list_empty(&slot->devices);
	xa_unlock(&ictx->group_slots);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_has_group, IOMMUFD);

/*
 * What a device's reserved regions (enum iommu_resv_type) ask of the IOAS
 * and of the domains it is attached to:
 * - DIRECT, RESERVED and MSI ranges are reserved in the IOAS: nothing may
 *   be mapped there while the device is attached.
 * - DIRECT_RELAXABLE ranges are not.  They are the firmware's RMRRs of USB
 *   controllers and integrated graphics, needed only while a kernel driver
 *   runs the device, and a VMM's guest RAM may cover them (type1 agrees).
 * - A SW_MSI range is reserved too, and it is where the MSI layer maps the
 *   interrupt controller's doorbell for the device (arm-smmu-v3, and
 *   virtio-iommu without an MSI bypass window).  Every paging domain the
 *   device is attached to gets its MSI cookie there before the device
 *   uses it, or the device's MSIs fault and never arrive.
 * A driver reports at most one SW_MSI window, and never one beside a
 * hardware MSI range: anything else is a driver bug, refused with EINVAL.
 */
struct iommufd_resv_walk {
	phys_addr_t sw_msi;
	unsigned int nr_sw_msi;
	unsigned int nr_hw_msi;
};

static bool iommufd_resv_is_reserved(const struct iommu_resv_region *resv)
{
	return resv->length && resv->type != IOMMU_RESV_DIRECT_RELAXABLE;
}

/*
 * Walk @idev's reserved regions: reserve in @iopt, owned by @idev, each
 * one that must stay unmapped (none when @iopt is NULL), and report the
 * base of its SW_MSI window in *@sw_msi (IOMMUFD_NO_MSI without one).
 * On error nothing stays reserved for @idev in @iopt.
 */
static int iommufd_device_reserve(struct iommufd_device *idev,
				  struct io_pagetable *iopt,
				  phys_addr_t *sw_msi)
{
	struct iommufd_resv_walk walk = { .sw_msi = IOMMUFD_NO_MSI };
	struct iommu_resv_region *resv;
	LIST_HEAD(regions);
	int ret = 0;

	iommu_get_resv_regions(idev->dev, &regions);
	list_for_each_entry(resv, &regions, list) {
		if (resv->type == IOMMU_RESV_SW_MSI) {
			walk.sw_msi = resv->start;
			walk.nr_sw_msi++;
		} else if (resv->type == IOMMU_RESV_MSI) {
			walk.nr_hw_msi++;
		}
		if (!iopt || !iommufd_resv_is_reserved(resv))
			continue;
		ret = iopt_reserve(iopt, resv->start,
				   resv->start + resv->length - 1, idev);
		if (ret)
			break;
	}
	iommu_put_resv_regions(idev->dev, &regions);

	if (!ret && (walk.nr_sw_msi > 1 ||
		     (walk.nr_sw_msi && walk.nr_hw_msi))) {
		dev_err_ratelimited(idev->dev,
				    "iommufd: the IOMMU driver reports %u software and %u hardware MSI windows; refusing to attach\n",
				    walk.nr_sw_msi, walk.nr_hw_msi);
		ret = -EINVAL;
	}
	if (ret) {
		if (iopt)
			iopt_unreserve(iopt, idev);
		return ret;
	}
	*sw_msi = walk.sw_msi;
	return 0;
}

/*
 * Give the paging domain behind @hwpt (itself, or a nested HWPT's parent,
 * which translates the doorbell's address last) the MSI cookie that a
 * device with its SW_MSI window at @sw_msi needs, the first time such a
 * device attaches.  The caller holds the backing IOAS's mutex.
 *
 * Return: 0; -EINVAL if the cookie is at another window already (the
 * device cannot share the domain); an error of iommu_get_msi_cookie().
 */
static int iommufd_hwpt_msi_prepare(struct iommufd_hwpt *hwpt,
				    phys_addr_t sw_msi)
{
	struct iommufd_hwpt_paging *paging = iommufd_hwpt_backing(hwpt);
	int ret;

	lockdep_assert_held(&paging->ioas->mutex);
	if (sw_msi == IOMMUFD_NO_MSI)
		return 0;
	if (paging->msi_window != IOMMUFD_NO_MSI)
		return paging->msi_window == sw_msi ? 0 : -EINVAL;
	ret = iommu_get_msi_cookie(paging->core.domain, sw_msi);
	if (ret)
		return ret;
	paging->msi_window = sw_msi;
	return 0;
}

/* Add @n attachments of devices to @hwpt; the caller holds ioas->mutex */
static void iommufd_hwpt_add_attachments(struct iommufd_hwpt *hwpt,
					 unsigned int n)
{
	struct iommufd_hwpt_paging *paging = iommufd_hwpt_backing(hwpt);

	lockdep_assert_held(&paging->ioas->mutex);
	if (hwpt == &paging->core)
		paging->nattached += n;
	while (n--)
		refcount_inc(&hwpt->base.refcnt);
}

/*
 * Drop one device's attachment to @hwpt, under ioas->mutex.  An automatic
 * HWPT goes with its last attachment: it is unlisted here and returned,
 * for the caller to remove once it has dropped ioas->mutex (removal waits
 * for ioctls holding the HWPT, which may be waiting for that mutex).
 */
static struct iommufd_hwpt_paging *
iommufd_hwpt_drop_attachment(struct iommufd_hwpt *hwpt)
{
	struct iommufd_hwpt_paging *paging = iommufd_hwpt_backing(hwpt);

	lockdep_assert_held(&paging->ioas->mutex);
	if (hwpt == &paging->core && --paging->nattached == 0 &&
	    paging->made_auto) {
		list_del(&paging->auto_item);
		paging->retired = true;
		return paging;
	}
	iommufd_obj_unref(hwpt->ctx, &hwpt->base);
	return NULL;
}

static void iommufd_hwpt_remove_auto(struct iommufd_hwpt_paging *hwpt)
{
	if (hwpt)
		iommufd_obj_remove(hwpt->core.ctx, &hwpt->core.base);
}

/*
 * IO page faults are enabled on a device exactly while it is attached to
 * a HWPT that has a fault object.
 */
static int iommufd_device_set_iopf(struct iommufd_device *idev, bool on)
{
	int ret;

	lockdep_assert_held(&idev->slot->lock);
	if (on == idev->iopf_on)
		return 0;
	if (on) {
		ret = iommu_dev_enable_feature(idev->dev, IOMMU_DEV_FEAT_IOPF);
		if (ret)
			return ret;
	} else {
		iommu_dev_disable_feature(idev->dev, IOMMU_DEV_FEAT_IOPF);
	}
	idev->iopf_on = on;
	return 0;
}

/*
 * The attach handle an attachment of @idev's group to @hwpt needs: one
 * naming the fault object when @hwpt reports faults, else none (NULL).
 */
static struct iommufd_attachment *
iommufd_attach_handle_new(struct iommufd_hwpt *hwpt,
			  struct iommufd_device *idev)
{
	struct iommufd_attachment *handle;

	if (!hwpt->fault)
		return NULL;
	handle = kzalloc(sizeof(*handle), GFP_KERNEL_ACCOUNT);
	if (!handle)
		return ERR_PTR(-ENOMEM);
	handle->fault = hwpt->fault;
	handle->dev_id = idev->base.nr;
	handle->dev = idev->dev;
	return handle;
}

static struct iommu_attach_handle *
iommufd_core_handle(struct iommufd_attachment *handle)
{
	return handle ? &handle->core : NULL;
}

/* Attach @idev to @hwpt; the caller holds the backing IOAS's mutex */
static int iommufd_device_attach_hwpt(struct iommufd_device *idev,
				      struct iommufd_hwpt *hwpt)
{
	struct iommufd_hwpt_paging *paging = iommufd_hwpt_backing(hwpt);
	struct iommufd_group_slot *slot = idev->slot;
	struct iommufd_attachment *handle = NULL;
	phys_addr_t sw_msi;
	int ret;

	lockdep_assert_held(&paging->ioas->mutex);
	/* Its id may still be found while it waits to be removed */
	if (paging->retired)
		return -ENOENT;
	mutex_lock(&slot->lock);
	if (idev->attached || (slot->cur_hwpt && slot->cur_hwpt != hwpt)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (paging->coherent_dma && !idev->coherent_dma) {
		ret = -EINVAL;
		goto out_unlock;
	}
	ret = iommufd_device_set_iopf(idev, hwpt->fault);
	if (ret)
		goto out_unlock;
	ret = iommufd_device_reserve(idev, &paging->ioas->table, &sw_msi);
	if (ret)
		goto err_iopf;
	/* Even when the group is attached already: this device may need it */
	ret = iommufd_hwpt_msi_prepare(hwpt, sw_msi);
	if (ret)
		goto err_unreserve;
	if (!slot->cur_hwpt) {
		handle = iommufd_attach_handle_new(hwpt, idev);
		if (IS_ERR(handle)) {
			ret = PTR_ERR(handle);
			goto err_unreserve;
		}
		ret = iommu_attach_group_handle(hwpt->domain, slot->group,
						iommufd_core_handle(handle));
		if (ret)
			goto err_free_handle;
		/* A domain its driver builds at the first attach is filled now */
		if (!paging->in_iopt) {
			ret = iommufd_hwpt_paging_fill(paging);
			if (ret)
				goto err_detach;
		}
		slot->cur_hwpt = hwpt;
		slot->handle = handle;
	}
	slot->nattached++;
	idev->attached = true;
	iommufd_hwpt_add_attachments(hwpt, 1);
	goto out_unlock;

err_detach:
	iommu_detach_group_handle(hwpt->domain, slot->group);
err_free_handle:
	kfree(handle);
err_unreserve:
	iopt_unreserve(&paging->ioas->table, idev);
err_iopf:
	iommufd_device_set_iopf(idev, false);
out_unlock:
	mutex_unlock(&slot->lock);
	return ret;
}

/*
 * The automatic HWPTs of the VFIO container's IOAS track dirty IOVA where
 * the IOMMU can, so that the container's dirty page tracking (a VMM's
 * live migration) reports what devices wrote rather than everything.
 */
static struct iommufd_hwpt_paging *
iommufd_hwpt_auto_create(struct iommufd_device *idev, struct iommufd_ioas *ioas)
{
	const u32 dirty = IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	struct iommufd_ctx *ictx = idev->ctx;
	struct iommufd_hwpt_paging *hwpt;

	if (READ_ONCE(ictx->compat_ioas) == ioas &&
	    device_iommu_capable(idev->dev, IOMMU_CAP_DIRTY_TRACKING)) {
		hwpt = iommufd_hwpt_paging_create(ictx, ioas, idev,
						  dirty | IOMMUFD_HWPT_AUTO);
		if (PTR_ERR_OR_ZERO(hwpt) != -EOPNOTSUPP)
			return hwpt;
	}
	return iommufd_hwpt_paging_create(ictx, ioas, idev, IOMMUFD_HWPT_AUTO);
}

/* Attach to an automatic HWPT of @ioas, reusing one when the IOMMU agrees */
static int iommufd_device_attach_ioas(struct iommufd_device *idev,
				      struct iommufd_ioas *ioas, u32 *pt_id)
{
	struct iommufd_hwpt_paging *hwpt;
	int ret;

	mutex_lock(&ioas->mutex);
	list_for_each_entry(hwpt, &ioas->auto_hwpts, auto_item) {
		ret = iommufd_device_attach_hwpt(idev, &hwpt->core);
		if (!ret)
			goto out_found;
		if (ret != -EINVAL)
			goto out_unlock;	/* a real failure, not a mismatch */
	}
	hwpt = iommufd_hwpt_auto_create(idev, ioas);
	if (IS_ERR(hwpt)) {
		ret = PTR_ERR(hwpt);
		goto out_unlock;
	}
	ret = iommufd_device_attach_hwpt(idev, &hwpt->core);
	if (ret) {
		iommufd_object_discard(idev->ctx, &hwpt->core.base);
		goto out_unlock;
	}
	list_add_tail(&hwpt->auto_item, &ioas->auto_hwpts);
	iommufd_object_publish(idev->ctx, &hwpt->core.base);
out_found:
	*pt_id = hwpt->core.base.nr;
out_unlock:
	mutex_unlock(&ioas->mutex);
	return ret;
}

/**
 * iommufd_device_attach() - attach a bound device to an IOAS or HWPT
 * @idev: the binding, not attached
 * @pt_id: in: an IOAS or a paging HWPT id; out: the HWPT attached
 *
 * Context: Process context.
 * Return: 0; -ENOENT if @pt_id names neither; -EINVAL if the device is
 * attached already, its group uses another HWPT, or the IOMMU cannot use
 * the HWPT's domain for it; -EADDRINUSE if a reserved region of the device
 * is mapped in the IOAS.
 */
int iommufd_device_attach(struct iommufd_device *idev, u32 *pt_id)
{
	struct iommufd_hwpt_paging *paging;
	struct iommufd_object *pt;
	struct iommufd_hwpt *hwpt;
	int ret;

	pt = iommufd_obj_lookup(idev->ctx, *pt_id, IOMMUFD_KIND_ANY);
	if (IS_ERR(pt))
		return PTR_ERR(pt);
	if (pt->kind == IOMMUFD_KIND_IOAS) {
		struct iommufd_ioas *ioas =
			container_of(pt, struct iommufd_ioas, base);

		ret = iommufd_device_attach_ioas(idev, ioas, pt_id);
	} else if (iommufd_object_is_hwpt(pt)) {
		hwpt = container_of(pt, struct iommufd_hwpt, base);
		paging = iommufd_hwpt_backing(hwpt);
		mutex_lock(&paging->ioas->mutex);
		ret = iommufd_device_attach_hwpt(idev, hwpt);
		mutex_unlock(&paging->ioas->mutex);
	} else {
		ret = -EINVAL;
	}
	iommufd_obj_unref(idev->ctx, pt);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_attach, IOMMUFD);

/*
 * The HWPT @idev is attached to, held so that it outlives the unlocked
 * moment before the caller takes its IOAS's mutex; or NULL.
 */
static struct iommufd_hwpt *iommufd_device_get_hwpt(struct iommufd_device *idev)
{
	struct iommufd_hwpt *hwpt = NULL;

	mutex_lock(&idev->slot->lock);
	if (idev->attached) {
		hwpt = idev->slot->cur_hwpt;
		refcount_inc(&hwpt->base.refcnt);
	}
	mutex_unlock(&idev->slot->lock);
	return hwpt;
}

/**
 * iommufd_device_detach() - undo iommufd_device_attach()
 * @idev: the binding; nothing happens if it is not attached
 *
 * The last device of a group to detach moves the group to the blocking
 * domain.
 *
 * Context: Process context; sleeps.
 */
void iommufd_device_detach(struct iommufd_device *idev)
{
	struct iommufd_group_slot *slot = idev->slot;
	struct iommufd_hwpt_paging *gone;
	struct iommufd_hwpt *hwpt;
	struct iommufd_ioas *ioas;

again:
	hwpt = iommufd_device_get_hwpt(idev);
	if (!hwpt)
		return;
	ioas = iommufd_hwpt_backing(hwpt)->ioas;
	mutex_lock(&ioas->mutex);
	mutex_lock(&slot->lock);
	if (!idev->attached || slot->cur_hwpt != hwpt) {
		/* A replace moved it meanwhile */
		mutex_unlock(&slot->lock);
		mutex_unlock(&ioas->mutex);
		iommufd_obj_unref(idev->ctx, &hwpt->base);
		goto again;
	}
	idev->attached = false;
	iopt_unreserve(&ioas->table, idev);
	if (--slot->nattached == 0) {
		iommu_detach_group_handle(hwpt->domain, slot->group);
		slot->cur_hwpt = NULL;
		/* Answers the faults still outstanding on the old domain */
		if (slot->handle)
			iommufd_fault_handle_retire(slot->handle);
		slot->handle = NULL;
	}
	iommufd_device_set_iopf(idev, false);
	mutex_unlock(&slot->lock);
	gone = iommufd_hwpt_drop_attachment(hwpt);
	mutex_unlock(&ioas->mutex);
	/* Before the removal, which waits for every other holder */
	iommufd_obj_unref(idev->ctx, &hwpt->base);
	iommufd_hwpt_remove_auto(gone);
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_detach, IOMMUFD);

/* Turn IO page faults on or off for every attached device of a group */
static int iommufd_group_set_iopf(struct iommufd_group_slot *slot, bool on)
{
	struct iommufd_device *cur;
	int ret;

	list_for_each_entry(cur, &slot->devices, slot_link) {
		if (!cur->attached)
			continue;
		ret = iommufd_device_set_iopf(cur, on);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Move @idev's group from its HWPT to @new; both IOAS mutexes held.  An
 * automatic HWPT left without devices is returned in @gone for removal.
 */
static int iommufd_group_replace(struct iommufd_device *idev,
				 struct iommufd_hwpt *new,
				 struct iommufd_hwpt_paging **gone)
{
	struct iommufd_group_slot *slot = idev->slot;
	struct iommufd_hwpt *old = slot->cur_hwpt;
	struct iommufd_ioas *old_ioas = iommufd_hwpt_backing(old)->ioas;
	struct iommufd_hwpt_paging *new_paging = iommufd_hwpt_backing(new);
	struct iommufd_ioas *new_ioas = new_paging->ioas;
	struct iommufd_attachment *handle;
	struct iommufd_device *cur;
	unsigned int moved = 0;
	int ret;

	lockdep_assert_held(&slot->lock);
	lockdep_assert_held(&new_ioas->mutex);
	if (new_paging->retired)
		return -ENOENT;
	if (new_paging->coherent_dma &&
	    !idev->coherent_dma)
		return -EINVAL;
	/*
	 * A domain its driver builds at its first attach is empty until
	 * then: DMA could not keep working across the switch.
	 */
	if (!new_paging->in_iopt)
		return -EOPNOTSUPP;
	handle = iommufd_attach_handle_new(new, idev);
	if (IS_ERR(handle))
		return PTR_ERR(handle);
	if (new->fault) {
		ret = iommufd_group_set_iopf(slot, true);
		if (ret)
			goto err_iopf;
	}
	/* Each device reserves its regions anew when the IOAS changes */
	list_for_each_entry(cur, &slot->devices, slot_link) {
		phys_addr_t sw_msi;

		if (!cur->attached)
			continue;
		ret = iommufd_device_reserve(cur, old_ioas != new_ioas ?
						  &new_ioas->table : NULL,
					     &sw_msi);
		if (!ret)
			ret = iommufd_hwpt_msi_prepare(new, sw_msi);
		if (ret)
			goto err_unreserve;
	}
	ret = iommu_replace_group_handle(slot->group, new->domain,
					 iommufd_core_handle(handle));
	if (ret)
		goto err_unreserve;

	if (slot->handle)
		iommufd_fault_handle_retire(slot->handle);
	slot->handle = handle;
	if (!new->fault)
		iommufd_group_set_iopf(slot, false);
	list_for_each_entry(cur, &slot->devices, slot_link) {
		if (!cur->attached)
			continue;
		if (old_ioas != new_ioas)
			iopt_unreserve(&old_ioas->table, cur);
		moved++;
	}
	slot->cur_hwpt = new;
	iommufd_hwpt_add_attachments(new, moved);
	while (moved--)
		*gone = iommufd_hwpt_drop_attachment(old);
	return 0;

err_unreserve:
	if (old_ioas != new_ioas) {
		list_for_each_entry(cur, &slot->devices, slot_link)
			iopt_unreserve(&new_ioas->table, cur);
	}
err_iopf:
	iommufd_group_set_iopf(slot, old->fault);
	kfree(handle);
	return ret;
}

static void iommufd_lock_two(struct mutex *a, struct mutex *b)
{
	if (a == b) {
		mutex_lock(a);
	} else if (a < b) {
		mutex_lock(a);
		mutex_lock_nested(b, SINGLE_DEPTH_NESTING);
	} else {
		mutex_lock(b);
		mutex_lock_nested(a, SINGLE_DEPTH_NESTING);
	}
}

static void iommufd_unlock_two(struct mutex *a, struct mutex *b)
{
	if (a != b)
		mutex_unlock(b);
	mutex_unlock(a);
}

/**
 * iommufd_device_replace() - move an attached device to another IOAS or HWPT
 * @idev: the binding, attached
 * @pt_id: in: an IOAS or paging HWPT id; out: the HWPT now attached
 *
 * The IOMMU switches the group's translation in one step, so DMA to IOVA
 * that both tables map keeps working throughout.  Every device of the
 * group moves.
 *
 * Context: Process context.
 * Return: 0; -EINVAL if not attached or the IOMMU cannot use the new
 * domain; -ENOENT; -EADDRINUSE; -EOPNOTSUPP onto a HWPT never attached
 * whose IOMMU driver builds domains at their first attach (virtio-iommu
 * in 6.12).  On error the old attachment stays.
 */
int iommufd_device_replace(struct iommufd_device *idev, u32 *pt_id)
{
	struct iommufd_group_slot *slot = idev->slot;
	struct iommufd_hwpt_paging *paging, *gone = NULL;
	struct iommufd_hwpt *old, *new = NULL;
	struct iommufd_ioas *old_ioas, *new_ioas;
	struct iommufd_object *pt;
	bool created = false, moved = false;
	int ret;

	pt = iommufd_obj_lookup(idev->ctx, *pt_id, IOMMUFD_KIND_ANY);
	if (IS_ERR(pt))
		return PTR_ERR(pt);
	if (pt->kind == IOMMUFD_KIND_IOAS) {
		new_ioas = container_of(pt, struct iommufd_ioas, base);
	} else if (iommufd_object_is_hwpt(pt)) {
		new = container_of(pt, struct iommufd_hwpt, base);
		new_ioas = iommufd_hwpt_backing(new)->ioas;
	} else {
		ret = -EINVAL;
		goto out_put;
	}

again:
	old = iommufd_device_get_hwpt(idev);
	if (!old) {
		ret = -EINVAL;
		goto out_put;
	}
	old_ioas = iommufd_hwpt_backing(old)->ioas;

	iommufd_lock_two(&old_ioas->mutex, &new_ioas->mutex);
	mutex_lock(&slot->lock);
	if (!idev->attached || slot->cur_hwpt != old) {
		/* Another replace or a detach won the race: look again */
		mutex_unlock(&slot->lock);
		iommufd_unlock_two(&old_ioas->mutex, &new_ioas->mutex);
		iommufd_obj_unref(idev->ctx, &old->base);
		goto again;
	}
	ret = 0;
	if (!new) {
		/*
		 * To an IOAS: the automatic HWPT the device already uses, else
		 * the first other one of the IOAS the IOMMU accepts (EINVAL is
		 * a mismatch), else a new one.
		 */
		list_for_each_entry(paging, &new_ioas->auto_hwpts, auto_item) {
			if (&paging->core == old) {
				new = old;
				break;
			}
		}
		list_for_each_entry(paging, &new_ioas->auto_hwpts, auto_item) {
			if (new)
				break;
			ret = iommufd_group_replace(idev, &paging->core, &gone);
			if (!ret) {
				new = &paging->core;
				moved = true;
			} else if (ret != -EINVAL) {
				break;
			}
			ret = 0;
		}
		if (!ret && !new) {
			paging = iommufd_hwpt_auto_create(idev, new_ioas);
			if (IS_ERR(paging))
				ret = PTR_ERR(paging);
			else
				new = &paging->core;
			created = true;
		}
	}
	if (!ret && new != old && !moved) {
		ret = iommufd_group_replace(idev, new, &gone);
		if (created && ret) {
			iommufd_object_discard(idev->ctx, &new->base);
		} else if (created) {
			paging = iommufd_hwpt_backing(new);
			list_add_tail(&paging->auto_item,
				      &new_ioas->auto_hwpts);
			iommufd_object_publish(idev->ctx, &new->base);
		}
	}
	if (!ret)
		*pt_id = new->base.nr;
	mutex_unlock(&slot->lock);
	iommufd_unlock_two(&old_ioas->mutex, &new_ioas->mutex);
	iommufd_obj_unref(idev->ctx, &old->base);
	iommufd_hwpt_remove_auto(gone);
out_put:
	iommufd_obj_unref(idev->ctx, pt);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(iommufd_device_replace, IOMMUFD);

/* Copy the driver's blob, zero the rest of the user's buffer */
static int iommufd_copy_hw_info(struct iommu_hw_info *cmd, void *data,
				u32 len)
{
	void __user *uptr = u64_to_user_ptr(cmd->data_uptr);
	u32 copy = min(len, cmd->data_len);

	if (copy && copy_to_user(uptr, data, copy))
		return -EFAULT;
	if (cmd->data_len > copy && clear_user(uptr + copy,
					       cmd->data_len - copy))
		return -EFAULT;
	cmd->data_len = len;
	return 0;
}

/* The capability fields of IOMMU_GET_HW_INFO */
static void iommufd_fill_hw_caps(struct iommu_hw_info *cmd, struct device *dev)
{
	u32 max_pasids = dev->iommu ? dev->iommu->max_pasids : 0;

	cmd->out_capabilities =
		device_iommu_capable(dev, IOMMU_CAP_DIRTY_TRACKING) ?
			IOMMU_HW_CAP_DIRTY_TRACKING : 0;
	cmd->out_max_pasid_log2 = max_pasids ? ilog2(max_pasids) : 0;
	/* What the device's PASID capability allows, when it uses PASIDs */
	if (max_pasids && dev_is_pci(dev)) {
		int features = pci_pasid_features(to_pci_dev(dev));

		if (features > 0 && (features & PCI_PASID_CAP_EXEC))
			cmd->out_capabilities |= IOMMU_HW_CAP_PCI_PASID_EXEC;
		if (features > 0 && (features & PCI_PASID_CAP_PRIV))
			cmd->out_capabilities |= IOMMU_HW_CAP_PCI_PASID_PRIV;
	}
}

/*
 * What @dev's IOMMU driver reports of itself: a kmalloc()ed blob of *@len
 * bytes of type *@type, NULL (type NONE) for a driver that reports
 * nothing, or an ERR_PTR().
 */
static void *iommufd_driver_report(struct device *dev, u32 *len, u32 *type)
{
	const struct iommu_ops *ops = dev_iommu_ops(dev);

	*len = 0;
	*type = IOMMU_HW_INFO_TYPE_NONE;
	if (!ops->hw_info)
		return NULL;
	return ops->hw_info(dev, len, type);
}

int iommufd_get_hw_info(struct iommufd_call *call)
{
	struct iommu_hw_info *cmd = call->kbuf;
	u32 want = IOMMU_HW_INFO_TYPE_DEFAULT;
	struct iommufd_device *idev;
	u32 len, type;
	void *report;
	int ret;

	if (cmd->flags & ~IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		return -EOPNOTSUPP;
	if (cmd->__reserved[0] | cmd->__reserved[1] | cmd->__reserved[2])
		return -EOPNOTSUPP;
	if (cmd->flags & IOMMU_HW_INFO_FLAG_INPUT_TYPE)
		want = cmd->in_data_type;
	idev = iommufd_get_typed(call->ctx, cmd->dev_id, IOMMUFD_KIND_DEVICE,
				 struct iommufd_device, base);
	if (IS_ERR(idev))
		return PTR_ERR(idev);

	report = iommufd_driver_report(idev->dev, &len, &type);
	if (IS_ERR(report)) {
		ret = PTR_ERR(report);
		goto out_put_idev;
	}
	/* A type asked for must be the type the driver has */
	if (want == IOMMU_HW_INFO_TYPE_DEFAULT || want == type)
		ret = iommufd_copy_hw_info(cmd, report, len);
	else
		ret = -EOPNOTSUPP;
	kfree(report);
	if (!ret) {
		cmd->out_data_type = type;
		iommufd_fill_hw_caps(cmd, idev->dev);
		ret = iommufd_call_reply(call, sizeof(*cmd));
	}
out_put_idev:
	iommufd_obj_unref(call->ctx, &idev->base);
	return ret;
}
