#!/usr/bin/env bash
# The test command of vmodem: installs and starts the real test servers, runs the whole
# Rust test suite (the tests marked #[ignore] because they need those servers included), and
# stops the servers again. `cargo test` alone runs the tier that needs no server.
#
# Usage: scripts/test.sh [ARGS...]     (from any directory; run as root on Debian 12)
#
#   ARGS go to the test runner: `cargo nextest run --workspace --no-fail-fast
#   --run-ignored all ARGS` when cargo-nextest is installed, else
#   `cargo test --workspace --no-fail-fast ARGS -- --include-ignored`.
#   With nextest, the doc tests run first as `cargo test --workspace --doc` (nextest cannot
#   run them); with plain `cargo test` they are part of the main run.
#   Examples:  scripts/test.sh -E 'test(ftp)'        (nextest filterset)
#              scripts/test.sh --no-tests=pass -E 'test(=nothing)'
#
# Then the fuzz targets run for a bounded time each (scripts/fuzz.sh).
#
# Environment:
#   VMODEM_FUZZ_SECONDS=N   seconds per fuzz target (default 30)
#   VMODEM_KEEP_SERVERS=1   leave the servers running afterwards (default: stop them on exit)
#   VMODEM_SERVERS=DIR      servers' base directory (default /tmp/vmodem-servers); the tests
#                           read DIR/servers.env (see scripts/test-servers.sh)
#
# Exit status: that of the tests (non-zero if the servers cannot be installed or started).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

export VMODEM_SERVERS=${VMODEM_SERVERS:-/tmp/vmodem-servers}
# A one-shot build gains nothing from incremental artifacts, which would double the size of the
# target directory on a CI machine's disk.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

if [ "${VMODEM_KEEP_SERVERS:-0}" = 1 ]; then
  echo "test.sh: VMODEM_KEEP_SERVERS=1: servers stay up after the tests" >&2
else
  # Quiet, so that the test runner's summary stays the last thing printed.
  trap 'scripts/test-servers.sh stop >/dev/null 2>&1 || true' EXIT
fi

scripts/test-servers.sh install
scripts/test-servers.sh start

status=0
fuzz_status=0
scripts/fuzz.sh || fuzz_status=$?
if cargo nextest --version >/dev/null 2>&1; then
  doc_status=0
  cargo test --workspace --doc || doc_status=$?
  cargo nextest run --workspace --no-fail-fast --run-ignored all "$@" || status=$?
  if [ "$status" -eq 0 ] && [ "$doc_status" -ne 0 ]; then
    echo "test.sh: doc tests failed (exit $doc_status)" >&2
    status=$doc_status
  fi
else
  cargo test --workspace --no-fail-fast "$@" -- --include-ignored || status=$?
fi
if [ "$status" -eq 0 ] && [ "$fuzz_status" -ne 0 ]; then
  echo "test.sh: a fuzz target failed (exit $fuzz_status)" >&2
  status=$fuzz_status
fi
exit "$status"
