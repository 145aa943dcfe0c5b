// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VFIO container, /dev/vfio/vfio, emulated on an iommufd context.
 *
 * The container's IO address space is the context's compat IOAS: the VFIO
 * group path attaches devices to it, and the type1 ioctls map and unmap in
 * it.  VFIO_SET_IOMMU with VFIO_TYPE1_IOMMU (v1) restricts the IOMMU to
 * PAGE_SIZE entries, as type1 v1 does, which lets an unmap cut mappings
 * that cross its ends, as v1 allows.
 *
 * Dirty page tracking (VFIO_IOMMU_DIRTY_PAGES, and unmap with a dirty
 * bitmap) uses the IOMMU's dirty bits when every domain of the IOAS has
 * them (the container's automatic HWPTs ask for them where the IOMMU can
 * track); otherwise it follows type1's rule for devices it cannot see
 * into: every mapped page is reported dirty, every time.
 *
 * VFIO_DMA_UNMAP_FLAG_VADDR and VFIO_DMA_MAP_FLAG_VADDR take the user
 * address of mappings away and give a new one (io_pagetable.c): devices
 * keep DMA going, in-kernel accesses wait for the new address without
 * holding a lock.
 *
 * On /dev/vfio/vfio the container also keeps type1's rules of state: the
 * type is chosen once, after a group joined, and until then nothing but
 * the version, the extensions and that choice works, a device open of its
 * groups included.  /dev/iommu used as a container keeps 6.12's rules.
 *
 * No-IOMMU mode: a container that a no-IOMMU group joined has no IO
 * address space, as its devices DMA to physical addresses untranslated.
 * VFIO_SET_IOMMU then takes only VFIO_NOIOMMU_IOMMU (CAP_SYS_RAWIO), the
 * mapping ioctls are ENOTTY as under VFIO's own no-IOMMU driver, and a
 * translated group cannot join (EPERM).
 */
#include <linux/bitops.h>
#include <linux/iommufd.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vfio.h>

#include "iommufd_private.h"

/* type1's limit of mappings per container, and its default */
static unsigned int dma_entry_limit = 65535;
module_param(dma_entry_limit, uint, 0644);
MODULE_PARM_DESC(dma_entry_limit,
		 "Maximum number of mappings of a VFIO container (as vfio_iommu_type1.dma_entry_limit)");
/* type1's largest dirty bitmap: one bit per page for INT_MAX pages */
#define IOMMUFD_VFIO_DIRTY_PAGES_MAX ((u64)INT_MAX)
#define IOMMUFD_VFIO_DIRTY_BITMAP_MAX                                        \
	(ALIGN(IOMMUFD_VFIO_DIRTY_PAGES_MAX, BITS_PER_TYPE(u64)) / BITS_PER_BYTE)

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
	if (ictx->compat_ioas) {
		*out_ioas_id = ictx->compat_ioas->base.nr;
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
	struct iommufd_ioas *ioas =
		iommufd_vfio_compat_ioas_get(ictx, IOMMUFD_COMPAT_IOAS_CREATE);

	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	iommufd_obj_unref(ictx, &ioas->base);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_ioas_create, IOMMUFD_VFIO);

/**
 * iommufd_vfio_compat_set_no_iommu() - use the container in no-IOMMU mode
 * @ictx: the context
 *
 * VFIO calls this when a no-IOMMU group joins the container.  From then on
 * the container never gets a compat IOAS (see the top of this file).
 *
 * Context: Process context.
 * Return: 0; -EPERM if the container already has a compat IOAS, that is,
 * translated devices.
 */
int iommufd_vfio_compat_set_no_iommu(struct iommufd_ctx *ictx)
{
	int ret = 0;

	mutex_lock(&ictx->lock);
	if (ictx->compat_ioas)
		ret = -EPERM;
	else
		ictx->vfio_no_iommu = true;
	mutex_unlock(&ictx->lock);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_set_no_iommu, IOMMUFD_VFIO);

/*
 * The container's limit of mappings: the parameter's value when
 * VFIO_SET_IOMMU chose the type, as in type1; the current one before.
 */
