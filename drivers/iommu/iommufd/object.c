// SPDX-License-Identifier: GPL-2.0-only
/*
 * An iommufd context and its object table.
 *
 * A context is what one open /dev/iommu (or /dev/vfio/vfio) file holds; its
 * lifetime is the file's, so a reference on the context is a reference on
 * the file.  Every object the user can name (IOAS, HWPT, device, access,
 * ...) lives in ictx->obj_table under a u32 number, its id, 1..INT_MAX.
 * Rules, stated once:
 *
 *  - An id is reserved when the object is allocated and the object becomes
 *    visible only when published, fully built.  A lookup never finds a half
 *    built object.
 *  - obj->refcnt counts everything that holds the object: 1 for the table,
 *    plus one per ioctl in flight that looked it up, plus one per object or
 *    kernel owner that depends on it.  A user's IOMMU_DESTROY succeeds only
 *    when the table is the sole holder; otherwise it is EBUSY.
 *  - Objects created for a kernel user (a bound device, an access) carry the
 *    owner's reference as well, so neither IOMMU_DESTROY nor the teardown at
 *    close can free them under their owner.  The owner removes them with
 *    iommufd_obj_remove(), which waits out ioctls still holding them.
 *  - An object whose refcnt reached zero is being destroyed.  Code that
 *    reaches an object other than through the table (an IOAS's list of
 *    accesses) may hold it only with refcount_inc_not_zero().
 *  - Closing the file destroys every object, dependents before what they
 *    depend on.
 */
#include <linux/file.h>
#include <linux/iommufd.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "iommufd_private.h"

/**
 * iommufd_ctx_create() - make the context of a newly opened file
 * @filp: the file; its private_data becomes the context
 * @charge_mode: how the pins of its mappings are charged (IOMMUFD_ACCOUNT_*)
 *
 * Context: Process context.
 * Return: 0, or -ENOMEM.
 */
int iommufd_ctx_create(struct file *filp, u8 charge_mode)
{
	struct iommufd_ctx *ictx = kzalloc(sizeof(*ictx), GFP_KERNEL_ACCOUNT);

	if (!ictx)
		return -ENOMEM;
	ictx->own_file = filp;
	ictx->charge_mode = charge_mode;
	mutex_init(&ictx->lock);
	mutex_init(&ictx->vfio_map_lock);
	mutex_init(&ictx->handover_lock);
	xa_init(&ictx->group_slots);
	init_waitqueue_head(&ictx->remove_wait);
	xa_init_flags(&ictx->obj_table, XA_FLAGS_ACCOUNT | XA_FLAGS_ALLOC1);
	filp->private_data = ictx;
	return 0;
}

/**
 * iommufd_ctx_destroy() - free the context of a file being released
 * @ictx: the context; every object in it is destroyed first
 *
 * Context: Process context, from the file's release, so no reference on
 * the context is left.
 */
void iommufd_ctx_destroy(struct iommufd_ctx *ictx)
{
	iommufd_object_destroy_all(ictx);
	WARN_ON(!xa_empty(&ictx->group_slots));
	xa_destroy(&ictx->group_slots);
	xa_destroy(&ictx->obj_table);
	mutex_destroy(&ictx->handover_lock);
	mutex_destroy(&ictx->vfio_map_lock);
	mutex_destroy(&ictx->lock);
	kfree(ictx);
}

/**
 * iommufd_ctx_get() - take a reference on a context
 * @ictx: the context
 *
 * The reference keeps the context's file, and so the context, alive.
 *
 * Context: Any context.
 */
