/* `faultbox replay`: a bundle's run again, through `faultbox test`. */
#ifndef FB_CLI_REPLAY_H
#define FB_CLI_REPLAY_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "faultbox/bundle.h"
#include "faultbox/report.h"
#include "faultbox/runner.h"

/* `faultbox test` (argv[0] "test"); with from, the spec is the bundle's. */
int fb_cli_test (int argc, char **argv, const fb_bundle *from);

/* `faultbox test --dry-run`'s listing of a loaded spec: services (with
 * their seccomp filters under o) and tests. */
void fb_cli_dry_run (const fb_spec *s, const fb_test_options *o, FILE *out);

/* Writes the bundle of a finished run of spec: the run's seed, its
 * command line as typed, and to replay it "--seed SEED" and the flags of argv
 * (as getopt_long parses them with shortopts and opts) but those whose
 * option value is in skip. Prints what went wrong (asked: for --bundle,
 * else for the bundle a failing run keeps unasked); returns -1 then. */
int fb_cli_bundle_write (const char *path, const fb_spec *spec, uint64_t seed, char *const *typed, int argc, char **argv,
                         const char *shortopts, const struct option *opts, const char *skip,
                         const fb_report *rep, bool asked);

#endif