/**
 * iommufd_vfio_compat_ioas_get() - the compat IOAS, optionally created
 * @ictx: the context
 * @flags: IOMMUFD_COMPAT_IOAS_CREATE: create it when there is none
 *
 * Context: Process context.
 * Return: the IOAS, held (iommufd_obj_unref()); ERR_PTR(-ENODEV) when
 * there is none and @flags has no IOMMUFD_COMPAT_IOAS_CREATE;
 * ERR_PTR(-EPERM) to create one in a no-IOMMU container; or another
 * ERR_PTR().
 */
struct iommufd_ioas *iommufd_vfio_compat_ioas_get(struct iommufd_ctx *ictx,
						  unsigned int flags)
{
	struct iommufd_ioas *ioas;

	mutex_lock(&ictx->lock);
	if (ictx->compat_ioas) {
		/* Still valid: its destroy clears the pointer under the lock */
		ioas = iommufd_ioas_lookup(ictx, ictx->compat_ioas->base.nr);
		goto out_unlock;
	}
	if (!(flags & IOMMUFD_COMPAT_IOAS_CREATE)) {
		ioas = ERR_PTR(-ENODEV);
		goto out_unlock;
	}
	/* A no-IOMMU container takes no translated devices */
	if (ictx->vfio_no_iommu) {
		ioas = ERR_PTR(-EPERM);
		goto out_unlock;
	}
	ioas = iommufd_ioas_create(ictx);
	if (IS_ERR(ioas))
		goto out_unlock;
	/* The caller's hold, on top of the table's */
	refcount_inc(&ioas->base.refcnt);
	iommufd_object_publish(ictx, &ioas->base);
	ictx->compat_ioas = ioas;
out_unlock:
	mutex_unlock(&ictx->lock);
	return ioas;
}

