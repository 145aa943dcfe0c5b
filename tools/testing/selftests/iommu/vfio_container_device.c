// SPDX-License-Identifier: GPL-2.0-only
/*
 * The legacy VFIO flow, as QEMU 7.2 and DPDK use it, on a real device
 * (QEMU's edu behind emulated VT-d) through the container that iommufd
 * provides: /dev/vfio/vfio, the group, VFIO_SET_IOMMU, type1 maps, the
 * device fd from the group, and DMA through the mappings.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "kselftest_harness.h"
#include "edu_device.h"
#include "vm_pinned.h"

#define DMA_IOVA 0x300000UL
#define BUF_SIZE 0x4000UL

FIXTURE(container) {
	int container;
	int group;
	int devfd;
	__u64 bar0;
	unsigned char *buf;
};

FIXTURE_VARIANT(container) {
	unsigned long type;
};

FIXTURE_VARIANT_ADD(container, type1v2) {
	.type = VFIO_TYPE1v2_IOMMU,
};

FIXTURE_VARIANT_ADD(container, type1) {
	.type = VFIO_TYPE1_IOMMU,
};

static int dma_map(int container, void *va, __u64 len, __u64 iova)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va, .iova = iova, .size = len,
	};

	return ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}

FIXTURE_SETUP(container)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char bdf[64];

	ASSERT_EQ(0, edu_find(0, bdf, sizeof(bdf)));
	ASSERT_EQ(0, edu_bind_vfio_pci(bdf));
	self->container = open("/dev/vfio/vfio", O_RDWR);
	ASSERT_LE(0, self->container);
	self->group = edu_open_group(bdf);
	ASSERT_LE(0, self->group);
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_GET_STATUS, &status));
	ASSERT_TRUE(status.flags & VFIO_GROUP_FLAGS_VIABLE);
	ASSERT_EQ(0, ioctl(self->group, VFIO_GROUP_SET_CONTAINER,
			   &self->container));
	ASSERT_EQ(0, ioctl(self->container, VFIO_SET_IOMMU, variant->type));
	self->devfd = ioctl(self->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	ASSERT_LE(0, self->devfd);
	ASSERT_EQ(0, edu_prepare_dma(self->devfd, &self->bar0));
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(container)
{
	munmap(self->buf, BUF_SIZE);
	close(self->devfd);
	close(self->group);
	close(self->container);
}

TEST_F(container, advertises_type1_and_type1v2)
{
	EXPECT_EQ(VFIO_API_VERSION, ioctl(self->container,
					  VFIO_GET_API_VERSION));
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1_IOMMU));
	EXPECT_EQ(1, ioctl(self->container, VFIO_CHECK_EXTENSION,
			   VFIO_TYPE1v2_IOMMU));
}

TEST_F(container, get_info_reports_page_sizes_and_the_iova_range_cap)
{
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *cap;
	size_t len = sizeof(*info);
	unsigned int found = 0;
	__u32 next;

	info = calloc(1, 4096);
	ASSERT_NE(NULL, info);
	info->argsz = len;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	EXPECT_TRUE(info->flags & VFIO_IOMMU_INFO_PGSIZES);
	EXPECT_TRUE(info->iova_pgsizes & 4096);
	/* The caps did not fit: argsz now says how much room they need */
	ASSERT_LT(len, info->argsz);
	ASSERT_GE(4096, info->argsz);
	len = info->argsz;
	memset(info, 0, 4096);
	info->argsz = len;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	ASSERT_NE(0, info->cap_offset);
	/* The chain has no set order: walk it for both capabilities */
	for (next = info->cap_offset; next; next = cap->next) {
		ASSERT_GE(len, next + sizeof(*cap));
		cap = (struct vfio_info_cap_header *)((char *)info + next);
		found |= 1u << cap->id;
	}
	EXPECT_TRUE(found & (1u << VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE));
	EXPECT_TRUE(found & (1u << VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL));
	free(info);
}

