# SPDX-License-Identifier: GPL-2.0
#
# The harness of our IOMMUFD: build Linux 6.12 with our iommufd in place of
# the in-tree one, boot it under QEMU with emulated VT-d, run the tests.
# IMPL=intree does the same with the unmodified in-tree implementation,
# IMPL=type1 with it and VFIO's own container (the reference for ours).

IMPL ?= ours
export IMPL
# FLAVOUR=kcsan (make stress FLAVOUR=kcsan): the KCSAN kernel; make coverage
# sets FLAVOUR=coverage itself
FLAVOUR ?= debug
export FLAVOUR

HARNESS := harness
LOGS = build/$(IMPL)$(if $(filter-out debug,$(FLAVOUR)),/$(FLAVOUR))/logs

.PHONY: help deps selftest kernel tests initramfs check check-fresh check-mock \
	check-device check-viommu check-amdvi check-arm64 clients run stress diff \
	coverage \
	kconfig-matrix cross-build bench bench-quick patches lint clean-room clean \
	distclean

help:
	@echo 'Targets (IMPL=ours, the default; IMPL=intree, the in-tree peer;'
	@echo 'IMPL=type1, the in-tree code with VFIO'"'"'s own type1 container):'
	@echo '  make check       install what is missing, build, boot, run every'
	@echo '                   suite, report (the test command; .ci/run calls it)'
	@echo '  make check-fresh make check on a freshly bootstrapped Debian 12 root'
	@echo '                   (debootstrap; nothing of this machine leaks in), as'
	@echo '                   a new user'"'"'s machine has it; slow (a cold build)'
	@echo '  make run         build, boot and show /dev/iommu doing real DMA with'
	@echo '                   the edu device; a shell when run from a terminal'
	@echo '  make check-mock  only the mock-driver boot (our uAPI tests and the'
	@echo '                   base tree conformance suites)'
	@echo '  make check-device only the real-device boots (edu and a test mdev on'
	@echo '                   emulated VT-d; the same suites behind'
	@echo '                   virtio-iommu and behind AMD-Vi; a boot with'
	@echo '                   interrupt remapping off for the unisolated-MSI'
	@echo '                   rules)'
	@echo '  make check-viommu, make check-amdvi  one of those boots alone'
	@echo '  make check-arm64 the kernel and tests cross-built for arm64, booted'
	@echo '                   on QEMU'"'"'s virt machine: the mock boot, and the'
	@echo '                   real-device suites behind SMMUv3'
	@echo '  make clients     unmodified VFIO users in the guest: DPDK 22.11 testpmd'
	@echo '                   (container) forwarding between two e1000e NICs;'
	@echo '                   QEMU 7.2 (container) and QEMU 10.0 from'
	@echo '                   bookworm-backports (/dev/iommu, container, both)'
	@echo '                   passing edus through to a guest that DMAs with'
	@echo '                   them, QEMU 10 also hot-unplugging, re-plugging and'
	@echo '                   resetting through QMP; libvirt 9.0 starting and'
	@echo '                   destroying a domain with the edu as a hostdev.'
	@echo '                   CLIENTS="dpdk qemu7 qemu10 libvirt": only those'
	@echo '  make stress      long runs: on the mock, 4 race stress tests (one the'
	@echo '                   handover race) of STRESS_SECONDS each (default 200,'
	@echo '                   about 13 min),'
	@echo '                   200000 fuzzed ioctls, the full fail-nth sweeps'
	@echo '                   (mock, and real devices on VT-d), then make diff'
	@echo '                   with STRESS_DIFF_SEEDS seeds (default 500)'
	@echo '                   FLAVOUR=kcsan: the same runs (not make diff) on a'
	@echo '                   kernel with KCSAN (and lockdep) in place of KASAN;'
	@echo '                   a data race reported in our code fails it'
	@echo '  make coverage    gcov on our iommufd and VFIO glue only: make'
	@echo '                   check'"'"'s boots (not the bench) on that kernel,'
	@echo '                   their counters merged with lcov into'
	@echo '                   build/coverage/ (report.txt: per file, and every'
	@echo '                   line not reached with its reason from'
	@echo '                   harness/coverage-reasons.txt; html/); closing'
	@echo '                   line "coverage: lines L %, branches B %"'
	@echo '                   (targets 97 and 90; selftest.c counted apart)'
	@echo '  make diff        the differential test: the same seeded random call'
	@echo '                   sequences on ours and on the peer (/dev/vfio/vfio'
	@echo '                   with edu on VT-d against IMPL=type1, /dev/iommu on'
	@echo '                   the mock against IMPL=intree), DIFF_SEEDS each'
	@echo '                   (default 2000); prints every distinct difference'
	@echo '                   outside harness/diff/allow with a minimized'
	@echo '                   reproducer; DIFF_RECORD=1 also records the'
	@echo '                   peers'"'"' transcripts of the short round (200'
	@echo '                   seeds) make check runs against them'
	@echo '  make kconfig-matrix build every sensible IOMMUFD/VFIO Kconfig'
	@echo '                   combination (MATRIX=quick: three of them), and'
	@echo '                   check the SPAPR rule on ppc64le (cross-build)'
	@echo '  make cross-build build our iommufd and VFIO glue with W=1 for i386,'
	@echo '                   arm64, s390 (with vfio-ccw and vfio-ap) and'
	@echo '                   ppc64le (and check the SPAPR Kconfig rule);'
	@echo '                   installs Debian'"'"'s cross compilers'
	@echo '  make bench       ours against the in-tree iommufd and VFIO type1 on a'
	@echo '                   VT-d domain with edu: build a kernel of each without'
	@echo '                   the debugging, boot them in turn BENCH_ROUNDS times'
	@echo '                   (default 3), print the table and the targets; writes'
	@echo '                   build/bench/full/bench.{txt,csv,png}.  BENCH_IMPLS='
	@echo '                   the kernels (default ours intree type1);'
	@echo '                   BENCH_ONLY=case,... only those cases; BENCH_PERF=1'
	@echo '                   runs the bench under perf (the host'"'"'s) and adds'
	@echo '                   its kernel profile of what was timed to the results'
	@echo '  make bench-quick one small round on the test kernel (make check runs'
	@echo '                   it so the benchmark never rots; its ratios judge'
	@echo '                   nothing, its result checks do)'
	@echo '  make kernel      build the kernel and modules (build/$$IMPL/)'
	@echo '  make tests       build the guest test programs'
	@echo '  make initramfs   pack the guest initramfs'
	@echo '  make deps        install the Debian packages the harness needs, and'
	@echo '                   check every program it calls (harness/tools.txt)'
	@echo '  make selftest    the harness'"'"'s own tests: each missing program, a'
	@echo '                   missing modules.dep or guest module, a failed modprobe'
	@echo '                   is one FAIL line naming the cause (make check runs it'
	@echo '                   after its build)'
	@echo '  make lint        checkpatch --strict and a W=1 build of our sources'
	@echo '  make clean-room  compare our sources with the in-tree implementation'
	@echo '  make patches     write our kernel work as a logical git format-patch'
	@echo '                   series against the pristine base tree'
	@echo '                   (build/patches/; PATCHES_VERIFY=1 builds every step)'
	@echo '  make clean       remove build/$$IMPL; distclean: all of build/'
	@echo 'ONLY=suite,suite with a check or stress target runs only those suites'
	@echo '(a partial run: the report then says nothing of the others).'

