#include "util/time.h"

#include <errno.h>
#include <time.h>

int64_t
fb_now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * FB_NS_PER_S + ts.tv_nsec;
}

void
fb_sleep_ns (int64_t ns)
{
  if (ns <= 0)
    return;
  struct timespec ts = { .tv_sec = ns / FB_NS_PER_S, .tv_nsec = ns % FB_NS_PER_S };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}
