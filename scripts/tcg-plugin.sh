#!/bin/bash
# The instruction-count TCG plugin, tools/tcg-icount -> build/tcg/libicount.so.
# Debian 12 ships no qemu-plugin.h, so the header comes from Debian's own
# `qemu` source package, the version of the installed qemu-system-x86,
# fetched with apt in a private directory ($CACHE/apt-src: its own sources
# list with deb-src for the bookworm suites this machine already uses, its
# own lists and cache; the machine's apt configuration is not touched).
# Only include/qemu/qemu-plugin.h is kept, in $CACHE/qemu-plugin/<version>/.
# Then builds the plugin and checks that the installed QEMU loads it.
. "$(dirname "$0")/common.sh"

QEMU=${QEMU:-qemu-system-x86_64}
OUT=${TCG_OUT:-$BUILD/tcg}
srcver=$(dpkg-query -W -f '${source:Version}' qemu-system-x86 2>/dev/null) ||
	die "qemu-system-x86 is not installed (run 'make deps')"
ver=${srcver#*:}		# no epoch: it names a directory
hdir=$CACHE/qemu-plugin/$ver
hdr=$hdir/qemu-plugin.h
apt=$CACHE/apt-src

# deb-src lines for every bookworm suite of the machine's apt sources, in
# one-line format, both from sources.list(.d/*.list) and deb822 .sources.
bookworm_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk '$1 == "deb" {
			i = 2; opt = ""
			if ($i ~ /^\[/) {
				for (; i <= NF; i++) {
					t = $i; gsub(/[][]/, "", t)
					if (t ~ /^signed-by=/) opt = "[" t "] "
					if ($i ~ /\]$/) break
				}
				i++
			}
			if ($(i + 1) !~ /^bookworm(-|$)/) next
			line = "deb-src " opt $i " " $(i + 1)
			for (j = i + 2; j <= NF && $j !~ /^#/; j++) line = line " " $j
			print line
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk 'function flush(  nu, ns, u, s, i, j, opt) {
			if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") {
				nu = split(uris, u); ns = split(suites, s)
				opt = signed ~ /^\// ? "[signed-by=" signed "] " : ""
				for (i = 1; i <= nu; i++)
					for (j = 1; j <= ns; j++)
						if (s[j] ~ /^bookworm(-|$)/)
							print "deb-src " opt u[i] " " s[j] " " comps
			}
			types = uris = suites = comps = signed = enabled = ""
		}
		/^[ \t]*#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[ \t]/ { next }		# continuation (an inline key)
		{
			key = tolower($0); sub(/:.*/, "", key)
			val = $0; sub(/^[^:]*:[ \t]*/, "", val); sub(/[ \t]+$/, "", val)
			if (key == "types") types = val
			else if (key == "uris") uris = val
			else if (key == "suites") suites = val
			else if (key == "components") comps = val
			else if (key == "signed-by") signed = val
			else if (key == "enabled") enabled = val
		}
		END { flush() }' "$f"
	done
}

