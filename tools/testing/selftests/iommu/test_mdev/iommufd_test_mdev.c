// SPDX-License-Identifier: GPL-2.0-only
/*
 * iommufd_test_mdev: a mediated device for the selftests whose DMA engine
 * is VFIO's emulated-device API, so user space can drive vfio_pin_pages(),
 * vfio_unpin_pages() and vfio_dma_rw() through iommufd's in-kernel access
 * path the way mdev drivers (i915 GVT, s390 ccw and ap) do.
 *
 * Region 0 (4 KiB, read and written through the device file) holds the
 * registers, each a u64 read or written whole:
 *   0x00 IOVA      where the next command works
 *   0x08 LENGTH    how many bytes
 *   0x10 COMMAND   writing runs the command at once:
 *        1 READ    vfio_dma_rw() LENGTH bytes at IOVA into the buffer
 *        2 WRITE   vfio_dma_rw() LENGTH bytes of the buffer to IOVA
 *        3 PIN     vfio_pin_pages() the pages of [IOVA, IOVA + LENGTH)
 *        4 POKE    copy LENGTH bytes of the buffer into the pinned pages,
 *                  from their start, through the kernel's own mapping
 *        5 UNPIN   vfio_unpin_pages() whatever is pinned
 *   0x18 RESULT    (read-only) 0, or the -errno of the last command
 *   0x20 UNMAPS    (read-only) dma_unmap callbacks that had to unpin
 *   0x28 PINNED    (read-only) pages pinned now
 * and 0x800..0x1000 is the device's buffer, read and written bytewise.
 *
 * The driver keeps the emulated-device contract: when the IOVA of pinned
 * pages is unmapped, its dma_unmap callback unpins them before returning.
 * Its second type, "rw", has no dma_unmap, as a driver that only copies
 * (vfio_dma_rw()) may: VFIO refuses its pins.
 *
 * Locking: cmd_lock serialises commands and covers xfer; lock covers the
 * registers, the buffer and the pins' bookkeeping.  lock is never held
 * across a call into VFIO: VFIO's own type1 driver calls dma_unmap with
 * its locks held, and takes them in vfio_dma_rw() and vfio_pin_pages().
 */
#include <linux/device.h>
#include <linux/highmem.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/vfio.h>

#define TMDEV_NAME "iommufd_test_mdev"
#define TMDEV_REGION_SIZE 4096
#define TMDEV_BUFFER 0x800
#define TMDEV_BUFFER_SIZE (TMDEV_REGION_SIZE - TMDEV_BUFFER)
#define TMDEV_MAX_PINS 16

enum {
	REG_IOVA = 0x00,
	REG_LENGTH = 0x08,
	REG_COMMAND = 0x10,
	REG_RESULT = 0x18,
	REG_UNMAPS = 0x20,
	REG_PINNED = 0x28,
};

enum {
	CMD_READ = 1,
	CMD_WRITE,
	CMD_PIN,
	CMD_POKE,
	CMD_UNPIN,
};

struct tmdev_state {
	struct vfio_device vdev;
	struct mutex cmd_lock;		/* commands, and xfer */
	u8 xfer[TMDEV_BUFFER_SIZE];
	struct mutex lock;		/* everything below */
	u64 iova;
	u64 length;
	s64 result;
	u64 unmaps;
	dma_addr_t pin_iova;
	int npinned;
	struct page *pins[TMDEV_MAX_PINS];
	u8 buffer[TMDEV_BUFFER_SIZE];
};

/* Take the pins away from the bookkeeping; the caller unpins them */
static int tmdev_take_pins(struct tmdev_state *st, dma_addr_t *iova)
{
	int npinned = st->npinned;

	lockdep_assert_held(&st->lock);
	*iova = st->pin_iova;
	st->npinned = 0;
	return npinned;
}

static void tmdev_unpin_all(struct tmdev_state *st)
{
	dma_addr_t iova;
	int npinned;

	mutex_lock(&st->lock);
	npinned = tmdev_take_pins(st, &iova);
	mutex_unlock(&st->lock);
	if (npinned)
		vfio_unpin_pages(&st->vdev, iova, npinned);
}

