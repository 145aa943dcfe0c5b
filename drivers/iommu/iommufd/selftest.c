// SPDX-License-Identifier: GPL-2.0-only
/*
 * CONFIG_IOMMUFD_TEST: IOMMU_TEST_CMD and the fail_iommufd fault injection
 * point that the kselftests drive.
 *
 * The mock IOMMU driver: a bus of its own ("iommufd_mock") registered with
 * the IOMMU core, mock devices created on request, and a paging domain
 * whose IO page size is half a CPU page and whose page table is an xarray
 * of frame numbers (in MOCK_IO_PAGE_SIZE units), so tests can read back
 * exactly what iommufd mapped.  Each IOMMU_TEST_OP_MOCK_DOMAIN makes a
 * selftest object owning one mock device, bound and attached.
 *
 * The mock paging domain tracks dirty IOPTEs (IOMMU_TEST_OP_DIRTY plays
 * the device writing), and can be made with 1 MiB IOPTEs for devices
 * created with MOCK_FLAGS_DEVICE_HUGE_IOVA.  A mock nested domain keeps a
 * fake IOTLB of four entries that IOMMU_HWPT_INVALIDATE clears and
 * IOMMU_TEST_OP_MD_CHECK_IOTLB reads.  Mock devices take IO page faults
 * through an iopf queue of the mock IOMMU (IOMMU_TEST_OP_TRIGGER_IOPF).
 * PASID attachment of mock devices is not implemented.
 *
 * A mock access lives in an anonymous file (IOMMU_TEST_OP_CREATE_ACCESS
 * returns its descriptor) that holds the context; closing it unpins what
 * the test left pinned and destroys the access.  Its pins are numbered
 * items; its unmap callback unpins every item the unmapped range touches,
 * as an emulated device driver must.
 */
#include <linux/anon_inodes.h>
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/property.h>
#include <linux/rwsem.h>
#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/file.h>
#include <linux/iommufd.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"
#include "iommufd_test.h"

#define MOCK_IO_PAGE_SIZE (PAGE_SIZE / 2)
#define MOCK_DEV_FLAGS                                                       \
	(MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA |           \
	 MOCK_FLAGS_DEVICE_PASID)

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

/* The mock IOMMU driver */

static const struct bus_type iommufd_mock_bus_type = {
	.name = "iommufd_mock",
};

static struct iommu_device mock_iommu;
static struct notifier_block mock_iommu_nb;
static struct iopf_queue *mock_iopf_queue;
static DEFINE_IDA(mock_dev_ida);
static const struct iommu_domain_ops mock_domain_ops;
static const struct iommu_domain_ops mock_nested_ops;

#define MOCK_HUGE_IO_PAGE_SIZE (512 * MOCK_IO_PAGE_SIZE)
#define MOCK_HUGE_IO_PAGES (MOCK_HUGE_IO_PAGE_SIZE / MOCK_IO_PAGE_SIZE)

struct mock_dev {
	struct device dev;
	unsigned long flags;
	int id;
};

/*
 * A mock paging domain.  Its page table is an xarray by IO page index
 * (MOCK_IO_PAGE_SIZE units) whose values hold the frame number shifted
 * left by one, and MOCK_PTE_HUGE in bit 0 for the IO pages of a 1 MiB
 * IOPTE.  An IOPTE's dirty bit is MOCK_PTE_DIRTY, a mark on the entry of
 * its first IO page.
 */
#define MOCK_PTE_HUGE 1UL
#define MOCK_PTE_DIRTY XA_MARK_0

struct mock_domain {
	struct iommu_domain domain;
	struct xarray pfns;
	bool dirty_tracking;
};

/* A mock nested domain: a fake IOTLB that invalidations clear */
struct mock_nested_domain {
	struct iommu_domain domain;
	struct mock_domain *parent;
	u32 iotlb[MOCK_NESTED_DOMAIN_IOTLB_NUM];
};

static struct mock_domain *to_mock_domain(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_domain, domain);
}

static struct mock_nested_domain *to_mock_nested(struct iommu_domain *domain)
{
	return container_of(domain, struct mock_nested_domain, domain);
}

static struct mock_dev *to_mock_dev(struct device *dev)
{
	return container_of(dev, struct mock_dev, dev);
}

bool iommufd_selftest_is_mock_dev(struct device *dev)
{
	return dev->bus == &iommufd_mock_bus_type;
}

/*
 * Faults are reported under mock_iopf_sem (read); a domain change waits
 * for those in flight, as a real driver drains its page request queue, so
 * that no fault arrives through an attachment that has gone.
 */
static DECLARE_RWSEM(mock_iopf_sem);

static void mock_drain_faults(void)
{
	down_write(&mock_iopf_sem);
	up_write(&mock_iopf_sem);
}

static int mock_attach_nop(struct iommu_domain *domain, struct device *dev)
{
	mock_drain_faults();
	return 0;
}

