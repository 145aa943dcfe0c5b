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
#include <linux/iova_bitmap.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "../iommu-priv.h"
#include "iommufd_private.h"
#include "iommufd_test.h"

#define MOCK_IO_PAGE_SIZE (PAGE_SIZE / 2)
#define MOCK_DEV_RESV_FLAGS                                                  \
	(MOCK_FLAGS_DEVICE_SW_MSI | MOCK_FLAGS_DEVICE_SW_MSI_ALT |            \
	 MOCK_FLAGS_DEVICE_HW_MSI | MOCK_FLAGS_DEVICE_RESERVED |                \
	 MOCK_FLAGS_DEVICE_RELAXABLE)
#define MOCK_DEV_FLAGS                                                       \
	(MOCK_FLAGS_DEVICE_NO_DIRTY | MOCK_FLAGS_DEVICE_HUGE_IOVA |           \
	 MOCK_FLAGS_DEVICE_PASID | MOCK_FLAGS_DEVICE_NO_IOPF |                 \
	 MOCK_FLAGS_DEVICE_COHERENT | MOCK_DEV_RESV_FLAGS)

static DECLARE_FAULT_ATTR(fail_iommufd);
static struct dentry *fail_iommufd_dir;

/* Pages per pinning batch; IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT sets it */
unsigned int iommufd_test_memory_limit = 65536;

/* Owner of the reservations IOMMU_TEST_OP_ADD_RESERVED makes */
static char iommufd_test_reserved_owner;

/**
 * iommufd_inject_fail() - should this allocation point fail now
 *
 * Context: Any context.
 * Return: true when the fail_iommufd fault attribute fires.
 */
bool iommufd_inject_fail(void)
{
	return should_fail(&fail_iommufd, 1);
}

/**
 * iommufd_test_syz_iova() - the IOVA a syzkaller IOVA of the test ABI names
 * @iopt: the IO address space
 * @value: with MOCK_FLAGS_ACCESS_SYZ, an IOVA is two u32s as they lie in
 *	the u64's memory: the index of a mapping in IOVA order, then an offset
 *	into it (a fuzzer cannot guess IOVAs, it can count mappings)
 *
 * Context: Process context; takes @iopt's tree_sem for reading.
 * Return: the mapping's start plus the offset, or 0 with no such mapping.
 */
unsigned long iommufd_test_syz_iova(struct io_pagetable *iopt, u64 value)
{
	struct {
		u32 index;
		u32 offset;
	} syz;
	struct iopt_area *area;
	unsigned long iova = 0;
	u32 seen = 0;

	BUILD_BUG_ON(sizeof(syz) != sizeof(value));
	memcpy(&syz, &value, sizeof(syz));
	down_read(&iopt->tree_sem);
	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX), seen++) {
		if (seen == syz.index) {
			iova = iopt_area_start(area) + syz.offset;
			break;
		}
	}
	up_read(&iopt->tree_sem);
	return iova;
}

/*
 * IOMMU_IOAS_COPY with MOCK_FLAGS_ACCESS_SYZ in its flags: the flag goes,
 * and the source IOVA is a syzkaller IOVA of the source IOAS (0 if that is
 * not an IOAS)
 */
void iommufd_test_syz_copy_source(struct iommufd_ctx *ictx,
				  struct iommu_ioas_copy *cmd)
{
	struct iommufd_ioas *ioas;

	if (!(cmd->flags & MOCK_FLAGS_ACCESS_SYZ))
		return;
	cmd->flags &= ~MOCK_FLAGS_ACCESS_SYZ;
	ioas = iommufd_ioas_lookup(ictx, cmd->src_ioas_id);
	if (IS_ERR(ioas))
		return;
	cmd->src_iova = iommufd_test_syz_iova(&ioas->table, cmd->src_iova);
	iommufd_obj_unref(ictx, &ioas->base);
}

static int mock_cmd_add_reserved(struct iommufd_call *call,
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
	ioas = iommufd_ioas_lookup(call->ctx, cmd->id);
	if (IS_ERR(ioas))
		return PTR_ERR(ioas);
	ret = iopt_reserve(&ioas->table, cmd->add_reserved.start, last,
			   &iommufd_test_reserved_owner);
	iommufd_obj_unref(call->ctx, &ioas->base);
	return ret;
}

/*
 * Check that every small page of a user range is pinned exactly @refs
 * times.  Pages of large folios are not checked: their pin count belongs
 * to the whole folio.
 */
