/* libFuzzer target: the --fault mini-syntax and the path globs it carries. */
#include "faultbox/engine.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);
  memcpy (s, data, size);
  s[size] = '\0';
  fb_rule r;
  fb_error err = { 0 };
  if (fb_rule_parse (s, &r, &err) == 0)
    {
      char buf[64];
      fb_rule_describe_action (&r, buf, sizeof buf);
      fb_rule_clear (&r);
    }
  /* glob \n path */
  char *nl = strchr (s, '\n');
  if (nl)
    {
      *nl = '\0';
      fb_path_glob_match (s, nl + 1);
    }
  free (s);
  return 0;
}
