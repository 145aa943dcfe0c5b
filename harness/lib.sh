# SPDX-License-Identifier: GPL-2.0
# Shared settings for the harness scripts.  Source it; do not run it.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMPL=${IMPL:-ours}
# ours:   the base tree with our iommufd and VFIO glue
# intree: the unmodified base tree, the peer we measure against
# type1:  the unmodified base tree with VFIO's own container and type1
#         driver serving /dev/vfio/vfio: the reference for the container
case "$IMPL" in
ours|intree|type1) ;;
*) echo "harness: IMPL must be 'ours', 'intree' or 'type1', not '$IMPL'" >&2; exit 2 ;;
esac

KERNEL_TARBALL=${KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
BUILD=${BUILD:-$TOP/build}
BASE=$BUILD/base			# the pristine base tree, extracted once
# FLAVOUR=debug (default): KASAN, lockdep and kmemleak, the kernel every
# test run uses.  FLAVOUR=bench: the same kernel without the debugging,
# which would otherwise dominate every time make bench measures.
# FLAVOUR=coverage (make coverage): without the debugging, with gcov
# profiling our iommufd and VFIO glue only (harness/kernel-coverage.config).
# FLAVOUR=kcsan (make stress FLAVOUR=kcsan): KCSAN and lockdep instead of
# KASAN, which KCSAN excludes (harness/kernel-kcsan.config).
FLAVOUR=${FLAVOUR:-debug}
case "$FLAVOUR" in
debug) OUT=$BUILD/$IMPL ;;
bench | coverage | kcsan) OUT=$BUILD/$IMPL/$FLAVOUR ;;
*) echo "harness: FLAVOUR must be 'debug', 'bench', 'coverage' or 'kcsan', not '$FLAVOUR'" >&2; exit 2 ;;
esac
# GUEST_ARCH=arm64 (make check-arm64): the same kernel, cross-built for
# QEMU's arm64 virt machine with SMMUv3, in $OUT/arm64.
GUEST_ARCH=${GUEST_ARCH:-x86_64}
KMAKE_ARCH=()				# ARCH= and CROSS_COMPILE= of kernel makes
CROSS=					# the prefix of the guest's gcc
case "$GUEST_ARCH" in
x86_64) ;;
arm64)
	OUT=$OUT/arm64
	CROSS=aarch64-linux-gnu-
	KMAKE_ARCH=(ARCH=arm64 CROSS_COMPILE=$CROSS)
	;;
*) echo "harness: GUEST_ARCH must be 'x86_64' or 'arm64', not '$GUEST_ARCH'" >&2; exit 2 ;;
esac
ARM64_BUSYBOX=$BUILD/arm64-busybox/bin/busybox	# harness/install-deps
# QEMU 10 from bookworm-backports, unpacked beside the system's QEMU 7.2 by
# harness/install-deps: a client in make clients, never the test VM
QEMU10=$BUILD/qemu10
QEMU10_BIN=$QEMU10/usr/bin/qemu-system-x86_64
SRC=$BUILD/$IMPL/src			# the tree we build (ours swapped in)
# The coverage kernel's tree has its own copy: its Makefiles switch gcov on
# for our directories (harness/build-kernel)
[ "$FLAVOUR" != coverage ] || SRC=$OUT/src
OBJ=$OUT/obj				# O= object tree
ROOTFS=$OUT/rootfs			# staging area of the initramfs
CONFORMANCE=tools/testing/selftests/iommu-base	# base-tree tests, in $SRC
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/iommufd-ccache}
export CCACHE_BASEDIR=$BUILD/$IMPL
export CCACHE_NOHASHDIR=1
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 2026'
export KBUILD_BUILD_USER=iommufd KBUILD_BUILD_HOST=harness
JOBS=${JOBS:-$(nproc)}

# The in-tree files our repository replaces.  Nothing below these paths may
# survive in $SRC unless it is byte-identical to our copy.
REPLACED_PATHS="drivers/iommu/iommufd
drivers/vfio/iommufd.c
drivers/vfio/device_cdev.c
include/linux/iommufd.h
include/linux/iova_bitmap.h
include/uapi/linux/iommufd.h
tools/testing/selftests/iommu
Documentation/userspace-api/iommufd.rst"

# Files of drivers/vfio we own beyond the glue (Kconfig/Makefile lines).
OWNED_EXTRA="drivers/vfio/Kconfig drivers/vfio/Makefile"

