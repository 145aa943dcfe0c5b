// SPDX-License-Identifier: GPL-2.0-only
/*
 * The io_pagetable's dirty tracking: starting and stopping it on a domain,
 * reading and clearing its dirty bits into a user bitmap, and what the
 * VFIO container needs of it (marking mapped IOVA dirty for domains that
 * cannot track, checking that a range has whole areas).
 */
#include <linux/iommu.h>
#include <linux/iova_bitmap.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/uaccess.h>

#include "io_pagetable.h"
#include "iommufd_private.h"

/*
 * Dirty tracking.  The domain's driver keeps the dirty bits; these walk
 * only the mapped areas, under tree_sem so that none is unmapped
 * meanwhile, and flush the IOTLB for whatever bits they cleared.
 */

/* Read (and clear, unless @flags say not) the dirty bits of a range */
static int iopt_read_dirty_range(struct io_pagetable *iopt,
				 struct iommu_domain *domain,
				 unsigned long flags, unsigned long start,
				 unsigned long last, struct iova_bitmap *bitmap)
{
	struct iommu_iotlb_gather gather;
	struct iommu_dirty_bitmap dirty;
	unsigned long from = start;
	struct iopt_area *area;
	int ret = 0;

	lockdep_assert_held(&iopt->tree_sem);
	iommu_dirty_bitmap_init(&dirty, bitmap, &gather);
	/* Only mapped IOVA has IOPTEs to read; holes are clean */
	while (!ret && from <= last &&
	       (area = iopt_area_first(iopt, from, last))) {
		unsigned long to = min(last, iopt_area_last(area));

		from = max(from, iopt_area_start(area));
		ret = domain->dirty_ops->read_and_clear_dirty(domain, from,
							      to - from + 1,
							      flags, &dirty);
		if (to == last)
			break;
		from = to + 1;
	}
	/* The cleared bits may be cached in the IOTLB */
	iommu_iotlb_sync(domain, &gather);
	return ret;
}

/**
 * iopt_dirty_track() - start or stop dirty tracking of a domain
 * @iopt: the IO address space @domain mirrors
 * @domain: the domain
 * @enable: start (true) or stop
 *
 * Starting first clears every dirty bit the domain still holds for the
 * mapped IOVA, so that the first read reports only what was written since.
 *
 * Context: Process context; sleeps.
 * Return: 0; -EOPNOTSUPP if the domain cannot track dirty IOVA; or the
 * driver's error.
 */
int iopt_dirty_track(struct io_pagetable *iopt,
		     struct iommu_domain *domain, bool enable)
{
	const struct iommu_dirty_ops *dops = domain->dirty_ops;
	int ret = 0;

	if (!dops)
		return -EOPNOTSUPP;
	/* No map or unmap may change what the clearing pass walks */
	down_read(&iopt->tree_sem);
	if (enable)
		ret = iopt_read_dirty_range(iopt, domain, 0, 0, ULONG_MAX,
					    NULL);
	if (!ret)
		ret = dops->set_dirty_tracking(domain, enable);
	up_read(&iopt->tree_sem);
	return ret;
}

struct iopt_dirty_walk {
	struct io_pagetable *iopt;
	struct iommu_domain *domain;
	unsigned long flags;
};

static int iopt_dirty_window(struct iova_bitmap *bitmap, unsigned long iova,
			     size_t length, void *opaque)
{
	struct iopt_dirty_walk *walk = opaque;

	return iopt_read_dirty_range(walk->iopt, walk->domain, walk->flags,
				     iova, iova + length - 1, bitmap);
}

/**
 * iopt_dirty_collect() - IOMMU_HWPT_GET_DIRTY_BITMAP's work
 * @iopt: the IO address space @domain mirrors
 * @domain: the domain
 * @flags: IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR or 0
 * @iova: first IOVA of the range
 * @length: bytes of the range
 * @page_size: the IOVA one bit of @data stands for
 * @data: the user's bitmap; bits are set for dirty IOVA, never cleared
 *
 * Any amount of IOVA can be read at once: the user bitmap is pinned a
 * window at a time (iova_bitmap), never copied whole.
 *
 * Context: Process context; sleeps.
 * Return: 0; -EOPNOTSUPP if the domain cannot track dirty IOVA; -EINVAL
 * for an empty range, a @page_size that is not a power of two, or a range
 * not aligned to @page_size and to the IOAS's IOVA alignment; -EOVERFLOW
 * if the range wraps; -EFAULT for a bad bitmap; or the driver's error.
 */
