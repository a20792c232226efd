#!/usr/bin/env bash
# HTTP/2 and gRPC (h2c): steps and ready() against nginx (its http2 and
# grpc_pass modules) and against http2/grpc mocks (typed by flags.pb too,
# called by a client()), mock events.
. "$(dirname "$0")/lib.sh"
need_root
[ -x /usr/sbin/nginx ] || skip "/usr/sbin/nginx is not installed (scripts/bootstrap installs it)"
prep_specs
cd "$TMP"
nginx_conf "$TMP/nginx.conf" "" 'server { listen 8080 http2; location = / { return 200 "web up\n"; } }'
nginx_conf "$TMP/gw.conf" "" 'server { listen 8081 http2; location / { grpc_pass grpc://flags:50051; } }'
sed -i -e "s|NGINXCONF|$TMP/nginx.conf|" -e "s|GWCONF|$TMP/gw.conf|" h2.star
cp "$FAULTBOX_SRC/tests/bad-input/data-files/flags.pb" .

run_fb test h2.star
expect_rc 0 "http2 and grpc steps, mocks and ready()"
for t in http2_steps_against_nginx http2_mock_routes grpc_mock_calls grpc_typed_mock grpc_typed_client \
  real_grpc_client_reaches_mock \
  http2_proxy_rules grpc_proxy_rules recipes_on_http2_and_grpc; do
  expect_out out "^--- PASS: test_$t "
done
expect_out out '^9 passed, 0 failed$'
finish
