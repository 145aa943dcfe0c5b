/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the process has pinned, as the kernel counts it in
 * /proc/self/status: VmPin, which /dev/iommu charges, plus VmLck, which the
 * VFIO container (and /dev/iommu's per-process mode) charges as type1
 * does; and the reader of such "Key: N kB" lines.
 */
#ifndef __SELFTEST_IOMMU_VM_PINNED_H
#define __SELFTEST_IOMMU_VM_PINNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The "@key: N kB" line of the proc file @path, in KiB; -1 if unreadable */
static inline long proc_kib(const char *path, const char *key)
{
	size_t klen = strlen(key);
	char line[256];
	long kib = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			kib = atol(line + klen + 1);
			break;
		}
	fclose(f);
	return kib;
}

/* The process's VmPin plus VmLck in KiB, -1 if unreadable */
static inline long vm_pinned_kib(void)
{
	long pin = proc_kib("/proc/self/status", "VmPin");
	long lck = proc_kib("/proc/self/status", "VmLck");

	return pin < 0 || lck < 0 ? -1 : pin + lck;
}
#endif
