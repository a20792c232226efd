#include "faultbox/report.h"
#include "faultbox/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <string.h>

static void __attribute__ ((format (printf, 2, 3)))
escf (fb_buf *out, const char *fmt, ...)
{
  fb_buf b = FB_BUF_INIT;
  va_list ap;
  va_start (ap, fmt);
  fb_buf_vprintf (&b, fmt, ap);
  va_end (ap);
  fb_buf_put_markup (out, fb_buf_str (&b));
  fb_buf_free (&b);
}

static void
put_ms (fb_buf *out, int64_t ms)
{
  if (ms < 1000)
    fb_buf_printf (out, "%lld ms", (long long) ms);
  else
    fb_buf_printf (out, "%.2f s", (double) ms / 1000.0);
}

static const char *const result_class[] = { [FB_RESULT_PASS] = "pass", [FB_RESULT_FAIL] = "fail",
                                             [FB_RESULT_ERROR] = "error",
                                             [FB_RESULT_INCONCLUSIVE] = "inconclusive",
                                             [FB_RESULT_HALTED] = "halted" };
static const char *const result_word[] = { [FB_RESULT_PASS] = "PASS", [FB_RESULT_FAIL] = "FAIL",
                                           [FB_RESULT_ERROR] = "ERROR",
                                           [FB_RESULT_INCONCLUSIVE] = "INCONCLUSIVE",
                                           [FB_RESULT_HALTED] = "HALTED" };

/* The grid's PASS green and FAIL red are used nowhere else on the page, so
 * a screenshot's pixels of them are the grid's. CSP forbids every fetch:
 * even markup that slipped through could load nothing. */
static const char page_head[] =
  "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
  "<style>\n"
  ":root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa}\n"
  "*{box-sizing:border-box}\n"
  "body{margin:0;color:var(--ink);background:#fff;font:14px/1.5 system-ui,-apple-system,'Segoe UI',"
  "Roboto,'DejaVu Sans',sans-serif}\n"
  "main{max-width:1160px;margin:0 auto;padding:20px 28px 48px}\n"
  "h1{font-size:22px;margin:0}h1 span{color:var(--muted);font-weight:400}\n"
  "h2{font-size:17px;margin:28px 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line)}\n"
  "h2 small{color:var(--muted);font-weight:400;font-size:14px;margin-left:8px}\n"
  "code,pre{font-family:ui-monospace,'DejaVu Sans Mono',Menlo,monospace;font-size:12.5px}\n"
  ".stats{display:flex;flex-wrap:wrap;gap:12px;margin-top:14px}\n"
  ".stat{border:1px solid var(--line);border-radius:8px;background:var(--soft);padding:8px 18px;min-width:120px}\n"
  ".stat b{display:block;font-size:22px;line-height:1.3}.stat span{color:var(--muted);font-size:12px}\n"
  ".stat.ok b{color:#1a7f37}.stat.bad b{color:#d1242f}\n"
  ".scroll{overflow-x:auto}table.grid{border-collapse:separate;border-spacing:5px;margin-left:-5px}\n"
  ".grid th{padding:4px 10px;font-weight:600;white-space:nowrap}\n"
  ".grid thead th{text-align:center;font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:13px}\n"
  ".grid tbody th{text-align:right;font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:13px}\n"
  ".cell{min-width:150px;height:52px;border-radius:6px;text-align:center;font-weight:700;padding:0}\n"
  ".cell a{display:block;padding:7px 12px;color:inherit;text-decoration:none}\n"
  ".cell small{display:block;font-weight:400;font-size:12px}\n"
  ".cell.pass{background:#2da44e;color:#fff}.cell.fail,.cell.error{background:#cf222e;color:#fff}.cell.inconclusive,.cell.halted{background:#9a6700;color:#fff}\n"
  ".cell.none{background:#e6eaef;color:#6e7781}\n"
  "details.test{border:1px solid var(--line);border-radius:8px;margin:10px 0}\n"
  "details.test>summary{cursor:pointer;padding:9px 14px;display:flex;align-items:center;gap:10px}\n"
  "details.test[open]>summary{border-bottom:1px solid var(--line);background:var(--soft);"
  "border-radius:8px 8px 0 0}\n"
  "summary code{font-size:13.5px;font-weight:600}summary .meta{color:var(--muted);margin-left:auto}\n"
  ".badge{font-size:11.5px;font-weight:700;border-radius:10px;padding:1px 9px;color:#fff}\n"
  ".badge.pass{background:#1a7f37}.badge.fail{background:#d1242f}.badge.error,.badge.inconclusive,.badge.halted{background:#9a6700}\n"
  ".body{padding:10px 16px 14px}.row{display:flex;align-items:center;gap:6px;margin:4px 0}.row pre{flex:1}\n"
  ".k{color:var(--muted);flex:none;width:56px}\n"
  ".reason{background:#ffebe9;border:1px solid #ffcecb;border-radius:6px;padding:8px 12px;"
  "white-space:pre-wrap;word-break:break-word;margin:6px 0}\n"
  "pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:7px 12px;margin:6px 0;"
  "white-space:pre-wrap;word-break:break-all}\n"
  "ul.rules{margin:6px 0;padding-left:20px}ul.rules li{font-family:ui-monospace,'DejaVu Sans Mono',monospace;"
  "font-size:12.5px}.hint{color:#9a6700}\n"
  "svg.tl{width:100%;height:auto;display:block;margin:8px 0 2px}\n"
  "svg.tl text{font-family:system-ui,'DejaVu Sans',sans-serif;font-size:11px;fill:var(--muted)}\n"
  "svg.tl text.lane{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12px;fill:var(--ink)}\n"
  ".note{color:var(--muted);font-size:12.5px;margin:2px 0}\n"
  "table.faults{border-collapse:collapse;font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:12px;"
  "margin-top:6px}\n"
  "details.list>summary{cursor:pointer;color:var(--muted);font-size:12.5px;margin-top:4px}\n"
  ".faults td{padding:1px 14px 1px 0;white-space:nowrap}\n"
  ".legend{color:var(--muted);font-size:12.5px;margin-top:4px}\n"
  ".sw{display:inline-block;width:11px;height:11px;border-radius:2px;vertical-align:-1px;margin:0 4px 0 12px}\n"
  "</style>\n";

