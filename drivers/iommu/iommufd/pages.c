// SPDX-License-Identifier: GPL-2.0-only
/*
 * The page store: user memory pinned on behalf of IO address spaces.
 *
 * A struct iopt_pages covers a page-aligned range of a process's memory.
 * IOAS_MAP creates one; IOAS_COPY shares it between areas, in one IOAS or
 * several.  Nothing is pinned until something needs the pages: an area
 * whose IOAS has a domain, or an in-kernel access.  Each such need is a
 * "user", an index range in pages->users.  The store keeps one word per
 * page, its PFN while pinned, so:
 *
 *  - a page is pinned exactly once however many users cover it, and is
 *    unpinned (and uncharged) when the last user covering it goes;
 *  - unmapping never has to read PFNs back out of an IOMMU domain;
 *  - the bookkeeping is 8 bytes per 4 KiB page (0.2 %), allocated only
 *    while something is pinned.
 *
 * Accounting: pins are charged when taken, in the mode the store was made
 * with (enum iommufd_account_mode), against the RLIMIT_MEMLOCK of the
 * process that made it.  Every failure uncharges what it charged.
 *
 * Locking: pages->mutex covers users, pfns and npinned.  It nests inside
 * the io_pagetable locks and takes the source mm's mmap lock inside itself.
 */
#include <linux/capability.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <uapi/linux/iommufd.h>

#include "io_pagetable.h"
#include "iommufd_private.h"

/* Pages pinned or unpinned per call into GUP: one page of page pointers */
#define IOPT_PAGES_BATCH (PAGE_SIZE / sizeof(struct page *))

/**
 * iopt_pages_alloc() - describe a range of the calling process's memory
 * @uptr: start of the range
 * @length: bytes; not 0, and @uptr + @length must not overflow
 * @writable: devices may write the memory
 * @account_mode: how pins are to be charged
 *
 * Nothing is pinned or checked yet: the range may not even be mapped.
 *
 * Context: Process context, in the process that owns the memory.
 * Return: the store with one reference, or ERR_PTR(-ENOMEM).
 */
struct iopt_pages *iopt_pages_alloc(unsigned long uptr, unsigned long length,
				    bool writable, u8 account_mode)
{
	unsigned long start = PAGE_ALIGN_DOWN(uptr);
	struct iopt_pages *pages;

	if (iommufd_should_fail())
		return ERR_PTR(-ENOMEM);
	pages = kzalloc(sizeof(*pages), GFP_KERNEL_ACCOUNT);
	if (!pages)
		return ERR_PTR(-ENOMEM);
	kref_init(&pages->kref);
	mutex_init(&pages->mutex);
	pages->uptr = start;
	pages->npages = (uptr - start + length - 1) / PAGE_SIZE + 1;
	pages->writable = writable;
	pages->account_mode = capable(CAP_IPC_LOCK) ? IOMMUFD_ACCOUNT_NONE :
						       account_mode;
	pages->users = RB_ROOT_CACHED;

	mmgrab(current->mm);
	pages->source_mm = current->mm;
	get_task_struct(current->group_leader);
	pages->source_task = current->group_leader;
	pages->source_user = get_uid(current_user());
	return pages;
}

/* kref release: every user is gone, so nothing is pinned */
void iopt_pages_release(struct kref *kref)
{
	struct iopt_pages *pages = container_of(kref, struct iopt_pages, kref);

	WARN_ON(pages->npinned || !RB_EMPTY_ROOT(&pages->users.rb_root));
	kvfree(pages->pfns);
	mmdrop(pages->source_mm);
	put_task_struct(pages->source_task);
	free_uid(pages->source_user);
	mutex_destroy(&pages->mutex);
	kfree(pages);
}

static unsigned long iopt_pages_memlock_limit(struct iopt_pages *pages)
{
	return task_rlimit(pages->source_task, RLIMIT_MEMLOCK) >> PAGE_SHIFT;
}

/* Charge @npages about to be pinned; -ENOMEM beyond RLIMIT_MEMLOCK. */
static int iopt_pages_charge(struct iopt_pages *pages, unsigned long npages)
{
	unsigned long limit = iopt_pages_memlock_limit(pages);
	struct user_struct *user = pages->source_user;
	unsigned long cur, new;
	int ret;

	switch (pages->account_mode) {
	case IOMMUFD_ACCOUNT_USER:
		do {
			cur = atomic_long_read(&user->locked_vm);
			new = cur + npages;
			if (new < cur || new > limit)
				return -ENOMEM;
		} while (atomic_long_cmpxchg(&user->locked_vm, cur, new) != cur);
		break;
	case IOMMUFD_ACCOUNT_MM:
		mmap_write_lock(pages->source_mm);
		ret = __account_locked_vm(pages->source_mm, npages, true,
					  pages->source_task, false);
		mmap_write_unlock(pages->source_mm);
		if (ret)
			return ret;
		break;
	}
	atomic64_add(npages, &pages->source_mm->pinned_vm);
	return 0;
}

static void iopt_pages_uncharge(struct iopt_pages *pages, unsigned long npages)
{
	switch (pages->account_mode) {
	case IOMMUFD_ACCOUNT_USER:
		atomic_long_sub(npages, &pages->source_user->locked_vm);
		break;
	case IOMMUFD_ACCOUNT_MM:
		mmap_write_lock(pages->source_mm);
		__account_locked_vm(pages->source_mm, npages, false,
				    pages->source_task, false);
		mmap_write_unlock(pages->source_mm);
		break;
	}
	atomic64_sub(npages, &pages->source_mm->pinned_vm);
}