/*
 * Exactly min(argsz, sizeof(info)) bytes of the struct come back, every
 * one set (cap_offset and pad too); the chain is type1's: migration, the
 * mappings left, the IOVA ranges, each on 8 bytes; a large enough argsz
 * is left alone.
 */
TEST_F(container, get_info_sets_every_byte_it_returns_in_type1_layout)
{
	unsigned char b[4096];
	struct vfio_iommu_type1_info *info = (void *)b;
	struct vfio_info_cap_header *cap;
	__u32 need;

	memset(b, 0xa5, sizeof(b));
	info->argsz = sizeof(*info);
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	need = info->argsz;
	EXPECT_LT(sizeof(*info), need);
	EXPECT_EQ(0, info->cap_offset);
	EXPECT_EQ(0, info->pad);
	EXPECT_EQ(0xa5, b[sizeof(*info)]);

	memset(b, 0xa5, sizeof(b));
	info->argsz = sizeof(b);
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_GET_INFO, info));
	EXPECT_EQ(sizeof(b), info->argsz);
	EXPECT_EQ(0, info->pad);
	ASSERT_EQ(sizeof(*info), info->cap_offset);
	cap = (void *)(b + info->cap_offset);
	EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, cap->id);
	ASSERT_EQ(sizeof(*info) + 32, cap->next);
	cap = (void *)(b + cap->next);
	EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, cap->id);
	ASSERT_EQ(sizeof(*info) + 48, cap->next);
	cap = (void *)(b + cap->next);
	EXPECT_EQ(VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, cap->id);
	EXPECT_EQ(0, cap->next);
	EXPECT_EQ(need, sizeof(*info) + 48 + 16 +
		  16 * ((struct vfio_iommu_type1_info_cap_iova_range *)cap)
			       ->nr_iovas);
	/* Past the chain nothing is written */
	EXPECT_EQ(0xa5, b[need]);
}

TEST_F(container, a_mapped_buffer_takes_dma_both_ways)
{
	unsigned int i;

	for (i = 0; i != EDU_DMA_MAX; i++) {
		self->buf[i] = (unsigned char)(i * 5 + 1);
		self->buf[EDU_DMA_MAX + i] = 0;
	}
	ASSERT_EQ(0, dma_map(self->container, self->buf, BUF_SIZE, DMA_IOVA));
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, DMA_IOVA, EDU_BUFFER,
			     EDU_DMA_MAX, 0));
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, EDU_BUFFER,
			     DMA_IOVA + EDU_DMA_MAX, EDU_DMA_MAX,
			     EDU_DMA_TO_RAM));
	EXPECT_EQ(0, memcmp(self->buf, self->buf + EDU_DMA_MAX, EDU_DMA_MAX));
}

/*
 * The device file may outlive the container and group files (closing the
 * group does not wait for its devices): the device's binding keeps the
 * iommufd context, its IOAS and the mappings alive, and DMA goes on.
 */
TEST_F(container, the_device_file_outlives_the_container_and_group_files)
{
	unsigned int i;

	for (i = 0; i != EDU_DMA_MAX; i++) {
		self->buf[i] = (unsigned char)(i * 3 + 7);
		self->buf[EDU_DMA_MAX + i] = 0;
	}
	ASSERT_EQ(0, dma_map(self->container, self->buf, BUF_SIZE, DMA_IOVA));
	ASSERT_EQ(0, close(self->container));
	self->container = -1;
	ASSERT_EQ(0, close(self->group));
	self->group = -1;
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, DMA_IOVA, EDU_BUFFER,
			     EDU_DMA_MAX, 0));
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, EDU_BUFFER,
			     DMA_IOVA + EDU_DMA_MAX, EDU_DMA_MAX,
			     EDU_DMA_TO_RAM));
	EXPECT_EQ(0, memcmp(self->buf, self->buf + EDU_DMA_MAX, EDU_DMA_MAX));
}