int iopt_dirty_collect(struct io_pagetable *iopt,
		       struct iommu_domain *domain, u32 flags, u64 iova,
			      u64 length, u64 page_size, u64 __user *data)
{
	struct iopt_dirty_walk walk = {
		.iopt = iopt,
		.domain = domain,
		.flags = flags & IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR ?
				 IOMMU_DIRTY_NO_CLEAR : 0,
	};
	struct iova_bitmap *bitmap;
	u64 last;
	int ret;

	if (!domain->dirty_ops)
		return -EOPNOTSUPP;
	if (!length || !page_size || !is_power_of_2(page_size))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last) || last > ULONG_MAX)
		return -EOVERFLOW;
	if ((iova | length) & (page_size - 1))
		return -EINVAL;

	bitmap = iova_bitmap_alloc(iova, length, page_size, data);
	if (IS_ERR(bitmap))
		return PTR_ERR(bitmap);
	down_read(&iopt->tree_sem);
	if ((iova | length) & (iopt->align_min - 1))
		ret = -EINVAL;
	else
		ret = iova_bitmap_for_each(bitmap, &walk, iopt_dirty_window);
	up_read(&iopt->tree_sem);
	iova_bitmap_free(bitmap);
	return ret;
}

static int iopt_mark_mapped_window(struct iova_bitmap *bitmap,
				   unsigned long iova, size_t length,
				   void *opaque)
{
	struct io_pagetable *iopt = opaque;
	unsigned long last = iova + length - 1;
	struct iopt_area *area;

	for (area = iopt_area_first(iopt, iova, last); area;
	     area = iopt_area_next(area, iova, last)) {
		unsigned long from = max(iova, iopt_area_start(area));
		unsigned long to = min(last, iopt_area_last(area));

		iova_bitmap_set(bitmap, from, to - from + 1);
	}
	return 0;
}

/**
 * iopt_mark_mapped_dirty() - report every mapped page of a range dirty
 * @iopt: the IO address space
 * @iova: first IOVA of the range
 * @length: bytes of the range; not 0
 * @page_size: the IOVA one bit of @data stands for; a power of two
 * @data: the user's bitmap
 *
 * VFIO type1's rule where nothing tracks what devices write: whatever a
 * device can reach may have been written.
 *
 * Context: Process context; sleeps.
 * Return: 0, or -EFAULT (or another errno) for a bad bitmap.
 */
int iopt_mark_mapped_dirty(struct io_pagetable *iopt, unsigned long iova,
			   unsigned long length, unsigned long page_size,
			   u64 __user *data)
{
	struct iova_bitmap *bitmap;
	int ret;

	bitmap = iova_bitmap_alloc(iova, length, page_size, data);
	if (IS_ERR(bitmap))
		return PTR_ERR(bitmap);
	down_read(&iopt->tree_sem);
	ret = iova_bitmap_for_each(bitmap, iopt, iopt_mark_mapped_window);
	up_read(&iopt->tree_sem);
	iova_bitmap_free(bitmap);
	return ret;
}

/**
 * iopt_range_on_area_edges() - does a range cut no area
 * @iopt: the IO address space
 * @first: first IOVA of the range
 * @last: last IOVA of the range
 *
 * Context: Process context.
 * Return: true if the areas holding @first and @last (if any) start at
 * @first and end at @last.
 */
bool iopt_range_on_area_edges(struct io_pagetable *iopt, unsigned long first,
			      unsigned long last)
{
	struct iopt_area *area;
	bool ret = true;

	down_read(&iopt->tree_sem);
	area = iopt_area_first(iopt, first, first);
	if (area && iopt_area_start(area) != first)
		ret = false;
	area = iopt_area_first(iopt, last, last);
	if (area && iopt_area_last(area) != last)
		ret = false;
	up_read(&iopt->tree_sem);
	return ret;
}

/**
 * iopt_walk_dirty_domains() - call a function on domains that track dirty
 * @iopt: the IO address space
 * @require_all: call nothing unless every domain can track dirty IOVA
 * @fn: called for each domain that can track dirty IOVA
 * @arg: passed to @fn
 *
 * Context: Process context; sleeps.  Holds dom_sem for read around
 * the calls, so no domain comes or goes meanwhile.
 * Return: the first error of @fn, or 0; with @require_all, -EOPNOTSUPP
 * when there is no domain or one cannot track dirty IOVA.
 */
int iopt_walk_dirty_domains(struct io_pagetable *iopt, bool require_all,
			    int (*fn)(struct iommu_domain *domain, void *arg),
			    void *arg)
{
	struct iommu_domain *domain;
	unsigned long index;
	int ret = 0;

	down_read(&iopt->dom_sem);
	if (require_all) {
		if (xa_empty(&iopt->domains))
			ret = -EOPNOTSUPP;
		xa_for_each(&iopt->domains, index, domain) {
			if (!domain->dirty_ops)
				ret = -EOPNOTSUPP;
		}
	}
	xa_for_each(&iopt->domains, index, domain) {
		if (ret)
			break;
		if (domain->dirty_ops)
			ret = fn(domain, arg);
	}
	up_read(&iopt->dom_sem);
	return ret;
}
