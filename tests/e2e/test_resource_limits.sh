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

small_data "$TMP/gen" 2 1
DATA=$TMP/gen/synthetic-data
hit=0 ok_ladder=1
for mib in 2048 512 256 128; do
    (ulimit -v $((mib * 1024)) && exec timeout 300 "$SF" train --data "$DATA" --epochs 1 --batch 8 --threads 2 \
        --checkpoint-minutes 0 --out "$TMP/run$mib") >"$TMP/l$mib.log" 2>&1
    st=$?
    if [ $st = 0 ]; then echo "  ulimit -v ${mib} MiB: trained"
    elif [ $st = 1 ] && grep -Eq "^springfield: error: out of memory allocating [0-9]+ .*\([a-z/_0-9]+\.c:[0-9]+\)$" \
        "$TMP/l$mib.log"; then
        hit=$((hit + 1)); echo "  ulimit -v ${mib} MiB: $(grep 'out of memory' "$TMP/l$mib.log" | head -1)"
    else
        ok_ladder=0; echo "  ulimit -v ${mib} MiB: status $st: $(tail -2 "$TMP/l$mib.log" | tr '\n' ' ')"
    fi
done
[ $ok_ladder = 1 ]; check "every limit: trained, or exit 1 naming the failed allocation (no crash, no hang)" $?
[ $hit -ge 1 ]; check "the allocation failure path was reached ($hit of 4 limits)" $?

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
(ulimit -v $((1024 * 1024)) && exec timeout 600 /usr/bin/time -f "peak_rss_kib %M" "$SF" predict --weights "$WEIGHTS" \
    --images "$P" --submission "$TMP/sub.csv" --threads 2) >"$TMP/p.out" 2>"$TMP/p.err"
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
