#include "faultbox/report.h"
#include "util/alloc.h"
#include "faultbox/buf.h"

#include <errno.h>
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const result_names[] = {
  [FB_RESULT_PASS] = "pass",
  [FB_RESULT_FAIL] = "fail",
  [FB_RESULT_ERROR] = "error",
  [FB_RESULT_INCONCLUSIVE] = "inconclusive",
  [FB_RESULT_HALTED] = "halted",
};

static void
add_str (json_object *o, const char *key, const char *v)
{
  if (v)
    json_object_object_add (o, key, json_object_new_string (v));
}

static json_object *
event_json (const fb_event *ev)
{
  json_object *o = json_object_new_object ();
  json_object_object_add (o, "seq", json_object_new_int64 ((int64_t) ev->seq));
  json_object_object_add (o, "timestamp", json_object_new_int64 (ev->time_ns));
  add_str (o, "type", ev->type);
  fb_buf et = FB_BUF_INIT;
  fb_event_kind (ev, &et);
  add_str (o, "event_type", fb_buf_str (&et));
  fb_buf_free (&et);
  add_str (o, "partition_key", ev->service);
  add_str (o, "service", ev->service);
  if (ev->n_fields)
    {
      json_object *f = json_object_new_object ();
      for (size_t i = 0; i < ev->n_fields; i++)
        json_object_object_add (f, ev->fields[i].key, json_object_new_string (ev->fields[i].value));
      json_object_object_add (o, "fields", f);
    }
  if (ev->n_clock)
    {
      json_object *vc = json_object_new_object ();
      for (size_t i = 0; i < ev->n_clock; i++)
        json_object_object_add (vc, ev->clock[i].service, json_object_new_uint64 (ev->clock[i].n));
      json_object_object_add (o, "vector_clock", vc);
    }
  return o;
}

/* determinism(): {"unmediated_io": [...], "dropped": N} */
static json_object *
determinism_json (const fb_test_result *t)
{
  json_object *d = json_object_new_object (), *a = json_object_new_array ();
  for (size_t i = 0; i < t->n_unmediated; i++)
    {
      const fb_unmediated *u = &t->unmediated[i];
      json_object *uo = json_object_new_object ();
      add_str (uo, "service", u->service);
      add_str (uo, "category", u->category);
      add_str (uo, "detail", u->detail);
      add_str (uo, "syscall", u->syscall);
      json_object_object_add (uo, "count", json_object_new_uint64 (u->count));
      json_object_object_add (uo, "allowed", json_object_new_boolean (u->allowed));
      json_object_array_add (a, uo);
    }
  json_object_object_add (d, "unmediated_io", a);
  json_object_object_add (d, "dropped", json_object_new_uint64 (t->unmediated_dropped));
  return d;
}

