// SPDX-License-Identifier: GPL-2.0-only
/*
 * The object table of an iommufd context.
 *
 * Every object the user can name (IOAS, HWPT, device, access, ...) lives in
 * ictx->objects under a u32 id, 1..INT_MAX.  Rules, stated once:
 *
 *  - An id is reserved when the object is allocated and the object becomes
 *    visible only when published, fully built.  A lookup never finds a half
 *    built object.
 *  - obj->users counts everything that holds the object: 1 for the table,
 *    plus one per ioctl in flight that looked it up, plus one per object or
 *    kernel owner that depends on it.  A user's IOMMU_DESTROY succeeds only
 *    when the table is the sole holder; otherwise it is EBUSY.
 *  - Objects created for a kernel user (a bound device, an access) carry the
 *    owner's reference as well, so neither IOMMU_DESTROY nor the teardown at
 *    close can free them under their owner.  The owner removes them with
 *    iommufd_object_remove(), which waits out ioctls still holding them.
 *  - An object whose users reached zero is being destroyed.  Code that
 *    reaches an object other than through the table (an IOAS's list of
 *    accesses) may hold it only with refcount_inc_not_zero().
 *  - Closing the file destroys every object, dependents before what they
 *    depend on.
 */
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "iommufd_private.h"

/* Ids are 1..INT_MAX: never 0, and positive in an int */
#define IOMMUFD_ID_RANGE XA_LIMIT(1, INT_MAX)

/* How each type is destroyed; a type without an entry has nothing to free */
static const struct iommufd_object_ops *const
iommufd_type_ops[IOMMUFD_OBJ_MAX] = {
	[IOMMUFD_OBJ_IOAS] = &iommufd_ioas_ops,
	[IOMMUFD_OBJ_DEVICE] = &iommufd_device_ops,
	[IOMMUFD_OBJ_HWPT_PAGING] = &iommufd_hwpt_paging_ops,
	[IOMMUFD_OBJ_HWPT_NESTED] = &iommufd_hwpt_nested_ops,
	[IOMMUFD_OBJ_ACCESS] = &iommufd_access_ops,
	[IOMMUFD_OBJ_FAULT] = &iommufd_fault_ops,
#ifdef CONFIG_IOMMUFD_TEST
	[IOMMUFD_OBJ_SELFTEST] = &iommufd_mock_binding_ops,
#endif
};

/**
 * _iommufd_object_alloc() - allocate an object and reserve its id
 * @ictx: the context
 * @size: size of the structure that embeds struct iommufd_object first
 * @type: the object's type
 *
 * Context: Process context.
 * Return: the zeroed object with obj->id set and one user (the table), or
 * ERR_PTR(-ENOMEM).
 */
struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx,
					     size_t size,
					     enum iommufd_object_type type)
{
	struct iommufd_object *obj = NULL;
	u32 id;
	int ret;

	if (!iommufd_should_fail())
		obj = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	/* The id is taken now; a lookup of it finds nothing until publish */
	ret = xa_alloc(&ictx->objects, &id, XA_ZERO_ENTRY, IOMMUFD_ID_RANGE,
		       GFP_KERNEL_ACCOUNT);
	if (ret < 0) {
		kfree(obj);
		return ERR_PTR(ret);
	}
	*obj = (struct iommufd_object){
		.users = REFCOUNT_INIT(1),
		.id = id,
		.type = type,
	};
	return obj;
}

/**
 * iommufd_object_publish() - make a fully built object visible
 * @ictx: the context
 * @obj: the object from _iommufd_object_alloc()
 *
 * Context: Process context.
 */
void iommufd_object_publish(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj)
{
	/* Over its own reservation: no memory is needed, nothing was there */
	WARN_ON(xa_store(&ictx->objects, obj->id, obj, GFP_KERNEL));
}

/* The object's type lets go of what it holds; then the memory goes */
static void iommufd_object_free(struct iommufd_object *obj)
{
	void (*destroy)(struct iommufd_object *obj) = NULL;

	if (iommufd_type_ops[obj->type])
		destroy = iommufd_type_ops[obj->type]->destroy;
	if (destroy)
		destroy(obj);
	kfree(obj);
}

/**
 * iommufd_object_discard() - undo _iommufd_object_alloc() of an object that
 * was never published
 * @ictx: the context
 * @obj: the object; its type's destroy operation must cope with whatever
 *	part of it was built
 *
 * Context: Process context.
 */
void iommufd_object_discard(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj)
{
	xa_erase(&ictx->objects, obj->id);
	iommufd_object_free(obj);
}

/**
 * iommufd_get_object() - look up an object by id and hold it
 * @ictx: the context
 * @id: the id
 * @type: the type wanted, or IOMMUFD_OBJ_ANY
 *
 * Context: Process context.
 * Return: the object, held until iommufd_put_object(), or ERR_PTR(-ENOENT)
 * if @id names no published object of @type.
 */
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type)
{
	struct iommufd_object *obj;
	bool held = false;

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	/* A dying object (users at zero) is as good as gone */
	if (obj && (type == IOMMUFD_OBJ_ANY || type == obj->type))
		held = refcount_inc_not_zero(&obj->users);
	xa_unlock(&ictx->objects);
	return held ? obj : ERR_PTR(-ENOENT);
}

/**
 * iommufd_put_object() - drop what iommufd_get_object() or
 * iommufd_object_hold() took
 * @ictx: the context
 * @obj: the object
 *
 * Context: Any context that may wake a waiter.
 */
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj)
{
	/* The table's own reference keeps this from reaching zero */
	refcount_dec(&obj->users);
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

	xa_lock(&ictx->objects);
	obj = xa_load(&ictx->objects, id);
	if (!obj) {
		xa_unlock(&ictx->objects);
		return -ENOENT;
	}
	if (!refcount_dec_if_one(&obj->users)) {
		xa_unlock(&ictx->objects);
		return -EBUSY;
	}
	__xa_erase(&ictx->objects, id);
	xa_unlock(&ictx->objects);
	iommufd_object_free(obj);
	return 0;
}

/**
 * iommufd_object_remove() - remove an object on behalf of its kernel owner
 * @ictx: the context
 * @obj: a published object that carries its owner's reference
 *
 * Hides the object from lookups, waits until the ioctls that still hold it
 * are done, then destroys it.  The owner's reference is consumed.
 *
 * Context: Process context; sleeps.
 */
void iommufd_object_remove(struct iommufd_ctx *ictx,
			   struct iommufd_object *obj)
{
	xa_cmpxchg(&ictx->objects, obj->id, obj, NULL, GFP_KERNEL);
	/*
	 * The owner's reference goes now; the table's is taken last, in the
	 * same step that finds no one else holding the object, so nobody can
	 * take a new reference between the check and the free.
	 */
	refcount_dec(&obj->users);
	wait_event(ictx->remove_wait, refcount_dec_if_one(&obj->users));
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
		xa_for_each(&ictx->objects, index, obj) {
			if (!refcount_dec_if_one(&obj->users))
				continue;
			xa_erase(&ictx->objects, index);
			iommufd_object_free(obj);
			progress = true;
		}
	} while (progress);
	/* Only a kernel owner that forgot to remove its object leaves one */
	WARN_ON(!xa_empty(&ictx->objects));
}