static int mock_cmd_check_refs(struct iommu_test_cmd *cmd)
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

struct mock_device {
	struct device device;
	unsigned long caps;
	int index;
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

/*
 * @refuse_iova: with @refuse_armed, the next map call that covers this IOVA
 *	fails with -ENOMEM (IOMMU_TEST_OP_MD_REFUSE_MAP), as a driver's page
 *	table allocation may; map calls run on several CPUs at once
 */
struct mock_domain {
	struct iommu_domain domain;
	struct xarray pfns;
	bool dirty_tracking;
	bool refuse_armed;
	unsigned long refuse_iova;
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

static struct mock_device *to_mock_dev(struct device *dev)
{
	return container_of(dev, struct mock_device, device);
}

bool iommufd_dev_is_mock(struct device *dev)
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
	    (to_mock_dev(dev)->caps & MOCK_FLAGS_DEVICE_NO_DIRTY))
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
	if (to_mock_dev(dev)->caps & MOCK_FLAGS_DEVICE_HUGE_IOVA)
		mock->domain.pgsize_bitmap |= MOCK_HUGE_IO_PAGE_SIZE;
	if (dirty)
		mock->domain.dirty_ops = &mock_dirty_ops;
	mock->domain.geometry.aperture_start = MOCK_APERTURE_START;
	mock->domain.geometry.aperture_end = MOCK_APERTURE_LAST;
	mock->domain.geometry.force_aperture = true;
	return &mock->domain;
}

static struct iommu_domain *mock_paging_new(struct device *dev)
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
mock_user_domain_new(struct device *dev, u32 alloc_flags,
		     struct iommu_domain *parent_capable,
		       const struct iommu_user_data *udata)
{
	const u32 paging_flags = IOMMU_HWPT_ALLOC_NEST_PARENT |
				 IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	bool track = alloc_flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;

	/* A nested domain takes no flags, and needs its test data */
	if (parent_capable)
		return alloc_flags || !udata ? ERR_PTR(-EOPNOTSUPP) :
					       mock_nested_new(parent_capable,
							       udata);
	if (udata || (alloc_flags & ~paging_flags))
		return ERR_PTR(-EOPNOTSUPP);
	/* A device flagged without dirty tracking cannot have it */
	if (track && (to_mock_dev(dev)->caps & MOCK_FLAGS_DEVICE_NO_DIRTY))
		return ERR_PTR(-EOPNOTSUPP);
	return mock_domain_new(dev, track);
}

static void mock_domain_release(struct iommu_domain *domain)
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

