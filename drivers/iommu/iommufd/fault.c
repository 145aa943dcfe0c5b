// SPDX-License-Identifier: GPL-2.0-only
/*
 * IO page fault queues: IOMMU_FAULT_QUEUE_ALLOC's fault object and its file.
 *
 * A nested HWPT allocated with a fault object sends its IO page faults
 * there instead of letting the IOMMU fail them.  The IOMMU core hands over
 * a fault group (one or more faults, the last one flagged) through the
 * domain's iopf_handler; the group waits on @pending until user space
 * read()s it, each fault as a struct iommu_hwpt_pgfault carrying the
 * group's cookie; then it waits in @awaiting until user space write()s a
 * struct iommu_hwpt_page_response with that cookie, which answers the
 * device.  A group is read whole or not at all; a read with no room for
 * the first pending group is EINVAL.
 *
 * Rules, stated once:
 *  - Every group the core hands over is answered exactly once: by user
 *    space, or by the kernel (IOMMU_PAGE_RESP_INVALID) when the group's
 *    attachment goes away (iommufd_fault_handle_retire()) or the object is
 *    destroyed.  Then it is freed.
 *  - The file holds the object (one user) and the context, so the object
 *    outlives its file descriptor being open, and IOMMU_DESTROY of the
 *    object is EBUSY until the file is closed and no HWPT uses it.
 *  - Locking: fault->lock protects @pending and @awaiting; it nests
 *    inside slot->lock.
 *  - The IOMMU driver reports no fault through an attach handle once the
 *    domain change that removed it returned (drivers drain their page
 *    request queues), so a retired handle can be freed at once.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/iommufd.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <uapi/linux/iommufd.h>

#include "iommufd_private.h"

static void iommufd_fault_answer(struct iopf_group *group,
				 enum iommu_page_response_code code)
{
	iopf_group_response(group, code);
	iopf_free_group(group);
}

/*
 * Answer every group of @handle (or every group, for NULL) as invalid;
 * the caller holds fault->mutex.
 */
static void iommufd_fault_answer_all(struct iommufd_fault_queue *fault,
				     struct iommu_attach_handle *handle)
{
	struct iopf_group *group, *next;
	unsigned long cookie;

	lockdep_assert_held(&fault->lock);
	list_for_each_entry_safe(group, next, &fault->pending, node) {
		if (handle && group->attach_handle != handle)
			continue;
		list_del(&group->node);
		iommufd_fault_answer(group, IOMMU_PAGE_RESP_INVALID);
	}
	xa_for_each(&fault->awaiting, cookie, group) {
		if (handle && group->attach_handle != handle)
			continue;
		xa_erase(&fault->awaiting, cookie);
		iommufd_fault_answer(group, IOMMU_PAGE_RESP_INVALID);
	}
}

static void iommufd_fault_destroy(struct iommufd_object *obj)
{
	struct iommufd_fault_queue *fault =
		container_of(obj, struct iommufd_fault_queue, base);

	/* Nothing can be left: every attachment retired its groups */
	mutex_lock(&fault->lock);
	iommufd_fault_answer_all(fault, NULL);
	mutex_unlock(&fault->lock);
	xa_destroy(&fault->awaiting);
	mutex_destroy(&fault->lock);
}

const struct iommufd_kind_ops iommufd_fault_ops = {
	.release = iommufd_fault_destroy,
};

/**
 * iommufd_get_fault() - look up a fault object
 * @ictx: the context
 * @id: its id
 *
 * Context: Process context.
 * Return: the object, held, or ERR_PTR(-ENOENT).
 */
struct iommufd_fault_queue *iommufd_get_fault(struct iommufd_ctx *ictx, u32 id)
{
	return iommufd_get_typed(ictx, id, IOMMUFD_KIND_FAULT,
				 struct iommufd_fault_queue, base);
}

/**
 * iommufd_fq_handle_iopf() - the iopf_handler of a faulting domain
 * @group: a complete fault group from the IOMMU core
 *
 * Queues @group for user space; it is answered later.
 *
 * Context: Process context (the IOMMU driver's fault reporting thread).
 * Return: 0.
 */
int iommufd_fq_handle_iopf(struct iopf_group *group)
{
	struct iommufd_attachment *handle =
		container_of(group->attach_handle,
			     struct iommufd_attachment, core);
	struct iommufd_fault_queue *fault = handle->fault;

	mutex_lock(&fault->lock);
	list_add_tail(&group->node, &fault->pending);
	mutex_unlock(&fault->lock);
	wake_up_interruptible(&fault->readers);
	return 0;
}

