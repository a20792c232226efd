/* `faultbox test -j N`: the selected tests run in N forked worker
 * processes, each test in its own lab (labs are per process: own netns,
 * cgroups and work directory). The parent hands out positions in the
 * selection over a socketpair whenever a worker is free, reads each result
 * back as one JSON frame, and delivers results in selection order, so the
 * output does not depend on scheduling. The parent never enters a lab: it
 * stays free to notice a stop, kill the workers and sweep their labs. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runner/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/time.h"

#define TICK_MS 250

typedef struct {
  pid_t pid;        /* 0: none */
  int fd;           /* the parent's end; -1 once closed (no more work) */
  ssize_t running;  /* position in the selection it runs, -1: idle */
  fb_buf in;        /* bytes of result frames read so far */
} worker;

typedef struct {
  fb_spec *sp;
  const fb_test_options *o;
  const size_t *sel;
  size_t n;
  worker *w;
  size_t nw;
  fb_test_result *res;  /* by position, until delivered */
  bool *have;
  size_t next_task, next_deliver, done, failed;
  fb_report *rep;
  int64_t t0;
} jobs;

static bool
stopped (const jobs *j)
{
  return j->o->stop && *j->o->stop;
}

static int
write_all (int fd, const void *p, size_t len)
{
  for (size_t off = 0; off < len;)
    {
      ssize_t r = send (fd, (const char *) p + off, len - off, MSG_NOSIGNAL);
      if (r < 0 && errno != EINTR)
        return -1;
      off += r > 0 ? (size_t) r : 0;
    }
  return 0;
}

static bool
read_all (int fd, void *p, size_t len)
{
  for (size_t off = 0; off < len;)
    {
      ssize_t r = read (fd, (char *) p + off, len - off);
      if (r == 0 || (r < 0 && errno != EINTR))
        return false;
      off += r > 0 ? (size_t) r : 0;
    }
  return true;
}

/* A worker: runs the positions it is sent, answers each with a frame
 * (32-bit length, then the result as JSON), exits when the parent closes
 * its end. */
static void __attribute__ ((noreturn))
worker_main (jobs *j, int fd, pid_t parent)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (1);
  /* a terminal's Ctrl-C reaches the parent alone, which decides */
  setpgid (0, 0);
  signal (SIGINT, SIG_DFL);
  signal (SIGTERM, SIG_DFL);
  /* the other workers see EOF only when every copy of their parent end is closed */
  for (size_t k = 0; k < j->nw; k++)
    if (j->w[k].fd >= 0)
      close (j->w[k].fd);
  fb_report r = { .star_file = j->sp->file };
  /* one lab network for all our tests (each still gets fresh services) */
  j->sp->lab_net = fb_lab_net_new ();
  uint32_t pos;
  while (read_all (fd, &pos, sizeof pos))
    {
      fb_test_result t;
      runner_run_test (j->sp, j->sel[pos], j->o, &t);
      _cleanup_buf_ fb_buf b = FB_BUF_INIT;
      fb_buf_append (&b, &pos, sizeof pos); /* room for the length */
      if (fb_test_result_json (&r, &t, &b, NULL) < 0)
        _exit (1);
      uint32_t len = (uint32_t) (b.len - sizeof len);
      memcpy (b.data, &len, sizeof len);
      fb_test_result_clear (&t);
      if (write_all (fd, b.data, b.len) < 0)
        _exit (1);
    }
  fb_lab_net_free (j->sp->lab_net);
  /* _exit: the parent's stdio buffers are not ours to flush */
  _exit (0);
}

static int
spawn (jobs *j, worker *w, fb_error *err)
{
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return fb_error_setsys (err, errno, "cannot create a worker's socket");
  pid_t parent = getpid ();
  pid_t pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (sv[0]);
      close (sv[1]);
      return fb_error_setsys (err, e, "cannot fork a worker");
    }
  if (pid == 0)
    {
      close (sv[0]);
      worker_main (j, sv[1], parent);
    }
  close (sv[1]);
  *w = (worker) { .pid = pid, .fd = sv[0], .running = -1 };
  return 0;
}

static void
progress (jobs *j)
{
  if (!j->o->on_progress)
    return;
  fb_progress p = { .done = j->done, .total = j->n, .failed = j->failed,
                    .elapsed_ms = (fb_now_ns () - j->t0) / FB_NS_PER_MS };
  ssize_t oldest = -1;
  for (size_t k = 0; k < j->nw; k++)
    if (j->w[k].running >= 0 && (oldest < 0 || j->w[k].running < oldest))
      oldest = j->w[k].running;
  if (oldest >= 0)
    p.running = j->sp->tests[j->sel[oldest]].name;
  j->o->on_progress (j->o->ctx, &p);
}

static void
deliver (jobs *j, size_t pos)
{
  fb_test_result *t = fb_report_take_test (j->rep, &j->res[pos]);
  if (j->o->on_result)
    j->o->on_result (j->o->ctx, j->rep, t);
  if (!j->o->keep_events)
    fb_test_result_drop_events (t);
}

static void
store (jobs *j, size_t pos, fb_test_result *t)
{
  j->res[pos] = *t;
  j->have[pos] = true;
  j->done++;
  j->failed += t->result != FB_RESULT_PASS;
  while (j->next_deliver < j->n && j->have[j->next_deliver])
    deliver (j, j->next_deliver++);
  progress (j);
}

