/* `--shiviz FILE`: the event logs as a ShiViz input file, so a run's
 * causality can be looked at as a space-time diagram. The file format is
 * ShiViz's: the first line the parsing regex, the second the delimiter of
 * executions (one per test), then per event two lines, the description and
 * "<host> <vector clock as JSON>". ShiViz wants every host's own component
 * to start at 1 and grow by one per event, which is how the runner ticks
 * clocks (src/lang/faults.c). */
#include "faultbox/report.h"
#include "faultbox/buf.h"

#include <string.h>

/* one line, no newlines, JSON-safe where it lands inside the clock */
static void
put_clean (fb_buf *out, const char *s)
{
  for (; s && *s; s++)
    fb_buf_putc (out, *s == '\n' || *s == '\r' ? ' ' : *s);
}

static void
put_json_string (fb_buf *out, const char *s)
{
  fb_buf_putc (out, '"');
  for (; s && *s; s++)
    {
      unsigned char c = (unsigned char) *s;
      if (c == '"' || c == '\\')
        fb_buf_printf (out, "\\%c", c);
      else if (c < 0x20)
        fb_buf_printf (out, "\\u%04x", c);
      else
        fb_buf_putc (out, (char) c);
    }
  fb_buf_putc (out, '"');
}

static void
event_lines (const fb_event *ev, fb_buf *out)
{
  fb_event_kind (ev, out);
  static const char *const keys[] = { "decision", "errno", "label", "path", "addr", "target", "reason" };
  for (size_t k = 0; k < sizeof keys / sizeof *keys; k++)
    {
      const char *v = fb_event_get (ev, keys[k]);
      if (v && *v)
        {
          fb_buf_printf (out, " %s=", keys[k]);
          put_clean (out, v);
        }
    }
  fb_buf_putc (out, '\n');
  put_clean (out, ev->service && *ev->service ? ev->service : "test");
  fb_buf_puts (out, " {");
  for (size_t k = 0; k < ev->n_clock; k++)
    {
      if (k)
        fb_buf_puts (out, ", ");
      put_json_string (out, ev->clock[k].service);
      fb_buf_printf (out, ": %llu", (unsigned long long) ev->clock[k].n);
    }
  fb_buf_puts (out, "}\n");
}

void
fb_report_shiviz (const fb_report *r, fb_buf *out)
{
  fb_buf_puts (out, "(?<event>.*)\\n(?<host>\\S*) (?<clock>{.*})\n");
  fb_buf_puts (out, "^=== (?<trace>.*) ===$\n");
  for (size_t i = 0; i < r->n_tests; i++)
    {
      const fb_test_result *t = &r->tests[i];
      fb_buf_printf (out, "=== %s ===\n", t->name);
      for (size_t e = 0; e < t->n_events; e++)
        if (t->events[e].n_clock)
          event_lines (&t->events[e], out);
    }
}
