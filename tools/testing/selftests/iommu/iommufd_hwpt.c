// SPDX-License-Identifier: GPL-2.0-only
/*
 * Devices and hardware page tables, on the mock IOMMU driver: what
 * IOMMU_GET_HW_INFO reports, how IOMMU_HWPT_ALLOC checks its arguments,
 * how automatic HWPTs come and go with their devices, and what attached
 * objects may not be destroyed.  Only 6.12's uAPI is used, so the same
 * tests run against the in-tree implementation (a test needing a mock
 * device flag of our own skips there).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/iommufd.h>

#include "kselftest_harness.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "uapi_calls.h"
#include "mock_device.h"

FIXTURE(mock) {
	int fd;
	__u32 ioas_id;
	__u32 stdev_id;
	__u32 hwpt_id;
	__u32 dev_id;
};

/* A mock device bound and attached to @pt_id */
static int mock_device(int fd, __u32 pt_id, __u32 *stdev_id, __u32 *hwpt_id,
		       __u32 *dev_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pt_id,
	};
	int ret = do_ioctl(fd, IOMMU_TEST_CMD, &cmd);

	*stdev_id = cmd.mock_domain.out_stdev_id;
	*hwpt_id = cmd.mock_domain.out_hwpt_id;
	*dev_id = cmd.mock_domain.out_idev_id;
	return ret;
}

static int hwpt_alloc(int fd, __u32 flags, __u32 dev_id, __u32 pt_id,
		      __u32 *out)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev_id,
		.pt_id = pt_id,
	};
	int ret = do_ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	*out = cmd.out_hwpt_id;
	return ret;
}

FIXTURE_SETUP(mock)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_ALLOC, &alloc));
	self->ioas_id = alloc.out_ioas_id;
	if (mock_device(self->fd, self->ioas_id, &self->stdev_id,
			&self->hwpt_id, &self->dev_id))
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
}

FIXTURE_TEARDOWN(mock)
{
	close(self->fd);
}

TEST_F(mock, attaching_to_an_ioas_makes_an_automatic_hwpt)
{
	EXPECT_NE(0, self->hwpt_id);
	EXPECT_NE(self->ioas_id, self->hwpt_id);
	EXPECT_NE(0, self->dev_id);
}

TEST_F(mock, hw_info_copies_the_driver_blob_and_zeroes_the_rest)
{
	struct iommu_test_hw_info blob[2];
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd), .dev_id = self->dev_id,
		.data_len = sizeof(blob), .data_uptr = (uintptr_t)blob,
	};

	memset(blob, 0xff, sizeof(blob));
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	EXPECT_EQ(IOMMU_HW_INFO_TYPE_SELFTEST, cmd.out_data_type);
	EXPECT_EQ(sizeof(blob[0]), cmd.data_len);
	EXPECT_EQ(IOMMU_HW_INFO_SELFTEST_REGVAL, blob[0].test_reg);
	EXPECT_EQ(0, blob[1].flags);
	EXPECT_EQ(0, blob[1].test_reg);
}

TEST_F(mock, hw_info_into_a_short_buffer_copies_what_fits)
{
	__u32 first[2] = { 0xaaaaaaaa, 0xbbbbbbbb };
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd), .dev_id = self->dev_id,
		.data_len = sizeof(first[0]), .data_uptr = (uintptr_t)first,
	};

	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	/* The full length is reported; nothing past the buffer is written */
	EXPECT_EQ(sizeof(struct iommu_test_hw_info), cmd.data_len);
	EXPECT_EQ(0xbbbbbbbb, first[1]);
}

/* A blob buffer the kernel cannot write, or zero past the blob, faults */
TEST_F(mock, hw_info_into_memory_it_cannot_write_is_efault)
{
	size_t blob = sizeof(struct iommu_test_hw_info);
	struct iommu_hw_info cmd = {
		.size = sizeof(cmd), .dev_id = self->dev_id,
		.data_len = blob,
	};
	char *hole = bytes_before_a_hole(blob);

	ASSERT_NE(NULL, hole);
	/* The blob itself lands in the hole */
	cmd.data_uptr = (uintptr_t)(hole + blob);
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	/* The blob fits; the zeroes after it do not */
	cmd.data_uptr = (uintptr_t)hole;
	cmd.data_len = 2 * blob;
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	/* Nothing to copy, nothing to fault on */
	cmd.data_uptr = (uintptr_t)(hole + blob);
	cmd.data_len = 0;
	EXPECT_EQ(0, do_ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	EXPECT_EQ(blob, cmd.data_len);
	bytes_before_a_hole_free(hole);
}

TEST_F(mock, hw_info_errors)
{
	struct iommu_hw_info cmd = { .size = sizeof(cmd) };

	cmd.dev_id = self->ioas_id;	/* not a device */
	EXPECT_EQ(-ENOENT, do_ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.dev_id = self->dev_id;
	cmd.flags = 1U << 31;
	EXPECT_EQ(-EOPNOTSUPP, do_ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
	cmd.flags = 0;
	EXPECT_EQ(0, do_ioctl(self->fd, IOMMU_GET_HW_INFO, &cmd));
}

TEST_F(mock, hwpt_alloc_argument_errors)
{
	__u32 id;

	EXPECT_EQ(-EOPNOTSUPP, hwpt_alloc(self->fd, 1U << 31, self->dev_id,
					  self->ioas_id, &id));
	/* dev_id must name a device; pt_id a parent (EINVAL, as in 6.12) */
	EXPECT_EQ(-ENOENT, hwpt_alloc(self->fd, 0, self->ioas_id,
				      self->ioas_id, &id));
	EXPECT_EQ(-EINVAL, hwpt_alloc(self->fd, 0, self->dev_id, 0, &id));
	EXPECT_EQ(-EINVAL, hwpt_alloc(self->fd, 0, self->dev_id, self->dev_id,
				      &id));
}

/*
 * The HWPT is made before its id is written back: if that write fails the
 * call is EFAULT and leaves no HWPT (nothing holds the IOAS).
 */
TEST_F(mock, an_hwpt_alloc_whose_reply_cannot_be_written_leaves_no_hwpt)
{
	struct iommu_hwpt_alloc *cmd;
	__u32 ioas_id;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	cmd = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, cmd);
	*cmd = (struct iommu_hwpt_alloc){
		.size = sizeof(*cmd), .dev_id = self->dev_id, .pt_id = ioas_id,
	};
	ASSERT_EQ(0, mprotect(cmd, getpagesize(), PROT_READ));
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, IOMMU_HWPT_ALLOC, cmd));
	EXPECT_EQ(0, cmd->out_hwpt_id);
	EXPECT_EQ(0, destroy(self->fd, ioas_id));
	munmap(cmd, getpagesize());
}

