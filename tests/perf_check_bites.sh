#!/usr/bin/env bash
# perf_check_bites.sh: the perf regression check must bite. It builds the deliberately slowed variant
# (-DSF_SLOW_GEMM: sf_sgemm without its register-blocked micro-kernel) into build/slow, then asserts that
# `springfield perf-check` passes with the normal build and fails (exit 1, on the sgemm cases) with the
# slowed one, both against the same profile. On a CPU without a committed profile, the normal build first
# records its ratios into a temporary profile, which both builds are then checked against.
#
#   tests/perf_check_bites.sh            (from anywhere; about 1-2 minutes plus the slow build)
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp -d /tmp/perf_check_bites.XXXXXX)
trap 'rm -rf "$log"' EXIT

echo "perf_check_bites: building the normal and the slowed (-DSF_SLOW_GEMM) variants"
make -s all >/dev/null
make -s BUILD_VARIANT=slow EXTRA_CFLAGS=-DSF_SLOW_GEMM build/slow/springfield >/dev/null
[ -x build/slow/springfield ] || { echo "perf_check_bites: build/slow/springfield was not built"; exit 1; }

if build/springfield info --no-bind | grep -q '^profile:   builtin'; then
  export SPRINGFIELD_PROFILE="$log/this-cpu.profile"
  echo "perf_check_bites: no committed profile for this CPU; recording one in $SPRINGFIELD_PROFILE"
  build/springfield perf-check --case sgemm --record "$SPRINGFIELD_PROFILE" >/dev/null
fi

status() { set +e; "$@" >"$out" 2>&1; rc=$?; set -e; cat "$out"; }

echo; echo "== normal build: must pass"
out=$log/normal.txt; status build/springfield perf-check --case sgemm
[ "$rc" = 0 ] || { echo "perf_check_bites: FAILED: the normal build did not pass (exit $rc)"; exit 1; }

echo; echo "== slowed build: must fail"
out=$log/slow.txt; status build/slow/springfield perf-check --case sgemm --retries 1
grep -q 'scalar_slow' "$out" || { echo "perf_check_bites: FAILED: build/slow does not run the slowed GEMM"; exit 1; }
[ "$rc" = 1 ] || { echo "perf_check_bites: FAILED: the slowed build exited $rc, expected 1"; exit 1; }
grep -q '^sgemm_vs_openblas.* FAIL' "$out" || { echo "perf_check_bites: FAILED: no sgemm case failed"; exit 1; }

echo; echo "perf_check_bites: ok: perf-check passes the normal build and catches the slowed one"
