/* The lifecycle nemesis: kill(), restart(), pause() and resume() of a
 * service while a test runs, the same actions inside fault_assumption()
 * (crash=, restart=, freeze=), and the bookkeeping that tells a service
 * killed on purpose from one that died on its own. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lang/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/suggest.h"

/* Per service, under ss->mu (the watcher thread reports exits). */
typedef struct {
  bool expect_exit;     /* kill() was called on this incarnation */
  bool died;            /* exited when nothing asked it to */
  int code;
  uint64_t pause_scope; /* paused by pause(run=) or freeze= in this scope */
  bool paused;
} life_svc;

struct session_life {
  life_svc *svcs;
};

#define LIFE_NEEDS_TEST "services live only while a test runs"

void
session_life_open (fb_session *ss)
{
  ss->life = FB_NEW (struct session_life);
  ss->life->svcs = fb_xcalloc (ss->spec->plan.n_services + 1, sizeof *ss->life->svcs);
}

void
session_life_close (fb_session *ss)
{
  if (!ss->life)
    return;
  free (ss->life->svcs);
  free (ss->life);
  ss->life = NULL;
}

/* "SIGTERM", "TERM" or "sigterm"; 0 when unknown. */
static int
signal_number (const char *name)
{
  const char *n = strncasecmp (name, "SIG", 3) ? name : name + 3;
  for (int s = 1; s < SIGRTMIN; s++)
    {
      const char *abbrev = sigabbrev_np (s);
      if (abbrev && !strcasecmp (abbrev, n))
        return s;
    }
  return 0;
}

const char *
spec_signal_name (int sig, char *buf, size_t len)
{
  const char *a = sigabbrev_np (sig);
  if (a)
    snprintf (buf, len, "SIG%s", a);
  else
    snprintf (buf, len, "signal %d", sig);
  return buf;
}

static void
exit_fields (int code, char status[16], char sig[24])
{
  snprintf (status, 16, "%d", code);
  sig[0] = '\0';
  if (code > 128 && code < 128 + 65)
    spec_signal_name (code - 128, sig, 24);
}

void
session_service_exited (fb_session *ss, size_t idx, int code)
{
  const fb_plan_service *s = &ss->spec->plan.services[idx];
  pthread_mutex_lock (&ss->mu);
  life_svc *l = &ss->life->svcs[idx];
  bool expected = l->expect_exit || s->may_exit;
  if (!expected && !l->died)
    l->died = true, l->code = code;
  pthread_mutex_unlock (&ss->mu);
  char status[16], sig[24];
  exit_fields (code, status, sig);
  const char *kv[] = { "status", status, "expected", expected ? "true" : "false",
                       *sig ? "signal" : NULL, sig, NULL };
  session_event (ss, "service_exited", s->name, kv);
}

bool
session_unexpected_death (fb_session *ss, size_t *idx, int *code)
{
  bool found = false;
  pthread_mutex_lock (&ss->mu);
  for (size_t i = 0; ss->life && i < ss->spec->plan.n_services && !found; i++)
    if (ss->life->svcs[i].died)
      found = true, *idx = i, *code = ss->life->svcs[i].code;
  pthread_mutex_unlock (&ss->mu);
  return found;
}

static ssize_t
running_service (fb_star_thread *th, const char *fname, fb_session *ss, fb_value *v)
{
  ssize_t svc = spec_service_arg (th, fname, v);
  if (svc >= 0 && !fb_lab_service_running (ss->lab, (size_t) svc))
    {
      fb_star_errorf (th, "%s: service %s is not running", fname, ss->spec->plan.services[svc].name);
      return -1;
    }
  return svc;
}

static int
unknown_signal (fb_star_thread *th, const char *fname, const char *name)
{
  const char *names[40];
  size_t n = 0;
  char buf[40][16];
  for (int s = 1; s < SIGRTMIN && n < 40; s++)
    if (sigabbrev_np (s))
      {
        snprintf (buf[n], sizeof buf[n], "SIG%s", sigabbrev_np (s));
        names[n] = buf[n];
        n++;
      }
  const char *sug = fb_suggest (name, names, n);
  fb_star_errorf (th, "%s: unknown signal \"%s\"%s%s%s", fname, name, sug ? " (did you mean " : "",
                  sug ? sug : "", sug ? "?)" : "");
  return -1;
}

