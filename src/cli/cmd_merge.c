#include "cli/commands.h"
#include "cli/report_out.h"
#include "faultbox/report.h"
#include "faultbox/buf.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int
run (int argc, char **argv)
{
  const char *format = "text", *output = NULL, *junit = NULL, *html = NULL;
  static const struct option opts[] = {
    { "format", required_argument, NULL, 'f' },
    { "output", required_argument, NULL, 'o' },
    { "junit", required_argument, NULL, 'J' },
    { "html", required_argument, NULL, 'H' },
    { NULL, 0, NULL, 0 },
  };
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long (argc, argv, ":", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        if (strcmp (optarg, "text") && strcmp (optarg, "json"))
          return fb_cli_fail ("merge: --format takes text or json, not \"%s\"", optarg);
        format = optarg;
        break;
      case 'o': output = optarg; break;
      case 'J': junit = optarg; break;
      case 'H': html = optarg; break;
      default:
        return fb_cli_bad_flag ("merge", c, argv);
      }
  if (optind == argc)
    return fb_cli_fail ("merge: no reports given (faultbox merge report-*.json)");
  fb_report all = { 0 };
  fb_error err = { 0 };
  for (int i = optind; i < argc; i++)
    {
      _cleanup_buf_ fb_buf text = FB_BUF_INIT;
      fb_report one = { 0 };
      int rc = fb_buf_read_file (&text, argv[i], &err) < 0 ? -1
               : fb_report_from_json (fb_buf_str (&text), &one, &err) < 0 ? -1
               : fb_report_merge (&all, &one, &err);
      fb_report_free (&one);
      if (rc < 0)
        {
          fb_report_free (&all);
          return fb_cli_fail ("merge: %s: %s", argv[i], err.msg);
        }
    }
  bool json = !strcmp (format, "json");
  FILE *human = json ? stderr : stdout;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  for (size_t i = 0; i < all.n_tests; i++)
    fb_report_text_test (&all, &all.tests[i], &b);
  fputs (fb_buf_str (&b), human);
  fb_cli_report_out ro = { .cmd = "merge", .json = json, .output = output, .junit = junit, .html = html, .human = human };
  int ret = fb_cli_report_finish (&all, &ro);
  fb_report_free (&all);
  return ret;
}

const fb_command fb_cmd_merge = {
  .name = "merge",
  .summary = "combine the JSON reports of shards into one report",
  .usage = "usage: faultbox merge [flags] REPORT.json...\n\n"
           "Reads the JSON reports (faultbox test --shard I/N --output F) of the shards of\n"
           "one spec and prints them as one run would: each test in name order, then the\n"
           "summary. A test found in two reports, or reports of different specs, is an error.\n"
           "Exit: 0 all passed, 1 a report cannot be read (named), 2 a test failed or did\n"
           "not run.\n\n"
           "  --format json    the merged JSON report on stdout; human output on stderr\n"
           "  --output FILE    also write the merged JSON report to FILE\n"
           "  --junit FILE     write a JUnit XML report\n"
           "  --html FILE      write a self-contained HTML report\n",
  .run = run,
};
