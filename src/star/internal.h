/* Internals shared by the interpreter's files: value layouts, the heap,
 * the syntax tree and the evaluator's entry points. */
#ifndef FB_STAR_INTERNAL_H
#define FB_STAR_INTERNAL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
#include <string.h>

#include "faultbox/star.h"
#include "star/bigint.h"
#include "faultbox/buf.h"

/* ---- values ------------------------------------------------------------ */

/* Ints in [-(2^61), 2^61) are tagged pointers (low bit 1); larger ones are
 * fv_bigint objects. */
#define SMALLINT_MAX ((int64_t) 1 << 61)
#define IS_SMALL(v) (((uintptr_t) (v)) & 1)
#define SMALL_VAL(v) ((int64_t) ((intptr_t) (v) >> 1))
static inline fb_value *
mk_small (int64_t i)
{
  return (fb_value *) (intptr_t) ((uint64_t) i << 1 | 1);
}
static inline bool
fits_small (int64_t i)
{
  return i >= -SMALLINT_MAX && i < SMALLINT_MAX;
}

struct fb_value {
  uint8_t type;
  uint8_t frozen;
  uint16_t pad;
  uint32_t itercount; /* active iterations: mutation is an error meanwhile */
};

typedef struct { fb_value h; double d; } fv_float;
typedef struct { fb_value h; fb_bigint b; } fv_bigint;
/* spare: bytes after the NUL that belong to the string (STR_BUILDER) */
typedef struct { fb_value h; uint32_t hash, spare; size_t len; char s[]; } fv_string;
/* h.pad of a string that `s += t` stored in a local slot and nothing else
   holds (eval_ident clears it when the slot is read): the next += on that
   slot appends into its spare bytes instead of copying it. */
#define STR_BUILDER 1
typedef struct { fb_value h; size_t len, cap; fb_value **items; } fv_list;
typedef struct { fb_value h; size_t len; fb_value *items[]; } fv_tuple;
typedef struct { uint64_t hash; fb_value *key, *val; } fv_entry;
/* dict and set: entries in insertion order (key NULL = deleted) and an
 * open-addressing index of entry numbers (-1 empty). */
typedef struct {
  fb_value h;
  size_t len, used, cap;
  fv_entry *entries;
  int32_t *index;
  size_t index_cap;
} fv_dict;
typedef struct fn_def fn_def;
typedef struct fb_star_module fb_star_module;
typedef struct {
  fb_value h;
  fn_def *def;
  fb_star_module *module;
  fb_value **defaults; /* per parameter, NULL when required */
  fb_value **free;     /* cells of captured variables */
} fv_function;
typedef struct {
  fb_value h;
  const char *name;
  fb_builtin_fn fn;
  void *data;
  fb_value *recv;
} fv_builtin;
typedef struct { fb_value h; int64_t start, stop, step, len; } fv_range;
/* struct and module: fields sorted by name. */
typedef struct {
  fb_value h;
  const char *name; /* module name; NULL for struct */
  size_t n;
  const char **names;
  fb_value **vals;
} fv_struct;
typedef struct { fb_value h; const fb_host_type *type; void *data; } fv_host;
typedef struct { fb_value h; fb_value *v; } fv_cell;

extern fb_value fb_none_value, fb_true_value, fb_false_value;
#define NONE (&fb_none_value)
#define TRUE_V (&fb_true_value)
#define FALSE_V (&fb_false_value)
#define BOOLV(b) ((b) ? TRUE_V : FALSE_V)

static inline fb_value_type
vtype (const fb_value *v)
{
  return IS_SMALL (v) ? FB_V_INT : (fb_value_type) v->type;
}
#define AS(T, v) ((T *) (v))
#define STR(v) AS (fv_string, v)
#define LIST(v) AS (fv_list, v)
#define TUPLE(v) AS (fv_tuple, v)
#define DICT(v) AS (fv_dict, v)

