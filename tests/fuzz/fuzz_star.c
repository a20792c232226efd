/* libFuzzer target: the Starlark interpreter on untrusted source (lexer,
 * parser, resolver, evaluator, builtins), within a step, memory and depth
 * budget. Both dialects: the first byte picks one. */
#include "faultbox/star.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
discard (void *ctx, const char *msg)
{
  (void) ctx;
  (void) msg;
}

/* no file system access from fuzzed load() statements */
static int
no_loader (fb_star_thread *th, void *ctx, const char *from, const char *name,
           fb_star_module **out, fb_error *err)
{
  (void) th;
  (void) ctx;
  (void) from;
  (void) out;
  return fb_error_set (err, ENOENT, "cannot load %s", name);
}

/* matches() without regcomp: POSIX regex matching may take exponential time */
static fb_value *
fake_matches (fb_star_thread *th, fb_value *self, const fb_star_args *args)
{
  (void) th;
  (void) self;
  return fb_bool (args->npos == 2);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  unsigned dialect = FB_STAR_DIALECT_FAULTBOX;
  if (size && data[0] == '!')
    dialect = FB_STAR_DIALECT_STANDARD;
  fb_star_config cfg = {
    .dialect = dialect,
    .max_steps = 100000,
    .max_depth = 200,
    .max_memory = 64u << 20,
    .print = discard,
    .loader = no_loader,
  };
  fb_star_thread *th = fb_star_thread_new (&cfg);
  /* catch() and freeze() reach error recovery and frozen values (the seed
   * corpus is the conformance suite, which uses them) */
  fb_star_predeclare_test_builtins (th);
  fb_star_predeclare (th, "matches",
                      fb_builtin_new (th, "matches", fake_matches, NULL));
  fb_star_module *m;
  fb_error err = { 0 };
  fb_star_exec_string (th, "fuzz.star", (const char *) data, size, &m, &err);
  fb_star_thread_free (th);
  return 0;
}
