/* Applying one layer tar (or unpacking an archive of blobs) with
 * libarchive. Every path is opened with openat2's RESOLVE_IN_ROOT below
 * the destination, so a symlink an entry put there is resolved inside it
 * and never followed out; ".." that would climb out is refused outright. */
#include "image/image.h"
#include "faultbox/rootless.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <nettle/sha2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define WHITEOUT ".wh."
#define OPAQUE ".wh..wh..opq"

typedef struct {
  int fd;
  struct sha256_ctx h;
  unsigned char buf[1 << 16];
} reader;

typedef struct {
  struct archive *a;
  int root;          /* the destination, O_PATH */
  bool layer, as_root; /* as_root: the host's root (devices, every attribute) */
  bool owners;         /* files get the archive's owners: root, or rootless with a subuid range */
  img_skip_fn skip;
  void *ctx;
} unpacker;

FB_DEFINE_CLEANUP (struct archive, archive_read_free)

int
img_clean_path (const char *name, char *out, size_t len)
{
  size_t n = 0;
  for (const char *p = name; *p;)
    {
      while (*p == '/')
        p++;
      size_t c = strcspn (p, "/");
      if (c == 0 || (c == 1 && p[0] == '.'))
        ;
      else if (c == 2 && p[0] == '.' && p[1] == '.')
        {
          if (n == 0)
            return -1;
          while (n > 0 && out[n - 1] != '/')
            n--;
          n = n > 0 ? n - 1 : 0;
        }
      else
        {
          if (n + (n > 0) + c + 1 > len)
            return -1;
          if (n > 0)
            out[n++] = '/';
          memcpy (out + n, p, c);
          n += c;
        }
      p += c;
    }
  out[n] = '\0';
  return 0;
}

