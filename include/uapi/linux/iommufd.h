/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * IOMMUFD: the /dev/iommu user API.
 *
 * Conventions shared by every command below:
 *
 * - Each command is _IO(IOMMUFD_TYPE, n) and takes a pointer to a struct
 *   whose first __u32 is @size, the number of bytes user space passes.  A
 *   struct may grow at its end in later kernels: a @size smaller than the
 *   struct's first release is EINVAL, bytes beyond what this kernel knows
 *   must be zero (else E2BIG), and fields user space did not pass read as
 *   zero.  Outputs are written back up to @size.
 * - A flag or a reserved field this kernel does not understand gives
 *   EOPNOTSUPP; an object id that names nothing of the right type gives
 *   ENOENT; arithmetic that would overflow gives EOVERFLOW.
 * - Object ids are per file descriptor, never 0.
 *
 * The layouts are fixed ABI and match Linux 6.12, with the GET_HW_INFO
 * input-type form of later kernels added in reserved space.
 */
#ifndef _UAPI_IOMMUFD_H
#define _UAPI_IOMMUFD_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define IOMMUFD_TYPE (';')

enum {
	IOMMUFD_CMD_BASE = 0x80,
	IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE,
	IOMMUFD_CMD_IOAS_ALLOC = 0x81,
	IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 0x82,
	IOMMUFD_CMD_IOAS_COPY = 0x83,
	IOMMUFD_CMD_IOAS_IOVA_RANGES = 0x84,
	IOMMUFD_CMD_IOAS_MAP = 0x85,
	IOMMUFD_CMD_IOAS_UNMAP = 0x86,
	IOMMUFD_CMD_OPTION = 0x87,
	IOMMUFD_CMD_VFIO_IOAS = 0x88,
	IOMMUFD_CMD_HWPT_ALLOC = 0x89,
	IOMMUFD_CMD_GET_HW_INFO = 0x8a,
	IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 0x8b,
	IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 0x8c,
	IOMMUFD_CMD_HWPT_INVALIDATE = 0x8d,
	IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 0x8e,
	IOMMUFD_CMD_IOAS_MAP_FILE = 0x8f,
	IOMMUFD_CMD_IOAS_CHANGE_PROCESS = 0x92,
};

/**
 * struct iommu_destroy - ioctl(IOMMU_DESTROY)
 * @size: sizeof(struct iommu_destroy)
 * @id: the object to destroy
 *
 * Destroys any object by id.  Fails with EBUSY while another object, an
 * attached device or a kernel user still depends on it.
 */
struct iommu_destroy {
	__u32 size;
	__u32 id;
};

#define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)

/**
 * struct iommu_ioas_alloc - ioctl(IOMMU_IOAS_ALLOC)
 * @size: sizeof(struct iommu_ioas_alloc)
 * @flags: must be 0
 * @out_ioas_id: id of the new, empty IO address space
 */
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};

#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)

/**
 * struct iommu_iova_range - an inclusive range of IOVA
 * @start: first IOVA of the range
 * @last: last IOVA of the range (inclusive)
 */
struct iommu_iova_range {
	__aligned_u64 start;
	__aligned_u64 last;
};

/**
 * struct iommu_ioas_iova_ranges - ioctl(IOMMU_IOAS_IOVA_RANGES)
 * @size: sizeof(struct iommu_ioas_iova_ranges)
 * @ioas_id: the IOAS to query
 * @num_iovas: in: room in @allowed_iovas; out: ranges that exist
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range
 * @out_iova_alignment: the alignment every mapping's IOVA and length need
 *
 * Reports the IOVA that mappings may use now: the allowed ranges less the
 * reserved ones and outside every attached domain's aperture.  When more
 * ranges exist than @num_iovas has room for, the call writes @num_iovas
 * with the count needed and fails with EMSGSIZE.  The answer can change
 * whenever devices are attached or detached.
 */
struct iommu_ioas_iova_ranges {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
	__aligned_u64 out_iova_alignment;
};

#define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)

/**
 * struct iommu_ioas_allow_iovas - ioctl(IOMMU_IOAS_ALLOW_IOVAS)
 * @size: sizeof(struct iommu_ioas_allow_iovas)
 * @ioas_id: the IOAS to restrict
 * @num_iovas: number of entries in @allowed_iovas
 * @__reserved: must be 0
 * @allowed_iovas: user pointer to an array of struct iommu_iova_range
 *
 * Replaces the set of IOVA ranges that automatic allocation may use and
 * that attachments must keep usable.  An empty set allows everything.
 * Fails with EBUSY if an existing mapping or a reserved range conflicts.
 */