int iommufd_vfio_ioas(struct iommufd_call *call)
{
	struct iommu_vfio_ioas *cmd = call->kbuf;
	struct iommufd_ctx *ictx = call->ctx;
	struct iommufd_ioas *ioas;
	int ret = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		ioas = iommufd_vfio_compat_ioas_get(ictx, 0);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		cmd->ioas_id = ioas->base.nr;
		iommufd_obj_unref(ictx, &ioas->base);
		return iommufd_call_reply(call, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_ioas_lookup(ictx, cmd->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		mutex_lock(&ictx->lock);
		ictx->compat_ioas = ioas;
		mutex_unlock(&ictx->lock);
		iommufd_obj_unref(ictx, &ioas->base);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		mutex_lock(&ictx->lock);
		ictx->compat_ioas = NULL;
		mutex_unlock(&ictx->lock);
		return ret;
	default:
		return -EOPNOTSUPP;
	}
}

static unsigned int container_dma_limit(struct iommufd_ctx *ictx)
{
	return READ_ONCE(ictx->vfio_dma_limit) ?: READ_ONCE(dma_entry_limit);
}

/*
 * Every automatic HWPT of the container enforces coherent DMA, and there is
 * one at least (type1 asks its domains, which exist from VFIO_SET_IOMMU;
 * ours exist once a device opened).
 */
static bool container_coherent(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas = iommufd_vfio_compat_ioas_get(ictx, 0);
	struct iommufd_hwpt_paging *paging;
	bool coherent;

	if (IS_ERR(ioas))
		return false;
	mutex_lock(&ioas->mutex);
	coherent = !list_empty(&ioas->auto_hwpts);
	list_for_each_entry(paging, &ioas->auto_hwpts, auto_item)
		coherent &= paging->coherent_dma;
	mutex_unlock(&ioas->mutex);
	iommufd_obj_unref(ictx, &ioas->base);
	return coherent;
}

/*
 * What a container offers.  /dev/iommu answers the same at any time.  On
 * /dev/vfio/vfio the answer follows the container's state as VFIO's own
 * does: a no-IOMMU container offers that type only; otherwise the type1
 * family is offered, and address updates and cache coherency once a type
 * is chosen.
 */
static int container_check_extension(struct iommufd_ctx *ictx,
				     unsigned long type)
{
	bool node = ictx->vfio_node;

	if (node && READ_ONCE(ictx->vfio_no_iommu))
		return type == VFIO_NOIOMMU_IOMMU;
	switch (type) {
	case VFIO_TYPE1_IOMMU:
	case VFIO_TYPE1v2_IOMMU:
	case VFIO_UNMAP_ALL:
		return 1;
	case VFIO_TYPE1_NESTING_IOMMU:
		/* Offered, as type1 does; choosing it fails (ENODEV) */
		return node;
	case VFIO_UPDATE_VADDR:
		return !node || READ_ONCE(ictx->vfio_type);
	case VFIO_DMA_CC_IOMMU:
		return node && READ_ONCE(ictx->vfio_type) &&
		       container_coherent(ictx);
	case VFIO_NOIOMMU_IOMMU:
		/* Not once a translated group joined */
		if (node && iommufd_vfio_compat_ioas_get_id(ictx, &(u32){ 0 }) == 0)
			return 0;
		return IS_ENABLED(CONFIG_VFIO_NOIOMMU);
	default:
		return 0;
	}
}

/*
 * The smallest IO page of the container: on /dev/vfio/vfio, type1 refuses
 * a map or an unmap that is not aligned to it (EINVAL) before it looks at
 * anything else.  /dev/iommu keeps 6.12's order: an iova or size of
 * ULONG_MAX or more is EOVERFLOW first, alignment is the IOAS's to judge.
 */
static int container_check_aligned(struct iommufd_ctx *ictx, u64 iova,
				   u64 size, u64 vaddr)
{
	struct iommufd_ioas *ioas;
	unsigned long sizes;

	if (!ictx->vfio_node)
		return iova >= ULONG_MAX || size >= ULONG_MAX ? -EOVERFLOW : 0;
	ioas = iommufd_vfio_compat_ioas_get(ictx, 0);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	sizes = iopt_page_sizes(&ioas->table);
	iommufd_obj_unref(ictx, &ioas->base);
	return (iova | size | vaddr) & ((sizes & -sizes) - 1) ? -EINVAL : 0;
}

/*
 * On /dev/vfio/vfio the type is chosen once, after a group joined, as in
 * type1: EINVAL before the first group and for a second choice, ENODEV for
 * a type no driver offers.  /dev/iommu keeps 6.12's looser rule (any
 * number of choices, EINVAL for an unknown type).
 */
static int container_choose_type(struct iommufd_ctx *ictx,
				 unsigned long type)
{
	struct iommufd_ioas *ioas;
	int ret = 0;

	lockdep_assert_held(&ictx->vfio_map_lock);
	if (ictx->vfio_node && ictx->vfio_type)
		return -EINVAL;
	if (READ_ONCE(ictx->vfio_no_iommu)) {
		if (type != VFIO_NOIOMMU_IOMMU)
			return ictx->vfio_node ? -ENODEV : -EINVAL;
		if (!capable(CAP_SYS_RAWIO))
			return -EPERM;
		WRITE_ONCE(ictx->vfio_type, type);
		return 0;
	}
	ioas = iommufd_vfio_compat_ioas_get(ictx, 0);
	if (IS_ERR(ioas))
		return ictx->vfio_node ? -EINVAL : PTR_ERR(ioas);
	switch (type) {
	case VFIO_TYPE1v2_IOMMU:
		break;
	case VFIO_TYPE1_IOMMU:
		/* v1 knows no large IOPTEs */
		ret = iopt_set_large_pages(&ioas->table, false);
		break;
	default:
		ret = ictx->vfio_node ? -ENODEV : -EINVAL;
		break;
	}
	if (!ret) {
		WRITE_ONCE(ictx->vfio_dma_limit, READ_ONCE(dma_entry_limit));
		WRITE_ONCE(ictx->vfio_type, type);
	}
	iommufd_obj_unref(ictx, &ioas->base);
	return ret;
}

static int container_set_iommu(struct iommufd_ctx *ictx, unsigned long type)
{
	int ret;

	mutex_lock(&ictx->vfio_map_lock);
	ret = container_choose_type(ictx, type);
	mutex_unlock(&ictx->vfio_map_lock);
	return ret;
}

/**
 * iommufd_vfio_compat_iommu_chosen() - may the container's devices open
 * @ictx: the context a VFIO group joined
 *
 * A /dev/vfio/vfio container lets its groups' devices open only once
 * VFIO_SET_IOMMU chose an IOMMU type, as VFIO's own container does; a
 * /dev/iommu context given to a group needs no choice.
 *
 * Context: Process context.
 * Return: true if a device of a group of @ictx may be opened.
 */
bool iommufd_vfio_compat_iommu_chosen(struct iommufd_ctx *ictx)
{
	return !ictx->vfio_node || READ_ONCE(ictx->vfio_type);
}
EXPORT_SYMBOL_NS_GPL(iommufd_vfio_compat_iommu_chosen, IOMMUFD_VFIO);

/* A v1 container: PAGE_SIZE IOPTEs, unmaps that cut, no dirty tracking */
static bool container_is_v1(struct iommufd_ctx *ictx)
{
	return READ_ONCE(ictx->vfio_type) == VFIO_TYPE1_IOMMU;
}

/* The only page size type1 reports dirty pages in: the smallest IO page */
static unsigned long container_dirty_pgsize(struct iommufd_ioas *ioas)
{
	unsigned long sizes = iopt_page_sizes(&ioas->table);

	return sizes & -sizes;
}

/* Check a user bitmap as type1 does: the right page size, room enough */
static int container_check_bitmap(struct iommufd_ioas *ioas,
				  const struct vfio_bitmap *bitmap,
				     u64 iova, u64 size)
{
	unsigned long pgsize = container_dirty_pgsize(ioas);
	u64 npages;

	if (!pgsize || bitmap->pgsize != pgsize)
		return -EINVAL;
	if (!size || (iova | size) & (pgsize - 1))
		return -EINVAL;
	npages = size / pgsize;
	if (npages > IOMMUFD_VFIO_DIRTY_PAGES_MAX ||
	    bitmap->size < ALIGN(npages, BITS_PER_TYPE(u64)) / BITS_PER_BYTE)
		return -EINVAL;
	return 0;
}

struct iommufd_vfio_dirty_read {
	struct iommufd_ioas *ioas;
	u64 iova;
	u64 size;
	u64 pgsize;
	u64 __user *data;
};

static int container_read_domain(struct iommu_domain *domain, void *arg)
{
	struct iommufd_vfio_dirty_read *rd = arg;

	return iopt_dirty_collect(&rd->ioas->table, domain, 0, rd->iova,
					 rd->size, rd->pgsize, rd->data);
}

/*
 * Report the dirty pages of a range: the IOMMU's bits OR-ed over every
 * domain if all track, else every mapped page.  Under ioas->mutex.
 */
static int container_read_dirty(struct iommufd_ioas *ioas, u64 iova,
				u64 size, const struct vfio_bitmap *bitmap)
{
	struct iommufd_vfio_dirty_read rd = {
		.ioas = ioas, .iova = iova, .size = size,
		.pgsize = bitmap->pgsize, .data = bitmap->data,
	};
	int ret;

	lockdep_assert_held(&ioas->mutex);
	if (!ioas->vfio_dirty_tracking)
		return -EINVAL;
	if (!iopt_range_on_area_edges(&ioas->table, iova, iova + size - 1))
		return -EINVAL;
	ret = iopt_walk_dirty_domains(&ioas->table, true,
				      container_read_domain, &rd);
	if (ret == -EOPNOTSUPP)
		ret = iopt_mark_mapped_dirty(&ioas->table, iova, size,
					     bitmap->pgsize, bitmap->data);
	return ret;
}

static int container_track_domain(struct iommu_domain *domain, void *arg)
{
	struct iommufd_ioas *ioas = arg;

	return iopt_dirty_track(&ioas->table, domain,
				       ioas->vfio_dirty_tracking);
}

/* START or STOP: every domain that can track follows; under ioas->mutex */
static int container_set_tracking(struct iommufd_ioas *ioas, bool on)
{
	int ret;

	lockdep_assert_held(&ioas->mutex);
	if (ioas->vfio_dirty_tracking == on)
		return 0;
	ioas->vfio_dirty_tracking = on;
	ret = iopt_walk_dirty_domains(&ioas->table, false,
				      container_track_domain, ioas);
	if (ret && on) {
		ioas->vfio_dirty_tracking = false;
		iopt_walk_dirty_domains(&ioas->table, false,
					container_track_domain, ioas);
	}
	return ret;
}

static int container_dirty_pages(struct iommufd_ctx *ictx,
				 void __user *arg)
{
	const size_t minsz =
		offsetofend(struct vfio_iommu_type1_dirty_bitmap, flags);
	const u32 valid = VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
			  VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP |
			  VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	struct vfio_iommu_type1_dirty_bitmap_get range;
	struct vfio_iommu_type1_dirty_bitmap dirty;
	struct iommufd_ioas *ioas;
	int ret;

	/* Like type1, only a v2 container tracks dirty pages: asked first */
	if (container_is_v1(ictx))
		return -EACCES;
	if (copy_from_user(&dirty, arg, minsz))
		return -EFAULT;
	if (dirty.argsz < minsz || (dirty.flags & ~valid) ||
	    hweight32(dirty.flags) != 1)
		return -EINVAL;
	if (dirty.flags & VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP) {
		if (dirty.argsz < minsz + sizeof(range))
			return -EINVAL;
		if (copy_from_user(&range, arg + minsz, sizeof(range)))
			return -EFAULT;
		if (range.iova + range.size < range.iova)
			return -EINVAL;
	}

	ioas = iommufd_vfio_compat_ioas_get(ictx, 0);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	mutex_lock(&ioas->mutex);
	switch (dirty.flags) {
	case VFIO_IOMMU_DIRTY_PAGES_FLAG_START:
		ret = container_set_tracking(ioas, true);
		break;
	case VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP:
		ret = container_set_tracking(ioas, false);
		break;
	default:
		ret = container_check_bitmap(ioas, &range.bitmap,
					     range.iova, range.size);
		if (!ret)
			ret = container_read_dirty(ioas, range.iova,
						   range.size,
						      &range.bitmap);
		break;
	}
	mutex_unlock(&ioas->mutex);
	iommufd_obj_unref(ictx, &ioas->base);
	return ret;
}

/*
 * The checks of a map's arguments, in type1's order: the flags (protection
 * for a map, none for VFIO_DMA_MAP_FLAG_VADDR), then size and alignment to
 * the smallest IO page, then wraps: a user range that wraps is EINVAL, an
 * IOVA range past the top EOVERFLOW (our rule, see the documentation).
 */
static int container_check_map(struct iommufd_ctx *ictx,
			       const struct vfio_iommu_type1_dma_map *map,
			       int prot)
{
	bool update = map->flags & VFIO_DMA_MAP_FLAG_VADDR;
	u64 last;
	int ret;

	if (!prot == !update)
		return -EINVAL;
	if (!map->size)
		return -EINVAL;
	ret = container_check_aligned(ictx, map->iova, map->size, map->vaddr);
	if (ret)
		return ret;
	if (check_add_overflow(map->vaddr, map->size - 1, &last))
		return -EINVAL;
	if (check_add_overflow(map->iova, map->size - 1, &last))
		return -EOVERFLOW;
	return 0;
}

/*
 * VFIO_DMA_MAP_FLAG_VADDR: the new user address of a mapping whose address
 * was invalidated; iova and size name the whole mapping (ENOENT if nothing
 * is mapped there).
 */
static int container_update_vaddr(struct iommufd_ctx *ictx,
				  const struct vfio_iommu_type1_dma_map *map)
{
	struct iommufd_ioas *ioas;
	int ret;

	ioas = iommufd_vfio_compat_ioas_get(ictx, 0);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	ret = iopt_update_vaddr(&ioas->table, map->iova, map->size, map->vaddr,
				ictx->charge_mode);
	iommufd_obj_unref(ictx, &ioas->base);
	return ret;
}

static int container_map_dma(struct iommufd_ctx *ictx, void __user *arg)
{
	const size_t minsz = offsetofend(struct vfio_iommu_type1_dma_map, size);
	struct vfio_iommu_type1_dma_map map;
	struct iommufd_ioas *ioas;
	unsigned long iova;
	int prot = 0, ret;

	if (copy_from_user(&map, arg, minsz))
		return -EFAULT;
	if (map.argsz < minsz ||
	    (map.flags & ~(VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE |
			   VFIO_DMA_MAP_FLAG_VADDR)))
		return -EINVAL;
	if (map.flags & VFIO_DMA_MAP_FLAG_READ)
		prot |= IOMMU_READ;
	if (map.flags & VFIO_DMA_MAP_FLAG_WRITE)
		prot |= IOMMU_WRITE;
	ret = container_check_map(ictx, &map, prot);
	if (ret)
		return ret;
	if (map.flags & VFIO_DMA_MAP_FLAG_VADDR)
		return container_update_vaddr(ictx, &map);

	ioas = iommufd_vfio_compat_ioas_get(ictx, 0);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	iova = map.iova;
	/* type1's order: a mapping in the way, then the limit, then the rest */
	mutex_lock(&ictx->vfio_map_lock);
	if (iopt_range_mapped(&ioas->table, map.iova,
			      map.iova + map.size - 1))
		ret = -EEXIST;
	else if (iopt_count_areas(&ioas->table) >= container_dma_limit(ictx))
		ret = -ENOSPC;
	else
		ret = iopt_map_user(&ioas->table, &iova,
				    u64_to_user_ptr(map.vaddr), map.size, prot,
				    IOPT_MAP_FIXED_IOVA | IOPT_MAP_PFNMAP,
				    ictx->charge_mode);
	mutex_unlock(&ictx->vfio_map_lock);
	iommufd_obj_unref(ictx, &ioas->base);
	return ret;
}

static int container_unmap_dma(struct iommufd_ctx *ictx, void __user *arg)
{
	const size_t minsz =
		offsetofend(struct vfio_iommu_type1_dma_unmap, size);
	struct vfio_iommu_type1_dma_unmap unmap;
	unsigned long unmapped = 0, first = 0, last = ULONG_MAX;
	struct vfio_bitmap bitmap;
	struct iommufd_ioas *ioas;
	unsigned int flags;
	int ret;

	if (copy_from_user(&unmap, arg, minsz))
		return -EFAULT;
	if (unmap.argsz < minsz ||
	    (unmap.flags & ~(VFIO_DMA_UNMAP_FLAG_ALL |
			     VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP |
			     VFIO_DMA_UNMAP_FLAG_VADDR)))
		return -EINVAL;
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
		if ((unmap.flags & (VFIO_DMA_UNMAP_FLAG_ALL |
				    VFIO_DMA_UNMAP_FLAG_VADDR)) ||
		    unmap.argsz < minsz + sizeof(bitmap))
			return -EINVAL;
		if (copy_from_user(&bitmap, arg + minsz, sizeof(bitmap)))
			return -EFAULT;
	}
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_ALL) {
		if (unmap.iova || unmap.size)
			return -EINVAL;
	} else {
		if (!unmap.size)
			return -EINVAL;
		/* Aligned to the smallest IO page, as type1 wants */
		ret = container_check_aligned(ictx, unmap.iova, unmap.size, 0);
		if (ret)
			return ret;
		/* As for MAP_DMA: a range past the address space overflows */
		if (check_add_overflow((unsigned long)unmap.iova,
				       (unsigned long)unmap.size - 1, &last))
			return -EOVERFLOW;
		first = unmap.iova;
	}

	ioas = iommufd_vfio_compat_ioas_get(ictx, 0);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) {
		/* What the devices wrote, read before the pages go */
		mutex_lock(&ioas->mutex);
		ret = container_check_bitmap(ioas, &bitmap, unmap.iova,
					     unmap.size);
		if (!ret)
			ret = container_read_dirty(ioas, unmap.iova,
						   unmap.size, &bitmap);
		mutex_unlock(&ioas->mutex);
		if (ret)
			goto out_put;
	}
	if (unmap.flags & VFIO_DMA_UNMAP_FLAG_VADDR) {
		/* Nothing is unmapped: the mappings lose their address */
		ret = iopt_invalidate_vaddr(&ioas->table, first, last,
					    &unmapped);
		goto out_put;
	}
	/*
	 * Unlike IOMMU_IOAS_UNMAP, type1 finds nothing to unmap a success, and
	 * v1 cuts the mappings that cross either end.
	 */
	flags = IOPT_UNMAP_ALLOW_EMPTY;
	if (container_is_v1(ictx))
		flags |= IOPT_UNMAP_CUT;
	ret = iopt_unmap_range(&ioas->table, first, last, &unmapped, flags);
