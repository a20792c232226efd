#include "cli/commands.h"
#include "util/buf.h"
#include "util/parse.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A Starlark identifier for the service's variable: "mock-db" -> mock_db. */
static void
identifier (const char *name, fb_buf *out)
{
  if (isdigit ((unsigned char) *name))
    fb_buf_putc (out, '_');
  for (const char *p = name; *p; p++)
    fb_buf_putc (out, isalnum ((unsigned char) *p) ? *p : '_');
}

static void
starter (fb_buf *b, const char *file, const char *name, const char *var, const char *binary, bool http,
         long long port)
{
  fb_buf_printf (b,
                 "# A starter spec for %s, written by `faultbox init`. Run it with\n"
                 "#   faultbox test %s\n"
                 "# Each test_* function runs in a fresh lab: the service started and\n"
                 "# healthy, the body, teardown. A relative binary path is relative to\n"
                 "# this file.\n"
                 "%s = service(\"%s\", \"%s\",\n"
                 "    interface(\"main\", \"%s\", %lld),\n"
                 "    # many servers take their port from the environment; drop it if not\n"
                 "    env = {\"PORT\": \"%lld\"},\n"
                 "    healthcheck = tcp(\"localhost:%lld\"),\n"
                 ")\n\n"
                 "def test_starts():\n"
                 "    # the healthcheck already waited until the port accepted a connection\n"
                 "    pass\n\n",
                 name, file, var, name, binary, http ? "http" : "tcp", port, port, port);
  if (http)
    fb_buf_printf (b,
                   "def request():\n"
                   "    resp = %s.main.get(path = \"/\")\n"
                   "    assert_true(resp.status < 500, \"GET / answered %%d\" %% resp.status)\n\n",
                   var);
  else
    fb_buf_printf (b,
                   "def request():\n"
                   "    # one line out, one line back: replace with your protocol's request\n"
                   "    %s.main.send(data = \"PING\")\n\n",
                   var);
  fb_buf_printf (b,
                 "def test_answers():\n"
                 "    request()\n\n"
                 "def test_answers_with_slow_writes():\n"
                 "    # every write() and send() of %s waits 100ms while run= executes;\n"
                 "    # try write = deny(\"EIO\") to see how it copes with a failing disk\n"
                 "    fault(%s, write = delay(\"100ms\"), sendto = delay(\"100ms\"), run = request)\n",
                 name, var);
}

static int
run (int argc, char **argv)
{
  const char *name = NULL, *protocol = "http", *output = "faultbox.star";
  long long port = 0;
  static const struct option opts[] = {
    { "name", required_argument, NULL, 'n' },
    { "port", required_argument, NULL, 'p' },
    { "protocol", required_argument, NULL, 'P' },
    { "output", required_argument, NULL, 'o' },
    { NULL, 0, NULL, 0 },
  };
  opterr = 0;
  optind = 1;
  int c;
  fb_error err = { 0 };
  while ((c = getopt_long (argc, argv, ":", opts, NULL)) != -1)
    switch (c)
      {
      case 'n': name = optarg; break;
      case 'p':
        if (fb_parse_int (optarg, 1, 65535, &port, &err) < 0)
          return fb_cli_fail ("init: --port: %s", err.msg);
        break;
      case 'P':
        if (strcmp (optarg, "http") && strcmp (optarg, "tcp"))
          return fb_cli_fail ("init: --protocol takes http or tcp, not \"%s\"", optarg);
        protocol = optarg;
        break;
      case 'o': output = optarg; break;
      default:
        return fb_cli_bad_flag ("init", c, argv);
      }
  if (optind + 1 != argc)
    return fb_cli_fail ("init: want one binary (faultbox init [--name N] [--port P] BINARY)");
  const char *binary = argv[optind];
  if (access (binary, X_OK) < 0)
    return fb_cli_fail ("init: cannot execute %s: %m", binary);
  bool http = !strcmp (protocol, "http");
  if (!port)
    port = http ? 8080 : 5432;
  if (!name)
    {
      const char *slash = strrchr (binary, '/');
      name = slash ? slash + 1 : binary;
    }
  if (!*name || strpbrk (name, "\"\\\n"))
    return fb_cli_fail ("init: --name: \"%s\" cannot name a service", name);
  _cleanup_buf_ fb_buf var = FB_BUF_INIT, spec = FB_BUF_INIT;
  identifier (name, &var);
  bool to_stdout = !strcmp (output, "-");
  starter (&spec, to_stdout ? "faultbox.star" : output, name, fb_buf_str (&var), binary, http, port);
  if (to_stdout)
    {
      fputs (fb_buf_str (&spec), stdout);
      return 0;
    }
  /* never overwrite a spec someone already edited */
  int fd = open (output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return fb_cli_fail ("init: cannot create %s: %m", output);
  FILE *f = fdopen (fd, "w");
  fputs (fb_buf_str (&spec), f);
  if (fclose (f) != 0)
    return fb_cli_fail ("init: cannot write %s: %m", output);
  printf ("wrote %s; run it with: faultbox test %s\n", output, output);
  return 0;
}

const fb_command fb_cmd_init = {
  .name = "init",
  .summary = "write a starter spec for one service",
  .usage = "usage: faultbox init [flags] BINARY\n\n"
           "Writes a spec that runs as written: BINARY as one service with a TCP\n"
           "healthcheck, a test that it starts, one that sends it a request, and one\n"
           "under a syscall fault. Edit it from there. Refuses to overwrite a file.\n\n"
           "  --name N             the service's name (default: the binary's file name)\n"
           "  --port P             the port it listens on (default 8080 http, 5432 tcp)\n"
           "  --protocol http|tcp  how tests talk to it (default http)\n"
           "  --output FILE        where to write (default faultbox.star; - for stdout)\n",
  .run = run,
};
