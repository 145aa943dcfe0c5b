/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A mock device of the mock IOMMU driver (CONFIG_IOMMUFD_TEST), made with
 * device flags, bound and attached, as the test ABI's
 * IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS makes it.
 */
#ifndef __SELFTEST_IOMMU_MOCK_DEVICE_H
#define __SELFTEST_IOMMU_MOCK_DEVICE_H

#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "uapi_calls.h"

struct mock_dev {
	__u32 stdev_id;		/* the selftest object owning the device */
	__u32 hwpt_id;		/* the HWPT it was attached to */
	__u32 idev_id;		/* its iommufd device object */
};

/* A mock device made with @flags (MOCK_FLAGS_DEVICE_*), attached to @pt_id */
static inline int mock_dev_flags(int fd, __u32 pt_id, __u32 flags,
				 struct mock_dev *dev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS,
		.id = pt_id, .mock_domain_flags.dev_flags = flags,
	};
	int ret = do_ioctl(fd, IOMMU_TEST_CMD, &cmd);

	dev->stdev_id = cmd.mock_domain_flags.out_stdev_id;
	dev->hwpt_id = cmd.mock_domain_flags.out_hwpt_id;
	dev->idev_id = cmd.mock_domain_flags.out_idev_id;
	return ret;
}
#endif
