#!/usr/bin/env bash
# test_options.sh: the commands' option handling: --help lists every option with its default (exit 0);
# an unknown option, a bad value or a missing required option exits 2 with a message that says what is
# allowed, before any work starts.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

"$SF" train --help >"$TMP/help.txt" 2>&1; check "train --help exits 0" $?
miss=0
for o in data model size batch epochs lr optimizer amsgrad val-split balance augment label-smoothing patience factor \
         schedule warmup-epochs min-lr threads seed split-seed \
         deterministic init freeze out resume checkpoint-minutes cache; do
    grep -q -- "--\(\[no-\]\)\?$o\b" "$TMP/help.txt" || { echo "    --help lacks --$o"; miss=1; }
done
check "train --help lists every option" $miss
grep -q "default: 64" "$TMP/help.txt" && grep -q "default: 1e-3" "$TMP/help.txt" && grep -q "default: 0.25" "$TMP/help.txt"
check "train --help shows defaults" $?

# expect_error NAME PATTERN ARGS...: exit status 2, stderr matching PATTERN, no run folder created.
expect_error() {
    local name=$1 pat=$2; shift 2
    "$SF" "$@" --out "$TMP/never" >"$TMP/out.txt" 2>"$TMP/err.txt"
    local st=$?
    [ $st = 2 ] && grep -q -- "$pat" "$TMP/err.txt" && [ ! -e "$TMP/never" ]
    local ok=$?  # before the label's $(...), which would reset $?
    check "$name (exit $st: $(head -1 "$TMP/err.txt"))" $ok
}
expect_error "unknown option" "unknown option '--bogus'" train --bogus 1
expect_error "bad model" "simple|best|resnet18|resnet50" train --model vgg16
expect_error "batch 0" "integer in \[1, 4096\]" train --batch 0
expect_error "batch not a number" "not an integer" train --batch 12x
expect_error "lr nan" "finite number" train --lr nan
expect_error "val-split out of range" "number in \[0.01, 0.9\]" train --val-split 1.5
expect_error "bad balance" "oversample|weighted|none" train --balance random
expect_error "bad optimizer" "adamw|sgd" train --optimizer adam
expect_error "amsgrad value" "on/off" train --amsgrad=maybe
expect_error "missing value" "needs a value" train --epochs
expect_error "bad augment" "rot=DEG" train --augment rot=500
expect_error "erase probability above 1" "erase=P" train --augment rot=15,erase=2
expect_error "label smoothing above 1" "number in \[0, 1\]" train --label-smoothing 1.5
expect_error "bad schedule" "plateau|cosine" train --schedule step
expect_error "warmup without cosine" "belong to --schedule cosine" train --warmup-epochs 1
expect_error "min-lr above lr" "min-lr 0.01 is above --lr 0.001" train --schedule cosine --min-lr 0.01
expect_error "val-every without cosine" "val-every 2 needs --schedule cosine" train --val-every 2
expect_error "val-every 0" "integer in \[1, 100000\]" train --schedule cosine --val-every 0
expect_error "stray argument" "unexpected argument" train data/
expect_error "resume of nothing" "cannot read" train --resume "$TMP/nothing"

"$SF" evaluate --data x >/dev/null 2>"$TMP/err.txt"; [ $? = 2 ] && grep -q "required" "$TMP/err.txt"
check "evaluate without --weights: exit 2" $?
"$SF" predict --weights w --images d --top 0 >/dev/null 2>"$TMP/err.txt"; [ $? = 2 ] && grep -q "integer in \[1, 42\]" "$TMP/err.txt"
check "predict --top 0: exit 2" $?
"$SF" evaluate --weights w --data d --reencode 101 >/dev/null 2>"$TMP/err.txt"; [ $? = 2 ] && grep -q "integer in \[0, 100\]" "$TMP/err.txt"
check "evaluate --reencode 101: exit 2" $?
"$SF" bench train --size abc >/dev/null 2>"$TMP/err.txt"; [ $? = 2 ] && grep -q "not an integer" "$TMP/err.txt"
check "bench train --size abc: exit 2" $?
"$SF" predict --help | grep -q -- "--submission"; check "predict --help" $?
"$SF" evaluate --help | grep -q -- "--weights"; check "evaluate --help" $?

