// SPDX-License-Identifier: GPL-2.0
/*
 * iova_bitmap: a dirty bitmap over a range of IOVA, kept in user memory.
 *
 * Bit i of the user's bitmap stands for the IOVA
 * [iova + i * page_size, iova + (i + 1) * page_size).  The bitmap is
 * addressed by byte, bit i being bit (i % 8) of byte (i / 8): the layout of
 * an array of u64 on a little-endian machine, and no alignment is needed.
 * Such a bitmap can describe terabytes of IOVA, far more than the kernel
 * should pin at once, so iova_bitmap_for_each() walks it in windows: it
 * pins at most IOVA_BITMAP_WINDOW_PAGES pages of it, calls back with the IOVA
 * those pages describe, then unpins them, dirtied, and moves on.  Drivers
 * record dirty IOVA from the callback with iova_bitmap_set().
 *
 * Invariants:
 *  - Every window but the first starts on a page boundary of the user
 *    bitmap; the first starts at its first byte.  A bit therefore belongs
 *    to exactly one window.
 *  - A window's pages are pinned only while the callback runs.
 *  - Bits are only ever set, never cleared.
 *  - A driver may report a range that runs past the window's end (a large
 *    IO page table entry straddling it).  That tail is kept as the pending
 *    range and written when the window that holds it is pinned, so no
 *    dirty IOVA is lost.
 */
#include <linux/bits.h>
#include <linux/highmem.h>
#include <linux/iova_bitmap.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#define IOVA_BITMAP_WINDOW_PAGES (PAGE_SIZE / sizeof(struct page *))

/**
 * struct iova_bitmap - a walk over a user dirty bitmap
 * @data: the user array
 * @iova: the IOVA of bit 0
 * @length: bytes of IOVA the bitmap covers
 * @nbits: bits in the whole bitmap
 * @pgshift: log2 of the IOVA one bit stands for
 * @pages: the pinned pages of the current window
 * @npinned: how many of @pages are pinned; 0 outside a callback
 * @pin_base: user address of the first byte of @pages[0]
 * @win_first: first bit of the current window
 * @win_nbits: bits in the current window
 * @pend_first: first bit of the pending range, when @pending
 * @pend_last: last bit of the pending range, when @pending
 * @pending: a range beyond the current window still has to be written
 *
 * Owned by one caller; not safe for concurrent use.
 */
struct iova_bitmap {
	u64 __user *data;
	unsigned long iova;
	size_t length;
	unsigned long nbits;
	unsigned int pgshift;

	struct page **pages;
	unsigned long npinned;
	unsigned long pin_base;
	unsigned long win_first;
	unsigned long win_nbits;

	unsigned long pend_first;
	unsigned long pend_last;
	bool pending;
};

/**
 * iova_bitmap_alloc() - prepare a walk over a user dirty bitmap
 * @iova: the IOVA that bit 0 stands for
 * @length: bytes of IOVA to cover; not 0
 * @page_size: the IOVA one bit stands for; a power of two
 * @data: the user's bitmap; any byte address
 *
 * Context: Process context.  May sleep.
 * Return: the bitmap, or an ERR_PTR(): -EINVAL for a bad argument,
 * -EOVERFLOW when the range wraps, -EFAULT when the bitmap
 * (@length / @page_size bits from @data) is not all user address space,
 * -ENOMEM.
 */
struct iova_bitmap *iova_bitmap_alloc(unsigned long iova, size_t length,
				      unsigned long page_size,
				      u64 __user *data)
{
	struct iova_bitmap *bitmap;
	unsigned long last, nbits;

	if (!length || !is_power_of_2(page_size))
		return ERR_PTR(-EINVAL);
	if (check_add_overflow(iova, length - 1, &last))
		return ERR_PTR(-EOVERFLOW);
	/*
	 * Every byte the bitmap spans must be user address space, however
	 * little of it the walk touches: a length whose bitmap cannot exist
	 * is the caller's error, not a window to walk into.
	 */
	nbits = ((length - 1) >> __ffs(page_size)) + 1;
	if (!access_ok(data, (nbits - 1) / BITS_PER_BYTE + 1))
		return ERR_PTR(-EFAULT);

	bitmap = kzalloc(sizeof(*bitmap), GFP_KERNEL);
	if (!bitmap)
		return ERR_PTR(-ENOMEM);
	bitmap->pages = (struct page **)__get_free_page(GFP_KERNEL);
	if (!bitmap->pages) {
		kfree(bitmap);
		return ERR_PTR(-ENOMEM);
	}
	bitmap->data = data;
	bitmap->iova = iova;
	bitmap->length = length;
	bitmap->pgshift = __ffs(page_size);
	bitmap->nbits = nbits;
	return bitmap;
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_alloc, IOMMUFD);

