#include "faultbox/report.h"
#include "faultbox/buf.h"

#include <stdio.h>
#include <string.h>

#define MAX_TRACE_LINES 40

static bool
is_syscall (const fb_event *ev)
{
  return strcmp (ev->type, "syscall") == 0;
}

/* Every syscall event that was not simply allowed: denied, delayed,
 * traced. */
static void
syscall_trace (const fb_test_result *t, fb_buf *out)
{
  size_t total = 0, shown = 0, notable = 0;
  for (size_t i = 0; i < t->n_events; i++)
    if (is_syscall (&t->events[i]))
      {
        total++;
        const char *d = fb_event_get (&t->events[i], "decision");
        notable += d && strcmp (d, "allow") != 0;
      }
  if (!notable)
    return;
  fb_buf_printf (out, "  syscall trace (%zu events):\n", total);
  for (size_t i = 0; i < t->n_events; i++)
    {
      const fb_event *ev = &t->events[i];
      const char *d = is_syscall (ev) ? fb_event_get (ev, "decision") : NULL;
      if (!d || !strcmp (d, "allow"))
        continue;
      if (shown++ == MAX_TRACE_LINES)
        {
          fb_buf_printf (out, "    ... %zu more (--format json has them all)\n", notable - MAX_TRACE_LINES);
          break;
        }
      _cleanup_buf_ fb_buf sc = FB_BUF_INIT;
      fb_event_syscall_name (ev, &sc);
      fb_buf_printf (out, "    #%-5llu %-12s %-16s %s", (unsigned long long) ev->seq, ev->service,
                     fb_buf_str (&sc), d);
      fb_event_fault_details (ev, "  ", out);
      /* --virtual-time: answered from the virtual clock, which then read */
      const char *vclock = fb_event_get (ev, "virtual_ms");
      if (vclock)
        fb_buf_printf (out, "  (virtual clock %sms)", vclock);
      fb_buf_putc (out, '\n');
    }
}

typedef struct {
  const char *name;
  size_t n;
} name_count;

/* Per service: syscalls seen, how many faulted, and the busiest names. */
static void
syscall_summary (const fb_test_result *t, fb_buf *out)
{
  bool header = false;
  for (size_t i = 0; i < t->n_events; i++)
    {
      const fb_event *first = &t->events[i];
      if (!is_syscall (first))
        continue;
      bool seen = false;
      for (size_t k = 0; k < i && !seen; k++)
        seen = is_syscall (&t->events[k]) && !strcmp (t->events[k].service, first->service);
      if (seen)
        continue;
      size_t total = 0, faulted = 0, nnames = 0;
      name_count names[16];
      for (size_t k = i; k < t->n_events; k++)
        {
          const fb_event *ev = &t->events[k];
          if (!is_syscall (ev) || strcmp (ev->service, first->service))
            continue;
          total++;
          const char *d = fb_event_get (ev, "decision"), *sc = fb_event_get (ev, "syscall");
          faulted += d && (!strncmp (d, "deny", 4) || !strncmp (d, "delay", 5));
          size_t j = 0;
          while (j < nnames && strcmp (names[j].name, sc))
            j++;
          if (j == nnames && nnames < 16)
            names[nnames++] = (name_count) { sc, 0 };
          if (j < nnames)
            names[j].n++;
        }
      if (!header)
        fb_buf_puts (out, "  per-service syscall summary:\n");
      header = true;
      fb_buf_printf (out, "    %s %zu total, %zu faulted  [", first->service, total, faulted);
      for (size_t j = 0; j < nnames; j++)
        fb_buf_printf (out, "%s%s:%zu", j ? " " : "", names[j].name, names[j].n);
      fb_buf_puts (out, "]\n");
    }
}

/* determinism(): one line of what the services reached unmediated. */
static void
unmediated_line (const fb_test_result *t, fb_buf *out)
{
  if (!t->determinism)
    return;
  if (!t->n_unmediated)
    {
      fb_buf_puts (out, "  determinism: no unmediated I/O seen (clock reads through the vDSO never trap)\n");
      return;
    }
  fb_buf_printf (out, "  determinism: %zu unmediated:", t->n_unmediated);
  for (size_t i = 0; i < t->n_unmediated; i++)
    {
      const fb_unmediated *u = &t->unmediated[i];
      fb_buf_printf (out, "%s %s %s %s ×%llu%s", i ? "," : "", u->service, u->category, u->detail,
                     (unsigned long long) u->count, u->allowed ? " (allowed)" : "");
    }
  if (t->unmediated_dropped)
    fb_buf_printf (out, ", %llu more calls not itemized", (unsigned long long) t->unmediated_dropped);
  fb_buf_puts (out, " (clock reads through the vDSO never trap)\n");
}

