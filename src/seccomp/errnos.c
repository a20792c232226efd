#include "faultbox/engine.h"
#include "util/suggest.h"

#include <errno.h>
#include <strings.h>

#include "seccomp/errno_list.h"

static const struct {
  const char *name;
  int value;
} errnos[] = {
#define X(e) { #e, e },
  FB_ERRNO_LIST (X)
#undef X
};

#define N_ERRNOS (sizeof errnos / sizeof errnos[0])

int
fb_errno_from_name (const char *name, int *out, fb_error *err)
{
  for (size_t i = 0; i < N_ERRNOS; i++)
    if (strcasecmp (errnos[i].name, name) == 0)
      {
        *out = errnos[i].value;
        return 0;
      }
  const char *names[N_ERRNOS];
  for (size_t i = 0; i < N_ERRNOS; i++)
    names[i] = errnos[i].name;
  const char *s = fb_suggest (name, names, N_ERRNOS);
  if (s)
    return fb_error_set (err, EINVAL, "unknown errno \"%s\" (did you mean %s?)", name, s);
  return fb_error_set (err, EINVAL, "unknown errno \"%s\"", name);
}

const char *
fb_errno_name (int e)
{
  for (size_t i = 0; i < N_ERRNOS; i++)
    if (errnos[i].value == e)
      return errnos[i].name;
  return "E?";
}