fetch_header() {
	local list tmp orig dtar fixed
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/src"
	list=$(bookworm_sources | LC_ALL=C sort -u)
	if [ -z "$list" ]; then
		say "no bookworm suite in /etc/apt/sources.list(.d): using deb.debian.org" >&2
		list="deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian-security bookworm-security main"
	fi
	local opts=(
		-o Dir::Etc::sourcelist="$apt/sources.list"
		-o Dir::Etc::sourceparts=-
		-o Dir::State::Lists="$apt/lists"
		-o Dir::Cache="$apt/cache"
		-o APT::Sandbox::User="$(id -un)"
	)
	if [ "$list" != "$(cat "$apt/sources.list" 2>/dev/null)" ] ||
	   ! ls "$apt"/lists/*Sources* > /dev/null 2>&1; then
		printf '%s\n' "$list" > "$apt/sources.list"
		say "apt-get update of the private deb-src lists ($apt)"
		apt-get "${opts[@]}" update > "$apt/update.log" 2>&1 ||
			{ tail -n 20 "$apt/update.log"; die "apt-get update (deb-src) failed"; }
	fi
	orig=$(ls "$apt"/src/qemu_"${ver%-*}".orig.tar.* 2>/dev/null | head -n1 || true)
	dtar=$(ls "$apt"/src/qemu_"$ver".debian.tar.* 2>/dev/null | head -n1 || true)
	if [ -z "$orig" ] || [ -z "$dtar" ]; then
		say "apt-get source --download-only qemu=$srcver (into $apt/src)"
		(cd "$apt/src" && apt-get "${opts[@]}" source --download-only "qemu=$srcver") \
			> "$apt/source.log" 2>&1 || {
			# The lists may be older than the installed package: refresh once.
			apt-get "${opts[@]}" update > "$apt/update.log" 2>&1 &&
			(cd "$apt/src" && apt-get "${opts[@]}" source --download-only "qemu=$srcver") \
				> "$apt/source.log" 2>&1
		} || { tail -n 20 "$apt/source.log"; die "apt-get source qemu=$srcver failed"; }
		orig=$(ls "$apt"/src/qemu_"${ver%-*}".orig.tar.* | head -n1)
		dtar=$(ls "$apt"/src/qemu_"$ver".debian.tar.* | head -n1)
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	say "extracting include/qemu/qemu-plugin.h from $(basename "$orig")"
	tar -xf "$orig" -C "$tmp" --no-same-owner --wildcards --no-anchored --strip-components=3 \
		'*/include/qemu/qemu-plugin.h'
	[ -s "$tmp/qemu-plugin.h" ] || die "no include/qemu/qemu-plugin.h in $orig"
	# Does a Debian patch of this version change the header?
	tar -xf "$dtar" -C "$tmp" --no-same-owner debian/patches
	fixed=$(cd "$tmp/debian/patches" && sed 's/#.*//' series 2>/dev/null | xargs -r grep -l \
		'^+++ [^ ]*include/qemu/qemu-plugin\.h' 2>/dev/null || true)
	if [ -n "$fixed" ]; then
		say "Debian patches the header ($fixed): unpacking the whole source (slow)"
		(cd "$tmp" && dpkg-source -x "$apt/src/qemu_$ver.dsc" src > /dev/null) ||
			die "dpkg-source -x failed"
		cp "$tmp/src/include/qemu/qemu-plugin.h" "$tmp/qemu-plugin.h"
	fi
	mkdir -p "$hdir"
	mv "$tmp/qemu-plugin.h" "$hdr"
	echo "qemu $srcver $(basename "$orig")${fixed:+ + $fixed}" > "$hdir/source"
}

[ -s "$hdr" ] || fetch_header
api=$(sed -n 's/^#define QEMU_PLUGIN_VERSION[[:space:]]\+\([0-9]\+\).*/\1/p' "$hdr")
[ -n "$api" ] || die "$hdr has no QEMU_PLUGIN_VERSION"
qv=$("$QEMU" --version | head -n1)
case $qv in
*"(Debian $srcver"*) ;;
*) die "header is from qemu $srcver but $QEMU says: $qv" ;;
esac
say "qemu-plugin.h: qemu $srcver, QEMU_PLUGIN_VERSION $api (${hdr#"$HOME"/})"

make -s -C "$TOP/tools/tcg-icount" O="$OUT" QEMU_PLUGIN_INC="$hdir" ||
	die "tools/tcg-icount does not build"
so=$OUT/libicount.so

# Load it into the installed QEMU without booting anything: machine "none",
# the monitor on stdin quits at once; the plugin's exit line must appear.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo quit | timeout 60 "$QEMU" -M none -accel tcg -nodefaults -display none \
	-monitor stdio -plugin "$so,out=$tmp/out" > "$tmp/log" 2>&1 ||
	{ cat "$tmp/log"; die "$QEMU does not load $so"; }
grep -q '^exit ' "$tmp/out" || { cat "$tmp/log" "$tmp/out"; die "$so wrote no exit line"; }
if echo quit | timeout 60 "$QEMU" -M none -accel tcg -nodefaults -display none \
	-monitor stdio -plugin "$so" > "$tmp/log" 2>&1; then
	die "$so loaded without out=PATH"
fi
say "tcg plugin: ${so#"$TOP"/} (loads in ${qv#QEMU emulator })"