void
fb_report_text_test (const fb_report *r, const fb_test_result *t, fb_buf *out)
{
  bool pass = t->result == FB_RESULT_PASS;
  if (pass && r->show_failures_only)
    return;
  if (pass && t->runs > 1)
    {
      fb_buf_printf (out, "--- PASS: %s (%u/%u runs) ---\n", t->name, t->runs_passed, t->runs);
      return;
    }
  const char *word = pass                                    ? "PASS"
                     : t->result == FB_RESULT_INCONCLUSIVE ? "INCONCLUSIVE"
                     : t->result == FB_RESULT_HALTED       ? "HALTED"
                                                           : "FAIL";
  fb_buf_printf (out, "--- %s: %s (%lldms, seed=%llu) ---\n", word, t->name,
                 (long long) t->duration_ms, (unsigned long long) t->seed);
  if (!pass)
    {
      fb_buf_printf (out, "  reason: %s\n", t->reason ? t->reason : "(no reason)");
      fb_buf_puts (out, "  replay: ");
      fb_report_replay_command (r, t, out);
      fb_buf_putc (out, '\n');
      if (r->bundle)
        fb_buf_printf (out, "          faultbox replay %s --test %s\n", r->bundle, t->name);
      if (t->runs > 1)
        fb_buf_printf (out, "  (%u/%u runs passed before failure)\n", t->runs_passed, t->runs_wanted);
    }
  if (t->workdir)
    fb_buf_printf (out, "  work dir kept: %s\n", t->workdir);
  if (r->show_return_values && t->return_value)
    fb_buf_printf (out, "  return: %s\n", t->return_value);
  syscall_trace (t, out);
  bool any_rule = false, any_fired = false;
  for (size_t i = 0; i < t->n_faults; i++)
    {
      const fb_fault_summary *f = &t->faults[i];
      bool trace = strcmp (f->action, "trace") == 0;
      if (trace)
        fb_buf_printf (out, "  trace rule on %s: syscalls=[%s] → filter:[%s]", f->service, f->keyword,
                       f->filter);
      else
        fb_buf_printf (out, "  fault rule on %s: %s=%s(%s) → filter:[%s]", f->service, f->keyword,
                       f->action, f->errno_name ? f->errno_name : f->delay ? f->delay : "", f->filter);
      if (f->label && *f->label)
        fb_buf_printf (out, " label=\"%s\"", f->label);
      fb_buf_printf (out, " (%llu hits)\n", (unsigned long long) f->hits);
      if (!trace)
        {
          any_rule = true;
          any_fired |= f->hits > 0;
        }
    }
  if (any_rule && !any_fired)
    {
      fb_buf_puts (out, "  WARNING: fault rules were installed but no injections fired\n");
      for (size_t i = 0; i < t->n_faults; i++)
        if (t->faults[i].hits == 0 && t->faults[i].hint)
          fb_buf_printf (out, "    hint: %s\n", t->faults[i].hint);
    }
  unmediated_line (t, out);
  if (!pass)
    syscall_summary (t, out);
}

static size_t
utf8_width (const char *s)
{
  size_t w = 0;
  for (; *s; s++)
    w += ((unsigned char) *s & 0xC0) != 0x80;
  return w;
}

static void
pad (fb_buf *out, const char *s, size_t width)
{
  fb_buf_puts (out, s);
  for (size_t w = utf8_width (s); w < width; w++)
    fb_buf_putc (out, ' ');
}

static void
repeat (fb_buf *out, const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    fb_buf_puts (out, s);
}

static void
cell_text (const fb_test_result *t, char *cell, size_t len)
{
  if (!t)
    snprintf (cell, len, "— (excluded)");
  else if (t->result == FB_RESULT_PASS)
    snprintf (cell, len, "PASS (%lldms)", (long long) t->duration_ms);
  else
    snprintf (cell, len, "FAIL");
}

