#!/usr/bin/env bash
# Builds ggml's GPT-J example (examples/gpt-j: the `gpt-j` binary and `gpt-j-quantize`) from a ggml
# source checkout, for the plain-GPT-J comparison side of tools/bench/ggml/compare.sh.
#
#   tools/bench/ggml/build.sh SRC_DIR [BUILD_DIR]
#
# SRC_DIR: a ggml work tree (https://github.com/ggml-org/ggml). Measured: commit
#   d99724f2b141fed9e1a9f402213506c081433465 (2026-08-21, "readme : update following llama.cpp
#   style (#1599)"), the newest commit in the fetched history; examples/gpt-j is still there (its
#   last change: d79210de, 2025-09-25). Any commit whose tree has examples/gpt-j should do.
#   One way to get it without putting ggml into this repository:
#     git clone https://github.com/ggml-org/ggml /tmp/ggml && git -C /tmp/ggml checkout d99724f2
# BUILD_DIR: default ~/.cache/magma-java/ggml/build-<short commit, or "src">-llamafile
#   (build-<short commit> with GGML_LLAMAFILE=OFF).
#
# Release, -DGGML_NATIVE=ON (-march=native: AVX-512 and its BF16/VNNI extensions where the CPU has
# them), OpenMP threads (ggml's default), no BLAS, no GPU backend. GGML_LLAMAFILE (environment,
# default ON): ggml's llamafile sgemm ("tinyBLAS") for matrix products, which llama.cpp turns on
# by default but a standalone ggml build leaves off; without it the batched prefill runs on ggml's
# dot-product kernels. Prints the two binaries' paths.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 SRC_DIR [BUILD_DIR]" >&2
    exit 2
fi
src=$(cd "$1" && pwd)
if [ ! -f "$src/examples/gpt-j/main.cpp" ] || [ ! -f "$src/examples/gpt-j/quantize.cpp" ] \
    || ! grep -q 'gpt-j' "$src/examples/CMakeLists.txt"; then
    echo "$0: $src has no examples/gpt-j (main.cpp, quantize.cpp, listed in examples/CMakeLists.txt):" >&2
    echo "  check out a ggml commit that still has the GPT-J example, e.g. d99724f2" >&2
    exit 1
fi
commit=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo src)
llamafile=${GGML_LLAMAFILE:-ON}
case $llamafile in ON|OFF) ;; *) echo "$0: GGML_LLAMAFILE must be ON or OFF" >&2; exit 2 ;; esac
suffix=""; [ "$llamafile" = ON ] && suffix=-llamafile
build=${2:-"$HOME/.cache/magma-java/ggml/build-${commit:0:8}$suffix"}
mkdir -p "$build"

cmake -S "$src" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=ON \
    -DGGML_LLAMAFILE="$llamafile" \
    -DGGML_BUILD_EXAMPLES=ON \
    -DGGML_BUILD_TESTS=OFF \
    -DBUILD_SHARED_LIBS=OFF >"$build/cmake-configure.log" 2>&1 \
    || { tail -n 30 "$build/cmake-configure.log" >&2; echo "$0: cmake configure failed ($build/cmake-configure.log)" >&2; exit 1; }
# (GCC 12 warns about AVX-512 intrinsics at length; the warnings stay in the log)
cmake --build "$build" --config Release --target gpt-j gpt-j-quantize -j "$(nproc)" >"$build/cmake-build.log" 2>&1 \
    || { grep -m 20 -B2 -A5 'error' "$build/cmake-build.log" >&2; echo "$0: build failed ($build/cmake-build.log)" >&2; exit 1; }

for bin in gpt-j gpt-j-quantize; do
    if [ ! -x "$build/bin/$bin" ]; then
        echo "$0: $build/bin/$bin was not built; see $build/cmake-build.log" >&2
        exit 1
    fi
done
echo "$commit (GGML_LLAMAFILE=$llamafile)" >"$build/ggml-commit.txt"
echo "$build/bin/gpt-j"
echo "$build/bin/gpt-j-quantize"