struct iommu_ioas_allow_iovas {
	__u32 size;
	__u32 ioas_id;
	__u32 num_iovas;
	__u32 __reserved;
	__aligned_u64 allowed_iovas;
};

#define IOMMU_IOAS_ALLOW_IOVAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS)

/**
 * enum iommufd_ioas_map_flags - flags of IOAS_MAP and IOAS_COPY
 * @IOMMU_IOAS_MAP_FIXED_IOVA: use the given IOVA instead of choosing one
 * @IOMMU_IOAS_MAP_WRITEABLE: devices may write the memory
 * @IOMMU_IOAS_MAP_READABLE: devices may read the memory
 */
enum iommufd_ioas_map_flags {
	IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0,
	IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
	IOMMU_IOAS_MAP_READABLE = 1 << 2,
};

/**
 * struct iommu_ioas_map - ioctl(IOMMU_IOAS_MAP)
 * @size: sizeof(struct iommu_ioas_map)
 * @flags: enum iommufd_ioas_map_flags; READABLE or WRITEABLE is required
 * @ioas_id: the IOAS to map into
 * @__reserved: must be 0
 * @user_va: start of the process memory to map
 * @length: bytes to map
 * @iova: in with FIXED_IOVA: where to map; out: where it was mapped
 *
 * Pins the memory and maps it into every domain attached to the IOAS.
 * @user_va, @length and @iova must be aligned to the IOAS's alignment.
 */
struct iommu_ioas_map {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__u32 __reserved;
	__aligned_u64 user_va;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)

/**
 * struct iommu_ioas_map_file - ioctl(IOMMU_IOAS_MAP_FILE)
 * @size: sizeof(struct iommu_ioas_map_file)
 * @flags: enum iommufd_ioas_map_flags; READABLE or WRITEABLE is required
 * @ioas_id: the IOAS to map into
 * @fd: a memfd (shmem or hugetlbfs) whose memory to map
 * @start: byte offset in the file of the first byte to map
 * @length: bytes to map
 * @iova: in with FIXED_IOVA: where to map; out: where it was mapped
 *
 * Like IOMMU_IOAS_MAP, but the memory is named by file offset: its folios
 * are pinned from the file, whatever the caller's page tables map.
 */
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE)

/**
 * struct iommu_ioas_change_process - ioctl(IOMMU_IOAS_CHANGE_PROCESS)
 * @size: sizeof(struct iommu_ioas_change_process)
 * @__reserved: must be 0
 *
 * Makes the calling process the owner of every mapping of the context:
 * their pinned memory is charged to it from now on, and uncharged from the
 * process that made them.  Only file-backed mappings (IOMMU_IOAS_MAP_FILE)
 * can move; with any other mapping present nothing moves.
 */
struct iommu_ioas_change_process {
	__u32 size;
	__u32 __reserved;
};

#define IOMMU_IOAS_CHANGE_PROCESS \
	_IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS)

/**
 * struct iommu_ioas_copy - ioctl(IOMMU_IOAS_COPY)
 * @size: sizeof(struct iommu_ioas_copy)
 * @flags: enum iommufd_ioas_map_flags
 * @dst_ioas_id: the IOAS to map into
 * @src_ioas_id: the IOAS whose mapping supplies the pages
 * @length: bytes to copy
 * @dst_iova: in with FIXED_IOVA: where to map; out: where it was mapped
 * @src_iova: start of the source range; it must be fully mapped
 *
 * Maps pages already pinned by @src_ioas_id into @dst_ioas_id without
 * pinning or charging them again.
 */
struct iommu_ioas_copy {
	__u32 size;
	__u32 flags;
	__u32 dst_ioas_id;
	__u32 src_ioas_id;
	__aligned_u64 length;
	__aligned_u64 dst_iova;
	__aligned_u64 src_iova;
};

#define IOMMU_IOAS_COPY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY)

/**
 * struct iommu_ioas_unmap - ioctl(IOMMU_IOAS_UNMAP)
 * @size: sizeof(struct iommu_ioas_unmap)
 * @ioas_id: the IOAS to unmap from
 * @iova: start of the range
 * @length: in: bytes of the range; out: bytes actually unmapped
 *
 * Removes every mapping inside the range.  A mapping that crosses either
 * end of the range is not split: the call fails.  @iova 0 with @length
 * U64_MAX removes everything.
 */