void iommufd_ctx_get(struct iommufd_ctx *ictx)
{
	get_file(ictx->own_file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_get, IOMMUFD);

/**
 * iommufd_ctx_put() - drop a reference taken on a context
 * @ictx: the context
 *
 * Context: Process context; the last reference releases the file.
 */
void iommufd_ctx_put(struct iommufd_ctx *ictx)
{
	fput(ictx->own_file);
}
EXPORT_SYMBOL_NS_GPL(iommufd_ctx_put, IOMMUFD);

/**
 * iommufd_call_reply() - copy a command's reply back to the user
 * @call: the command
 * @cmd_len: the kernel size of the command's struct
 *
 * Writes at most the user's size: a user with an older, shorter struct
 * gets the fields it knows of.
 *
 * Context: Process context, from an ioctl handler.
 * Return: 0, or -EFAULT.
 */
int iommufd_call_reply(struct iommufd_call *call, size_t cmd_len)
{
	size_t n = cmd_len < call->ulen ? cmd_len : call->ulen;

	return copy_to_user(call->uarg, call->kbuf, n) ? -EFAULT : 0;
}

/* Ids are 1..INT_MAX: never 0, and positive in an int */
#define IOMMUFD_ID_RANGE XA_LIMIT(1, INT_MAX)

/* How each type is destroyed; a type without an entry has nothing to free */
static const struct iommufd_kind_ops *const
iommufd_type_ops[IOMMUFD_KIND_MAX] = {
	[IOMMUFD_KIND_IOAS] = &iommufd_ioas_ops,
	[IOMMUFD_KIND_DEVICE] = &iommufd_device_ops,
	[IOMMUFD_KIND_HWPT_PAGING] = &iommufd_hwpt_paging_ops,
	[IOMMUFD_KIND_HWPT_NESTED] = &iommufd_hwpt_nested_ops,
	[IOMMUFD_KIND_ACCESS] = &iommufd_access_ops,
	[IOMMUFD_KIND_FAULT] = &iommufd_fault_ops,
#ifdef CONFIG_IOMMUFD_TEST
	[IOMMUFD_KIND_SELFTEST] = &iommufd_mock_binding_ops,
#endif
};

/**
 * iommufd_obj_alloc_bytes() - allocate an object and reserve its id
 * @ictx: the context
 * @size: size of the structure that embeds struct iommufd_object first
 * @type: the object's type
 *
 * Context: Process context.
 * Return: the zeroed object with obj->id set and one user (the table), or
 * ERR_PTR(-ENOMEM).
 */
struct iommufd_object *iommufd_obj_alloc_bytes(struct iommufd_ctx *ictx,
					       size_t size,
					     enum iommufd_kind type)
{
	struct iommufd_object *obj = NULL;
	u32 id;
	int ret;

	if (!iommufd_inject_fail())
		obj = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	/* The id is taken now; a lookup of it finds nothing until publish */
	ret = xa_alloc(&ictx->obj_table, &id, XA_ZERO_ENTRY, IOMMUFD_ID_RANGE,
		       GFP_KERNEL_ACCOUNT);
	if (ret < 0) {
		kfree(obj);
		return ERR_PTR(ret);
	}
	*obj = (struct iommufd_object){
		.refcnt = REFCOUNT_INIT(1),
		.nr = id,
		.kind = type,
	};
	return obj;
}

/**
 * iommufd_object_publish() - make a fully built object visible
 * @ictx: the context
 * @obj: the object from iommufd_obj_alloc_bytes()
 *
 * Context: Process context.
 */
void iommufd_object_publish(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj)
{
	/* Over its own reservation: no memory is needed, nothing was there */
	WARN_ON(xa_store(&ictx->obj_table, obj->nr, obj, GFP_KERNEL));
}

/* The object's type lets go of what it holds; then the memory goes */
static void iommufd_object_free(struct iommufd_object *obj)
{
	/* Every kind an object can have is in the table, with its release */
	iommufd_type_ops[obj->kind]->release(obj);
	kfree(obj);
}

/**
 * iommufd_object_discard() - undo iommufd_obj_alloc_bytes() of an object that
 * was never published
 * @ictx: the context
 * @obj: the object; its kind's release must cope with whatever
 *	part of it was built
 *
 * Context: Process context.
 */
void iommufd_object_discard(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj)
{
	xa_erase(&ictx->obj_table, obj->nr);
	iommufd_object_free(obj);
}

/**
 * iommufd_obj_lookup() - look up an object by id and hold it
 * @ictx: the context
 * @id: the id
 * @type: the type wanted, or IOMMUFD_KIND_ANY
 *
 * Context: Process context.
 * Return: the object, held until iommufd_obj_unref(), or ERR_PTR(-ENOENT)
 * if @id names no published object of @type.
 */
struct iommufd_object *iommufd_obj_lookup(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_kind type)
{
	struct iommufd_object *obj;
	bool held = false;

	xa_lock(&ictx->obj_table);
	obj = xa_load(&ictx->obj_table, id);
	/* A dying object (refcnt at zero) is as good as gone */
	if (obj && (type == IOMMUFD_KIND_ANY || type == obj->kind))
		held = refcount_inc_not_zero(&obj->refcnt);
	xa_unlock(&ictx->obj_table);
	return held ? obj : ERR_PTR(-ENOENT);
}

/**
 * iommufd_obj_unref() - drop what iommufd_obj_lookup() or
 * iommufd_object_hold() took
 * @ictx: the context
 * @obj: the object
 *
 * Context: Any context that may wake a waiter.
 */
void iommufd_obj_unref(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	/* The table's own reference keeps this from reaching zero */
	refcount_dec(&obj->refcnt);
	if (wq_has_sleeper(&ictx->remove_wait))
		wake_up_all(&ictx->remove_wait);
}

/**
 * iommufd_object_destroy_user() - IOMMU_DESTROY of one object
 * @ictx: the context
 * @id: the object's id
 *
 * Context: Process context.
 * Return: 0; -ENOENT if @id names nothing; -EBUSY while anything but the
 * table holds the object.
 */
int iommufd_object_destroy_user(struct iommufd_ctx *ictx, u32 id)
{
	struct iommufd_object *obj;

	xa_lock(&ictx->obj_table);
	obj = xa_load(&ictx->obj_table, id);
	if (!obj) {
		xa_unlock(&ictx->obj_table);
		return -ENOENT;
	}
	if (!refcount_dec_if_one(&obj->refcnt)) {
		xa_unlock(&ictx->obj_table);
		return -EBUSY;
	}
	__xa_erase(&ictx->obj_table, id);
	xa_unlock(&ictx->obj_table);
	iommufd_object_free(obj);
	return 0;
}

/**
 * iommufd_obj_remove() - remove an object on behalf of its kernel owner
 * @ictx: the context
 * @obj: a published object that carries its owner's reference
 *
 * Hides the object from lookups, waits until the ioctls that still hold it
 * are done, then destroys it.  The owner's reference is consumed.
 *
 * Context: Process context; sleeps.
 */
void iommufd_obj_remove(struct iommufd_ctx *ictx,
			struct iommufd_object *obj)
{
	xa_cmpxchg(&ictx->obj_table, obj->nr, obj, NULL, GFP_KERNEL);
	/*
	 * The owner's reference goes now; the table's is taken last, in the
	 * same step that finds no one else holding the object, so nobody can
	 * take a new reference between the check and the free.
	 */
	refcount_dec(&obj->refcnt);
	wait_event(ictx->remove_wait, refcount_dec_if_one(&obj->refcnt));
	iommufd_object_free(obj);
}

/**
 * iommufd_object_destroy_all() - destroy every object of a closing context
 * @ictx: the context
 *
 * Repeats passes over the table, destroying each object nothing else holds,
 * until the table is empty: each pass frees what the previous one was
 * holding up.
 *
 * Context: Process context, from the file's release; no ioctl can run.
 */
void iommufd_object_destroy_all(struct iommufd_ctx *ictx)
{
	struct iommufd_object *obj;
	unsigned long index;
	bool progress;

	do {
		progress = false;
		xa_for_each(&ictx->obj_table, index, obj) {
			if (!refcount_dec_if_one(&obj->refcnt))
				continue;
			xa_erase(&ictx->obj_table, index);
			iommufd_object_free(obj);
			progress = true;
		}
	} while (progress);
	/* Only a kernel owner that forgot to remove its object leaves one */
	WARN_ON(!xa_empty(&ictx->obj_table));
}
