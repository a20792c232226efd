#include "cli/commands.h"
#include "faultbox/runner.h"
#include "util/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int
run (int argc, char **argv)
{
  fb_init_options o = { 0 };
  const char *output = "faultbox.star";
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
  /* "+": the binary's own arguments follow it untouched */
  while ((c = getopt_long (argc, argv, "+:", opts, NULL)) != -1)
    switch (c)
      {
      case 'n': o.name = optarg; break;
      case 'p':
        if (fb_parse_int (optarg, 1, 65535, &port, &err) < 0)
          return fb_cli_fail ("init: --port: %s", err.msg);
        break;
      case 'P': o.protocol = optarg; break;
      case 'o': output = optarg; break;
      default:
        return fb_cli_bad_flag ("init", c, argv);
      }
  if (optind >= argc)
    return fb_cli_fail ("init: want a binary (faultbox init [--name N] [--port P] BINARY [ARGS...])");
  o.binary = argv[optind];
  o.args = argv + optind + 1;
  o.n_args = (size_t) (argc - optind - 1);
  o.port = (int) port;
  bool to_stdout = !strcmp (output, "-");
  o.file = to_stdout ? "faultbox.star" : output;
  /* created first, before a probe's wait: never overwrite a spec someone
   * already edited */
  FILE *f = to_stdout ? stdout : NULL;
  if (!f)
    {
      int fd = open (output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0 || !(f = fdopen (fd, "w")))
        return fb_cli_fail ("init: cannot create %s: %m", output);
    }
  fb_init_result r = { 0 };
  if (fb_init_spec (&o, &r, &err) < 0)
    {
      if (!to_stdout)
        fclose (f), unlink (output);
      return fb_cli_fail ("%s", err.msg);
    }
  if (r.probed)
    fprintf (to_stdout ? stderr : stdout, "%s speaks %s (%s)\n", o.binary, r.protocol, r.probed);
  fputs (r.spec, f);
  fb_init_result_clear (&r);
  if (!to_stdout && fclose (f) != 0)
    return fb_cli_fail ("init: cannot write %s: %m", output);
  if (!to_stdout)
    printf ("wrote %s; run it with: faultbox test %s\n", output, output);
  return 0;
}

const fb_command fb_cmd_init = {
  .name = "init",
  .summary = "write a starter spec for one service",
  .usage = "usage: faultbox init [flags] BINARY [ARGS...]\n\n"
           "Writes a spec that runs as written: BINARY (with ARGS) as one service, a\n"
           "test that it starts, one that sends it a request, one under a protocol\n"
           "fault and one under a syscall fault. Unless --protocol says, BINARY runs\n"
           "in a lab (root) and its port is asked what it speaks: MySQL, NATS, RESP\n"
           "(redis), HTTP, Postgres, memcached, else plain TCP. Edit it from there.\n"
           "Refuses to overwrite a file.\n\n"
           "  --name N             the service's name (default: the binary's file name)\n"
           "  --port P             the port it listens on (default 8080; with --protocol\n"
           "                       its usual one: redis 6379, postgres and tcp 5432, mysql 3306,\n"
           "                       memcached 11211, nats 4222)\n"
           "  --protocol P         tcp, http, redis, postgres, mysql, memcached or nats: skip the probe\n"
           "  --output FILE        where to write (default faultbox.star; - for stdout)\n",
  .run = run,
  .sandbox = true,
};
