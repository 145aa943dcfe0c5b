// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live update of a VMM through the VFIO type1 container emulation, on the
 * mock IOMMU driver: VFIO_DMA_UNMAP_FLAG_VADDR takes the user address of
 * mappings away, VFIO_DMA_MAP_FLAG_VADDR gives a new one.
 *
 *  - Devices keep their translations meanwhile: nothing is unmapped or
 *    unpinned.
 *  - Anything that must pin memory it has not pinned yet waits for the new
 *    address: an in-kernel access (emulated device) blocks, holding no
 *    lock, so the VMM can supply the address and the access completes; a
 *    new device that would need such pins is refused (EBUSY, as type1).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <signal.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "../../../../drivers/iommu/iommufd/iommufd_test.h"
#include "uapi_calls.h"

#define BUF_SIZE (64UL << 10)
#define IOVA ((__u64)MOCK_APERTURE_START)

static int map_dma(int fd, __u32 flags, void *va, __u64 iova, __u64 size)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = flags,
		.vaddr = (uintptr_t)va, .iova = iova, .size = size,
	};

	return do_ioctl(fd, VFIO_IOMMU_MAP_DMA, &map);
}

static int map_rw(int fd, void *va, __u64 iova, __u64 size)
{
	return map_dma(fd, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		       va, iova, size);
}

static int update_vaddr(int fd, void *va, __u64 iova, __u64 size)
{
	return map_dma(fd, VFIO_DMA_MAP_FLAG_VADDR, va, iova, size);
}

static int invalidate_vaddr(int fd, __u32 flags, __u64 iova, __u64 *size)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .flags = VFIO_DMA_UNMAP_FLAG_VADDR | flags,
		.iova = iova, .size = *size,
	};
	int ret = do_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &unmap);

	*size = unmap.size;
	return ret;
}

static int mock_device(int fd, __u32 pt_id, __u32 *stdev_id, __u32 *hwpt_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MOCK_DOMAIN,
		.id = pt_id,
	};
	int ret = do_ioctl(fd, IOMMU_TEST_CMD, &cmd);

	*stdev_id = cmd.mock_domain.out_stdev_id;
	*hwpt_id = cmd.mock_domain.out_hwpt_id;
	return ret;
}

static int check_map(int fd, __u32 hwpt_id, __u64 iova, void *va, __u64 len)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_MD_CHECK_MAP,
		.id = hwpt_id,
		.check_map = { .iova = iova, .length = len,
			       .uptr = (uintptr_t)va },
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd);
}

/* The container over an IOAS; guest RAM is a memfd mapped twice */
FIXTURE(vaddr) {
	int fd;
	__u32 ioas_id;
	int mfd;
	void *old_va;
	void *new_va;
};

FIXTURE_SETUP(vaddr)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_vfio_ioas set = {
		.size = sizeof(set), .op = IOMMU_VFIO_IOAS_SET,
	};

	self->fd = open("/dev/iommu", O_RDWR);
	if (self->fd < 0)
		SKIP(return, "no /dev/iommu");
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_ALLOC, &alloc));
	self->ioas_id = alloc.out_ioas_id;
	set.ioas_id = self->ioas_id;
	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_VFIO_IOAS, &set));
	ASSERT_EQ(0, ioctl(self->fd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	if (ioctl(self->fd, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR) != 1)
		SKIP(return, "the container emulation cannot update vaddr");
	self->mfd = memfd_create("guest-ram", 0);
	ASSERT_LE(0, self->mfd);
	ASSERT_EQ(0, ftruncate(self->mfd, BUF_SIZE));
	self->old_va = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			    MAP_SHARED, self->mfd, 0);
	ASSERT_NE(MAP_FAILED, self->old_va);
	memset(self->old_va, 0x3c, BUF_SIZE);
	/* The same memory where the updated VMM maps it */
	self->new_va = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			    MAP_SHARED, self->mfd, 0);
	ASSERT_NE(MAP_FAILED, self->new_va);
	ASSERT_EQ(0, map_rw(self->fd, self->old_va, IOVA, BUF_SIZE));
}

FIXTURE_TEARDOWN(vaddr)
{
	close(self->fd);
	munmap(self->old_va, BUF_SIZE);
	munmap(self->new_va, BUF_SIZE);
	close(self->mfd);
}

TEST_F(vaddr, the_container_offers_vaddr_update)
{
	EXPECT_EQ(1, ioctl(self->fd, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR));
}

