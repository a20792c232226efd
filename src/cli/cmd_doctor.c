#include "cli/commands.h"
#include "faultbox/features.h"

#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

static int
print_json (const fb_features *f)
{
  json_object *root = json_object_new_object ();
  json_object *arr = json_object_new_array ();
  for (int i = 0; i < FB_FEAT_COUNT; i++)
    {
      const fb_feature *it = &f->items[i];
      json_object *o = json_object_new_object ();
      json_object_object_add (o, "name", json_object_new_string (it->name));
      json_object_object_add (o, "ok", json_object_new_boolean (it->ok));
      json_object_object_add (o, "required", json_object_new_boolean (it->required));
      json_object_object_add (o, "used_for", json_object_new_string (it->what));
      json_object_object_add (o, "detail", json_object_new_string (it->detail));
      json_object_array_add (arr, o);
    }
  json_object_object_add (root, "version", json_object_new_string (FB_VERSION));
  json_object_object_add (root, "core_ok", json_object_new_boolean (fb_features_core_ok (f)));
  json_object_object_add (root, "features", arr);
  puts (json_object_to_json_string_ext (root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (root);
  return 0;
}

static void
print_text (const fb_features *f)
{
  for (int i = 0; i < FB_FEAT_COUNT; i++)
    {
      const fb_feature *it = &f->items[i];
      printf ("%-8s %-28s %s%s\n", it->ok ? "ok" : "missing", it->name, it->detail,
              !it->ok && it->required ? "  [required]" : "");
    }
  if (fb_features_core_ok (f))
    puts ("\nfaultbox can run here.");
  else
    puts ("\nfaultbox cannot run here: a required feature is missing.");
}

static int
run (int argc, char **argv)
{
  const char *format = "text";
  static const struct option opts[] = {
    { "format", required_argument, NULL, 'f' },
    { NULL, 0, NULL, 0 },
  };
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long (argc, argv, "+:", opts, NULL)) != -1)
    {
      if (c == 'f')
        format = optarg;
      else
        return fb_cli_bad_flag ("doctor", c, argv);
    }
  if (optind < argc)
    return fb_cli_fail ("doctor: unexpected argument \"%s\"", argv[optind]);
  if (strcmp (format, "text") != 0 && strcmp (format, "json") != 0)
    return fb_cli_fail ("doctor: unknown format \"%s\" (text or json)", format);

  fb_features f;
  fb_error err = { 0 };
  if (fb_features_probe (&f, &err) < 0)
    return fb_cli_fail ("doctor: %s", err.msg);
  if (strcmp (format, "json") == 0)
    print_json (&f);
  else
    print_text (&f);
  return fb_features_core_ok (&f) ? 0 : 1;
}

const fb_command fb_cmd_doctor = {
  .name = "doctor",
  .summary = "report what this kernel and machine offer faultbox",
  .usage = "usage: faultbox doctor [--format text|json]\n\n"
           "Probes namespaces, seccomp user notification, cgroups, veth, bridge,\n"
           "qdiscs (netem, htb) and nftables, each as ok or missing with the reason.\n"
           "Exits 0 when everything the core needs is present, 1 otherwise.\n",
  .run = run,
  .sandbox = true,
};