/* A device file from VFIO_GROUP_GET_DEVICE_FD uses the container only */
TEST_F(container, a_device_file_from_its_group_cannot_bind_an_iommufd)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };

	bind.iommufd = open("/dev/iommu", O_RDWR);
	ASSERT_LE(0, bind.iommufd);
	EXPECT_EQ(-1, ioctl(self->devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind));
	EXPECT_EQ(EINVAL, errno);
	close(bind.iommufd);
}

TEST_F(container, unmap_returns_the_size_and_unmap_all_empties)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = DMA_IOVA, .size = BUF_SIZE,
	};

	ASSERT_EQ(0, dma_map(self->container, self->buf, BUF_SIZE, DMA_IOVA));
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(BUF_SIZE, unmap.size);
	ASSERT_EQ(0, dma_map(self->container, self->buf, BUF_SIZE, DMA_IOVA));
	unmap.flags = VFIO_DMA_UNMAP_FLAG_ALL;
	unmap.iova = 0;
	unmap.size = 0;
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(BUF_SIZE, unmap.size);
}

/*
 * A range that runs past the end of the IOVA space, or an iova or size of
 * ULONG_MAX or more, is an arithmetic overflow: EOVERFLOW for MAP_DMA and
 * UNMAP_DMA alike, as on /dev/iommu (6.12's type1 says EINVAL to both).
 */
/*
 * A page-aligned range past the top of the IOVA space overflows; one that
 * is not aligned to the IO page is refused for that first, as in type1.
 */
TEST_F(container, map_and_unmap_past_the_top_are_eoverflow)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	const __u64 ranges[][3] = {
		{ 0xfffffffffffff000ULL, 0x2000, EOVERFLOW },
		{ 0xffffffffffe00000ULL, 0x400000, EOVERFLOW },
		{ UINT64_MAX, 0x1000, EINVAL },
		{ 0, UINT64_MAX, EINVAL },
	};
	long before = vm_pinned_kib();
	unsigned int i;

	for (i = 0; i != ARRAY_SIZE(ranges); i++) {
		errno = 0;
		EXPECT_EQ(-1, dma_map(self->container, self->buf,
				      ranges[i][1], ranges[i][0]));
		EXPECT_EQ(ranges[i][2], errno);
		unmap.iova = ranges[i][0];
		unmap.size = ranges[i][1];
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_UNMAP_DMA,
				    &unmap));
		EXPECT_EQ(ranges[i][2], errno);
	}
	EXPECT_EQ(before, vm_pinned_kib());
}

/* type1 maps and unmaps whole IO pages only: the rest is EINVAL */
TEST_F(container, map_and_unmap_of_a_part_of_an_io_page_are_einval)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = DMA_IOVA + 0x800,
		.size = 4096,
	};

	EXPECT_EQ(-1, dma_map(self->container, self->buf + 0x10, 4096,
			      DMA_IOVA));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, dma_map(self->container, self->buf, 4096,
			      DMA_IOVA + 0x10));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, dma_map(self->container, self->buf, 0x1800, DMA_IOVA));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(EINVAL, errno);
	unmap.iova = DMA_IOVA;
	unmap.size = 0x800;
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(container, type1_unmap_can_cut_a_mapping_type1v2_cannot)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = DMA_IOVA, .size = 4096,
	};
	int ret;

	ASSERT_EQ(0, dma_map(self->container, self->buf, BUF_SIZE, DMA_IOVA));
	ret = ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap);
	if (variant->type == VFIO_TYPE1_IOMMU) {
		ASSERT_EQ(0, ret);
		EXPECT_EQ(4096, unmap.size);
	} else {
		/*
		 * type1 says EINVAL; 6.12's iommufd says ENOENT, and its own
		 * kselftests hold it to that, so ENOENT it stays.
		 */
		ASSERT_EQ(-1, ret);
		EXPECT_EQ(ENOENT, errno);
	}
}

