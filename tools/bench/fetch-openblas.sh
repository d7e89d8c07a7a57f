#!/usr/bin/env bash
# Unpacks Debian's OpenBLAS (libopenblas0-pthread) into the magma-java cache directory, without
# installing it, and prints the folder holding its libblas.so.3. PyTorch's fp32 baseline loads it
# through LD_LIBRARY_PATH (compare.py --openblas DIR): Debian's torch links whatever libblas.so.3
# the system resolves, by default the unoptimised netlib reference implementation.
set -eu
if [ -n "${MAGMA_CACHE_DIR:-}" ]; then cache=$MAGMA_CACHE_DIR
elif [ -n "${XDG_CACHE_HOME:-}" ]; then cache=$XDG_CACHE_HOME/magma-java
else cache=$HOME/.cache/magma-java
fi
dir="$cache/openblas"
lib="$dir/usr/lib/x86_64-linux-gnu/openblas-pthread"
if [ ! -e "$lib/libblas.so.3" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  chmod a+rwx "$tmp"  # apt's download sandbox user must be able to write there
  (cd "$tmp" && apt-get download libopenblas0-pthread >&2)
  mkdir -p "$dir"
  dpkg-deb -x "$tmp"/libopenblas0-pthread_*.deb "$dir"
fi
echo "$lib"
