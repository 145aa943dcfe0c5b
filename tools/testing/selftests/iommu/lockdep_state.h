/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Whether the kernel's lock validator is still on.  Lockdep turns itself
 * off after its first report (or when its own bookkeeping overflows), so a
 * test that must not make it complain checks this afterwards: the console
 * has the report, the test names the behaviour that caused it.
 */
#ifndef __SELFTEST_IOMMU_LOCKDEP_STATE_H
#define __SELFTEST_IOMMU_LOCKDEP_STATE_H

#include <stdio.h>
#include <string.h>

/* 1 while lockdep validates, 0 once it gave up, -1 without lockdep */
static inline int lockdep_debug_locks(void)
{
	FILE *f = fopen("/proc/lockdep_stats", "r");
	char line[128];
	int on = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "debug_locks:");

		if (p && sscanf(p + strlen("debug_locks:"), "%d", &on) == 1)
			break;
	}
	fclose(f);
	return on;
}
#endif
