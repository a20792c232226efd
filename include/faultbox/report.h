/* Results of a `faultbox test` run as plain data, and their renderings: the
 * human text of the seed chapter, Faultbox's JSON schema version 2, JUnit
 * XML and an HTML page. The runner fills an fb_report; renderers write into a caller's fb_buf (the
 * library never prints). */
#ifndef FAULTBOX_REPORT_H
#define FAULTBOX_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "faultbox/buf.h"
#include "faultbox/error.h"

/* One component of a vector clock. */
typedef struct fb_clock_entry {
  char *service;
  uint64_t n;
} fb_clock_entry;

/* One entry of a test's event log. */
typedef struct fb_event {
  uint64_t seq;               /* 1-based, per test */
  int64_t time_ns;            /* monotonic, relative to the test's start */
  char *type;                 /* "syscall", "service_started", "step_send", ... */
  char *service;              /* "test" for the test driver */
  fb_kv *fields;
  size_t n_fields;
  fb_clock_entry *clock;      /* vector clock after the event, non-zero entries */
  size_t n_clock;
} fb_event;

/* One installed fault rule's outcome, for the scope lines and JSON `faults`. */
typedef struct fb_fault_summary {
  char *service;
  char *keyword;              /* "write", or an op name */
  char *action;               /* "deny", "delay", "trace" */
  char *errno_name;           /* "EIO"; NULL for delay/trace */
  char *delay;                /* "500ms" for delay, else NULL */
  char *filter;               /* "write,writev,pwrite64" */
  char *label;                /* may be NULL */
  uint64_t hits;              /* fired */
  uint64_t matched;           /* syscalls that matched the rule (fired or not) */
  char *hint;                 /* why it may not fire, when hits == 0 */
} fb_fault_summary;

/* determinism(): one kind of unmediated nondeterminism a service reached
 * in a test (one per service, category and detail). */
typedef struct fb_unmediated {
  char *service;
  char *category;             /* "clock", "rand", "dns", "network-unmediated", "raw-socket" */
  char *detail;               /* "/dev/urandom", "8.8.8.8:53", "clock_gettime(CLOCK_REALTIME)" */
  char *syscall;              /* the first call that reached it */
  uint64_t count;
  bool allowed;               /* allow= or nondeterministic_ok= tolerates it */
} fb_unmediated;

/* The end of what a service wrote to stdout and stderr (one stream) in a
 * test: at most FB_LOG_TAIL_LINES lines and FB_LOG_TAIL_BYTES bytes. */
#define FB_LOG_TAIL_LINES 50
#define FB_LOG_TAIL_BYTES 8192
typedef struct fb_service_log {
  char *service;
  char *tail;                 /* valid UTF-8 */
  bool cut;                   /* earlier output was left out */
} fb_service_log;

/* INCONCLUSIVE: a test() whose timeout ended it before its temporal
 * expectations were decided; not a failure, but never a pass (exit 3). */
/* HALTED: halt() or a false test(assume=) stopped it; not a failure */
typedef enum { FB_RESULT_PASS, FB_RESULT_FAIL, FB_RESULT_ERROR, FB_RESULT_INCONCLUSIVE, FB_RESULT_HALTED } fb_result_kind;

/* Where a test's time went, in the order they happen: the lab made (and
 * the engine, proxy, hub), services started, healthcheck waits, the body
 * with its checks, the teardown the test waited for. */
typedef enum {
  FB_PHASE_CREATE, FB_PHASE_START, FB_PHASE_HEALTH, FB_PHASE_BODY, FB_PHASE_TEARDOWN, FB_PHASE_N
} fb_phase;
extern const char *const fb_phase_names[FB_PHASE_N];

typedef struct fb_test_result {
  char *name;                 /* "test_order_flow", "test_matrix_order_flow_db_down" */
  fb_result_kind result;
  char *reason;               /* NULL on pass */
  char *failure_type;         /* "assertion", "timeout", "service_start", "error" */
  uint64_t seed;
  int64_t duration_ms;
  char *return_value;         /* repr of the body's return value, may be NULL */
  char *matrix_scenario;      /* set for matrix cells */
  char *matrix_fault;
  char *workdir;              /* --keep-workdir: where its lab's work directory was kept */
  fb_fault_summary *faults;
  size_t n_faults;
  fb_event *events;
  size_t n_events;
  uint64_t assertions;
  fb_service_log *logs;       /* services that wrote something, in plan order */
  size_t n_logs;
  unsigned runs;              /* --runs N > 1: runs made (up to the first failure) */
  unsigned runs_passed;
  unsigned runs_wanted;
  bool explored;              /* --explore: explore_index is the permutation of this run */
  uint64_t explore_index;
  bool virtual_time;          /* it ran under --virtual-time */
  bool determinism;           /* determinism() watched it: unmediated says what it saw */
  fb_unmediated *unmediated;
  size_t n_unmediated;
  uint64_t unmediated_dropped; /* calls past the distinct entries kept */
  int64_t phase_us[FB_PHASE_N]; /* of its last run; the JSON report's "phases_us" */
} fb_test_result;

