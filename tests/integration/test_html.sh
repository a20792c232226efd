#!/usr/bin/env bash
# `faultbox test --html` and `faultbox merge --html`: one self-contained
# page, and a real browser (headless Chromium, no network) shows its fault
# matrix as a grid of the PASS green and the FAIL red.
. "$(dirname "$0")/lib.sh"
need_root
prep_specs
cd "$TMP"

# The grid's colors (src/report/html.c uses them for grid cells only).
PASS_RGB=45,164,78
FAIL_RGB=207,34,46
NONE_RGB=230,234,239

# cells FILE CLASS: grid cells of that class in the page
cells() { grep -o "<td class=\"cell $2\">" "$1" | wc -l; }

self_contained() { # FILE: nothing the page would fetch
  if grep -o '<[^>]*>' "$1" | grep -Eiq '(src|href|action|srcset|poster)=["'\'']?[a-z]+:' || grep -Eq '@import|url\(' "$1"; then
    fail "$1 references something outside itself"; grep -o '<[^>]*>' "$1" | grep -Ei '(src|href)=' | head -5
  else ok "$1 references nothing outside itself"; fi
}

run_fb test -j 2 --html domain.html domain-fixed.star
expect_rc 0 "domain-fixed.star passes"
[ "$(cells domain.html pass)" = 6 ] && ok "6 PASS cells in the grid" || fail "PASS cells: $(cells domain.html pass)"
expect_out out '^11 passed, 0 failed$'
self_contained domain.html
grep -q '<svg class="tl"' domain.html && ok "tests have timelines" || fail "no timeline"
grep -q 'faultbox test domain-fixed.star --test matrix_order_flow_disk_full --seed 0' domain.html \
  && ok "replay command" || fail "no replay command"
html_bytes=$(stat -c %s domain.html)
echo "domain-fixed.star: HTML report $html_bytes bytes"

run_fb test -j 2 --html failing.html domain-failures.star
expect_rc 2 "domain-failures.star fails"
[ "$(cells failing.html fail) $(cells failing.html pass) $(cells failing.html none)" = "2 1 1" ] \
  && ok "grid: 2 FAIL, 1 PASS, 1 excluded" || fail "grid of domain-failures.star: $(grep -o 'cell [a-z]*' failing.html | sort | uniq -c)"
grep -q 'no rule of never_fires fired (require_faults_fire=True)' failing.html && ok "failure reasons" || fail "no reason"

# merge: the shards' reports give the page of one run (the shards at once,
# as CI machines run them)
for i in 1 2; do "$FAULTBOX" test --shard "$i/2" --output "shard-$i.json" domain-failures.star >"shard-$i.out" 2>&1 & done
wait
run_fb merge shard-1.json shard-2.json --html merged.html
expect_rc 2 "merge exits 2"
# timings, and what depends on them: the timeline and the event counts
strip() { sed -E '/^<(svg|\/svg|rect|line|circle|text)/d; /^<tr><td>#/d; s/[0-9.]+ (ms|s)\b/N/g; s/[0-9]+ (events|more)\b.*//' "$1"; }
diff <(strip failing.html) <(strip merged.html) >diff.txt && ok "merged page is the page of one run (but timings)" \
  || { fail "merged page differs"; head -20 diff.txt; }
run_fb test --html /nonexistent/dir/x.html --test health_check domain-fixed.star
expect_rc 1 "an unwritable --html path"
expect_out err 'cannot write /nonexistent/dir/x.html'

# help, man page and completions know the flag
for cmd in test merge; do
  "$FAULTBOX" help "$cmd" | grep -q -- '--html FILE' && ok "faultbox help $cmd shows --html" || fail "help $cmd lacks --html"
  words=$(bash -c '. "$1"; COMP_WORDS=(faultbox "$2" --ht); COMP_CWORD=2; _faultbox; echo "${COMPREPLY[*]}"' _ \
    "$FAULTBOX_SRC/src/cli/completion/faultbox.bash" "$cmd")
  [ "$words" = "--html" ] && ok "bash completes $cmd --ht" || fail "bash completion of $cmd --ht gave: $words"
done
[ "$(grep -c -- "'--html\\[" "$FAULTBOX_SRC/src/cli/completion/_faultbox")" = 2 ] && ok "zsh completes --html for test and merge" \
  || fail "zsh completion lacks --html"
grep -q '^\.SH HTML REPORT' "$FAULTBOX_SRC/doc/faultbox.1" && ok "man page has HTML REPORT" || fail "man page lacks HTML REPORT"

chromium=$(command -v chromium || command -v chromium-browser || true)
[ "$failures" -gt 0 ] && finish
[ -n "$chromium" ] || skip "no chromium (scripts/bootstrap installs it)"

# shot HTML PNG: a 1200x900 screenshot with no network at all (its own
# empty network namespace), with a throwaway profile
shot() {
  local t0 t1 rc=0
  mkdir -p home
  t0=$(date +%s%N)
  # (a failure is reported below, not by set -e)
  HOME="$TMP/home" timeout 120 unshare -n "$chromium" --headless --no-sandbox --disable-gpu --no-proxy-server \
    --no-first-run --hide-scrollbars --user-data-dir="$TMP/home/profile" --screenshot="$TMP/$2" \
    --window-size=1200,900 "file://$TMP/$1" >chromium.log 2>&1 || rc=$?
  t1=$(date +%s%N)
  echo "chromium: $1 -> $2 in $(((t1 - t0) / 1000000)) ms (exit $rc)"
  [ -s "$2" ] || { fail "chromium wrote no $2"; tail -5 chromium.log; }
}

# pixels PNG R,G,B...: how many pixels have exactly each color (PNG decoded
# by hand: 8-bit RGB or RGBA, the five scanline filters)
pixels() {
  python3 - "$@" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat = 8, b""
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
assert depth == 8 and ctype in (2, 6), "want 8-bit RGB(A)"
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, rows = bytearray(stride), []
for y in range(h):
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    if f == 1:
        for i in range(bpp, stride): line[i] = (line[i] + line[i - bpp]) & 255
    elif f == 2:
        line = bytearray((a + b) & 255 for a, b in zip(line, prev))
    elif f == 3:
        for i in range(stride): line[i] = (line[i] + ((line[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 255
    elif f == 4:
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    rows.append(bytes(line))
    prev = line
want = {bytes(map(int, c.split(","))): 0 for c in sys.argv[2:]}
for line in rows:
    for x in range(0, stride, bpp):
        px = line[x:x + 3]
        if px in want: want[px] += 1
print(" ".join(str(want[bytes(map(int, c.split(",")))]) for c in sys.argv[2:]))
PY
}

# a grid cell is at least 150x52 pixels, less its text
CELL=5000
shot domain.html domain.png
read -r green red < <(pixels domain.png "$PASS_RGB" "$FAIL_RGB")
[ "$green" -ge $((6 * CELL)) ] && [ "$red" = 0 ] && ok "screenshot shows 6 green cells ($green px), no red" \
  || fail "domain.png: $green PASS-green px (want >= $((6 * CELL))), $red FAIL-red px (want 0)"
shot failing.html failing.png
read -r green red grey < <(pixels failing.png "$PASS_RGB" "$FAIL_RGB" "$NONE_RGB")
[ "$red" -ge $((2 * CELL)) ] && [ "$green" -ge "$CELL" ] && [ "$grey" -ge "$CELL" ] \
  && ok "screenshot shows the red, green and grey cells ($red, $green, $grey px)" \
  || fail "failing.png: $red red, $green green, $grey grey px (want >= $((2 * CELL)), $CELL, $CELL)"
finish
