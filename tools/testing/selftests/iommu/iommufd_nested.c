// SPDX-License-Identifier: GPL-2.0-only
/*
 * Nested HWPTs, their cache invalidation and IO page faults, on the mock
 * IOMMU driver.
 *
 * A nested HWPT is allocated on a paging HWPT made with
 * IOMMU_HWPT_ALLOC_NEST_PARENT, from IOMMU_HWPT_DATA_SELFTEST data that
 * gives the starting value of each of the four entries of its fake IOTLB.
 * IOMMU_HWPT_INVALIDATE zeroes entries, IOMMU_TEST_OP_MD_CHECK_IOTLB reads
 * them back.
 *
 * A fault queue (IOMMU_FAULT_QUEUE_ALLOC) is an object with a file: a
 * nested HWPT allocated with its id receives the IO page faults of the
 * devices attached to it, which IOMMU_TEST_OP_TRIGGER_IOPF raises.  User
 * space read()s struct iommu_hwpt_pgfault records from the file and
 * write()s struct iommu_hwpt_page_response records quoting their cookies.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/iommufd.h>

#include "kselftest_harness.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "uapi_calls.h"

#define NO_SUCH_ID 1000000
#define IOTLB_ENTRIES MOCK_NESTED_DOMAIN_IOTLB_NUM
#define FAULT_SZ sizeof(struct iommu_hwpt_pgfault)
#define RESP_SZ sizeof(struct iommu_hwpt_page_response)
#define FAULT_ADDR ((__u64)MOCK_APERTURE_START + 0x1000)
#define RW_PERM (IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE)

struct mock_dev {
	__u32 stdev_id;	/* the selftest object; destroying it unbinds */
	__u32 hwpt_id;	/* what it was attached to */
	__u32 dev_id;	/* the iommufd device */
};

/* A mock device with @dev_flags, bound and attached to @pt_id */
static int mock_device(int fd, __u32 pt_id, __u32 dev_flags,
		       struct mock_dev *dev)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pt_id,
	};
	int ret;

	if (dev_flags) {
		cmd.op = IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS;
		cmd.mock_domain_flags.dev_flags = dev_flags;
	}
	ret = do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
	dev->stdev_id = cmd.mock_domain.out_stdev_id;
	dev->hwpt_id = cmd.mock_domain.out_hwpt_id;
	dev->dev_id = cmd.mock_domain.out_idev_id;
	return ret;
}

