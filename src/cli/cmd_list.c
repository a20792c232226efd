#include "cli/commands.h"
#include "faultbox/runner.h"
#include "util/parse.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
run (int argc, char **argv)
{
  fb_test_options o = { 0 };
  bool json = false;
  static const struct option opts[] = {
    { "format", required_argument, NULL, 'f' },
    { "test", required_argument, NULL, 't' },
    { "shard", required_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  opterr = 0;
  optind = 1;
  int c;
  fb_error err = { 0 };
  while ((c = getopt_long (argc, argv, ":", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        if (strcmp (optarg, "text") && strcmp (optarg, "json"))
          return fb_cli_fail ("list: --format takes text or json, not \"%s\"", optarg);
        json = !strcmp (optarg, "json");
        break;
      case 't': o.filter = optarg; break;
      case 'h':
        if (fb_parse_shard (optarg, &o.shard, &o.shards, &err) < 0)
          return fb_cli_fail ("list: --shard: %s", err.msg);
        break;
      default:
        return fb_cli_bad_flag ("list", c, argv);
      }
  if (optind + 1 != argc)
    return fb_cli_fail ("list: want one spec file (faultbox list SPEC.star)");
  const char *file = argv[optind];
  fb_spec *spec;
  if (fb_spec_load_source (&(fb_spec_source) { .path = file, .print = fb_cli_print_stderr }, &spec, &err) < 0)
    {
      fprintf (stderr, "%s\n", err.msg);
      return 1;
    }
  size_t *sel, n;
  if (fb_run_select (spec, &o, &sel, &n, &err) < 0)
    {
      fb_spec_free (spec);
      return fb_cli_fail ("list: %s", err.msg);
    }
  if (json)
    {
      json_object *root = json_object_new_object ();
      json_object *tests = json_object_new_array ();
      json_object_object_add (root, "star_file", json_object_new_string (file));
      for (size_t i = 0; i < n; i++)
        json_object_array_add (tests, json_object_new_string (fb_spec_test_name (spec, sel[i])));
      json_object_object_add (root, "tests", tests);
      puts (json_object_to_json_string_ext (root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
      json_object_put (root);
    }
  else
    for (size_t i = 0; i < n; i++)
      puts (fb_spec_test_name (spec, sel[i]));
  free (sel);
  fb_spec_free (spec);
  return 0;
}

const fb_command fb_cmd_list = {
  .name = "list",
  .summary = "list a spec's tests and matrix cells without running them",
  .usage = "usage: faultbox list [flags] SPEC.star\n\n"
           "Loads SPEC and prints the tests (fault matrix cells included) that\n"
           "faultbox test would run, one per line in run order. Starts nothing.\n\n"
           "  --test PATTERN   only those --test PATTERN selects\n"
           "  --shard I/N      only those --shard I/N runs\n"
           "  --format json    {\"star_file\": ..., \"tests\": [...]} instead\n",
  .run = run,
};