static int tmdev_pin(struct tmdev_state *st, u64 iova, u64 length)
{
	dma_addr_t first = ALIGN_DOWN(iova, PAGE_SIZE);
	struct page *pages[TMDEV_MAX_PINS];
	u64 npages;
	int ret;

	if (!length || iova + length < iova)
		return -EINVAL;
	npages = (ALIGN(iova + length, PAGE_SIZE) - first) >> PAGE_SHIFT;
	if (npages > TMDEV_MAX_PINS)
		return -E2BIG;
	mutex_lock(&st->lock);
	ret = st->npinned ? -EBUSY : 0;
	mutex_unlock(&st->lock);
	if (ret)
		return ret;
	ret = vfio_pin_pages(&st->vdev, first, npages,
			     IOMMU_READ | IOMMU_WRITE, pages);
	if (ret < 0)
		return ret;
	if (ret != npages) {
		/* The API pins all or nothing; a short count is a bug */
		vfio_unpin_pages(&st->vdev, first, ret);
		return -EFAULT;
	}
	/*
	 * An unmap of this IOVA may have come meanwhile and found nothing to
	 * unpin; it tries again until the pins are gone, so publishing them
	 * now is safe.
	 */
	mutex_lock(&st->lock);
	memcpy(st->pins, pages, npages * sizeof(pages[0]));
	st->pin_iova = first;
	st->npinned = npages;
	mutex_unlock(&st->lock);
	return 0;
}

static int tmdev_poke(struct tmdev_state *st, u64 length)
{
	u64 done = 0;
	int i;

	guard(mutex)(&st->lock);
	if (length > TMDEV_BUFFER_SIZE ||
	    length > (u64)st->npinned * PAGE_SIZE)
		return -EINVAL;
	for (i = 0; done < length; i++) {
		size_t n = min_t(u64, PAGE_SIZE, length - done);
		void *va = kmap_local_page(st->pins[i]);

		memcpy(va, st->buffer + done, n);
		kunmap_local(va);
		done += n;
	}
	return 0;
}

static int tmdev_dma(struct tmdev_state *st, u64 iova, u64 length,
		     bool to_iova)
{
	int ret;

	if (length > TMDEV_BUFFER_SIZE)
		return -EINVAL;
	if (to_iova) {
		mutex_lock(&st->lock);
		memcpy(st->xfer, st->buffer, length);
		mutex_unlock(&st->lock);
	}
	ret = vfio_dma_rw(&st->vdev, iova, st->xfer, length, to_iova);
	if (!ret && !to_iova) {
		mutex_lock(&st->lock);
		memcpy(st->buffer, st->xfer, length);
		mutex_unlock(&st->lock);
	}
	return ret;
}