# bench train --layers: a row per layer of the model (simple: conv1.0 .. out), then the optimizer and the step.
"$SF" bench train --model simple --size 94 --batch 2 --steps 2 --warmup 0 --no-torch --layers >"$TMP/layers.txt" 2>&1
st=$?
rows=$(grep -cE "simple_s94_b2 +(conv[1-5]\.[02]|flatten|fc1\.[01]|out) +[0-9.]+ +[0-9.]+ +[0-9.]+%" "$TMP/layers.txt")
[ $st = 0 ] && [ "$rows" = 14 ] && grep -qE "optimizer +[0-9.]+" "$TMP/layers.txt" && grep -qE " step +[0-9.]+ " "$TMP/layers.txt"
check "bench train --layers: 14 layer rows, optimizer and step (exit $st, $rows rows)" $?

# bench conv --model resnet18: every distinct convolution, three directions each, against oneDNN. conv1 (3
# channels, padding 3) once crashed inside oneDNN's backward-data, which was given forward's weights layout.
"$SF" bench conv --model resnet18 --size 64 --batch 2 --threads 1 --reps 1 >"$TMP/conv.txt" 2>&1
st=$?
rows=$(grep -cE "^resnet18 +64 +[a-z0-9.]+ +mb2.* (fwd|bwd_d|bwd_w) +t1 .* ratio +[0-9.]+$" "$TMP/conv.txt")
[ $st = 0 ] && [ "$rows" = 33 ] && grep -qE "^resnet18 +64 sum " "$TMP/conv.txt"
check "bench conv --model resnet18: 11 layers x 3 directions and the sum (exit $st, $rows rows)" $?
# the shape that crashed (batch 2 at 64 px did not)
"$SF" bench conv --model resnet18 --layer conv1 --size 128 --batch 8 --threads 1 --reps 1 >"$TMP/conv.txt" 2>&1
st=$?
rows=$(grep -cE "^resnet18 +128 conv1 +mb8ic3ih128.* (fwd|bwd_d|bwd_w) +t1 " "$TMP/conv.txt")
[ $st = 0 ] && [ "$rows" = 3 ]
check "bench conv --model resnet18 --layer conv1 at 128 px, batch 8: three directions (exit $st, $rows rows)" $?
# --onednn-dtype bf16: oneDNN's side in bf16, said in the header and on every row (a CPU without a bf16
# implementation of oneDNN still prints the rows, with ratio 0); an unknown type is refused.
"$SF" bench conv --model resnet18 --layer l2.conv --size 64 --batch 2 --threads 1 --reps 1 --onednn-dtype bf16 \
    >"$TMP/conv.txt" 2>&1
st=$?
rows=$(grep -cE "^resnet18 +64 l2.conv .* (fwd|bwd_d|bwd_w) +t1 .* onednn-bf16 +[0-9.]+ GF/s +ratio" "$TMP/conv.txt")
[ $st = 0 ] && [ "$rows" = 3 ] && grep -q "oneDNN in bf16" "$TMP/conv.txt"
check "bench conv --onednn-dtype bf16: three bf16 rows (exit $st, $rows rows; $(grep -m1 -oE 'jit[a-z0-9_]*:[a-z0-9_]+' "$TMP/conv.txt"))" $?
"$SF" bench conv --onednn-dtype f16 >"$TMP/conv.txt" 2>&1
st=$?
[ $st = 2 ] && grep -q "unknown --onednn-dtype 'f16'" "$TMP/conv.txt"
check "bench conv --onednn-dtype f16 refused (exit $st)" $?
finish
