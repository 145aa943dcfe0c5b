// SPDX-License-Identifier: GPL-2.0-only
/*
 * The io_pagetable's domains and accesses: attaching an IOMMU domain fills
 * it with every area (pinning them if nothing had), and detaching the
 * last one that needs an area's pins unpins it.  Domains and accesses are
 * added and removed under iopt->dom_sem held for write, with
 * tree_sem inside it, so no map or unmap runs meanwhile.
 */
#include <linux/iommu.h>

#include "io_pagetable.h"
#include "iommufd_private.h"

/*
 * Large pages disabled: let @domain offer only its smallest page size (and
 * any below PAGE_SIZE).  iommu_map_sg() then writes a long run as
 * PAGE_SIZE IOPTEs in one call with one IOTLB sync, where mapping page by
 * page would sync once per page.  A paging domain belongs to one
 * io_pagetable only, its HWPT's, so the restriction reaches nobody else.
 * It is never lifted: a domain restricted once keeps small IOPTEs even if
 * large pages are allowed again, which costs speed, never correctness.
 */
static void iopt_domain_restrict_sizes(struct iommu_domain *domain)
{
	unsigned long small = domain->pgsize_bitmap & (PAGE_SIZE | (PAGE_SIZE - 1));

	domain->pgsize_bitmap = small ?: domain->pgsize_bitmap &
					 -domain->pgsize_bitmap;
}

/**
 * iopt_set_large_pages() - allow or forbid large IOPTEs in the domains
 * @iopt: the IO address space
 * @enable: allow them (the default)
 *
 * Forbidding them (VFIO type1 v1 semantics) also makes PAGE_SIZE the
 * smallest alignment of every mapping.
 *
 * Context: Process context.
 * Return: 0; -EADDRINUSE if an area is not page aligned; -EINVAL when
 * domains already map areas (their IOPTEs cannot be split now; 6.12's
 * errno).
 */
int iopt_set_large_pages(struct io_pagetable *iopt, bool enable)
{
	int ret = 0;

	down_write(&iopt->dom_sem);
	down_write(&iopt->tree_sem);
	if (!enable && !iopt->small_pages_only) {
		if (!iopt_areas_aligned(iopt, PAGE_SIZE))
			ret = -EADDRINUSE;
		else if (!xa_empty(&iopt->domains) &&
			 iopt_area_first(iopt, 0, ULONG_MAX))
			ret = -EINVAL;
	}
	if (!ret) {
		struct iommu_domain *domain;
		unsigned long index;

		iopt->small_pages_only = !enable;
		/* No domain maps anything yet: each may be restricted now */
		if (!enable)
			xa_for_each(&iopt->domains, index, domain)
				iopt_domain_restrict_sizes(domain);
		iopt_update_alignment(iopt);
	}
	up_write(&iopt->tree_sem);
	up_write(&iopt->dom_sem);
	return ret;
}

/**
 * iopt_add_domain() - make a domain mirror the IO address space
 * @iopt: the IO address space
 * @domain: a paging domain, not yet in any io_pagetable
 *
 * Reserves the IOVA outside the domain's aperture, then maps every area
 * into the domain, pinning the areas that were not populated yet.  On
 * failure everything is as before.
 *
 * Context: Process context; sleeps.
 * Return: 0; -EADDRINUSE when an area lies outside the aperture or is not
 * aligned for the domain's page sizes; -ENOMEM; or an error of pinning.
 */
int iopt_add_domain(struct io_pagetable *iopt, struct iommu_domain *domain)
{
	const struct iommu_domain_geometry *geo = &domain->geometry;
	struct iopt_area *area, *failed = NULL;
	bool only;
	u32 index;
	int ret;

	down_write(&iopt->dom_sem);
	down_write(&iopt->tree_sem);
	/* Areas are populated exactly when some domain exists */
	only = xa_empty(&iopt->domains);
	if (!iopt_areas_aligned(iopt, iopt_domain_alignment(domain))) {
		ret = -EADDRINUSE;
		goto out_unlock;
	}
	if (geo->force_aperture) {
		if ((geo->aperture_start &&
		     iopt_area_first(iopt, 0, geo->aperture_start - 1)) ||
		    (geo->aperture_end != ULONG_MAX &&
		     iopt_area_first(iopt, geo->aperture_end + 1, ULONG_MAX))) {
			ret = -EADDRINUSE;
			goto out_unlock;
		}
	}
	ret = xa_alloc(&iopt->domains, &index, domain, xa_limit_32b,
		       GFP_KERNEL_ACCOUNT);
	if (ret)
		goto out_unlock;
	if (iopt->small_pages_only)
		iopt_domain_restrict_sizes(domain);

	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		if (only)
			ret = iopt_area_populate(area);
		else
			ret = iopt_area_map_domain(area, domain);
		if (ret) {
			failed = area;
			goto err_unfill;
		}
	}
	if (geo->force_aperture) {
		ret = iopt_reserve_outside(iopt, domain, geo->aperture_start,
					   geo->aperture_end);
		if (ret)
			goto err_unfill;
	}
	iopt_update_alignment(iopt);
	goto out_unlock;

