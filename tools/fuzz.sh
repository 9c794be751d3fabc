#!/bin/bash
# fuzz.sh: build every libFuzzer harness fuzz/fuzz_<name>.c (clang, ASan + UBSan; see fuzz/Makefile.fuzz) and
# run each for FUZZ_SECONDS seconds, one after the other.
#
#   tools/fuzz.sh                        all harnesses, FUZZ_SECONDS=30 each
#   FUZZ_SECONDS=300 tools/fuzz.sh safetensors image
#   FUZZ_SECONDS=0 tools/fuzz.sh         replay the seed corpora and saved crashes only (no new inputs)
#   FUZZ_ARGS="-max_len=65536" tools/fuzz.sh safetensors   extra libFuzzer flags
#   FUZZ_SEED=1234 tools/fuzz.sh image     libFuzzer's random seed: the summary prints each run's, so a find
#                                          (in CI, say) is replayed by the same seed for as long or longer
#
# Seeds come from fuzz/corpus/<name>/ (committed) and, when present, fuzz/<name>.dict is the dictionary.
# New inputs libFuzzer finds go to build/fuzz/corpus/<name>/ (never into the repository), crash
# reproducers to build/fuzz/artifacts/<name>/, the full log to build/fuzz/<name>.log. Replay one with
#   build/fuzz/fuzz_<name> build/fuzz/artifacts/<name>/crash-...
# Exit status 1 when any harness crashed, leaked, timed out or failed to build.
set -u
cd "$(dirname "$0")/.."

SECONDS_EACH=${FUZZ_SECONDS:-30}
FB=build/fuzz
JOBS=$(nproc 2>/dev/null || echo 2)

if ! command -v "${FCC:-clang}" >/dev/null; then
    echo "fuzz: ${FCC:-clang} not found (apt-get install clang)"; exit 1
fi
if [ $# -gt 0 ]; then
    names=("$@")
else
    names=()
    for f in fuzz/fuzz_*.c; do [ -e "$f" ] && names+=("$(basename "$f" .c | sed 's/^fuzz_//')"); done
fi
[ ${#names[@]} -gt 0 ] || { echo "fuzz: no harness fuzz/fuzz_*.c"; exit 1; }

targets=()
for n in "${names[@]}"; do targets+=("$FB/fuzz_$n"); done
echo "fuzz: building ${targets[*]}"
make --no-print-directory -f fuzz/Makefile.fuzz -j"$JOBS" "${targets[@]}" 2>&1 |
    grep -v -e 'loop not vectorized' -e 'pragma omp simd' -e '^ *\^$' -e 'warnings\? generated'
[ "${PIPESTATUS[0]}" = 0 ] || { echo "fuzz: BUILD FAILED"; exit 1; }

fail=0
summary=()
for n in "${names[@]}"; do
    bin=$FB/fuzz_$n seeds=fuzz/corpus/$n work=$FB/corpus/$n art=$FB/artifacts/$n/ log=$FB/$n.log
    mkdir -p "$work" "$art"
    [ -d "$seeds" ] || { echo "fuzz: warning: no seed corpus $seeds, starting from nothing"; seeds=; }
    args=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art")
    [ -f "fuzz/$n.dict" ] && args+=(-dict="fuzz/$n.dict")
    [ -n "${FUZZ_SEED:-}" ] && args+=(-seed="$FUZZ_SEED")
    # shellcheck disable=SC2206
    args+=(${FUZZ_ARGS:-})
    if [ "$SECONDS_EACH" = 0 ]; then
        # Replay: the seeds, what earlier runs found, and every saved crash, each input run once.
        inputs=("$work")
        [ -n "$seeds" ] && inputs+=("$seeds")
        for c in "$art"crash-* "$art"leak-* "$art"timeout-* "$art"oom-*; do [ -e "$c" ] && inputs+=("$c"); done
        echo "== fuzz_$n: replaying ${inputs[*]}"
        OMP_NUM_THREADS=1 "$bin" "${args[@]}" -runs=0 "${inputs[@]}" >"$log" 2>&1
    else
        echo "== fuzz_$n: $SECONDS_EACH s, seeds ${seeds:-none}"
        OMP_NUM_THREADS=1 "$bin" "${args[@]}" -max_total_time="$SECONDS_EACH" "$work" $seeds >"$log" 2>&1
    fi
    rc=$?
    # The last status line carries the execution count and coverage; keep it for the summary.
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    seed=$(grep -m1 -o 'Seed: [0-9]*' "$log" | awk '{print $2}')
    if [ $rc = 0 ]; then
        summary+=("fuzz_$n: ok, ${execs:-?} runs, seed ${seed:-?}; $last")
    else
        fail=1
        crash=$(grep -o "Test unit written to .*" "$log" | tail -1 | sed 's/Test unit written to //')
        summary+=("fuzz_$n: FAILED (rc $rc), seed ${seed:-?} ${crash:+reproducer $crash}; see $log")
        grep -m1 -E 'ERROR: (AddressSanitizer|libFuzzer|UndefinedBehaviorSanitizer|LeakSanitizer)|runtime error:' "$log"
    fi
done
echo "fuzz: summary"
printf '  %s\n' "${summary[@]}"
# A find on a machine whose build/ is thrown away (CI) is lost unless the log carries it: small reproducers
# are printed last, in base64 (base64 -d > crash; build/fuzz/fuzz_<name> crash).
[ $fail = 1 ] && for f in "$FB"/artifacts/*/crash-* "$FB"/artifacts/*/leak-* "$FB"/artifacts/*/timeout-*; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 8192 ] || continue
    echo "fuzz: reproducer $f (base64):"
    base64 -w0 "$f"; echo
done
exit $fail
