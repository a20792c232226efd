#include "faultbox/report.h"
#include "faultbox/buf.h"

#include <string.h>
#include <time.h>

static void
classname (fb_buf *out, const char *star_file)
{
  const char *base = strrchr (star_file, '/');
  base = base ? base + 1 : star_file;
  size_t n = strlen (base);
  if (n > 5 && strcmp (base + n - 5, ".star") == 0)
    n -= 5;
  fb_buf_append (out, base, n);
}

/* The services' log tails, in the testcase's <system-out>. */
static void
system_out (fb_buf *out, const fb_test_result *t)
{
  fb_buf_puts (out, "      <system-out>");
  for (size_t i = 0; i < t->n_logs; i++)
    {
      const fb_service_log *l = &t->logs[i];
      fb_buf_puts (out, "--- ");
      fb_buf_put_markup (out, l->service);
      fb_buf_puts (out, l->cut ? " (last lines) ---\n" : " ---\n");
      fb_buf_put_markup (out, l->tail);
      if (*l->tail && l->tail[strlen (l->tail) - 1] != '\n')
        fb_buf_putc (out, '\n');
    }
  fb_buf_puts (out, "</system-out>\n");
}

void
fb_report_junit (const fb_report *r, fb_buf *out)
{
  size_t failures = 0, errors = 0, skipped = fb_report_inconclusive (r) + fb_report_halted (r);
  for (size_t i = 0; i < r->n_tests; i++)
    {
      failures += r->tests[i].result == FB_RESULT_FAIL;
      errors += r->tests[i].result == FB_RESULT_ERROR;
    }
  fb_buf cls = FB_BUF_INIT;
  classname (&cls, r->star_file ? r->star_file : "spec");
  /* the schema wants a local time without a zone: ours is UTC */
  time_t start = r->start_time ? (time_t) r->start_time : time (NULL);
  struct tm tm;
  char stamp[32];
  strftime (stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", gmtime_r (&start, &tm));
  fb_buf_puts (out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"");
  fb_buf_put_markup (out, r->star_file ? r->star_file : "spec");
  fb_buf_printf (out, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\" timestamp=\"%s\" hostname=\"",
                 r->n_tests, failures, errors, skipped, (double) r->duration_ms / 1000.0, stamp);
  fb_buf_put_markup (out, r->hostname && *r->hostname ? r->hostname : "localhost");
  fb_buf_puts (out, "\" id=\"0\" package=\"");
  fb_buf_put_markup (out, fb_buf_str (&cls));
  fb_buf_puts (out, "\">\n    <properties>\n      <property name=\"faultbox.version\" value=\"" FB_VERSION "\"/>\n"
                    "    </properties>\n");
  for (size_t i = 0; i < r->n_tests; i++)
    {
      const fb_test_result *t = &r->tests[i];
      fb_buf_puts (out, "    <testcase classname=\"");
      fb_buf_put_markup (out, fb_buf_str (&cls));
      fb_buf_puts (out, "\" name=\"");
      fb_buf_put_markup (out, t->name);
      fb_buf_printf (out, "\" time=\"%.3f\"", (double) t->duration_ms / 1000.0);
      if (t->result == FB_RESULT_PASS && !t->n_logs)
        {
          fb_buf_puts (out, "/>\n");
          continue;
        }
      fb_buf_puts (out, ">\n");
      if (t->result == FB_RESULT_INCONCLUSIVE || t->result == FB_RESULT_HALTED)
        {
          /* neither passed nor failed: JUnit's nearest is a skip */
          fb_buf_printf (out, "      <skipped message=\"%s: ",
                         t->result == FB_RESULT_HALTED ? "halted" : "inconclusive");
          fb_buf_put_markup (out, t->reason);
          fb_buf_puts (out, "\"/>\n");
        }
      else if (t->result != FB_RESULT_PASS)
        {
          const char *tag = t->result == FB_RESULT_ERROR ? "error" : "failure";
          fb_buf_printf (out, "      <%s message=\"", tag);
          fb_buf_put_markup (out, t->reason);
          fb_buf_printf (out, "\" type=\"%s\">", t->failure_type ? t->failure_type : "assertion");
          fb_buf_put_markup (out, t->reason);
          fb_buf_puts (out, "\nreplay: ");
          fb_buf cmd = FB_BUF_INIT;
          fb_report_replay_command (r, t, &cmd);
          fb_buf_put_markup (out, fb_buf_str (&cmd));
          fb_buf_free (&cmd);
          fb_buf_printf (out, "</%s>\n", tag);
        }
      if (t->n_logs)
        system_out (out, t);
      fb_buf_puts (out, "    </testcase>\n");
    }
  /* the schema has the suite's own output follow its testcases */
  fb_buf_puts (out, "    <system-out/>\n    <system-err/>\n  </testsuite>\n</testsuites>\n");
  fb_buf_free (&cls);
}