/**
 * iova_bitmap_free() - free a bitmap made by iova_bitmap_alloc()
 * @bitmap: the bitmap; may be NULL
 *
 * Context: Any context but NMI.  The walk must be over.
 */
void iova_bitmap_free(struct iova_bitmap *bitmap)
{
	if (!bitmap)
		return;
	WARN_ON(bitmap->npinned);
	free_page((unsigned long)bitmap->pages);
	kfree(bitmap);
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_free, IOMMUFD);

/* The user address of the byte that holds @bit */
static unsigned long iova_bitmap_byte_uaddr(struct iova_bitmap *bitmap,
					    unsigned long bit)
{
	return (unsigned long)bitmap->data + bit / BITS_PER_BYTE;
}

/* Set bits [first, last] of @p, whose bit 0 is bit (@first % 8) of byte 0 */
static void iova_bitmap_fill(u8 *p, unsigned long first, unsigned long last)
{
	while (first <= last) {
		unsigned int lo = first % BITS_PER_BYTE;
		unsigned int hi = min_t(unsigned long, BITS_PER_BYTE - 1,
					lo + (last - first));
		unsigned long whole;

		if (lo == 0 && hi == BITS_PER_BYTE - 1) {
			whole = (last - first + 1) / BITS_PER_BYTE;
			memset(p, 0xff, whole);
			p += whole;
			first += whole * BITS_PER_BYTE;
			continue;
		}
		*p++ |= GENMASK(hi, lo);
		first += hi - lo + 1;
	}
}

/*
 * Set bits [first, last] of the bitmap; all of them lie in the current
 * window.  Each page is mapped once for the bytes it holds.
 */
static void iova_bitmap_write(struct iova_bitmap *bitmap, unsigned long first,
			      unsigned long last)
{
	while (first <= last) {
		unsigned long uaddr = iova_bitmap_byte_uaddr(bitmap, first);
		unsigned long index = (uaddr - bitmap->pin_base) >> PAGE_SHIFT;
		unsigned long stop;
		u8 *kaddr;

		/* The last bit whose byte still lies on this page */
		stop = (first / BITS_PER_BYTE +
			(PAGE_SIZE - offset_in_page(uaddr))) * BITS_PER_BYTE - 1;
		stop = min(stop, last);

		kaddr = kmap_local_page(bitmap->pages[index]);
		iova_bitmap_fill(kaddr + offset_in_page(uaddr), first, stop);
		kunmap_local(kaddr);
		first = stop + 1;
	}
}

/* Write what falls in the current window of bits [first, last]; keep the
 * part beyond it pending.  The part before it belongs to an earlier window
 * and was already reported there.
 */
static void iova_bitmap_record(struct iova_bitmap *bitmap, unsigned long first,
			       unsigned long last)
{
	unsigned long win_last = bitmap->win_first + bitmap->win_nbits - 1;

	if (last > win_last && bitmap->npinned) {
		unsigned long tail = max(first, win_last + 1);

		if (bitmap->pending) {
			bitmap->pend_first = min(bitmap->pend_first, tail);
			bitmap->pend_last = max(bitmap->pend_last, last);
		} else {
			bitmap->pend_first = tail;
			bitmap->pend_last = last;
			bitmap->pending = true;
		}
	}
	if (!bitmap->npinned)
		return;
	first = max(first, bitmap->win_first);
	last = min(last, win_last);
	if (first <= last)
		iova_bitmap_write(bitmap, first, last);
}

/**
 * iova_bitmap_set() - record dirty IOVA
 * @bitmap: the bitmap being walked
 * @iova: first dirty IOVA
 * @length: bytes of dirty IOVA
 *
 * Only valid from the callback of iova_bitmap_for_each().  The part of the
 * range outside the bitmap is ignored; the part beyond the current window
 * is written when the walk reaches it.
 *
 * Context: Any context but NMI; does not sleep.
 */
