// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-kernel accesses to an IOAS, for emulated devices (mdev) that reach the
 * IO address space in software instead of through an IOMMU.
 *
 * An access is an object of the context, created for a kernel owner (it
 * carries the owner's reference, see object.c) and attached to one IOAS.
 * It can read and write through IOVA (iommufd_access_rw()) and, if its ops
 * say needs_pin_pages, pin the pages behind a range of IOVA.
 *
 * Each pin is recorded as an IOVA range in access->pins, holding a page
 * store user per area it crosses and counting in area->naccess_pins, so the
 * area cannot go away under it.  An unmap that meets such an area calls the
 * ops->unmap callback of the IOAS's accesses, which must unpin, and retries.
 *
 * Locking: access->lock covers access->ioas and access->pins; it nests
 * outside the io_pagetable locks.  The unmap callback is called with no
 * io_pagetable lock held.
 */
#include <linux/highmem.h>
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "iommufd_private.h"

/**
 * struct iommufd_access - an in-kernel user of an IOAS
 * @base: the object
 * @ctx: the context, referenced for the access's lifetime
 * @ops: the owner's callbacks
 * @priv: passed to @ops
 * @lock: protects @ioas, @iopt_index and @pins
 * @ioas: the attached IOAS, held; NULL when detached
 * @iopt_index: the access's index in @ioas->table.accesses
 * @pins: struct iommufd_access_pin by IOVA
 */
struct iommufd_access {
	struct iommufd_object base;
	struct iommufd_ctx *ctx;
	const struct iommufd_access_ops *ops;
	void *priv;
	struct mutex lock;		/* see above */
	struct iommufd_ioas *ioas;
	u32 iopt_index;
	struct rb_root_cached pins;
};

/* One iommufd_access_pin_pages() call: a page store user per area */
struct iommufd_access_pin {
	struct interval_tree_node node;
	unsigned int nsegs;
	struct {
		struct iopt_area *area;
		struct iopt_pages_user user;
	} segs[] __counted_by(nsegs);
};

static void iommufd_access_unpin(struct iommufd_access_pin *pin)
{
	unsigned int i;

	for (i = 0; i != pin->nsegs; i++) {
		iopt_pages_remove_user(pin->segs[i].area->store,
				       &pin->segs[i].user);
		pin->segs[i].area->naccess_pins--;
	}
	kfree(pin);
}

/* Detach from the IOAS, releasing pins the owner failed to release */
static void iommufd_access_detach_locked(struct iommufd_access *access)
{
	struct iommufd_ioas *ioas = access->ioas;
	struct interval_tree_node *node;

	lockdep_assert_held(&access->lock);
	if (!ioas)
		return;
	down_write(&ioas->table.tree_sem);
	while ((node = interval_tree_iter_first(&access->pins, 0, ULONG_MAX))) {
		WARN_ON_ONCE(1);	/* the owner must unpin before detach */
		interval_tree_remove(node, &access->pins);
		iommufd_access_unpin(container_of(node,
						  struct iommufd_access_pin,
						  node));
	}
	up_write(&ioas->table.tree_sem);
	iopt_access_detach(&ioas->table, access->iopt_index,
			   access->ops->needs_pin_pages);
	access->ioas = NULL;
	iommufd_obj_unref(access->ctx, &ioas->base);
}

static void iommufd_access_destroy_object(struct iommufd_object *obj)
{
	struct iommufd_access *access =
		container_of(obj, struct iommufd_access, base);

	mutex_lock(&access->lock);
	iommufd_access_detach_locked(access);
	mutex_unlock(&access->lock);
	mutex_destroy(&access->lock);
}

const struct iommufd_kind_ops iommufd_access_ops = {
	.release = iommufd_access_destroy_object,
};

/**
 * iommufd_access_create() - create an in-kernel access
 * @ictx: the context
 * @ops: the access's callbacks; an access that pins pages must provide
 *	@ops->unmap and unpin from it
 * @data: passed to @ops
 * @id: output: the access's object id
 *
 * Context: Process context.
 * Return: the access, or an ERR_PTR().
 */
struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id)
{
	/* Pins are given back when the IOAS unmaps them, through ->unmap */
	bool can_pin = !ops->needs_pin_pages || ops->unmap;
	struct iommufd_access *access = WARN_ON(!can_pin) ? ERR_PTR(-EINVAL) :
		iommufd_object_alloc(ictx, struct iommufd_access,
				     IOMMUFD_KIND_ACCESS);

	if (IS_ERR(access))
		return access;
	access->pins = RB_ROOT_CACHED;
	mutex_init(&access->lock);
	access->priv = data;
	access->ops = ops;
	access->ctx = ictx;
	/* The access keeps the context, and its owner keeps the access */
	iommufd_ctx_get(ictx);
	refcount_inc(&access->base.refcnt);
	*id = access->base.nr;
	iommufd_object_publish(ictx, &access->base);
	return access;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_create, IOMMUFD);