void
fb_report_text_matrix (const fb_report *r, fb_buf *out)
{
  size_t ns = r->n_matrix_scenarios, nf = r->n_matrix_faults;
  if (ns == 0 || nf == 0)
    return;
  size_t cells = 0, passed = 0;
  for (size_t s = 0; s < ns; s++)
    for (size_t f = 0; f < nf; f++)
      {
        const fb_test_result *t = fb_report_matrix_cell (r, r->matrix_scenarios[s], r->matrix_faults[f]);
        cells += t != NULL;
        passed += t && t->result == FB_RESULT_PASS;
      }
  fb_buf_printf (out, "\nFault Matrix: %zu scenario%s × %zu fault%s = %zu cell%s\n\n", ns, ns == 1 ? "" : "s", nf,
                 nf == 1 ? "" : "s", cells, cells == 1 ? "" : "s");
  size_t w0 = 20;
  for (size_t s = 0; s < ns; s++)
    if (utf8_width (r->matrix_scenarios[s]) + 1 > w0)
      w0 = utf8_width (r->matrix_scenarios[s]) + 1;
  /* a column is at least 14 wide and fits its name and its cells */
  size_t cw[nf];
  for (size_t f = 0; f < nf; f++)
    {
      size_t w = utf8_width (r->matrix_faults[f]) + 2;
      cw[f] = w > 14 ? w : 14;
      for (size_t s = 0; s < ns; s++)
        {
          char cell[64];
          cell_text (fb_report_matrix_cell (r, r->matrix_scenarios[s], r->matrix_faults[f]), cell, sizeof cell);
          if (utf8_width (cell) + 2 > cw[f])
            cw[f] = utf8_width (cell) + 2;
        }
    }
  pad (out, "", w0);
  for (size_t f = 0; f < nf; f++)
    {
      fb_buf_puts (out, "│ ");
      if (f + 1 < nf)
        {
          pad (out, r->matrix_faults[f], cw[f] - 1);
          fb_buf_putc (out, ' ');
        }
      else
        fb_buf_puts (out, r->matrix_faults[f]);
    }
  fb_buf_putc (out, '\n');
  repeat (out, "─", w0);
  for (size_t f = 0; f < nf; f++)
    {
      fb_buf_puts (out, "┼");
      repeat (out, "─", f + 1 < nf ? cw[f] + 1 : cw[f]);
    }
  fb_buf_putc (out, '\n');
  for (size_t s = 0; s < ns; s++)
    {
      pad (out, r->matrix_scenarios[s], w0);
      for (size_t f = 0; f < nf; f++)
        {
          const fb_test_result *t = fb_report_matrix_cell (r, r->matrix_scenarios[s], r->matrix_faults[f]);
          char cell[64];
          cell_text (t, cell, sizeof cell);
          fb_buf_puts (out, "│ ");
          if (f + 1 < nf)
            {
              pad (out, cell, cw[f] - 1);
              fb_buf_putc (out, ' ');
            }
          else
            fb_buf_puts (out, cell);
        }
      fb_buf_putc (out, '\n');
    }
  if (passed == cells)
    fb_buf_printf (out, "\nResult: %zu/%zu passed\n", passed, cells);
  else
    {
      fb_buf_printf (out, "\nResult: %zu/%zu passed, %zu failed\nFailures:\n", passed, cells, cells - passed);
      for (size_t i = 0; i < r->n_tests; i++)
        {
          const fb_test_result *t = &r->tests[i];
          if (t->matrix_scenario && t->result != FB_RESULT_PASS)
            fb_buf_printf (out, "  %s × %s: %s\n", t->matrix_scenario, t->matrix_fault, t->reason ? t->reason : "");
        }
    }
}

void
fb_report_text_summary (const fb_report *r, fb_buf *out)
{
  size_t k = fb_report_inconclusive (r), h = fb_report_halted (r);
  fb_buf_printf (out, "\n%zu passed, %zu failed", fb_report_passed (r), fb_report_failed (r));
  if (k)
    fb_buf_printf (out, ", %zu inconclusive", k);
  if (h)
    fb_buf_printf (out, ", %zu halted", h);
  fb_buf_putc (out, '\n');
  if (!k)
    return;
  fb_buf_puts (out, "inconclusive:\n");
  for (size_t i = 0; i < r->n_tests; i++)
    if (r->tests[i].result == FB_RESULT_INCONCLUSIVE)
      fb_buf_printf (out, "  %s: %s\n", r->tests[i].name, r->tests[i].reason ? r->tests[i].reason : "");
}
