#include "faultbox/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int
ret_code (int code)
{
  return code > 0 ? -code : -1;
}

static int
set_va (fb_error *err, int code, int with_errno, const char *fmt, va_list ap)
{
  if (!err)
    return ret_code (code);
  err->code = code > 0 ? code : EINVAL;
  int n = vsnprintf (err->msg, sizeof err->msg, fmt, ap);
  if (with_errno && code > 0 && n >= 0 && (size_t) n < sizeof err->msg)
    snprintf (err->msg + n, sizeof err->msg - (size_t) n, ": %s", strerror (code));
  return ret_code (code);
}

int
fb_error_set (fb_error *err, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int r = set_va (err, code, 0, fmt, ap);
  va_end (ap);
  return r;
}

int
fb_error_setsys (fb_error *err, int code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int r = set_va (err, code, 1, fmt, ap);
  va_end (ap);
  return r;
}

int
fb_error_prefix (fb_error *err, const char *fmt, ...)
{
  if (!err)
    return -1;
  char prefix[FB_ERROR_MSG_MAX];
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (prefix, sizeof prefix, fmt, ap);
  va_end (ap);
  if (n < 0)
    return ret_code (err->code);
  /* Truncation is intended: the message keeps its first FB_ERROR_MSG_MAX-1 bytes. */
  char old[FB_ERROR_MSG_MAX];
  memcpy (old, err->msg, sizeof old);
  size_t pl = strlen (prefix);
  if (pl > sizeof err->msg - 3)
    pl = sizeof err->msg - 3;
  memcpy (err->msg, prefix, pl);
  memcpy (err->msg + pl, ": ", 2);
  size_t room = sizeof err->msg - pl - 3;
  size_t ol = strnlen (old, room);
  memcpy (err->msg + pl + 2, old, ol);
  err->msg[pl + 2 + ol] = '\0';
  return ret_code (err->code);
}