deps:
	@$(HARNESS)/install-deps

selftest: deps
	@$(HARNESS)/selftest

kernel: deps
	@$(HARNESS)/build-kernel

tests: kernel
	@$(HARNESS)/build-tests

initramfs: tests
	@$(HARNESS)/mkinitramfs

# The harness's own tests run after the build: a first build of a fresh
# machine extracts the base tree anew and clears build/$(IMPL), logs and all.
check: initramfs
	@$(HARNESS)/selftest
	@[ "$(IMPL)" != ours ] || $(HARNESS)/lint
	@$(HARNESS)/boot check-mock
	@$(HARNESS)/boot check-device
	@$(HARNESS)/boot check-viommu
	@$(HARNESS)/boot check-amdvi
	@$(HARNESS)/boot check-msi
	@$(HARNESS)/boot clients
	@BENCH_NO_BUILD=1 BENCH_IMPLS=$(IMPL) $(HARNESS)/bench-run quick || true
	@$(HARNESS)/report $(IMPL) $(LOGS) harness check-mock check-device \
		check-viommu check-amdvi check-msi clients bench \
		$(if $(filter type1,$(IMPL)),,bench-mock)

check-fresh:
	@$(HARNESS)/check-fresh

check-mock: initramfs
	@$(HARNESS)/boot check-mock
	@$(HARNESS)/report $(IMPL) $(LOGS) check-mock

