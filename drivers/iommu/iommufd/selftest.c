// SPDX-License-Identifier: GPL-2.0-only
/*
 * CONFIG_IOMMUFD_TEST: IOMMU_TEST_CMD and the fail_iommufd fault injection
 * point that the kselftests drive.
 *
 * Implemented so far: the operations that need no mock IOMMU driver:
 * reservations, pin reference checks, the pinning batch limit, and mock
 * in-kernel accesses.  The mock driver's operations answer -EOPNOTSUPP
 * until it exists.
 *
 * A mock access lives in an anonymous file (IOMMU_TEST_OP_CREATE_ACCESS
 * returns its descriptor) that holds the context; closing it unpins what
 * the test left pinned and destroys the access.  Its pins are numbered
 * items; its unmap callback unpins every item the unmapped range touches,
 * as an emulated device driver must.
 */
#include <linux/anon_inodes.h>
#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/file.h>
#include <linux/iommufd.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

static DECLARE_FAULT_ATTR(fail_iommufd);
static struct dentry *fail_iommufd_dir;

/* Pages per pinning batch; IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT sets it */
unsigned int iommufd_test_memory_limit = 65536;

/* Owner of the reservations IOMMU_TEST_OP_ADD_RESERVED makes */
static char iommufd_test_reserved_owner;

/**
 * iommufd_should_fail() - should this allocation point fail now
 *
 * Context: Any context.
 * Return: true when the fail_iommufd fault attribute fires.
 */
bool iommufd_should_fail(void)
{
	return should_fail(&fail_iommufd, 1);
}

static int iommufd_test_add_reserved(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	struct iommufd_ioas *ioas;
	unsigned long last;
	int ret;

	if (!cmd->add_reserved.length ||
	    check_add_overflow((unsigned long)cmd->add_reserved.start,
			       (unsigned long)cmd->add_reserved.length - 1,
			       &last))
		return -EINVAL;
	ioas = iommufd_get_ioas(ucmd->ictx, cmd->id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	ret = iopt_reserve(&ioas->iopt, cmd->add_reserved.start, last,
			   &iommufd_test_reserved_owner);
	iommufd_put_object(ucmd->ictx, &ioas->obj);
	return ret;
}

/*
 * Check that every small page of a user range is pinned exactly @refs
 * times.  Pages of large folios are not checked: their pin count belongs
 * to the whole folio.
 */
static int iommufd_test_check_refs(struct iommu_test_cmd *cmd)
{
	unsigned long uptr = cmd->check_refs.uptr;
	unsigned long length = cmd->check_refs.length;

	if (!PAGE_ALIGNED(uptr) || !PAGE_ALIGNED(length))
		return -EINVAL;
	for (; length; length -= PAGE_SIZE, uptr += PAGE_SIZE) {
		struct page *page;
		unsigned int pins;

		if (get_user_pages_fast(uptr, 1, 0, &page) != 1)
			return -EFAULT;
		pins = page_ref_count(page) / GUP_PIN_COUNTING_BIAS;
		put_page(page);
		if (!PageCompound(page) && pins != cmd->check_refs.refs)
			return -EIO;
	}
	return 0;
}

struct selftest_access {
	struct iommufd_access *access;
	struct file *file;
	struct mutex lock;		/* protects items, next_id */
	struct list_head items;
	unsigned int next_id;
};

struct selftest_access_item {
	struct list_head link;
	unsigned long iova;
	size_t length;
	unsigned int id;
};

static void selftest_access_unpin_item(struct selftest_access *staccess,
				       struct selftest_access_item *item)
{
	lockdep_assert_held(&staccess->lock);
	iommufd_access_unpin_pages(staccess->access, item->iova, item->length);
	list_del(&item->link);
	kfree(item);
}

static void selftest_access_unmap(void *data, unsigned long iova,
				  unsigned long length)
{
	struct selftest_access *staccess = data;
	struct selftest_access_item *item, *next;
	unsigned long last = iova + length - 1;

	mutex_lock(&staccess->lock);
	list_for_each_entry_safe(item, next, &staccess->items, link) {
		if (item->iova <= last && iova <= item->iova + item->length - 1)
			selftest_access_unpin_item(staccess, item);
	}
	mutex_unlock(&staccess->lock);
}

static const struct iommufd_access_ops selftest_access_pin_ops = {
	.needs_pin_pages = 1,
	.unmap = selftest_access_unmap,
};

static const struct iommufd_access_ops selftest_access_rw_ops = {
	.unmap = selftest_access_unmap,
};

static int selftest_access_release(struct inode *inode, struct file *filep)
{
	struct selftest_access *staccess = filep->private_data;
	struct selftest_access_item *item, *next;

	mutex_lock(&staccess->lock);
	list_for_each_entry_safe(item, next, &staccess->items, link)
		selftest_access_unpin_item(staccess, item);
	mutex_unlock(&staccess->lock);
	iommufd_access_destroy(staccess->access);
	mutex_destroy(&staccess->lock);
	kfree(staccess);
	return 0;
}

static const struct file_operations selftest_access_fops = {
	.owner = THIS_MODULE,
	.release = selftest_access_release,
};

/* The mock access behind the descriptor @fd; hold the returned file */
static struct selftest_access *selftest_access_get(int fd, struct file **filep)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	if (file->f_op != &selftest_access_fops) {
		fput(file);
		return ERR_PTR(-EBADF);
	}
	*filep = file;
	return file->private_data;
}

