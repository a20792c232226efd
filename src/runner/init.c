/* `faultbox init`: a starter spec for one service that passes as written.
 * Unless told the protocol, the binary runs in a lab and its port is asked
 * in turn what it speaks — a MySQL greeting or NATS's INFO line, RESP PING,
 * an HTTP GET, a Postgres SSLRequest, memcached's version —
 * and the spec's steps and protocol fault are of that protocol. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "faultbox/lab.h"
#include "faultbox/protocol.h"
#include "faultbox/runner.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/time.h"

/* How long one probe waits for an answer; a server that talks first does
 * so within the banner's wait. */
#define PROBE_REPLY_MS 1500
#define PROBE_BANNER_MS 300
#define PROBE_MAX 4096

static const char RESP_PING[] = "*1\r\n$4\r\nPING\r\n";
static const char HTTP_GET[] = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
/* length 8, code 80877103 */
static const char PG_SSL_REQUEST[8] = { 0, 0, 0, 8, 0x04, (char) 0xd2, 0x16, 0x2f };
static const char MC_VERSION[] = "version\r\n";

const char *
fb_speaks_name (fb_speaks s)
{
  static const char *const names[] = { [FB_SPEAKS_TCP] = "tcp", [FB_SPEAKS_HTTP] = "http",
                                       [FB_SPEAKS_REDIS] = "redis", [FB_SPEAKS_POSTGRES] = "postgres",
                                       [FB_SPEAKS_MYSQL] = "mysql", [FB_SPEAKS_MEMCACHED] = "memcached",
                                       [FB_SPEAKS_NATS] = "nats" };
  return names[s];
}

fb_speaks
fb_speaks_classify (const char *banner, size_t banner_len, const char *ping, const char *get, const char *ssl,
                    size_t ssl_len, const char *version)
{
  fb_msg m;
  fb_error e = { 0 };
  /* MySQL talks first: one packet (sequence 0) of protocol 10, or an ERR
   * (0xff) when it refuses the host */
  const unsigned char *u = (const unsigned char *) banner;
  if (banner && banner_len > 5 && banner_len == 4u + (u[0] | u[1] << 8 | (unsigned) u[2] << 16) && u[3] == 0
      && (u[4] == 10 || u[4] == 0xff))
    return FB_SPEAKS_MYSQL;
  /* NATS greets with INFO and a JSON object on one line */
  if (banner && !strncmp (banner, "INFO {", 6) && strstr (banner, "}"))
    return FB_SPEAKS_NATS;
  /* redis refuses a connection with an error reply before any command
   * (-DENIED in protected mode, -ERR max number of clients) */
  if (banner && banner[0] == '-' && fb_resp_framing.response (NULL, banner, strlen (banner), NULL, &m, &e) == FB_FRAME_OK)
    return FB_SPEAKS_REDIS;
  /* another server that talks first (SSH, SMTP) is none we have steps for */
  if (banner && banner_len)
    return FB_SPEAKS_TCP;
  /* a whole RESP reply that is not our PING echoed back */
  if (ping && fb_resp_framing.response (NULL, ping, strlen (ping), NULL, &m, &e) == FB_FRAME_OK
      && strncmp (ping, RESP_PING, 4))
    return FB_SPEAKS_REDIS;
  if ((ping && !strncmp (ping, "HTTP/", 5)) || (get && !strncmp (get, "HTTP/", 5)))
    return FB_SPEAKS_HTTP;
  /* 'N' (no TLS), 'S' (TLS), or an ErrorResponse from a server too old */
  if (ssl && ((ssl_len == 1 && strchr ("NS", ssl[0])) || (ssl_len > 5 && ssl[0] == 'E')))
    return FB_SPEAKS_POSTGRES;
  if (version && !strncmp (version, "VERSION ", 8))
    return FB_SPEAKS_MEMCACHED;
  return FB_SPEAKS_TCP;
}

static int
dial (const char *ip, int port)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
  inet_pton (AF_INET, ip, &a.sin_addr);
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect (fd, (struct sockaddr *) &a, sizeof a) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

/* Sends req (n bytes, none: only listens) on a fresh connection and
 * returns what comes back within wait_ms (NUL-terminated, *len bytes), or
 * NULL when nothing did. */
