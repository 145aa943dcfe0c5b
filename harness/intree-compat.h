/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Only for IMPL=intree: the base tree's kselftests use uAPI and test-ABI
 * names newer than its own 6.12.117 headers.  Supplying them here lets the
 * unmodified tests compile against the in-tree implementation, which then
 * fails exactly the tests that need those features.
 */
#include <linux/iommufd.h>
#define IOMMU_HW_INFO_TYPE_DEFAULT 0
#define IOMMU_HW_INFO_FLAG_INPUT_TYPE (1 << 0)
#define in_data_type out_data_type
#define MOCK_FLAGS_DEVICE_PASID (1 << 2)
#define MOCK_PASID_WIDTH 20

