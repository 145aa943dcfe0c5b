/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Definitions shared by the files of iommufd.ko.
 *
 * Lifetimes, stated once:
 *  - An iommufd_ctx lives exactly as long as its struct file.  Kernel users
 *    (VFIO) hold the file with iommufd_ctx_get() / iommufd_ctx_put().
 *  - Every object the context owns is in ctx->obj_table under its number; the
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
 *   slot->lock              a group's attachment (struct iommufd_group_slot)
 *   fault->lock             a fault queue's groups
 *   iopt->dom_sem, iopt->tree_sem, pages->mutex (io_pagetable.h)
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
 * @IOMMUFD_ACCOUNT_NONE: not charged (per user, and the pinning process has
 *	CAP_IPC_LOCK)
 * @IOMMUFD_ACCOUNT_USER: the user's locked_vm, against RLIMIT_MEMLOCK
 * @IOMMUFD_ACCOUNT_MM: the process's locked_vm alone, like VFIO type1;
 *	CAP_IPC_LOCK lifts the limit, not the charge
 */
enum iommufd_account_mode {
	IOMMUFD_ACCOUNT_NONE,
	IOMMUFD_ACCOUNT_USER,
	IOMMUFD_ACCOUNT_MM,
};

/**
 * struct iommufd_ctx - the state behind one open /dev/iommu
 * @own_file: the file; the context's lifetime is the file's
 * @obj_table: id -> object; the xarray's own lock protects it
 * @remove_wait: where iommufd_obj_remove() waits for ioctls to finish
 * @lock: protects @compat_ioas, @group_slots and the setting of @vfio_no_iommu
 * @compat_ioas: the IOAS the VFIO container ioctls use, not held
 * @group_slots: struct iommufd_group_slot by IOMMU group id
 * @charge_mode: enum iommufd_account_mode for new mappings
 * @vfio_node: opened as /dev/vfio/vfio, so the container ioctls follow
 *	type1's rules of state (see vfio_compat.c); set before the file is
 *	installed, never changed
 * @vfio_no_iommu: the VFIO container is in no-IOMMU mode; set once, never
 *	cleared, so it may be read without @lock
 * @vfio_map_lock: serialises VFIO_IOMMU_MAP_DMA, so that the container's
 *	limit of mappings holds exactly
 * @vfio_dma_limit: that limit, fixed by VFIO_SET_IOMMU; 0 before
 * @vfio_type: the type VFIO_SET_IOMMU last chose (VFIO_TYPE1_IOMMU,
 *	VFIO_TYPE1v2_IOMMU or VFIO_NOIOMMU_IOMMU); 0 before; written under
 *	@vfio_map_lock
 * @handover_lock: serialises IOMMU_IOAS_CHANGE_PROCESS calls, so that one
 *	of two racing handovers wins whole; taken before any IOAS lock
 */
struct iommufd_ctx {
	struct file *own_file;
	struct xarray obj_table;
	wait_queue_head_t remove_wait;
	struct mutex lock;		/* see above */
	struct iommufd_ioas *compat_ioas;
	struct xarray group_slots;
	u8 charge_mode;
	bool vfio_node;
	bool vfio_no_iommu;
	struct mutex vfio_map_lock;	/* see above */
	unsigned int vfio_dma_limit;
	unsigned long vfio_type;
	struct mutex handover_lock;	/* see above */
};

/**
 * struct iommufd_call - one /dev/iommu command being run
 * @kbuf: the kernel's copy of the user's struct, zero-extended to the
 *	kernel's struct size
 * @ctx: the context it runs on
 * @uarg: where the user's struct is
 * @ulen: the size the user gave for it
 */
struct iommufd_call {
	void *kbuf;
	struct iommufd_ctx *ctx;
	void __user *uarg;
	u32 ulen;
};

/* object.c: the context, the replies of its commands, its object table */
int iommufd_ctx_create(struct file *filp, u8 charge_mode);
void iommufd_ctx_destroy(struct iommufd_ctx *ictx);
int iommufd_call_reply(struct iommufd_call *call, size_t cmd_len);

enum iommufd_kind {
	IOMMUFD_KIND_NONE,
	IOMMUFD_KIND_ANY = IOMMUFD_KIND_NONE,
	IOMMUFD_KIND_IOAS,
	IOMMUFD_KIND_DEVICE,
	IOMMUFD_KIND_HWPT_PAGING,
	IOMMUFD_KIND_HWPT_NESTED,
	IOMMUFD_KIND_ACCESS,
	IOMMUFD_KIND_FAULT,
	IOMMUFD_KIND_SELFTEST,
	IOMMUFD_KIND_MAX,
};