#define HUGE_IOVA 0x40000000UL
#define HUGE_SIZE 0x200000UL

/*
 * A type1 (v1) unmap may take any page out of a mapping, whatever the
 * IOMMU: even in a huge page, whose pages are one physical run, the cut
 * page no longer reaches memory while the pages either side still do.
 * (virtio-iommu unmaps only whole MAP requests, so a v1 mapping must not
 * give it one run as one request.)
 */
TEST_F(container, a_type1_cut_inside_a_huge_page_unmaps_exactly_that_page)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = HUGE_IOVA + 4 * 4096,
		.size = 4096,
	};
	struct timespec settle = { 1, 0 };
	unsigned char *huge, *cut;
	unsigned int i;

	if (variant->type != VFIO_TYPE1_IOMMU)
		SKIP(return, "only a type1 (v1) unmap cuts a mapping");
	huge = mmap(NULL, HUGE_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (huge == MAP_FAILED)
		SKIP(return, "no 2 MiB hugepage");
	for (i = 0; i != HUGE_SIZE; i++)
		huge[i] = (unsigned char)(i * 7 + 3);
	ASSERT_EQ(0, dma_map(self->container, huge, HUGE_SIZE, HUGE_IOVA));
	ASSERT_EQ(0, ioctl(self->container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(4096, unmap.size);

	/* The pages before and after the cut: read one, write the other */
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, HUGE_IOVA + 3 * 4096,
			     EDU_BUFFER, EDU_DMA_MAX, 0));
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, EDU_BUFFER,
			     HUGE_IOVA + 5 * 4096, EDU_DMA_MAX,
			     EDU_DMA_TO_RAM));
	EXPECT_EQ(0, memcmp(huge + 3 * 4096, huge + 5 * 4096, EDU_DMA_MAX));

	/* The cut page: the device's write is blocked and reported */
	cut = huge + 4 * 4096;
	memset(cut, 0x5a, 4096);
	kernel_log_marker("harness: expect-fault begin\n");
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, EDU_BUFFER,
			     HUGE_IOVA + 4 * 4096, EDU_DMA_MAX,
			     EDU_DMA_TO_RAM));
	nanosleep(&settle, NULL);
	kernel_log_marker("harness: expect-fault end\n");
	for (i = 0; i != 4096; i++)
		ASSERT_EQ(0x5a, cut[i]);
	munmap(huge, HUGE_SIZE);
}

static int dirty_pages(int container, __u32 flags, __u64 iova, __u64 size,
		       __u64 *bits)
{
	struct vfio_iommu_type1_dirty_bitmap_get get = {
		.iova = iova, .size = size,
		.bitmap = { .pgsize = 4096, .size = sizeof(__u64),
			    .data = bits },
	};
	struct vfio_iommu_type1_dirty_bitmap hdr = {
		.argsz = sizeof(hdr) + sizeof(get), .flags = flags,
	};
	char buf[sizeof(hdr) + sizeof(get)];

	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), &get, sizeof(get));
	return ioctl(container, VFIO_IOMMU_DIRTY_PAGES, buf) ? -errno : 0;
}

