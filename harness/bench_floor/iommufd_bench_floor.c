// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd_bench_floor: the cost floor make bench compares every
 * implementation with.  One ioctl pins a user buffer, maps it into a fresh
 * paging domain of the first QEMU edu device (never attached: only the page
 * table work is timed), unmaps and unpins it, and reports each step's time.
 * No accounting, no interval trees, no page store: nothing an IOAS must do
 * beyond the two calls every implementation has to make.
 *
 * Test-only: loaded by the bench guest, never part of the kernel build.
 */
#include <linux/iommu.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "bench_floor.h"

#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8

/* Map every physically contiguous run of @pages at @iova; Return: 0 or errno */
static int floor_map_runs(struct iommu_domain *domain, struct page **pages,
			  unsigned long npages, unsigned long iova,
			  u32 *nr_maps)
{
	unsigned long i = 0, j;
	phys_addr_t phys;
	int rc;

	while (i < npages) {
		phys = page_to_phys(pages[i]);
		for (j = i + 1; j < npages; j++)
			if (page_to_phys(pages[j]) !=
			    phys + (j - i) * PAGE_SIZE)
				break;
		rc = iommu_map(domain, iova + i * PAGE_SIZE, phys,
			       (j - i) * PAGE_SIZE, IOMMU_READ | IOMMU_WRITE,
			       GFP_KERNEL);
		if (rc) {
			if (i)
				iommu_unmap(domain, iova, i * PAGE_SIZE);
			return rc;
		}
		(*nr_maps)++;
		i = j;
	}
	return 0;
}

static int floor_run(struct bench_floor_run *run)
{
	unsigned long npages = run->length >> PAGE_SHIFT, pinned = 0;
	struct iommu_domain *domain;
	struct page **pages;
	struct pci_dev *pdev;
	u64 t;
	int rc;

	if (!npages || run->__reserved || !PAGE_ALIGNED(run->uaddr) ||
	    !PAGE_ALIGNED(run->length) || !PAGE_ALIGNED(run->iova))
		return -EINVAL;
	pdev = pci_get_device(EDU_VENDOR, EDU_DEVICE, NULL);
	if (!pdev)
		return -ENODEV;
	domain = iommu_paging_domain_alloc(&pdev->dev);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto out_put_pdev;
	}
	pages = kvmalloc_array(npages, sizeof(*pages), GFP_KERNEL);
	if (!pages) {
		rc = -ENOMEM;
		goto out_free_domain;
	}

	t = ktime_get_ns();
	while (pinned < npages) {
		rc = pin_user_pages_fast(run->uaddr + pinned * PAGE_SIZE,
					 npages - pinned,
					 FOLL_WRITE | FOLL_LONGTERM,
					 pages + pinned);
		if (rc <= 0) {
			rc = rc ? rc : -EFAULT;
			goto out_unpin;
		}
		pinned += rc;
	}
	run->pin_ns = ktime_get_ns() - t;

	run->nr_maps = 0;
	t = ktime_get_ns();
	rc = floor_map_runs(domain, pages, npages, run->iova, &run->nr_maps);
	if (rc)
		goto out_unpin;
	run->map_ns = ktime_get_ns() - t;

	t = ktime_get_ns();
	if (iommu_unmap(domain, run->iova, run->length) != run->length)
		rc = -EIO;
	run->unmap_ns = ktime_get_ns() - t;

out_unpin:
	t = ktime_get_ns();
	unpin_user_pages(pages, pinned);
	run->unpin_ns = ktime_get_ns() - t;
	kvfree(pages);
out_free_domain:
	iommu_domain_free(domain);
out_put_pdev:
	pci_dev_put(pdev);
	return rc;
}

static long floor_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct bench_floor_run run;
	int rc;

	if (cmd != BENCH_FLOOR_RUN)
		return -ENOTTY;
	if (copy_from_user(&run, (void __user *)arg, sizeof(run)))
		return -EFAULT;
	rc = floor_run(&run);
	if (rc)
		return rc;
	return copy_to_user((void __user *)arg, &run, sizeof(run)) ? -EFAULT : 0;
}

static const struct file_operations floor_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = floor_ioctl,
};

static struct miscdevice floor_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "iommufd_bench_floor",
	.fops = &floor_fops,
	.mode = 0600,
};

module_misc_device(floor_misc);
MODULE_DESCRIPTION("make bench: the pin plus iommu_map cost floor");
MODULE_LICENSE("GPL");
