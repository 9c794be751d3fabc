#!/usr/bin/env bash
# test_submission.sh: `springfield predict --submission` writes Kaggle's format: header Id,Expected, one
# row per file in natural name order, class names from the checkpoint, and a row (with a warning) for
# an unreadable image; --tta flip and ensembles of several checkpoints.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

RUN=$TMP/run
small_data "$RUN" 12 3; check "tiny training run" $?
IMG=$TMP/testset
mkdir -p "$IMG"
i=0
for f in $(find "$RUN/synthetic-data" -name '*.jpg' | sort | head -12); do cp "$f" "$IMG/img$i.jpg"; i=$((i + 1)); done
printf 'not an image' >"$IMG/img12.jpg"

"$SF" predict --weights "$RUN/best.safetensors" --images "$IMG" --submission "$TMP/sub.csv" --top 3 --threads 2 \
    >"$TMP/top.txt" 2>"$TMP/pred.err"
check "predict exits 0" $?
[ "$(head -1 "$TMP/sub.csv")" = "Id,Expected" ]; check "header is Id,Expected" $?
[ "$(wc -l <"$TMP/sub.csv")" = 14 ]; check "one row per file, the unreadable one included" $?
tail -n +2 "$TMP/sub.csv" | cut -d, -f1 >"$TMP/ids"
printf 'img%d.jpg\n' $(seq 0 12) | cmp -s - "$TMP/ids"; check "rows in natural order img0..img12" $?
names=$(python3 -c 'import json,struct,sys
f=open(sys.argv[1],"rb"); n=struct.unpack("<Q",f.read(8))[0]; print("\n".join(json.loads(json.loads(f.read(n))["__metadata__"]["class_names"])))' "$RUN/best.safetensors")
bad=0
while IFS=, read -r id cls; do echo "$names" | grep -qx "$cls" || bad=1; done < <(tail -n +2 "$TMP/sub.csv")
check "every Expected is a class name of the checkpoint" $bad
grep -q "img12.jpg" "$TMP/pred.err"; check "the unreadable image is named on stderr" $?
[ "$(wc -l <"$TMP/top.txt")" = 12 ] && awk 'NF != 7 { exit 1 }' "$TMP/top.txt"
check "--top 3 prints three classes with probabilities per readable image" $?
# --top 42 lists every class's probability (the demo data has fewer): each row sums to 1, with and
# without flip test-time augmentation, and the flip changes them.
sums='{ s = 0; for (i = 3; i <= NF; i += 2) s += $i; if (s < 0.999 || s > 1.001) exit 1 }'
for tta in none flip; do
    "$SF" predict --weights "$RUN/best.safetensors" --images "$IMG" --submission "$TMP/sub-$tta.csv" --top 42 \
        --tta $tta --threads 2 >"$TMP/all-$tta.txt" 2>/dev/null
    check "predict --tta $tta exits 0" $?
    [ "$(wc -l <"$TMP/sub-$tta.csv")" = 14 ] && [ "$(wc -l <"$TMP/all-$tta.txt")" = 12 ] && awk "$sums" "$TMP/all-$tta.txt"
    check "--tta $tta: one row per file, every class's probability, summing to 1" $?
done
! cmp -s "$TMP/all-none.txt" "$TMP/all-flip.txt"; check "--tta flip changes the probabilities" $?
# --shrink N / --reencode Q prepare each image as the training images were made (shorter side at most N,
# then a JPEG of quality Q): a no-op for a bound above every image, a change for a small one.
"$SF" predict --weights "$RUN/best.safetensors" --images "$IMG" --top 42 --threads 2 --shrink 4096 \
    >"$TMP/all-big.txt" 2>/dev/null
cmp -s "$TMP/all-none.txt" "$TMP/all-big.txt"; check "--shrink above every image's size changes nothing" $?
"$SF" predict --weights "$RUN/best.safetensors" --images "$IMG" --submission "$TMP/sub-shrink.csv" --top 42 \
    --threads 2 --shrink 24 --reencode 90 >"$TMP/all-shrink.txt" 2>"$TMP/shrink.err"
[ $? = 0 ] && [ "$(wc -l <"$TMP/sub-shrink.csv")" = 14 ] && grep -q "shrunk to 24 px, JPEG quality 90" "$TMP/shrink.err" &&
    ! cmp -s "$TMP/all-none.txt" "$TMP/all-shrink.txt"
check "--shrink 24 --reencode 90: a row per file, said on stderr, other probabilities" $?
"$SF" predict --weights "$RUN/best.safetensors" --images "$IMG" --submission "$TMP/sub-q.csv" --threads 2 \
    --reencode 90 >/dev/null 2>"$TMP/q.err"
[ $? = 0 ] && grep -q "(JPEG quality 90)" "$TMP/q.err" && ! grep -q "shrunk" "$TMP/q.err"
check "--reencode 90 alone: said as the only preparation" $?
"$SF" predict --weights "$TMP/missing.safetensors" --images "$IMG" --submission "$TMP/x.csv" >/dev/null 2>&1
[ $? = 1 ] && [ ! -e "$TMP/x.csv" ]; check "missing weights: exit 1, no file" $?
# An ensemble (--weights a,b): each image's probabilities are the mean of the members', each member at
# its own input size (a second model trained at 112 px on the same classes).
"$SF" train --data "$RUN/synthetic-data" --size 112 --epochs 1 --out "$TMP/run112" --checkpoint-minutes 0 --threads 2 \
    --batch 32 >"$TMP/run112.log" 2>&1
check "second model at 112 px" $?
"$SF" predict --weights "$TMP/run112/best.safetensors" --images "$IMG" --top 42 --threads 2 >"$TMP/all-112.txt" 2>/dev/null
"$SF" predict --weights "$RUN/best.safetensors,$TMP/run112/best.safetensors" --images "$IMG" --submission "$TMP/sub-ens.csv" \
    --top 42 --threads 2 >"$TMP/all-ens.txt" 2>/dev/null
check "predict with two checkpoints exits 0" $?
python3 -c 'import sys
def rows(f): return {l.split()[0]: {c: float(p) for c, p in zip(l.split()[1::2], l.split()[2::2])} for l in open(f)}
a, b, e = rows(sys.argv[1]), rows(sys.argv[2]), rows(sys.argv[3])
assert len(e) == 12 and set(e) == set(a)
worst = max(abs(e[i][c] - (a[i][c] + b[i][c]) / 2) for i in e for c in e[i])
gap = max(abs(a[i][c] - b[i][c]) for i in e for c in e[i])
print("ensemble: max |p - mean of members| %.5f, members differ by up to %.4f" % (worst, gap))
sys.exit(0 if worst < 2e-4 and gap > 5e-4 else 1)' "$TMP/all-none.txt" "$TMP/all-112.txt" "$TMP/all-ens.txt"
check "the ensemble's probabilities are the mean of its members'" $?
"$SF" predict --weights "$RUN/best.safetensors,$RUN/best.safetensors" --images "$IMG" --top 42 --threads 2 \
    >"$TMP/all-twice.txt" 2>/dev/null
cmp -s "$TMP/all-none.txt" "$TMP/all-twice.txt"; check "a checkpoint twice scores as the checkpoint alone" $?
# PATH@SIZE runs one member at its own input size: the same probabilities as --size for a single model,
# and a size out of range is a usage error.
"$SF" predict --weights "$RUN/best.safetensors" --size 112 --images "$IMG" --top 42 --threads 2 >"$TMP/all-112s.txt" 2>/dev/null
"$SF" predict --weights "$RUN/best.safetensors@112" --images "$IMG" --top 42 --threads 2 >"$TMP/all-at112.txt" \
    2>"$TMP/at112.err"
cmp -s "$TMP/all-112s.txt" "$TMP/all-at112.txt" && ! cmp -s "$TMP/all-none.txt" "$TMP/all-112s.txt" &&
    grep -q "best.safetensors at 112 px" "$TMP/at112.err"
check "--weights PATH@112 scores as --size 112, and says so" $?
"$SF" predict --weights "$RUN/best.safetensors@8" --images "$IMG" >/dev/null 2>"$TMP/at8.err"
[ $? = 2 ] && grep -q "best.safetensors@8: the input size after @ must be an integer in \[16, 1024\]" "$TMP/at8.err"
check "--weights PATH@8: exit 2, naming it" $?
mkdir -p "$TMP/two"
for c in $(ls "$RUN/synthetic-data" | head -2); do cp -r "$RUN/synthetic-data/$c" "$TMP/two/"; done
"$SF" train --data "$TMP/two" --epochs 1 --out "$TMP/run2" --checkpoint-minutes 0 --threads 2 --batch 32 >"$TMP/run2.log" 2>&1
"$SF" evaluate --data "$RUN/synthetic-data" --weights "$RUN/best.safetensors,$TMP/run2/best.safetensors" \
    >/dev/null 2>"$TMP/ens.err"
[ $? = 1 ] && grep -q "run2/best.safetensors has 2 classes" "$TMP/ens.err"
check "an ensemble of checkpoints with different classes: exit 1 naming the file" $?
finish
