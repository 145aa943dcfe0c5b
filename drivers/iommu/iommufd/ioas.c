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
	struct iommufd_ioas *ioas = container_of(obj, struct iommufd_ioas, obj);
	struct iommufd_ctx *ictx = ioas->ictx;

	/* The compat IOAS pointer is not a reference: forget it */
	mutex_lock(&ictx->lock);
	if (ictx->vfio_ioas == ioas)
		ictx->vfio_ioas = NULL;
	mutex_unlock(&ictx->lock);
	iopt_destroy(&ioas->iopt);
	mutex_destroy(&ioas->mutex);
}

static const struct iommufd_object_ops iommufd_ioas_ops = {
	.destroy = iommufd_ioas_destroy,
};

void iommufd_ioas_init(void)
{
	iommufd_object_register_type(IOMMUFD_OBJ_IOAS, &iommufd_ioas_ops);
}

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
				    IOMMUFD_OBJ_IOAS);
	if (IS_ERR(ioas))
		return ioas;
	iopt_init(&ioas->iopt);
	ioas->ictx = ictx;
	mutex_init(&ioas->mutex);
	INIT_LIST_HEAD(&ioas->auto_hwpts);
	return ioas;
}

int iommufd_ioas_alloc_ioctl(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_alloc *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	ioas = iommufd_ioas_create(ucmd->ictx);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	cmd->out_ioas_id = ioas->obj.id;
	ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret) {
		iommufd_object_discard(ucmd->ictx, &ioas->obj);
		return ret;
	}
	iommufd_object_publish(ucmd->ictx, &ioas->obj);
	return 0;
}

/* IOMMU protection bits of IOAS_MAP/COPY flags; 0 if neither R nor W */
static int iommufd_map_prot(u32 flags)
{
	int prot = 0;

	if (flags & IOMMU_IOAS_MAP_READABLE)
		prot |= IOMMU_READ;
	if (flags & IOMMU_IOAS_MAP_WRITEABLE)
		prot |= IOMMU_WRITE;
	return prot;
}

/* Tell the user where a map went; a mapping it cannot learn of goes again */
static int iommufd_ioas_map_respond(struct iommufd_ucmd *ucmd,
				    struct iommufd_ioas *ioas,
				    unsigned long iova, unsigned long length,
				    size_t cmd_len)
{
	int ret = iommufd_ucmd_respond(ucmd, cmd_len);

	if (ret)
		iopt_unmap_range(&ioas->iopt, iova, iova + length - 1, NULL, 0);
	return ret;
}

