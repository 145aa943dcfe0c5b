/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The io_pagetable: an IO address space built of areas, each mapping a
 * range of a page store (struct iopt_pages) at an IOVA.
 *
 * Locking, outermost first:
 *   iopt->dom_sem    the set of attached domains and accesses; held for
 *                    read while mapping so that no domain comes or goes
 *   iopt->tree_sem   the area, allowed and reserved interval trees
 *   pages->mutex     a page store's pins and its users tree
 *
 * Invariants:
 *  - Areas never overlap each other or a reserved range, and lie inside the
 *    allowed ranges when any are set.
 *  - An area is "populated" exactly while the IOAS has a domain or an access
 *    needs it: then its pages are pinned (it is a user of its page store)
 *    and it is mapped in every attached domain.
 *  - A page of a store is pinned exactly once, whatever number of areas,
 *    IOASes and accesses use it, and is unpinned when its last user goes.
 */
#ifndef __IO_PAGETABLE_H
#define __IO_PAGETABLE_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/interval_tree.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/sizes.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <uapi/linux/iommufd.h>

struct file;
struct iommu_domain;
struct iopt_area;
struct mm_struct;
struct task_struct;
struct user_struct;

/**
 * struct iopt_owner - whom a page store's pins are charged to
 * @mode: enum iommufd_account_mode
 * @unlimited: the owner had CAP_IPC_LOCK: charged, never refused
 * @mm: the process memory the pages come from: its locked_vm is charged
 *	in IOMMUFD_ACCOUNT_MM mode, its pinned_vm in the others
 * @task: the process's group leader, for RLIMIT_MEMLOCK
 * @user: the user, whose locked_vm IOMMUFD_ACCOUNT_USER mode charges
 */
struct iopt_owner {
	u8 mode;
	bool unlimited;
	struct mm_struct *mm;
	struct task_struct *task;
	struct user_struct *user;
};

/**
 * struct iopt_pages - pinned user memory shared by areas and accesses
 * @kref: areas (and copies of them) holding the store
 * @mutex: protects @users, @chunks, @pfnmap and @ncharged
 * @uva: page-aligned user address of page index 0; for a file-backed
 *	store, the page-aligned file offset of page index 0
 * @nr_pages: pages the store spans
 * @write_ok: pinned for write
 * @owner: whom the pins are charged to, and whose memory they are; the
 *	store holds references on its mm, task and user
 * @file: the memfd of a file-backed store (referenced), else NULL
 * @vaddr_invalid: VFIO_DMA_UNMAP_FLAG_VADDR took @uva away: nothing can
 *	be pinned until a new one arrives (changed under pages->mutex and
 *	the tree_sem of the IO address space, written)
 * @users: index ranges that need the pages pinned (struct iopt_pages_user)
 * @chunks: the PFN store (see pages.c): per chunk of IOPT_CHUNK_PAGES
 *	pages, an array of PFNs or a contiguous run; NULL until the first pin
 * @chunk_one: the table of a store within one chunk (@chunks points here)
 * @chunk_skew: page index 0's position in its chunk, fixed with @chunks
 * @whole: NULL, or the one area the whole store is lent to: then there is
 *	no @chunks table (see pages.c)
 * @allow_pfnmap: pages GUP refuses may be VM_PFNMAP/VM_IO memory, mapped
 *	by PFN (the VFIO container: type1 allows peer-to-peer DMA)
 * @pfnmap: NULL, or a bit per page set where the store holds the PFN of a
 *	VM_PFNMAP/VM_IO mapping: not pinned, not charged, no struct page
 * @ncharged: pinned pages, each charged to the owner
 */
/* Pages per chunk of the PFN store: one 2 MiB block of address */
#define IOPT_CHUNK_PAGES (SZ_2M / PAGE_SIZE)