/* ---- summary and grid ---- */

static void
stat (fb_buf *out, const char *cls, const char *value, const char *what)
{
  fb_buf_printf (out, "<div class=\"stat%s%s\"><b>", *cls ? " " : "", cls);
  fb_buf_put_markup (out, value);
  fb_buf_printf (out, "</b><span>%s</span></div>\n", what);
}

static void
summary (const fb_report *r, fb_buf *out)
{
  fb_buf_puts (out, "<h1>Faultbox report <span>");
  fb_buf_put_markup (out, r->star_file);
  fb_buf_puts (out, "</span></h1>\n<div class=\"stats\">\n");
  char v[64];
  size_t failed = fb_report_failed (r);
  snprintf (v, sizeof v, "%zu", fb_report_passed (r));
  stat (out, "ok", v, "passed");
  snprintf (v, sizeof v, "%zu", failed);
  stat (out, failed ? "bad" : "", v, "failed");
  if (r->not_run)
    {
      snprintf (v, sizeof v, "%zu", r->not_run);
      stat (out, "bad", v, "not run");
    }
  fb_buf d = FB_BUF_INIT;
  put_ms (&d, r->duration_ms);
  stat (out, "", fb_buf_str (&d), "duration");
  fb_buf_free (&d);
  /* --runs gives tests a range of seeds */
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < r->n_tests; i++)
    {
      lo = r->tests[i].seed < lo ? r->tests[i].seed : lo;
      hi = r->tests[i].seed > hi ? r->tests[i].seed : hi;
    }
  if (!r->n_tests)
    snprintf (v, sizeof v, "-");
  else if (lo == hi)
    snprintf (v, sizeof v, "%llu", (unsigned long long) lo);
  else
    snprintf (v, sizeof v, "%llu–%llu", (unsigned long long) lo, (unsigned long long) hi);
  stat (out, "", v, lo == hi ? "seed" : "seeds");
  fb_buf_puts (out, "</div>\n");
}

static void
test_anchor (fb_buf *out, const fb_test_result *t)
{
  fb_buf_puts (out, "t-");
  fb_buf_put_markup (out, t->name);
}

static void
grid_cell (fb_buf *out, const fb_test_result *t)
{
  if (!t)
    {
      fb_buf_puts (out, "<td class=\"cell none\">—<small>not run</small></td>");
      return;
    }
  fb_buf_printf (out, "<td class=\"cell %s\"><a href=\"#", result_class[t->result]);
  test_anchor (out, t);
  fb_buf_printf (out, "\">%s<small>", result_word[t->result]);
  put_ms (out, t->duration_ms);
  fb_buf_puts (out, "</small></a></td>");
}