TEST_F(mock, an_allocated_hwpt_can_be_attached_and_then_destroyed)
{
	struct iommu_test_cmd replace = {
		.size = sizeof(replace), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = self->stdev_id,
	};
	__u32 id;

	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->dev_id, self->ioas_id,
				&id));
	replace.mock_domain_replace.pt_id = id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &replace));
	EXPECT_EQ(id, replace.mock_domain_replace.pt_id);
	EXPECT_EQ(-EBUSY, destroy(self->fd, id));

	/* Back to the IOAS: the allocated HWPT is free to go */
	replace.mock_domain_replace.pt_id = self->ioas_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &replace));
	EXPECT_EQ(0, destroy(self->fd, id));
}

TEST_F(mock, objects_in_use_cannot_be_destroyed)
{
	EXPECT_EQ(-EBUSY, destroy(self->fd, self->ioas_id));
	EXPECT_EQ(-EBUSY, destroy(self->fd, self->hwpt_id));
}

TEST_F(mock, the_automatic_hwpt_goes_with_its_last_device)
{
	ASSERT_EQ(0, destroy(self->fd, self->stdev_id));
	EXPECT_EQ(-ENOENT, destroy(self->fd, self->hwpt_id));
	EXPECT_EQ(0, destroy(self->fd, self->ioas_id));
}

TEST_F(mock, a_second_device_shares_the_automatic_hwpt)
{
	__u32 stdev_id, hwpt_id, dev_id;

	ASSERT_EQ(0, mock_device(self->fd, self->ioas_id, &stdev_id, &hwpt_id,
				 &dev_id));
	EXPECT_EQ(self->hwpt_id, hwpt_id);
	EXPECT_NE(self->dev_id, dev_id);
	/* Destroying one device leaves the HWPT to the other */
	ASSERT_EQ(0, destroy(self->fd, self->stdev_id));
	EXPECT_EQ(-EBUSY, destroy(self->fd, self->hwpt_id));
}

TEST_F(mock, the_domain_maps_what_the_ioas_maps)
{
	size_t len = 4 * sysconf(_SC_PAGESIZE);
	void *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
		.ioas_id = self->ioas_id, .user_va = (uintptr_t)buf,
		.length = len, .iova = MOCK_APERTURE_START,
	};
	struct iommu_test_cmd check = {
		.size = sizeof(check), .op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = self->hwpt_id,
		.check_map = { .iova = MOCK_APERTURE_START, .length = len,
			       .uptr = (uintptr_t)buf },
	};

	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_MAP, &map));
	EXPECT_EQ(0, do_ioctl(self->fd, IOMMU_TEST_CMD, &check));
	/* Outside the mock aperture nothing can be mapped */
	map.iova = 0;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, IOMMU_IOAS_MAP, &map));
}

/*
 * A paging HWPT allocated for a device whose DMA can be made to snoop
 * enforces coherency (the no-snoop bit is ignored), so a device that cannot
 * snoop may neither attach to it nor be moved there (EINVAL); on the same
 * IOAS it gets an automatic HWPT of its own.
 */
TEST_F(mock, a_hwpt_enforcing_coherency_refuses_a_device_that_cannot_snoop)
{
	struct iommu_test_cmd replace = {
		.size = sizeof(replace), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = self->stdev_id,
	};
	__u32 ioas_id, stdev_id, hwpt_id, dev_id;
	struct mock_dev snoop;
	int ret;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas_id));
	ret = mock_dev_flags(self->fd, ioas_id,
			     MOCK_FLAGS_DEVICE_COHERENT, &snoop);
	/* The in-tree mock refuses a flag it does not know: EINVAL */
	if (ret == -EINVAL || ret == -EOPNOTSUPP)
		SKIP(return, "no MOCK_FLAGS_DEVICE_COHERENT");
	ASSERT_EQ(0, ret);

	EXPECT_EQ(-EINVAL, mock_device(self->fd, snoop.hwpt_id, &stdev_id,
				       &hwpt_id, &dev_id));
	replace.mock_domain_replace.pt_id = snoop.hwpt_id;
	EXPECT_EQ(-EINVAL, do_ioctl(self->fd, IOMMU_TEST_CMD, &replace));
	/* The refused move left the device where it was */
	EXPECT_EQ(-EBUSY, destroy(self->fd, self->hwpt_id));

	ASSERT_EQ(0, mock_device(self->fd, ioas_id, &stdev_id, &hwpt_id,
				 &dev_id));
	EXPECT_NE(snoop.hwpt_id, hwpt_id);
}

TEST_HARNESS_MAIN
