/* The faultbox Starlark interpreter (src/star): host API.
 *
 * Memory: values live in the heap of the thread that created them and are
 * reclaimed in regions. fb_star_mark() / fb_star_release() bracket one
 * evaluation (a test body, one matrix cell, one call from C); every value
 * allocated in between is freed at release, all at once. Module globals are
 * allocated before any mark and live until fb_star_thread_free(). Values are
 * therefore borrowed everywhere and never freed one by one; a value must not
 * be used after the region it was created in is released.
 *
 * Errors: a builtin reports failure by returning NULL after
 * fb_star_errorf(); the interpreter adds file:line:col and the Starlark
 * stack trace. C callers of fb_star_call() get NULL and read the message
 * with fb_star_take_error(). */
#ifndef FAULTBOX_STAR_H
#define FAULTBOX_STAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultbox/error.h"

typedef struct fb_value fb_value;
typedef struct fb_star_thread fb_star_thread;
typedef struct fb_star_module fb_star_module;

typedef enum fb_value_type {
  FB_V_NONE, FB_V_BOOL, FB_V_INT, FB_V_FLOAT, FB_V_STRING, FB_V_BYTES,
  FB_V_LIST, FB_V_TUPLE, FB_V_DICT, FB_V_SET, FB_V_FUNCTION, FB_V_BUILTIN,
  FB_V_RANGE, FB_V_STRUCT, FB_V_MODULE, FB_V_HOST, FB_V_CELL,
} fb_value_type;

/* Dialect options (starlark-go's allow_* options). Faultbox specs run with
 * none of them, like starlark-go's ExecFile; "standard" sets all. A file
 * may opt in on a comment line before its first statement:
 *   # starlark: dialect=standard
 *   # starlark: allow=while,recursion */
enum {
  FB_STAR_ALLOW_WHILE = 1 << 0,
  FB_STAR_ALLOW_TOPLEVEL_CONTROL = 1 << 1,
  FB_STAR_ALLOW_GLOBAL_REASSIGN = 1 << 2,
  FB_STAR_ALLOW_RECURSION = 1 << 3,
};
#define FB_STAR_DIALECT_FAULTBOX 0u
#define FB_STAR_DIALECT_STANDARD 0xfu

/* Resolves load("name") made from `from` (a file path) into a module.
 * Return 0 and *out, or < 0 with err filled. NULL: paths relative to the
 * loading file, executed on the same thread, cached, cycles reported. */
typedef int (*fb_star_loader_fn) (fb_star_thread *th, void *ctx,
                                  const char *from, const char *name,
                                  fb_star_module **out, fb_error *err);

/* The loader used when the config names none (hosts that wrap it call it). */
int fb_star_default_loader (fb_star_thread *th, void *ctx, const char *from,
                            const char *name, fb_star_module **out, fb_error *err);

typedef struct fb_star_config {
  unsigned dialect;          /* FB_STAR_ALLOW_* bits */
  uint64_t max_steps;        /* 0: unlimited */
  unsigned max_depth;        /* call depth; 0: 1000 */
  size_t max_memory;         /* bytes of live heap; 0: 2 GiB */
  void (*print) (void *ctx, const char *msg); /* NULL: discarded */
  void *print_ctx;
  fb_star_loader_fn loader;
  void *loader_ctx;
} fb_star_config;

fb_star_thread *fb_star_thread_new (const fb_star_config *cfg);
void fb_star_thread_free (fb_star_thread *th);
const fb_star_config *fb_star_thread_config (fb_star_thread *th);
/* At most steps more steps from now (0: unlimited). */
void fb_star_set_step_limit (fb_star_thread *th, uint64_t steps);
/* Host data hung on a thread (the test runner's state). */
void fb_star_set_user (fb_star_thread *th, void *user);
void *fb_star_user (fb_star_thread *th);

/* A thread for running Starlark concurrently with th (parallel steps):
 * same configuration, predeclared names and user data, its own stack and
 * heap. Join it from th's OS thread once it finished: its values move into
 * th's current region, and it is freed. */
fb_star_thread *fb_star_thread_spawn (fb_star_thread *th);
void fb_star_thread_join (fb_star_thread *th, fb_star_thread *child);

/* Makes the running evaluation fail at its next step with `reason` (a
 * test timeout); safe to call from another thread. NULL clears it. */
void fb_star_cancel (fb_star_thread *th, const char *reason);

/* Calls fn(th, ctx) on th's own thread at its next step after another
 * thread called fb_star_poke (th): a check that must run Starlark but is
 * caused elsewhere. fn returning -1 (after raising) fails the evaluation
 * there. Never called inside itself; NULL fn: none. */
void fb_star_set_poll (fb_star_thread *th, int (*fn) (fb_star_thread *th, void *ctx), void *ctx);
void fb_star_poke (fb_star_thread *th);

