#!/usr/bin/env bash
# test_kill9_loop.sh: crash safety under kill -9. A deterministic training run on a small synthetic
# dataset, checkpointing after nearly every batch (--checkpoint-minutes 0.0005), is killed with SIGKILL
# KILL9_COUNT times (default 24) and resumed after each kill. Most kills come after a random delay; some
# are aimed: at the moment a temporary checkpoint file appears (mid-write; such runs are started with
# SPRINGFIELD_TEST_WRITE_PAUSE_MS, which holds each file half-written for 100 ms, since a fast disk
# finishes a small checkpoint before any look can see it), or just after the last batch of an epoch
# (mid-evaluation).
#
# Each kill is classified afterwards, exactly: the run draws its progress bar on a pseudo-terminal
# (`script`), and the bar always draws an epoch's last batch, so the output up to the kill says whether
# the run was training, evaluating or past the epoch's end; a "<file>.tmp.<pid>" still on disk says a
# write was cut short. After every kill: last.safetensors (and best.safetensors once an epoch has ended)
# loads through `springfield evaluate` with its CRC checked; `--resume` continues; the resume removes
# the dead process's temporary files. At the end last and best are byte-identical to an uninterrupted
# run's, and history.csv agrees. On a machine fast enough to finish the run before all kills are spent,
# fresh runs (cycles) take the remaining kills, and each cycle must end the same way.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

KILLS=${KILL9_COUNT:-24}
command -v script >/dev/null || { echo "  skip: script (util-linux) not found"; finish; exit; }

# A large validation share (0.6) keeps each evaluation long enough for an aimed kill to land inside it.
ARGS=(--epochs 3 --batch 8 --threads 2 --deterministic --seed 5 --balance none --val-split 0.6)
t0=$(date +%s%N)
"$SF" train "${ARGS[@]}" --synth-largest 16 --synth-smallest 3 --checkpoint-minutes 0 --out "$TMP/ref" \
    >"$TMP/ref.log" 2>&1
check "uninterrupted reference run" $?
# Random delays scale with this machine's speed (and its load): up to 1/20 of the reference run.
REF_MS=$((($(date +%s%N) - t0) / 1000000))
echo "  reference run: $REF_MS ms"
DATA=$TMP/ref/synthetic-data
RUN=$TMP/run
# One image in one class folder: enough for evaluate to load a checkpoint and run it.
mkdir -p "$TMP/one/c00_red_circle"
cp "$(find "$DATA/c00_red_circle" -type f | sort | head -1)" "$TMP/one/c00_red_circle/"

# start LOG ARGS...: the CLI on a pseudo-terminal, output in LOG; sets SPID (script) and PID (springfield).
# A run whose kill will be aimed at a write pauses 100 ms inside each file it writes (see aim).
start() {
    local log=$1 pause=0; shift
    [ "${modes[$((n_kill % ${#modes[@]}))]}" = write ] && pause=100
    SPRINGFIELD_TEST_WRITE_PAUSE_MS=$pause script -qefc "exec $(printf '%q ' "$@")" "$log" </dev/null >/dev/null 2>&1 &
    SPID=$!
    PID=
    for _ in $(seq 1000); do PID=$(pgrep -P "$SPID") && break; sleep 0.01; done
}

# The phase a finished log stops in: start-up, batch, evaluation, epoch-end or final.
phase() {
    local last
    last=$(tr '\r' '\n' <"$1" | sed 's/\x1b\[K//g' |
        grep -E '^(epoch [0-9]+ |springfield: (train |best epoch|done))' | tail -1)
    case $last in
    "") echo start-up ;;
    "springfield: train "*) echo batch ;;
    "springfield: "*) echo final ;;
    epoch*" lr "*) echo epoch-end ;;
    *)  # a progress bar "epoch 002 [###...] 17/25 ...": the last batch drawn means evaluation follows
        if [[ $last =~ \]\ ([0-9]+)/([0-9]+) ]] && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ]; then
            echo evaluation
        else echo batch; fi ;;
    esac
}

sleep_ms() { sleep "$(($1 / 1000)).$(printf %03d $(($1 % 1000)))"; }
alive() { kill -0 "$PID" 2>/dev/null; }
inode() { stat -c %i "$RUN/state.safetensors" 2>/dev/null; }