static void
grid (const fb_report *r, fb_buf *out)
{
  size_t ns = r->n_matrix_scenarios, nf = r->n_matrix_faults, cells = 0, passed = 0;
  if (!ns || !nf)
    return;
  for (size_t s = 0; s < ns; s++)
    for (size_t f = 0; f < nf; f++)
      {
        const fb_test_result *t = fb_report_matrix_cell (r, r->matrix_scenarios[s], r->matrix_faults[f]);
        cells += t != NULL;
        passed += t && t->result == FB_RESULT_PASS;
      }
  fb_buf_printf (out, "<h2>Fault matrix<small>%zu scenario%s × %zu fault%s · %zu/%zu cells passed</small></h2>\n",
                 ns, ns == 1 ? "" : "s", nf, nf == 1 ? "" : "s", passed, cells);
  fb_buf_puts (out, "<div class=\"scroll\"><table class=\"grid\">\n<thead><tr><th></th>");
  for (size_t f = 0; f < nf; f++)
    {
      fb_buf_puts (out, "<th>");
      fb_buf_put_markup (out, r->matrix_faults[f]);
      fb_buf_puts (out, "</th>");
    }
  fb_buf_puts (out, "</tr></thead>\n<tbody>\n");
  for (size_t s = 0; s < ns; s++)
    {
      fb_buf_puts (out, "<tr><th>");
      fb_buf_put_markup (out, r->matrix_scenarios[s]);
      fb_buf_puts (out, "</th>");
      for (size_t f = 0; f < nf; f++)
        grid_cell (out, fb_report_matrix_cell (r, r->matrix_scenarios[s], r->matrix_faults[f]));
      fb_buf_puts (out, "</tr>\n");
    }
  fb_buf_puts (out, "</tbody>\n</table></div>\n");
}

/* ---- timeline ---- */

#define TL_WIDTH 1000
#define TL_LABEL 130 /* lane names left of the plot */
#define LANE_CHARS 16 /* of a lane name, in the label column */
#define TL_PLOT (TL_WIDTH - TL_LABEL - 24)
#define TL_AXIS 26
#define TL_ROW 30
#define MAX_LANES 64
#define MAX_FAULT_ROWS 40
#define MAX_OPEN_ROWS 8

typedef struct {
  const char *lanes[MAX_LANES]; /* "test" first, then services as they appear */
  size_t n_lanes;
  int64_t tmax;
  int last_x[MAX_LANES][3]; /* per lane and mark kind: the last pixel column marked */
} timeline;

enum { MARK_STEP, MARK_DENY, MARK_DELAY };

static bool
is_syscall (const fb_event *ev)
{
  return strcmp (ev->type, "syscall") == 0;
}

/* deny(EIO) or delay(500ms): an injected fault; everything else (allow,
 * trace) is only counted. */
static int
fault_mark (const fb_event *ev)
{
  const char *d = is_syscall (ev) ? fb_event_get (ev, "decision") : NULL;
  if (d && !strncmp (d, "deny", 4))
    return MARK_DENY;
  if (d && !strncmp (d, "delay", 5))
    return MARK_DELAY;
  return -1;
}

static ssize_t
lane_of (const timeline *tl, const char *name)
{
  for (size_t i = 0; name && i < tl->n_lanes; i++)
    if (!strcmp (tl->lanes[i], name))
      return (ssize_t) i;
  return -1;
}

static void
add_lane (timeline *tl, const char *name)
{
  if (name && lane_of (tl, name) < 0 && tl->n_lanes < MAX_LANES)
    tl->lanes[tl->n_lanes++] = name;
}

static void
timeline_init (timeline *tl, const fb_test_result *t)
{
  memset (tl, 0, sizeof *tl);
  memset (tl->last_x, -1, sizeof tl->last_x);
  tl->tmax = t->duration_ms * 1000000;
  for (size_t i = 0; i < t->n_events; i++)
    if (!strcmp (t->events[i].service, "test"))
      {
        add_lane (tl, "test");
        break;
      }
  for (size_t i = 0; i < t->n_events; i++)
    {
      const fb_event *ev = &t->events[i];
      add_lane (tl, ev->service);
      if (!strncmp (ev->type, "step_", 5))
        add_lane (tl, fb_event_get (ev, "target"));
      tl->tmax = ev->time_ns > tl->tmax ? ev->time_ns : tl->tmax;
    }
  if (tl->tmax < 1000000)
    tl->tmax = 1000000;
}

