/* The reference entry of every builtin, module function and step method a
 * spec can call: one entry each, in reference order. `faultbox help
 * builtins --check` (tests/integration/test_docs.sh) fails on a name the
 * interpreter registers without an entry here; regenerate
 * doc/spec-language.md with `faultbox help builtins --markdown`. */
#include "faultbox/doc.h"

const char *const fb_doc_sections[] = {
  "Topology",
  "Syscall faults",
  "Protocol faults (the proxy)",
  "Network faults",
  "Mocks",
  "Steps and assertions",
  "Domain model",
  "Oracles",
  "Events, traces and monitors",
  "Time and waiting",
  "Data",
  "Lifecycle and determinism",
  "Step methods",
  NULL,
};

const char fb_doc_prelude[] = "db = service(\"db\", BIN + \"/mock-db\",\n"
                              "    interface(\"main\", \"tcp\", 5432),\n"
                              "    healthcheck = tcp(\"localhost:5432\"),\n"
                              ")\n"
                              "api = service(\"api\", BIN + \"/mock-api\",\n"
                              "    interface(\"public\", \"http\", 8080),\n"
                              "    env = {\"PORT\": \"8080\", \"DB_ADDR\": db.main.addr},\n"
                              "    depends_on = [db],\n"
                              "    healthcheck = http(\"localhost:8080/health\"),\n"
                              ")\n";

