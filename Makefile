# xen-m2p: the m2p override series for Linux 6.12 (Xen PV dom0), its rig
# and its tests. Run `make help` for the targets.
SHELL := /bin/bash
S := scripts

.PHONY: help deps source tree export kernel kernel-base rootfs xen programs \
	run check check-matrix bench tcg-plugin checkpatch bisect-check distro-build standalone-check clean distclean

help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## deps          install the Debian packages the project needs (apt-get)
deps:
	@$(S)/deps.sh
## source        download linux-source-6.12 (cached) and extract the tarball
source:
	@$(S)/source.sh
## tree          scratch git tree build/linux: pristine base + patches/series
tree:
	@$(S)/tree.sh
## export        write build/linux's commits back into patches/
export:
	@$(S)/export.sh
## kernel        build the dom0 test kernel (BASELINE=1: the unpatched base, build/base/)
kernel:
	@$(S)/kernel.sh
kernel-base:
	@BASELINE=1 $(S)/kernel.sh
## rootfs        the dom0 root filesystem of XM2P_STACK (trixie: Debian 13, the default; bookworm: Debian 12), cached outside the checkout
rootfs:
	@$(S)/rootfs.sh
## xen           the hypervisor of XM2P_STACK from Debian's package (bookworm: Xen 4.17; trixie: 4.20)
xen:
	@$(S)/xen.sh
## programs      the project's dom0 programs (selftest, mapping backend)
programs:
	@$(S)/programs.sh
## run           boot Xen + the patched dom0, local-attach a qcow2, pygrub, fio
run:
	@$(S)/run.sh
## check         the whole test suite; last line "N passed, N failed"
check:
	@$(S)/check.sh
## bench         fio through raw O_DIRECT, qdisk and xen-mapblk; bench/results.md
bench:
	@$(S)/bench.sh
## tcg-plugin    the instruction-count TCG plugin (header from Debian's qemu source)
tcg-plugin:
	@$(S)/tcg-plugin.sh
## check-matrix every scenario on all three kernels and both stacks, CHECK_STACKS="trixie bookworm" (longer than the CI budget)
check-matrix:
	@CHECK_MATRIX=1 CHECK_STACKS="$${CHECK_STACKS:-trixie bookworm}" $(S)/check.sh
## standalone-check  6.12 plus only the leading standalone fixes: build, boot
standalone-check:
	@$(S)/standalone-check.sh
## checkpatch    scripts/checkpatch.pl --strict on every patch of the series
checkpatch:
	@$(S)/checkpatch.sh
## bisect-check  build every prefix of the series (incremental, ccache)
bisect-check:
	@$(S)/bisect-check.sh
## distro-build  compile the touched directories under Debian's own config
distro-build:
	@$(S)/distro-build.sh
## clean         remove build outputs (keeps the scratch tree and caches)
clean:
	rm -rf build/kernel build/base/kernel build/bisect/kernel build/kernel-distro build/runs build/dom0-bin build/logs build/check
## distclean     remove build/ entirely (scratch tree too) and the caches
distclean:
	rm -rf build "$${XDG_CACHE_HOME:-$$HOME/.cache}/xen-m2p"
