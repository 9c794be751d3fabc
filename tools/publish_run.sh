#!/usr/bin/env bash
# publish_run.sh: copy a finished training run's small files into a results folder, reproduce its best
# validation accuracy from the weights, and write its Kaggle submission.
#
#   tools/publish_run.sh RUN NAME TESTSET [DEST]
#
# RUN is the run folder (runs/NAME), NAME the suffix of the published files, TESTSET the folder of the
# competition's test images, DEST the results folder (default results/journey-springfield). Writes:
#   history-NAME.csv, curves-NAME.png, confusion-NAME.png, per_class-NAME.csv, config-NAME.json
#     copies of what the run wrote (no weights: they stay in RUN);
#   summary-NAME.md     tools/run_summary.py over the run (time to accuracy, img/s, smallest classes);
#   evaluate-NAME.txt   `springfield evaluate --run RUN`: the validation split redrawn from config.json
#                       and scored with RUN/best.safetensors through a separate decode path;
#   evaluate-NAME-flip.txt  the same with --tta flip (each image averaged with its mirror image);
#   submission-NAME.csv `springfield predict` with RUN/best.safetensors over TESTSET (Id,Expected), with
#                       --tta $TTA when TTA is set (none or flip; default none).
# SPRINGFIELD overrides the binary (default build/springfield).
set -euo pipefail
if [ $# -lt 3 ]; then sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2; fi
RUN=$1 NAME=$2 TESTSET=$3 DEST=${4:-results/journey-springfield}
SF=${SPRINGFIELD:-build/springfield}
for f in history.csv curves.png confusion.png per_class.csv config.json best.safetensors; do
    [ -f "$RUN/$f" ] || { echo "publish_run: $RUN/$f: missing (has the run finished an epoch?)" >&2; exit 1; }
done
[ -d "$TESTSET" ] || { echo "publish_run: $TESTSET: not a folder" >&2; exit 1; }
mkdir -p "$DEST"
cp "$RUN/history.csv" "$DEST/history-$NAME.csv"
cp "$RUN/curves.png" "$DEST/curves-$NAME.png"
cp "$RUN/confusion.png" "$DEST/confusion-$NAME.png"
cp "$RUN/per_class.csv" "$DEST/per_class-$NAME.csv"
cp "$RUN/config.json" "$DEST/config-$NAME.json"
python3 "$(dirname "$0")/run_summary.py" "$RUN" >"$DEST/summary-$NAME.md"
"$SF" evaluate --run "$RUN" --no-matrix >"$DEST/evaluate-$NAME.txt" 2>&1
"$SF" evaluate --run "$RUN" --no-matrix --tta flip >"$DEST/evaluate-$NAME-flip.txt" 2>&1
"$SF" predict --weights "$RUN/best.safetensors" --images "$TESTSET" --submission "$DEST/submission-$NAME.csv" \
    --tta "${TTA:-none}" >/dev/null 2>"$DEST/predict-$NAME.log"
echo "publish_run: $NAME -> $DEST: $(($(wc -l <"$DEST/submission-$NAME.csv") - 1)) predictions; validation:"
grep -E "accuracy|val_acc|macro" "$DEST/evaluate-$NAME.txt" | head -3
echo "with --tta flip:"
grep -E "accuracy|val_acc|macro" "$DEST/evaluate-$NAME-flip.txt" | head -3