/**
 * iommufd_fault_handle_retire() - free a handle its group no longer uses
 * @handle: the attach handle; no longer installed in the IOMMU group
 *
 * Answers, as invalid, every fault group that came through @handle and
 * that user space did not answer, then frees @handle.
 *
 * Context: Process context; the caller holds the iommufd_group_slot's lock.
 */
void iommufd_fault_handle_retire(struct iommufd_attachment *handle)
{
	struct iommufd_fault_queue *fault = handle->fault;

	mutex_lock(&fault->lock);
	iommufd_fault_answer_all(fault, &handle->core);
	mutex_unlock(&fault->lock);
	kfree(handle);
}

/* Copy one group to the user; the caller holds fault->mutex */
static int iommufd_fault_copy_group(struct iopf_group *group,
				    char __user *buf)
{
	struct iommufd_attachment *handle =
		container_of(group->attach_handle,
			     struct iommufd_attachment, core);
	struct iommu_hwpt_pgfault data;
	struct iopf_fault *iopf;

	list_for_each_entry(iopf, &group->faults, list) {
		const struct iommu_fault_page_request *prm = &iopf->fault.prm;

		memset(&data, 0, sizeof(data));
		data.flags = prm->flags;
		data.dev_id = handle->dev_id;
		data.pasid = prm->pasid;
		data.grpid = prm->grpid;
		data.perm = prm->perm;
		data.addr = prm->addr;
		data.cookie = group->cookie;
		if (copy_to_user(buf, &data, sizeof(data)))
			return -EFAULT;
		buf += sizeof(data);
	}
	return 0;
}

static ssize_t iommufd_fq_read(struct file *filep, char __user *buf,
			       size_t count, loff_t *ppos)
{
	const size_t fault_size = sizeof(struct iommu_hwpt_pgfault);
	struct iommufd_fault_queue *fault = filep->private_data;
	struct iopf_group *group;
	size_t done = 0;
	int ret = 0;

	/* Records only, and no file position (as in 6.12: ESPIPE) */
	if (*ppos || count % fault_size)
		return -ESPIPE;

	mutex_lock(&fault->lock);
	while (!list_empty(&fault->pending)) {
		group = list_first_entry(&fault->pending, struct iopf_group,
					 node);
		if (group->fault_count * fault_size > count - done) {
			/*
			 * A read too small for even the first group (0 bytes
			 * included) is the caller's mistake, not an empty
			 * queue: EINVAL, as 6.12 returns.
			 */
			if (!done)
				ret = -EINVAL;
			break;
		}
		ret = xa_alloc(&fault->awaiting, &group->cookie, group,
			       xa_limit_32b, GFP_KERNEL_ACCOUNT);
		if (ret)
			break;
		ret = iommufd_fault_copy_group(group, buf + done);
		if (ret) {
			xa_erase(&fault->awaiting, group->cookie);
			break;
		}
		list_del(&group->node);
		done += group->fault_count * fault_size;
	}
	mutex_unlock(&fault->lock);
	return done ?: ret;
}

/*
 * The core's response code for the one user space wrote: only success and
 * invalid are user space's to give.
 */
static int iommufd_fault_core_code(u32 code, enum iommu_page_response_code *out)
{
	switch (code) {
	case IOMMUFD_PAGE_RESP_SUCCESS:
		*out = IOMMU_PAGE_RESP_SUCCESS;
		return 0;
	case IOMMUFD_PAGE_RESP_INVALID:
		*out = IOMMU_PAGE_RESP_INVALID;
		return 0;
	default:
		return -EINVAL;
	}
}

/* Answer the group that @answer's cookie names; EINVAL if none does */
static int iommufd_fault_take_answer(struct iommufd_fault_queue *fault,
				     const struct iommu_hwpt_page_response *answer)
{
	enum iommu_page_response_code code;
	struct iopf_group *group;

	lockdep_assert_held(&fault->lock);
	if (iommufd_fault_core_code(answer->code, &code))
		return -EINVAL;
	group = xa_erase(&fault->awaiting, answer->cookie);
	if (!group)
		return -EINVAL;
	iommufd_fault_answer(group, code);
	return 0;
}