struct iopt_pages {
	struct kref kref;
	struct mutex mutex;		/* see above */
	unsigned long uva;
	unsigned long nr_pages;
	bool write_ok;
	struct iopt_owner owner;
	struct file *file;
	bool vaddr_invalid;
	bool allow_pfnmap;
	struct rb_root_cached users;
	unsigned long *chunks;
	unsigned long chunk_one;
	unsigned int chunk_skew;
	struct iopt_area *whole;
	unsigned long *pfnmap;
	unsigned long ncharged;
};

/* A range of page indexes [node.start, node.last] that must stay pinned */
struct iopt_pages_user {
	struct interval_tree_node node;
};

/**
 * struct iopt_area - a range of IOVA mapping a range of a page store
 * @span: [start, last] IOVA, in iopt->area_tree
 * @owner: the io_pagetable
 * @store: the page store
 * @pages_offset: byte offset of the area's first byte from @store->uva
 * @pin: the area's page index range, a user of @store while populated
 * @ioprot: IOMMU_READ / IOMMU_WRITE
 * @populated: pinned and mapped into every domain of @owner
 * @naccess_pins: access pins through this area; the area cannot be
 *	unmapped while an access has not released them
 * @lender: NULL, or the domain of @owner whose IOMMU page table keeps the
 *	PFNs of chunks of @store lent to the area (see pages.c); changed
 *	under @store's mutex and @owner's dom_sem, written
 * @lent_runs: while @store is (or was) wholly lent to the area, a bit per
 *	chunk that was a run; under @store's mutex
 */
struct iopt_area {
	struct interval_tree_node span;
	struct io_pagetable *owner;
	struct iopt_pages *store;
	unsigned long pages_offset;
	struct iopt_pages_user pin;
	int ioprot;
	bool populated;
	unsigned int naccess_pins;
	struct iommu_domain *lender;
	unsigned long *lent_runs;
};

/**
 * struct io_pagetable - an IO address space
 * @dom_sem: see the locking rules above
 * @tree_sem: see the locking rules above
 * @domains: the attached iommu_domains, by index
 * @area_tree: struct iopt_area by IOVA
 * @nareas: how many areas @area_tree holds, under @tree_sem
 * @allow_tree: ranges automatic IOVA may use; empty means everything
 * @resv_tree: ranges nothing may map (struct iopt_resv)
 * @align_min: every area's IOVA and length are aligned to it
 * @small_pages_only: map domains with PAGE_SIZE entries only, each in a
 *	map call of its own where it continues the page before it (so that
 *	any page can be cut out of any driver's domain)
 * @accesses: the attached in-kernel accesses, under @dom_sem
 * @page_accesses: attached accesses that pin pages: they need PAGE_SIZE
 *	alignment
 * @vaddr_wait: where in-kernel accesses wait for a mapping to get its user
 *	address back (VFIO_DMA_MAP_FLAG_VADDR; iopt_wait_vaddr())
 * @vaddr_gen: counts the address updates and unmaps that may end a wait
 */
struct io_pagetable {
	struct rw_semaphore dom_sem;
	struct rw_semaphore tree_sem;
	struct xarray domains;
	struct xarray accesses;
	unsigned int page_accesses;
	struct rb_root_cached area_tree;
	unsigned long nareas;
	struct rb_root_cached allow_tree;
	struct rb_root_cached resv_tree;
	unsigned long align_min;
	bool small_pages_only;
	wait_queue_head_t vaddr_wait;
	atomic_t vaddr_gen;
};

/**
 * struct iopt_resv - a range of IOVA nothing may map
 * @span: [start, last]
 * @tag: who reserved it (a device, a domain aperture, the test suite);
 *	a reservation is removed by its owner
 */
struct iopt_resv {
	struct interval_tree_node span;
	void *tag;
};

/*
 * The area walk.  iopt_area_first() is the first area intersecting
 * [@start, @last] in IOVA order, iopt_area_next() the one after @area; both
 * NULL at the end.  The caller holds iopt->tree_sem, which the first
 * step asserts, for the whole walk.
 */
/* The area an area_tree node belongs to; NULL for no node */
static inline struct iopt_area *iopt_node_area(struct interval_tree_node *node)
{
	return node ? container_of(node, struct iopt_area, span) : NULL;
}

