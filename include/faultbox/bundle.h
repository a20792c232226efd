/* Replay bundles: what `faultbox test --bundle` keeps of a run so that
 * `faultbox replay` can run it again. A directory (or the same packed as
 * a .tar.gz by tar(1)) holding
 *   bundle.json            the manifest: command line, replay flags, seeds,
 *                          environment, faultbox version, kernel, spec files
 *   report.json            the JSON report of the run (schema version 2)
 *   spec/...               the spec and the files it load()ed, laid out as
 *                          they were relative to one another
 *   logs/TEST/SERVICE.log  the end of each service's output in each test
 * Service binaries are not in it: a replay runs the ones at the recorded
 * paths. */
#ifndef FAULTBOX_BUNDLE_H
#define FAULTBOX_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultbox/error.h"
#include "faultbox/report.h"

typedef struct fb_bundle {
  char *star_file;       /* the spec as the user named it */
  char *spec_dir;        /* where its relative service binaries resolve */
  char **files;          /* [0] the spec, then its load()s: real paths to copy; */
  char **originals;      /* in an opened bundle the copies, and where they came from */
  size_t n_files;
  char **command_line;   /* as typed, NULL-terminated */
  char **args;           /* the `faultbox test` flags a replay passes again, NULL-terminated */
  uint64_t seed;
  /* set by the writer from the running system, read back by open */
  fb_kv *env;            /* the FAULTBOX_* variables */
  size_t n_env;
  char *version;         /* faultbox's */
  char *kernel;          /* release and version, as uname -rv */
  char *dir;             /* opened: where its files are */
  bool temp;             /* dir is an unpacked .tar.gz, removed by fb_bundle_clear */
} fb_bundle;

/* True when path names a packed bundle (*.tar.gz, *.tgz). */
bool fb_bundle_is_packed (const char *path);

/* Writes the bundle of a finished run to path: a directory (created; a
 * bundle already there is replaced, anything else is refused) or, for a
 * packed name, a gzip'd tar made by tar(1). Reads star_file, spec_dir,
 * files, command_line, args and seed of b; records the environment itself. */
int fb_bundle_write (const char *path, const fb_bundle *b, const fb_report *r, fb_error *err);

/* Opens a bundle written by fb_bundle_write (a packed one is unpacked into
 * a temporary directory). On error out is untouched and err says what is
 * missing or wrong. */
int fb_bundle_open (const char *path, fb_bundle *out, fb_error *err);
/* Frees b and removes what open unpacked. */
void fb_bundle_clear (fb_bundle *b);

/* Where a failing `faultbox test` keeps its bundle unasked:
 * $FAULTBOX_RUNS_DIR, else .faultbox/runs (relative to the working dir). */
#define FB_RUNS_KEEP 10
const char *fb_runs_dir (void);
/* A new run's bundle path in fb_runs_dir(): DIR/YYYYMMDD-HHMMSS-PID, so
 * names sort by age. Free it. */
char *fb_runs_new_path (void);
/* Removes all but the newest keep bundles of fb_runs_dir(); what another
 * run removes at the same time is not an error. */
void fb_runs_prune (size_t keep);
/* The newest bundle of fb_runs_dir() (free it); NULL and err when there is
 * none. */
char *fb_runs_latest (fb_error *err);

#endif