static int iommufd_test_create_access(struct iommufd_ucmd *ucmd,
				      struct iommu_test_cmd *cmd)
{
	const struct iommufd_access_ops *ops;
	struct selftest_access *staccess;
	struct file *file;
	u32 access_id;
	int fd, ret;

	if (cmd->create_access.flags &
	    ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;
	staccess = kzalloc(sizeof(*staccess), GFP_KERNEL_ACCOUNT);
	if (!staccess)
		return -ENOMEM;
	mutex_init(&staccess->lock);
	INIT_LIST_HEAD(&staccess->items);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_free;
	}
	ops = (cmd->create_access.flags &
	       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) ?
		      &selftest_access_pin_ops : &selftest_access_rw_ops;
	staccess->access = iommufd_access_create(ucmd->ictx, ops, staccess,
						 &access_id);
	if (IS_ERR(staccess->access)) {
		ret = PTR_ERR(staccess->access);
		goto err_put_fd;
	}
	ret = iommufd_access_attach(staccess->access, cmd->id);
	if (ret)
		goto err_destroy;
	file = anon_inode_getfile("[iommufd_test_access]",
				  &selftest_access_fops, staccess, O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_destroy;
	}
	staccess->file = file;
	cmd->create_access.out_access_fd = fd;
	ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret) {
		fput(file);	/* its release destroys the access */
		put_unused_fd(fd);
		return ret;
	}
	fd_install(fd, file);
	return 0;

err_destroy:
	iommufd_access_destroy(staccess->access);
err_put_fd:
	put_unused_fd(fd);
err_free:
	mutex_destroy(&staccess->lock);
	kfree(staccess);
	return ret;
}

/* Are @pages exactly the pages of the user's memory at @uptr? */
static int selftest_check_pages(struct page **pages, unsigned long npages,
				unsigned long uptr)
{
	unsigned long i;

	for (i = 0; i != npages; i++, uptr += PAGE_SIZE) {
		struct page *page;
		bool same;

		if (get_user_pages_fast(uptr, 1, 0, &page) != 1)
			return -EFAULT;
		same = page == pages[i];
		put_page(page);
		if (!same)
			return -EINVAL;
	}
	return 0;
}

