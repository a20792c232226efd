#!/usr/bin/env bash
# The docs cannot drift: every builtin, module function and step method the
# interpreter registers has an entry in src/lang/builtins_doc.c (and no
# entry names nothing), every keyword a builtin unpacks by name is in its
# entry's signature (doc_keywords.py), doc/spec-language.md is what `faultbox help builtins
# --markdown` generates from it, and every ```starlark block of doc/*.md
# loads with `faultbox check` (see doc_blocks.py).
. "$(dirname "$0")/lib.sh"
demo="$FAULTBOX_BUILD/src/demo"

run_fb help builtins --check
expect_rc 0 "every registered builtin has a doc entry"
[ -s "$TMP/err" ] && sed 's/^/  /' "$TMP/err"
if python3 "$FAULTBOX_SRC/tests/integration/doc_keywords.py" "$FAULTBOX_SRC" "$FAULTBOX" >"$TMP/kw"; then
  ok "every keyword a builtin unpacks is in its entry's signature"
else
  fail "keywords missing from builtins_doc.c:"; sed 's/^/  /' "$TMP/kw"
fi
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
python3 "$FAULTBOX_SRC/tests/integration/doc_blocks.py" specs "$FAULTBOX_SRC/doc" "$TMP/ex" "$demo" >"$TMP/specs"
# one process for all: a load error names its file
if xargs "$FAULTBOX" check <"$TMP/specs" >"$TMP/out" 2>"$TMP/err"; then
  ok "every example loads"
else
  fail "an example does not load:"; sed 's/^/  /' "$TMP/err"
fi
count=$(grep -c '^Checked ' "$TMP/out")
[ "$count" -ge 90 ] && ok "$count examples of doc/ checked" || fail "only $count examples checked"
exit $((failures > 0))