static size_t mock_unmap_range(struct iommu_domain *dom,
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

static int mock_map_range(struct iommu_domain *dom,
			  unsigned long iova, phys_addr_t phys,
				 size_t page_size, size_t npages, int prot,
				 gfp_t gfp, size_t *done)
{
	struct mock_domain *mock = to_mock_domain(dom);
	struct xarray *ptes = &mock->pfns;
	unsigned long tag = 0, idx, count, k;
	unsigned long frame = phys / MOCK_IO_PAGE_SIZE;

	/* Paired with the release in mock_cmd_refuse_map() */
	if (smp_load_acquire(&mock->refuse_armed) &&
	    READ_ONCE(mock->refuse_iova) - iova < page_size * npages &&
	    xchg(&mock->refuse_armed, false))
		return -ENOMEM;
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

static phys_addr_t mock_translate(struct iommu_domain *domain,
				  dma_addr_t iova)
{
	void *ent = xa_load(&to_mock_domain(domain)->pfns,
			    iova / MOCK_IO_PAGE_SIZE);

	return ent ? (xa_to_value(ent) >> 1) * MOCK_IO_PAGE_SIZE +
			     iova % MOCK_IO_PAGE_SIZE : 0;
}

/*
 * Every mock paging domain can make its DMA snoop: there is no DMA to
 * change.  The driver then leaves refusing a device that cannot snoop to
 * the core, which must.
 */
static bool mock_enforce_snoop(struct iommu_domain *domain)
{
	return true;
}

static const struct iommu_domain_ops mock_domain_ops = {
	.free = mock_domain_release,
	.attach_dev = mock_domain_attach,
	.map_pages = mock_map_range,
	.unmap_pages = mock_unmap_range,
	.iova_to_phys = mock_translate,
	.enforce_cache_coherency = mock_enforce_snoop,
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
	case IOMMU_CAP_ENFORCE_CACHE_COHERENCY:
		return to_mock_dev(dev)->caps & MOCK_FLAGS_DEVICE_COHERENT;
	case IOMMU_CAP_DIRTY_TRACKING:
		return !(to_mock_dev(dev)->caps & MOCK_FLAGS_DEVICE_NO_DIRTY);
	default:
		return false;
	}
}

/*
 * The reserved regions a mock device was made with, by its flags.  No
 * IOMMU_RESV_DIRECT: the core would need an identity default domain.
 */
static const struct {
	unsigned long flag;
	unsigned long base;
	enum iommu_resv_type type;
} mock_resv_table[] = {
	{ MOCK_FLAGS_DEVICE_SW_MSI, MOCK_SW_MSI_BASE, IOMMU_RESV_SW_MSI },
	{ MOCK_FLAGS_DEVICE_SW_MSI_ALT, MOCK_SW_MSI_ALT_BASE, IOMMU_RESV_SW_MSI },
	{ MOCK_FLAGS_DEVICE_HW_MSI, MOCK_HW_MSI_BASE, IOMMU_RESV_MSI },
	{ MOCK_FLAGS_DEVICE_RESERVED, MOCK_RESERVED_BASE, IOMMU_RESV_RESERVED },
	{ MOCK_FLAGS_DEVICE_RELAXABLE, MOCK_RELAXABLE_BASE,
	  IOMMU_RESV_DIRECT_RELAXABLE },
};

static void mock_resv_regions(struct device *dev, struct list_head *head)
{
	const int prot = IOMMU_READ | IOMMU_WRITE | IOMMU_MMIO;
	struct iommu_resv_region *resv;
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(mock_resv_table); i++) {
		if (!(to_mock_dev(dev)->caps & mock_resv_table[i].flag))
			continue;
		/* As real drivers do, a failed allocation drops the region */
		resv = iommu_alloc_resv_region(mock_resv_table[i].base,
					       MOCK_RESV_LENGTH, prot,
					       mock_resv_table[i].type,
					       GFP_KERNEL);
		if (resv)
			list_add_tail(&resv->list, head);
	}
}

static struct iommu_device *mock_probe(struct device *dev)
{
	if (dev->bus != &iommufd_mock_bus_type)
		return ERR_PTR(-ENODEV);
	return &mock_iommu;
}

/* Mock devices take IO page faults through the mock IOMMU's queue */
static int mock_feature_on(struct device *dev, enum iommu_dev_features f)
{
	if (f != IOMMU_DEV_FEAT_IOPF)
		return -EINVAL;
	if (to_mock_dev(dev)->caps & MOCK_FLAGS_DEVICE_NO_IOPF)
		return -ENODEV;
	return iopf_queue_add_device(mock_iopf_queue, dev);
}

static int mock_feature_off(struct device *dev, enum iommu_dev_features f)
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
	.domain_alloc_paging = mock_paging_new,
	.domain_alloc_user = mock_user_domain_new,
	.probe_device = mock_probe,
	.device_group = generic_device_group,
	.get_resv_regions = mock_resv_regions,
	.dev_enable_feat = mock_feature_on,
	.dev_disable_feat = mock_feature_off,
	.page_response = mock_page_response,
	.default_domain_ops = &mock_domain_ops,
};

static void mock_device_free(struct device *dev)
{
	struct mock_device *mdev = to_mock_dev(dev);
	int id = mdev->index;

	kfree(mdev);
	ida_free(&mock_dev_ida, id);
}

static struct mock_device *mock_device_new(unsigned long dev_flags)
{
	const struct property_entry pasid_props[] = {
		PROPERTY_ENTRY_U32("pasid-num-bits", MOCK_PASID_WIDTH),
		{},
	};
	struct mock_device *mdev;
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
	mdev->index = id;
	mdev->caps = dev_flags;
	mdev->device.bus = &iommufd_mock_bus_type;
	mdev->device.release = mock_device_free;
	device_initialize(&mdev->device);
	/* From here on, the last put_device() frees mdev and its id */
	ret = dev_set_name(&mdev->device, "iommufd_mock%u", id);
	if (!ret && (dev_flags & MOCK_FLAGS_DEVICE_PASID))
		ret = device_create_managed_software_node(&mdev->device,
							  pasid_props, NULL);
	if (!ret)
		ret = device_add(&mdev->device);
	if (ret) {
		put_device(&mdev->device);
		return ERR_PTR(ret);
	}
	return mdev;
}