TEST_F(container, dirty_tracking_reports_what_the_device_may_have_written)
{
	const __u64 start = VFIO_IOMMU_DIRTY_PAGES_FLAG_START;
	const __u64 get = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	__u64 bits = 0;

	ASSERT_EQ(0, dma_map(self->container, self->buf, BUF_SIZE, DMA_IOVA));
	if (variant->type == VFIO_TYPE1_IOMMU) {
		/* Like type1: only a v2 container tracks */
		EXPECT_EQ(-EACCES, dirty_pages(self->container, start, 0, 0,
					       &bits));
		return;
	}
	ASSERT_EQ(0, dirty_pages(self->container, start, 0, 0, &bits));
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, EDU_BUFFER,
			     DMA_IOVA + 4096, EDU_DMA_MAX, EDU_DMA_TO_RAM));
	/* Twice the mapping: the unmapped half is never dirty */
	ASSERT_EQ(0, dirty_pages(self->container, get, DMA_IOVA,
				 2 * BUF_SIZE, &bits));
	EXPECT_EQ(1ULL << 1, bits & (1ULL << 1));
	EXPECT_EQ(0, bits >> (BUF_SIZE / 4096));
	/*
	 * QEMU 7.2's VT-d has no dirty bits, so type1's rule holds: every
	 * mapped page is dirty, on every read.
	 */
	bits = 0;
	ASSERT_EQ(0, dirty_pages(self->container, get, DMA_IOVA, BUF_SIZE,
				 &bits));
	EXPECT_EQ((1ULL << (BUF_SIZE / 4096)) - 1, bits);
}

/* The limit's parameter: iommufd's, or type1's where it serves */
static const char *const limit_params[] = {
	"/sys/module/iommufd/parameters/dma_entry_limit",
	"/sys/module/vfio_iommu_type1/parameters/dma_entry_limit",
};

static __u32 dma_avail(int container)
{
	struct vfio_iommu_type1_info *info = calloc(1, 4096);
	struct vfio_iommu_type1_info_dma_avail *avail;
	struct vfio_info_cap_header *cap;
	__u32 next, ret = ~0U;

	if (!info)
		return ~0U;
	info->argsz = 4096;
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info))
		goto out;
	for (next = info->cap_offset; next; next = cap->next) {
		cap = (struct vfio_info_cap_header *)((char *)info + next);
		if (cap->id != VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL)
			continue;
		avail = (struct vfio_iommu_type1_info_dma_avail *)cap;
		ret = avail->avail;
	}
out:
	free(info);
	return ret;
}

/*
 * A container holds at most dma_entry_limit mappings (type1's parameter,
 * 65535 by default), as fixed when VFIO_SET_IOMMU chose the type;
 * DMA_AVAIL counts down to 0, and one more map is ENOSPC.
 */
/*
 * The first edu, given to vfio-pci (its address into @bdf), a new
 * container and the edu's group file; the group has joined nothing yet.
 */
static int open_container_and_group(char *bdf, size_t len, int *container,
				    int *group)
{
	*container = *group = -1;
	if (edu_find(0, bdf, len) || edu_bind_vfio_pci(bdf))
		return -1;
	*container = open("/dev/vfio/vfio", O_RDWR);
	*group = edu_open_group(bdf);
	return *container < 0 || *group < 0 ? -1 : 0;
}