/* Run @cmd on the IOVA and LENGTH registers as they are now */
static s64 tmdev_run(struct tmdev_state *st, u64 cmd)
{
	u64 iova, length;

	guard(mutex)(&st->cmd_lock);
	mutex_lock(&st->lock);
	iova = st->iova;
	length = st->length;
	mutex_unlock(&st->lock);
	switch (cmd) {
	case CMD_READ:
	case CMD_WRITE:
		return tmdev_dma(st, iova, length, cmd == CMD_WRITE);
	case CMD_PIN:
		return tmdev_pin(st, iova, length);
	case CMD_POKE:
		return tmdev_poke(st, length);
	case CMD_UNPIN:
		tmdev_unpin_all(st);
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}

static ssize_t tmdev_access(struct tmdev_state *st, char __user *ubuf,
			    size_t count, loff_t pos, bool write)
{
	u64 val = 0;

	if (pos < 0 || pos >= TMDEV_REGION_SIZE ||
	    count > TMDEV_REGION_SIZE - pos)
		return -EINVAL;

	if (write && pos == REG_COMMAND && count == sizeof(u64)) {
		s64 result;

		if (copy_from_user(&val, ubuf, sizeof(val)))
			return -EFAULT;
		result = tmdev_run(st, val);
		mutex_lock(&st->lock);
		st->result = result;
		mutex_unlock(&st->lock);
		return count;
	}

	guard(mutex)(&st->lock);
	if (pos >= TMDEV_BUFFER) {
		u8 *p = st->buffer + (pos - TMDEV_BUFFER);

		if (write ? copy_from_user(p, ubuf, count) :
			    copy_to_user(ubuf, p, count))
			return -EFAULT;
		return count;
	}
	if (count != sizeof(u64) || pos % sizeof(u64))
		return -EINVAL;
	if (write) {
		if (copy_from_user(&val, ubuf, sizeof(val)))
			return -EFAULT;
		switch (pos) {
		case REG_IOVA:
			st->iova = val;
			break;
		case REG_LENGTH:
			st->length = val;
			break;
		default:
			return -EINVAL;
		}
		return count;
	}
	switch (pos) {
	case REG_IOVA:
		val = st->iova;
		break;
	case REG_LENGTH:
		val = st->length;
		break;
	case REG_RESULT:
		val = st->result;
		break;
	case REG_UNMAPS:
		val = st->unmaps;
		break;
	case REG_PINNED:
		val = st->npinned;
		break;
	default:
		return -EINVAL;
	}
	if (copy_to_user(ubuf, &val, sizeof(val)))
		return -EFAULT;
	return count;
}

static ssize_t tmdev_read(struct vfio_device *vdev, char __user *buf,
			  size_t count, loff_t *ppos)
{
	struct tmdev_state *st = container_of(vdev, struct tmdev_state, vdev);

	return tmdev_access(st, buf, count, *ppos, false);
}

static ssize_t tmdev_write(struct vfio_device *vdev, const char __user *buf,
			   size_t count, loff_t *ppos)
{
	struct tmdev_state *st = container_of(vdev, struct tmdev_state, vdev);

	return tmdev_access(st, (char __user *)buf, count, *ppos, true);
}

static long tmdev_ioctl(struct vfio_device *vdev, unsigned int cmd,
			unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info info = {
			.argsz = sizeof(info),
			.flags = VFIO_DEVICE_FLAGS_PLATFORM,
			.num_regions = 1,
		};
		u32 argsz;

		if (get_user(argsz, (u32 __user *)uarg))
			return -EFAULT;
		if (argsz < offsetofend(struct vfio_device_info, num_irqs))
			return -EINVAL;
		return copy_to_user(uarg, &info, min_t(u32, argsz, sizeof(info))) ?
			-EFAULT : 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO: {
		struct vfio_region_info info;

		if (copy_from_user(&info, uarg,
				   offsetofend(struct vfio_region_info, offset)))
			return -EFAULT;
		if (info.argsz < offsetofend(struct vfio_region_info, offset))
			return -EINVAL;
		if (info.index != 0)
			return -EINVAL;
		info.flags = VFIO_REGION_INFO_FLAG_READ |
			     VFIO_REGION_INFO_FLAG_WRITE;
		info.cap_offset = 0;
		info.size = TMDEV_REGION_SIZE;
		info.offset = 0;
		return copy_to_user(uarg, &info,
				    offsetofend(struct vfio_region_info,
						offset)) ? -EFAULT : 0;
	}
	case VFIO_DEVICE_RESET:
		return 0;
	}
	return -ENOTTY;
}

/* The IOVA range [@iova, @iova + @length) is going away: let go of it */
static void tmdev_dma_unmap(struct vfio_device *vdev, u64 iova, u64 length)
{
	struct tmdev_state *st = container_of(vdev, struct tmdev_state, vdev);
	u64 end, last = iova + length - 1;
	dma_addr_t pin_iova;
	int npinned;

	mutex_lock(&st->lock);
	end = st->pin_iova + ((u64)st->npinned << PAGE_SHIFT);
	if (!st->npinned || !length || iova >= end || last < st->pin_iova) {
		mutex_unlock(&st->lock);
		return;
	}
	npinned = tmdev_take_pins(st, &pin_iova);
	st->unmaps++;
	mutex_unlock(&st->lock);
	vfio_unpin_pages(&st->vdev, pin_iova, npinned);
}

static void tmdev_close_device(struct vfio_device *vdev)
{
	struct tmdev_state *st = container_of(vdev, struct tmdev_state, vdev);

	tmdev_unpin_all(st);
}

static int tmdev_init_dev(struct vfio_device *vdev)
{
	struct tmdev_state *st = container_of(vdev, struct tmdev_state, vdev);

	mutex_init(&st->cmd_lock);
	mutex_init(&st->lock);
	return 0;
}

static void tmdev_release_dev(struct vfio_device *vdev)
{
	struct tmdev_state *st = container_of(vdev, struct tmdev_state, vdev);

	mutex_destroy(&st->lock);
	mutex_destroy(&st->cmd_lock);
}

