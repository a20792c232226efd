/* The cache: unpacked layers by digest, temporary directories, and images
 * saved from a local podman or docker. Everything is made in a temporary
 * directory of the cache and renamed into place, so a reader never sees a
 * half-made entry and a killed run leaves only a temporary directory,
 * which the next run removes. */
#include "image/image.h"
#include "faultbox/rootless.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

char *
fb_image_cache_dir (void)
{
  const char *xdg = getenv ("XDG_CACHE_HOME"), *home = getenv ("HOME");
  if (xdg && xdg[0] == '/')
    return fb_xasprintf ("%s/faultbox", xdg);
  if ((geteuid () != 0 || fb_rootless_get ()->active) && home && home[0] == '/')
    return fb_xasprintf ("%s/.cache/faultbox", home);
  return fb_xstrdup ("/var/cache/faultbox");
}

char *
img_layer_dir (const char *cache, const char *digest)
{
  return fb_xasprintf ("%s/layers/sha256/%s", cache, digest + 7);
}

/* Temporary directories are named PID-XXXXXX: those of dead processes go. */
static void
sweep_tmp (const char *tmp)
{
  _cleanup_closedir_ DIR *d = opendir (tmp);
  for (struct dirent *de; d && (de = readdir (d));)
    {
      int pid;
      if (sscanf (de->d_name, "%d-", &pid) == 1 && pid > 0 && pid != getpid () && !fb_pid_alive (pid))
        {
          _cleanup_free_ char *p = fb_xasprintf ("%s/%s", tmp, de->d_name);
          fb_rm_rf (p);
        }
    }
}

char *
img_cache_tmp (const char *cache, fb_error *err)
{
  _cleanup_free_ char *tmp = fb_xasprintf ("%s/tmp", cache);
  if (fb_mkdir_p (tmp, 0700, err) < 0)
    return NULL;
  sweep_tmp (tmp);
  char *dir = fb_xasprintf ("%s/%d-XXXXXX", tmp, (int) getpid ());
  if (!mkdtemp (dir))
    {
      fb_error_setsys (err, errno, "cannot make a directory in %s", tmp);
      free (dir);
      return NULL;
    }
  return dir;
}

/* Renames the finished tmp/name to dst; one made meanwhile by another run
 * is as good as ours. Removes tmp. */
static int
publish (char *tmp, const char *name, const char *dst, fb_error *err)
{
  _cleanup_free_ char *src = fb_xasprintf ("%s/%s", tmp, name), *parent = fb_xstrdup (dst);
  *strrchr (parent, '/') = '\0';
  int r = fb_mkdir_p (parent, 0755, err);
  if (r == 0 && rename (src, dst) < 0 && errno != EEXIST && errno != ENOTEMPTY)
    r = fb_error_setsys (err, errno, "cannot move into the cache %s", dst);
  fb_rm_rf (tmp);
  return r;
}

int
img_layer_ensure (const char *cache, const img_layer *l, const char *what, size_t *made, fb_error *err)
{
  _cleanup_free_ char *dir = img_layer_dir (cache, l->digest);
  if (access (dir, F_OK) == 0)
    return 0;
  if (!l->blob)
    return fb_error_set (err, ENOENT, "%s: layer %s: neither in the archive nor in the cache", what, l->digest);
  _cleanup_free_ char *tmp = img_cache_tmp (cache, err);
  if (!tmp)
    return fb_error_prefix (err, "%s: layer %s", what, l->digest);
  _cleanup_free_ char *root = fb_xasprintf ("%s/root", tmp);
  if (mkdir (root, 0755) < 0 || img_unpack (l->blob, root, l->digest, true, NULL, NULL, err) < 0)
    {
      if (!err->code)
        fb_error_setsys (err, errno, "cannot make %s", root);
      fb_rm_rf (tmp);
      return fb_error_prefix (err, "%s: layer %s", what, l->digest);
    }
  if (publish (tmp, "root", dir, err) < 0)
    return -1;
  (*made)++;
  return 0;
}

