#!/usr/bin/env bash
# run_all.sh: every end-to-end script (tests/e2e/test_*.sh) in turn; prints each script's result and
# the totals as "N passed, N failed", and exits non-zero if any check failed.
cd "$(dirname "$0")/../.." || exit 1
passed=0
failed=0
for t in tests/e2e/test_*.sh; do
    echo "== $t"
    out=$(bash "$t" 2>&1)
    st=$?
    echo "$out"
    line=$(echo "$out" | tail -1)
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    passed=$((passed + ${p:-0}))
    failed=$((failed + ${f:-0}))
    if [ $st != 0 ] && [ "${f:-0}" = 0 ]; then failed=$((failed + 1)); echo "  FAIL $t exited $st"; fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