static int replace(int fd, __u32 stdev_id, __u32 pt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE,
		.id = stdev_id, .mock_domain_replace.pt_id = pt_id,
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* Any HWPT_ALLOC; @data may be NULL with @data_len non-zero */
static int hwpt_alloc_full(int fd, __u32 flags, __u32 dev_id, __u32 pt_id,
			   __u32 fault_id, __u32 data_type, const void *data,
			   __u32 data_len, __u32 *hwpt_id)
{
	struct iommu_hwpt_alloc cmd = {
		.size = sizeof(cmd), .flags = flags, .dev_id = dev_id,
		.pt_id = pt_id, .fault_id = fault_id, .data_type = data_type,
		.data_len = data_len, .data_uptr = (uintptr_t)data,
	};
	int ret = do_ioctl(fd, IOMMU_HWPT_ALLOC, &cmd);

	*hwpt_id = cmd.out_hwpt_id;
	return ret;
}

/* A paging HWPT on an IOAS */
static int hwpt_alloc(int fd, __u32 flags, __u32 dev_id, __u32 pt_id,
		      __u32 *hwpt_id)
{
	return hwpt_alloc_full(fd, flags, dev_id, pt_id, 0,
			       IOMMU_HWPT_DATA_NONE, NULL, 0, hwpt_id);
}

/* A nested HWPT whose IOTLB entries all start at @iotlb */
static int nested_alloc(int fd, __u32 flags, __u32 dev_id, __u32 parent_id,
			__u32 fault_id, __u32 iotlb, __u32 *hwpt_id)
{
	struct iommu_hwpt_selftest data = { .iotlb = iotlb };

	return hwpt_alloc_full(fd, flags, dev_id, parent_id, fault_id,
			       IOMMU_HWPT_DATA_SELFTEST, &data, sizeof(data),
			       hwpt_id);
}

/* 0 when IOTLB entry @entry of nested HWPT @hwpt_id holds @value */
static int check_iotlb(int fd, __u32 hwpt_id, __u32 entry, __u32 value)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_IOTLB,
		.id = hwpt_id,
		.check_iotlb = { .id = entry, .iotlb = value },
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* 0 when every IOTLB entry holds @values[entry] */
static int check_iotlbs(int fd, __u32 hwpt_id, const __u32 *values)
{
	__u32 i;
	int ret;

	for (i = 0; i < IOTLB_ENTRIES; i++) {
		ret = check_iotlb(fd, hwpt_id, i, values[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static int invalidate_full(int fd, __u32 hwpt_id, const void *entries,
			   __u32 data_type, __u32 entry_len, __u32 *entry_num,
			   __u32 reserved)
{
	struct iommu_hwpt_invalidate cmd = {
		.size = sizeof(cmd), .hwpt_id = hwpt_id,
		.data_uptr = (uintptr_t)entries, .data_type = data_type,
		.entry_len = entry_len, .entry_num = *entry_num,
		.__reserved = reserved,
	};
	int ret = do_ioctl(fd, IOMMU_HWPT_INVALIDATE, &cmd);

	*entry_num = cmd.entry_num;
	return ret;
}

static int invalidate(int fd, __u32 hwpt_id,
		      const struct iommu_hwpt_invalidate_selftest *entries,
		      __u32 *entry_num)
{
	return invalidate_full(fd, hwpt_id, entries,
			       IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
			       sizeof(*entries), entry_num, 0);
}

static int fault_alloc(int fd, __u32 flags, __u32 *fault_id, int *fault_fd)
{
	struct iommu_fault_alloc cmd = { .size = sizeof(cmd), .flags = flags };
	int ret = do_ioctl(fd, IOMMU_FAULT_QUEUE_ALLOC, &cmd);

	*fault_id = cmd.out_fault_id;
	*fault_fd = ret ? -1 : (int)cmd.out_fault_fd;
	return ret;
}

static int trigger_iopf(int fd, __u32 dev_id, __u32 grpid)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_TRIGGER_IOPF,
		.trigger_iopf = { .dev_id = dev_id, .pasid = 0,
				  .grpid = grpid, .perm = RW_PERM,
				  .addr = FAULT_ADDR },
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* read() or write() on a fault fd: bytes done, or -errno */
static long fault_read(int fault_fd, void *buf, size_t count)
{
	ssize_t n = read(fault_fd, buf, count);

	return n < 0 ? -errno : n;
}

static long fault_write(int fault_fd, const void *buf, size_t count)
{
	ssize_t n = write(fault_fd, buf, count);

	return n < 0 ? -errno : n;
}

static long respond(int fault_fd, __u32 cookie, __u32 code)
{
	struct iommu_hwpt_page_response resp = {
		.cookie = cookie, .code = code,
	};

	return fault_write(fault_fd, &resp, sizeof(resp));
}

/* Which of POLLIN and POLLOUT @fault_fd reports right now */
static short fault_poll(int fault_fd)
{
	struct pollfd pfd = { .fd = fault_fd, .events = POLLIN | POLLOUT };

	if (poll(&pfd, 1, 0) < 0)
		return -1;
	return pfd.revents & (POLLIN | POLLOUT);
}

static const __u32 all_default[IOTLB_ENTRIES] = {
	IOMMU_TEST_IOTLB_DEFAULT, IOMMU_TEST_IOTLB_DEFAULT,
	IOMMU_TEST_IOTLB_DEFAULT, IOMMU_TEST_IOTLB_DEFAULT,
};

/*
 * A mock device on an IOAS, a nest-parent HWPT for it and a nested HWPT
 * on that parent with the default IOTLB value.
 */
FIXTURE(nested) {
	int fd;
	__u32 ioas_id;
	struct mock_dev dev;
	__u32 parent_id;
	__u32 nested_id;
};

FIXTURE_SETUP(nested)
{
	self->fd = open("/dev/iommu", O_RDWR);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "no /dev/iommu");
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	if (mock_device(self->fd, self->ioas_id, 0, &self->dev))
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_NEST_PARENT,
				self->dev.dev_id, self->ioas_id,
				&self->parent_id));
	ASSERT_EQ(0, nested_alloc(self->fd, 0, self->dev.dev_id,
				  self->parent_id, 0, IOMMU_TEST_IOTLB_DEFAULT,
				  &self->nested_id));
}

FIXTURE_TEARDOWN(nested)
{
	close(self->fd);
}

TEST_F(nested, a_nested_hwpt_is_a_new_object_on_its_parent)
{
	EXPECT_NE(0, self->nested_id);
	EXPECT_NE(self->parent_id, self->nested_id);
	EXPECT_NE(self->ioas_id, self->nested_id);
}

TEST_F(nested, every_iotlb_entry_starts_at_the_value_given_at_alloc)
{
	const __u32 mine[IOTLB_ENTRIES] = { 0x1234, 0x1234, 0x1234, 0x1234 };
	__u32 id;

	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, all_default));
	ASSERT_EQ(0, nested_alloc(self->fd, 0, self->dev.dev_id,
				  self->parent_id, 0, 0x1234, &id));
	EXPECT_EQ(0, check_iotlbs(self->fd, id, mine));
	EXPECT_EQ(0, destroy(self->fd, id));
}

TEST_F(nested, checking_an_iotlb_entry_for_another_value_fails)
{
	__u32 i;

	for (i = 0; i < IOTLB_ENTRIES; i++) {
		EXPECT_EQ(-EINVAL, check_iotlb(self->fd, self->nested_id, i,
					       0));
		EXPECT_EQ(-EINVAL, check_iotlb(self->fd, self->nested_id, i,
					       IOMMU_TEST_IOTLB_DEFAULT + 1));
	}
}

TEST_F(nested, the_parent_must_be_allocated_as_a_nest_parent)
{
	__u32 plain_id, id;

	ASSERT_EQ(0, hwpt_alloc(self->fd, 0, self->dev.dev_id, self->ioas_id,
				&plain_id));
	EXPECT_EQ(-EINVAL, nested_alloc(self->fd, 0, self->dev.dev_id,
					plain_id, 0, IOMMU_TEST_IOTLB_DEFAULT,
					&id));
	EXPECT_EQ(0, destroy(self->fd, plain_id));
}

TEST_F(nested, a_hwpt_parent_without_data_is_not_supported)
{
	__u32 id;

	EXPECT_EQ(-EOPNOTSUPP, hwpt_alloc(self->fd, 0, self->dev.dev_id,
					  self->parent_id, &id));
}

TEST_F(nested, data_without_a_data_type_is_rejected)
{
	struct iommu_hwpt_selftest data = { IOMMU_TEST_IOTLB_DEFAULT };
	__u32 id;

	EXPECT_EQ(-EINVAL, hwpt_alloc_full(self->fd, 0, self->dev.dev_id,
					   self->parent_id, 0,
					   IOMMU_HWPT_DATA_NONE, &data,
					   sizeof(data), &id));
}