TEST(the_mapping_limit_is_set_with_the_iommu_type)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .size = 4096,
	};
	int container, group, i;
	const char *param = NULL;
	char bdf[64], old[32];
	unsigned char *buf;
	ssize_t n;

	for (i = 0; i != 2 && !param; i++)
		if (!access(limit_params[i], W_OK))
			param = limit_params[i];
	if (!param)
		SKIP(return, "no dma_entry_limit parameter");
	i = open(param, O_RDONLY);
	ASSERT_LE(0, i);
	n = read(i, old, sizeof(old) - 1);
	close(i);
	ASSERT_LT(0, n);
	old[n] = 0;
	ASSERT_EQ(65535, atoi(old));

	buf = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, open_container_and_group(bdf, sizeof(bdf), &container,
					      &group));
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
	ASSERT_EQ(0, edu_write(param, "3"));
	EXPECT_EQ(0, ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	/* Too late to change the container's limit */
	EXPECT_EQ(0, edu_write(param, old));

	EXPECT_EQ(3, dma_avail(container));
	for (i = 0; i != 3; i++)
		EXPECT_EQ(0, dma_map(container, buf + i * 4096, 4096,
				     DMA_IOVA + i * 0x10000));
	EXPECT_EQ(0, dma_avail(container));
	EXPECT_EQ(-1, dma_map(container, buf + 3 * 4096, 4096,
			      DMA_IOVA + 3 * 0x10000));
	EXPECT_EQ(ENOSPC, errno);
	unmap.iova = DMA_IOVA;
	EXPECT_EQ(0, ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(1, dma_avail(container));
	EXPECT_EQ(0, dma_map(container, buf + 3 * 4096, 4096,
			     DMA_IOVA + 3 * 0x10000));
	close(group);
	close(container);
	munmap(buf, 4 * 4096);
}

/*
 * Peer-to-peer DMA, as type1 allows it: the second edu's BAR0, mmapped
 * through its VFIO device file, is a VM_PFNMAP mapping with no pages to
 * pin (not even faulted in here), yet MAP_DMA takes it.  The first edu
 * then writes through that IOVA into the second one's "liveness" register
 * (0x04), which reads back the complement of what was written to it.
 */
#define P2P_IOVA 0x40000000UL
#define EDU_REG_LIVENESS 0x04

/*
 * The second edu in the fixture's container, its device file in *@devfd
 * and its BAR0 described in @bar; false if the machine has no second edu.
 */
static bool second_edu(struct __test_metadata *_metadata, int container,
		       int *group, int *devfd, struct vfio_region_info *bar)
{
	char bdf[64];
	__u64 bar0;

	if (edu_find(1, bdf, sizeof(bdf)))
		return false;
	ASSERT_EQ(0, edu_bind_vfio_pci(bdf));
	*group = edu_open_group(bdf);
	ASSERT_LE(0, *group);
	ASSERT_EQ(0, ioctl(*group, VFIO_GROUP_SET_CONTAINER, &container));
	*devfd = ioctl(*group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	ASSERT_LE(0, *devfd);
	ASSERT_EQ(0, edu_prepare_dma(*devfd, &bar0));
	*bar = (struct vfio_region_info){
		.argsz = sizeof(*bar), .index = VFIO_PCI_BAR0_REGION_INDEX,
	};
	ASSERT_EQ(0, ioctl(*devfd, VFIO_DEVICE_GET_REGION_INFO, bar));
	ASSERT_TRUE(bar->flags & VFIO_REGION_INFO_FLAG_MMAP);
	return true;
}

TEST_F(container, a_device_bar_can_be_mapped_for_peer_to_peer_dma)
{
	struct vfio_region_info bar;
	const __u32 value = 0x600dcafe;
	__u32 reg = 0;
	int group, devfd;
	void *bar_va;
	long pinned;

	if (!second_edu(_metadata, self->container, &group, &devfd, &bar))
		SKIP(return, "no second edu device");
	bar_va = mmap(NULL, bar.size, PROT_READ | PROT_WRITE, MAP_SHARED, devfd,
		      bar.offset);
	ASSERT_NE(MAP_FAILED, bar_va);

	pinned = vm_pinned_kib();
	ASSERT_EQ(0, dma_map(self->container, bar_va, bar.size, P2P_IOVA));
	/* A BAR has no pages: nothing is pinned or charged for it */
	EXPECT_EQ(pinned, vm_pinned_kib());
	ASSERT_EQ(0, dma_map(self->container, self->buf, BUF_SIZE, DMA_IOVA));
	memcpy(self->buf, &value, sizeof(value));
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, DMA_IOVA, EDU_BUFFER,
			     sizeof(value), 0));
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, EDU_BUFFER,
			     P2P_IOVA + EDU_REG_LIVENESS, sizeof(value),
			     EDU_DMA_TO_RAM));
	ASSERT_EQ(4, pread(devfd, &reg, 4, bar.offset + EDU_REG_LIVENESS));
	EXPECT_EQ(~value, reg);

	EXPECT_EQ(0, ioctl(self->container, VFIO_IOMMU_UNMAP_DMA,
			   &(struct vfio_iommu_type1_dma_unmap){
				   .argsz = sizeof(struct vfio_iommu_type1_dma_unmap),
				   .iova = P2P_IOVA, .size = bar.size }));
	munmap(bar_va, bar.size);
	close(devfd);
	close(group);
}

