// SPDX-License-Identifier: GPL-2.0-only
/*
 * The io_pagetable's IOVA space: which IOVA a mapping may use.
 *
 * Three interval trees decide it, all under iopt->tree_sem: the areas
 * (what is mapped), the reserved ranges (what the attached devices and
 * domains forbid: reserved regions, what lies outside an aperture) and the
 * allowed ranges (where user space lets automatic IOVA go; empty means
 * everywhere).  align_min is the smallest IO page of the attached
 * domains, PAGE_SIZE once an access pins pages, 1 with neither; every area
 * is aligned to it.  Automatic IOVA is never aligned to less than a page.
 */
#include <linux/iommu.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "io_pagetable.h"
#include "iommufd_private.h"

/* Is [start, last] clear of areas and reservations? */
static int iopt_check_free(struct io_pagetable *iopt, unsigned long start,
			   unsigned long last)
{
	if (interval_tree_iter_first(&iopt->resv_tree, start, last))
		return -EINVAL;
	if (iopt_area_first(iopt, start, last))
		return -EEXIST;
	return 0;
}

/* The alignment a domain needs: its smallest IO page */
unsigned long iopt_domain_alignment(struct iommu_domain *domain)
{
	return 1UL << __ffs(domain->pgsize_bitmap);
}

/* The alignment the attached domains and accesses need */
void iopt_update_alignment(struct io_pagetable *iopt)
{
	struct iommu_domain *domain;
	unsigned long index, align;

	lockdep_assert_held_write(&iopt->dom_sem);
	lockdep_assert_held_write(&iopt->tree_sem);
	align = iopt->page_accesses || iopt->small_pages_only ? PAGE_SIZE : 1;
	xa_for_each(&iopt->domains, index, domain)
		align = max(align, iopt_domain_alignment(domain));
	iopt->align_min = align;
}

/* Is every area aligned to @align, and its pages congruent? */
bool iopt_areas_aligned(struct io_pagetable *iopt, unsigned long align)
{
	struct iopt_area *area;

	lockdep_assert_held(&iopt->tree_sem);
	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		unsigned long uaddr = area->store->uva + area->pages_offset;

		if ((iopt_area_start(area) | iopt_area_size(area)) &
		    (align - 1))
			return false;
		if ((iopt_area_start(area) ^ uaddr) & (align - 1) &
		    (PAGE_SIZE - 1))
			return false;
	}
	return true;
}

/* The smallest x >= @start with x % @align == @phase; false on overflow */
static bool iopt_align_up(unsigned long start, unsigned long align,
			  unsigned long phase, unsigned long *x)
{
	unsigned long base = start - (start & (align - 1));

	if (check_add_overflow(base, phase, x))
		return false;
	if (*x < start && check_add_overflow(*x, align, x))
		return false;
	return true;
}

/* First fit of @length at @align/@phase inside [lo, hi] */
static bool iopt_find_hole(struct io_pagetable *iopt, unsigned long lo,
			   unsigned long hi, unsigned long length,
			   unsigned long align, unsigned long phase,
			   unsigned long *iova)
{
	unsigned long start = lo, last;

	for (;;) {
		struct interval_tree_node *block;

		if (!iopt_align_up(start, align, phase, &start) ||
		    check_add_overflow(start, length - 1, &last) || last > hi)
			return false;
		block = interval_tree_iter_first(&iopt->resv_tree, start,
						 last);
		if (!block)
			block = interval_tree_iter_first(&iopt->area_tree,
							 start, last);
		if (!block) {
			*iova = start;
			return true;
		}
		if (block->last == ULONG_MAX)
			return false;
		start = block->last + 1;
	}
}

/*
 * The largest alignment an IOVA is chosen with: a PMD, the largest page a
 * buffer of anonymous memory is likely to be made of (6.12's rule too).
 */