static json_object *
test_json (const fb_report *r, const fb_test_result *t)
{
  json_object *o = json_object_new_object ();
  add_str (o, "name", t->name);
  add_str (o, "result", result_names[t->result]);
  add_str (o, "reason", t->reason);
  add_str (o, "failure_type", t->failure_type);
  json_object_object_add (o, "seed", json_object_new_uint64 (t->seed));
  json_object_object_add (o, "duration_ms", json_object_new_int64 (t->duration_ms));
  add_str (o, "return_value", t->return_value);
  add_str (o, "matrix_scenario", t->matrix_scenario);
  add_str (o, "matrix_fault", t->matrix_fault);
  add_str (o, "workdir", t->workdir);
  if (t->result != FB_RESULT_PASS)
    {
      fb_buf cmd = FB_BUF_INIT;
      fb_report_replay_command (r, t, &cmd);
      add_str (o, "replay_command", fb_buf_str (&cmd));
      if (r->bundle)
        add_str (o, "replay_bundle", r->bundle);
      fb_buf_free (&cmd);
    }
  if (t->n_faults)
    {
      json_object *fa = json_object_new_array ();
      for (size_t i = 0; i < t->n_faults; i++)
        {
          const fb_fault_summary *f = &t->faults[i];
          json_object *fo = json_object_new_object ();
          add_str (fo, "service", f->service);
          add_str (fo, "syscall", f->keyword);
          add_str (fo, "action", f->action);
          add_str (fo, "errno", f->errno_name ? f->errno_name : "");
          json_object_object_add (fo, "hits", json_object_new_uint64 (f->hits));
          if (f->label && *f->label)
            add_str (fo, "label", f->label);
          /* what the text report shows, so a report read back prints the same */
          add_str (fo, "filter", f->filter);
          json_object_object_add (fo, "matched", json_object_new_uint64 (f->matched));
          add_str (fo, "hint", f->hint);
          add_str (fo, "delay", f->delay);
          json_object_array_add (fa, fo);
        }
      json_object_object_add (o, "faults", fa);
    }
  if (t->determinism)
    json_object_object_add (o, "determinism", determinism_json (t));
  json_object_object_add (o, "assertions", json_object_new_uint64 (t->assertions));
  json_object *ph = json_object_new_object ();
  for (int k = 0; k < FB_PHASE_N; k++)
    json_object_object_add (ph, fb_phase_names[k], json_object_new_int64 (t->phase_us[k]));
  json_object_object_add (o, "phases_us", ph);
  if (t->runs)
    {
      json_object_object_add (o, "runs", json_object_new_uint64 (t->runs));
      json_object_object_add (o, "runs_passed", json_object_new_uint64 (t->runs_passed));
      json_object_object_add (o, "runs_wanted", json_object_new_uint64 (t->runs_wanted));
    }
  if (t->explored)
    json_object_object_add (o, "explore_index", json_object_new_uint64 (t->explore_index));
  if (t->virtual_time)
    json_object_object_add (o, "virtual_time", json_object_new_boolean (true));
  if (t->n_logs)
    {
      json_object *la = json_object_new_array ();
      for (size_t i = 0; i < t->n_logs; i++)
        {
          json_object *lo = json_object_new_object ();
          add_str (lo, "service", t->logs[i].service);
          add_str (lo, "tail", t->logs[i].tail);
          json_object_object_add (lo, "cut", json_object_new_boolean (t->logs[i].cut));
          json_object_array_add (la, lo);
        }
      json_object_object_add (o, "logs", la);
    }
  json_object *evs = json_object_new_array ();
  for (size_t i = 0; i < t->n_events; i++)
    json_object_array_add (evs, event_json (&t->events[i]));
  json_object_object_add (o, "events", evs);
  return o;
}

static json_object *
strv_json (char **v, size_t n)
{
  json_object *a = json_object_new_array ();
  for (size_t i = 0; i < n; i++)
    json_object_array_add (a, json_object_new_string (v[i]));
  return a;
}

static json_object *
matrix_json (const fb_report *r)
{
  json_object *m = json_object_new_object ();
  json_object_object_add (m, "scenarios", strv_json (r->matrix_scenarios, r->n_matrix_scenarios));
  json_object_object_add (m, "faults", strv_json (r->matrix_faults, r->n_matrix_faults));
  json_object *cells = json_object_new_array ();
  size_t total = 0, passed = 0;
  for (size_t i = 0; i < r->n_tests; i++)
    {
      const fb_test_result *t = &r->tests[i];
      if (!t->matrix_scenario)
        continue;
      json_object *c = json_object_new_object ();
      add_str (c, "scenario", t->matrix_scenario);
      add_str (c, "fault", t->matrix_fault);
      json_object_object_add (c, "passed", json_object_new_boolean (t->result == FB_RESULT_PASS));
      json_object_object_add (c, "duration_ms", json_object_new_int64 (t->duration_ms));
      add_str (c, "reason", t->reason);
      json_object_array_add (cells, c);
      total++;
      passed += t->result == FB_RESULT_PASS;
    }
  json_object_object_add (m, "cells", cells);
  json_object_object_add (m, "total", json_object_new_uint64 (total));
  json_object_object_add (m, "passed", json_object_new_uint64 (passed));
  json_object_object_add (m, "failed", json_object_new_uint64 (total - passed));
  return m;
}