/**
 * struct iommufd_object - the part every object starts with
 * @refcnt: holders; see object.c
 * @nr: the object's id in its context
 * @kind: enum iommufd_kind
 */
struct iommufd_object {
	refcount_t refcnt;
	u32 nr;
	u8 kind;
};

/**
 * struct iommufd_kind_ops - what differs between object types
 * @release: release everything the object holds, but not the object's
 *	memory; must cope with an object discarded half built.  Every type
 *	has one.
 */
struct iommufd_kind_ops {
	void (*release)(struct iommufd_object *obj);
};

/* Each type's operations, in the file of the type; object.c's table */
extern const struct iommufd_kind_ops iommufd_ioas_ops;
extern const struct iommufd_kind_ops iommufd_device_ops;
extern const struct iommufd_kind_ops iommufd_hwpt_paging_ops;
extern const struct iommufd_kind_ops iommufd_hwpt_nested_ops;
extern const struct iommufd_kind_ops iommufd_access_ops;
extern const struct iommufd_kind_ops iommufd_fault_ops;
extern const struct iommufd_kind_ops iommufd_mock_binding_ops;
struct iommufd_object *iommufd_obj_alloc_bytes(struct iommufd_ctx *ictx,
					       size_t size,
					     enum iommufd_kind type);
void iommufd_object_publish(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj);
void iommufd_object_discard(struct iommufd_ctx *ictx,
			    struct iommufd_object *obj);
struct iommufd_object *iommufd_obj_lookup(struct iommufd_ctx *ictx, u32 id,
					  enum iommufd_kind type);
void iommufd_obj_unref(struct iommufd_ctx *ictx, struct iommufd_object *obj);
int iommufd_object_destroy_user(struct iommufd_ctx *ictx, u32 id);
void iommufd_obj_remove(struct iommufd_ctx *ictx,
			struct iommufd_object *obj);
void iommufd_object_destroy_all(struct iommufd_ctx *ictx);

/*
 * Look up object @id of type @objtype, embedded as @member in a struct
 * @type; the result is held, or an ERR_PTR().
 */
#define iommufd_get_typed(ictx, id, objtype, type, member)                   \
	({                                                                    \
		struct iommufd_object *__obj =                                \
			iommufd_obj_lookup(ictx, id, objtype);                \
		IS_ERR(__obj) ? ERR_CAST(__obj) :                             \
				container_of(__obj, type, member);            \
	})

/* Allocate a struct @type whose first member, obj, is the object */
#define iommufd_object_alloc(ictx, type, objtype)                            \
	({                                                                    \
		static_assert(offsetof(type, base) == 0);                      \
		(type *)iommufd_obj_alloc_bytes(ictx, sizeof(type), objtype);   \
	})

/**
 * struct iommufd_ioas - an IO address space object
 * @base: the object
 * @table: the address space
 * @ctx: the context, not held (the IOAS cannot outlive it)
 * @mutex: serializes attachments to the IOAS's HWPTs: protects
 *	@auto_hwpts and every such HWPT's nattached
 * @auto_hwpts: automatic paging HWPTs, by auto_item
 * @vfio_dirty_tracking: the VFIO container started dirty tracking; every
 *	paging domain of the IOAS that can track does, under @mutex
 */
struct iommufd_ioas {
	struct iommufd_object base;
	struct io_pagetable table;
	struct iommufd_ctx *ctx;
	struct mutex mutex;		/* see above */
	struct list_head auto_hwpts;
	bool vfio_dirty_tracking;
};

struct iommufd_fault_queue;

/**
 * struct iommufd_hwpt - what every HWPT object starts with
 * @base: the object
 * @ctx: the context
 * @domain: the IOMMU domain devices attach to
 * @fault: where the domain's IO page faults are delivered, held; or NULL
 *
 * Two kinds embed it: a paging HWPT (struct iommufd_hwpt_paging), whose
 * domain the kernel fills from an IOAS, and a nested HWPT (struct
 * iommufd_hwpt_nested), whose first stage user space owns and whose
 * second stage is a paging HWPT, its parent.
 */
struct iommufd_hwpt {
	struct iommufd_object base;
	struct iommufd_ctx *ctx;
	struct iommu_domain *domain;
	struct iommufd_fault_queue *fault;
};

