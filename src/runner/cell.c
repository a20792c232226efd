/* `faultbox test`: every selected test gets a fresh lab — services started
 * in dependency order and healthy, the body run from the lab's worker
 * address, everything torn down — and a result. */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultbox/protocol.h"
#include "runner/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/parse.h"
#include "util/time.h"

static bool
is_op (const fb_plan *p, const char *service, const char *name)
{
  ssize_t i = fb_plan_find_service (p, service);
  for (size_t k = 0; i >= 0 && k < p->services[i].n_ops; k++)
    if (!strcmp (p->services[i].ops[k].name, name))
      return true;
  return false;
}

static void
engine_event (void *ctx, const fb_engine_event *ev)
{
  fb_session *ss = ctx;
  char decision[96], pid[16], vclock[24];
  if (session_det_observe (ss, ev))
    return;
  if (ev->vtime == FB_VTIME_SLEEP || ev->vtime == FB_VTIME_CLOCK)
    {
      /* answered from the virtual clock: how long it slept, what it read */
      char d[32];
      fb_format_duration (ev->vtime == FB_VTIME_SLEEP ? ev->delay_ns : ev->vclock_ns, d, sizeof d);
      if (ev->err)
        snprintf (decision, sizeof decision, "deny(%s)", fb_errno_name (ev->err));
      else
        snprintf (decision, sizeof decision, "%s(%s)", ev->vtime == FB_VTIME_SLEEP ? "virtual_sleep" : "virtual_time", d);
    }
  else if (ev->rule && ev->faulted)
    fb_rule_describe_action (ev->rule, decision, sizeof decision);
  else
    {
      pthread_mutex_lock (&ss->mu);
      bool traced = session_traced_locked (ss, ev->service, ev->syscall);
      pthread_mutex_unlock (&ss->mu);
      snprintf (decision, sizeof decision, traced ? "trace" : "allow");
    }
  snprintf (pid, sizeof pid, "%d", (int) ev->pid);
  const char *kv[17] = { "syscall", ev->syscall, "decision", decision, "pid", pid };
  size_t n = 6;
  if (ev->path)
    {
      /* the service's stdout and stderr go to its log file in the runner's
       * work dir, whose name varies from run to run */
      ssize_t idx = fb_plan_find_service (&ss->spec->plan, ev->service);
      bool log = idx >= 0 && ss->lab && fb_lab_is_service_log (ss->lab, (size_t) idx, ev->path);
      kv[n++] = "path", kv[n++] = log ? "stdout" : ev->path;
    }
  if (ev->faulted && ev->rule && ev->rule->label)
    kv[n++] = "label", kv[n++] = ev->rule->label;
  char latency[24];
  if ((ev->faulted && ev->decision == FB_ACT_DELAY) || ev->vtime == FB_VTIME_SLEEP)
    {
      snprintf (latency, sizeof latency, "%lld", (long long) (ev->delay_ns / 1000000));
      kv[n++] = "latency_ms", kv[n++] = latency;
    }
  if (ev->vtime)
    {
      snprintf (vclock, sizeof vclock, "%lld", (long long) (ev->vclock_ns / 1000000));
      kv[n++] = "virtual_ms", kv[n++] = vclock;
    }
  if (ev->faulted && ev->rule && strcmp (ev->rule->keyword, ev->syscall)
      && is_op (&ss->spec->plan, ev->service, ev->rule->keyword))
    kv[n++] = "op", kv[n++] = ev->rule->keyword;
  session_event (ss, "syscall", ev->service, kv);
}

/* Last lines of a service's log, for failure reasons: joined with " | "
 * so the reason stays one line. */
static char *
log_tail (fb_session *ss, size_t idx)
{
  const char *path = fb_lab_service_log (ss->lab, idx);
  _cleanup_buf_ fb_buf raw = FB_BUF_INIT;
  bool cut;
  if (!path || fb_buf_read_tail (&raw, path, 5, 4096, &cut, NULL) < 0)
    return fb_xstrdup ("");
  size_t n = raw.len;
  while (n && (raw.data[n - 1] == '\n' || raw.data[n - 1] == ' '))
    n--;
  fb_buf b = FB_BUF_INIT;
  for (size_t i = 0; i < n; i++)
    if (raw.data[i] == '\n')
      fb_buf_puts (&b, " | ");
    else
      fb_buf_putc (&b, raw.data[i]);
  return fb_buf_steal (&b);
}

/* The end of each service's log into the result, once the services
 * stopped (what they print on SIGTERM included). */
