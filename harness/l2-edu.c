// SPDX-License-Identifier: GPL-2.0
/*
 * l2-edu: the guest of the guest in make clients' QEMU cases.  The test
 * guest runs QEMU (the host's 7.2, or bookworm-backports' 10.0) with edu
 * devices passed through by vfio-pci, over the legacy container
 * (/dev/vfio/vfio) or over /dev/iommu (-object iommufd); this multiboot
 * payload is that QEMU's guest.  Each edu on PCI bus 0 copies a pattern
 * from guest RAM into its buffer and back to another place in guest RAM;
 * the payload compares, reports on the serial port and exits QEMU through
 * isa-debug-exit: status 33 when every edu's bytes came back, 35
 * otherwise.
 *
 * With "hotplug" on its command line it stays up for harness/clients to
 * drive QEMU through QMP instead: after the first round it waits for an
 * ACPI unplug request, ejects that slot (as a guest OS does), waits for
 * the edu to come back in it, gives it its BAR again and runs a second
 * round; then it halts, for a reset or a quit.  Each round is reported as
 * "l2-edu: round N PASS" or FAIL.
 *
 * The edu's DMA addresses are this guest's physical addresses: QEMU mapped
 * its RAM at IOVA = guest physical, and the test guest's IOMMU translates
 * them to wherever QEMU's RAM really is.
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

/* QEMU's PIIX4 ACPI PCI hotplug registers, bus 0 selected */
#define PCIHP_DOWN 0xae04	/* slots whose unplug is requested */
#define PCIHP_EJECT 0xae08	/* write a slot's bit: eject it */
#define MB_INFO_CMDLINE 0x4

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
	"	push %ebx\n"	/* the multiboot information */
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

/* BAR0 of the edu in each slot, as the firmware gave it (0: none) */
static u32 edu_bar[32];

/* The pattern to one edu and back; Return: 1 when the bytes came back */
static int edu_round_trip(u32 slot, u32 bar)
{
	u32 i;

	for (i = 0; i != LEN; i++) {
		src[i] = (u8)(i * 7 + 3 + slot);
		dst[i] = 0;
	}
	if (edu_dma(bar, (u32)src, EDU_BUFFER, 0) ||
	    edu_dma(bar, EDU_BUFFER, (u32)dst, EDU_DMA_TO_RAM)) {
		puts("l2-edu: a DMA did not complete\n");
		return 0;
	}
	for (i = 0; i != LEN; i++) {
		if (dst[i] != src[i]) {
			puts("l2-edu: byte ");
			puthex(i);
			puts(" differs\n");
			return 0;
		}
	}
	return 1;
}

/*
 * One round over every edu on bus 0.  An edu without a BAR (hot-plugged
 * after the firmware ran) gets the one its slot had before.
 * Return: the number of edus whose bytes came back, -1 if one did not
 */
static int edu_round(void)
{
	u32 slot, bar;
	int good = 0;

	for (slot = 0; slot < 32; slot++) {
		if (pci_read(slot, 0) != EDU_ID)
			continue;
		bar = pci_read(slot, 0x10) & ~0xfU;
		if (!bar && edu_bar[slot]) {
			bar = edu_bar[slot];
			pci_write(slot, 0x10, bar);
		}
		edu_bar[slot] = bar;
		/* memory decoding and bus mastering */
		pci_write(slot, 0x04, pci_read(slot, 0x04) | 0x6);
		puts("l2-edu: edu BAR0 at ");
		puthex(bar);
		puts("\n");
		if (!bar || *reg(bar, 0) >> 16 != 0x0100 ||
		    !edu_round_trip(slot, bar))
			return -1;
		good++;
	}
	puts("l2-edu: ");
	puthex(good);
	puts(" edus: 2048 bytes went to each and came back\n");
	return good;
}

static int has_word(const char *s, const char *w)
{
	const char *a, *b;

	for (; *s; s++) {
		for (a = s, b = w; *b && *a == *b; a++, b++)
			;
		if (!*b && (!*a || *a == ' '))
			return 1;
	}
	return 0;
}

static void report_round(int n, int ok)
{
	puts(n == 1 ? "l2-edu: round 1 " : "l2-edu: round 2 ");
	puts(ok ? "PASS\n" : "FAIL\n");
}

/* Wait for an unplug request, eject, wait for the edu to be back */
static u32 hotplug_cycle(void)
{
	u32 down, slot;

	do
		down = inl(PCIHP_DOWN);
	while (!down);
	outl(PCIHP_EJECT, down);
	for (slot = 0; !(down & 1U << slot); slot++)
		;
	puts("l2-edu: ejected slot ");
	puthex(slot);
	puts("\n");
	while (pci_read(slot, 0) != EDU_ID)
		;
	puts("l2-edu: an edu is back in the slot\n");
	return slot;
}

void l2_main(const u32 *mbi)
{
	const char *cmdline = "";
	int good;

	if (mbi[0] & MB_INFO_CMDLINE)
		cmdline = (const char *)mbi[4];
	good = edu_round();
	if (!has_word(cmdline, "hotplug"))
		return finish(good > 0);

	report_round(1, good > 0);
	hotplug_cycle();
	report_round(2, edu_round() == good);
	for (;;)
		__asm__ volatile("hlt");
}
