/* Container images as a service's root (service(image=)). A reference in
 * skopeo's transport names — oci:DIR[:TAG], oci-archive:FILE[:TAG],
 * docker-archive:FILE[:NAME:TAG] — or a bare name that a local podman or
 * docker has (saved from there). Nothing comes from a network. Each layer
 * is unpacked once into the cache, named by the digest it was verified
 * against, and a service stacks them read-only as overlay lower layers. */
#ifndef FAULTBOX_IMAGE_H
#define FAULTBOX_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "faultbox/error.h"

typedef struct fb_image {
  char *ref;            /* as given */
  char **layers;        /* unpacked layer directories, bottom first, NULL-terminated */
  size_t n_layers;
  size_t n_unpacked;    /* of them, unpacked by this open (the rest came from the cache) */
  /* the image's config; NULL when it has none */
  char **entrypoint, **cmd, **env, **exposed; /* NULL-terminated; exposed: "80/tcp" */
  char *workdir, *user;
} fb_image;

typedef struct fb_image_options {
  const char *base_dir;   /* relative paths in a reference; NULL: the cwd */
  const char *cache_dir;  /* NULL: fb_image_cache_dir () */
} fb_image_options;

/* Opens ref, unpacking what the cache lacks. Errors name the reference
 * and, for a layer, its digest. */
int fb_image_open (const char *ref, const fb_image_options *o, fb_image **out, fb_error *err);
void fb_image_free (fb_image *img);

/* $XDG_CACHE_HOME/faultbox; else /var/cache/faultbox for root, else
 * ~/.cache/faultbox. Caller frees. */
char *fb_image_cache_dir (void);

/* user as the image's config or a spec gives it: "name", "uid",
 * "name:group" or "uid:gid"; names are looked up in the image's own
 * /etc/passwd and /etc/group. A lone user takes its passwd group. */
int fb_image_user (const fb_image *img, const char *user, uint32_t *uid, uint32_t *gid, fb_error *err);

#endif