static void
take_logs (fb_session *ss, fb_test_result *t)
{
  size_t n = ss->spec->plan.n_services;
  fb_lab_stop (ss->lab);
  t->logs = fb_xcalloc (n + 1, sizeof *t->logs);
  for (size_t i = 0; i < n; i++)
    {
      const char *path = fb_lab_service_log (ss->lab, i);
      _cleanup_buf_ fb_buf tail = FB_BUF_INIT;
      bool cut;
      if (!path || fb_buf_read_tail (&tail, path, FB_LOG_TAIL_LINES, FB_LOG_TAIL_BYTES, &cut, NULL) < 0 || !tail.len)
        continue;
      t->logs[t->n_logs++] = (fb_service_log) { .service = fb_xstrdup (ss->spec->plan.services[i].name),
                                                .tail = fb_buf_steal (&tail), .cut = cut };
    }
}

static int
service_failed (fb_session *ss, size_t idx, fb_buf *why, const char *what)
{
  _cleanup_free_ char *tail = log_tail (ss, idx);
  const fb_plan_service *s = &ss->spec->plan.services[idx];
  fb_buf_printf (why, "failed to start services: service %s %s", s->name, what);
  if (fb_lab_service_oom (ss->lab, idx))
    fb_buf_puts (why, " (killed by the OOM killer: memory limit)");
  if (*tail)
    fb_buf_printf (why, "; its output: %s", tail);
  return -1;
}

static int
probe (fb_session *ss, size_t idx, const fb_plan_healthcheck *h, fb_error *err)
{
  bool local = !strcmp (h->host, "localhost") || !strcmp (h->host, "127.0.0.1");
  ssize_t target = fb_plan_find_service (&ss->spec->plan, h->host);
  const char *ip = local ? "127.0.0.1"
                   : target >= 0 ? fb_lab_service_addr (ss->lab, (size_t) target)
                                 : h->host;
  /* localhost is the service itself: probe from inside its namespace */
  if (fb_lab_enter (ss->lab, local ? (ssize_t) idx : -1, err) < 0)
    return -1;
  const fb_protocol *p = fb_protocol_find (h->protocol);
  /* a protocol without its own readiness is ready when it accepts, as in Faultbox */
  if (!p->ready)
    p = fb_protocol_find ("tcp");
  const fb_plan_service *s = &ss->spec->plan.services[idx];
  fb_ready_call call = { .host = ip, .port = h->port, .path = h->path, .env = s->env, .n_env = s->n_env,
                         .timeout_ms = p->ready_timeout_ms };
  int rc = p->ready (&call, err);
  fb_lab_leave (ss->lab);
  return rc;
}

/* A watch of the network the healthcheck reaches, when it is a service's
 * and the probe speaks TCP: -1 when there is none to watch. */
static int
listen_watch (fb_session *ss, size_t idx, const fb_plan_healthcheck *h)
{
  bool local = !strcmp (h->host, "localhost") || !strcmp (h->host, "127.0.0.1");
  ssize_t target = local ? (ssize_t) idx : fb_plan_find_service (&ss->spec->plan, h->host);
  const fb_protocol *p = fb_protocol_find (h->protocol);
  fb_error e = { 0 };
  return target < 0 || (p && p->datagram) ? -1 : fb_lab_listen_watch (ss->lab, (size_t) target, &e);
}

/* pause times quarters/4, at most cap */
static int64_t
grow (int64_t pause, int quarters, int64_t cap)
{
  return pause * quarters / 4 < cap ? pause * quarters / 4 : cap;
}

static int
wait_ready (fb_session *ss, size_t idx, fb_buf *why)
{
  const fb_plan_service *s = &ss->spec->plan.services[idx];
  const fb_plan_healthcheck *h = &s->hc;
  int64_t now = fb_now_ns (), deadline = now + h->timeout_ns;
  /* Probe at once, then after 1 ms, backing off x1.5 to 50 ms for slow
   * starters. Meanwhile, where the healthcheck reaches a service over
   * TCP, ask the kernel whether anything listens on its port yet (a
   * sock_diag lookup in its network, ~20 µs, no connection the service
   * sees), every 200 µs at first, backing off x1.25 to 5 ms, and probe
   * the moment a listener shows up rather than at the next step of the
   * schedule. */
  _cleanup_close_ int watch = listen_watch (ss, idx, h);
  int64_t next = now, pause = FB_NS_PER_MS, wpause = FB_NS_PER_MS / 5;
  fb_error e = { 0 };
  for (;;)
    {
      int code;
      if (fb_lab_service_exited (ss->lab, idx, &code))
        {
          char what[64];
          snprintf (what, sizeof what, "exited with status %d before it was ready", code);
          return service_failed (ss, idx, why, what);
        }
      fb_error we = { 0 };
      int listening = watch >= 0 ? fb_lab_listening (watch, h->port, &we) : 0;
      if (listening) /* (or the watch failed: the schedule alone from here) */
        close (steal_fd (&watch)), next = fb_now_ns ();
      if ((now = fb_now_ns ()) >= next)
        {
          fb_error_clear (&e);
          if (probe (ss, idx, h, &e) == 0)
            return 0;
          next = fb_now_ns () + pause;
          pause = grow (pause, 6, 50 * FB_NS_PER_MS);
        }
      if (now > deadline)
        {
          char tmo[32], what[512];
          fb_format_duration (h->timeout_ns, tmo, sizeof tmo);
          snprintf (what, sizeof what, "not ready after %s (healthcheck %s%s %s:%d%s: %s)", tmo,
                    h->kind == FB_HC_READY ? "ready " : "", h->protocol, h->host, h->port,
                    h->kind == FB_HC_HTTP ? h->path : "", e.msg);
          return service_failed (ss, idx, why, what);
        }
      int64_t left = next - fb_now_ns ();
      if (watch >= 0 && wpause < left)
        left = wpause, wpause = grow (wpause, 5, 5 * FB_NS_PER_MS);
      if (left > 0)
        fb_sleep_ns (left);
    }
}