static void mock_device_remove(struct mock_device *mdev)
{
	device_unregister(&mdev->device);
}

/* A mock device bound to a context: IOMMU_TEST_OP_MOCK_DOMAIN's object */
struct mock_binding {
	struct iommufd_object base;
	struct iommufd_ctx *ctx;
	struct iommufd_device *idev;
	struct mock_device *mdev;
};

static void mock_binding_destroy(struct iommufd_object *obj)
{
	struct mock_binding *bound = container_of(obj, struct mock_binding, base);

	if (bound->idev)
		iommufd_device_unbind(bound->idev);
	if (bound->mdev)
		mock_device_remove(bound->mdev);
}

const struct iommufd_kind_ops iommufd_mock_binding_ops = {
	.release = mock_binding_destroy,
};

static int mock_cmd_domain(struct iommufd_call *call,
			   struct iommu_test_cmd *cmd)
{
	u32 dev_flags = cmd->op == IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS ?
				cmd->mock_domain_flags.dev_flags : 0;
	struct mock_binding *bound;
	u32 pt_id = cmd->id, idev_id;
	int ret;

	if (dev_flags & ~MOCK_DEV_FLAGS)
		return -EINVAL;
	bound = iommufd_object_alloc(call->ctx, struct mock_binding,
				     IOMMUFD_KIND_SELFTEST);
	if (IS_ERR(bound))
		return PTR_ERR(bound);
	bound->ctx = call->ctx;
	bound->mdev = mock_device_new(dev_flags);
	if (IS_ERR(bound->mdev)) {
		ret = PTR_ERR(bound->mdev);
		bound->mdev = NULL;
		goto err_discard;
	}
	bound->idev = iommufd_device_bind(call->ctx, &bound->mdev->device,
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
	cmd->mock_domain.out_stdev_id = bound->base.nr;
	cmd->mock_domain.out_hwpt_id = pt_id;
	cmd->mock_domain.out_idev_id = idev_id;
	ret = iommufd_call_reply(call, sizeof(*cmd));
	if (ret)
		goto err_discard;
	iommufd_object_publish(call->ctx, &bound->base);
	return 0;

err_discard:
	iommufd_object_discard(call->ctx, &bound->base);
	return ret;
}

static int mock_cmd_domain_replace(struct iommufd_call *call,
				   struct iommu_test_cmd *cmd)
{
	u32 pt_id = cmd->mock_domain_replace.pt_id;
	struct mock_binding *bound;
	int ret;

	bound = iommufd_get_typed(call->ctx, cmd->id, IOMMUFD_KIND_SELFTEST,
				  struct mock_binding, base);
	if (IS_ERR(bound))
		return PTR_ERR(bound);
	ret = iommufd_device_replace(bound->idev, &pt_id);
	if (!ret) {
		cmd->mock_domain_replace.pt_id = pt_id;
		ret = iommufd_call_reply(call, sizeof(*cmd));
	}
	iommufd_obj_unref(call->ctx, &bound->base);
	return ret;
}

/*
 * The mock domain of paging HWPT @id, its HWPT held in *@hwpt (the caller
 * drops it with iommufd_obj_unref()).  Return: the domain, or
 * ERR_PTR(-ENOENT) for no paging HWPT and ERR_PTR(-EINVAL) for one whose
 * domain is not the mock's.
 */
static struct mock_domain *mock_get_domain(struct iommufd_call *call, u32 id,
					   struct iommufd_hwpt_paging **hwpt)
{
	struct iommufd_hwpt_paging *paging;

	paging = iommufd_get_hwpt_paging(call->ctx, id);
	if (IS_ERR(paging))
		return ERR_CAST(paging);
	if (paging->core.domain->ops != &mock_domain_ops) {
		iommufd_obj_unref(call->ctx, &paging->core.base);
		return ERR_PTR(-EINVAL);
	}
	*hwpt = paging;
	return to_mock_domain(paging->core.domain);
}

/* Does the mock HWPT @id map [iova, iova + length) to the user's memory? */
static int mock_cmd_check_map(struct iommufd_call *call,
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
	mock = mock_get_domain(call, cmd->id, &hwpt);
	if (IS_ERR(mock))
		return PTR_ERR(mock);
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
		if (mock_translate(&mock->domain, iova) != want) {
			ret = -EINVAL;
			break;
		}
	}
	iommufd_obj_unref(call->ctx, &hwpt->core.base);
	return ret;
}