TEST_F(nested, an_unknown_data_type_is_not_supported)
{
	struct iommu_hwpt_selftest data = { IOMMU_TEST_IOTLB_DEFAULT };
	__u32 id;

	EXPECT_EQ(-EOPNOTSUPP,
		  hwpt_alloc_full(self->fd, 0, self->dev.dev_id,
				  self->parent_id, 0,
				  IOMMU_HWPT_DATA_SELFTEST + 1, &data,
				  sizeof(data), &id));
}

TEST_F(nested, data_shorter_than_the_selftest_struct_is_rejected)
{
	struct iommu_hwpt_selftest data = { IOMMU_TEST_IOTLB_DEFAULT };
	__u32 id;

	EXPECT_EQ(-EINVAL,
		  hwpt_alloc_full(self->fd, 0, self->dev.dev_id,
				  self->parent_id, 0, IOMMU_HWPT_DATA_SELFTEST,
				  &data, sizeof(data) - 1, &id));
	EXPECT_EQ(-EINVAL,
		  hwpt_alloc_full(self->fd, 0, self->dev.dev_id,
				  self->parent_id, 0, IOMMU_HWPT_DATA_SELFTEST,
				  &data, 0, &id));
}

TEST_F(nested, a_null_data_pointer_faults)
{
	__u32 id;

	EXPECT_EQ(-EFAULT,
		  hwpt_alloc_full(self->fd, 0, self->dev.dev_id,
				  self->parent_id, 0, IOMMU_HWPT_DATA_SELFTEST,
				  NULL, sizeof(struct iommu_hwpt_selftest),
				  &id));
}

TEST_F(nested, a_nested_alloc_cannot_ask_to_be_a_nest_parent)
{
	__u32 id;

	EXPECT_EQ(-EOPNOTSUPP,
		  nested_alloc(self->fd, IOMMU_HWPT_ALLOC_NEST_PARENT,
			       self->dev.dev_id, self->parent_id, 0,
			       IOMMU_TEST_IOTLB_DEFAULT, &id));
}

TEST_F(nested, a_nested_hwpt_cannot_be_a_parent)
{
	__u32 id;

	EXPECT_EQ(-EINVAL, nested_alloc(self->fd, 0, self->dev.dev_id,
					self->nested_id, 0,
					IOMMU_TEST_IOTLB_DEFAULT, &id));
}

TEST_F(nested, a_nested_alloc_needs_a_device)
{
	__u32 id;

	EXPECT_EQ(-ENOENT, nested_alloc(self->fd, 0, self->ioas_id,
					self->parent_id, 0,
					IOMMU_TEST_IOTLB_DEFAULT, &id));
}

TEST_F(nested, a_device_cannot_be_a_parent)
{
	__u32 id;

	EXPECT_EQ(-EINVAL, nested_alloc(self->fd, 0, self->dev.dev_id,
					self->dev.dev_id, 0,
					IOMMU_TEST_IOTLB_DEFAULT, &id));
}

TEST_F(nested, a_fault_id_that_names_nothing_is_not_found)
{
	__u32 id;

	EXPECT_EQ(-ENOENT, nested_alloc(self->fd, IOMMU_HWPT_FAULT_ID_VALID,
					self->dev.dev_id, self->parent_id,
					NO_SUCH_ID, IOMMU_TEST_IOTLB_DEFAULT,
					&id));
}

TEST_F(nested, a_paging_hwpt_cannot_take_a_fault_queue)
{
	__u32 fault_id, id;
	int fault_fd;

	ASSERT_EQ(0, fault_alloc(self->fd, 0, &fault_id, &fault_fd));
	EXPECT_EQ(-EOPNOTSUPP,
		  hwpt_alloc_full(self->fd, IOMMU_HWPT_FAULT_ID_VALID,
				  self->dev.dev_id, self->ioas_id, fault_id,
				  IOMMU_HWPT_DATA_NONE, NULL, 0, &id));
	close(fault_fd);
	EXPECT_EQ(0, destroy(self->fd, fault_id));
}

TEST_F(nested, a_parent_outlives_its_nested_hwpts)
{
	__u32 second;

	ASSERT_EQ(0, nested_alloc(self->fd, 0, self->dev.dev_id,
				  self->parent_id, 0, IOMMU_TEST_IOTLB_DEFAULT,
				  &second));
	EXPECT_EQ(-EBUSY, destroy(self->fd, self->parent_id));
	EXPECT_EQ(0, destroy(self->fd, self->nested_id));
	EXPECT_EQ(-EBUSY, destroy(self->fd, self->parent_id));
	EXPECT_EQ(0, destroy(self->fd, second));
	EXPECT_EQ(0, destroy(self->fd, self->parent_id));
}

TEST_F(nested, invalidating_an_entry_zeroes_that_entry_only)
{
	struct iommu_hwpt_invalidate_selftest inv = { .iotlb_id = 2 };
	__u32 want[IOTLB_ENTRIES] = {
		IOMMU_TEST_IOTLB_DEFAULT, IOMMU_TEST_IOTLB_DEFAULT, 0,
		IOMMU_TEST_IOTLB_DEFAULT,
	};
	__u32 num = 1;

	ASSERT_EQ(0, invalidate(self->fd, self->nested_id, &inv, &num));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, want));

	inv.iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX;
	want[MOCK_NESTED_DOMAIN_IOTLB_ID_MAX] = 0;
	ASSERT_EQ(0, invalidate(self->fd, self->nested_id, &inv, &num));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, want));
}

