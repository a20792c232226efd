/* Where a service binary lives, as the lab needs it. */
#ifndef FB_SANDBOX_BINPATH_H
#define FB_SANDBOX_BINPATH_H

typedef struct fb_binpath {
  char *path;      /* absolute, symlinks kept: some programs dispatch on argv[0] */
  char *dir;       /* its directory */
  char *real_dir;  /* the directory of the file it resolves to */
} fb_binpath;

/* Resolves name (absolute, relative to cwd, or searched in PATH) to an
 * executable. On failure returns -1 with errno set (ENOENT when PATH had no
 * such program). */
int fb_binpath_resolve (const char *name, fb_binpath *out);
void fb_binpath_clear (fb_binpath *b);

#endif