static double
xpos (const timeline *tl, int64_t ns)
{
  return TL_LABEL + (double) (ns < 0 ? 0 : ns) * TL_PLOT / (double) tl->tmax;
}

static int
lane_y (size_t lane)
{
  return TL_AXIS + (int) lane * TL_ROW;
}

/* Ticks every 1, 2 or 5 × 10^k ms, at most eight steps. */
static void
axis (const timeline *tl, fb_buf *out, int height)
{
  double span = (double) tl->tmax / 1e6, step = 1;
  for (int k = 0; span / step > 8; k++)
    step *= k % 3 == 1 ? 2.5 : 2;
  for (double ms = 0; ms <= span; ms += step)
    {
      double x = xpos (tl, (int64_t) (ms * 1e6));
      fb_buf_printf (out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d1d9e0\"/>", x, TL_AXIS - 6,
                     x, height - 4);
      fb_buf_printf (out, "<text x=\"%.1f\" y=\"14\" text-anchor=\"middle\">%g %s</text>\n", x,
                     span >= 1000 ? ms / 1000 : ms, span >= 1000 ? "s" : "ms");
    }
}

static void
lanes (const timeline *tl, fb_buf *out)
{
  for (size_t i = 0; i < tl->n_lanes; i++)
    {
      int y = lane_y (i);
      if (i % 2 == 0)
        fb_buf_printf (out, "<rect x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#f6f8fa\"/>", y, TL_WIDTH,
                       TL_ROW);
      fb_buf_printf (out, "<text class=\"lane\" x=\"%d\" y=\"%d\" text-anchor=\"end\"><title>", TL_LABEL - 10,
                     y + TL_ROW / 2 + 4);
      fb_buf_put_markup (out, tl->lanes[i]);
      fb_buf_puts (out, "</title>");
      /* what fits the label column, cut at a character boundary */
      const char *name = tl->lanes[i];
      size_t n = strlen (name);
      if (n > LANE_CHARS)
        for (n = LANE_CHARS - 1; n && ((unsigned char) name[n] & 0xC0) == 0x80; n--)
          ;
      fb_buf b = FB_BUF_INIT;
      fb_buf_append (&b, name, n);
      fb_buf_put_markup (out, fb_buf_str (&b));
      fb_buf_free (&b);
      fb_buf_puts (out, name[n] ? "…</text>\n" : "</text>\n");
    }
}

/* The first event after i of type end or end2 whose field key (if any) is
 * value (and, with same_service, of i's service); n_events when none: what i
 * started lasted to the end. */
static size_t
find_end (const fb_test_result *t, size_t i, const char *end, const char *end2, const char *key, const char *value,
          bool same_service)
{
  for (size_t k = i + 1; (!key || value) && k < t->n_events; k++)
    {
      const fb_event *ev = &t->events[k];
      const char *v = key ? fb_event_get (ev, key) : NULL;
      if ((!strcmp (ev->type, end) || (end2 && !strcmp (ev->type, end2))) && (!key || (v && !strcmp (v, value)))
          && (!same_service || !strcmp (ev->service, t->events[i].service)))
        return k;
    }
  return t->n_events;
}

static void
band (fb_buf *out, double x0, double x1, int y, int h, const char *fill, const char *title)
{
  fb_buf_printf (out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>", x0, y,
                 x1 - x0 < 2 ? 2 : x1 - x0, h, fill);
  fb_buf_put_markup (out, title);
  fb_buf_puts (out, "</title></rect>\n");
}

static double
end_x (const timeline *tl, const fb_test_result *t, size_t k)
{
  return xpos (tl, k < t->n_events ? t->events[k].time_ns : tl->tmax);
}

/* A service's life on its lane: started (or restarted), then ready
 * (darker), to its exit or the end of the test. */
static void
alive (const timeline *tl, const fb_test_result *t, size_t i, size_t lane, fb_buf *out)
{
  size_t ready = find_end (t, i, "service_ready", NULL, NULL, NULL, true);
  size_t exit = find_end (t, i, "service_exited", "service_restarted", NULL, NULL, true);
  double x0 = xpos (tl, t->events[i].time_ns), xe = end_x (tl, t, exit);
  double xr = ready < exit ? end_x (tl, t, ready) : xe;
  int y = lane_y (lane) + TL_ROW / 2 - 3;
  fb_buf_printf (out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"6\" fill=\"#c6e6cc\"/>", x0, y, xr - x0);
  if (xe > xr)
    fb_buf_printf (out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"6\" fill=\"#8fcf9c\"/>\n", xr, y,
                   xe - xr);
}