static char *
exchange (const char *ip, int port, const char *req, size_t n, int wait_ms, size_t *len)
{
  _cleanup_close_ int fd = dial (ip, port);
  *len = 0;
  if (fd < 0 || (n && send (fd, req, n, MSG_NOSIGNAL) != (ssize_t) n))
    return NULL;
  char *buf = fb_xmalloc (PROBE_MAX + 1);
  int64_t until = fb_now_ns () + (int64_t) wait_ms * FB_NS_PER_MS;
  while (*len < PROBE_MAX)
    {
      int64_t left = (until - fb_now_ns ()) / FB_NS_PER_MS;
      /* once something came, a short while for the rest of it */
      struct pollfd p = { fd, POLLIN, 0 };
      if (left <= 0 || poll (&p, 1, *len ? 50 : (int) left) <= 0)
        break;
      ssize_t k = recv (fd, buf + *len, PROBE_MAX - *len, 0);
      if (k <= 0)
        break;
      *len += (size_t) k;
    }
  buf[*len] = '\0';
  if (!*len)
    {
      free (buf);
      return NULL;
    }
  return buf;
}

typedef struct {
  const fb_init_options *o;
  int port;
  int64_t timeout_ms;
  fb_speaks speaks;
  bool redis_protected;   /* redis-server in protected mode: DENIED to others */
  char *probed;
} probe_ctx;

/* What the probes saw, for the CLI to say. */
static char *
describe (fb_speaks s, const char *ping, const char *get, const char *version)
{
  char first[64] = "";
  const char *src = s == FB_SPEAKS_REDIS       ? ping
                    : s == FB_SPEAKS_HTTP      ? (get ? get : ping)
                    : s == FB_SPEAKS_MEMCACHED ? version
                                               : NULL;
  if (src)
    snprintf (first, sizeof first, "%.*s", (int) strcspn (src, "\r\n"), src);
  switch (s)
    {
    case FB_SPEAKS_REDIS: return fb_xasprintf ("RESP: %s", first);
    case FB_SPEAKS_HTTP: return fb_xasprintf ("%s answered %s", get ? "GET /" : "a RESP PING", first);
    case FB_SPEAKS_POSTGRES: return fb_xstrdup ("an SSLRequest was answered as Postgres answers it");
    case FB_SPEAKS_MYSQL: return fb_xstrdup ("it greeted as MySQL and MariaDB greet");
    case FB_SPEAKS_MEMCACHED: return fb_xasprintf ("version answered %s", first);
    case FB_SPEAKS_NATS: return fb_xstrdup ("it sent an INFO line as NATS servers do");
    default: return fb_xstrdup ("no MySQL, NATS, RESP, HTTP, Postgres or memcached answer: plain TCP");
    }
}

static int
probe (void *ctx, fb_lab *lab, fb_error *err)
{
  probe_ctx *p = ctx;
  const char *ip = fb_lab_service_addr (lab, 0);
  int64_t until = fb_now_ns () + p->timeout_ms * FB_NS_PER_MS;
  int fd;
  while ((fd = dial (ip, p->port)) < 0)
    {
      if (fb_lab_service_exited (lab, 0, NULL))
        return fb_error_set (err, ECONNREFUSED, "%s exited before it listened on port %d", p->o->binary,
                             p->port);
      if (fb_now_ns () > until)
        return fb_error_set (err, ETIMEDOUT, "nothing listened on port %d of %s within %llds (give --port, or --protocol to skip the probe)",
                             p->port, p->o->binary, (long long) (p->timeout_ms / 1000));
      usleep (100000);
    }
  close (fd);
  size_t bl, pl, gl, sl, vl;
  _cleanup_free_ char *banner = exchange (ip, p->port, NULL, 0, PROBE_BANNER_MS, &bl);
  _cleanup_free_ char *ping = banner ? NULL : exchange (ip, p->port, RESP_PING, sizeof RESP_PING - 1, PROBE_REPLY_MS, &pl);
  _cleanup_free_ char *get = banner || ping ? NULL : exchange (ip, p->port, HTTP_GET, sizeof HTTP_GET - 1, PROBE_REPLY_MS, &gl);
  _cleanup_free_ char *ssl = banner || ping || get ? NULL
                             : exchange (ip, p->port, PG_SSL_REQUEST, sizeof PG_SSL_REQUEST, PROBE_REPLY_MS, &sl);
  p->speaks = fb_speaks_classify (banner, banner ? bl : 0, ping, get, ssl, ssl ? sl : 0, NULL);
  /* a text protocol that called the PING an error: memcached's version? */
  _cleanup_free_ char *version = p->speaks != FB_SPEAKS_TCP || !ping ? NULL
                                 : exchange (ip, p->port, MC_VERSION, sizeof MC_VERSION - 1, PROBE_REPLY_MS, &vl);
  if (version)
    p->speaks = fb_speaks_classify (banner, banner ? bl : 0, ping, get, ssl, ssl ? sl : 0, version);
  const char *said = banner ? banner : ping;
  p->redis_protected = p->speaks == FB_SPEAKS_REDIS && !strncmp (said, "-DENIED", 7);
  p->probed = describe (p->speaks, said, get, version);
  return 0;
}

