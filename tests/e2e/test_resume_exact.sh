#!/usr/bin/env bash
# test_resume_exact.sh: with --deterministic and the same thread count, a run killed with kill -9 in
# the middle of an epoch (after an in-epoch checkpoint) and resumed ends with weights bit-identical to
# an uninterrupted run: the final last.safetensors and best.safetensors compare equal byte for byte. Once
# with the default ReduceLROnPlateau, once with --schedule cosine (its LR changes every step, from the
# step counter in the state).
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

# The balance is given explicitly: the demo (run a) and a run on --data (run b) have different defaults.
ARGS=(--epochs 4 --batch 8 --threads 2 --deterministic --seed 5 --balance oversample)

# Run a generates the small synthetic dataset that the later runs read with --data.
"$SF" train "${ARGS[@]}" --synth-largest 24 --synth-smallest 4 --checkpoint-minutes 0 --out "$TMP/a" \
    >"$TMP/a.log" 2>&1
check "uninterrupted run" $?
ARGS+=(--data "$TMP/a/synthetic-data")

# kill_resume_compare REF RUN EXTRA...: run RUN with EXTRA, kill -9 it after an in-epoch checkpoint, resume
# it, and compare its weights and history with the uninterrupted run REF.
kill_resume_compare() {
    local ref=$1 run=$2; shift 2
    # Checkpoints every 0.06 s within the epoch (the checkpoint interval does not change the weights).
    "$SF" train "${ARGS[@]}" "$@" --checkpoint-minutes 0.001 --out "$TMP/$run" >"$TMP/$run.log" 2>&1 &
    kill_mid_epoch $! "$TMP/$run"
    local st=$?
    [ $st = 137 ]; check "run $run killed by SIGKILL mid-run (status $st)" $?
    echo "  state on disk: $(st_meta "$TMP/$run/state.safetensors" ckpt_id)"

    "$SF" train --resume "$TMP/$run" --checkpoint-minutes 0 >"$TMP/$run-2.log" 2>&1; check "resumed run $run finishes" $?
    grep -q "resuming $TMP/$run at epoch" "$TMP/$run-2.log"; check "resume announced" $?
    cmp "$TMP/$ref/last.safetensors" "$TMP/$run/last.safetensors"; check "last.safetensors bit-identical" $?
    cmp "$TMP/$ref/best.safetensors" "$TMP/$run/best.safetensors"; check "best.safetensors bit-identical" $?
    cmp <(cut -d, -f1-7 "$TMP/$ref/history.csv") <(cut -d, -f1-7 "$TMP/$run/history.csv")
    check "history (losses, accuracies, lr) identical" $?
}
kill_resume_compare a b

COS=(--schedule cosine --warmup-epochs 1)
"$SF" train "${ARGS[@]}" "${COS[@]}" --checkpoint-minutes 0 --out "$TMP/c" >"$TMP/c.log" 2>&1
check "uninterrupted cosine run" $?
# the LR of each epoch's last step falls after the warmup epoch; the plateau run's stays at 1e-3
lrs=$(tail -n +2 "$TMP/c/history.csv" | cut -d, -f2 | tr '\n' ' ')
awk -v l="$lrs" 'BEGIN { n = split(l, v, " "); ok = n == 4; for (i = 2; i <= n; i++) ok = ok && v[i] < v[i - 1]; exit !ok }'
check "cosine lr falls epoch by epoch ($lrs)" $?
kill_resume_compare c d "${COS[@]}"
finish
