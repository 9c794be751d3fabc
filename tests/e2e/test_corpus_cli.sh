#!/usr/bin/env bash
# test_corpus_cli.sh: every entry of tests/corpus/ through the commands a user runs (train, evaluate,
# predict), asserting what the user sees: the message (naming the file and the cause), the exit status,
# whether training goes on, and that files already written (checkpoints, a submission) are not damaged.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

C=tests/corpus
IMG=$TMP/images  # a copy: nothing is ever written next to the committed corpus
cp -r "$C/images" "$IMG"
BAD_IMAGES="zero_bytes.jpg random_bytes.jpg html_saved_as.jpg truncated_at_2.jpg truncated_at_20.jpg
    truncated_at_200.jpg truncated_at_568.jpg truncated_at_1135.jpg declares_65500x65500.jpg declares_65500x65500.png"
GOOD_IMAGES="ok_64x48.jpg ok_64x48.png png_named.jpg cmyk.jpg grayscale.jpg progressive.jpg arithmetic.jpg
    one_pixel.jpg one_pixel.png"
reason() {  # what the decoder must say about each bad image
    case $1 in
    zero_bytes.jpg) echo "empty file" ;;
    random_bytes.jpg | html_saved_as.jpg | truncated_at_2.jpg) echo "not a JPEG or PNG" ;;  # 2 bytes: no magic
    truncated_at_*) echo "JPEG: truncated file" ;;
    declares_65500x65500.jpg) echo "JPEG declares 65500x65500 pixels, over the limit" ;;
    declares_65500x65500.png) echo "PNG declares 65500x65500 pixels, over the limit" ;;
    esac
}

# A labelled folder: every good variant in one class, every bad image beside two good ones in another.
DS=$TMP/ds
mkdir -p "$DS/c00_red_circle" "$DS/c01_red_square"
for f in $GOOD_IMAGES; do cp "$IMG/$f" "$DS/c00_red_circle/"; done
for f in $BAD_IMAGES; do cp "$IMG/$f" "$DS/c01_red_square/"; done
cp "$IMG/ok_64x48.jpg" "$DS/c01_red_square/ok_a.jpg"
cp "$IMG/ok_64x48.png" "$DS/c01_red_square/ok_b.png"

echo "-- train on a folder holding every corpus image"
RUN=$TMP/run
"$SF" train --data "$DS" --epochs 2 --batch 4 --threads 2 --checkpoint-minutes 0 --val-split 0.3 --out "$RUN" \
    >"$TMP/train.log" 2>&1
st=$?
[ $st = 0 ] && grep -q "^epoch 002 lr" "$TMP/train.log" && grep -q "springfield: done" "$TMP/train.log"
check "training goes on past every bad image to the end (status $st)" $?
ok=0
for f in $BAD_IMAGES; do
    grep -qF "$DS/c01_red_square/$f" "$TMP/train.log" && ok=$((ok + 1)) || echo "    not reported: $f"
done
[ $ok = 10 ]; check "each bad image is reported by path ($ok/10)" $?
# Files that are not images by their first bytes are left out by the dataset scan ("skipping 'PATH':
# cause"); the rest fail to decode and go to bad_images.txt ("PATH: cause").
ok=0
for f in $BAD_IMAGES; do
    p=$DS/c01_red_square/$f
    { grep -qF "$p: $(reason "$f")" "$RUN/bad_images.txt" || grep -qF "skipping '$p': $(reason "$f")" "$TMP/train.log"; } &&
        ok=$((ok + 1)) || echo "    wrong or missing reason: $f"
