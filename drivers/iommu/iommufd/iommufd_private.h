/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Definitions shared by the files of iommufd.ko.
 *
 * Lifetimes, stated once:
 *  - An iommufd_ctx lives exactly as long as its struct file.  Kernel users
 *    (VFIO) hold the file with iommufd_ctx_get() / iommufd_ctx_put().
 *  - Every object the context owns is in ctx->objects under its id; the
 *    rules of the object table are at the top of object.c.
 *
 * Lock order, outermost first; a lock is never taken while one below it is
 * held (what each covers is said where it is declared):
 *   VFIO's dev_set->lock    the VFIO glue binds and attaches under it
 *   ictx->handover_lock     IOMMU_IOAS_CHANGE_PROCESS
 *   ictx->vfio_map_lock     VFIO_IOMMU_MAP_DMA
 *   access->lock            an in-kernel access's IOAS and pins
 *   ioas->mutex             an IOAS's automatic HWPTs, attachment counts
 *   ictx->lock              the context's groups and compat IOAS
 *   igroup->lock            a group's attachment
 *   fault->mutex            a fault queue's groups
 *   iopt->domains_rwsem, iopt->iova_rwsem, pages->mutex (io_pagetable.h)
 *   the owner's mmap_lock   taken by the page store to charge and to pin
 * The object table's xarray lock is a spinlock taken under any of them.
 */
#ifndef __IOMMUFD_PRIVATE_H
#define __IOMMUFD_PRIVATE_H

#include <linux/fault-inject.h>
#include <linux/iommu.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/xarray.h>

#include "io_pagetable.h"

struct file;

/**
 * enum iommufd_account_mode - how pinned pages are charged
 * @IOMMUFD_ACCOUNT_NONE: not charged (the pinning process has CAP_IPC_LOCK)
 * @IOMMUFD_ACCOUNT_USER: the user's locked_vm, against RLIMIT_MEMLOCK
 * @IOMMUFD_ACCOUNT_MM: the process's locked_vm, like VFIO type1
 */
enum iommufd_account_mode {
	IOMMUFD_ACCOUNT_NONE,
	IOMMUFD_ACCOUNT_USER,
	IOMMUFD_ACCOUNT_MM,
};

/**
 * struct iommufd_ctx - the state behind one open /dev/iommu
 * @file: the file; the context's lifetime is the file's
 * @objects: id -> object; the xarray's own lock protects it
 * @remove_wait: where iommufd_object_remove() waits for ioctls to finish
 * @lock: protects @vfio_ioas, @groups and the setting of @vfio_no_iommu
 * @vfio_ioas: the IOAS the VFIO container ioctls use, not held
 * @groups: struct iommufd_group by IOMMU group id
 * @account_mode: enum iommufd_account_mode for new mappings
 * @vfio_no_iommu: the VFIO container is in no-IOMMU mode; set once, never
 *	cleared, so it may be read without @lock
 * @vfio_map_lock: serialises VFIO_IOMMU_MAP_DMA, so that the container's
 *	limit of mappings holds exactly
 * @vfio_dma_limit: that limit, fixed by VFIO_SET_IOMMU; 0 before
 * @vfio_type: the type VFIO_SET_IOMMU last chose (VFIO_TYPE1_IOMMU or
 *	VFIO_TYPE1v2_IOMMU); 0 before
 * @handover_lock: serialises IOMMU_IOAS_CHANGE_PROCESS calls, so that one
 *	of two racing handovers wins whole; taken before any IOAS lock
 */
struct iommufd_ctx {
	struct file *file;
	struct xarray objects;
	wait_queue_head_t remove_wait;
	struct mutex lock;		/* see above */
	struct iommufd_ioas *vfio_ioas;
	struct xarray groups;
	u8 account_mode;
	bool vfio_no_iommu;
	struct mutex vfio_map_lock;	/* see above */
	unsigned int vfio_dma_limit;
	unsigned long vfio_type;
	struct mutex handover_lock;	/* see above */
};

/**
 * struct iommufd_ucmd - one /dev/iommu command being run
 * @cmd: the kernel's copy of the user's struct, zero-extended to the
 *	kernel's struct size
 * @ictx: the context it runs on
 * @uarg: where the user's struct is
 * @ulen: the size the user gave for it
 */
struct iommufd_ucmd {
	void *cmd;
	struct iommufd_ctx *ictx;
	void __user *uarg;
	u32 ulen;
};

int iommufd_ucmd_respond(struct iommufd_ucmd *ucmd, size_t cmd_len);

