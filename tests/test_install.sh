#!/usr/bin/env bash
# test_install.sh BUILDDIR PROGRAM.c... — build outside programs against bmnn
# the two ways README describes, and run them:
#   1. installed: `meson install --destdir` into a temporary directory, then
#      pkg-config on the bmnn.pc found there (prefix redefined to the staged
#      tree), linked with an rpath to the staged libdir;
#   2. uninstalled: pkg-config on BUILDDIR/meson-uninstalled (bmnn-uninstalled.pc),
#      run with LD_LIBRARY_PATH=BUILDDIR.
# Each program must compile with `#include <bmnn.h>` (linked with -lm for its own
# math) and exit 0. The staged tree must hold the man page and no private
# (_internal.h) header.
# $CC is the C compiler (meson passes its own), $CFLAGS extra flags (a sanitized
# build's -fsanitize=...). Exits 77 without pkg-config or meson.
set -u
if [ $# -lt 2 ]; then
    echo "usage: $0 BUILDDIR PROGRAM.c..." >&2
    exit 2
fi
build=$(realpath "$1")
shift
cc=${CC:-cc}
cflags=${CFLAGS:-}
command -v pkg-config >/dev/null || { echo "SKIP: no pkg-config"; exit 77; }
command -v meson >/dev/null || { echo "SKIP: no meson on PATH"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

stage="$work/stage"
if meson install -C "$build" --no-rebuild --quiet --destdir "$stage" >"$work/install.log" 2>&1; then
    ok
else
    bad "meson install --destdir: $(tail -5 "$work/install.log")"
fi
pc=$(find "$stage" -name bmnn.pc | head -1)
[ -n "$pc" ] && ok || bad "no bmnn.pc under the staged tree"
pcdir=$(dirname "$pc")
prefix=$(sed -n 's/^prefix=//p' "$pc")
libdir=$(dirname "$pcdir")
# Debian puts it in lib/<multiarch triplet>/pkgconfig, as README says.
if command -v dpkg-architecture >/dev/null; then
    triplet=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
    case "$pc" in
    */lib/"$triplet"/pkgconfig/bmnn.pc) ok ;;
    *) bad "bmnn.pc at ${pc#"$stage"}, README says lib/$triplet/pkgconfig" ;;
    esac
fi
[ -f "$libdir/libbmnn.so" ] && ok || bad "no libbmnn.so in ${libdir#"$stage"}"
[ -f "$stage$prefix/include/bmnn/bmnn.h" ] && ok || bad "no include/bmnn/bmnn.h"
[ -f "$stage$prefix/share/man/man1/bmnn.1" ] && ok || bad "man page bmnn(1) not installed"
priv=$(find "$stage" -name '*_internal.h')
[ -z "$priv" ] && ok || bad "private headers installed: $priv"

installed_flags=$(PKG_CONFIG_PATH="$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
    pkg-config --define-variable=prefix="$stage$prefix" --cflags --libs bmnn) ||
    bad "pkg-config on the staged bmnn.pc"
uninst_flags=$(PKG_CONFIG_PATH="$build/meson-uninstalled${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
    pkg-config --cflags --libs bmnn) || bad "pkg-config on meson-uninstalled"

for src in "$@"; do
    name=$(basename "$src" .c)
    # shellcheck disable=SC2086 # the flags are word lists
    if "$cc" -std=c11 $cflags -o "$work/$name-installed" "$src" $installed_flags -lm \
        -Wl,-rpath,"$libdir" 2>"$work/cc.err"; then
        ok
        # run it with the staged library, found by its rpath alone
        if env -u LD_LIBRARY_PATH "$work/$name-installed" >"$work/run.out" 2>&1; then ok; else
            bad "$name (installed) exited $?: $(tail -3 "$work/run.out")"
        fi
        if env -u LD_LIBRARY_PATH ldd "$work/$name-installed" | grep -q "$libdir/libbmnn.so"; then ok; else
            bad "$name (installed) does not load the staged libbmnn: $(ldd "$work/$name-installed" | grep bmnn)"
        fi
    else
        bad "$name against the installed tree: $(head -5 "$work/cc.err")"
    fi
    # shellcheck disable=SC2086
    if "$cc" -std=c11 $cflags -o "$work/$name-uninstalled" "$src" $uninst_flags -lm 2>"$work/cc.err"; then
        ok
        if LD_LIBRARY_PATH="$build" "$work/$name-uninstalled" >"$work/run.out" 2>&1; then ok; else
            bad "$name (uninstalled) exited $?: $(tail -3 "$work/run.out")"
        fi
    else
        bad "$name against the build tree: $(head -5 "$work/cc.err")"
    fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
