#include "sandbox/watch.h"
#include "util/alloc.h"
#include "util/time.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Faultbox's scanner stops at 64 KiB; a longer line is handed on in pieces. */
#define MAX_LINE 65536

typedef struct watched {
  bool stream;          /* else a pidfd */
  size_t idx;
  int kind;             /* stream: 1 or 2 */
  unsigned gen;
  int fd, logfd;
  char *buf;            /* the line begun so far */
  size_t len;
  struct watched *next;
} watched;

struct fb_watch {
  fb_watch_ops ops;
  int ep, wake;
  pthread_t tid;
  bool running;
  pthread_mutex_t mu;   /* list, flush_*, stop */
  pthread_cond_t cv;
  watched *list;
  bool muted, stop;
  uint64_t flush_req, flush_done;
};

static bool
muted (fb_watch *w)
{
  return __atomic_load_n (&w->muted, __ATOMIC_ACQUIRE);
}

static void
unlink_watched (fb_watch *w, watched *x)
{
  pthread_mutex_lock (&w->mu);
  for (watched **p = &w->list; *p; p = &(*p)->next)
    if (*p == x)
      {
        *p = x->next;
        break;
      }
  pthread_mutex_unlock (&w->mu);
  epoll_ctl (w->ep, EPOLL_CTL_DEL, x->fd, NULL);
  close (x->fd);
  if (x->logfd >= 0)
    close (x->logfd);
  free (x->buf);
  free (x);
}

static void
emit_line (fb_watch *w, watched *x, const char *s, size_t n)
{
  if (n && !muted (w) && w->ops.line)
    w->ops.line (w->ops.ctx, x->idx, x->kind, s, n);
}

/* The complete lines of what came, the rest kept for the next read. */
static void
split_lines (fb_watch *w, watched *x, const char *data, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      if (data[i] == '\n')
        {
          emit_line (w, x, x->buf, x->len);
          x->len = 0;
          continue;
        }
      if (x->len == MAX_LINE)
        {
          emit_line (w, x, x->buf, x->len);
          x->len = 0;
        }
      x->buf[x->len++] = data[i];
    }
}

static void
write_all (int fd, const char *p, size_t n)
{
  while (n)
    {
      ssize_t r = write (fd, p, n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        return; /* the log is best effort: the events still come */
      p += r, n -= (size_t) r;
    }
}

static void
handle (fb_watch *w, watched *x)
{
  if (!x->stream)
    {
      size_t idx = x->idx;
      unsigned gen = x->gen;
      unlink_watched (w, x);
      if (!muted (w) && w->ops.exited)
        w->ops.exited (w->ops.ctx, idx, gen);
      return;
    }
  char data[16384];
  ssize_t n = read (x->fd, data, sizeof data);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n > 0)
    {
      write_all (x->logfd, data, (size_t) n);
      split_lines (w, x, data, (size_t) n);
      return;
    }
  /* EOF: every writer is gone; an unterminated last line still counts */
  emit_line (w, x, x->buf, x->len);
  unlink_watched (w, x);
}

/* Handles what is ready now; false when nothing was. */
static bool
one_pass (fb_watch *w, int timeout_ms)
{
  struct epoll_event evs[16];
  int n = epoll_wait (w->ep, evs, 16, timeout_ms);
  for (int i = 0; i < n; i++)
    if (evs[i].data.ptr)
      handle (w, evs[i].data.ptr);
    else
      {
        uint64_t v;
        if (read (w->wake, &v, sizeof v) < 0)
          continue; /* another wake-up took it */
      }
  return n > 0;
}

static bool
has_streams (fb_watch *w)
{
  pthread_mutex_lock (&w->mu);
  bool any = false;
  for (watched *x = w->list; x; x = x->next)
    any |= x->stream;
  pthread_mutex_unlock (&w->mu);
  return any;
}