/* object.c: the object table */
enum iommufd_object_type {
	IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_ANY = IOMMUFD_OBJ_NONE,
	IOMMUFD_OBJ_IOAS,
	IOMMUFD_OBJ_DEVICE,
	IOMMUFD_OBJ_HWPT_PAGING,
	IOMMUFD_OBJ_HWPT_NESTED,
	IOMMUFD_OBJ_ACCESS,
	IOMMUFD_OBJ_FAULT,
	IOMMUFD_OBJ_SELFTEST,
	IOMMUFD_OBJ_MAX,
};

/**
 * struct iommufd_object - the part every object starts with
 * @users: holders; see object.c
 * @id: the object's id in its context
 * @type: enum iommufd_object_type
 */
struct iommufd_object {
	refcount_t users;
	u32 id;
	u8 type;
};

/**
 * struct iommufd_object_ops - what differs between object types
 * @destroy: release everything the object holds, but not the object's
 *	memory; must cope with an object discarded half built
 */
struct iommufd_object_ops {
	void (*destroy)(struct iommufd_object *obj);
};

/* Each type's operations, in the file of the type; object.c's table */
extern const struct iommufd_object_ops iommufd_ioas_ops;
extern const struct iommufd_object_ops iommufd_device_ops;
extern const struct iommufd_object_ops iommufd_hwpt_paging_ops;
extern const struct iommufd_object_ops iommufd_hwpt_nested_ops;
extern const struct iommufd_object_ops iommufd_access_ops;
extern const struct iommufd_object_ops iommufd_fault_ops;
extern const struct iommufd_object_ops iommufd_mock_binding_ops;
struct iommufd_object *_iommufd_object_alloc(struct iommufd_ctx *ictx,
					     size_t size,
					     enum iommufd_object_type type);
void iommufd_object_publish(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj);
void iommufd_object_discard(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj);
struct iommufd_object *iommufd_get_object(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_object_type type);
void iommufd_put_object(struct iommufd_ctx *ictx, struct iommufd_object *obj);
int iommufd_object_destroy_user(struct iommufd_ctx *ictx, u32 id);
void iommufd_object_remove(struct iommufd_ctx *ictx,
			   struct iommufd_object *obj);
void iommufd_object_destroy_all(struct iommufd_ctx *ictx);

/*
 * Look up object @id of type @objtype, embedded as @member in a struct
 * @type; the result is held, or an ERR_PTR().
 */
#define iommufd_get_typed(ictx, id, objtype, type, member)                   \
	({                                                                    \
		struct iommufd_object *__obj =                                \
			iommufd_get_object(ictx, id, objtype);                \
		IS_ERR(__obj) ? ERR_CAST(__obj) :                             \
				container_of(__obj, type, member);            \
	})

/* Allocate a struct @type whose first member, obj, is the object */
#define iommufd_object_alloc(ictx, type, objtype)                            \
	({                                                                    \
		static_assert(offsetof(type, obj) == 0);                      \
		(type *)_iommufd_object_alloc(ictx, sizeof(type), objtype);   \
	})

/**
 * struct iommufd_ioas - an IO address space object
 * @obj: the object
 * @iopt: the address space
 * @ictx: the context, not held (the IOAS cannot outlive it)
 * @mutex: serializes attachments to the IOAS's HWPTs: protects
 *	@auto_hwpts and every such HWPT's nattached
 * @auto_hwpts: automatic paging HWPTs, by auto_item
 * @vfio_dirty_tracking: the VFIO container started dirty tracking; every
 *	paging domain of the IOAS that can track does, under @mutex
 */
struct iommufd_ioas {
	struct iommufd_object obj;
	struct io_pagetable iopt;
	struct iommufd_ctx *ictx;
	struct mutex mutex;		/* see above */
	struct list_head auto_hwpts;
	bool vfio_dirty_tracking;
};

struct iommufd_fault;

/**
 * struct iommufd_hwpt - what every HWPT object starts with
 * @obj: the object
 * @ictx: the context
 * @domain: the IOMMU domain devices attach to
 * @fault: where the domain's IO page faults are delivered, held; or NULL
 *
 * Two kinds embed it: a paging HWPT (struct iommufd_hwpt_paging), whose
 * domain the kernel fills from an IOAS, and a nested HWPT (struct
 * iommufd_hwpt_nested), whose first stage user space owns and whose
 * second stage is a paging HWPT, its parent.
 */