/**
 * iommufd_access_destroy() - undo iommufd_access_create()
 * @access: the access; its owner must have unpinned everything
 *
 * Context: Process context; sleeps.
 */
void iommufd_access_destroy(struct iommufd_access *access)
{
	struct iommufd_ctx *ictx = access->ctx;

	iommufd_obj_remove(ictx, &access->base);
	iommufd_ctx_put(ictx);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_destroy, IOMMUFD);

static int iommufd_access_attach_locked(struct iommufd_access *access,
					u32 ioas_id)
{
	struct iommufd_ioas *ioas;
	int ret;

	lockdep_assert_held(&access->lock);
	ioas = iommufd_ioas_lookup(access->ctx, ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	ret = iopt_access_attach(&ioas->table, access,
				 access->ops->needs_pin_pages,
			      &access->iopt_index);
	if (ret) {
		iommufd_obj_unref(access->ctx, &ioas->base);
		return ret;
	}
	/* The lookup's hold becomes the attachment's */
	access->ioas = ioas;
	return 0;
}

/**
 * iommufd_access_attach() - attach an access to an IOAS
 * @access: the access, not attached
 * @ioas_id: the IOAS
 *
 * Context: Process context.
 * Return: 0; -EINVAL if already attached; -ENOENT if @ioas_id is not an
 * IOAS; -EADDRINUSE if the access pins pages and the IOAS has mappings
 * that are not page aligned.
 */
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id)
{
	int ret;

	mutex_lock(&access->lock);
	ret = access->ioas ? -EINVAL :
			     iommufd_access_attach_locked(access, ioas_id);
	mutex_unlock(&access->lock);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_attach, IOMMUFD);

/**
 * iommufd_access_replace() - move an access to another IOAS
 * @access: the access, attached
 * @ioas_id: the new IOAS
 *
 * The access's pins belong to the old IOAS: its unmap callback is asked to
 * release all of them first.  A move to the IOAS it is on changes nothing,
 * its pins included (as in 6.12).
 *
 * Context: Process context; sleeps.
 * Return: 0; -ENOENT if not attached (as 6.12); -EBUSY if the owner kept
 * pins; or as iommufd_access_attach().  On error the old attachment stays.
 */
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id)
{
	struct iommufd_ioas *old;
	u32 old_index;
	int ret;

	mutex_lock(&access->lock);
	if (access->ioas && access->ioas->base.nr != ioas_id &&
	    !RB_EMPTY_ROOT(&access->pins.rb_root)) {
		/*
		 * Moving invalidates every IOVA the access pinned: have its
		 * owner release them, with no lock held, as for an unmap.
		 */
		mutex_unlock(&access->lock);
		access->ops->unmap(access->priv, 0, ULONG_MAX);
		mutex_lock(&access->lock);
	}
	old = access->ioas;
	old_index = access->iopt_index;
	if (!old) {
		ret = -ENOENT;
	} else if (old->base.nr == ioas_id) {
		ret = 0;	/* staying: its pins stay valid */
	} else if (!RB_EMPTY_ROOT(&access->pins.rb_root)) {
		ret = -EBUSY;
	} else {
		ret = iommufd_access_attach_locked(access, ioas_id);
		if (!ret) {
			iopt_access_detach(&old->table, old_index,
					   access->ops->needs_pin_pages);
			iommufd_obj_unref(access->ctx, &old->base);
		} else {
			access->ioas = old;
		}
	}
	mutex_unlock(&access->lock);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_replace, IOMMUFD);

/**
 * iommufd_access_detach() - undo iommufd_access_attach()
 * @access: the access; its owner must have unpinned everything
 *
 * Context: Process context; sleeps.
 */