typedef struct fb_report {
  char *star_file;            /* as the user named it */
  int64_t duration_ms;
  int64_t start_time;         /* Unix seconds when the run began, 0: unknown */
  char *hostname;             /* where it ran, NULL: unknown */
  fb_test_result *tests;      /* in run order (sorted names) */
  size_t n_tests;
  /* matrix layout, empty when the spec has no fault_matrix */
  char **matrix_scenarios;
  size_t n_matrix_scenarios;
  char **matrix_faults;
  size_t n_matrix_faults;
  bool show_failures_only;
  bool show_return_values;    /* --debug: "  return: <repr>" per test */
  size_t not_run;             /* selected tests an interruption kept from running */
  const char *bundle;         /* the replay bundle this run writes, NULL: none (not owned) */
} fb_report;

/* Event helpers: fields are copied. */
void fb_event_init (fb_event *ev, const char *type, const char *service);
void fb_event_set (fb_event *ev, const char *key, const char *value);
const char *fb_event_get (const fb_event *ev, const char *key);
void fb_event_clear (fb_event *ev);
/* Faultbox's dotted event_type: "syscall.write", "lifecycle.started",
 * "step_send.db", else the type. */
void fb_event_kind (const fb_event *ev, fb_buf *out);
/* "write", or "persist(write)" for a named operation */
void fb_event_syscall_name (const fb_event *ev, fb_buf *out);
/* A syscall event's label, path and added latency, each after sep:
 * "  [disk failure]  /tmp/x.wal  (+100ms)" */
void fb_event_fault_details (const fb_event *ev, const char *sep, fb_buf *out);

fb_test_result *fb_report_add_test (fb_report *r, const char *name);
/* Moves *t (then zeroed) to the end of r's tests. */
fb_test_result *fb_report_take_test (fb_report *r, fb_test_result *t);
void fb_test_result_fail (fb_test_result *t, fb_result_kind kind, const char *reason);
/* Frees what a result holds (not the struct). */
void fb_test_result_clear (fb_test_result *t);
/* Frees a result's event log, once nothing will read it. */
void fb_test_result_drop_events (fb_test_result *t);
void fb_report_free (fb_report *r);

size_t fb_report_passed (const fb_report *r);
/* failed or errored */
size_t fb_report_failed (const fb_report *r);
size_t fb_report_inconclusive (const fb_report *r);
size_t fb_report_halted (const fb_report *r);
/* The result of the matrix cell scenario × fault; NULL when it did not run
 * (excluded, another shard's, interrupted). */
const fb_test_result *fb_report_matrix_cell (const fb_report *r, const char *scenario, const char *fault);
/* "faultbox test SPEC --test NAME --seed N" (with --explore-index K and
 * --virtual-time when it ran so): the command that replays t. */
void fb_report_replay_command (const fb_report *r, const fb_test_result *t, fb_buf *out);

/* Lines for one test as the seed chapter shows them:
 * "--- PASS: test_x (207ms, seed=0) ---", reason/replay on failure, fault
 * scope lines, zero-traffic warnings. */
void fb_report_text_test (const fb_report *r, const fb_test_result *t, fb_buf *out);
/* The fault matrix table, "Result: ..." and failures; nothing when no matrix. */
void fb_report_text_matrix (const fb_report *r, fb_buf *out);
/* "N passed, M failed[, K inconclusive][, H halted]", then the inconclusive reasons */
void fb_report_text_summary (const fb_report *r, fb_buf *out);

/* The normalized trace of a test / a run: what varies between two runs of
 * one seed left out, so that two runs compare line by line. */
void fb_report_normalize_test (const fb_test_result *t, fb_buf *out);
void fb_report_normalize (const fb_report *r, fb_buf *out);
/* Line diff of two normalized traces into out ("- removed", "+ added",
 * under their "=== test" / "--- service" headers); returns the number of
 * changed lines, 0 when identical. */
size_t fb_report_diff (const char *a, const char *b, fb_buf *out);

/* Faultbox JSON schema version 2. */
int fb_report_json (const fb_report *r, fb_buf *out, fb_error *err);
/* One element of its "tests" array, on one line (parallel workers send
 * their results back in it). */
int fb_test_result_json (const fb_report *r, const fb_test_result *t, fb_buf *out, fb_error *err);

/* Readers of the above: a whole report (`faultbox merge`) and one test.
 * Derived fields (pass/fail counts, replay_command, matrix cells) are
 * recomputed, not read. On error out is untouched and err says what is
 * wrong where ("tests[3].seed: not an integer"). */
int fb_report_from_json (const char *text, fb_report *out, fb_error *err);
int fb_test_result_from_json (const char *text, fb_test_result *out, fb_error *err);

/* Moves from's tests into into (sorted by name, as one run orders them);
 * from keeps what was not moved and is still the caller's to free. Fails,
 * leaving into untouched, when the reports are of different specs or
 * share a test. */
int fb_report_merge (fb_report *into, fb_report *from, fb_error *err);

/* ShiViz's input format: the parsing regex, the execution delimiter, then
 * per event its description and "<service> <vector clock>", one execution
 * per test. */
void fb_report_shiviz (const fb_report *r, fb_buf *out);

/* JUnit XML as Jenkins and GitLab read it (valid against
 * tests/integration/junit.xsd): one <testsuite> per spec, one <testcase>
 * per test or matrix cell, <failure> with the reason and the replay
 * command, <system-out> with the services' log tails. */
void fb_report_junit (const fb_report *r, fb_buf *out);

/* One self-contained HTML page (inline CSS and SVG, nothing fetched): the
 * summary, the matrix as a colored grid, and per test its result, replay
 * command and a timeline of lifecycle, steps and injected faults. Every
 * string from the spec or the services is escaped. */
void fb_report_html (const fb_report *r, fb_buf *out);

#endif
