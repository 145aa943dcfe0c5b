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
FLAVOUR=${FLAVOUR:-debug}
case "$FLAVOUR" in
debug) OUT=$BUILD/$IMPL ;;
bench) OUT=$BUILD/$IMPL/bench ;;
*) echo "harness: FLAVOUR must be 'debug' or 'bench', not '$FLAVOUR'" >&2; exit 2 ;;
esac
SRC=$BUILD/$IMPL/src			# the tree we build (ours swapped in)
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

# Serialise kernel builds: the machine has two cores.
build_lock() {
	mkdir -p "$BUILD"
	exec 9>"$BUILD/.build.lock"
	flock 9
}
