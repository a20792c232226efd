/* Tree-walking evaluator over the resolved syntax tree, plus threads,
 * errors with Starlark stack traces, calls and module execution. */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "star/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/suggest.h"

/* ---- threads ----------------------------------------------------------- */

fb_star_thread *
fb_star_thread_new (const fb_star_config *cfg)
{
  universe_init ();
  fb_star_thread *th = FB_NEW (fb_star_thread);
  if (cfg)
    th->cfg = *cfg;
  if (!th->cfg.max_depth)
    th->cfg.max_depth = 1000;
  if (!th->cfg.max_memory)
    th->cfg.max_memory = (size_t) 2 << 30;
  return th;
}

void
fb_star_thread_free (fb_star_thread *th)
{
  if (!th)
    return;
  heap_free_all (&th->heap);
  fb_buf_free (&th->err_msg);
  fb_buf_free (&th->err_full);
  for (size_t i = 0; i < th->nmods; i++)
    free (th->mods[i].path);
  free (th->mods);
  free (th->pre_names);
  free (th->pre_vals);
  free (th);
}

fb_star_thread *
fb_star_thread_spawn (fb_star_thread *th)
{
  fb_star_thread *c = FB_NEW (fb_star_thread);
  c->cfg = th->cfg;
  c->user = th->user;
  c->steps = th->steps;
  c->steps_base = th->steps_base;
  return c;
}

void
fb_star_thread_join (fb_star_thread *th, fb_star_thread *child)
{
  heap_adopt (&th->heap, &child->heap);
  th->steps = child->steps > th->steps ? child->steps : th->steps;
  fb_star_thread_free (child);
}

const fb_star_config *
fb_star_thread_config (fb_star_thread *th)
{
  return &th->cfg;
}

void
fb_star_set_step_limit (fb_star_thread *th, uint64_t steps)
{
  th->cfg.max_steps = steps ? th->steps + steps : 0;
  th->steps_base = th->steps;
}

void
fb_star_set_user (fb_star_thread *th, void *user)
{
  th->user = user;
}

void *
fb_star_user (fb_star_thread *th)
{
  return th->user;
}

void
fb_star_cancel (fb_star_thread *th, const char *reason)
{
  if (!reason)
    {
      atomic_store (&th->cancel, NULL);
      return;
    }
  snprintf (th->cancel_reason, sizeof th->cancel_reason, "%s", reason);
  atomic_store (&th->cancel, th->cancel_reason);
}

void
fb_star_set_poll (fb_star_thread *th, int (*fn) (fb_star_thread *th, void *ctx), void *ctx)
{
  th->poll_fn = fn;
  th->poll_ctx = ctx;
  atomic_store (&th->poked, false);
}

void
fb_star_poke (fb_star_thread *th)
{
  atomic_store_explicit (&th->poked, true, memory_order_relaxed);
}

/* The poll hook, once per poke and never inside itself (it runs Starlark). */
static bool
star_poll (fb_star_thread *th)
{
  if (!th->poll_fn || th->in_poll || !atomic_load_explicit (&th->poked, memory_order_relaxed))
    return true;
  atomic_store_explicit (&th->poked, false, memory_order_relaxed);
  th->in_poll = true;
  int r = th->poll_fn (th, th->poll_ctx);
  th->in_poll = false;
  return r == 0;
}

void
fb_star_predeclare (fb_star_thread *th, const char *name, fb_value *v)
{
  for (size_t i = 0; i < th->npre; i++)
    if (!strcmp (th->pre_names[i], name))
      {
        th->pre_vals[i] = v;
        return;
      }
  FB_GROW (th->pre_names, th->cappre, th->npre + 1);
  th->pre_vals = fb_xreallocarray (th->pre_vals, th->cappre, sizeof *th->pre_vals);
  th->pre_names[th->npre] = star_strdup (th, name, strlen (name));
  th->pre_vals[th->npre++] = v;
}

const char *
fb_star_predeclared_at (const fb_star_thread *th, size_t i, fb_value **v)
{
  if (i >= th->npre)
    return NULL;
  if (v)
    *v = th->pre_vals[i];
  return th->pre_names[i];
}

const char *
fb_star_field_at (const fb_value *s, size_t i, fb_value **v)
{
  if (!s || (vtype (s) != FB_V_STRUCT && vtype (s) != FB_V_MODULE) || i >= AS (const fv_struct, s)->n)
    return NULL;
  if (v)
    *v = AS (const fv_struct, s)->vals[i];
  return AS (const fv_struct, s)->names[i];
}

/* ---- errors ------------------------------------------------------------ */

fb_value *
star_verrorf (fb_star_thread *th, const char *fmt, va_list ap)
{
  /* a builtin that fails because a limit was hit must not turn the limit
   * into its own error ("list: got range, want iterable") */
  if (th->err_set && th->err_is_limit)
    return NULL;
  fb_buf_truncate (&th->err_msg, 0);
  fb_buf_vprintf (&th->err_msg, fmt, ap);
  th->err_set = true;
  th->err_is_limit = false;
  th->err_located = false;
  return NULL;
}

fb_value *
fb_star_errorf (fb_star_thread *th, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  star_verrorf (th, fmt, ap);
  va_end (ap);
  return NULL;
}

/* Gives the pending error its position (the innermost one wins) and
 * records the stack trace of the frames active now. */
static void
locate (fb_star_thread *th, fb_pos pos)
{
  if (th->err_located || !th->err_set)
    return;
  th->err_located = true;
  frame *fr = th->frame;
  fb_buf *b = &th->err_full;
  fb_buf_truncate (b, 0);
  const char *file = fr ? fr->def->file : "<unknown>";
  fb_buf_printf (b, "%s:%d:%d: %s", file, pos.line, pos.col,
                 fb_buf_str (&th->err_msg));
  size_t depth = 0;
  for (frame *f = fr; f; f = f->parent)
    depth++;
  if (depth < 2)
    return;
  /* outermost first, like Python */
  frame **frames = fb_xmalloc (depth * sizeof *frames);
  size_t i = depth;
  for (frame *f = fr; f; f = f->parent)
    frames[--i] = f;
  fb_buf_puts (b, "\nTraceback (most recent call last):");
  for (i = 0; i < depth; i++)
    {
      fb_pos p = i + 1 == depth ? pos : frames[i]->pos;
      fb_buf_printf (b, "\n  %s:%d:%d: in %s", frames[i]->def->file, p.line,
                     p.col, frames[i]->def->name);
    }
  free (frames);
}

fb_value *
star_error_at (fb_star_thread *th, fb_pos pos, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  star_verrorf (th, fmt, ap);
  va_end (ap);
  locate (th, pos);
  return NULL;
}

int
fb_star_take_error (fb_star_thread *th, fb_error *err)
{
  if (!th->err_set)
    return fb_error_set (err, EINVAL, "unknown Starlark error");
  if (!th->err_located)
    fb_error_set (err, EINVAL, "%s", fb_buf_str (&th->err_msg));
  else
    fb_error_set (err, EINVAL, "%s", fb_buf_str (&th->err_full));
  th->err_set = th->err_located = false;
  return -1;
}

const char *
fb_star_error_message (fb_star_thread *th)
{
  return th->err_set ? fb_buf_str (&th->err_msg) : NULL;
}

void
fb_star_call_position (fb_star_thread *th, const char **file, int *line,
                       int *col)
{
  frame *f = th->frame;
  *file = f ? f->def->file : "<unknown>";
  *line = f ? f->pos.line : 0;
  *col = f ? f->pos.col : 0;
}