struct iommu_ioas_unmap {
	__u32 size;
	__u32 ioas_id;
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)

/**
 * enum iommufd_option - options of ioctl(IOMMU_OPTION)
 * @IOMMU_OPTION_RLIMIT_MODE: per file descriptor, object_id 0.  0 charges
 *	pinned pages to the user's locked_vm (the /dev/iommu default); 1
 *	charges the process's pinned_vm like VFIO type1.  Setting it needs
 *	CAP_SYS_RESOURCE and is only possible before anything is pinned.
 * @IOMMU_OPTION_HUGE_PAGES: per IOAS.  1 (default) lets domains use large
 *	IO page table entries; 0 maps PAGE_SIZE entries only (type1 v1).
 */
enum iommufd_option {
	IOMMU_OPTION_RLIMIT_MODE = 0,
	IOMMU_OPTION_HUGE_PAGES = 1,
};

/**
 * enum iommufd_option_ops - what ioctl(IOMMU_OPTION) does
 * @IOMMU_OPTION_OP_SET: write @val64 to the option
 * @IOMMU_OPTION_OP_GET: read the option into @val64
 */
enum iommufd_option_ops {
	IOMMU_OPTION_OP_SET = 0,
	IOMMU_OPTION_OP_GET = 1,
};

/**
 * struct iommu_option - ioctl(IOMMU_OPTION)
 * @size: sizeof(struct iommu_option)
 * @option_id: enum iommufd_option
 * @op: enum iommufd_option_ops
 * @__reserved: must be 0
 * @object_id: the object the option belongs to, 0 for the file
 * @val64: the value to set, or the value read
 */
struct iommu_option {
	__u32 size;
	__u32 option_id;
	__u16 op;
	__u16 __reserved;
	__u32 object_id;
	__aligned_u64 val64;
};

#define IOMMU_OPTION _IO(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION)

/**
 * enum iommufd_vfio_ioas_op - what ioctl(IOMMU_VFIO_IOAS) does
 * @IOMMU_VFIO_IOAS_GET: return the compat IOAS, creating it if needed
 * @IOMMU_VFIO_IOAS_SET: make @ioas_id the compat IOAS
 * @IOMMU_VFIO_IOAS_CLEAR: forget the compat IOAS
 */
enum iommufd_vfio_ioas_op {
	IOMMU_VFIO_IOAS_GET = 0,
	IOMMU_VFIO_IOAS_SET = 1,
	IOMMU_VFIO_IOAS_CLEAR = 2,
};

/**
 * struct iommu_vfio_ioas - ioctl(IOMMU_VFIO_IOAS)
 * @size: sizeof(struct iommu_vfio_ioas)
 * @ioas_id: in for SET, out for GET
 * @op: enum iommufd_vfio_ioas_op
 * @__reserved: must be 0
 *
 * The compat IOAS is the one the VFIO container ioctls and the VFIO group
 * path operate on.
 */
struct iommu_vfio_ioas {
	__u32 size;
	__u32 ioas_id;
	__u16 op;
	__u16 __reserved;
};

#define IOMMU_VFIO_IOAS _IO(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS)

/**
 * enum iommufd_hwpt_alloc_flags - flags of ioctl(IOMMU_HWPT_ALLOC)
 * @IOMMU_HWPT_ALLOC_NEST_PARENT: the paging HWPT may parent nested HWPTs
 * @IOMMU_HWPT_ALLOC_DIRTY_TRACKING: the HWPT must support dirty tracking
 * @IOMMU_HWPT_FAULT_ID_VALID: @fault_id names a fault queue for IO page
 *	faults of this HWPT
 */
enum iommufd_hwpt_alloc_flags {
	IOMMU_HWPT_ALLOC_NEST_PARENT = 1 << 0,
	IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 1 << 1,
	IOMMU_HWPT_FAULT_ID_VALID = 1 << 2,
};

/**
 * enum iommu_hwpt_vtd_s1_flags - flags of an Intel VT-d stage-1 table
 * @IOMMU_VTD_S1_SRE: supervisor requests
 * @IOMMU_VTD_S1_EAFE: extended access flag
 * @IOMMU_VTD_S1_WPE: write protect
 */
enum iommu_hwpt_vtd_s1_flags {
	IOMMU_VTD_S1_SRE = 1 << 0,
	IOMMU_VTD_S1_EAFE = 1 << 1,
	IOMMU_VTD_S1_WPE = 1 << 2,
};

