/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the process has pinned, as the kernel counts it: VmPin in
 * /proc/self/status, which iommufd and the VFIO container charge.
 */
#ifndef __SELFTEST_IOMMU_VM_PINNED_H
#define __SELFTEST_IOMMU_VM_PINNED_H

#include <stdio.h>

/* The process's VmPin in KiB, -1 if unreadable */
static inline long vm_pinned_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmPin: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}
#endif