/*
 * One mapping over memory and, right after it, a BAR: each page is mapped
 * as what it is, the memory pinned, the BAR as MMIO.  The first edu
 * reads the memory page and writes the second edu's register through the
 * same mapping.
 */
TEST_F(container, a_mapping_over_memory_then_a_bar_maps_each_as_its_kind)
{
	long page = sysconf(_SC_PAGESIZE);
	const __u32 value = 0x5eed1e55;
	struct vfio_region_info bar;
	int group, devfd;
	__u32 reg = 0;
	char *area;

	if (!second_edu(_metadata, self->container, &group, &devfd, &bar))
		SKIP(return, "no second edu device");
	area = mmap(NULL, page + bar.size, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	ASSERT_EQ(area, mmap(area, page, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	ASSERT_EQ(area + page, mmap(area + page, bar.size,
				    PROT_READ | PROT_WRITE,
				    MAP_SHARED | MAP_FIXED, devfd, bar.offset));
	memcpy(area, &value, sizeof(value));
	ASSERT_EQ(0, dma_map(self->container, area, page + bar.size,
			     P2P_IOVA));
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, P2P_IOVA, EDU_BUFFER,
			     sizeof(value), 0));
	ASSERT_EQ(0, edu_dma(self->devfd, self->bar0, EDU_BUFFER,
			     P2P_IOVA + page + EDU_REG_LIVENESS, sizeof(value),
			     EDU_DMA_TO_RAM));
	ASSERT_EQ(4, pread(devfd, &reg, 4, bar.offset + EDU_REG_LIVENESS));
	EXPECT_EQ(~value, reg);
	munmap(area, page + bar.size);
	close(devfd);
	close(group);
}

/*
 * A BAR is mapped with the permissions of its user mapping: read-only for
 * devices from a read-only mmap, never writable from one; where nothing is
 * mapped any more, nothing is mapped for devices either (EFAULT).
 */
TEST_F(container, a_device_bar_maps_only_as_its_user_mapping_allows)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map), .flags = VFIO_DMA_MAP_FLAG_READ,
		.iova = P2P_IOVA,
	};
	struct vfio_region_info bar;
	int group, devfd;
	void *bar_va;

	if (!second_edu(_metadata, self->container, &group, &devfd, &bar))
		SKIP(return, "no second edu device");
	bar_va = mmap(NULL, bar.size, PROT_READ, MAP_SHARED, devfd,
		      bar.offset);
	ASSERT_NE(MAP_FAILED, bar_va);
	map.vaddr = (uintptr_t)bar_va;
	map.size = bar.size;
	map.flags |= VFIO_DMA_MAP_FLAG_WRITE;
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map));
	EXPECT_EQ(EFAULT, errno);
	map.flags = VFIO_DMA_MAP_FLAG_READ;
	EXPECT_EQ(0, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map));
	ASSERT_EQ(0, munmap(bar_va, bar.size));
	/* The same address, no longer mapped: not a BAR any more */
	map.iova += bar.size;
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &map));
	EXPECT_EQ(EFAULT, errno);
	close(devfd);
	close(group);
}

/*
 * Until VFIO_SET_IOMMU chose a type, after a group joined, a container
 * knows only its version, its extensions and that ioctl, as VFIO's own:
 * everything else, a device open included, is EINVAL; the type is chosen
 * once; a type no driver offers is ENODEV.
 */
