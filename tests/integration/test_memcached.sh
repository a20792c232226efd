#!/usr/bin/env bash
# Memcached against Debian's memcached in a lab: get/set/delete/incr steps
# through libmemcached, and the recipe's error, delay and drop by command
# and key through the proxy.
. "$(dirname "$0")/lib.sh"
need_root
[ -x /usr/bin/memcached ] || skip "/usr/bin/memcached is not installed (scripts/bootstrap installs it)"
prep_specs
cd "$TMP"
run_fb test memcached.star -j 2
expect_rc 0 "memcached steps and faults"
expect_out out '^2 passed, 0 failed$'
finish
