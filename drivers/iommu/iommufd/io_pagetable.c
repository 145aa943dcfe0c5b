// SPDX-License-Identifier: GPL-2.0-only
/*
 * The io_pagetable's area core: areas of IOVA over page stores, kept in
 * every attached IOMMU domain; map, copy, cut and unmap.  The locking rules
 * and invariants are in io_pagetable.h; the IOVA space is iova_space.c,
 * domains and accesses iopt_domains.c, dirty tracking iopt_dirty.c.
 *
 * Mapping into a domain walks the page store's PFNs and hands each run of
 * physically contiguous pages to iommu_map() in one call, so huge pages and
 * contiguous memory become large IOPTEs.  Unmapping needs no PFNs at all:
 * the page store knows what to unpin.
 */
#include <linux/atomic.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/memcontrol.h>
#include <linux/overflow.h>
#include <linux/scatterlist.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "io_pagetable.h"
#include "iommufd_private.h"

/* An update or unmap that may end a wait in iopt_wait_vaddr() happened */
static void iopt_vaddr_wake(struct io_pagetable *iopt)
{
	atomic_inc(&iopt->vaddr_gen);
	wake_up_all(&iopt->vaddr_wait);
}

void iopt_init(struct io_pagetable *iopt)
{
	init_rwsem(&iopt->dom_sem);
	init_rwsem(&iopt->tree_sem);
	xa_init_flags(&iopt->domains, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	xa_init_flags(&iopt->accesses, XA_FLAGS_ALLOC | XA_FLAGS_ACCOUNT);
	iopt->area_tree = RB_ROOT_CACHED;
	iopt->allow_tree = RB_ROOT_CACHED;
	iopt->resv_tree = RB_ROOT_CACHED;
	iopt->align_min = 1;
	init_waitqueue_head(&iopt->vaddr_wait);
	atomic_set(&iopt->vaddr_gen, 0);
}

/* Page index range of the page store that @area maps */
static unsigned long iopt_area_first_index(struct iopt_area *area)
{
	return area->pages_offset >> PAGE_SHIFT;
}

static unsigned long iopt_area_index_end(struct iopt_area *area)
{
	return (area->pages_offset + iopt_area_size(area) - 1) >> PAGE_SHIFT;
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
	npages = iopt_pages_run(area->store, index, npages);
	return min(head + (npages - 1) * PAGE_SIZE, end - offset);
}

/* Is the run at byte @offset of the area a PFN mapping (no struct page)? */
static bool iopt_area_run_is_pfnmap(struct iopt_area *area,
				    unsigned long offset)
{
	unsigned long *pfnmap = area->store->pfnmap;

	return pfnmap && test_bit(offset >> PAGE_SHIFT, pfnmap);
}

/*
 * Map bytes [@offset, @end) of a populated area's store into @domain at
 * @iova, undoing itself on failure.  Physically contiguous pages become
 * one run, so huge pages and contiguous memory get large IOPTEs (unless
 * the domain's sizes were restricted, see iopt_domain_restrict_sizes()),
 * and the runs go to the IOMMU in batches with one IOTLB sync each instead
 * of one per run.  Small ranges use a batch on the stack; a larger batch
 * is allocated only when a range has more runs (and its allocation
 * failing only means smaller batches).  The area's pin keeps the PFNs in
 * place, so this needs no lock of the store: pin workers call it too.
 *
 * With large pages off (VFIO type1 v1), a later unmap may cut any page out
 * of an area, and every domain must take the cut exactly.  Restricting a
 * domain's page sizes is not enough for that: VT-d builds superpages from
 * the length of one map call whatever page size it is given, and
 * virtio-iommu keeps one mapping per map call and unmaps only whole ones.
 * So then a page that continues the one before it physically goes to the
 * IOMMU in a map call of its own (iommu_map_sg() would join the two);
 * scattered pages still share batches.
 */
static int iopt_area_map_range(struct iopt_area *area,
			       struct iommu_domain *domain,
			       unsigned long offset, unsigned long end,
			       unsigned long iova)
{
	struct scatterlist stack_sgl[IOPT_MAP_STACK_BATCH];
	struct scatterlist *sgl = stack_sgl, *heap_sgl = NULL;
	unsigned int cap = ARRAY_SIZE(stack_sgl);
	unsigned long first = offset, start = iova;
	struct iopt_pages *pages = area->store;
	bool per_page = area->owner->small_pages_only;
	int ret = 0;

	while (offset != end) {
		unsigned long batch = 0;
		unsigned int n = 0;
		ssize_t mapped;

		if (sgl == stack_sgl && offset != first) {
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
			if (per_page)
				batch = min(batch, PAGE_SIZE);
			ret = iommu_map(domain, iova,
					PFN_PHYS(pfn) + offset_in_page(offset),
					batch, area->ioprot | IOMMU_MMIO,
					GFP_KERNEL_ACCOUNT);
			if (ret)
				goto err_unmap;
			offset += batch;
			iova += batch;
			continue;
		}
		/* Entries are cleared as they are used: batches may be short */
		while (offset != end && n != cap &&
		       !iopt_area_run_is_pfnmap(area, offset)) {
			struct page *page = pfn_to_page(iopt_pages_pfn(pages,
							offset >> PAGE_SHIFT));
			unsigned long len;

			if (per_page) {
				if (n && sg_phys(&sgl[n - 1]) +
					 sgl[n - 1].length ==
					 page_to_phys(page) + offset_in_page(offset))
					break;
				len = min(PAGE_SIZE - offset_in_page(offset),
					  end - offset);
			} else {
				len = iopt_area_run(area, offset, end);
			}
			memset(&sgl[n], 0, sizeof(*sgl));
			sg_set_page(&sgl[n++], page, len, offset_in_page(offset));
			offset += len;
			batch += len;
		}
		sg_mark_end(&sgl[n - 1]);
		mapped = iommu_map_sg(domain, iova, sgl, n, area->ioprot,
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
	if (iova != start)
		iommu_unmap(domain, start, iova - start);
	kfree(heap_sgl);
	return ret;
}

/*
 * Mapping a large area in parallel.  With the pins in place, filling the
 * IOMMU page table is the rest of a map's time, and IOMMU drivers map
 * disjoint ranges of one domain concurrently (the DMA API does so on every
 * CPU).  An area with at least two pieces' worth (IOPT_MAP_PIECE_MIN
 * bytes each) of pages kept one by one (see iopt_map_pieces()) is mapped
 * in up to one piece per online CPU (at most IOPT_MAP_PIECES): the caller
 * maps the first and unbound workers the others, charging the page tables
 * they allocate to the caller's memory cgroup.  Pieces meet at
 * IOVAs aligned to the largest page size of the domain that fits a piece,
 * so that no IOPTE the domain could have used is split.  A piece that
 * fails undoes itself; then the caller unmaps the pieces that did not.
 */
#define IOPT_MAP_PIECE_MIN SZ_64M
#define IOPT_MAP_PIECES 8

struct iopt_map_job {
	struct iopt_work piece;
	struct iopt_area *area;
	struct iommu_domain *domain;
	struct mem_cgroup *memcg;
	unsigned long offset;
	unsigned long end;
	unsigned long iova;
};

static int iopt_map_job_fn(struct iopt_work *piece)
{
	struct iopt_map_job *job = container_of(piece, struct iopt_map_job,
						piece);
	/* IOMMU page tables are charged as if the caller mapped them */
	struct mem_cgroup *old = set_active_memcg(job->memcg);
	int ret;

	ret = iopt_area_map_range(job->area, job->domain, job->offset,
				  job->end, job->iova);
	set_active_memcg(old);
	return ret;
}

/*
 * How many pieces to map @area in; 1 is serial.  The work is the IOPTEs
 * to write: huge pages and other runs take a few each, so only the pages
 * the store keeps one by one count (a few hundred huge IOPTEs are mapped
 * sooner than workers start).
 */
static unsigned int iopt_map_pieces(struct iopt_area *area)
{
	unsigned long work = iopt_pages_scattered(area->store,
						  iopt_area_first_index(area),
						  iopt_area_index_end(area));

	return min3(work / (IOPT_MAP_PIECE_MIN / PAGE_SIZE),
		    (unsigned long)IOPT_MAP_PIECES,
		    (unsigned long)num_online_cpus()) ?: 1;
}

/* Split the area into @n pieces in @jobs; Return: how many are not empty */
static unsigned int iopt_map_split(struct iopt_area *area,
				   struct iommu_domain *domain,
				   struct mem_cgroup *memcg,
				   struct iopt_map_job *jobs, unsigned int n)
{
	unsigned long start = iopt_area_start(area), end = start;
	unsigned long size = iopt_area_size(area), each = size / n, align;
	unsigned int i, used = 0;

	align = domain->pgsize_bitmap & GENMASK(__fls(each), 0);
	align = align ? BIT(__fls(align)) : PAGE_SIZE;
	for (i = 0; i != n && end != start + size; i++) {
		unsigned long from = end;

		end = i == n - 1 ? start + size :
			min(round_up(from + each, align), start + size);
		jobs[i] = (struct iopt_map_job){
			.area = area, .domain = domain, .memcg = memcg,
			.offset = area->pages_offset + (from - start),
			.end = area->pages_offset + (end - start),
			.iova = from,
		};
		used++;
	}
	return used;
}

/*
 * Map a populated area into @domain, in parallel when it is large (see
 * above).  On failure nothing of it is mapped.
 */
int iopt_area_map_domain(struct iopt_area *area,
			 struct iommu_domain *domain)
{
	unsigned int n = iopt_map_pieces(area), i, queued = 1;
	struct iopt_map_job *jobs = NULL;
	struct mem_cgroup *memcg;
	int ret;

	/* Without memory for the jobs, the area is mapped serially */
	if (n > 1)
		jobs = kcalloc(n, sizeof(*jobs), GFP_KERNEL);
	if (!jobs)
		return iopt_area_map_range(area, domain, area->pages_offset,
					   area->pages_offset +
					   iopt_area_size(area),
					   iopt_area_start(area));
	memcg = get_mem_cgroup_from_mm(current->mm);
	n = iopt_map_split(area, domain, memcg, jobs, n);
	for (; queued != n; queued++)
		iopt_work_queue(&jobs[queued].piece, iopt_map_job_fn);
	jobs[0].piece.ret = iopt_map_job_fn(&jobs[0].piece);
	ret = jobs[0].piece.ret;
	for (i = 1; i != n; i++) {
		int err = iopt_work_wait(&jobs[i].piece);

		if (!ret)
			ret = err;
	}
	mem_cgroup_put(memcg);
	if (ret) {
		for (i = 0; i != n; i++)
			if (!jobs[i].piece.ret)
				iommu_unmap(domain, jobs[i].iova,
					    jobs[i].end - jobs[i].offset);
	}
	kfree(jobs);
	return ret;
}

/* The first domain of @iopt that is not @skip, or NULL */
static struct iommu_domain *iopt_domain_other(struct io_pagetable *iopt,
					      struct iommu_domain *skip)
{
	struct iommu_domain *domain;
	unsigned long index;

	xa_for_each(&iopt->domains, index, domain) {
		if (domain != skip)
			return domain;
	}
	return NULL;
}

/* Unmap all of a populated area from @domain */
static void iopt_area_unmap(struct iopt_area *area, struct iommu_domain *domain)
{
	size_t done = iommu_unmap(domain, iopt_area_start(area),
				  iopt_area_size(area));

	WARN_ON(done != iopt_area_size(area));
}

/*
 * Unmap a populated area from @domain, which is not the last domain it is
 * mapped in (that one is iopt_area_unpin()'s).  A lender hands its role
 * to another domain first.
 */
void iopt_area_clear_domain(struct iopt_area *area,
			    struct iommu_domain *domain)
{
	if (area->lender == domain)
		iopt_pages_set_lender(area->store, area,
				      iopt_domain_other(area->owner, domain));
	iopt_area_unmap(area, domain);
}

/* Pin the area's pages and map them into every domain. */
int iopt_area_populate(struct iopt_area *area)
{
	struct io_pagetable *iopt = area->owner;
	struct iommu_domain *domain;
	unsigned long index, failed;
	int ret;

	lockdep_assert_held(&iopt->dom_sem);
	ret = iopt_pages_add_user(area->store, &area->pin,
				  iopt_area_first_index(area),
				  iopt_area_index_end(area));
	if (ret)
		return ret;
	xa_for_each(&iopt->domains, index, domain) {
		ret = iopt_area_map_domain(area, domain);
		if (ret)
			goto err_unmap;
	}
	area->populated = true;
	iopt_pages_lend(area->store, area, iopt_domain_other(iopt, NULL));
	return 0;

err_unmap:
	/* Unmap the domains mapped before the one that failed */
	failed = index;
	xa_for_each(&iopt->domains, index, domain) {
		if (index == failed)
			break;
		iopt_area_clear_domain(area, domain);
	}
	iopt_pages_remove_user(area->store, &area->pin);
	return ret;
}

/*
 * Unmap a populated area from @domain, the last domain it is mapped in,
 * and drop its pins.  A lender reads the PFNs it keeps out of the domain
 * as it unmaps it.
 */
void iopt_area_unpin(struct iopt_area *area, struct iommu_domain *domain)
{
	if (area->lender) {
		WARN_ON(area->lender != domain);
		iopt_pages_remove_lender(area->store, area);
	} else {
		iopt_area_unmap(area, domain);
		iopt_pages_remove_user(area->store, &area->pin);
	}
	area->populated = false;
}

static void iopt_area_depopulate(struct iopt_area *area)
{
	struct iommu_domain *domain, *last;
	unsigned long index;

	if (!area->populated)
		return;
	/* The lender, if any, is the domain unmapped last */
	last = area->lender ?: iopt_domain_other(area->owner, NULL);
	xa_for_each(&area->owner->domains, index, domain) {
		if (domain != last)
			iopt_area_clear_domain(area, domain);
	}
	iopt_area_unpin(area, last);
}

static void iopt_area_free(struct iopt_area *area)
{
	iopt_area_depopulate(area);
	interval_tree_remove(&area->span, &area->owner->area_tree);
	area->owner->nareas--;
	iopt_pages_put(area->store);
	kfree(area);
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
			      unsigned long *iova, int ioprot,
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
		if (!areas[i] || iommufd_inject_fail()) {
			ret = -ENOMEM;
			goto err_free;
		}
	}

	down_read(&iopt->dom_sem);
	down_write(&iopt->tree_sem);
	/* Where the range goes is judged first (EEXIST before EPERM) */
	ret = iopt_place(iopt, iova, pieces[0].pages->uva + pieces[0].offset,
			 total, flags);
	if (ret)
		goto err_unlock;
	for (i = 0; i != npieces; i++) {
		if ((ioprot & IOMMU_WRITE) && !pieces[i].pages->write_ok) {
			ret = -EPERM;
			goto err_unlock;
		}
	}

	start = *iova;
	for (i = 0; i != npieces; i++, start = next) {
		struct iopt_area *area = areas[i];

		next = start + pieces[i].length;
		area->owner = iopt;
		area->store = pieces[i].pages;
		area->pages_offset = pieces[i].offset;
		area->ioprot = ioprot;
		area->span.start = start;
		area->span.last = next - 1;
		kref_get(&area->store->kref);
		interval_tree_insert(&area->span, &iopt->area_tree);
		iopt->nareas++;
		areas[i] = NULL;
		if (!xa_empty(&iopt->domains)) {
			ret = iopt_area_populate(area);
			if (ret)
				goto err_remove;
		}
	}
	up_write(&iopt->tree_sem);
	up_read(&iopt->dom_sem);
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
	up_write(&iopt->tree_sem);
	up_read(&iopt->dom_sem);
err_free:
	for (i = 0; i != npieces; i++)
		kfree(areas[i]);
	kfree(areas);
	return ret;
}

/* Map a new store (or its allocation error) as one area; drop its ref */
static int iopt_map_new_pages(struct io_pagetable *iopt, unsigned long *iova,
			      struct iopt_pages *pages, unsigned long offset,
			      unsigned long length, int ioprot,
			      unsigned int flags)
{
	struct iopt_piece piece = {
		.pages = pages, .offset = offset, .length = length,
	};
	int ret;

	if (IS_ERR(pages))
		return PTR_ERR(pages);
	ret = iopt_insert_pieces(iopt, &piece, 1, iova, ioprot, flags);
	iopt_pages_put(pages);
	return ret;
}

/**
 * iopt_map_user() - map a range of the calling process's memory
 * @iopt: the IO address space
 * @iova: in: the IOVA with IOPT_MAP_FIXED_IOVA; out: the IOVA used
 * @uptr: user address
 * @length: bytes; not 0
 * @ioprot: IOMMU_READ and/or IOMMU_WRITE
 * @flags: IOPT_MAP_FIXED_IOVA, IOPT_MAP_PFNMAP
 * @charge_mode: enum iommufd_account_mode for the pins
 *
 * Context: Process context of the memory's owner; sleeps.
 * Return: 0, or -EINVAL (alignment, or a fixed IOVA over a reservation),
 * -EOVERFLOW, -EEXIST (overlaps an area), -ENOSPC (no free IOVA),
 * -ENOMEM, or an error of pinning when the IOAS has domains.
 */
int iopt_map_user(struct io_pagetable *iopt, unsigned long *iova,
		  void __user *uptr, unsigned long length, int ioprot,
		  unsigned int flags, u8 charge_mode)
{
	struct iopt_pages *pages;
	unsigned long end;

	if (!length)
		return -EINVAL;
	if (check_add_overflow((unsigned long)uptr, length, &end))
		return -EOVERFLOW;
	pages = iopt_pages_alloc((unsigned long)uptr, length,
				 ioprot & IOMMU_WRITE, charge_mode);
	if (!IS_ERR(pages))
		pages->allow_pfnmap = flags & IOPT_MAP_PFNMAP;
	return iopt_map_new_pages(iopt, iova, pages, offset_in_page(uptr),
				  length, ioprot, flags);
}

/**
 * iopt_map_file() - map a range of a memfd into the IO address space
 * @iopt: the IO address space
 * @iova: in: the IOVA with IOPT_MAP_FIXED_IOVA; out: the IOVA used
 * @file: the memfd
 * @start: byte offset in @file; plays the part of the user address
 * @length: bytes; not 0
 * @ioprot: IOMMU_READ and/or IOMMU_WRITE
 * @flags: IOPT_MAP_FIXED_IOVA (a file has no PFN mappings)
 * @charge_mode: how the pins are charged to the caller
 *
 * Context: Process context; sleeps.
 * Return: as iopt_map_user(); also -EINVAL for a file that is not a memfd
 * or a range beyond its end, -EPERM for write access through a file not
 * open for writing.
 */
int iopt_map_file(struct io_pagetable *iopt, unsigned long *iova,
		  struct file *file, unsigned long start, unsigned long length,
		  int ioprot, unsigned int flags, u8 charge_mode)
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
							ioprot & IOMMU_WRITE,
							charge_mode),
				  offset_in_page(start), length, ioprot,
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

	down_read(&iopt->tree_sem);
	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area && !ret;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		unsigned long key = (unsigned long)area->store / sizeof(long);

		if (xa_load(stores, key))
			continue;
		ret = xa_err(xa_store(stores, key, area->store, GFP_KERNEL));
		if (!ret)
			kref_get(&area->store->kref);
	}
	up_read(&iopt->tree_sem);
	return ret;
}

