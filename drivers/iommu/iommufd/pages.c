// SPDX-License-Identifier: GPL-2.0-only
/*
 * The page store: user memory pinned on behalf of IO address spaces.
 *
 * A struct iopt_pages covers a page-aligned range of a process's memory.
 * IOAS_MAP creates one; IOAS_COPY shares it between areas, in one IOAS or
 * several.  Nothing is pinned until something needs the pages: an area
 * whose IOAS has a domain, or an in-kernel access.  Each such need is a
 * "user", an index range in pages->users.  The store keeps the PFN of
 * every pinned page (the PFN store, below), so:
 *
 *  - a page is pinned exactly once however many users cover it, and is
 *    unpinned (and uncharged) when the last user covering it goes;
 *  - the bookkeeping is one word per 2 MiB for huge pages or pages in
 *    physical order, and at most 8 bytes per 4 KiB page (0.2 %) for pages
 *    scattered in physical memory, allocated only while something is
 *    pinned;
 *  - what one area alone maps in a domain of scattered pages, the domain
 *    keeps for the store (lending, below): then the store's memory is a
 *    word per 2 MiB too, and unmapping reads those PFNs back out of the
 *    domain.
 *
 * A store is either a range of process memory, pinned through the
 * process's page tables, or a range of a memfd (IOMMU_IOAS_MAP_FILE),
 * pinned from the file by offset whatever any page table maps.
 *
 * Accounting: pins are charged when taken, in the mode the store was made
 * with (enum iommufd_account_mode), against the RLIMIT_MEMLOCK of the
 * store's owner, the process that made it.  Every failure uncharges what
 * it charged.  The owner of file-backed stores can change
 * (iopt_pages_change_owner()); the charges move with it.
 *
 * Locking: pages->mutex covers users, the PFN store, ncharged and the owner
 * record.  It nests inside the io_pagetable locks and takes the owner's
 * mmap lock inside itself.  No path holds two stores' mutexes: a handover
 * of many stores moves them one at a time (iopt_pages_change_owner()).
 */
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/hugetlb.h>
#include <linux/iommu.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/shmem_fs.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"
#include "iommufd_private.h"

/*
 * The calling process as an owner charged in @mode; no references.  A
 * process with CAP_IPC_LOCK is exempt from RLIMIT_MEMLOCK: per user it is
 * not charged at all; per process it is charged but never limited, as
 * VFIO type1 charges it, so its locked_vm still says what devices hold.
 */
static struct iopt_owner iopt_current_owner(u8 mode)
{
	bool exempt = capable(CAP_IPC_LOCK);

	if (exempt && mode == IOMMUFD_ACCOUNT_USER)
		mode = IOMMUFD_ACCOUNT_NONE;
	return (struct iopt_owner){
		.mode = mode,
		.unlimited = exempt,
		.mm = current->mm,
		.task = current->group_leader,
		.user = current_user(),
	};
}

/* Make @dst the owner @src names, with references of its own */
static void iopt_owner_hold(struct iopt_owner *dst,
			    const struct iopt_owner *src)
{
	*dst = *src;
	mmgrab(dst->mm);
	get_task_struct(dst->task);
	get_uid(dst->user);
}

/* Drop the references an owner record holds */
static void iopt_owner_put(struct iopt_owner *owner)
{
	mmdrop(owner->mm);
	put_task_struct(owner->task);
	free_uid(owner->user);
}

static bool iopt_owner_same(const struct iopt_owner *a,
			    const struct iopt_owner *b)
{
	return a->mm == b->mm && a->task == b->task && a->user == b->user &&
	       a->mode == b->mode && a->unlimited == b->unlimited;
}

/*
 * A store of the pages under [@base, @base + @length), owned by the calling
 * process (it is charged for them; CAP_IPC_LOCK is never charged), with
 * nothing pinned yet.
 */
static struct iopt_pages *iopt_pages_new(unsigned long base,
					 unsigned long length, bool writable,
					 u8 charge_mode)
{
	unsigned long first = base >> PAGE_SHIFT;
	unsigned long last = (base + length - 1) >> PAGE_SHIFT;
	struct iopt_pages *pages = NULL;
	struct iopt_owner me;

	if (!iommufd_inject_fail())
		pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	pages->uva = first << PAGE_SHIFT;
	pages->nr_pages = last - first + 1;
	pages->write_ok = writable;
	pages->users = RB_ROOT_CACHED;
	me = iopt_current_owner(charge_mode);
	iopt_owner_hold(&pages->owner, &me);
	mutex_init(&pages->mutex);
	kref_init(&pages->kref);
	return pages;
}

/**
 * iopt_pages_alloc() - describe a range of the calling process's memory
 * @uptr: start of the range
 * @length: bytes; not 0, and @uptr + @length must not overflow
 * @writable: devices may write the memory
 * @charge_mode: how pins are to be charged
 *
 * Nothing is pinned or checked yet: the range may not even be mapped.
 *
 * Context: Process context, in the process that owns the memory.
 * Return: the store with one reference, or ERR_PTR(-ENOMEM).
 */
struct iopt_pages *iopt_pages_alloc(unsigned long uptr, unsigned long length,
				    bool writable, u8 charge_mode)
{
	return iopt_pages_new(uptr, length, writable, charge_mode);
}

/**
 * iopt_pages_alloc_file() - describe a range of a memfd
 * @file: a shmem or hugetlbfs file; the store takes a reference
 * @start: byte offset of the range in the file
 * @length: bytes; not 0, and @start + @length must not overflow
 * @writable: devices may write the memory
 * @charge_mode: how pins are to be charged, to the calling process
 *
 * Context: Process context.
 * Return: the store with one reference; ERR_PTR(-EINVAL) for a file that
 * is not a memfd, -EPERM for @writable on a file not open for writing,
 * -ENOMEM.
 */
struct iopt_pages *iopt_pages_alloc_file(struct file *file,
					 unsigned long start,
					 unsigned long length, bool writable,
					 u8 charge_mode)
{
	struct iopt_pages *pages;

	if (!shmem_file(file) && !is_file_hugepages(file))
		return ERR_PTR(-EINVAL);
	/* A device must not write where its user cannot */
	if (writable && !(file->f_mode & FMODE_WRITE))
		return ERR_PTR(-EPERM);
	pages = iopt_pages_new(start, length, writable, charge_mode);
	if (!IS_ERR(pages))
		pages->file = get_file(file);
	return pages;
}

/*
 * The PFN store.  The PFNs of a store's pinned pages are kept per chunk of
 * IOPT_CHUNK_PAGES pages, one 2 MiB block of the store's address space
 * (user address or file offset).  pages->chunks has one word per chunk:
 *
 *  - 0: no page of the chunk is pinned;
 *  - a run, (base << 1) | IOPT_CHUNK_RUN: every pinned page of the chunk
 *    at position pos has PFN base + pos.  A huge page, or small pages
 *    faulted in order, cost this one word and nothing else;
 *  - an array with one PFN per page of the chunk that lies in the store:
 *    512 words for an inner chunk, fewer for a store's first and last
 *    chunks, one for a store of one page;
 *  - lent, (area | IOPT_CHUNK_LENT): the chunk's PFNs are read out of the
 *    IOMMU page table of the one area that uses the chunk (see "Lending"
 *    below).
 *
 * Which pages are pinned is not written here.  It is exactly what the
 * users cover (pages->users), plus, inside iopt_pages_add_user(), what
 * that call has pinned so far and not yet inserted.  An entry is only
 * ever read for a pinned page, so a run needs no bitmap of its pages, an
 * array need not be zeroed, and unpinning writes nothing but the word of
 * a chunk it leaves without pins (iopt_pfns_trim()): it never allocates,
 * so teardown cannot fail.
 *
 * A chunk's first pinned batch makes it a run when its PFNs are
 * consecutive; a later batch that does not continue the run turns it into
 * an array, filled from the run.  A store within one chunk keeps the
 * chunk's word in pages->chunk_one instead of allocating a table: with
 * the array sized to the store, mapping one small page allocates nothing
 * for its PFN.  Words and entries are written under pages->mutex (or by a
 * pin worker alone on its chunks) and read under it, or by a holder of a
 * user covering the page (iopt_chunk_word()).
 */
#define IOPT_CHUNK_RUN 1UL
#define IOPT_CHUNK_LENT 2UL
/* Only as iopt_chunk_word() reads a wholly lent store, never stored */
#define IOPT_CHUNK_LENT_RUN 6UL
#define IOPT_CHUNK_TAGS 7UL

static unsigned long iopt_chunk(struct iopt_pages *pages, unsigned long index)
{
	return (index + pages->chunk_skew) / IOPT_CHUNK_PAGES;
}

static unsigned int iopt_chunk_pos(struct iopt_pages *pages,
				   unsigned long index)
{
	return (index + pages->chunk_skew) % IOPT_CHUNK_PAGES;
}

static unsigned long iopt_nr_chunks(struct iopt_pages *pages)
{
	return DIV_ROUND_UP(pages->nr_pages + pages->chunk_skew,
			    IOPT_CHUNK_PAGES);
}