TEST_F(vaddr, devices_keep_their_translations_across_the_update)
{
	__u64 size = BUF_SIZE;
	__u32 stdev_id, hwpt_id;

	ASSERT_EQ(0, mock_device(self->fd, self->ioas_id, &stdev_id,
				 &hwpt_id));
	ASSERT_EQ(0, invalidate_vaddr(self->fd, 0, IOVA, &size));
	EXPECT_EQ(BUF_SIZE, size);
	/* Nothing was unmapped or unpinned */
	EXPECT_EQ(0, check_map(self->fd, hwpt_id, IOVA, self->old_va,
			       BUF_SIZE));
	ASSERT_EQ(0, update_vaddr(self->fd, self->new_va, IOVA, BUF_SIZE));
	EXPECT_EQ(0, check_map(self->fd, hwpt_id, IOVA, self->new_va,
			       BUF_SIZE));
}

TEST_F(vaddr, invalidate_and_update_argument_errors)
{
	__u64 size = BUF_SIZE / 2;

	/* An update needs an invalidated mapping */
	EXPECT_EQ(-EINVAL, update_vaddr(self->fd, self->new_va, IOVA,
					BUF_SIZE));
	/* Invalidation takes whole mappings */
	EXPECT_EQ(-EINVAL, invalidate_vaddr(self->fd, 0, IOVA, &size));
	size = BUF_SIZE;
	ASSERT_EQ(0, invalidate_vaddr(self->fd, 0, IOVA, &size));
	size = BUF_SIZE;
	EXPECT_EQ(-EINVAL, invalidate_vaddr(self->fd, 0, IOVA, &size));
	/* The update names the whole mapping, and no protection */
	EXPECT_EQ(-EINVAL, update_vaddr(self->fd, self->new_va, IOVA,
					BUF_SIZE / 2));
	EXPECT_EQ(-EINVAL, map_dma(self->fd,
				   VFIO_DMA_MAP_FLAG_VADDR |
					   VFIO_DMA_MAP_FLAG_READ,
				   self->new_va, IOVA, BUF_SIZE));
	/* A new address must sit where the old one did in its page */
	EXPECT_EQ(-EINVAL, update_vaddr(self->fd, self->new_va + 8, IOVA,
					BUF_SIZE));
	EXPECT_EQ(0, update_vaddr(self->fd, self->new_va, IOVA, BUF_SIZE));
}

/*
 * A file mapping (IOMMU_IOAS_MAP_FILE) is reached through its file, not an
 * address: invalidating it is accepted and changes nothing, as often as it
 * is asked, and it never takes a new address.
 */
TEST_F(vaddr, a_file_mapping_keeps_no_address_to_invalidate_or_update)
{
	struct iommu_ioas_map_file map = {
		.size = sizeof(map), .ioas_id = self->ioas_id,
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.fd = self->mfd, .length = BUF_SIZE, .iova = IOVA + BUF_SIZE,
	};
	__u64 size = BUF_SIZE;

	ASSERT_EQ(0, do_ioctl(self->fd, IOMMU_IOAS_MAP_FILE, &map));
	ASSERT_EQ(0, invalidate_vaddr(self->fd, 0, map.iova, &size));
	EXPECT_EQ(BUF_SIZE, size);
	ASSERT_EQ(0, invalidate_vaddr(self->fd, 0, map.iova, &size));
	EXPECT_EQ(BUF_SIZE, size);
	EXPECT_EQ(-EINVAL, update_vaddr(self->fd, self->new_va, map.iova,
					BUF_SIZE));
	/* Both mappings at once: only the address-backed one is invalid */
	size = 2 * BUF_SIZE;
	ASSERT_EQ(0, invalidate_vaddr(self->fd, 0, IOVA, &size));
	EXPECT_EQ(2 * BUF_SIZE, size);
	EXPECT_EQ(0, update_vaddr(self->fd, self->new_va, IOVA, BUF_SIZE));
}

/*
 * In a child: map the guest RAM and give it as the mapping's new address;
 * with @nobody, first as user nobody with RLIMIT_MEMLOCK 0, who cannot be
 * charged for the pinned pages.  The exit status: 0, the update's errno,
 * or 100 and up for a setup error.
 */
static int update_from_a_child(int fd, int mfd, bool nobody)
{
	struct rlimit none = {};
	void *va;
	int ret;

	if (nobody && (setrlimit(RLIMIT_MEMLOCK, &none) || setuid(65534)))
		return 100;
	va = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (va == MAP_FAILED)
		return 101;
	ret = update_vaddr(fd, va, IOVA, BUF_SIZE);
	return ret < 0 ? -ret : 0;
}

