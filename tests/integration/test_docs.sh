#!/usr/bin/env bash
# The docs cannot drift: every builtin, module function and step method the
# interpreter registers has an entry in src/lang/builtins_doc.c (and no
# entry names nothing), doc/spec-language.md is what `faultbox help builtins
# --markdown` generates from it, and every ```starlark block of doc/*.md
# loads with `faultbox check`: spec-language.md's after its prelude, the
# others' as whole specs (their `BIN = "..."` line pointed at this build's
# demo services).
. "$(dirname "$0")/lib.sh"
demo="$FAULTBOX_BUILD/src/demo"

run_fb help builtins --check
expect_rc 0 "every registered builtin has a doc entry"
[ -s "$TMP/err" ] && sed 's/^/  /' "$TMP/err"
"$FAULTBOX" help builtins --markdown >"$TMP/gen.md"
if diff -u "$FAULTBOX_SRC/doc/spec-language.md" "$TMP/gen.md" >"$TMP/md.diff"; then
  ok "doc/spec-language.md is the generated reference"
else
  fail "doc/spec-language.md differs from 'faultbox help builtins --markdown' (regenerate it):"; head -30 "$TMP/md.diff"
fi
run_fb help builtins fault_matrix
expect_rc 0 "help builtins NAME"
expect_out out '^fault_matrix\(scenarios, faults, default_expect=None'
expect_out out '^  returns: None$'
run_fb help builtins http.get
expect_out out '^    path \(str, default "/"\)$'
run_fb help builtins nosuch
expect_rc 1 "help builtins with an unknown name"
expect_out err "^faultbox: help builtins: no builtin \"nosuch\" \(run 'faultbox help builtins'\)$"

# the examples: one spec file each
python3 - "$FAULTBOX_SRC/doc" "$TMP/ex" "$demo" <<'PY'
import os, re, sys
docs, out, demo = sys.argv[1:]
os.makedirs(out)
n = 0
for md in sorted(os.listdir(docs)):
    if not md.endswith(".md"):
        continue
    blocks = re.findall(r"^```starlark\n(.*?)^```", open(os.path.join(docs, md)).read(), re.S | re.M)
    prelude = ""
    if md == "spec-language.md":
        prelude, blocks = blocks[0], blocks[1:]
    for i, b in enumerate(blocks):
        b = re.sub(r'^BIN = ".*"$', 'BIN = "%s"' % demo, b, flags=re.M)
        n += 1
        with open(os.path.join(out, "%s-%02d.star" % (md[:-3], i + 1)), "w") as f:
            f.write('BIN = "%s"\n' % demo + prelude + b if prelude else b)
print(n)
PY
count=0
for f in "$TMP"/ex/*.star; do
  count=$((count + 1))
  if ! "$FAULTBOX" check "$f" >"$TMP/out" 2>"$TMP/err"; then
    fail "example $(basename "$f") does not load:"; sed 's/^/  /' "$TMP/err" "$f" | head -30
  fi
done
[ "$count" -ge 80 ] && ok "$count examples of doc/ load" || fail "only $count examples found"
exit $((failures > 0))
