// SPDX-License-Identifier: GPL-2.0-only
/*
 * The io_pagetable: areas of IOVA over page stores, kept in every attached
 * IOMMU domain.  The locking rules and invariants are in io_pagetable.h.
 *
 * Mapping into a domain walks the page store's PFNs and hands each run of
 * physically contiguous pages to iommu_map() in one call, so huge pages and
 * contiguous memory become large IOPTEs.  Unmapping needs no PFNs at all:
 * the page store knows what to unpin.
 */
#include <linux/fs.h>
#include <linux/atomic.h>
#include <linux/iommu.h>
#include <linux/iova_bitmap.h>
#include <linux/log2.h>
#include <linux/overflow.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "io_pagetable.h"
#include "iommufd_private.h"

/*
 * Where accesses wait for VFIO_DMA_MAP_FLAG_VADDR (see iopt_wait_vaddr());
 * the generation counts the updates and unmaps that may end a wait.
 */
static DECLARE_WAIT_QUEUE_HEAD(iopt_vaddr_wait);
static atomic_t iopt_vaddr_gen = ATOMIC_INIT(0);

static void iopt_vaddr_wake(void)
{
	atomic_inc(&iopt_vaddr_gen);
	wake_up_all(&iopt_vaddr_wait);
}

void iopt_init(struct io_pagetable *iopt)
{
	init_rwsem(&iopt->domains_rwsem);
	init_rwsem(&iopt->iova_rwsem);
	xa_init_flags(&iopt->domains, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	xa_init_flags(&iopt->accesses, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	iopt->area_itree = RB_ROOT_CACHED;
	iopt->allowed_itree = RB_ROOT_CACHED;
	iopt->reserved_itree = RB_ROOT_CACHED;
	iopt->iova_alignment = 1;
}

/* Page index range of the page store that @area maps */
static unsigned long iopt_area_first_index(struct iopt_area *area)
{
	return area->pages_offset >> PAGE_SHIFT;
}

static unsigned long iopt_area_last_index(struct iopt_area *area)
{
	return (area->pages_offset + iopt_area_length(area) - 1) >> PAGE_SHIFT;
}

/* Runs handed to iommu_map_sg() at once: one IOTLB sync per batch */
#define IOPT_MAP_STACK_BATCH 8
#define IOPT_MAP_BATCH 256
/* The longest run one scatterlist entry describes */
#define IOPT_MAP_MAX_RUN SZ_1G

/*
 * The next run of the area from byte @offset: bytes that are physically
 * contiguous, all pinned pages or all of a PFN mapping (see
 * iopt_pages_run()), ending no later than @end.
 */
static unsigned long iopt_area_run(struct iopt_area *area,
				   unsigned long offset, unsigned long end)
{
	unsigned long index = offset >> PAGE_SHIFT;
	unsigned long head = PAGE_SIZE - offset_in_page(offset);
	unsigned long npages;

	if (end - offset <= head)
		return end - offset;
	npages = min(1 + DIV_ROUND_UP(end - offset - head, PAGE_SIZE),
		     IOPT_MAP_MAX_RUN / PAGE_SIZE);
	npages = iopt_pages_run(area->pages, index, npages);
	return min(head + (npages - 1) * PAGE_SIZE, end - offset);
}

/* Is the run at byte @offset of the area a PFN mapping (no struct page)? */
static bool iopt_area_run_is_pfnmap(struct iopt_area *area,
				    unsigned long offset)
{
	unsigned long *pfnmap = area->pages->pfnmap;

	return pfnmap && test_bit(offset >> PAGE_SHIFT, pfnmap);
}

/*
 * Large pages disabled: let @domain offer only its smallest page size (and
 * any below PAGE_SIZE).  iommu_map_sg() then writes a long run as
 * PAGE_SIZE IOPTEs in one call with one IOTLB sync, where mapping page by
 * page would sync once per page.  A paging domain belongs to one
 * io_pagetable only, its HWPT's, so the restriction reaches nobody else.
 * It is never lifted: a domain restricted once keeps small IOPTEs even if
 * large pages are allowed again, which costs speed, never correctness.
 */
static void iopt_domain_restrict_sizes(struct iommu_domain *domain)
{
	unsigned long small = domain->pgsize_bitmap & (PAGE_SIZE | (PAGE_SIZE - 1));

	domain->pgsize_bitmap = small ?: domain->pgsize_bitmap &
					 -domain->pgsize_bitmap;
}

/*
 * Map a populated area into @domain.  Physically contiguous pages become
 * one run, so huge pages and contiguous memory get large IOPTEs (unless
 * the domain's sizes were restricted, see iopt_domain_restrict_sizes()),
 * and the runs go to the IOMMU in batches with one IOTLB sync each instead
 * of one per run.  Small areas use a batch on the stack; a larger batch is
 * allocated only when an area has more runs (and its allocation failing
 * only means smaller batches).
 */
static int iopt_area_map_domain(struct iopt_area *area,
				struct iommu_domain *domain)
{
	struct scatterlist stack_sgl[IOPT_MAP_STACK_BATCH];
	struct scatterlist *sgl = stack_sgl, *heap_sgl = NULL;
	unsigned int cap = ARRAY_SIZE(stack_sgl);
	unsigned long offset = area->pages_offset;
	unsigned long end = offset + iopt_area_length(area);
	unsigned long iova = iopt_area_start(area);
	struct iopt_pages *pages = area->pages;
	int ret = 0;

	while (offset != end) {
		unsigned long batch = 0;
		unsigned int n = 0;
		ssize_t mapped;

		if (sgl == stack_sgl && offset != area->pages_offset) {
			/* No more entries than pages left to map */
			unsigned int want = min_t(unsigned long, IOPT_MAP_BATCH,
						  DIV_ROUND_UP(end - offset,
							       PAGE_SIZE) + 1);

			heap_sgl = kmalloc_array(want, sizeof(*sgl),
						 GFP_KERNEL_ACCOUNT |
							 __GFP_NOWARN);
			if (heap_sgl) {
				sgl = heap_sgl;
				cap = want;
			}
		}
		/*
		 * A PFN mapping has no struct page for a scatterlist: it is
		 * mapped on its own, as MMIO, and ends the batch before it.
		 */
		if (iopt_area_run_is_pfnmap(area, offset)) {
			unsigned long pfn = iopt_pages_pfn(pages,
							   offset >> PAGE_SHIFT);

			batch = iopt_area_run(area, offset, end);
			ret = iommu_map(domain, iova,
					PFN_PHYS(pfn) + offset_in_page(offset),
					batch, area->iommu_prot | IOMMU_MMIO,
					GFP_KERNEL_ACCOUNT);
			if (ret)
				goto err_unmap;
			offset += batch;
			iova += batch;
			continue;
		}
		sg_init_table(sgl, cap);
		while (offset != end && n != cap &&
		       !iopt_area_run_is_pfnmap(area, offset)) {
			unsigned long len = iopt_area_run(area, offset, end);
			struct page *page = pfn_to_page(iopt_pages_pfn(pages,
							offset >> PAGE_SHIFT));

			sg_set_page(&sgl[n++], page, len, offset_in_page(offset));
			offset += len;
			batch += len;
		}
		sg_mark_end(&sgl[n - 1]);
		mapped = iommu_map_sg(domain, iova, sgl, n, area->iommu_prot,
				      GFP_KERNEL_ACCOUNT);
		if (mapped != batch) {
			/* iommu_map_sg() undid its own part already */
			ret = mapped < 0 ? mapped : -ENOMEM;
			goto err_unmap;
		}
		iova += batch;
	}
	kfree(heap_sgl);
	return 0;

err_unmap:
	if (iova != iopt_area_start(area))
		iommu_unmap(domain, iopt_area_start(area),
			    iova - iopt_area_start(area));
	kfree(heap_sgl);
	return ret;
}

static void iopt_area_unmap_domain(struct iopt_area *area,
				   struct iommu_domain *domain)
{
	size_t done = iommu_unmap(domain, iopt_area_start(area),
				  iopt_area_length(area));

	WARN_ON(done != iopt_area_length(area));
}

/* Pin the area's pages and map them into every domain. */
static int iopt_area_populate(struct iopt_area *area)
{
	struct io_pagetable *iopt = area->iopt;
	struct iommu_domain *domain;
	unsigned long index, failed;
	int ret;

	lockdep_assert_held(&iopt->domains_rwsem);
	ret = iopt_pages_add_user(area->pages, &area->pin,
				  iopt_area_first_index(area),
				  iopt_area_last_index(area));
	if (ret)
		return ret;
	xa_for_each(&iopt->domains, index, domain) {
		ret = iopt_area_map_domain(area, domain);
		if (ret)
			goto err_unmap;
	}
	area->populated = true;
	return 0;

err_unmap:
	/* Unmap the domains mapped before the one that failed */
	failed = index;
	xa_for_each(&iopt->domains, index, domain) {
		if (index == failed)
			break;
		iopt_area_unmap_domain(area, domain);
	}
	iopt_pages_remove_user(area->pages, &area->pin);
	return ret;
}

/* Drop the area's pins; every domain was already unmapped */
static void iopt_area_unpin(struct iopt_area *area)
{
	iopt_pages_remove_user(area->pages, &area->pin);
	area->populated = false;
}

static void iopt_area_depopulate(struct iopt_area *area)
{
	struct iommu_domain *domain;
	unsigned long index;

	if (!area->populated)
		return;
	xa_for_each(&area->iopt->domains, index, domain)
		iopt_area_unmap_domain(area, domain);
	iopt_pages_remove_user(area->pages, &area->pin);
	area->populated = false;
}

static void iopt_area_free(struct iopt_area *area)
{
	iopt_area_depopulate(area);
	interval_tree_remove(&area->node, &area->iopt->area_itree);
	area->iopt->nareas--;
	iopt_pages_put(area->pages);
	kfree(area);
}

/* Is [start, last] clear of areas and reservations? */
static int iopt_check_free(struct io_pagetable *iopt, unsigned long start,
			   unsigned long last)
{
	if (interval_tree_iter_first(&iopt->reserved_itree, start, last))
		return -EINVAL;
	if (iopt_area_first(iopt, start, last))
		return -EEXIST;
	return 0;
}

/* The alignment a domain needs: its smallest IO page */
static unsigned long iopt_domain_alignment(struct iommu_domain *domain)
{
	return 1UL << __ffs(domain->pgsize_bitmap);
}

/* The alignment the attached domains and accesses need */
static void iopt_update_alignment(struct io_pagetable *iopt)
{
	struct iommu_domain *domain;
	unsigned long index, align;

	lockdep_assert_held_write(&iopt->domains_rwsem);
	lockdep_assert_held_write(&iopt->iova_rwsem);
	align = iopt->page_accesses || iopt->disable_large_pages ? PAGE_SIZE : 1;
	xa_for_each(&iopt->domains, index, domain)
		align = max(align, iopt_domain_alignment(domain));
	iopt->iova_alignment = align;
}

/* Is every area aligned to @align, and its pages congruent? */
static bool iopt_areas_aligned(struct io_pagetable *iopt, unsigned long align)
{
	struct iopt_area *area;

	lockdep_assert_held(&iopt->iova_rwsem);
	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		unsigned long uaddr = area->pages->uptr + area->pages_offset;

		if ((iopt_area_start(area) | iopt_area_length(area)) &
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
		block = interval_tree_iter_first(&iopt->reserved_itree, start,
						 last);
		if (!block)
			block = interval_tree_iter_first(&iopt->area_itree,
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
 * Choose an IOVA for @length bytes whose first byte sits at user address
 * (or page store address) @uptr.  The IOVA keeps @uptr's offset within a
 * page, so any IOMMU page size up to PAGE_SIZE can map it, and is aligned
 * like @length and @uptr allow, so large IOPTEs can be used.  Allowed ranges
 * are honoured when set.
 *
 * The alignment never falls below PAGE_SIZE, even while no domain asks for
 * any: a page-aligned buffer gets a page-aligned IOVA and an unaligned one
 * an IOVA with the same offset in its page, or the mapping could not be
 * mapped by any IOMMU attached later (6.12 answers such a map ENOSPC).
 */
static int iopt_alloc_iova(struct io_pagetable *iopt, unsigned long *iova,
			   unsigned long uptr, unsigned long length)
{
	unsigned long sub = offset_in_page(uptr);
	unsigned long min_align = max(iopt->iova_alignment, PAGE_SIZE);
	unsigned long align = min_align;
	struct interval_tree_node *allowed;

	lockdep_assert_held(&iopt->iova_rwsem);
	if (sub & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (!sub) {
		align = 1UL << __ffs(length);
		if (uptr)
			align = min(align, 1UL << __ffs(uptr));
		align = max(align, min_align);
	}

	for (; align >= min_align; align /= 2) {
		unsigned long phase = sub & (align - 1);

		if (RB_EMPTY_ROOT(&iopt->allowed_itree.rb_root)) {
			if (iopt_find_hole(iopt, 0, ULONG_MAX, length, align,
					   phase, iova))
				return 0;
			continue;
		}
		for (allowed = interval_tree_iter_first(&iopt->allowed_itree, 0,
							ULONG_MAX);
		     allowed;
		     allowed = interval_tree_iter_next(allowed, 0, ULONG_MAX)) {
			if (iopt_find_hole(iopt, allowed->start, allowed->last,
					   length, align, phase, iova))
				return 0;
		}
	}
	return -ENOSPC;
}

/* Validate a fixed IOVA range (IOPT_MAP_FIXED_IOVA), or choose one */
static int iopt_place(struct io_pagetable *iopt, unsigned long *iova,
		      unsigned long uptr, unsigned long length,
		      unsigned int flags)
{
	unsigned long last;

	if (!(flags & IOPT_MAP_FIXED_IOVA))
		return iopt_alloc_iova(iopt, iova, uptr, length);
	if ((*iova | length) & (iopt->iova_alignment - 1))
		return -EINVAL;
	if ((*iova ^ uptr) & (iopt->iova_alignment - 1))
		return -EINVAL;
	if (check_add_overflow(*iova, length - 1, &last))
		return -EOVERFLOW;
	return iopt_check_free(iopt, *iova, last);
}

/* One piece of a mapping: @length bytes of @pages from byte @offset */
struct iopt_piece {
	struct iopt_pages *pages;
	unsigned long offset;
	unsigned long length;
};

/*
 * Insert areas for @pieces, back to back from *@iova (chosen unless @flags
 * has IOPT_MAP_FIXED_IOVA), and populate them if the IOAS has domains.
 * Takes a reference on each piece's pages for its area.
 */
static int iopt_insert_pieces(struct io_pagetable *iopt,
			      struct iopt_piece *pieces, unsigned int npieces,
			      unsigned long *iova, int iommu_prot,
			      unsigned int flags)
{
	unsigned long total = 0, start, next;
	struct iopt_area **areas;
	unsigned int i;
	int ret;

	for (i = 0; i != npieces; i++)
		total += pieces[i].length;
	areas = kcalloc(npieces, sizeof(*areas), GFP_KERNEL_ACCOUNT);
	if (!areas)
		return -ENOMEM;
	for (i = 0; i != npieces; i++) {
		areas[i] = kzalloc(sizeof(*areas[i]), GFP_KERNEL_ACCOUNT);
		if (!areas[i] || iommufd_should_fail()) {
			ret = -ENOMEM;
			goto err_free;
		}
	}

	down_read(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	for (i = 0; i != npieces; i++) {
		if ((iommu_prot & IOMMU_WRITE) && !pieces[i].pages->writable) {
			ret = -EPERM;
			goto err_unlock;
		}
	}
	ret = iopt_place(iopt, iova, pieces[0].pages->uptr + pieces[0].offset,
			 total, flags);
	if (ret)
		goto err_unlock;

	start = *iova;
	for (i = 0; i != npieces; i++, start = next) {
		struct iopt_area *area = areas[i];

		next = start + pieces[i].length;
		area->iopt = iopt;
		area->pages = pieces[i].pages;
		area->pages_offset = pieces[i].offset;
		area->iommu_prot = iommu_prot;
		area->node.start = start;
		area->node.last = next - 1;
		kref_get(&area->pages->kref);
		interval_tree_insert(&area->node, &iopt->area_itree);
		iopt->nareas++;
		areas[i] = NULL;
		if (!xa_empty(&iopt->domains)) {
			ret = iopt_area_populate(area);
			if (ret)
				goto err_remove;
		}
	}
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
	kfree(areas);
	return 0;

err_remove:
	/* Remove the areas this call inserted, the failed one included */
	while (true) {
		struct iopt_area *area = iopt_area_first(iopt, *iova, next - 1);

		if (!area)
			break;
		iopt_area_free(area);
	}
err_unlock:
	up_write(&iopt->iova_rwsem);
	up_read(&iopt->domains_rwsem);
err_free:
	for (i = 0; i != npieces; i++)
		kfree(areas[i]);
	kfree(areas);
	return ret;
}

/* Map a new store (or its allocation error) as one area; drop its ref */
static int iopt_map_new_pages(struct io_pagetable *iopt, unsigned long *iova,
			      struct iopt_pages *pages, unsigned long offset,
			      unsigned long length, int iommu_prot,
			      unsigned int flags)
{
	struct iopt_piece piece = {
		.pages = pages, .offset = offset, .length = length,
	};
	int ret;

	if (IS_ERR(pages))
		return PTR_ERR(pages);
	ret = iopt_insert_pieces(iopt, &piece, 1, iova, iommu_prot, flags);
	iopt_pages_put(pages);
	return ret;
}

/**
 * iopt_map_user() - map a range of the calling process's memory
 * @iopt: the IO address space
 * @iova: in: the IOVA with IOPT_MAP_FIXED_IOVA; out: the IOVA used
 * @uptr: user address
 * @length: bytes; not 0
 * @iommu_prot: IOMMU_READ and/or IOMMU_WRITE
 * @flags: IOPT_MAP_FIXED_IOVA, IOPT_MAP_PFNMAP
 * @account_mode: enum iommufd_account_mode for the pins
 *
 * Context: Process context of the memory's owner; sleeps.
 * Return: 0, or -EINVAL (alignment, or a fixed IOVA over a reservation),
 * -EOVERFLOW, -EEXIST (overlaps an area), -ENOSPC (no free IOVA),
 * -ENOMEM, or an error of pinning when the IOAS has domains.
 */
int iopt_map_user(struct io_pagetable *iopt, unsigned long *iova,
		  void __user *uptr, unsigned long length, int iommu_prot,
		  unsigned int flags, u8 account_mode)
{
	struct iopt_pages *pages;
	unsigned long end;

	if (!length)
		return -EINVAL;
	if (check_add_overflow((unsigned long)uptr, length, &end))
		return -EOVERFLOW;
	pages = iopt_pages_alloc((unsigned long)uptr, length,
				 iommu_prot & IOMMU_WRITE, account_mode);
	if (!IS_ERR(pages))
		pages->allow_pfnmap = flags & IOPT_MAP_PFNMAP;
	return iopt_map_new_pages(iopt, iova, pages, offset_in_page(uptr),
				  length, iommu_prot, flags);
}

/**
 * iopt_map_file() - map a range of a memfd into the IO address space
 * @iopt: the IO address space
 * @iova: in: the IOVA with IOPT_MAP_FIXED_IOVA; out: the IOVA used
 * @file: the memfd
 * @start: byte offset in @file; plays the part of the user address
 * @length: bytes; not 0
 * @iommu_prot: IOMMU_READ and/or IOMMU_WRITE
 * @flags: IOPT_MAP_FIXED_IOVA (a file has no PFN mappings)
 * @account_mode: how the pins are charged to the caller
 *
 * Context: Process context; sleeps.
 * Return: as iopt_map_user(); also -EINVAL for a file that is not a memfd
 * or a range beyond its end, -EPERM for write access through a file not
 * open for writing.
 */
int iopt_map_file(struct io_pagetable *iopt, unsigned long *iova,
		  struct file *file, unsigned long start, unsigned long length,
		  int iommu_prot, unsigned int flags, u8 account_mode)
{
	unsigned long end;

	if (WARN_ON_ONCE(flags & IOPT_MAP_PFNMAP) || !length)
		return -EINVAL;
	if (check_add_overflow(start, length, &end))
		return -EOVERFLOW;
	if (end > i_size_read(file_inode(file)))
		return -EINVAL;
	return iopt_map_new_pages(iopt, iova,
				  iopt_pages_alloc_file(file, start, length,
							iommu_prot & IOMMU_WRITE,
							account_mode),
				  offset_in_page(start), length, iommu_prot,
				  flags);
}

/**
 * iopt_collect_stores() - gather the page stores an IO address space maps
 * @iopt: the IO address space
 * @stores: an xarray of stores, indexed by address: each new one is added
 *	with a reference the caller drops
 *
 * Context: Process context.
 * Return: 0, or -ENOMEM.
 */
int iopt_collect_stores(struct io_pagetable *iopt, struct xarray *stores)
{
	struct iopt_area *area;
	int ret = 0;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area && !ret;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		unsigned long key = (unsigned long)area->pages / sizeof(long);

		if (xa_load(stores, key))
			continue;
		ret = xa_err(xa_store(stores, key, area->pages, GFP_KERNEL));
		if (!ret)
			kref_get(&area->pages->kref);
	}
	up_read(&iopt->iova_rwsem);
	return ret;
}

/**
 * iopt_copy() - map in @dst the pages that @src maps at a range of IOVA
 * @dst: the IOAS to map into
 * @src: the IOAS whose areas supply the pages; may be @dst
 * @src_iova: start of the source range, which must be fully mapped
 * @length: bytes; not 0
 * @dst_iova: in: the IOVA with IOPT_MAP_FIXED_IOVA; out: the IOVA used
 * @iommu_prot: IOMMU_READ and/or IOMMU_WRITE
 * @flags: IOPT_MAP_FIXED_IOVA
 *
 * The pages are shared, never pinned or charged a second time.
 *
 * Context: Process context; sleeps.
 * Return: 0; -ENOENT if the source range has a hole; -EPERM for write
 * access to pages pinned read-only; or as iopt_map_user().
 */
int iopt_copy(struct io_pagetable *dst, struct io_pagetable *src,
	      unsigned long src_iova, unsigned long length,
	      unsigned long *dst_iova, int iommu_prot, unsigned int flags)
{
	unsigned long last, expect = src_iova;
	struct iopt_piece *pieces = NULL;
	unsigned int npieces = 0, i;
	struct iopt_area *area;
	int ret = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(src_iova, length - 1, &last))
		return -EOVERFLOW;

	down_read(&src->iova_rwsem);
	for (area = iopt_area_first(src, src_iova, last); area;
	     area = iopt_area_next(area, src_iova, last))
		npieces++;
	if (npieces)
		pieces = kcalloc(npieces, sizeof(*pieces), GFP_KERNEL_ACCOUNT);
	if (npieces && !pieces) {
		up_read(&src->iova_rwsem);
		return -ENOMEM;
	}
	i = 0;
	for (area = iopt_area_first(src, src_iova, last); area;
	     area = iopt_area_next(area, src_iova, last), i++) {
		unsigned long from = max(src_iova, iopt_area_start(area));
		unsigned long to = min(last, iopt_area_last(area));

		if (from != expect)
			break;		/* a hole */
		pieces[i].pages = area->pages;
		kref_get(&area->pages->kref);
		pieces[i].offset = area->pages_offset +
				   (from - iopt_area_start(area));
		pieces[i].length = to - from + 1;
		expect = to + 1;
	}
	up_read(&src->iova_rwsem);
	npieces = i;

	if (!npieces || expect != last + 1)
		ret = -ENOENT;
	else
		ret = iopt_insert_pieces(dst, pieces, npieces, dst_iova,
					 iommu_prot, flags & IOPT_MAP_FIXED_IOVA);
	for (i = 0; i != npieces; i++)
		iopt_pages_put(pieces[i].pages);
	kfree(pieces);
	return ret;
}

/*
 * Cut @area in two at @iova, the first byte of the second part.  Both parts
 * keep their pages pinned and mapped: only the bookkeeping changes, which
 * is safe because cutting is only done with PAGE_SIZE IOPTEs (VFIO type1
 * v1).  No page is unpinned on the way: the tail's user is added before
 * the head's range shrinks, and shrinking allocates nothing, so once the
 * tail exists the cut cannot fail.
 */
static int iopt_area_cut(struct iopt_area *area, unsigned long iova)
{
	struct io_pagetable *iopt = area->iopt;
	struct iopt_area *tail;
	int ret;

	lockdep_assert_held_write(&iopt->iova_rwsem);
	if (area->num_accesses)
		return -EBUSY;
	if ((iova - iopt_area_start(area)) & (iopt->iova_alignment - 1))
		return -EINVAL;
	tail = kzalloc(sizeof(*tail), GFP_KERNEL_ACCOUNT);
	if (!tail)
		return -ENOMEM;
	tail->iopt = iopt;
	tail->pages = area->pages;
	tail->pages_offset = area->pages_offset + (iova - iopt_area_start(area));
	tail->iommu_prot = area->iommu_prot;
	tail->node.start = iova;
	tail->node.last = iopt_area_last(area);

	if (area->populated) {
		ret = iopt_pages_add_user(tail->pages, &tail->pin,
					  iopt_area_first_index(tail),
					  iopt_area_last_index(tail));
		if (ret) {
			kfree(tail);
			return ret;
		}
		tail->populated = true;
	}
	interval_tree_remove(&area->node, &iopt->area_itree);
	area->node.last = iova - 1;
	interval_tree_insert(&area->node, &iopt->area_itree);
	if (area->populated)
		iopt_pages_narrow_user(area->pages, &area->pin,
				       iopt_area_first_index(area),
				       iopt_area_last_index(area));
	kref_get(&tail->pages->kref);
	interval_tree_insert(&tail->node, &iopt->area_itree);
	iopt->nareas++;
	return 0;
}

static int iopt_unmap_range_locked(struct io_pagetable *iopt,
				   unsigned long start, unsigned long last,
				   unsigned long *unmapped, unsigned int flags)
{
	struct iopt_area *area;
	unsigned long done = 0;
	int ret;

	lockdep_assert_held(&iopt->domains_rwsem);
	lockdep_assert_held_write(&iopt->iova_rwsem);
	if (flags & IOPT_UNMAP_CUT) {
		area = iopt_area_first(iopt, start, start);
		if (area && iopt_area_start(area) < start) {
			ret = iopt_area_cut(area, start);
			if (ret)
				return ret;
		}
		area = iopt_area_first(iopt, last, last);
		if (area && iopt_area_last(area) > last) {
			ret = iopt_area_cut(area, last + 1);
			if (ret)
				return ret;
		}
	}
	for (area = iopt_area_first(iopt, start, last); area;
	     area = iopt_area_next(area, start, last)) {
		if (iopt_area_start(area) < start ||
		    iopt_area_last(area) > last)
			return -ENOENT;
		if (area->num_accesses)
			return -EBUSY;
	}
	while ((area = iopt_area_first(iopt, start, last))) {
		done += iopt_area_length(area);
		iopt_area_free(area);
	}
	if (unmapped)
		*unmapped = done;
	return done || (flags & IOPT_UNMAP_ALLOW_EMPTY) ? 0 : -ENOENT;
}

/**
 * iopt_unmap_range() - unmap every area inside [@start, @last]
 * @iopt: the IO address space
 * @start: first IOVA
 * @last: last IOVA
 * @unmapped: output: bytes unmapped; may be NULL
 * @flags: IOPT_UNMAP_ALLOW_EMPTY: finding nothing to unmap is success, not
 *	-ENOENT; IOPT_UNMAP_CUT: cut areas that cross either end (VFIO type1
 *	v1, only with large pages disabled) instead of failing
 *
 * Without IOPT_UNMAP_CUT an area that crosses either end fails the whole
 * call and nothing is unmapped.  iopt_unmap_range(iopt, 0, ULONG_MAX, x,
 * IOPT_UNMAP_ALLOW_EMPTY) empties the address space.
 *
 * Context: Process context; sleeps.
 * Return: 0; -ENOENT when nothing is mapped there (unless
 * IOPT_UNMAP_ALLOW_EMPTY) or an area would be split; -EBUSY while an
 * access holds pages of an area.
 */
int iopt_unmap_range(struct io_pagetable *iopt, unsigned long start,
		     unsigned long last, unsigned long *unmapped,
		     unsigned int flags)
{
	bool notified = false;
	int ret;

	if (unmapped)
		*unmapped = 0;
	for (;;) {
		down_read(&iopt->domains_rwsem);
		down_write(&iopt->iova_rwsem);
		if ((flags & IOPT_UNMAP_CUT) && !iopt->disable_large_pages)
			ret = -EINVAL;	/* a large IOPTE cannot be cut */
		else
			ret = iopt_unmap_range_locked(iopt, start, last,
						      unmapped, flags);
		up_write(&iopt->iova_rwsem);
		up_read(&iopt->domains_rwsem);
		/*
		 * Accesses hold pages in the range: ask them to let go, then
		 * try once more.  Still busy means a new pin raced in (or an
		 * access broke its contract): the user sees -EBUSY.
		 */
		if (ret != -EBUSY || notified)
			break;
		iommufd_access_notify_unmap(iopt, start, last);
		notified = true;
	}
	/* An access waiting for an address there now finds nothing */
	if (!ret)
		iopt_vaddr_wake();
	return ret;
}

/**
 * iopt_set_allowed() - replace the allowed ranges
 * @iopt: the IO address space
 * @allowed: a tree of struct iopt_reserved nodes (owner unused); on
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

	down_write(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(allowed, 0, ULONG_MAX); node;
	     node = interval_tree_iter_next(node, 0, ULONG_MAX)) {
		if (interval_tree_iter_first(&iopt->reserved_itree,
					     node->start, node->last)) {
			up_write(&iopt->iova_rwsem);
			return -EADDRINUSE;
		}
	}
	old = iopt->allowed_itree;
	iopt->allowed_itree = *allowed;
	*allowed = old;
	up_write(&iopt->iova_rwsem);
	return 0;
}

static int iopt_reserve_locked(struct io_pagetable *iopt, unsigned long start,
			       unsigned long last, void *owner)
{
	struct iopt_reserved *res;

	lockdep_assert_held_write(&iopt->iova_rwsem);
	if (iopt_area_first(iopt, start, last) ||
	    interval_tree_iter_first(&iopt->allowed_itree, start, last))
		return -EADDRINUSE;
	res = kzalloc(sizeof(*res), GFP_KERNEL_ACCOUNT);
	if (!res)
		return -ENOMEM;
	res->node.start = start;
	res->node.last = last;
	res->owner = owner;
	interval_tree_insert(&res->node, &iopt->reserved_itree);
	return 0;
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

	down_write(&iopt->iova_rwsem);
	ret = iopt_reserve_locked(iopt, start, last, owner);
	up_write(&iopt->iova_rwsem);
	return ret;
}

static void iopt_unreserve_locked(struct io_pagetable *iopt, void *owner)
{
	struct interval_tree_node *node, *next;

	lockdep_assert_held_write(&iopt->iova_rwsem);
	for (node = interval_tree_iter_first(&iopt->reserved_itree, 0,
					     ULONG_MAX);
	     node; node = next) {
		struct iopt_reserved *res =
			container_of(node, struct iopt_reserved, node);

		next = interval_tree_iter_next(node, 0, ULONG_MAX);
		if (res->owner != owner)
			continue;
		interval_tree_remove(node, &iopt->reserved_itree);
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
	down_write(&iopt->iova_rwsem);
	iopt_unreserve_locked(iopt, owner);
	up_write(&iopt->iova_rwsem);
}

/* Reserve all IOVA outside [start, last] for @owner */
static int iopt_reserve_outside(struct io_pagetable *iopt, void *owner,
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
 * Context: Process context; @fn runs under iova_rwsem held for read.
 * Return: 0, or what @fn returned to stop.
 */
int iopt_walk_usable(struct io_pagetable *iopt, iopt_range_fn_t fn,
		     void *arg)
{
	struct interval_tree_span_iter span;
	int ret = 0;

	down_read(&iopt->iova_rwsem);
	interval_tree_for_each_span(&span, &iopt->reserved_itree, 0, ULONG_MAX) {
		if (!span.is_hole)
			continue;
		ret = fn(span.start_hole, span.last_hole, arg);
		if (ret)
			break;
	}
	up_read(&iopt->iova_rwsem);
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

	down_read(&iopt->domains_rwsem);
	xa_for_each(&iopt->domains, index, domain)
		sizes &= domain->pgsize_bitmap;
	if (xa_empty(&iopt->domains))
		sizes = PAGE_MASK;
	if (iopt->disable_large_pages && sizes)
		sizes &= -sizes;
	up_read(&iopt->domains_rwsem);
	return sizes;
}

/**
 * iopt_count_areas() - how many mappings the IO address space holds
 * @iopt: the IO address space
 *
 * Context: Process context.
 * Return: the number of areas.
 */
unsigned long iopt_count_areas(struct io_pagetable *iopt)
{
	unsigned long n;

	down_read(&iopt->iova_rwsem);
	n = iopt->nareas;
	up_read(&iopt->iova_rwsem);
	return n;
}

/**
 * iopt_set_large_pages() - allow or forbid large IOPTEs in the domains
 * @iopt: the IO address space
 * @enable: allow them (the default)
 *
 * Forbidding them (VFIO type1 v1 semantics) also makes PAGE_SIZE the
 * smallest alignment of every mapping.
 *
 * Context: Process context.
 * Return: 0; -EADDRINUSE if an area is not page aligned; -EBUSY when
 * domains already map areas (their IOPTEs cannot be split now).
 */
int iopt_set_large_pages(struct io_pagetable *iopt, bool enable)
{
	int ret = 0;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	if (!enable && !iopt->disable_large_pages) {
		if (!iopt_areas_aligned(iopt, PAGE_SIZE))
			ret = -EADDRINUSE;
		else if (!xa_empty(&iopt->domains) &&
			 iopt_area_first(iopt, 0, ULONG_MAX))
			ret = -EBUSY;
	}
	if (!ret) {
		struct iommu_domain *domain;
		unsigned long index;

		iopt->disable_large_pages = !enable;
		/* No domain maps anything yet: each may be restricted now */
		if (!enable)
			xa_for_each(&iopt->domains, index, domain)
				iopt_domain_restrict_sizes(domain);
		iopt_update_alignment(iopt);
	}
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return ret;
}

/**
 * iopt_free_ranges() - free a tree of struct iopt_reserved nodes
 * @root: the tree; left empty
 *
 * Context: Any context that may free.
 */
void iopt_free_ranges(struct rb_root_cached *root)
{
	struct interval_tree_node *node;

	while ((node = interval_tree_iter_first(root, 0, ULONG_MAX))) {
		interval_tree_remove(node, root);
		kfree(container_of(node, struct iopt_reserved, node));
	}
}

/**
 * iopt_destroy() - tear down an IO address space
 * @iopt: the IO address space; no domain may be attached
 *
 * Context: Process context; sleeps.  Never fails.
 */
void iopt_destroy(struct io_pagetable *iopt)
{
	WARN_ON(!xa_empty(&iopt->domains));
	iopt_unmap_range(iopt, 0, ULONG_MAX, NULL, IOPT_UNMAP_ALLOW_EMPTY);
	iopt_free_ranges(&iopt->allowed_itree);
	iopt_free_ranges(&iopt->reserved_itree);
	WARN_ON(!xa_empty(&iopt->accesses));
	xa_destroy(&iopt->domains);
	xa_destroy(&iopt->accesses);
}

/**
 * iopt_add_domain() - make a domain mirror the IO address space
 * @iopt: the IO address space
 * @domain: a paging domain, not yet in any io_pagetable
 *
 * Reserves the IOVA outside the domain's aperture, then maps every area
 * into the domain, pinning the areas that were not populated yet.  On
 * failure everything is as before.
 *
 * Context: Process context; sleeps.
 * Return: 0; -EADDRINUSE when an area lies outside the aperture or is not
 * aligned for the domain's page sizes; -ENOMEM; or an error of pinning.
 */
int iopt_add_domain(struct io_pagetable *iopt, struct iommu_domain *domain)
{
	const struct iommu_domain_geometry *geo = &domain->geometry;
	struct iopt_area *area, *failed = NULL;
	bool only;
	u32 index;
	int ret;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	/* Areas are populated exactly when some domain exists */
	only = xa_empty(&iopt->domains);
	if (!iopt_areas_aligned(iopt, iopt_domain_alignment(domain))) {
		ret = -EADDRINUSE;
		goto out_unlock;
	}
	if (geo->force_aperture) {
		if ((geo->aperture_start &&
		     iopt_area_first(iopt, 0, geo->aperture_start - 1)) ||
		    (geo->aperture_end != ULONG_MAX &&
		     iopt_area_first(iopt, geo->aperture_end + 1, ULONG_MAX))) {
			ret = -EADDRINUSE;
			goto out_unlock;
		}
	}
	ret = xa_alloc(&iopt->domains, &index, domain, xa_limit_32b,
		       GFP_KERNEL_ACCOUNT);
	if (ret)
		goto out_unlock;
	if (iopt->disable_large_pages)
		iopt_domain_restrict_sizes(domain);

	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		if (only)
			ret = iopt_area_populate(area);
		else
			ret = iopt_area_map_domain(area, domain);
		if (ret) {
			failed = area;
			goto err_unfill;
		}
	}
	if (geo->force_aperture) {
		ret = iopt_reserve_outside(iopt, domain, geo->aperture_start,
					   geo->aperture_end);
		if (ret)
			goto err_unfill;
	}
	iopt_update_alignment(iopt);
	goto out_unlock;

err_unfill:
	/* Like type1: no new device while an address is being replaced */
	if (ret == -EAGAIN)
		ret = -EBUSY;
	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area != failed;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		iopt_area_unmap_domain(area, domain);
		if (only)
			iopt_area_unpin(area);
	}
	xa_erase(&iopt->domains, index);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return ret;
}

/**
 * iopt_remove_domain() - undo iopt_add_domain()
 * @iopt: the IO address space
 * @domain: the domain
 *
 * Unmaps every area from the domain; when it was the last domain, the
 * areas' pages are unpinned.
 *
 * Context: Process context; sleeps.  Never fails.
 */
void iopt_remove_domain(struct io_pagetable *iopt, struct iommu_domain *domain)
{
	struct iommu_domain *cur;
	struct iopt_area *area;
	unsigned long index;
	bool last;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	xa_for_each(&iopt->domains, index, cur) {
		if (cur == domain)
			break;
	}
	if (WARN_ON(cur != domain))
		goto out_unlock;
	xa_erase(&iopt->domains, index);
	last = xa_empty(&iopt->domains);
	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		if (!area->populated)
			continue;
		iopt_area_unmap_domain(area, domain);
		if (last)
			iopt_area_unpin(area);
	}
	iopt_unreserve_locked(iopt, domain);
	iopt_update_alignment(iopt);
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/**
 * iopt_add_access() - attach an in-kernel access
 * @iopt: the IO address space
 * @access: the access
 * @pins_pages: the access pins pages, so every area must be page aligned
 * @index: output: the access's index, for iopt_remove_access()
 *
 * Context: Process context.
 * Return: 0; -EADDRINUSE if @pins_pages and an area is not page aligned;
 * -ENOMEM.
 */
int iopt_add_access(struct io_pagetable *iopt, struct iommufd_access *access,
		    bool pins_pages, u32 *index)
{
	struct iopt_area *area;
	int ret = 0;

	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	if (pins_pages) {
		for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
			if (!PAGE_ALIGNED(iopt_area_start(area)) ||
			    !PAGE_ALIGNED(iopt_area_length(area)) ||
			    !PAGE_ALIGNED(area->pages_offset)) {
				ret = -EADDRINUSE;
				goto out_unlock;
			}
		}
	}
	ret = xa_alloc(&iopt->accesses, index, access, xa_limit_32b,
		       GFP_KERNEL_ACCOUNT);
	if (ret)
		goto out_unlock;
	if (pins_pages) {
		iopt->page_accesses++;
		iopt_update_alignment(iopt);
	}
out_unlock:
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
	return ret;
}

/**
 * iopt_remove_access() - undo iopt_add_access()
 * @iopt: the IO address space
 * @index: from iopt_add_access()
 * @pins_pages: as given to iopt_add_access()
 *
 * Context: Process context.
 */
void iopt_remove_access(struct io_pagetable *iopt, u32 index, bool pins_pages)
{
	down_write(&iopt->domains_rwsem);
	down_write(&iopt->iova_rwsem);
	WARN_ON(!xa_erase(&iopt->accesses, index));
	if (pins_pages) {
		iopt->page_accesses--;
		iopt_update_alignment(iopt);
	}
	up_write(&iopt->iova_rwsem);
	up_write(&iopt->domains_rwsem);
}

/*
 * Dirty tracking.  The domain's driver keeps the dirty bits; these walk
 * only the mapped areas, under iova_rwsem so that none is unmapped
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

	lockdep_assert_held(&iopt->iova_rwsem);
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
	down_read(&iopt->iova_rwsem);
	if (enable)
		ret = iopt_read_dirty_range(iopt, domain, 0, 0, ULONG_MAX,
					    NULL);
	if (!ret)
		ret = dops->set_dirty_tracking(domain, enable);
	up_read(&iopt->iova_rwsem);
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
	down_read(&iopt->iova_rwsem);
	if ((iova | length) & (iopt->iova_alignment - 1))
		ret = -EINVAL;
	else
		ret = iova_bitmap_for_each(bitmap, &walk, iopt_dirty_window);
	up_read(&iopt->iova_rwsem);
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
	down_read(&iopt->iova_rwsem);
	ret = iova_bitmap_for_each(bitmap, iopt, iopt_mark_mapped_window);
	up_read(&iopt->iova_rwsem);
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

	down_read(&iopt->iova_rwsem);
	area = iopt_area_first(iopt, first, first);
	if (area && iopt_area_start(area) != first)
		ret = false;
	area = iopt_area_first(iopt, last, last);
	if (area && iopt_area_last(area) != last)
		ret = false;
	up_read(&iopt->iova_rwsem);
	return ret;
}

/**
 * iopt_walk_dirty_domains() - call a function on domains that track dirty
 * @iopt: the IO address space
 * @require_all: call nothing unless every domain can track dirty IOVA
 * @fn: called for each domain that can track dirty IOVA
 * @arg: passed to @fn
 *
 * Context: Process context; sleeps.  Holds domains_rwsem for read around
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

	down_read(&iopt->domains_rwsem);
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
	up_read(&iopt->domains_rwsem);
	return ret;
}

/*
 * VFIO_DMA_UNMAP_FLAG_VADDR / VFIO_DMA_MAP_FLAG_VADDR: a VMM being live
 * updated takes the user address of its mappings away and supplies a new
 * one later, from a new process maybe.  Devices keep their DMA going
 * meanwhile: what is pinned stays pinned and mapped.  Only pinning more
 * needs the address; it fails with -EAGAIN, and in-kernel accesses wait
 * for the new address in iopt_wait_vaddr() holding no lock, so the VMM
 * can always supply it: no deadlock.
 */
/**
 * iopt_invalidate_vaddr() - take the user address of whole areas away
 * @iopt: the IO address space
 * @first: first IOVA of the range
 * @last: last IOVA of the range
 * @invalidated: output: bytes of the areas invalidated
 *
 * Context: Process context; sleeps.
 * Return: 0; -EINVAL if the range cuts an area or an area in it was
 * invalidated already (nothing changes then).
 */
int iopt_invalidate_vaddr(struct io_pagetable *iopt, unsigned long first,
			  unsigned long last, unsigned long *invalidated)
{
	struct iopt_area *area;
	unsigned long done = 0;

	down_write(&iopt->iova_rwsem);
	for (area = iopt_area_first(iopt, first, last); area;
	     area = iopt_area_next(area, first, last)) {
		if (iopt_area_start(area) < first ||
		    iopt_area_last(area) > last ||
		    (!area->pages->file && area->pages->vaddr_invalid)) {
			up_write(&iopt->iova_rwsem);
			return -EINVAL;
		}
	}
	for (area = iopt_area_first(iopt, first, last); area;
	     area = iopt_area_next(area, first, last)) {
		/* A file-backed area is reached by offset, not address */
		if (!area->pages->file) {
			mutex_lock(&area->pages->mutex);
			WRITE_ONCE(area->pages->vaddr_invalid, true);
			mutex_unlock(&area->pages->mutex);
		}
		done += iopt_area_length(area);
	}
	up_write(&iopt->iova_rwsem);
	*invalidated = done;
	return 0;
}

/**
 * iopt_update_vaddr() - give an invalidated area its new user address
 * @iopt: the IO address space
 * @iova: the area's first IOVA
 * @length: the area's length
 * @vaddr: the new address of its first byte, in the calling process
 *
 * The calling process becomes the owner of the area's pages (see
 * iopt_pages_adopt()); waiting accesses resume.
 *
 * Context: Process context; sleeps.
 * Return: 0; -EINVAL unless [@iova, @iova + @length) is exactly one area
 * whose address was invalidated, with @vaddr in the same place in its
 * page; -ENOMEM if the caller cannot be charged.
 */
int iopt_update_vaddr(struct io_pagetable *iopt, unsigned long iova,
		      unsigned long length, unsigned long vaddr)
{
	unsigned long last, base;
	struct iopt_area *area;
	int ret;

	if (!length || check_add_overflow(iova, length - 1, &last))
		return -EINVAL;
	down_write(&iopt->iova_rwsem);
	area = iopt_area_first(iopt, iova, last);
	if (!area || iopt_area_start(area) != iova ||
	    iopt_area_last(area) != last || area->pages->file ||
	    !area->pages->vaddr_invalid || vaddr < area->pages_offset) {
		ret = -EINVAL;
		goto out_unlock;
	}
	base = vaddr - area->pages_offset;
	if (!PAGE_ALIGNED(base)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	ret = iopt_pages_adopt(area->pages, base);
out_unlock:
	up_write(&iopt->iova_rwsem);
	if (!ret)
		iopt_vaddr_wake();
	return ret;
}

/* Does any area of [first, last] still lack its user address? */
static bool iopt_vaddr_missing(struct io_pagetable *iopt, unsigned long first,
			       unsigned long last)
{
	struct iopt_area *area;
	bool missing = false;

	down_read(&iopt->iova_rwsem);
	for (area = iopt_area_first(iopt, first, last); area && !missing;
	     area = iopt_area_next(area, first, last))
		missing = READ_ONCE(area->pages->vaddr_invalid);
	up_read(&iopt->iova_rwsem);
	return missing;
}

/**
 * iopt_wait_vaddr() - wait until a range has its user addresses again
 * @iopt: the IO address space
 * @first: first IOVA of the range
 * @last: last IOVA of the range
 *
 * Context: Process context; the caller holds no iommufd lock.
 * Return: 0 once every area of the range has an address (or is gone), or
 * -EINTR if the caller was killed meanwhile.
 */
int iopt_wait_vaddr(struct io_pagetable *iopt, unsigned long first,
		    unsigned long last)
{
	int gen;

	/* The check sleeps, so it runs outside the wait, between wakeups */
	for (;;) {
		gen = atomic_read(&iopt_vaddr_gen);
		if (!iopt_vaddr_missing(iopt, first, last))
			return 0;
		if (wait_event_killable(iopt_vaddr_wait,
					atomic_read(&iopt_vaddr_gen) != gen))
			return -EINTR;
	}
}
