#include "cli/commands.h"
#include "faultbox/report.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int
run (int argc, char **argv)
{
  static const struct option opts[] = { { NULL, 0, NULL, 0 } };
  opterr = 0;
  optind = 1;
  int c = getopt_long (argc, argv, "+:", opts, NULL);
  if (c != -1)
    return fb_cli_bad_flag ("diff", c, argv);
  if (argc - optind != 2)
    return fb_cli_fail ("diff: want two files (usage: faultbox diff A.norm B.norm)");
  _cleanup_buf_ fb_buf a = FB_BUF_INIT;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  fb_error err = { 0 };
  for (int i = optind; i < optind + 2; i++)
    if (fb_buf_read_file (i == optind ? &a : &b, argv[i], &err) < 0)
      return fb_cli_fail ("diff: cannot read %s: %s", argv[i], strerror (err.code));
  _cleanup_buf_ fb_buf d = FB_BUF_INIT;
  size_t changed = fb_report_diff (fb_buf_str (&a), fb_buf_str (&b), &d);
  if (!changed)
    {
      puts ("traces are identical");
      return 0;
    }
  printf ("traces differ (%zu line%s)\n%s", changed, changed == 1 ? "" : "s", fb_buf_str (&d));
  return 2;
}

const fb_command fb_cmd_diff = {
  .name = "diff",
  .summary = "compare two normalized traces (faultbox test --normalize)",
  .usage = "usage: faultbox diff A.norm B.norm\n\n"
           "Compares two normalized traces line by line. Prints \"traces are identical\"\n"
           "and exits 0, or \"traces differ (N lines)\" and the changed lines (- only in A,\n"
           "+ only in B) under their test and service headers, and exits 2. Exit 1 when\n"
           "a file cannot be read.\n",
  .run = run,
};
