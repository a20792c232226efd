/* Opening an image: the reference to a layout, the layout to its config
 * and layers, each layer from the cache or unpacked into it; and the
 * image's users, looked up in its own /etc/passwd. */
#include "image/image.h"
#include "faultbox/engine.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/parse.h"
#include "util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

FB_DEFINE_CLEANUP (json_object, json_object_put)

/* An archive's blobs the cache has as unpacked layers are not copied out:
 * docker and OCI name them blobs/sha256/HEX, podman HEX.tar. */
static bool
skip_cached (void *ctx, const char *path)
{
  const char *cache = ctx, *hex = NULL;
  size_t n = strlen (path);
  if (!strncmp (path, "blobs/sha256/", 13))
    hex = path + 13;
  else if (n == 68 && !strcmp (path + 64, ".tar"))
    hex = path;
  if (!hex)
    return false;
  char digest[72];
  snprintf (digest, sizeof digest, "sha256:%.64s", hex);
  if (!img_digest_valid (digest))
    return false;
  _cleanup_free_ char *dir = img_layer_dir (cache, digest);
  return access (dir, F_OK) == 0;
}

static char **
strv_of (json_object *arr)
{
  if (!arr || !json_object_is_type (arr, json_type_array))
    return NULL;
  size_t n = json_object_array_length (arr);
  char **v = fb_xcalloc (n + 1, sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = fb_xstrdup (json_object_get_string (json_object_array_get_idx (arr, i)));
  return v;
}

static char *
str_of (json_object *o, const char *key)
{
  json_object *v;
  const char *s = json_object_object_get_ex (o, key, &v) ? json_object_get_string (v) : NULL;
  return s && *s && json_object_is_type (v, json_type_string) ? fb_xstrdup (s) : NULL;
}

/* The runtime part of the config (Entrypoint, Cmd, Env, WorkingDir, User,
 * ExposedPorts). */
static int
read_config (fb_image *img, const char *text, const char *what, fb_error *err)
{
  _cleanup_ (json_object_putp) json_object *j = json_tokener_parse (text);
  json_object *c = NULL, *v;
  if (!j)
    return fb_error_set (err, EINVAL, "%s: its config is not JSON", what);
  if (!json_object_object_get_ex (j, "config", &c) || !json_object_is_type (c, json_type_object))
    return 0; /* a config may say nothing about running */
  img->entrypoint = json_object_object_get_ex (c, "Entrypoint", &v) ? strv_of (v) : NULL;
  img->cmd = json_object_object_get_ex (c, "Cmd", &v) ? strv_of (v) : NULL;
  img->env = json_object_object_get_ex (c, "Env", &v) ? strv_of (v) : NULL;
  img->workdir = str_of (c, "WorkingDir");
  img->user = str_of (c, "User");
  if (json_object_object_get_ex (c, "ExposedPorts", &v) && json_object_is_type (v, json_type_object))
    {
      img->exposed = fb_xcalloc ((size_t) json_object_object_length (v) + 1, sizeof *img->exposed);
      size_t n = 0;
      json_object_object_foreach (v, port, val)
        {
          (void) val;
          img->exposed[n++] = fb_xstrdup (port);
        }
    }
  return 0;
}

/* The transport's directory to resolve: a layout as it is, an archive
 * unpacked into *tmp (blobs the cache has left out). */
static int
resolve (const img_ref *r, const char *cache, const char *what, char **tmp, img_source *src, fb_error *err)
{
  _cleanup_free_ char *saved = NULL;
  const char *file = r->path;
  if (r->transport == IMG_DAEMON && img_daemon_save (cache, r->path, &saved, err) < 0)
    return -1;
  if (saved)
    file = saved;
  struct stat st;
  bool dir = r->transport == IMG_OCI;
  errno = 0;
  if (stat (file, &st) < 0 || (dir ? !S_ISDIR (st.st_mode) : !S_ISREG (st.st_mode)))
    {
      int e = errno ? errno : dir ? ENOTDIR : EISDIR;
      return fb_error_set (err, e, "%s: %s: %s%s", what, file, strerror (e),
                           dir ? "" : " (write one with `docker save -o FILE REF` or `podman save`)");
    }
  if (dir)
    return img_oci_resolve (file, r->tag, what, src, err);
  if (!(*tmp = img_cache_tmp (cache, err)))
    return fb_error_prefix (err, "%s", what);
  if (img_unpack (file, *tmp, NULL, false, skip_cached, (void *) cache, err) < 0)
    return fb_error_prefix (err, "%s", what);
  /* a docker daemon's save is a docker-archive; the daemon's tag picks nothing */
  if (r->transport == IMG_OCI_ARCHIVE)
    return img_oci_resolve (*tmp, r->tag, what, src, err);
  return img_docker_resolve (*tmp, r->transport == IMG_DAEMON ? NULL : r->tag, what, src, err);
}

static int
open_layers (fb_image *img, const img_source *src, const char *cache, const char *what, fb_error *err)
{
  img->layers = fb_xcalloc (src->n_layers + 1, sizeof *img->layers);
  for (size_t i = 0; i < src->n_layers; i++)
    {
      if (img_layer_ensure (cache, &src->layers[i], what, &img->n_unpacked, err) < 0)
        return -1;
      img->layers[img->n_layers++] = img_layer_dir (cache, src->layers[i].digest);
    }
  if (!img->n_layers)
    return fb_error_set (err, EINVAL, "%s: the image has no layers", what);
  return 0;
}

int
fb_image_open (const char *ref, const fb_image_options *o, fb_image **out, fb_error *err)
{
  _cleanup_free_ char *cache = o && o->cache_dir ? fb_xstrdup (o->cache_dir) : fb_image_cache_dir ();
  _cleanup_free_ char *what = fb_xasprintf ("image \"%s\"", ref ? ref : "");
  _cleanup_free_ char *tmp = NULL;
  img_ref r = { 0 };
  img_source src = { 0 };
  if (img_ref_parse (ref, o ? o->base_dir : NULL, &r, err) < 0)
    return -1;
  fb_image *img = FB_NEW (fb_image);
  img->ref = fb_xstrdup (ref);
  int rc = fb_mkdir_p (cache, 0755, err);
  if (rc < 0)
    fb_error_prefix (err, "%s: the image cache", what);
  if (rc == 0)
    rc = resolve (&r, cache, what, &tmp, &src, err);
  if (rc == 0)
    rc = open_layers (img, &src, cache, what, err);
  if (rc == 0)
    rc = read_config (img, src.config, what, err);
  if (tmp)
    fb_rm_rf (tmp);
  img_source_clear (&src);
  img_ref_clear (&r);
  if (rc < 0)
    {
      fb_image_free (img);
      return -1;
    }
  *out = img;
  return 0;
}

void
fb_image_free (fb_image *img)
{
  if (!img)
    return;
  free (img->ref);
  fb_strv_free (img->layers);
  fb_strv_free (img->entrypoint);
  fb_strv_free (img->cmd);
  fb_strv_free (img->env);
  fb_strv_free (img->exposed);
  free (img->workdir);
  free (img->user);
  free (img);
}

static bool
is_whiteout (int root, const char *rel)
{
  struct stat st;
  return fstatat (root, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0);
}

/* The text of etc/NAME as the stacked layers show it: the topmost layer
 * that has it, unless a layer above whited it or its directory out. */
static char *
image_etc_file (const fb_image *img, const char *name)
{
  _cleanup_free_ char *rel = fb_xasprintf ("etc/%s", name);
  for (size_t i = img->n_layers; i-- > 0;)
    {
      _cleanup_close_ int root = open (img->layers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (root < 0 || is_whiteout (root, "etc") || is_whiteout (root, rel))
        return NULL;
      struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
      _cleanup_close_ int fd = (int) syscall (SYS_openat2, root, rel, &how, sizeof how);
      if (fd >= 0)
        {
          _cleanup_free_ char *path = fb_xasprintf ("/proc/self/fd/%d", fd), *text = NULL;
          size_t len;
          return img_read_small (path, 4 << 20, &text, &len, NULL) == 0 ? steal_pointer (&text) : NULL;
        }
      _cleanup_close_ int etc = openat (root, "etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      char y;
      if (etc >= 0 && fgetxattr (etc, img_opaque_xattr (), &y, 1) == 1 && y == 'y')
        return NULL;
    }
  return NULL;
}

/* In passwd or group text: the line whose first field is name (or, by
 * number, whose third is), its third and fourth fields. */
static bool
etc_lookup (const char *text, const char *name, long long num, long long *id, long long *gid)
{
  for (const char *l = text; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL)
    {
      char f[4][256] = { { 0 } };
      size_t k = 0;
      for (const char *p = l; k < 4 && *p && *p != '\n'; k++)
        {
          size_t n = strcspn (p, ":\n");
          snprintf (f[k], sizeof f[k], "%.*s", (int) n, p);
          p += n + (p[n] == ':');
        }
      bool hit = name ? !strcmp (f[0], name) : atoll (f[2]) == num && *f[2];
      if (hit)
        {
          *id = atoll (f[2]);
          *gid = atoll (f[3]);
          return true;
        }
    }
  return false;
}

static int
one_id (const fb_image *img, const char *file, const char *s, long long *id, long long *gid, fb_error *err)
{
  fb_error e = { 0 };
  _cleanup_free_ char *text = image_etc_file (img, file);
  if (fb_parse_int (s, 0, UINT32_MAX - 1, id, &e) == 0)
    {
      if (!etc_lookup (text, NULL, *id, id, gid))
        *gid = 0; /* as docker: a uid the image does not name runs in group 0 */
      return 0;
    }
  if (!etc_lookup (text, s, 0, id, gid))
    return fb_error_set (err, ENOENT, "image \"%s\": no %s \"%s\" in its /etc/%s", img->ref,
                         !strcmp (file, "passwd") ? "user" : "group", s, file);
  return 0;
}

int
fb_image_user (const fb_image *img, const char *user, uint32_t *uid, uint32_t *gid, fb_error *err)
{
  _cleanup_free_ char *u = fb_xstrdup (user);
  char *g = strchr (u, ':');
  if (g)
    *g++ = '\0';
  long long id, ugid, grp, unused;
  if (!*u || (g && !*g))
    return fb_error_set (err, EINVAL, "image \"%s\": user \"%s\": want NAME, UID, NAME:GROUP or UID:GID", img->ref,
                         user);
  if (one_id (img, "passwd", u, &id, &ugid, err) < 0 || (g && one_id (img, "group", g, &grp, &unused, err) < 0))
    return -1;
  *uid = (uint32_t) id;
  *gid = (uint32_t) (g ? grp : ugid);
  return 0;
}