TEST_F(nested, the_all_flag_zeroes_every_entry)
{
	struct iommu_hwpt_invalidate_selftest inv = {
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL,
	};
	const __u32 zero[IOTLB_ENTRIES] = { 0 };
	__u32 num = 1;

	ASSERT_EQ(0, invalidate(self->fd, self->nested_id, &inv, &num));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, zero));
}

TEST_F(nested, every_entry_of_an_array_is_handled_and_counted)
{
	const struct iommu_hwpt_invalidate_selftest inv[2] = {
		{ .iotlb_id = 0 }, { .iotlb_id = 3 },
	};
	const __u32 want[IOTLB_ENTRIES] = {
		0, IOMMU_TEST_IOTLB_DEFAULT, IOMMU_TEST_IOTLB_DEFAULT, 0,
	};
	__u32 num = 2;

	ASSERT_EQ(0, invalidate(self->fd, self->nested_id, inv, &num));
	EXPECT_EQ(2, num);
	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, want));
}

/*
 * Regression, user-supplied counts: as in 6.12, one call takes at most
 * 2^19 entries of at most a page each.  At the limit, over an array that
 * ends in an unmapped page, the entries that are there are handled and
 * counted and the first one that is not faults; beyond it, or with a
 * longer entry, nothing is handled (EINVAL, a count of 0).
 */
#define INVALIDATE_MAX_ENTRIES (512U * 1024)

TEST_F(nested, an_entry_num_at_its_limit_handles_what_is_there)
{
	const __u32 want[IOTLB_ENTRIES] = {
		0, IOMMU_TEST_IOTLB_DEFAULT, IOMMU_TEST_IOTLB_DEFAULT, 0,
	};
	struct iommu_hwpt_invalidate_selftest *inv;
	__u32 num = INVALIDATE_MAX_ENTRIES;

	inv = bytes_before_a_hole(2 * sizeof(*inv));
	ASSERT_NE(NULL, inv);
	memset(inv, 0, 2 * sizeof(*inv));
	inv[1].iotlb_id = 3;

	EXPECT_EQ(-EFAULT, invalidate(self->fd, self->nested_id, inv, &num));
	EXPECT_EQ(2, num);
	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, want));
	bytes_before_a_hole_free(inv);
}

TEST_F(nested, an_entry_num_or_entry_len_beyond_its_limit_is_einval)
{
	static struct iommu_hwpt_invalidate_selftest inv[2];
	__u32 num = INVALIDATE_MAX_ENTRIES + 1;

	EXPECT_EQ(-EINVAL, invalidate(self->fd, self->nested_id, inv, &num));
	EXPECT_EQ(0, num);
	num = UINT32_MAX;
	EXPECT_EQ(-EINVAL, invalidate(self->fd, self->nested_id, inv, &num));
	EXPECT_EQ(0, num);
	num = 1;
	EXPECT_EQ(-EINVAL, invalidate_full(self->fd, self->nested_id, inv,
					   IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
					   getpagesize() + 1, &num, 0));
	EXPECT_EQ(0, num);
	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, all_default));
}

/* As in 6.12: a count that cannot be written back is EFAULT, first */
TEST_F(nested, an_invalidate_whose_count_cannot_go_back_is_efault)
{
	static struct iommu_hwpt_invalidate_selftest inv[2];
	struct iommu_hwpt_invalidate *cmd;

	cmd = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, cmd);
	*cmd = (struct iommu_hwpt_invalidate){
		.size = sizeof(*cmd), .hwpt_id = self->nested_id,
		.data_uptr = (uintptr_t)inv,
		.data_type = IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
		.entry_len = sizeof(inv[0]),
		.entry_num = INVALIDATE_MAX_ENTRIES + 1,
	};
	ASSERT_EQ(0, mprotect(cmd, getpagesize(), PROT_READ));
	/* Refused (EINVAL) and its count of 0 not written: EFAULT */
	EXPECT_EQ(-EFAULT, do_ioctl(self->fd, IOMMU_HWPT_INVALIDATE, cmd));
	munmap(cmd, getpagesize());
}

TEST_F(nested, a_paging_hwpt_is_not_found_and_nothing_is_handled)
{
	struct iommu_hwpt_invalidate_selftest inv = { .iotlb_id = 0 };
	__u32 num = 1;

	EXPECT_EQ(-ENOENT, invalidate(self->fd, self->parent_id, &inv, &num));
	EXPECT_EQ(0, num);
}

TEST_F(nested, zero_entries_succeed_and_change_nothing)
{
	struct iommu_hwpt_invalidate_selftest inv = {
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL,
	};
	__u32 num = 0;

	EXPECT_EQ(0, invalidate(self->fd, self->nested_id, &inv, &num));
	EXPECT_EQ(0, num);
	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, all_default));
}

TEST_F(nested, an_unknown_invalidation_data_type_is_rejected)
{
	struct iommu_hwpt_invalidate_selftest inv = {
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL,
	};
	__u32 num = 1;

	EXPECT_EQ(-EINVAL,
		  invalidate_full(self->fd, self->nested_id, &inv,
				  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID,
				  sizeof(inv), &num, 0));
	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, all_default));
}

TEST_F(nested, an_entry_len_other_than_the_entry_struct_is_rejected)
{
	/* Room for entries of any tested length; all-zero padding */
	struct iommu_hwpt_invalidate_selftest inv[4] = {
		{ .flags = IOMMU_TEST_INVALIDATE_FLAG_ALL },
	};
	const __u32 lens[] = { sizeof(inv[0]) + 1, 1, 0 };
	unsigned int i;
	__u32 num;

	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		num = 1;
		EXPECT_EQ(-EINVAL,
			  invalidate_full(self->fd, self->nested_id, inv,
					  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
					  lens[i], &num, 0));
	}
	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, all_default));
}