/* update_from_a_child() in a child: its exit status, or 200 and up */
static int update_in_a_child(int fd, int mfd, bool nobody)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return 200;
	if (!pid)
		_exit(update_from_a_child(fd, mfd, nobody));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 201;
	return WEXITSTATUS(status);
}

/*
 * The address may come from another process, as after the VMM's exec: that
 * process becomes the owner of the pages (and is charged for them), and
 * devices keep their translations.  One that cannot be charged gets
 * ENOMEM, and the mapping keeps waiting for its address.
 */
TEST_F(vaddr, a_new_process_can_give_the_new_address)
{
	__u64 size = BUF_SIZE;
	__u32 stdev_id, hwpt_id;

	ASSERT_EQ(0, mock_device(self->fd, self->ioas_id, &stdev_id,
				 &hwpt_id));
	ASSERT_EQ(0, invalidate_vaddr(self->fd, 0, IOVA, &size));
	/* First a user who may not lock the pages: ENOMEM, no change */
	EXPECT_EQ(ENOMEM, update_in_a_child(self->fd, self->mfd, true));
	EXPECT_EQ(0, update_in_a_child(self->fd, self->mfd, false));
	EXPECT_EQ(0, check_map(self->fd, hwpt_id, IOVA, self->new_va,
			       BUF_SIZE));
	/* The mapping is valid again: no second update */
	EXPECT_EQ(-EINVAL, update_vaddr(self->fd, self->new_va, IOVA,
					BUF_SIZE));
}

TEST_F(vaddr, unmap_all_can_invalidate_every_mapping)
{
	__u64 size = 0;

	ASSERT_EQ(0, invalidate_vaddr(self->fd, VFIO_DMA_UNMAP_FLAG_ALL, 0,
				      &size));
	EXPECT_EQ(BUF_SIZE, size);
	EXPECT_EQ(0, update_vaddr(self->fd, self->new_va, IOVA, BUF_SIZE));
}

TEST_F(vaddr, vaddr_and_a_dirty_bitmap_do_not_combine)
{
	__u64 size = BUF_SIZE;

	EXPECT_EQ(-EINVAL,
		  invalidate_vaddr(self->fd,
				   VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP, IOVA,
				   &size));
}

TEST_F(vaddr, a_device_that_would_need_pins_is_refused_until_the_update)
{
	__u64 size = BUF_SIZE;
	__u32 stdev_id, hwpt_id;

	/* Nothing is pinned yet: attaching would need the address */
	ASSERT_EQ(0, invalidate_vaddr(self->fd, 0, IOVA, &size));
	EXPECT_EQ(-EBUSY, mock_device(self->fd, self->ioas_id, &stdev_id,
				      &hwpt_id));
	ASSERT_EQ(0, update_vaddr(self->fd, self->new_va, IOVA, BUF_SIZE));
	ASSERT_EQ(0, mock_device(self->fd, self->ioas_id, &stdev_id,
				 &hwpt_id));
	EXPECT_EQ(0, check_map(self->fd, hwpt_id, IOVA, self->new_va,
			       BUF_SIZE));
}

struct pinner {
	int fd;
	int access_fd;
	void *va;
	int ret;
	int done;
};

/* An emulated device pinning the first page of the mapping */
static void *pin_first_page(void *arg)
{
	struct pinner *p = arg;
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_PAGES,
		.id = p->access_fd,
		.access_pages = { .iova = IOVA, .length = getpagesize(),
				  .uptr = (uintptr_t)p->va },
	};

	p->ret = do_ioctl(p->fd, IOMMU_TEST_CMD, &cmd);
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int create_pinning_access(int fd, __u32 ioas_id)
{
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = ioas_id,
		.create_access = {
			.flags = MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES,
		},
	};

	return do_ioctl(fd, IOMMU_TEST_CMD, &cmd) ? -1 :
		       (int)cmd.create_access.out_access_fd;
}

TEST_F(vaddr, an_emulated_device_waits_for_the_new_address)
{
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	struct pinner p = { .fd = self->fd, .va = self->new_va };
	__u64 size = BUF_SIZE;
	pthread_t thread;

	p.access_fd = create_pinning_access(self->fd, self->ioas_id);
	ASSERT_LE(0, p.access_fd);
	ASSERT_EQ(0, invalidate_vaddr(self->fd, 0, IOVA, &size));
	ASSERT_EQ(0, pthread_create(&thread, NULL, pin_first_page, &p));
	/* It cannot finish before the address comes back */
	nanosleep(&tick, NULL);
	EXPECT_EQ(0, __atomic_load_n(&p.done, __ATOMIC_ACQUIRE));
	/* The VMM is not blocked by the waiting access: no deadlock */
	ASSERT_EQ(0, update_vaddr(self->fd, self->new_va, IOVA, BUF_SIZE));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(0, p.ret);
	close(p.access_fd);
}