/* ---- heap -------------------------------------------------------------- */
typedef struct heap_chunk {
  struct heap_chunk *prev;
  size_t size;   /* bytes of data */
  size_t mapped; /* a 2 MiB huge-page mapping, not malloc'd */
  size_t pad;    /* data stays 16-byte aligned */
  char data[];
} heap_chunk;
typedef struct heap_fin {
  struct heap_fin *prev;
  void (*fn) (void *);
  void *data;
} heap_fin;
typedef struct fb_heap {
  heap_chunk *small;
  char *cur, *end;
  heap_chunk *big;
  heap_fin *fins;
  size_t bytes;
} fb_heap;

void *heap_alloc (fb_heap *h, size_t n);
/* Where the next allocation goes, for heap_squeeze. */
typedef struct heap_pos {
  heap_chunk *small, *big;
  char *cur;
  heap_fin *fins;
} heap_pos;
heap_pos heap_here (const fb_heap *h);
/* After a side-effect-free expression that called nothing (but pure
   builtins and string methods, see stmt.pure) was evaluated
   from `at` to v, nothing allocated since `at` is reachable but v: drops it
   all, moving v down to `at` if it is a string allocated since (bytes
   values and strings are self-contained). Other values allocated since keep
   everything. With !drop_all, only a string v allocated since lets go. */
fb_value *heap_squeeze (fb_heap *h, const heap_pos *at, fb_value *v,
                        bool drop_all);
void heap_add_fin (fb_heap *h, void (*fn) (void *), void *data);
void heap_free_all (fb_heap *h);
/* Moves every chunk of src into dst (a joined parallel branch). */
void heap_adopt (fb_heap *dst, fb_heap *src);

/* ---- source positions and syntax tree ---------------------------------- */
typedef struct { int line, col; } fb_pos;

/* Sets err to "file:line:col: msg" and longjmps to jmp: how the lexer,
 * parser and resolver stop at the first error (lexer.c). */
_Noreturn void star_syntax_error_at (fb_error *err, jmp_buf jmp, const char *file, fb_pos pos, const char *fmt,
                                     va_list ap);

typedef enum {
  E_IDENT, E_CONST, E_LIST, E_TUPLE, E_DICT, E_UNARY, E_BINARY, E_AND, E_OR,
  E_COND, E_CALL, E_DOT, E_INDEX, E_SLICE, E_LAMBDA, E_COMP,
} expr_kind;

typedef enum {
  SC_UNRESOLVED, SC_LOCAL, SC_CELL, SC_FREE, SC_GLOBAL, SC_PREDECLARED,
  SC_UNIVERSAL,
} scope_kind;

/* Token kinds double as operator codes in the tree. */
typedef enum {
  T_EOF, T_NEWLINE, T_INDENT, T_OUTDENT, T_IDENT, T_INT, T_FLOAT, T_STRING,
  T_BYTES,
  /* punctuation */
  T_PLUS, T_MINUS, T_STAR, T_SLASH, T_SLASHSLASH, T_PERCENT, T_AMP, T_PIPE,
  T_CIRCUMFLEX, T_TILDE, T_LTLT, T_GTGT, T_DOT, T_COMMA, T_EQ, T_SEMI,
  T_COLON, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_LBRACE, T_RBRACE,
  T_LT, T_GT, T_GE, T_LE, T_EQL, T_NEQ, T_PLUS_EQ, T_MINUS_EQ, T_STAR_EQ,
  T_SLASH_EQ, T_SLASHSLASH_EQ, T_PERCENT_EQ, T_AMP_EQ, T_PIPE_EQ,
  T_CIRCUMFLEX_EQ, T_LTLT_EQ, T_GTGT_EQ, T_STARSTAR,
  /* keywords */
  T_AND, T_BREAK, T_CONTINUE, T_DEF, T_ELIF, T_ELSE, T_FOR, T_IF, T_IN,
  T_LAMBDA, T_LOAD, T_NOT, T_NOT_IN, T_OR, T_PASS, T_RETURN, T_WHILE,
  T_COUNT_
} tok_kind;