check-device: initramfs
	@$(HARNESS)/boot check-device
	@$(HARNESS)/boot check-viommu
	@$(HARNESS)/boot check-amdvi
	@$(HARNESS)/boot check-msi
	@$(HARNESS)/report $(IMPL) $(LOGS) check-device check-viommu \
		check-amdvi check-msi

check-viommu check-amdvi: initramfs
	@$(HARNESS)/boot $@
	@$(HARNESS)/report $(IMPL) $(LOGS) $@

# The arm64 guest: everything cross-built, booted on QEMU's virt machine
check-arm64: deps
	@TOOLS=tools-arm64 $(HARNESS)/install-deps
	@GUEST_ARCH=arm64 $(HARNESS)/build-kernel
	@GUEST_ARCH=arm64 $(HARNESS)/build-tests
	@GUEST_ARCH=arm64 $(HARNESS)/mkinitramfs
	@GUEST_ARCH=arm64 $(HARNESS)/boot check-mock
	@GUEST_ARCH=arm64 $(HARNESS)/boot check-device
	@$(HARNESS)/report $(IMPL) build/$(IMPL)/arm64/logs check-mock \
		check-device

clients: initramfs
	@$(HARNESS)/boot clients
	@$(HARNESS)/report $(IMPL) $(LOGS) clients

run: initramfs
	@$(HARNESS)/boot run
	@[ ! -e $(LOGS)/run.console ] || \
		grep '^edu-demo' $(LOGS)/run.console

stress: initramfs
	@$(HARNESS)/boot stress
	@$(HARNESS)/boot stress-device
	@$(HARNESS)/report $(IMPL) $(LOGS) stress stress-device
	@[ "$(IMPL)" != ours ] || [ "$(FLAVOUR)" != debug ] || \
		DIFF_SEEDS=$${STRESS_DIFF_SEEDS:-500} $(HARNESS)/diff-run

coverage: deps
	@TOOLS=tools-coverage $(HARNESS)/install-deps
	@FLAVOUR=coverage $(HARNESS)/build-kernel
	@FLAVOUR=coverage $(HARNESS)/build-tests
	@FLAVOUR=coverage $(HARNESS)/mkinitramfs
	@$(HARNESS)/coverage

diff: deps
	@$(HARNESS)/diff-run

kconfig-matrix: kernel
	@$(HARNESS)/kconfig-matrix
	@$(HARNESS)/cross-build ppc64le

cross-build: kernel
	@$(HARNESS)/cross-build

bench:
	@$(HARNESS)/bench-run full

bench-quick: initramfs
	@BENCH_NO_BUILD=1 BENCH_IMPLS=$(IMPL) $(HARNESS)/bench-run quick

lint: kernel
	@$(HARNESS)/lint

clean-room:
	@../shared/tools/clean-room-check .

patches: deps
	@$(HARNESS)/make-patches

clean:
	rm -rf build/$(IMPL)

distclean:
	rm -rf build