/**
 * struct iommu_hwpt_vtd_s1 - Intel VT-d stage-1 page table (nested HWPT data)
 * @flags: enum iommu_hwpt_vtd_s1_flags
 * @pgtbl_addr: guest physical address of the stage-1 table
 * @addr_width: input address width of the stage-1 table
 * @__reserved: must be 0
 */
struct iommu_hwpt_vtd_s1 {
	__aligned_u64 flags;
	__aligned_u64 pgtbl_addr;
	__u32 addr_width;
	__u32 __reserved;
};

/**
 * enum iommu_hwpt_data_type - format of IOMMU_HWPT_ALLOC driver data
 * @IOMMU_HWPT_DATA_NONE: no data, a paging HWPT
 * @IOMMU_HWPT_DATA_VTD_S1: struct iommu_hwpt_vtd_s1, a nested HWPT
 */
enum iommu_hwpt_data_type {
	IOMMU_HWPT_DATA_NONE = 0,
	IOMMU_HWPT_DATA_VTD_S1 = 1,
};

/**
 * struct iommu_hwpt_alloc - ioctl(IOMMU_HWPT_ALLOC)
 * @size: sizeof(struct iommu_hwpt_alloc)
 * @flags: enum iommufd_hwpt_alloc_flags
 * @dev_id: the device the HWPT must be compatible with
 * @pt_id: an IOAS (paging HWPT) or a nest-parent paging HWPT (nested HWPT)
 * @out_hwpt_id: id of the new HWPT
 * @__reserved: must be 0
 * @data_type: enum iommu_hwpt_data_type
 * @data_len: bytes at @data_uptr
 * @data_uptr: user pointer to the driver data
 * @fault_id: with IOMMU_HWPT_FAULT_ID_VALID, the fault queue to report to
 * @__reserved2: must be 0
 *
 * A paging HWPT made from an IOAS is filled with, and follows, the IOAS's
 * mappings.  A nested HWPT is a user-managed table translated through its
 * parent.
 */
struct iommu_hwpt_alloc {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 pt_id;
	__u32 out_hwpt_id;
	__u32 __reserved;
	__u32 data_type;
	__u32 data_len;
	__aligned_u64 data_uptr;
	__u32 fault_id;
	__u32 __reserved2;
};

#define IOMMU_HWPT_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC)

/**
 * enum iommu_hw_info_vtd_flags - flags of struct iommu_hw_info_vtd
 * @IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: stage-1 read-only entries are
 *	not usable on this hardware (erratum 772415)
 */
enum iommu_hw_info_vtd_flags {
	IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1 << 0,
};

/**
 * struct iommu_hw_info_vtd - Intel VT-d hardware information
 * @flags: enum iommu_hw_info_vtd_flags
 * @__reserved: must be 0
 * @cap_reg: the unit's capability register
 * @ecap_reg: the unit's extended capability register
 */
struct iommu_hw_info_vtd {
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 cap_reg;
	__aligned_u64 ecap_reg;
};

/**
 * enum iommu_hw_info_type - format of the IOMMU_GET_HW_INFO blob
 * @IOMMU_HW_INFO_TYPE_NONE: the driver reports no blob
 * @IOMMU_HW_INFO_TYPE_DEFAULT: as input, "whatever the driver reports"
 * @IOMMU_HW_INFO_TYPE_INTEL_VTD: struct iommu_hw_info_vtd
 */
enum iommu_hw_info_type {
	IOMMU_HW_INFO_TYPE_NONE = 0,
	IOMMU_HW_INFO_TYPE_DEFAULT = 0,
	IOMMU_HW_INFO_TYPE_INTEL_VTD = 1,
};

/**
 * enum iommufd_hw_capabilities - bits of @out_capabilities
 * @IOMMU_HW_CAP_DIRTY_TRACKING: the IOMMU can track dirty IOVA
 * @IOMMU_HW_CAP_PCI_PASID_EXEC: the device's PASID supports execute requests
 * @IOMMU_HW_CAP_PCI_PASID_PRIV: the device's PASID supports privileged mode
 */
enum iommufd_hw_capabilities {
	IOMMU_HW_CAP_DIRTY_TRACKING = 1 << 0,
	IOMMU_HW_CAP_PCI_PASID_EXEC = 1 << 1,
	IOMMU_HW_CAP_PCI_PASID_PRIV = 1 << 2,
};

/**
 * enum iommufd_hw_info_flags - flags of ioctl(IOMMU_GET_HW_INFO)
 * @IOMMU_HW_INFO_FLAG_INPUT_TYPE: @in_data_type names the blob format
 *	wanted; without it the driver's own format is reported
 */
