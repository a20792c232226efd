#include "faultbox/report.h"
#include "util/buf.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

static const char *const result_names[] = {
  [FB_RESULT_PASS] = "pass",
  [FB_RESULT_FAIL] = "fail",
  [FB_RESULT_ERROR] = "error",
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
  if (t->result != FB_RESULT_PASS)
    {
      fb_buf cmd = FB_BUF_INIT;
      fb_buf_printf (&cmd, "faultbox test %s --test %s --seed %llu", r->star_file,
                     strncmp (t->name, "test_", 5) == 0 ? t->name + 5 : t->name, (unsigned long long) t->seed);
      add_str (o, "replay_command", fb_buf_str (&cmd));
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
          json_object_array_add (fa, fo);
        }
      json_object_object_add (o, "faults", fa);
    }
  json_object_object_add (o, "assertions", json_object_new_uint64 (t->assertions));
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
fb_report_json (const fb_report *r, fb_buf *out, fb_error *err)
{
  json_object *root = json_object_new_object ();
  if (!root)
    return fb_error_set (err, ENOMEM, "cannot build the JSON report");
  json_object_object_add (root, "version", json_object_new_int (2));
  add_str (root, "star_file", r->star_file);
  json_object_object_add (root, "duration_ms", json_object_new_int64 (r->duration_ms));
  json_object_object_add (root, "pass", json_object_new_uint64 (fb_report_passed (r)));
  json_object_object_add (root, "fail", json_object_new_uint64 (fb_report_failed (r)));
  json_object *tests = json_object_new_array ();
  for (size_t i = 0; i < r->n_tests; i++)
    json_object_array_add (tests, test_json (r, &r->tests[i]));
  json_object_object_add (root, "tests", tests);
  if (r->n_matrix_scenarios && r->n_matrix_faults)
    json_object_object_add (root, "matrix", matrix_json (r));
  fb_buf_puts (out, json_object_to_json_string_ext (root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
  fb_buf_putc (out, '\n');
  json_object_put (root);
  return 0;
}