/*
 * IOMMU_TEST_OP_DIRTY: the mock device writes to every IOVA whose bit is
 * set in the user's bitmap, which dirties the IOPTE mapping it if dirty
 * tracking is on.  Returns how many bits did so.
 */
static int mock_cmd_dirty(struct iommufd_call *call,
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
	mock = mock_get_domain(call, cmd->id, &hwpt);
	if (IS_ERR(mock))
		return PTR_ERR(mock);
	if (!mock->domain.dirty_ops) {
		ret = -EINVAL;
		goto out_put;
	}
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
		ret = iommufd_call_reply(call, sizeof(*cmd));
out_put:
	iommufd_obj_unref(call->ctx, &hwpt->core.base);
	return ret;
}

/* IOMMU_TEST_OP_MD_CHECK_IOTLB: does an entry of the fake IOTLB hold it */
static int mock_cmd_check_iotlb(struct iommufd_call *call,
				struct iommu_test_cmd *cmd)
{
	struct mock_nested_domain *nested;
	struct iommufd_hwpt_nested *hwpt;
	int ret = 0;

	if (cmd->check_iotlb.id > MOCK_NESTED_DOMAIN_IOTLB_ID_MAX)
		return -EINVAL;
	hwpt = iommufd_get_typed(call->ctx, cmd->id, IOMMUFD_KIND_HWPT_NESTED,
				 struct iommufd_hwpt_nested, core.base);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	if (hwpt->core.domain->ops != &mock_nested_ops) {
		ret = -EINVAL;
		goto out_put;
	}
	nested = to_mock_nested(hwpt->core.domain);
	if (nested->iotlb[cmd->check_iotlb.id] != cmd->check_iotlb.iotlb)
		ret = -EINVAL;
out_put:
	iommufd_obj_unref(call->ctx, &hwpt->core.base);
	return ret;
}

/* IOMMU_TEST_OP_MD_MSI_COOKIE: the MSI cookie of a paging HWPT's domain */
static int mock_cmd_msi_cookie(struct iommufd_call *call,
			       struct iommu_test_cmd *cmd)
{
	struct iommufd_hwpt_paging *hwpt;
	int ret;

	hwpt = iommufd_get_typed(call->ctx, cmd->id, IOMMUFD_KIND_HWPT_PAGING,
				 struct iommufd_hwpt_paging, core.base);
	if (IS_ERR(hwpt))
		return PTR_ERR(hwpt);
	mutex_lock(&hwpt->ioas->mutex);
	/* The core's word that a cookie exists, and ours of where */
	cmd->msi_cookie.out_has_cookie = !!hwpt->core.domain->iova_cookie;
	cmd->msi_cookie.out_iova = hwpt->msi_window == IOMMUFD_NO_MSI ?
					   0 : hwpt->msi_window;
	mutex_unlock(&hwpt->ioas->mutex);
	ret = iommufd_call_reply(call, sizeof(*cmd));
	iommufd_obj_unref(call->ctx, &hwpt->core.base);
	return ret;
}

/*
 * IOMMU_TEST_OP_MD_REFUSE_MAP: the next map call of paging HWPT @id's
 * mock domain that covers refuse_map.iova fails
 */
static int mock_cmd_refuse_map(struct iommufd_call *call,
			       struct iommu_test_cmd *cmd)
{
	struct iommufd_hwpt_paging *hwpt;
	struct mock_domain *mock;

	mock = mock_get_domain(call, cmd->id, &hwpt);
	if (IS_ERR(mock))
		return PTR_ERR(mock);
	WRITE_ONCE(mock->refuse_iova, cmd->refuse_map.iova);
	/* A map call that sees the arming sees the IOVA (mock_map_range()) */
	smp_store_release(&mock->refuse_armed, true);
	iommufd_obj_unref(call->ctx, &hwpt->core.base);
	return 0;
}

/* The state of an IOMMU_TEST_OP_IOVA_BITMAP walk */
struct mock_bitmap_walk {
	struct iommu_test_bitmap_range ranges[MOCK_BITMAP_RANGES];
	unsigned int nranges;
	unsigned int window;
	unsigned int fail_window;
};

/* One window of the walk: every range is set again, as a driver might */
static int mock_bitmap_window(struct iova_bitmap *bitmap, unsigned long iova,
			      size_t length, void *opaque)
{
	struct mock_bitmap_walk *walk = opaque;
	unsigned int i;

	if (++walk->window == walk->fail_window)
		return -EIO;
	for (i = 0; i != walk->nranges; i++)
		iova_bitmap_set(bitmap, walk->ranges[i].iova,
				walk->ranges[i].length);
	return 0;
}