/* Predeclared names visible to every module later executed on th. */
void fb_star_predeclare (fb_star_thread *th, const char *name, fb_value *v);
/* The i-th predeclared name of th and its value (v may be NULL); NULL past
 * the last. */
const char *fb_star_predeclared_at (const fb_star_thread *th, size_t i, fb_value **v);
/* The i-th field of a struct or module value and its value; NULL past the
 * last, or when s is neither. */
const char *fb_star_field_at (const fb_value *s, size_t i, fb_value **v);

/* catch(fn), matches(regex, s), freeze(v), module(name, **kv): what
 * Starlark test suites use (faultbox star --test-builtins). */
void fb_star_predeclare_test_builtins (fb_star_thread *th);

/* Region bracketing (see the top of this file). */
typedef struct fb_star_mark {
  void *small, *cur, *big, *fins;
  size_t bytes;
} fb_star_mark;
fb_star_mark fb_star_mark_heap (fb_star_thread *th);
void fb_star_release (fb_star_thread *th, fb_star_mark m);
size_t fb_star_heap_bytes (fb_star_thread *th);

/* Executes a file / a buffer as a module; its globals are frozen. */
int fb_star_exec_file (fb_star_thread *th, const char *path,
                       fb_star_module **out, fb_error *err);
int fb_star_exec_string (fb_star_thread *th, const char *filename,
                         const char *src, size_t len,
                         fb_star_module **out, fb_error *err);
/* Parses and resolves only (for fuzzing and `faultbox test --dry-run`). */
int fb_star_check_string (fb_star_thread *th, const char *filename,
                          const char *src, size_t len, fb_error *err);

fb_value *fb_star_module_get (const fb_star_module *m, const char *name);
size_t fb_star_module_size (const fb_star_module *m);
/* i-th global in definition order; NULL value when unassigned. */
const char *fb_star_module_name_at (const fb_star_module *m, size_t i,
                                    fb_value **value);
const char *fb_star_module_file (const fb_star_module *m);

/* Static view of the calls a module's code makes (any function body), for
 * hosts that must plan before running: which fault keywords a spec can
 * name. Only calls of a plain name, f(...), are reported. */
typedef struct fb_star_scan_arg {
  const char *keyword;      /* NULL for a positional argument */
  const char *ident;        /* the argument is a plain name */
  const char *string;       /* the argument is a string literal */
  const char *call;         /* the argument is a call of this name */
  const char *dot_ident, *dot_attr; /* the argument is dot_ident.dot_attr */
  const char *const *strings; /* a list/tuple literal of string literals */
  size_t n_strings;
} fb_star_scan_arg;

typedef struct fb_star_callsite {
  const char *callee;
  const char *file;
  int line, col;
  size_t n_args;
  const fb_star_scan_arg *args;
} fb_star_callsite;

void fb_star_module_scan (const fb_star_module *m,
                          void (*fn) (void *ctx, const fb_star_callsite *cs),
                          void *ctx);

/* --- calling ---------------------------------------------------------- */
typedef struct fb_star_args {
  size_t npos;
  fb_value *const *pos;
  size_t nkw;
  const char *const *kwnames;
  fb_value *const *kwvals;
} fb_star_args;

fb_value *fb_star_call (fb_star_thread *th, fb_value *callable,
                        const fb_star_args *args);
/* Moves the pending error (message, position, traceback) into err and
 * returns -1. */
int fb_star_take_error (fb_star_thread *th, fb_error *err);
/* The pending error's message alone (no position), or NULL. */
const char *fb_star_error_message (fb_star_thread *th);

/* --- builtins defined in C -------------------------------------------- */
typedef fb_value *(*fb_builtin_fn) (fb_star_thread *th, fb_value *self,
                                    const fb_star_args *args);

fb_value *fb_builtin_new (fb_star_thread *th, const char *name,
                          fb_builtin_fn fn, void *data);
const char *fb_builtin_name (const fb_value *self);
void *fb_builtin_data (const fb_value *self);
/* The receiver of a bound method (x in x.f), or NULL. */
fb_value *fb_builtin_receiver (const fb_value *self);

/* Argument unpacking, like starlark-go's UnpackArgs. After `args` come
 * pairs (const char *param, void *out), then NULL. A param is a name with
 * optional suffixes: '?' optional (out left untouched when absent),
 * ":s" const char ** (string), ":i" int64_t *, ":f" double * (int or
 * float), ":b" bool * (truth value); else fb_value **. "*" takes a
 * fb_value ** receiving a tuple of the remaining positionals, "**" a
 * fb_value ** receiving a dict of the remaining keywords. Raises a
 * positioned error (missing, duplicate, unknown keyword with a did-you-mean,
 * wrong type) and returns -1. */
int fb_star_unpack (fb_star_thread *th, const char *fname,
                    const fb_star_args *args, ...);

