/* `faultbox help builtins [NAME | --markdown | --check]`: the spec
 * language's reference, from the table the drift test holds to what the
 * interpreter registers. */
#include "cli/commands.h"
#include "faultbox/doc.h"
#include "faultbox/engine.h"

#include <stdio.h>
#include <string.h>

int
fb_cli_help_builtins (int argc, char **argv)
{
  fb_buf out = FB_BUF_INIT;
  int ret = 0;
  if (argc > 2)
    ret = fb_cli_fail ("help builtins: one NAME, --markdown or --check");
  else if (argc < 2)
    fb_doc_index (&out);
  else if (!strcmp (argv[1], "--markdown"))
    fb_doc_markdown (&out);
  else if (!strcmp (argv[1], "--check"))
    {
      char **bad;
      fb_error err = { 0 };
      int n = fb_doc_missing (&bad, &err);
      if (n < 0)
        ret = fb_cli_fail ("help builtins: %s", err.msg);
      for (int i = 0; i < n; i++)
        fprintf (stderr, "faultbox: help builtins: %s (src/lang/builtins_doc.c)\n", bad[i]);
      fb_strv_free (bad);
      ret = n ? 1 : ret;
    }
  else if (fb_doc_find (argv[1]))
    fb_doc_text (fb_doc_find (argv[1]), &out);
  else
    ret = fb_cli_fail ("help builtins: no builtin \"%s\" (run 'faultbox help builtins')", argv[1]);
  fputs (fb_buf_str (&out), stdout);
  fb_buf_free (&out);
  return ret;
}