/**
 * struct iommufd_hwpt_paging - a paging HWPT object
 * @core: the HWPT
 * @ioas: the IOAS it mirrors, held
 * @auto_item: in @ioas->auto_hwpts when @made_auto
 * @nattached: devices attached, under @ioas->mutex; each holds the object
 * @made_auto: made by an attach to the IOAS, gone with its last device
 * @retired: an automatic HWPT whose last device left, waiting to be
 *	removed: nothing may attach to it any more (under @ioas->mutex)
 * @in_iopt: the domain is in @ioas's io_pagetable, filled with its
 *	mappings: from its creation, or, for a driver that builds domains at
 *	their first attach, from its first attach on (under @ioas->mutex)
 * @coherent_dma: the domain enforces coherent DMA
 * @parent_capable: may parent nested HWPTs
 * @msi_window: the IOVA of the domain's MSI cookie, where the MSI layer
 *	maps interrupt doorbells for the devices attached; IOMMUFD_NO_MSI
 *	until a device with a software-managed MSI window attaches.  Set
 *	once, under @ioas->mutex: a domain's cookie cannot be moved.
 */
struct iommufd_hwpt_paging {
	struct iommufd_hwpt core;
	struct iommufd_ioas *ioas;
	struct list_head auto_item;
	unsigned int nattached;
	bool made_auto;
	bool retired;
	bool in_iopt;
	bool coherent_dma;
	bool parent_capable;
	phys_addr_t msi_window;
};

/* No software-managed MSI window (struct iommufd_hwpt_paging) */
#define IOMMUFD_NO_MSI PHYS_ADDR_MAX

/**
 * struct iommufd_hwpt_nested - a nested HWPT object
 * @core: the HWPT
 * @backing: the paging HWPT of its second stage, held
 */
struct iommufd_hwpt_nested {
	struct iommufd_hwpt core;
	struct iommufd_hwpt_paging *backing;
};

/*
 * The paging HWPT whose IOAS a HWPT translates through: itself, or the
 * parent of a nested HWPT.
 */
static inline struct iommufd_hwpt_paging *
iommufd_hwpt_backing(struct iommufd_hwpt *hwpt)
{
	if (hwpt->base.kind == IOMMUFD_KIND_HWPT_NESTED)
		return container_of(hwpt, struct iommufd_hwpt_nested,
				    core)->backing;
	return container_of(hwpt, struct iommufd_hwpt_paging, core);
}

static inline bool iommufd_object_is_hwpt(struct iommufd_object *obj)
{
	return obj->kind == IOMMUFD_KIND_HWPT_PAGING ||
	       obj->kind == IOMMUFD_KIND_HWPT_NESTED;
}

/**
 * struct iommufd_group_slot - a context's view of an IOMMU group
 * @kref: bound devices (each holds one)
 * @lock: protects @cur_hwpt, @devices and @nattached (iommufd_ctx_has_group()
 *	reads whether @devices is empty without it)
 * @ctx: the context
 * @group: the IOMMU group, referenced
 * @cur_hwpt: the HWPT the group is attached to, or NULL
 * @handle: the attach handle of @cur_hwpt when it reports IO page faults
 * @devices: the bound devices of the group
 * @nattached: devices of the group attached to @cur_hwpt
 */
struct iommufd_group_slot {
	struct kref kref;
	struct mutex lock;		/* see above */
	struct iommufd_ctx *ctx;
	struct iommu_group *group;
	struct iommufd_hwpt *cur_hwpt;
	struct iommufd_attachment *handle;
	struct list_head devices;
	unsigned int nattached;
};

/**
 * struct iommufd_device - a bound physical device
 * @base: the object
 * @dev: the device
 * @attached: counted in @slot->nattached, under @slot->lock
 * @coherent_dma: its IOMMU can enforce coherent DMA
 * @iopf_on: IO page faults are enabled, under @slot->lock
 * @holds_ctx: the binding holds a reference on @ctx (not for mock devices)
 * @slot_link: in @slot->devices
 * @slot: its group
 * @ctx: the context
 */