/* The first position of chunk @chunk inside the store, and how many */
static unsigned int iopt_chunk_lo(struct iopt_pages *pages,
				  unsigned long chunk)
{
	return chunk ? 0 : pages->chunk_skew;
}

static unsigned int iopt_chunk_len(struct iopt_pages *pages,
				   unsigned long chunk)
{
	unsigned long end = pages->nr_pages + pages->chunk_skew -
			    chunk * IOPT_CHUNK_PAGES;

	return min_t(unsigned long, end, IOPT_CHUNK_PAGES) -
	       iopt_chunk_lo(pages, chunk);
}

/* The page index range [*first, *last] of chunk @chunk */
static void iopt_chunk_span(struct iopt_pages *pages, unsigned long chunk,
			    unsigned long *first, unsigned long *last)
{
	*first = chunk * IOPT_CHUNK_PAGES + iopt_chunk_lo(pages, chunk) -
		 pages->chunk_skew;
	*last = *first + iopt_chunk_len(pages, chunk) - 1;
}

static bool iopt_word_is_run(unsigned long ent)
{
	return ent & IOPT_CHUNK_RUN;
}

static unsigned long iopt_run_base(unsigned long ent)
{
	return ent >> 1;
}

/* Lent, a run or not */
static bool iopt_word_is_lent(unsigned long ent)
{
	return (ent & (IOPT_CHUNK_RUN | IOPT_CHUNK_LENT)) == IOPT_CHUNK_LENT;
}

static bool iopt_word_is_lent_run(unsigned long ent)
{
	return (ent & IOPT_CHUNK_TAGS) == IOPT_CHUNK_LENT_RUN;
}

static bool iopt_word_is_array(unsigned long ent)
{
	return ent && !(ent & IOPT_CHUNK_TAGS);
}

static struct iopt_area *iopt_word_area(unsigned long ent)
{
	return (struct iopt_area *)(ent & ~IOPT_CHUNK_TAGS);
}

/*
 * The IOVA at which @area maps page @index of its store: of the page's
 * first byte inside the area, which is the area's first byte for its
 * first page.
 */
static unsigned long iopt_area_iova_of(struct iopt_area *area,
				       unsigned long index)
{
	unsigned long byte = max(index << PAGE_SHIFT, area->pages_offset);

	return iopt_area_start(area) + (byte - area->pages_offset);
}

/* The PFN of page @index of a chunk lent to @area, from its lender */
static unsigned long iopt_lent_pfn(struct iopt_area *area, unsigned long index)
{
	return PHYS_PFN(iommu_iova_to_phys(area->lender,
					   iopt_area_iova_of(area, index)));
}

/*
 * A chunk's word, for a reader that may not hold pages->mutex: a user
 * covering the page read keeps the chunk from being freed, but a pin
 * beside it may turn a run into an array meanwhile, which is published
 * filled (iopt_chunk_array()).
 */
static unsigned long iopt_chunk_word(struct iopt_pages *pages,
				     unsigned long chunk)
{
	/* Paired with iopt_pfns_unlend_whole(): then the table is there */
	struct iopt_area *whole = smp_load_acquire(&pages->whole);

	if (whole)
		return (unsigned long)whole |
		       (test_bit(chunk, whole->lent_runs) ?
			IOPT_CHUNK_LENT_RUN : IOPT_CHUNK_LENT);
	return READ_ONCE(pages->chunks[chunk]);
}