TEST_F(vaddr, a_waiting_emulated_device_learns_of_an_unmap)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = IOVA, .size = BUF_SIZE,
	};
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	struct pinner p = { .fd = self->fd, .va = self->new_va };
	__u64 size = BUF_SIZE;
	pthread_t thread;

	p.access_fd = create_pinning_access(self->fd, self->ioas_id);
	ASSERT_LE(0, p.access_fd);
	ASSERT_EQ(0, invalidate_vaddr(self->fd, 0, IOVA, &size));
	ASSERT_EQ(0, pthread_create(&thread, NULL, pin_first_page, &p));
	nanosleep(&tick, NULL);
	ASSERT_EQ(0, do_ioctl(self->fd, VFIO_IOMMU_UNMAP_DMA, &unmap));
	ASSERT_EQ(0, pthread_join(thread, NULL));
	EXPECT_EQ(-ENOENT, p.ret);
	close(p.access_fd);
}

/* An emulated device reading the first bytes of the mapping */
static void *read_first_bytes(void *arg)
{
	struct pinner *p = arg;
	char buf[64];
	struct iommu_test_cmd cmd = {
		.size = sizeof(cmd), .op = IOMMU_TEST_OP_ACCESS_RW,
		.id = p->access_fd,
		.access_rw = { .iova = IOVA, .length = sizeof(buf),
			       .uptr = (uintptr_t)buf },
	};

	p->ret = do_ioctl(p->fd, IOMMU_TEST_CMD, &cmd);
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A process killed while its emulated device waits for the new address:
 * the wait ends, the process exits, and the container is as before.
 */
static void kill_a_waiting_access(struct __test_metadata *_metadata,
				  struct _test_data_vaddr *self,
				  void *(*use)(void *), __u32 access_flags)
{
	struct timespec tick = { 0, 200 * 1000 * 1000 };
	struct iommu_test_cmd create = {
		.size = sizeof(create), .op = IOMMU_TEST_OP_CREATE_ACCESS,
		.id = self->ioas_id,
		.create_access = { .flags = access_flags },
	};
	struct pinner p = { .fd = self->fd, .va = self->new_va };
	__u32 stdev_id, hwpt_id;
	__u64 size = BUF_SIZE;
	int status;
	pid_t pid;

	ASSERT_EQ(0, invalidate_vaddr(self->fd, 0, IOVA, &size));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		if (do_ioctl(self->fd, IOMMU_TEST_CMD, &create))
			_exit(1);
		p.access_fd = create.create_access.out_access_fd;
		use(&p);
		/* Only the kill ends the wait */
		_exit(2);
	}
	nanosleep(&tick, NULL);
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG));
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGKILL, WTERMSIG(status));
	/* The mapping is still there, waiting for its address */
	EXPECT_EQ(-EBUSY, mock_device(self->fd, self->ioas_id, &stdev_id,
				      &hwpt_id));
	ASSERT_EQ(0, update_vaddr(self->fd, self->new_va, IOVA, BUF_SIZE));
	ASSERT_EQ(0, mock_device(self->fd, self->ioas_id, &stdev_id,
				 &hwpt_id));
	EXPECT_EQ(0, check_map(self->fd, hwpt_id, IOVA, self->new_va,
			       BUF_SIZE));
}

TEST_F(vaddr, a_process_killed_while_its_device_waits_to_pin_exits)
{
	kill_a_waiting_access(_metadata, self, pin_first_page,
			      MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
}

TEST_F(vaddr, a_process_killed_while_its_device_waits_to_read_exits)
{
	kill_a_waiting_access(_metadata, self, read_first_bytes, 0);
}

TEST_F(vaddr, pinned_memory_serves_an_emulated_device_at_once)
{
	struct pinner p = { .fd = self->fd, .va = self->old_va };
	__u32 stdev_id, hwpt_id;
	__u64 size = BUF_SIZE;

	/* A device pinned everything before the address went away */
	ASSERT_EQ(0, mock_device(self->fd, self->ioas_id, &stdev_id,
				 &hwpt_id));
	p.access_fd = create_pinning_access(self->fd, self->ioas_id);
	ASSERT_LE(0, p.access_fd);
	ASSERT_EQ(0, invalidate_vaddr(self->fd, 0, IOVA, &size));
	pin_first_page(&p);
	EXPECT_EQ(0, p.ret);
	close(p.access_fd);
}

TEST_HARNESS_MAIN
