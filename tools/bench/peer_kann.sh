#!/bin/sh
# peer_kann.sh — build kann (attractivechaos/kann) + OpenBLAS and peer_kann.c
# into a temporary directory and run the W1–W3 steps there.
#
#   tools/bench/peer_kann.sh KANN_SRC_DIR [peer-kann options: --quick --threads N --mt
#                                           --only W1,W2,W3 --reps N --min-time S]
#   PEER_KANN_KEEP=DIR   build into DIR and keep it (the binary is DIR/peer-kann)
#   CFLAGS               compiler flags for kann and the peer (default -O3 -march=native:
#                        the peer's best, not kann's Makefile's -O2)
#
# kann's source stays outside this repository (clone it anywhere). Exits 77
# (skip) when the directory, a C compiler or OpenBLAS is missing. The OpenBLAS
# pins OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for the peer so that
# OpenBLAS picks its own kernel; the peer prints which (openblas_get_corename).
set -eu

SKIP=77
src=${1:-}
if [ -z "$src" ] || [ ! -f "$src/kann.c" ] || [ ! -f "$src/kautodiff.c" ]; then
    echo "peer_kann.sh: no kann source at '${src}' (need kann.c, kautodiff.c; clone" \
         "https://github.com/attractivechaos/kann outside the repository)" >&2
    exit $SKIP
fi
shift
here=$(cd "$(dirname "$0")" && pwd)
cc=${CC:-cc}
cflags=${CFLAGS:--O3 -march=native}
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "peer_kann.sh: no C compiler '$cc'" >&2
    exit $SKIP
fi
if pkg-config --exists openblas 2>/dev/null; then
    blas_cflags=$(pkg-config --cflags openblas)
    blas_libs=$(pkg-config --libs openblas)
else
    blas_cflags=
    blas_libs=-lopenblas
fi

if [ -n "${PEER_KANN_KEEP:-}" ]; then
    out=$PEER_KANN_KEEP
    mkdir -p "$out"
else
    out=$(mktemp -d "${TMPDIR:-/tmp}/peer_kann.XXXXXX")
    trap 'rm -rf "$out"' EXIT INT TERM
fi

# shellcheck disable=SC2086 # flag lists are meant to split
if ! $cc $cflags -DHAVE_PTHREAD -DHAVE_CBLAS $blas_cflags -I"$src" \
        -o "$out/peer-kann" "$here/peer_kann.c" "$src/kann.c" "$src/kautodiff.c" \
        $blas_libs -lpthread -lm 2>"$out/build.log"; then
    if grep -q "cblas.h\|lopenblas" "$out/build.log"; then
        echo "peer_kann.sh: OpenBLAS (cblas.h, -lopenblas) not found:" >&2
        cat "$out/build.log" >&2
        exit $SKIP
    fi
    cat "$out/build.log" >&2
    exit 1
fi

unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
"$out/peer-kann" "$@"
