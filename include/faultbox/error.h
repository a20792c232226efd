/* Error reporting contract of the faultbox library.
 *
 * Every fallible function takes a caller-owned fb_error and returns a
 * negative number on failure after filling it; success leaves it untouched.
 * The library never prints: the CLI decides what to show. */
#ifndef FAULTBOX_ERROR_H
#define FAULTBOX_ERROR_H

#include <stddef.h>

#define FB_ERROR_MSG_MAX 4096

typedef struct fb_error {
  int code;                     /* errno-like, > 0; 0 while unset */
  char msg[FB_ERROR_MSG_MAX];
} fb_error;

/* Fills err (when non-NULL) and returns -code (or -1 when code <= 0), so
 * callers can write: return fb_error_set (err, errno, "cannot open %s", p); */
int fb_error_set (fb_error *err, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Same, appending ": strerror(code)" to the message. */
int fb_error_setsys (fb_error *err, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Prepends "prefix: " to an already filled message (context as it bubbles
 * up); returns -err->code. */
int fb_error_prefix (fb_error *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static inline void
fb_error_clear (fb_error *err)
{
  if (err)
    {
      err->code = 0;
      err->msg[0] = '\0';
    }
}

#endif
