/* What the image modules share: the parsed reference, the layers a
 * transport found, the cache, and the unpacker. */
#ifndef FB_IMAGE_IMAGE_H
#define FB_IMAGE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "faultbox/image.h"

/* ---- ref.c ---- */
typedef enum { IMG_OCI, IMG_OCI_ARCHIVE, IMG_DOCKER_ARCHIVE, IMG_DAEMON } img_transport;

typedef struct img_ref {
  img_transport transport;
  char *path;   /* the directory or file (absolute); IMG_DAEMON: the reference */
  char *tag;    /* NULL: the only image there */
} img_ref;

/* Parses a reference; relative paths are taken from base (NULL: as given). */
int img_ref_parse (const char *s, const char *base, img_ref *out, fb_error *err);
void img_ref_clear (img_ref *r);
/* The transport's name as a reference spells it ("oci-archive"). */
const char *img_transport_name (img_transport t);

/* ---- digest.c ---- */
/* True for "sha256:" and 64 lower-case hex digits. */
bool img_digest_valid (const char *digest);
/* sha256 of the bytes, as "sha256:hex" into out[72]. */
void img_sha256 (const void *data, size_t len, char out[72]);
/* A sha256 (nettle's, 32 bytes) as "sha256:hex". */
void img_digest_hex (const uint8_t h[32], char out[72]);

/* ---- layout.c: what a transport resolves to ---- */
typedef struct img_layer {
  char *digest;  /* "sha256:..": what the blob's bytes hash to; the cache key */
  char *blob;    /* the blob's path; NULL when the archive's copy was skipped (cached) */
} img_layer;

typedef struct img_source {
  char *config;      /* the config's JSON text, verified */
  img_layer *layers; /* bottom first */
  size_t n_layers;
} img_source;

int img_oci_resolve (const char *dir, const char *tag, const char *what, img_source *out, fb_error *err);
int img_docker_resolve (const char *dir, const char *tag, const char *what, img_source *out, fb_error *err);
void img_source_clear (img_source *s);
/* Reads a file of at most max bytes (JSON documents, not layers). */
int img_read_small (const char *path, size_t max, char **out, size_t *len, fb_error *err);

/* ---- unpack.c ---- */
/* A layer (or, layer false, an archive of blobs) into dest, which exists
 * and is empty. Entries never land outside dest: ".." that climbs out is
 * an error, and paths resolve inside dest (a symlink is never followed
 * out). Layers turn whiteouts into overlayfs's (a 0/0 character device,
 * trusted.overlay.opaque); device nodes are skipped when not root. With
 * digest, the raw bytes must hash to it. skip (may be NULL) says which
 * regular files of an archive to leave out. */
typedef bool (*img_skip_fn) (void *ctx, const char *path);
/* The attribute of an opaque directory: trusted.overlay.opaque, or rootless
 * (where only user.* attributes are ours, and the overlay is mounted with
 * userxattr) user.overlay.opaque. */
const char *img_opaque_xattr (void);
int img_unpack (const char *file, const char *dest, const char *digest, bool layer, img_skip_fn skip,
                void *ctx, fb_error *err);
/* The entry name made relative and lexical ("./a//b/../c" -> "a/c"), into
 * out; -1 when it climbs above the root. "" is the root itself. */
int img_clean_path (const char *name, char *out, size_t len);

/* ---- cache.c ---- */
/* The directory of the layer with that digest: cache/layers/sha256/HEX. */
char *img_layer_dir (const char *cache, const char *digest);
/* A fresh temporary directory in the cache (same filesystem: renames
 * into place are atomic). Stale ones of dead processes are removed. */
char *img_cache_tmp (const char *cache, fb_error *err);
/* Makes cache/layers/..DIGEST from l->blob unless it is there; *made
 * counts the unpacked ones. */
int img_layer_ensure (const char *cache, const img_layer *l, const char *what, size_t *made, fb_error *err);
/* A bare reference from podman or docker: saved (once per image id) into
 * a docker-archive under the cache; its path in *archive. */
int img_daemon_save (const char *cache, const char *ref, char **archive, fb_error *err);

#endif
