#include "cli/report_out.h"
#include "cli/commands.h"
#include "util/buf.h"

static int
write_file (const char *path, const fb_buf *b)
{
  FILE *f = fopen (path, "we");
  if (!f)
    return -1;
  fwrite (fb_buf_str (b), 1, b->len, f);
  return fclose (f);
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
  int ret = fb_report_failed (rep) || rep->not_run ? 2 : 0;
  _cleanup_buf_ fb_buf j = FB_BUF_INIT;
  fb_error err = { 0 };
  if ((ro->json || ro->output) && fb_report_json (rep, &j, &err) < 0)
    ret = fb_cli_fail ("%s: %s", ro->cmd, err.msg);
  if (ro->json)
    fputs (fb_buf_str (&j), stdout);
  if (ro->output && write_file (ro->output, &j) < 0)
    ret = fb_cli_fail ("%s: cannot write %s: %m", ro->cmd, ro->output);
  const struct {
    const char *path;
    void (*render) (const fb_report *, fb_buf *);
  } files[] = {
    { ro->normalize, fb_report_normalize },
    { ro->junit, fb_report_junit },
    { ro->shiviz, fb_report_shiviz },
  };
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    {
      const char *path = files[i].path;
      if (!path)
        continue;
      _cleanup_buf_ fb_buf x = FB_BUF_INIT;
      files[i].render (rep, &x);
      if (write_file (path, &x) < 0)
        ret = fb_cli_fail ("%s: cannot write %s: %m", ro->cmd, path);
    }
  return ret;
}
