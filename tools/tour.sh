#!/usr/bin/env bash
# The tour (README: "bash tools/tour.sh"): installs whatever is missing
# (tools/setup.sh), configures the build directory `build-tour` if it is not
# configured yet, builds only the tour (tools/tour, target weft-tour) and
# runs it. Arguments go to weft-tour (`bash tools/tour.sh --help` lists the
# examples).
#
# A directory of its own, not `build`: the tour must not leave `build`
# configured with Meson's default prefix, so that a later
# `meson setup build --prefix=...` (README, "Install and use") takes effect
# instead of finding the directory already configured. Tests and
# benchmarks are off here; only the tour is built.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tools/setup.sh
if [[ ! -f build-tour/meson-private/coredata.dat ]]; then
  meson setup build-tour -Dtests=false -Dbenchmarks=false -Dconsumer_tests=false
fi
meson compile -C build-tour tools/tour/weft-tour
exec build-tour/tools/tour/weft-tour "$@"