static inline struct iopt_area *iopt_area_first(struct io_pagetable *iopt,
						unsigned long start,
						unsigned long last)
{
	lockdep_assert_held(&iopt->tree_sem);
	return iopt_node_area(interval_tree_iter_first(&iopt->area_tree,
						       start, last));
}

static inline struct iopt_area *iopt_area_next(struct iopt_area *area,
					       unsigned long start,
					       unsigned long last)
{
	return iopt_node_area(interval_tree_iter_next(&area->span, start,
						      last));
}

/* The first and the last IOVA an area maps (node.start, node.last) */
static inline unsigned long iopt_area_start(const struct iopt_area *area)
{
	return area->span.start;
}

static inline unsigned long iopt_area_last(const struct iopt_area *area)
{
	return area->span.last;
}

static inline unsigned long iopt_area_size(struct iopt_area *area)
{
	return area->span.last - area->span.start + 1;
}

/**
 * struct iopt_run - a walk over the areas that map a range back to back
 * @area: the area of this step; NULL once the walk is over
 * @from: the first IOVA of the range this step's area maps
 * @to: the last IOVA of the range this step's area maps
 * @start: the range's first IOVA
 * @last: the range's last IOVA
 * @covered: the steps so far reached @last without a hole
 *
 * for (area = iopt_run_start(&run, iopt, start, last); area;
 *      area = iopt_run_step(&run))
 * visits the areas in IOVA order and ends at the first hole (or at @last);
 * iopt_run_complete() then says whether the whole range was mapped.  The
 * caller holds iopt->tree_sem for the whole walk, which the first step
 * asserts.
 */
struct iopt_run {
	struct iopt_area *area;
	unsigned long from;
	unsigned long to;
	unsigned long start;
	unsigned long last;
	bool covered;
};

/* Make @area the run's next step if it continues the run without a hole */
static inline struct iopt_area *iopt_run_take(struct iopt_run *run,
					      struct iopt_area *area)
{
	unsigned long want = run->area ? run->to + 1 : run->start;

	if (!area || run->covered || iopt_area_start(area) > want) {
		run->area = NULL;
		return NULL;
	}
	run->area = area;
	run->from = want;
	run->to = min(run->last, iopt_area_last(area));
	run->covered = run->to == run->last;
	return area;
}

static inline struct iopt_area *iopt_run_start(struct iopt_run *run,
					       struct io_pagetable *iopt,
					       unsigned long start,
					       unsigned long last)
{
	*run = (struct iopt_run){ .start = start, .last = last };
	return iopt_run_take(run, iopt_area_first(iopt, start, last));
}

static inline struct iopt_area *iopt_run_step(struct iopt_run *run)
{
	return iopt_run_take(run, iopt_area_next(run->area, run->start,
						 run->last));
}

static inline bool iopt_run_complete(const struct iopt_run *run)
{
	return run->covered;
}

/* The number of areas that map [start, last] back to back; 0 for a hole */
static inline unsigned int iopt_run_count(struct io_pagetable *iopt,
					  unsigned long start,
					  unsigned long last)
{
	struct iopt_run run;
	unsigned int n = 0;

	for (iopt_run_start(&run, iopt, start, last); run.area;
	     iopt_run_step(&run))
		n++;
	return iopt_run_complete(&run) ? n : 0;
}

/**
 * struct iopt_work - one piece of a job done in parallel
 * @work: on the unbound workqueue
 * @fn: does the piece; its return is @ret
 * @ret: 0 or an errno, once @finished
 * @finished: completed when @fn has returned
 *
 * The parallel pin (pages.c) and map (io_pagetable.c) embed it in their
 * pieces: iopt_work_queue() starts one on a worker, iopt_work_wait()
 * waits for it and returns what it returned.
 */
struct iopt_work {
	struct work_struct work;
	int (*fn)(struct iopt_work *piece);
	int ret;
	struct completion finished;
};

static inline void iopt_work_run(struct work_struct *work)
{
	struct iopt_work *piece = container_of(work, struct iopt_work, work);

	piece->ret = piece->fn(piece);
	complete(&piece->finished);
}