/**
 * iopt_copy() - map in @dst the pages that @src maps at a range of IOVA
 * @dst: the IOAS to map into
 * @src: the IOAS whose areas supply the pages; may be @dst
 * @src_iova: start of the source range, which must be fully mapped
 * @length: bytes; not 0
 * @dst_iova: in: the IOVA with IOPT_MAP_FIXED_IOVA; out: the IOVA used
 * @ioprot: IOMMU_READ and/or IOMMU_WRITE
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
	      unsigned long *dst_iova, int ioprot, unsigned int flags)
{
	struct iopt_piece *pieces;
	unsigned int npieces, i;
	struct iopt_area *area;
	struct iopt_run run;
	unsigned long last;
	int ret = 0;

	if (!length)
		return -EINVAL;
	if (check_add_overflow(src_iova, length - 1, &last))
		return -EOVERFLOW;

	/* The source must be mapped without a hole from end to end */
	down_read(&src->tree_sem);
	npieces = iopt_run_count(src, src_iova, last);
	if (!npieces) {
		up_read(&src->tree_sem);
		return -ENOENT;
	}
	pieces = kcalloc(npieces, sizeof(*pieces), GFP_KERNEL_ACCOUNT);
	if (!pieces) {
		up_read(&src->tree_sem);
		return -ENOMEM;
	}
	i = 0;
	for (area = iopt_run_start(&run, src, src_iova, last); area;
	     area = iopt_run_step(&run), i++) {
		pieces[i].pages = area->store;
		kref_get(&area->store->kref);
		pieces[i].offset = area->pages_offset +
				   (run.from - iopt_area_start(area));
		pieces[i].length = run.to - run.from + 1;
	}
	up_read(&src->tree_sem);

	ret = iopt_insert_pieces(dst, pieces, npieces, dst_iova, ioprot,
				 flags & IOPT_MAP_FIXED_IOVA);
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
	struct io_pagetable *iopt = area->owner;
	struct iopt_area *tail;
	int ret;

	lockdep_assert_held_write(&iopt->tree_sem);
	/* A domain may hold large IOPTEs unless large pages are off */
	if (!iopt->small_pages_only)
		return -EINVAL;
	if (area->naccess_pins)
		return -EBUSY;
	if ((iova - iopt_area_start(area)) & (iopt->align_min - 1))
		return -EINVAL;
	tail = kzalloc(sizeof(*tail), GFP_KERNEL_ACCOUNT);
	if (!tail)
		return -ENOMEM;
	tail->owner = iopt;
	tail->store = area->store;
	tail->pages_offset = area->pages_offset + (iova - iopt_area_start(area));
	tail->ioprot = area->ioprot;
	tail->span.start = iova;
	tail->span.last = iopt_area_last(area);

	if (area->populated) {
		ret = iopt_pages_add_user(tail->store, &tail->pin,
					  iopt_area_first_index(tail),
					  iopt_area_index_end(tail));
		if (ret) {
			kfree(tail);
			return ret;
		}
		tail->populated = true;
	}
	interval_tree_remove(&area->span, &iopt->area_tree);
	area->span.last = iova - 1;
	interval_tree_insert(&area->span, &iopt->area_tree);
	if (area->populated)
		iopt_pages_narrow_user(area->store, &area->pin,
				       iopt_area_first_index(area),
				       iopt_area_index_end(area));
	kref_get(&tail->store->kref);
	interval_tree_insert(&tail->span, &iopt->area_tree);
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

	lockdep_assert_held(&iopt->dom_sem);
	lockdep_assert_held_write(&iopt->tree_sem);
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
		if (area->naccess_pins)
			return -EBUSY;
	}
	while ((area = iopt_area_first(iopt, start, last))) {
		done += iopt_area_size(area);
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
 *	v1) instead of failing, which needs large pages disabled (-EINVAL)
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
		down_read(&iopt->dom_sem);
		down_write(&iopt->tree_sem);
		ret = iopt_unmap_range_locked(iopt, start, last, unmapped,
					      flags);
		up_write(&iopt->tree_sem);
		up_read(&iopt->dom_sem);
		/*
		 * Accesses hold pages in the range: ask them to let go, then
		 * try once more.  Still busy means a new pin raced in (or an
		 * access broke its contract): the user sees -EBUSY.
		 */
		if (ret != -EBUSY || notified)
			break;
		iommufd_access_revoke(iopt, start, last);
		notified = true;
	}
	/* An access waiting for an address there now finds nothing */
	if (!ret)
		iopt_vaddr_wake(iopt);
	return ret;
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

	down_read(&iopt->tree_sem);
	n = iopt->nareas;
	up_read(&iopt->tree_sem);
	return n;
}