#ifdef CONFIG_TRANSPARENT_HUGEPAGE
#define IOPT_PICK_ALIGN_MAX HPAGE_PMD_SIZE
#else
#define IOPT_PICK_ALIGN_MAX PAGE_SIZE
#endif

/*
 * Choose an IOVA for @length bytes whose first byte sits at user address
 * (or page store address) @uptr.  The IOVA keeps @uptr's offset within a
 * page, so any IOMMU page size up to PAGE_SIZE can map it, and is aligned
 * like @length (rounded up to a power of two) and @uptr allow, up to
 * IOPT_PICK_ALIGN_MAX, so large IOPTEs can be used.  Allowed ranges are
 * honoured when set.  The first and the last page of the IOVA space are
 * never chosen, so no chosen IOVA is 0 and none ends at the top.
 *
 * The alignment never falls below PAGE_SIZE, even while no domain asks for
 * any: a page-aligned buffer gets a page-aligned IOVA and an unaligned one
 * an IOVA with the same offset in its page, or the mapping could not be
 * mapped by any IOMMU attached later (6.12 answers such a map ENOSPC).
 */
static int iopt_pick_iova(struct io_pagetable *iopt, unsigned long *iova,
			  unsigned long uptr, unsigned long length)
{
	const unsigned long lo = PAGE_SIZE, hi = ULONG_MAX - PAGE_SIZE;
	unsigned long sub = offset_in_page(uptr);
	unsigned long min_align = max(iopt->align_min, PAGE_SIZE);
	unsigned long align = min_align;
	struct interval_tree_node *allowed;

	lockdep_assert_held(&iopt->tree_sem);
	if (!length || length >= ULONG_MAX / 2)
		return -EOVERFLOW;
	/* As for a fixed IOVA, the domains' smallest IO page must fit */
	if ((sub | length) & (iopt->align_min - 1))
		return -EINVAL;
	if (!sub) {
		align = roundup_pow_of_two(length);
		if (uptr)
			align = min(align, 1UL << __ffs(uptr));
		align = max(min_t(unsigned long, align, IOPT_PICK_ALIGN_MAX),
			    min_align);
	}

	for (; align >= min_align; align /= 2) {
		unsigned long phase = sub & (align - 1);

		if (RB_EMPTY_ROOT(&iopt->allow_tree.rb_root)) {
			if (iopt_find_hole(iopt, lo, hi, length, align, phase,
					   iova))
				return 0;
			continue;
		}
		for (allowed = interval_tree_iter_first(&iopt->allow_tree, lo,
							hi);
		     allowed;
		     allowed = interval_tree_iter_next(allowed, lo, hi)) {
			if (iopt_find_hole(iopt, max(allowed->start, lo),
					   min(allowed->last, hi), length,
					   align, phase, iova))
				return 0;
		}
	}
	return -ENOSPC;
}

/* Validate a fixed IOVA range (IOPT_MAP_FIXED_IOVA), or choose one */
int iopt_place(struct io_pagetable *iopt, unsigned long *iova,
	       unsigned long uptr, unsigned long length,
		      unsigned int flags)
{
	unsigned long last;
	int ret;

	if (!(flags & IOPT_MAP_FIXED_IOVA))
		return iopt_pick_iova(iopt, iova, uptr, length);
	if ((*iova | length) & (iopt->align_min - 1))
		return -EINVAL;
	if (check_add_overflow(*iova, length - 1, &last))
		return -EOVERFLOW;
	ret = iopt_check_free(iopt, *iova, last);
	if (ret)
		return ret;
	/* The range is free: can its IO pages map the buffer's? */
	if ((*iova ^ uptr) & (iopt->align_min - 1))
		return -EINVAL;
	return 0;
}

/**
 * iopt_set_allowed() - replace the allowed ranges
 * @iopt: the IO address space
 * @allowed: a tree of struct iopt_resv nodes (owner unused); on
 *	success its nodes move into @iopt and the old ones into @allowed, for
 *	the caller to free
 *
 * Context: Process context.
 * Return: 0, or -EADDRINUSE if a new range intersects a reservation.
 */
