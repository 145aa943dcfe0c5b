// SPDX-License-Identifier: GPL-2.0-only
/*
 * A device's IOMMU reserved regions, by type, on the mock IOMMU driver
 * (its MOCK_FLAGS_DEVICE_* region flags):
 *  - DIRECT, RESERVED and hardware MSI ranges are reserved in the IOAS
 *    while the device is attached: nothing may be mapped there (EINVAL
 *    for a fixed IOVA, EADDRINUSE for an attach over a mapping);
 *  - a relaxable direct range (an RMRR of a USB controller or integrated
 *    graphics) is not: guest RAM may cover it;
 *  - a software-managed MSI window (SW_MSI) is reserved, and every paging
 *    domain the device is attached or replaced to, directly or as the
 *    parent of a nested HWPT, gets its MSI cookie there first, once;
 *  - a device whose window differs from the cookie a domain has cannot
 *    share that domain; two SW_MSI windows, or one beside a hardware MSI
 *    range, are a driver bug and refused with EINVAL.
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
#include "mock_device.h"

#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define WINDOW_LAST(base) ((__u64)(base) + MOCK_RESV_LENGTH - 1)

/* Move @dev to @pt_id; the HWPT it lands on in dev->hwpt_id */
static int replace(int fd, struct mock_dev *dev, __u32 pt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = dev->stdev_id, .mock_domain_replace.pt_id = pt_id,
	};
	int ret = do_ioctl(fd, IOMMU_TEST_CMD, &cmd);

	if (!ret)
		dev->hwpt_id = cmd.mock_domain_replace.pt_id;
	return ret;
}

static int hwpt_alloc(int fd, __u32 flags, __u32 dev_id, __u32 pt_id,
		      __u32 data_type, void *data, __u32 data_len, __u32 *out)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev_id,
		.pt_id = pt_id, .data_type = data_type, .data_len = data_len,
		.data_uptr = (uintptr_t)data,
	};
	int ret = do_ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	*out = cmd.out_hwpt_id;
	return ret;
}

/* The IOVA of paging HWPT @hwpt's MSI cookie; 0 when it has none */
static __u64 msi_cookie(struct __test_metadata *_metadata, int fd, __u32 hwpt)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_MSI_COOKIE,
		.id = hwpt,
	};

	EXPECT_EQ(0, do_ioctl(fd, IOMMU_TEST_CMD, &cmd));
	/* The core's cookie and our record of it agree */
	EXPECT_EQ(!!cmd.msi_cookie.out_iova, cmd.msi_cookie.out_has_cookie);
	return cmd.msi_cookie.out_iova;
}

/* IOMMU_IOAS_MAP of @len bytes of @va at exactly @iova: 0 or -errno */
static int map_at(int fd, __u32 ioas, void *va, __u64 len, __u64 iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | RW,
		.ioas_id = ioas, .user_va = (uintptr_t)va, .length = len,
		.iova = iova,
	};

	return do_ioctl(fd, IOMMU_IOAS_MAP, &cmd);
}

static int unmap(int fd, __u32 ioas, __u64 iova, __u64 len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .iova = iova,
		.length = len,
	};

	return do_ioctl(fd, IOMMU_IOAS_UNMAP, &cmd);
}

/*
 * Can a page be mapped at @iova of @ioas now?  A reserved IOVA is EINVAL.
 * Leaves nothing mapped.
 */
static bool mappable(struct __test_metadata *_metadata, int fd, __u32 ioas,
		     void *page, __u64 iova)
{
	int ret = map_at(fd, ioas, page, getpagesize(), iova);

	if (ret) {
		EXPECT_EQ(-EINVAL, ret);
		return false;
	}
	EXPECT_EQ(0, unmap(fd, ioas, iova, getpagesize()));
	return true;
}