static int iommufd_test_access_pages(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	unsigned long npages = cmd->access_pages.length >> PAGE_SHIFT;
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	struct page **pages;
	struct file *file;
	int ret;

	if (cmd->access_pages.flags &
	    ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	staccess = selftest_access_get(cmd->id, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	pages = kvcalloc(max(npages, 1UL), sizeof(*pages), GFP_KERNEL_ACCOUNT);
	item = kzalloc(sizeof(*item), GFP_KERNEL_ACCOUNT);
	if (!pages || !item) {
		ret = -ENOMEM;
		goto out_free;
	}

	mutex_lock(&staccess->lock);
	ret = iommufd_access_pin_pages(staccess->access,
				       cmd->access_pages.iova,
				       cmd->access_pages.length, pages,
				       (cmd->access_pages.flags &
					MOCK_FLAGS_ACCESS_WRITE) ?
					       IOMMUFD_ACCESS_RW_WRITE : 0);
	if (ret)
		goto out_unlock;
	item->iova = cmd->access_pages.iova;
	item->length = cmd->access_pages.length;
	item->id = ++staccess->next_id;
	list_add_tail(&item->link, &staccess->items);
	if (!(cmd->access_pages.flags & MOCK_FLAGS_ACCESS_SYZ))
		ret = selftest_check_pages(pages, npages,
					   cmd->access_pages.uptr);
	if (!ret) {
		cmd->access_pages.out_access_pages_id = item->id;
		ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	if (ret)
		selftest_access_unpin_item(staccess, item);
	item = NULL;
out_unlock:
	mutex_unlock(&staccess->lock);
out_free:
	kfree(item);
	kvfree(pages);
	fput(file);
	return ret;
}

static int iommufd_test_destroy_access_pages(struct iommu_test_cmd *cmd)
{
	struct selftest_access_item *item;
	struct selftest_access *staccess;
	struct file *file;
	int ret = -ENOENT;

	staccess = selftest_access_get(cmd->id, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	mutex_lock(&staccess->lock);
	list_for_each_entry(item, &staccess->items, link) {
		if (item->id == cmd->destroy_access_pages.access_pages_id) {
			selftest_access_unpin_item(staccess, item);
			ret = 0;
			break;
		}
	}
	mutex_unlock(&staccess->lock);
	fput(file);
	return ret;
}

static int iommufd_test_access_rw(struct iommu_test_cmd *cmd)
{
	unsigned int flags = 0;
	struct selftest_access *staccess;
	struct file *file;
	void *buf;
	int ret;

	if (cmd->access_rw.flags &
	    ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH))
		return -EOPNOTSUPP;
	if (cmd->access_rw.flags & MOCK_ACCESS_RW_WRITE)
		flags |= IOMMUFD_ACCESS_RW_WRITE;
	if (cmd->access_rw.flags & MOCK_ACCESS_RW_SLOW_PATH)
		flags |= __IOMMUFD_ACCESS_RW_SLOW_PATH;
	if (!cmd->access_rw.length || cmd->access_rw.length > SZ_16M)
		return -EINVAL;
	staccess = selftest_access_get(cmd->id, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	buf = kvzalloc(cmd->access_rw.length, GFP_KERNEL_ACCOUNT);
	if (!buf) {
		ret = -ENOMEM;
		goto out_put;
	}
	if (flags & IOMMUFD_ACCESS_RW_WRITE) {
		ret = copy_from_user(buf, u64_to_user_ptr(cmd->access_rw.uptr),
				     cmd->access_rw.length) ? -EFAULT : 0;
		if (!ret)
			ret = iommufd_access_rw(staccess->access,
						cmd->access_rw.iova, buf,
						cmd->access_rw.length, flags);
	} else {
		ret = iommufd_access_rw(staccess->access, cmd->access_rw.iova,
					buf, cmd->access_rw.length, flags);
		if (!ret && copy_to_user(u64_to_user_ptr(cmd->access_rw.uptr),
					 buf, cmd->access_rw.length))
			ret = -EFAULT;
	}
	kvfree(buf);
out_put:
	fput(file);
	return ret;
}

static int iommufd_test_access_replace_ioas(struct iommu_test_cmd *cmd)
{
	struct selftest_access *staccess;
	struct file *file;
	int ret;

	staccess = selftest_access_get(cmd->id, &file);
	if (IS_ERR(staccess))
		return PTR_ERR(staccess);
	ret = iommufd_access_replace(staccess->access,
				     cmd->access_replace_ioas.ioas_id);
	fput(file);
	return ret;
}

/**
 * iommufd_test() - ioctl(IOMMU_TEST_CMD)
 * @ucmd: the command
 *
 * Context: Process context.
 * Return: the operation's result; -EOPNOTSUPP for an operation of the mock
 * driver, which does not exist yet.
 */
int iommufd_test(struct iommufd_ucmd *ucmd)
{
	struct iommu_test_cmd *cmd = ucmd->cmd;

	switch (cmd->op) {
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_check_refs(cmd);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		iommufd_test_memory_limit = cmd->memory_limit.limit;
		return 0;
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return iommufd_test_create_access(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return iommufd_test_access_pages(ucmd, cmd);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return iommufd_test_destroy_access_pages(cmd);
	case IOMMU_TEST_OP_ACCESS_RW:
		return iommufd_test_access_rw(cmd);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return iommufd_test_access_replace_ioas(cmd);
	default:
		return -EOPNOTSUPP;
	}
}

int iommufd_test_init(void)
{
	fail_iommufd_dir = fault_create_debugfs_attr("fail_iommufd", NULL,
						     &fail_iommufd);
	return PTR_ERR_OR_ZERO(fail_iommufd_dir);
}

void iommufd_test_exit(void)
{
	debugfs_remove_recursive(fail_iommufd_dir);
}
