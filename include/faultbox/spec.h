/* A loaded spec: the Starlark builtins of the spec language (topology,
 * steps, faults, assertions) run once, leaving its plan and its tests.
 * include/faultbox/runner.h runs them. */
#ifndef FAULTBOX_SPEC_H
#define FAULTBOX_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultbox/error.h"
#include "faultbox/plan.h"

typedef struct fb_spec fb_spec;

/* A spec file to load. It may be read from copies of its files (a replay
 * bundle), behaving as it did where it was: messages and reports name it
 * path, relative service binaries resolve in dir, its relative load()s find
 * the copies next to copy, and loads of moved_from[i] (absolute) read
 * moved_to[i]. */
typedef struct fb_spec_source {
  const char *path;
  const char *copy;            /* NULL: read path itself */
  const char *dir;             /* NULL: path's directory */
  char *const *moved_from;
  char *const *moved_to;
  size_t n_moved;
  /* each line print() writes, while loading and in tests (also in the
   * processes tests run in); NULL: discarded */
  void (*print) (void *ctx, const char *msg);
  void *print_ctx;
} fb_spec_source;
/* Loads and executes a spec: builds the plan and discovers tests. Errors
 * name file:line:col. */
int fb_spec_load_source (const fb_spec_source *src, fb_spec **out, fb_error *err);
void fb_spec_free (fb_spec *s);
/* The files loading read, by real path: [0] the spec, then what it
 * load()ed; and the directory relative service binaries resolve in. */
size_t fb_spec_file_count (const fb_spec *s);
const char *fb_spec_file (const fb_spec *s, size_t i);
const char *fb_spec_dir (const fb_spec *s);

const fb_plan *fb_spec_plan (const fb_spec *s);
size_t fb_spec_test_count (const fb_spec *s);
const char *fb_spec_test_name (const fb_spec *s, size_t i);
/* True for the cells of a fault_matrix(). */
bool fb_spec_test_is_matrix_cell (const fb_spec *s, size_t i);
/* What `faultbox check` warns of: services and fault assumptions nothing
 * uses, matrix cells with no oracle; "file:line:col: ..." each, into
 * *warnings (NULL-terminated, free with fb_strv_free). Returns how many. */
int fb_spec_check (const fb_spec *s, char ***warnings);

#endif
