#!/usr/bin/env bash
# test_submission.sh: `springfield predict --submission` writes Kaggle's format: header Id,Expected, one
# row per file in natural name order, class names from the checkpoint, and a row (with a warning) for
# an unreadable image.
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
"$SF" predict --weights "$TMP/missing.safetensors" --images "$IMG" --submission "$TMP/x.csv" >/dev/null 2>&1
[ $? = 1 ] && [ ! -e "$TMP/x.csv" ]; check "missing weights: exit 1, no file" $?
finish
