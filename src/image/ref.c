/* Image references in skopeo's transport names. Only the three that need
 * no network and no daemon are ours; a bare name goes to podman or docker. */
#include "image/image.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *name;
  img_transport t;
} transports[] = {
  { "oci", IMG_OCI },
  { "oci-archive", IMG_OCI_ARCHIVE },
  { "docker-archive", IMG_DOCKER_ARCHIVE },
  { "docker-daemon", IMG_DAEMON },
};

/* skopeo's other transports: named, so that they are not taken for a
 * registry host, and refused with what to do instead */
static const char *const foreign[] = { "docker", "dir", "containers-storage", "ostree", "sif", "tarball" };

#define HOW "use oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE (e.g. after `docker save -o FILE REF`)"

const char *
img_transport_name (img_transport t)
{
  for (size_t i = 0; i < sizeof transports / sizeof transports[0]; i++)
    if (transports[i].t == t)
      return transports[i].name;
  return "?";
}

static char *
absolute (const char *path, const char *base)
{
  return path[0] == '/' || !base ? fb_xstrdup (path) : fb_xasprintf ("%s/%s", base, path);
}

int
img_ref_parse (const char *s, const char *base, img_ref *out, fb_error *err)
{
  if (!s || !*s)
    return fb_error_set (err, EINVAL, "empty image reference (" HOW ")");
  const char *colon = strchr (s, ':');
  size_t plen = colon ? (size_t) (colon - s) : 0;
  for (size_t i = 0; colon && i < sizeof foreign / sizeof foreign[0]; i++)
    if (strlen (foreign[i]) == plen && !strncmp (s, foreign[i], plen))
      return fb_error_set (err, ENOTSUP, "image \"%s\": the %s: transport is not supported: faultbox never pulls; %s",
                           s, foreign[i], HOW);
  img_ref r = { .transport = IMG_DAEMON };
  bool found = false;
  for (size_t i = 0; colon && i < sizeof transports / sizeof transports[0]; i++)
    if (strlen (transports[i].name) == plen && !strncmp (s, transports[i].name, plen))
      r.transport = transports[i].t, found = true;
  if (!found || r.transport == IMG_DAEMON)
    {
      const char *name = found ? colon + 1 : s;
      if (!*name || strchr (name, ' '))
        return fb_error_set (err, EINVAL, "image \"%s\": not a reference (%s)", s, HOW);
      r.path = fb_xstrdup (name);
      *out = r;
      return 0;
    }
  /* as skopeo: the path ends at its first ':', what follows names the image */
  const char *path = colon + 1, *tag = strchr (path, ':');
  size_t n = tag ? (size_t) (tag - path) : strlen (path);
  if (!n)
    return fb_error_set (err, EINVAL, "image \"%s\": no path after %s:", s, img_transport_name (r.transport));
  if (tag && !tag[1])
    return fb_error_set (err, EINVAL, "image \"%s\": empty name after the path", s);
  _cleanup_free_ char *p = fb_xstrndup (path, n);
  r.path = absolute (p, base);
  r.tag = tag ? fb_xstrdup (tag + 1) : NULL;
  *out = r;
  return 0;
}

void
img_ref_clear (img_ref *r)
{
  free (r->path);
  free (r->tag);
  memset (r, 0, sizeof *r);
}