TEST_F(nested, a_null_entry_array_is_rejected)
{
	__u32 num = 1;

	EXPECT_EQ(-EINVAL, invalidate(self->fd, self->nested_id, NULL, &num));
}

TEST_F(nested, unknown_entry_flags_are_not_supported)
{
	struct iommu_hwpt_invalidate_selftest inv = {
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL << 1,
	};
	__u32 num = 1;

	EXPECT_EQ(-EOPNOTSUPP, invalidate(self->fd, self->nested_id, &inv,
					  &num));
	EXPECT_EQ(0, num);
	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, all_default));
}

TEST_F(nested, an_iotlb_id_past_the_last_entry_is_rejected)
{
	struct iommu_hwpt_invalidate_selftest inv = {
		.iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1,
	};
	__u32 num = 1;

	EXPECT_EQ(-EINVAL, invalidate(self->fd, self->nested_id, &inv, &num));
	EXPECT_EQ(0, num);
	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, all_default));
}

TEST_F(nested, a_nonzero_reserved_field_is_not_supported)
{
	struct iommu_hwpt_invalidate_selftest inv = {
		.flags = IOMMU_TEST_INVALIDATE_FLAG_ALL,
	};
	__u32 num = 1;

	EXPECT_EQ(-EOPNOTSUPP,
		  invalidate_full(self->fd, self->nested_id, &inv,
				  IOMMU_HWPT_INVALIDATE_DATA_SELFTEST,
				  sizeof(inv), &num, 1));
	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, all_default));
}

TEST_F(nested, entries_before_a_bad_one_are_applied_and_counted)
{
	const struct iommu_hwpt_invalidate_selftest inv[2] = {
		{ .iotlb_id = 1 },
		{ .iotlb_id = MOCK_NESTED_DOMAIN_IOTLB_ID_MAX + 1 },
	};
	const __u32 want[IOTLB_ENTRIES] = {
		IOMMU_TEST_IOTLB_DEFAULT, 0, IOMMU_TEST_IOTLB_DEFAULT,
		IOMMU_TEST_IOTLB_DEFAULT,
	};
	__u32 num = 2;

	EXPECT_EQ(-EINVAL, invalidate(self->fd, self->nested_id, inv, &num));
	EXPECT_EQ(1, num);
	EXPECT_EQ(0, check_iotlbs(self->fd, self->nested_id, want));
}

TEST_F(nested, a_device_moves_between_nested_parent_and_ioas_by_replace)
{
	__u32 second;

	ASSERT_EQ(0, nested_alloc(self->fd, 0, self->dev.dev_id,
				  self->parent_id, 0, IOMMU_TEST_IOTLB_DEFAULT,
				  &second));
	EXPECT_EQ(0, replace(self->fd, self->dev.stdev_id, self->nested_id));
	EXPECT_EQ(0, replace(self->fd, self->dev.stdev_id, second));
	/* The first nested HWPT is free again */
	EXPECT_EQ(0, destroy(self->fd, self->nested_id));
	EXPECT_EQ(0, replace(self->fd, self->dev.stdev_id, self->parent_id));
	EXPECT_EQ(0, destroy(self->fd, second));
	EXPECT_EQ(0, replace(self->fd, self->dev.stdev_id, self->ioas_id));
	EXPECT_EQ(0, destroy(self->fd, self->parent_id));
}

TEST_F(nested, a_nested_hwpt_with_a_device_attached_cannot_be_destroyed)
{
	ASSERT_EQ(0, replace(self->fd, self->dev.stdev_id, self->nested_id));
	EXPECT_EQ(-EBUSY, destroy(self->fd, self->nested_id));
	EXPECT_EQ(-EBUSY, destroy(self->fd, self->parent_id));
	ASSERT_EQ(0, replace(self->fd, self->dev.stdev_id, self->ioas_id));
	EXPECT_EQ(0, destroy(self->fd, self->nested_id));
}

TEST_F(nested, a_device_can_be_created_attached_to_a_nested_hwpt)
{
	struct mock_dev d;

	ASSERT_EQ(0, mock_device(self->fd, self->nested_id, 0, &d));
	EXPECT_EQ(self->nested_id, d.hwpt_id);
	EXPECT_EQ(-EBUSY, destroy(self->fd, self->nested_id));
	EXPECT_EQ(0, destroy(self->fd, d.stdev_id));
	EXPECT_EQ(0, destroy(self->fd, self->nested_id));
}

/*
 * A mock device attached to a nested HWPT that reports its faults to a
 * fault queue, whose file is @fault_fd.
 */
FIXTURE(iopf) {
	int fd;
	__u32 ioas_id;
	struct mock_dev dev;
	__u32 parent_id;
	__u32 fault_id;
	int fault_fd;
	__u32 iopf_id;
};

FIXTURE_SETUP(iopf)
{
	self->fault_fd = -1;
	self->fd = open("/dev/iommu", O_RDWR);
	if (self->fd < 0 && errno == ENOENT)
		SKIP(return, "no /dev/iommu");
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(0, ioas_alloc(self->fd, &self->ioas_id));
	if (mock_device(self->fd, self->ioas_id, 0, &self->dev))
		SKIP(return, "no mock IOMMU driver (CONFIG_IOMMUFD_TEST=n)");
	ASSERT_EQ(0, hwpt_alloc(self->fd, IOMMU_HWPT_ALLOC_NEST_PARENT,
				self->dev.dev_id, self->ioas_id,
				&self->parent_id));
	ASSERT_EQ(0, fault_alloc(self->fd, 0, &self->fault_id,
				 &self->fault_fd));
	ASSERT_EQ(0, nested_alloc(self->fd, IOMMU_HWPT_FAULT_ID_VALID,
				  self->dev.dev_id, self->parent_id,
				  self->fault_id, IOMMU_TEST_IOTLB_DEFAULT,
				  &self->iopf_id));
	ASSERT_EQ(0, replace(self->fd, self->dev.stdev_id, self->iopf_id));
}

