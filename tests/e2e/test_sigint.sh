#!/usr/bin/env bash
# test_sigint.sh: Ctrl-C (SIGINT) in the middle of an epoch finishes the batch, saves the state, prints
# the resume command and exits 130; the checkpoint it leaves loads (evaluate), and the printed resume
# command continues the run to the end. SIGTERM behaves the same.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

RUN=$TMP/run
# Wait until the run has trained some batches of epoch 1 (a progress line), then send the signal.
interrupt() {  # interrupt SIGNAL RUN LOG ARGS...
    local sig=$1 run=$2 log=$3; shift 3
    "$SF" train --out "$run" "$@" >"$log" 2>&1 &
    local pid=$! t=0
    until grep -q '^epoch 001 [0-9]*/' "$log" 2>/dev/null || [ $t -ge 1200 ]; do sleep 0.1; t=$((t + 1)); done
    kill -s "$sig" $pid
    wait $pid
}

interrupt INT "$RUN" "$TMP/a.log" --epochs 2 --batch 16 --threads 2 --synth-largest 16 --synth-smallest 3 \
    --checkpoint-minutes 0
st=$?
[ $st = 130 ]; check "SIGINT: exit status 130 (got $st)" $?
grep -Eq "interrupted \(SIGINT\) at epoch [12] batch [0-9]+; state saved" "$TMP/a.log"
check "SIGINT: stopped after a finished batch, state saved" $?
cmdline=$(sed -n 's/^resume with: //p' "$TMP/a.log")
[ "$cmdline" = "$SF train --resume $RUN" ]; check "SIGINT: resume command printed ($cmdline)" $?
id=$(st_meta "$RUN/state.safetensors" ckpt_id)
[ "$id" = "$(st_meta "$RUN/last.safetensors" ckpt_id)" ] && [ -n "$id" ]
check "state and last.safetensors carry the same checkpoint id ($id)" $?
"$SF" evaluate --weights "$RUN/last.safetensors" --data "$RUN/synthetic-data" --threads 2 --no-matrix \
    >"$TMP/eval.txt" 2>&1
check "the interrupted checkpoint loads (evaluate)" $?
$cmdline --checkpoint-minutes 0 >"$TMP/b.log" 2>&1; check "the resume command finishes the run" $?
[ "$(wc -l <"$RUN/history.csv")" = 3 ]; check "history has both epochs once each" $?

interrupt TERM "$TMP/run2" "$TMP/c.log" --data "$RUN/synthetic-data" --epochs 3 --batch 16 --threads 2 \
    --checkpoint-minutes 0
st=$?
[ $st = 130 ] && grep -q "interrupted (SIGTERM)" "$TMP/c.log"; check "SIGTERM: exit 130, state saved (got $st)" $?

# A second Ctrl-C exits at once; the checkpoint on disk (written by the timer before) stays loadable.
"$SF" train --out "$TMP/run3" --data "$RUN/synthetic-data" --epochs 5 --batch 16 --threads 2 \
    --checkpoint-minutes 0.002 >"$TMP/d.log" 2>&1 &
pid=$!
t=0
until [ -f "$TMP/run3/state.safetensors" ] || [ $t -ge 1200 ]; do sleep 0.1; t=$((t + 1)); done
kill -INT $pid; kill -INT $pid
wait $pid
st=$?
[ $st = 130 ]; check "double SIGINT: exit 130 (got $st)" $?
"$SF" evaluate --weights "$TMP/run3/last.safetensors" --data "$RUN/synthetic-data" --threads 2 --no-matrix \
    >/dev/null 2>&1
check "double SIGINT: last checkpoint still loads" $?
# A run stopped before its first checkpoint (only config.json written): --resume starts it over.
mkdir -p "$TMP/run4" && cp "$RUN/config.json" "$TMP/run4/"
"$SF" train --resume "$TMP/run4" --data "$RUN/synthetic-data" --epochs 1 --batch 16 --threads 2 \
    --checkpoint-minutes 0 >"$TMP/e.log" 2>&1
st=$?
[ $st = 0 ] && grep -q "has no checkpoint yet" "$TMP/e.log" && [ -f "$TMP/run4/best.safetensors" ]
check "--resume before any checkpoint: starts over and finishes (got $st)" $?
finish
