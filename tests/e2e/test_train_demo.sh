#!/usr/bin/env bash
# test_train_demo.sh: the synthetic demo end to end, in a short configuration: training learns (val
# accuracy far above the 1/42 chance level), the run folder holds every artefact, and evaluate and
# predict read the checkpoint's metadata (arch, size, class names) without being told.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

RUN=$TMP/demo
"$SF" train --out "$RUN" --epochs 4 --synth-largest 40 --synth-smallest 6 --batch 32 --threads 2 \
    --checkpoint-minutes 0 >"$TMP/train.log" 2>&1
check "train exits 0" $?
for f in config.json history.csv curves.png confusion.png per_class.csv bad_images.txt train.log \
         best.safetensors last.safetensors state.safetensors; do
    [ -s "$RUN/$f" ] || [ "$f" = bad_images.txt -a -f "$RUN/$f" ]; check "run folder has $f" $?
done
[ "$(wc -l <"$RUN/history.csv")" = 5 ]; check "history.csv has a header and 4 epochs" $?
[ "$(wc -l <"$RUN/per_class.csv")" = 43 ]; check "per_class.csv has 42 classes" $?
head -c 8 "$RUN/curves.png" | od -An -tx1 | grep -q "89 50 4e 47 0d 0a 1a 0a"; check "curves.png is a PNG" $?
grep -q '"lr": 0.001' "$RUN/config.json" && grep -q '"model": "simple"' "$RUN/config.json"
check "config.json records the settings" $?
grep -Eq '^epoch 004 lr [0-9.e+-]+ train_loss [0-9.]+ train_acc [0-9.]+ val_loss [0-9.]+ val_acc [0-9.]+ val_f1 [0-9.]+ [0-9.]+s [0-9]+ img/s' "$TMP/train.log"
check "one summary line per epoch in the documented format" $?

acc=$(sed -n 's/.*best epoch [0-9]*: val_acc \([0-9.]*\).*/\1/p' "$TMP/train.log")
echo "  best val_acc $acc (chance 0.024)"
awk -v a="${acc:-0}" 'BEGIN { exit !(a > 0.15) }'; check "val accuracy > 0.15 (6x chance)" $?
best_meta=$(st_meta "$RUN/best.safetensors" val_acc)
awk -v a="${acc:-0}" -v b="${best_meta:-9}" 'BEGIN { exit !(a - b < 1e-4 && b - a < 1e-4) }'
check "reloaded best weights reproduce best.safetensors' val_acc ($best_meta)" $?

"$SF" evaluate --weights "$RUN/best.safetensors" --data "$RUN/synthetic-data" --png "$TMP/cm.png" \
    --per-class "$TMP/pc.csv" --threads 2 >"$TMP/eval.txt" 2>"$TMP/eval.err"
check "evaluate exits 0" $?
grep -Eq 'accuracy [0-9.]+ +macro_f1 [0-9.]+ +weighted_f1 [0-9.]+' "$TMP/eval.txt"; check "evaluate prints accuracy and F1" $?
[ -s "$TMP/cm.png" ] && [ "$(wc -l <"$TMP/pc.csv")" = 43 ]; check "evaluate writes the PNG and the per-class CSV" $?
eacc=$(sed -n 's/.*accuracy \([0-9.]*\) .*/\1/p' "$TMP/eval.txt")
awk -v a="${eacc:-0}" 'BEGIN { exit !(a > 0.15) }'; check "evaluate accuracy on the whole set $eacc > 0.15" $?
# --run redraws the run's validation split and decodes every image itself (no training loader, no cache):
# it must reproduce the accuracy that training reported for best.safetensors.
"$SF" evaluate --run "$RUN" --threads 2 --no-matrix >"$TMP/evalrun.txt" 2>&1
check "evaluate --run exits 0" $?
racc=$(sed -n 's/.*accuracy \([0-9.]*\) .*/\1/p' "$TMP/evalrun.txt")
nval=$(sed -n 's/.*(\([0-9]*\) images).*/\1/p' "$TMP/train.log" | tail -1)
grep -q "validation split of $RUN: $nval images" "$TMP/evalrun.txt"; check "evaluate --run uses the run's $nval validation images" $?
awk -v a="${acc:-0}" -v b="${racc:-9}" 'BEGIN { exit !(a - b < 1e-4 && b - a < 1e-4) }'
check "evaluate --run reproduces the best val_acc ($racc vs $acc)" $?

# --split-seed: a run with another --seed on the same validation split (an ensemble member). evaluate --run
# of that run must draw the first run's split, so the first run's weights score what they scored there.
RUN2=$TMP/other-seed
"$SF" train --data "$RUN/synthetic-data" --out "$RUN2" --epochs 1 --batch 32 --threads 2 --seed 1 --split-seed 0 \
    --checkpoint-minutes 0 >"$TMP/train2.log" 2>&1
