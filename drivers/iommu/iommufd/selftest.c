// SPDX-License-Identifier: GPL-2.0-only
/*
 * CONFIG_IOMMUFD_TEST: IOMMU_TEST_CMD and the fail_iommufd fault injection
 * point that the kselftests drive.
 *
 * The mock IOMMU driver is not implemented yet: every test operation
 * answers -EOPNOTSUPP.
 */
#include <linux/debugfs.h>
#include <linux/fault-inject.h>

#include "iommufd_private.h"
#include "iommufd_test.h"

static DECLARE_FAULT_ATTR(fail_iommufd);
static struct dentry *fail_iommufd_dir;

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

/**
 * iommufd_test() - ioctl(IOMMU_TEST_CMD)
 * @ucmd: the command
 *
 * Context: Process context.
 * Return: -EOPNOTSUPP for every operation until the mock driver exists.
 */
int iommufd_test(struct iommufd_ucmd *ucmd)
{
	return -EOPNOTSUPP;
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