void iommufd_access_detach(struct iommufd_access *access)
{
	mutex_lock(&access->lock);
	iommufd_access_detach_locked(access);
	mutex_unlock(&access->lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_detach, IOMMUFD);

/**
 * iommufd_access_revoke() - ask accesses to release a range
 * @iopt: the IO address space being unmapped
 * @start: first IOVA
 * @last: last IOVA
 *
 * Calls the unmap callback of every attached access, with no io_pagetable
 * lock held; each must unpin what it pinned in the range.
 *
 * Context: Process context; sleeps.
 */
void iommufd_access_revoke(struct io_pagetable *iopt,
			   unsigned long start, unsigned long last)
{
	struct iommufd_access *access;
	unsigned long index;
	bool held;

	for (index = 0;; index++) {
		/*
		 * Hold the next access so it outlives the unlocked callback.
		 * One being destroyed (no users left) is skipped: its owner
		 * unpinned before destroying it, and the unmap, which retries
		 * while pins remain, waits for its detach.
		 */
		down_read(&iopt->dom_sem);
		access = xa_find(&iopt->accesses, &index, ULONG_MAX,
				 XA_PRESENT);
		held = access && refcount_inc_not_zero(&access->base.refcnt);
		up_read(&iopt->dom_sem);
		if (!access)
			return;
		if (!held)
			continue;
		/* The whole space's length does not fit: stop a byte short */
		if (access->ops->unmap)
			access->ops->unmap(access->priv, start,
					   last - start == ULONG_MAX ?
						   ULONG_MAX : last - start + 1);
		iommufd_obj_unref(access->ctx, &access->base);
	}
}

/* Page store index of the page holding @iova of @area */
static unsigned long iommufd_area_index(struct iopt_area *area,
					unsigned long iova)
{
	return (area->pages_offset + (iova - iopt_area_start(area))) >>
	       PAGE_SHIFT;
}

/*
 * Wait, holding no lock, until the VMM gives the range's mappings their
 * user addresses back (VFIO_DMA_MAP_FLAG_VADDR), so that they can be
 * pinned.  The IOAS is held meanwhile; the access may move on.
 */
static int iommufd_access_wait_vaddr(struct iommufd_access *access,
				     unsigned long iova, unsigned long length)
{
	struct iommufd_ioas *ioas;
	int ret;

	mutex_lock(&access->lock);
	ioas = access->ioas;
	if (ioas)
		refcount_inc(&ioas->base.refcnt);
	mutex_unlock(&access->lock);
	if (!ioas)
		return -ENOENT;
	ret = iopt_wait_vaddr(&ioas->table, iova, iova + length - 1);
	iommufd_obj_unref(access->ctx, &ioas->base);
	return ret;
}

/*
 * Why a range with a hole cannot be used with @prot, found as 6.12 finds
 * it walking the range: an area before the hole without @prot (EPERM),
 * else the hole (ENOENT).  Under iopt->tree_sem.
 */
static int iommufd_access_refusal(struct io_pagetable *iopt,
				  unsigned long iova, unsigned long last,
				  int prot)
{
	struct iopt_area *area;
	struct iopt_run run;

	for (area = iopt_run_start(&run, iopt, iova, last); area;
	     area = iopt_run_step(&run))
		if (!(area->ioprot & prot))
			return -EPERM;
	return -ENOENT;
}

/* One attempt of iommufd_access_pin_pages(); -EAGAIN: an address is gone */
static int iommufd_access_try_pin(struct iommufd_access *access,
				  unsigned long iova, unsigned long length,
				  struct page **out_pages, unsigned int flags)
{
	struct iommufd_access_pin *pin;
	struct iopt_area *area;
	struct io_pagetable *iopt;
	struct iopt_run run;
	unsigned int nareas, i;
	unsigned long last;
	int ret;

	if (!access->ops->needs_pin_pages || !length ||
	    !PAGE_ALIGNED(iova) || !PAGE_ALIGNED(length))
		return -EINVAL;
	if (check_add_overflow(iova, length - 1, &last))
		return -EOVERFLOW;

	mutex_lock(&access->lock);
	if (!access->ioas) {
		ret = -ENOENT;
		goto out_unlock;
	}
	iopt = &access->ioas->table;
	down_write(&iopt->tree_sem);
	nareas = iopt_run_count(iopt, iova, last);
	if (!nareas) {
		ret = iommufd_access_refusal(iopt, iova, last,
					     flags & IOMMUFD_ACCESS_RW_WRITE ?
					     IOMMU_WRITE : IOMMU_READ);
		goto out_unlock_iova;
	}
	pin = kzalloc(struct_size(pin, segs, nareas), GFP_KERNEL_ACCOUNT);
	if (!pin) {
		ret = -ENOMEM;
		goto out_unlock_iova;
	}
	pin->node.start = iova;
	pin->node.last = last;

	i = 0;
	for (area = iopt_run_start(&run, iopt, iova, last); area;
	     area = iopt_run_step(&run), i++) {
		unsigned long from = run.from, to = run.to;
		unsigned long index, first_index = iommufd_area_index(area,
								      from);

		/*
		 * A pin for reading needs a readable mapping, one for
		 * writing a writable one
		 */
		if (!(area->ioprot & (flags & IOMMUFD_ACCESS_RW_WRITE ?
				      IOMMU_WRITE : IOMMU_READ))) {
			ret = -EPERM;
			goto err_unpin;
		}
		ret = iopt_pages_add_page_user(area->store,
					       &pin->segs[i].user, first_index,
					       iommufd_area_index(area, to));
		if (ret)
			goto err_unpin;
		pin->segs[i].area = area;
		pin->nsegs++;
		area->naccess_pins++;
		for (index = first_index;
		     index <= iommufd_area_index(area, to); index++)
			*out_pages++ = pfn_to_page(iopt_pages_pfn(area->store,
								  index));
	}
	interval_tree_insert(&pin->node, &access->pins);
	up_write(&iopt->tree_sem);
	mutex_unlock(&access->lock);
	return 0;

err_unpin:
	iommufd_access_unpin(pin);
out_unlock_iova:
	up_write(&iopt->tree_sem);
out_unlock:
	mutex_unlock(&access->lock);
	return ret;
}

#ifdef CONFIG_IOMMUFD_TEST
/*
 * The test ABI's syzkaller IOVA @value in the IOAS @access is attached to
 * (see iommufd_test_syz_iova()); 0 when detached
 */
unsigned long iommufd_access_syz_iova(struct iommufd_access *access,
				      u64 value)
{
	unsigned long iova = 0;

	mutex_lock(&access->lock);
	if (access->ioas)
		iova = iommufd_test_syz_iova(&access->ioas->table, value);
	mutex_unlock(&access->lock);
	return iova;
}
#endif

/**
 * iommufd_access_pin_pages() - pin the pages behind a range of IOVA
 * @access: the access; its ops must say needs_pin_pages
 * @iova: first IOVA; page aligned
 * @length: bytes; a multiple of PAGE_SIZE, not 0
 * @out_pages: output: one page per PAGE_SIZE of the range
 * @flags: IOMMUFD_ACCESS_RW_WRITE if the pages will be written
 *
 * The pages stay pinned, and the range mapped, until
 * iommufd_access_unpin_pages() with the same range; an unmap of the range
 * calls the access's unmap callback first.
 *
 * Pages not pinned yet whose user address the VMM took away for a live
 * update (VFIO_DMA_UNMAP_FLAG_VADDR) are waited for, holding no lock,
 * until the new address arrives.
 *
 * Context: Process context; sleeps.
 * Return: 0; -EINVAL for a bad range or an access that may not pin;
 * -EOVERFLOW for a range past the end of the IOVA space; -ENOENT if the
 * range is not fully mapped or the access is not attached; -EPERM for a pin for writing
 * of a read-only mapping or for reading of a write-only one; -EINTR if
 * killed while waiting for an address; or an
 * error of pinning.
 */
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags)
{
	int ret;

	for (;;) {
		ret = iommufd_access_try_pin(access, iova, length, out_pages,
					     flags);
		if (ret != -EAGAIN)
			return ret;
		ret = iommufd_access_wait_vaddr(access, iova, length);
		if (ret)
			return ret;
	}
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_pin_pages, IOMMUFD);