static const struct iommu_domain_ops mock_blocking_ops = {
	.attach_dev = mock_attach_nop,
};

static struct iommu_domain mock_blocking_domain = {
	.type = IOMMU_DOMAIN_BLOCKED,
	.ops = &mock_blocking_ops,
};

static int mock_domain_attach(struct iommu_domain *domain, struct device *dev)
{
	/* A device that cannot track dirty IOVA cannot use such a domain */
	if (domain->dirty_ops &&
	    (to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return -EINVAL;
	mock_drain_faults();
	return 0;
}

static const struct iommu_dirty_ops mock_dirty_ops;

static struct iommu_domain *mock_domain_new(struct device *dev, bool dirty)
{
	struct mock_domain *mock = kzalloc(sizeof(*mock), GFP_KERNEL);

	if (!mock)
		return ERR_PTR(-ENOMEM);
	xa_init(&mock->pfns);
	mock->domain.type = IOMMU_DOMAIN_UNMANAGED;
	mock->domain.ops = &mock_domain_ops;
	mock->domain.pgsize_bitmap = MOCK_IO_PAGE_SIZE;
	if (to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_HUGE_IOVA)
		mock->domain.pgsize_bitmap |= MOCK_HUGE_IO_PAGE_SIZE;
	if (dirty)
		mock->domain.dirty_ops = &mock_dirty_ops;
	mock->domain.geometry.aperture_start = MOCK_APERTURE_START;
	mock->domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	mock->domain.geometry.force_aperture = true;
	return &mock->domain;
}

static struct iommu_domain *mock_domain_alloc_paging(struct device *dev)
{
	return mock_domain_new(dev, false);
}

static struct iommu_domain *
mock_nested_new(struct iommu_domain *parent,
		const struct iommu_user_data *user_data)
{
	struct mock_nested_domain *nested;
	struct iommu_hwpt_selftest data;
	int ret, i;

	if (parent->ops != &mock_domain_ops)
		return ERR_PTR(-EINVAL);
	if (user_data->type != IOMMU_HWPT_DATA_SELFTEST)
		return ERR_PTR(-EOPNOTSUPP);
	ret = iommu_copy_struct_from_user(&data, user_data,
					  IOMMU_HWPT_DATA_SELFTEST, iotlb);
	if (ret)
		return ERR_PTR(ret);
	nested = kzalloc(sizeof(*nested), GFP_KERNEL);
	if (!nested)
		return ERR_PTR(-ENOMEM);
	nested->parent = to_mock_domain(parent);
	for (i = 0; i != MOCK_NESTED_DOMAIN_IOTLB_NUM; i++)
		nested->iotlb[i] = data.iotlb;
	nested->domain.type = IOMMU_DOMAIN_NESTED;
	nested->domain.ops = &mock_nested_ops;
	return &nested->domain;
}

static struct iommu_domain *
mock_domain_alloc_user(struct device *dev, u32 alloc_flags,
		       struct iommu_domain *nest_parent,
		       const struct iommu_user_data *udata)
{
	const u32 paging_flags = IOMMU_HWPT_ALLOC_NEST_PARENT |
				 IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	bool track = alloc_flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;

	/* A nested domain takes no flags, and needs its test data */
	if (nest_parent)
		return alloc_flags || !udata ? ERR_PTR(-EOPNOTSUPP) :
					       mock_nested_new(nest_parent,
							       udata);
	if (udata || (alloc_flags & ~paging_flags))
		return ERR_PTR(-EOPNOTSUPP);
	/* A device flagged without dirty tracking cannot have it */
	if (track && (to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return ERR_PTR(-EOPNOTSUPP);
	return mock_domain_new(dev, track);
}

static void mock_domain_free(struct iommu_domain *domain)
{
	struct mock_domain *mock = to_mock_domain(domain);

	WARN_ON(!xa_empty(&mock->pfns));
	xa_destroy(&mock->pfns);
	kfree(mock);
}

/* Which mock IO pages [@iova, @iova + @bytes) are */
static void mock_io_pages(unsigned long iova, size_t bytes,
			  unsigned long *first, unsigned long *count)
{
	*first = iova / MOCK_IO_PAGE_SIZE;
	*count = bytes / MOCK_IO_PAGE_SIZE;
}

static size_t mock_domain_unmap_pages(struct iommu_domain *dom,
				      unsigned long iova, size_t page_size,
				      size_t npages,
				      struct iommu_iotlb_gather *gather)
{
	struct xarray *ptes = &to_mock_domain(dom)->pfns;
	unsigned long idx, count, end;

	mock_io_pages(iova, page_size * npages, &idx, &count);
	/* iommufd unmaps only what it mapped */
	for (end = idx + count; idx != end; idx++)
		WARN_ON(!xa_erase(ptes, idx));
	return page_size * npages;
}

static int mock_domain_map_pages(struct iommu_domain *dom,
				 unsigned long iova, phys_addr_t phys,
				 size_t page_size, size_t npages, int prot,
				 gfp_t gfp, size_t *done)
{
	struct xarray *ptes = &to_mock_domain(dom)->pfns;
	unsigned long tag = 0, idx, count, k;
	unsigned long frame = phys / MOCK_IO_PAGE_SIZE;

	if (page_size == MOCK_HUGE_IO_PAGE_SIZE)
		tag = MOCK_PTE_HUGE;
	mock_io_pages(iova, page_size * npages, &idx, &count);
	for (k = 0; k < count; k++) {
		void *prev = xa_store(ptes, idx + k,
				      xa_mk_value((frame + k) << 1 | tag), gfp);

		if (xa_is_err(prev)) {
			/* Undo this call's entries; the caller sees nothing */
			while (k)
				xa_erase(ptes, idx + --k);
			return xa_err(prev);
		}
		/* iommufd never maps over a mapping */
		WARN_ON(prev);
	}
	*done = page_size * npages;
	return 0;
}

static phys_addr_t mock_domain_iova_to_phys(struct iommu_domain *domain,
					    dma_addr_t iova)
{
	void *ent = xa_load(&to_mock_domain(domain)->pfns,
			    iova / MOCK_IO_PAGE_SIZE);

	return ent ? (xa_to_value(ent) >> 1) * MOCK_IO_PAGE_SIZE +
			     iova % MOCK_IO_PAGE_SIZE : 0;
}

static const struct iommu_domain_ops mock_domain_ops = {
	.free = mock_domain_free,
	.attach_dev = mock_domain_attach,
	.map_pages = mock_domain_map_pages,
	.unmap_pages = mock_domain_unmap_pages,
	.iova_to_phys = mock_domain_iova_to_phys,
};

/*
 * The IOPTE holding IO page @index: its first IO page index and its size in
 * IO pages, or 0 if @index is not mapped.
 */
static unsigned long mock_pte_of(struct mock_domain *mock, unsigned long index,
				 unsigned long *head)
{
	void *ent = xa_load(&mock->pfns, index);

	if (!ent)
		return 0;
	if (xa_to_value(ent) & MOCK_PTE_HUGE) {
		*head = round_down(index, MOCK_HUGE_IO_PAGES);
		return MOCK_HUGE_IO_PAGES;
	}
	*head = index;
	return 1;
}

static int mock_set_dirty_tracking(struct iommu_domain *domain, bool enable)
{
	to_mock_domain(domain)->dirty_tracking = enable;
	return 0;
}

static int mock_read_and_clear_dirty(struct iommu_domain *domain,
				     unsigned long iova, size_t size,
				     unsigned long flags,
				     struct iommu_dirty_bitmap *dirty)
{
	struct mock_domain *mock = to_mock_domain(domain);
	unsigned long index = iova / MOCK_IO_PAGE_SIZE;
	unsigned long end = (iova + size - 1) / MOCK_IO_PAGE_SIZE + 1;

	while (index < end) {
		unsigned long head, n = mock_pte_of(mock, index, &head);

		if (!n) {
			index++;
			continue;
		}
		if (xa_get_mark(&mock->pfns, head, MOCK_PTE_DIRTY)) {
			if (!(flags & IOMMU_DIRTY_NO_CLEAR))
				xa_clear_mark(&mock->pfns, head,
					      MOCK_PTE_DIRTY);
			iommu_dirty_bitmap_record(dirty,
						  head * MOCK_IO_PAGE_SIZE,
						  n * MOCK_IO_PAGE_SIZE);
		}
		index = head + n;
	}
	return 0;
}

static const struct iommu_dirty_ops mock_dirty_ops = {
	.set_dirty_tracking = mock_set_dirty_tracking,
	.read_and_clear_dirty = mock_read_and_clear_dirty,
};

static void mock_nested_free(struct iommu_domain *domain)
{
	kfree(to_mock_nested(domain));
}

/* One test invalidation entry: all of the IOTLB, or the entry it names */
static int mock_nested_flush(struct mock_nested_domain *nested,
			     const struct iommu_hwpt_invalidate_selftest *entry)
{
	if (entry->flags & ~IOMMU_TEST_INVALIDATE_FLAG_ALL)
		return -EOPNOTSUPP;
	if (entry->iotlb_id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
		return -EINVAL;
	if (entry->flags & IOMMU_TEST_INVALIDATE_FLAG_ALL)
		memset(nested->iotlb, 0, sizeof(nested->iotlb));
	else
		nested->iotlb[entry->iotlb_id] = 0;
	return 0;
}

/* entry_num goes back as the number of entries taken, up to a bad one */
static int mock_nested_invalidate(struct iommu_domain *domain,
				  struct iommu_user_data_array *array)
{
	struct mock_nested_domain *nested = to_mock_nested(domain);
	struct iommu_hwpt_invalidate_selftest entry;
	u32 taken = 0;
	int ret = 0;

	if (array->type != IOMMU_HWPT_INVALIDATE_DATA_SELFTEST)
		ret = -EINVAL;
	while (!ret && taken < array->entry_num) {
		ret = iommu_copy_struct_from_user_array(&entry, array,
							IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, taken,
				iotlb_id);
		if (!ret)
			ret = mock_nested_flush(nested, &entry);
		if (!ret)
			taken++;
	}
	array->entry_num = taken;
	return ret;
}

static const struct iommu_domain_ops mock_nested_ops = {
	.free = mock_nested_free,
	.attach_dev = mock_attach_nop,
	.cache_invalidate_user = mock_nested_invalidate,
};

static void *mock_hw_info(struct device *dev, u32 *out_len, u32 *out_type)
{
	static const struct iommu_test_hw_info report = {
		.test_reg = IOMMU_HW_INFO_SELFTEST_REGVAL,
	};
	void *copy = kmemdup(&report, sizeof(report), GFP_KERNEL);

	/* The caller frees what the driver hands out */
	if (!copy)
		return ERR_PTR(-ENOMEM);
	*out_type = IOMMU_HW_INFO_TYPE_SELFTEST;
	*out_len = sizeof(report);
	return copy;
}

static bool mock_capable(struct device *dev, enum iommu_cap cap)
{
	switch (cap) {
	case IOMMU_CAP_CACHE_COHERENCY:
		return true;
	case IOMMU_CAP_DIRTY_TRACKING:
		return !(to_mock_dev(dev)->flags & MOCK_FLAGS_DEVICE_NO_DIRTY);
	default:
		return false;
	}
}

static struct iommu_device *mock_probe_device(struct device *dev)
{
	if (dev->bus != &iommufd_mock_bus_type)
		return ERR_PTR(-ENODEV);
	return &mock_iommu;
}

/* Mock devices take IO page faults through the mock IOMMU's queue */
static int mock_dev_enable_feat(struct device *dev, enum iommu_dev_features f)
{
	if (f != IOMMU_DEV_FEAT_IOPF)
		return -EINVAL;
	return iopf_queue_add_device(mock_iopf_queue, dev);
}

static int mock_dev_disable_feat(struct device *dev, enum iommu_dev_features f)
{
	if (f != IOMMU_DEV_FEAT_IOPF)
		return -EINVAL;
	iopf_queue_remove_device(mock_iopf_queue, dev);
	return 0;
}

static void mock_page_response(struct device *dev, struct iopf_fault *evt,
			       struct iommu_page_response *msg)
{
}

static const struct iommu_ops mock_ops = {
	.owner = THIS_MODULE,
	.default_domain = &mock_blocking_domain,
	.blocked_domain = &mock_blocking_domain,
	.pgsize_bitmap = MOCK_IO_PAGE_SIZE,
	.hw_info = mock_hw_info,
	.capable = mock_capable,
	.domain_alloc_paging = mock_domain_alloc_paging,
	.domain_alloc_user = mock_domain_alloc_user,
	.probe_device = mock_probe_device,
	.device_group = generic_device_group,
	.dev_enable_feat = mock_dev_enable_feat,
	.dev_disable_feat = mock_dev_disable_feat,
	.page_response = mock_page_response,
	.default_domain_ops = &mock_domain_ops,
};

static void mock_dev_release(struct device *dev)
{
	struct mock_dev *mdev = to_mock_dev(dev);
	int id = mdev->id;

	kfree(mdev);
	ida_free(&mock_dev_ida, id);
}

static struct mock_dev *mock_dev_create(unsigned long dev_flags)
{
	const struct property_entry pasid_props[] = {
		PROPERTY_ENTRY_U32("pasid-num-bits", MOCK_PASID_WIDTH),
		{},
	};
	struct mock_dev *mdev;
	int id, ret;

	if (dev_flags & ~MOCK_DEV_FLAGS)
		return ERR_PTR(-EINVAL);
	id = ida_alloc(&mock_dev_ida, GFP_KERNEL);
	if (id < 0)
		return ERR_PTR(id);
	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL);
	if (!mdev) {
		ida_free(&mock_dev_ida, id);
		return ERR_PTR(-ENOMEM);
	}
	mdev->id = id;
	mdev->flags = dev_flags;
	mdev->dev.bus = &iommufd_mock_bus_type;
	mdev->dev.release = mock_dev_release;
	device_initialize(&mdev->dev);
	/* From here on, the last put_device() frees mdev and its id */
	ret = dev_set_name(&mdev->dev, "iommufd_mock%u", id);
	if (!ret && (dev_flags & MOCK_FLAGS_DEVICE_PASID))
		ret = device_create_managed_software_node(&mdev->dev,
							  pasid_props, NULL);
	if (!ret)
		ret = device_add(&mdev->dev);
	if (ret) {
		put_device(&mdev->dev);
		return ERR_PTR(ret);
	}
	return mdev;
}

static void mock_dev_destroy(struct mock_dev *mdev)
{
	device_unregister(&mdev->dev);
}

/* A mock device bound to a context: IOMMU_TEST_OP_MOCK_DOMAIN's object */
struct mock_binding {
	struct iommufd_object obj;
	struct iommufd_ctx *ictx;
	struct iommufd_device *idev;
	struct mock_dev *mdev;
};

static void mock_binding_destroy(struct iommufd_object *obj)
{
	struct mock_binding *bound = container_of(obj, struct mock_binding, obj);

	if (bound->idev)
		iommufd_device_unbind(bound->idev);
	if (bound->mdev)
		mock_dev_destroy(bound->mdev);
}

const struct iommufd_object_ops iommufd_mock_binding_ops = {
	.destroy = mock_binding_destroy,
};

static int iommufd_test_mock_domain(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd)
{
	u32 dev_flags = cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS ?
				cmd->mock_domain_flags.dev_flags : 0;
	struct mock_binding *bound;
	u32 pt_id = cmd->id, idev_id;
	int ret;

	if (dev_flags & ~MOCK_DEV_FLAGS)
		return -EINVAL;
	bound = iommufd_object_alloc(ucmd->ictx, struct mock_binding,
				     IOMMUFD_OBJ_SELFTEST);
	if (IS_ERR(bound))
		return PTR_ERR(bound);
	bound->ictx = ucmd->ictx;
	bound->mdev = mock_dev_create(dev_flags);
	if (IS_ERR(bound->mdev)) {
		ret = PTR_ERR(bound->mdev);
		bound->mdev = NULL;
		goto err_discard;
	}
	bound->idev = iommufd_device_bind(ucmd->ictx, &bound->mdev->dev,
					  &idev_id);
	if (IS_ERR(bound->idev)) {
		ret = PTR_ERR(bound->idev);
		bound->idev = NULL;
		goto err_discard;
	}
	ret = iommufd_device_attach(bound->idev, &pt_id);
	if (ret)
		goto err_discard;

	/* The two layouts agree on the three outputs */
	cmd->mock_domain.out_stdev_id = bound->obj.id;
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_idev_id = idev_id;
	ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	if (ret)
		goto err_discard;
	iommufd_object_publish(ucmd->ictx, &bound->obj);
	return 0;

err_discard:
	iommufd_object_discard(ucmd->ictx, &bound->obj);
	return ret;
}

static int iommufd_test_mock_domain_replace(struct iommufd_ucmd *ucmd,
					    struct iommu_test_cmd *cmd)
{
	u32 pt_id = cmd->mock_domain_replace.pt_id;
	struct mock_binding *bound;
	int ret;

	bound = iommufd_get_typed(ucmd->ictx, cmd->id, IOMMUFD_OBJ_SELFTEST,
				  struct mock_binding, obj);
	if (IS_ERR(bound))
		return PTR_ERR(bound);
	ret = iommufd_device_replace(bound->idev, &pt_id);
	if (!ret) {
		cmd->mock_domain_replace.pt_id = pt_id;
		ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	iommufd_put_object(ucmd->ictx, &bound->obj);
	return ret;
}

/* Does the mock HWPT @id map [iova, iova + length) to the user's memory? */
static int iommufd_test_md_check_map(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	unsigned long iova = cmd->check_map.iova;
	unsigned long uptr = cmd->check_map.uptr;
	unsigned long length = cmd->check_map.length;
	struct iommufd_hwpt_paging *hwpt;
	struct mock_domain *mock;
	int ret = 0;

	if ((iova | uptr | length) % MOCK_IO_PAGE_SIZE)
		return -EINVAL;
	hwpt = iommufd_get_hwpt_paging(ucmd->ictx, cmd->id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	if (hwpt->common.domain->ops != &mock_domain_ops) {
		ret = -EINVAL;
		goto out_put;
	}
	mock = to_mock_domain(hwpt->common.domain);
	for (; length; length -= MOCK_IO_PAGE_SIZE, iova += MOCK_IO_PAGE_SIZE,
	     uptr += MOCK_IO_PAGE_SIZE) {
		struct page *page;
		phys_addr_t want;

		if (get_user_pages_fast(PAGE_ALIGN_DOWN(uptr), 1, 0, &page) !=
		    1) {
			ret = -EFAULT;
			break;
		}
		want = page_to_phys(page) + offset_in_page(uptr);
		put_page(page);
		if (mock_domain_iova_to_phys(&mock->domain, iova) != want) {
			ret = -EINVAL;
			break;
		}
	}
out_put:
	iommufd_put_object(ucmd->ictx, &hwpt->common.obj);
	return ret;
}

/*
 * IOMMU_TEST_OP_DIRTY: the mock device writes to every IOVA whose bit is
 * set in the user's bitmap, which dirties the IOPTE mapping it if dirty
 * tracking is on.  Returns how many bits did so.
 */
static int iommufd_test_dirty(struct iommufd_ucmd *ucmd,
			      struct iommu_test_cmd *cmd)
{
	unsigned long page_size = cmd->dirty.page_size;
	unsigned long iova = cmd->dirty.iova;
	unsigned long nbits, i, word, nr = 0;
	struct iommufd_hwpt_paging *hwpt;
	unsigned long __user *uptr;
	struct mock_domain *mock;
	int ret = 0;

	if (!page_size || !is_power_of_2(page_size) ||
	    page_size < MOCK_IO_PAGE_SIZE || cmd->dirty.length % page_size ||
	    iova % page_size)
		return -EINVAL;
	nbits = cmd->dirty.length / page_size;
	uptr = u64_to_user_ptr(cmd->dirty.uptr);
	hwpt = iommufd_get_hwpt_paging(ucmd->ictx, cmd->id);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	if (hwpt->common.domain->ops != &mock_domain_ops ||
	    !hwpt->common.domain->dirty_ops) {
		ret = -EINVAL;
		goto out_put;
	}
	mock = to_mock_domain(hwpt->common.domain);
	for (i = 0; i < nbits; i++) {
		unsigned long head, index;

		if (i % BITS_PER_LONG == 0 &&
		    get_user(word, uptr + i / BITS_PER_LONG)) {
			ret = -EFAULT;
			break;
		}
		if (!(word & BIT(i % BITS_PER_LONG)))
			continue;
		index = (iova + i * page_size) / MOCK_IO_PAGE_SIZE;
		if (!mock->dirty_tracking || !mock_pte_of(mock, index, &head))
			continue;
		xa_set_mark(&mock->pfns, head, MOCK_PTE_DIRTY);
		nr++;
	}
	cmd->dirty.out_nr_dirty = nr;
	if (!ret)
		ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
out_put:
	iommufd_put_object(ucmd->ictx, &hwpt->common.obj);
	return ret;
}

/* IOMMU_TEST_OP_MD_CHECK_IOTLB: does an entry of the fake IOTLB hold it */
static int iommufd_test_check_iotlb(struct iommufd_ucmd *ucmd,
				    struct iommu_test_cmd *cmd)
{
	struct mock_nested_domain *nested;
	struct iommufd_hwpt_nested *hwpt;
	int ret = 0;

	if (cmd->check_iotlb.id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
		return -EINVAL;
	hwpt = iommufd_get_typed(ucmd->ictx, cmd->id, IOMMUFD_OBJ_HWPT_NESTED,
				 struct iommufd_hwpt_nested, common.obj);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	if (hwpt->common.domain->ops != &mock_nested_ops) {
		ret = -EINVAL;
		goto out_put;
	}
	nested = to_mock_nested(hwpt->common.domain);
	if (nested->iotlb[cmd->check_iotlb.id] != cmd->check_iotlb.iotlb)
		ret = -EINVAL;
out_put:
	iommufd_put_object(ucmd->ictx, &hwpt->common.obj);
	return ret;
}

/* IOMMU_TEST_OP_TRIGGER_IOPF: the mock device takes one IO page fault */
static int iommufd_test_trigger_iopf(struct iommufd_ucmd *ucmd,
				     struct iommu_test_cmd *cmd)
{
	struct iopf_fault event = {
		.fault = {
			.type = IOMMU_FAULT_PAGE_REQ,
			.prm = {
				.flags = IOMMU_FAULT_PAGE_REQUEST_LAST_PAGE,
				.pasid = cmd->trigger_iopf.pasid,
				.grpid = cmd->trigger_iopf.grpid,
				.perm = cmd->trigger_iopf.perm,
				.addr = cmd->trigger_iopf.addr,
			},
		},
	};
	struct iommufd_device *idev;
	int ret;

	idev = iommufd_get_typed(ucmd->ictx, cmd->trigger_iopf.dev_id,
				 IOMMUFD_OBJ_DEVICE, struct iommufd_device,
				 obj);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	if (iommufd_selftest_is_mock_dev(idev->dev)) {
		down_read(&mock_iopf_sem);
		ret = iommu_report_device_fault(idev->dev, &event);
		up_read(&mock_iopf_sem);
	} else {
		ret = -EINVAL;
	}
	iommufd_put_object(ucmd->ictx, &idev->obj);
	return ret;
}

/* Mock in-kernel accesses */

struct mock_accessor {
	struct iommufd_access *access;
	struct file *file;
	struct mutex lock;		/* protects items, next_id */
	struct list_head items;
	unsigned int next_id;
};

struct mock_access_pin {
	struct list_head link;
	unsigned long iova;
	size_t length;
	unsigned int id;
};

static void mock_accessor_drop_pin(struct mock_accessor *acc,
				   struct mock_access_pin *item)
{
	lockdep_assert_held(&acc->lock);
	iommufd_access_unpin_pages(acc->access, item->iova, item->length);
	list_del(&item->link);
	kfree(item);
}

static void mock_accessor_unmap(void *data, unsigned long iova,
				unsigned long length)
{
	struct mock_accessor *acc = data;
	struct mock_access_pin *item, *next;
	unsigned long last = iova + length - 1;

	mutex_lock(&acc->lock);
	list_for_each_entry_safe(item, next, &acc->items, link) {
		if (item->iova <= last && iova <= item->iova + item->length - 1)
			mock_accessor_drop_pin(acc, item);
	}
	mutex_unlock(&acc->lock);
}

static const struct iommufd_access_ops mock_accessor_pin_ops = {
	.needs_pin_pages = 1,
	.unmap = mock_accessor_unmap,
};

static const struct iommufd_access_ops mock_accessor_rw_ops = {
	.unmap = mock_accessor_unmap,
};

static int mock_accessor_release(struct inode *inode, struct file *filep)
{
	struct mock_accessor *acc = filep->private_data;
	struct mock_access_pin *item, *next;

	mutex_lock(&acc->lock);
	list_for_each_entry_safe(item, next, &acc->items, link)
		mock_accessor_drop_pin(acc, item);
	mutex_unlock(&acc->lock);
	iommufd_access_destroy(acc->access);
	mutex_destroy(&acc->lock);
	kfree(acc);
	return 0;
}

static const struct file_operations mock_accessor_fops = {
	.owner = THIS_MODULE,
	.release = mock_accessor_release,
};

/* The mock access behind the descriptor @fd; hold the returned file */
static struct mock_accessor *mock_accessor_from_fd(int fd, struct file **filep)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	if (file->f_op != &mock_accessor_fops) {
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
	struct mock_accessor *acc;
	struct file *file;
	u32 access_id;
	int fd, ret;

	if (cmd->create_access.flags &
	    ~MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES)
		return -EOPNOTSUPP;
	acc = kzalloc(sizeof(*acc), GFP_KERNEL_ACCOUNT);
	if (!acc)
		return -ENOMEM;
	mutex_init(&acc->lock);
	INIT_LIST_HEAD(&acc->items);

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		ret = fd;
		goto err_free;
	}
	ops = (cmd->create_access.flags &
	       MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES) ?
		      &mock_accessor_pin_ops : &mock_accessor_rw_ops;
	acc->access = iommufd_access_create(ucmd->ictx, ops, acc,
					    &access_id);
	if (IS_ERR(acc->access)) {
		ret = PTR_ERR(acc->access);
		goto err_put_fd;
	}
	ret = iommufd_access_attach(acc->access, cmd->id);
	if (ret)
		goto err_destroy;
	file = anon_inode_getfile("[iommufd_test_access]",
				  &mock_accessor_fops, acc, O_RDWR);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_destroy;
	}
	acc->file = file;
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
	iommufd_access_destroy(acc->access);
err_put_fd:
	put_unused_fd(fd);
err_free:
	mutex_destroy(&acc->lock);
	kfree(acc);
	return ret;
}

/* Are @pages exactly the pages of the user's memory at @uptr? */
static int mock_check_pages(struct page **pages, unsigned long npages,
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
	struct mock_access_pin *item;
	struct mock_accessor *acc;
	struct page **pages;
	struct file *file;
	int ret;

	if (cmd->access_pages.flags &
	    ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	acc = mock_accessor_from_fd(cmd->id, &file);
	if (IS_ERR(acc))
		return PTR_ERR(acc);
	pages = kvcalloc(max(npages, 1UL), sizeof(*pages),
			 GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	item = kzalloc(sizeof(*item), GFP_KERNEL_ACCOUNT);
	if (!pages || !item) {
		ret = -ENOMEM;
		goto out_free;
	}

	mutex_lock(&acc->lock);
	ret = iommufd_access_pin_pages(acc->access,
				       cmd->access_pages.iova,
				       cmd->access_pages.length, pages,
				       (cmd->access_pages.flags &
					MOCK_FLAGS_ACCESS_WRITE) ?
					       IOMMUFD_ACCESS_RW_WRITE : 0);
	if (ret)
		goto out_unlock;
	item->iova = cmd->access_pages.iova;
	item->length = cmd->access_pages.length;
	item->id = ++acc->next_id;
	list_add_tail(&item->link, &acc->items);
	if (!(cmd->access_pages.flags & MOCK_FLAGS_ACCESS_SYZ))
		ret = mock_check_pages(pages, npages,
				       cmd->access_pages.uptr);
	if (!ret) {
		cmd->access_pages.out_access_pages_id = item->id;
		ret = iommufd_ucmd_respond(ucmd, sizeof(*cmd));
	}
	if (ret)
		mock_accessor_drop_pin(acc, item);
	item = NULL;
out_unlock:
	mutex_unlock(&acc->lock);
out_free:
	kfree(item);
	kvfree(pages);
	fput(file);
	return ret;
}

/* The pin of @acc with @id, or NULL; under acc->lock */
static struct mock_access_pin *mock_accessor_find_pin(struct mock_accessor *acc,
						      unsigned int id)
{
	struct mock_access_pin *pin;

	lockdep_assert_held(&acc->lock);
	list_for_each_entry(pin, &acc->items, link)
		if (pin->id == id)
			return pin;
	return NULL;
}

static int iommufd_test_destroy_access_pages(struct iommu_test_cmd *cmd)
{
	unsigned int id = cmd->destroy_access_pages.access_pages_id;
	struct mock_access_pin *pin;
	struct mock_accessor *acc;
	struct file *file;

	acc = mock_accessor_from_fd(cmd->id, &file);
	if (IS_ERR(acc))
		return PTR_ERR(acc);
	mutex_lock(&acc->lock);
	pin = mock_accessor_find_pin(acc, id);
	if (pin)
		mock_accessor_drop_pin(acc, pin);
	mutex_unlock(&acc->lock);
	fput(file);
	return pin ? 0 : -ENOENT;
}

static int iommufd_test_access_rw(struct iommu_test_cmd *cmd)
{
	unsigned int flags = 0;
	struct mock_accessor *acc;
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
	acc = mock_accessor_from_fd(cmd->id, &file);
	if (IS_ERR(acc))
		return PTR_ERR(acc);
	buf = kvzalloc(cmd->access_rw.length, GFP_KERNEL_ACCOUNT);
	if (!buf) {
		ret = -ENOMEM;
		goto out_put;
	}
	if (flags & IOMMUFD_ACCESS_RW_WRITE) {
		ret = copy_from_user(buf, u64_to_user_ptr(cmd->access_rw.uptr),
				     cmd->access_rw.length) ? -EFAULT : 0;
		if (!ret)
			ret = iommufd_access_rw(acc->access,
						cmd->access_rw.iova, buf,
						cmd->access_rw.length, flags);
	} else {
		ret = iommufd_access_rw(acc->access, cmd->access_rw.iova,
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
	struct mock_accessor *acc;
	struct file *file;
	int ret;

	acc = mock_accessor_from_fd(cmd->id, &file);
	if (IS_ERR(acc))
		return PTR_ERR(acc);
	ret = iommufd_access_replace(acc->access,
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
	/* Mock devices and their domains */
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return iommufd_test_mock_domain(ucmd, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return iommufd_test_mock_domain_replace(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return iommufd_test_md_check_map(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_IOTLB:
		return iommufd_test_check_iotlb(ucmd, cmd);
	case IOMMU_TEST_OP_DIRTY:
		return iommufd_test_dirty(ucmd, cmd);
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		return iommufd_test_trigger_iopf(ucmd, cmd);
	/* In-kernel accesses */
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return iommufd_test_create_access(ucmd, cmd);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return iommufd_test_access_replace_ioas(cmd);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return iommufd_test_access_pages(ucmd, cmd);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return iommufd_test_destroy_access_pages(cmd);
	case IOMMU_TEST_OP_ACCESS_RW:
		return iommufd_test_access_rw(cmd);
	/* The IOAS and the page store */
	case IOMMU_TEST_OP_ADD_RESERVED:
		return iommufd_test_add_reserved(ucmd, cmd);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return iommufd_test_check_refs(cmd);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		iommufd_test_memory_limit = cmd->memory_limit.limit;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

int iommufd_test_init(void)
{
	int ret;

	fail_iommufd_dir = fault_create_debugfs_attr("fail_iommufd", NULL,
						     &fail_iommufd);
	if (IS_ERR(fail_iommufd_dir))
		return PTR_ERR(fail_iommufd_dir);
	mock_iopf_queue = iopf_queue_alloc("mock-iopfq");
	if (!mock_iopf_queue) {
		ret = -ENOMEM;
		goto err_debugfs;
	}
	ret = bus_register(&iommufd_mock_bus_type);
	if (ret)
		goto err_iopf;
	/* The core links every probed device into its IOMMU's sysfs node */
	ret = iommu_device_sysfs_add(&mock_iommu, NULL, NULL, "%s",
				     "iommufd_mock");
	if (ret)
		goto err_bus;
	mock_iommu.max_pasids = 1U << MOCK_PASID_WIDTH;
	ret = iommu_device_register_bus(&mock_iommu, &mock_ops,
					&iommufd_mock_bus_type, &mock_iommu_nb);
	if (ret)
		goto err_sysfs;
	return 0;

err_sysfs:
	iommu_device_sysfs_remove(&mock_iommu);
err_bus:
	bus_unregister(&iommufd_mock_bus_type);
err_iopf:
	iopf_queue_free(mock_iopf_queue);
err_debugfs:
	debugfs_remove_recursive(fail_iommufd_dir);
	return ret;
}

void iommufd_test_exit(void)
{
	iommu_device_unregister_bus(&mock_iommu, &iommufd_mock_bus_type,
				    &mock_iommu_nb);
	iommu_device_sysfs_remove(&mock_iommu);
	bus_unregister(&iommufd_mock_bus_type);
	iopf_queue_free(mock_iopf_queue);
	debugfs_remove_recursive(fail_iommufd_dir);
}