struct iommufd_device {
	struct iommufd_object base;
	struct device *dev;
	u8 attached : 1;
	u8 coherent_dma : 1;
	u8 iopf_on : 1;
	u8 holds_ctx : 1;
	struct list_head slot_link;
	struct iommufd_group_slot *slot;
	struct iommufd_ctx *ctx;
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
int iommufd_hwpt_paging_fill(struct iommufd_hwpt_paging *hwpt);
struct iommufd_hwpt_paging *iommufd_get_hwpt_paging(struct iommufd_ctx *ictx,
						    u32 id);

static inline struct iommufd_ioas *iommufd_ioas_lookup(struct iommufd_ctx *ictx,
						       u32 id)
{
	return iommufd_get_typed(ictx, id, IOMMUFD_KIND_IOAS,
				 struct iommufd_ioas, base);
}

/* ioas.c */
struct iommufd_ioas *iommufd_ioas_create(struct iommufd_ctx *ictx);
int iommufd_ioas_alloc_ioctl(struct iommufd_call *call);
int iommufd_ioas_map(struct iommufd_call *call);
int iommufd_ioas_map_file(struct iommufd_call *call);
int iommufd_ioas_change_process(struct iommufd_call *call);
int iommufd_ioas_copy(struct iommufd_call *call);
int iommufd_ioas_unmap(struct iommufd_call *call);
int iommufd_ioas_iova_ranges(struct iommufd_call *call);
int iommufd_ioas_allow_iovas(struct iommufd_call *call);
int iommufd_option(struct iommufd_call *call);

/* access.c */
void iommufd_access_revoke(struct io_pagetable *iopt,
			   unsigned long start, unsigned long last);

/* device.c and hw_pagetable.c: commands about devices and HWPTs */
int iommufd_get_hw_info(struct iommufd_call *call);
int iommufd_hwpt_alloc(struct iommufd_call *call);
int iommufd_hwpt_invalidate(struct iommufd_call *call);
int iommufd_hwpt_set_dirty_tracking(struct iommufd_call *call);
int iommufd_hwpt_get_dirty_bitmap(struct iommufd_call *call);

/* fault.c: IO page fault queues */

/**
 * struct iommufd_fault_queue - a fault queue object
 * @base: the object
 * @ctx: the context, held by @qfile
 * @qfile: the file user space reads faults from; holds @base
 * @lock: protects @pending and @awaiting
 * @pending: groups not yet read, oldest first (by iopf_group.node)
 * @awaiting: groups read and not yet answered, by cookie
 * @readers: readers and pollers waiting for a group
 */
struct iommufd_fault_queue {
	struct iommufd_object base;
	struct iommufd_ctx *ctx;
	struct file *qfile;
	struct mutex lock;		/* see above */
	struct list_head pending;
	struct xarray awaiting;
	wait_queue_head_t readers;
};

/**
 * struct iommufd_attachment - a group's attachment to a faulting HWPT
 * @core: the IOMMU core's handle; the core finds it from a fault
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
struct iommufd_attachment {
	struct iommu_attach_handle core;
	struct iommufd_fault_queue *fault;
	u32 dev_id;
	struct device *dev;
};

int iommufd_fault_queue_alloc(struct iommufd_call *call);
struct iommufd_fault_queue *iommufd_get_fault(struct iommufd_ctx *ictx, u32 id);
int iommufd_fq_handle_iopf(struct iopf_group *group);
void iommufd_fault_handle_retire(struct iommufd_attachment *handle);

/*
 * vfio_compat.c: the VFIO container ioctls, on /dev/vfio/vfio and
 * /dev/iommu, and the compat IOAS they use (IOMMU_VFIO_IOAS)
 */
long iommufd_container_ioctl(struct iommufd_ctx *ictx, unsigned int cmd,
			     unsigned long arg);
int iommufd_vfio_ioas(struct iommufd_call *call);

/* Flags of iommufd_vfio_compat_ioas_get() */
enum {
	IOMMUFD_COMPAT_IOAS_CREATE = BIT(0),	/* create it if there is none */
};

struct iommufd_ioas *iommufd_vfio_compat_ioas_get(struct iommufd_ctx *ictx,
						  unsigned int flags);

#ifdef CONFIG_IOMMUFD_TEST
/* selftest.c */
extern unsigned int iommufd_test_memory_limit;
int iommufd_test(struct iommufd_call *call);
int iommufd_mock_init(void);
void iommufd_mock_exit(void);
bool iommufd_inject_fail(void);
bool iommufd_dev_is_mock(struct device *dev);
unsigned long iommufd_test_syz_iova(struct io_pagetable *iopt, u64 value);
void iommufd_test_syz_copy_source(struct iommufd_ctx *ictx,
				  struct iommu_ioas_copy *cmd);
struct iommufd_access;
unsigned long iommufd_access_syz_iova(struct iommufd_access *access,
				      u64 value);

/* Pages pinned per GUP call; the tests shrink it to exercise batching */
static inline unsigned long iommufd_pin_batch(void)
{
	return min_t(unsigned long, PAGE_SIZE / sizeof(void *),
		     max(iommufd_test_memory_limit, 1U));
}
#else
static inline int iommufd_mock_init(void)
{
	return 0;
}

static inline void iommufd_mock_exit(void)
{
}

static inline bool iommufd_inject_fail(void)
{
	return false;
}

static inline bool iommufd_dev_is_mock(struct device *dev)
{
	return false;
}

static inline void iommufd_test_syz_copy_source(struct iommufd_ctx *ictx,
						struct iommu_ioas_copy *cmd)
{
}

static inline unsigned long iommufd_pin_batch(void)
{
	return PAGE_SIZE / sizeof(void *);
}
#endif
#endif