/* Fault rules in force on their service's lane; partitions across every
 * lane, link faults on the receiving service's. */
static void
bands (const timeline *tl, const fb_test_result *t, fb_buf *out, int height)
{
  for (size_t i = 0; i < t->n_events; i++)
    {
      const fb_event *ev = &t->events[i];
      ssize_t lane = lane_of (tl, ev->service);
      bool part = !strcmp (ev->type, "partition_applied"), link = !strcmp (ev->type, "link_fault_applied");
      fb_buf title = FB_BUF_INIT;
      if ((!strcmp (ev->type, "service_started") || !strcmp (ev->type, "service_restarted")) && lane >= 0)
        alive (tl, t, i, (size_t) lane, out);
      else if (!strcmp (ev->type, "service_paused") && lane >= 0)
        {
          /* frozen: to its resume, restart or the end */
          size_t k = find_end (t, i, "service_resumed", "service_restarted", NULL, NULL, true);
          band (out, xpos (tl, ev->time_ns), end_x (tl, t, k), lane_y ((size_t) lane) + 2, TL_ROW - 4, "#b6d4f5",
                "paused (cgroup freezer)");
        }
      else if (!strcmp (ev->type, "fault_applied") && ev->n_fields && lane >= 0)
        {
          /* fault_applied {write: "deny(EIO) ..."}, fault_removed {rule: write} */
          const fb_kv *rule = &ev->fields[0];
          size_t k = find_end (t, i, "fault_removed", NULL, "rule", rule->key, true);
          fb_buf_printf (&title, "fault on %s: %s=%s", ev->service, rule->key, rule->value);
          band (out, xpos (tl, ev->time_ns), end_x (tl, t, k), lane_y ((size_t) lane) + 2, TL_ROW - 4,
                "rgba(207,34,46,.13)", fb_buf_str (&title));
        }
      else if (part || (link && lane >= 0))
        {
          const char *between = fb_event_get (ev, "between"), *params = fb_event_get (ev, "params");
          size_t k = find_end (t, i, part ? "partition_removed" : "link_fault_removed",
                               part ? "partition_leaked" : "link_fault_leaked", "between", between, false);
          double x0 = xpos (tl, ev->time_ns);
          fb_buf_printf (&title, "%s %s", part ? "partition" : "link fault", between ? between : "");
          if (params)
            fb_buf_printf (&title, " (%s)", params);
          if (part)
            {
              band (out, x0, end_x (tl, t, k), TL_AXIS, height - TL_AXIS - 4, "rgba(130,80,223,.14)",
                    fb_buf_str (&title));
              fb_buf_printf (out, "<text x=\"%.1f\" y=\"%d\" style=\"fill:#8250df\">", x0 + 3, TL_AXIS - 2);
              fb_buf_put_markup (out, fb_buf_str (&title));
              fb_buf_puts (out, "</text>\n");
            }
          else
            band (out, x0, end_x (tl, t, k), lane_y ((size_t) lane) + 2, TL_ROW - 4, "rgba(130,80,223,.18)",
                  fb_buf_str (&title));
        }
      fb_buf_free (&title);
    }
}

static void
fault_title (const fb_event *ev, fb_buf *out)
{
  fb_buf_printf (out, "#%llu %s ", (unsigned long long) ev->seq, ev->service);
  fb_event_syscall_name (ev, out);
  fb_buf_printf (out, " %s", fb_event_get (ev, "decision"));
  fb_event_fault_details (ev, " ", out);
}

static const char *const mark_color[] = { [MARK_STEP] = "#0969da", [MARK_DENY] = "#e5534b",
                                          [MARK_DELAY] = "#d4a72c" };

/* One mark per lane, kind and pixel column: thousands of faults draw at
 * most a plot's width of ticks. Returns false when x is taken. */
static bool
claim (timeline *tl, size_t lane, int kind, double x)
{
  if (tl->last_x[lane][kind] == (int) x)
    return false;
  tl->last_x[lane][kind] = (int) x;
  return true;
}

