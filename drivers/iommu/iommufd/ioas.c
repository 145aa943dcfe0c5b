// SPDX-License-Identifier: GPL-2.0-only
/*
 * The IOAS object: an IO address space that user space fills with
 * IOMMU_IOAS_MAP / _COPY / _UNMAP and that devices attach to.  This file is
 * the ioctl layer: argument rules and errno; the address space itself is
 * the io_pagetable.
 */
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

#define IOMMUFD_MAP_FLAGS                                                    \
	(IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE |               \
	 IOMMU_IOAS_MAP_READABLE)

static void iommufd_ioas_destroy(struct iommufd_object *obj)
{
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, base);
	struct iommufd_ctx *ictx = ioas->ctx;

	/* The compat IOAS pointer is not a reference: forget it */
	mutex_lock(&ictx->lock);
	if (ictx->compat_ioas == ioas)
		ictx->compat_ioas = NULL;
	mutex_unlock(&ictx->lock);
	iopt_destroy(&ioas->table);
	mutex_destroy(&ioas->mutex);
}

const struct iommufd_kind_ops iommufd_ioas_ops = {
	.release = iommufd_ioas_destroy,
};

/**
 * iommufd_ioas_create() - allocate an empty, unpublished IOAS
 * @ictx: the context
 *
 * Context: Process context.
 * Return: the IOAS, or an ERR_PTR().
 */
struct iommufd_ioas *iommufd_ioas_create(struct iommufd_ctx *ictx)
{
	struct iommufd_ioas *ioas;

	ioas = iommufd_object_alloc(ictx, struct iommufd_ioas,
				    IOMMUFD_KIND_IOAS);
	if (IS_ERR(ioas))
		return ioas;
	iopt_init(&ioas->table);
	ioas->ctx = ictx;
	mutex_init(&ioas->mutex);
	INIT_LIST_HEAD(&ioas->auto_hwpts);
	return ioas;
}

/*
 * Most commands act on one IOAS named by the user: run @fn on it, held for
 * the call.  An id that names no IOAS is ENOENT before anything else of
 * the command is looked at.
 */
static int iommufd_run_on_ioas(struct iommufd_call *call, u32 ioas_id,
			       int (*fn)(struct iommufd_call *call,
					 struct iommufd_ioas *ioas))
{
	struct iommufd_ioas *ioas = iommufd_ioas_lookup(call->ctx, ioas_id);
	int ret;

	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	ret = fn(call, ioas);
	iommufd_obj_unref(call->ctx, &ioas->base);
	return ret;
}

