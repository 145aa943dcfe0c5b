/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test ABI of CONFIG_IOMMUFD_TEST: IOMMU_TEST_CMD and the mock IOMMU
 * driver's constants.  The kselftests in tools/testing/selftests/iommu use
 * it, and so do the base kernel tree's own iommufd kselftests, so every
 * number and layout here is fixed: change none of them.
 */
#ifndef _UAPI_IOMMUFD_TEST_H
#define _UAPI_IOMMUFD_TEST_H

#include <linux/iommufd.h>
#include <linux/types.h>

/* Operations of IOMMU_TEST_CMD, in iommu_test_cmd.op */
enum {
	IOMMU_TEST_OP_ADD_RESERVED = 1,
	IOMMU_TEST_OP_MOCK_DOMAIN,
	IOMMU_TEST_OP_MD_CHECK_MAP,
	IOMMU_TEST_OP_MD_CHECK_REFS,
	IOMMU_TEST_OP_CREATE_ACCESS,
	IOMMU_TEST_OP_DESTROY_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_PAGES,
	IOMMU_TEST_OP_ACCESS_RW,
	IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT,
	IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
	IOMMU_TEST_OP_ACCESS_REPLACE_IOAS,
	IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
	IOMMU_TEST_OP_DIRTY,
	IOMMU_TEST_OP_MD_CHECK_IOTLB,
	IOMMU_TEST_OP_TRIGGER_IOPF,
};

/* Operations of our own, numbered apart from the base tree's */
enum {
	IOMMU_TEST_OP_MD_MSI_COOKIE = 0x100,
	IOMMU_TEST_OP_MD_REFUSE_MAP,
	IOMMU_TEST_OP_IOVA_BITMAP,
	IOMMU_TEST_OP_ACCESS_CALL,
};

/* access_call.call: the exported access function to call */
enum {
	MOCK_ACCESS_CALL_PIN,
	MOCK_ACCESS_CALL_RW,
	MOCK_ACCESS_CALL_ATTACH,
	MOCK_ACCESS_CALL_DETACH,
};

/* Most pages an access_call of MOCK_ACCESS_CALL_PIN may pin */
#define MOCK_ACCESS_CALL_PAGES 16

/* The IOVA aperture of a mock paging domain */
enum {
	MOCK_APERTURE_START = 1UL << 24,
	MOCK_APERTURE_LAST = (1UL << 31) - 1,
};

/* create_access.flags */
enum {
	MOCK_FLAGS_ACCESS_WRITE = 1 << 0,
	MOCK_FLAGS_ACCESS_SYZ = 1 << 16,
};

/* access_rw.flags */
enum {
	MOCK_ACCESS_RW_WRITE = 1 << 0,
	MOCK_ACCESS_RW_SLOW_PATH = 1 << 2,
};

/* create_access.flags: the access has no unmap callback of its own */
enum {
	MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES = 1 << 0,
};

/* mock_domain_flags.dev_flags */
enum {
	MOCK_FLAGS_DEVICE_NO_DIRTY = 1 << 0,
	MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,
	MOCK_FLAGS_DEVICE_PASID = 1 << 2,
};

/*
 * mock_domain_flags.dev_flags of our own, apart from the base tree's: the
 * reserved regions a mock device reports, one MOCK_RESV_LENGTH range each
 */
enum {
	MOCK_FLAGS_DEVICE_SW_MSI = 1 << 8,	/* IOMMU_RESV_SW_MSI */
	MOCK_FLAGS_DEVICE_SW_MSI_ALT = 1 << 9,	/* SW_MSI, elsewhere */
	MOCK_FLAGS_DEVICE_HW_MSI = 1 << 10,	/* IOMMU_RESV_MSI */
	MOCK_FLAGS_DEVICE_RESERVED = 1 << 11,	/* IOMMU_RESV_RESERVED */
	MOCK_FLAGS_DEVICE_RELAXABLE = 1 << 12,	/* IOMMU_RESV_DIRECT_RELAXABLE */
	/* Enabling IO page faults fails (-ENODEV), as on a device without PRI */
	MOCK_FLAGS_DEVICE_NO_IOPF = 1 << 13,
	/*
	 * Its DMA can be made to snoop (IOMMU_CAP_ENFORCE_CACHE_COHERENCY):
	 * a paging domain allocated for it enforces coherency
	 */
	MOCK_FLAGS_DEVICE_COHERENT = 1 << 14,
};

/* Where those regions are, inside the mock aperture */
enum {
	MOCK_RESV_LENGTH = 1UL << 20,
	MOCK_SW_MSI_BASE = 0x08000000,
	MOCK_SW_MSI_ALT_BASE = 0x09000000,
	MOCK_HW_MSI_BASE = 0x0a000000,
	MOCK_RESERVED_BASE = 0x0b000000,
	MOCK_RELAXABLE_BASE = 0x0c000000,
};

/* The fake IOTLB of a mock nested domain */
enum {
	MOCK_NESTED_DOMAIN_IOTLB_ID_MAX = 3,
	MOCK_NESTED_DOMAIN_IOTLB_NUM = 4,
};