int iopt_set_allowed(struct io_pagetable *iopt, struct rb_root_cached *allowed)
{
	struct interval_tree_node *node;
	struct rb_root_cached old;

	down_write(&iopt->tree_sem);
	for (node = interval_tree_iter_first(allowed, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (interval_tree_iter_first(&iopt->resv_tree,
					     node->start, node->last)) {
			up_write(&iopt->tree_sem);
			return -EADDRINUSE;
		}
	}
	old = iopt->allow_tree;
	iopt->allow_tree = *allowed;
	*allowed = old;
	up_write(&iopt->tree_sem);
	return 0;
}

static int iopt_reserve_locked(struct io_pagetable *iopt, unsigned long start,
			       unsigned long last, void *owner)
{
	lockdep_assert_held_write(&iopt->tree_sem);
	if (iopt_area_first(iopt, start, last) ||
	    interval_tree_iter_first(&iopt->allow_tree, start, last))
		return -EADDRINUSE;
	return iopt_add_range(&iopt->resv_tree, start, last, owner);
}

/**
 * iopt_reserve() - forbid mapping a range of IOVA
 * @iopt: the IO address space
 * @start: first IOVA
 * @last: last IOVA
 * @owner: identifies the reservation for iopt_unreserve()
 *
 * Context: Process context.
 * Return: 0; -EADDRINUSE if an area or an allowed range is in the way;
 * -ENOMEM.
 */
int iopt_reserve(struct io_pagetable *iopt, unsigned long start,
		 unsigned long last, void *owner)
{
	int ret;

	down_write(&iopt->tree_sem);
	ret = iopt_reserve_locked(iopt, start, last, owner);
	up_write(&iopt->tree_sem);
	return ret;
}

void iopt_unreserve_locked(struct io_pagetable *iopt, void *owner)
{
	struct interval_tree_node *node, *next;

	lockdep_assert_held_write(&iopt->tree_sem);
	for (node = interval_tree_iter_first(&iopt->resv_tree, 0,
					     ULONG_MAX);
	     node; node = next) {
		struct iopt_resv *res =
			container_of(node, struct iopt_resv, span);

		next = interval_tree_iter_next(node, 0, ULONG_MAX);
		if (res->tag != owner)
			continue;
		interval_tree_remove(node, &iopt->resv_tree);
		kfree(res);
	}
}

/**
 * iopt_unreserve() - remove every reservation of an owner
 * @iopt: the IO address space
 * @owner: as given to iopt_reserve()
 *
 * Context: Process context.
 */
void iopt_unreserve(struct io_pagetable *iopt, void *owner)
{
	down_write(&iopt->tree_sem);
	iopt_unreserve_locked(iopt, owner);
	up_write(&iopt->tree_sem);
}

/* Reserve all IOVA outside [start, last] for @owner */
int iopt_reserve_outside(struct io_pagetable *iopt, void *owner,
			 unsigned long start, unsigned long last)
{
	int ret = 0;

	if (start)
		ret = iopt_reserve_locked(iopt, 0, start - 1, owner);
	if (!ret && last != ULONG_MAX)
		ret = iopt_reserve_locked(iopt, last + 1, ULONG_MAX, owner);
	if (ret)
		iopt_unreserve_locked(iopt, owner);
	return ret;
}

/**
 * iopt_walk_usable() - call @fn for each usable range of IOVA
 * @iopt: the IO address space
 * @fn: called with each range, in order; a non-zero return stops the walk
 * @arg: passed to @fn
 *
 * The usable IOVA is all of it less every reservation: the attached
 * domains' apertures and the devices' reserved regions.  Allowed ranges
 * only steer automatic IOVA and are not reflected.
 *
 * Context: Process context; @fn runs under tree_sem held for read.
 * Return: 0, or what @fn returned to stop.
 */
int iopt_walk_usable(struct io_pagetable *iopt, iopt_range_fn_t fn,
		     void *arg)
{
	struct interval_tree_span_iter span;
	int ret = 0;

	down_read(&iopt->tree_sem);
	interval_tree_for_each_span(&span, &iopt->resv_tree, 0, ULONG_MAX) {
		if (!span.is_hole)
			continue;
		ret = fn(span.start_hole, span.last_hole, arg);
		if (ret)
			break;
	}
	up_read(&iopt->tree_sem);
	return ret;
}

struct iopt_range_report {
	struct iommu_iova_range __user *ranges;
	u32 room;
	u32 count;
};

/* Report one usable range; counts it even when there is no room left */
static int iopt_report_range(unsigned long start, unsigned long last,
			     void *arg)
{
	struct iommu_iova_range range = { .start = start, .last = last };
	struct iopt_range_report *report = arg;

	if (report->count < report->room &&
	    copy_to_user(&report->ranges[report->count], &range,
			 sizeof(range)))
		return -EFAULT;
	report->count++;
	return 0;
}

/**
 * iopt_usable_ranges() - report the usable IOVA to user space
 * @iopt: the IO address space
 * @ranges: user array
 * @num_ranges: in: room in @ranges; out: how many ranges there are
 *
 * As many ranges as fit are written; see iopt_walk_usable().
 *
 * Context: Process context.
 * Return: 0; -EMSGSIZE when not all ranges fit; -EFAULT.
 */
int iopt_usable_ranges(struct io_pagetable *iopt,
		       struct iommu_iova_range __user *ranges, u32 *num_ranges)
{
	struct iopt_range_report report = {
		.ranges = ranges, .room = *num_ranges,
	};
	int ret;

	ret = iopt_walk_usable(iopt, iopt_report_range, &report);
	*num_ranges = report.count;
	if (!ret && report.count > report.room)
		ret = -EMSGSIZE;
	return ret;
}

/**
 * iopt_page_sizes() - the IO page sizes every attached domain offers
 * @iopt: the IO address space
 *
 * Context: Process context.
 * Return: a bitmap of sizes; PAGE_SIZE and up when nothing is attached;
 * only the smallest when large pages are disabled.
 */
unsigned long iopt_page_sizes(struct io_pagetable *iopt)
{
	unsigned long sizes = ULONG_MAX, index;
	struct iommu_domain *domain;

	down_read(&iopt->dom_sem);
	xa_for_each(&iopt->domains, index, domain)
		sizes &= domain->pgsize_bitmap;
	if (xa_empty(&iopt->domains))
		sizes = PAGE_MASK;
	if (iopt->small_pages_only && sizes)
		sizes &= -sizes;
	up_read(&iopt->dom_sem);
	return sizes;
}

/**
 * iopt_add_range() - add [@start, @last] to a tree of struct iopt_resv
 * @root: the tree (reserved ranges, or allowed ranges being read)
 * @start: first IOVA
 * @last: last IOVA
 * @owner: the range's owner, or NULL
 *
 * The caller has checked the range against the tree's rules.
 *
 * Context: Process context.
 * Return: 0, or -ENOMEM.
 */
int iopt_add_range(struct rb_root_cached *root, unsigned long start,
		   unsigned long last, void *owner)
{
	struct iopt_resv *range = kzalloc(sizeof(*range),
					      GFP_KERNEL_ACCOUNT);

	if (!range)
		return -ENOMEM;
	range->span.start = start;
	range->span.last = last;
	range->tag = owner;
	interval_tree_insert(&range->span, root);
	return 0;
}

/**
 * iopt_free_ranges() - free a tree of struct iopt_resv nodes
 * @root: the tree; left empty
 *
 * Context: Any context that may free.
 */
void iopt_free_ranges(struct rb_root_cached *root)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(root, 0, ULONG_MAX))) {
		interval_tree_remove(node, root);
		kfree(container_of(node, struct iopt_resv, span));
	}
}