out_put:
	iommufd_obj_unref(ictx, &ioas->base);
	if (ret)
		return ret;
	unmap.size = unmapped;
	return copy_to_user(arg + offsetof(typeof(unmap), size), &unmap.size,
			    sizeof(unmap.size)) ? -EFAULT : 0;
}

/*
 * VFIO_IOMMU_GET_INFO's capability chain, built in a kernel buffer in the
 * order and layout type1 gives it: the migration capability, the number
 * of mappings still allowed, then the usable IOVA ranges, each capability
 * padded to 8 bytes.
 */
#define CONTAINER_CAP_MIGRATION_LEN                                         \
	ALIGN(sizeof(struct vfio_iommu_type1_info_cap_migration), 8)
#define CONTAINER_CAP_AVAIL_LEN                                             \
	ALIGN(sizeof(struct vfio_iommu_type1_info_dma_avail), 8)

struct iommufd_vfio_caps {
	struct vfio_iommu_type1_info_cap_iova_range *ranges;
	u32 nr;
	u32 room;
};

static int container_add_range(unsigned long start, unsigned long last,
			       void *arg)
{
	struct iommufd_vfio_caps *caps = arg;

	if (caps->nr < caps->room) {
		caps->ranges->iova_ranges[caps->nr].start = start;
		caps->ranges->iova_ranges[caps->nr].end = last;
	}
	caps->nr++;
	return 0;
}