int iommufd_ioas_map(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova;
	struct iommufd_ioas *ioas;
	int prot, ret;

	if ((cmd->flags & ~IOMMUFD_MAP_FLAGS) || cmd->__reserved)
		return -EOPNOTSUPP;
	prot = iommufd_map_prot(cmd->flags);
	if (!prot)
		return -EINVAL;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX)
		return -EOVERFLOW;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	ret = iopt_map_user(&ioas->iopt, &iova, u64_to_user_ptr(cmd->user_va),
			    cmd->length, prot,
			    cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA,
			    ucmd->ictx->account_mode, false);
	if (!ret) {
		cmd->iova = iova;
		ret = iommufd_ioas_map_respond(ucmd, ioas, iova, cmd->length,
					       sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return ret;
}

int iommufd_ioas_map_file(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_map_file *cmd = ucmd->cmd;
	unsigned long iova = cmd->iova;
	struct iommufd_ioas *ioas;
	struct file *file;
	int prot, ret;

	if (cmd->flags & ~IOMMUFD_MAP_FLAGS)
		return -EOPNOTSUPP;
	prot = iommufd_map_prot(cmd->flags);
	if (!prot)
		return -EINVAL;
	if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX ||
	    cmd->start >= ULONG_MAX)
		return -EOVERFLOW;

	file = fget(cmd->fd);
	if (!file)
		return -EBADF;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas)) {
		ret = PTR_ERR(ioas);
		goto out_fput;
	}
	ret = iopt_map_file(&ioas->iopt, &iova, file, cmd->start, cmd->length,
			    prot, cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA,
			    ucmd->ictx->account_mode);
	if (!ret) {
		cmd->iova = iova;
		ret = iommufd_ioas_map_respond(ucmd, ioas, iova, cmd->length,
					       sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
out_fput:
	fput(file);
	return ret;
}

/*
 * IOMMU_IOAS_CHANGE_PROCESS: the stores of every IOAS of the context move
 * to the caller together, or, if any is not file-backed or the caller
 * cannot be charged, none does.
 */
int iommufd_ioas_change_process(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_change_process *cmd = ucmd->cmd;
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
	mutex_lock(&ucmd->ictx->handover_lock);
	xa_for_each(&ucmd->ictx->objects, index, entry) {
		ioas = iommufd_get_ioas(ucmd->ictx, index);
		if (IS_ERR(ioas))
			continue;
		ret = iopt_collect_stores(&ioas->iopt, &stores);
		iommufd_put_object(ucmd->ictx, &ioas->obj);
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
	ret = iopt_pages_change_owner(array, n, ucmd->ictx->account_mode);
	kvfree(array);
out_put:
	mutex_unlock(&ucmd->ictx->handover_lock);
	xa_for_each(&stores, index, pages)
		iopt_pages_put(pages);
	xa_destroy(&stores);
	return ret;
}

int iommufd_ioas_copy(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_copy *cmd = ucmd->cmd;
	unsigned long iova = cmd->dst_iova;
	struct iommufd_ioas *src, *dst;
	int prot, ret;

	if (cmd->flags & ~IOMMUFD_MAP_FLAGS)
		return -EOPNOTSUPP;
	prot = iommufd_map_prot(cmd->flags);
	if (!prot)
		return -EINVAL;
	if (cmd->length >= ULONG_MAX || cmd->src_iova >= ULONG_MAX ||
	    cmd->dst_iova >= ULONG_MAX)
		return -EOVERFLOW;

	src = iommufd_get_ioas(ucmd->ictx, cmd->src_ioas_id);
	if (IS_ERR(src))
		return PTR_ERR(src);
	dst = iommufd_get_ioas(ucmd->ictx, cmd->dst_ioas_id);
	if (IS_ERR(dst)) {
		ret = PTR_ERR(dst);
		goto out_put_src;
	}
	ret = iopt_copy(&dst->iopt, &src->iopt, cmd->src_iova, cmd->length,
			&iova, prot, cmd->flags & IOMMU_IOAS_MAP_FIXED_IOVA);
	if (!ret) {
		cmd->dst_iova = iova;
		ret = iommufd_ioas_map_respond(ucmd, dst, iova, cmd->length,
					       sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &dst->obj);
out_put_src:
	iommufd_put_object(ucmd->ictx, &src->obj);
	return ret;
}

int iommufd_ioas_unmap(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_unmap *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	unsigned long unmapped = 0;
	int ret;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (cmd->iova == 0 && cmd->length == U64_MAX)
		ret = iopt_unmap_range(&ioas->iopt, 0, ULONG_MAX, &unmapped,
				       IOPT_UNMAP_ALLOW_EMPTY);
	else if (!cmd->length)
		ret = -EINVAL;
	else if (cmd->iova >= ULONG_MAX || cmd->length >= ULONG_MAX ||
		 cmd->iova + cmd->length - 1 < cmd->iova)
		ret = -EOVERFLOW;
	else
		ret = iopt_unmap_range(&ioas->iopt, cmd->iova,
				       cmd->iova + cmd->length - 1, &unmapped,
				       0);
	if (!ret) {
		cmd->length = unmapped;
		ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return ret;
}

int iommufd_ioas_iova_ranges(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_iova_ranges *cmd = ucmd->cmd;
	struct iommufd_ioas *ioas;
	int ret, ret2;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	ret = iopt_usable_ranges(&ioas->iopt,
				 u64_to_user_ptr(cmd->allowed_iovas),
				 &cmd->num_iovas);
	cmd->out_iova_alignment = ioas->iopt.iova_alignment;
	/* Also on EMSGSIZE: the user learns how many ranges there are */
	if (!ret || ret == -EMSGSIZE) {
		ret2 = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
		ret = ret2 ?: ret;
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return ret;
}

/* Read the user's ranges into a tree; overlapping or reversed is EINVAL */
static int iommufd_read_ranges(struct rb_root_cached *tree,
			       struct iommu_iova_range __user *uranges,
			       u32 num)
{
	u32 i;

	for (i = 0; i != num; i++) {
		struct iommu_iova_range range;
		struct iopt_reserved *node;

		if (copy_from_user(&range, &uranges[i], sizeof(range)))
			return -EFAULT;
		if (range.start > range.last || range.last > ULONG_MAX)
			return -EINVAL;
		if (interval_tree_iter_first(tree, range.start, range.last))
			return -EINVAL;
		node = kzalloc(sizeof(*node), GFP_KERNEL_ACCOUNT);
		if (!node)
			return -ENOMEM;
		node->node.start = range.start;
		node->node.last = range.last;
		interval_tree_insert(&node->node, tree);
		cond_resched();
	}
	return 0;
}

int iommufd_ioas_allow_iovas(struct iommufd_ucmd *ucmd)
{
	struct iommu_ioas_allow_iovas *cmd = ucmd->cmd;
	struct rb_root_cached tree = RB_ROOT_CACHED;
	struct iommufd_ioas *ioas;
	int ret;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->ioas_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	ret = iommufd_read_ranges(&tree, u64_to_user_ptr(cmd->allowed_iovas),
				  cmd->num_iovas);
	if (!ret)
		ret = iopt_set_allowed(&ioas->iopt, &tree);
	/* The new ranges on failure, the replaced ones on success */
	iopt_free_ranges(&tree);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return ret;
}

static int iommufd_option_rlimit_mode(struct iommufd_ucmd *ucmd,
				      struct iommu_option *cmd)
{
	struct iommufd_ctx *ictx = ucmd->ictx;
	int ret = 0;

	if (cmd->object_id)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = ictx->account_mode == IOMMUFD_ACCOUNT_MM;
		return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	if (!capable(CAP_SYS_RESOURCE))
		return -EPERM;
	if (cmd->val64 > 1)
		return -EINVAL;
	/* The mode applies to a whole context: change it only while empty */
	xa_lock(&ictx->objects);
	if (!xa_empty(&ictx->objects))
		ret = -EBUSY;
	else
		ictx->account_mode = cmd->val64 ? IOMMUFD_ACCOUNT_MM :
						  IOMMUFD_ACCOUNT_USER;
	xa_unlock(&ictx->objects);
	return ret;
}

static int iommufd_option_huge_pages(struct iommufd_ucmd *ucmd,
				     struct iommu_option *cmd)
{
	struct iommufd_ioas *ioas;
	int ret;

	ioas = iommufd_get_ioas(ucmd->ictx, cmd->object_id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	if (cmd->op == IOMMU_OPTION_OP_GET) {
		cmd->val64 = !ioas->iopt.disable_large_pages;
		ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	} else if (cmd->val64 > 1) {
		ret = -EINVAL;
	} else {
		ret = iopt_set_large_pages(&ioas->iopt, cmd->val64);
	}
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return ret;
}

int iommufd_option(struct iommufd_ucmd *ucmd)
{
	struct iommu_option *cmd = ucmd->cmd;

	if (cmd->__reserved ||
	    (cmd->op != IOMMU_OPTION_OP_SET && cmd->op != IOMMU_OPTION_OP_GET))
		return -EOPNOTSUPP;
	switch (cmd->option_id) {
	case IOMMU_OPTION_RLIMIT_MODE:
		return iommufd_option_rlimit_mode(ucmd, cmd);
	case IOMMU_OPTION_HUGE_PAGES:
		return iommufd_option_huge_pages(ucmd, cmd);
	default:
		return -EOPNOTSUPP;
	}
}

/**
 * iommufd_vfio_compat_ioas_get() - the compat IOAS, optionally created
 * @ictx: the context
 * @create: create it when there is none
 *
 * Context: Process context.
 * Return: the IOAS, held (iommufd_put_object()), ERR_PTR(-ENODEV) when
 * there is none and !@create, ERR_PTR(-EPERM) to create one in a no-IOMMU
 * container, or another ERR_PTR().
 */
struct iommufd_ioas *iommufd_vfio_compat_ioas_get(struct iommufd_ctx *ictx,
						  bool create)
{
	struct iommufd_ioas *ioas;

	mutex_lock(&ictx->lock);
	if (ictx->vfio_ioas) {
		/* Still valid: its destroy clears the pointer under the lock */
		ioas = iommufd_get_ioas(ictx, ictx->vfio_ioas->obj.id);
		goto out_unlock;
	}
	if (!create) {
		ioas = ERR_PTR(-ENODEV);
		goto out_unlock;
	}
	/* A no-IOMMU container takes no translated devices */
	if (ictx->vfio_no_iommu) {
		ioas = ERR_PTR(-EPERM);
		goto out_unlock;
	}
	ioas = iommufd_ioas_create(ictx);
	if (IS_ERR(ioas))
		goto out_unlock;
	/* The caller's hold, on top of the table's */
	refcount_inc(&ioas->obj.users);
	iommufd_object_publish(ictx, &ioas->obj);
	ictx->vfio_ioas = ioas;
out_unlock:
	mutex_unlock(&ictx->lock);
	return ioas;
}

int iommufd_vfio_ioas(struct iommufd_ucmd *ucmd)
{
	struct iommu_vfio_ioas *cmd = ucmd->cmd;
	struct iommufd_ctx *ictx = ucmd->ictx;
	struct iommufd_ioas *ioas;
	int ret = 0;

	if (cmd->__reserved)
		return -EOPNOTSUPP;
	switch (cmd->op) {
	case IOMMU_VFIO_IOAS_GET:
		ioas = iommufd_vfio_compat_ioas_get(ictx, false);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		cmd->ioas_id = ioas->obj.id;
		iommufd_put_object(ictx, &ioas->obj);
		return iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	case IOMMU_VFIO_IOAS_SET:
		ioas = iommufd_get_ioas(ictx, cmd->ioas_id);
		if (IS_ERR(ioas))
			return PTR_ERR(ioas);
		mutex_lock(&ictx->lock);
		ictx->vfio_ioas = ioas;
		mutex_unlock(&ictx->lock);
		iommufd_put_object(ictx, &ioas->obj);
		return 0;
	case IOMMU_VFIO_IOAS_CLEAR:
		mutex_lock(&ictx->lock);
		ictx->vfio_ioas = NULL;
		mutex_unlock(&ictx->lock);
		return ret;
	default:
		return -EOPNOTSUPP;
	}
}
