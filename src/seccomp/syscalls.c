#include "faultbox/engine.h"
#include "util/alloc.h"
#include "util/suggest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* One row per keyword; a keyword's family is every syscall that does the
 * same thing by another entry point, so a fault cannot be dodged by writev. */
static const struct {
  const char *keyword;
  const char *family[8];
} families[] = {
  { "write", { "write", "writev", "pwrite64", "pwritev", "pwritev2" } },
  { "read", { "read", "readv", "pread64", "preadv", "preadv2" } },
  { "open", { "open", "openat", "openat2", "creat" } },
  { "openat", { "open", "openat", "openat2", "creat" } },
  { "fsync", { "fsync", "fdatasync" } },
  { "sendto", { "sendto", "sendmsg", "sendmmsg" } },
  { "recvfrom", { "recvfrom", "recvmsg", "recvmmsg" } },
  { "connect", { "connect" } },
  { "accept", { "accept", "accept4" } },
  { "close", { "close" } },
  { "writev", { "writev" } },
  { "readv", { "readv" } },
  { "pwrite64", { "pwrite64" } },
  { "pread64", { "pread64" } },
  { "fdatasync", { "fdatasync" } },
  { "sendmsg", { "sendmsg" } },
  { "recvmsg", { "recvmsg" } },
  { "openat2", { "openat2" } },
  { "creat", { "creat" } },
  { "bind", { "bind" } },
  { "listen", { "listen" } },
  { "socket", { "socket" } },
  { "unlink", { "unlink", "unlinkat" } },
  { "unlinkat", { "unlinkat" } },
  { "rename", { "rename", "renameat", "renameat2" } },
  { "mkdir", { "mkdir", "mkdirat" } },
  { "ftruncate", { "ftruncate" } },
  { "getppid", { "getppid" } },
};

#define N_FAMILIES (sizeof families / sizeof families[0])

void
fb_strv_free (char **v)
{
  if (!v)
    return;
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

int
fb_syscall_family (const char *keyword, char ***out, fb_error *err)
{
  for (size_t i = 0; i < N_FAMILIES; i++)
    if (strcmp (families[i].keyword, keyword) == 0)
      {
        size_t n = 0;
        while (n < 8 && families[i].family[n])
          n++;
        char **v = fb_xcalloc (n + 1, sizeof *v);
        for (size_t j = 0; j < n; j++)
          v[j] = fb_xstrdup (families[i].family[j]);
        *out = v;
        return 0;
      }
  const char *names[N_FAMILIES];
  for (size_t i = 0; i < N_FAMILIES; i++)
    names[i] = families[i].keyword;
  const char *s = fb_suggest (keyword, names, N_FAMILIES);
  if (s)
    return fb_error_set (err, EINVAL, "unknown syscall \"%s\" (did you mean %s?)", keyword, s);
  return fb_error_set (err, EINVAL, "unknown syscall \"%s\" (faultable: write, read, open, openat, fsync, "
                       "sendto, recvfrom, connect, accept, close, ...)", keyword);
}