static inline void iopt_work_queue(struct iopt_work *piece,
				   int (*fn)(struct iopt_work *piece))
{
	piece->fn = fn;
	init_completion(&piece->finished);
	INIT_WORK(&piece->work, iopt_work_run);
	queue_work(system_unbound_wq, &piece->work);
}

static inline int iopt_work_wait(struct iopt_work *piece)
{
	wait_for_completion(&piece->finished);
	return piece->ret;
}

/* pages.c: the page store */
struct iopt_pages *iopt_pages_alloc(unsigned long uptr, unsigned long length,
				    bool writable, u8 charge_mode);
struct iopt_pages *iopt_pages_alloc_file(struct file *file,
					 unsigned long start,
					 unsigned long length, bool writable,
					 u8 charge_mode);
void iopt_pages_release(struct kref *kref);
int iopt_pages_change_owner(struct iopt_pages **stores, unsigned int n,
			    u8 charge_mode);
int iopt_pages_adopt(struct iopt_pages *pages, unsigned long uptr,
		     u8 charge_mode);

static inline void iopt_pages_put(struct iopt_pages *pages)
{
	kref_put(&pages->kref, iopt_pages_release);
}

int iopt_pages_add_user(struct iopt_pages *pages,
			struct iopt_pages_user *user, unsigned long first,
			unsigned long last);
int iopt_pages_add_page_user(struct iopt_pages *pages,
			     struct iopt_pages_user *user, unsigned long first,
			     unsigned long last);
void iopt_pages_remove_user(struct iopt_pages *pages,
			    struct iopt_pages_user *user);
void iopt_pages_narrow_user(struct iopt_pages *pages,
			    struct iopt_pages_user *user, unsigned long first,
			    unsigned long last);
unsigned long iopt_pages_run(struct iopt_pages *pages, unsigned long index,
			     unsigned long max);
unsigned long iopt_pages_pfn(struct iopt_pages *pages, unsigned long index);
unsigned long iopt_pages_scattered(struct iopt_pages *pages,
				   unsigned long first, unsigned long last);
void iopt_pages_lend(struct iopt_pages *pages, struct iopt_area *area,
		     struct iommu_domain *domain);
void iopt_pages_set_lender(struct iopt_pages *pages, struct iopt_area *area,
			   struct iommu_domain *domain);
void iopt_pages_remove_lender(struct iopt_pages *pages, struct iopt_area *area);

/* io_pagetable.c */
void iopt_init(struct io_pagetable *iopt);
void iopt_destroy(struct io_pagetable *iopt);
/* Flags of iopt_map_user(), iopt_map_file() and iopt_copy() */
enum {
	/* Map at *iova, as given, instead of choosing an IOVA */
	IOPT_MAP_FIXED_IOVA = BIT(0),
	/*
	 * VM_PFNMAP/VM_IO memory (a device BAR: peer-to-peer DMA) may be
	 * mapped by PFN without a pin, as VFIO type1 allows; iopt_map_user()
	 * only, for the VFIO container
	 */
	IOPT_MAP_PFNMAP = BIT(1),
};

int iopt_map_user(struct io_pagetable *iopt, unsigned long *iova,
		  void __user *uptr, unsigned long length, int ioprot,
		  unsigned int flags, u8 charge_mode);
int iopt_map_file(struct io_pagetable *iopt, unsigned long *iova,
		  struct file *file, unsigned long start, unsigned long length,
		  int ioprot, unsigned int flags, u8 charge_mode);
int iopt_collect_stores(struct io_pagetable *iopt, struct xarray *stores);
int iopt_invalidate_vaddr(struct io_pagetable *iopt, unsigned long first,
			  unsigned long last, unsigned long *invalidated);
int iopt_update_vaddr(struct io_pagetable *iopt, unsigned long iova,
		      unsigned long length, unsigned long vaddr, u8 charge_mode);
int iopt_wait_vaddr(struct io_pagetable *iopt, unsigned long first,
		    unsigned long last);