/* Does IOMMU_IOAS_IOVA_RANGES of @ioas report [@start, @last] usable? */
static bool range_usable(struct __test_metadata *_metadata, int fd,
			 __u32 ioas, __u64 start, __u64 last)
{
	struct iommu_iova_range ranges[16];
	struct iommu_ioas_iova_ranges cmd = {
		.size = sizeof(cmd), .ioas_id = ioas, .num_iovas = 16,
		.allowed_iovas = (uintptr_t)ranges,
	};
	unsigned int i;

	EXPECT_EQ(0, do_ioctl(fd, IOMMU_IOAS_IOVA_RANGES, &cmd));
	for (i = 0; i < cmd.num_iovas && i < 16; i++) {
		if (ranges[i].start <= start && last <= ranges[i].last)
			return true;
	}
	return false;
}

FIXTURE(resv) {
	int fd;
	__u32 ioas;
	void *page;
};

FIXTURE_SETUP(resv)
{
	struct mock_dev probe;
	int ret;

	self->page = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, self->page);
	self->fd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas));
	ret = mock_dev_flags(self->fd, self->ioas, MOCK_FLAGS_DEVICE_RELAXABLE,
			     &probe);
	if (ret == -ENOTTY || ret == -EOPNOTSUPP)
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	if (ret == -EINVAL)
		SKIP(return, "the mock driver reports no reserved regions");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, destroy(self->fd, probe.stdev_id));
}

FIXTURE_TEARDOWN(resv)
{
	close(self->fd);
	munmap(self->page, getpagesize());
}

TEST_F(resv, a_sw_msi_window_is_reserved_while_its_device_is_attached)
{
	struct mock_dev dev;

	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas, MOCK_FLAGS_DEVICE_SW_MSI,
				    &dev));
	EXPECT_FALSE(mappable(_metadata, self->fd, self->ioas, self->page,
			      MOCK_SW_MSI_BASE));
	EXPECT_FALSE(mappable(_metadata, self->fd, self->ioas, self->page,
			      WINDOW_LAST(MOCK_SW_MSI_BASE) + 1 -
			      getpagesize()));
	EXPECT_FALSE(range_usable(_metadata, self->fd, self->ioas,
				  MOCK_SW_MSI_BASE, MOCK_SW_MSI_BASE));
	EXPECT_TRUE(range_usable(_metadata, self->fd, self->ioas,
				 MOCK_APERTURE_START, MOCK_SW_MSI_BASE - 1));
	ASSERT_EQ(0, destroy(self->fd, dev.stdev_id));
	EXPECT_TRUE(mappable(_metadata, self->fd, self->ioas, self->page,
			     MOCK_SW_MSI_BASE));
}

TEST_F(resv, a_sw_msi_device_gives_its_domain_an_msi_cookie_at_the_window)
{
	struct mock_dev dev;

	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas, MOCK_FLAGS_DEVICE_SW_MSI,
				    &dev));
	EXPECT_EQ(MOCK_SW_MSI_BASE, msi_cookie(_metadata, self->fd,
					       dev.hwpt_id));
}

TEST_F(resv, a_device_without_a_sw_msi_window_sets_no_cookie)
{
	struct mock_dev dev;

	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas, 0, &dev));
	EXPECT_EQ(0, msi_cookie(_metadata, self->fd, dev.hwpt_id));
	ASSERT_EQ(0, destroy(self->fd, dev.stdev_id));
	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas, MOCK_FLAGS_DEVICE_HW_MSI,
				    &dev));
	EXPECT_EQ(0, msi_cookie(_metadata, self->fd, dev.hwpt_id));
}