/* kill of svc with sig: recorded before the signal, so the exit it
 * causes comes after it in the log; SIGKILL returns once it is gone. */
static int
do_kill (fb_star_thread *th, const char *fname, fb_session *ss, size_t svc, int sig)
{
  const char *name = ss->spec->plan.services[svc].name;
  char pid[16], signame[24];
  snprintf (pid, sizeof pid, "%d", (int) fb_lab_service_pid (ss->lab, svc));
  spec_signal_name (sig, signame, sizeof signame);
  pthread_mutex_lock (&ss->mu);
  ss->life->svcs[svc].expect_exit = true;
  pthread_mutex_unlock (&ss->mu);
  const char *kv[] = { "signal", signame, "pid", pid, NULL };
  session_event (ss, "service_killed", name, kv);
  fb_error e = { 0 };
  if (fb_lab_kill_service (ss->lab, svc, sig, &e) < 0)
    {
      fb_star_errorf (th, "%s: %s", fname, e.msg);
      return -1;
    }
  int code;
  if (sig == SIGKILL && fb_lab_service_exited (ss->lab, svc, &code))
    session_service_exited (ss, svc, code);
  return 0;
}

/* kill(svc, signal="SIGKILL") */
static fb_value *
b_kill (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "kill", LIFE_NEEDS_TEST);
  fb_value *target;
  const char *signame = "SIGKILL";
  if (!ss || fb_star_unpack (th, "kill", a, "service", &target, "signal?:s", &signame, NULL) < 0)
    return NULL;
  int sig = signal_number (signame);
  if (!sig)
    {
      unknown_signal (th, "kill", signame);
      return NULL;
    }
  ssize_t svc = running_service (th, "kill", ss, target);
  if (svc < 0 || do_kill (th, "kill", ss, (size_t) svc, sig) < 0)
    return NULL;
  return fb_none ();
}

static int
do_restart (fb_star_thread *th, const char *fname, fb_session *ss, size_t svc)
{
  const fb_plan_service *s = &ss->spec->plan.services[svc];
  fb_error e = { 0 };
  pthread_mutex_lock (&ss->mu);
  ss->life->svcs[svc].expect_exit = true; /* its stop is ours */
  pthread_mutex_unlock (&ss->mu);
  int r = fb_lab_restart_service (ss->lab, svc, &e);
  pthread_mutex_lock (&ss->mu);
  ss->life->svcs[svc].expect_exit = false;
  ss->life->svcs[svc].paused = false;
  ss->life->svcs[svc].pause_scope = 0;
  pthread_mutex_unlock (&ss->mu);
  if (r < 0)
    {
      fb_star_errorf (th, "%s: %s", fname, e.msg);
      return -1;
    }
  char pid[16];
  snprintf (pid, sizeof pid, "%d", (int) fb_lab_service_pid (ss->lab, svc));
  const char *kv[] = { "pid", pid, "addr", fb_lab_service_addr (ss->lab, svc), NULL };
  session_event (ss, "service_restarted", s->name, kv);
  if (session_net_restarted (ss, svc, &e) < 0)
    {
      fb_star_errorf (th, "%s: %s: its network faults: %s", fname, s->name, e.msg);
      return -1;
    }
  if (s->hc.kind == FB_HC_NONE || !ss->wait_healthy)
    return 0;
  _cleanup_buf_ fb_buf why = FB_BUF_INIT;
  if (ss->wait_healthy (ss, svc, &why) < 0)
    {
      fb_star_errorf (th, "%s: %s", fname, fb_buf_str (&why));
      return -1;
    }
  session_event (ss, "service_ready", s->name, NULL);
  return 0;
}

/* restart(svc): stopped if it runs, started again over its files, healthy */
static fb_value *
b_restart (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "restart", LIFE_NEEDS_TEST);
  fb_value *target;
  if (!ss || fb_star_unpack (th, "restart", a, "service", &target, NULL) < 0)
    return NULL;
  ssize_t svc = spec_service_arg (th, "restart", target);
  if (svc < 0 || do_restart (th, "restart", ss, (size_t) svc) < 0)
    return NULL;
  return fb_none ();
}

