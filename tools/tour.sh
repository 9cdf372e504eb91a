#!/usr/bin/env bash
# The tour (README: "bash tools/tour.sh"): installs whatever is missing
# (tools/setup.sh), configures the build directory `build` if it is not
# configured yet (the same one tools/test.sh uses), builds only the tour
# (tools/tour, target weft-tour) and runs it. Arguments go to weft-tour.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tools/setup.sh
if [[ ! -f build/meson-private/coredata.dat ]]; then
  meson setup build
fi
meson compile -C build tools/tour/weft-tour
exec build/tools/tour/weft-tour "$@"