FIXTURE_TEARDOWN(iopf)
{
	if (self->fault_fd >= 0)
		close(self->fault_fd);
	close(self->fd);
}

/*
 * A device that cannot take IO page faults (enabling them fails) cannot
 * move onto a HWPT that reports them: the replace fails with the driver's
 * errno, whether the device was on a HWPT without faults or alone on one
 * with them, and it stays where it was, able to move elsewhere.  Nor can
 * it attach to one.
 */
TEST_F(iopf, a_device_without_iopf_cannot_move_onto_a_reporting_hwpt)
{
	struct mock_dev weak;
	__u32 iopf_id;
	int ret;

	/* The in-tree mock refuses a flag it does not know: EINVAL */
	ret = mock_device(self->fd, self->ioas_id, MOCK_FLAGS_DEVICE_NO_IOPF,
			  &weak);
	if (ret == -EINVAL || ret == -EOPNOTSUPP)
		SKIP(return, "no MOCK_FLAGS_DEVICE_NO_IOPF");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, nested_alloc(self->fd, IOMMU_HWPT_FAULT_ID_VALID,
				  weak.dev_id, self->parent_id,
				  self->fault_id, IOMMU_TEST_IOTLB_DEFAULT,
				  &iopf_id));
	EXPECT_EQ(-ENODEV, replace(self->fd, weak.stdev_id, iopf_id));
	EXPECT_EQ(-ENODEV, replace(self->fd, weak.stdev_id, self->iopf_id));
	/* Still attached: it moves to a HWPT without faults */
	EXPECT_EQ(0, replace(self->fd, weak.stdev_id, self->parent_id));
	EXPECT_EQ(-ENODEV, replace(self->fd, weak.stdev_id, iopf_id));
	EXPECT_EQ(0, replace(self->fd, weak.stdev_id, self->ioas_id));
	/* Nor can such a device be attached there in the first place */
	EXPECT_EQ(-ENODEV, mock_device(self->fd, self->iopf_id,
				       MOCK_FLAGS_DEVICE_NO_IOPF, &weak));
}

TEST_F(iopf, a_fault_queue_takes_no_flags)
{
	__u32 id;
	int ffd;

	EXPECT_EQ(-EOPNOTSUPP, fault_alloc(self->fd, 1, &id, &ffd));
	EXPECT_EQ(-EOPNOTSUPP, fault_alloc(self->fd, 1U << 31, &id, &ffd));
}

TEST_F(iopf, a_fault_queue_is_an_object_with_its_own_file)
{
	__u32 id;
	int ffd;

	ASSERT_EQ(0, fault_alloc(self->fd, 0, &id, &ffd));
	EXPECT_NE(0, id);
	EXPECT_NE(self->fault_id, id);
	EXPECT_LE(0, ffd);
	EXPECT_NE(self->fd, ffd);
	EXPECT_NE(self->fault_fd, ffd);
	EXPECT_EQ(0, close(ffd));
	EXPECT_EQ(0, destroy(self->fd, id));
}

TEST_F(iopf, a_fault_queue_used_by_a_hwpt_cannot_be_destroyed)
{
	EXPECT_EQ(-EBUSY, destroy(self->fd, self->fault_id));
	ASSERT_EQ(0, replace(self->fd, self->dev.stdev_id, self->ioas_id));
	ASSERT_EQ(0, destroy(self->fd, self->iopf_id));
	/* Its open file still holds it */
	EXPECT_EQ(-EBUSY, destroy(self->fd, self->fault_id));
	close(self->fault_fd);
	self->fault_fd = -1;
	EXPECT_EQ(0, destroy(self->fd, self->fault_id));
}