typedef struct {
  fb_service_plan *svcs;
  char ***argv, ***envp, ***binds, ***filters, ***det_only;
  fb_bind **volumes;
  struct sock_fprog *progs;
  size_t n;
} lab_inputs;

static void
lab_inputs_free (lab_inputs *in)
{
  for (size_t i = 0; i < in->n; i++)
    {
      if (in->argv)
        free (in->argv[i]);
      if (in->envp)
        fb_strv_free (in->envp[i]);
      if (in->binds)
        fb_strv_free (in->binds[i]);
      if (in->filters)
        fb_strv_free (in->filters[i]);
      if (in->det_only)
        fb_strv_free (in->det_only[i]);
      if (in->volumes)
        free (in->volumes[i]);
      if (in->progs)
        fb_filter_free (&in->progs[i]);
    }
  free (in->svcs);
  free (in->argv);
  free (in->envp);
  free (in->binds);
  free (in->filters);
  free (in->det_only);
  free (in->volumes);
  free (in->progs);
}

/* Builds what the lab needs; a missing binary fails the test, naming the
 * service and where it was declared. Every service sees the spec's
 * directory (configuration files beside the spec) at its own path. */
static int
lab_inputs_build (fb_spec *sp, lab_inputs *in, const fb_test_options *o, fb_buf *why)
{
  size_t n = sp->plan.n_services;
  in->n = n;
  in->svcs = fb_xcalloc (n + 1, sizeof *in->svcs);
  in->argv = fb_xcalloc (n + 1, sizeof *in->argv);
  in->envp = fb_xcalloc (n + 1, sizeof *in->envp);
  in->binds = fb_xcalloc (n + 1, sizeof *in->binds);
  in->filters = fb_xcalloc (n + 1, sizeof *in->filters);
  in->det_only = fb_xcalloc (n + 1, sizeof *in->det_only);
  in->volumes = fb_xcalloc (n + 1, sizeof *in->volumes);
  in->progs = fb_xcalloc (n + 1, sizeof *in->progs);
  const char **names = fb_xcalloc (n + 1, sizeof *names);
  for (size_t i = 0; i < n; i++)
    names[i] = sp->plan.services[i].name;
  int rc = 0;
  for (size_t i = 0; i < n; i++)
    {
      const fb_plan_service *s = &sp->plan.services[i];
      fb_binpath bin = { 0 };
      /* under rootfs= or image= the binary is the root's own: its init says when it is missing */
      bool own_root = s->rootfs || s->image;
      if (!own_root && fb_binpath_resolve (s->binary, &bin) < 0)
        {
          fb_buf_printf (why, "failed to start services: service %s (declared at %s): cannot execute %s: %s",
                         s->name, s->decl_pos, s->binary, strerror (errno));
          rc = -1;
          break;
        }
      in->argv[i] = fb_xcalloc (s->n_args + 2, sizeof *in->argv[i]);
      in->argv[i][0] = s->binary;
      for (size_t k = 0; k < s->n_args; k++)
        in->argv[i][k + 1] = s->args[k];
      in->binds[i] = fb_xcalloc (5, sizeof (char *));
      size_t nb = 0;
      if (sp->mock_ca_path)
        {
          char *ca_dir = in->binds[i][nb++] = fb_xstrdup (sp->mock_ca_path);
          *strrchr (ca_dir, '/') = '\0';
        }
      /* not a spec right in /tmp: the host's would hide the service's fresh one */
      if (strcmp (sp->dir, "/tmp") != 0)
        in->binds[i][nb++] = fb_xstrdup (sp->dir);
      if (!own_root)
        {
          in->binds[i][nb++] = fb_xstrdup (bin.dir);
          in->binds[i][nb++] = fb_xstrdup (bin.real_dir);
        }
      fb_binpath_clear (&bin);
      in->volumes[i] = fb_xcalloc (s->n_volumes + 1, sizeof *in->volumes[i]);
      for (size_t k = 0; k < s->n_volumes; k++)
        in->volumes[i][k] = (fb_bind){ s->volumes[k].src, s->volumes[k].dst, s->volumes[k].writable };
      in->envp[i] = fb_plan_service_env (&sp->plan, i, names);
      fb_error e = { 0 };
      in->filters[i] = fb_run_service_filter (sp, i, o);
      in->det_only[i] = runner_det_only (sp, i, o);
      size_t n_conds;
      const fb_filter_cond *conds = spec_det_conds (sp, i, &n_conds);
      if ((in->filters[i] || n_conds) && fb_filter_build_cond (in->filters[i], conds, n_conds, &in->progs[i], &e) < 0)
        {
          fb_buf_printf (why, "service %s: %s", s->name, e.msg);
          rc = -1;
          break;
        }
      in->svcs[i] = (fb_service_plan) {
        .name = s->name,
        .argv = in->argv[i],
        .envp = in->envp[i],
        .ro_binds = (const char *const *) in->binds[i],
        .seccomp_filter = in->progs[i].filter ? &in->progs[i] : NULL,
        .limits = { .memory_max = s->memory_max, .pids_max = s->pids_max },
        .echo_output = o->echo_output,
        .binds = in->volumes[i],
        .n_binds = s->n_volumes,
        .rootfs = s->rootfs,
        .lowers = (const char *const *) s->layers,
        .cwd = s->cwd,
        .caps_add = s->caps_add,
        .caps_drop = s->caps_drop,
        .proxied = sp->proxied_svc[i],
        .capture_stdout = s->observe[0].on,
        .capture_stderr = s->observe[1].on,
        .set_user = s->user != NULL,
        .uid = s->uid,
        .gid = s->gid,
      };
    }
  free (names);
  return rc;
}