/*
 * Pin @npages pages from index @index into @list.  Uses the fast path when
 * the caller is the owning process, otherwise pins through the owner's mm.
 * Return: pages pinned (maybe fewer than asked), or a negative errno.
 */
static long iopt_pages_gup(struct iopt_pages *pages, unsigned long index,
			   unsigned long npages, struct page **list)
{
	unsigned long addr = pages->uptr + index * PAGE_SIZE;
	unsigned int gup_flags = FOLL_LONGTERM;
	struct mm_struct *mm = pages->source_mm;
	int locked = 1;
	long ret;

	if (pages->writable)
		gup_flags |= FOLL_WRITE;
	if (iommufd_should_fail())
		return -EFAULT;
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

/* Pin the pages [@index, @index + @npages), none of them pinned yet. */
static int iopt_pages_pin_span(struct iopt_pages *pages, unsigned long index,
			       unsigned long npages, struct page **list)
{
	unsigned long done = 0;
	int ret;

	ret = iopt_pages_charge(pages, npages);
	if (ret)
		return ret;
	while (done != npages) {
		unsigned long want = min(npages - done, iommufd_pin_batch());
		long got, i;

		got = iopt_pages_gup(pages, index + done, want, list);
		if (got <= 0) {
			ret = got ? got : -EFAULT;
			goto err_uncharge;
		}
		for (i = 0; i != got; i++)
			pages->pfns[index + done + i] = page_to_pfn(list[i]);
		done += got;
		pages->npinned += got;
	}
	return 0;

err_uncharge:
	/* The caller unpins what was pinned; only the rest is uncharged here */
	iopt_pages_uncharge(pages, npages - done);
	return ret;
}

/* Unpin and uncharge the pinned pages of [@first, @last]. */
static void iopt_pages_unpin_span(struct iopt_pages *pages,
				  unsigned long first, unsigned long last,
				  struct page **list)
{
	unsigned long index = first, n = 0, total = 0;

	for (; index <= last; index++) {
		if (!pages->pfns[index])
			continue;
		list[n++] = pfn_to_page(pages->pfns[index]);
		pages->pfns[index] = 0;
		if (n == IOPT_PAGES_BATCH) {
			unpin_user_pages_dirty_lock(list, n, pages->writable);
			total += n;
			n = 0;
		}
	}
	if (n)
		unpin_user_pages_dirty_lock(list, n, pages->writable);
	total += n;
	if (total) {
		pages->npinned -= total;
		iopt_pages_uncharge(pages, total);
	}
}

/* Unpin what no remaining user covers in [@first, @last]. */
static void iopt_pages_unpin_uncovered(struct iopt_pages *pages,
				       unsigned long first, unsigned long last,
				       struct page **list)
{
	struct interval_tree_span_iter span;

	interval_tree_for_each_span(&span, &pages->users, first, last) {
		if (span.is_hole)
			iopt_pages_unpin_span(pages, span.start_hole,
					      span.last_hole, list);
	}
}

/**
 * iopt_pages_add_user() - make sure pages stay pinned for a user
 * @pages: the store
 * @user: the user's node, not in any tree
 * @first: first page index
 * @last: last page index, below pages->npages
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
	if (!pages->pfns) {
		pages->pfns = kvcalloc(pages->npages, sizeof(*pages->pfns),
				       GFP_KERNEL_ACCOUNT);
		if (!pages->pfns) {
			ret = -ENOMEM;
			goto out_unlock;
		}
	}

	/* Pin the holes between other users' ranges: nothing there is pinned */
	interval_tree_for_each_span(&span, &pages->users, first, last) {
		if (!span.is_hole)
			continue;
		ret = iopt_pages_pin_span(pages, span.start_hole,
					  span.last_hole - span.start_hole + 1,
					  list);
		if (ret) {
			iopt_pages_unpin_uncovered(pages, first, last, list);
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
 * iopt_pages_remove_user() - undo iopt_pages_add_user()
 * @pages: the store
 * @user: the user's node
 *
 * Unpins, dirtied if writable, and uncharges every page of the user's range
 * that no other user covers.  Never fails: without memory for a batch list
 * it unpins one page at a time.
 *
 * Context: Process context; sleeps.  Takes pages->mutex.
 */
void iopt_pages_remove_user(struct iopt_pages *pages,
			    struct iopt_pages_user *user)
{
	struct page *one;
	struct page **list;

	list = (struct page **)__get_free_page(GFP_KERNEL | __GFP_NOWARN);
	mutex_lock(&pages->mutex);
	interval_tree_remove(&user->node, &pages->users);
	if (list) {
		iopt_pages_unpin_uncovered(pages, user->node.start,
					   user->node.last, list);
	} else {
		unsigned long index;

		for (index = user->node.start; index <= user->node.last;
		     index++) {
			if (!interval_tree_iter_first(&pages->users, index,
						      index))
				iopt_pages_unpin_span(pages, index, index,
						      &one);
		}
	}
	mutex_unlock(&pages->mutex);
	if (list)
		free_page((unsigned long)list);
}