static void
step_mark (timeline *tl, const fb_test_result *t, size_t send, size_t recv, fb_buf *out)
{
  const fb_event *s = &t->events[send], *r = &t->events[recv];
  ssize_t lane = lane_of (tl, s->service);
  double x0 = xpos (tl, s->time_ns), x1 = xpos (tl, r->time_ns);
  if (lane < 0 || !claim (tl, (size_t) lane, MARK_STEP, x1))
    return;
  const char *path = fb_event_get (s, "path"), *data = fb_event_get (s, "data"), *st = fb_event_get (r, "status_code"),
             *err = fb_event_get (r, "error"), *reply = fb_event_get (r, "reply"), *ok = fb_event_get (r, "success");
  bool failed = ok && strcmp (ok, "true");
  fb_buf_printf (out, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"12\" rx=\"2\" fill=\"%s\"><title>",
                 x0, lane_y ((size_t) lane) + TL_ROW / 2 - 6, x1 - x0 < 3 ? 3 : x1 - x0,
                 failed ? "#e5534b" : mark_color[MARK_STEP]);
  escf (out, "%s: %s %s → %s", fb_event_get (s, "target"), fb_event_get (s, "method"), path ? path : data ? data : "",
        err ? err : st ? st : reply ? reply : "");
  fb_buf_printf (out, " (%.1f–%.1f ms)</title></rect>\n", (double) s->time_ns / 1e6, (double) r->time_ns / 1e6);
}

/* The nemesis' marks: a diamond per kill, restart, pause, resume. */
static const struct {
  const char *type, *color, *what;
} nemesis_marks[] = {
  { "service_killed", "#d1242f", "killed" },
  { "service_restarted", "#1a7f37", "restarted" },
  { "service_paused", "#0969da", "paused" },
  { "service_resumed", "#0969da", "resumed" },
};

static bool
nemesis_mark (double x, int y, const fb_event *ev, fb_buf *out)
{
  for (size_t i = 0; i < sizeof nemesis_marks / sizeof *nemesis_marks; i++)
    if (!strcmp (ev->type, nemesis_marks[i].type))
      {
        const char *sig = fb_event_get (ev, "signal");
        fb_buf_printf (out, "<path d=\"M%.1f %d l5 5 l-5 5 l-5 -5 z\" fill=\"%s\"><title>%s%s", x, y - 5,
                       nemesis_marks[i].color, nemesis_marks[i].what, sig ? " by " : "");
        fb_buf_put_markup (out, sig ? sig : "");
        fb_buf_printf (out, " at %.1f ms</title></path>\n", (double) ev->time_ns / 1e6);
        return true;
      }
  return false;
}

static void
lifecycle_mark (const timeline *tl, const fb_event *ev, size_t lane, fb_buf *out)
{
  double x = xpos (tl, ev->time_ns);
  int y = lane_y (lane) + TL_ROW / 2;
  const char *status = fb_event_get (ev, "status");
  if (nemesis_mark (x, y, ev, out))
    return;
  if (!strcmp (ev->type, "service_started"))
    fb_buf_printf (out, "<circle cx=\"%.1f\" cy=\"%d\" r=\"4.5\" fill=\"#fff\" stroke=\"#1a7f37\" stroke-width=\"2\">"
                   "<title>started", x, y);
  else if (!strcmp (ev->type, "service_ready"))
    fb_buf_printf (out, "<circle cx=\"%.1f\" cy=\"%d\" r=\"4.5\" fill=\"#1a7f37\"><title>ready", x, y);
  else
    fb_buf_printf (out, "<rect x=\"%.1f\" y=\"%d\" width=\"9\" height=\"9\" fill=\"%s\"><title>exited, status %s", x - 4.5,
                   y - 4, status && strcmp (status, "0") ? "#d1242f" : "#59636e", status ? "" : "?");
  fb_buf_put_markup (out, status);
  fb_buf_printf (out, " at %.1f ms</title></%s>\n", (double) ev->time_ns / 1e6,
                 strcmp (ev->type, "service_exited") ? "circle" : "rect");
}

typedef struct {
  size_t syscalls, faults;
} syscall_counts;