fb_value *fb_star_errorf (fb_star_thread *th, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* file:line:col of the innermost Starlark call being executed. */
void fb_star_call_position (fb_star_thread *th, const char **file,
                            int *line, int *col);

/* --- values ----------------------------------------------------------- */
fb_value *fb_none (void);
fb_value *fb_bool (bool b);
fb_value *fb_int (fb_star_thread *th, int64_t i);
fb_value *fb_float (fb_star_thread *th, double d);
fb_value *fb_string (fb_star_thread *th, const char *s);
fb_value *fb_string_n (fb_star_thread *th, const char *s, size_t len);
fb_value *fb_string_printf (fb_star_thread *th, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
fb_value *fb_bytes_n (fb_star_thread *th, const void *p, size_t len);
fb_value *fb_list_new (fb_star_thread *th, size_t n, fb_value *const *items);
int fb_list_append (fb_star_thread *th, fb_value *list, fb_value *item);
fb_value *fb_tuple_new (fb_star_thread *th, size_t n, fb_value *const *items);
fb_value *fb_dict_new (fb_star_thread *th);
/* Fails (error raised) on an unhashable key or a frozen dict. */
int fb_dict_set (fb_star_thread *th, fb_value *dict, fb_value *key,
                 fb_value *val);
int fb_dict_set_str (fb_star_thread *th, fb_value *dict, const char *key,
                     fb_value *val);
/* NULL when absent (or key unhashable). */
fb_value *fb_dict_get (fb_value *dict, fb_value *key);
fb_value *fb_dict_get_str (fb_value *dict, const char *key);
/* i-th live entry in insertion order. */
bool fb_dict_entry (const fb_value *dict, size_t i, fb_value **k, fb_value **v);
fb_value *fb_struct_new (fb_star_thread *th, size_t n,
                         const char *const *names, fb_value *const *vals);
fb_value *fb_module_value_new (fb_star_thread *th, const char *name, size_t n,
                               const char *const *names,
                               fb_value *const *vals);
fb_value *fb_struct_get (const fb_value *st, const char *name);

fb_value_type fb_value_type_of (const fb_value *v);
const char *fb_value_type_name (const fb_value *v);
bool fb_value_truth (const fb_value *v);
bool fb_value_is_callable (const fb_value *v);
/* false when v is not an int or does not fit. */
bool fb_value_as_int64 (const fb_value *v, int64_t *out);
/* int or float. */
bool fb_value_as_double (const fb_value *v, double *out);
/* String or bytes data (NUL-terminated), NULL for other types. */
const char *fb_value_as_string (const fb_value *v, size_t *len);
/* Length of a string, bytes, list, tuple, dict, set, range; else -1. */
long fb_value_len (const fb_value *v);
/* i-th element of a list or tuple (borrowed). */
fb_value *fb_value_at (const fb_value *v, size_t i);
/* Equality per the language (may raise for deep recursion). */
int fb_value_equal (fb_star_thread *th, fb_value *a, fb_value *b, bool *eq);
/* Name of a def/lambda/builtin, NULL otherwise. */
const char *fb_value_func_name (const fb_value *v);
/* Position of a def/lambda's definition. */
bool fb_value_func_position (const fb_value *v, const char **file, int *line,
                             int *col);
/* repr() / str() into a malloc'd string the caller frees. */
char *fb_value_repr (fb_star_thread *th, fb_value *v);
char *fb_value_str (fb_star_thread *th, fb_value *v);
/* Makes v and everything reachable from it immutable. */
void fb_value_freeze (fb_value *v);

/* Decodes JSON text into Starlark values; NULL (no error raised) when the
 * text is not valid JSON. */
fb_value *fb_star_json_decode (fb_star_thread *th, const char *s, size_t n);
/* json.encode(v) as malloc'd text; NULL after raising (a value JSON cannot hold). */
char *fb_star_json_encode (fb_star_thread *th, fb_value *v);

/* --- opaque host values ----------------------------------------------- */
typedef struct fb_host_type {
  const char *name;
  /* New value for v.name, NULL with no error raised when absent (the
   * interpreter then reports "has no .x field or method"), or NULL after
   * fb_star_errorf(). */
  fb_value *(*attr) (fb_star_thread *th, fb_value *self, const char *name);
  /* Attribute names for dir() and did-you-mean; NULL-terminated. */
  const char *const *attr_names;
  bool (*truth) (fb_value *self);
  char *(*repr) (fb_value *self);            /* malloc'd; NULL: "<name>" */
  /* Called at release of the region holding the value. */
  void (*destroy) (void *data);
  /* Identity comparison when NULL. */
  bool (*equal) (fb_value *a, fb_value *b);
  /* Non-NULL: the value is a sequence of this list's items (iteration,
   * len(), indexing), with attributes of its own. */
  fb_value *(*items) (fb_value *self);
} fb_host_type;

fb_value *fb_host_new (fb_star_thread *th, const fb_host_type *type, void *data);
/* data when v is a host value of type `type`, else NULL. */
void *fb_host_data (const fb_value *v, const fb_host_type *type);

#endif
