#include "cli/report_out.h"
#include "cli/commands.h"
#include "faultbox/buf.h"

static int
write_file (const char *path, const fb_buf *b)
{
  FILE *f = fopen (path, "we");
  if (!f)
    return -1;
  fwrite (fb_buf_str (b), 1, b->len, f);
  return fclose (f);
}

/* Writes render's output to path, when one is given; 1 (said) when it
 * cannot. */
static int
render_to (const fb_cli_report_out *ro, const char *path, void (*render) (const fb_report *, fb_buf *),
           const fb_report *rep)
{
  if (!path)
    return 0;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  render (rep, &b);
  if (write_file (path, &b) < 0)
    return fb_cli_fail ("%s: cannot write %s: %m", ro->cmd, path);
  return 0;
}

int
fb_cli_report_finish (const fb_report *rep, const fb_cli_report_out *ro)
{
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  fb_report_text_matrix (rep, &b);
  fb_report_text_summary (rep, &b);
  if (ro->interrupted || rep->not_run)
    fb_buf_printf (&b, "interrupted: %zu test%s not run\n", rep->not_run, rep->not_run == 1 ? "" : "s");
  fputs (fb_buf_str (&b), ro->human);
  fflush (ro->human);
  /* failures win; else an inconclusive test() is exit 3 (Faultbox's code) */
  int ret = fb_report_failed (rep) || rep->not_run ? 2 : fb_report_inconclusive (rep) ? 3 : 0;
  _cleanup_buf_ fb_buf j = FB_BUF_INIT;
  fb_error err = { 0 };
  if ((ro->json || ro->output) && fb_report_json (rep, &j, &err) < 0)
    ret = fb_cli_fail ("%s: %s", ro->cmd, err.msg);
  if (ro->json)
    fputs (fb_buf_str (&j), stdout);
  if (ro->output && write_file (ro->output, &j) < 0)
    ret = fb_cli_fail ("%s: cannot write %s: %m", ro->cmd, ro->output);
  int wrote = render_to (ro, ro->normalize, fb_report_normalize, rep);
  wrote |= render_to (ro, ro->junit, fb_report_junit, rep);
  wrote |= render_to (ro, ro->html, fb_report_html, rep);
  wrote |= render_to (ro, ro->shiviz, fb_report_shiviz, rep);
  return wrote ? wrote : ret;
}
