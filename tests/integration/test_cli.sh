#!/usr/bin/env bash
# The CLI surface: version, help, unknown commands and flags.
. "$(dirname "$0")/lib.sh"

run_fb --version
expect_rc 0 "--version"
expect_out out '^faultbox [0-9]+\.[0-9]+\.[0-9]+$'

run_fb --help
expect_rc 0 "--help"
expect_out out 'usage: faultbox <command>'
expect_out out 'doctor'

run_fb help doctor
expect_rc 0 "help doctor"
expect_out out 'usage: faultbox doctor'

run_fb frobnicate
expect_rc 1 "unknown command"
expect_out err '^faultbox: unknown command "frobnicate"'
[ "$(wc -l <"$TMP/err")" = 1 ] && ok "unknown command is one line" || fail "unknown command error is not one line"

run_fb --frob
expect_rc 1 "unknown flag"
expect_out err 'unknown flag "--frob"'

run_fb doctor --bogus
expect_rc 1 "unknown doctor flag"
expect_out err 'unknown flag "--bogus"'

run_fb help nosuch
expect_rc 1 "help for unknown command"

run_fb
expect_rc 1 "no command"
finish
