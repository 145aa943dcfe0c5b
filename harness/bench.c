// SPDX-License-Identifier: GPL-2.0
/*
 * bench: a first measurement of IOAS_MAP/UNMAP on a real Intel VT-d paging
 * domain (QEMU's edu attached), run unchanged against both IMPLs.  The
 * full benchmark tool is `make bench`'s issue; this prints one line per
 * case: "bench: CASE map_us=N unmap_us=N" (medians of the rounds), after
 * checking by DMA that each mapping really translates.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "edu_device.h"

#define IOVA_BASE 0x40000000UL
#define ROUNDS 5

static int devfd, iommufd;
static __u32 ioas_id;
static __u64 bar0;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ULL + ts.tv_nsec / 1000;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int map(void *va, size_t len, __u64 iova)
{
	struct iommu_ioas_map cmd = {
		.size = sizeof(cmd),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas_id, .user_va = (uintptr_t)va, .length = len,
		.iova = iova,
	};

	return ioctl(iommufd, IOMMU_IOAS_MAP, &cmd);
}

static int unmap(__u64 iova, size_t len)
{
	struct iommu_ioas_unmap cmd = {
		.size = sizeof(cmd), .ioas_id = ioas_id, .iova = iova,
		.length = len,
	};

	return ioctl(iommufd, IOMMU_IOAS_UNMAP, &cmd);
}

/* Let the device read 8 bytes at @iova (into its buffer), then write them
 * back 64 bytes further: proves the IOMMU translates @iova to @va.
 */
static int check_by_dma(unsigned char *va, __u64 iova)
{
	memcpy(va, "iommufd!", 8);
	memset(va + 64, 0, 8);
	if (edu_dma(devfd, bar0, iova, EDU_BUFFER, 8, 0) ||
	    edu_dma(devfd, bar0, EDU_BUFFER, iova + 64, 8, EDU_DMA_TO_RAM))
		return -1;
	return memcmp(va + 64, "iommufd!", 8) ? -1 : 0;
}

static void *alloc(size_t len, const char *kind)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE;
	void *va;

	if (!strcmp(kind, "hugetlb"))
		flags |= MAP_HUGETLB;
	va = mmap(NULL, len + (2UL << 20), PROT_READ | PROT_WRITE,
		  flags & ~MAP_POPULATE, -1, 0);
	if (va == MAP_FAILED)
		return NULL;
	va = (void *)(((uintptr_t)va + (2UL << 20) - 1) & ~((2UL << 20) - 1));
	if (!strcmp(kind, "thp"))
		madvise(va, len, MADV_HUGEPAGE);
	else if (!strcmp(kind, "4k"))
		madvise(va, len, MADV_NOHUGEPAGE);
	memset(va, 1, len);	/* fault everything in before timing */
	return va;
}

static void bench_case(const char *kind, size_t len)
{
	uint64_t tmap[ROUNDS], tunmap[ROUNDS], t;
	void *va = alloc(len, kind);
	int r;

	if (!va) {
		printf("bench: %s_%zuM unavailable (%s)\n", kind, len >> 20,
		       strerror(errno));
		return;
	}
	for (r = 0; r != ROUNDS; r++) {
		t = now_us();
		if (map(va, len, IOVA_BASE)) {
			printf("bench: %s_%zuM map failed: %s\n", kind,
			       len >> 20, strerror(errno));
			return;
		}
		tmap[r] = now_us() - t;
		if (check_by_dma((unsigned char *)va + len - 4096,
				 IOVA_BASE + len - 4096)) {
			printf("bench: %s_%zuM WRONG: DMA check failed\n",
			       kind, len >> 20);
			return;
		}
		t = now_us();
		if (unmap(IOVA_BASE, len)) {
			printf("bench: %s_%zuM unmap failed: %s\n", kind,
			       len >> 20, strerror(errno));
			return;
		}
		tunmap[r] = now_us() - t;
	}
	qsort(tmap, ROUNDS, sizeof(tmap[0]), cmp_u64);
	qsort(tunmap, ROUNDS, sizeof(tunmap[0]), cmp_u64);
	printf("bench: %s_%zuM map_us=%llu unmap_us=%llu\n", kind, len >> 20,
	       (unsigned long long)tmap[ROUNDS / 2],
	       (unsigned long long)tunmap[ROUNDS / 2]);
}

static void bench_small(size_t len, int count)
{
	void *va = alloc(2UL << 20, "4k");
	uint64_t t;
	int i;

	t = now_us();
	for (i = 0; i != count; i++) {
		if (map(va, len, IOVA_BASE) || unmap(IOVA_BASE, len)) {
			printf("bench: small_%zuK failed: %s\n", len >> 10,
			       strerror(errno));
			return;
		}
	}
	printf("bench: small_%zuK map_unmap_ns=%llu\n", len >> 10,
	       (unsigned long long)((now_us() - t) * 1000 / count));
}

int main(void)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct vfio_device_attach_iommufd_pt attach = {
		.argsz = sizeof(attach),
	};
	struct iommu_ioas_alloc alloc_cmd = { .size = sizeof(alloc_cmd) };
	char bdf[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (edu_find(0, bdf, sizeof(bdf)) || edu_bind_vfio_pci(bdf))
		return printf("bench: no edu device\n"), 1;
	devfd = edu_open_cdev(bdf);
	iommufd = open("/dev/iommu", O_RDWR);
	bind.iommufd = iommufd;
	if (devfd < 0 || iommufd < 0 ||
	    ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind) ||
	    ioctl(iommufd, IOMMU_IOAS_ALLOC, &alloc_cmd))
		return printf("bench: setup failed: %s\n", strerror(errno)), 1;
	ioas_id = alloc_cmd.out_ioas_id;
	attach.pt_id = ioas_id;
	if (ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach) ||
	    edu_prepare_dma(devfd, &bar0))
		return printf("bench: attach failed: %s\n", strerror(errno)), 1;

	bench_case("4k", 256UL << 20);
	bench_case("thp", 256UL << 20);
	bench_case("hugetlb", 128UL << 20);
	bench_small(4096, 2000);
	bench_small(65536, 500);
	printf("bench: done\n");
	return 0;
}
