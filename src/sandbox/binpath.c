#include "faultbox/lab.h"
#include "util/alloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *
search (const char *name)
{
  if (name[0] == '/')
    return fb_xstrdup (name);
  if (strchr (name, '/'))
    {
      char cwd[4096];
      return getcwd (cwd, sizeof cwd) ? fb_xasprintf ("%s/%s", cwd, name) : NULL;
    }
  const char *path = getenv ("PATH");
  char *dirs = fb_xstrdup (path ? path : "/usr/bin:/bin");
  char *save = NULL, *found = NULL;
  for (char *d = strtok_r (dirs, ":", &save); d && !found; d = strtok_r (NULL, ":", &save))
    {
      char *cand = fb_xasprintf ("%s/%s", d, name);
      if (faccessat (AT_FDCWD, cand, X_OK, AT_EACCESS) == 0)
        found = cand;
      else
        free (cand);
    }
  free (dirs);
  if (!found)
    errno = ENOENT;
  return found;
}

static char *
dirname_of (char *path)
{
  char *slash = strrchr (path, '/');
  if (slash == path)
    slash[1] = '\0'; /* "/x" lives in "/" */
  else
    *slash = '\0';
  return path;
}

/* access(X_OK) passes for directories: say "Is a directory" before any exec */
static bool
is_file (const char *path)
{
  struct stat st;
  if (stat (path, &st) < 0)
    return false;
  if (S_ISREG (st.st_mode))
    return true;
  errno = S_ISDIR (st.st_mode) ? EISDIR : EACCES;
  return false;
}

int
fb_binpath_resolve (const char *name, fb_binpath *out)
{
  memset (out, 0, sizeof *out);
  char *path = search (name);
  char *real = path ? realpath (path, NULL) : NULL;
  /* with the effective ids and capabilities, as execve will check */
  if (!real || faccessat (AT_FDCWD, real, X_OK, AT_EACCESS) != 0 || !is_file (real))
    {
      int e = errno;
      free (path);
      free (real);
      errno = e;
      return -1;
    }
  out->path = path;
  out->dir = dirname_of (fb_xstrdup (path));
  out->real_dir = dirname_of (real);
  return 0;
}

void
fb_binpath_clear (fb_binpath *b)
{
  free (b->path);
  free (b->dir);
  free (b->real_dir);
  memset (b, 0, sizeof *b);
}
