/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The floor of make bench: what pinning a user buffer and mapping it into
 * an IOMMU paging domain costs with no bookkeeping at all, measured by a
 * test-only module (iommufd_bench_floor.ko) through /dev/iommufd_bench_floor.
 */
#ifndef _BENCH_FLOOR_H
#define _BENCH_FLOOR_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct bench_floor_run - one pin, map, unmap, unpin of a user buffer
 * @uaddr: page-aligned start of the buffer
 * @length: page-aligned length of the buffer
 * @iova: page-aligned IOVA to map it at, in a new domain of the first edu
 * @pin_ns: out, pin_user_pages_fast() of every page (FOLL_LONGTERM)
 * @map_ns: out, iommu_map() of each physically contiguous run
 * @unmap_ns: out, one iommu_unmap() of the whole range
 * @unpin_ns: out, unpin_user_pages() of every page
 * @nr_maps: out, how many iommu_map() calls the runs took
 * @__reserved: must be 0
 */
struct bench_floor_run {
	__u64 uaddr;
	__u64 length;
	__u64 iova;
	__u64 pin_ns;
	__u64 map_ns;
	__u64 unmap_ns;
	__u64 unpin_ns;
	__u32 nr_maps;
	__u32 __reserved;
};

#define BENCH_FLOOR_RUN _IOWR('B', 0x40, struct bench_floor_run)

#endif