void iova_bitmap_set(struct iova_bitmap *bitmap, unsigned long iova,
		     size_t length)
{
	unsigned long bm_last = bitmap->iova + (bitmap->length - 1);
	unsigned long last;

	if (!length)
		return;
	if (check_add_overflow(iova, length - 1, &last))
		last = ULONG_MAX;
	if (last < bitmap->iova || iova > bm_last)
		return;
	iova = max(iova, bitmap->iova);
	last = min(last, bm_last);
	iova_bitmap_record(bitmap, (iova - bitmap->iova) >> bitmap->pgshift,
			   (last - bitmap->iova) >> bitmap->pgshift);
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_set, IOMMUFD);

/* Pin the window that starts at bit @first. */
static int iova_bitmap_pin_window(struct iova_bitmap *bitmap,
				  unsigned long first)
{
	unsigned long start = iova_bitmap_byte_uaddr(bitmap, first);
	unsigned long end = iova_bitmap_byte_uaddr(bitmap, bitmap->nbits - 1) +
			    1;
	unsigned long npages, end_bit;
	long pinned;

	npages = min_t(unsigned long, IOVA_BITMAP_WINDOW_PAGES,
		       DIV_ROUND_UP(end - PAGE_ALIGN_DOWN(start), PAGE_SIZE));
	pinned = pin_user_pages_fast(PAGE_ALIGN_DOWN(start), npages, FOLL_WRITE,
				     bitmap->pages);
	if (pinned <= 0)
		return pinned ? pinned : -EFAULT;

	bitmap->npinned = pinned;
	bitmap->pin_base = PAGE_ALIGN_DOWN(start);
	bitmap->win_first = first;
	/* Bits up to the end of the last pinned page, or of the bitmap */
	end_bit = (bitmap->pin_base + pinned * PAGE_SIZE -
		   (unsigned long)bitmap->data) * BITS_PER_BYTE;
	bitmap->win_nbits = min(end_bit, bitmap->nbits) - first;
	return 0;
}

static void iova_bitmap_unpin_window(struct iova_bitmap *bitmap)
{
	unpin_user_pages_dirty_lock(bitmap->pages, bitmap->npinned, true);
	bitmap->npinned = 0;
}

/* Write the pending range's part in the new window, keep the rest. */
static void iova_bitmap_flush_pending(struct iova_bitmap *bitmap)
{
	unsigned long first = bitmap->pend_first, last = bitmap->pend_last;

	if (!bitmap->pending)
		return;
	bitmap->pending = false;
	iova_bitmap_record(bitmap, first, last);
}

/**
 * iova_bitmap_for_each() - walk a user dirty bitmap window by window
 * @bitmap: the bitmap
 * @opaque: passed to @fn
 * @fn: called with the IOVA range of each window; it reports dirty IOVA
 *	with iova_bitmap_set() and returns 0 or a negative errno
 *
 * Context: Process context of the user that owns the bitmap memory.  May
 * sleep; @fn may sleep.
 * Return: 0 after the whole range was walked, the first error of @fn, or
 * -EFAULT (or another errno of pinning) if the user memory is not writable.
 */
int iova_bitmap_for_each(struct iova_bitmap *bitmap, void *opaque,
			 iova_bitmap_fn_t fn)
{
	unsigned long next = 0;
	int ret = 0;

	bitmap->pending = false;
	while (next < bitmap->nbits) {
		unsigned long offset, remaining, win_len;

		ret = iova_bitmap_pin_window(bitmap, next);
		if (ret)
			break;
		iova_bitmap_flush_pending(bitmap);

		offset = bitmap->win_first << bitmap->pgshift;
		remaining = bitmap->length - offset;
		if (bitmap->win_nbits >= ((remaining - 1) >> bitmap->pgshift) + 1)
			win_len = remaining;
		else
			win_len = bitmap->win_nbits << bitmap->pgshift;

		ret = fn(bitmap, bitmap->iova + offset, win_len, opaque);
		iova_bitmap_unpin_window(bitmap);
		if (ret)
			break;
		next = bitmap->win_first + bitmap->win_nbits;
	}
	bitmap->pending = false;
	return ret;
}
EXPORT_SYMBOL_NS_GPL(iova_bitmap_for_each, IOMMUFD);

MODULE_DESCRIPTION("IOMMUFD dirty bitmap helper");
MODULE_LICENSE("GPL");