bool
star_fits (fb_star_thread *th, size_t bytes)
{
  if (th->heap.bytes <= th->cfg.max_memory && bytes <= th->cfg.max_memory - th->heap.bytes)
    return true;
  fb_star_errorf (th, "Starlark computation exceeded the memory limit (%zu MiB)",
                  th->cfg.max_memory >> 20);
  th->err_is_limit = true;
  return false;
}

bool
star_step (fb_star_thread *th)
{
  th->steps++;
  if (th->cfg.max_steps && th->steps > th->cfg.max_steps)
    {
      fb_star_errorf (th, "Starlark computation exceeded the step limit (%" PRIu64 " steps)",
                      th->cfg.max_steps - th->steps_base);
      th->err_is_limit = true;
      return false;
    }
  if (!star_fits (th, 0))
    return false;
  const char *c = atomic_load_explicit (&th->cancel, memory_order_relaxed);
  if (c)
    {
      fb_star_errorf (th, "%s", c);
      return false;
    }
  return star_poll (th);
}

/* ---- function values --------------------------------------------------- */

typedef enum { X_NORMAL, X_RETURN, X_BREAK, X_CONTINUE, X_ERROR } xstat;

typedef struct {
  fb_star_thread *th;
  frame *fr;
  fb_value *ret;
} ectx;

static fb_value *eval (ectx *x, expr *e);
static xstat exec_list (ectx *x, stmt_list *l);

static fb_value *
new_function (ectx *x, fn_def *d)
{
  fb_star_thread *th = x->th;
  fv_function *f = AS (fv_function, star_new (th, sizeof *f, FB_V_FUNCTION));
  f->def = d;
  f->module = x->fr->module;
  int nnamed = d->npositional + d->nkwonly;
  f->defaults = star_alloc (th, (size_t) (nnamed + 1) * sizeof (fb_value *));
  int k = 0;
  for (size_t i = 0; i < d->nparams; i++)
    {
      if (d->params[i].kind != 0)
        continue;
      f->defaults[k] = NULL;
      if (d->params[i].dflt)
        {
          fb_value *v = eval (x, d->params[i].dflt);
          if (!v)
            return NULL;
          f->defaults[k] = v;
        }
      k++;
    }
  f->free = star_alloc (th, (size_t) (d->nfree + 1) * sizeof (fb_value *));
  for (int i = 0; i < d->nfree; i++)
    f->free[i] = d->free[i].from_free ? x->fr->fn->free[d->free[i].index]
                                      : x->fr->locals[d->free[i].index];
  return &f->h;
}

/* ---- calls ------------------------------------------------------------- */

