#!/usr/bin/env bash
# Runs each cargo-fuzz target (fuzz/fuzz_targets/) for a bounded time: the line layer, the
# SMS PDU decoders, the CMUX and PPP frame decoders, and the PPP link. Installs cargo-fuzz from crates.io if
# it is missing; builds with the machine's stable toolchain (RUSTC_BOOTSTRAP=1 lets it take
# libFuzzer's -Z flags). A crash fails the run and leaves its input in fuzz/artifacts/<target>/.
#
# Usage: scripts/fuzz.sh [SECONDS]     (per target; default 30, or VMODEM_FUZZ_SECONDS)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECONDS_EACH=${1:-${VMODEM_FUZZ_SECONDS:-30}}

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet
cd "$ROOT/fuzz"
mkdir -p target
status=0
for target in line_layer sms_pdu cmux_ppp_frames ppp_link; do
  echo "fuzz.sh: $target for ${SECONDS_EACH} s" >&2
  if ! RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -- -max_total_time="$SECONDS_EACH" >"target/$target.log" 2>&1; then
    tail -40 "target/$target.log" >&2
    echo "fuzz.sh: $target failed (the input is in fuzz/artifacts/$target/)" >&2
    status=1
  fi
done
exit "$status"