static int
set_paused (fb_star_thread *th, const char *fname, fb_session *ss, size_t svc, bool on, uint64_t scope)
{
  const char *name = ss->spec->plan.services[svc].name;
  life_svc *l = &ss->life->svcs[svc];
  if (l->paused == on)
    {
      fb_star_errorf (th, "%s: service %s is %s", fname, name, on ? "paused already" : "not paused");
      return -1;
    }
  /* resumed before the thaw, paused after the freeze: what the service
   * does once running again comes later in the log, never before */
  if (!on)
    session_event (ss, "service_resumed", name, NULL);
  fb_error e = { 0 };
  if ((on ? fb_lab_pause_service : fb_lab_resume_service) (ss->lab, svc, &e) < 0)
    {
      fb_star_errorf (th, "%s: %s", fname, e.msg);
      return -1;
    }
  pthread_mutex_lock (&ss->mu);
  l->paused = on;
  l->pause_scope = on ? scope : 0;
  pthread_mutex_unlock (&ss->mu);
  if (on)
    session_event (ss, "service_paused", name, NULL);
  return 0;
}

/* pause(svc, run=None): frozen until resume(svc), or around run() */
static fb_value *
b_pause (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "pause", LIFE_NEEDS_TEST);
  fb_value *target, *run = NULL;
  if (!ss || fb_star_unpack (th, "pause", a, "service", &target, "run?", &run, NULL) < 0)
    return NULL;
  if (run && run != fb_none () && !fb_value_is_callable (run))
    return fb_star_errorf (th, "pause: run= must be a function, got %s", fb_value_type_name (run));
  ssize_t svc = running_service (th, "pause", ss, target);
  uint64_t scope = run && run != fb_none () ? ++ss->next_scope : 0;
  if (svc < 0 || set_paused (th, "pause", ss, (size_t) svc, true, scope) < 0)
    return NULL;
  if (!scope)
    return fb_none ();
  fb_value *r = fb_star_call (th, run, NULL);
  /* resumed whatever run did; its error wins over one of ours */
  fb_error e = { 0 };
  if (!r)
    fb_star_take_error (th, &e);
  int rc = ss->life->svcs[svc].paused ? set_paused (th, "pause", ss, (size_t) svc, false, 0) : 0;
  if (!r)
    return fb_star_errorf (th, "%s", e.msg);
  return rc < 0 ? NULL : r;
}

static fb_value *
b_resume (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  fb_session *ss = spec_session (th, "resume", LIFE_NEEDS_TEST);
  fb_value *target;
  if (!ss || fb_star_unpack (th, "resume", a, "service", &target, NULL) < 0)
    return NULL;
  ssize_t svc = spec_service_arg (th, "resume", target);
  if (svc < 0 || set_paused (th, "resume", ss, (size_t) svc, false, 0) < 0)
    return NULL;
  return fb_none ();
}

int
session_lifecycle_apply (fb_star_thread *th, const char *fname, fb_session *ss, const spec_life_action *act,
                         uint64_t scope)
{
  if (act->action != SPEC_LIFE_RESTART && !fb_lab_service_running (ss->lab, act->svc))
    {
      fb_star_errorf (th, "%s: service %s is not running", fname, ss->spec->plan.services[act->svc].name);
      return -1;
    }
  switch (act->action)
    {
    case SPEC_LIFE_CRASH:
      return do_kill (th, fname, ss, act->svc, act->sig);
    case SPEC_LIFE_RESTART:
      return do_restart (th, fname, ss, act->svc);
    default:
      return set_paused (th, fname, ss, act->svc, true, scope);
    }
}

void
session_life_remove_scope (fb_session *ss, uint64_t scope)
{
  for (size_t i = 0; ss->life && scope && i < ss->spec->plan.n_services; i++)
    {
      life_svc *l = &ss->life->svcs[i];
      if (!l->paused || l->pause_scope != scope)
        continue;
      session_event (ss, "service_resumed", ss->spec->plan.services[i].name, NULL);
      if (fb_lab_resume_service (ss->lab, i, NULL) == 0)
        {
          l->paused = false;
          l->pause_scope = 0;
        }
    }
}

int
spec_lifecycle_signal (fb_star_thread *th, const char *fname, const char *name)
{
  int sig = signal_number (name);
  return sig ? sig : unknown_signal (th, fname, name);
}

void
spec_predeclare_lifecycle (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "kill", b_kill }, { "restart", b_restart }, { "pause", b_pause }, { "resume", b_resume },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}