TEST_F(iopf, a_triggered_fault_is_read_as_one_complete_group)
{
	struct iommu_hwpt_pgfault f[2];

	memset(f, 0, sizeof(f));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 0x2));
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, f, sizeof(f)));
	EXPECT_TRUE(f[0].flags & IOMMU_PGFAULT_FLAGS_LAST_PAGE);
	EXPECT_EQ(self->dev.dev_id, f[0].dev_id);
	EXPECT_EQ(0x2, f[0].grpid);
	EXPECT_EQ(RW_PERM, f[0].perm);
	EXPECT_EQ(FAULT_ADDR, f[0].addr);
	EXPECT_EQ(RESP_SZ, respond(self->fault_fd, f[0].cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
}

TEST_F(iopf, a_group_is_answered_once)
{
	struct iommu_hwpt_pgfault f;

	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 0x2));
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &f, sizeof(f)));
	EXPECT_EQ(RESP_SZ, respond(self->fault_fd, f.cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(-EINVAL, respond(self->fault_fd, f.cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
}

TEST_F(iopf, reads_must_be_whole_fault_records)
{
	struct iommu_hwpt_pgfault f[2];

	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 0x2));
	EXPECT_EQ(-ESPIPE, fault_read(self->fault_fd, f, FAULT_SZ - 1));
	EXPECT_EQ(-ESPIPE, fault_read(self->fault_fd, f, FAULT_SZ + 1));
	/* The fault is still there for a proper read */
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, f, FAULT_SZ));
	EXPECT_EQ(RESP_SZ, respond(self->fault_fd, f[0].cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
}

/*
 * Regression, fault-queue read() counts: a count of 0 with a fault pending
 * is EINVAL (no room for the first group, as 6.12) and loses nothing; a
 * huge count (a whole number of records) reads only what is pending; a
 * group that cannot be copied out stays pending.
 */
TEST_F(iopf, a_read_of_zero_bytes_is_einval_and_takes_no_fault)
{
	struct iommu_hwpt_pgfault f;

	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 0x2));
	EXPECT_EQ(-EINVAL, fault_read(self->fault_fd, &f, 0));
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &f, FAULT_SZ));
	EXPECT_EQ(RESP_SZ, respond(self->fault_fd, f.cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
}

TEST_F(iopf, a_huge_read_count_takes_only_what_is_pending)
{
	long page = sysconf(_SC_PAGESIZE);
	/*
	 * 1 GiB (with 4 KiB pages): far more than is pending, yet within
	 * user space (read() refuses a buffer that is not before any driver
	 * sees it).  Derived from sysconf(), so that the compiler does not
	 * judge the count against the buffer.
	 */
	size_t huge = ((size_t)page << 18) / FAULT_SZ * FAULT_SZ;
	struct iommu_hwpt_pgfault f, *tail;

	/* One record's room, an unmapped page after */
	tail = bytes_before_a_hole(FAULT_SZ);
	ASSERT_NE(NULL, tail);

	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 0x2));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 0x3));
	/* The second record would land in the hole: it stays pending */
	EXPECT_EQ(FAULT_SZ, fault_read(self->fault_fd, tail, huge));
	EXPECT_EQ(RESP_SZ, respond(self->fault_fd, tail->cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &f, huge));
	EXPECT_EQ(RESP_SZ, respond(self->fault_fd, f.cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(0, fault_read(self->fault_fd, &f, huge));
	bytes_before_a_hole_free(tail);
}

TEST_F(iopf, reading_with_nothing_pending_returns_zero)
{
	struct iommu_hwpt_pgfault f;

	EXPECT_EQ(0, fault_read(self->fault_fd, &f, sizeof(f)));
}

TEST_F(iopf, writes_must_be_whole_response_records)
{
	struct iommu_hwpt_page_response resp[2] = { 0 };
	struct iommu_hwpt_pgfault f;

	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 0x2));
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &f, sizeof(f)));
	resp[0].cookie = f.cookie;
	resp[0].code = IOMMUFD_PAGE_RESP_SUCCESS;
	EXPECT_EQ(-ESPIPE, fault_write(self->fault_fd, resp, RESP_SZ - 1));
	EXPECT_EQ(-ESPIPE, fault_write(self->fault_fd, resp, RESP_SZ + 1));
	EXPECT_EQ(RESP_SZ, fault_write(self->fault_fd, resp, RESP_SZ));
}

TEST_F(iopf, a_response_with_an_unknown_cookie_is_rejected)
{
	struct iommu_hwpt_pgfault f;

	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 0x2));
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &f, sizeof(f)));
	EXPECT_EQ(-EINVAL, respond(self->fault_fd, f.cookie + 1,
				   IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(RESP_SZ, respond(self->fault_fd, f.cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
}

TEST_F(iopf, only_success_and_invalid_are_response_codes)
{
	struct iommu_hwpt_pgfault f;

	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 0x2));
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &f, sizeof(f)));
	EXPECT_EQ(-EINVAL, respond(self->fault_fd, f.cookie,
				   IOMMUFD_PAGE_RESP_INVALID + 1));
	EXPECT_EQ(-EINVAL, respond(self->fault_fd, f.cookie, ~0U));
	/* A rejected response leaves the group waiting for a good one */
	EXPECT_EQ(RESP_SZ, respond(self->fault_fd, f.cookie,
				   IOMMUFD_PAGE_RESP_INVALID));
}

TEST_F(iopf, poll_reports_pollin_while_a_fault_waits_and_always_pollout)
{
	struct iommu_hwpt_pgfault f;

	EXPECT_EQ(POLLOUT, fault_poll(self->fault_fd));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 0x2));
	EXPECT_EQ(POLLIN | POLLOUT, fault_poll(self->fault_fd));
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &f, sizeof(f)));
	EXPECT_EQ(POLLOUT, fault_poll(self->fault_fd));
	EXPECT_EQ(RESP_SZ, respond(self->fault_fd, f.cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(POLLOUT, fault_poll(self->fault_fd));
}

TEST_F(iopf, groups_are_read_in_the_order_they_were_raised)
{
	struct iommu_hwpt_pgfault f[3], extra;
	__u32 i;

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, i + 1));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &f[i],
					       FAULT_SZ));
		EXPECT_EQ(i + 1, f[i].grpid);
		EXPECT_TRUE(f[i].flags & IOMMU_PGFAULT_FLAGS_LAST_PAGE);
	}
	EXPECT_NE(f[0].cookie, f[1].cookie);
	EXPECT_NE(f[0].cookie, f[2].cookie);
	EXPECT_NE(f[1].cookie, f[2].cookie);
	EXPECT_EQ(0, fault_read(self->fault_fd, &extra, FAULT_SZ));
	for (i = 0; i < 3; i++)
		EXPECT_EQ(RESP_SZ, respond(self->fault_fd, f[i].cookie,
					   IOMMUFD_PAGE_RESP_SUCCESS));
}

