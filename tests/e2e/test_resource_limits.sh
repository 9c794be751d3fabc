#!/usr/bin/env bash
# test_resource_limits.sh: bounded memory and clean failure under `ulimit -v`.
#  - Training under a ladder of address-space limits: each run either finishes or exits 1 with
#    "out of memory allocating N bytes (file:line)", promptly; never a signal (segfault, abort) or a hang.
#    At least the smallest limit must hit the allocation failure, so the path is really exercised.
#  - A pathological folder for predict under a 1 GiB limit: thousands of tiny files (hard links), one
#    file declaring 65500x65500 px, a 300 MB file (sparse) and a real 8000x8000 PNG whose pixels (256 MB
#    as RGBA) cannot be allocated beside the rest: every file gets a row, the bad ones a message naming
#    them, and the peak resident memory stays small.
cd "$(dirname "$0")/../.." || exit 1
. tests/e2e/lib.sh

# No OPENBLAS_NUM_THREADS here: OpenBLAS is loaded only by bench gemm and perf-check (bench/openblas_dl.c),
# so training under a tight limit no longer meets its load-time thread pool, which used to hang at exit.
if ldd "$SF" 2>/dev/null | grep -q openblas; then fail "the CLI links OpenBLAS at load time"; fi

if nm "$SF" 2>/dev/null | grep -q ' __asan_init$'; then
    echo "  skip: an AddressSanitizer build reserves terabytes of shadow memory, so ulimit -v cannot apply"
    finish
    exit
fi
small_data "$TMP/gen" 2 1
DATA=$TMP/gen/synthetic-data
# Rungs: limit in MiB, compute threads, loader threads. The last rung has no extra threads, so its
# limit is met by springfield's own allocations rather than by a thread stack.
hit=0 ok_ladder=1
for rung in "2048 2 2" "512 2 2" "256 2 2" "160 2 2" "128 1 0" "96 1 0" "64 1 0"; do
    set -- $rung
    (ulimit -v $(($1 * 1024)) && exec timeout 300 "$SF" train --data "$DATA" --epochs 1 --batch 8 --threads "$2" \
        --loader-threads "$3" --checkpoint-minutes 0 --out "$TMP/run$1") >"$TMP/l$1.log" 2>&1
    st=$?
    if [ $st = 0 ]; then echo "  ulimit -v $1 MiB: trained"
    elif [ $st = 1 ] && grep -Eq "^springfield: error: out of memory allocating [0-9]+ .*\([a-z/_0-9]+\.c:[0-9]+\)$" \
        "$TMP/l$1.log"; then
        hit=$((hit + 1)); echo "  ulimit -v $1 MiB: $(grep 'out of memory' "$TMP/l$1.log" | head -1)"
    elif [ $st = 1 ] && grep -Eq "^(libgomp: Thread creation failed|springfield: error: loader: cannot start decoding \
thread [0-9]+ of [0-9]+): Resource temporarily unavailable" "$TMP/l$1.log"; then  # thread stacks count too
        echo "  ulimit -v $1 MiB: $(grep -E '^(libgomp|springfield: error)' "$TMP/l$1.log" | head -1)"
    else
        ok_ladder=0; echo "  ulimit -v $1 MiB: status $st: $(tail -2 "$TMP/l$1.log" | tr '\n' ' ')"
    fi
done
[ $ok_ladder = 1 ]; check "every limit: trained, or exit 1 naming the failed allocation (no crash, no hang)" $?
[ $hit -ge 1 ]; check "springfield's allocation failure path was reached ($hit of 7 limits)" $?

# The pathological folder.
P=$TMP/patho
mkdir -p "$P"
N=3000
cp tests/corpus/images/one_pixel.jpg "$P/tiny_00000.jpg"
for ((i = 1; i < N; i++)); do ln "$P/tiny_00000.jpg" "$(printf "$P/tiny_%05d.jpg" $i)"; done
cp tests/corpus/images/declares_65500x65500.png "$P/declares_huge.png"
{ head -c 3 tests/corpus/images/ok_64x48.jpg; } >"$P/huge_file.jpg" && truncate -s 300M "$P/huge_file.jpg"
/usr/bin/python3 -c 'import struct, sys, zlib
w = h = 8000  # 64 Mpx: under the 64 Mi pixel limit, so only memory stops it
raw = zlib.compress(b"".join(b"\0" + b"\x80" * (3 * w) for _ in range(h)), 9)
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
sys.stdout.buffer.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                        + chunk(b"IDAT", raw) + chunk(b"IEND", b""))' >"$P/big_8000.png"
WEIGHTS=$TMP/gen/best.safetensors
# Peak RSS of the child from getrusage (the `time` package is not always installed).
peak() { /usr/bin/python3 -c 'import resource, subprocess, sys
st = subprocess.call(sys.argv[1:])
print("peak_rss_kib %d" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(st)' "$@"; }
(ulimit -v $((1024 * 1024)) && peak timeout 600 "$SF" predict --weights "$WEIGHTS" --images "$P" \
    --submission "$TMP/sub.csv" --threads 2) >"$TMP/p.out" 2>"$TMP/p.err"
st=$?
rows=$(($(wc -l <"$TMP/sub.csv") - 1))
[ $st = 0 ] && [ $rows = $((N + 3)) ]; check "predict under 1 GiB: exit 0, a row for each of the $((N + 3)) files (status $st, $rows rows)" $?
grep -q "declares_huge.png: .*PNG declares 65500x65500 pixels, over the limit" "$TMP/p.err"
check "the 65500x65500 declaration is refused before allocating" $?
grep -q "huge_file.jpg: .*file of 314572800 bytes is too large" "$TMP/p.err"; check "the 300 MB file is refused unread" $?
grep -q "big_8000.png: .*PNG of 8000x8000 pixels: out of memory allocating 256000000 bytes" "$TMP/p.err" ||
    grep -q "big_8000.png" "$TMP/sub.csv"
check "the 8000x8000 PNG: a row, and a named allocation failure if it did not fit" $?
rss=$(sed -n 's/^peak_rss_kib //p' "$TMP/p.err")
echo "  peak resident memory: ${rss:-?} KiB for $((N + 3)) files"
[ -n "$rss" ] && [ "$rss" -lt 600000 ]; check "peak resident memory under 600 MB" $?
finish