TEST_F(resv, a_mapping_over_the_sw_msi_window_refuses_the_attach)
{
	struct mock_dev dev;

	ASSERT_EQ(0, map_at(self->fd, self->ioas, self->page, getpagesize(),
			    MOCK_SW_MSI_BASE + 2 * getpagesize()));
	EXPECT_EQ(-EADDRINUSE, mock_dev_flags(self->fd, self->ioas,
					      MOCK_FLAGS_DEVICE_SW_MSI, &dev));
	/* Nothing of the failed attach stays reserved */
	EXPECT_TRUE(mappable(_metadata, self->fd, self->ioas, self->page,
			     MOCK_SW_MSI_BASE));
	ASSERT_EQ(0, unmap(self->fd, self->ioas,
			   MOCK_SW_MSI_BASE + 2 * getpagesize(),
			   getpagesize()));
	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas, MOCK_FLAGS_DEVICE_SW_MSI,
				    &dev));
}

/*
 * A device whose reserved range is mapped cannot join the automatic HWPT
 * already there: EADDRINUSE, not a second HWPT (the mapping would be in
 * that one too).  Once the mapping goes, it shares the first one.
 */
TEST_F(resv, a_device_whose_reserved_range_is_mapped_cannot_join_the_ioas)
{
	struct mock_dev first, dev;

	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas, 0, &first));
	ASSERT_EQ(0, map_at(self->fd, self->ioas, self->page, getpagesize(),
			    MOCK_RESERVED_BASE));
	EXPECT_EQ(-EADDRINUSE, mock_dev_flags(self->fd, self->ioas,
					      MOCK_FLAGS_DEVICE_RESERVED,
					      &dev));
	ASSERT_EQ(0, unmap(self->fd, self->ioas, MOCK_RESERVED_BASE,
			   getpagesize()));
	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas,
				    MOCK_FLAGS_DEVICE_RESERVED, &dev));
	EXPECT_EQ(first.hwpt_id, dev.hwpt_id);
}

TEST_F(resv, a_hwpt_made_without_the_device_gets_the_cookie_at_its_attach)
{
	struct mock_dev plain, dev;
	__u32 hwpt;

	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas, 0, &plain));
	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, plain.idev_id, self->ioas, 0,
				NULL, 0, &hwpt));
	EXPECT_EQ(0, msi_cookie(_metadata, self->fd, hwpt));
	ASSERT_EQ(0, mock_dev_flags(self->fd, hwpt, MOCK_FLAGS_DEVICE_SW_MSI, &dev));
	EXPECT_EQ(hwpt, dev.hwpt_id);
	EXPECT_EQ(MOCK_SW_MSI_BASE, msi_cookie(_metadata, self->fd, hwpt));
}

TEST_F(resv, a_replace_sets_the_cookie_of_the_new_hwpt_first)
{
	struct mock_dev dev;
	__u32 hwpt;

	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas, MOCK_FLAGS_DEVICE_SW_MSI,
				    &dev));
	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, dev.idev_id, self->ioas, 0, NULL,
				0, &hwpt));
	EXPECT_EQ(0, msi_cookie(_metadata, self->fd, hwpt));
	ASSERT_EQ(0, replace(self->fd, &dev, hwpt));
	EXPECT_EQ(MOCK_SW_MSI_BASE, msi_cookie(_metadata, self->fd, hwpt));
	/* The window stays reserved in the IOAS the device still uses */
	EXPECT_FALSE(mappable(_metadata, self->fd, self->ioas, self->page,
			      MOCK_SW_MSI_BASE));
	/* Back to the IOAS: a new automatic HWPT, with its own cookie */
	ASSERT_EQ(0, replace(self->fd, &dev, self->ioas));
	EXPECT_NE(hwpt, dev.hwpt_id);
	EXPECT_EQ(MOCK_SW_MSI_BASE, msi_cookie(_metadata, self->fd,
					       dev.hwpt_id));
	/* A domain's cookie cannot be taken back: it stays after the move */
	EXPECT_EQ(MOCK_SW_MSI_BASE, msi_cookie(_metadata, self->fd, hwpt));
}

