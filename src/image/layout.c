/* Finding an image's config and layers: an OCI image layout (index.json,
 * manifests and blobs by digest) and a docker-archive (manifest.json, a
 * config and layer tars, the layers named by the config's diff_ids). Every
 * document is checked against the digest that names it before it is read. */
#include "image/image.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MAX_DOC (4 << 20) /* a manifest or config; layers are never read whole */

FB_DEFINE_CLEANUP (json_object, json_object_put)

int
img_read_small (const char *path, size_t max, char **out, size_t *len, fb_error *err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return fb_error_setsys (err, errno, "cannot read %s", path);
  if (!S_ISREG (st.st_mode) || (size_t) st.st_size > max)
    return fb_error_set (err, EFBIG, "%s: %s", path, S_ISREG (st.st_mode) ? "too large" : "not a file");
  char *buf = fb_xmalloc ((size_t) st.st_size + 1);
  ssize_t n = read (fd, buf, (size_t) st.st_size);
  if (n != st.st_size)
    {
      free (buf);
      return fb_error_setsys (err, n < 0 ? errno : EIO, "cannot read %s", path);
    }
  buf[n] = '\0';
  *out = buf;
  *len = (size_t) n;
  return 0;
}

static json_object *
parse (const char *text, const char *what, fb_error *err)
{
  json_object *j = json_tokener_parse (text);
  if (!j)
    fb_error_set (err, EINVAL, "%s is not JSON", what);
  return j;
}

static const char *
jstr (json_object *o, const char *key)
{
  json_object *v;
  return json_object_object_get_ex (o, key, &v) && json_object_is_type (v, json_type_string)
             ? json_object_get_string (v) : NULL;
}

static json_object *
jarr (json_object *o, const char *key)
{
  json_object *v;
  return json_object_object_get_ex (o, key, &v) && json_object_is_type (v, json_type_array) ? v : NULL;
}

/* The blob a descriptor names, read and checked; its text in *out. */
static int
oci_blob (const char *dir, const char *digest, const char *what, char **out, fb_error *err)
{
  if (!img_digest_valid (digest))
    return fb_error_set (err, EINVAL, "%s: unsupported digest \"%s\" (want sha256:<64 hex>)", what,
                         digest ? digest : "(none)");
  _cleanup_free_ char *path = fb_xasprintf ("%s/blobs/sha256/%s", dir, digest + 7);
  _cleanup_free_ char *text = NULL;
  size_t len;
  if (img_read_small (path, MAX_DOC, &text, &len, err) < 0)
    return fb_error_prefix (err, "%s %s", what, digest);
  char got[72];
  img_sha256 (text, len, got);
  if (strcmp (got, digest) != 0)
    return fb_error_set (err, EBADMSG, "%s %s: digest mismatch: its content hashes to %s", what, digest, got);
  *out = steal_pointer (&text);
  return 0;
}

static const char *
go_arch (void)
{
  static struct utsname u;
  uname (&u);
  return !strcmp (u.machine, "x86_64") ? "amd64" : !strcmp (u.machine, "aarch64") ? "arm64" : u.machine;
}

/* From an index: the entry named tag (its ref.name annotation), the only
 * one, or (a multi-platform index) the one for this machine. */
static json_object *
pick (json_object *index, const char *tag, const char *what, fb_error *err)
{
  json_object *m = jarr (index, "manifests");
  size_t n = m ? json_object_array_length (m) : 0;
  json_object *chosen = NULL;
  for (size_t i = 0; i < n; i++)
    {
      json_object *d = json_object_array_get_idx (m, i), *ann = NULL, *plat = NULL;
      json_object_object_get_ex (d, "annotations", &ann);
      const char *name = ann ? jstr (ann, "org.opencontainers.image.ref.name") : NULL;
      if (tag && name && !strcmp (name, tag))
        return d;
      if (!tag && json_object_object_get_ex (d, "platform", &plat) && jstr (plat, "architecture")
          && !strcmp (jstr (plat, "architecture"), go_arch ()))
        chosen = d;
    }
  if (!tag && n == 1)
    return json_object_array_get_idx (m, 0);
  if (chosen)
    return chosen;
  if (tag)
    fb_error_set (err, ENOENT, "%s: no image tagged \"%s\" in its index.json", what, tag);
  else
    fb_error_set (err, ENOENT, "%s: %zu images in its index.json: name one (oci:DIR:TAG)", what, n);
  return NULL;
}