/* Allocate the chunk table at the first pin; Return: 0 or -ENOMEM */
static int iopt_pfns_init(struct iopt_pages *pages)
{
	unsigned long n;

	if (pages->chunks)
		return 0;
	/* Chunks follow the 2 MiB blocks of the address, where huge pages sit */
	pages->chunk_skew = (pages->uva >> PAGE_SHIFT) % IOPT_CHUNK_PAGES;
	n = iopt_nr_chunks(pages);
	if (n == 1) {
		pages->chunk_one = 0;
		pages->chunks = &pages->chunk_one;
		return 0;
	}
	pages->chunks = kvcalloc(n, sizeof(*pages->chunks),
				 GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	return pages->chunks ? 0 : -ENOMEM;
}

static void iopt_pfns_free(struct iopt_pages *pages)
{
	unsigned long i, n;

	if (!pages->chunks)
		return;
	n = iopt_nr_chunks(pages);
	for (i = 0; i != n; i++) {
		/* A chunk is lent only while its area uses it */
		WARN_ON(iopt_word_is_lent(pages->chunks[i]));
		if (iopt_word_is_array(pages->chunks[i]))
			kfree((void *)pages->chunks[i]);
	}
	if (pages->chunks != &pages->chunk_one)
		kvfree(pages->chunks);
}

/**
 * iopt_pages_pfn() - the PFN of a pinned page of the store
 * @pages: the store
 * @index: a page that is pinned (or mapped by PFN)
 *
 * Context: pages->mutex held, or a user covering @index and, for a chunk
 * lent to an area, that area's IO address space's dom_sem.
 * Return: its PFN; meaningless for a page that is not pinned.
 */
unsigned long iopt_pages_pfn(struct iopt_pages *pages, unsigned long index)
{
	unsigned long chunk = iopt_chunk(pages, index);
	unsigned long ent = iopt_chunk_word(pages, chunk);
	unsigned int pos = iopt_chunk_pos(pages, index);

	if (iopt_word_is_run(ent))
		return iopt_run_base(ent) + pos;
	if (iopt_word_is_lent(ent))
		return iopt_lent_pfn(iopt_word_area(ent), index);
	return ((unsigned long *)ent)[pos - iopt_chunk_lo(pages, chunk)];
}

/**
 * iopt_pages_scattered() - how many pages of a range are kept one by one
 * @pages: the store
 * @first: first page index, pinned
 * @last: last page index, pinned
 *
 * Counts the pages of [@first, @last] in array chunks: each may need an
 * IOPTE of its own, where a run chunk needs one or a few.  It is what
 * mapping the range into a domain costs, roughly.
 *
 * Context: pages->mutex held, or a user covering the range.
 * Return: the count.
 */
unsigned long iopt_pages_scattered(struct iopt_pages *pages,
				   unsigned long first, unsigned long last)
{
	unsigned long chunk, end = iopt_chunk(pages, last), n = 0;

	for (chunk = iopt_chunk(pages, first); chunk <= end; chunk++) {
		unsigned long ent = iopt_chunk_word(pages, chunk);
		unsigned long cfirst, clast;

		if (iopt_word_is_run(ent) || iopt_word_is_lent_run(ent))
			continue;
		iopt_chunk_span(pages, chunk, &cfirst, &clast);
		n += min(clast, last) - max(cfirst, first) + 1;
	}
	return n;
}

/*
 * The array of chunk @chunk: allocated when the chunk has none, and filled
 * from its run when it was one, or from its lender when it was lent (see
 * "Lending": the lender is its only user, so only its pages are pinned).
 * Return: the array, or NULL without memory (the chunk unchanged).
 */
static unsigned long *iopt_chunk_array(struct iopt_pages *pages,
				       unsigned long chunk)
{
	unsigned long ent = pages->chunks[chunk];
	unsigned int lo = iopt_chunk_lo(pages, chunk);
	unsigned int len = iopt_chunk_len(pages, chunk), i;
	unsigned long *arr;

	if (iopt_word_is_array(ent))
		return (unsigned long *)ent;
	arr = kmalloc_array(len, sizeof(*arr), GFP_KERNEL_ACCOUNT);
	if (!arr)
		return NULL;
	if (iopt_word_is_lent(ent)) {
		struct iopt_area *area = iopt_word_area(ent);
		unsigned long cfirst, clast, at;

		iopt_chunk_span(pages, chunk, &cfirst, &clast);
		for (at = max(cfirst, area->pin.node.start);
		     at <= min(clast, area->pin.node.last); at++)
			arr[at - cfirst] = iopt_lent_pfn(area, at);
	} else if (ent) {
		for (i = 0; i != len; i++)
			arr[i] = iopt_run_base(ent) + lo + i;
	}
	/* Filled before it is seen: readers need not hold the mutex */
	smp_store_release(&pages->chunks[chunk], (unsigned long)arr);
	return arr;
}

static bool iopt_list_consecutive(struct page **list, unsigned int n)
{
	unsigned long pfn = page_to_pfn(list[0]);
	unsigned int i;

	for (i = 1; i != n; i++)
		if (page_to_pfn(list[i]) != pfn + i)
			return false;
	return true;
}

/*
 * Store the PFNs of the pinned pages @list, @n of them from @index, all in
 * one chunk and none stored yet.  The caller holds pages->mutex, or is a
 * pin worker alone on the chunk (see iopt_pages_pin_parallel()).
 * Return: 0 or -ENOMEM, with nothing stored.
 */
static int iopt_pfns_store(struct iopt_pages *pages, unsigned long index,
			   struct page **list, unsigned int n)
{
	unsigned long chunk = iopt_chunk(pages, index);
	unsigned int pos = iopt_chunk_pos(pages, index), i;
	unsigned long ent = pages->chunks[chunk];
	unsigned long pfn = page_to_pfn(list[0]);
	unsigned long *arr;

	if (!ent && pfn >= pos && iopt_list_consecutive(list, n)) {
		WRITE_ONCE(pages->chunks[chunk],
			   (pfn - pos) << 1 | IOPT_CHUNK_RUN);
		return 0;
	}
	if (iopt_word_is_run(ent) && pfn == iopt_run_base(ent) + pos &&
	    iopt_list_consecutive(list, n))
		return 0;
	arr = iopt_chunk_array(pages, chunk);
	if (!arr)
		return -ENOMEM;
	arr += pos - iopt_chunk_lo(pages, chunk);
	for (i = 0; i != n; i++)
		arr[i] = page_to_pfn(list[i]);
	return 0;
}

/*
 * Free the word of every chunk meeting [@first, @last] that no user
 * covers any more.  The caller has unpinned everything in the range that
 * no user covers.
 */
static void iopt_pfns_trim(struct iopt_pages *pages, unsigned long first,
			   unsigned long last)
{
	unsigned long chunk, end = iopt_chunk(pages, last);

	lockdep_assert_held(&pages->mutex);
	for (chunk = iopt_chunk(pages, first); chunk <= end; chunk++) {
		unsigned long ent = pages->chunks[chunk], cfirst, clast;

		if (!ent)
			continue;
		iopt_chunk_span(pages, chunk, &cfirst, &clast);
		if (interval_tree_iter_first(&pages->users, cfirst, clast))
			continue;
		WRITE_ONCE(pages->chunks[chunk], 0);
		if (iopt_word_is_array(ent))
			kfree((void *)ent);
	}
}

/* kref release: every user is gone, so nothing is pinned */
void iopt_pages_release(struct kref *kref)
{
	struct iopt_pages *pages = container_of(kref, struct iopt_pages, kref);

	WARN_ON(pages->ncharged || !RB_EMPTY_ROOT(&pages->users.rb_root));
	iopt_pfns_free(pages);
	bitmap_free(pages->pfnmap);
	if (pages->file)
		fput(pages->file);
	iopt_owner_put(&pages->owner);
	mutex_destroy(&pages->mutex);
	kfree(pages);
}

/* Flags of iopt_charge() */
enum {
	/* Pins the owner held before, given back: no RLIMIT_MEMLOCK check */
	IOPT_CHARGE_NO_LIMIT = BIT(0),
};

/*
 * Charge @npages about to be pinned, or handed over; -ENOMEM beyond
 * RLIMIT_MEMLOCK unless @flags has IOPT_CHARGE_NO_LIMIT or the owner is
 * exempt (then it cannot fail).  Per process, the charge is the
 * process's locked_vm alone, exactly what VFIO type1 charges; otherwise
 * the pins also show in its pinned_vm (VmPin).
 */
static int iopt_charge(const struct iopt_owner *owner, unsigned long npages,
		       unsigned int flags)
{
	bool no_limit = (flags & IOPT_CHARGE_NO_LIMIT) || owner->unlimited;
	unsigned long limit = no_limit ? ULONG_MAX :
		task_rlimit(owner->task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long cur, new;
	int ret;

	switch (owner->mode) {
	case IOMMUFD_ACCOUNT_USER:
		do {
			cur = atomic_long_read(&owner->user->locked_vm);
			new = cur + npages;
			if (new < cur || new > limit)
				return -ENOMEM;
		} while (atomic_long_cmpxchg(&owner->user->locked_vm, cur,
					     new) != cur);
		break;
	case IOMMUFD_ACCOUNT_MM:
		mmap_write_lock(owner->mm);
		ret = __account_locked_vm(owner->mm, npages, true, owner->task,
					  no_limit);
		mmap_write_unlock(owner->mm);
		return ret;
	}
	atomic64_add(npages, &owner->mm->pinned_vm);
	return 0;
}

static void iopt_uncharge(const struct iopt_owner *owner,
			  unsigned long npages)
{
	switch (owner->mode) {
	case IOMMUFD_ACCOUNT_USER:
		atomic_long_sub(npages, &owner->user->locked_vm);
		break;
	case IOMMUFD_ACCOUNT_MM:
		mmap_write_lock(owner->mm);
		__account_locked_vm(owner->mm, npages, false, owner->task,
				    false);
		mmap_write_unlock(owner->mm);
		return;
	}
	atomic64_sub(npages, &owner->mm->pinned_vm);
}

static int iopt_pages_charge(struct iopt_pages *pages, unsigned long npages)
{
	lockdep_assert_held(&pages->mutex);
	return iopt_charge(&pages->owner, npages, 0);
}

static void iopt_pages_uncharge(struct iopt_pages *pages, unsigned long npages)
{
	lockdep_assert_held(&pages->mutex);
	iopt_uncharge(&pages->owner, npages);
}

/*
 * Pin the pages of a file-backed store one at a time: memfd_pin_folios()
 * pins a folio once per call, and the store needs one pin per page, each
 * dropped on its own.
 */
static long iopt_pages_pin_file(struct iopt_pages *pages, unsigned long index,
				unsigned long npages, struct page **list)
{
	unsigned long n;

	for (n = 0; n != npages; n++) {
		loff_t pos = pages->uva + (index + n) * PAGE_SIZE;
		struct folio *folio;
		pgoff_t offset;
		long ret;

		ret = memfd_pin_folios(pages->file, pos, pos + PAGE_SIZE - 1,
				       &folio, 1, &offset);
		if (ret != 1)
			return n ? n : (ret < 0 ? ret : -EFAULT);
		list[n] = folio_page(folio, offset >> PAGE_SHIFT);
	}
	return n;
}

/*
 * Pin @npages pages from index @index into @list.  Uses the fast path when
 * the caller is the owning process, otherwise pins through the owner's mm.
 * Return: pages pinned (maybe fewer than asked), or a negative errno.
 */
static long iopt_pages_gup(struct iopt_pages *pages, unsigned long index,
			   unsigned long npages, struct page **list)
{
	unsigned long addr = pages->uva + index * PAGE_SIZE;
	unsigned int gup_flags = FOLL_LONGTERM;
	struct mm_struct *mm = pages->owner.mm;
	int locked = 1;
	long ret;

	if (pages->write_ok)
		gup_flags |= FOLL_WRITE;
	if (iommufd_inject_fail())
		return -EFAULT;
	if (pages->file)
		return iopt_pages_pin_file(pages, index, npages, list);
	/* No user address until VFIO_DMA_MAP_FLAG_VADDR supplies one */
	if (pages->vaddr_invalid)
		return -EAGAIN;
	if (current->mm == mm)
		return pin_user_pages_fast(addr, npages, gup_flags, list);

	if (!mmget_not_zero(mm))
		return -EFAULT;
	mmap_read_lock(mm);
	ret = pin_user_pages_remote(mm, addr, npages, gup_flags, list, &locked);
	if (locked)
		mmap_read_unlock(mm);
	mmput(mm);
	return ret;
}

/*
 * Can @pfn be used without a pin?  Only when nothing could reference-count
 * it: no struct page at all (MMIO), or a reserved one.
 */
static bool iopt_pfn_unpinnable(unsigned long pfn)
{
	return !pfn_valid(pfn) || PageReserved(pfn_to_page(pfn));
}

/*
 * The PFN behind page @index of a user-memory store whose mapping GUP
 * refused: a VM_PFNMAP or VM_IO mapping, such as a VFIO device's BAR mapped
 * for peer-to-peer DMA (VFIO type1 maps those; so do we).  Faults the page
 * in first if need be.  The PFN is taken as it stands, neither pinned nor
 * charged: it stays what the mapping's owner makes it, as with type1.
 *
 * Return: 0 with *@pfn set; -EFAULT when the address is not such a mapping,
 * is read-only and the store writable, or maps a page GUP could pin.
 */
static int iopt_pages_follow_pfnmap(struct iopt_pages *pages,
				    unsigned long index, unsigned long *pfn)
{
	unsigned long addr = pages->uva + index * PAGE_SIZE;
	unsigned int fault_flags = FAULT_FLAG_REMOTE;
	struct mm_struct *mm = pages->owner.mm;
	struct follow_pfnmap_args args;
	struct vm_area_struct *vma;
	unsigned int tries;
	int ret = -EFAULT;

	if (!pages->allow_pfnmap || pages->file || !mmget_not_zero(mm))
		return -EFAULT;
	if (pages->write_ok)
		fault_flags |= FAULT_FLAG_WRITE;
	mmap_read_lock(mm);
	/* A fault that drops the mmap lock invalidates the VMA: look again */
	for (tries = 0; tries != 3; tries++) {
		bool unlocked = false;

		vma = vma_lookup(mm, addr);
		if (!vma || !(vma->vm_flags & (VM_IO | VM_PFNMAP))) {
			ret = -EFAULT;
			break;
		}
		args = (struct follow_pfnmap_args){ .vma = vma, .address = addr };
		ret = follow_pfnmap_start(&args);
		if (!ret) {
			if ((pages->write_ok && !args.writable) ||
			    !iopt_pfn_unpinnable(args.pfn))
				ret = -EFAULT;
			else
				*pfn = args.pfn;
			follow_pfnmap_end(&args);
			break;
		}
		ret = fixup_user_fault(mm, addr, fault_flags, &unlocked);
		if (ret)
			break;
		ret = -EFAULT;
	}
	mmap_read_unlock(mm);
	mmput(mm);
	return ret;
}

/*
 * Record page @index as one of a PFN mapping, allocating the store's
 * bitmap of them on first use.  Return: 0 or -ENOMEM.
 */
static int iopt_pages_set_pfnmap(struct iopt_pages *pages,
				 unsigned long index, unsigned long pfn)
{
	unsigned long chunk, *arr;

	lockdep_assert_held(&pages->mutex);
	if (!pages->pfnmap) {
		pages->pfnmap = bitmap_zalloc(pages->nr_pages, GFP_KERNEL_ACCOUNT);
		if (!pages->pfnmap)
			return -ENOMEM;
	}
	/* A PFN mapping never joins a run: runs are pinned pages */
	chunk = iopt_chunk(pages, index);
	arr = iopt_chunk_array(pages, chunk);
	if (!arr)
		return -ENOMEM;
	arr[iopt_chunk_pos(pages, index) - iopt_chunk_lo(pages, chunk)] = pfn;
	__set_bit(index, pages->pfnmap);
	return 0;
}

/**
 * iopt_pages_run() - the run of PFNs that starts at a page
 * @pages: the store
 * @index: a pinned page (or one mapped by PFN)
 * @max: the most pages to take, all of them pinned or mapped by PFN
 *
 * Context: pages->mutex held, or a user keeps the pages in place.
 * Return: how many pages from @index (at least 1, at most @max) have
 * consecutive PFNs and are all pinned pages or all of a PFN mapping.
 */
unsigned long iopt_pages_run(struct iopt_pages *pages, unsigned long index,
			     unsigned long max)
{
	unsigned long pfn = iopt_pages_pfn(pages, index), n = 0;

	/* A chunk at a time: a run continues or not as a whole */
	while (n < max) {
		unsigned long chunk = iopt_chunk(pages, index + n);
		unsigned int pos = iopt_chunk_pos(pages, index + n), k = 0;
		unsigned int room = min_t(unsigned long, max - n,
					  IOPT_CHUNK_PAGES - pos);
		unsigned long ent = iopt_chunk_word(pages, chunk);

		if (iopt_word_is_run(ent)) {
			if (iopt_run_base(ent) + pos == pfn + n)
				k = room;
		} else if (iopt_word_is_lent_run(ent)) {
			if (iopt_lent_pfn(iopt_word_area(ent), index + n) ==
			    pfn + n)
				k = room;
		} else if (iopt_word_is_lent(ent)) {
			struct iopt_area *area = iopt_word_area(ent);

			while (k < room &&
			       iopt_lent_pfn(area, index + n + k) == pfn + n + k)
				k++;
		} else {
			unsigned long *arr = (unsigned long *)ent + pos -
					     iopt_chunk_lo(pages, chunk);

			while (k < room && arr[k] == pfn + n + k)
				k++;
		}
		n += k;
		if (k != room)
			break;
	}
	if (pages->pfnmap) {
		unsigned long end = test_bit(index, pages->pfnmap) ?
			find_next_zero_bit(pages->pfnmap, index + n, index) :
			find_next_bit(pages->pfnmap, index + n, index);

		n = end - index;
	}
	return n;
}

static void iopt_pages_unpin_span(struct iopt_pages *pages,
				  unsigned long first, unsigned long last);

/* Flags of iopt_pages_pin_batches() */
enum {
	/* Memory GUP refuses is -EFAULT, never looked up as a PFN mapping */
	IOPT_PIN_NO_PFNMAP = BIT(0),
};

/*
 * Pin and store [@index, @index + @npages), none of it pinned yet, in
 * batches of at most @cap pages through @list.  *@done counts the pages
 * handled (pinned, or mapped by PFN) and *@pinned those pinned, on
 * failure too; neither is charged or counted in pages->ncharged here.
 *
 * The caller holds pages->mutex, or is a pin worker of a caller that does
 * (struct iopt_pin_job), alone on the chunks of the range.
 * Return: 0, or the errno that stopped it.
 */
static int iopt_pages_pin_batches(struct iopt_pages *pages,
				  unsigned long index, unsigned long npages,
				  struct page **list, unsigned int cap,
				  unsigned long *done, unsigned long *pinned,
				  unsigned int flags)
{
	cap = min_t(unsigned long, cap, iommufd_pin_batch());
	while (*done != npages) {
		unsigned long at = index + *done;
		/* No batch crosses a chunk: a run is decided per chunk */
		unsigned long want = min3(npages - *done, (unsigned long)cap,
					  IOPT_CHUNK_PAGES -
					  iopt_chunk_pos(pages, at));
		unsigned long pfn;
		long got;
		int ret;

		got = iopt_pages_gup(pages, at, want, list);
		if (got == -EFAULT && !(flags & IOPT_PIN_NO_PFNMAP) &&
		    !iopt_pages_follow_pfnmap(pages, at, &pfn)) {
			ret = iopt_pages_set_pfnmap(pages, at, pfn);
			if (ret)
				return ret;
			(*done)++;
			continue;
		}
		if (got <= 0)
			return got ? got : -EFAULT;
		if (iopt_pfns_store(pages, at, list, got)) {
			/* Not recorded, so not ours to keep */
			unpin_user_pages(list, got);
			return -ENOMEM;
		}
		*done += got;
		*pinned += got;
	}
	return 0;
}

/*
 * Parallel pinning.  Mapping memory nobody has touched yet (a VM's RAM at
 * its start) faults every page in as it pins it, and allocating and
 * zeroing the pages is most of the time of the map.  A span of at least
 * two pieces of IOPT_PIN_PIECE_MIN pages is cut into up to one piece per
 * online CPU (at most IOPT_PIN_PIECES), at chunk boundaries so that no two
 * pieces share a chunk of the PFN store; the caller pins the first piece
 * and a worker on the unbound workqueue pins each other one, in the
 * owner's mm (kthread_use_mm(), so GUP's fast path serves pages already
 * there), charging its allocations to the caller's memory cgroup.
 * Charging and pages->ncharged stay with the caller, who holds
 * pages->mutex throughout.  The pieces never look memory GUP refuses up
 * as a PFN mapping (that updates a store-wide bitmap): a store that may
 * hold one is pinned again serially when a piece meets such memory.  A
 * file's stores are pinned serially.
 */
#define IOPT_PIN_PIECE_MIN (SZ_32M / PAGE_SIZE)
#define IOPT_PIN_PIECES 8

struct iopt_pin_job {
	struct iopt_work piece;
	struct iopt_pages *pages;
	struct mem_cgroup *memcg;
	struct page **list;
	unsigned long index;
	unsigned long npages;
	unsigned long done;
	unsigned long pinned;
};

static int iopt_pin_job_fn(struct iopt_work *piece)
{
	struct iopt_pin_job *job = container_of(piece, struct iopt_pin_job,
						piece);
	struct mm_struct *mm = job->pages->owner.mm;
	struct mem_cgroup *old;
	int ret;

	/* In the owner's mm, GUP takes its fast path as the caller does */
	if (!mmget_not_zero(mm))
		return -EFAULT;
	kthread_use_mm(mm);
	old = set_active_memcg(job->memcg);
	ret = iopt_pages_pin_batches(job->pages, job->index, job->npages,
				     job->list, PAGE_SIZE / sizeof(void *),
				     &job->done, &job->pinned,
				     IOPT_PIN_NO_PFNMAP);
	set_active_memcg(old);
	kthread_unuse_mm(mm);
	mmput(mm);
	return ret;
}

/* How many pieces to pin [@index, @index + @npages) in: 1 is serial */
static unsigned int iopt_pin_pieces(struct iopt_pages *pages,
				    unsigned long npages)
{
	if (pages->file)
		return 1;
	return min3(npages / IOPT_PIN_PIECE_MIN, (unsigned long)IOPT_PIN_PIECES,
		    (unsigned long)num_online_cpus()) ?: 1;
}

/*
 * Pin the span in @n pieces (see above), described in @jobs, zeroed.  On
 * failure every piece's pins are undone.  *@pinned as
 * iopt_pages_pin_batches(); Return: 0, or the first failed piece's errno.
 */
static int iopt_pages_pin_parallel(struct iopt_pages *pages,
				   unsigned long index, unsigned long npages,
				   struct iopt_pin_job *jobs, unsigned int n,
				   struct page **list, unsigned int cap,
				   unsigned long *pinned)
{
	unsigned long each = DIV_ROUND_UP(npages, n), start = index;
	struct mem_cgroup *memcg = get_mem_cgroup_from_mm(current->mm);
	unsigned int i, queued = 0;
	int ret;

	/* Pieces end on chunk boundaries; the last takes what is left */
	for (i = 0; i != n; i++) {
		unsigned long end = index + npages;

		if (i != n - 1)
			end = min(end, round_up(start + each + pages->chunk_skew,
						IOPT_CHUNK_PAGES) -
					 pages->chunk_skew);
		jobs[i].index = start;
		jobs[i].npages = end - start;
		start = end;
	}
	/* Piece 0 is the caller's; a piece without a list is pinned by it too */
	for (i = 1; i != n && jobs[i].npages; i++) {
		struct iopt_pin_job *job = &jobs[i];

		job->list = (struct page **)__get_free_page(GFP_KERNEL);
		if (!job->list)
			break;
		job->pages = pages;
		job->memcg = memcg;
		iopt_work_queue(&job->piece, iopt_pin_job_fn);
		queued++;
	}
	ret = iopt_pages_pin_batches(pages, jobs[0].index, jobs[0].npages,
				     list, cap, &jobs[0].done, &jobs[0].pinned,
				     IOPT_PIN_NO_PFNMAP);
	/* Pieces no worker took */
	for (i = queued + 1; i != n && !ret; i++)
		ret = iopt_pages_pin_batches(pages, jobs[i].index,
					     jobs[i].npages, list, cap,
					     &jobs[i].done, &jobs[i].pinned,
					     IOPT_PIN_NO_PFNMAP);
	for (i = 1; i <= queued; i++) {
		int err = iopt_work_wait(&jobs[i].piece);

		free_page((unsigned long)jobs[i].list);
		if (!ret)
			ret = err;
	}
	mem_cgroup_put(memcg);
	for (i = 0; i != n; i++)
		*pinned += jobs[i].pinned;
	pages->ncharged += *pinned;
	if (ret) {
		for (i = 0; i != n; i++)
			if (jobs[i].done)
				iopt_pages_unpin_span(pages, jobs[i].index,
						      jobs[i].index +
						      jobs[i].done - 1);
	}
	return ret;
}

/*
 * Pin the pages [@index, @index + @npages), none of them pinned yet, in
 * batches of at most @cap pages through @list, in parallel when the span
 * is large.  On failure nothing this call pinned stays pinned or charged.
 */
static int iopt_pages_pin_span(struct iopt_pages *pages, unsigned long index,
			       unsigned long npages, struct page **list,
			       unsigned int cap)
{
	unsigned int n = iopt_pin_pieces(pages, npages);
	unsigned long done = 0, pinned = 0;
	struct iopt_pin_job *jobs = NULL;
	int ret;

	lockdep_assert_held(&pages->mutex);
	ret = iopt_pages_charge(pages, npages);
	if (ret)
		return ret;
	/* Without memory for the jobs, the span is pinned serially */
	if (n > 1)
		jobs = kcalloc(n, sizeof(*jobs), GFP_KERNEL);
	if (jobs) {
		ret = iopt_pages_pin_parallel(pages, index, npages, jobs, n,
					      list, cap, &pinned);
		kfree(jobs);
		/*
		 * Memory GUP refused may be a PFN mapping the store allows
		 * (a device BAR): only the serial walk below looks it up.
		 */
		if (ret != -EFAULT || !pages->allow_pfnmap) {
			/* Not pinned, so not charged: the rest, or all */
			if (npages != pinned)
				iopt_pages_uncharge(pages, npages - pinned);
			return ret;
		}
		/* The attempt's pins were undone and uncharged */
		iopt_pages_uncharge(pages, npages - pinned);
		ret = iopt_pages_charge(pages, npages);
		if (ret)
			return ret;
		pinned = 0;
	}
	ret = iopt_pages_pin_batches(pages, index, npages, list, cap, &done,
				     &pinned, 0);
	pages->ncharged += pinned;
	/* PFN mappings, and on failure what was never pinned */
	if (npages != pinned)
		iopt_pages_uncharge(pages, npages - pinned);
	/* Unpinning uncharges what was pinned */
	if (ret && done)
		iopt_pages_unpin_span(pages, index, index + done - 1);
	return ret;
}

/* Pages unpinned per call into GUP from a chunk array: on the stack */
#define IOPT_UNPIN_BATCH 32

/*
 * Unpin and uncharge [@first, @last], every page of it pinned (or mapped
 * by PFN) but in the chunks a lender emptied, a chunk of the PFN store at
 * a time.  A run chunk's pages go to
 * GUP as one range, which GUP unpins a folio at a time: a huge page is
 * one step.  An array chunk's pages go in batches of page pointers on the
 * stack.  PFN mappings are only forgotten.  The chunk words stay (see
 * iopt_pfns_trim()).  Allocates nothing, so teardown can always call it.
 */
static void iopt_pages_unpin_span(struct iopt_pages *pages,
				  unsigned long first, unsigned long last)
{
	struct page *batch[IOPT_UNPIN_BATCH];
	unsigned long index = first, total = 0;
	unsigned int nbatch = 0;

	lockdep_assert_held(&pages->mutex);
	while (index <= last) {
		unsigned long chunk = iopt_chunk(pages, index);
		unsigned int pos = iopt_chunk_pos(pages, index);
		unsigned int len = min_t(unsigned long, last - index + 1,
					 IOPT_CHUNK_PAGES - pos);
		unsigned long ent = pages->chunks[chunk];
		unsigned long *arr;
		unsigned int i;

		/*
		 * Nothing left pinned: the pages of a lent chunk are unpinned
		 * by its area (iopt_pages_remove_lender()), which empties it.
		 */
		if (!ent || WARN_ON_ONCE(iopt_word_is_lent(ent))) {
			index += len;
			continue;
		}
		if (iopt_word_is_run(ent)) {
			struct page *head = pfn_to_page(iopt_run_base(ent) +
							pos);

			unpin_user_page_range_dirty_lock(head, len,
							 pages->write_ok);
			total += len;
			index += len;
			continue;
		}
		arr = (unsigned long *)ent + pos - iopt_chunk_lo(pages, chunk);
		for (i = 0; i != len; i++) {
			if (pages->pfnmap &&
			    test_and_clear_bit(index + i, pages->pfnmap))
				continue;	/* never pinned */
			batch[nbatch++] = pfn_to_page(arr[i]);
			if (nbatch == IOPT_UNPIN_BATCH) {
				unpin_user_pages_dirty_lock(batch, nbatch,
							    pages->write_ok);
				total += nbatch;
				nbatch = 0;
			}
		}
		index += len;
	}
	if (nbatch) {
		unpin_user_pages_dirty_lock(batch, nbatch, pages->write_ok);
		total += nbatch;
	}
	if (total) {
		pages->ncharged -= total;
		iopt_pages_uncharge(pages, total);
	}
}

/*
 * Unpin what no remaining user covers in [@first, @last], all of which
 * was pinned, and free the chunks left without pins.
 */
static void iopt_pages_unpin_uncovered(struct iopt_pages *pages,
				       unsigned long first, unsigned long last)
{
	struct interval_tree_span_iter span;

	lockdep_assert_held(&pages->mutex);
	interval_tree_for_each_span(&span, &pages->users, first, last) {
		if (span.is_hole)
			iopt_pages_unpin_span(pages, span.start_hole,
					      span.last_hole);
	}
	iopt_pfns_trim(pages, first, last);
}

/*
 * Lending.  An array chunk costs 8 bytes per page, 2 MiB per GiB of
 * scattered 4 KiB pages, while the IOMMU page table of a domain the pages
 * are mapped in holds the same PFNs.  So once an area is populated, each
 * array chunk that the area alone uses is lent to it: the array is freed
 * and the chunk's word names the area, whose lender domain
 * (area->lender, one of its IO address space's domains) gives the PFNs
 * back through iommu_iova_to_phys().  Run chunks stay: they cost one word.
 *
 *  - A chunk is lent only when no other user meets it, and a new user
 *    takes back every lent chunk it meets before it pins or reads
 *    (iopt_pfns_reclaim(), which allocates the array again and may fail
 *    as pinning may).  So only the lender's own paths read a lent chunk,
 *    and never while the chunk changes.
 *  - The lender is unmapped in pieces (iopt_pages_remove_lender()), and
 *    a piece may only begin at a page whose PFN does not continue the
 *    page before it: nothing the IOMMU maps as one (an IOPTE, or a
 *    virtio-iommu mapping) spans such an edge, so the unmap of a piece
 *    never takes more than the piece.  Pieces begin at lent pages, one
 *    page of room before their table is full, and a chunk whose first
 *    page continues the page before it is lent only if its PFNs break
 *    somewhere inside: there the next piece can begin, before the table
 *    is full.
 *  - Stores that hold PFN mappings lend nothing, nor do stores within one
 *    chunk: a small map's array is small, and its unmap stays fast.
 *  - When the area is the store's only user and covers all of it, and
 *    every chunk is lent or a run (one IOAS_MAP, the usual case), the
 *    store is lent whole (pages->whole): the table goes too, and the area
 *    keeps a bit per chunk that was a run (area->lent_runs), whose PFNs
 *    also read back from the lender but still unpin as one range.  A
 *    second user gives the store its table back first
 *    (iopt_pfns_unlend_whole()).  So the store of a 1 GiB map costs no
 *    memory per page at all, whatever its pages.
 *  - area->lender changes under pages->mutex and the IO address space's
 *    dom_sem, written: a domain leaving hands the role to another
 *    (iopt_pages_set_lender()), and the last one takes the pins with it.
 *
 * What it costs: unmapping reads each lent page's PFN out of the domain
 * before it unpins it, the in-tree code's price for all pages; mapping
 * the area into a second domain reads them the same way.  A range that
 * an access or a second area pins too keeps its arrays.
 */

/* Take back every lent chunk meeting [@first, @last]; Return: 0 or -ENOMEM */
static int iopt_pfns_reclaim(struct iopt_pages *pages, unsigned long first,
			     unsigned long last)
{
	unsigned long chunk, end = iopt_chunk(pages, last);

	lockdep_assert_held(&pages->mutex);
	for (chunk = iopt_chunk(pages, first); chunk <= end; chunk++) {
		if (iopt_word_is_lent(pages->chunks[chunk]) &&
		    !iopt_chunk_array(pages, chunk))
			return -ENOMEM;
	}
	return 0;
}

/* Is @user the only user meeting [@first, @last]? */
static bool iopt_pages_sole_user(struct iopt_pages *pages,
				 struct iopt_pages_user *user,
				 unsigned long first, unsigned long last)
{
	struct interval_tree_node *node;

	node = interval_tree_iter_first(&pages->users, first, last);
	return node == &user->node && !interval_tree_iter_next(node, first, last);
}

/*
 * Lend the whole store to @area, its only user, covering all of it, whose
 * chunks are all lent to it or runs: the table goes, and @area keeps a
 * bit per chunk that was a run (the run's PFNs still read back from the
 * lender, and a run still unpins as one).  No reader is about: the
 * caller is lending, under the IO address space's dom_sem.
 */
static void iopt_pfns_lend_whole(struct iopt_pages *pages,
				 struct iopt_area *area)
{
	unsigned long chunk, n = iopt_nr_chunks(pages);

	lockdep_assert_held(&pages->mutex);
	area->lent_runs = bitmap_zalloc(n, GFP_KERNEL_ACCOUNT);
	if (!area->lent_runs)
		return;
	for (chunk = 0; chunk != n; chunk++)
		if (iopt_word_is_run(pages->chunks[chunk]))
			__set_bit(chunk, area->lent_runs);
	/* The bits are seen before the store is whole */
	smp_store_release(&pages->whole, area);
	kvfree(pages->chunks);
	pages->chunks = NULL;
}

/*
 * Give a wholly lent store its table back, before a second user joins:
 * lent chunks stay lent, runs become runs again, their bases read back
 * from the lender.  The lender keeps its bits for readers that saw the
 * store whole.  Return: 0, or -ENOMEM with the store still whole.
 */
static int iopt_pfns_unlend_whole(struct iopt_pages *pages)
{
	struct iopt_area *area = pages->whole;
	unsigned long chunk, n, *table;

	lockdep_assert_held(&pages->mutex);
	if (!area)
		return 0;
	n = iopt_nr_chunks(pages);
	table = kvcalloc(n, sizeof(*table), GFP_KERNEL_ACCOUNT);
	if (!table)
		return -ENOMEM;
	for (chunk = 0; chunk != n; chunk++) {
		unsigned long cfirst, clast;

		table[chunk] = (unsigned long)area | IOPT_CHUNK_LENT;
		if (!test_bit(chunk, area->lent_runs))
			continue;
		/* The area covers the whole store, so every page is pinned */
		iopt_chunk_span(pages, chunk, &cfirst, &clast);
		table[chunk] = (iopt_lent_pfn(area, cfirst) -
				iopt_chunk_pos(pages, cfirst)) << 1 |
			       IOPT_CHUNK_RUN;
	}
	pages->chunks = table;
	/* The table is seen before the store stops being whole */
	smp_store_release(&pages->whole, NULL);
	return 0;
}

/**
 * iopt_pages_lend() - let a domain keep the PFNs of an area's pages
 * @pages: the area's store
 * @area: an area just populated: a user of @pages, mapped in every domain
 *	of its IO address space
 * @domain: one of those domains, to become the area's lender
 *
 * Frees the arrays of the chunks the area alone uses (see "Lending"
 * above).  Never fails: a chunk that cannot be lent keeps its array.
 *
 * Context: Process context; takes pages->mutex.  The caller holds the IO
 * address space's dom_sem.
 */
void iopt_pages_lend(struct iopt_pages *pages, struct iopt_area *area,
		     struct iommu_domain *domain)
{
	unsigned long first = area->pin.node.start, last = area->pin.node.last;
	unsigned long chunk, end = iopt_chunk(pages, last);
	bool whole;

	/*
	 * A store within one chunk lends nothing: its array is at most a
	 * chunk's, sized to the store, and reading it back at unmap would
	 * cost a small map more than the bytes are worth.
	 */
	if (pages->chunks == &pages->chunk_one)
		return;
	mutex_lock(&pages->mutex);
	if (pages->pfnmap || !domain)
		goto out_unlock;
	whole = iopt_pages_sole_user(pages, &area->pin, 0,
				     pages->nr_pages - 1) &&
		first == 0 && last == pages->nr_pages - 1;
	for (chunk = iopt_chunk(pages, first); chunk <= end; chunk++) {
		unsigned long ent = pages->chunks[chunk], cfirst, clast, from, n;
		bool lend;

		iopt_chunk_span(pages, chunk, &cfirst, &clast);
		from = max(cfirst, first);
		n = min(clast, last) - from + 1;
		lend = iopt_word_is_array(ent) &&
		       iopt_pages_sole_user(pages, &area->pin, cfirst, clast);
		/* The page before may be lent already: its PFN reads back */
		if (lend && from != first &&
		    iopt_pages_pfn(pages, from) ==
			    iopt_pages_pfn(pages, from - 1) + 1)
			lend = iopt_pages_run(pages, from, n) != n;
		if (!lend) {
			whole &= iopt_word_is_run(ent);
			continue;
		}
		area->lender = domain;
		WRITE_ONCE(pages->chunks[chunk],
			   (unsigned long)area | IOPT_CHUNK_LENT);
		kfree((void *)ent);
	}
	if (whole) {
		area->lender = domain;
		iopt_pfns_lend_whole(pages, area);
	}
out_unlock:
	mutex_unlock(&pages->mutex);
}

/**
 * iopt_pages_set_lender() - hand an area's lending to another domain
 * @pages: the area's store
 * @area: a populated area with a lender
 * @domain: another domain the area is mapped in
 *
 * Context: Process context; takes pages->mutex.  The caller holds the IO
 * address space's dom_sem for write, and unmaps the old lender after.
 */
void iopt_pages_set_lender(struct iopt_pages *pages, struct iopt_area *area,
			   struct iommu_domain *domain)
{
	mutex_lock(&pages->mutex);
	area->lender = domain;
	mutex_unlock(&pages->mutex);
}

/* A lent page range whose PFNs run consecutively: one unpin */
struct iopt_lent_run {
	unsigned long pfn;
	unsigned long npages;
};

#define IOPT_LENT_STACK 16

/*
 * Unmap IOVA [@from, @to) of the lender, then unpin @runs, the lent pages
 * it mapped.  Return: the pages unpinned.
 */
static unsigned long iopt_lent_flush(struct iopt_pages *pages,
				     struct iommu_domain *domain,
				     unsigned long from, unsigned long to,
				     struct iopt_lent_run *runs,
				     unsigned int nruns)
{
	unsigned long n = 0;
	unsigned int i;

	/* Pieces begin where no IOPTE can cross, so the size is exact */
	WARN_ON(iommu_unmap(domain, from, to - from) != to - from);
	for (i = 0; i != nruns; i++) {
		unpin_user_page_range_dirty_lock(pfn_to_page(runs[i].pfn),
						 runs[i].npages,
						 pages->write_ok);
		n += runs[i].npages;
	}
	return n;
}

/*
 * Unmap the lender's IOVA of pages [@first, @last] of @area, in pieces
 * described in @runs (room for @cap), and unpin the lent pages among
 * them.  @first is the area's first page, or a page whose PFN does not
 * continue the page before.  Return: the pages unpinned.
 */
static unsigned long iopt_lent_unmap_span(struct iopt_pages *pages,
					  struct iopt_area *area,
					  unsigned long first,
					  unsigned long last,
					  struct iopt_lent_run *runs,
					  unsigned int cap)
{
	unsigned long chunk, end = iopt_chunk(pages, last), unpinned = 0;
	unsigned long from = iopt_area_iova_of(area, first), prev = ULONG_MAX;
	unsigned long area_first = area->pin.node.start;
	struct iommu_domain *domain = area->lender;
	unsigned int n = 0;

	for (chunk = iopt_chunk(pages, first); chunk <= end; chunk++) {
		unsigned long ent = iopt_chunk_word(pages, chunk);
		unsigned long cfirst, clast, i, to;

		if (!iopt_word_is_lent(ent) || iopt_word_area(ent) != area)
			continue;
		iopt_chunk_span(pages, chunk, &cfirst, &clast);
		to = min(clast, last);
		for (i = max(cfirst, first); i <= to; i++) {
			unsigned long pfn = iopt_lent_pfn(area, i);
			/* A run's pages all follow its first one */
			unsigned long len = iopt_word_is_lent_run(ent) ?
					    to - i + 1 : 1;

			if (n && prev == i - 1 &&
			    runs[n - 1].pfn + runs[n - 1].npages == pfn) {
				runs[n - 1].npages += len;
				i += len - 1;
				prev = i;
				continue;
			}
			/*
			 * Page i starts a run.  A piece may end before it
			 * unless it continues the page before, kept by the
			 * store (see "Lending" for why the room suffices).
			 */
			if (n >= cap - 1 &&
			    ((prev == i - 1 || i == area_first ||
			      iopt_pages_pfn(pages, i - 1) + 1 != pfn) ||
			     WARN_ON_ONCE(n == cap))) {
				unsigned long at = iopt_area_iova_of(area, i);

				unpinned += iopt_lent_flush(pages, domain, from,
							    at, runs, n);
				from = at;
				n = 0;
			}
			runs[n++] = (struct iopt_lent_run){ pfn, len };
			i += len - 1;
			prev = i;
		}
		if (!pages->whole)
			WRITE_ONCE(pages->chunks[chunk], 0);
	}
	/* To the next span's first byte, or past the area's last */
	return unpinned + iopt_lent_flush(pages, domain, from,
					  last == area->pin.node.last ?
					  iopt_area_last(area) + 1 :
					  iopt_area_iova_of(area, last + 1),
					  runs, n);
}

/*
 * A table for the runs of a piece: for @want runs, at most 16 chunks of
 * scattered pages' worth, else less
 */
static struct iopt_lent_run *iopt_lent_table(unsigned long want,
					     unsigned int *cap)
{
	int order;

	order = get_order(min_t(unsigned long, want, 16 * IOPT_CHUNK_PAGES) *
			  sizeof(struct iopt_lent_run));
	for (; order >= 0; order--) {
		void *table = (void *)__get_free_pages(GFP_KERNEL |
						       __GFP_NOWARN |
						       __GFP_NORETRY, order);

		if (table) {
			*cap = (PAGE_SIZE << order) / sizeof(struct iopt_lent_run);
			return table;
		}
	}
	return NULL;
}

static void iopt_lent_table_free(struct iopt_lent_run *table, unsigned int cap)
{
	free_pages((unsigned long)table,
		   get_order(cap * sizeof(struct iopt_lent_run)));
}

/*
 * A large lender is unmapped in parallel, as it was mapped: reading every
 * lent page's PFN back is most of the time.  The area is cut into up to
 * one span per online CPU (at most IOPT_UNLEND_SPANS, each at least
 * IOPT_UNLEND_SPAN_MIN pages), at pages whose PFN does not continue the
 * page before (so a span can begin there, see "Lending"), and at chunk
 * starts unless the store is lent whole (the walk empties each chunk it
 * takes, which must be its own); the caller walks the first span and
 * unbound workers the others, under the caller's pages->mutex.
 */
#define IOPT_UNLEND_SPAN_MIN (SZ_64M / PAGE_SIZE)
#define IOPT_UNLEND_SPANS 8

struct iopt_unlend_job {
	struct iopt_work piece;
	struct iopt_pages *pages;
	struct iopt_area *area;
	unsigned long first;
	unsigned long last;
	unsigned long unpinned;
};

static int iopt_unlend_job_fn(struct iopt_work *piece)
{
	struct iopt_unlend_job *job = container_of(piece,
						   struct iopt_unlend_job,
						   piece);
	struct iopt_lent_run onstack[IOPT_LENT_STACK], *runs;
	unsigned int cap = IOPT_LENT_STACK;
	struct iopt_pages *pages = job->pages;

	/* A run per page kept one by one, and one per chunk at most else */
	runs = iopt_lent_table(iopt_pages_scattered(pages, job->first,
						    job->last) +
			       iopt_chunk(pages, job->last) -
			       iopt_chunk(pages, job->first) + 1, &cap) ?:
	       onstack;
	job->unpinned = iopt_lent_unmap_span(pages, job->area, job->first,
					     job->last, runs, cap);
	if (runs != onstack)
		iopt_lent_table_free(runs, cap);
	return 0;
}

/*
 * Cut [@first, @last] into at most @n spans in @jobs (see above);
 * Return: how many.
 */
static unsigned int iopt_unlend_split(struct iopt_pages *pages,
				      struct iopt_area *area,
				      unsigned long first, unsigned long last,
				      struct iopt_unlend_job *jobs,
				      unsigned int n)
{
	unsigned long each = (last - first + 1) / n, start = first;
	unsigned int used = 0;

	while (used != n - 1 && start + each <= last) {
		unsigned long at = start + each, c;

		if (pages->whole) {
			/*
			 * No chunk word changes: a span may begin at any page
			 * that does not continue the one before, the end of
			 * the run through page at - 1.
			 */
			at += iopt_pages_run(pages, at - 1, last - at + 2) - 1;
			if (at > last)
				break;
		} else {
			/* A span's chunks are its own: the first chunk start */
			for (c = iopt_chunk(pages, at) + 1;
			     c <= iopt_chunk(pages, last); c++) {
				at = c * IOPT_CHUNK_PAGES - pages->chunk_skew;
				if (iopt_pages_pfn(pages, at) !=
				    iopt_pages_pfn(pages, at - 1) + 1)
					break;
			}
			if (c > iopt_chunk(pages, last))
				break;
		}
		jobs[used++] = (struct iopt_unlend_job){
			.pages = pages, .area = area,
			.first = start, .last = at - 1,
		};
		start = at;
	}
	jobs[used++] = (struct iopt_unlend_job){
		.pages = pages, .area = area, .first = start, .last = last,
	};
	return used;
}

/**
 * iopt_pages_remove_lender() - unmap and unpin an area that lends chunks
 * @pages: the area's store
 * @area: a populated area with a lender, the only domain it is still
 *	mapped in
 *
 * Unmaps the area from its lender a piece at a time: the PFNs of each
 * piece's lent pages are read out of the domain, the piece is unmapped,
 * then those pages are unpinned; a large area in spans at once (see
 * above).  Then the area stops being a user, which unpins the rest of its
 * pages that no one else uses, as iopt_pages_remove_user() does.  Never
 * fails: without memory for tables or jobs, pieces are smaller, described
 * on the stack, and the walk serial.
 *
 * Context: Process context; sleeps.  Takes pages->mutex.  The caller holds
 * the IO address space's dom_sem.
 */
void iopt_pages_remove_lender(struct iopt_pages *pages, struct iopt_area *area)
{
	unsigned long first = area->pin.node.start, last = area->pin.node.last;
	struct iopt_unlend_job *jobs = NULL;
	unsigned long unpinned = 0;
	unsigned int i, n;

	mutex_lock(&pages->mutex);
	/* The work is the pages read back one by one: runs take one read */
	n = min3(iopt_pages_scattered(pages, first, last) /
		 IOPT_UNLEND_SPAN_MIN, (unsigned long)IOPT_UNLEND_SPANS,
		 (unsigned long)num_online_cpus());
	if (n > 1)
		jobs = kcalloc(n, sizeof(*jobs), GFP_KERNEL | __GFP_NOWARN);
	if (jobs) {
		n = iopt_unlend_split(pages, area, first, last, jobs, n);
		for (i = 1; i != n; i++)
			iopt_work_queue(&jobs[i].piece, iopt_unlend_job_fn);
		iopt_unlend_job_fn(&jobs[0].piece);
		unpinned = jobs[0].unpinned;
		for (i = 1; i != n; i++) {
			iopt_work_wait(&jobs[i].piece);
			unpinned += jobs[i].unpinned;
		}
		kfree(jobs);
	} else {
		struct iopt_unlend_job job = {
			.pages = pages, .area = area,
			.first = first, .last = last,
		};

		iopt_unlend_job_fn(&job.piece);
		unpinned = job.unpinned;
	}
	if (unpinned) {
		pages->ncharged -= unpinned;
		iopt_pages_uncharge(pages, unpinned);
	}
	area->lender = NULL;
	interval_tree_remove(&area->pin.node, &pages->users);
	if (pages->whole) {
		/* It was the only user: nothing else is pinned, no table */
		WRITE_ONCE(pages->whole, NULL);
	} else {
		iopt_pages_unpin_uncovered(pages, first, last);
	}
	bitmap_free(area->lent_runs);
	area->lent_runs = NULL;
	mutex_unlock(&pages->mutex);
}

/* Ranges of at most this many pages pin through a page list on the stack */
#define IOPT_PIN_STACK 16

/**
 * iopt_pages_add_user() - make sure pages stay pinned for a user
 * @pages: the store
 * @user: the user's node, not in any tree
 * @first: first page index
 * @last: last page index, below pages->nr_pages
 *
 * Pins (and charges) whatever in the range is not pinned yet.  On failure
 * nothing this call pinned stays pinned or charged.
 *
 * Context: Process context; sleeps.  Takes pages->mutex.
 * Return: 0; -ENOMEM beyond RLIMIT_MEMLOCK or without memory; -EFAULT (or
 * another GUP errno) when the user memory cannot be pinned.
 */
int iopt_pages_add_user(struct iopt_pages *pages,
			struct iopt_pages_user *user, unsigned long first,
			unsigned long last)
{
	struct page *onstack[IOPT_PIN_STACK], **list = onstack;
	struct interval_tree_span_iter span;
	unsigned int cap = IOPT_PIN_STACK;
	unsigned long failed = ULONG_MAX;
	int ret = 0;

	if (last - first >= IOPT_PIN_STACK) {
		list = (struct page **)__get_free_page(GFP_KERNEL);
		if (!list)
			return -ENOMEM;
		cap = PAGE_SIZE / sizeof(*list);
	}

	mutex_lock(&pages->mutex);
	/* The new user reads and pins beside the lender: it needs the PFNs */
	ret = iopt_pfns_unlend_whole(pages);
	if (ret)
		goto out_unlock;
	ret = iopt_pfns_init(pages);
	if (ret)
		goto out_unlock;
	ret = iopt_pfns_reclaim(pages, first, last);
	if (ret)
		goto out_unlock;

	/* Pin the holes between other users' ranges: nothing there is pinned */
	interval_tree_for_each_span(&span, &pages->users, first, last) {
		if (!span.is_hole)
			continue;
		ret = iopt_pages_pin_span(pages, span.start_hole,
					  span.last_hole - span.start_hole + 1,
					  list, cap);
		if (ret) {
			failed = span.start_hole;
			break;
		}
	}
	if (ret)
		goto err_unpin;
	user->node.start = first;
	user->node.last = last;
	interval_tree_insert(&user->node, &pages->users);
	goto out_unlock;

err_unpin:
	/* The failed hole undid itself; the holes before it were pinned whole */
	interval_tree_for_each_span(&span, &pages->users, first, last) {
		if (!span.is_hole)
			continue;
		if (span.start_hole == failed)
			break;
		iopt_pages_unpin_span(pages, span.start_hole, span.last_hole);
	}
	iopt_pfns_trim(pages, first, last);
out_unlock:
	mutex_unlock(&pages->mutex);
	if (list != onstack)
		free_page((unsigned long)list);
	return ret;
}

/**
 * iopt_pages_add_page_user() - iopt_pages_add_user() for struct page users
 * @pages: the store
 * @user: the user's node, not in any tree
 * @first: first page index
 * @last: last page index, below pages->nr_pages
 *
 * For a user that needs the struct page of every page, an in-kernel
 * access: a page of a PFN mapping (peer-to-peer DMA) has none.
 *
 * Context: Process context; sleeps.  Takes pages->mutex.
 * Return: as iopt_pages_add_user(); -EFAULT, with nothing added, when the
 * range holds a page of a PFN mapping.
 */
int iopt_pages_add_page_user(struct iopt_pages *pages,
			     struct iopt_pages_user *user, unsigned long first,
			     unsigned long last)
{
	int ret = iopt_pages_add_user(pages, user, first, last);

	if (ret)
		return ret;
	/* The range is pinned now, so its bits cannot change under us */
	if (pages->pfnmap &&
	    find_next_bit(pages->pfnmap, last + 1, first) <= last) {
		iopt_pages_remove_user(pages, user);
		return -EFAULT;
	}
	return 0;
}

/**
 * iopt_pages_narrow_user() - shrink a user's range
 * @pages: the store
 * @user: the user, in the store's tree
 * @first: new first page index, within the old range
 * @last: new last page index, within the old range
 *
 * Unpins what the range no longer covers and no other user does.  Never
 * fails and allocates nothing, so a caller can commit to it.
 *
 * Context: Process context; sleeps.  Takes pages->mutex.
 */
void iopt_pages_narrow_user(struct iopt_pages *pages,
			    struct iopt_pages_user *user, unsigned long first,
			    unsigned long last)
{
	unsigned long old_first = user->node.start, old_last = user->node.last;

	mutex_lock(&pages->mutex);
	interval_tree_remove(&user->node, &pages->users);
	user->node.start = first;
	user->node.last = last;
	interval_tree_insert(&user->node, &pages->users);
	iopt_pages_unpin_uncovered(pages, old_first, old_last);
	mutex_unlock(&pages->mutex);
}

/**
 * iopt_pages_remove_user() - undo iopt_pages_add_user()
 * @pages: the store
 * @user: the user's node
 *
 * Unpins, dirtied if writable, and uncharges every page of the user's range
 * that no other user covers.  Never fails and allocates nothing.
 *
 * Context: Process context; sleeps.  Takes pages->mutex.
 */
void iopt_pages_remove_user(struct iopt_pages *pages,
			    struct iopt_pages_user *user)
{
	mutex_lock(&pages->mutex);
	interval_tree_remove(&user->node, &pages->users);
	iopt_pages_unpin_uncovered(pages, user->node.start, user->node.last);
	mutex_unlock(&pages->mutex);
}

/*
 * Make @to the owner of @pages: charge it for what the store has pinned
 * (with @flags, see iopt_charge()), uncharge the present owner and return
 * it in @from, with the references the store held on it; the store takes
 * new ones on @to.  Under pages->mutex a store's pins are exactly its
 * owner's charge for it, so nothing is lost or counted twice.
 *
 * Return: 0, or -ENOMEM when @to's limit does not allow the charge (then
 * nothing changed and @from is untouched).
 */
static int iopt_pages_move(struct iopt_pages *pages,
			   const struct iopt_owner *to, struct iopt_owner *from,
			   unsigned int flags)
{
	int ret;

	lockdep_assert_held(&pages->mutex);
	ret = iopt_charge(to, pages->ncharged, flags);
	if (ret)
		return ret;
	*from = pages->owner;
	iopt_uncharge(from, pages->ncharged);
	iopt_owner_hold(&pages->owner, to);
	return 0;
}

/**
 * iopt_pages_change_owner() - make the calling process own file stores
 * @stores: distinct file-backed stores, each held by the caller
 * @n: how many
 * @charge_mode: how the calling process is to be charged
 *
 * Either every store moves or none does; the caller serialises handovers
 * of the stores' context, so that two cannot interleave.
 *
 * A context may have any number of stores, so they move one at a time,
 * each under its own mutex and nothing else: the calling process is
 * charged for the store's pins against its RLIMIT_MEMLOCK and the old
 * owner uncharged (iopt_pages_move()).  The old owners stay referenced
 * until every store has moved.  When a charge fails midway, the stores
 * already moved go back to their old owners, charged without a limit
 * check since those pins were theirs (what was pinned in between had been
 * charged to, and checked against, the new owner).  Pins may come and go
 * meanwhile: each is charged to whoever owns its store at that moment.
 *
 * Context: Process context; sleeps.  Takes each store's mutex in turn, and
 * the owners' mmap locks inside it.
 * Return: 0; -EINVAL if a store is not file-backed; -ENOMEM if the
 * caller's RLIMIT_MEMLOCK does not allow the charge, or for lack of memory.
 */
int iopt_pages_change_owner(struct iopt_pages **stores, unsigned int n,
			    u8 charge_mode)
{
	struct iopt_owner to = iopt_current_owner(charge_mode);
	struct iopt_owner *prev, back;
	unsigned int i, moved;
	int ret = 0;

	for (i = 0; i != n; i++) {
		if (!stores[i]->file)
			return -EINVAL;
	}
	/* prev[i].mm stays NULL for a store that did not move */
	prev = kvcalloc(n, sizeof(*prev), GFP_KERNEL_ACCOUNT);
	if (!prev)
		return -ENOMEM;

	for (moved = 0; moved != n && !ret; moved++) {
		struct iopt_pages *pages = stores[moved];

		mutex_lock(&pages->mutex);
		if (!iopt_owner_same(&pages->owner, &to))
			ret = iopt_pages_move(pages, &to, &prev[moved], 0);
		mutex_unlock(&pages->mutex);
		cond_resched();
	}

	for (i = 0; i != moved; i++) {
		if (!prev[i].mm)
			continue;
		if (ret) {
			mutex_lock(&stores[i]->mutex);
			WARN_ON(iopt_pages_move(stores[i], &prev[i], &back,
						IOPT_CHARGE_NO_LIMIT));
			mutex_unlock(&stores[i]->mutex);
			iopt_owner_put(&back);
		}
		iopt_owner_put(&prev[i]);
	}
	kvfree(prev);
	return ret;
}

/**
 * iopt_pages_adopt() - give a store with an invalidated address a new one
 * @pages: the store, its address invalidated (VFIO_DMA_UNMAP_FLAG_VADDR)
 * @uptr: the new page-aligned address of page index 0 in the calling
 *	process, which must map the same memory
 * @charge_mode: how the calling process is to be charged (the context's)
 *
 * The calling process becomes the owner: what the store has pinned is
 * charged to it, as @charge_mode and its own CAP_IPC_LOCK say, and
 * uncharged from the old owner; a live-updated VMM may be a new process
 * (exec), and the old owner's exemption is not the new one's.
 *
 * Context: Process context; sleeps.  Takes pages->mutex.
 * Return: 0, or -ENOMEM if the caller's RLIMIT_MEMLOCK forbids the charge.
 */
int iopt_pages_adopt(struct iopt_pages *pages, unsigned long uptr,
		     u8 charge_mode)
{
	struct iopt_owner new, old;
	int ret = 0;

	mutex_lock(&pages->mutex);
	new = iopt_current_owner(charge_mode);
	if (!iopt_owner_same(&pages->owner, &new)) {
		ret = iopt_pages_move(pages, &new, &old, 0);
		if (ret)
			goto out_unlock;
		iopt_owner_put(&old);
	}
	pages->uva = uptr;
	WRITE_ONCE(pages->vaddr_invalid, false);
out_unlock:
	mutex_unlock(&pages->mutex);
	return ret;
}