check "train --seed 1 --split-seed 0 exits 0" $?
grep -q '"split-seed": 0' "$RUN2/config.json" && grep -q '"seed": 1' "$RUN2/config.json"
check "config.json records seed and split-seed" $?
"$SF" evaluate --run "$RUN2" --weights "$RUN/best.safetensors" --threads 2 --no-matrix >"$TMP/evalrun2.txt" 2>&1
check "evaluate --run of the split-seed run exits 0" $?
racc2=$(sed -n 's/.*accuracy \([0-9.]*\) .*/\1/p' "$TMP/evalrun2.txt")
grep -q "(seed 0, fraction" "$TMP/evalrun2.txt" && awk -v a="${acc:-0}" -v b="${racc2:-9}" 'BEGIN { exit !(a - b < 1e-4 && b - a < 1e-4) }'
check "evaluate --run of the split-seed run draws the first run's split ($racc2 vs $acc)" $?

# --val-size: a ResNet trained at 64 px and validated at 80 px. best.safetensors records 80, so evaluate
# --run, reading the size from it, reproduces the best val_acc; a model whose classifier depends on the
# input size is refused.
RUN3=$TMP/val-size
"$SF" train --data "$RUN/synthetic-data" --model resnet18 --size 64 --val-size 80 --out "$RUN3" --epochs 2 \
    --batch 32 --threads 2 --checkpoint-minutes 0 >"$TMP/train3.log" 2>&1
check "train --model resnet18 --size 64 --val-size 80 exits 0" $?
grep -q "validation at 80 px (training at 64 px)" "$TMP/train3.log" && [ "$(st_meta "$RUN3/best.safetensors" in_h)" = 80 ] &&
    [ "$(st_meta "$RUN3/last.safetensors" in_h)" = 64 ]
check "--val-size: said in the log; best.safetensors records 80 px, last.safetensors 64" $?
acc3=$(sed -n 's/.*new best val_acc \([0-9.]*\).*/\1/p' "$TMP/train3.log" | tail -1)
"$SF" evaluate --run "$RUN3" --threads 2 --no-matrix >"$TMP/evalrun3.txt" 2>&1
racc3=$(sed -n 's/.*accuracy \([0-9.]*\) .*/\1/p' "$TMP/evalrun3.txt")
grep -q "best.safetensors at 80 px" "$TMP/evalrun3.txt" && awk -v a="${acc3:-0}" -v b="${racc3:-9}" 'BEGIN { exit !(a - b < 1e-4 && b - a < 1e-4) }'
check "evaluate --run at the recorded 80 px reproduces the best val_acc ($racc3 vs $acc3)" $?
"$SF" train --data "$RUN/synthetic-data" --model simple --val-size 128 --out "$TMP/bad-val-size" --epochs 1 \
    --threads 2 >/dev/null 2>"$TMP/bad-val-size.err"
[ $? = 2 ] && grep -q -- "--val-size 128: fc1.0.weight has .*simple at 128 px has other weights" "$TMP/bad-val-size.err"
check "train --model simple --val-size 128 (a larger classifier): exit 2, saying why" $?

# --precision bf16: a ResNet (every convolution on bf16 plans where the CPU has AVX512_BF16)
# learns; the weights record the precision they were validated with, and evaluate --run uses it to
# reproduce the best val_acc. On a CPU without AVX512_BF16 the log says so and the weights say fp32.
RUN4=$TMP/bf16
"$SF" train --data "$RUN/synthetic-data" --model resnet18 --size 64 --out "$RUN4" --epochs 3 --batch 32 --threads 2 \
    --precision bf16 --checkpoint-minutes 0 >"$TMP/train4.log" 2>&1
check "train --precision bf16 exits 0" $?
if "$SF" info 2>/dev/null | grep -q "^bf16: *yes"; then want=bf16; said="in bf16, all three directions (AVX512_BF16)"; else want=fp32; said="runs in fp32"; fi
grep -q "precision bf16: .*$said" "$TMP/train4.log" && [ "$(st_meta "$RUN4/best.safetensors" precision)" = $want ]
check "--precision bf16: the log says how it runs, best.safetensors records precision $want" $?
acc4=$(sed -n 's/.*new best val_acc \([0-9.]*\).*/\1/p' "$TMP/train4.log" | tail -1)
awk -v a="${acc4:-0}" 'BEGIN { exit !(a > 0.15) }'; check "bf16 val accuracy $acc4 > 0.15 (6x chance)" $?
"$SF" evaluate --run "$RUN4" --threads 2 --no-matrix >"$TMP/evalrun4.txt" 2>&1
racc4=$(sed -n 's/.*accuracy \([0-9.]*\) .*/\1/p' "$TMP/evalrun4.txt")
awk -v a="${acc4:-0}" -v b="${racc4:-9}" 'BEGIN { exit !(a - b < 1e-4 && b - a < 1e-4) }'
check "evaluate --run of the bf16 run reproduces the best val_acc ($racc4 vs $acc4)" $?
# --precision overrides the weights' own: fp32 on the bf16 weights says nothing of bf16; bf16 on fp32
# weights says how it runs here.
"$SF" evaluate --run "$RUN4" --threads 2 --no-matrix --precision fp32 >"$TMP/evalrun5.txt" 2>&1 &&
    ! grep -q "convolutions in" "$TMP/evalrun5.txt" &&
    "$SF" evaluate --run "$RUN3" --threads 2 --no-matrix --precision bf16 >"$TMP/evalrun6.txt" 2>&1 &&
    grep -Eq "best.safetensors: convolutions in (bf16|fp32 \(no AVX512_BF16 here\))" "$TMP/evalrun6.txt"
check "evaluate --precision fp32 / bf16 override the weights' recorded precision" $?
finish
