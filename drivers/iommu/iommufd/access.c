// SPDX-License-Identifier: GPL-2.0-only
/*
 * In-kernel accesses to an IOAS, for emulated devices (mdev) that read and
 * pin the IO address space in software instead of through an IOMMU.
 *
 * Not implemented yet: creating an access fails with -EOPNOTSUPP, so no
 * access can exist and the other entry points have nothing to act on.
 */
#include <linux/iommufd.h>
#include <linux/module.h>

/**
 * iommufd_access_create() - create an in-kernel access
 * @ictx: the context
 * @ops: the access's callbacks
 * @data: passed to @ops
 * @id: output: the access's object id
 *
 * Context: Process context.
 * Return: ERR_PTR(-EOPNOTSUPP) until accesses are supported.
 */
struct iommufd_access *
iommufd_access_create(struct iommufd_ctx *ictx,
		      const struct iommufd_access_ops *ops, void *data, u32 *id)
{
	return ERR_PTR(-EOPNOTSUPP);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_create, IOMMUFD);

/**
 * iommufd_access_destroy() - undo iommufd_access_create()
 * @access: an access; none can exist yet
 *
 * Context: Process context.
 */
void iommufd_access_destroy(struct iommufd_access *access)
{
	WARN_ON_ONCE(access);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_destroy, IOMMUFD);

/**
 * iommufd_access_attach() - attach an access to an IOAS
 * @access: the access
 * @ioas_id: the IOAS
 *
 * Context: Process context.
 * Return: -EOPNOTSUPP until accesses are supported.
 */
int iommufd_access_attach(struct iommufd_access *access, u32 ioas_id)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_attach, IOMMUFD);

/**
 * iommufd_access_replace() - move an access to another IOAS
 * @access: the access
 * @ioas_id: the new IOAS
 *
 * Context: Process context.
 * Return: -EOPNOTSUPP until accesses are supported.
 */
int iommufd_access_replace(struct iommufd_access *access, u32 ioas_id)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_replace, IOMMUFD);

/**
 * iommufd_access_detach() - undo iommufd_access_attach()
 * @access: the access
 *
 * Context: Process context.
 */
void iommufd_access_detach(struct iommufd_access *access)
{
	WARN_ON_ONCE(access);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_detach, IOMMUFD);

/**
 * iommufd_access_pin_pages() - pin the pages behind a range of IOVA
 * @access: the access
 * @iova: first IOVA
 * @length: bytes
 * @out_pages: output: one page pointer per PAGE_SIZE of the range
 * @flags: IOMMUFD_ACCESS_RW_*
 *
 * Context: Process context.
 * Return: -EOPNOTSUPP until accesses are supported.
 */
int iommufd_access_pin_pages(struct iommufd_access *access, unsigned long iova,
			     unsigned long length, struct page **out_pages,
			     unsigned int flags)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_pin_pages, IOMMUFD);

/**
 * iommufd_access_unpin_pages() - undo iommufd_access_pin_pages()
 * @access: the access
 * @iova: first IOVA, as pinned
 * @length: bytes, as pinned
 *
 * Context: Process context.
 */
void iommufd_access_unpin_pages(struct iommufd_access *access,
				unsigned long iova, unsigned long length)
{
	WARN_ON_ONCE(access);
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_unpin_pages, IOMMUFD);

/**
 * iommufd_access_rw() - read or write through a range of IOVA
 * @access: the access
 * @iova: first IOVA
 * @data: kernel buffer
 * @len: bytes
 * @flags: IOMMUFD_ACCESS_RW_*
 *
 * Context: Process context.
 * Return: -EOPNOTSUPP until accesses are supported.
 */
int iommufd_access_rw(struct iommufd_access *access, unsigned long iova,
		      void *data, size_t len, unsigned int flags)
{
	return -EOPNOTSUPP;
}
EXPORT_SYMBOL_NS_GPL(iommufd_access_rw, IOMMUFD);