done
[ $ok = 10 ]; check "each with its cause ($ok/10)" $?
bad=0
for f in $GOOD_IMAGES; do grep -qF "/$f" "$RUN/bad_images.txt" && bad=$((bad + 1)) && echo "    rejected: $f"; done
[ $bad = 0 ]; check "no valid variant (CMYK, gray, progressive, arithmetic, PNG as .jpg, 1x1) is rejected" $?
sha256sum "$RUN"/*.safetensors "$RUN/config.json" "$RUN/history.csv" >"$TMP/run.sha"

echo "-- a class folder of only bad files; a folder with no classes"
"$SF" train --data "$C/dataset_bad_class" --epochs 1 --threads 2 --checkpoint-minutes 0 --out "$TMP/bc" \
    >"$TMP/bc.log" 2>&1
st=$?
[ $st = 0 ] && grep -q "springfield: done" "$TMP/bc.log"; check "dataset_bad_class: training goes on (status $st)" $?
n=$(grep -c "only_bad/pic_000[0-9].jpg" "$TMP/bc.log")
[ "$n" -ge 3 ]; check "dataset_bad_class: each file of only_bad is named ($n lines)" $?
# A model that cannot take the input size fails once the data is read: exit 2 with the layer at fault, and
# everything made so far freed (under the ASan pass a leak there used to turn the status into 1).
"$SF" train --data "$C/dataset_bad_class" --model best --size 16 --epochs 1 --out "$TMP/small" >"$TMP/small.log" 2>&1
st=$?
[ $st = 2 ] && grep -q "model best at 16x16: conv2.0: its input 2x2 is smaller than the 5x5 kernel" "$TMP/small.log"
check "best at 16 px: exit 2, names the layer (status $st)" $?
"$SF" train --data "$C/dataset_no_classes" --epochs 1 --threads 2 --out "$RUN" >"$TMP/nc.log" 2>&1
st=$?
[ $st = 1 ] && grep -q "no usable image in '$C/dataset_no_classes' (expected $C/dataset_no_classes/<class>/" \
    "$TMP/nc.log" && grep -q "ignoring '$C/dataset_no_classes/pic_0000.jpg': not a class folder" "$TMP/nc.log"
check "dataset_no_classes: exit 1, says where images go (status $st)" $?
sha256sum -c --quiet "$TMP/run.sha"; check "the failed run left the earlier run's files untouched" $?

echo "-- evaluate and predict on the corpus images"
"$SF" evaluate --weights "$RUN/best.safetensors" --data "$DS" --threads 2 --no-matrix >"$TMP/ev.out" 2>"$TMP/ev.err"
st=$?
# 11 readable (9 variants, 2 plain), 6 unreadable (the 4 that are not images by content never enter).
[ $st = 0 ] && grep -q "images 11 (6 unreadable, skipped)" "$TMP/ev.out"
check "evaluate: exit 0, counts the readable and unreadable images (status $st)" $?
echo "Id,Expected" >"$TMP/old.csv"
"$SF" predict --weights "$RUN/best.safetensors" --images "$IMG" --submission "$TMP/sub.csv" --threads 2 \
    >/dev/null 2>"$TMP/pr.err"
st=$?
[ $st = 0 ] && [ "$(wc -l <"$TMP/sub.csv")" = 20 ]; check "predict: exit 0, a row for each of the 19 files (status $st)" $?
ok=0
for f in $BAD_IMAGES; do
    grep -qF "$f: $IMG/$f: $(reason "$f")" "$TMP/pr.err" && ok=$((ok + 1)) ||
        echo "    not reported: $f"
done
[ $ok = 10 ]; check "predict: each bad image named with its cause ($ok/10)" $?
bad=0
for f in $GOOD_IMAGES; do grep -qF "$IMG/$f" "$TMP/pr.err" && bad=$((bad + 1)) && echo "    warned: $f"; done
[ $bad = 0 ]; check "predict: no warning for a valid variant" $?

echo "-- a submission folder with a non-image"
"$SF" predict --weights "$RUN/best.safetensors" --images "$C/submission_mixed" --submission "$TMP/mixed.csv" \
    --threads 2 >/dev/null 2>"$TMP/mixed.err"
st=$?
[ $st = 0 ] && [ "$(cut -d, -f1 "$TMP/mixed.csv" | tr '\n' ' ')" = "Id img0.jpg img1.jpg img2.jpg notes.txt " ]
check "submission_mixed: exit 0, a row per file (status $st)" $?
grep -q "img2.jpg: $C/submission_mixed/img2.jpg: empty file" "$TMP/mixed.err" &&
    grep -q "notes.txt: $C/submission_mixed/notes.txt: not a JPEG or PNG" "$TMP/mixed.err" &&
    ! grep -q "img[01].jpg:" "$TMP/mixed.err"
check "submission_mixed: the empty file and the text file are named, the PNG named .jpg is not" $?

echo "-- corrupt safetensors as --weights, --init and --resume"
n=0 ok=0
for f in "$C"/safetensors/*.safetensors; do
    [ "$(basename "$f")" = valid.safetensors ] && continue
    n=$((n + 1))
    "$SF" evaluate --weights "$f" --data "$DS" --threads 2 >/dev/null 2>"$TMP/st.err"
    st=$?
    if [ $st = 1 ] && grep -Eq "^springfield evaluate: $f: .{12,}" "$TMP/st.err"; then ok=$((ok + 1))
    else echo "    $(basename "$f"): status $st: $(head -c 200 "$TMP/st.err")"; fi
done
[ $ok = $n ]; check "evaluate: each corrupt file refused with exit 1, its path and the cause ($ok/$n)" $?
"$SF" evaluate --weights "$C/safetensors/valid.safetensors" --data "$DS" --threads 2 >/dev/null 2>"$TMP/st.err"
[ $? = 2 ] && grep -q "lacks arch/size metadata; give --model and --size" "$TMP/st.err"
check "evaluate: weights without metadata: exit 2, says what to give" $?
FLIP=$C/safetensors/flipped_data_bit.safetensors
"$SF" predict --weights "$FLIP" --images "$C/submission_mixed" --submission "$TMP/old.csv" --threads 2 \
    >/dev/null 2>"$TMP/st.err"
[ $? = 1 ] && grep -q "$FLIP: checksum mismatch" "$TMP/st.err" && [ "$(cat "$TMP/old.csv")" = "Id,Expected" ]
check "predict: corrupt weights refused, the existing submission file untouched" $?
"$SF" train --data "$DS" --init "$FLIP" --epochs 1 --threads 2 --out "$TMP/init" >"$TMP/st.err" 2>&1
[ $? = 1 ] && grep -q "\-\-init: $FLIP: checksum mismatch" "$TMP/st.err"; check "train --init: corrupt weights refused" $?
# One flipped byte in the data of the training state: --resume refuses it and touches nothing.
cp -r "$RUN" "$TMP/run2"
size=$(stat -c %s "$TMP/run2/state.safetensors")
printf '\x5a' | dd of="$TMP/run2/state.safetensors" bs=1 seek=$((size - 100)) conv=notrunc status=none
(cd "$TMP/run2" && sha256sum ./*.safetensors config.json history.csv) >"$TMP/run2.sha"
"$SF" train --resume "$TMP/run2" --epochs 3 >"$TMP/st.err" 2>&1
st=$?
[ $st = 1 ] && grep -q "\-\-resume: $TMP/run2/state.safetensors: checksum mismatch" "$TMP/st.err"
check "train --resume: a flipped byte in state.safetensors is refused (status $st)" $?
(cd "$TMP/run2" && sha256sum -c --quiet "$TMP/run2.sha"); check "the refused resume left every file untouched" $?

echo "-- a profile of garbage"
SPRINGFIELD_PROFILE=$PWD/$C/profiles/garbage.profile "$SF" predict --weights "$RUN/best.safetensors" \
    --images "$C/submission_mixed" --threads 2 >/dev/null 2>"$TMP/prof.err"
st=$?
[ $st = 0 ] && grep -q "SPRINGFIELD_PROFILE=$PWD/$C/profiles/garbage.profile is not used: .*garbage.profile.*:" \
    "$TMP/prof.err"
check "garbage profile: named with its fault, the command still runs (status $st)" $?
grep "SPRINGFIELD_PROFILE" "$TMP/prof.err" | head -1 | cut -c1-220 | sed 's/^/    | /'
finish