/*
 * write(): whole struct iommu_hwpt_page_response records, taken in order
 * up to the first bad one.  Returns the bytes of the records taken, or,
 * when the first was bad, its error.
 */
static ssize_t iommufd_fq_write(struct file *filep,
				const char __user *buf, size_t count,
					loff_t *ppos)
{
	struct iommufd_fault_queue *fault = filep->private_data;
	struct iommu_hwpt_page_response answer;
	size_t taken;
	int ret = 0;

	if (*ppos || count % sizeof(answer))
		return -ESPIPE;
	mutex_lock(&fault->lock);
	for (taken = 0; taken < count; taken += sizeof(answer)) {
		if (copy_from_user(&answer, buf + taken, sizeof(answer)))
			ret = -EFAULT;
		else
			ret = iommufd_fault_take_answer(fault, &answer);
		if (ret)
			break;
	}
	mutex_unlock(&fault->lock);
	return taken ? taken : ret;
}

/* Writing (answering) never blocks; reading is possible with a group */
static __poll_t iommufd_fq_poll(struct file *filep,
				struct poll_table_struct *wait)
{
	struct iommufd_fault_queue *fault = filep->private_data;
	bool pending;

	poll_wait(filep, &fault->readers, wait);
	mutex_lock(&fault->lock);
	pending = !list_empty(&fault->pending);
	mutex_unlock(&fault->lock);
	return pending ? EPOLLOUT | EPOLLIN | EPOLLRDNORM : EPOLLOUT;
}

/* The file's references go; the object stays while HWPTs use it */
static int iommufd_fq_release(struct inode *inode, struct file *filep)
{
	struct iommufd_fault_queue *fault = filep->private_data;

	/* NULL when IOMMU_FAULT_QUEUE_ALLOC failed before handing it out */
	if (fault) {
		struct iommufd_ctx *ictx = fault->ctx;

		iommufd_obj_unref(ictx, &fault->base);
		iommufd_ctx_put(ictx);
	}
	return 0;
}

static const struct file_operations iommufd_fault_file_ops = {
	.release = iommufd_fq_release,
	.poll = iommufd_fq_poll,
	.write = iommufd_fq_write,
	.read = iommufd_fq_read,
	.owner = THIS_MODULE,
};

/* The queue's state, before anything can reach it */
static void iommufd_fault_setup(struct iommufd_fault_queue *fault,
				struct iommufd_ctx *ictx)
{
	fault->ctx = ictx;
	INIT_LIST_HEAD(&fault->pending);
	init_waitqueue_head(&fault->readers);
	xa_init_flags(&fault->awaiting, XA_FLAGS_ALLOC1);
	mutex_init(&fault->lock);
}

int iommufd_fault_queue_alloc(struct iommufd_call *call)
{
	struct iommu_fault_alloc *cmd = call->kbuf;
	struct iommufd_fault_queue *fault;
	int fdno, ret;

	if (cmd->flags)
		return -EOPNOTSUPP;
	fault = iommufd_object_alloc(call->ctx, struct iommufd_fault_queue,
				     IOMMUFD_KIND_FAULT);
	if (IS_ERR(fault))
		return PTR_ERR(fault);
	iommufd_fault_setup(fault, call->ctx);

	fault->qfile = anon_inode_getfile("[iommufd-pgfault]",
					  &iommufd_fault_file_ops, fault,
					  O_RDWR);
	if (IS_ERR(fault->qfile)) {
		ret = PTR_ERR(fault->qfile);
		goto err_discard;
	}
	fdno = get_unused_fd_flags(O_CLOEXEC);
	ret = fdno;
	if (fdno >= 0) {
		cmd->out_fault_fd = fdno;
		cmd->out_fault_id = fault->base.nr;
		ret = iommufd_call_reply(call, sizeof(*cmd));
		if (ret)
			put_unused_fd(fdno);
	}
	if (ret < 0)
		goto err_fput;

	/* From here the file holds the object and the context */
	iommufd_ctx_get(call->ctx);
	refcount_inc(&fault->base.refcnt);
	iommufd_object_publish(call->ctx, &fault->base);
	fd_install(fdno, fault->qfile);
	return 0;

err_fput:
	/* The file holds nothing yet: its release must drop nothing */
	fault->qfile->private_data = NULL;
	fput(fault->qfile);
err_discard:
	iommufd_object_discard(call->ctx, &fault->base);
	return ret;
}