TEST_F(iopf, a_buffer_for_two_faults_reads_two_groups)
{
	struct iommu_hwpt_pgfault f[4];
	__u32 i;

	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, i + 1));
	ASSERT_EQ(2 * FAULT_SZ, fault_read(self->fault_fd, f, 2 * FAULT_SZ));
	EXPECT_EQ(1, f[0].grpid);
	EXPECT_EQ(2, f[1].grpid);
	EXPECT_NE(f[0].cookie, f[1].cookie);
	/* Room for more than is pending reads what is pending */
	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 3));
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &f[2], 2 * FAULT_SZ));
	EXPECT_EQ(3, f[2].grpid);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(RESP_SZ, respond(self->fault_fd, f[i].cookie,
					   IOMMUFD_PAGE_RESP_SUCCESS));
}

TEST_F(iopf, replacing_the_device_away_answers_its_outstanding_faults)
{
	struct iommu_hwpt_pgfault f[2];

	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 1));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 2));
	/* One group read and left unanswered, one never read */
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &f[0], FAULT_SZ));
	ASSERT_EQ(0, replace(self->fd, self->dev.stdev_id, self->parent_id));

	EXPECT_EQ(0, fault_read(self->fault_fd, &f[1], FAULT_SZ));
	EXPECT_EQ(-EINVAL, respond(self->fault_fd, f[0].cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(POLLOUT, fault_poll(self->fault_fd));
}

/* Moving one device away answers its faults, none of another device's */
TEST_F(iopf, replacing_one_device_away_keeps_the_faults_of_another)
{
	struct iommu_hwpt_pgfault mine, theirs, f;
	struct mock_dev other;

	ASSERT_EQ(0, mock_device(self->fd, self->iopf_id, 0, &other));
	/* Each device: one group read (awaiting), one not (pending) */
	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 1));
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &mine, FAULT_SZ));
	ASSERT_EQ(0, trigger_iopf(self->fd, other.dev_id, 2));
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &theirs, FAULT_SZ));
	ASSERT_EQ(0, trigger_iopf(self->fd, other.dev_id, 3));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 4));

	ASSERT_EQ(0, replace(self->fd, self->dev.stdev_id, self->parent_id));
	EXPECT_EQ(-EINVAL, respond(self->fault_fd, mine.cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(RESP_SZ, respond(self->fault_fd, theirs.cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &f, FAULT_SZ));
	EXPECT_EQ(other.dev_id, f.dev_id);
	EXPECT_EQ(3, f.grpid);
	EXPECT_EQ(RESP_SZ, respond(self->fault_fd, f.cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
	EXPECT_EQ(0, fault_read(self->fault_fd, &f, FAULT_SZ));
	EXPECT_EQ(0, destroy(self->fd, other.stdev_id));
}

/* A fault fd has no file position; a response it cannot read faults */
TEST_F(iopf, positioned_io_is_espipe_and_an_unreadable_response_efault)
{
	struct iommu_hwpt_page_response *resp;
	struct iommu_hwpt_pgfault f;

	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 0x2));
	EXPECT_EQ(-1, pread(self->fault_fd, &f, FAULT_SZ, FAULT_SZ));
	EXPECT_EQ(ESPIPE, errno);
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &f, FAULT_SZ));
	resp = bytes_before_a_hole(RESP_SZ);
	ASSERT_NE(NULL, resp);
	resp->cookie = f.cookie;
	resp->code = IOMMUFD_PAGE_RESP_SUCCESS;
	EXPECT_EQ(-1, pwrite(self->fault_fd, resp, RESP_SZ, RESP_SZ));
	EXPECT_EQ(ESPIPE, errno);
	/* Nothing readable: EFAULT.  The first of two readable: one taken */
	EXPECT_EQ(-EFAULT, fault_write(self->fault_fd, resp + 1, RESP_SZ));
	EXPECT_EQ(RESP_SZ, fault_write(self->fault_fd, resp, 2 * RESP_SZ));
	EXPECT_EQ(-EINVAL, respond(self->fault_fd, f.cookie,
				   IOMMUFD_PAGE_RESP_SUCCESS));
	bytes_before_a_hole_free(resp);
}

/* As in 6.12's test ABI, such a fault is dropped and the command is 0 */
TEST_F(iopf, a_fault_of_a_device_without_a_fault_queue_is_dropped)
{
	struct iommu_hwpt_pgfault f;
	struct mock_dev other;

	ASSERT_EQ(0, mock_device(self->fd, self->ioas_id, 0, &other));
	EXPECT_EQ(0, trigger_iopf(self->fd, other.dev_id, 1));
	EXPECT_EQ(0, fault_read(self->fault_fd, &f, sizeof(f)));
	EXPECT_EQ(POLLOUT, fault_poll(self->fault_fd));
	EXPECT_EQ(0, destroy(self->fd, other.stdev_id));
}

TEST_F(iopf, closing_the_file_and_destroying_everything_is_clean)
{
	struct iommu_hwpt_pgfault f;

	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 1));
	ASSERT_EQ(0, trigger_iopf(self->fd, self->dev.dev_id, 2));
	ASSERT_EQ(FAULT_SZ, fault_read(self->fault_fd, &f, FAULT_SZ));
	EXPECT_EQ(0, close(self->fault_fd));
	self->fault_fd = -1;

	EXPECT_EQ(0, replace(self->fd, self->dev.stdev_id, self->ioas_id));
	EXPECT_EQ(0, destroy(self->fd, self->iopf_id));
	EXPECT_EQ(0, destroy(self->fd, self->fault_id));
	EXPECT_EQ(0, destroy(self->fd, self->parent_id));
	EXPECT_EQ(0, destroy(self->fd, self->dev.stdev_id));
	EXPECT_EQ(0, destroy(self->fd, self->ioas_id));
}

TEST_HARNESS_MAIN
