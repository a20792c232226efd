#ifndef FB_UTIL_TIME_H
#define FB_UTIL_TIME_H

#include <stdint.h>

#define FB_NS_PER_MS INT64_C (1000000)
#define FB_NS_PER_S INT64_C (1000000000)

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t fb_now_ns (void);
static inline int64_t fb_now_ms (void) { return fb_now_ns () / FB_NS_PER_MS; }
/* Sleeps the whole duration, resuming after signals. */
void fb_sleep_ns (int64_t ns);

#endif