/*
 * IOMMU_TEST_OP_IOVA_BITMAP: the iova_bitmap API driven with the user's
 * arguments as they are, which no ioctl of ours passes unchecked
 */
static int mock_cmd_iova_bitmap(struct iommu_test_cmd *cmd)
{
	struct mock_bitmap_walk walk = {
		.nranges = cmd->iova_bitmap.nranges,
		.fail_window = cmd->iova_bitmap.fail_window,
	};
	struct iova_bitmap *bitmap;
	int ret;

	if (walk.nranges > ARRAY_SIZE(walk.ranges))
		return -EINVAL;
	if (copy_from_user(walk.ranges,
			   u64_to_user_ptr(cmd->iova_bitmap.ranges),
			   walk.nranges * sizeof(walk.ranges[0])))
		return -EFAULT;
	bitmap = iova_bitmap_alloc(cmd->iova_bitmap.iova,
				   cmd->iova_bitmap.length,
				   cmd->iova_bitmap.page_size,
				   u64_to_user_ptr(cmd->iova_bitmap.uptr));
	if (IS_ERR(bitmap))
		return PTR_ERR(bitmap);
	ret = iova_bitmap_for_each(bitmap, &walk, mock_bitmap_window);
	iova_bitmap_free(bitmap);
	return ret;
}

/* IOMMU_TEST_OP_TRIGGER_IOPF: the mock device takes one IO page fault */
static int mock_cmd_trigger_iopf(struct iommufd_call *call,
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

	idev = iommufd_get_typed(call->ctx, cmd->trigger_iopf.dev_id,
				 IOMMUFD_KIND_DEVICE, struct iommufd_device,
				 base);
	if (IS_ERR(idev))
		return PTR_ERR(idev);
	/*
	 * A fault nobody handles (no fault queue on the device's HWPT) is
	 * dropped, not an error of the command: the test ABI reports 0.
	 */
	if (iommufd_dev_is_mock(idev->dev)) {
		down_read(&mock_iopf_sem);
		iommu_report_device_fault(idev->dev, &event);
		up_read(&mock_iopf_sem);
		ret = 0;
	} else {
		ret = -EINVAL;
	}
	iommufd_obj_unref(call->ctx, &idev->base);
	return ret;
}

/* Mock in-kernel accesses */

struct mock_accessor {
	struct iommufd_access *access;
	bool pins;		/* made with MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES */
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

	/* The test ABI's errno for a descriptor that is not an access */
	if (!file)
		return ERR_PTR(-EBADFD);
	if (file->f_op != &mock_accessor_fops) {
		fput(file);
		return ERR_PTR(-EBADFD);
	}
	*filep = file;
	return file->private_data;
}