int
fb_test_result_json (const fb_report *r, const fb_test_result *t, fb_buf *out, fb_error *err)
{
  json_object *o = test_json (r, t);
  if (!o)
    return fb_error_set (err, ENOMEM, "cannot build the JSON of %s", t->name);
  fb_buf_puts (out, json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (o);
  return 0;
}

int
fb_report_json (const fb_report *r, fb_buf *out, fb_error *err)
{
  json_object *root = json_object_new_object ();
  if (!root)
    return fb_error_set (err, ENOMEM, "cannot build the JSON report");
  json_object_object_add (root, "version", json_object_new_int (2));
  add_str (root, "star_file", r->star_file);
  json_object_object_add (root, "duration_ms", json_object_new_int64 (r->duration_ms));
  if (r->start_time)
    json_object_object_add (root, "start_time", json_object_new_int64 (r->start_time));
  add_str (root, "hostname", r->hostname);
  json_object_object_add (root, "pass", json_object_new_uint64 (fb_report_passed (r)));
  json_object_object_add (root, "fail", json_object_new_uint64 (fb_report_failed (r)));
  json_object *tests = json_object_new_array ();
  for (size_t i = 0; i < r->n_tests; i++)
    json_object_array_add (tests, test_json (r, &r->tests[i]));
  json_object_object_add (root, "tests", tests);
  if (r->n_matrix_scenarios && r->n_matrix_faults)
    json_object_object_add (root, "matrix", matrix_json (r));
  if (r->not_run)
    json_object_object_add (root, "not_run", json_object_new_uint64 (r->not_run));
  fb_buf_puts (out, json_object_to_json_string_ext (root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
  fb_buf_putc (out, '\n');
  json_object_put (root);
  return 0;
}

/* ---- reading reports back ---------------------------------------------- */

/* String members read into a struct at an offset; `required` ones must be there. */
typedef struct {
  const char *key;
  size_t off;
  bool required;
} str_field;

static const str_field test_strs[] = {
  { "name", offsetof (fb_test_result, name), true },
  { "reason", offsetof (fb_test_result, reason), false },
  { "failure_type", offsetof (fb_test_result, failure_type), false },
  { "return_value", offsetof (fb_test_result, return_value), false },
  { "matrix_scenario", offsetof (fb_test_result, matrix_scenario), false },
  { "matrix_fault", offsetof (fb_test_result, matrix_fault), false },
  { "workdir", offsetof (fb_test_result, workdir), false },
};

static const str_field report_strs[] = {
  { "star_file", offsetof (fb_report, star_file), false },
  { "hostname", offsetof (fb_report, hostname), false },
};

static const str_field fault_strs[] = {
  { "service", offsetof (fb_fault_summary, service), true },
  { "syscall", offsetof (fb_fault_summary, keyword), true },
  { "action", offsetof (fb_fault_summary, action), true },
  { "errno", offsetof (fb_fault_summary, errno_name), false },
  { "label", offsetof (fb_fault_summary, label), false },
  { "filter", offsetof (fb_fault_summary, filter), false },
  { "hint", offsetof (fb_fault_summary, hint), false },
  { "delay", offsetof (fb_fault_summary, delay), false },
};

static int
read_strs (json_object *o, const str_field *fields, size_t n, void *dst, const char *where, fb_error *err)
{
  for (size_t i = 0; i < n; i++)
    {
      json_object *v;
      char **slot = (char **) ((char *) dst + fields[i].off);
      if (!json_object_object_get_ex (o, fields[i].key, &v) || json_object_is_type (v, json_type_null))
        {
          if (fields[i].required)
            return fb_error_set (err, EINVAL, "%s: \"%s\" is missing", where, fields[i].key);
          continue;
        }
      if (!json_object_is_type (v, json_type_string))
        return fb_error_set (err, EINVAL, "%s.%s: not a string", where, fields[i].key);
      *slot = fb_xstrdup (json_object_get_string (v));
    }
  return 0;
}

/* An integer member; absent ones read as 0. */
static int
read_int (json_object *o, const char *key, int64_t *out, const char *where, fb_error *err)
{
  json_object *v;
  *out = 0;
  if (!json_object_object_get_ex (o, key, &v))
    return 0;
  if (!json_object_is_type (v, json_type_int))
    return fb_error_set (err, EINVAL, "%s.%s: not an integer", where, key);
  *out = json_object_get_int64 (v);
  return 0;
}

static int
read_uint (json_object *o, const char *key, uint64_t *out, const char *where, fb_error *err)
{
  int64_t v;
  if (read_int (o, key, &v, where, err) < 0)
    return -1;
  if (v < 0)
    return fb_error_set (err, EINVAL, "%s.%s: negative", where, key);
  *out = (uint64_t) v;
  return 0;
}

/* The array member key (absent: empty); *n its length. */
static int
read_array (json_object *o, const char *key, json_object **out, size_t *n, const char *where, fb_error *err)
{
  *out = NULL;
  *n = 0;
  if (!json_object_object_get_ex (o, key, out))
    return 0;
  if (!json_object_is_type (*out, json_type_array))
    return fb_error_set (err, EINVAL, "%s.%s: not an array", where, key);
  *n = json_object_array_length (*out);
  return 0;
}

static int
read_clock (json_object *o, fb_event *ev, const char *where, fb_error *err)
{
  json_object *vc;
  if (!json_object_object_get_ex (o, "vector_clock", &vc))
    return 0;
  if (!json_object_is_type (vc, json_type_object))
    return fb_error_set (err, EINVAL, "%s.vector_clock: not an object", where);
  ev->clock = fb_xcalloc ((size_t) json_object_object_length (vc) + 1, sizeof *ev->clock);
  json_object_object_foreach (vc, k, v)
    {
      if (!json_object_is_type (v, json_type_int) || json_object_get_int64 (v) < 0)
        return fb_error_set (err, EINVAL, "%s.vector_clock.%s: not a count", where, k);
      ev->clock[ev->n_clock++] = (fb_clock_entry) { fb_xstrdup (k), (uint64_t) json_object_get_int64 (v) };
    }
  return 0;
}

static int
read_event (json_object *o, fb_event *ev, const char *where, fb_error *err)
{
  json_object *type, *svc, *fields;
  if (!json_object_object_get_ex (o, "type", &type) || !json_object_is_type (type, json_type_string))
    return fb_error_set (err, EINVAL, "%s.type: missing or not a string", where);
  if (json_object_object_get_ex (o, "service", &svc) && !json_object_is_type (svc, json_type_string))
    return fb_error_set (err, EINVAL, "%s.service: not a string", where);
  fb_event_init (ev, json_object_get_string (type), svc ? json_object_get_string (svc) : NULL);
  if (read_uint (o, "seq", &ev->seq, where, err) < 0 || read_int (o, "timestamp", &ev->time_ns, where, err) < 0
      || read_clock (o, ev, where, err) < 0)
    return -1;
  if (!json_object_object_get_ex (o, "fields", &fields))
    return 0;
  if (!json_object_is_type (fields, json_type_object))
    return fb_error_set (err, EINVAL, "%s.fields: not an object", where);
  json_object_object_foreach (fields, k, v)
    {
      if (!json_object_is_type (v, json_type_string))
        return fb_error_set (err, EINVAL, "%s.fields.%s: not a string", where, k);
      fb_event_set (ev, k, json_object_get_string (v));
    }
  return 0;
}


static int
read_fault (json_object *o, fb_fault_summary *f, const char *where, fb_error *err)
{
  if (!json_object_is_type (o, json_type_object))
    return fb_error_set (err, EINVAL, "%s: not an object", where);
  if (read_strs (o, fault_strs, sizeof fault_strs / sizeof *fault_strs, f, where, err) < 0
      || read_uint (o, "hits", &f->hits, where, err) < 0 || read_uint (o, "matched", &f->matched, where, err) < 0)
    return -1;
  /* written as "" for delay and trace rules */
  if (f->errno_name && !*f->errno_name)
    {
      free (f->errno_name);
      f->errno_name = NULL;
    }
  return 0;
}

static const str_field unmediated_strs[] = {
  { "service", offsetof (fb_unmediated, service), true },
  { "category", offsetof (fb_unmediated, category), true },
  { "detail", offsetof (fb_unmediated, detail), true },
  { "syscall", offsetof (fb_unmediated, syscall), true },
};

static int
read_determinism (json_object *o, fb_test_result *t, const char *where, fb_error *err)
{
  json_object *d, *a;
  size_t n;
  char at[160];
  if (!json_object_object_get_ex (o, "determinism", &d))
    return 0;
  snprintf (at, sizeof at, "%s.determinism", where);
  if (!json_object_is_type (d, json_type_object))
    return fb_error_set (err, EINVAL, "%s: not an object", at);
  t->determinism = true;
  if (read_uint (d, "dropped", &t->unmediated_dropped, at, err) < 0 || read_array (d, "unmediated_io", &a, &n, at, err) < 0)
    return -1;
  t->unmediated = fb_xcalloc (n + 1, sizeof *t->unmediated);
  for (; t->n_unmediated < n; t->n_unmediated++)
    {
      fb_unmediated *u = &t->unmediated[t->n_unmediated];
      json_object *uo = json_object_array_get_idx (a, t->n_unmediated), *v;
      snprintf (at, sizeof at, "%s.determinism.unmediated_io[%zu]", where, t->n_unmediated);
      if (!json_object_is_type (uo, json_type_object))
        return fb_error_set (err, EINVAL, "%s: not an object", at);
      if (read_strs (uo, unmediated_strs, sizeof unmediated_strs / sizeof *unmediated_strs, u, at, err) < 0
          || read_uint (uo, "count", &u->count, at, err) < 0)
        return t->n_unmediated++, -1; /* counted so the clear frees it */
      u->allowed = json_object_object_get_ex (uo, "allowed", &v) && json_object_get_boolean (v);
    }
  return 0;
}

static const str_field log_strs[] = {
  { "service", offsetof (fb_service_log, service), true },
  { "tail", offsetof (fb_service_log, tail), true },
};

static int
read_log (json_object *o, fb_service_log *l, const char *where, fb_error *err)
{
  if (!json_object_is_type (o, json_type_object))
    return fb_error_set (err, EINVAL, "%s: not an object", where);
  if (read_strs (o, log_strs, sizeof log_strs / sizeof *log_strs, l, where, err) < 0)
    return -1;
  json_object *v = NULL;
  if (json_object_object_get_ex (o, "cut", &v) && !json_object_is_type (v, json_type_boolean))
    return fb_error_set (err, EINVAL, "%s.cut: not a boolean", where);
  l->cut = v && json_object_get_boolean (v);
  return 0;
}

static int
read_test (json_object *o, fb_test_result *t, const char *where, fb_error *err)
{
  if (!json_object_is_type (o, json_type_object))
    return fb_error_set (err, EINVAL, "%s: not an object", where);
  if (read_strs (o, test_strs, sizeof test_strs / sizeof *test_strs, t, where, err) < 0)
    return -1;
  json_object *v;
  if (!json_object_object_get_ex (o, "result", &v) || !json_object_is_type (v, json_type_string))
    return fb_error_set (err, EINVAL, "%s.result: missing or not a string", where);
  const char *result = json_object_get_string (v);
  size_t kind = 0;
  while (kind < sizeof result_names / sizeof *result_names && strcmp (result_names[kind], result))
    kind++;
  if (kind == sizeof result_names / sizeof *result_names)
    return fb_error_set (err, EINVAL, "%s.result: \"%s\" is not pass, fail, error, inconclusive or halted", where, result);
  t->result = (fb_result_kind) kind;
  uint64_t runs[3];
  if (read_uint (o, "seed", &t->seed, where, err) < 0 || read_int (o, "duration_ms", &t->duration_ms, where, err) < 0
      || read_uint (o, "assertions", &t->assertions, where, err) < 0 || read_uint (o, "runs", &runs[0], where, err) < 0
      || read_uint (o, "runs_passed", &runs[1], where, err) < 0 || read_uint (o, "runs_wanted", &runs[2], where, err) < 0)
    return -1;
  t->runs = (unsigned) runs[0], t->runs_passed = (unsigned) runs[1], t->runs_wanted = (unsigned) runs[2];
  t->explored = json_object_object_get_ex (o, "explore_index", &v);
  if (read_uint (o, "explore_index", &t->explore_index, where, err) < 0)
    return -1;
  t->virtual_time = json_object_object_get_ex (o, "virtual_time", &v) && json_object_get_boolean (v);
  if (json_object_object_get_ex (o, "phases_us", &v))
    for (int k = 0; k < FB_PHASE_N; k++)
      if (read_int (v, fb_phase_names[k], &t->phase_us[k], where, err) < 0)
        return -1;
  json_object *a;
  size_t n;
  char at[128];
  if (read_array (o, "faults", &a, &n, where, err) < 0)
    return -1;
  t->faults = fb_xcalloc (n + 1, sizeof *t->faults);
  for (; t->n_faults < n; t->n_faults++)
    {
      snprintf (at, sizeof at, "%s.faults[%zu]", where, t->n_faults);
      if (read_fault (json_object_array_get_idx (a, t->n_faults), &t->faults[t->n_faults], at, err) < 0)
        return t->n_faults++, -1; /* counted so the clear frees it */
    }
  if (read_determinism (o, t, where, err) < 0 || read_array (o, "logs", &a, &n, where, err) < 0)
    return -1;
  t->logs = fb_xcalloc (n + 1, sizeof *t->logs);
  for (; t->n_logs < n; t->n_logs++)
    {
      snprintf (at, sizeof at, "%s.logs[%zu]", where, t->n_logs);
      if (read_log (json_object_array_get_idx (a, t->n_logs), &t->logs[t->n_logs], at, err) < 0)
        return t->n_logs++, -1;
    }
  if (read_array (o, "events", &a, &n, where, err) < 0)
    return -1;
  t->events = fb_xcalloc (n + 1, sizeof *t->events);
  for (; t->n_events < n; t->n_events++)
    {
      snprintf (at, sizeof at, "%s.events[%zu]", where, t->n_events);
      json_object *e = json_object_array_get_idx (a, t->n_events);
      if (!json_object_is_type (e, json_type_object))
        return fb_error_set (err, EINVAL, "%s: not an object", at);
      if (read_event (e, &t->events[t->n_events], at, err) < 0)
        return t->n_events++, -1;
    }
  return 0;
}

/* The error names where the text stops being JSON (a truncated or
 * hand-edited report). */
static json_object *
parse (const char *text, fb_error *err)
{
  json_tokener *tok = json_tokener_new ();
  json_object *root = json_tokener_parse_ex (tok, text, -1);
  enum json_tokener_error jerr = json_tokener_get_error (tok);
  if (jerr != json_tokener_success)
    {
      json_object_put (root);
      root = NULL;
      size_t end = json_tokener_get_parse_end (tok), bol = 0;
      int line = 1;
      for (size_t i = 0; i < end && text[i]; i++)
        if (text[i] == '\n')
          {
            line++;
            bol = i + 1;
          }
      fb_error_set (err, EINVAL, "not JSON at line %d, column %zu: %s", line, end - bol + 1,
                    json_tokener_error_desc (jerr));
    }
  json_tokener_free (tok);
  return root;
}

int
fb_test_result_from_json (const char *text, fb_test_result *out, fb_error *err)
{
  json_object *root = parse (text, err);
  if (!root)
    return -1;
  fb_test_result t = { 0 };
  int r = read_test (root, &t, "test", err);
  json_object_put (root);
  if (r < 0)
    {
      fb_test_result_clear (&t);
      return -1;
    }
  *out = t;
  return 0;
}

static int
read_strv (json_object *o, const char *key, char ***out, size_t *n, const char *where, fb_error *err)
{
  json_object *a;
  size_t len;
  if (read_array (o, key, &a, &len, where, err) < 0)
    return -1;
  *out = fb_xcalloc (len + 1, sizeof **out);
  for (*n = 0; *n < len; (*n)++)
    {
      json_object *v = json_object_array_get_idx (a, *n);
      if (!json_object_is_type (v, json_type_string))
        return fb_error_set (err, EINVAL, "%s.%s[%zu]: not a string", where, key, *n);
      (*out)[*n] = fb_xstrdup (json_object_get_string (v));
    }
  return 0;
}

static int
read_report (json_object *root, fb_report *r, fb_error *err)
{
  int64_t version;
  if (!json_object_is_type (root, json_type_object))
    return fb_error_set (err, EINVAL, "not a Faultbox report (a JSON object)");
  if (read_int (root, "version", &version, "report", err) < 0)
    return -1;
  if (version != 2)
    return fb_error_set (err, EINVAL, "report version %lld is not supported (want 2)", (long long) version);
  json_object *v, *tests;
  uint64_t not_run;
  size_t n;
  if (read_strs (root, report_strs, sizeof report_strs / sizeof *report_strs, r, "report", err) < 0
      || read_int (root, "duration_ms", &r->duration_ms, "report", err) < 0
      || read_int (root, "start_time", &r->start_time, "report", err) < 0
      || read_uint (root, "not_run", &not_run, "report", err) < 0
      || read_array (root, "tests", &tests, &n, "report", err) < 0)
    return -1;
  r->not_run = (size_t) not_run;
  for (size_t i = 0; i < n; i++)
    {
      char at[32];
      snprintf (at, sizeof at, "tests[%zu]", i);
      fb_test_result t = { 0 };
      int rc = read_test (json_object_array_get_idx (tests, i), &t, at, err);
      fb_report_take_test (r, &t); /* so the caller's cleanup frees a partial one */
      if (rc < 0)
        return -1;
    }
  if (!json_object_object_get_ex (root, "matrix", &v))
    return 0;
  return read_strv (v, "scenarios", &r->matrix_scenarios, &r->n_matrix_scenarios, "matrix", err) < 0
             || read_strv (v, "faults", &r->matrix_faults, &r->n_matrix_faults, "matrix", err) < 0
             ? -1 : 0;
}

int
fb_report_from_json (const char *text, fb_report *out, fb_error *err)
{
  json_object *root = parse (text, err);
  if (!root)
    return -1;
  fb_report r = { 0 };
  int rc = read_report (root, &r, err);
  json_object_put (root);
  if (rc < 0)
    {
      fb_report_free (&r);
      return -1;
    }
  *out = r;
  return 0;
}
