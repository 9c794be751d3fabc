#!/usr/bin/env bash
# test_scheduler_checkpoints.sh: the per-epoch bookkeeping. The learning rate in history.csv follows
# ReduceLROnPlateau (mode min on val_loss, rel threshold 1e-4) recomputed here from the logged losses;
# best.safetensors is the first epoch of highest val_acc and is written exactly when val_acc improves;
# last.safetensors is the final epoch's weights; --val-every validates only every N-th epoch and the last;
# a run whose loss turns non-finite skips those steps and stops after 5 in a row with exit status 1 and a
# clear message.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

RUN=$TMP/run
# A high learning rate and patience 0 make plateaus (and so LR drops) likely within a few epochs.
"$SF" train --out "$RUN" --epochs 5 --batch 16 --threads 2 --synth-largest 16 --synth-smallest 3 --lr 0.02 \
    --patience 0 --factor 0.5 --checkpoint-minutes 0 >"$TMP/train.log" 2>&1
check "train exits 0" $?
python3 - "$RUN/history.csv" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
lr, best, bad, ok, drops = float(rows[0]["lr"]), float("inf"), 0, True, 0
for r in rows:
    if abs(float(r["lr"]) - lr) > 1e-12 * lr:
        print("    epoch %s: lr %s, expected %g" % (r["epoch"], r["lr"], lr)); ok = False
    v = float(r["val_loss"])
    if v < best * (1 - 1e-4): best, bad = v, 0
    else: bad += 1
    if bad > 0:  # patience 0
        lr, bad, drops = lr * 0.5, 0, drops + 1
print("    %d epochs, %d LR drops predicted from val_loss" % (len(rows), drops))
sys.exit(0 if ok and len(rows) == 5 else 1)
PY
check "history.csv lr column follows ReduceLROnPlateau(patience 0, factor 0.5)" $?
drops=$(grep -c "validation loss plateaued" "$TMP/train.log")
echo "  train.log reports $drops LR drops"

python3 - "$RUN/history.csv" "$TMP/train.log" <<'PY'
import csv, re, sys
rows = list(csv.DictReader(open(sys.argv[1])))
accs = [float(r["val_acc"]) for r in rows]
log = open(sys.argv[2]).read()
news = [float(x) for x in re.findall(r"new best val_acc ([0-9.]+)", log)]
expect, best = [], -1
for a in accs:
    if a > best: expect.append(a); best = a
ok = len(news) == len(expect) and all(abs(x - y) < 1e-4 for x, y in zip(news, expect))
print("    best written at val_acc %s; expected %s" % (news, expect))
sys.exit(0 if ok else 1)
PY
check "best.safetensors written exactly when val_acc improved" $?
besta=$(st_meta "$RUN/best.safetensors" val_acc); beste=$(st_meta "$RUN/best.safetensors" epoch)
python3 -c 'import csv,sys
r=list(csv.DictReader(open(sys.argv[1]))); a=[float(x["val_acc"]) for x in r]; i=a.index(max(a))
sys.exit(0 if int(sys.argv[3])==i+1 and abs(float(sys.argv[2])-a[i])<1e-5 else 1)' "$RUN/history.csv" "$besta" "$beste"
check "best.safetensors metadata: epoch $beste val_acc $besta is the first maximum" $?
case "$(st_meta "$RUN/last.safetensors" ckpt_id)" in e5-b0-*) true ;; *) false ;; esac
check "last.safetensors is the end of epoch 5" $?
[ "$(st_meta "$RUN/last.safetensors" ckpt_id)" = "$(st_meta "$RUN/state.safetensors" ckpt_id)" ]
check "state.safetensors matches last.safetensors" $?

# --val-every 2 over 5 epochs: validation after epochs 2, 4 and 5 (the last) only; the others record nan,
# say so in the log, and cannot become best.safetensors.
EV=$TMP/every
"$SF" train --data "$RUN/synthetic-data" --out "$EV" --epochs 5 --batch 16 --threads 2 --schedule cosine \
    --val-every 2 --checkpoint-minutes 0 >"$TMP/every.log" 2>&1
check "train --val-every 2 exits 0" $?
python3 - "$EV/history.csv" "$(st_meta "$EV/best.safetensors" epoch)" "$(st_meta "$EV/best.safetensors" val_acc)" <<'PY'
import csv, math, sys
rows = list(csv.DictReader(open(sys.argv[1])))
nan = [math.isnan(float(r["val_acc"])) for r in rows]
acc = {int(r["epoch"]): float(r["val_acc"]) for r in rows if not math.isnan(float(r["val_acc"]))}
first_best = max(acc, key=lambda e: (acc[e], -e))
print("    validated epochs %s, best.safetensors epoch %s (expected %d)" % (sorted(acc), sys.argv[2], first_best))
ok = len(rows) == 5 and nan == [True, False, True, False, False]
ok = ok and all(math.isnan(float(r["val_loss"])) == n and math.isnan(float(r["val_f1"])) == n for r, n in zip(rows, nan))
ok = ok and int(sys.argv[2]) == first_best and abs(float(sys.argv[3]) - acc[first_best]) < 1e-5
sys.exit(0 if ok else 1)
PY
check "--val-every 2: history.csv validates epochs 2, 4, 5 only; best.safetensors is the first best of those" $?
[ "$(grep -c '(no validation)' "$TMP/every.log")" = 2 ] && grep -q "validation after every 2 epochs and after epoch 5" "$TMP/every.log"
check "--val-every 2: the log says which epochs validate and marks the 2 that did not" $?
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["val-every"] == 2 else 1)' "$EV/config.json"
check "--val-every is in config.json (so --resume keeps it)" $?
python3 tools/run_summary.py "$EV" >"$TMP/every.md" && grep -q "| best | [245] |" "$TMP/every.md"
check "tools/run_summary.py reads a history with unvalidated epochs" $?

"$SF" train --data "$RUN/synthetic-data" --out "$TMP/nan" --epochs 1 --batch 16 --threads 2 --lr 1e12 \
    --checkpoint-minutes 0 >"$TMP/nan.log" 2>&1
st=$?
[ $st = 1 ]; check "non-finite losses: exit status 1 (got $st)" $?
[ "$(grep -c 'non-finite loss .* step skipped' "$TMP/nan.log")" = 5 ] && grep -q "5 non-finite losses in a row: training stopped" "$TMP/nan.log"
check "non-finite losses: 5 skipped steps reported, then a clear stop" $?
finish