/**
 * iopt_range_mapped() - does any mapping meet a range of IOVA
 * @iopt: the IO address space
 * @first: first IOVA
 * @last: last IOVA
 *
 * Context: Process context.
 * Return: true if an area holds an IOVA of [@first, @last].
 */
bool iopt_range_mapped(struct io_pagetable *iopt, unsigned long first,
		       unsigned long last)
{
	bool mapped;

	down_read(&iopt->tree_sem);
	mapped = iopt_area_first(iopt, first, last);
	up_read(&iopt->tree_sem);
	return mapped;
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
	iopt_free_ranges(&iopt->allow_tree);
	iopt_free_ranges(&iopt->resv_tree);
	WARN_ON(!xa_empty(&iopt->accesses));
	xa_destroy(&iopt->domains);
	xa_destroy(&iopt->accesses);
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

	down_write(&iopt->tree_sem);
	for (area = iopt_area_first(iopt, first, last); area;
	     area = iopt_area_next(area, first, last)) {
		if (iopt_area_start(area) < first ||
		    iopt_area_last(area) > last ||
		    (!area->store->file && area->store->vaddr_invalid)) {
			up_write(&iopt->tree_sem);
			return -EINVAL;
		}
	}
	for (area = iopt_area_first(iopt, first, last); area;
	     area = iopt_area_next(area, first, last)) {
		/* A file-backed area is reached by offset, not address */
		if (!area->store->file) {
			mutex_lock(&area->store->mutex);
			WRITE_ONCE(area->store->vaddr_invalid, true);
			mutex_unlock(&area->store->mutex);
		}
		done += iopt_area_size(area);
	}
	up_write(&iopt->tree_sem);
	*invalidated = done;
	return 0;
}