log() { printf '[harness] %s\n' "$*" >&2; }
die() { printf '[harness] error: %s\n' "$*" >&2; exit 1; }
# fail CAUSE: one line that names the cause, as the report prints its own
fail() { printf 'FAIL: harness: %s\n' "$*" >&2; exit 1; }

# The program table (harness/tools.txt): "program package" per line.
# TOOLS=tools-cross or tools-arm64 names another table (what make
# cross-build, or the arm64 guest, adds).  HARNESS_SYSROOT prefixes the
# table's files (harness/selftest only).
tool_table() { sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$TOP/harness/${TOOLS:-tools}.txt"; }
tool_packages() { tool_table | awk '{print $2}' | sort -u; }

# check_tools [PROGRAM...]: each program of the table (all by default) is
# there, else one FAIL line per missing one, naming its package; exit 1.
check_tools() {
	local prog pkg bad=0
	while read -r prog pkg; do
		[ $# = 0 ] || case " $* " in *" $prog "*) ;; *) continue ;; esac
		case "$prog" in
		/*) [ -e "${HARNESS_SYSROOT:-}$prog" ] && continue ;;
		*) command -v "$prog" >/dev/null && continue ;;
		esac
		printf 'FAIL: harness: %s not found: install the Debian package %s (harness/install-deps)\n' \
			"$prog" "$pkg" >&2
		bad=1
	done < <(tool_table)
	[ "$bad" = 0 ] || exit 1
}

# Serialise kernel builds: the machine has two cores.
# extract_base: the pristine base tree in $BASE, extracted once per
# tarball; a new tarball also drops the variant trees built from the old.
extract_base() {
	local stamp
	stamp=$(stat -c '%s-%Y' "$KERNEL_TARBALL")
	[ "$(cat "$BASE/.stamp" 2>/dev/null)" != "$stamp" ] || return 0
	log "extracting $(basename "$KERNEL_TARBALL")"
	rm -rf "$BASE" "$BUILD/ours" "$BUILD/intree" "$BUILD/patches-tree"
	mkdir -p "$BASE"
	tar xJf "$KERNEL_TARBALL" -C "$BASE" --strip-components=1
	echo "$stamp" >"$BASE/.stamp"
}

# config_says LINE CONFIG: does the .config CONFIG say what the fragment
# line LINE (CONFIG_X=v or "# CONFIG_X is not set") asks?  Other lines
# ask nothing.
config_says() {
	local sym
	case "$1" in
	CONFIG_*=*) grep -qxF -- "$1" "$2" ;;
	"# CONFIG_"*" is not set")
		sym=${1#\# }; sym=${sym%% *}
		! grep -q "^$sym=" "$2"
		;;
	*) return 0 ;;
	esac
}

build_lock() {
	mkdir -p "$BUILD"
	exec 9>"$BUILD/.build.lock"
	flock 9
}

# The modules every guest job loads, and the check-device job's mdev; each
# a module or built in.  harness/guest-load-modules loads them in the
# guest (busybox, without this file): keep the two lists in step.
GUEST_MODULES="iommufd vfio vfio-pci mdev"

# check_modules_dep DIR: DIR (a modules_install INSTALL_MOD_PATH) has a
# non-empty lib/modules/*/modules.dep, else one FAIL line: without it every
# modprobe of every guest fails.
check_modules_dep() {
	local dep
	dep=$(find "$1/lib/modules" -mindepth 2 -maxdepth 2 -name modules.dep 2>/dev/null | head -1)
	[ -n "$dep" ] && [ -s "$dep" ] && return 0
	fail "modules_install wrote no modules.dep in $1/lib/modules: depmod did not run (the Debian package kmod)"
}

# check_modules ROOT NAME...: each module NAME is in ROOT's
# lib/modules/*/modules.dep or modules.builtin, else one FAIL line each.
check_modules() {
	local root=$1 dir name file bad=0
	shift
	dir=$(find "$root/lib/modules" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | head -1)
	for name; do
		file=$(echo "$name" | tr _ -)
		if [ -n "$dir" ] &&
		   sed -e 's/:.*//' -e 's|.*/||' -e 's/\.ko.*//' \
			$(ls "$dir/modules.dep" "$dir/modules.builtin" 2>/dev/null) </dev/null |
		   tr _ - | grep -x -- "$file" >/dev/null; then
			continue
		fi
		printf 'FAIL: harness: module %s is not in %s/lib/modules (neither in modules.dep nor built in): the guests need it\n' \
			"$name" "$root" >&2
		bad=1
	done
	[ "$bad" = 0 ] || exit 1
}
