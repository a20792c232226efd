/* Scope-bound cleanup (after bubblewrap/systemd): a variable declared with one
 * of these attributes is released when it goes out of scope, so early returns
 * cannot leak. Hand ownership out with steal_pointer / steal_fd. */
#ifndef FB_UTIL_CLEANUP_H
#define FB_UTIL_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

static inline void
fb_freep (void *p)
{
  free (*(void **) p);
}

static inline void
fb_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}

static inline void
fb_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
}

static inline void
fb_closedirp (DIR **d)
{
  if (*d)
    closedir (*d);
}

static inline void
fb_strvfreep (char ***v)
{
  if (*v)
    {
      for (char **p = *v; *p; p++)
        free (*p);
      free (*v);
    }
}

#define _cleanup_(f) __attribute__ ((cleanup (f)))
#define _cleanup_free_ _cleanup_ (fb_freep)
#define _cleanup_close_ _cleanup_ (fb_closep)
#define _cleanup_fclose_ _cleanup_ (fb_fclosep)
#define _cleanup_closedir_ _cleanup_ (fb_closedirp)
#define _cleanup_strv_ _cleanup_ (fb_strvfreep)

/* Define a cleanup helper for a type with a destructor taking T*. */
#define FB_DEFINE_CLEANUP(T, destroy)                                          \
  static inline void destroy##p (T **p)                                        \
  {                                                                            \
    if (*p)                                                                    \
      destroy (*p);                                                            \
  }

static inline void *
fb_steal_pointer (void *pp)
{
  void **p = (void **) pp;
  void *v = *p;
  *p = NULL;
  return v;
}
#define steal_pointer(pp) ((__typeof__ (*(pp))) fb_steal_pointer (pp))

static inline int
steal_fd (int *fd)
{
  int v = *fd;
  *fd = -1;
  return v;
}

#endif