/* Marks over the bands: lifecycle, steps (send to reply), injected faults. */
static void
marks (timeline *tl, const fb_test_result *t, fb_buf *out, syscall_counts *n)
{
  size_t open_step[MAX_LANES]; /* per target lane: its step_send in flight */
  for (size_t i = 0; i < MAX_LANES; i++)
    open_step[i] = SIZE_MAX;
  for (size_t i = 0; i < t->n_events; i++)
    {
      const fb_event *ev = &t->events[i];
      ssize_t lane = lane_of (tl, ev->service), target = lane_of (tl, fb_event_get (ev, "target"));
      int mark = fault_mark (ev);
      n->syscalls += is_syscall (ev);
      n->faults += mark >= 0;
      if (lane < 0)
        continue;
      if (!strncmp (ev->type, "service_", 8))
        lifecycle_mark (tl, ev, (size_t) lane, out);
      else if (!strcmp (ev->type, "step_send") && target >= 0)
        open_step[target] = i;
      else if (!strcmp (ev->type, "step_recv") && target >= 0 && open_step[target] != SIZE_MAX)
        {
          step_mark (tl, t, open_step[target], i, out);
          open_step[target] = SIZE_MAX;
        }
      else if (mark >= 0 && claim (tl, (size_t) lane, mark, xpos (tl, ev->time_ns)))
        {
          int y = lane_y ((size_t) lane);
          double x = xpos (tl, ev->time_ns);
          fb_buf_printf (out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"><title>",
                         x, y + 4, x, y + TL_ROW - 4, mark_color[mark]);
          fb_buf b = FB_BUF_INIT;
          fault_title (ev, &b);
          fb_buf_put_markup (out, fb_buf_str (&b));
          fb_buf_free (&b);
          fb_buf_puts (out, "</title></line>\n");
        }
    }
}

static void
timeline_svg (const fb_test_result *t, fb_buf *out, syscall_counts *n)
{
  timeline tl;
  timeline_init (&tl, t);
  int height = TL_AXIS + (int) tl.n_lanes * TL_ROW + 8;
  fb_buf_printf (out, "<svg class=\"tl\" viewBox=\"0 0 %d %d\" role=\"img\">\n",
                 TL_WIDTH, height);
  lanes (&tl, out);
  axis (&tl, out, height);
  bands (&tl, t, out, height);
  marks (&tl, t, out, n);
  fb_buf_puts (out, "</svg>\n");
}

/* ---- per test ---- */

static void
fault_rules (const fb_test_result *t, fb_buf *out)
{
  if (!t->n_faults)
    return;
  fb_buf_puts (out, "<ul class=\"rules\">\n");
  for (size_t i = 0; i < t->n_faults; i++)
    {
      const fb_fault_summary *f = &t->faults[i];
      fb_buf_puts (out, "<li>");
      if (!strcmp (f->action, "trace"))
        escf (out, "trace rule on %s: syscalls=[%s]", f->service, f->keyword);
      else
        escf (out, "fault rule on %s: %s=%s(%s)", f->service, f->keyword, f->action,
              f->errno_name ? f->errno_name : f->delay ? f->delay : "");
      escf (out, " → filter:[%s]", f->filter ? f->filter : "");
      if (f->label && *f->label)
        escf (out, " label=\"%s\"", f->label);
      fb_buf_printf (out, " <b>(%llu hits)</b>", (unsigned long long) f->hits);
      if (!f->hits && f->hint)
        {
          fb_buf_puts (out, "<br><span class=\"hint\">hint: ");
          fb_buf_put_markup (out, f->hint);
          fb_buf_puts (out, "</span>");
        }
      fb_buf_puts (out, "</li>\n");
    }
  fb_buf_puts (out, "</ul>\n");
}

/* The first injected faults as the text report lists them; a long list
 * starts folded. */
static void
fault_table (const fb_test_result *t, size_t faults, fb_buf *out)
{
  if (!faults)
    return;
  fb_buf_printf (out, "<details class=\"list\"%s><summary>%zu injected fault%s</summary>\n<table class=\"faults\">\n",
                 faults <= MAX_OPEN_ROWS ? " open" : "", faults, faults == 1 ? "" : "s");
  size_t shown = 0;
  for (size_t i = 0; i < t->n_events && shown < MAX_FAULT_ROWS; i++)
    {
      const fb_event *ev = &t->events[i];
      if (fault_mark (ev) < 0)
        continue;
      shown++;
      const char *path = fb_event_get (ev, "path");
      fb_buf_printf (out, "<tr><td>#%llu</td><td>%.1f ms</td><td>", (unsigned long long) ev->seq,
                     (double) ev->time_ns / 1e6);
      fb_buf_put_markup (out, ev->service);
      fb_buf_puts (out, "</td><td>");
      fb_buf b = FB_BUF_INIT;
      fb_event_syscall_name (ev, &b);
      fb_buf_put_markup (out, fb_buf_str (&b));
      fb_buf_free (&b);
      fb_buf_puts (out, "</td><td>");
      fb_buf_put_markup (out, fb_event_get (ev, "decision"));
      fb_buf_puts (out, "</td><td>");
      fb_buf_put_markup (out, path);
      fb_buf_puts (out, "</td></tr>\n");
    }
  fb_buf_puts (out, "</table>\n");
  if (faults > shown)
    fb_buf_printf (out, "<p class=\"note\">… %zu more injected faults (--format json has them all)</p>\n",
                   faults - shown);
  fb_buf_puts (out, "</details>\n");
}