int iopt_copy(struct io_pagetable *dst, struct io_pagetable *src,
	      unsigned long src_iova, unsigned long length,
	      unsigned long *dst_iova, int ioprot, unsigned int flags);
enum {
	IOPT_UNMAP_ALLOW_EMPTY = 1 << 0,
	IOPT_UNMAP_CUT = 1 << 1,
};

int iopt_unmap_range(struct io_pagetable *iopt, unsigned long start,
		     unsigned long last, unsigned long *unmapped,
		     unsigned int flags);
int iopt_set_allowed(struct io_pagetable *iopt,
		     struct rb_root_cached *allowed);
int iopt_reserve(struct io_pagetable *iopt, unsigned long start,
		 unsigned long last, void *owner);
void iopt_unreserve(struct io_pagetable *iopt, void *owner);
int iopt_usable_ranges(struct io_pagetable *iopt,
		       struct iommu_iova_range __user *ranges,
		       u32 *num_ranges);
typedef int (*iopt_range_fn_t)(unsigned long start, unsigned long last,
			       void *arg);
int iopt_walk_usable(struct io_pagetable *iopt, iopt_range_fn_t fn,
		     void *arg);
unsigned long iopt_page_sizes(struct io_pagetable *iopt);
unsigned long iopt_count_areas(struct io_pagetable *iopt);
bool iopt_range_mapped(struct io_pagetable *iopt, unsigned long first,
		       unsigned long last);
int iopt_set_large_pages(struct io_pagetable *iopt, bool enable);
int iopt_add_range(struct rb_root_cached *root, unsigned long start,
		   unsigned long last, void *owner);
void iopt_free_ranges(struct rb_root_cached *root);
int iopt_add_domain(struct io_pagetable *iopt, struct iommu_domain *domain);
void iopt_remove_domain(struct io_pagetable *iopt,
			struct iommu_domain *domain);
int iopt_dirty_track(struct io_pagetable *iopt,
		     struct iommu_domain *domain, bool enable);
int iopt_dirty_collect(struct io_pagetable *iopt,
		       struct iommu_domain *domain, u32 flags, u64 iova,
			      u64 length, u64 page_size, u64 __user *data);
int iopt_mark_mapped_dirty(struct io_pagetable *iopt, unsigned long iova,
			   unsigned long length, unsigned long page_size,
			   u64 __user *data);
bool iopt_range_on_area_edges(struct io_pagetable *iopt, unsigned long first,
			      unsigned long last);
int iopt_walk_dirty_domains(struct io_pagetable *iopt, bool require_all,
			    int (*fn)(struct iommu_domain *domain, void *arg),
			    void *arg);

struct iommufd_access;
int iopt_access_attach(struct io_pagetable *iopt, struct iommufd_access *access,
		       bool pins_pages, u32 *index);
void iopt_access_detach(struct io_pagetable *iopt, u32 index,
			bool pins_pages);
/*
 * Between the files of the io_pagetable (io_pagetable.c, iova_space.c,
 * iopt_domains.c, iopt_dirty.c); no one else calls these.
 */
int iopt_area_map_domain(struct iopt_area *area,
			 struct iommu_domain *domain);
void iopt_area_clear_domain(struct iopt_area *area,
			    struct iommu_domain *domain);
int iopt_area_populate(struct iopt_area *area);
void iopt_area_unpin(struct iopt_area *area, struct iommu_domain *domain);
unsigned long iopt_domain_alignment(struct iommu_domain *domain);
void iopt_update_alignment(struct io_pagetable *iopt);
bool iopt_areas_aligned(struct io_pagetable *iopt, unsigned long align);
int iopt_place(struct io_pagetable *iopt, unsigned long *iova,
	       unsigned long uptr, unsigned long length,
		      unsigned int flags);
void iopt_unreserve_locked(struct io_pagetable *iopt, void *owner);
int iopt_reserve_outside(struct io_pagetable *iopt, void *owner,
			 unsigned long start, unsigned long last);

#endif
