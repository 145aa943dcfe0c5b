// SPDX-License-Identifier: GPL-2.0
/*
 * l2-edu: the guest of the guest in make check's QEMU client test.  The
 * test guest runs the host's own QEMU 7.2 with its edu device passed
 * through by vfio-pci over the legacy container (/dev/vfio/vfio, ours);
 * this multiboot payload is that QEMU's guest.  It finds the edu on PCI
 * bus 0, has it copy a pattern from guest RAM into its buffer and back to
 * another place in guest RAM, compares, reports on the serial port and
 * exits QEMU through isa-debug-exit: status 33 when the bytes came back,
 * 35 otherwise.
 *
 * The edu's DMA addresses are this guest's physical addresses: QEMU mapped
 * its RAM at IOVA = guest physical through the container, and the test
 * guest's VT-d translates them to wherever QEMU's RAM really is.
 *
 * Built freestanding, 32-bit, no paging (multiboot hands over in flat
 * protected mode).
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;

#define MULTIBOOT_MAGIC 0x1badb002
#define EXIT_PORT 0xf4
#define EXIT_OK 0x10
#define EXIT_FAIL 0x11
#define SERIAL 0x3f8

#define EDU_ID 0x11e81234
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_COUNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_DMA_START 0x1
#define EDU_DMA_TO_RAM 0x2
#define EDU_BUFFER 0x40000
#define LEN 2048		/* half the device buffer, see edu_device.h */

/* Flags 0: QEMU loads the ELF program headers itself */
__attribute__((section(".multiboot"), used))
static const u32 multiboot_header[3] = {
	MULTIBOOT_MAGIC, 0, -(MULTIBOOT_MAGIC + 0),
};

u8 l2_stack[16384] __attribute__((aligned(16)));
static u8 src[LEN] __attribute__((aligned(4096)));
static u8 dst[LEN] __attribute__((aligned(4096)));

__asm__(".globl _start\n"
	"_start:\n"
	"	mov $l2_stack + 16384, %esp\n"
	"	call l2_main\n"
	"1:	hlt\n"
	"	jmp 1b\n");

static void outb(u16 port, u8 val)
{
	__asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port));
}

static void outl(u16 port, u32 val)
{
	__asm__ volatile("outl %0, %1" : : "a"(val), "Nd"(port));
}

static u32 inl(u16 port)
{
	u32 val;

	__asm__ volatile("inl %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

static void puts(const char *s)
{
	while (*s)
		outb(SERIAL, *s++);
}

static void puthex(u32 v)
{
	int i;

	puts("0x");
	for (i = 28; i >= 0; i -= 4)
		outb(SERIAL, "0123456789abcdef"[(v >> i) & 0xf]);
}

static u32 pci_read(u32 dev, u32 off)
{
	outl(0xcf8, 0x80000000 | dev << 11 | off);
	return inl(0xcfc);
}

static void pci_write(u32 dev, u32 off, u32 val)
{
	outl(0xcf8, 0x80000000 | dev << 11 | off);
	outl(0xcfc, val);
}

static volatile u32 *reg(u32 bar, u32 off)
{
	return (volatile u32 *)(bar + off);
}

/* One edu DMA; Return: 0 when it completed */
static int edu_dma(u32 bar, u32 from, u32 to, u32 cmd)
{
	u32 spin;

	*reg(bar, EDU_DMA_SRC) = from;
	*reg(bar, EDU_DMA_DST) = to;
	*reg(bar, EDU_DMA_COUNT) = LEN;
	*reg(bar, EDU_DMA_CMD) = cmd | EDU_DMA_START;
	for (spin = 0; spin < 0x40000000; spin++)
		if (!(*reg(bar, EDU_DMA_CMD) & EDU_DMA_START))
			return 0;
	return -1;
}

static void finish(int ok)
{
	puts(ok ? "l2-edu: PASS\n" : "l2-edu: FAIL\n");
	outl(EXIT_PORT, ok ? EXIT_OK : EXIT_FAIL);
}

void l2_main(void)
{
	u32 dev, bar = 0, i;

	for (dev = 0; dev < 32; dev++) {
		if (pci_read(dev, 0) != EDU_ID)
			continue;
		bar = pci_read(dev, 0x10) & ~0xfU;
		/* memory decoding and bus mastering */
		pci_write(dev, 0x04, pci_read(dev, 0x04) | 0x6);
		break;
	}
	puts("l2-edu: edu BAR0 at ");
	puthex(bar);
	puts("\n");
	if (!bar || *reg(bar, 0) >> 16 != 0x0100)
		return finish(0);

	for (i = 0; i != LEN; i++) {
		src[i] = (u8)(i * 7 + 3);
		dst[i] = 0;
	}
	if (edu_dma(bar, (u32)src, EDU_BUFFER, 0) ||
	    edu_dma(bar, EDU_BUFFER, (u32)dst, EDU_DMA_TO_RAM)) {
		puts("l2-edu: a DMA did not complete\n");
		return finish(0);
	}
	for (i = 0; i != LEN; i++) {
		if (dst[i] != src[i]) {
			puts("l2-edu: byte ");
			puthex(i);
			puts(" differs\n");
			return finish(0);
		}
	}
	puts("l2-edu: 2048 bytes went to the device and came back\n");
	finish(1);
}