TEST_F(resv, a_replace_to_another_ioas_moves_the_reservation)
{
	struct mock_dev dev;
	__u32 ioas2;

	ASSERT_EQ(0, ioas_alloc(self->fd, &ioas2));
	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas, MOCK_FLAGS_DEVICE_SW_MSI,
				    &dev));
	ASSERT_EQ(0, replace(self->fd, &dev, ioas2));
	EXPECT_EQ(MOCK_SW_MSI_BASE, msi_cookie(_metadata, self->fd,
					       dev.hwpt_id));
	EXPECT_FALSE(mappable(_metadata, self->fd, ioas2, self->page,
			      MOCK_SW_MSI_BASE));
	EXPECT_TRUE(mappable(_metadata, self->fd, self->ioas, self->page,
			     MOCK_SW_MSI_BASE));
	/* A replace that cannot reserve the window changes nothing */
	ASSERT_EQ(0, map_at(self->fd, self->ioas, self->page, getpagesize(),
			    MOCK_SW_MSI_BASE));
	EXPECT_EQ(-EADDRINUSE, replace(self->fd, &dev, self->ioas));
	EXPECT_FALSE(mappable(_metadata, self->fd, ioas2, self->page,
			      MOCK_SW_MSI_BASE));
}

TEST_F(resv, a_device_with_its_window_elsewhere_cannot_share_the_domain)
{
	struct mock_dev dev, alt;

	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas, MOCK_FLAGS_DEVICE_SW_MSI,
				    &dev));
	EXPECT_EQ(-EINVAL, mock_dev_flags(self->fd, dev.hwpt_id,
					  MOCK_FLAGS_DEVICE_SW_MSI_ALT, &alt));
	/* Attached to the IOAS it gets an automatic HWPT of its own */
	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas,
				    MOCK_FLAGS_DEVICE_SW_MSI_ALT, &alt));
	EXPECT_NE(dev.hwpt_id, alt.hwpt_id);
	EXPECT_EQ(MOCK_SW_MSI_ALT_BASE, msi_cookie(_metadata, self->fd,
						   alt.hwpt_id));
	EXPECT_EQ(MOCK_SW_MSI_BASE, msi_cookie(_metadata, self->fd,
					       dev.hwpt_id));
	/* A device with the same window shares it */
	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas, MOCK_FLAGS_DEVICE_SW_MSI,
				    &alt));
	EXPECT_EQ(dev.hwpt_id, alt.hwpt_id);
}

TEST_F(resv, two_sw_msi_windows_are_refused)
{
	struct mock_dev dev;

	EXPECT_EQ(-EINVAL, mock_dev_flags(self->fd, self->ioas,
					  MOCK_FLAGS_DEVICE_SW_MSI |
					  MOCK_FLAGS_DEVICE_SW_MSI_ALT, &dev));
	EXPECT_TRUE(mappable(_metadata, self->fd, self->ioas, self->page,
			     MOCK_SW_MSI_BASE));
	EXPECT_TRUE(mappable(_metadata, self->fd, self->ioas, self->page,
			     MOCK_SW_MSI_ALT_BASE));
}

TEST_F(resv, a_sw_msi_window_beside_a_hardware_msi_range_is_refused)
{
	struct mock_dev dev;

	EXPECT_EQ(-EINVAL, mock_dev_flags(self->fd, self->ioas,
					  MOCK_FLAGS_DEVICE_SW_MSI |
					  MOCK_FLAGS_DEVICE_HW_MSI, &dev));
	EXPECT_TRUE(mappable(_metadata, self->fd, self->ioas, self->page,
			     MOCK_SW_MSI_BASE));
	EXPECT_TRUE(mappable(_metadata, self->fd, self->ioas, self->page,
			     MOCK_HW_MSI_BASE));
}

