#!/usr/bin/env bash
# Installs every package aihw needs to build and test on Debian 12 (bookworm): compiler,
# CMake, pkg-config, OpenBLAS (its OpenMP build, see docs and DESIGN §5: the pthread build
# spins against libgomp), cJSON, zlib, PLplot with its cairo driver (the tool's PNG/SVG
# plots, DESIGN §5), git, CA certificates, the Fashion-MNIST data set
# (dataset-fashion-mnist, for `aihw train`), and the hardening tools of scripts/test.sh:
# clang with its libFuzzer and sanitizer runtimes (libclang-rt-14-dev: Debian 12's clang is
# clang 14) and valgrind.
#
# Idempotent: when every package is already installed (checked with dpkg-query) apt is not
# touched at all, so reruns take well under a second. Otherwise runs `apt-get update` and
# `apt-get install -y --no-install-recommends` of the missing ones, through sudo when not
# root. Finally makes sure the libopenblas.so.0 alternative points at the OpenMP build
# (a pthread build installed alongside would otherwise win on priority).
#
# Environment: AIHW_SKIP_DEPS=1 skips everything (for machines managed some other way).
set -euo pipefail

PACKAGES=(
  build-essential
  cmake
  pkg-config
  libopenblas-openmp-dev
  libcjson-dev
  zlib1g-dev
  libplplot-dev
  plplot-driver-cairo
  fonts-dejavu-core
  git
  ca-certificates
  dataset-fashion-mnist
  clang
  libclang-rt-14-dev
  valgrind
)

say() { printf 'install-deps: %s\n' "$*"; }

if [[ "${AIHW_SKIP_DEPS:-0}" == 1 ]]; then
  say "AIHW_SKIP_DEPS=1: not checking system packages"
  exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  say "no dpkg/apt-get here (not Debian?); install these yourself if the build fails:"
  say "  ${PACKAGES[*]}"
  exit 0
fi

# Runs a command as root: directly when root, else through sudo.
as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    say "need root to run: $*  (no sudo found; rerun as root)" >&2
    exit 1
  fi
}

is_installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  say "all ${#PACKAGES[@]} packages already installed: ${PACKAGES[*]}"
else
  say "missing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  say "running apt-get update"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update
  say "running apt-get install -y --no-install-recommends ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
  say "done"
fi

# The runtime library the build links (libopenblas.so.0) is a Debian alternative; make it
# the OpenMP build if another flavour (pthread, serial) is installed with higher priority.
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null || true)"
if [[ -n "$multiarch" ]] && command -v update-alternatives >/dev/null 2>&1; then
  alt="libopenblas.so.0-${multiarch}"
  want="/usr/lib/${multiarch}/openblas-openmp/libopenblas.so.0"
  current="$(update-alternatives --query "$alt" 2>/dev/null | sed -n 's/^Value: //p' || true)"
  if [[ -e "$want" && -n "$current" && "$current" != "$want" ]]; then
    say "libopenblas.so.0 points at $current; switching it to the OpenMP build"
    as_root update-alternatives --set "$alt" "$want"
  fi
fi