static const char *
first_line (const char *msg, fb_buf *b)
{
  fb_buf_append (b, msg, strcspn (msg, "\n"));
  return fb_buf_str (b);
}

/* Takes the pending Starlark error as a one-line reason. */
static void
take_reason (fb_star_thread *th, fb_buf *why, const char **failure_type)
{
  fb_error se = { 0 };
  fb_star_take_error (th, &se);
  first_line (se.msg, why);
  if (strstr (se.msg, "tcp send") || strstr (se.msg, "connect"))
    *failure_type = "error";
}

/* fault_scenario(timeout=): cancels the scenario's evaluation at its next
 * step once the timeout passed (a step under way ends on its own timeout). */
typedef struct {
  fb_star_thread *th;
  int64_t timeout_ns;
  pthread_t tid;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool done, running, fired;
} watchdog;

static void *
watchdog_main (void *p)
{
  watchdog *w = p;
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  ts.tv_sec += w->timeout_ns / 1000000000;
  ts.tv_nsec += w->timeout_ns % 1000000000;
  if (ts.tv_nsec >= 1000000000)
    ts.tv_sec++, ts.tv_nsec -= 1000000000;
  pthread_mutex_lock (&w->mu);
  int rc = 0;
  while (!w->done && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait (&w->cv, &w->mu, &ts);
  if (!w->done)
    {
      char d[32], why[96];
      fb_format_duration (w->timeout_ns, d, sizeof d);
      snprintf (why, sizeof why, "fault_scenario timed out after %s (timeout=)", d);
      fb_star_cancel (w->th, why);
      w->fired = true;
    }
  pthread_mutex_unlock (&w->mu);
  return NULL;
}

static void
watchdog_start (watchdog *w)
{
  if (!w->timeout_ns)
    return;
  pthread_mutex_init (&w->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init (&ca);
  pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
  pthread_cond_init (&w->cv, &ca);
  pthread_condattr_destroy (&ca);
  w->running = pthread_create (&w->tid, NULL, watchdog_main, w) == 0;
}

static void
watchdog_stop (watchdog *w)
{
  if (!w->timeout_ns)
    return;
  if (w->running)
    {
      pthread_mutex_lock (&w->mu);
      w->done = true;
      pthread_cond_signal (&w->cv);
      pthread_mutex_unlock (&w->mu);
      pthread_join (w->tid, NULL);
    }
  pthread_cond_destroy (&w->cv);
  pthread_mutex_destroy (&w->mu);
  fb_star_cancel (w->th, NULL);
}

/* A test's body: its assumptions' faults around the function, then the
 * monitors over the log, then the oracle on the function's result. */
static void
run_body (fb_spec *sp, const spec_test *test, fb_session *ss, fb_buf *why,
          const char **failure_type)
{
  for (size_t i = 0; i < sp->n_monitors; i++)
    if (!spec_monitor_attached (sp->monitors[i]))
      session_add_monitor (ss, sp->monitors[i], 0);
  for (long i = 0; test->monitors && i < fb_value_len (test->monitors); i++)
    session_add_monitor (ss, fb_value_at (test->monitors, (size_t) i), 0);
  uint64_t scope = test->faults ? ++ss->next_scope : 0;
  for (long i = 0; test->faults && i < fb_value_len (test->faults); i++)
    if (spec_apply_assumption (sp->th, "fault_assumption", ss,
                               fb_value_at (test->faults, (size_t) i), scope) < 0)
      {
        take_reason (sp->th, why, failure_type);
        *failure_type = "error";
        return;
      }
  watchdog w = { .th = sp->th, .timeout_ns = test->timeout_ns };
  ss->deadline = test->timeout_ns ? fb_now_ns () + test->timeout_ns : 0;
  watchdog_start (&w);
  fb_value *r = test->lifecycle && session_test_begin (sp->th, ss, test, why) < 0 ? fb_none ()
                : fb_star_call (sp->th, test->fn, NULL);
  /* test()'s checks after each event stop with its body: the monitors'
   * Starlark below is not theirs to interrupt */
  fb_star_set_poll (sp->th, NULL, NULL);
  /* (a wait that ended at the deadline may beat the watchdog to it) */
  bool timed_out = w.fired || (ss->deadline && fb_now_ns () >= ss->deadline);
  watchdog_stop (&w);
  if (scope)
    session_remove_scope (ss, scope);
  if (test->lifecycle)
    {
      /* test(): Faultbox's verdict table decides, the monitors first */
      if (!r)
        take_reason (sp->th, why, failure_type);
      if (!why->len && !timed_out)
        session_check_monitors (sp->th, ss, why);
      session_test_end (sp->th, ss, timed_out, why, failure_type);
      return;
    }
  if (!r && timed_out && test->expect)
    {
      /* a scenario cut off by its timeout= returned nothing: the oracle
       * judges that (expect_hang() passes, expect_success() does not) */
      fb_error e = { 0 };
      fb_star_take_error (sp->th, &e);
      r = fb_none ();
    }
  if (!r)
    {
      take_reason (sp->th, why, failure_type);
      return;
    }
  if (r != fb_none ())
    ss->result->return_value = fb_value_repr (sp->th, r);
  if (session_check_monitors (sp->th, ss, why) < 0)
    return;
  if (test->expect && !fb_star_call (sp->th, test->expect, &(fb_star_args) { .npos = 1, .pos = &r }))
    {
      take_reason (sp->th, why, failure_type);
      return;
    }
  if (test->require_fire)
    {
      const fb_test_result *t = ss->result;
      uint64_t hits = 0;
      for (size_t i = 0; i < t->n_faults; i++)
        hits += strcmp (t->faults[i].action, "trace") ? t->faults[i].hits : 0;
      if (!hits)
        fb_buf_printf (why, "fault bypassed: no rule of %s fired (require_faults_fire=True)",
                       test->matrix_fault ? test->matrix_fault : "the test's faults");
    }
}

/* cause becomes the reason; what the body reported, its consequence */
static void
put_cause (fb_buf *why, const char *cause)
{
  _cleanup_free_ char *then = why->len ? fb_buf_steal (why) : NULL;
  fb_buf_printf (why, "%s%s%s", cause, then ? "; then: " : "", then ? then : "");
}

/* The runner's own supervision failed: the test cannot have passed,
 * whatever its body saw. */
static void
check_supervision (fb_session *ss, fb_buf *why, const char **failure_type)
{
  fb_error e = { 0 };
  _cleanup_buf_ fb_buf cause = FB_BUF_INIT;
  /* (not under mu: the engine calls us holding its lock) */
  if (ss->engine && fb_engine_check (ss->engine, &e) < 0)
    fb_buf_puts (&cause, e.msg);
  pthread_mutex_lock (&ss->mu);
  if (!cause.len && ss->lost_events)
    fb_buf_printf (&cause, "event log full: service %s made more intercepted syscalls than the log keeps "
                   "(%llu events, --max-events); %llu not recorded",
                   ss->lost_from, (unsigned long long) ss->max_events, (unsigned long long) ss->lost_events);
  pthread_mutex_unlock (&ss->mu);
  if (!cause.len)
    return;
  put_cause (why, fb_buf_str (&cause));
  *failure_type = "error";
}

/* What the lab tells the runner: listeners go to the engine, output
 * lines and exits to the session. */
typedef struct {
  runner_listeners ln;
  fb_session *ss;
} cell_ctx;

static int
cell_hand_over (void *ctx, size_t idx, pid_t pid, int fd, fb_error *err)
{
  return runner_hand_over (&((cell_ctx *) ctx)->ln, idx, pid, fd, err);
}

static void
cell_output (void *ctx, size_t idx, int stream, const char *line, size_t len)
{
  session_service_output (((cell_ctx *) ctx)->ss, idx, stream, line, len);
}

static void
cell_exit (void *ctx, size_t idx, int code)
{
  session_service_exited (((cell_ctx *) ctx)->ss, idx, code);
}

/* restart() from the body: healthy again, and the thread back in the lab
 * network (the probe leaves it) */
static int
body_wait_ready (fb_session *ss, size_t idx, fb_buf *why)
{
  int r = wait_ready (ss, idx, why);
  fb_error e = { 0 };
  if (fb_lab_enter (ss->lab, -1, &e) < 0 && r == 0)
    {
      fb_buf_puts (why, e.msg);
      return -1;
    }
  return r;
}

/* Adds the time since *mark to phase p of the result; *mark becomes now. */
static void
phase_end (fb_test_result *t, fb_phase p, int64_t *mark)
{
  int64_t now = fb_now_ns ();
  t->phase_us[p] += (now - *mark) / 1000;
  *mark = now;
}

/* Every service in dependency order, each healthy before the next. */
static int
start_services (fb_session *ss, const size_t *order, fb_buf *why, fb_error *e)
{
  const fb_plan *plan = &ss->spec->plan;
  int64_t mark = fb_now_ns ();
  for (size_t k = 0; k < plan->n_services; k++)
    {
      size_t idx = order[k];
      const char *name = plan->services[idx].name;
      int rc = fb_lab_start_service (ss->lab, idx, e);
      phase_end (ss->result, FB_PHASE_START, &mark);
      if (rc < 0)
        {
          fb_buf_printf (why, "failed to start services: %s", e->msg);
          return -1;
        }
      char pid[16];
      snprintf (pid, sizeof pid, "%d", (int) fb_lab_service_pid (ss->lab, idx));
      /* Faultbox marks a mock's start and readiness kind=mock */
      const char *mock = plan->services[idx].mock ? "kind" : NULL;
      const char *kv[] = { "pid", pid, "addr", fb_lab_service_addr (ss->lab, idx), mock, "mock", NULL };
      session_event (ss, "service_started", name, kv);
      for (char **w = plan->services[idx].warnings; w && *w; w++)
        {
          const char *wk[] = { "image", plan->services[idx].image, "message", *w, NULL };
          session_event (ss, "image_warning", name, wk);
        }
      if (plan->services[idx].hc.kind != FB_HC_NONE)
        {
          int ready = wait_ready (ss, idx, why);
          phase_end (ss->result, FB_PHASE_HEALTH, &mark);
          if (ready < 0)
            return -1;
          session_event (ss, "service_ready", name, kv + 4);
        }
    }
  return 0;
}

/* After the body: a service that died when nothing asked it to (its
 * service_exited is in the log already), and one the OOM killer hit. */
static void
check_services (fb_session *ss, fb_buf *why, const char **failure_type)
{
  /* the last lines and exits the watcher has not handed on yet */
  fb_lab_flush_output (ss->lab);
  /* an OOM kill says why it died */
  for (size_t i = 0; i < ss->spec->plan.n_services; i++)
    if (fb_lab_service_oom (ss->lab, i))
      {
        _cleanup_free_ char *oom = fb_xasprintf ("service %s was killed by the OOM killer (memory limit)",
                                                 ss->spec->plan.services[i].name);
        put_cause (why, oom);
        *failure_type = "error";
        return;
      }
  size_t idx;
  int code;
  if (!session_unexpected_death (ss, &idx, &code))
    return;
  _cleanup_free_ char *tail = log_tail (ss, idx);
  char how[48];
  if (code > 128)
    spec_signal_name (code - 128, how + snprintf (how, sizeof how, "was killed by "), 24);
  else
    snprintf (how, sizeof how, "exited with status %d", code);
  _cleanup_free_ char *cause = fb_xasprintf ("service %s %s during the test (nothing killed it; "
                                             "service(may_exit=True) allows it)%s%s",
                                             ss->spec->plan.services[idx].name, how,
                                             *tail ? "; its last output: " : "", tail);
  put_cause (why, cause);
  *failure_type = "error";
}

/* One run of a test with seed (and, under --explore, permutation
 * explore_index); *held: the calls its first explored parallel() held,
 * SIZE_MAX when none ran. */
static void
run_test (fb_spec *sp, const spec_test *test, uint64_t seed, uint64_t explore_index, const fb_test_options *o,
          fb_test_result *t, size_t *held)
{
  fb_session ss = { .spec = sp, .result = t, .t0 = fb_now_ns (),
                    .max_events = o->max_events ? o->max_events : FB_DEFAULT_MAX_EVENTS,
                    .opts = o, .explore_index = explore_index,
                    .explore_parallel = runner_explore_parallel, .wait_healthy = body_wait_ready };
  pthread_mutex_init (&ss.mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init (&ca);
  pthread_condattr_setclock (&ca, CLOCK_MONOTONIC); /* the waits' deadlines are fb_now_ns () */
  pthread_cond_init (&ss.cv, &ca);
  pthread_condattr_destroy (&ca);
  session_life_open (&ss);
  ss.svc_scope = fb_xcalloc (sp->plan.n_services + 1, sizeof *ss.svc_scope);
  ss.nondet = fb_xcalloc (sp->plan.n_services + 1, sizeof *ss.nondet);
  t->seed = seed;
  t->virtual_time = o->virtual_time;
  _cleanup_buf_ fb_buf why = FB_BUF_INIT;
  fb_error e = { 0 };
  lab_inputs in = { 0 };
  size_t n = sp->plan.n_services;
  size_t *order = fb_xcalloc (n + 1, sizeof *order);
  fb_star_mark mark = fb_star_mark_heap (sp->th);
  const char *failure_type = "service_start";
  int64_t at;
  if (lab_inputs_build (sp, &in, o, &why) < 0 || fb_plan_start_order (&sp->plan, order, &e) < 0)
    goto done;
  if (fb_engine_new (seed, engine_event, &ss, &ss.engine, &e) < 0)
    goto done;
  fb_engine_set_virtual_time (ss.engine, o->virtual_time);
  if (fb_engine_start (ss.engine, &e) < 0)
    goto done;
  cell_ctx cc = { { ss.engine, in.svcs }, &ss };
  fb_lab_plan lp = { .services = in.svcs, .n_services = n, .keep_workdir = o->keep_workdir, .net = sp->lab_net,
                     .on_listener = cell_hand_over, .on_output = cell_output, .on_exit = cell_exit, .ctx = &cc };
  if (session_observe_open (&ss, &e) < 0 || fb_lab_create (&lp, &ss.lab, &e) < 0)
    goto done;
  if (o->keep_workdir)
    t->workdir = fb_xstrdup (fb_lab_workdir (ss.lab));
  session_det_start (&ss, in.det_only);
  /* the proxy listens before any service starts: their names resolve to
   * it; so does the hub the mocks fetch their tables from */
  {
    if (fb_lab_enter (ss.lab, -1, &e) < 0)
      goto done;
    int prc = session_proxy_start (&ss, &e);
    if (prc == 0)
      prc = session_mock_start (&ss, &e);
    fb_lab_leave (ss.lab);
    if (prc < 0)
      goto done;
  }
  at = fb_now_ns ();
  t->phase_us[FB_PHASE_CREATE] = (at - ss.t0) / 1000;
  if (start_services (&ss, order, &why, &e) < 0)
    goto done;
  /* the body: steps leave from the worker's address on the lab bridge */
  failure_type = "assertion";
  sp->session = &ss;
  at = fb_now_ns ();
  if (fb_lab_enter (ss.lab, -1, &e) < 0)
    goto done;
  run_body (sp, test, &ss, &why, &failure_type);
  fb_lab_leave (ss.lab);
  check_services (&ss, &why, &failure_type);
  phase_end (t, FB_PHASE_BODY, &at);
done:
  at = fb_now_ns ();
  sp->session = NULL;
  if (ss.engine)
    session_remove_all (&ss);
  session_net_close (&ss);
  if (!why.len && e.msg[0])
    {
      fb_buf_printf (&why, "%s", e.msg);
      failure_type = "error";
    }
  check_supervision (&ss, &why, &failure_type);
  if (ss.lab)
    take_logs (&ss, t);
  fb_engine_drain (ss.engine); /* no SIGTERM handler waits behind a delay */
  session_proxy_close (&ss);
  session_mock_close (&ss);
  fb_lab_destroy (ss.lab);
  session_observe_close (&ss);
  session_life_close (&ss);
  fb_engine_free (ss.engine);
  ss.engine = NULL; /* the events after it read no virtual clock */
  /* after the engine: every call the services made is counted */
  session_det_finish (&ss, &why, &failure_type);
  lab_inputs_free (&in);
  free (order);
  free (ss.svc_scope);
  free (ss.nondet);
  if (held)
    *held = ss.explored ? ss.explore_held : SIZE_MAX;
  if (o->explore)
    t->explored = true, t->explore_index = explore_index;
  for (size_t i = 0; i < ss.n_rules; i++)
    fb_rule_clear (&ss.rules[i].rule);
  free (ss.rules);
  free (ss.traces);
  free (ss.monitors);
  free (ss.clocks);
  free (ss.lost_from);
  fb_star_release (sp->th, mark);
  pthread_mutex_destroy (&ss.mu);
  pthread_cond_destroy (&ss.cv);
  phase_end (t, FB_PHASE_TEARDOWN, &at);
  t->duration_ms = (fb_now_ns () - ss.t0) / 1000000;
  if (ss.halted)
    fb_test_result_fail (t, FB_RESULT_HALTED, ss.halted);
  else if (why.len)
    {
      fb_test_result_fail (t, ss.inconclusive ? FB_RESULT_INCONCLUSIVE : FB_RESULT_FAIL, fb_buf_str (&why));
      t->failure_type = fb_xstrdup (failure_type);
    }
  free (ss.halted);
}

/* Runs the test again with its seed; a different normalized trace fails
 * the first run's result. */
static void
check_determinism (fb_spec *sp, const spec_test *test, const fb_test_options *o,
                   fb_test_result *t)
{
  fb_test_result again = { .name = fb_xstrdup (t->name) };
  run_test (sp, test, t->seed, t->explore_index, o, &again, NULL);
  _cleanup_buf_ fb_buf a = FB_BUF_INIT;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  _cleanup_buf_ fb_buf d = FB_BUF_INIT;
  fb_report_normalize_test (t, &a);
  fb_report_normalize_test (&again, &b);
  if (again.result != FB_RESULT_PASS)
    fb_test_result_fail (t, FB_RESULT_FAIL, "nondeterministic: the second run with the same seed failed");
  else if (fb_report_diff (fb_buf_str (&a), fb_buf_str (&b), &d))
    {
      /* the first changed line, for the one-line reason */
      const char *first = fb_buf_str (&d);
      while (*first == '=' || (*first == '-' && first[1] == '-'))
        first += strcspn (first, "\n") + 1;
      char *why = fb_xasprintf ("nondeterministic: two runs with seed %llu have different normalized traces (first difference: %.*s)",
                                (unsigned long long) t->seed, (int) strcspn (first, "\n"), first);
      fb_test_result_fail (t, FB_RESULT_FAIL, why);
      free (why);
    }
  fb_test_result_clear (&again);
}

/* The matrix axes that have a selected cell, in declaration order. */
static void
report_matrix (const fb_spec *sp, const size_t *sel, size_t n_sel, fb_report *rep)
{
  for (size_t k = 0; k < 2; k++)
    {
      char **names = k ? sp->matrix_faults : sp->matrix_scenarios;
      size_t n = k ? sp->n_matrix_faults : sp->n_matrix_scenarios;
      char ***out = k ? &rep->matrix_faults : &rep->matrix_scenarios;
      size_t *n_out = k ? &rep->n_matrix_faults : &rep->n_matrix_scenarios;
      for (size_t j = 0; j < n; j++)
        for (size_t s = 0; s < n_sel; s++)
          {
            const spec_test *t = &sp->tests[sel[s]];
            const char *cell = k ? t->matrix_fault : t->matrix_scenario;
            if (cell && !strcmp (cell, names[j]))
              {
                *out = fb_xreallocarray (*out, *n_out + 1, sizeof **out);
                (*out)[(*n_out)++] = fb_xstrdup (names[j]);
                break;
              }
          }
    }
}

void
runner_run_test (fb_spec *sp, size_t test, const fb_test_options *o, fb_test_result *t)
{
  const spec_test *st = &sp->tests[test];
  uint64_t runs = o->explore == FB_EXPLORE_ALL ? 1 : o->runs ? o->runs : 1;
  /* --runs: repeat with consecutive seeds until the first failure; the
   * result kept is that failure, or the last run. --explore: one seed,
   * a permutation per run, as many as the first run's parallel() held
   * calls can be ordered (--explore all) */
  for (uint64_t k = 0; k < runs; k++)
    {
      if (k)
        fb_test_result_clear (t);
      *t = (fb_test_result) { .name = fb_xstrdup (st->name) };
      if (st->matrix_scenario)
        {
          t->matrix_scenario = fb_xstrdup (st->matrix_scenario);
          t->matrix_fault = fb_xstrdup (st->matrix_fault);
        }
      size_t held;
      bool explore = o->explore != FB_EXPLORE_NONE;
      run_test (sp, st, o->seed + (explore ? 0 : k), o->explore == FB_EXPLORE_ONE ? o->explore_index : k, o, t, &held);
      if (!k && (o->explore == FB_EXPLORE_ALL || o->explore == FB_EXPLORE_SAMPLE))
        {
          /* a test without parallel() has one order */
          uint64_t orders = held == SIZE_MAX ? 1 : runner_explore_runs (held);
          runs = o->explore == FB_EXPLORE_ALL || runs > orders ? orders : runs;
        }
      if (o->check_determinism && t->result == FB_RESULT_PASS)
        check_determinism (sp, st, o, t);
      if (runs > 1)
        t->runs = (unsigned) k + 1, t->runs_passed = (unsigned) k + (t->result == FB_RESULT_PASS),
        t->runs_wanted = (unsigned) runs;
      if (t->result != FB_RESULT_PASS)
        break;
    }
}

int
fb_run_tests (fb_spec *sp, const fb_test_options *o, fb_report *rep, fb_error *err)
{
  _cleanup_free_ size_t *sel = NULL;
  size_t n_sel;
  if (fb_run_select (sp, o, &sel, &n_sel, err) < 0)
    return -1;
  rep->star_file = fb_xstrdup (sp->file);
  rep->start_time = (int64_t) time (NULL);
  char host[256];
  if (gethostname (host, sizeof host) == 0)
    rep->hostname = fb_xstrndup (host, sizeof host);
  report_matrix (sp, sel, n_sel, rep);
  rep->show_failures_only = o->show_failures_only;
  int64_t t0 = fb_now_ns ();
  int rc = runner_run_workers (sp, o, sel, n_sel, rep, err);
  rep->duration_ms = (fb_now_ns () - t0) / 1000000;
  return rc;
}