const char *tok_name (tok_kind k);

typedef struct expr expr;
typedef struct stmt stmt;

typedef struct {
  uint8_t kind; /* 0 positional, 1 named, 2 *args, 3 **kwargs */
  const char *name;
  expr *x;
} call_arg;

typedef struct comp_clause {
  bool is_if;
  expr *vars; /* for: target */
  expr *x;    /* for: iterable; if: condition */
} comp_clause;

struct expr {
  expr_kind kind;
  fb_pos pos;
  union {
    struct {
      const char *name;
      scope_kind scope;
      int index;
      fb_value *value; /* predeclared / universal */
    } id;
    fb_value *konst;
    struct { size_t n; expr **items; } seq; /* list, tuple, dict (k,v pairs) */
    struct { tok_kind op; expr *x; } un;
    struct { tok_kind op; expr *x, *y; } bin;
    struct { expr *cond, *a, *b; } cond;
    struct {
      expr *fn;
      size_t n;
      call_arg *args;
      size_t npos, nnamed; /* counts of plain positional / named */
    } call;
    struct {
      expr *x;
      const char *name;
      const void *cache_type; /* method cache */
      void *cache_fn;
    } dot;
    struct { expr *x, *i; } index;
    struct { expr *x, *lo, *hi, *step; } slice;
    fn_def *lambda;
    struct {
      bool is_dict;
      expr *body; /* list: element; dict: E_TUPLE-free pair below */
      expr *value; /* dict comprehension value */
      size_t n;
      comp_clause *clauses;
    } comp;
  } u;
};

typedef enum {
  S_EXPR, S_ASSIGN, S_AUGASSIGN, S_RETURN, S_IF, S_FOR, S_WHILE, S_BREAK,
  S_CONTINUE, S_PASS, S_DEF, S_LOAD,
} stmt_kind;

typedef struct { size_t n; stmt **items; } stmt_list;

typedef struct {
  const char *name;
  fb_pos pos;
  expr *dflt;
  uint8_t kind; /* 0 normal, 1 *args, 2 **kwargs, 3 bare '*' */
} param;

struct fn_def {
  const char *name;
  fb_pos pos;
  const char *file;
  size_t nparams;
  param *params;
  /* derived by the resolver */
  int npositional;  /* params before '*' or *args */
  int nkwonly;      /* named params after '*' */
  int args_slot, kwargs_slot; /* -1 when absent */
  int nlocals;
  const char **local_names;
  bool *local_is_cell;
  int nfree;
  /* per free variable: where it lives in the enclosing function */
  struct { bool from_free; int index; const char *name; } *free;
  stmt_list body;    /* def */
  expr *lambda_body; /* lambda */
  bool is_toplevel;
};

struct stmt {
  stmt_kind kind;
  fb_pos pos;
  /* S_ASSIGN, S_AUGASSIGN: the right side, S_IF: the condition, has no
     effects and calls nothing but pure builtins and, if th->other_calls
     did not move meanwhile, string methods (see heap_squeeze) */
  bool pure;
  union {
    expr *x; /* S_EXPR, S_RETURN (may be NULL) */
    struct { expr *lhs, *rhs; tok_kind op; } assign;
    struct { expr *cond; stmt_list then, els; } ifs;
    struct { expr *vars, *x; stmt_list body; } fors;
    struct { expr *cond; stmt_list body; } whiles;
    struct { fn_def *def; expr *target; } def; /* target: E_IDENT */
    struct {
      const char *module;
      size_t n;
      expr **to;          /* E_IDENT bindings */
      const char **from;  /* names in the loaded module */
    } load;
  } u;
};

/* ---- modules, threads, frames ------------------------------------------ */
struct fb_star_module {
  const char *file;
  size_t nglobals;
  const char **names;
  fb_value **values;
  fn_def *toplevel;
  bool executing; /* load cycle detection */
};

