#!/usr/bin/env bash
# test_numa.sh: placement and NUMA data parallelism through the CLI, on this one-node machine with the
# test hook SPRINGFIELD_FAKE_NUMA_NODES=2 (two model replicas, one thread each, gradients reduced):
#   - the placement is logged and recorded in config.json (--numa, replicas, binding);
#   - a two-replica --deterministic run is bit-reproducible, and a run killed with kill -9 and resumed
#     ends bit-identical to an uninterrupted one;
#   - --numa off binds nothing, OMP_PLACES is respected and reported, bad values are refused by name.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

ARGS=(--epochs 3 --batch 8 --threads 2 --deterministic --seed 3 --balance weighted --checkpoint-minutes 0)
small_data "$TMP/gen" 16 4; check "synthetic data generated" $?
DATA=$TMP/gen/synthetic-data
export SPRINGFIELD_FAKE_NUMA_NODES=2

"$SF" train "${ARGS[@]}" --data "$DATA" --out "$TMP/a" >"$TMP/a.log" 2>&1; check "two-replica run" $?
grep -q "group 1: 1 thread, memory node [0-9]*, 4 of 8 samples" "$TMP/a/train.log"
check "placement logged with two groups" $?
python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))
sys.exit(0 if c["numa"]=="auto" and c["numa_replicas"]==2 and "bound to PUs" in c["placement"] else 1)' \
    "$TMP/a/config.json"
check "config.json records numa, replicas and binding" $?

"$SF" train "${ARGS[@]}" --data "$DATA" --out "$TMP/b" >"$TMP/b.log" 2>&1; check "second two-replica run" $?
cmp "$TMP/a/last.safetensors" "$TMP/b/last.safetensors"; check "two-replica runs bit-identical" $?

# Killed after an in-epoch checkpoint, then resumed: the same weights as the uninterrupted run a.
"$SF" train "${ARGS[@]}" --data "$DATA" --checkpoint-minutes 0.001 --out "$TMP/c" >"$TMP/c.log" 2>&1 &
kill_mid_epoch $! "$TMP/c"
[ $? = 137 ]; check "two-replica run killed mid-epoch" $?
"$SF" train --resume "$TMP/c" --checkpoint-minutes 0 >"$TMP/c2.log" 2>&1; check "resumed two-replica run" $?
cmp "$TMP/a/last.safetensors" "$TMP/c/last.safetensors"; check "resumed run bit-identical" $?

# One replica: the hook is ignored with --numa off, and nothing is bound.
"$SF" train "${ARGS[@]}" --epochs 1 --numa off --data "$DATA" --out "$TMP/d" >"$TMP/d.log" 2>&1
check "--numa off run" $?
grep -q "threads not bound: --numa off; group 0: 2 threads, memory any node, 8 of 8 samples; cpu" "$TMP/d/train.log"
check "--numa off: one group, not bound" $?
grep -q "SPRINGFIELD_FAKE_NUMA_NODES is ignored with --numa off" "$TMP/d.log"; check "hook ignored, said so" $?

unset SPRINGFIELD_FAKE_NUMA_NODES
OMP_PLACES=cores "$SF" train "${ARGS[@]}" --epochs 1 --data "$DATA" --out "$TMP/e" >"$TMP/e.log" 2>&1
check "run under OMP_PLACES" $?
grep -q "threads not bound: the OpenMP affinity variables are set; the runtime places threads (OMP_PLACES=cores)" \
    "$TMP/e/train.log"
check "OMP_PLACES respected and reported" $?

SPRINGFIELD_FAKE_NUMA_NODES=two "$SF" train "${ARGS[@]}" --data "$DATA" --out "$TMP/f" >"$TMP/f.log" 2>&1
[ $? = 2 ] && grep -q "SPRINGFIELD_FAKE_NUMA_NODES=two: expected a number of groups" "$TMP/f.log"
check "bad SPRINGFIELD_FAKE_NUMA_NODES refused by name" $?
"$SF" train "${ARGS[@]}" --numa both --data "$DATA" --out "$TMP/g" >"$TMP/g.log" 2>&1
[ $? = 2 ] && grep -q "numa" "$TMP/g.log"; check "bad --numa refused" $?
finish