TEST(a_container_does_nothing_before_set_iommu)
{
	struct vfio_iommu_type1_info info = { .argsz = sizeof(info) };
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap), .iova = DMA_IOVA, .size = 4096,
	};
	struct vfio_iommu_type1_dirty_bitmap dirty = {
		.argsz = sizeof(dirty),
		.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
	};
	int container, group, devfd;
	char bdf[64];
	void *buf;

	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, open_container_and_group(bdf, sizeof(bdf), &container,
					      &group));

	/* No group: nothing to choose a type for */
	EXPECT_EQ(-1, ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, ioctl(group, VFIO_GROUP_SET_CONTAINER, &container));
	EXPECT_EQ(VFIO_API_VERSION, ioctl(container, VFIO_GET_API_VERSION));
	EXPECT_EQ(1, ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(0, ioctl(container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR));
	EXPECT_EQ(-1, dma_map(container, buf, 4096, DMA_IOVA));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(container, VFIO_IOMMU_GET_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(container, VFIO_IOMMU_DIRTY_PAGES, &dirty));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(container, _IO(VFIO_TYPE, VFIO_BASE + 27)));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf));
	EXPECT_EQ(EINVAL, errno);

	EXPECT_EQ(-1, ioctl(container, VFIO_SET_IOMMU, 42));
	EXPECT_EQ(ENODEV, errno);
	ASSERT_EQ(0, ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(-1, ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, ioctl(container, VFIO_CHECK_EXTENSION, VFIO_UPDATE_VADDR));
	EXPECT_EQ(-1, ioctl(container, _IO(VFIO_TYPE, VFIO_BASE + 27)));
	EXPECT_EQ(ENOTTY, errno);
	devfd = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	EXPECT_LE(0, devfd);
	EXPECT_EQ(0, dma_map(container, buf, 4096, DMA_IOVA));
	EXPECT_EQ(0, ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap));
	EXPECT_EQ(4096, unmap.size);
	if (devfd >= 0)
		close(devfd);
	close(group);
	close(container);
	munmap(buf, BUF_SIZE);
}

/* A v1 container tracks no dirty pages: EACCES before any other check */
TEST_F(container, dirty_pages_of_a_v1_container_are_eacces_first)
{
	struct vfio_iommu_type1_dirty_bitmap dirty = {
		.argsz = 1, .flags = 0xff,
	};

	errno = 0;
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_DIRTY_PAGES, &dirty));
	EXPECT_EQ(variant->type == VFIO_TYPE1_IOMMU ? EACCES : EINVAL, errno);
}

/*
 * /dev/vfio/vfio served by iommufd is an iommufd file: IOMMU_VFIO_IOAS
 * can take the container's IOAS away.  Then every call that needs it is
 * ENODEV, and nothing is mapped.
 */
TEST_F(container, calls_after_the_ioas_is_cleared_are_enodev)
{
	struct iommu_vfio_ioas clear = {
		.size = sizeof(clear), .op = IOMMU_VFIO_IOAS_CLEAR,
	};
	struct vfio_iommu_type1_dma_map vaddr = {
		.argsz = sizeof(vaddr), .flags = VFIO_DMA_MAP_FLAG_VADDR,
		.vaddr = (uintptr_t)self->buf, .iova = DMA_IOVA,
		.size = BUF_SIZE,
	};
	struct vfio_iommu_type1_dirty_bitmap dirty = {
		.argsz = sizeof(dirty), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
	};

	if (ioctl(self->container, IOMMU_VFIO_IOAS, &clear))
		SKIP(return, "the container is not an iommufd file (%s)",
		     strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, dma_map(self->container, self->buf, BUF_SIZE, DMA_IOVA));
	EXPECT_EQ(ENODEV, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_MAP_DMA, &vaddr));
	EXPECT_EQ(ENODEV, errno);
	if (variant->type == VFIO_TYPE1v2_IOMMU) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->container, VFIO_IOMMU_DIRTY_PAGES,
				    &dirty));
		EXPECT_EQ(ENODEV, errno);
	}
}

TEST_HARNESS_MAIN
