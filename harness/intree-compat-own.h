/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Only for IMPL=intree, force-included into our own tests: they use the
 * two commands added after 6.12 (upstream's numbers and layouts).  The
 * in-tree code answers them ENOTTY, and the tests that need them skip.
 */
#include <linux/iommufd.h>
#ifndef IOMMU_IOAS_MAP_FILE
struct iommu_ioas_map_file {
	__u32 size;
	__u32 flags;
	__u32 ioas_id;
	__s32 fd;
	__aligned_u64 start;
	__aligned_u64 length;
	__aligned_u64 iova;
};
#define IOMMU_IOAS_MAP_FILE _IO(IOMMUFD_TYPE, 0x8f)
#endif
#ifndef IOMMU_IOAS_CHANGE_PROCESS
struct iommu_ioas_change_process {
	__u32 size;
	__u32 __reserved;
};
#define IOMMU_IOAS_CHANGE_PROCESS _IO(IOMMUFD_TYPE, 0x92)
#endif
/* ... and the fuzzer the newer IOMMU_GET_HW_INFO input type */
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE (1 << 0)
#define in_data_type out_data_type