/* What both types' operations share */
#define TMDEV_OPS_COMMON						\
	.name = TMDEV_NAME,						\
	.init = tmdev_init_dev,						\
	.release = tmdev_release_dev,					\
	.close_device = tmdev_close_device,				\
	.read = tmdev_read,						\
	.write = tmdev_write,						\
	.ioctl = tmdev_ioctl,						\
	.bind_iommufd = vfio_iommufd_emulated_bind,			\
	.unbind_iommufd = vfio_iommufd_emulated_unbind,			\
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,		\
	.detach_ioas = vfio_iommufd_emulated_detach_ioas

static const struct vfio_device_ops tmdev_ops = {
	TMDEV_OPS_COMMON,
	.dma_unmap = tmdev_dma_unmap,
};

/* The "rw" type: the same device without dma_unmap */
static const struct vfio_device_ops tmdev_rw_ops = {
	TMDEV_OPS_COMMON,
};

static struct mdev_type tmdev_dma_type = {
	.sysfs_name = "dma",
	.pretty_name = "iommufd test DMA engine",
};

static struct mdev_type tmdev_rw_type = {
	.sysfs_name = "rw",
	.pretty_name = "iommufd test DMA engine that never pins",
};

static struct mdev_type *tmdev_type_list[] = {
	&tmdev_dma_type, &tmdev_rw_type,
};

/*
 * Each mdev made on the parent is one tmdev_state.  It is published as the
 * mdev's driver data before it is registered, so that it is there from the
 * moment user space can open it; a failed registration takes it back.
 */
static int tmdev_create(struct mdev_device *mdev)
{
	struct tmdev_state *st;
	int err;

	st = vfio_alloc_device(tmdev_state, vdev, &mdev->dev,
			       mdev->type == &tmdev_rw_type ? &tmdev_rw_ops :
							     &tmdev_ops);
	if (IS_ERR(st))
		return PTR_ERR(st);
	dev_set_drvdata(&mdev->dev, st);
	err = vfio_register_emulated_iommu_dev(&st->vdev);
	if (!err)
		return 0;
	dev_set_drvdata(&mdev->dev, NULL);
	vfio_put_device(&st->vdev);
	return err;
}

static void tmdev_destroy(struct mdev_device *mdev)
{
	struct tmdev_state *st = dev_get_drvdata(&mdev->dev);

	vfio_unregister_group_dev(&st->vdev);
	dev_set_drvdata(&mdev->dev, NULL);
	vfio_put_device(&st->vdev);
}

/* .owner: VFIO holds this module while one of its devices is open */
static struct mdev_driver tmdev_mdev_driver = {
	.device_api = VFIO_DEVICE_API_PLATFORM_STRING,
	.max_instances = 4,
	.probe = tmdev_create,
	.remove = tmdev_destroy,
	.driver = {
		.name = TMDEV_NAME,
		.owner = THIS_MODULE,
	},
};

/*
 * The parent is a root device, /sys/devices/iommufd_test_mdev, which the
 * mdev core also shows as /sys/class/mdev_bus/iommufd_test_mdev; the
 * driver core owns its memory.  Set up in the order in which user space
 * can reach each piece, driver first, and torn down the other way.
 */
static struct device *tmdev_root;
static struct mdev_parent tmdev_mdev_parent;

static int __init tmdev_module_init(void)
{
	int err;

	err = mdev_register_driver(&tmdev_mdev_driver);
	if (err)
		return err;
	tmdev_root = root_device_register(TMDEV_NAME);
	if (IS_ERR(tmdev_root)) {
		err = PTR_ERR(tmdev_root);
		goto out_driver;
	}
	err = mdev_register_parent(&tmdev_mdev_parent, tmdev_root,
				   &tmdev_mdev_driver, tmdev_type_list,
				   ARRAY_SIZE(tmdev_type_list));
	if (err)
		goto out_root;
	return 0;

out_root:
	root_device_unregister(tmdev_root);
out_driver:
	mdev_unregister_driver(&tmdev_mdev_driver);
	return err;
}

static void __exit tmdev_module_exit(void)
{
	mdev_unregister_parent(&tmdev_mdev_parent);
	root_device_unregister(tmdev_root);
	mdev_unregister_driver(&tmdev_mdev_driver);
}

module_init(tmdev_module_init);
module_exit(tmdev_module_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A mediated device that DMAs through the VFIO emulated-device API, for the iommufd selftests");