# Waits for the moment aimed at; returns 1 if the run ended first.
aim() {
    case $1 in
    random)  # at a random moment once the run is past its start-up, whose length depends on the load
        while alive && [ "$(phase "$LOG")" = start-up ]; do sleep 0.01; done
        sleep_ms $((RANDOM % (REF_MS / 20 + 1))) ;;
    write)  # after this run's first completed checkpoint (so every kill leaves progress), the next
        # checkpoint write; the run was started with SPRINGFIELD_TEST_WRITE_PAUSE_MS, so that write
        # stops half-way for a moment (on a fast disk it would otherwise be over before a look sees it)
        local ino
        ino=$(inode)
        while alive && [ "$(inode)" = "$ino" ]; do sleep 0.01; done
        while alive && ! compgen -G "$RUN/*.safetensors.tmp.$PID" >/dev/null; do sleep 0.002; done ;;
    evaluation)
        while alive && [ "$(phase "$LOG")" != evaluation ]; do sleep 0.005; done
        sleep_ms $((RANDOM % 40)) ;;
    esac
    alive
}

declare -A landed
phases=()
n_kill=0 n_status=0 n_last=0 n_best=0 n_best_due=0 n_resumed=0 n_cleaned=0 n_runs=0 n_cycles=0 n_same=0
bad=""
# Evaluation kills are spread through the sequence: the resume after one finishes that epoch's
# evaluation (writing best.safetensors) and moves on, so even a short loop (KILL9_COUNT=10) kills runs
# that already have a best checkpoint to check.
modes=(random write evaluation random write random evaluation random write evaluation)
# all_phases_hit: a kill has landed mid-batch, mid-evaluation and mid-checkpoint-write.
all_phases_hit() {
    [ "${landed[batch]:-0}" -gt 0 ] && [ "${landed[evaluation]:-0}" -gt 0 ] &&
        [ -n "$(for k in "${!landed[@]}"; do case $k in checkpoint-write*) echo y ;; esac; done)" ]
}
# A fast machine finishes the run before all kills are spent: then a fresh run (a new cycle) takes the
# rest, and every cycle must end bit-identical to the reference.
while [ $n_cycles -lt 12 ] && { [ $n_kill -lt "$KILLS" ] || ! all_phases_hit; }; do
    n_cycles=$((n_cycles + 1))
    rm -rf "$RUN"
    LOG=$TMP/log.c$n_cycles
    cycle_logs=("$LOG")
    start "$LOG" "$SF" train "${ARGS[@]}" --data "$DATA" --checkpoint-minutes 0.0005 --out "$RUN"
    # The first kill waits for a checkpoint: before the first one there is nothing to resume.
    while alive && [ ! -f "$RUN/state.safetensors" ]; do sleep 0.01; done
    while :; do
        n_runs=$((n_runs + 1))
        mode=${modes[$((n_kill % ${#modes[@]}))]}
        if { [ $n_kill -lt "$KILLS" ] || ! all_phases_hit; } && [ $n_kill -lt $((KILLS * 3)) ] && aim "$mode"; then
            kill -KILL "$PID" 2>/dev/null
            wait "$SPID"
            st=$?
            if [ $st = 0 ] && [ "$(phase "$LOG")" = final ]; then
                # The run finished between the last look and the kill (a loaded machine makes that window
                # wider): nothing was killed, and this cycle is over.
                echo "  kill aimed at the end of cycle $n_cycles: the run had already finished (not counted)"
                break
            fi
            n_kill=$((n_kill + 1))
            [ $st = 137 ] && n_status=$((n_status + 1)) || bad+=" kill$n_kill:status=$st"
            ph=$(phase "$LOG")
            tmp=$(compgen -G "$RUN/*.tmp.$PID" | head -1)
            if [ -n "$tmp" ]; then
                f=$(basename "$tmp" ".tmp.$PID")
                case $f in *.safetensors) ph="checkpoint-write($f)" ;; *) ph="other-write($f)" ;; esac
            fi
            landed[$ph]=$((${landed[$ph]:-0} + 1))
            phases[$n_kill]=$ph
            echo "  kill $n_kill ($mode, cycle $n_cycles): $ph"
            if [ -f "$RUN/last.safetensors" ] &&
                "$SF" evaluate --weights "$RUN/last.safetensors" --data "$TMP/one" --threads 1 --no-matrix \
                    >"$TMP/eval.log" 2>&1; then
                n_last=$((n_last + 1))
            else bad+=" kill$n_kill:last($(tail -1 "$TMP/eval.log" 2>/dev/null))"; fi
            if cat "${cycle_logs[@]}" | grep -q "new best val_acc"; then
                n_best_due=$((n_best_due + 1))
                "$SF" evaluate --weights "$RUN/best.safetensors" --data "$TMP/one" --threads 1 --no-matrix \
                    >"$TMP/eval.log" 2>&1 && n_best=$((n_best + 1)) || bad+=" kill$n_kill:best"
            fi
            LOG=$TMP/log.$n_kill
            cycle_logs+=("$LOG")
            start "$LOG" "$SF" train --resume "$RUN"
            continue
        fi
        # No more kills (or the run ended on its own): this run must finish.
        wait "$SPID"
        st=$?
        [ $st = 0 ] || bad+=" cycle$n_cycles:final-status=$st"
        break
    done
    n_cleaned=$((n_cleaned + $(cat "${cycle_logs[@]}" | grep -c "left by a write that was cut short")))
    [ -z "$(compgen -G "$RUN/*.tmp.*")" ] || bad+=" cycle$n_cycles:tmp-left"
    if cmp -s "$TMP/ref/last.safetensors" "$RUN/last.safetensors" &&
        cmp -s "$TMP/ref/best.safetensors" "$RUN/best.safetensors" &&
        cmp -s <(cut -d, -f1-7 "$TMP/ref/history.csv") <(cut -d, -f1-7 "$RUN/history.csv"); then
        n_same=$((n_same + 1))
    fi
done
echo "  $n_cycles cycle(s) of a full run, killed and resumed until it finished"
# Resumed run i is the one killed by kill i + 1 (or the one that ran to its end); one killed in its
# start-up could not have announced anything yet.
for ((i = 1; i <= n_kill; i++)); do
    if grep -q "springfield: resuming $RUN at epoch" "$TMP/log.$i" || [ "${phases[$((i + 1))]:-}" = start-up ]; then
        n_resumed=$((n_resumed + 1))
    fi
done
n_cut=0
for k in "${!landed[@]}"; do case $k in *-write*) n_cut=$((n_cut + landed[$k])) ;; esac; done

echo "  kills by phase:$(for k in "${!landed[@]}"; do printf ' %s=%s' "$k" "${landed[$k]}"; done | tr ' ' '\n' |
    sort | tr '\n' ' ')"
[ -n "$bad" ] && echo "  problems:$bad"
[ "$n_kill" -ge "$KILLS" ]; check "killed $n_kill times (wanted $KILLS)" $?
[ "$n_status" = "$n_kill" ]; check "every kill ended the run by SIGKILL ($n_status/$n_kill)" $?
[ -z "$(echo "$bad" | grep -o 'final-status')" ]; check "every cycle's last resumed run finished (status 0)" $?
[ "$n_last" = "$n_kill" ]; check "last.safetensors loaded after every kill ($n_last/$n_kill)" $?
[ "$n_best" = "$n_best_due" ] && [ "$n_best_due" -gt 0 ]
check "best.safetensors loaded after every kill once written ($n_best/$n_best_due)" $?
[ "$n_resumed" = "$n_kill" ]; check "--resume continued after every kill ($n_resumed/$n_kill)" $?
all_phases_hit; check "kills landed mid-batch, mid-checkpoint-write and mid-evaluation" $?
[ "$n_cleaned" = "$n_cut" ]; check "each write cut short left one temporary file, removed on resume ($n_cleaned/$n_cut)" $?
[ -z "$(echo "$bad" | grep -o 'tmp-left')" ]; check "no temporary file left in the run folder" $?
[ "$n_same" = "$n_cycles" ]
check "every cycle ended with last/best.safetensors and history bit-identical to the uninterrupted run ($n_same/$n_cycles)" $?
finish