enum iommufd_hw_info_flags {
	IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0,
};

/**
 * struct iommu_hw_info - ioctl(IOMMU_GET_HW_INFO)
 * @size: sizeof(struct iommu_hw_info)
 * @flags: enum iommufd_hw_info_flags
 * @dev_id: the device to query
 * @data_len: in: room at @data_uptr; out: bytes the driver's blob has
 * @data_uptr: user pointer to the blob buffer; the part of it beyond the
 *	blob is zeroed
 * @in_data_type: with IOMMU_HW_INFO_FLAG_INPUT_TYPE, the wanted format
 * @out_data_type: enum iommu_hw_info_type of the blob written
 * @out_max_pasid_log2: log2 of the device's PASID space, 0 without PASID
 * @__reserved: must be 0
 * @out_capabilities: enum iommufd_hw_capabilities
 */
struct iommu_hw_info {
	__u32 size;
	__u32 flags;
	__u32 dev_id;
	__u32 data_len;
	__aligned_u64 data_uptr;
	union {
		__u32 in_data_type;
		__u32 out_data_type;
	};
	__u8 out_max_pasid_log2;
	__u8 __reserved[3];
	__aligned_u64 out_capabilities;
};

#define IOMMU_GET_HW_INFO _IO(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO)

/**
 * enum iommufd_hwpt_set_dirty_tracking_flags - flags of SET_DIRTY_TRACKING
 * @IOMMU_HWPT_DIRTY_TRACKING_ENABLE: enable; without it, disable
 */
enum iommufd_hwpt_set_dirty_tracking_flags {
	IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1,
};

/**
 * struct iommu_hwpt_set_dirty_tracking - ioctl(IOMMU_HWPT_SET_DIRTY_TRACKING)
 * @size: sizeof(struct iommu_hwpt_set_dirty_tracking)
 * @flags: enum iommufd_hwpt_set_dirty_tracking_flags
 * @hwpt_id: a paging HWPT allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING
 * @__reserved: must be 0
 */
struct iommu_hwpt_set_dirty_tracking {
	__u32 size;
	__u32 flags;
	__u32 hwpt_id;
	__u32 __reserved;
};

#define IOMMU_HWPT_SET_DIRTY_TRACKING _IO(IOMMUFD_TYPE, \
					  IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING)

/**
 * enum iommufd_hwpt_get_dirty_bitmap_flags - flags of GET_DIRTY_BITMAP
 * @IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR: report without clearing
 */
enum iommufd_hwpt_get_dirty_bitmap_flags {
	IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1,
};

/**
 * struct iommu_hwpt_get_dirty_bitmap - ioctl(IOMMU_HWPT_GET_DIRTY_BITMAP)
 * @size: sizeof(struct iommu_hwpt_get_dirty_bitmap)
 * @hwpt_id: the paging HWPT to read
 * @flags: enum iommufd_hwpt_get_dirty_bitmap_flags
 * @__reserved: must be 0
 * @iova: start of the range; aligned to @page_size
 * @length: bytes of the range; aligned to @page_size
 * @page_size: the IOVA each bit of the bitmap stands for, a power of two
 * @data: user pointer to the bitmap, bit 0 standing for @iova; bits are
 *	only ever set, never cleared, by the kernel
 */
struct iommu_hwpt_get_dirty_bitmap {
	__u32 size;
	__u32 hwpt_id;
	__u32 flags;
	__u32 __reserved;
	__aligned_u64 iova;
	__aligned_u64 length;
	__aligned_u64 page_size;
	__aligned_u64 data;
};

#define IOMMU_HWPT_GET_DIRTY_BITMAP _IO(IOMMUFD_TYPE, \
					IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP)

/**
 * enum iommu_hwpt_invalidate_data_type - format of invalidation entries
 * @IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: struct iommu_hwpt_vtd_s1_invalidate
 */
enum iommu_hwpt_invalidate_data_type {
	IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0,
};

/**
 * enum iommu_hwpt_vtd_s1_invalidate_flags - flags of a VT-d invalidation
 * @IOMMU_VTD_INV_FLAGS_LEAF: only leaf entries changed
 */
enum iommu_hwpt_vtd_s1_invalidate_flags {
	IOMMU_VTD_INV_FLAGS_LEAF = 1 << 0,
};

/**
 * struct iommu_hwpt_vtd_s1_invalidate - one VT-d stage-1 invalidation
 * @addr: first address; 4 KiB aligned
 * @npages: number of 4 KiB pages; U64_MAX with @addr 0 means everything
 * @flags: enum iommu_hwpt_vtd_s1_invalidate_flags
 * @__reserved: must be 0
 */
