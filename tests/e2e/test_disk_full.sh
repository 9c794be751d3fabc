#!/usr/bin/env bash
# test_disk_full.sh: the disk fills up during training. The run folder is a small tmpfs mounted by the
# test (root only; skipped otherwise); right after the first epoch's checkpoint it is filled to the last
# byte. As the README's limits section says: every later checkpoint write fails with a message naming
# the file and the cause, the previous checkpoint stays intact (same bytes, still loads), training
# carries on to the last epoch, and the run then exits 1 saying its final state is not on disk. Once
# space is freed, --resume continues from the intact checkpoint and finishes.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

if [ "$(id -u)" != 0 ]; then
    echo "  skip: mounting a tmpfs needs root (run as root to test a full disk)"
    finish
    exit
fi
MNT=$TMP/mnt
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=8m tmpfs "$MNT" 2>"$TMP/mount.err"; then
    echo "  skip: cannot mount a tmpfs here: $(cat "$TMP/mount.err")"
    finish
    exit
fi
trap 'umount "$MNT" 2>/dev/null; rm -rf "$TMP"' EXIT

small_data "$TMP/gen" 8 3
DATA=$TMP/gen/synthetic-data
RUN=$MNT/run
"$SF" train --data "$DATA" --epochs 4 --batch 8 --threads 2 --checkpoint-minutes 0 --out "$RUN" \
    >"$TMP/a.log" 2>&1 &
pid=$!
# history.csv is written right after the epoch's checkpoint: stop the run there and fill the disk.
until [ -f "$RUN/history.csv" ] || ! kill -0 $pid 2>/dev/null; do sleep 0.02; done
kill -STOP $pid
for f in last state best; do sha256sum "$RUN/$f.safetensors"; done >"$TMP/before.sha"
dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null
echo "  filled $MNT: $(df -k --output=avail "$MNT" | tail -1 | tr -d ' ') KiB left"
kill -CONT $pid
wait $pid
st=$?
cat "$TMP/a.log" | grep -v '^epoch [0-9]* [0-9]*/' | sed 's/^/    | /' | tail -12

[ $st = 1 ]; check "run exits 1 (got $st)" $?
grep -q "checkpoint failed: $RUN/last.safetensors: write failed: No space left on device" "$TMP/a.log"
check "the failed checkpoint is named with its path and cause" $?
grep -q "^epoch 004 lr" "$TMP/a.log"; check "training carried on to the last epoch" $?
grep -q "the last [0-9]* checkpoint writes failed (see above); $RUN/state.safetensors holds an earlier state" \
    "$TMP/a.log"
check "the end of the run says the final state is not on disk" $?
! grep -q "springfield: done" "$TMP/a.log"; check "the run does not claim it is done" $?
grep -q "new best val_acc [0-9.]* not saved: $RUN/best.safetensors: write failed: No space left on device" \
    "$TMP/a.log" || ! grep -q "new best val_acc" <(sed 1,/^epoch\ 001\ lr/d "$TMP/a.log")
check "a better epoch that cannot be saved as best says so" $?
grep -q "best epoch 1: .*; weights $RUN/best.safetensors" "$TMP/a.log"
check "the final report names the best epoch that is on disk (1)" $?
sha256sum -c --quiet "$TMP/before.sha"; check "last, state and best keep the bytes of epoch 1" $?
[ -z "$(compgen -G "$RUN/*.tmp.*")" ]; check "no temporary file left behind" $?
"$SF" evaluate --weights "$RUN/best.safetensors" --data "$DATA" --threads 2 --no-matrix >/dev/null 2>&1
check "best.safetensors still loads" $?

rm -f "$MNT/filler"
"$SF" train --resume "$RUN" >"$TMP/b.log" 2>&1
st=$?
[ $st = 0 ] && grep -q "resuming $RUN at epoch 2, batch 0" "$TMP/b.log"
check "with space again, --resume continues from epoch 2 and finishes (status $st)" $?
[ "$(wc -l <"$RUN/history.csv")" = 5 ]; check "history has the 4 epochs once each" $?
finish