/* A manifest (following nested indexes) into its config and layers. */
static int
oci_manifest (const char *dir, json_object *desc, const char *tag, const char *what, int depth, img_source *out,
              fb_error *err)
{
  _cleanup_free_ char *text = NULL;
  if (depth > 4 || oci_blob (dir, jstr (desc, "digest"), "manifest", &text, err) < 0)
    return depth > 4 ? fb_error_set (err, ELOOP, "%s: indexes nest too deep", what) : fb_error_prefix (err, "%s", what);
  _cleanup_ (json_object_putp) json_object *man = parse (text, "the manifest", err);
  if (!man)
    return fb_error_prefix (err, "%s", what);
  if (jarr (man, "manifests"))
    {
      json_object *d = pick (man, NULL, what, err);
      return d ? oci_manifest (dir, d, tag, what, depth + 1, out, err) : -1;
    }
  json_object *cfg = NULL, *layers = jarr (man, "layers");
  if (!json_object_object_get_ex (man, "config", &cfg) || !layers)
    return fb_error_set (err, EINVAL, "%s: the manifest has no config or layers", what);
  if (oci_blob (dir, jstr (cfg, "digest"), "config", &out->config, err) < 0)
    return fb_error_prefix (err, "%s", what);
  size_t n = json_object_array_length (layers);
  out->layers = fb_xcalloc (n + 1, sizeof *out->layers);
  for (size_t i = 0; i < n; i++)
    {
      const char *dg = jstr (json_object_array_get_idx (layers, i), "digest");
      if (!img_digest_valid (dg))
        return fb_error_set (err, EINVAL, "%s: layer %zu: unsupported digest \"%s\"", what, i, dg ? dg : "(none)");
      img_layer *l = &out->layers[out->n_layers++];
      l->digest = fb_xstrdup (dg);
      l->blob = fb_xasprintf ("%s/blobs/sha256/%s", dir, dg + 7);
    }
  return 0;
}

int
img_oci_resolve (const char *dir, const char *tag, const char *what, img_source *out, fb_error *err)
{
  _cleanup_free_ char *layout = fb_xasprintf ("%s/oci-layout", dir), *ipath = fb_xasprintf ("%s/index.json", dir);
  _cleanup_free_ char *text = NULL;
  size_t len;
  if (access (layout, F_OK) < 0)
    return fb_error_setsys (err, errno, "%s: %s is not an OCI image layout (no oci-layout file)", what, dir);
  if (img_read_small (ipath, MAX_DOC, &text, &len, err) < 0)
    return fb_error_prefix (err, "%s", what);
  _cleanup_ (json_object_putp) json_object *index = parse (text, "index.json", err);
  if (!index)
    return fb_error_prefix (err, "%s", what);
  json_object *d = pick (index, tag, what, err);
  return d ? oci_manifest (dir, d, tag, what, 0, out, err) : -1;
}

/* docker-archive: the entry of manifest.json with tag among its RepoTags,
 * or the only one. */
static json_object *
docker_pick (json_object *man, const char *tag, const char *what, fb_error *err)
{
  size_t n = json_object_is_type (man, json_type_array) ? json_object_array_length (man) : 0;
  for (size_t i = 0; tag && i < n; i++)
    {
      json_object *tags = jarr (json_object_array_get_idx (man, i), "RepoTags");
      for (size_t k = 0; tags && k < json_object_array_length (tags); k++)
        if (!strcmp (json_object_get_string (json_object_array_get_idx (tags, k)), tag))
          return json_object_array_get_idx (man, i);
    }
  if (!tag && n == 1)
    return json_object_array_get_idx (man, 0);
  if (tag)
    fb_error_set (err, ENOENT, "%s: no image tagged \"%s\" in its manifest.json", what, tag);
  else
    fb_error_set (err, ENOENT, "%s: %zu images in its manifest.json: name one (docker-archive:FILE:NAME:TAG)", what, n);
  return NULL;
}

