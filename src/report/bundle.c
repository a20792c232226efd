/* Replay bundles (see faultbox/bundle.h). Packing and unpacking is left to
 * tar(1), which every system that runs faultbox has, rather than a tar and
 * gzip writer of our own. */
#include "faultbox/bundle.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MANIFEST "bundle.json"
#define FORMAT 1

extern char **environ;

bool
fb_bundle_is_packed (const char *path)
{
  size_t n = strlen (path);
  return (n > 7 && !strcmp (path + n - 7, ".tar.gz")) || (n > 4 && !strcmp (path + n - 4, ".tgz"));
}

static void
strv_free (char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

void
fb_bundle_clear (fb_bundle *b)
{
  if (!b)
    return;
  if (b->temp && b->dir)
    fb_rm_rf (b->dir);
  free (b->star_file);
  free (b->spec_dir);
  for (size_t i = 0; i < b->n_files; i++)
    {
      free (b->files[i]);
      if (b->originals)
        free (b->originals[i]);
    }
  free (b->files);
  free (b->originals);
  strv_free (b->command_line);
  strv_free (b->args);
  for (size_t i = 0; i < b->n_env; i++)
    {
      free (b->env[i].key);
      free (b->env[i].value);
    }
  free (b->env);
  free (b->version);
  free (b->kernel);
  free (b->dir);
  memset (b, 0, sizeof *b);
}

/* ---- writing ------------------------------------------------------------ */

/* A test or service name as one path component. */
static void
component (fb_buf *out, const char *name)
{
  for (const char *p = name; *p; p++)
    {
      bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
                  || *p == '_' || *p == '-' || (*p == '.' && p != name);
      fb_buf_putc (out, keep ? *p : '_');
    }
}

static int
write_file (const char *path, const char *data, size_t len, fb_error *err)
{
  _cleanup_free_ char *dir = fb_xstrdup (path);
  char *slash = strrchr (dir, '/');
  if (slash && slash != dir)
    {
      *slash = '\0';
      if (fb_mkdir_p (dir, 0755, err) < 0)
        return -1;
    }
  _cleanup_close_ int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fb_error_setsys (err, errno, "cannot write %s", path);
  for (size_t off = 0; off < len;)
    {
      ssize_t w = write (fd, data + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return fb_error_setsys (err, errno ? errno : EIO, "cannot write %s", path);
      off += (size_t) w;
    }
  return 0;
}

/* Length of the directory all files are in (their deepest common one),
 * so their copies keep the layout their relative load()s expect. */
static size_t
common_dir (char *const *files, size_t n)
{
  size_t len = strrchr (files[0], '/') - files[0];
  for (size_t i = 1; i < n; i++)
    {
      size_t k = 0;
      while (k < len && files[i][k] == files[0][k])
        k++;
      /* back to a whole component */
      while (k > 0 && !(files[0][k] == '/' && files[i][k] == '/'))
        k--;
      len = k;
    }
  return len;
}

static json_object *
strv_json (char *const *v)
{
  json_object *a = json_object_new_array ();
  for (size_t i = 0; v && v[i]; i++)
    json_object_array_add (a, json_object_new_string (v[i]));
  return a;
}

/* Writes data to dir/rel, making the directories on the way. */
static int
write_at (const char *dir, const char *rel, const char *data, size_t len, fb_error *err)
{
  _cleanup_free_ char *path = fb_xasprintf ("%s/%s", dir, rel);
  return write_file (path, data, len, err);
}

/* What the run ran on: faultbox's version, the kernel, the directory it
 * ran in, the FAULTBOX_* variables. */
static void
add_system (json_object *m)
{
  json_object_object_add (m, "faultbox_version", json_object_new_string (FB_VERSION));
  struct utsname u;
  if (uname (&u) == 0)
    {
      char kernel[sizeof u.release + sizeof u.version + 2];
      snprintf (kernel, sizeof kernel, "%s %s", u.release, u.version);
      json_object_object_add (m, "kernel", json_object_new_string (kernel));
    }
  char cwd[PATH_MAX];
  if (getcwd (cwd, sizeof cwd))
    json_object_object_add (m, "cwd", json_object_new_string (cwd));
  json_object *env = json_object_new_object ();
  for (char **e = environ; e && *e; e++)
    if (!strncmp (*e, "FAULTBOX_", 9) && strchr (*e, '='))
      {
        _cleanup_free_ char *key = fb_xstrndup (*e, (size_t) (strchr (*e, '=') - *e));
        json_object_object_add (env, key, json_object_new_string (strchr (*e, '=') + 1));
      }
  json_object_object_add (m, "environment", env);
}

/* The spec's files under spec/, listed in the manifest's spec_files. */
static int
copy_spec (const char *dir, const fb_bundle *b, json_object *m, fb_error *err)
{
  json_object *files = json_object_new_array ();
  json_object_object_add (m, "spec_files", files);
  size_t common = common_dir (b->files, b->n_files);
  for (size_t i = 0; i < b->n_files; i++)
    {
      _cleanup_free_ char *rel = fb_xasprintf ("spec/%s", b->files[i] + common + (b->files[i][common] == '/'));
      json_object *f = json_object_new_object ();
      json_object_object_add (f, "copy", json_object_new_string (rel));
      json_object_object_add (f, "original", json_object_new_string (b->files[i]));
      json_object_array_add (files, f);
      _cleanup_buf_ fb_buf text = FB_BUF_INIT;
      if (fb_buf_read_file (&text, b->files[i], err) < 0 || write_at (dir, rel, fb_buf_str (&text), text.len, err) < 0)
        return -1;
    }
  return 0;
}

/* Each test's seed, and its service logs as logs/TEST/SERVICE.log. */
static int
write_logs (const char *dir, const fb_report *r, json_object *m, fb_error *err)
{
  json_object *seeds = json_object_new_object (), *logs = json_object_new_object ();
  json_object_object_add (m, "seeds", seeds);
  json_object_object_add (m, "logs", logs);
  for (size_t i = 0; i < r->n_tests; i++)
    {
      const fb_test_result *t = &r->tests[i];
      json_object_object_add (seeds, t->name, json_object_new_uint64 (t->seed));
      json_object *per = json_object_new_object ();
      json_object_object_add (logs, t->name, per);
      for (size_t k = 0; k < t->n_logs; k++)
        {
          _cleanup_buf_ fb_buf rel = FB_BUF_INIT;
          fb_buf_puts (&rel, "logs/");
          component (&rel, t->name);
          fb_buf_putc (&rel, '/');
          component (&rel, t->logs[k].service);
          fb_buf_puts (&rel, ".log");
          json_object_object_add (per, t->logs[k].service, json_object_new_string (fb_buf_str (&rel)));
          if (write_at (dir, fb_buf_str (&rel), t->logs[k].tail, strlen (t->logs[k].tail), err) < 0)
            return -1;
        }
    }
  return 0;
}

/* Writes everything into the directory dir, the manifest last. */
static int
write_dir (const char *dir, const fb_bundle *b, const fb_report *r, fb_error *err)
{
  json_object *m = json_object_new_object ();
  json_object_object_add (m, "faultbox_bundle", json_object_new_int (FORMAT));
  add_system (m);
  json_object_object_add (m, "command_line", strv_json (b->command_line));
  json_object_object_add (m, "args", strv_json (b->args));
  json_object_object_add (m, "seed", json_object_new_uint64 (b->seed));
  json_object_object_add (m, "star_file", json_object_new_string (b->star_file));
  json_object_object_add (m, "spec_dir", json_object_new_string (b->spec_dir));
  json_object_object_add (m, "report", json_object_new_string ("report.json"));
  _cleanup_buf_ fb_buf text = FB_BUF_INIT;
  int rc = copy_spec (dir, b, m, err) < 0 || write_logs (dir, r, m, err) < 0 || fb_report_json (r, &text, err) < 0
               || write_at (dir, "report.json", fb_buf_str (&text), text.len, err) < 0 ? -1 : 0;
  if (rc == 0)
    {
      fb_buf_truncate (&text, 0);
      fb_buf_printf (&text, "%s\n", json_object_to_json_string_ext (m, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
      rc = write_at (dir, MANIFEST, fb_buf_str (&text), text.len, err);
    }
  json_object_put (m);
  return rc;
}

/* Runs tar with argv, its output discarded; the first line of its
 * complaint becomes the error. */
static int
run_tar (char *const *argv, fb_error *err)
{
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return fb_error_setsys (err, errno, "cannot run tar");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init (&fa);
  posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen (&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2 (&fa, p[1], 2);
  pid_t pid;
  int e = posix_spawnp (&pid, "tar", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy (&fa);
  close (p[1]);
  if (e)
    {
      close (p[0]);
      return fb_error_setsys (err, e, "cannot run tar");
    }
  fb_buf msg = FB_BUF_INIT;
  char chunk[512];
  ssize_t n;
  while ((n = read (p[0], chunk, sizeof chunk)) != 0)
    if (n > 0)
      fb_buf_append (&msg, chunk, (size_t) n);
    else if (errno != EINTR)
      break;
  close (p[0]);
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  int rc = 0;
  const char *first = fb_buf_str (&msg) + strspn (fb_buf_str (&msg), "\n");
  if (!WIFEXITED (status) || WEXITSTATUS (status))
    rc = *first ? fb_error_set (err, EIO, "%.*s", (int) strcspn (first, "\n"), first)
                : fb_error_set (err, EIO, "tar failed (status %d)", status);
  fb_buf_free (&msg);
  return rc;
}

static bool
is_bundle_dir (const char *dir)
{
  _cleanup_free_ char *m = fb_xasprintf ("%s/" MANIFEST, dir);
  return access (m, F_OK) == 0;
}

/* A directory to write into: made, emptied of an old bundle, or refused. */
static int
prepare_dir (const char *path, fb_error *err)
{
  struct stat st;
  if (stat (path, &st) == 0)
    {
      if (!S_ISDIR (st.st_mode))
        return fb_error_set (err, EEXIST, "%s exists and is not a directory", path);
      if (is_bundle_dir (path))
        fb_rm_rf (path);
      else if (rmdir (path) < 0 && errno != ENOENT)
        return fb_error_set (err, EEXIST, "%s exists and is not a faultbox bundle (not overwriting it)", path);
    }
  return fb_mkdir_p (path, 0755, err);
}

int
fb_bundle_write (const char *path, const fb_bundle *b, const fb_report *r, fb_error *err)
{
  if (!fb_bundle_is_packed (path))
    return prepare_dir (path, err) < 0 || write_dir (path, b, r, err) < 0 ? -1 : 0;
  char tmp[] = "/tmp/faultbox-bundle-XXXXXX";
  if (!mkdtemp (tmp))
    return fb_error_setsys (err, errno, "cannot make a directory for %s", path);
  /* tar runs in the staging directory: the archive's path must not move */
  _cleanup_free_ char *out = path[0] == '/' ? fb_xstrdup (path) : NULL;
  char cwd[PATH_MAX];
  if (!out)
    out = getcwd (cwd, sizeof cwd) ? fb_xasprintf ("%s/%s", cwd, path) : fb_xstrdup (path);
  char *argv[] = { "tar", "-czf", out, "-C", tmp, ".", NULL };
  int rc = write_dir (tmp, b, r, err) < 0 ? -1 : run_tar (argv, err);
  fb_rm_rf (tmp);
  if (rc < 0)
    fb_error_prefix (err, "cannot write %s", path);
  return rc;
}

/* ---- reading ------------------------------------------------------------ */

static const char *
get_str (json_object *m, const char *key)
{
  json_object *v;
  return json_object_object_get_ex (m, key, &v) && json_object_is_type (v, json_type_string)
             ? json_object_get_string (v) : NULL;
}

static int
get_strv (json_object *m, const char *key, char ***out, fb_error *err)
{
  json_object *a;
  if (!json_object_object_get_ex (m, key, &a) || !json_object_is_type (a, json_type_array))
    return fb_error_set (err, EINVAL, MANIFEST ": \"%s\" is missing or not a list", key);
  size_t n = json_object_array_length (a);
  *out = fb_xcalloc (n + 1, sizeof **out);
  for (size_t i = 0; i < n; i++)
    {
      json_object *v = json_object_array_get_idx (a, i);
      if (!json_object_is_type (v, json_type_string))
        return fb_error_set (err, EINVAL, MANIFEST ": %s[%zu]: not a string", key, i);
      (*out)[i] = fb_xstrdup (json_object_get_string (v));
    }
  return 0;
}

/* A copy's path must stay inside the bundle. */
static bool
inside (const char *rel)
{
  if (rel[0] == '/')
    return false;
  for (const char *p = rel; *p; p += strcspn (p, "/"), p += *p == '/')
    if (!strncmp (p, "..", 2) && (p[2] == '/' || !p[2]))
      return false;
  return true;
}

static int
read_files (json_object *m, fb_bundle *b, fb_error *err)
{
  json_object *a;
  if (!json_object_object_get_ex (m, "spec_files", &a) || !json_object_is_type (a, json_type_array)
      || !json_object_array_length (a))
    return fb_error_set (err, EINVAL, MANIFEST ": \"spec_files\" is missing or empty");
  size_t n = json_object_array_length (a);
  b->files = fb_xcalloc (n + 1, sizeof *b->files);
  b->originals = fb_xcalloc (n + 1, sizeof *b->originals);
  for (; b->n_files < n; b->n_files++)
    {
      json_object *f = json_object_array_get_idx (a, b->n_files);
      const char *copy = json_object_is_type (f, json_type_object) ? get_str (f, "copy") : NULL;
      const char *orig = copy ? get_str (f, "original") : NULL;
      if (!orig || !inside (copy))
        return fb_error_set (err, EINVAL, MANIFEST ": spec_files[%zu]: want a copy inside the bundle and its original",
                             b->n_files);
      b->files[b->n_files] = fb_xasprintf ("%s/%s", b->dir, copy);
      b->originals[b->n_files] = fb_xstrdup (orig);
      if (access (b->files[b->n_files], R_OK) != 0)
        return fb_error_setsys (err, errno, "the bundle has no %s", copy);
    }
  return 0;
}

static int
read_manifest (fb_bundle *b, fb_error *err)
{
  _cleanup_buf_ fb_buf text = FB_BUF_INIT;
  _cleanup_free_ char *path = fb_xasprintf ("%s/" MANIFEST, b->dir);
  if (access (path, F_OK) != 0)
    return fb_error_set (err, ENOENT, "not a faultbox bundle (no " MANIFEST ")");
  if (fb_buf_read_file (&text, path, err) < 0)
    return -1;
  enum json_tokener_error jerr;
  json_object *m = json_tokener_parse_verbose (fb_buf_str (&text), &jerr);
  if (!m)
    return fb_error_set (err, EINVAL, MANIFEST ": not JSON: %s", json_tokener_error_desc (jerr));
  json_object *v;
  int rc = 0;
  const char *star = get_str (m, "star_file"), *dir = get_str (m, "spec_dir");
  if (!json_object_is_type (m, json_type_object) || !json_object_object_get_ex (m, "faultbox_bundle", &v)
      || json_object_get_int (v) != FORMAT)
    rc = fb_error_set (err, EINVAL, MANIFEST ": not a faultbox bundle of format %d", FORMAT);
  else if (!star || !dir)
    rc = fb_error_set (err, EINVAL, MANIFEST ": \"star_file\" or \"spec_dir\" is missing");
  else if (!json_object_object_get_ex (m, "seed", &v) || !json_object_is_type (v, json_type_int)
           || json_object_get_int64 (v) < 0)
    rc = fb_error_set (err, EINVAL, MANIFEST ": \"seed\" is missing or not a seed");
  if (rc == 0)
    {
      b->seed = (uint64_t) json_object_get_int64 (v);
      b->star_file = fb_xstrdup (star);
      b->spec_dir = fb_xstrdup (dir);
      const char *ver = get_str (m, "faultbox_version"), *kernel = get_str (m, "kernel");
      b->version = ver ? fb_xstrdup (ver) : NULL;
      b->kernel = kernel ? fb_xstrdup (kernel) : NULL;
      rc = get_strv (m, "args", &b->args, err) < 0 || get_strv (m, "command_line", &b->command_line, err) < 0
               || read_files (m, b, err) < 0 ? -1 : 0;
    }
  json_object *env;
  if (rc == 0 && json_object_object_get_ex (m, "environment", &env) && json_object_is_type (env, json_type_object))
    {
      b->env = fb_xcalloc ((size_t) json_object_object_length (env) + 1, sizeof *b->env);
      json_object_object_foreach (env, k, ev)
        b->env[b->n_env++] = (fb_kv) { fb_xstrdup (k), fb_xstrdup (json_object_get_string (ev)) };
    }
  json_object_put (m);
  return rc;
}

int
fb_bundle_open (const char *path, fb_bundle *out, fb_error *err)
{
  fb_bundle b = { 0 };
  struct stat st;
  int rc = 0;
  if (stat (path, &st) < 0)
    rc = fb_error_setsys (err, errno, "cannot open %s", path);
  else if (S_ISDIR (st.st_mode))
    b.dir = realpath (path, NULL);
  else
    {
      char tmp[] = "/tmp/faultbox-replay-XXXXXX";
      if (!mkdtemp (tmp))
        rc = fb_error_setsys (err, errno, "cannot make a directory to unpack %s", path);
      else
        {
          b.dir = fb_xstrdup (tmp);
          b.temp = true;
          char *argv[] = { "tar", "-xzf", (char *) path, "-C", tmp, NULL };
          if ((rc = run_tar (argv, err)) < 0)
            fb_error_prefix (err, "cannot unpack %s", path);
        }
    }
  if (rc == 0 && !b.dir)
    rc = fb_error_setsys (err, errno, "cannot open %s", path);
  if (rc == 0 && (rc = read_manifest (&b, err)) < 0)
    fb_error_prefix (err, "%s", path);
  if (rc < 0)
    {
      fb_bundle_clear (&b);
      return -1;
    }
  *out = b;
  return 0;
}

/* ---- the runs directory -------------------------------------------------- */

const char *
fb_runs_dir (void)
{
  const char *d = getenv ("FAULTBOX_RUNS_DIR");
  return d && *d ? d : ".faultbox/runs";
}

char *
fb_runs_new_path (void)
{
  time_t now = time (NULL);
  struct tm tm;
  char stamp[32] = "00000000-000000";
  if (localtime_r (&now, &tm))
    strftime (stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return fb_xasprintf ("%s/%s-%ld", fb_runs_dir (), stamp, (long) getpid ());
}

static int
by_name (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The bundles of the runs directory, oldest first (names sort by age). */
static char **
runs_list (size_t *n)
{
  *n = 0;
  DIR *d = opendir (fb_runs_dir ());
  if (!d)
    return NULL;
  char **v = NULL;
  struct dirent *e;
  while ((e = readdir (d)))
    {
      unsigned long long date, hms;
      long pid;
      char rest;
      if (sscanf (e->d_name, "%8llu-%6llu-%ld%c", &date, &hms, &pid, &rest) != 3)
        continue;
      v = fb_xreallocarray (v, *n + 1, sizeof *v);
      v[(*n)++] = fb_xasprintf ("%s/%s", fb_runs_dir (), e->d_name);
    }
  closedir (d);
  if (*n)
    qsort (v, *n, sizeof *v, by_name);
  return v;
}

void
fb_runs_prune (size_t keep)
{
  size_t n;
  char **v = runs_list (&n);
  for (size_t i = 0; i < n; i++)
    {
      if (i + keep < n && is_bundle_dir (v[i]))
        fb_rm_rf (v[i]);
      free (v[i]);
    }
  free (v);
}

char *
fb_runs_latest (fb_error *err)
{
  size_t n;
  char **v = runs_list (&n);
  char *latest = NULL;
  for (size_t i = n; i-- > 0;)
    {
      if (!latest && is_bundle_dir (v[i]))
        latest = steal_pointer (&v[i]);
      free (v[i]);
    }
  free (v);
  if (!latest)
    fb_error_set (err, ENOENT, "no failed run under %s", fb_runs_dir ());
  return latest;
}