/**
 * iopt_update_vaddr() - give an invalidated area its new user address
 * @iopt: the IO address space
 * @iova: the area's first IOVA
 * @length: the area's length
 * @vaddr: the new address of its first byte, in the calling process
 * @charge_mode: how the calling process is to be charged (the context's)
 *
 * The calling process becomes the owner of the area's pages (see
 * iopt_pages_adopt()); waiting accesses resume.
 *
 * Context: Process context; sleeps.
 * Return: 0; -ENOENT if no area meets [@iova, @iova + @length); -EINVAL
 * unless the range is exactly one area whose address was invalidated, with
 * @vaddr in the same place in its page; -ENOMEM if the caller cannot be
 * charged.
 */
int iopt_update_vaddr(struct io_pagetable *iopt, unsigned long iova,
		      unsigned long length, unsigned long vaddr, u8 charge_mode)
{
	unsigned long last, base;
	struct iopt_area *area;
	int ret;

	if (!length || check_add_overflow(iova, length - 1, &last))
		return -EINVAL;
	down_write(&iopt->tree_sem);
	area = iopt_area_first(iopt, iova, last);
	if (!area) {
		ret = -ENOENT;
		goto out_unlock;
	}
	if (iopt_area_start(area) != iova ||
	    iopt_area_last(area) != last || area->store->file ||
	    !area->store->vaddr_invalid || vaddr < area->pages_offset) {
		ret = -EINVAL;
		goto out_unlock;
	}
	base = vaddr - area->pages_offset;
	if (!PAGE_ALIGNED(base)) {
		ret = -EINVAL;
		goto out_unlock;
	}
	ret = iopt_pages_adopt(area->store, base, charge_mode);
out_unlock:
	up_write(&iopt->tree_sem);
	if (!ret)
		iopt_vaddr_wake(iopt);
	return ret;
}

/* Does any area of [first, last] still lack its user address? */
static bool iopt_vaddr_missing(struct io_pagetable *iopt, unsigned long first,
			       unsigned long last)
{
	struct iopt_area *area;
	bool missing = false;

	down_read(&iopt->tree_sem);
	for (area = iopt_area_first(iopt, first, last); area && !missing;
	     area = iopt_area_next(area, first, last))
		missing = READ_ONCE(area->store->vaddr_invalid);
	up_read(&iopt->tree_sem);
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
		gen = atomic_read(&iopt->vaddr_gen);
		if (!iopt_vaddr_missing(iopt, first, last))
			return 0;
		if (wait_event_killable(iopt->vaddr_wait,
					atomic_read(&iopt->vaddr_gen) != gen))
			return -EINTR;
	}
}