/* The config, checked when its name says its digest (docker names it
 * HEX.json or blobs/sha256/HEX). */
static int
docker_config (const char *dir, const char *name, const char *what, char **out, fb_error *err)
{
  char clean[4096];
  if (!name || img_clean_path (name, clean, sizeof clean) < 0)
    return fb_error_set (err, EINVAL, "%s: manifest.json names no config", what);
  _cleanup_free_ char *path = fb_xasprintf ("%s/%s", dir, clean), *text = NULL;
  size_t len;
  if (img_read_small (path, MAX_DOC, &text, &len, err) < 0)
    return fb_error_prefix (err, "%s", what);
  const char *base = strrchr (clean, '/') ? strrchr (clean, '/') + 1 : clean;
  _cleanup_free_ char *want = fb_xasprintf ("sha256:%.64s", base);
  char got[72];
  img_sha256 (text, len, got);
  if (img_digest_valid (want) && strcmp (got, want) != 0)
    return fb_error_set (err, EBADMSG, "%s: config %s: digest mismatch: its content hashes to %s", what, want, got);
  *out = steal_pointer (&text);
  return 0;
}

int
img_docker_resolve (const char *dir, const char *tag, const char *what, img_source *out, fb_error *err)
{
  _cleanup_free_ char *mpath = fb_xasprintf ("%s/manifest.json", dir), *text = NULL;
  size_t len;
  if (img_read_small (mpath, MAX_DOC, &text, &len, err) < 0)
    return fb_error_prefix (err, "%s: not a docker-archive", what);
  _cleanup_ (json_object_putp) json_object *man = parse (text, "manifest.json", err);
  json_object *entry = man ? docker_pick (man, tag, what, err) : NULL;
  if (!entry || docker_config (dir, jstr (entry, "Config"), what, &out->config, err) < 0)
    return man ? -1 : fb_error_prefix (err, "%s", what);
  _cleanup_ (json_object_putp) json_object *cfg = parse (out->config, "the config", err);
  json_object *rootfs = NULL, *layers = jarr (entry, "Layers");
  json_object *diff = cfg && json_object_object_get_ex (cfg, "rootfs", &rootfs) ? jarr (rootfs, "diff_ids") : NULL;
  size_t n = layers ? json_object_array_length (layers) : 0;
  if (!diff || json_object_array_length (diff) != n)
    return fb_error_set (err, EINVAL, "%s: the config's rootfs.diff_ids do not match the %zu layers", what, n);
  out->layers = fb_xcalloc (n + 1, sizeof *out->layers);
  for (size_t i = 0; i < n; i++)
    {
      const char *dg = json_object_get_string (json_object_array_get_idx (diff, i));
      const char *file = json_object_get_string (json_object_array_get_idx (layers, i));
      char clean[4096];
      if (!img_digest_valid (dg) || !file || img_clean_path (file, clean, sizeof clean) < 0)
        return fb_error_set (err, EINVAL, "%s: layer %zu: bad diff_id or path", what, i);
      img_layer *l = &out->layers[out->n_layers++];
      /* docker saves layers uncompressed: their bytes hash to the diff_id */
      l->digest = fb_xstrdup (dg);
      l->blob = fb_xasprintf ("%s/%s", dir, clean);
    }
  return 0;
}

void
img_source_clear (img_source *s)
{
  free (s->config);
  for (size_t i = 0; i < s->n_layers; i++)
    {
      free (s->layers[i].digest);
      free (s->layers[i].blob);
    }
  free (s->layers);
  memset (s, 0, sizeof *s);
}