struct iommu_hwpt_vtd_s1_invalidate {
	__aligned_u64 addr;
	__aligned_u64 npages;
	__u32 flags;
	__u32 __reserved;
};

/**
 * struct iommu_hwpt_invalidate - ioctl(IOMMU_HWPT_INVALIDATE)
 * @size: sizeof(struct iommu_hwpt_invalidate)
 * @hwpt_id: a nested HWPT
 * @data_uptr: user pointer to an array of entries
 * @data_type: enum iommu_hwpt_invalidate_data_type
 * @entry_len: bytes of one entry
 * @entry_num: in: entries in the array; out: entries handled, also when
 *	the call fails part way
 * @__reserved: must be 0
 */
struct iommu_hwpt_invalidate {
	__u32 size;
	__u32 hwpt_id;
	__aligned_u64 data_uptr;
	__u32 data_type;
	__u32 entry_len;
	__u32 entry_num;
	__u32 __reserved;
};

#define IOMMU_HWPT_INVALIDATE _IO(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE)

/**
 * enum iommu_hwpt_pgfault_flags - flags of struct iommu_hwpt_pgfault
 * @IOMMU_PGFAULT_FLAGS_PASID_VALID: @pasid is meaningful
 * @IOMMU_PGFAULT_FLAGS_LAST_PAGE: the last fault of its group
 */
enum iommu_hwpt_pgfault_flags {
	IOMMU_PGFAULT_FLAGS_PASID_VALID = (1 << 0),
	IOMMU_PGFAULT_FLAGS_LAST_PAGE = (1 << 1),
};

/**
 * enum iommu_hwpt_pgfault_perm - the access that faulted
 * @IOMMU_PGFAULT_PERM_READ: read
 * @IOMMU_PGFAULT_PERM_WRITE: write
 * @IOMMU_PGFAULT_PERM_EXEC: instruction fetch
 * @IOMMU_PGFAULT_PERM_PRIV: privileged mode
 */
enum iommu_hwpt_pgfault_perm {
	IOMMU_PGFAULT_PERM_READ = (1 << 0),
	IOMMU_PGFAULT_PERM_WRITE = (1 << 1),
	IOMMU_PGFAULT_PERM_EXEC = (1 << 2),
	IOMMU_PGFAULT_PERM_PRIV = (1 << 3),
};

/**
 * struct iommu_hwpt_pgfault - one IO page fault, as read from a fault fd
 * @flags: enum iommu_hwpt_pgfault_flags
 * @dev_id: the faulting device
 * @pasid: the PASID, with IOMMU_PGFAULT_FLAGS_PASID_VALID
 * @grpid: the page request group
 * @perm: enum iommu_hwpt_pgfault_perm
 * @__reserved: must be 0
 * @addr: the faulting address
 * @length: bytes the fault covers, 0 if unknown
 * @cookie: quote it in the response to the group's last fault
 */
struct iommu_hwpt_pgfault {
	__u32 flags;
	__u32 dev_id;
	__u32 pasid;
	__u32 grpid;
	__u32 perm;
	__u32 __reserved;
	__aligned_u64 addr;
	__u32 length;
	__u32 cookie;
};

/**
 * enum iommufd_page_response_code - the answer to a fault group
 * @IOMMUFD_PAGE_RESP_SUCCESS: the fault was handled; retry the access
 * @IOMMUFD_PAGE_RESP_INVALID: the access is not possible
 */
enum iommufd_page_response_code {
	IOMMUFD_PAGE_RESP_SUCCESS = 0,
	IOMMUFD_PAGE_RESP_INVALID = 1,
};

/**
 * struct iommu_hwpt_page_response - a response, as written to a fault fd
 * @cookie: the cookie of the group's last fault
 * @code: enum iommufd_page_response_code
 */
struct iommu_hwpt_page_response {
	__u32 cookie;
	__u32 code;
};

/**
 * struct iommu_fault_alloc - ioctl(IOMMU_FAULT_QUEUE_ALLOC)
 * @size: sizeof(struct iommu_fault_alloc)
 * @flags: must be 0
 * @out_fault_id: id of the new fault queue
 * @out_fault_fd: a file to read faults from and write responses to
 */
struct iommu_fault_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_fault_id;
	__u32 out_fault_fd;
};

#define IOMMU_FAULT_QUEUE_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC)

#endif