/* The chain for @ioas into a new buffer of *@len bytes; NULL if no memory */
static void *container_build_chain(struct iommufd_ctx *ictx,
				   struct iommufd_ioas *ioas, size_t *len)
{
	const size_t ranges_at = CONTAINER_CAP_MIGRATION_LEN +
				 CONTAINER_CAP_AVAIL_LEN;
	const size_t info_len = sizeof(struct vfio_iommu_type1_info);
	struct vfio_iommu_type1_info_cap_migration *migration;
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct iommufd_vfio_caps caps = {};
	unsigned long nareas, limit;
	void *chain = NULL;

	/* Count the ranges, then fill them; they may change in between */
	do {
		caps.room = caps.nr;
		caps.nr = 0;
		kfree(chain);
		*len = ranges_at + struct_size(caps.ranges, iova_ranges,
					       caps.room);
		chain = kzalloc(*len, GFP_KERNEL_ACCOUNT);
		if (!chain)
			return NULL;
		caps.ranges = chain + ranges_at;
		iopt_walk_usable(&ioas->table, container_add_range, &caps);
	} while (caps.nr != caps.room);

	migration = chain;
	migration->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION;
	migration->header.version = 1;
	migration->header.next = info_len + CONTAINER_CAP_MIGRATION_LEN;
	migration->pgsize_bitmap = container_dirty_pgsize(ioas);
	migration->max_dirty_bitmap_size = IOMMUFD_VFIO_DIRTY_BITMAP_MAX;