static void *
watch_main (void *p)
{
  fb_watch *w = p;
  for (;;)
    {
      one_pass (w, -1);
      pthread_mutex_lock (&w->mu);
      uint64_t req = w->flush_req;
      bool stop = w->stop;
      pthread_mutex_unlock (&w->mu);
      if (req != __atomic_load_n (&w->flush_done, __ATOMIC_ACQUIRE))
        {
          /* bounded: a service that writes without pause cannot hold us */
          for (int k = 0; k < 64 && one_pass (w, 0); k++)
            ;
          pthread_mutex_lock (&w->mu);
          w->flush_done = req;
          pthread_cond_broadcast (&w->cv);
          pthread_mutex_unlock (&w->mu);
        }
      if (stop)
        break;
    }
  /* the services are gone: what their pipes hold goes to the logs */
  int64_t deadline = fb_now_ns () + FB_NS_PER_S;
  while (has_streams (w) && fb_now_ns () < deadline)
    one_pass (w, 100);
  return NULL;
}

static void
kick (fb_watch *w)
{
  uint64_t one = 1;
  if (write (w->wake, &one, sizeof one) < 0)
    return; /* the counter is full: a wake-up is pending anyway */
}

fb_watch *
fb_watch_new (const fb_watch_ops *ops, fb_error *err)
{
  fb_watch *w = FB_NEW (fb_watch);
  w->ops = *ops;
  w->ep = epoll_create1 (EPOLL_CLOEXEC);
  w->wake = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  pthread_mutex_init (&w->mu, NULL);
  pthread_cond_init (&w->cv, NULL);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
  if (w->ep < 0 || w->wake < 0 || epoll_ctl (w->ep, EPOLL_CTL_ADD, w->wake, &ev) < 0)
    {
      fb_error_setsys (err, errno, "lab: cannot watch the services");
      fb_watch_free (w);
      return NULL;
    }
  int r = pthread_create (&w->tid, NULL, watch_main, w);
  if (r)
    {
      fb_error_setsys (err, r, "lab: cannot start the watcher thread");
      fb_watch_free (w);
      return NULL;
    }
  w->running = true;
  return w;
}

static int
add (fb_watch *w, watched *x, fb_error *err)
{
  pthread_mutex_lock (&w->mu);
  x->next = w->list;
  w->list = x;
  pthread_mutex_unlock (&w->mu);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = x };
  if (epoll_ctl (w->ep, EPOLL_CTL_ADD, x->fd, &ev) < 0)
    {
      int e = errno;
      unlink_watched (w, x);
      return fb_error_setsys (err, e, "lab: cannot watch a service");
    }
  return 0;
}

int
fb_watch_stream (fb_watch *w, size_t idx, int stream, int fd, int logfd, fb_error *err)
{
  watched *x = FB_NEW (watched);
  *x = (watched) { .stream = true, .idx = idx, .kind = stream, .fd = fd, .logfd = logfd,
                   .buf = fb_xmalloc (MAX_LINE) };
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
  return add (w, x, err);
}

int
fb_watch_pidfd (fb_watch *w, size_t idx, unsigned gen, int pidfd, fb_error *err)
{
  int fd = fcntl (pidfd, F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    return fb_error_setsys (err, errno, "lab: cannot watch a service");
  watched *x = FB_NEW (watched);
  *x = (watched) { .idx = idx, .gen = gen, .fd = fd, .logfd = -1 };
  return add (w, x, err);
}

void
fb_watch_mute (fb_watch *w)
{
  if (w)
    __atomic_store_n (&w->muted, true, __ATOMIC_RELEASE);
}

void
fb_watch_flush (fb_watch *w)
{
  if (!w || !w->running)
    return;
  pthread_mutex_lock (&w->mu);
  uint64_t mine = ++w->flush_req;
  kick (w);
  while (__atomic_load_n (&w->flush_done, __ATOMIC_ACQUIRE) < mine)
    pthread_cond_wait (&w->cv, &w->mu);
  pthread_mutex_unlock (&w->mu);
}

void
fb_watch_free (fb_watch *w)
{
  if (!w)
    return;
  if (w->running)
    {
      pthread_mutex_lock (&w->mu);
      w->stop = true;
      pthread_mutex_unlock (&w->mu);
      kick (w);
      pthread_join (w->tid, NULL);
    }
  while (w->list)
    unlink_watched (w, w->list);
  if (w->ep >= 0)
    close (w->ep);
  if (w->wake >= 0)
    close (w->wake);
  pthread_cond_destroy (&w->cv);
  pthread_mutex_destroy (&w->mu);
  free (w);
}