err_unfill:
	/* Like type1: no new device while an address is being replaced */
	if (ret == -EAGAIN)
		ret = -EBUSY;
	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area != failed;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		if (only)
			iopt_area_unpin(area, domain);
		else
			iopt_area_clear_domain(area, domain);
	}
	xa_erase(&iopt->domains, index);
out_unlock:
	up_write(&iopt->tree_sem);
	up_write(&iopt->dom_sem);
	return ret;
}

/**
 * iopt_remove_domain() - undo iopt_add_domain()
 * @iopt: the IO address space
 * @domain: the domain
 *
 * Unmaps every area from the domain; when it was the last domain, the
 * areas' pages are unpinned.
 *
 * Context: Process context; sleeps.  Never fails.
 */
void iopt_remove_domain(struct io_pagetable *iopt, struct iommu_domain *domain)
{
	struct iommu_domain *cur;
	struct iopt_area *area;
	unsigned long index;
	bool last;

	down_write(&iopt->dom_sem);
	down_write(&iopt->tree_sem);
	xa_for_each(&iopt->domains, index, cur) {
		if (cur == domain)
			break;
	}
	if (WARN_ON(cur != domain))
		goto out_unlock;
	xa_erase(&iopt->domains, index);
	last = xa_empty(&iopt->domains);
	for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
		if (!area->populated)
			continue;
		if (last)
			iopt_area_unpin(area, domain);
		else
			iopt_area_clear_domain(area, domain);
	}
	iopt_unreserve_locked(iopt, domain);
	iopt_update_alignment(iopt);
out_unlock:
	up_write(&iopt->tree_sem);
	up_write(&iopt->dom_sem);
}

/**
 * iopt_access_attach() - attach an in-kernel access
 * @iopt: the IO address space
 * @access: the access
 * @pins_pages: the access pins pages, so every area must be page aligned
 * @index: output: the access's index, for iopt_access_detach()
 *
 * Context: Process context.
 * Return: 0; -EADDRINUSE if @pins_pages and an area is not page aligned;
 * -ENOMEM.
 */
int iopt_access_attach(struct io_pagetable *iopt, struct iommufd_access *access,
		       bool pins_pages, u32 *index)
{
	struct iopt_area *area;
	int ret = 0;

	down_write(&iopt->dom_sem);
	down_write(&iopt->tree_sem);
	if (pins_pages) {
		for (area = iopt_area_first(iopt, 0, ULONG_MAX); area;
	     area = iopt_area_next(area, 0, ULONG_MAX)) {
			if (!PAGE_ALIGNED(iopt_area_start(area)) ||
			    !PAGE_ALIGNED(iopt_area_size(area)) ||
			    !PAGE_ALIGNED(area->pages_offset)) {
				ret = -EADDRINUSE;
				goto out_unlock;
			}
		}
	}
	ret = xa_alloc(&iopt->accesses, index, access, xa_limit_32b,
		       GFP_KERNEL_ACCOUNT);
	if (ret)
		goto out_unlock;
	if (pins_pages) {
		iopt->page_accesses++;
		iopt_update_alignment(iopt);
	}
out_unlock:
	up_write(&iopt->tree_sem);
	up_write(&iopt->dom_sem);
	return ret;
}

/**
 * iopt_access_detach() - undo iopt_access_attach()
 * @iopt: the IO address space
 * @index: from iopt_access_attach()
 * @pins_pages: as given to iopt_access_attach()
 *
 * Context: Process context.
 */
void iopt_access_detach(struct io_pagetable *iopt, u32 index, bool pins_pages)
{
	down_write(&iopt->dom_sem);
	down_write(&iopt->tree_sem);
	WARN_ON(!xa_erase(&iopt->accesses, index));
	if (pins_pages) {
		iopt->page_accesses--;
		iopt_update_alignment(iopt);
	}
	up_write(&iopt->tree_sem);
	up_write(&iopt->dom_sem);
}