static int mock_cmd_create_access(struct iommufd_call *call,
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
	acc->pins = cmd->create_access.flags &
		    MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES;
	ops = acc->pins ? &mock_accessor_pin_ops : &mock_accessor_rw_ops;
	acc->access = iommufd_access_create(call->ctx, ops, acc,
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
	ret = iommufd_call_reply(call, sizeof(*cmd));
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

static int mock_cmd_access_pages(struct iommufd_call *call,
				 struct iommu_test_cmd *cmd)
{
	unsigned long npages = cmd->access_pages.length >> PAGE_SHIFT;
	unsigned long iova = cmd->access_pages.iova;
	struct mock_access_pin *item;
	struct mock_accessor *acc;
	struct page **pages;
	struct file *file;
	int ret;

	/* The test ABI's order: size, flags, the access, what it can do */
	if (cmd->access_pages.length > SZ_16M)
		return -ENOMEM;
	if (cmd->access_pages.flags &
	    ~(MOCK_FLAGS_ACCESS_WRITE | MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	acc = mock_accessor_from_fd(cmd->id, &file);
	if (IS_ERR(acc))
		return PTR_ERR(acc);
	if (!acc->pins) {
		fput(file);
		return -EOPNOTSUPP;
	}
	if (cmd->access_pages.flags & MOCK_FLAGS_ACCESS_SYZ)
		iova = iommufd_access_syz_iova(acc->access, iova);
	pages = kvcalloc(max(npages, 1UL), sizeof(*pages),
			 GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	item = kzalloc(sizeof(*item), GFP_KERNEL_ACCOUNT);
	if (!pages || !item) {
		ret = -ENOMEM;
		goto out_free;
	}

	mutex_lock(&acc->lock);
	ret = iommufd_access_pin_pages(acc->access, iova,
				       cmd->access_pages.length, pages,
				       (cmd->access_pages.flags &
					MOCK_FLAGS_ACCESS_WRITE) ?
					       IOMMUFD_ACCESS_RW_WRITE : 0);
	if (ret)
		goto out_unlock;
	item->iova = iova;
	item->length = cmd->access_pages.length;
	item->id = ++acc->next_id;
	list_add_tail(&item->link, &acc->items);
	/* The test ABI: no user address, no comparison (for syzkaller) */
	if (cmd->access_pages.uptr)
		ret = mock_check_pages(pages, npages,
				       cmd->access_pages.uptr);
	if (!ret) {
		cmd->access_pages.out_access_pages_id = item->id;
		ret = iommufd_call_reply(call, sizeof(*cmd));
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

static int mock_cmd_unpin_access_pages(struct iommu_test_cmd *cmd)
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

static int mock_cmd_access_rw(struct iommu_test_cmd *cmd)
{
	unsigned long iova = cmd->access_rw.iova;
	unsigned int flags = 0;
	struct mock_accessor *acc;
	struct file *file;
	void *buf;
	int ret;

	/* The test ABI's order: size, flags, the access, then the rest */
	if (cmd->access_rw.length > SZ_16M)
		return -ENOMEM;
	if (cmd->access_rw.flags &
	    ~(MOCK_ACCESS_RW_WRITE | MOCK_ACCESS_RW_SLOW_PATH |
	      MOCK_FLAGS_ACCESS_SYZ))
		return -EOPNOTSUPP;
	if (cmd->access_rw.flags & MOCK_ACCESS_RW_WRITE)
		flags |= IOMMUFD_ACCESS_RW_WRITE;
	if (cmd->access_rw.flags & MOCK_ACCESS_RW_SLOW_PATH)
		flags |= __IOMMUFD_ACCESS_RW_SLOW_PATH;
	acc = mock_accessor_from_fd(cmd->id, &file);
	if (IS_ERR(acc))
		return PTR_ERR(acc);
	if (!cmd->access_rw.length) {
		ret = -EINVAL;
		goto out_put;
	}
	if (cmd->access_rw.flags & MOCK_FLAGS_ACCESS_SYZ)
		iova = iommufd_access_syz_iova(acc->access, iova);
	buf = kvzalloc(cmd->access_rw.length, GFP_KERNEL_ACCOUNT);
	if (!buf) {
		ret = -ENOMEM;
		goto out_put;
	}
	if (flags & IOMMUFD_ACCESS_RW_WRITE) {
		ret = copy_from_user(buf, u64_to_user_ptr(cmd->access_rw.uptr),
				     cmd->access_rw.length) ? -EFAULT : 0;
		if (!ret)
			ret = iommufd_access_rw(acc->access, iova, buf,
						cmd->access_rw.length, flags);
	} else {
		ret = iommufd_access_rw(acc->access, iova, buf,
					cmd->access_rw.length, flags);
		if (!ret && copy_to_user(u64_to_user_ptr(cmd->access_rw.uptr),
					 buf, cmd->access_rw.length))
			ret = -EFAULT;
	}
	kvfree(buf);
out_put:
	fput(file);
	return ret;
}

static int mock_cmd_access_replace_ioas(struct iommu_test_cmd *cmd)
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

/* IOMMU_TEST_OP_ACCESS_CALL: see iommufd_test.h */
static int mock_cmd_access_call(struct iommu_test_cmd *cmd)
{
	unsigned long iova = cmd->access_call.iova;
	size_t length = cmd->access_call.length;
	struct mock_access_pin *item, *next;
	struct page **pages = NULL;
	struct mock_accessor *acc;
	struct file *file;
	void *buf = NULL;
	int ret;

	acc = mock_accessor_from_fd(cmd->id, &file);
	if (IS_ERR(acc))
		return PTR_ERR(acc);
	mutex_lock(&acc->lock);
	switch (cmd->access_call.call) {
	case MOCK_ACCESS_CALL_PIN:
		ret = -ENOMEM;
		if (length > MOCK_ACCESS_CALL_PAGES * PAGE_SIZE)
			break;
		pages = kcalloc(MOCK_ACCESS_CALL_PAGES, sizeof(*pages),
				GFP_KERNEL);
		if (!pages)
			break;
		ret = iommufd_access_pin_pages(acc->access, iova, length,
					       pages, 0);
		if (!ret)
			iommufd_access_unpin_pages(acc->access, iova, length);
		break;
	case MOCK_ACCESS_CALL_RW:
		ret = -ENOMEM;
		if (length > SZ_16M)
			break;
		buf = kvzalloc(max_t(size_t, length, 1), GFP_KERNEL_ACCOUNT);
		if (!buf)
			break;
		ret = iommufd_access_rw(acc->access, iova, buf, length, 0);
		break;
	case MOCK_ACCESS_CALL_ATTACH:
		ret = iommufd_access_attach(acc->access,
					    cmd->access_call.ioas_id);
		break;
	case MOCK_ACCESS_CALL_DETACH:
		/* The owner's part of the contract: no pin outlives it */
		list_for_each_entry_safe(item, next, &acc->items, link)
			mock_accessor_drop_pin(acc, item);
		iommufd_access_detach(acc->access);
		ret = 0;
		break;
	default:
		ret = -EOPNOTSUPP;
		break;
	}
	mutex_unlock(&acc->lock);
	kvfree(buf);
	kfree(pages);
	fput(file);
	return ret;
}

/**
 * iommufd_test() - ioctl(IOMMU_TEST_CMD)
 * @call: the command
 *
 * Context: Process context.
 * Return: the operation's result; -EOPNOTSUPP for an operation of the mock
 * driver, which does not exist yet.
 */
int iommufd_test(struct iommufd_call *call)
{
	struct iommu_test_cmd *cmd = call->kbuf;

	switch (cmd->op) {
	/* Mock devices and their domains */
	case IOMMU_TEST_OP_MOCK_DOMAIN:
	case IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS:
		return mock_cmd_domain(call, cmd);
	case IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE:
		return mock_cmd_domain_replace(call, cmd);
	case IOMMU_TEST_OP_MD_CHECK_MAP:
		return mock_cmd_check_map(call, cmd);
	case IOMMU_TEST_OP_MD_CHECK_IOTLB:
		return mock_cmd_check_iotlb(call, cmd);
	case IOMMU_TEST_OP_DIRTY:
		return mock_cmd_dirty(call, cmd);
	case IOMMU_TEST_OP_TRIGGER_IOPF:
		return mock_cmd_trigger_iopf(call, cmd);
	case IOMMU_TEST_OP_MD_MSI_COOKIE:
		return mock_cmd_msi_cookie(call, cmd);
	case IOMMU_TEST_OP_MD_REFUSE_MAP:
		return mock_cmd_refuse_map(call, cmd);
	case IOMMU_TEST_OP_IOVA_BITMAP:
		return mock_cmd_iova_bitmap(cmd);
	/* In-kernel accesses */
	case IOMMU_TEST_OP_CREATE_ACCESS:
		return mock_cmd_create_access(call, cmd);
	case IOMMU_TEST_OP_ACCESS_REPLACE_IOAS:
		return mock_cmd_access_replace_ioas(cmd);
	case IOMMU_TEST_OP_ACCESS_PAGES:
		return mock_cmd_access_pages(call, cmd);
	case IOMMU_TEST_OP_DESTROY_ACCESS_PAGES:
		return mock_cmd_unpin_access_pages(cmd);
	case IOMMU_TEST_OP_ACCESS_RW:
		return mock_cmd_access_rw(cmd);
	case IOMMU_TEST_OP_ACCESS_CALL:
		return mock_cmd_access_call(cmd);
	/* The IOAS and the page store */
	case IOMMU_TEST_OP_ADD_RESERVED:
		return mock_cmd_add_reserved(call, cmd);
	case IOMMU_TEST_OP_MD_CHECK_REFS:
		return mock_cmd_check_refs(cmd);
	case IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT:
		iommufd_test_memory_limit = cmd->memory_limit.limit;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

int iommufd_mock_init(void)
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

void iommufd_mock_exit(void)
{
	iommu_device_unregister_bus(&mock_iommu, &iommufd_mock_bus_type,
				    &mock_iommu_nb);
	iommu_device_sysfs_remove(&mock_iommu);
	bus_unregister(&iommufd_mock_bus_type);
	iopf_queue_free(mock_iopf_queue);
	debugfs_remove_recursive(fail_iommufd_dir);
}