typedef struct frame {
  struct frame *parent;
  fn_def *def;
  fv_function *fn; /* NULL at top level */
  fb_star_module *module;
  fb_value **locals;
  fb_pos pos; /* current call site in this frame */
  const char *builtin; /* a builtin being called from here */
} frame;

struct fb_star_thread {
  fb_star_config cfg;
  fb_heap heap;
  frame *frame;
  unsigned depth;
  uint64_t steps;
  void *user;
  /* predeclared: names and values, looked up by the resolver */
  size_t npre, cappre;
  const char **pre_names;
  fb_value **pre_vals;
  /* pending error */
  bool err_set;
  bool err_is_limit; /* the pending error is a step/memory limit: final */
  uint64_t steps_base; /* th->steps when the step limit was set */
  fb_buf err_msg;  /* message alone */
  fb_buf err_full; /* file:line:col: message + traceback */
  /* module cache of the default loader */
  size_t nmods;
  struct { char *path; fb_star_module *mod; } *mods;
  int recursion_guard; /* depth of structural recursion (repr, eq) */
  /* x.f(...) calls whose x was not a string: a pure statement (stmt.pure)
     made one, so it may have run Starlark code */
  uint32_t other_calls;
  bool err_located;    /* the pending error has its position */
  tok_kind cmp_op;     /* operator named in comparison errors (0: <) */
  const char *_Atomic cancel;
  char cancel_reason[256];
  /* fb_star_set_poll: called at the next step once poked */
  atomic_bool poked;
  int (*poll_fn) (fb_star_thread *th, void *ctx);
  void *poll_ctx;
  bool in_poll;
};

