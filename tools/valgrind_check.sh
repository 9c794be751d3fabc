#!/usr/bin/env bash
# valgrind_check.sh: a short training run (a few batches of a small synthetic demo, then Ctrl-C, which
# saves the state) and the resume that finishes the epoch, evaluates and reports, both under valgrind
# memcheck. Fails on any
# memcheck error (invalid read or write, use of uninitialised values, bad free) and on definite or
# possible leaks; tools/valgrind-openmp.supp suppresses only libgomp's pool-thread TLS.
#
#   tools/valgrind_check.sh [build/springfield]      (make test-valgrind)
#
# One setting keeps the run about springfield's own memory:
#  - JSIMD_FORCENONE=1: libjpeg-turbo's SIMD colour conversion and upsampling read whole vectors past
#    the end of rows in its internal buffers and drop the extra lanes; memcheck cannot see that the
#    lanes are dropped and reports every decoded pixel as uninitialised (thousands of reports reaching
#    the loss and the checkpoint CRC). libjpeg-turbo documents this switch for valgrind; the scalar
#    decoder gives the same pixels.
set -u
cd "$(dirname "$0")/.." || exit 1
SF=${1:-build/springfield}
command -v valgrind >/dev/null || { echo "valgrind_check: valgrind not found (apt-get install valgrind)"; exit 1; }
[ -x "$SF" ] || { echo "valgrind_check: $SF not built"; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sf-valgrind.XXXXXX")
trap 'rm -rf "$T"' EXIT
export JSIMD_FORCENONE=1

# The data is drawn natively: 42 classes, 1-2 images each, about 5 batches of 8 per epoch.
"$SF" train --out "$T/gen" --epochs 1 --synth-largest 2 --synth-smallest 1 --checkpoint-minutes 0 --threads 2 \
    --batch 8 >"$T/gen.log" 2>&1 || { echo "valgrind_check: generating the data failed"; cat "$T/gen.log"; exit 1; }

VG=(valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,possible
    --errors-for-leak-kinds=definite,possible --suppressions=tools/valgrind-openmp.supp --num-callers=30)
fail=0
run() {  # run NAME EXPECTED-STATUS ARGS...: with NAME=train, SIGINT once two batches are done
    local name=$1 want=$2; shift 2
    local t0=$SECONDS
    "${VG[@]}" "$SF" "$@" >"$T/$name.log" 2>&1 &
    local pid=$!
    if [ "$name" = train ]; then
        until grep -q '^epoch 001 [2-9]/' "$T/$name.log" || ! kill -0 $pid 2>/dev/null; do sleep 1; done
        kill -INT $pid 2>/dev/null
    fi
    wait $pid
    local st=$?
    [ $st = "$want" ] && st=0
    local summary lost
    summary=$(grep -o 'ERROR SUMMARY: [0-9]* errors from [0-9]* contexts' "$T/$name.log" | tail -1)
    lost=$(grep -E 'definitely lost:|possibly lost:' "$T/$name.log" | sed 's/==[0-9]*== *//' | tr '\n' ' ')
    echo "valgrind_check: $name: status $st, $summary; ${lost:-no leaks}($((SECONDS - t0)) s)"
    if [ $st != 0 ]; then
        fail=1
        grep -E -A25 '^==[0-9]+== (Invalid|Conditional|Use of|Mismatched|Syscall|Source and|.* are (definitely|possibly) lost)' \
            "$T/$name.log" | head -150
        tail -5 "$T/$name.log"
    fi
}
# Exit status 130: interrupted as asked, the state saved (valgrind's own failure status is 99).
run train 130 train --data "$T/gen/synthetic-data" --epochs 1 --batch 8 --threads 2 --checkpoint-minutes 0 \
    --out "$T/run"
run resume 0 train --resume "$T/run"
grep -q "resuming $T/run at epoch 1, batch [1-9]" "$T/resume.log" ||
    { echo "valgrind_check: the resume did not continue the interrupted epoch"; fail=1; }
[ $fail = 0 ] && echo "valgrind_check: clean" || echo "valgrind_check: FAILED"
exit $fail
