#!/usr/bin/env bash
# doc/tutorial.md as written: its spec files, then each `$ faultbox ...`
# line of its console blocks run, the output compared with the page's
# modulo times, counts and run names (doc_blocks.py).
. "$(dirname "$0")/lib.sh"
need_root
# the page's bundles go where a reader's would: .faultbox/runs beside the spec
unset FAULTBOX_RUNS_DIR
if python3 "$FAULTBOX_SRC/tests/integration/doc_blocks.py" tutorial "$FAULTBOX_SRC/doc/tutorial.md" "$TMP/work" \
    "$FAULTBOX_BUILD/src/demo" "$FAULTBOX" >"$TMP/log"; then
  ok "doc/tutorial.md: $(tail -1 "$TMP/log"), output as documented"
else
  fail "doc/tutorial.md differs from what its commands print:"; cat "$TMP/log"
fi
exit $((failures > 0))