TEST_F(resv, hardware_msi_and_reserved_ranges_are_reserved)
{
	struct mock_dev dev;

	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas,
				    MOCK_FLAGS_DEVICE_HW_MSI | MOCK_FLAGS_DEVICE_RESERVED,
				    &dev));
	EXPECT_FALSE(mappable(_metadata, self->fd, self->ioas, self->page,
			      MOCK_HW_MSI_BASE));
	EXPECT_FALSE(mappable(_metadata, self->fd, self->ioas, self->page,
			      MOCK_RESERVED_BASE));
	EXPECT_FALSE(range_usable(_metadata, self->fd, self->ioas,
				  MOCK_RESERVED_BASE, WINDOW_LAST(MOCK_RESERVED_BASE)));
	ASSERT_EQ(0, destroy(self->fd, dev.stdev_id));
	EXPECT_TRUE(mappable(_metadata, self->fd, self->ioas, self->page,
			     MOCK_RESERVED_BASE));
}

TEST_F(resv, a_relaxable_direct_range_is_not_reserved)
{
	struct mock_dev dev;

	/* Guest RAM mapped over it first does not stop the attach */
	ASSERT_EQ(0, map_at(self->fd, self->ioas, self->page, getpagesize(),
			    MOCK_RELAXABLE_BASE));
	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas,
				    MOCK_FLAGS_DEVICE_RELAXABLE, &dev));
	ASSERT_EQ(0, unmap(self->fd, self->ioas, MOCK_RELAXABLE_BASE,
			   getpagesize()));
	/* Nor does it stop a mapping made after */
	EXPECT_TRUE(mappable(_metadata, self->fd, self->ioas, self->page,
			     MOCK_RELAXABLE_BASE));
	EXPECT_TRUE(range_usable(_metadata, self->fd, self->ioas,
				 MOCK_RELAXABLE_BASE,
				 WINDOW_LAST(MOCK_RELAXABLE_BASE)));
}

TEST_F(resv, a_nested_hwpt_gives_its_parent_the_cookie)
{
	struct iommu_hwpt_selftest data = { .iotlb = IOMMU_TEST_IOTLB_DEFAULT };
	struct mock_dev plain, dev;
	__u32 parent, nested;

	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas, 0, &plain));
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_NEST_PARENT,
				plain.idev_id, self->ioas, 0, NULL, 0,
				&parent));
	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, plain.idev_id, parent,
				IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data),
				&nested));
	EXPECT_EQ(0, msi_cookie(_metadata, self->fd, parent));
	ASSERT_EQ(0, mock_dev_flags(self->fd, nested, MOCK_FLAGS_DEVICE_SW_MSI,
				    &dev));
	EXPECT_EQ(MOCK_SW_MSI_BASE, msi_cookie(_metadata, self->fd, parent));
	EXPECT_FALSE(mappable(_metadata, self->fd, self->ioas, self->page,
			      MOCK_SW_MSI_BASE));
}

TEST_F(resv, the_cookie_is_set_before_the_driver_attaches_and_stays)
{
	struct mock_dev plain, dev;
	__u32 hwpt;

	ASSERT_EQ(0, mock_dev_flags(self->fd, self->ioas, 0, &plain));
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
				plain.idev_id, self->ioas, 0, NULL, 0, &hwpt));
	/* The mock driver refuses this device on a dirty-tracking domain */
	EXPECT_EQ(-EINVAL, mock_dev_flags(self->fd, hwpt,
					  MOCK_FLAGS_DEVICE_SW_MSI |
					  MOCK_FLAGS_DEVICE_NO_DIRTY, &dev));
	EXPECT_EQ(MOCK_SW_MSI_BASE, msi_cookie(_metadata, self->fd, hwpt));
	EXPECT_TRUE(mappable(_metadata, self->fd, self->ioas, self->page,
			     MOCK_SW_MSI_BASE));
	/* Devices of the same window may still use the domain, others not */
	EXPECT_EQ(-EINVAL, mock_dev_flags(self->fd, hwpt,
					  MOCK_FLAGS_DEVICE_SW_MSI_ALT, &dev));
	ASSERT_EQ(0, mock_dev_flags(self->fd, hwpt, MOCK_FLAGS_DEVICE_SW_MSI, &dev));
}

TEST_HARNESS_MAIN