/**
 * iommufd_access_unpin_pages() - undo iommufd_access_pin_pages()
 * @access: the access
 * @iova: first IOVA, exactly as pinned
 * @length: bytes, exactly as pinned
 *
 * Context: Process context; sleeps.
 */
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length)
{
	struct interval_tree_node *node;
	struct io_pagetable *iopt;
	unsigned long last;

	if (WARN_ON(!length || check_add_overflow(iova, length - 1, &last)))
		return;
	mutex_lock(&access->lock);
	if (WARN_ON(!access->ioas))
		goto out_unlock;
	iopt = &access->ioas->table;
	down_write(&iopt->tree_sem);
	for (node = interval_tree_iter_first(&access->pins, iova, last); node;
	     node = interval_tree_iter_next(node, iova, last)) {
		if (node->start == iova && node->last == last)
			break;
	}
	if (!WARN_ON(!node)) {
		interval_tree_remove(node, &access->pins);
		iommufd_access_unpin(container_of(node,
						  struct iommufd_access_pin,
						  node));
	}
	up_write(&iopt->tree_sem);
out_unlock:
	mutex_unlock(&access->lock);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_unpin_pages, IOMMUFD);

/* Copy through pages pinned for the duration of the copy */
static int iommufd_access_rw_pinned(struct iopt_area *area,
				    unsigned long iova, void *data, size_t len,
				    bool write)
{
	struct iopt_pages *pages = area->store;
	unsigned long offset = area->pages_offset + (iova - iopt_area_start(area));
	struct iopt_pages_user user;
	int ret;

	ret = iopt_pages_add_page_user(pages, &user, offset >> PAGE_SHIFT,
				       (offset + len - 1) >> PAGE_SHIFT);
	if (ret)
		return ret;
	while (len) {
		size_t chunk = min_t(size_t, len,
				     PAGE_SIZE - offset_in_page(offset));
		struct page *page = pfn_to_page(iopt_pages_pfn(pages,
							offset >> PAGE_SHIFT));

		if (write)
			memcpy_to_page(page, offset_in_page(offset), data,
				       chunk);
		else
			memcpy_from_page(data, page, offset_in_page(offset),
					 chunk);
		data += chunk;
		offset += chunk;
		len -= chunk;
	}
	iopt_pages_remove_user(pages, &user);
	return 0;
}

