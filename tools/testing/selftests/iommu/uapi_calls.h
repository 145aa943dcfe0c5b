/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The plumbing every test program of ours shares: an ioctl's result as 0
 * or a negative errno, the two commands nearly every test issues, the
 * VFIO container's map and unmap, user memory that ends in a hole, and
 * dropping a capability.
 */
#ifndef __SELFTEST_IOMMU_UAPI_CALLS_H
#define __SELFTEST_IOMMU_UAPI_CALLS_H

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

/*
 * 0, or -errno.  Only a return of -1 is a failure: some ioctls return a
 * positive value on success (a file descriptor, an extension's answer).
 */
static inline int do_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

/* Drop @cap from the calling thread's effective set; 0 or -1 */
static inline int drop_capability(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[cap / 32].effective &= ~(1U << (cap % 32));
	return syscall(SYS_capset, &hdr, data);
}

/*
 * @n bytes of user memory that end where an unmapped page begins: what the
 * kernel reads or writes past them faults.  NULL if it cannot be made.
 */
static inline void *bytes_before_a_hole(size_t n)
{
	long page = sysconf(_SC_PAGESIZE);
	char *area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (area == MAP_FAILED)
		return NULL;
	if (munmap(area + page, page)) {
		munmap(area, 2 * page);
		return NULL;
	}
	return area + page - n;
}

/* Unmap what bytes_before_a_hole() returned */
static inline void bytes_before_a_hole_free(void *p)
{
	long page = sysconf(_SC_PAGESIZE);

	munmap((void *)((uintptr_t)p & ~(uintptr_t)(page - 1)), page);
}

/* IOMMU_DESTROY of the object @id */
static inline int destroy(int fd, __u32 id)
{
	struct iommu_destroy cmd = { .size = sizeof(cmd), .id = id };

	return do_ioctl(fd, IOMMU_DESTROY, &cmd);
}

/* A new IOAS; its id in *@ioas_id */
static inline int ioas_alloc(int fd, __u32 *ioas_id)
{
	struct iommu_ioas_alloc cmd = { .size = sizeof(cmd) };
	int ret = do_ioctl(fd, IOMMU_IOAS_ALLOC, &cmd);

	*ioas_id = cmd.out_ioas_id;
	return ret;
}

/* VFIO_IOMMU_MAP_DMA of @len bytes at @va, readable and writable, at @iova */
static inline int vfio_map(int fd, void *va, __u64 len, __u64 iova)
{
	struct vfio_iommu_type1_dma_map cmd = {
		.argsz = sizeof(cmd),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)va, .iova = iova, .size = len,
	};

	return do_ioctl(fd, VFIO_IOMMU_MAP_DMA, &cmd);
}

/* VFIO_IOMMU_UNMAP_DMA; the bytes unmapped in *@unmapped, if not NULL */
static inline int vfio_unmap(int fd, __u32 flags, __u64 iova, __u64 len,
			     __u64 *unmapped)
{
	struct vfio_iommu_type1_dma_unmap cmd = {
		.argsz = sizeof(cmd), .flags = flags, .iova = iova,
		.size = len,
	};
	int ret = do_ioctl(fd, VFIO_IOMMU_UNMAP_DMA, &cmd);

	if (unmapped)
		*unmapped = cmd.size;
	return ret;
}
#endif