static const fb_doc docs[] = {
  {
    .name = "service",
    .section = "Topology",
    .signature = "service(name, binary=None, *interfaces, args=[], env={}, depends_on=[], healthcheck=None, ops={}, image=None, build=None, observe=[], seccomp=None, memory_max=None, pids_max=None, caps=[], drop_caps=[], rootfs=None, volumes={}, nondeterministic_ok=False, user=None, may_exit=False)",
    .summary = "Declares a service: a binary (or container image) started in its own sandbox on the lab network, reachable by the other services under its name.",
    .args = "name (str): the service's name, its hostname in the lab (letters, digits, -, _)\n"
      "binary (str, default None): the program, relative to the spec's directory; or image=\n"
      "*interfaces (interface): what it listens on; the first is its default\n"
      "args (list of str, default []): its arguments\n"
      "env (dict str->str, default {}): its environment\n"
      "depends_on (list of service, default []): started and healthy before it\n"
      "healthcheck (tcp()/http()/ready(), default None): polled until it passes before tests run\n"
      "ops (dict str->op(), default {}): named groups of syscalls a fault may name as a keyword\n"
      "image (str, default None): docker-archive:F, oci:DIR[:TAG], oci-archive:F[:TAG] or a local podman/docker name\n"
      "observe (list, default []): observe.stdout()/observe.stderr() turning output lines into events\n"
      "memory_max, pids_max (int, default None): cgroup limits\n"
      "caps, drop_caps (list of str, default []): capabilities added to or dropped from the container default\n"
      "rootfs (str, default None): a directory used as its root under a per-test overlay\n"
      "volumes (dict host->path, default {}): read-only binds (\":rw\" to write)\n"
      "nondeterministic_ok (bool or list, default False): exempt from determinism()\n"
      "user (str, default None): run as this user\n"
      "may_exit (bool, default False): exiting on its own does not fail the test\n"
      "build (default None): not supported: build and save the image yourself, then image=\n"
      "seccomp (default None): not supported yet (a load error when given)",
    .returns = "a service value: svc.NAME is its interface NAME; svc.get(...), svc.send(...) call its default interface",
    .events = "service_started, service_ready, service_exited (lifecycle.*)",
    .errors = "a duplicate name, a missing or unreadable binary, an unknown keyword (with a suggestion), a dependency cycle: load errors naming file:line:col",
    .example = "cache = service(\"cache\", BIN + \"/mock-db\",\n"
      "    interface(\"main\", \"tcp\", 6379),\n"
      "    env = {\"MODE\": \"cache\"},\n"
      "    healthcheck = tcp(\"localhost:6379\"),\n"
      ")",
  },
  {
    .name = "interface",
    .section = "Topology",
    .signature = "interface(name, protocol, port, spec=None, tls=False)",
    .summary = "An endpoint of a service: the protocol its steps and proxy speak, and its port.",
    .args = "name (str): svc.NAME reaches it\n"
      "protocol (str): tcp, http, redis, postgres, mysql, memcached, http2, grpc, nats, udp, mongodb, kafka, amqp or clickhouse\n"
      "port (int): 1-65535",
    .returns = "an interface declaration for service(); on the service, svc.NAME has .addr (\"db:5432\"), .host, .port, .proxy_addr and the protocol's step methods",
    .errors = "an unknown protocol (listing the known ones), a port out of range; tls= is not supported yet",
    .example = "cache = service(\"cache\", BIN + \"/mock-db\", interface(\"main\", \"tcp\", 6379))",
  },
  {
    .name = "tcp",
    .section = "Topology",
    .signature = "tcp(addr, timeout=\"30s\")",
    .summary = "Healthcheck: a TCP connect to addr succeeds.",
    .args = "addr (str): host:port, localhost is the service itself\n"
      "timeout (duration str, default \"30s\"): give up after",
    .returns = "a healthcheck for service(healthcheck=)",
    .events = "healthcheck_failed when it never passes (the test fails)",
    .errors = "a malformed address or duration",
    .example = "h = tcp(\"localhost:5432\", timeout = \"5s\")",
  },
  {
    .name = "http",
    .section = "Topology",
    .signature = "http(url, timeout=\"30s\")",
    .summary = "Healthcheck: an HTTP GET of url answers 2xx.",
    .args = "url (str): host:port/path\n"
      "timeout (duration str, default \"30s\")",
    .returns = "a healthcheck",
    .events = "healthcheck_failed when it never passes",
    .errors = "a malformed url or duration",
    .example = "h = http(\"localhost:8080/health\")",
  },
  {
    .name = "kafka_ready",
    .section = "Topology",
    .signature = "kafka_ready(addr, timeout=\"120s\")",
    .summary = "Healthcheck: the Kafka broker at addr (kafka:// optional) answers a Metadata request. Faultbox's also creates a topic __faultbox_ready__; ours does not.",
    .args = "addr (str): host:port, localhost is the service itself\n"
      "timeout (duration str, default \"120s\")",
    .returns = "a healthcheck for service(healthcheck=)",
    .events = "healthcheck_failed when it never passes",
    .errors = "a malformed address or duration",
    .example = "h = kafka_ready(\"localhost:9092\", timeout = \"30s\")",
  },
  {
    .name = "ready",
    .section = "Topology",
    .signature = "ready(timeout=\"30s\")",
    .summary = "Healthcheck in the protocol of the service's default interface: redis AUTH + PING, postgres SELECT 1, http GET /, else a TCP connect; credentials from the service's env.",
    .args = "timeout (duration str, default \"30s\")",
    .returns = "a healthcheck",
    .events = "healthcheck_failed when it never passes",
    .errors = "a malformed duration",
    .example = "h = ready(timeout = \"10s\")",
  },
  {
    .name = "op",
    .section = "Topology",
    .signature = "op(syscalls, path=None)",
    .summary = "A named operation: syscalls (and a path glob) that fault() can name by the op's name.",
    .args = "syscalls (list of str): syscall names or families (write = write, writev, pwrite64 ...)\n"
      "path (str glob, default None): only calls on matching paths",
    .returns = "an op for service(ops=)",
    .errors = "an unknown syscall (with a suggestion)",
    .example = "wal = service(\"wal\", BIN + \"/mock-db\", interface(\"main\", \"tcp\", 5433),\n"
      "    ops = {\"persist\": op(syscalls = [\"write\", \"fsync\"], path = \"/tmp/*.wal\")})",
  },
  {
    .name = "deny",
    .section = "Syscall faults",
    .signature = "deny(errno, probability=\"100%\", label=None, max_fires=None, mode=None, to=None)",
    .summary = "A syscall fault: the call fails with errno.",
    .args = "errno (str): ENOSPC, EIO, ECONNREFUSED ...\n"
      "probability (str or float, default \"100%\"): decided by hash(seed, service, rule, occurrence), so a seed replays\n"
      "label (str, default None): shown in reports and events\n"
      "max_fires (int, default None): stop after this many\n"
      "to (service or \"host:port\", default None): only connects/sends to that destination",
    .returns = "a fault for fault(), fault_start(), fault_assumption()",
    .events = "syscall events with decision \"deny\"",
    .errors = "an unknown errno (with a suggestion), a probability out of 0-100 %",
    .example = "disk_full = fault_assumption(\"disk_full\", target = db, write = deny(\"ENOSPC\", label = \"disk full\"))",
  },
  {
    .name = "delay",
    .section = "Syscall faults",
    .signature = "delay(duration, probability=\"100%\", label=None, max_fires=None) | delay(delay=DURATION, ...)",
    .summary = "A syscall fault: the call waits duration, then runs. Given delay= (no positional) it is a proxy rule instead: each matching message waits.",
    .args = "duration (duration str): \"200ms\", \"1.5s\"\n"
      "probability, label, max_fires: as deny()",
    .returns = "a fault (syscall) or a proxy rule (delay=)",
    .events = "syscall events with decision \"delay\"; proxy events with action delay",
    .errors = "a malformed duration",
    .example = "slow = fault_assumption(\"slow\", target = api, connect = delay(\"500ms\"))",
  },
  {
    .name = "allow",
    .section = "Syscall faults",
    .signature = "allow(label=None)",
    .summary = "A rule that lets the call through: it overrides a broader rule in the same scope.",
    .args = "label (str, default None)",
    .returns = "a fault",
    .example = "ok = fault_assumption(\"ok\", target = db, write = allow())",
  },
  {
    .name = "fault",
    .section = "Syscall faults",
    .signature = "fault(target, run=None, **syscall_faults) | fault(svc.iface, *rules, run=None)",
    .summary = "Applies faults to a service's syscalls (write=deny(...), or an op's name) or protocol rules to an interface, while run() runs; returns run's result.",
    .args = "target (service or interface)\n"
      "run (function, default None): the faults hold while it runs, then are removed\n"
      "**syscall_faults: KEYWORD=deny()/delay()/allow(); a keyword is a syscall family or one of the service's ops",
    .returns = "what run returns",
    .events = "fault_applied, fault_removed; each decision a syscall or proxy event",
    .errors = "called while loading; an unknown keyword or syscall; a rule the interface's protocol cannot match",
    .example = "def test_disk_full():\n"
      "    def write_one():\n"
      "        return api.post(path = \"/data/k\", body = \"v\")\n"
      "    resp = fault(db, write = deny(\"ENOSPC\"), run = write_one)\n"
      "    assert_true(resp.status >= 500)",
  },
  {
    .name = "fault_all",
    .section = "Syscall faults",
    .signature = "fault_all(services, run, **syscall_faults)",
    .summary = "The same syscall faults on every service of the list, in one scope, removed when run returns.",
    .args = "services (list of service)\n"
      "run (function)\n"
      "**syscall_faults: as fault()",
    .returns = "what run returns",
    .events = "fault_applied, fault_removed",
    .errors = "called while loading",
    .example = "def test_everyone_slow():\n"
      "    fault_all([db, api], connect = delay(\"100ms\"), run = lambda: api.get(path = \"/health\"))",
  },
  {
    .name = "fault_start",
    .section = "Syscall faults",
    .signature = "fault_start(target, **syscall_faults) | fault_start(svc.iface, *rules)",
    .summary = "Installs faults until fault_stop(target) or the end of the test.",
    .args = "target (service or interface)\n"
      "**syscall_faults or *rules: as fault()",
    .returns = "None",
    .events = "fault_applied",
    .errors = "called while loading",
    .example = "def test_flaky():\n"
      "    fault_start(db, write = deny(\"EIO\", probability = \"50%\"))\n"
      "    api.post(path = \"/data/k\", body = \"v\")\n"
      "    fault_stop(db)",
  },
  {
    .name = "fault_stop",
    .section = "Syscall faults",
    .signature = "fault_stop(service)",
    .summary = "Removes what fault_start(target) installed.",
    .args = "service (service or interface): what fault_start() named",
    .returns = "None",
    .events = "fault_removed",
    .errors = "called while loading",
    .example = "def test_stop():\n"
      "    fault_start(db, write = deny(\"EIO\"))\n"
      "    fault_stop(db)",
  },
  {
    .name = "response",
    .section = "Protocol faults (the proxy)",
    .signature = "response(status=200, body=\"\", **matchers, probability=\"100%\")",
    .summary = "Proxy rule: a matching request gets this reply instead of reaching the service.",
    .args = "matchers (str globs): method=/op=, path=, header=\"Name: glob\" (http); command=, key= (redis); query= (postgres, canonical SQL)\n"
      "probability (str or float, default \"100%\"): decided by the seed\n"
      "status (int, default 200), body (str, default \"\")",
    .returns = "a rule for fault(svc.iface, ...), fault_start, fault_assumption(rules=)",
    .events = "proxy events (action response)",
    .errors = "positional arguments; an unknown matcher",
    .example = "fake = response(method = \"GET\", path = \"/data/*\", status = 200, body = \"cached\")",
  },
  {
    .name = "error",
    .section = "Protocol faults (the proxy)",
    .signature = "error(status=None, message=None, **matchers, probability=\"100%\")",
    .summary = "Proxy rule: a matching request gets the protocol's error: an http status, a redis -ERR, a postgres ErrorResponse with SQLSTATE status=.",
    .args = "matchers (str globs): method=/op=, path=, header=\"Name: glob\" (http); command=, key= (redis); query= (postgres, canonical SQL)\n"
      "probability (str or float, default \"100%\"): decided by the seed\n"
      "status (int or str): http code, or postgres SQLSTATE (\"40001\")\n"
      "message (str): the error text",
    .returns = "a rule",
    .events = "proxy events (action error)",
    .errors = "positional arguments; an unknown matcher",
    .example = "def test_api_503():\n"
      "    fault(api.public, error(method = \"POST\", path = \"/data/*\", status = 503),\n"
      "          run = lambda: api.post(path = \"/data/k\", body = \"v\"))",
  },
  {
    .name = "drop",
    .section = "Protocol faults (the proxy)",
    .signature = "drop(**matchers, probability=\"100%\")",
    .summary = "Proxy rule: a matching request is swallowed; the client's connection is closed without a reply.",
    .args = "matchers (str globs): method=/op=, path=, header=\"Name: glob\" (http); command=, key= (redis); query= (postgres, canonical SQL)\n"
      "probability (str or float, default \"100%\"): decided by the seed",
    .returns = "a rule",
    .events = "proxy events (action drop)",
    .errors = "positional arguments",
    .example = "lost = drop(command = \"SET\")",
  },
  {
    .name = "duplicate",
    .section = "Protocol faults (the proxy)",
    .signature = "duplicate(**matchers, probability=\"100%\")",
    .summary = "Proxy rule: a matching request is sent to the service twice; the client gets the first reply.",
    .args = "matchers (str globs): method=/op=, path=, header=\"Name: glob\" (http); command=, key= (redis); query= (postgres, canonical SQL)\n"
      "probability (str or float, default \"100%\"): decided by the seed",
    .returns = "a rule",
    .events = "proxy events (action duplicate)",
    .errors = "positional arguments",
    .example = "twice = duplicate(method = \"POST\")",
  },
  {
    .name = "partition",
    .section = "Network faults",
    .signature = "partition(a, b, run, direction=\"both\")",
    .summary = "Drops every packet between two services (established connections too) while run() runs; healed after.",
    .args = "a, b (service)\n"
      "run (function)\n"
      "direction (str, default \"both\"): both, a_to_b or b_to_a",
    .returns = "what run returns",
    .events = "partition_started, partition_healed",
    .errors = "called while loading; a service with itself; an unknown direction",
    .example = "def test_split():\n"
      "    def call():\n"
      "        return api.get(path = \"/data/k\")\n"
      "    resp = partition(api, db, run = call)\n"
      "    assert_true(resp.status >= 500)",
  },
  {
    .name = "partition_start",
    .section = "Network faults",
    .signature = "partition_start(a, b, direction=\"both\")",
    .summary = "Partitions a and b until partition_stop(a, b) or the end of the test.",
    .args = "a, b (service)\n"
      "direction (str, default \"both\")",
    .returns = "None",
    .events = "partition_started",
    .errors = "called while loading",
    .example = "def test_split_open():\n"
      "    partition_start(api, db)\n"
      "    partition_stop(api, db)",
  },
  {
    .name = "partition_stop",
    .section = "Network faults",
    .signature = "partition_stop(a, b)",
    .summary = "Heals a partition_start().",
    .args = "a, b (service)",
    .returns = "None",
    .events = "partition_healed",
    .errors = "no such partition open",
    .example = "def test_heal():\n"
      "    partition_start(api, db)\n"
      "    partition_stop(api, db)",
  },
  {
    .name = "link_fault",
    .section = "Network faults",
    .signature = "link_fault(a, b, run, delay=None, jitter=None, loss=None, rate=None, duplicate=None, reorder=None, corrupt=None, direction=\"both\")",
    .summary = "Degrades the link between two services (netem: delay, jitter, loss incl. \"gemodel P R 1-H 1-K\", duplicate, reorder, corrupt; htb/netem: rate) while run() runs.",
    .args = "a, b (service)\n"
      "run (function)\n"
      "delay, jitter (duration str)\n"
      "loss, duplicate, reorder, corrupt (percent str)\n"
      "rate (str, e.g. \"1mbit\")\n"
      "direction (str, default \"both\")",
    .returns = "what run returns",
    .events = "link_fault_started, link_fault_removed",
    .errors = "called while loading; delay/jitter/loss on a kernel without sch_netem (the spec fails saying so)",
    .example = "def test_slow_link():\n"
      "    link_fault(api, db, delay = \"100ms\", jitter = \"10ms\", run = lambda: api.get(path = \"/health\"))",
  },
  {
    .name = "link_fault_start",
    .section = "Network faults",
    .signature = "link_fault_start(a, b, delay=None, ..., direction=\"both\")",
    .summary = "link_fault() until link_fault_stop(a, b) or the end of the test.",
    .args = "as link_fault(), without run",
    .returns = "None",
    .events = "link_fault_started",
    .errors = "as link_fault()",
    .example = "def test_lossy():\n"
      "    link_fault_start(api, db, loss = \"5%\")\n"
      "    link_fault_stop(api, db)",
  },
  {
    .name = "link_fault_stop",
    .section = "Network faults",
    .signature = "link_fault_stop(a, b)",
    .summary = "Removes a link_fault_start().",
    .args = "a, b (service)",
    .returns = "None",
    .events = "link_fault_removed",
    .errors = "no such link fault open",
    .example = "def test_throttled():\n"
      "    link_fault_start(api, db, rate = \"1mbit\")\n"
      "    link_fault_stop(api, db)",
  },
  {
    .name = "mock_service",
    .section = "Mocks",
    .signature = "mock_service(name, *interfaces, routes={}, default=None, config={}, depends_on=[], tls=None, openapi=None, examples=None, overrides=None, validate=None, descriptors=None)",
    .summary = "A service served by faultbox itself from a route table: a real process in its own sandbox, reached by name, faults apply to it.",
    .args = "name (str)\n"
      "*interfaces (interface): http, http2, grpc, redis, tcp or udp\n"
      "routes (dict \"METHOD /glob\" -> response): http and http2 routes; grpc: method paths (\"/pkg.Svc/*\", \"/**\"); tcp: line prefixes; udp: byte prefixes\n"
      "default (response, default None): otherwise (http: 404)\n"
      "config (dict): redis {\"state\": {...}} seed\n"
      "depends_on (list of service)\n"
      "descriptors (str, default None): grpc: the path (relative to the spec) of a FileDescriptorSet "
      "(protoc --include_imports --descriptor_set_out=FILE); grpc_typed_response bodies are encoded as the method's output message\n"
      "tls (bool, default None): http, http2 and grpc: serve TLS (http2 and grpc: h2 by ALPN) with a certificate for "
      "localhost, the mock's name, 127.0.0.1 and ::1 signed by the run's ECDSA P-256 CA, whose PEM file is the mock's "
      ".ca_path ($TMPDIR/faultbox-ca-<ns>/ca.pem, bound into every service, removed after the run); the test's steps "
      "to the mock verify its certificate against it; protocol faults (fault() rules) on it are not supported yet\n"
      "openapi, examples, overrides, validate: Faultbox's; not supported yet (a load error when given)",
    .returns = "a service value; with tls=True its .ca_path is the CA's file (give it to a service: "
      "env = {\"SSL_CERT_FILE\": mock.ca_path})",
    .events = "mock.<op> events per request (mock.GET /path ...); mock.tls_error when a client's TLS handshake fails",
    .errors = "a protocol without a mock; tls= that is not a bool, or tls=True on an interface other than http, http2 "
      "or grpc; openapi=, overrides= (not supported yet); descriptors= that is not a "
      "FileDescriptorSet or not on one grpc interface; a typed route without descriptors=, or whose method the set lacks "
      "or whose body does not fit the method's output type",
    .example = "users = mock_service(\"users\", interface(\"main\", \"http\", 9000),\n"
      "    routes = {\"GET /users/*\": json_response(body = {\"id\": 1}),\n"
      "              \"POST /pay\": status_only(503)})",
  },
  {
    .name = "json_response",
    .section = "Mocks",
    .signature = "json_response(status=200, body=None, headers={})",
    .summary = "A mock reply: body encoded as JSON.",
    .args = "status (int, default 200)\n"
      "body (any JSON value)\n"
      "headers (dict str->str)",
    .returns = "a mock response",
    .errors = "a body JSON cannot hold",
    .example = "r = json_response(body = {\"ok\": True})",
  },
  {
    .name = "text_response",
    .section = "Mocks",
    .signature = "text_response(status=200, body=\"\", headers={})",
    .summary = "A mock reply: a text body.",
    .args = "status (int, default 200)\n"
      "body (str)\n"
      "headers (dict)",
    .returns = "a mock response",
    .example = "r = text_response(body = \"hello\")",
  },
  {
    .name = "bytes_response",
    .section = "Mocks",
    .signature = "bytes_response(status=200, data=\"\")",
    .summary = "A mock reply: raw bytes (the tcp mock's reply line).",
    .args = "status (int, default 200)\n"
      "data (str or bytes)",
    .returns = "a mock response",
    .example = "r = bytes_response(data = \"PONG\\n\")",
  },
  {
    .name = "status_only",
    .section = "Mocks",
    .signature = "status_only(code)",
    .summary = "A mock reply: only a status.",
    .args = "code (int)",
    .returns = "a mock response",
    .example = "r = status_only(503)",
  },
  {
    .name = "redirect",
    .section = "Mocks",
    .signature = "redirect(location, status=302)",
    .summary = "A mock reply: a redirect.",
    .args = "location (str)\n"
      "status (int, default 302)",
    .returns = "a mock response",
    .example = "r = redirect(\"/elsewhere\")",
  },
  {
    .name = "dynamic",
    .section = "Mocks",
    .signature = "dynamic(fn)",
    .summary = "A mock reply computed per request: fn(request) returns a response; request has method, path, headers, query, body.",
    .args = "fn (function)",
    .returns = "a mock response",
    .events = "mock.* events; a failing fn is a dynamic_error event",
    .example = "def echo(req):\n"
      "    return text_response(body = req[\"path\"])\n"
      "r = dynamic(echo)",
  },
  {
    .name = "grpc_response",
    .section = "Mocks",
    .signature = "grpc_response(body={})",
    .summary = "A grpc mock reply: body encoded as a google.protobuf.Struct (as Faultbox ships it without a .proto); the call ends with status OK.",
    .args = "body (dict, default {}): the Struct's fields (JSON values)",
    .returns = "a mock response for a grpc mock_service route",
    .events = "mock.* events per call",
    .errors = "a body a Struct cannot hold (not a dict, or a value JSON cannot hold)",
    .example = "flags = mock_service(\"flags\", interface(\"main\", \"grpc\", 50051),\n"
      "    routes = {\"/flags.v1.Flags/Get\": grpc_response(body = {\"enabled\": True, \"variant\": \"B\"})})",
  },
  {
    .name = "grpc_raw_response",
    .section = "Mocks",
    .signature = "grpc_raw_response(body)",
    .summary = "A grpc mock reply: the response message's wire bytes exactly as given; the call ends with status OK.",
    .args = "body (bytes or str): the encoded message",
    .returns = "a mock response for a grpc mock_service route",
    .events = "mock.* events per call",
    .errors = "a body that is neither bytes nor a string",
    .example = "flags = mock_service(\"flags\", interface(\"main\", \"grpc\", 50051),\n"
      "    routes = {\"/flags.v1.Flags/Raw\": grpc_raw_response(body = b\"\\x08\\x2a\")})",
  },
  {
    .name = "grpc_error",
    .section = "Mocks",
    .signature = "grpc_error(code, message=\"\")",
    .summary = "A grpc mock reply: the call ends with this gRPC status and message.",
    .args = "code (str or int): a status name (\"UNAVAILABLE\", \"NOT_FOUND\", ...) or its number 0-16\n"
      "message (str, default \"\"): the grpc-message",
    .returns = "a mock response for a grpc mock_service route",
    .events = "mock.* events per call",
    .errors = "an unknown status name or a number outside 0-16 (listing the names)",
    .example = "flags = mock_service(\"flags\", interface(\"main\", \"grpc\", 50051),\n"
      "    routes = {\"/flags.v1.Flags/Fail\": grpc_error(code = \"UNAVAILABLE\", message = \"backend down\")})",
  },
  {
    .name = "grpc_typed_response",
    .section = "Mocks",
    .signature = "grpc_typed_response(body={})",
    .summary = "A grpc mock reply encoded as the called method's output message of mock_service(descriptors=), "
      "as protojson reads JSON: proto or json field names, enums by name, 64-bit integers as numbers or strings, "
      "bytes as base64; the call ends with status OK. An exact route's body is checked while the spec loads; "
      "a glob's per call (INTERNAL \"mock: encode response for METHOD: ...\", a mock.encode_error event, or "
      "mock.resolve_error for a method the set lacks).",
    .args = "body (dict, default {}): the message's fields",
    .returns = "a mock response for a grpc mock_service route with descriptors=",
    .events = "mock.ok, mock.encode_error, mock.resolve_error per call",
    .errors = "a body JSON cannot hold; at mock_service(): no descriptors=, an unknown method or a field that does not fit",
    .example = "def flags_mock(pb):\n"
      "    return mock_service(\"flags\", interface(\"main\", \"grpc\", 50051), descriptors = pb,\n"
      "        routes = {\"/flags.v1.Flags/Get\": grpc_typed_response(body = {\"name\": \"rollout\", \"enabled\": True})})",
  },
  {
    .name = "client",
    .section = "Steps and assertions",
    .signature = "client(name, target, descriptors=None, grpc_service=None, openapi=None, base_path=None, headers=None, "
      "before=None, rename=None, validate=None, timeout=None)",
    .summary = "A named, typed caller of a grpc interface (Faultbox's RFC-055 clients): its operations are the unary "
      "methods of one service of a FileDescriptorSet, in snake_case (GetOrder: get_order; .operations lists them). "
      "An operation takes the request message's fields as keyword arguments (their names in snake_case; values in "
      "protojson's forms, as grpc_typed_response bodies), runs the interface's call step with the encoded message, proxy rules applying as to grpc.call, and "
      "returns its Response (with .client and .operation): .body the reply decoded as the method's output message (protojson, unpopulated fields "
      "included), .data that JSON's value; a gRPC error is .ok False, .status its code, .error grpc.call's words.",
    .args = "name (str): the client's name, not a service's nor \"test\"\n"
      "target (interface): a grpc interface, e.g. flags.main\n"
      "descriptors (str): the path (relative to the spec) of a FileDescriptorSet (protoc --include_imports "
      "--descriptor_set_out=FILE)\n"
      "grpc_service (str, default None): the service (\"pkg.Service\") when the set declares several\n"
      "openapi, base_path, headers, before, rename, validate, timeout: Faultbox's; not supported yet (a load error when "
      "given)",
    .returns = "a client value: .name, .target, .operations, one callable per operation, and "
      ".call(name, params={}) calling one by its method's path (\"/pkg.Svc/Method\") or name (the only way to "
      "an operation named like an attribute: name, target, operations, call)",
    .events = "step_send and step_recv per call, as grpc.call's, with client and operation fields",
    .errors = "a target that is not a grpc interface; a name a service has; no descriptors=, or one that is not a "
      "FileDescriptorSet; several services and no grpc_service=, or one the set lacks; an operation the client lacks "
      "(did you mean ...); a positional argument, body=, or a field the request message lacks or cannot hold; a reply "
      "that is not the output message",
    .example = "def flag_client(flags, pb):\n"
      "    fc = client(\"flag-reader\", target = flags.main, descriptors = pb)\n"
      "    return fc.get(name = \"rollout\").data",
  },
  {
    .name = "assert_true",
    .section = "Steps and assertions",
    .signature = "assert_true(condition, msg=None)",
    .summary = "Fails the test unless condition is true.",
    .args = "condition (any, truth value)\n"
      "msg (str, default None)",
    .returns = "None",
    .errors = "the failure: msg, or \"assert_true: got False\", naming file:line",
    .example = "def test_ok():\n"
      "    assert_true(api.get(path = \"/health\").ok, \"api is down\")",
  },
  {
    .name = "assert_eq",
    .section = "Steps and assertions",
    .signature = "assert_eq(actual, expected, msg=None)",
    .summary = "Fails the test unless actual == expected.",
    .args = "actual, expected (any)\n"
      "msg (str)",
    .returns = "None",
    .errors = "got X, want Y, naming file:line",
    .example = "def test_ping():\n"
      "    assert_eq(db.main.send(data = \"PING\"), \"PONG\")",
  },
  {
    .name = "assert_ne",
    .section = "Steps and assertions",
    .signature = "assert_ne(actual, expected, msg=None)",
    .summary = "Fails the test when actual == expected.",
    .args = "actual, expected (any)\n"
      "msg (str)",
    .returns = "None",
    .errors = "the failure",
    .example = "def test_not_empty():\n"
      "    assert_ne(api.get(path = \"/health\").body, \"\")",
  },
  {
    .name = "parallel",
    .section = "Steps and assertions",
    .signature = "parallel(*fns)",
    .summary = "Runs the functions at once, each on its own thread in the lab; returns their results in argument order. Under --explore the services' calls are held and released in one order per run.",
    .args = "*fns (function)",
    .returns = "list of results",
    .events = "step events of each branch",
    .errors = "a branch that fails fails the call",
    .example = "def test_race():\n"
      "    a, b = parallel(lambda: api.post(path = \"/data/k\", body = \"1\"),\n"
      "                    lambda: api.post(path = \"/data/k\", body = \"2\"))",
  },
  {
    .name = "nondet",
    .section = "Steps and assertions",
    .signature = "nondet(*services)",
    .summary = "Services whose interleaving --explore does not control: parallel() does not hold their calls.",
    .args = "*services (service)",
    .returns = "None",
    .example = "def test_n():\n"
      "    nondet(db)",
  },
  {
    .name = "choose",
    .section = "Steps and assertions",
    .signature = "choose(options) / choose(name, options)",
    .summary = "Faultbox's non-deterministic choice, single-leaf: returns the first option (Faultbox fans a test out into one leaf per named choice; we run the one leaf of first options, no fan-out).",
    .args = "name (str, optional, positional): the choice's name\n"
      "options (list, positional): non-empty",
    .returns = "options[0]",
    .errors = "a keyword argument, not 1 or 2 arguments, a name that is not a string, options that are not a list or are empty",
    .example = "mode = choose(\"mode\", [\"fast\", \"safe\"])",
  },
  {
    .name = "halt",
    .section = "Steps and assertions",
    .signature = "halt(reason=\"\")",
    .summary = "Stops the test body: the test is HALTED (counted as \", H halted\"), not failed. A false test(assume=[...]) predicate halts the same way.",
    .args = "reason (str, default \"\", positional): shown as \"halt: REASON\"",
    .returns = "never returns",
    .errors = "called at the top level (outside a test body); a keyword argument, more than one argument, a reason that is not a string",
    .example = "def test_only_when_up():\n"
      "    if not api.get(path = \"/health\").ok:\n"
      "        halt(\"api not up\")",
  },
  {
    .name = "assume",
    .section = "Steps and assertions",
    .signature = "assume(predicate)",
    .summary = "At the top level: checks predicate while loading; false fails the load. A callable is called with the choices (a dict, empty: one leaf of first options).",
    .args = "predicate (function(choices) or bool, positional)",
    .returns = "None",
    .errors = "not exactly one positional argument, a predicate neither callable nor bool; false: \"assume(NAME) violated at spec load\"; one that raises names its error",
    .example = "mode = choose(\"mode\", [\"fast\", \"safe\"])\n"
      "assume(lambda choices: mode in [\"fast\", \"safe\"])",
  },
  {
    .name = "scenario",
    .section = "Domain model",
    .signature = "scenario(fn)",
    .summary = "Registers the probe fn as test_<fn>; fault_scenario and fault_matrix run it under faults.",
    .args = "fn (function): returns what it observed",
    .returns = "None",
    .errors = "not a function",
    .example = "def health():\n"
      "    return api.get(path = \"/health\")\n"
      "scenario(health)",
  },
  {
    .name = "fault_assumption",
    .section = "Domain model",
    .signature = "fault_assumption(name, target=None, description=\"\", monitors=[], faults=[], rules=[], crash=None, restart=None, freeze=None, **syscall_faults)",
    .summary = "Names a failure mode: syscall faults on target, protocol rules (target=svc.iface, rules=[...]), lifecycle actions, or a composition of other assumptions (later wins per service and syscall).",
    .args = "name (str)\n"
      "target (service or interface)\n"
      "description (str)\n"
      "monitors (list of monitor): active in every test using it\n"
      "faults (list of fault_assumption): composed\n"
      "rules (list of proxy rules): for target=svc.iface\n"
      "crash, restart, freeze: kill/restart/pause target around the scenario\n"
      "**syscall_faults: KEYWORD=deny()/delay()",
    .returns = "a fault assumption",
    .errors = "an unknown keyword or syscall; no target with faults",
    .example = "db_down = fault_assumption(\"db_down\", target = api, connect = deny(\"ECONNREFUSED\"))",
  },
  {
    .name = "fault_scenario",
    .section = "Domain model",
    .signature = "fault_scenario(name, scenario, faults=None, expect=None, monitors=[], timeout=\"30s\")",
    .summary = "A test: the scenario under the faults, judged by expect(result).",
    .args = "name (str): test_<name>\n"
      "scenario (function)\n"
      "faults (fault_assumption or list)\n"
      "expect (oracle, default None: pass when the scenario returns)\n"
      "monitors (list)\n"
      "timeout (duration str)",
    .returns = "None",
    .events = "fault_applied/removed around the scenario",
    .errors = "not callable; a duplicate test name",
    .example = "def health():\n"
      "    return api.get(path = \"/health\")\n"
      "db_down = fault_assumption(\"db_down\", target = api, connect = deny(\"ECONNREFUSED\"))\n"
      "fault_scenario(\"health_db_down\", scenario = health, faults = db_down, expect = expect_success())",
  },
  {
    .name = "fault_matrix",
    .section = "Domain model",
    .signature = "fault_matrix(scenarios, faults, default_expect=None, overrides={}, monitors=[], exclude=[], require_faults_fire=False)",
    .summary = "One test per (scenario, fault) cell, test_matrix_<scenario>_<fault>, each in a fresh lab, printed as PASS lines and the matrix table.",
    .args = "scenarios (list of function)\n"
      "faults (list of fault_assumption)\n"
      "default_expect (oracle): for cells without an override\n"
      "overrides (dict (scenario, fault) -> oracle)\n"
      "monitors (list)\n"
      "exclude (list of (scenario, fault))\n"
      "require_faults_fire (bool): a passing cell whose faults never fired fails",
    .returns = "None",
    .errors = "a key naming no scenario or fault; a duplicate cell",
    .example = "def store():\n"
      "    resp = api.post(path = \"/data/k\", body = \"v\")\n"
      "    return {\"status_code\": resp.status, \"duration_ms\": resp.duration_ms}\n"
      "db_down = fault_assumption(\"db_down\", target = api, connect = deny(\"ECONNREFUSED\"))\n"
      "fault_matrix(scenarios = [store], faults = [db_down],\n"
      "    overrides = {(store, db_down): expect_error_within(ms = 2000)})",
  },
  {
    .name = "expect_success",
    .section = "Oracles",
    .signature = "expect_success() -> oracle(result)",
    .summary = "Oracle: the scenario's result is a success (ok / 2xx, no error).",
    .returns = "an oracle (result -> None or failure)",
    .errors = "the failure names the result",
    .example = "o = expect_success()",
  },
  {
    .name = "expect_error_within",
    .section = "Oracles",
    .signature = "expect_error_within(ms) -> oracle(result)",
    .summary = "Oracle: the scenario failed (an error reply or exception) within ms milliseconds.",
    .args = "ms (int)",
    .returns = "an oracle",
    .errors = "the failure",
    .example = "o = expect_error_within(ms = 500)",
  },
  {
    .name = "expect_hang",
    .section = "Oracles",
    .signature = "expect_hang() -> oracle(result)",
    .summary = "Oracle: the scenario did not return before its timeout.",
    .returns = "an oracle",
    .errors = "the failure",
    .example = "o = expect_hang()",
  },
  {
    .name = "events",
    .section = "Events, traces and monitors",
    .signature = "events(where=None, **filters)",
    .summary = "The test's event log so far, filtered: service=, type=, syscall=, decision=, path= ... (glob values), where=fn(event).",
    .args = "**filters (str globs on event fields)\n"
      "where (function, default None)",
    .returns = "list of events (.seq .service .type .event_type .timestamp .fields, and each field as an attribute)",
    .errors = "called while loading",
    .example = "def test_denied():\n"
      "    fault(db, write = deny(\"EIO\"), run = lambda: api.post(path = \"/data/k\", body = \"v\"))\n"
      "    assert_true(len(events(service = \"db\", decision = \"deny*\")) > 0)",
  },
  {
    .name = "assert_eventually",
    .section = "Events, traces and monitors",
    .signature = "assert_eventually(where=None, **filters)",
    .summary = "Fails unless some event matches.",
    .args = "as events()",
    .returns = "None",
    .errors = "the failure lists what was seen",
    .example = "def test_e():\n"
      "    trace(db, syscalls = [\"write\"], run = lambda: db.main.send(data = \"PING\"))\n"
      "    assert_eventually(service = \"db\", syscall = \"write\")",
  },
  {
    .name = "assert_never",
    .section = "Events, traces and monitors",
    .signature = "assert_never(where=None, **filters)",
    .summary = "Fails when some event matches.",
    .args = "as events()",
    .returns = "None",
    .errors = "the failure names the event",
    .example = "def test_n():\n"
      "    assert_never(service = \"db\", decision = \"deny*\")",
  },
  {
    .name = "assert_before",
    .section = "Events, traces and monitors",
    .signature = "assert_before(first, then)",
    .summary = "Fails unless the first event matching first comes before the first matching then.",
    .args = "first, then (dict of filters)",
    .returns = "None",
    .errors = "the failure",
    .example = "def test_order():\n"
      "    trace(db, syscalls = [\"write\", \"fsync\"], run = lambda: db.main.send(data = \"SET k v\"))\n"
      "    assert_before(first = {\"service\": \"db\", \"syscall\": \"write\"},\n"
      "                  then = {\"service\": \"db\", \"syscall\": \"fsync\"})",
  },
  {
    .name = "monitor",
    .section = "Events, traces and monitors",
    .signature = "monitor(fn, service=None, syscall=None, **filters) | monitor(name, on=match.event(...), state_init=None, update=None, check=None)",
    .summary = "An invariant judged over every matching event of the test, in seq order, after the body returns.",
    .args = "fn (function(event)): fails to flag a violation\n"
      "service, syscall, **filters: which events\n"
      "name, on, state_init, update(state, event), check(state): the stateful form",
    .returns = "a monitor for fault_assumption(monitors=), fault_scenario, fault_matrix, or spec-wide",
    .errors = "a violation fails the test naming the event",
    .example = "def no_reads(event):\n"
      "    fail(\"db read while down\")\n"
      "m = monitor(no_reads, service = \"db\", syscall = \"read\")",
  },
  {
    .name = "trace",
    .section = "Events, traces and monitors",
    .signature = "trace(service, syscalls, run)",
    .summary = "Records the listed syscalls of a service (decision \"trace\") while run() runs.",
    .args = "service (service)\n"
      "syscalls (list of str)\n"
      "run (function)",
    .returns = "what run returns",
    .events = "syscall events",
    .errors = "an unknown syscall",
    .example = "def test_t():\n"
      "    trace(db, syscalls = [\"write\"], run = lambda: db.main.send(data = \"SET a b\"))",
  },
  {
    .name = "trace_start",
    .section = "Events, traces and monitors",
    .signature = "trace_start(service, syscalls)",
    .summary = "trace() until trace_stop(service) or the end of the test.",
    .args = "service, syscalls",
    .returns = "None",
    .events = "syscall events",
    .errors = "an unknown syscall",
    .example = "def test_ts():\n"
      "    trace_start(db, syscalls = [\"fsync\"])\n"
      "    trace_stop(db)",
  },
  {
    .name = "trace_stop",
    .section = "Events, traces and monitors",
    .signature = "trace_stop(service)",
    .summary = "Ends trace_start().",
    .args = "service",
    .returns = "None",
    .example = "def test_tst():\n"
      "    trace_start(db, syscalls = [\"read\"])\n"
      "    trace_stop(db)",
  },
  {
    .name = "match.event",
    .section = "Events, traces and monitors",
    .signature = "match.event(**filters)",
    .summary = "An event matcher for monitor(on=) and await_event().",
    .args = "**filters (str globs on event fields)",
    .returns = "a matcher",
    .example = "m = match.event(service = \"db\", type = \"syscall\")",
  },
  {
    .name = "match.any",
    .section = "Events, traces and monitors",
    .signature = "match.any(*matchers)",
    .summary = "Matches when any of the matchers does.",
    .args = "*matchers",
    .returns = "a matcher",
    .example = "m = match.any(match.event(service = \"db\"), match.event(service = \"api\"))",
  },
  {
    .name = "match.all",
    .section = "Events, traces and monitors",
    .signature = "match.all(*matchers)",
    .summary = "Matches when all of them do.",
    .args = "*matchers",
    .returns = "a matcher",
    .example = "m = match.all(match.event(service = \"db\"), match.event(type = \"syscall\"))",
  },
  {
    .name = "match.never",
    .section = "Events, traces and monitors",
    .signature = "match.never()",
    .summary = "A matcher that matches no event (e.g. a terminate_when= that never ends the body early).",
    .returns = "a matcher",
    .example = "m = match.never()",
  },
  {
    .name = "observe.stdout",
    .section = "Events, traces and monitors",
    .signature = "observe.stdout(decoder=decoder(\"json\"))",
    .summary = "Turns each line a service writes to stdout into an event as it is written.",
    .args = "decoder (decoder(), default json)",
    .returns = "an observer for service(observe=)",
    .events = "one event per decoded line",
    .example = "o = observe.stdout(decoder = decoder(\"logfmt\"))",
  },
  {
    .name = "observe.stderr",
    .section = "Events, traces and monitors",
    .signature = "observe.stderr(decoder=decoder(\"json\"))",
    .summary = "As observe.stdout, for stderr.",
    .args = "decoder (decoder())",
    .returns = "an observer",
    .events = "one event per decoded line",
    .example = "o = observe.stderr(decoder = decoder(\"json\"))",
  },
  {
    .name = "decoder",
    .section = "Events, traces and monitors",
    .signature = "decoder(name, **kw)",
    .summary = "How observed lines become events: json, logfmt, or regex (pattern=, named groups become fields).",
    .args = "name (str): json, logfmt or regex\n"
      "**kw: regex takes pattern=",
    .returns = "a decoder",
    .errors = "an unknown decoder",
    .example = "dec = decoder(\"regex\", pattern = \"level=(?P<level>\\\\w+)\")",
  },
  {
    .name = "duration",
    .section = "Time and waiting",
    .signature = "duration(s)",
    .summary = "Parses a duration (\"1.5s\", \"200ms\", \"1m\") to nanoseconds.",
    .args = "s (str)",
    .returns = "int nanoseconds",
    .errors = "a malformed duration",
    .example = "TIMEOUT = duration(\"1.5s\")",
  },
  {
    .name = "sleep",
    .section = "Time and waiting",
    .signature = "sleep(duration, clock=None)",
    .summary = "Waits (under --virtual-time the test's virtual clock advances instead).",
    .args = "duration (str or int ns)",
    .returns = "None",
    .errors = "called while loading",
    .example = "def test_s():\n"
      "    sleep(\"100ms\")",
  },
  {
    .name = "await_event",
    .section = "Time and waiting",
    .signature = "await_event(matcher_or_predicate, timeout=None, clock=None)",
    .summary = "Waits until an event matches (woken as events arrive, no polling).",
    .args = "matcher_or_predicate (match.event(...) or function)\n"
      "timeout (duration)",
    .returns = "the event",
    .errors = "timeout: fails the test",
    .example = "def test_w():\n"
      "    await_event(match.event(service = \"db\", type = \"service_ready\"), timeout = \"5s\")",
  },
  {
    .name = "await_stable",
    .section = "Time and waiting",
    .signature = "await_stable(quiescence_window=\"1s\", ignore=None, timeout=None, clock=None)",
    .summary = "Waits until no event arrived for quiescence_window.",
    .args = "quiescence_window (duration)\n"
      "ignore (matcher)\n"
      "timeout (duration)",
    .returns = "None",
    .errors = "timeout",
    .example = "def test_q():\n"
      "    await_stable(quiescence_window = \"200ms\", timeout = \"5s\")",
  },
  {
    .name = "eventually",
    .section = "Time and waiting",
    .signature = "eventually(predicate, anchor=None)",
    .summary = "A temporal expectation for test(expect=) (or registered when called in a test() body): predicate(trace) becomes true at some point. A trace has .events(m), .count(m), .first(m), .last(m), .event(**filters), m a matcher or a predicate of one event.",
    .args = "predicate (function(trace))\n"
      "anchor (matcher, or \"body_start\", \"body_end\", \"stable\"): judge only once it happened",
    .returns = "an expectation",
    .example = "def two_replies(t):\n"
      "    return t.count(match.event(type = \"step_recv\")) >= 2\n"
      "e = eventually(two_replies)",
  },
  {
    .name = "always",
    .section = "Time and waiting",
    .signature = "always(predicate, between=None)",
    .summary = "A temporal expectation: predicate(trace) holds after every event while its window is open; the first false fails the test at once.",
    .args = "predicate (function(trace))\n"
      "between (tuple of two anchors: \"body_start\", \"body_end\", \"stable\" or matchers)",
    .returns = "an expectation",
    .example = "a = always(lambda t: t.count(match.event(type = \"step_send\")) <= 2)",
  },
  {
    .name = "test",
    .section = "Time and waiting",
    .signature = "test(name, body, setup=None, expect=[], timeout=\"30s\", terminate_when=None, assume=None, clock=\"wall\")",
    .summary = "Registers test_<name> with Faultbox's verdict table: PASS, FAIL, or INCONCLUSIVE when the timeout hits with expectations pending (exit 3).",
    .args = "name (str)\n"
      "body (function)\n"
      "setup (function)\n"
      "expect (list of eventually()/always())\n"
      "timeout (duration str)\n"
      "terminate_when (matcher): end the body early\n"
      "assume (list): not supported yet (a load error when given)\n"
      "clock (str, default \"wall\"): only \"wall\"",
    .returns = "None",
    .events = "test_timeout when the body is stopped",
    .errors = "a duplicate name",
    .example = "def body():\n"
      "    api.get(path = \"/health\")\n"
      "def answered(t):\n"
      "    return t.count(match.event(type = \"step_recv\")) >= 1\n"
      "test(\"health_seen\", body = body, expect = [eventually(answered)], timeout = \"10s\")",
  },
  {
    .name = "load_file",
    .section = "Data",
    .signature = "load_file(path)",
    .summary = "A file's text, relative to the spec (kept in replay bundles).",
    .args = "path (str)",
    .returns = "str",
    .errors = "a missing or unreadable file",
    .example = "def test_motd():\n"
      "    motd = load_file(\"motd.txt\")  # relative to the spec, kept in replay bundles",
  },
  {
    .name = "load_json",
    .section = "Data",
    .signature = "load_json(path)",
    .summary = "A JSON file decoded.",
    .args = "path (str)",
    .returns = "the value",
    .errors = "not JSON (file:line)",
    .example = "def test_fixture():\n"
      "    users = load_json(\"fixtures/users.json\")",
  },
  {
    .name = "load_yaml",
    .section = "Data",
    .signature = "load_yaml(path)",
    .summary = "A YAML file decoded.",
    .args = "path (str)",
    .returns = "the value",
    .errors = "not YAML",
    .example = "def test_cfg():\n"
      "    cfg = load_yaml(\"config.yaml\")",
  },
  {
    .name = "kill",
    .section = "Lifecycle and determinism",
    .signature = "kill(service, signal=\"SIGKILL\")",
    .summary = "Kills a service (its death is then expected, not a failure).",
    .args = "service\n"
      "signal (str, default SIGKILL)",
    .returns = "None",
    .events = "service_killed, service_exited",
    .errors = "called while loading; an unknown signal",
    .example = "def test_k():\n"
      "    kill(db)",
  },
  {
    .name = "restart",
    .section = "Lifecycle and determinism",
    .signature = "restart(service)",
    .summary = "Stops a service if running and starts it again over the same files and address; waits for its healthcheck.",
    .args = "service",
    .returns = "None",
    .events = "service_restarted, service_ready",
    .errors = "it never gets healthy",
    .example = "def test_r():\n"
      "    restart(db)",
  },
  {
    .name = "pause",
    .section = "Lifecycle and determinism",
    .signature = "pause(service, run=None)",
    .summary = "Freezes a service (cgroup freezer) until resume(), or around run().",
    .args = "service\n"
      "run (function)",
    .returns = "None or what run returns",
    .events = "service_paused, service_resumed",
    .example = "def test_p():\n"
      "    pause(db, run = lambda: api.get(path = \"/health\"))",
  },
  {
    .name = "resume",
    .section = "Lifecycle and determinism",
    .signature = "resume(service)",
    .summary = "Thaws a paused service.",
    .args = "service",
    .returns = "None",
    .events = "service_resumed",
    .errors = "not paused",
    .example = "def test_pr():\n"
      "    pause(db)\n"
      "    resume(db)",
  },
  {
    .name = "determinism",
    .section = "Lifecycle and determinism",
    .signature = "determinism(level=\"L1\", runtime=\"default\", strict=True, allow=[])",
    .summary = "Watches each service's unmediated nondeterminism (clock reads that trap, getrandom, /dev/urandom, DNS out of the lab, raw sockets): unmediated_io events and a determinism: line per test; strict fails the test.",
    .args = "level (str, default \"L1\")\n"
      "strict (bool, default True)\n"
      "allow (list of categories)",
    .returns = "None",
    .events = "unmediated_io",
    .errors = "called twice; an unknown level or category",
    .example = "determinism(level = \"L1\", strict = False)",
  },
  {
    .name = "tcp.send",
    .section = "Step methods",
    .signature = "svc.IFACE.send(...)",
    .summary = "Sends data (a line) and returns the reply line.",
    .returns = "the reply (str)",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "def test_send():\n"
      "    assert_eq(db.main.send(data = \"PING\"), \"PONG\")",
  },
  {
    .name = "http.get",
    .section = "Step methods",
    .signature = "svc.IFACE.get(...)",
    .summary = "HTTP GET (to a tls=True mock: HTTPS to its name, its certificate verified against the run's mock CA).",
    .returns = "a Response: .ok .status .body .data (JSON decoded) .error .duration_ms",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "def test_get():\n"
      "    assert_eq(api.get(path = \"/health\").status, 200)",
  },
  {
    .name = "http.post",
    .section = "Step methods",
    .signature = "svc.IFACE.post(...)",
    .summary = "HTTP POST (to a tls=True mock: HTTPS to its name, its certificate verified against the run's mock CA).",
    .returns = "a Response",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "def test_post():\n"
      "    api.post(path = \"/data/k\", body = \"v\")",
  },
  {
    .name = "http.put",
    .section = "Step methods",
    .signature = "svc.IFACE.put(...)",
    .summary = "HTTP PUT (to a tls=True mock: HTTPS to its name, its certificate verified against the run's mock CA).",
    .returns = "a Response",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "def test_put():\n"
      "    api.public.put(path = \"/data/k\", body = \"v\")",
  },
  {
    .name = "http.delete",
    .section = "Step methods",
    .signature = "svc.IFACE.delete(...)",
    .summary = "HTTP DELETE (to a tls=True mock: HTTPS to its name, its certificate verified against the run's mock CA).",
    .returns = "a Response",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "def test_delete():\n"
      "    api.delete(path = \"/data/k\")",
  },
  {
    .name = "http.patch",
    .section = "Step methods",
    .signature = "svc.IFACE.patch(...)",
    .summary = "HTTP PATCH (to a tls=True mock: HTTPS to its name, its certificate verified against the run's mock CA).",
    .returns = "a Response",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "def test_patch():\n"
      "    api.patch(path = \"/data/k\", body = \"v\")",
  },
  {
    .name = "redis.get",
    .section = "Step methods",
    .signature = "svc.IFACE.get(...)",
    .summary = "Redis GET key (AUTH from the service's REDIS_USER/REDIS_PASSWORD).",
    .returns = "a Response (.data {\"value\": the decoded reply})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "cache = mock_service(\"cache\", interface(\"main\", \"redis\", 6379))\n"
      "def test_cache():\n"
      "    assert_eq(cache.main.get(key = \"k\").data, {\"value\": None})",
  },
  {
    .name = "redis.set",
    .section = "Step methods",
    .signature = "svc.IFACE.set(...)",
    .summary = "Redis SET key value (AUTH from the service's REDIS_USER/REDIS_PASSWORD).",
    .returns = "a Response (.data {\"value\": the decoded reply})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "cache = mock_service(\"cache\", interface(\"main\", \"redis\", 6379))\n"
      "def test_cache():\n"
      "    assert_true(cache.main.set(key = \"k\", value = \"v\").ok)",
  },
  {
    .name = "redis.del",
    .section = "Step methods",
    .signature = "svc.IFACE.del(...)",
    .summary = "Redis DEL key (AUTH from the service's REDIS_USER/REDIS_PASSWORD). del is a reserved word of Starlark: call it through getattr.",
    .returns = "a Response (.data {\"value\": the decoded reply})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "cache = mock_service(\"cache\", interface(\"main\", \"redis\", 6379))\n"
      "def test_cache():\n"
      "    cache.main.set(key = \"k\", value = \"v\")\n"
      "    getattr(cache.main, \"del\")(key = \"k\")",
  },
  {
    .name = "redis.ping",
    .section = "Step methods",
    .signature = "svc.IFACE.ping(...)",
    .summary = "Redis PING (AUTH from the service's REDIS_USER/REDIS_PASSWORD).",
    .returns = "a Response (.data {\"value\": the decoded reply})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "cache = mock_service(\"cache\", interface(\"main\", \"redis\", 6379))\n"
      "def test_cache():\n"
      "    assert_true(cache.main.ping().ok)",
  },
  {
    .name = "redis.keys",
    .section = "Step methods",
    .signature = "svc.IFACE.keys(...)",
    .summary = "Redis KEYS pattern (AUTH from the service's REDIS_USER/REDIS_PASSWORD).",
    .returns = "a Response (.data {\"value\": the decoded reply})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "cache = mock_service(\"cache\", interface(\"main\", \"redis\", 6379))\n"
      "def test_cache():\n"
      "    keys = cache.main.keys(pattern = \"user:*\").data",
  },
  {
    .name = "redis.lpush",
    .section = "Step methods",
    .signature = "svc.IFACE.lpush(...)",
    .summary = "Redis LPUSH key value (AUTH from the service's REDIS_USER/REDIS_PASSWORD).",
    .returns = "a Response (.data {\"value\": the decoded reply})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "cache = mock_service(\"cache\", interface(\"main\", \"redis\", 6379))\n"
      "def test_cache():\n"
      "    cache.main.lpush(key = \"q\", value = \"a\")",
  },
  {
    .name = "redis.rpush",
    .section = "Step methods",
    .signature = "svc.IFACE.rpush(...)",
    .summary = "Redis RPUSH key value (AUTH from the service's REDIS_USER/REDIS_PASSWORD).",
    .returns = "a Response (.data {\"value\": the decoded reply})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "cache = mock_service(\"cache\", interface(\"main\", \"redis\", 6379))\n"
      "def test_cache():\n"
      "    cache.main.rpush(key = \"q\", value = \"b\")",
  },
  {
    .name = "redis.lrange",
    .section = "Step methods",
    .signature = "svc.IFACE.lrange(...)",
    .summary = "Redis LRANGE key start stop (AUTH from the service's REDIS_USER/REDIS_PASSWORD).",
    .returns = "a Response (.data {\"value\": the decoded reply})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "cache = mock_service(\"cache\", interface(\"main\", \"redis\", 6379))\n"
      "def test_cache():\n"
      "    items = cache.main.lrange(key = \"q\", start = \"0\", stop = \"-1\").data",
  },
  {
    .name = "redis.incr",
    .section = "Step methods",
    .signature = "svc.IFACE.incr(...)",
    .summary = "Redis INCR key (AUTH from the service's REDIS_USER/REDIS_PASSWORD).",
    .returns = "a Response (.data {\"value\": the decoded reply})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "cache = mock_service(\"cache\", interface(\"main\", \"redis\", 6379))\n"
      "def test_cache():\n"
      "    assert_eq(cache.main.incr(key = \"hits\").data, {\"value\": 1})",
  },
  {
    .name = "redis.command",
    .section = "Step methods",
    .signature = "svc.IFACE.command(...)",
    .summary = "Redis any command with args= (AUTH from the service's REDIS_USER/REDIS_PASSWORD).",
    .returns = "a Response (.data {\"value\": the decoded reply})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "cache = mock_service(\"cache\", interface(\"main\", \"redis\", 6379))\n"
      "def test_cache():\n"
      "    cache.main.command(cmd = \"EXPIRE\", args = [\"k\", \"10\"])",
  },
  {
    .name = "postgres.query",
    .section = "Step methods",
    .signature = "svc.IFACE.query(...)",
    .summary = "Runs a SQL query (credentials from POSTGRES_USER/PASSWORD/DB).",
    .returns = "a Response (.data the rows)",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "# specs/examples/pg-server.sh: initdb, then postgres as the postgres user\n"
      "pg = service(\"pg\", \"pg-server.sh\",\n"
      "    interface(\"main\", \"postgres\", 5432),\n"
      "    env = {\"POSTGRES_USER\": \"postgres\"},\n"
      "    healthcheck = ready())\n"
      "def test_pg():\n"
      "    rows = pg.main.query(sql = \"SELECT 1 AS one\").data\n"
      "    assert_eq(rows, [{\"one\": 1}])",
  },
  {
    .name = "postgres.exec",
    .section = "Step methods",
    .signature = "svc.IFACE.exec(...)",
    .summary = "Runs a SQL statement.",
    .returns = "a Response",
    .events = "step_send, step_recv",
    .errors = "called while loading; a server's error is ok=False, not an exception",
    .example = "# specs/examples/pg-server.sh: initdb, then postgres as the postgres user\n"
      "pg = service(\"pg\", \"pg-server.sh\",\n"
      "    interface(\"main\", \"postgres\", 5432),\n"
      "    env = {\"POSTGRES_USER\": \"postgres\"},\n"
      "    healthcheck = ready())\n"
      "def test_pg():\n"
      "    assert_true(pg.main.exec(sql = \"CREATE TABLE t (x int)\").ok)",
  },
  {
    .name = "mysql.query",
    .section = "Step methods",
    .signature = "svc.IFACE.query(...)",
    .summary = "Runs a MySQL/MariaDB query (credentials from MYSQL_USER/MYSQL_PASSWORD, else root and MYSQL_ROOT_PASSWORD; MYSQL_DATABASE; user=/password=/database= or a Go-style dsn= instead).",
    .returns = "a Response (.data the rows, a list of dicts)",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty sql= raises; a statement the server rejects, or a failed connection, is ok=False with go-sql-driver's words, not an exception",
    .example = "# specs/examples/mariadb-server.sh: a MariaDB with the accounts the env names\n"
      "shop = service(\"shop\", \"mariadb-server.sh\",\n"
      "    interface(\"main\", \"mysql\", 3306),\n"
      "    env = {\"MYSQL_USER\": \"shop\", \"MYSQL_PASSWORD\": \"shop\", \"MYSQL_DATABASE\": \"shop\"},\n"
      "    healthcheck = ready(timeout = \"60s\"))\n"
      "def test_orders():\n"
      "    shop.main.exec(sql = \"CREATE TABLE orders (item VARCHAR(40), qty INT)\")\n"
      "    shop.main.exec(sql = \"INSERT INTO orders VALUES ('apple', 3)\")\n"
      "    rows = shop.main.query(sql = \"SELECT item, qty FROM orders\").data\n"
      "    assert_eq(rows, [{\"item\": \"apple\", \"qty\": 3}])",
  },
  {
    .name = "mysql.exec",
    .section = "Step methods",
    .signature = "svc.IFACE.exec(...)",
    .summary = "Runs a MySQL/MariaDB statement (credentials as mysql.query).",
    .returns = "a Response (.data {\"rows_affected\": N}; a statement with rows affects none, as Go's Exec)",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty sql= raises; a statement the server rejects, or a failed connection, is ok=False with go-sql-driver's words, not an exception",
    .example = "# specs/examples/mariadb-server.sh: a MariaDB with the accounts the env names\n"
      "shop = service(\"shop\", \"mariadb-server.sh\",\n"
      "    interface(\"main\", \"mysql\", 3306),\n"
      "    env = {\"MYSQL_USER\": \"shop\", \"MYSQL_PASSWORD\": \"shop\", \"MYSQL_DATABASE\": \"shop\"},\n"
      "    healthcheck = ready(timeout = \"60s\"))\n"
      "def test_create():\n"
      "    assert_true(shop.main.exec(sql = \"CREATE TABLE t (x INT)\").ok)",
  },
  {
    .name = "memcached.get",
    .section = "Step methods",
    .signature = "svc.IFACE.get(...)",
    .summary = "Memcached get key (text protocol; ours: Faultbox has no memcached steps).",
    .returns = "a Response (.data {\"value\": V}, None for a miss)",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty key= raises; a server's error line (NOT FOUND, ...) is ok=False with its words, not an exception",
    .example = "cache = service(\"cache\", \"/usr/bin/memcached\", interface(\"main\", \"memcached\", 11211),\n"
      "    args = [\"-u\", \"root\", \"-l\", \"0.0.0.0\", \"-p\", \"11211\"], healthcheck = tcp(\"localhost:11211\"))\n"
      "def test_miss():\n"
      "    assert_eq(cache.main.get(key = \"k\").data, {\"value\": None})",
  },
  {
    .name = "memcached.set",
    .section = "Step methods",
    .signature = "svc.IFACE.set(...)",
    .summary = "Memcached set key value (no expiry, no flags).",
    .returns = "a Response (.data {\"value\": True})",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty key= raises; a server's error line (NOT FOUND, ...) is ok=False with its words, not an exception",
    .example = "cache = service(\"cache\", \"/usr/bin/memcached\", interface(\"main\", \"memcached\", 11211),\n"
      "    args = [\"-u\", \"root\", \"-l\", \"0.0.0.0\", \"-p\", \"11211\"], healthcheck = tcp(\"localhost:11211\"))\n"
      "def test_set():\n"
      "    assert_true(cache.main.set(key = \"k\", value = \"hello\").ok)",
  },
  {
    .name = "memcached.delete",
    .section = "Step methods",
    .signature = "svc.IFACE.delete(...)",
    .summary = "Memcached delete key; a missing key is ok=False, error \"NOT FOUND\".",
    .returns = "a Response (.data {\"value\": True})",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty key= raises; a server's error line (NOT FOUND, ...) is ok=False with its words, not an exception",
    .example = "cache = service(\"cache\", \"/usr/bin/memcached\", interface(\"main\", \"memcached\", 11211),\n"
      "    args = [\"-u\", \"root\", \"-l\", \"0.0.0.0\", \"-p\", \"11211\"], healthcheck = tcp(\"localhost:11211\"))\n"
      "def test_delete():\n"
      "    cache.main.set(key = \"k\", value = \"v\")\n"
      "    assert_true(cache.main.delete(key = \"k\").ok)",
  },
  {
    .name = "memcached.incr",
    .section = "Step methods",
    .signature = "svc.IFACE.incr(...)",
    .summary = "Memcached incr key by (default 1) on a number stored with set.",
    .returns = "a Response (.data {\"value\": N}, the new value)",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty key= raises; a server's error line (NOT FOUND, ...) is ok=False with its words, not an exception",
    .example = "cache = service(\"cache\", \"/usr/bin/memcached\", interface(\"main\", \"memcached\", 11211),\n"
      "    args = [\"-u\", \"root\", \"-l\", \"0.0.0.0\", \"-p\", \"11211\"], healthcheck = tcp(\"localhost:11211\"))\n"
      "def test_incr():\n"
      "    cache.main.set(key = \"n\", value = \"41\")\n"
      "    assert_eq(cache.main.incr(key = \"n\").data, {\"value\": 42})",
  },
  {
    .name = "http2.get",
    .section = "Step methods",
    .signature = "svc.IFACE.get(...)",
    .summary = "HTTP/2 GET over h2c (prior knowledge; to a tls=True mock: h2 over TLS, verified against its CA), the body read up to 64 KiB.",
    .returns = "a Response as http's (.ok .status .body .data .error .duration_ms); .fields[\"proto\"] is \"HTTP/2.0\"",
    .events = "step_send, step_recv",
    .errors = "called while loading; a connection or stream failure raises naming the service; an HTTP error status is a Response",
    .example = "web = mock_service(\"web\", interface(\"main\", \"http2\", 8443),\n"
      "    routes = {\"* /data/**\": json_response(body = {\"ok\": True})})\n"
      "def test_get():\n"
      "    assert_eq(web.main.get(path = \"/data/k\").status, 200)",
  },
  {
    .name = "http2.post",
    .section = "Step methods",
    .signature = "svc.IFACE.post(...)",
    .summary = "HTTP/2 POST over h2c (prior knowledge; to a tls=True mock: h2 over TLS, verified against its CA), the body read up to 64 KiB.",
    .returns = "a Response as http.get's",
    .events = "step_send, step_recv",
    .errors = "called while loading; a connection or stream failure raises naming the service; an HTTP error status is a Response",
    .example = "web = mock_service(\"web\", interface(\"main\", \"http2\", 8443),\n"
      "    routes = {\"* /data/**\": json_response(body = {\"ok\": True})})\n"
      "def test_post():\n"
      "    web.main.post(path = \"/data/k\", body = \"v\")",
  },
  {
    .name = "http2.put",
    .section = "Step methods",
    .signature = "svc.IFACE.put(...)",
    .summary = "HTTP/2 PUT over h2c (prior knowledge; to a tls=True mock: h2 over TLS, verified against its CA), the body read up to 64 KiB.",
    .returns = "a Response as http.get's",
    .events = "step_send, step_recv",
    .errors = "called while loading; a connection or stream failure raises naming the service; an HTTP error status is a Response",
    .example = "web = mock_service(\"web\", interface(\"main\", \"http2\", 8443),\n"
      "    routes = {\"* /data/**\": json_response(body = {\"ok\": True})})\n"
      "def test_put():\n"
      "    web.main.put(path = \"/data/k\", body = \"v\")",
  },
  {
    .name = "http2.delete",
    .section = "Step methods",
    .signature = "svc.IFACE.delete(...)",
    .summary = "HTTP/2 DELETE over h2c (prior knowledge; to a tls=True mock: h2 over TLS, verified against its CA), the body read up to 64 KiB.",
    .returns = "a Response as http.get's",
    .events = "step_send, step_recv",
    .errors = "called while loading; a connection or stream failure raises naming the service; an HTTP error status is a Response",
    .example = "web = mock_service(\"web\", interface(\"main\", \"http2\", 8443),\n"
      "    routes = {\"* /data/**\": json_response(body = {\"ok\": True})})\n"
      "def test_delete():\n"
      "    web.main.delete(path = \"/data/k\")",
  },
  {
    .name = "http2.patch",
    .section = "Step methods",
    .signature = "svc.IFACE.patch(...)",
    .summary = "HTTP/2 PATCH over h2c (prior knowledge; to a tls=True mock: h2 over TLS, verified against its CA), the body read up to 64 KiB.",
    .returns = "a Response as http.get's",
    .events = "step_send, step_recv",
    .errors = "called while loading; a connection or stream failure raises naming the service; an HTTP error status is a Response",
    .example = "web = mock_service(\"web\", interface(\"main\", \"http2\", 8443),\n"
      "    routes = {\"* /data/**\": json_response(body = {\"ok\": True})})\n"
      "def test_patch():\n"
      "    web.main.patch(path = \"/data/k\", body = \"v\")",
  },
  {
    .name = "grpc.call",
    .section = "Step methods",
    .signature = "svc.IFACE.call(...)",
    .summary = "A unary gRPC call over h2c (to a tls=True mock: h2 over TLS, verified against its CA): method= is the method path, body='s bytes are the request message (\"{}\", the default, sends an empty one).",
    .returns = "a Response: .data {\"method\": M, \"raw\": the reply message's bytes}, .status the gRPC code; not OK: .ok False, .error grpc-go's \"rpc error: code = Unavailable desc = ...\" (a failed connection is UNAVAILABLE)",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty method= raises; a gRPC status other than OK is ok=False, not an exception",
    .example = "flags = mock_service(\"flags\", interface(\"main\", \"grpc\", 50051),\n"
      "    routes = {\"/flags.v1.Flags/Get\": grpc_response(body = {\"enabled\": True})})\n"
      "def test_flags():\n"
      "    r = flags.main.call(method = \"/flags.v1.Flags/Get\")\n"
      "    assert_eq(r.status, 0)",
  },
  {
    .name = "nats.publish",
    .section = "Step methods",
    .signature = "svc.IFACE.publish(...)",
    .summary = "NATS PUB of data on subject, confirmed by a PING/PONG flush (user=/password= for a server that asks).",
    .returns = "a Response (.data {\"published\": True, \"subject\": S})",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty subject= raises; a timeout, a closed connection or the server's -ERR is ok=False, not an exception",
    .example = "bus = service(\"bus\", \"/usr/sbin/nats-server\",\n"
      "    interface(\"main\", \"nats\", 4222),\n"
      "    args = [\"-a\", \"0.0.0.0\", \"-p\", \"4222\"],\n"
      "    healthcheck = ready(timeout = \"10s\"))\n"
      "def test_publish():\n"
      "    assert_true(bus.main.publish(subject = \"orders.new\", data = \"{\\\"id\\\":1}\").ok)",
  },
  {
    .name = "nats.request",
    .section = "Step methods",
    .signature = "svc.IFACE.request(...)",
    .summary = "NATS request: publishes data on subject with a reply inbox and waits up to 5 s for the answer.",
    .returns = "a Response (.data {\"subject\": the subject asked, \"data\": the reply's})",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty subject= raises; a timeout, a closed connection or the server's -ERR is ok=False, not an exception",
    .example = "bus = service(\"bus\", \"/usr/sbin/nats-server\",\n"
      "    interface(\"main\", \"nats\", 4222),\n"
      "    args = [\"-a\", \"0.0.0.0\", \"-p\", \"4222\"],\n"
      "    healthcheck = ready(timeout = \"10s\"))\n"
      "def test_request():\n"
      "    r = bus.main.request(subject = \"svc.echo\", data = \"hi\")",
  },
  {
    .name = "nats.subscribe",
    .section = "Step methods",
    .signature = "svc.IFACE.subscribe(...)",
    .summary = "NATS SUB to subject, waiting up to 10 s for one message (\"subscribe timeout: no message received\" otherwise).",
    .returns = "a Response (.data {\"subject\": S, \"data\": D} of the message)",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty subject= raises; a timeout, a closed connection or the server's -ERR is ok=False, not an exception",
    .example = "bus = service(\"bus\", \"/usr/sbin/nats-server\",\n"
      "    interface(\"main\", \"nats\", 4222),\n"
      "    args = [\"-a\", \"0.0.0.0\", \"-p\", \"4222\"],\n"
      "    healthcheck = ready(timeout = \"10s\"))\n"
      "def test_subscribe():\n"
      "    r = bus.main.subscribe(subject = \"orders.*\")",
  },
/* what the mongodb step entries share */
#define MONGO_FAILS "a server error, an injected error() or a failed connection is ok=False with its message, not an exception"
#define MONGO_EXAMPLE                                                                                      \
  "load(\"@faultbox/mocks/mongodb.star\", \"mongo\")\n"                                                    \
  "users = mongo.server(name = \"users\", interface = interface(\"main\", \"mongodb\", 27017),\n"          \
  "    collections = {\"users\": [{\"_id\": \"1\", \"name\": \"alice\"}]})\n"
  {
    .name = "mongodb.find",
    .section = "Step methods",
    .signature = "svc.IFACE.find(...)",
    .summary = "Runs find on collection= with filter= (a dict or JSON text; default {}) and limit= (0: none), in database= (default MONGO_INITDB_DATABASE, else \"test\").",
    .returns = "a Response (.data the documents: ObjectIds as hex, dates RFC 3339; step_recv has documents= and collection=)",
    .events = "step_send, step_recv",
    .errors = "called while loading; a missing collection= raises; " MONGO_FAILS,
    .example = MONGO_EXAMPLE
      "def test_find():\n"
      "    r = users.main.find(collection = \"users\", filter = {\"name\": \"alice\"})",
  },
  {
    .name = "mongodb.insert",
    .section = "Step methods",
    .signature = "svc.IFACE.insert(...)",
    .summary = "Inserts document= (a dict or JSON text) into collection=; an _id it lacks is made here.",
    .returns = "a Response (.data {\"inserted_id\": the id, an ObjectId as hex})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a missing collection= raises; " MONGO_FAILS,
    .example = MONGO_EXAMPLE
      "def test_insert():\n"
      "    r = users.main.insert(collection = \"users\", document = {\"name\": \"bob\"})",
  },
  {
    .name = "mongodb.insert_many",
    .section = "Step methods",
    .signature = "svc.IFACE.insert_many(...)",
    .summary = "Inserts documents= (a list of dicts, or JSON text of one) into collection=.",
    .returns = "a Response (.data {\"inserted_count\": N})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a missing collection= or documents= that is not a list raises; " MONGO_FAILS,
    .example = MONGO_EXAMPLE
      "def test_insert_many():\n"
      "    r = users.main.insert_many(collection = \"users\", documents = [{\"n\": 1}, {\"n\": 2}])",
  },
  {
    .name = "mongodb.update",
    .section = "Step methods",
    .signature = "svc.IFACE.update(...)",
    .summary = "Updates every document of collection= matching filter= with update= (an update document such as {\"$set\": {...}}).",
    .returns = "a Response (.data {\"matched\": N, \"modified\": M})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a missing collection= raises; " MONGO_FAILS,
    .example = MONGO_EXAMPLE
      "def test_update():\n"
      "    r = users.main.update(collection = \"users\", filter = {\"name\": \"bob\"}, update = {\"$set\": {\"age\": 31}})",
  },
  {
    .name = "mongodb.delete",
    .section = "Step methods",
    .signature = "svc.IFACE.delete(...)",
    .summary = "Deletes every document of collection= matching filter=.",
    .returns = "a Response (.data {\"deleted\": N})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a missing collection= raises; " MONGO_FAILS,
    .example = MONGO_EXAMPLE
      "def test_delete():\n"
      "    r = users.main.delete(collection = \"users\", filter = {\"name\": \"bob\"})",
  },
  {
    .name = "mongodb.count",
    .section = "Step methods",
    .signature = "svc.IFACE.count(...)",
    .summary = "Counts the documents of collection= matching filter= (an aggregate, as drivers' count_documents).",
    .returns = "a Response (.data {\"count\": N})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a missing collection= raises; " MONGO_FAILS,
    .example = MONGO_EXAMPLE
      "def test_count():\n"
      "    r = users.main.count(collection = \"users\")",
  },
  {
    .name = "mongodb.command",
    .section = "Step methods",
    .signature = "svc.IFACE.command(...)",
    .summary = "Runs the command document cmd= (a dict or JSON text; its first key names the command) in database=.",
    .returns = "a Response (.data the server's reply document)",
    .events = "step_send, step_recv",
    .errors = "called while loading; a missing cmd= raises; " MONGO_FAILS,
    .example = MONGO_EXAMPLE
      "def test_command():\n"
      "    r = users.main.command(cmd = {\"ping\": 1})",
  },
  {
    .name = "kafka.publish",
    .section = "Step methods",
    .signature = "svc.IFACE.publish(...)",
    .summary = "Kafka produce through librdkafka of data (key= its key) to topic, acks=all: waits for the broker's acknowledgement, timeout= (default 10s; ours, Faultbox has none) at most. Each step has its own client.",
    .returns = "a Response (.data {\"published\": True, \"topic\": T})",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty topic= or a bad timeout= raises; no acknowledgement in time is ok=False, not an exception",
    .example = "bus = mock_service(\"bus\", interface(\"main\", \"kafka\", 9092))\n"
      "def test_publish():\n"
      "    assert_true(bus.main.publish(topic = \"orders\", data = \"{\\\"id\\\":1}\", key = \"order-1\").ok)",
  },
  {
    .name = "kafka.consume",
    .section = "Step methods",
    .signature = "svc.IFACE.consume(...)",
    .summary = "Kafka consume of one message of topic (every partition) through librdkafka, from group='s committed offset, else the first; the offset is committed once read. The default group is one per faultbox process (Faultbox's: per run and test), so a test's consumes read on. timeout= (default 10s).",
    .returns = "a Response (.data {\"topic\", \"partition\", \"offset\", \"key\", \"value\"})",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty topic= or a bad timeout= raises; no message in time is ok=False, not an exception",
    .example = "bus = mock_service(\"bus\", interface(\"main\", \"kafka\", 9092))\n"
      "def test_consume():\n"
      "    bus.main.publish(topic = \"orders\", data = \"x\")\n"
      "    assert_eq(bus.main.consume(topic = \"orders\").data[\"value\"], \"x\")",
  },
  {
    .name = "udp.send",
    .section = "Step methods",
    .signature = "svc.IFACE.send(...)",
    .summary = "Sends one datagram (data= as text, or hex=) and waits timeout_ms (default 5000) for one back.",
    .returns = "a Response (.data {\"raw\": the reply as hex, \"size\": its length})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a missing data=/hex=, invalid hex, a timeout (\"read: i/o timeout\") are ok=False, not an exception",
    .example = "echo = mock_service(\"echo\", interface(\"main\", \"udp\", 9000),\n"
      "    routes = {\"hi\": bytes_response(data = \"hello\")})\n"
      "def test_echo():\n"
      "    r = echo.main.send(data = \"hi\", timeout_ms = 2000)",
  },
  {
    .name = "udp.send_no_reply",
    .section = "Step methods",
    .signature = "svc.IFACE.send_no_reply(...)",
    .summary = "Sends one datagram (data= or hex=) and waits for nothing.",
    .returns = "a Response (.data {\"size\": the bytes sent})",
    .events = "step_send, step_recv",
    .errors = "called while loading; a missing data=/hex=, invalid hex, a timeout (\"read: i/o timeout\") are ok=False, not an exception",
    .example = "echo = mock_service(\"echo\", interface(\"main\", \"udp\", 9000),\n"
      "    routes = {\"hi\": bytes_response(data = \"hello\")})\n"
      "def test_fire():\n"
      "    assert_eq(echo.main.send_no_reply(data = \"fire\").data, {\"size\": 4})",
  },
  {
    .name = "amqp.publish",
    .section = "Step methods",
    .signature = "svc.IFACE.publish(...)",
    .summary = "AMQP 0-9-1 Basic.Publish of body on exchange (\"\", the default exchange, routes to the queue named routing_key), through librabbitmq; the channel's close that follows confirms the broker took it. Credentials: user=/password=/vhost=, else RABBITMQ_DEFAULT_USER/_PASS/_VHOST from the service's env=, else guest/guest on \"/\". Faultbox has amqp rules and recipes but no steps: these are ours.",
    .returns = "a Response (.data {\"published\": True, \"exchange\": E, \"routing_key\": K}); a broker's exception: .ok False, .error Exception (504) Reason: \"CHANNEL_ERROR - ...\"",
    .events = "step_send, step_recv",
    .errors = "called while loading; a failed login, a broker's exception (a Channel.Close or Connection.Close) or a timeout is ok=False, not an exception",
    .example = "# a broker: rabbitmq-server, or faultbox's tests/integration/specs/amqp_broker.py\n"
      "mq = service(\"mq\", \"/usr/bin/python3\",\n"
      "    interface(\"main\", \"amqp\", 5672),\n"
      "    args = [\"amqp_broker.py\", \"5672\"],\n"
      "    healthcheck = ready(timeout = \"5s\"))\n"      "def test_publish():\n"
      "    assert_true(mq.main.publish(routing_key = \"orders\", body = \"{}\").ok)",
  },
  {
    .name = "amqp.consume",
    .section = "Step methods",
    .signature = "svc.IFACE.consume(...)",
    .summary = "Takes one message from queue (Basic.Get, acknowledged as taken), polling up to 5 s for one to arrive (\"consume timeout: no message received\" otherwise).",
    .returns = "a Response (.data {\"queue\", \"exchange\", \"routing_key\", \"body\"} of the message)",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty queue= raises; a failed login, a broker's exception (a Channel.Close or Connection.Close) or a timeout is ok=False, not an exception",
    .example = "# a broker: rabbitmq-server, or faultbox's tests/integration/specs/amqp_broker.py\n"
      "mq = service(\"mq\", \"/usr/bin/python3\",\n"
      "    interface(\"main\", \"amqp\", 5672),\n"
      "    args = [\"amqp_broker.py\", \"5672\"],\n"
      "    healthcheck = ready(timeout = \"5s\"))\n"      "def test_consume():\n"
      "    r = mq.main.consume(queue = \"orders\")",
  },
  {
    .name = "amqp.declare",
    .section = "Step methods",
    .signature = "svc.IFACE.declare(...)",
    .summary = "Declares queue (Queue.Declare: not durable, not exclusive, kept), as a publish to the default exchange needs it; how many messages it holds.",
    .returns = "a Response (.data {\"queue\": Q, \"messages\": N, \"consumers\": C})",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty queue= raises; a failed login, a broker's exception (a Channel.Close or Connection.Close) or a timeout is ok=False, not an exception",
    .example = "# a broker: rabbitmq-server, or faultbox's tests/integration/specs/amqp_broker.py\n"
      "mq = service(\"mq\", \"/usr/bin/python3\",\n"
      "    interface(\"main\", \"amqp\", 5672),\n"
      "    args = [\"amqp_broker.py\", \"5672\"],\n"
      "    healthcheck = ready(timeout = \"5s\"))\n"      "def test_declare():\n"
      "    assert_eq(mq.main.declare(queue = \"orders\").data[\"messages\"], 0)",
  },
  {
    .name = "clickhouse.query",
    .section = "Step methods",
    .signature = "svc.IFACE.query(...)",
    .summary = "A SELECT over ClickHouse's HTTP interface: POST /?default_format=JSON[&database=] with sql (FORMAT JSON appended unless it names a format) as the body; user=/password= as X-ClickHouse-User/-Key, else CLICKHOUSE_USER/_PASSWORD/_DB from env=.",
    .returns = "a Response: .data the rows (ClickHouse's JSON \"data\"), its step_recv event's rows the count",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty sql= raises; a failed connection or a status other than 200 is ok=False (.error the server's exception text, .status its code), not an exception",
    .example = "ch = mock_service(\"ch\", interface(\"main\", \"clickhouse\", 8123),\n"
      "    routes = {\"POST /\": json_response(body = {\"data\": [{\"n\": 1}], \"rows\": 1})})\n"      "def test_query():\n"
      "    assert_eq(ch.main.query(sql = \"SELECT 1 AS n\").data, [{\"n\": 1}])",
  },
  {
    .name = "clickhouse.exec",
    .section = "Step methods",
    .signature = "svc.IFACE.exec(...)",
    .summary = "A statement (DDL, INSERT) over ClickHouse's HTTP interface, posted as query's, nothing appended.",
    .returns = "a Response (.data {\"ok\": True}, .status 200)",
    .events = "step_send, step_recv",
    .errors = "called while loading; an empty sql= raises; a failed connection or a status other than 200 is ok=False (.error the server's exception text, .status its code), not an exception",
    .example = "ch = mock_service(\"ch\", interface(\"main\", \"clickhouse\", 8123),\n"
      "    routes = {\"POST /\": json_response(body = {\"data\": [{\"n\": 1}], \"rows\": 1})})\n"      "def test_exec():\n"
      "    assert_true(ch.main.exec(sql = \"INSERT INTO t VALUES (1)\").ok)",
  },
};

size_t
fb_doc_count (void)
{
  return sizeof docs / sizeof *docs;
}

const fb_doc *
fb_doc_at (size_t i)
{
  return i < fb_doc_count () ? &docs[i] : NULL;
}
