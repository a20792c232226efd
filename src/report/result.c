#include "faultbox/report.h"
#include "util/alloc.h"
#include "faultbox/buf.h"

#include <stdlib.h>
#include <string.h>

const char *const fb_phase_names[FB_PHASE_N] = {
  [FB_PHASE_CREATE] = "create", [FB_PHASE_START] = "start", [FB_PHASE_HEALTH] = "health",
  [FB_PHASE_BODY] = "body", [FB_PHASE_TEARDOWN] = "teardown",
};

void
fb_event_init (fb_event *ev, const char *type, const char *service)
{
  memset (ev, 0, sizeof *ev);
  ev->type = fb_xstrdup (type);
  ev->service = fb_xstrdup (service ? service : "test");
}

void
fb_event_set (fb_event *ev, const char *key, const char *value)
{
  for (size_t i = 0; i < ev->n_fields; i++)
    if (strcmp (ev->fields[i].key, key) == 0)
      {
        free (ev->fields[i].value);
        ev->fields[i].value = fb_xstrdup (value ? value : "");
        return;
      }
  ev->fields = fb_xreallocarray (ev->fields, ev->n_fields + 1, sizeof *ev->fields);
  ev->fields[ev->n_fields].key = fb_xstrdup (key);
  ev->fields[ev->n_fields].value = fb_xstrdup (value ? value : "");
  ev->n_fields++;
}

const char *
fb_event_get (const fb_event *ev, const char *key)
{
  for (size_t i = 0; i < ev->n_fields; i++)
    if (strcmp (ev->fields[i].key, key) == 0)
      return ev->fields[i].value;
  return NULL;
}

void
fb_event_clear (fb_event *ev)
{
  for (size_t i = 0; i < ev->n_fields; i++)
    {
      free (ev->fields[i].key);
      free (ev->fields[i].value);
    }
  free (ev->fields);
  for (size_t i = 0; i < ev->n_clock; i++)
    free (ev->clock[i].service);
  free (ev->clock);
  free (ev->type);
  free (ev->service);
  memset (ev, 0, sizeof *ev);
}

fb_test_result *
fb_report_take_test (fb_report *r, fb_test_result *t)
{
  r->tests = fb_xreallocarray (r->tests, r->n_tests + 1, sizeof *r->tests);
  r->tests[r->n_tests] = *t;
  memset (t, 0, sizeof *t);
  return &r->tests[r->n_tests++];
}

fb_test_result *
fb_report_add_test (fb_report *r, const char *name)
{
  fb_test_result t = { .name = fb_xstrdup (name) };
  return fb_report_take_test (r, &t);
}

void
fb_test_result_fail (fb_test_result *t, fb_result_kind kind, const char *reason)
{
  t->result = kind;
  free (t->reason);
  t->reason = fb_xstrdup (reason ? reason : "");
}

void
fb_test_result_clear (fb_test_result *t)
{
  free (t->name);
  free (t->reason);
  free (t->failure_type);
  free (t->return_value);
  free (t->matrix_scenario);
  free (t->matrix_fault);
  free (t->workdir);
  for (size_t i = 0; i < t->n_faults; i++)
    {
      fb_fault_summary *f = &t->faults[i];
      free (f->service);
      free (f->keyword);
      free (f->action);
      free (f->errno_name);
      free (f->delay);
      free (f->filter);
      free (f->label);
      free (f->hint);
    }
  free (t->faults);
  for (size_t i = 0; i < t->n_unmediated; i++)
    {
      fb_unmediated *u = &t->unmediated[i];
      free (u->service);
      free (u->category);
      free (u->detail);
      free (u->syscall);
    }
  free (t->unmediated);
  fb_test_result_drop_events (t);
  for (size_t i = 0; i < t->n_logs; i++)
    {
      free (t->logs[i].service);
      free (t->logs[i].tail);
    }
  free (t->logs);
}

void
fb_test_result_drop_events (fb_test_result *t)
{
  for (size_t i = 0; i < t->n_events; i++)
    fb_event_clear (&t->events[i]);
  free (t->events);
  t->events = NULL;
  t->n_events = 0;
}