/**
 * struct iommu_test_cmd - ioctl(IOMMU_TEST_CMD)
 * @size: sizeof(struct iommu_test_cmd)
 * @op: IOMMU_TEST_OP_*
 * @id: the object the operation applies to (an IOAS, HWPT, device...)
 * @__reserved: must be 0
 * @last: end marker; the union ends before it
 *
 * The union holds each operation's arguments and results.
 */
struct iommu_test_cmd {
	__u32 size;
	__u32 op;
	__u32 id;
	__u32 __reserved;
	union {
		struct {
			__aligned_u64 start;
			__aligned_u64 length;
		} add_reserved;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			/* out_idev_id is the standard iommufd_bind object */
			__u32 out_idev_id;
		} mock_domain;
		struct {
			__u32 out_stdev_id;
			__u32 out_hwpt_id;
			__u32 out_idev_id;
			/* Expand mock_domain to set mock device flags */
			__u32 dev_flags;
		} mock_domain_flags;
		struct {
			__u32 pt_id;
		} mock_domain_replace;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} check_map;
		struct {
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 refs;
		} check_refs;
		struct {
			__u32 out_access_fd;
			__u32 flags;
		} create_access;
		struct {
			__u32 access_pages_id;
		} destroy_access_pages;
		struct {
			__u32 flags;
			__u32 out_access_pages_id;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
		} access_pages;
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 uptr;
			__u32 flags;
		} access_rw;
		struct {
			__u32 limit;
		} memory_limit;
		struct {
			__u32 ioas_id;
		} access_replace_ioas;
		struct {
			__u32 flags;
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 out_nr_dirty;
		} dirty;
		struct {
			__u32 id;
			__u32 iotlb;
		} check_iotlb;
		struct {
			__u32 dev_id;
			__u32 pasid;
			__u32 grpid;
			__u32 perm;
			__u64 addr;
		} trigger_iopf;
		/*
		 * IOMMU_TEST_OP_MD_MSI_COOKIE of paging HWPT @id: does its
		 * domain have an MSI cookie, and at which IOVA
		 */
		struct {
			__u32 out_has_cookie;
			__u32 __reserved;
			__aligned_u64 out_iova;
		} msi_cookie;
		/*
		 * IOMMU_TEST_OP_MD_REFUSE_MAP of paging HWPT @id: its next
		 * map call covering @iova fails with -ENOMEM (once)
		 */
		struct {
			__aligned_u64 iova;
		} refuse_map;
		/*
		 * IOMMU_TEST_OP_IOVA_BITMAP: a walk of the user bitmap at
		 * @uptr over [@iova, @iova + @length) in pages of
		 * @page_size, as a driver's dirty report walks it.  In every
		 * window the walker sets the same @nranges ranges (struct
		 * iommu_test_bitmap_range at @ranges), and fails with -EIO
		 * in window number @fail_window (from 1; 0: never).
		 */
		struct {
			__aligned_u64 iova;
			__aligned_u64 length;
			__aligned_u64 page_size;
			__aligned_u64 uptr;
			__aligned_u64 ranges;
			__u32 nranges;
			__u32 fail_window;
		} iova_bitmap;
		/*
		 * IOMMU_TEST_OP_ACCESS_CALL on the access whose descriptor is
		 * @id: one of the exported access functions (@call) with
		 * the user's arguments as they are, which the other access
		 * operations check first.  A pin that succeeds is undone at
		 * once; a detach first drops the access's pins.
		 */
		struct {
			__u32 call;
			__u32 ioas_id;
			__aligned_u64 iova;
			__aligned_u64 length;
		} access_call;
	};
	__u32 last;
};

#define IOMMU_TEST_CMD _IO(IOMMUFD_TYPE, IOMMUFD_CMD_BASE + 32)

/* One dirty range of IOMMU_TEST_OP_IOVA_BITMAP; at most 4 per walk */
struct iommu_test_bitmap_range {
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define MOCK_BITMAP_RANGES 4

/* Width of the PASID space of a MOCK_FLAGS_DEVICE_PASID device */
#define MOCK_PASID_WIDTH 20

/* IOMMU_GET_HW_INFO on a mock device reports this type and blob */
#define IOMMU_HW_INFO_TYPE_SELFTEST 0xfeedbeef
#define IOMMU_HW_INFO_SELFTEST_REGVAL 0xdeadbeef

struct iommu_test_hw_info {
	__u32 flags;
	__u32 test_reg;
};

/* IOMMU_HWPT_ALLOC data of a mock nested domain */
#define IOMMU_HWPT_DATA_SELFTEST 0xdead
#define IOMMU_TEST_IOTLB_DEFAULT 0xbadbeef

struct iommu_hwpt_selftest {
	__u32 iotlb;
};

/* IOMMU_HWPT_INVALIDATE entries of a mock nested domain */
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST 0xdeadbeef
#define IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID 0xdadbeef

struct iommu_hwpt_invalidate_selftest {
#define IOMMU_TEST_INVALIDATE_FLAG_ALL 0x1
	__u32 flags;
	__u32 iotlb_id;
};

#endif