/* ---- shared helpers ---------------------------------------------------- */
/* Raise with a position inside the current frame. */
fb_value *star_error_at (fb_star_thread *th, fb_pos pos, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
fb_value *star_verrorf (fb_star_thread *th, const char *fmt, va_list ap);
void *star_alloc (fb_star_thread *th, size_t n);
fb_value *star_new (fb_star_thread *th, size_t size, fb_value_type t);
char *star_strdup (fb_star_thread *th, const char *s, size_t len);
const fb_bigint_ctx *star_bigctx (fb_star_thread *th);

/* value.c */
const char *type_name (const fb_value *v);
bool truth (const fb_value *v);
int star_hash (fb_star_thread *th, fb_value *v, uint64_t *out);
int star_equal (fb_star_thread *th, fb_value *a, fb_value *b, bool *eq);
/* <0 error, else sets *cmp to -1/0/1 */
int star_compare (fb_star_thread *th, fb_value *a, fb_value *b, int *cmp);
int star_compare_op (fb_star_thread *th, tok_kind op, fb_value *a,
                     fb_value *b, bool *res);
void star_repr_buf (fb_star_thread *th, fb_value *v, fb_buf *b);
void star_str_buf (fb_star_thread *th, fb_value *v, fb_buf *b);
fb_value *star_repr (fb_star_thread *th, fb_value *v);
fb_value *star_str (fb_star_thread *th, fb_value *v);
void utf8_append (fb_buf *b, uint32_t cp);
/* Length of the valid UTF-8 sequence starting s (n bytes left), 0 if none. */
size_t utf8_valid (const char *s, size_t n);
/* Appends s with each byte of invalid UTF-8 replaced by U+FFFD. */
void utf8_sanitize (fb_buf *b, const char *s, size_t n);
/* Code points in s, each invalid byte counting as one. */
size_t utf8_count (const char *s, size_t n);
uint32_t utf8_decode (const unsigned char *s, size_t len);
void quote_string (fb_buf *b, const char *s, size_t n, bool bytes);
fb_value *int_from_big (fb_star_thread *th, fb_bigint *b);
fb_bigint *int_to_big (fb_star_thread *th, fb_value *v);
fb_value *int_parse (fb_star_thread *th, const char *s, size_t n, int base);
bool int_to_double (fb_value *v, double *out);
void format_float (fb_buf *b, double d, char conv, int prec);

/* A string or bytes value of len bytes (and a NUL) to fill in. */
fv_string *star_string_new (fb_star_thread *th, size_t len, fb_value_type t);
fb_value *list_from (fb_star_thread *th, size_t n, fb_value *const *items);
/* An empty list with room for cap items. */
fb_value *list_with_cap (fb_star_thread *th, size_t cap);
void list_push (fb_star_thread *th, fb_value *list, fb_value *v);
/* Room for cap items in all (no-op when there is). */
void list_reserve (fb_star_thread *th, fb_value *list, size_t cap);
fv_dict *dict_new (fb_star_thread *th, fb_value_type t);
/* <0 error (unhashable); *found */
int dict_lookup (fb_star_thread *th, fb_value *d, fb_value *k, fb_value **out);
int dict_put (fb_star_thread *th, fb_value *d, fb_value *k, fb_value *v);
int dict_del (fb_star_thread *th, fb_value *d, fb_value *k, fb_value **old);
void dict_clear (fv_dict *d);
bool check_mutable (fb_star_thread *th, fb_value *v, const char *what);

/* iteration */
typedef struct {
  fb_value *seq;
  size_t i;
  int64_t r;
} star_iter;
int iter_start (fb_star_thread *th, fb_value *seq, star_iter *it);
/* The list a sequence-like host value (fb_host_type.items) stands for, else v. */
fb_value *star_host_items (fb_value *v);
bool iter_next (star_iter *it, fb_value **out, fb_star_thread *th);
void iter_done (star_iter *it);
/* Collects an iterable into a fresh array (borrowed values). */
int iter_collect (fb_star_thread *th, fb_value *seq, fb_value ***items,
                  size_t *n);

/* eval.c */
fb_value *star_call_value (fb_star_thread *th, fb_value *fn,
                           const fb_star_args *args);
fb_value *star_binary (fb_star_thread *th, tok_kind op, fb_value *x,
                       fb_value *y);
fb_value *star_unary (fb_star_thread *th, tok_kind op, fb_value *x);
fb_value *star_getattr (fb_star_thread *th, fb_value *x, const char *name);
fb_value *star_index (fb_star_thread *th, fb_value *x, fb_value *i);
int star_slice_indices (fb_star_thread *th, fb_value *lo, fb_value *hi,
                        fb_value *step, int64_t len, int64_t *start,
                        int64_t *stop, int64_t *st);
bool star_step (fb_star_thread *th); /* false when a limit was hit */
/* false (and the memory limit's error) when bytes more would pass it:
 * builtins check before they build a big result, not only between steps */
bool star_fits (fb_star_thread *th, size_t bytes);

/* lex/parse/resolve */
typedef struct parse_ctx parse_ctx;
int star_parse (fb_star_thread *th, const char *file, const char *src,
                size_t len, fn_def **toplevel, unsigned *dialect,
                fb_error *err);
int star_resolve (fb_star_thread *th, fn_def *top, unsigned dialect,
                  fb_star_module **out, fb_error *err);

/* builtins.c / methods.c */
fb_value *universe_lookup (const char *name);
const char *const *universe_names (void);
void universe_init (void);
typedef struct {
  const char *name;
  fb_builtin_fn fn;
  bool kwargs; /* accepts keyword arguments */
} method_entry;
const method_entry *methods_for (fb_value_type t, size_t *n);
/* fv_builtin.data of the built-ins that, as in Go, take no keyword
 * arguments (UnpackPositionalArgs): the call is refused before they run. */
extern char star_positional_only;
#define POSITIONAL_ONLY ((void *) &star_positional_only)
fb_value *bound_method (fb_star_thread *th, fb_value *recv,
                        const method_entry *m);

/* format.c / json.c */
fb_value *star_percent (fb_star_thread *th, fb_value *fmt, fb_value *args);
fb_value *str_format (fb_star_thread *th, fb_value *self,
                      const fb_star_args *args);
fb_value *json_module (fb_star_thread *th);

#endif