/* The next test to w, or its end closed when there is none: it exits. */
static void
hand_out (jobs *j, worker *w)
{
  if (j->next_task == j->n || stopped (j))
    {
      close (w->fd);
      w->fd = -1;
      return;
    }
  uint32_t pos = (uint32_t) j->next_task++;
  w->running = pos;
  /* a worker that died meanwhile shows as EOF, and its test as an error */
  write_all (w->fd, &pos, sizeof pos);
  progress (j);
}

/* Reads what w sent, storing each complete result; false once w is gone
 * or sent something that is not a result. */
static bool
receive (jobs *j, worker *w)
{
  char chunk[65536];
  ssize_t r = read (w->fd, chunk, sizeof chunk);
  if (r < 0 && errno == EINTR)
    return true;
  if (r <= 0)
    return false;
  fb_buf_append (&w->in, chunk, (size_t) r);
  uint32_t len;
  while (w->in.len >= sizeof len && (memcpy (&len, w->in.data, sizeof len), w->in.len - sizeof len >= len))
    {
      _cleanup_free_ char *text = fb_xstrndup (w->in.data + sizeof len, len);
      fb_test_result t;
      if (w->running < 0 || fb_test_result_from_json (text, &t, NULL) < 0)
        return false;
      size_t pos = (size_t) w->running;
      w->running = -1;
      store (j, pos, &t);
      size_t rest = w->in.len - sizeof len - len;
      memmove (w->in.data, w->in.data + sizeof len + len, rest);
      fb_buf_truncate (&w->in, rest);
      hand_out (j, w);
    }
  return true;
}

/* Kills and reaps w; a test it was running gets its labs swept and, unless
 * the run is stopping, an error result. */
static void
bury (jobs *j, worker *w)
{
  kill (w->pid, SIGKILL);
  int status = 0;
  while (waitpid (w->pid, &status, 0) < 0 && errno == EINTR)
    ;
  ssize_t pos = w->running;
  w->running = -1;
  if (pos >= 0)
    {
      fb_lab_sweep_runner (w->pid, j->o->keep_workdir);
      if (!stopped (j))
        {
          char why[128];
          if (WIFSIGNALED (status))
            snprintf (why, sizeof why, "the worker process running it was killed by signal %d", WTERMSIG (status));
          else
            snprintf (why, sizeof why, "the worker process running it exited with status %d", WEXITSTATUS (status));
          fb_test_result t = { .name = fb_xstrdup (j->sp->tests[j->sel[pos]].name), .seed = j->o->seed,
                               .failure_type = fb_xstrdup ("error") };
          fb_test_result_fail (&t, FB_RESULT_ERROR, why);
          store (j, (size_t) pos, &t);
        }
    }
  if (w->fd >= 0)
    close (w->fd);
  fb_buf_free (&w->in);
  *w = (worker) { .fd = -1, .running = -1 };
}

/* One round: waits up to a tick for results or deaths. */
static int
serve (jobs *j, fb_error *err)
{
  struct pollfd pfd[j->nw];
  size_t of[j->nw], m = 0;
  for (size_t k = 0; k < j->nw; k++)
    if (j->w[k].fd >= 0)
      {
        pfd[m] = (struct pollfd) { .fd = j->w[k].fd, .events = POLLIN };
        of[m++] = k;
      }
  if (poll (pfd, m, TICK_MS) < 0 && errno != EINTR)
    return fb_error_setsys (err, errno, "poll on the workers");
  for (size_t i = 0; i < m && !stopped (j); i++)
    {
      worker *w = &j->w[of[i]];
      if (!pfd[i].revents || receive (j, w))
        continue;
      bury (j, w);
      if (j->next_task < j->n)
        {
          if (spawn (j, w, err) < 0)
            return -1;
          hand_out (j, w);
        }
    }
  progress (j);
  return 0;
}

int
runner_run_workers (fb_spec *sp, const fb_test_options *o, const size_t *sel, size_t n,
               fb_report *rep, fb_error *err)
{
  jobs j = { .sp = sp, .o = o, .sel = sel, .n = n, .rep = rep, .t0 = fb_now_ns () };
  j.nw = o->jobs ? o->jobs : 1;
  if (j.nw > n)
    j.nw = n;
  j.w = fb_xcalloc (j.nw + 1, sizeof *j.w);
  for (size_t k = 0; k < j.nw; k++)
    j.w[k] = (worker) { .fd = -1, .running = -1 };
  j.res = fb_xcalloc (n + 1, sizeof *j.res);
  j.have = fb_xcalloc (n + 1, sizeof *j.have);
  int rc = 0;
  for (size_t k = 0; k < j.nw && rc == 0 && !stopped (&j); k++)
    if ((rc = spawn (&j, &j.w[k], err)) == 0)
      hand_out (&j, &j.w[k]);
  while (rc == 0 && j.next_deliver < n && !stopped (&j))
    rc = serve (&j, err);
  /* the workers left: busy ones only when stopping or on an error */
  for (size_t k = 0; k < j.nw; k++)
    if (j.w[k].pid)
      bury (&j, &j.w[k]);
  /* what finished stays reported, in order; the rest did not run */
  for (size_t pos = j.next_deliver; pos < n; pos++)
    if (j.have[pos])
      deliver (&j, pos);
    else
      rep->not_run++;
  free (j.w);
  free (j.res);
  free (j.have);
  return rc < 0 ? -1 : 0;
}