static fb_value *
bind_error (fb_star_thread *th, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static fb_value *
bind_error (fb_star_thread *th, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  star_verrorf (th, fmt, ap);
  va_end (ap);
  return NULL;
}

static int
bind_args (fb_star_thread *th, fv_function *fn, const fb_star_args *a,
           fb_value **locals)
{
  fn_def *d = fn->def;
  int np = d->npositional, nnamed = np + d->nkwonly;
  size_t npos = a->npos;
  for (size_t i = 0; i < npos && i < (size_t) np; i++)
    locals[i] = a->pos[i];
  if (npos > (size_t) np)
    {
      if (d->args_slot < 0)
        {
          /* Go's wording: "at most" only when some have defaults */
          bool dflt = false;
          for (int j = 0; j < np; j++)
            dflt |= fn->defaults[j] != NULL;
          bind_error (th, "function %s accepts %s%d positional argument%s (%zu given)",
                      d->name, dflt ? "at most " : "", np, np == 1 ? "" : "s",
                      npos);
          return -1;
        }
      locals[d->args_slot] = fb_tuple_new (th, npos - (size_t) np, a->pos + np);
    }
  else if (d->args_slot >= 0)
    locals[d->args_slot] = fb_tuple_new (th, 0, NULL);
  fb_value *kw = NULL;
  if (d->kwargs_slot >= 0)
    kw = locals[d->kwargs_slot] = fb_dict_new (th);
  for (size_t i = 0; i < a->nkw; i++)
    {
      const char *name = a->kwnames[i];
      int k = -1;
      for (int j = 0; j < nnamed; j++)
        if (!strcmp (d->local_names[j], name))
          {
            k = j;
            break;
          }
      if (k >= 0)
        {
          if (locals[k])
            {
              bind_error (th, "function %s got multiple values for parameter %s",
                          d->name, name);
              return -1;
            }
          locals[k] = a->kwvals[i];
          continue;
        }
      if (!kw)
        {
          const char *s = fb_suggest (name, d->local_names, (size_t) nnamed);
          bind_error (th, "function %s got an unexpected keyword argument %s%s%s%s",
                      d->name, name, s ? " (did you mean " : "", s ? s : "",
                      s ? "?)" : "");
          return -1;
        }
      fb_value *key = fb_string (th, name), *old;
      if (dict_lookup (th, kw, key, &old) > 0)
        {
          bind_error (th, "function %s got multiple values for keyword argument %s",
                      d->name, name);
          return -1;
        }
      dict_put (th, kw, key, a->kwvals[i]);
    }
  int missing = 0;
  for (int j = 0; j < nnamed; j++)
    if (!locals[j])
      {
        if (fn->defaults[j])
          locals[j] = fn->defaults[j];
        else
          missing++;
      }
  if (missing)
    {
      _cleanup_buf_ fb_buf names = FB_BUF_INIT;
      for (int j = 0; j < nnamed; j++)
        if (!locals[j])
          fb_buf_printf (&names, "%s%s", names.len ? ", " : "",
                         d->local_names[j]);
      bind_error (th, "function %s missing %d argument%s (%s)", d->name,
                  missing, missing == 1 ? "" : "s", fb_buf_str (&names));
      return -1;
    }
  return 0;
}

static fb_value *
new_cell (fb_star_thread *th, fb_value *v)
{
  fv_cell *c = AS (fv_cell, star_new (th, sizeof *c, FB_V_CELL));
  c->v = v;
  return &c->h;
}

static fb_value *
call_function (fb_star_thread *th, fv_function *fn, const fb_star_args *a)
{
  fn_def *d = fn->def;
  if (!(th->cfg.dialect & FB_STAR_ALLOW_RECURSION))
    for (frame *f = th->frame; f; f = f->parent)
      if (f->def == d)
        return fb_star_errorf (th, "function %s called recursively (recursion is not allowed in this dialect; add \"# starlark: allow=recursion\")",
                               d->name);
  if (th->depth >= th->cfg.max_depth)
    return fb_star_errorf (th, "call stack exceeds maximum depth (%u)",
                           th->cfg.max_depth);
  if (!star_step (th))
    return NULL;
  fb_value *small[16];
  size_t n = (size_t) d->nlocals;
  fb_value **locals = n <= 16 ? small : star_alloc (th, n * sizeof *locals);
  memset (locals, 0, n * sizeof *locals);
  if (bind_args (th, fn, a, locals) < 0)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (d->local_is_cell[i])
      locals[i] = new_cell (th, locals[i]);
  frame fr = { .parent = th->frame, .def = d, .fn = fn, .module = fn->module,
               .locals = locals, .pos = d->pos };
  th->frame = &fr;
  th->depth++;
  ectx x = { th, &fr, NULL };
  fb_value *ret;
  if (d->lambda_body)
    ret = eval (&x, d->lambda_body);
  else
    {
      xstat s = exec_list (&x, &d->body);
      ret = s == X_ERROR ? NULL : s == X_RETURN ? x.ret : NONE;
    }
  th->depth--;
  th->frame = fr.parent;
  return ret;
}

fb_value *
star_call_value (fb_star_thread *th, fb_value *fn, const fb_star_args *a)
{
  switch (vtype (fn))
    {
    case FB_V_FUNCTION:
      return call_function (th, AS (fv_function, fn), a);
    case FB_V_BUILTIN:
      {
        if (a->nkw && AS (fv_builtin, fn)->data == POSITIONAL_ONLY)
          return fb_star_errorf (th, "%s: unexpected keyword arguments",
                                 AS (fv_builtin, fn)->name);
        fb_value *r = AS (fv_builtin, fn)->fn (th, fn, a);
        if (!r && !th->err_set)
          fb_star_errorf (th, "%s failed", AS (fv_builtin, fn)->name);
        return r;
      }
    default:
      return fb_star_errorf (th, "invalid call of non-function (%s)",
                             type_name (fn));
    }
}

fb_value *
fb_star_call (fb_star_thread *th, fb_value *callable, const fb_star_args *args)
{
  static const fb_star_args none = { 0 };
  th->err_set = false;
  fb_value *r = star_call_value (th, callable, args ? args : &none);
  if (!r && th->frame == NULL)
    {
      /* an error with no Starlark frame left: position it at the callee */
      const char *file;
      int line, col;
      if (!th->err_located && fb_value_func_position (callable, &file, &line, &col))
        {
          fb_buf_truncate (&th->err_full, 0);
          fb_buf_printf (&th->err_full, "%s:%d:%d: %s", file, line, col,
                         fb_buf_str (&th->err_msg));
          th->err_located = true;
        }
    }
  return r;
}

fb_value *
fb_builtin_new (fb_star_thread *th, const char *name, fb_builtin_fn fn,
                void *data)
{
  fv_builtin *b = AS (fv_builtin, star_new (th, sizeof *b, FB_V_BUILTIN));
  b->name = star_strdup (th, name, strlen (name));
  b->fn = fn;
  b->data = data;
  b->h.frozen = 1;
  return &b->h;
}

const char *
fb_builtin_name (const fb_value *self)
{
  return AS (const fv_builtin, self)->name;
}

void *
fb_builtin_data (const fb_value *self)
{
  return AS (const fv_builtin, self)->data;
}

fb_value *
fb_builtin_receiver (const fb_value *self)
{
  return AS (const fv_builtin, self)->recv;
}

fb_value *
bound_method (fb_star_thread *th, fb_value *recv, const method_entry *m)
{
  fv_builtin *b = AS (fv_builtin, star_new (th, sizeof *b, FB_V_BUILTIN));
  b->name = m->name;
  b->fn = m->fn;
  b->data = m->kwargs ? NULL : POSITIONAL_ONLY;
  b->recv = recv;
  return &b->h;
}

/* ---- attributes -------------------------------------------------------- */

static const method_entry *
find_method (fb_value_type t, const char *name)
{
  size_t n;
  const method_entry *m = methods_for (t, &n);
  size_t lo = 0, hi = n;
  while (lo < hi)
    {
      size_t mid = (lo + hi) / 2;
      int c = strcmp (m[mid].name, name);
      if (!c)
        return &m[mid];
      if (c < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return NULL;
}

static fb_value *
no_attr (fb_star_thread *th, fb_value *x, const char *name)
{
  const char **cands = NULL;
  size_t n = 0, cap = 0;
  fb_value_type t = vtype (x);
  if (t == FB_V_STRUCT || t == FB_V_MODULE)
    {
      fv_struct *s = AS (fv_struct, x);
      cands = fb_xmalloc ((s->n + 1) * sizeof *cands);
      for (size_t i = 0; i < s->n; i++)
        cands[n++] = s->names[i];
    }
  else if (t == FB_V_HOST && AS (fv_host, x)->type->attr_names)
    for (const char *const *a = AS (fv_host, x)->type->attr_names; *a; a++)
      {
        FB_GROW (cands, cap, n + 1);
        cands[n++] = *a;
      }
  else
    {
      size_t nm;
      const method_entry *m = methods_for (t, &nm);
      cands = fb_xmalloc ((nm + 1) * sizeof *cands);
      for (size_t i = 0; i < nm; i++)
        cands[n++] = m[i].name;
    }
  const char *s = fb_suggest (name, cands, n);
  fb_star_errorf (th, "%s has no .%s field or method%s%s%s", type_name (x),
                  name, s ? " (did you mean ." : "", s ? s : "",
                  s ? "?)" : "");
  free (cands);
  return NULL;
}

fb_value *
star_getattr (fb_star_thread *th, fb_value *x, const char *name)
{
  fb_value_type t = vtype (x);
  if (t == FB_V_STRUCT || t == FB_V_MODULE)
    {
      fb_value *v = fb_struct_get (x, name);
      if (v)
        return v;
      return no_attr (th, x, name);
    }
  if (t == FB_V_HOST)
    {
      fv_host *h = AS (fv_host, x);
      th->err_set = false;
      fb_value *v = h->type->attr ? h->type->attr (th, x, name) : NULL;
      if (v || th->err_set)
        return v;
      return no_attr (th, x, name);
    }
  const method_entry *m = find_method (t, name);
  if (m)
    return bound_method (th, x, m);
  return no_attr (th, x, name);
}

/* ---- indexing and slicing ---------------------------------------------- */

static bool
as_index (fb_star_thread *th, fb_value *i, int64_t len, int64_t *out,
          const char *what)
{
  int64_t k;
  if (vtype (i) != FB_V_INT)
    {
      fb_star_errorf (th, "%s index: got %s, want int", what, type_name (i));
      return false;
    }
  if (!fb_value_as_int64 (i, &k))
    {
      /* a big int is out of any range; name it as written */
      char *r = fb_value_repr (th, i);
      fb_star_errorf (th, "%s index %s out of range", what, r);
      free (r);
      return false;
    }
  int64_t orig = k;
  if (k < 0)
    k += len;
  if (k < 0 || k >= len)
    {
      /* Go's wording: the valid range is inclusive */
      if (len == 0)
        fb_star_errorf (th, "index %" PRId64 " out of range: empty %s", orig,
                        what);
      else
        fb_star_errorf (th, "%s index %" PRId64 " out of range [%" PRId64
                        ":%" PRId64 "]", what, orig, -len, len - 1);
      return false;
    }
  *out = k;
  return true;
}

fb_value *
star_index (fb_star_thread *th, fb_value *x, fb_value *i)
{
  int64_t k;
  x = star_host_items (x);
  switch (vtype (x))
    {
    case FB_V_LIST:
      if (!as_index (th, i, (int64_t) LIST (x)->len, &k, "list"))
        return NULL;
      return LIST (x)->items[k];
    case FB_V_TUPLE:
      if (!as_index (th, i, (int64_t) TUPLE (x)->len, &k, "tuple"))
        return NULL;
      return TUPLE (x)->items[k];
    case FB_V_STRING:
      if (!as_index (th, i, (int64_t) STR (x)->len, &k, "string"))
        return NULL;
      return fb_string_n (th, STR (x)->s + k, 1);
    case FB_V_BYTES:
      if (!as_index (th, i, (int64_t) STR (x)->len, &k, "bytes"))
        return NULL;
      return mk_small ((unsigned char) STR (x)->s[k]);
    case FB_V_RANGE:
      {
        fv_range *r = AS (fv_range, x);
        if (!as_index (th, i, r->len, &k, "range"))
          return NULL;
        return fb_int (th, r->start + k * r->step);
      }
    case FB_V_DICT:
      {
        fb_value *v;
        int rc = dict_lookup (th, x, i, &v);
        if (rc < 0)
          return NULL;
        if (!rc)
          {
            _cleanup_buf_ fb_buf b = FB_BUF_INIT;
            star_repr_buf (th, i, &b);
            return fb_star_errorf (th, "key %s not in dict", fb_buf_str (&b));
          }
        return v;
      }
    default:
      return fb_star_errorf (th, "unhandled index operation %s[%s]",
                             type_name (x), type_name (i));
    }
}

static bool
slice_arg (fb_star_thread *th, fb_value *v, int64_t *out)
{
  if (!v || v == NONE)
    return false;
  if (vtype (v) != FB_V_INT)
    {
      fb_star_errorf (th, "invalid slice index: got %s, want int", type_name (v));
      *out = INT64_MIN;
      return true;
    }
  if (!fb_value_as_int64 (v, out))
    *out = SMALL_VAL (v) < 0 ? INT64_MIN / 2 : INT64_MAX / 2;
  return true;
}

int
star_slice_indices (fb_star_thread *th, fb_value *lo, fb_value *hi,
                    fb_value *stepv, int64_t len, int64_t *start,
                    int64_t *stop, int64_t *st)
{
  int64_t step = 1;
  th->err_set = false;
  if (slice_arg (th, stepv, &step))
    {
      if (th->err_set)
        return -1;
      if (step == 0)
        {
          fb_star_errorf (th, "zero is not a valid slice step");
          return -1;
        }
    }
  int64_t a, b;
  if (step > 0)
    {
      a = 0;
      b = len;
    }
  else
    {
      a = len - 1;
      b = -1;
    }
  int64_t v;
  if (slice_arg (th, lo, &v))
    {
      if (th->err_set)
        return -1;
      if (v < 0)
        v += len;
      if (step > 0)
        a = v < 0 ? 0 : v > len ? len : v;
      else
        a = v < -1 ? -1 : v >= len ? len - 1 : v;
    }
  if (slice_arg (th, hi, &v))
    {
      if (th->err_set)
        return -1;
      if (v < 0)
        v += len;
      if (step > 0)
        b = v < 0 ? 0 : v > len ? len : v;
      else
        b = v < -1 ? -1 : v >= len ? len - 1 : v;
    }
  *start = a;
  *stop = b;
  *st = step;
  return 0;
}

static fb_value *
do_slice (fb_star_thread *th, fb_value *x, fb_value *lo, fb_value *hi,
          fb_value *stepv)
{
  fb_value_type t = vtype (x);
  int64_t len = fb_value_len (x);
  if (t != FB_V_LIST && t != FB_V_TUPLE && t != FB_V_STRING
      && t != FB_V_BYTES && t != FB_V_RANGE)
    return fb_star_errorf (th, "invalid slice operand %s", type_name (x));
  int64_t a, b, step;
  if (star_slice_indices (th, lo, hi, stepv, len, &a, &b, &step) < 0)
    return NULL;
  int64_t n = 0;
  if (step > 0 && b > a)
    n = (b - a + step - 1) / step;
  else if (step < 0 && a > b)
    n = (a - b + (-step) - 1) / (-step);
  if (t == FB_V_RANGE)
    {
      fv_range *r = AS (fv_range, x);
      fv_range *o = AS (fv_range, star_new (th, sizeof *o, FB_V_RANGE));
      o->start = r->start + a * r->step;
      o->step = r->step * step;
      o->len = n;
      o->stop = o->start + n * o->step;
      return &o->h;
    }
  if (t == FB_V_STRING || t == FB_V_BYTES)
    {
      if (step == 1)
        return t == FB_V_STRING ? fb_string_n (th, STR (x)->s + a, (size_t) n)
                                : fb_bytes_n (th, STR (x)->s + a, (size_t) n);
      char *buf = star_alloc (th, (size_t) n + 1);
      for (int64_t i = 0; i < n; i++)
        buf[i] = STR (x)->s[a + i * step];
      return t == FB_V_STRING ? fb_string_n (th, buf, (size_t) n)
                              : fb_bytes_n (th, buf, (size_t) n);
    }
  fb_value **src = t == FB_V_LIST ? LIST (x)->items : TUPLE (x)->items;
  fb_value **items = star_alloc (th, (size_t) (n ? n : 1) * sizeof *items);
  for (int64_t i = 0; i < n; i++)
    items[i] = src[a + i * step];
  return t == FB_V_LIST ? list_from (th, (size_t) n, items)
                        : fb_tuple_new (th, (size_t) n, items);
}

/* ---- expressions ------------------------------------------------------- */

static fb_value *
fail_at (ectx *x, fb_pos pos)
{
  locate (x->th, pos);
  return NULL;
}

static fb_value *
unassigned (ectx *x, expr *e, const char *kind)
{
  return star_error_at (x->th, e->pos, "%s variable %s referenced before assignment",
                        kind, e->u.id.name);
}

static fb_value *
eval_ident (ectx *x, expr *e)
{
  fb_value *v;
  switch (e->u.id.scope)
    {
    case SC_LOCAL:
      v = x->fr->locals[e->u.id.index];
      if (!v)
        return unassigned (x, e, "local");
      if (!IS_SMALL (v) && v->pad) /* now held elsewhere: see STR_BUILDER */
        v->pad = 0;
      return v;
    case SC_CELL:
      v = AS (fv_cell, x->fr->locals[e->u.id.index])->v;
      return v ? v : unassigned (x, e, "local");
    case SC_FREE:
      v = AS (fv_cell, x->fr->fn->free[e->u.id.index])->v;
      return v ? v : unassigned (x, e, "local");
    case SC_GLOBAL:
      v = x->fr->module->values[e->u.id.index];
      return v ? v : unassigned (x, e, "global");
    default:
      return e->u.id.value;
    }
}

/* Evaluated call arguments; small calls stay on the C stack. */
typedef struct {
  fb_value *pos_small[8], *kwv_small[8];
  const char *kwn_small[8];
  fb_value **pos, **kwv;
  const char **kwn;
  size_t npos, nkw, cappos, capkw;
} argvec;

static void
av_init (argvec *a)
{
  a->pos = a->pos_small;
  a->kwv = a->kwv_small;
  a->kwn = a->kwn_small;
  a->npos = a->nkw = 0;
  a->cappos = a->capkw = 8;
}

static void
av_pos (fb_star_thread *th, argvec *a, fb_value *v)
{
  if (a->npos == a->cappos)
    {
      fb_value **n = star_alloc (th, a->cappos * 2 * sizeof *n);
      memcpy (n, a->pos, a->npos * sizeof *n);
      a->pos = n;
      a->cappos *= 2;
    }
  a->pos[a->npos++] = v;
}

static void
av_kw (fb_star_thread *th, argvec *a, const char *name, fb_value *v)
{
  if (a->nkw == a->capkw)
    {
      fb_value **nv = star_alloc (th, a->capkw * 2 * sizeof *nv);
      const char **nn = star_alloc (th, a->capkw * 2 * sizeof *nn);
      memcpy (nv, a->kwv, a->nkw * sizeof *nv);
      memcpy (nn, a->kwn, a->nkw * sizeof *nn);
      a->kwv = nv;
      a->kwn = nn;
      a->capkw *= 2;
    }
  a->kwn[a->nkw] = name;
  a->kwv[a->nkw++] = v;
}

static int
eval_args (ectx *x, expr *e, argvec *a)
{
  fb_star_thread *th = x->th;
  av_init (a);
  for (size_t i = 0; i < e->u.call.n; i++)
    {
      call_arg *ca = &e->u.call.args[i];
      fb_value *v = eval (x, ca->x);
      if (!v)
        return -1;
      switch (ca->kind)
        {
        case 0: av_pos (th, a, v); break;
        case 1: av_kw (th, a, ca->name, v); break;
        case 2:
          {
            fb_value **items;
            size_t n;
            if (iter_collect (th, v, &items, &n) < 0)
              {
                fb_star_errorf (th, "argument after * must be iterable, not %s",
                                type_name (v));
                fail_at (x, ca->x->pos);
                return -1;
              }
            for (size_t k = 0; k < n; k++)
              av_pos (th, a, items[k]);
            break;
          }
        case 3:
          {
            if (vtype (v) != FB_V_DICT)
              {
                star_error_at (th, ca->x->pos, "argument after ** must be a dict, not %s",
                               type_name (v));
                return -1;
              }
            fb_value *k, *val;
            for (size_t j = 0; fb_dict_entry (v, j, &k, &val); j++)
              {
                if (vtype (k) != FB_V_STRING)
                  {
                    star_error_at (th, ca->x->pos, "keywords must be strings, not %s",
                                   type_name (k));
                    return -1;
                  }
                for (size_t m = 0; m < a->nkw; m++)
                  if (!strcmp (a->kwn[m], STR (k)->s))
                    {
                      star_error_at (th, ca->x->pos, "duplicate keyword argument %s",
                                     STR (k)->s);
                      return -1;
                    }
                av_kw (th, a, STR (k)->s, val);
              }
            break;
          }
        }
    }
  return 0;
}

/* Out of line, like the literals below: eval() recurses for every node,
 * and the argument vectors would make each of its frames large. */
static __attribute__ ((noinline)) fb_value *
eval_call (ectx *x, expr *e)
{
  fb_star_thread *th = x->th;
  expr *fe = e->u.call.fn;
  fb_value *fn;
  fv_builtin tmp;
  if (fe->kind == E_DOT)
    {
      /* x.method(...) on a built-in type: no bound-method allocation */
      fb_value *recv = eval (x, fe->u.dot.x);
      if (!recv)
        return NULL;
      fb_value_type t = vtype (recv);
      const method_entry *m = NULL;
      th->other_calls += t != FB_V_STRING;
      if (t != FB_V_STRUCT && t != FB_V_MODULE && t != FB_V_HOST)
        {
          if (fe->u.dot.cache_type == (const void *) (uintptr_t) (t + 1))
            m = fe->u.dot.cache_fn;
          else if ((m = find_method (t, fe->u.dot.name)))
            {
              fe->u.dot.cache_type = (const void *) (uintptr_t) (t + 1);
              fe->u.dot.cache_fn = (void *) m;
            }
        }
      if (m)
        {
          tmp = (fv_builtin) { { FB_V_BUILTIN, 1, 0, 0 }, m->name, m->fn,
                               m->kwargs ? NULL : POSITIONAL_ONLY,
                               recv };
          fn = &tmp.h;
        }
      else if (!(fn = star_getattr (th, recv, fe->u.dot.name)))
        return fail_at (x, fe->pos);
    }
  else if (!(fn = eval (x, fe)))
    return NULL;
  argvec a;
  if (eval_args (x, e, &a) < 0)
    return NULL;
  fb_star_args args = { a.npos, a.pos, a.nkw, a.kwn, a.kwv };
  x->fr->pos = e->pos;
  fb_value *r = star_call_value (th, fn, &args);
  if (!r)
    return fail_at (x, e->pos);
  return r;
}

static int assign (ectx *x, expr *lhs, fb_value *v);

/* The comprehension has one for clause, first, and ifs after it. */
static bool
comp_one_loop (const expr *e)
{
  for (size_t i = 1; i < e->u.comp.n; i++)
    if (!e->u.comp.clauses[i].is_if)
      return false;
  return !e->u.comp.clauses[0].is_if;
}

static fb_value *
eval_comp (ectx *x, expr *e, size_t ci, fb_value *acc)
{
  fb_star_thread *th = x->th;
  if (ci == e->u.comp.n)
    {
      fb_value *k = eval (x, e->u.comp.body);
      if (!k)
        return NULL;
      if (!e->u.comp.is_dict)
        {
          list_push (th, acc, k);
          return acc;
        }
      fb_value *v = eval (x, e->u.comp.value);
      if (!v)
        return NULL;
      if (dict_put (th, acc, k, v) < 0)
        return fail_at (x, e->u.comp.body->pos);
      return acc;
    }
  comp_clause *cl = &e->u.comp.clauses[ci];
  fb_value *v = eval (x, cl->x);
  if (!v)
    return NULL;
  if (cl->is_if)
    return truth (v) ? eval_comp (x, e, ci + 1, acc) : acc;
  star_iter it;
  if (iter_start (th, v, &it) < 0)
    return fail_at (x, cl->x->pos);
  if (ci == 0 && !e->u.comp.is_dict && comp_one_loop (e))
    {
      /* at most one item per element: room for them all, no regrowth */
      long len = fb_value_len (v);
      if (len > 0 && len <= 65536)
        list_reserve (th, acc, (size_t) len);
    }
  fb_value *item;
  fb_value *res = acc;
  while (iter_next (&it, &item, th))
    {
      if (!star_step (th) || assign (x, cl->vars, item) < 0
          || !eval_comp (x, e, ci + 1, acc))
        {
          res = NULL;
          break;
        }
    }
  iter_done (&it);
  if (!res)
    return fail_at (x, cl->x->pos);
  return res;
}

static __attribute__ ((noinline)) fb_value *
eval_literal (ectx *x, expr *e)
{
  fb_star_thread *th = x->th;
  if (e->kind != E_DICT)
    {
      size_t n = e->u.seq.n;
      fb_value *small[8];
      fb_value **items = n <= 8 ? small : star_alloc (th, n * sizeof *items);
      for (size_t i = 0; i < n; i++)
        if (!(items[i] = eval (x, e->u.seq.items[i])))
          return NULL;
      return e->kind == E_LIST ? list_from (th, n, items)
                               : fb_tuple_new (th, n, items);
    }
  fb_value *d = fb_dict_new (th);
  for (size_t i = 0; i < e->u.seq.n; i++)
    {
      expr *ke = e->u.seq.items[2 * i];
      fb_value *k = eval (x, ke);
      if (!k)
        return NULL;
      fb_value *v = eval (x, e->u.seq.items[2 * i + 1]);
      if (!v)
        return NULL;
      fb_value *old;
      int rc = dict_lookup (th, d, k, &old);
      if (rc > 0)
        {
          _cleanup_buf_ fb_buf b = FB_BUF_INIT;
          star_repr_buf (th, k, &b);
          return star_error_at (th, ke->pos, "duplicate key: %s",
                                fb_buf_str (&b));
        }
      if (rc < 0 || dict_put (th, d, k, v) < 0)
        return fail_at (x, ke->pos);
    }
  return d;
}

/* x op y on two small ints without star_binary's dispatch; NULL when
   that is not the case (or an error is due: star_binary raises it). */
static inline fb_value *
small_binary (fb_star_thread *th, tok_kind op, fb_value *l, fb_value *r)
{
  if (IS_SMALL (l) && IS_SMALL (r))
    {
      int64_t a = SMALL_VAL (l), b = SMALL_VAL (r), c;
      switch (op)
        {
        case T_PLUS: c = a + b; goto small_result;
        case T_MINUS: c = a - b; goto small_result;
        case T_STAR:
          if (__builtin_mul_overflow (a, b, &c))
            break;
          goto small_result;
        case T_SLASHSLASH:
        case T_PERCENT:
          if (!b)
            break; /* star_binary raises */
          c = op == T_PERCENT ? a % b : a / b;
          if (op == T_PERCENT && c && (c < 0) != (b < 0))
            c += b; /* the sign of the divisor */
          else if (op == T_SLASHSLASH && a % b && (a < 0) != (b < 0))
            c--; /* floor */
          goto small_result;
        case T_AMP: return mk_small (a & b);
        case T_PIPE: return mk_small (a | b);
        case T_CIRCUMFLEX: return mk_small (a ^ b);
        small_result:
          return fits_small (c) ? mk_small (c) : fb_int (th, c);
        case T_LT: return BOOLV (a < b);
        case T_GT: return BOOLV (a > b);
        case T_LE: return BOOLV (a <= b);
        case T_GE: return BOOLV (a >= b);
        case T_EQL: return BOOLV (a == b);
        case T_NEQ: return BOOLV (a != b);
        default: break;
        }
    }
  return NULL;
}

static fb_value *
eval (ectx *x, expr *e)
{
  fb_star_thread *th = x->th;
  switch (e->kind)
    {
    case E_IDENT:
      return eval_ident (x, e);
    case E_CONST:
      return e->u.konst;
    case E_LIST:
    case E_TUPLE:
    case E_DICT:
      return eval_literal (x, e);
    case E_UNARY:
      {
        fb_value *v = eval (x, e->u.un.x);
        if (!v)
          return NULL;
        if (e->u.un.op == T_NOT)
          return BOOLV (!truth (v));
        fb_value *r = star_unary (th, e->u.un.op, v);
        return r ? r : fail_at (x, e->pos);
      }
    case E_AND:
    case E_OR:
      {
        fb_value *l = eval (x, e->u.bin.x);
        if (!l)
          return NULL;
        if (truth (l) == (e->kind == E_OR))
          return l;
        return eval (x, e->u.bin.y);
      }
    case E_BINARY:
      {
        fb_value *l = eval (x, e->u.bin.x);
        if (!l)
          return NULL;
        fb_value *r = eval (x, e->u.bin.y);
        if (!r)
          return NULL;
        tok_kind op = e->u.bin.op;
        fb_value *v = small_binary (th, op, l, r);
        if (v)
          return v;
        v = star_binary (th, op, l, r);
        return v ? v : fail_at (x, e->pos);
      }
    case E_COND:
      {
        fb_value *c = eval (x, e->u.cond.cond);
        if (!c)
          return NULL;
        return eval (x, truth (c) ? e->u.cond.a : e->u.cond.b);
      }
    case E_CALL:
      return eval_call (x, e);
    case E_DOT:
      {
        fb_value *v = eval (x, e->u.dot.x);
        if (!v)
          return NULL;
        fb_value *r = star_getattr (th, v, e->u.dot.name);
        return r ? r : fail_at (x, e->pos);
      }
    case E_INDEX:
      {
        fb_value *v = eval (x, e->u.index.x);
        if (!v)
          return NULL;
        fb_value *i = eval (x, e->u.index.i);
        if (!i)
          return NULL;
        fb_value *r = star_index (th, v, i);
        return r ? r : fail_at (x, e->pos);
      }
    case E_SLICE:
      {
        fb_value *v = eval (x, e->u.slice.x), *lo = NULL, *hi = NULL,
                 *st = NULL;
        if (!v)
          return NULL;
        if (e->u.slice.lo && !(lo = eval (x, e->u.slice.lo)))
          return NULL;
        if (e->u.slice.hi && !(hi = eval (x, e->u.slice.hi)))
          return NULL;
        if (e->u.slice.step && !(st = eval (x, e->u.slice.step)))
          return NULL;
        fb_value *r = do_slice (th, v, lo, hi, st);
        return r ? r : fail_at (x, e->pos);
      }
    case E_LAMBDA:
      return new_function (x, e->u.lambda);
    case E_COMP:
      {
        fb_value *acc = e->u.comp.is_dict ? fb_dict_new (th)
                                          : list_from (th, 0, NULL);
        return eval_comp (x, e, 0, acc);
      }
    }
  return NULL;
}

/* ---- statements -------------------------------------------------------- */

static int
assign (ectx *x, expr *lhs, fb_value *v)
{
  fb_star_thread *th = x->th;
  switch (lhs->kind)
    {
    case E_IDENT:
      switch (lhs->u.id.scope)
        {
        case SC_LOCAL: x->fr->locals[lhs->u.id.index] = v; return 0;
        case SC_CELL:
          AS (fv_cell, x->fr->locals[lhs->u.id.index])->v = v;
          return 0;
        case SC_GLOBAL: x->fr->module->values[lhs->u.id.index] = v; return 0;
        default:
          star_error_at (th, lhs->pos, "cannot assign to %s", lhs->u.id.name);
          return -1;
        }
    case E_LIST:
    case E_TUPLE:
      {
        fb_value **items;
        size_t n;
        fb_value_type t = vtype (v);
        if (t == FB_V_STRING || t == FB_V_BYTES
            || iter_collect (th, v, &items, &n) < 0)
          {
            star_error_at (th, lhs->pos, "got %s in sequence assignment",
                           type_name (v));
            return -1;
          }
        if (n != lhs->u.seq.n)
          {
            star_error_at (th, lhs->pos, "too %s values to unpack (got %zu, want %zu)",
                           n < lhs->u.seq.n ? "few" : "many", n, lhs->u.seq.n);
            return -1;
          }
        for (size_t i = 0; i < n; i++)
          if (assign (x, lhs->u.seq.items[i], items[i]) < 0)
            return -1;
        return 0;
      }
    case E_INDEX:
      {
        fb_value *c = eval (x, lhs->u.index.x);
        if (!c)
          return -1;
        fb_value *i = eval (x, lhs->u.index.i);
        if (!i)
          return -1;
        if (vtype (c) == FB_V_LIST)
          {
            int64_t k;
            if (!check_mutable (th, c, "assign to element of")
                || !as_index (th, i, (int64_t) LIST (c)->len, &k, "list"))
              return fail_at (x, lhs->pos), -1;
            LIST (c)->items[k] = v;
            return 0;
          }
        if (vtype (c) == FB_V_DICT)
          {
            if (dict_put (th, c, i, v) < 0)
              return fail_at (x, lhs->pos), -1;
            return 0;
          }
        star_error_at (th, lhs->pos, "%s value does not support item assignment",
                       type_name (c));
        return -1;
      }
    case E_DOT:
      {
        fb_value *c = eval (x, lhs->u.dot.x);
        if (!c)
          return -1;
        star_error_at (th, lhs->pos, "cannot assign to .%s field of %s",
                       lhs->u.dot.name, type_name (c));
        return -1;
      }
    default:
      star_error_at (th, lhs->pos, "cannot assign to this expression");
      return -1;
    }
}

/* container[index] = v, the store of x[i] op= y. */
static int
store_item (fb_star_thread *th, fb_value *container, fb_value *index,
            fb_value *v)
{
  if (vtype (container) == FB_V_DICT)
    return dict_put (th, container, index, v);
  if (vtype (container) == FB_V_LIST)
    {
      int64_t k;
      if (!check_mutable (th, container, "assign to element of")
          || !as_index (th, index, (int64_t) LIST (container)->len, &k,
                        "list"))
        return -1;
      LIST (container)->items[k] = v;
      return 0;
    }
  fb_star_errorf (th, "%s value does not support item assignment",
                  type_name (container));
  return -1;
}

/* s += t where only the local slot holds s: appends into s's spare bytes,
   or copies s into a new string with room to grow (STR_BUILDER). */
static fb_value *
str_append (fb_star_thread *th, fb_value *old, fb_value *rhs)
{
  fv_string *a = STR (old), *b = STR (rhs);
  size_t n = a->len + b->len;
  if ((a->h.pad & STR_BUILDER) && b->len <= a->spare)
    {
      memcpy (a->s + a->len, b->s, b->len);
      a->s[n] = '\0';
      a->spare -= (uint32_t) b->len;
      a->len = n;
      a->hash = 0;
      return old;
    }
  size_t cap = n < 32 ? 64 : 2 * n;
  fb_heap *h = &th->heap;
  /* room to grow only where the memory limit leaves it */
  if (cap > UINT32_MAX || h->bytes > th->cfg.max_memory
      || cap + 1 > th->cfg.max_memory - h->bytes)
    return star_binary (th, T_PLUS, old, rhs);
  fv_string *r = star_string_new (th, cap, FB_V_STRING);
  memcpy (r->s, a->s, a->len);
  memcpy (r->s + a->len, b->s, b->len);
  r->s[n] = '\0';
  r->len = n;
  r->spare = (uint32_t) (cap - n);
  r->h.pad = STR_BUILDER;
  return &r->h;
}

static xstat
exec_augassign (ectx *x, stmt *s)
{
  fb_star_thread *th = x->th;
  expr *lhs = s->u.assign.lhs;
  static const tok_kind aug_ops[] = {
    T_PLUS, T_MINUS, T_STAR, T_SLASH, T_SLASHSLASH, T_PERCENT, T_AMP,
    T_PIPE, T_CIRCUMFLEX, T_LTLT, T_GTGT,
  };
  tok_kind op = aug_ops[s->u.assign.op - T_PLUS_EQ];
  /* evaluate the target's operands once: x[i] += y */
  fb_value *container = NULL, *index = NULL, *old;
  if (lhs->kind == E_INDEX)
    {
      if (!(container = eval (x, lhs->u.index.x))
          || !(index = eval (x, lhs->u.index.i)))
        return X_ERROR;
      if (!(old = star_index (th, container, index)))
        return fail_at (x, lhs->pos), X_ERROR;
    }
  /* a local read here escapes nowhere: its STR_BUILDER mark stays */
  else if (!(old = lhs->kind == E_IDENT && lhs->u.id.scope == SC_LOCAL
                       ? x->fr->locals[lhs->u.id.index]
                       : NULL)
           && !(old = eval (x, lhs)))
    return X_ERROR;
  heap_pos at = heap_here (&th->heap);
  uint32_t calls = th->other_calls;
  fb_value *rhs = eval (x, s->u.assign.rhs);
  if (!rhs)
    return X_ERROR;
  bool pure = s->pure && th->other_calls == calls;
  fb_value *v;
  if (op == T_PLUS && lhs->kind == E_IDENT && lhs->u.id.scope == SC_LOCAL
      && vtype (old) == FB_V_STRING && vtype (rhs) == FB_V_STRING)
    {
      if (!(v = str_append (th, old, rhs)))
        return fail_at (x, s->pos), X_ERROR;
      if (pure)
        v = heap_squeeze (&th->heap, &at, v, true);
    }
  else if (op == T_PLUS && vtype (old) == FB_V_LIST)
    {
      /* list += iterable extends in place */
      fb_value **items;
      size_t n;
      if (!check_mutable (th, old, "apply += to"))
        return fail_at (x, s->pos), X_ERROR;
      if (iter_collect (th, rhs, &items, &n) < 0)
        return fail_at (x, s->u.assign.rhs->pos), X_ERROR;
      for (size_t i = 0; i < n; i++)
        list_push (th, old, items[i]);
      v = old;
    }
  else if (!(v = small_binary (th, op, old, rhs))
           && !(v = star_binary (th, op, old, rhs)))
    return fail_at (x, s->pos), X_ERROR;
  else if (pure) /* not after an in-place list +=: old keeps rhs's items */
    v = heap_squeeze (&th->heap, &at, v, true);
  if (lhs->kind == E_INDEX)
    {
      if (store_item (th, container, index, v) < 0)
        return fail_at (x, lhs->pos), X_ERROR;
      return X_NORMAL;
    }
  return assign (x, lhs, v) < 0 ? X_ERROR : X_NORMAL;
}

static xstat
exec_for (ectx *x, stmt *s)
{
  fb_star_thread *th = x->th;
  fb_value *seq = eval (x, s->u.fors.x);
  if (!seq)
    return X_ERROR;
  star_iter it;
  if (iter_start (th, seq, &it) < 0)
    return fail_at (x, s->u.fors.x->pos), X_ERROR;
  fb_value *item;
  xstat r = X_NORMAL;
  while (iter_next (&it, &item, th))
    {
      if (!star_step (th))
        {
          fail_at (x, s->pos);
          r = X_ERROR;
          break;
        }
      if (assign (x, s->u.fors.vars, item) < 0)
        {
          r = X_ERROR;
          break;
        }
      xstat b = exec_list (x, &s->u.fors.body);
      if (b == X_BREAK)
        break;
      if (b == X_RETURN || b == X_ERROR)
        {
          r = b;
          break;
        }
    }
  iter_done (&it);
  return r;
}

static xstat
exec_while (ectx *x, stmt *s)
{
  for (;;)
    {
      if (!star_step (x->th))
        return fail_at (x, s->pos), X_ERROR;
      fb_value *c = eval (x, s->u.whiles.cond);
      if (!c)
        return X_ERROR;
      if (!truth (c))
        return X_NORMAL;
      xstat b = exec_list (x, &s->u.whiles.body);
      if (b == X_BREAK)
        return X_NORMAL;
      if (b == X_RETURN || b == X_ERROR)
        return b;
    }
}

static xstat
exec_load (ectx *x, stmt *s)
{
  fb_star_thread *th = x->th;
  fb_star_module *m = NULL;
  fb_error err;
  fb_error_clear (&err);
  fb_star_loader_fn loader = th->cfg.loader;
  int rc = loader ? loader (th, th->cfg.loader_ctx, x->fr->def->file,
                            s->u.load.module, &m, &err)
                  : -1;
  if (rc < 0)
    {
      if (!loader)
        fb_error_set (&err, ENOENT, "load not available");
      star_error_at (th, s->pos, "cannot load %s: %s", s->u.load.module,
                     err.msg);
      return X_ERROR;
    }
  for (size_t i = 0; i < s->u.load.n; i++)
    {
      fb_value *v = fb_star_module_get (m, s->u.load.from[i]);
      if (!v)
        {
          const char *sug = fb_suggest (s->u.load.from[i], m->names,
                                        m->nglobals);
          star_error_at (th, s->u.load.to[i]->pos,
                         "load: name %s not found in module %s%s%s%s",
                         s->u.load.from[i], s->u.load.module,
                         sug ? " (did you mean " : "", sug ? sug : "",
                         sug ? "?)" : "");
          return X_ERROR;
        }
      if (assign (x, s->u.load.to[i], v) < 0)
        return X_ERROR;
    }
  return X_NORMAL;
}

static xstat
exec_stmt (ectx *x, stmt *s)
{
  switch (s->kind)
    {
    case S_EXPR:
      return eval (x, s->u.x) ? X_NORMAL : X_ERROR;
    case S_ASSIGN:
      {
        heap_pos at = heap_here (&x->th->heap);
        uint32_t calls = x->th->other_calls;
        fb_value *v = eval (x, s->u.assign.rhs);
        if (v && s->pure && x->th->other_calls == calls)
          v = heap_squeeze (&x->th->heap, &at, v, true);
        if (!v || assign (x, s->u.assign.lhs, v) < 0)
          return X_ERROR;
        return X_NORMAL;
      }
    case S_AUGASSIGN:
      return exec_augassign (x, s);
    case S_RETURN:
      if (s->u.x)
        {
          if (!(x->ret = eval (x, s->u.x)))
            return X_ERROR;
        }
      else
        x->ret = NONE;
      return X_RETURN;
    case S_IF:
      {
        heap_pos at = heap_here (&x->th->heap);
        uint32_t calls = x->th->other_calls;
        fb_value *c = eval (x, s->u.ifs.cond);
        if (!c)
          return X_ERROR;
        bool t = truth (c);
        if (s->pure && x->th->other_calls == calls)
          heap_squeeze (&x->th->heap, &at, NONE, true);
        return exec_list (x, t ? &s->u.ifs.then : &s->u.ifs.els);
      }
    case S_FOR: return exec_for (x, s);
    case S_WHILE: return exec_while (x, s);
    case S_BREAK: return X_BREAK;
    case S_CONTINUE: return X_CONTINUE;
    case S_PASS: return X_NORMAL;
    case S_DEF:
      {
        fb_value *f = new_function (x, s->u.def.def);
        if (!f || assign (x, s->u.def.target, f) < 0)
          return X_ERROR;
        return X_NORMAL;
      }
    case S_LOAD: return exec_load (x, s);
    }
  return X_ERROR;
}

static xstat
exec_list (ectx *x, stmt_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    {
      xstat s = exec_stmt (x, l->items[i]);
      if (s != X_NORMAL)
        return s;
    }
  return X_NORMAL;
}

/* ---- modules ----------------------------------------------------------- */

static int
run_module (fb_star_thread *th, fb_star_module *m, fb_error *err)
{
  fn_def *d = m->toplevel;
  fb_value **locals = star_alloc (th, (size_t) (d->nlocals + 1) * sizeof *locals);
  memset (locals, 0, (size_t) (d->nlocals + 1) * sizeof *locals);
  for (int i = 0; i < d->nlocals; i++)
    if (d->local_is_cell[i])
      locals[i] = new_cell (th, NULL);
  frame fr = { .parent = th->frame, .def = d, .module = m, .locals = locals,
               .pos = d->pos };
  frame *saved = th->frame;
  th->frame = &fr;
  ectx x = { th, &fr, NULL };
  m->executing = true;
  th->err_set = false;
  xstat s = exec_list (&x, &d->body);
  m->executing = false;
  th->frame = saved;
  if (s == X_ERROR)
    {
      if (!th->err_located)
        {
          th->frame = &fr;
          locate (th, d->pos);
          th->frame = saved;
        }
      return fb_star_take_error (th, err);
    }
  for (size_t i = 0; i < m->nglobals; i++)
    if (m->values[i])
      fb_value_freeze (m->values[i]);
  return 0;
}

static int
read_file (const char *path, char **data, size_t *len, fb_error *err)
{
  fb_buf b = FB_BUF_INIT;
  if (fb_buf_read_file (&b, path, err) < 0)
    {
      fb_buf_free (&b);
      return -1;
    }
  *len = b.len;
  *data = fb_buf_steal (&b);
  return 0;
}

int
fb_star_default_loader (fb_star_thread *th, void *ctx, const char *from,
                        const char *name, fb_star_module **out, fb_error *err)
{
  (void) ctx;
  _cleanup_free_ char *path = NULL;
  if (name[0] == '/')
    path = fb_xstrdup (name);
  else
    {
      _cleanup_free_ char *dir = fb_xstrdup (from);
      path = fb_xasprintf ("%s/%s", dirname (dir), name);
    }
  char real[PATH_MAX];
  if (!realpath (path, real))
    return fb_error_setsys (err, errno, "%s", path);
  for (size_t i = 0; i < th->nmods; i++)
    if (!strcmp (th->mods[i].path, real))
      {
        if (th->mods[i].mod->executing)
          return fb_error_set (err, ELOOP, "cycle in load graph");
        *out = th->mods[i].mod;
        return 0;
      }
  return fb_star_exec_file (th, real, out, err);
}

static int
exec_source (fb_star_thread *th, const char *file, const char *src,
             size_t len, fb_star_module **out, bool run, fb_error *err)
{
  unsigned dialect = th->cfg.dialect;
  fn_def *top;
  if (star_parse (th, file, src, len, &top, &dialect, err) < 0)
    return -1;
  fb_star_module *m;
  if (star_resolve (th, top, dialect, &m, err) < 0)
    return -1;
  if (!run)
    return 0;
  /* remember the module before running it, so a load cycle is seen */
  char real[PATH_MAX];
  if (realpath (file, real))
    {
      th->mods = fb_xreallocarray (th->mods, th->nmods + 1, sizeof *th->mods);
      th->mods[th->nmods].path = fb_xstrdup (real);
      th->mods[th->nmods++].mod = m;
    }
  unsigned saved = th->cfg.dialect;
  th->cfg.dialect = dialect; /* recursion is checked at run time */
  if (!th->cfg.loader)
    th->cfg.loader = fb_star_default_loader;
  int rc = run_module (th, m, err);
  th->cfg.dialect = saved;
  if (rc < 0)
    return rc;
  *out = m;
  return 0;
}

int
fb_star_exec_string (fb_star_thread *th, const char *filename,
                     const char *src, size_t len, fb_star_module **out,
                     fb_error *err)
{
  return exec_source (th, filename, src, len, out, true, err);
}

int
fb_star_check_string (fb_star_thread *th, const char *filename,
                      const char *src, size_t len, fb_error *err)
{
  return exec_source (th, filename, src, len, NULL, false, err);
}

int
fb_star_exec_file (fb_star_thread *th, const char *path,
                   fb_star_module **out, fb_error *err)
{
  char *src;
  size_t len;
  if (read_file (path, &src, &len, err) < 0)
    return -1;
  int rc = exec_source (th, path, src, len, out, true, err);
  free (src);
  return rc;
}

fb_value *
fb_star_module_get (const fb_star_module *m, const char *name)
{
  for (size_t i = 0; i < m->nglobals; i++)
    if (!strcmp (m->names[i], name))
      return m->values[i];
  return NULL;
}

size_t
fb_star_module_size (const fb_star_module *m)
{
  return m->nglobals;
}

const char *
fb_star_module_name_at (const fb_star_module *m, size_t i, fb_value **value)
{
  if (value)
    *value = m->values[i];
  return m->names[i];
}

const char *
fb_star_module_file (const fb_star_module *m)
{
  return m->file;
}
