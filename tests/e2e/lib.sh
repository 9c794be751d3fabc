# lib.sh: shared helpers of the end-to-end scripts (sourced). Each script counts checks with check/
# check_cmd and ends with `finish`, which prints "N passed, N failed" and exits non-zero on a failure.
# Run from the repository root; SPRINGFIELD overrides the binary, E2E_TMP the scratch folder.
set -u
SF=${SPRINGFIELD:-build/springfield}
PASSED=0
FAILED=0
if [ ! -x "$SF" ]; then echo "e2e: $SF not built (run make)"; echo "0 passed, 1 failed"; exit 1; fi
TMP=$(mktemp -d "${E2E_TMP:-/tmp}/sf-e2e.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# A private copy: a rebuild of build/springfield during the script must not mix two binaries in one check.
cp "$SF" "$TMP/springfield" && SF=$TMP/springfield

# check NAME CONDITION-STATUS: records a result from the status of the previous test expression.
check() {
    local name=$1 st=$2
    if [ "$st" = 0 ]; then PASSED=$((PASSED + 1)); echo "  ok   $name"
    else FAILED=$((FAILED + 1)); echo "  FAIL $name"; fi
}

# check_cmd NAME CMD...: passes when CMD exits 0.
check_cmd() {
    local name=$1; shift
    "$@"; check "$name" $?
}

finish() {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" = 0 ]
}

# A small synthetic dataset shared by the checks of one script (42 classes, few images, fast epochs).
# Usage: small_data DIR LARGEST SMALLEST
small_data() {
    "$SF" train --out "$1" --epochs 1 --synth-largest "$2" --synth-smallest "$3" --checkpoint-minutes 0 \
        --threads 2 --batch 32 >"$1.gen.log" 2>&1
}

# Value of metadata KEY in a safetensors file (header JSON after the 8-byte length).
st_meta() {
    python3 -c 'import json,struct,sys
f=open(sys.argv[1],"rb"); n=struct.unpack("<Q",f.read(8))[0]; h=json.loads(f.read(n))
print(h.get("__metadata__",{}).get(sys.argv[2],""))' "$1" "$2"
}

# kill_mid_epoch PID RUN_DIR: kill -9 the training process PID as soon as a checkpoint written by the
# timer in the middle of an epoch (id e<epoch>-b<batch>, batch > 0) is in RUN_DIR; returns its exit
# status (137 when the kill ended it, not a normal exit).
kill_mid_epoch() {
    local pid=$1 dir=$2
    while kill -0 "$pid" 2>/dev/null; do
        head -c 8192 "$dir/state.safetensors" 2>/dev/null | grep -aq '"ckpt_id":"e[0-9]*-b[1-9]' && break
        sleep 0.01
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
