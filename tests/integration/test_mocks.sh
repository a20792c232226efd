#!/usr/bin/env bash
# Mock services: mock_service() with every response constructor and
# dynamic(), reached by test steps and by real services by name (nginx
# proxying to an HTTP mock, redis-cli writing to a redis mock, the demo
# order-svc calling a TCP mock), protocol and syscall faults on mocks,
# mock.* events, and a spec loading @faultbox/recipes and @faultbox/mocks;
# mongodb steps (libmongoc) against the mongodb mock, straight and through
# the proxy's rules; the kafka mock (kafka.star) under librdkafka steps, kcat and proxy rules.
# TLS mocks (mocks-tls.star) verified by steps and curl against the run's CA.
. "$(dirname "$0")/lib.sh"
need_root
for bin in /usr/sbin/nginx /usr/bin/redis-cli /usr/bin/kcat; do
  [ -x "$bin" ] || skip "$bin is not installed (scripts/bootstrap installs it)"
done
prep_specs
cd "$TMP"
nginx_conf "$TMP/nginx.conf" "" 'server {
    listen 8081;
    location = /health { return 200 "ok"; }
    location / { proxy_pass http://api:8080; }
  }'
sed -i -e "s|NGINXCONF|$TMP/nginx.conf|" mocks.star

run_fb test mocks.star -j 2
expect_rc 0 "mocks reached by steps and real services, faulted, recorded"
for t in http_response_constructors http_dynamic real_service_reaches_http_mock protocol_fault_on_mock \
  redis_mock_steps_and_client redis_recipe_on_mock http_recipe_on_mock tcp_mock_with_real_service \
  syscall_fault_on_mock; do
  expect_out out "^--- PASS: test_$t "
done
expect_out out '^9 passed, 0 failed$'

# the TLS mocks' CA is written under $TMPDIR (outside the spec's directory:
# services see it through its own bind), and gone with the run
ca_tmp=$(mktemp -d /tmp/fbtest-ca.XXXXXX)
TMPDIR=$ca_tmp run_fb test mocks-tls.star
expect_rc 0 "TLS mocks: steps and real clients verify the run's CA"
expect_out out "^--- PASS: test_tls_mock "
expect_out err "^ca_path $ca_tmp/faultbox-ca-[0-9]+/ca.pem$"
if [ -z "$(ls -A "$ca_tmp")" ]; then ok "the mock CA is removed after the run"; else fail "left in \$TMPDIR: $(ls "$ca_tmp")"; fi
rm -rf "$ca_tmp"

run_fb test mongodb.star
expect_rc 0 "mongodb steps against the mongodb mock, rules by command and collection"
for t in steps error_rule_fails_the_matching_command error_default_message_and_method_keyword \
  delay_rule_holds_the_command drop_rule_closes_the_connection every_command_fails_not_the_handshake \
  auth_failed_rejects_the_sasl_handshake; do
  expect_out out "^--- PASS: test_$t "
done

run_fb test kafka.star -j 2
expect_rc 0 "kafka mock reached by librdkafka steps and kcat, faulted through the proxy"
for t in publish_and_consume real_client_through_the_proxy delay_holds_the_produce drop_swallows_the_produce \
  error_closes_the_connection group_consumer_reads_a_publish; do
  expect_out out "^--- PASS: test_$t "
done
finish
