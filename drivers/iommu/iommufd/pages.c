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
 *  - unmapping never has to read PFNs back out of an IOMMU domain;
 *  - the bookkeeping is at most 8 bytes per 4 KiB page (0.2 %), about 100
 *    bytes per 2 MiB huge page, allocated only while something is pinned.
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
#include <linux/hugetlb.h>
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

/* How the calling process's new pins are charged: CAP_IPC_LOCK never is */
static u8 iopt_caller_mode(u8 mode)
{
	return capable(CAP_IPC_LOCK) ? IOMMUFD_ACCOUNT_NONE : mode;
}

/* The calling process as an owner, charged in @mode; no references */
static struct iopt_owner iopt_current_owner(u8 mode)
{
	return (struct iopt_owner){
		.mode = mode,
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
	       a->mode == b->mode;
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
	me = iopt_current_owner(iopt_caller_mode(charge_mode));
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
 * (user address or file offset), in one of two forms:
 *
 *  - an array of IOPT_CHUNK_PAGES words, 0 where nothing is pinned: 8
 *    bytes a page, for memory of scattered 4 KiB pages;
 *  - a struct iopt_pfn_run when the chunk's pages are one physically
 *    contiguous block (a huge page): its first PFN and a bitmap of the
 *    pages pinned, 72 bytes for 2 MiB.
 *
 * pages->chunks has one word per chunk: 0, an array, or a run with bit 0
 * set.  A chunk pinned whole in one batch of consecutive PFNs becomes a
 * run, anything else an array; a run becomes an array when a page that
 * does not fit it is pinned.  Clearing never allocates: it zeroes entries
 * or bits, and frees a chunk it empties.  All under pages->mutex, or with a
 * user holding the pages read.
 */
struct iopt_pfn_run {
	unsigned long base;
	DECLARE_BITMAP(present, IOPT_CHUNK_PAGES);
};

#define IOPT_CHUNK_RUN 1UL

static unsigned long iopt_chunk(struct iopt_pages *pages, unsigned long index)
{
	return (index + pages->chunk_skew) / IOPT_CHUNK_PAGES;
}

static unsigned int iopt_chunk_pos(struct iopt_pages *pages,
				   unsigned long index)
{
	return (index + pages->chunk_skew) % IOPT_CHUNK_PAGES;
}

static struct iopt_pfn_run *iopt_chunk_run(unsigned long ent)
{
	return ent & IOPT_CHUNK_RUN ?
		(struct iopt_pfn_run *)(ent & ~IOPT_CHUNK_RUN) : NULL;
}

/* Allocate the chunk table at the first pin; Return: 0 or -ENOMEM */
static int iopt_pfns_init(struct iopt_pages *pages)
{
	unsigned long n;

	if (pages->chunks)
		return 0;
	/* Chunks follow the 2 MiB blocks of the address, where huge pages sit */
	pages->chunk_skew = (pages->uva >> PAGE_SHIFT) % IOPT_CHUNK_PAGES;
	n = DIV_ROUND_UP(pages->nr_pages + pages->chunk_skew, IOPT_CHUNK_PAGES);
	pages->chunks = kvcalloc(n, sizeof(*pages->chunks),
				 GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	return pages->chunks ? 0 : -ENOMEM;
}

static void iopt_pfns_free(struct iopt_pages *pages)
{
	unsigned long i, n;

	if (!pages->chunks)
		return;
	n = DIV_ROUND_UP(pages->nr_pages + pages->chunk_skew, IOPT_CHUNK_PAGES);
	for (i = 0; i != n; i++)
		kfree((void *)(pages->chunks[i] & ~IOPT_CHUNK_RUN));
	kvfree(pages->chunks);
}

/**
 * iopt_pages_pfn() - the PFN of a page of the store
 * @pages: the store
 * @index: the page
 *
 * Context: pages->mutex held, or a user covering @index.
 * Return: its PFN while pinned (or mapped by PFN), else 0.
 */
unsigned long iopt_pages_pfn(struct iopt_pages *pages, unsigned long index)
{
	unsigned long ent = pages->chunks ?
		pages->chunks[iopt_chunk(pages, index)] : 0;
	unsigned int pos = iopt_chunk_pos(pages, index);
	struct iopt_pfn_run *run = iopt_chunk_run(ent);

	if (run)
		return test_bit(pos, run->present) ? run->base + pos : 0;
	return ent ? ((unsigned long *)ent)[pos] : 0;
}

/*
 * The array of chunk @chunk, allocated when the chunk is empty and made
 * from its run when it has one.  Return: the array, or NULL without memory
 * (the chunk unchanged).
 */
static unsigned long *iopt_chunk_array(struct iopt_pages *pages,
				       unsigned long chunk)
{
	unsigned long ent = pages->chunks[chunk];
	struct iopt_pfn_run *run = iopt_chunk_run(ent);
	unsigned long *arr;
	unsigned int pos;

	if (ent && !run)
		return (unsigned long *)ent;
	arr = kcalloc(IOPT_CHUNK_PAGES, sizeof(*arr), GFP_KERNEL_ACCOUNT);
	if (!arr)
		return NULL;
	if (run) {
		for_each_set_bit(pos, run->present, IOPT_CHUNK_PAGES)
			arr[pos] = run->base + pos;
		kfree(run);
	}
	pages->chunks[chunk] = (unsigned long)arr;
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
 * one chunk and none stored yet.  A whole empty chunk of consecutive PFNs
 * becomes a run, and pages that continue a run join it; anything else
 * goes to the chunk's array.  Return: 0 or -ENOMEM, with nothing stored.
 */
static int iopt_pfns_store(struct iopt_pages *pages, unsigned long index,
			   struct page **list, unsigned int n)
{
	unsigned long chunk = iopt_chunk(pages, index);
	unsigned int pos = iopt_chunk_pos(pages, index), i;
	unsigned long ent = pages->chunks[chunk];
	struct iopt_pfn_run *run = iopt_chunk_run(ent);
	unsigned long pfn = page_to_pfn(list[0]);
	unsigned long *arr;

	lockdep_assert_held(&pages->mutex);
	/* Only a run can use consecutive PFNs: arrays need not look */
	if (run && pfn == run->base + pos && iopt_list_consecutive(list, n)) {
		bitmap_set(run->present, pos, n);
		return 0;
	}
	if (!ent && n == IOPT_CHUNK_PAGES && iopt_list_consecutive(list, n)) {
		run = kmalloc(sizeof(*run), GFP_KERNEL_ACCOUNT);
		if (run) {
			run->base = pfn;
			bitmap_fill(run->present, IOPT_CHUNK_PAGES);
			pages->chunks[chunk] = (unsigned long)run |
					       IOPT_CHUNK_RUN;
			return 0;
		}
		/* Without memory for the run, an array may still do */
	}
	arr = iopt_chunk_array(pages, chunk);
	if (!arr)
		return -ENOMEM;
	for (i = 0; i != n; i++)
		arr[pos + i] = page_to_pfn(list[i]);
	return 0;
}

/* Forget the PFNs of [@index, @index + @n), freeing chunks left empty */
static void iopt_pfns_clear(struct iopt_pages *pages, unsigned long index,
			    unsigned long n)
{
	lockdep_assert_held(&pages->mutex);
	while (n) {
		unsigned long chunk = iopt_chunk(pages, index);
		unsigned int pos = iopt_chunk_pos(pages, index);
		unsigned int len = min_t(unsigned long, n,
					 IOPT_CHUNK_PAGES - pos);
		unsigned long ent = pages->chunks[chunk];
		struct iopt_pfn_run *run = iopt_chunk_run(ent);
		bool empty = false;

		if (!ent) {
			/* nothing stored in this chunk */
		} else if (run) {
			bitmap_clear(run->present, pos, len);
			empty = bitmap_empty(run->present, IOPT_CHUNK_PAGES);
		} else {
			unsigned long *arr = (unsigned long *)ent;

			memset(&arr[pos], 0, len * sizeof(*arr));
			empty = len == IOPT_CHUNK_PAGES;
		}
		if (empty) {
			kfree((void *)(ent & ~IOPT_CHUNK_RUN));
			pages->chunks[chunk] = 0;
		}
		index += len;
		n -= len;
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
 * RLIMIT_MEMLOCK unless @flags has IOPT_CHARGE_NO_LIMIT (then it cannot
 * fail).
 */
static int iopt_charge(const struct iopt_owner *owner, unsigned long npages,
		       unsigned int flags)
{
	bool no_limit = flags & IOPT_CHARGE_NO_LIMIT;
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
		if (ret)
			return ret;
		break;
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
		break;
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
	unsigned long *arr;

	lockdep_assert_held(&pages->mutex);
	if (!pages->pfnmap) {
		pages->pfnmap = bitmap_zalloc(pages->nr_pages, GFP_KERNEL_ACCOUNT);
		if (!pages->pfnmap)
			return -ENOMEM;
	}
	/* A PFN mapping never joins a run: runs are pinned pages */
	arr = iopt_chunk_array(pages, iopt_chunk(pages, index));
	if (!arr)
		return -ENOMEM;
	arr[iopt_chunk_pos(pages, index)] = pfn;
	__set_bit(index, pages->pfnmap);
	return 0;
}

/**
 * iopt_pages_run() - the run of PFNs that starts at a page
 * @pages: the store
 * @index: a page with a PFN
 * @max: the most pages to take
 *
 * Context: pages->mutex held, or a user keeps the pages in place.
 * Return: how many pages from @index (at least 1, at most @max) have
 * consecutive PFNs and are all pinned pages or all of a PFN mapping.
 */
unsigned long iopt_pages_run(struct iopt_pages *pages, unsigned long index,
			     unsigned long max)
{
	unsigned long pfn = iopt_pages_pfn(pages, index), n = 0;

	/* A chunk at a time: a run chunk's bitmap, an array's words */
	while (n < max) {
		unsigned int pos = iopt_chunk_pos(pages, index + n), k = 0;
		unsigned int room = min_t(unsigned long, max - n,
					  IOPT_CHUNK_PAGES - pos);
		unsigned long ent = pages->chunks[iopt_chunk(pages, index + n)];
		struct iopt_pfn_run *run = iopt_chunk_run(ent);

		if (run) {
			if (run->base + pos == pfn + n)
				k = find_next_zero_bit(run->present,
						       pos + room, pos) - pos;
		} else if (ent) {
			unsigned long *arr = (unsigned long *)ent + pos;

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

/* Pin the pages [@index, @index + @npages), none of them pinned yet. */
static int iopt_pages_pin_span(struct iopt_pages *pages, unsigned long index,
			       unsigned long npages, struct page **list)
{
	unsigned long done = 0;
	int ret;

	lockdep_assert_held(&pages->mutex);
	ret = iopt_pages_charge(pages, npages);
	if (ret)
		return ret;
	while (done != npages) {
		/* No batch crosses a chunk, so a whole one can become a run */
		unsigned long want = min3(npages - done, iommufd_pin_batch(),
					  IOPT_CHUNK_PAGES -
					  iopt_chunk_pos(pages, index + done));
		unsigned long pfn;
		long got;

		got = iopt_pages_gup(pages, index + done, want, list);
		if (got == -EFAULT &&
		    !iopt_pages_follow_pfnmap(pages, index + done, &pfn)) {
			ret = iopt_pages_set_pfnmap(pages, index + done, pfn);
			if (ret)
				goto err_uncharge;
			/* Not pinned, so not charged */
			iopt_pages_uncharge(pages, 1);
			done++;
			continue;
		}
		if (got <= 0) {
			ret = got ? got : -EFAULT;
			goto err_uncharge;
		}
		if (iopt_pfns_store(pages, index + done, list, got)) {
			/* Not recorded, so not ours to keep */
			unpin_user_pages(list, got);
			ret = -ENOMEM;
			goto err_uncharge;
		}
		done += got;
		pages->ncharged += got;
	}
	return 0;

err_uncharge:
	/* The caller unpins what was pinned; only the rest is uncharged here */
	iopt_pages_uncharge(pages, npages - done);
	return ret;
}

/* Pages unpinned per call into GUP from a chunk array: on the stack */
#define IOPT_UNPIN_BATCH 32

/*
 * Unpin and uncharge the pinned pages of [@first, @last], a chunk of the
 * PFN store at a time.  A run chunk's pages go to GUP a range of set bits
 * at a time, which GUP unpins a folio at a time: a huge page is one step.
 * An array chunk's pages go in batches of page pointers on the stack.  PFN
 * mappings are only forgotten.  Allocates nothing, so teardown can always
 * call it.
 */
static void iopt_pages_unpin_span(struct iopt_pages *pages,
				  unsigned long first, unsigned long last)
{
	struct page *batch[IOPT_UNPIN_BATCH];
	unsigned long index = first, total = 0;
	unsigned int nbatch = 0;

	lockdep_assert_held(&pages->mutex);
	while (index <= last) {
		unsigned int pos = iopt_chunk_pos(pages, index);
		unsigned int len = min_t(unsigned long, last - index + 1,
					 IOPT_CHUNK_PAGES - pos);
		unsigned long ent = pages->chunks[iopt_chunk(pages, index)];
		struct iopt_pfn_run *run = iopt_chunk_run(ent);
		unsigned int i, end;

		if (run) {
			i = pos;
			for_each_set_bitrange_from(i, end, run->present,
						   pos + len) {
				struct page *head = pfn_to_page(run->base + i);

				unpin_user_page_range_dirty_lock(head, end - i,
								 pages->write_ok);
				total += end - i;
			}
		} else if (ent) {
			unsigned long *arr = (unsigned long *)ent;

			for (i = pos; i != pos + len; i++) {
				unsigned long at = index + (i - pos);

				if (!arr[i])
					continue;
				if (pages->pfnmap &&
				    test_and_clear_bit(at, pages->pfnmap))
					continue;	/* never pinned */
				batch[nbatch++] = pfn_to_page(arr[i]);
				if (nbatch == IOPT_UNPIN_BATCH) {
					unpin_user_pages_dirty_lock(batch, nbatch,
								    pages->write_ok);
					total += nbatch;
					nbatch = 0;
				}
			}
		}
		if (ent)
			iopt_pfns_clear(pages, index, len);
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

/* Unpin what no remaining user covers in [@first, @last]. */
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
}

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
	struct interval_tree_span_iter span;
	struct page **list;
	int ret = 0;

	list = (struct page **)__get_free_page(GFP_KERNEL);
	if (!list)
		return -ENOMEM;

	mutex_lock(&pages->mutex);
	ret = iopt_pfns_init(pages);
	if (ret)
		goto out_unlock;

	/* Pin the holes between other users' ranges: nothing there is pinned */
	interval_tree_for_each_span(&span, &pages->users, first, last) {
		if (!span.is_hole)
			continue;
		ret = iopt_pages_pin_span(pages, span.start_hole,
					  span.last_hole - span.start_hole + 1,
					  list);
		if (ret) {
			iopt_pages_unpin_uncovered(pages, first, last);
			goto out_unlock;
		}
	}
	user->node.start = first;
	user->node.last = last;
	interval_tree_insert(&user->node, &pages->users);

out_unlock:
	mutex_unlock(&pages->mutex);
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
	struct iopt_owner to = iopt_current_owner(iopt_caller_mode(charge_mode));
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
 *
 * The calling process becomes the owner: what the store has pinned is
 * charged to it, in the store's accounting mode, and uncharged from the
 * old owner; a live-updated VMM may be a new process (exec).
 *
 * Context: Process context; sleeps.  Takes pages->mutex.
 * Return: 0, or -ENOMEM if the caller's RLIMIT_MEMLOCK forbids the charge.
 */
int iopt_pages_adopt(struct iopt_pages *pages, unsigned long uptr)
{
	struct iopt_owner new, old;
	int ret = 0;

	mutex_lock(&pages->mutex);
	/* The store's accounting mode stays; only who is charged changes */
	new = iopt_current_owner(pages->owner.mode);
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