void
fb_report_free (fb_report *r)
{
  if (!r)
    return;
  for (size_t i = 0; i < r->n_tests; i++)
    fb_test_result_clear (&r->tests[i]);
  free (r->tests);
  free (r->star_file);
  free (r->hostname);
  fb_strv_free_n (r->matrix_scenarios, r->n_matrix_scenarios);
  fb_strv_free_n (r->matrix_faults, r->n_matrix_faults);
  memset (r, 0, sizeof *r);
}

static size_t
count_results (const fb_report *r, fb_result_kind kind)
{
  size_t n = 0;
  for (size_t i = 0; i < r->n_tests; i++)
    n += r->tests[i].result == kind;
  return n;
}

size_t
fb_report_passed (const fb_report *r)
{
  return count_results (r, FB_RESULT_PASS);
}

size_t
fb_report_inconclusive (const fb_report *r)
{
  return count_results (r, FB_RESULT_INCONCLUSIVE);
}

size_t
fb_report_halted (const fb_report *r)
{
  return count_results (r, FB_RESULT_HALTED);
}

size_t
fb_report_failed (const fb_report *r)
{
  return r->n_tests - fb_report_passed (r) - fb_report_inconclusive (r) - fb_report_halted (r);
}

const fb_test_result *
fb_report_matrix_cell (const fb_report *r, const char *scenario, const char *fault)
{
  for (size_t i = 0; i < r->n_tests; i++)
    {
      const fb_test_result *t = &r->tests[i];
      if (t->matrix_scenario && strcmp (t->matrix_scenario, scenario) == 0 && strcmp (t->matrix_fault, fault) == 0)
        return t;
    }
  return NULL;
}

/* Faultbox accepts the test name without "test_". */
void
fb_report_replay_command (const fb_report *r, const fb_test_result *t, fb_buf *out)
{
  fb_buf_printf (out, "faultbox test %s --test %s --seed %llu", r->star_file ? r->star_file : "",
                 strncmp (t->name, "test_", 5) == 0 ? t->name + 5 : t->name, (unsigned long long) t->seed);
  if (t->explored)
    fb_buf_printf (out, " --explore-index %llu", (unsigned long long) t->explore_index);
  if (t->virtual_time)
    fb_buf_puts (out, " --virtual-time");
}

void
fb_event_kind (const fb_event *ev, fb_buf *out)
{
  const char *sc = fb_event_get (ev, "syscall"), *target = fb_event_get (ev, "target");
  if (strcmp (ev->type, "syscall") == 0 && sc)
    fb_buf_printf (out, "syscall.%s", sc);
  else if (strcmp (ev->type, "service_started") == 0)
    fb_buf_puts (out, "lifecycle.started");
  else if (strcmp (ev->type, "service_ready") == 0)
    fb_buf_puts (out, "lifecycle.ready");
  else if (strncmp (ev->type, "service_", 8) == 0)
    fb_buf_printf (out, "lifecycle.%s", ev->type + 8); /* exited, killed, restarted, paused, resumed */
  else if (strncmp (ev->type, "step_", 5) == 0 && target)
    fb_buf_printf (out, "%s.%s", ev->type, target);
  else
    fb_buf_puts (out, ev->type);
}

void
fb_event_syscall_name (const fb_event *ev, fb_buf *out)
{
  const char *op = fb_event_get (ev, "op"), *sc = fb_event_get (ev, "syscall");
  if (op)
    fb_buf_printf (out, "%s(%s)", op, sc ? sc : "");
  else
    fb_buf_puts (out, sc ? sc : "?");
}

void
fb_event_fault_details (const fb_event *ev, const char *sep, fb_buf *out)
{
  const char *label = fb_event_get (ev, "label"), *path = fb_event_get (ev, "path"),
             *lat = fb_event_get (ev, "latency_ms");
  if (label)
    fb_buf_printf (out, "%s[%s]", sep, label);
  if (path)
    fb_buf_printf (out, "%s%s", sep, path);
  if (lat)
    fb_buf_printf (out, "%s(+%sms)", sep, lat);
}