struct iommufd_hwpt {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommu_domain *domain;
	struct iommufd_fault *fault;
};

/**
 * struct iommufd_hwpt_paging - a paging HWPT object
 * @common: the HWPT
 * @ioas: the IOAS it mirrors, held
 * @auto_item: in @ioas->auto_hwpts when @auto_domain
 * @nattached: devices attached, under @ioas->mutex; each holds the object
 * @auto_domain: made by an attach to the IOAS, gone with its last device
 * @retired: an automatic HWPT whose last device left, waiting to be
 *	removed: nothing may attach to it any more (under @ioas->mutex)
 * @in_iopt: the domain is in @ioas's io_pagetable
 * @enforce_cache_coherency: the domain enforces coherent DMA
 * @nest_parent: may parent nested HWPTs
 */
struct iommufd_hwpt_paging {
	struct iommufd_hwpt common;
	struct iommufd_ioas *ioas;
	struct list_head auto_item;
	unsigned int nattached;
	bool auto_domain;
	bool retired;
	bool in_iopt;
	bool enforce_cache_coherency;
	bool nest_parent;
};

/**
 * struct iommufd_hwpt_nested - a nested HWPT object
 * @common: the HWPT
 * @parent: the paging HWPT of its second stage, held
 */
struct iommufd_hwpt_nested {
	struct iommufd_hwpt common;
	struct iommufd_hwpt_paging *parent;
};

/*
 * The paging HWPT whose IOAS a HWPT translates through: itself, or the
 * parent of a nested HWPT.
 */
static inline struct iommufd_hwpt_paging *
iommufd_hwpt_backing(struct iommufd_hwpt *hwpt)
{
	if (hwpt->obj.type == IOMMUFD_OBJ_HWPT_NESTED)
		return container_of(hwpt, struct iommufd_hwpt_nested,
				    common)->parent;
	return container_of(hwpt, struct iommufd_hwpt_paging, common);
}

static inline bool iommufd_object_is_hwpt(struct iommufd_object *obj)
{
	return obj->type == IOMMUFD_OBJ_HWPT_PAGING ||
	       obj->type == IOMMUFD_OBJ_HWPT_NESTED;
}

/**
 * struct iommufd_group - a context's view of an IOMMU group
 * @ref: bound devices (each holds one)
 * @lock: protects @hwpt, @devices and @nattached
 * @ictx: the context
 * @group: the IOMMU group, referenced
 * @hwpt: the HWPT the group is attached to, or NULL
 * @handle: the attach handle of @hwpt when it reports IO page faults
 * @devices: the bound devices of the group
 * @nattached: devices of the group attached to @hwpt
 */
struct iommufd_group {
	struct kref ref;
	struct mutex lock;		/* see above */
	struct iommufd_ctx *ictx;
	struct iommu_group *group;
	struct iommufd_hwpt *hwpt;
	struct iommufd_attach_handle *handle;
	struct list_head devices;
	unsigned int nattached;
};

/**
 * struct iommufd_device - a bound physical device
 * @obj: the object
 * @dev: the device
 * @attached: counted in @igroup->nattached, under @igroup->lock
 * @enforce_cache_coherency: its IOMMU can enforce coherent DMA
 * @iopf_enabled: IO page faults are enabled, under @igroup->lock
 * @holds_ctx: the binding holds a reference on @ictx (not for mock devices)
 * @group_item: in @igroup->devices
 * @igroup: its group
 * @ictx: the context
 */
struct iommufd_device {
	struct iommufd_object obj;
	struct device *dev;
	u8 attached : 1;
	u8 enforce_cache_coherency : 1;
	u8 iopf_enabled : 1;
	u8 holds_ctx : 1;
	struct list_head group_item;
	struct iommufd_group *igroup;
	struct iommufd_ctx *ictx;
};

/*
 * iommufd_hwpt_paging_create()'s own flag, beside the uAPI's
 * IOMMU_HWPT_ALLOC_* bits: an automatic HWPT, destroyed with its last
 * attachment
 */
#define IOMMUFD_HWPT_AUTO BIT(31)

struct iommufd_hwpt_paging *
iommufd_hwpt_paging_create(struct iommufd_ctx *ictx, struct iommufd_ioas *ioas,
			   struct iommufd_device *idev, u32 flags);
struct iommufd_hwpt *iommufd_get_hwpt(struct iommufd_ctx *ictx, u32 id);
struct iommufd_hwpt_paging *iommufd_get_hwpt_paging(struct iommufd_ctx *ictx,
						    u32 id);