/* One attempt of iommufd_access_rw(); -EAGAIN: an address is gone */
static int iommufd_access_try_rw(struct iommufd_access *access,
				 unsigned long iova, void *data, size_t len,
				 unsigned int flags)
{
	bool write = flags & IOMMUFD_ACCESS_RW_WRITE;
	struct io_pagetable *iopt;
	struct iopt_area *area;
	struct iopt_run run;
	unsigned long last;
	int ret = 0;

	if (!len)
		return -EINVAL;
	if (check_add_overflow(iova, len - 1, &last))
		return -EOVERFLOW;
	mutex_lock(&access->lock);
	if (!access->ioas) {
		mutex_unlock(&access->lock);
		return -ENOENT;
	}
	iopt = &access->ioas->table;
	down_read(&iopt->tree_sem);
	/* All or nothing: a hole anywhere fails the call before any copy */
	if (!iopt_run_count(iopt, iova, last))
		ret = iommufd_access_refusal(iopt, iova, last,
					     write ? IOMMU_WRITE : IOMMU_READ);
	for (area = iopt_run_start(&run, iopt, iova, last); area && !ret;
	     area = iopt_run_step(&run)) {
		unsigned long from = run.from, to = run.to;
		size_t n = to - from + 1;
		unsigned long uaddr = area->store->uva + area->pages_offset +
				      (from - iopt_area_start(area));
		void __user *uptr = (void __user *)uaddr;

		if (!(area->ioprot & (write ? IOMMU_WRITE : IOMMU_READ))) {
			ret = -EPERM;
			break;
		}
		if (!(flags & (IOMMUFD_ACCESS_RW_KTHREAD |
			       __IOMMUFD_ACCESS_RW_SLOW_PATH)) &&
		    !area->store->file && !area->store->vaddr_invalid &&
		    current->mm == area->store->owner.mm) {
			/* The owner's own memory: copy directly */
			if (write ? copy_to_user(uptr, data, n) :
				    copy_from_user(data, uptr, n))
				ret = -EFAULT;
		} else {
			ret = iommufd_access_rw_pinned(area, from, data, n,
						       write);
		}
		data += n;
	}
	up_read(&iopt->tree_sem);
	mutex_unlock(&access->lock);
	return ret;
}

/**
 * iommufd_access_rw() - read or write through a range of IOVA
 * @access: the access
 * @iova: first IOVA; any alignment
 * @data: kernel buffer
 * @len: bytes; not 0
 * @flags: IOMMUFD_ACCESS_RW_WRITE to write; IOMMUFD_ACCESS_RW_KTHREAD when
 *	not called from the process that owns the memory
 *
 * Waits, like iommufd_access_pin_pages(), for user addresses being
 * replaced.
 *
 * Context: Process context; sleeps.
 * Return: 0; -EINVAL for no length; -EOVERFLOW for a range past the end
 * of the IOVA space; -ENOENT if the range is not fully mapped or the access
 * is not attached; -EPERM for
 * a write to a read-only mapping or a read of a write-only one; -EFAULT if
 * the memory is gone; -EINTR if killed while waiting for an address.
 */
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t len, unsigned int flags)
{
	int ret;

	for (;;) {
		ret = iommufd_access_try_rw(access, iova, data, len, flags);
		if (ret != -EAGAIN)
			return ret;
		ret = iommufd_access_wait_vaddr(access, iova, len);
		if (ret)
			return ret;
	}
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_rw, IOMMUFD);