/* ---- the spec --------------------------------------------------------- */

/* s as a Starlark string literal. */
static void
put_str (fb_buf *b, const char *s)
{
  fb_buf_putc (b, '"');
  for (; *s; s++)
    if (*s == '"' || *s == '\\')
      fb_buf_printf (b, "\\%c", *s);
    else if (*s == '\n')
      fb_buf_puts (b, "\\n");
    else
      fb_buf_putc (b, *s);
  fb_buf_putc (b, '"');
}

/* A Starlark identifier for the service's variable: "mock-db" -> mock_db. */
static void
identifier (const char *name, fb_buf *out)
{
  if (*name >= '0' && *name <= '9')
    fb_buf_putc (out, '_');
  for (const char *p = name; *p; p++)
    fb_buf_putc (out, (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ? *p : '_');
}

/* Per protocol: the request a test sends, and a protocol fault's test that
 * passes because the fault fires (%1$s: the service's variable). */
static const struct {
  const char *request, *fault;
} protocol_tests[] = {
  [FB_SPEAKS_TCP] = {
    "    # one line out, one line back: replace with your protocol's request\n"
    "    %1$s.main.send(data = \"PING\")\n",
    NULL },
  [FB_SPEAKS_HTTP] = {
    "    resp = %1$s.main.get(path = \"/\")\n"
    "    assert_true(resp.status < 500, \"GET / answered %%d\" %% resp.status)\n",
    "def test_sees_503_under_a_protocol_fault():\n"
    "    # the lab's proxy answers GET / itself while run= executes\n"
    "    def body():\n"
    "        assert_eq(%1$s.main.get(path = \"/\").status, 503)\n"
    "    fault(%1$s.main, error(method = \"GET\", path = \"/\", status = 503), run = body)\n\n" },
  [FB_SPEAKS_REDIS] = {
    "    assert_true(%1$s.main.set(key = \"faultbox\", value = \"1\").ok)\n"
    "    assert_eq(%1$s.main.get(key = \"faultbox\").data, {\"value\": \"1\"})\n",
    "def test_write_refused_under_a_protocol_fault():\n"
    "    # the lab's proxy answers SET itself while run= executes\n"
    "    def body():\n"
    "        r = %1$s.main.set(key = \"faultbox\", value = \"1\")\n"
    "        assert_eq(r.ok, False)\n"
    "        assert_true(\"READONLY\" in r.error, r.error)\n"
    "    fault(%1$s.main, error(command = \"SET\", message = \"READONLY injected by faultbox\"), run = body)\n\n" },
  [FB_SPEAKS_POSTGRES] = {
    "    r = %1$s.main.query(sql = \"SELECT 1 AS one\")\n"
    "    assert_eq(r.data, [{\"one\": 1}], r.error)\n",
    "def test_query_fails_under_a_protocol_fault():\n"
    "    # the lab's proxy answers the query itself while run= executes\n"
    "    def body():\n"
    "        r = %1$s.main.query(sql = \"SELECT 1 AS one\")\n"
    "        assert_eq(r.ok, False)\n"
    "        assert_true(\"injected\" in r.error, r.error)\n"
    "    fault(%1$s.main, error(query = \"SELECT 1*\", message = \"injected by faultbox\"), run = body)\n\n" },
  /* the same SQL as postgres's */
  [FB_SPEAKS_MYSQL] = {
    "    r = %1$s.main.query(sql = \"SELECT 1 AS one\")\n"
    "    assert_eq(r.data, [{\"one\": 1}], r.error)\n",
    "def test_query_fails_under_a_protocol_fault():\n"
    "    # the lab's proxy answers the query itself while run= executes\n"
    "    def body():\n"
    "        r = %1$s.main.query(sql = \"SELECT 1 AS one\")\n"
    "        assert_eq(r.ok, False)\n"
    "        assert_true(\"injected\" in r.error, r.error)\n"
    "    fault(%1$s.main, error(query = \"SELECT 1*\", message = \"injected by faultbox\"), run = body)\n\n" },
  [FB_SPEAKS_MEMCACHED] = {
    "    assert_true(%1$s.main.set(key = \"faultbox\", value = \"1\").ok)\n"
    "    assert_eq(%1$s.main.get(key = \"faultbox\").data, {\"value\": \"1\"})\n",
    "def test_write_refused_under_a_protocol_fault():\n"
    "    # the lab's proxy answers set itself while run= executes\n"
    "    def body():\n"
    "        r = %1$s.main.set(key = \"faultbox\", value = \"1\")\n"
    "        assert_eq(r.ok, False)\n"
    "        # libmemcached's words for SERVER_ERROR out of memory\n"
    "        assert_eq(r.error, \"SERVER FAILED TO ALLOCATE OBJECT\")\n"
    "    fault(%1$s.main, error(command = \"SET\", message = \"SERVER_ERROR out of memory storing object\"),\n"
    "          run = body)\n\n" },
  [FB_SPEAKS_NATS] = {
    "    r = %1$s.main.publish(subject = \"faultbox.hello\", data = \"hi\")\n"
    "    assert_true(r.ok, r.error)\n",
    "def test_publish_refused_under_a_protocol_fault():\n"
    "    # the lab's proxy answers the publish with -ERR while run= executes\n"
    "    def body():\n"
    "        r = %1$s.main.publish(subject = \"faultbox.hello\", data = \"hi\")\n"
    "        assert_eq(r.ok, False)\n"
    "        assert_true(\"Permissions Violation\" in r.error, r.error)\n"
    "    fault(%1$s.main, error(topic = \"faultbox.*\", message = \"Permissions Violation for Publish\"), run = body)\n\n" },
};

static void
service_decl (fb_buf *b, const fb_init_options *o, const char *name, const char *var, fb_speaks s, int port,
              bool redis_protected)
{
  fb_buf_printf (b, "%s = service(", var);
  put_str (b, name);
  fb_buf_puts (b, ", ");
  put_str (b, o->binary);
  fb_buf_printf (b, ",\n    interface(\"main\", \"%s\", %d),\n", fb_speaks_name (s), port);
  if (o->n_args || redis_protected)
    {
      if (redis_protected)
        fb_buf_puts (b, "    # redis-server refuses other hosts in protected mode; the lab is another host\n");
      fb_buf_puts (b, "    args = [");
      for (size_t i = 0; i < o->n_args; i++)
        put_str (b, o->args[i]), fb_buf_puts (b, i + 1 < o->n_args || redis_protected ? ", " : "");
      fb_buf_puts (b, redis_protected ? "\"--protected-mode\", \"no\"],\n" : "],\n");
    }
  if (s == FB_SPEAKS_TCP || s == FB_SPEAKS_HTTP)
    fb_buf_printf (b, "    # many servers take their port from the environment; drop it if not\n"
                      "    env = {\"PORT\": \"%d\"},\n"
                      "    healthcheck = tcp(\"localhost:%d\"),\n)\n\n",
                   port, port);
  else
    fb_buf_puts (b, "    # ready(): healthy once it answers its protocol\n"
                    "    healthcheck = ready(timeout = \"60s\"),\n)\n\n");
}

static char *
starter (const fb_init_options *o, const char *name, fb_speaks s, int port, bool redis_protected)
{
  _cleanup_buf_ fb_buf var = FB_BUF_INIT;
  identifier (name, &var);
  const char *v = fb_buf_str (&var);
  fb_buf b = FB_BUF_INIT;
  fb_buf_printf (&b,
                 "# A starter spec for %s, written by `faultbox init`. Run it with\n"
                 "#   faultbox test %s\n"
                 "# Each test_* function runs in a fresh lab: the service started and\n"
                 "# healthy, the body, teardown. A relative binary path is relative to\n"
                 "# this file.\n",
                 name, o->file ? o->file : "faultbox.star");
  service_decl (&b, o, name, v, s, port, redis_protected);
  fb_buf_puts (&b, "def test_starts():\n"
                   "    # the healthcheck already waited until it was ready\n"
                   "    pass\n\n"
                   "def request():\n");
  fb_buf_printf (&b, protocol_tests[s].request, v);
  fb_buf_puts (&b, "\ndef test_answers():\n    request()\n\n");
  if (protocol_tests[s].fault)
    fb_buf_printf (&b, protocol_tests[s].fault, v);
  fb_buf_printf (&b,
                 "def test_answers_with_slow_writes():\n"
                 "    # every write() and send() of %s waits 100ms while run= executes;\n"
                 "    # try write = deny(\"EIO\") to see how it copes with a failing disk\n"
                 "    fault(%s, write = delay(\"100ms\"), sendto = delay(\"100ms\"), run = request)\n",
                 name, v);
  return fb_buf_steal (&b);
}

/* Starts the binary alone in a lab and asks its port. */
static int
probe_in_lab (const fb_init_options *o, const char *name, probe_ctx *p, fb_error *err)
{
  extern char **environ;
  size_t n_env = 0;
  while (environ[n_env])
    n_env++;
  /* as the spec will: PORT in its environment */
  _cleanup_free_ char **env = fb_xcalloc (n_env + 2, sizeof *env);
  memcpy (env, environ, n_env * sizeof *env);
  _cleanup_free_ char *port_env = fb_xasprintf ("PORT=%d", p->port);
  env[n_env] = port_env;
  _cleanup_free_ char **argv = fb_xcalloc (o->n_args + 2, sizeof *argv);
  argv[0] = (char *) o->binary;
  memcpy (argv + 1, o->args, o->n_args * sizeof *argv);
  /* the spec's directory, as a test binds it: where its files are */
  _cleanup_free_ char *file = fb_xstrdup (o->file ? o->file : "faultbox.star");
  char *slash = strrchr (file, '/');
  _cleanup_free_ char *dir = realpath (slash ? (slash == file ? "/" : (*slash = '\0', file)) : ".", NULL);
  const char *binds[] = { dir, NULL };
  fb_run_lab_service svc = { .name = name, .argv = argv };
  fb_run_lab_options lo = { .services = &svc, .n_services = 1, .env = env, .in_lab = probe, .ctx = p,
                            .binds = dir ? binds : NULL };
  int status;
  return fb_run_lab (&lo, &status, err);
}

int
fb_init_spec (const fb_init_options *o, fb_init_result *out, fb_error *err)
{
  const char *name = o->name;
  char dflt[41];
  if (!name)
    {
      /* the file name up to its extension, as a service may be named */
      const char *slash = strrchr (o->binary, '/'), *base = slash ? slash + 1 : o->binary;
      size_t n = strcspn (base, ".");
      snprintf (dflt, sizeof dflt, "%.*s", (int) n, base);
      for (char *c = dflt; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
          *c = '-';
      name = dflt;
    }
  if (!*name || strpbrk (name, "\"\\\n"))
    return fb_error_set (err, EINVAL, "init: --name: \"%s\" cannot name a service", name);
  if (access (o->binary, X_OK) < 0)
    return fb_error_setsys (err, errno, "init: cannot execute %s", o->binary);
  probe_ctx p = { .o = o, .port = o->port,
                  .timeout_ms = o->probe_timeout_ms ? o->probe_timeout_ms : 30000 };
  if (o->protocol)
    {
      size_t i = 0;
      while (i <= FB_SPEAKS_NATS && strcmp (fb_speaks_name ((fb_speaks) i), o->protocol))
        i++;
      if (i > FB_SPEAKS_NATS)
        return fb_error_set (err, EINVAL,
                             "init: --protocol takes tcp, http, redis, postgres, mysql, memcached or nats, not \"%s\"",
                             o->protocol);
      p.speaks = (fb_speaks) i;
      /* the protocol's usual port (tcp: 5432, as init always said) */
      static const int ports[] = { 5432, 8080, 6379, 5432, 3306, 11211, 4222 };
      p.port = p.port ? p.port : ports[i];
    }
  else if (!p.port)
    p.port = 8080;
  if (!o->protocol && probe_in_lab (o, name, &p, err) < 0)
    return fb_error_prefix (err, "init: probing %s", o->binary);
  *out = (fb_init_result) { starter (o, name, p.speaks, p.port, p.redis_protected), fb_speaks_name (p.speaks),
                            p.probed };
  return 0;
}

void
fb_init_result_clear (fb_init_result *r)
{
  if (!r)
    return;
  free (r->spec);
  free (r->probed);
  memset (r, 0, sizeof *r);
}