static inline struct iommufd_ioas *iommufd_get_ioas(struct iommufd_ctx *ictx,
						    u32 id)
{
	return iommufd_get_typed(ictx, id, IOMMUFD_OBJ_IOAS,
				 struct iommufd_ioas, obj);
}

/* ioas.c */
struct iommufd_ioas *iommufd_ioas_create(struct iommufd_ctx *ictx);
int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map(struct iommufd_ucmd *ucmd);
int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd);
int iommufd_ioas_change_process(struct iommufd_ucmd *ucmd);
int iommufd_ioas_copy(struct iommufd_ucmd *ucmd);
int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd);
int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd);
int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd);
int iommufd_option(struct iommufd_ucmd *ucmd);

/* access.c */
void iommufd_access_notify_unmap(struct io_pagetable *iopt,
				 unsigned long start, unsigned long last);

/* device.c and hw_pagetable.c: commands about devices and HWPTs */
int iommufd_get_hw_info(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_alloc(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_invalidate(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_set_dirty_tracking(struct iommufd_ucmd *ucmd);
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_ucmd *ucmd);

/* fault.c: IO page fault queues */

/**
 * struct iommufd_fault - a fault queue object
 * @obj: the object
 * @ictx: the context, held by @filep
 * @filep: the file user space reads faults from; holds @obj
 * @mutex: protects @deliver and @response
 * @deliver: groups not yet read, oldest first (by iopf_group.node)
 * @response: groups read and not yet answered, by cookie
 * @wait_queue: readers and pollers waiting for a group
 */
struct iommufd_fault {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct file *filep;
	struct mutex mutex;		/* see above */
	struct list_head deliver;
	struct xarray response;
	wait_queue_head_t wait_queue;
};

/**
 * struct iommufd_attach_handle - a group's attachment to a faulting HWPT
 * @handle: the IOMMU core's handle; the core finds it from a fault
 * @fault: where the faults go
 * @dev_id: the device id faults are reported with
 * @dev: that device
 *
 * One is allocated per attachment of a group to a HWPT with a fault
 * object, and freed once the group left that HWPT and its faults were
 * answered.  Faults of every device of the group carry @dev_id, the
 * device that attached the group (as in 6.12; PRI-capable devices sit in
 * groups of their own).
 */
struct iommufd_attach_handle {
	struct iommu_attach_handle handle;
	struct iommufd_fault *fault;
	u32 dev_id;
	struct device *dev;
};

int iommufd_fault_alloc(struct iommufd_ucmd *ucmd);
struct iommufd_fault *iommufd_get_fault(struct iommufd_ctx *ictx, u32 id);
int iommufd_fault_iopf_handler(struct iopf_group *group);
void iommufd_fault_handle_retire(struct iommufd_attach_handle *handle);

/*
 * vfio_compat.c: the VFIO container ioctls, on /dev/vfio/vfio and
 * /dev/iommu, and the compat IOAS they use (IOMMU_VFIO_IOAS)
 */
long iommufd_vfio_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			unsigned long arg);
int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd);

/* Flags of iommufd_vfio_compat_ioas_get() */
enum {
	IOMMUFD_COMPAT_IOAS_CREATE = BIT(0),	/* create it if there is none */
};

struct iommufd_ioas *iommufd_vfio_compat_ioas_get(struct iommufd_ctx *ictx,
						  unsigned int flags);

#ifdef CONFIG_IOMMUFD_TEST
/* selftest.c */
extern unsigned int iommufd_test_memory_limit;
int iommufd_test(struct iommufd_ucmd *ucmd);
int iommufd_test_init(void);
void iommufd_test_exit(void);
bool iommufd_should_fail(void);
bool iommufd_selftest_is_mock_dev(struct device *dev);

/* Pages pinned per GUP call; the tests shrink it to exercise batching */
static inline unsigned long iommufd_pin_batch(void)
{
	return min_t(unsigned long, PAGE_SIZE / sizeof(void *),
		     max(iommufd_test_memory_limit, 1U));
}
#else
static inline int iommufd_test_init(void)
{
	return 0;
}

static inline void iommufd_test_exit(void)
{
}

static inline bool iommufd_should_fail(void)
{
	return false;
}

static inline bool iommufd_selftest_is_mock_dev(struct device *dev)
{
	return false;
}

static inline unsigned long iommufd_pin_batch(void)
{
	return PAGE_SIZE / sizeof(void *);
}
#endif
#endif