static void
test_section (const fb_report *r, const fb_test_result *t, bool open, fb_buf *out)
{
  bool pass = t->result == FB_RESULT_PASS;
  fb_buf_puts (out, "<details class=\"test\" id=\"");
  test_anchor (out, t);
  fb_buf_printf (out, "\"%s>\n<summary><span class=\"badge %s\">%s</span><code>", open || !pass ? " open" : "",
                 result_class[t->result], result_word[t->result]);
  fb_buf_put_markup (out, t->name);
  fb_buf_puts (out, "</code><span class=\"meta\">");
  if (t->runs > 1)
    fb_buf_printf (out, "%u/%u runs · ", t->runs_passed, t->runs);
  put_ms (out, t->duration_ms);
  fb_buf_printf (out, " · seed %llu</span></summary>\n<div class=\"body\">\n", (unsigned long long) t->seed);
  if (t->matrix_scenario)
    {
      fb_buf_puts (out, "<div class=\"row\"><span class=\"k\">cell</span><span>");
      escf (out, "%s × %s", t->matrix_scenario, t->matrix_fault);
      fb_buf_puts (out, "</span></div>\n");
    }
  if (!pass)
    {
      fb_buf_puts (out, "<div class=\"reason\">");
      fb_buf_put_markup (out, t->reason && *t->reason ? t->reason : "(no reason)");
      fb_buf_puts (out, "</div>\n");
    }
  fb_buf cmd = FB_BUF_INIT;
  fb_report_replay_command (r, t, &cmd);
  fb_buf_puts (out, "<div class=\"row\"><span class=\"k\">replay</span><pre>");
  fb_buf_put_markup (out, fb_buf_str (&cmd));
  fb_buf_puts (out, "</pre></div>\n");
  fb_buf_free (&cmd);
  fault_rules (t, out);
  syscall_counts n = { 0 };
  if (t->n_events)
    {
      timeline_svg (t, out, &n);
      fb_buf_printf (out, "<p class=\"note\">%zu events · %zu syscalls: %zu injected fault%s (marked), "
                     "%zu others (allowed, traced) not drawn</p>\n", t->n_events, n.syscalls, n.faults,
                     n.faults == 1 ? "" : "s", n.syscalls - n.faults);
    }
  else
    fb_buf_puts (out, "<p class=\"note\">no events recorded</p>\n");
  fault_table (t, n.faults, out);
  fb_buf_puts (out, "</div>\n</details>\n");
}

static const char legend[] =
  "<p class=\"legend\">timeline:"
  "<span class=\"sw\" style=\"background:#8fcf9c\"></span>service up (light: not ready yet)"
  "<span class=\"sw\" style=\"background:#0969da\"></span>step (request to reply)"
  "<span class=\"sw\" style=\"background:#e5534b\"></span>denied syscall"
  "<span class=\"sw\" style=\"background:#d4a72c\"></span>delayed syscall"
  "<span class=\"sw\" style=\"background:rgba(207,34,46,.25)\"></span>fault rule in force"
  "<span class=\"sw\" style=\"background:rgba(130,80,223,.3)\"></span>partition / link fault"
  " · hover a mark for details</p>\n";

/* Up to this many tests all sections start open; past it only failures,
 * so a long matrix stays a page one can scroll. */
#define OPEN_ALL_MAX 20

void
fb_report_html (const fb_report *r, fb_buf *out)
{
  fb_buf_puts (out, page_head);
  fb_buf_puts (out, "<title>faultbox: ");
  fb_buf_put_markup (out, r->star_file);
  escf (out, " — %zu passed, %zu failed", fb_report_passed (r), fb_report_failed (r));
  fb_buf_puts (out, "</title>\n</head>\n<body>\n<main>\n");
  summary (r, out);
  grid (r, out);
  fb_buf_printf (out, "<h2>Tests<small>%zu</small></h2>\n", r->n_tests);
  fb_buf_puts (out, legend);
  for (size_t i = 0; i < r->n_tests; i++)
    test_section (r, &r->tests[i], r->n_tests <= OPEN_ALL_MAX, out);
  fb_buf_puts (out, "</main>\n</body>\n</html>\n");
}