	avail = chain + CONTAINER_CAP_MIGRATION_LEN;
	avail->header.id = VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL;
	avail->header.version = 1;
	avail->header.next = info_len + ranges_at;
	nareas = iopt_count_areas(&ioas->table);
	limit = container_dma_limit(ictx);
	avail->avail = nareas < limit ? limit - nareas : 0;

	caps.ranges->header.id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
	caps.ranges->header.version = 1;
	caps.ranges->nr_iovas = caps.nr;
	return chain;
}

/*
 * Of the caller's struct, exactly min(argsz, sizeof(info)) bytes are
 * written, every one of them set here; the chain follows the struct when
 * argsz leaves room for it, and otherwise argsz says what it needs.
 */
static int container_get_info(struct iommufd_ctx *ictx, void __user *arg)
{
	const size_t minsz =
		offsetofend(struct vfio_iommu_type1_info, iova_pgsizes);
	struct vfio_iommu_type1_info info;
	struct iommufd_ioas *ioas;
	size_t chain_len, reply_len;
	void *chain;
	int ret = 0;

	if (copy_from_user(&info, arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	reply_len = min_t(size_t, info.argsz, sizeof(info));
	ioas = iommufd_vfio_compat_ioas_get(ictx, 0);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	chain = container_build_chain(ictx, ioas, &chain_len);
	if (!chain) {
		ret = -ENOMEM;
		goto out_put;
	}

	info.flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
	info.iova_pgsizes = iopt_page_sizes(&ioas->table);
	info.cap_offset = 0;
	info.pad = 0;
	if (info.argsz < sizeof(info) + chain_len) {
		info.argsz = sizeof(info) + chain_len;
	} else {
		info.cap_offset = sizeof(info);
		if (copy_to_user(arg + sizeof(info), chain, chain_len))
			ret = -EFAULT;
	}
	if (!ret && copy_to_user(arg, &info, reply_len))
		ret = -EFAULT;
	kfree(chain);
out_put:
	iommufd_obj_unref(ictx, &ioas->base);
	return ret;
}

/**
 * iommufd_container_ioctl() - a VFIO container ioctl on an iommufd file
 * @ictx: the context
 * @cmd: the ioctl number
 * @arg: its argument
 *
 * Context: Process context.
 * Every type1 ioctl checks its argument first (EINVAL), then needs a
 * compat IOAS (ENODEV).
 *
 * Return: the ioctl's result; -ENOTTY for what the emulation lacks.
 */
long iommufd_container_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			     unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	bool maps = cmd == VFIO_IOMMU_GET_INFO || cmd == VFIO_IOMMU_MAP_DMA ||
		    cmd == VFIO_IOMMU_UNMAP_DMA || cmd == VFIO_IOMMU_DIRTY_PAGES;

	/*
	 * Until VFIO_SET_IOMMU chose a type, a /dev/vfio/vfio container knows
	 * only its version, its extensions and that choice, as VFIO's own.
	 */
	if (ictx->vfio_node && !READ_ONCE(ictx->vfio_type) &&
	    cmd != VFIO_GET_API_VERSION && cmd != VFIO_CHECK_EXTENSION &&
	    cmd != VFIO_SET_IOMMU)
		return -EINVAL;
	/* A no-IOMMU container has no IOVA to map in, as in VFIO's own */
	if (maps && READ_ONCE(ictx->vfio_no_iommu))
		return -ENOTTY;
	switch (cmd) {
	case VFIO_IOMMU_MAP_DMA:
		return container_map_dma(ictx, uarg);
	case VFIO_IOMMU_UNMAP_DMA:
		return container_unmap_dma(ictx, uarg);
	case VFIO_IOMMU_GET_INFO:
		return container_get_info(ictx, uarg);
	case VFIO_IOMMU_DIRTY_PAGES:
		return container_dirty_pages(ictx, uarg);
	case VFIO_SET_IOMMU:
		return container_set_iommu(ictx, arg);
	case VFIO_CHECK_EXTENSION:
		return container_check_extension(ictx, arg);
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	default:
		return -ENOTTY;
	}
}
