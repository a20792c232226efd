#include "util/proc.h"
#include "util/cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int
fb_take_seccomp_listener (pid_t pid, fb_error *err)
{
  char dir[64], link[128], target[256];
  snprintf (dir, sizeof dir, "/proc/%d/fd", (int) pid);
  _cleanup_closedir_ DIR *d = opendir (dir);
  if (!d)
    return fb_error_setsys (err, errno, "cannot list the fds of pid %d", (int) pid);
  int cfd = -1;
  for (struct dirent *de; (de = readdir (d)) && cfd < 0;)
    {
      snprintf (link, sizeof link, "%s/%s", dir, de->d_name);
      ssize_t n = readlink (link, target, sizeof target - 1);
      if (n > 0)
        {
          target[n] = '\0';
          if (strstr (target, "seccomp notify"))
            cfd = atoi (de->d_name);
        }
    }
  if (cfd < 0)
    return fb_error_set (err, ENOENT, "pid %d holds no seccomp listener", (int) pid);
  _cleanup_close_ int pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    return fb_error_setsys (err, errno, "pidfd_open(%d)", (int) pid);
  int fd = (int) syscall (SYS_pidfd_getfd, pidfd, cfd, 0);
  if (fd < 0)
    return fb_error_setsys (err, errno, "pidfd_getfd(%d, %d)", (int) pid, cfd);
  fcntl (fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

pid_t
fb_first_child (pid_t pid)
{
  char path[80];
  snprintf (path, sizeof path, "/proc/%d/task/%d/children", (int) pid, (int) pid);
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  long c = 0;
  if (!f || fscanf (f, "%ld", &c) != 1)
    return 0;
  return (pid_t) c;
}

bool
fb_pid_alive (pid_t pid)
{
  char path[48], buf[512];
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno != ENOENT && errno != ESRCH;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  /* "pid (comm) S ...": the state follows the last ')' (comm may hold one) */
  const char *rp = strrchr (buf, ')');
  return !rp || (rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X');
}

int
fb_mkdir_p (const char *path, mode_t mode, fb_error *err)
{
  char buf[4096];
  snprintf (buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/')
      {
        *p = '\0';
        if (mkdir (buf, mode) < 0 && errno != EEXIST)
          return fb_error_setsys (err, errno, "mkdir %s", buf);
        *p = '/';
      }
  if (mkdir (buf, mode) < 0 && errno != EEXIST)
    return fb_error_setsys (err, errno, "mkdir %s", buf);
  return 0;
}

static int
rm_at (int dirfd, const char *name, dev_t dev)
{
  struct stat st;
  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return -errno;
  if (S_ISDIR (st.st_mode))
    {
      if (st.st_dev != dev)
        return -EXDEV; /* never descend into a mount */
      int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        return -errno;
      DIR *d = fdopendir (fd);
      if (!d)
        {
          close (fd);
          return -errno;
        }
      for (struct dirent *de; (de = readdir (d));)
        if (strcmp (de->d_name, ".") && strcmp (de->d_name, ".."))
          rm_at (fd, de->d_name, dev);
      closedir (d);
      return unlinkat (dirfd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
    }
  return unlinkat (dirfd, name, 0) < 0 ? -errno : 0;
}

int
fb_rm_rf (const char *path)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    return errno == ENOENT ? 0 : -errno;
  return rm_at (AT_FDCWD, path, st.st_dev);
}