static int
open_in (int root, const char *rel, uint64_t flags)
{
  struct open_how how = { .flags = flags | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  return (int) syscall (SYS_openat2, root, *rel ? rel : ".", &how, sizeof how);
}

/* The directory rel (made, component by component, when missing), O_PATH. */
static int
open_dir (int root, const char *rel, bool make)
{
  int fd = open_in (root, rel, O_PATH | O_DIRECTORY);
  if (fd >= 0 || errno != ENOENT || !make)
    return fd;
  char path[4096];
  snprintf (path, sizeof path, "%s", rel);
  char *slash = strrchr (path, '/');
  _cleanup_close_ int parent = -1;
  if (slash)
    *slash = '\0';
  parent = slash ? open_dir (root, path, true) : open_in (root, "", O_PATH | O_DIRECTORY);
  if (parent < 0 || (mkdirat (parent, slash ? slash + 1 : path, 0755) < 0 && errno != EEXIST))
    return -1;
  return open_in (root, rel, O_PATH | O_DIRECTORY);
}

/* Makes room for name in dir: an earlier entry of the same archive goes,
 * but a directory stays for a directory. 1: a directory to keep. */
static int
clear_slot (int dir, const char *name, bool want_dir)
{
  struct stat st;
  if (fstatat (dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : -1;
  if (S_ISDIR (st.st_mode) && want_dir)
    return 1;
  return unlinkat (dir, name, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0);
}

static void
set_meta (const unpacker *u, int dir, const char *name, struct archive_entry *e)
{
  mode_t type = archive_entry_filetype (e);
  if (u->owners)
    (void) !fchownat (dir, name, (uid_t) archive_entry_uid (e), (gid_t) archive_entry_gid (e),
                      AT_SYMLINK_NOFOLLOW);
  if (type != AE_IFLNK)
    (void) !fchmodat (dir, name, archive_entry_perm (e), 0);
  struct timespec ts[2] = { { archive_entry_mtime (e), 0 }, { archive_entry_mtime (e), 0 } };
  (void) !utimensat (dir, name, ts, AT_SYMLINK_NOFOLLOW);
}

/* The file's data (sparse holes stay holes), its extended attributes but
 * overlayfs's own (an image must not forge them), owner and mode. */
static int
write_file (const unpacker *u, int dir, const char *name, struct archive_entry *e, fb_error *err)
{
  _cleanup_close_ int fd = openat (dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return fb_error_setsys (err, errno, "cannot create");
  const void *buf;
  size_t len;
  la_int64_t off;
  int r;
  while ((r = archive_read_data_block (u->a, &buf, &len, &off)) == ARCHIVE_OK)
    if (pwrite (fd, buf, len, off) != (ssize_t) len)
      return fb_error_setsys (err, errno, "cannot write");
  if (r != ARCHIVE_EOF)
    return fb_error_set (err, EIO, "%s", archive_error_string (u->a));
  if (ftruncate (fd, archive_entry_size (e)) < 0)
    return fb_error_setsys (err, errno, "cannot write");
  if (!u->layer)
    return 0;
  const char *xname;
  const void *xval;
  size_t xlen;
  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &xname, &xval, &xlen) == ARCHIVE_OK)
    if (strncmp (xname, "trusted.overlay.", 16) != 0 && fsetxattr (fd, xname, xval, xlen, 0) < 0 && u->as_root)
      return fb_error_setsys (err, errno, "cannot set its attribute %s", xname);
  set_meta (u, dir, name, e);
  return 0;
}

const char *
img_opaque_xattr (void)
{
  return fb_rootless_get ()->active ? "user.overlay.opaque" : "trusted.overlay.opaque";
}

/* A whiteout: the lower layers' name is hidden (overlayfs's character
 * device 0/0); an opaque directory hides all they hold below it. */
static int
whiteout (const unpacker *u, int dir, const char *dirpath, const char *name, fb_error *err)
{
  if (!strcmp (name, OPAQUE))
    {
      _cleanup_close_ int fd = open_in (u->root, dirpath, O_RDONLY | O_DIRECTORY);
      if (fd < 0 || fsetxattr (fd, img_opaque_xattr (), "y", 1, 0) < 0)
        return fb_error_setsys (err, errno, "cannot mark the directory opaque");
      return 0;
    }
  const char *hidden = name + strlen (WHITEOUT);
  if (!*hidden || clear_slot (dir, hidden, false) < 0 || mknodat (dir, hidden, S_IFCHR, makedev (0, 0)) < 0)
    return fb_error_setsys (err, errno ? errno : EINVAL, "cannot make the whiteout%s",
                            u->as_root ? "" : " (whiteouts need root)");
  return 0;
}

static int
hard_link (const unpacker *u, int dir, const char *name, const char *target, fb_error *err)
{
  char t[4096];
  if (img_clean_path (target, t, sizeof t) < 0 || !*t)
    return fb_error_set (err, EPERM, "its link target \"%s\" is outside the root", target);
  char *slash = strrchr (t, '/');
  if (slash)
    *slash = '\0';
  _cleanup_close_ int tdir = open_dir (u->root, slash ? t : "", false);
  if (tdir < 0 || linkat (tdir, slash ? slash + 1 : t, dir, name, 0) < 0)
    return fb_error_setsys (err, errno, "cannot link to %s", target);
  return 0;
}

static int
make_node (const unpacker *u, int dir, const char *name, struct archive_entry *e, fb_error *err)
{
  mode_t type = archive_entry_filetype (e);
  int r = 0;
  if (type == AE_IFDIR)
    r = mkdirat (dir, name, 0700);
  else if (type == AE_IFLNK)
    r = symlinkat (archive_entry_symlink (e), dir, name);
  else if (type == AE_IFIFO)
    r = mknodat (dir, name, S_IFIFO | 0600, 0);
  else if (type == AE_IFCHR || type == AE_IFBLK)
    {
      if (!u->as_root)
        return 0; /* skipped: only root makes devices (the lab gives /dev its own) */
      r = mknodat (dir, name, type | 0600, archive_entry_rdev (e));
    }
  else
    return 0; /* sockets and the like have no place in an image */
  if (r < 0)
    return fb_error_setsys (err, errno, "cannot create");
  set_meta (u, dir, name, e);
  return 0;
}

static int
one_entry (unpacker *u, struct archive_entry *e, const char *path, fb_error *err)
{
  char dirpath[4096];
  snprintf (dirpath, sizeof dirpath, "%s", path);
  char *slash = strrchr (dirpath, '/');
  const char *name = slash ? slash + 1 : dirpath;
  if (slash)
    *slash = '\0';
  else
    dirpath[0] = '\0', name = path;
  mode_t type = archive_entry_filetype (e);
  if (!u->layer && (type != AE_IFREG || (u->skip && u->skip (u->ctx, path))))
    return type == AE_IFDIR ? 0 : archive_read_data_skip (u->a) == ARCHIVE_OK ? 0 : -1;
  _cleanup_close_ int dir = open_dir (u->root, dirpath, true);
  if (dir < 0)
    return fb_error_setsys (err, errno, "cannot make its directory inside the root");
  if (u->layer && !strncmp (name, WHITEOUT, strlen (WHITEOUT)))
    return whiteout (u, dir, dirpath, name, err);
  int slot = clear_slot (dir, name, type == AE_IFDIR);
  if (slot < 0)
    return fb_error_setsys (err, errno, "cannot replace what is there");
  if (slot == 1)
    {
      set_meta (u, dir, name, e);
      return 0;
    }
  const char *link = archive_entry_hardlink (e);
  if (link)
    return hard_link (u, dir, name, link, err);
  return type == AE_IFREG ? write_file (u, dir, name, e, err) : make_node (u, dir, name, e, err);
}

static la_ssize_t
read_cb (struct archive *a, void *p, const void **out)
{
  reader *r = p;
  ssize_t n;
  while ((n = read (r->fd, r->buf, sizeof r->buf)) < 0 && errno == EINTR)
    ;
  if (n < 0)
    archive_set_error (a, errno, "read error");
  else
    sha256_update (&r->h, (size_t) n, r->buf);
  *out = r->buf;
  return n;
}

/* The bytes past the archive's end count for its digest too. */
static int
finish_digest (reader *r, const char *digest, fb_error *err)
{
  ssize_t n;
  while ((n = read (r->fd, r->buf, sizeof r->buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      sha256_update (&r->h, (size_t) n, r->buf);
  if (n < 0)
    return fb_error_setsys (err, errno, "cannot read");
  uint8_t h[SHA256_DIGEST_SIZE];
  char got[72];
  sha256_digest (&r->h, sizeof h, h);
  img_digest_hex (h, got);
  if (strcmp (got, digest) != 0)
    return fb_error_set (err, EBADMSG, "digest mismatch: its content hashes to %s", got);
  return 0;
}

static int
read_entries (unpacker *u, const char *file, fb_error *err)
{
  struct archive_entry *e;
  int rc;
  while ((rc = archive_read_next_header (u->a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN)
    {
      const char *name = archive_entry_pathname (e);
      char path[4096];
      if (!name || img_clean_path (name, path, sizeof path) < 0)
        return fb_error_set (err, EPERM, "entry \"%s\" escapes the root", name ? name : "");
      if (!*path)
        continue;
      if (one_entry (u, e, path, err) < 0)
        return err->code ? fb_error_prefix (err, "entry \"%s\"", name)
                         : fb_error_set (err, EIO, "entry \"%s\": %s", name, archive_error_string (u->a));
    }
  if (rc != ARCHIVE_EOF)
    return fb_error_set (err, EINVAL, "%s: a damaged archive: %s", file, archive_error_string (u->a));
  return 0;
}

int
img_unpack (const char *file, const char *dest, const char *digest, bool layer, img_skip_fn skip, void *ctx,
            fb_error *err)
{
  _cleanup_close_ int fd = open (file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fb_error_setsys (err, errno, "cannot open %s", file);
  _cleanup_free_ reader *r = FB_NEW (reader);
  r->fd = fd;
  _cleanup_close_ int root = open (dest, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return fb_error_setsys (err, errno, "cannot open %s", dest);
  sha256_init (&r->h);
  _cleanup_ (archive_read_freep) struct archive *a = archive_read_new ();
  archive_read_support_filter_all (a);
  archive_read_support_format_tar (a);
  /* rootless: devices are skipped; with one uid mapped files stay the user's */
  const fb_rootless *rl = fb_rootless_get ();
  unpacker u = { a, root, layer, geteuid () == 0 && !rl->active, geteuid () == 0 && (!rl->active || rl->subuid),
                 skip, ctx };
  fb_error e = { 0 };
  int rc = archive_read_open (a, r, NULL, read_cb, NULL) != ARCHIVE_OK
               ? fb_error_set (&e, EINVAL, "%s: not a tar archive: %s", file, archive_error_string (a))
               : read_entries (&u, file, &e);
  /* a blob that is not what its digest says: that is the cause, whatever
   * else went wrong reading it */
  if (digest && finish_digest (r, digest, err) < 0)
    return -1;
  if (rc < 0)
    *err = e;
  return rc < 0 ? -1 : 0;
}
