#!/usr/bin/env bash
# test_resume_exact.sh: with --deterministic and the same thread count, a run killed with kill -9 in
# the middle of an epoch (after an in-epoch checkpoint) and resumed ends with weights bit-identical to
# an uninterrupted run: the final last.safetensors and best.safetensors compare equal byte for byte.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

# The balance is given explicitly: the demo (run a) and a run on --data (run b) have different defaults.
ARGS=(--epochs 4 --batch 8 --threads 2 --deterministic --seed 5 --balance oversample)

# Run a generates the small synthetic dataset that run b then reads with --data.
"$SF" train "${ARGS[@]}" --synth-largest 24 --synth-smallest 4 --checkpoint-minutes 0 --out "$TMP/a" \
    >"$TMP/a.log" 2>&1
check "uninterrupted run" $?
ARGS+=(--data "$TMP/a/synthetic-data")

# Run b checkpoints every 0.06 s within the epoch (the checkpoint interval does not change the weights).
"$SF" train "${ARGS[@]}" --checkpoint-minutes 0.001 --out "$TMP/b" >"$TMP/b.log" 2>&1 &
pid=$!
# Kill as soon as a checkpoint written by the timer in the middle of an epoch is on disk.
while kill -0 $pid 2>/dev/null; do
    head -c 8192 "$TMP/b/state.safetensors" 2>/dev/null | grep -aq '"ckpt_id":"e[0-9]*-b[1-9]' && break
    sleep 0.01
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
st=$?
[ $st = 137 ]; check "run b killed by SIGKILL mid-run (status $st)" $?
id=$(st_meta "$TMP/b/state.safetensors" ckpt_id)
echo "  state on disk: $id"

"$SF" train --resume "$TMP/b" --checkpoint-minutes 0 >"$TMP/b2.log" 2>&1; check "resumed run finishes" $?
grep -q "resuming $TMP/b at epoch" "$TMP/b2.log"; check "resume announced" $?
cmp "$TMP/a/last.safetensors" "$TMP/b/last.safetensors"; check "last.safetensors bit-identical" $?
cmp "$TMP/a/best.safetensors" "$TMP/b/best.safetensors"; check "best.safetensors bit-identical" $?
cmp <(cut -d, -f1-7 "$TMP/a/history.csv") <(cut -d, -f1-7 "$TMP/b/history.csv")
check "history (losses, accuracies, lr) identical" $?
finish
