#!/usr/bin/env bash
# Installs, from Debian packages, whatever weft's build, tests, tour and
# benchmarks need and is not installed yet. Idempotent: when everything is
# present it only asks dpkg (no apt-get update, no network), so it is cheap to
# run first in every script.
#
#   bash tools/setup.sh          # as root (or with sudo available)
set -euo pipefail

packages=(
  meson ninja-build pkg-config cmake python3   # build, packaging checks
  g++                                          # the default compiler (and ASan/UBSan)
  clang libclang-rt-14-dev                     # the ThreadSanitizer build (clang 14 + its runtime)
  libtbb-dev                                   # the work-stealing scheduler
  libboost-thread-dev libboost-chrono-dev      # blocking pool threads, interop.hpp; chrono for tests' and tour's sleeps
  libgtest-dev libgmock-dev                    # tests
  libbenchmark-dev                             # tools/bench
  libasio-dev                                  # tools/bench only: the asio::steady_timer peer (header-only)
  libboost-fiber-dev                           # tools/bench only: the boost::fibers::buffered_channel peer
  libconcurrentqueue-dev                       # tools/bench only: the moodycamel::BlockingConcurrentQueue peer (header-only)
)

# One dpkg-query for all of them. Names it does not know print nothing and
# make it exit 1, which must not stop this script (set -e, pipefail).
installed=" $({ dpkg-query -W -f='${db:Status-Abbrev}|${Package}\n' "${packages[@]}" 2>/dev/null || true; } |
  awk -F'|' '$1 ~ /^ii/ { printf "%s ", $2 }') "
missing=()
for p in "${packages[@]}"; do
  [[ "$installed" == *" $p "* ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "setup: missing packages and not root (and no sudo): ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