/* Runs argv (searched in PATH), its output and errors into out; the exit
 * status, or -1 when it could not start. */
static int
run_tool (char *const *argv, fb_buf *out)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, p[1], 1);
  posix_spawn_file_actions_adddup2 (&fa, p[1], 2);
  pid_t pid;
  int r = posix_spawnp (&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (p[1]);
  char buf[4096];
  ssize_t n;
  while (r == 0 && ((n = read (p[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)))
    if (n > 0 && out->len < 65536)
      fb_buf_append (out, buf, (size_t) n);
  close (p[0]);
  int st;
  if (r != 0)
    return -1;
  while (waitpid (pid, &st, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED (st) ? WEXITSTATUS (st) : 128;
}

/* The last line of text that says something (a tool's error comes last). */
static void
last_line (fb_buf *b, const char *text)
{
  const char *best = text;
  size_t n = 0;
  for (const char *l = text; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    if (strcspn (l, "\n") > 0)
      best = l, n = strcspn (l, "\n");
  fb_buf_append (b, best, n);
}

/* Saves ref from tool into cache/saved/ID.tar unless that image id is
 * there already. 1: the tool does not have it (why in *why). */
static int
save_from (const char *tool, const char *cache, const char *ref, char **archive, fb_buf *why, fb_error *err)
{
  _cleanup_buf_ fb_buf out = FB_BUF_INIT;
  char *inspect[] = { (char *) tool, "image", "inspect", "--format", "{{.Id}}", (char *) ref, NULL };
  int st = run_tool (inspect, &out);
  if (st != 0)
    {
      fb_buf_printf (why, "%s%s: ", why->len ? "; " : "", tool);
      last_line (why, st < 0 ? "not found" : fb_buf_str (&out));
      return 1;
    }
  const char *text = fb_buf_str (&out), *id = text;
  size_t idlen = 0;
  /* the id's line; the tool may say more around it */
  for (const char *l = text; l && *l && idlen < 12; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    {
      id = strncmp (l, "sha256:", 7) ? l : l + 7;
      idlen = strspn (id, "0123456789abcdef");
    }
  if (idlen < 12)
    return fb_error_set (err, EINVAL, "image \"%s\": %s gave no image id (%s)", ref, tool, text);
  _cleanup_free_ char *dst = fb_xasprintf ("%s/saved/%.*s.tar", cache, (int) idlen, id);
  if (access (dst, F_OK) == 0)
    {
      *archive = steal_pointer (&dst);
      return 0;
    }
  _cleanup_free_ char *tmp = img_cache_tmp (cache, err);
  if (!tmp)
    return -1;
  _cleanup_free_ char *file = fb_xasprintf ("%s/image.tar", tmp);
  char *save[] = { (char *) tool, "save", "-o", file, (char *) ref, NULL };
  fb_buf_truncate (&out, 0);
  if (run_tool (save, &out) != 0)
    {
      fb_rm_rf (tmp);
      return fb_error_set (err, EIO, "image \"%s\": `%s save` failed: %s", ref, tool, fb_buf_str (&out));
    }
  if (publish (tmp, "image.tar", dst, err) < 0)
    return -1;
  *archive = steal_pointer (&dst);
  return 0;
}

int
img_daemon_save (const char *cache, const char *ref, char **archive, fb_error *err)
{
  static const char *const tools[] = { "podman", "docker" };
  _cleanup_buf_ fb_buf why = FB_BUF_INIT;
  for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
    {
      int r = save_from (tools[i], cache, ref, archive, &why, err);
      if (r <= 0)
        return r;
    }
  return fb_error_set (err, ENOENT,
                       "image \"%s\": no local podman or docker has it (%s); faultbox never pulls from a registry: "
                       "save it to a file and name that, e.g. `docker save -o image.tar %s` (or `podman save`) and "
                       "image=\"docker-archive:image.tar\"; the transports are oci:DIR[:TAG], oci-archive:FILE[:TAG] "
                       "and docker-archive:FILE",
                       ref, fb_buf_str (&why), ref);
}