int iommufd_ioas_alloc_ioctl(struct iommufd_call *call)
{
	struct iommu_ioas_alloc *cmd = call->kbuf;
	struct iommufd_ioas *ioas;

	if (cmd->flags)
		return -EOPNOTSUPP;
	ioas = iommufd_ioas_create(call->ctx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	cmd->out_ioas_id = ioas->base.nr;
	/* A user that cannot learn the id never gets the object */
	if (iommufd_call_reply(call, sizeof(*cmd))) {
		iommufd_object_discard(call->ctx, &ioas->base);
		return -EFAULT;
	}
	iommufd_object_publish(call->ctx, &ioas->base);
	return 0;
}

/*
 * The IOMMU protection an IOAS_MAP, _MAP_FILE or _COPY flags word asks
 * for: EOPNOTSUPP for an unknown flag, 0 for neither READABLE nor
 * WRITEABLE (the caller's EINVAL, once the range was judged).
 */
static int iommufd_map_flags_prot(u32 flags)
{
	int prot = 0;

	if (flags & ~IOMMUFD_MAP_FLAGS)
		return -EOPNOTSUPP;
	if (flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOMMU_WRITE;
	if (flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOMMU_READ;
	return prot;
}

/* The io_pagetable flags of an IOAS_MAP, _MAP_FILE or _COPY flags word */
static unsigned int iommufd_map_iopt_flags(u32 flags)
{
	return flags & IOMMU_IOAS_MAP_FIXED_IOVA ? IOPT_MAP_FIXED_IOVA : 0;
}

/*
 * A mapping was made at @iova: report it in *@out_iova and the reply.  A
 * user that cannot read the reply could never unmap what it does not know
 * of, so then the mapping goes again.
 */
static int iommufd_map_report(struct iommufd_call *call,
			      struct iommufd_ioas *ioas, __u64 *out_iova,
			      unsigned long iova, unsigned long length,
			      size_t cmd_len)
{
	*out_iova = iova;
	if (!iommufd_call_reply(call, cmd_len))
		return 0;
	iopt_unmap_range(&ioas->table, iova, iova + length - 1, NULL, 0);
	return -EFAULT;
}

static int iommufd_ioas_do_map(struct iommufd_call *call,
			       struct iommufd_ioas *ioas)
{
	struct iommu_ioas_map *cmd = call->kbuf;
	unsigned long iova = cmd->iova;
	int ret;

	ret = iopt_map_user(&ioas->table, &iova, u64_to_user_ptr(cmd->user_va),
			    cmd->length, iommufd_map_flags_prot(cmd->flags),
			    iommufd_map_iopt_flags(cmd->flags),
			    call->ctx->charge_mode);
	if (ret)
		return ret;
	return iommufd_map_report(call, ioas, &cmd->iova, iova, cmd->length,
				  sizeof(*cmd));
}

int iommufd_ioas_map(struct iommufd_call *call)
{
	struct iommu_ioas_map *cmd = call->kbuf;
	int prot = iommufd_map_flags_prot(cmd->flags);

	/* Unknown flags, then a range too large, then no access (as 6.12) */
	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (prot < 0)
		return prot;
	if (cmd->length >= ULONG_MAX || cmd->iova >= ULONG_MAX)
		return -EOVERFLOW;
	if (!prot)
		return -EINVAL;
	return iommufd_run_on_ioas(call, cmd->ioas_id, iommufd_ioas_do_map);
}

int iommufd_ioas_map_file(struct iommufd_call *call)
{
	struct iommu_ioas_map_file *cmd = call->kbuf;
	int prot = iommufd_map_flags_prot(cmd->flags);
	unsigned long iova = cmd->iova;
	struct iommufd_ioas *ioas;
	struct file *file;
	int ret;

	if (prot < 0)
		return prot;
	if (cmd->start >= ULONG_MAX || cmd->length >= ULONG_MAX ||
	    cmd->iova >= ULONG_MAX)
		return -EOVERFLOW;
	if (!prot)
		return -EINVAL;
	/* The file is looked up first: a bad descriptor is EBADF */
	file = fget(cmd->fd);
	if (!file)
		return -EBADF;
	ioas = iommufd_ioas_lookup(call->ctx, cmd->ioas_id);
	if (IS_ERR(ioas)) {
		ret = PTR_ERR(ioas);
		goto out_put_file;
	}
	ret = iopt_map_file(&ioas->table, &iova, file, cmd->start, cmd->length,
			    prot, iommufd_map_iopt_flags(cmd->flags),
			    call->ctx->charge_mode);
	if (!ret)
		ret = iommufd_map_report(call, ioas, &cmd->iova, iova,
					 cmd->length, sizeof(*cmd));
	iommufd_obj_unref(call->ctx, &ioas->base);
out_put_file:
	fput(file);
	return ret;
}

/*
 * IOMMU_IOAS_CHANGE_PROCESS: the stores of every IOAS of the context move
 * to the caller together, or, if any is not file-backed or the caller
 * cannot be charged, none does.
 */
int iommufd_ioas_change_process(struct iommufd_call *call)
{
	struct iommu_ioas_change_process *cmd = call->kbuf;
	struct iopt_pages **array = NULL;
	struct iopt_pages *pages;
	struct iommufd_ioas *ioas;
	unsigned long index, n = 0;
	struct xarray stores;
	void *entry;
	int ret = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	xa_init(&stores);
	/* The stores are gathered and moved as one step of this context */
	mutex_lock(&call->ctx->handover_lock);
	xa_for_each(&call->ctx->obj_table, index, entry) {
		ioas = iommufd_ioas_lookup(call->ctx, index);
		if (IS_ERR(ioas))
			continue;
		ret = iopt_collect_stores(&ioas->table, &stores);
		iommufd_obj_unref(call->ctx, &ioas->base);
		if (ret)
			goto out_put;
	}
	xa_for_each(&stores, index, pages)
		n++;
	if (!n)
		goto out_put;
	array = kvcalloc(n, sizeof(*array), GFP_KERNEL);
	if (!array) {
		ret = -ENOMEM;
		goto out_put;
	}
	n = 0;
	xa_for_each(&stores, index, pages)
		array[n++] = pages;
	ret = iopt_pages_change_owner(array, n, call->ctx->charge_mode);
	kvfree(array);
out_put:
	mutex_unlock(&call->ctx->handover_lock);
	xa_for_each(&stores, index, pages)
		iopt_pages_put(pages);
	xa_destroy(&stores);
	return ret;
}

int iommufd_ioas_copy(struct iommufd_call *call)
{
	struct iommu_ioas_copy *cmd = call->kbuf;
	unsigned long iova = cmd->dst_iova;
	struct iommufd_ioas *from, *to;
	int prot, ret;

	/* The test ABI's syzkaller source IOVA, before the flags are judged */
	iommufd_test_syz_copy_source(call->ctx, cmd);
	prot = iommufd_map_flags_prot(cmd->flags);
	if (prot < 0)
		return prot;
	if (cmd->src_iova >= ULONG_MAX || cmd->dst_iova >= ULONG_MAX ||
	    cmd->length >= ULONG_MAX)
		return -EOVERFLOW;
	if (!prot)
		return -EINVAL;
	/*
	 * The source is judged whole before the destination is looked up:
	 * its IOAS, a range past the top (EOVERFLOW), an empty one (EINVAL)
	 */
	from = iommufd_ioas_lookup(call->ctx, cmd->src_ioas_id);
	if (IS_ERR(from))
		return PTR_ERR(from);
	if (cmd->length && cmd->src_iova + cmd->length - 1 < cmd->src_iova) {
		ret = -EOVERFLOW;
		goto out_put_from;
	}
	if (!cmd->length) {
		ret = -EINVAL;
		goto out_put_from;
	}
	to = iommufd_ioas_lookup(call->ctx, cmd->dst_ioas_id);
	if (IS_ERR(to)) {
		ret = PTR_ERR(to);
		goto out_put_from;
	}
	ret = iopt_copy(&to->table, &from->table, cmd->src_iova, cmd->length,
			&iova, prot, iommufd_map_iopt_flags(cmd->flags));
	if (!ret)
		ret = iommufd_map_report(call, to, &cmd->dst_iova, iova,
					 cmd->length, sizeof(*cmd));
	iommufd_obj_unref(call->ctx, &to->base);
out_put_from:
	iommufd_obj_unref(call->ctx, &from->base);
	return ret;
}

/*
 * IOMMU_IOAS_UNMAP: iova 0 and length U64_MAX is "everything", also when
 * there is nothing; any other range must be non-empty, must not wrap, and
 * must hold whole mappings.
 */
static int iommufd_ioas_do_unmap(struct iommufd_call *call,
				 struct iommufd_ioas *ioas)
{
	struct iommu_ioas_unmap *cmd = call->kbuf;
	unsigned long first = 0, last = ULONG_MAX, done = 0;
	unsigned int flags = IOPT_UNMAP_ALLOW_EMPTY;
	int ret;

	if (cmd->iova || cmd->length != U64_MAX) {
		if (!cmd->length)
			return -EINVAL;
		if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX ||
		    check_add_overflow((unsigned long)cmd->iova,
				       (unsigned long)cmd->length - 1, &last))
			return -EOVERFLOW;
		first = cmd->iova;
		flags = 0;
	}
	ret = iopt_unmap_range(&ioas->table, first, last, &done, flags);
	if (ret)
		return ret;
	cmd->length = done;
	return iommufd_call_reply(call, sizeof(*cmd));
}

int iommufd_ioas_unmap(struct iommufd_call *call)
{
	struct iommu_ioas_unmap *cmd = call->kbuf;

	return iommufd_run_on_ioas(call, cmd->ioas_id, iommufd_ioas_do_unmap);
}

static int iommufd_ioas_do_ranges(struct iommufd_call *call,
				  struct iommufd_ioas *ioas)
{
	struct iommu_ioas_iova_ranges *cmd = call->kbuf;
	int ret;

	ret = iopt_usable_ranges(&ioas->table,
				 u64_to_user_ptr(cmd->allowed_iovas),
				 &cmd->num_iovas);
	if (ret && ret != -EMSGSIZE)
		return ret;
	/* With EMSGSIZE too: the user learns how many ranges there are */
	cmd->out_iova_alignment = ioas->table.align_min;
	if (iommufd_call_reply(call, sizeof(*cmd)))
		return -EFAULT;
	return ret;
}

int iommufd_ioas_iova_ranges(struct iommufd_call *call)
{
	struct iommu_ioas_iova_ranges *cmd = call->kbuf;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	return iommufd_run_on_ioas(call, cmd->ioas_id, iommufd_ioas_do_ranges);
}

/*
 * Add [@start, @last] to @tree: EINVAL if not ascending (a range of one
 * byte is refused too, as in 6.12), too high or overlapping
 */
static int iommufd_range_add(struct rb_root_cached *tree, u64 start, u64 last)
{
	if (last <= start || last > ULONG_MAX ||
	    interval_tree_iter_first(tree, start, last))
		return -EINVAL;
	return iopt_add_range(tree, start, last, NULL);
}

static int iommufd_ioas_do_allow(struct iommufd_call *call,
				 struct iommufd_ioas *ioas)
{
	struct iommu_ioas_allow_iovas *cmd = call->kbuf;
	struct iommu_iova_range __user *uranges =
		u64_to_user_ptr(cmd->allowed_iovas);
	struct rb_root_cached tree = RB_ROOT_CACHED;
	int ret = 0;
	u32 n;

	for (n = 0; n < cmd->num_iovas && !ret; n++) {
		struct iommu_iova_range r;

		if (copy_from_user(&r, uranges + n, sizeof(r)))
			ret = -EFAULT;
		else
			ret = iommufd_range_add(&tree, r.start, r.last);
		cond_resched();
	}
	if (!ret)
		ret = iopt_set_allowed(&ioas->table, &tree);
	/* Now the ranges replaced, or on failure the ones read */
	iopt_free_ranges(&tree);
	return ret;
}

int iommufd_ioas_allow_iovas(struct iommufd_call *call)
{
	struct iommu_ioas_allow_iovas *cmd = call->kbuf;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	return iommufd_run_on_ioas(call, cmd->ioas_id, iommufd_ioas_do_allow);
}

/*
 * IOMMU_OPTION_RLIMIT_MODE, a context-wide option (object_id 0): 0 charges
 * pins to the user, 1 to the process.  Setting it needs CAP_SYS_RESOURCE
 * and a context without objects.
 */
static int iommufd_option_charge_mode(struct iommufd_call *call)
{
	struct iommu_option *cmd = call->kbuf;
	struct iommufd_ctx *ictx = call->ctx;
	int ret = 0;

	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = ictx->charge_mode == IOMMUFD_ACCOUNT_MM ? 1 : 0;
		return iommufd_call_reply(call, sizeof(*cmd));
	}
	if (cmd->op != IOMMU_OPTION_OP_SET)
		return -EOPNOTSUPP;
	if (!capable(CAP_SYS_RESOURCE))
		return -EPERM;
	/* A context with objects is busy whatever the value asked for */
	xa_lock(&ictx->obj_table);
	if (!xa_empty(&ictx->obj_table))
		ret = -EBUSY;
	else if (cmd->val64 > 1)
		ret = -EINVAL;
	else
		ictx->charge_mode = cmd->val64 ? IOMMUFD_ACCOUNT_MM :
						 IOMMUFD_ACCOUNT_USER;
	xa_unlock(&ictx->obj_table);
	return ret;
}

/* IOMMU_OPTION_HUGE_PAGES of the IOAS object_id names: 1 allows them */
static int iommufd_ioas_do_huge_pages(struct iommufd_call *call,
				      struct iommufd_ioas *ioas)
{
	struct iommu_option *cmd = call->kbuf;

	if (cmd->op == IOMMU_OPTION_OP_SET) {
		if (cmd->val64 != 0 && cmd->val64 != 1)
			return -EINVAL;
		return iopt_set_large_pages(&ioas->table, cmd->val64);
	}
	if (cmd->op != IOMMU_OPTION_OP_GET)
		return -EOPNOTSUPP;
	cmd->val64 = ioas->table.small_pages_only ? 0 : 1;
	return iommufd_call_reply(call, sizeof(*cmd));
}

int iommufd_option(struct iommufd_call *call)
{
	struct iommu_option *cmd = call->kbuf;

	/* The option decides, then its object, then the op (as 6.12) */
	if (cmd->__reserved)
		return -EOPNOTSUPP;
	if (cmd->option_id == IOMMU_OPTION_RLIMIT_MODE)
		return iommufd_option_charge_mode(call);
	if (cmd->option_id == IOMMU_OPTION_HUGE_PAGES)
		return iommufd_run_on_ioas(call, cmd->object_id,
					   iommufd_ioas_do_huge_pages);
	return -EOPNOTSUPP;
}
