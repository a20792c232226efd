/* Static resolver: binds every identifier to a local slot, a cell, a free
 * variable of a closure, a module global, a predeclared or a universal
 * value, and enforces the dialect's static rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include "star/internal.h"
#include "util/suggest.h"

typedef struct {
  const char *name;
  scope_kind scope; /* SC_LOCAL or SC_GLOBAL */
  int index;
  fb_pos pos;
} binding;

typedef struct fn_state fn_state;

typedef struct block {
  struct block *parent;
  fn_state *fn;
  binding *b;
  size_t n, cap;
  int32_t *index; /* open addressing over b once it is large, else NULL */
  size_t index_cap;
} block;

struct fn_state {
  fb_star_thread *th;
  fn_def *def;
  fn_state *parent;
  const char **locals;
  bool *is_cell;
  size_t nlocals, caplocals, capcell;
  struct { bool from_free; int index; const char *name; } *frees;
  size_t nfree, capfree;
  expr **local_refs; /* identifiers resolved to a local, fixed up at the end */
  size_t nrefs, caprefs;
  int loops;
};

typedef struct {
  fb_star_thread *th;
  const char *file;
  unsigned dialect;
  fb_error *err;
  jmp_buf jmp;
  block *module_block;
  fb_star_module *mod;
  size_t capnames;
} resolver;

/* Grows an array in the thread heap (doubling). A static error longjmps
 * out of any depth, so nothing the resolver allocates needs freeing. */
static void *
hgrow (fb_star_thread *th, void *p, size_t *cap, size_t need, size_t elem)
{
  if (need <= *cap)
    return p;
  size_t ncap = *cap ? 2 * *cap : 8;
  while (ncap < need)
    ncap *= 2;
  void *q = star_alloc (th, ncap * elem);
  if (*cap)
    memcpy (q, p, *cap * elem);
  *cap = ncap;
  return q;
}
#define HGROW(th, p, cap, need) \
  ((p) = hgrow ((th), (void *) (p), &(cap), (need), sizeof *(p)))

static _Noreturn void __attribute__ ((format (printf, 3, 4)))
rerror (resolver *r, fb_pos pos, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  star_syntax_error_at (r->err, r->jmp, r->file, pos, fmt, ap);
}

static uint32_t
name_hash (const char *s)
{
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * 16777619u;
  return h;
}

/* The module block of a 2,000-line spec holds hundreds of names: past a
 * few, lookups go through a hash index. */
#define BLOCK_LINEAR 8

static binding *
block_find (block *b, const char *name)
{
  if (!b->index)
    {
      for (size_t i = 0; i < b->n; i++)
        if (!strcmp (b->b[i].name, name))
          return &b->b[i];
      return NULL;
    }
  size_t mask = b->index_cap - 1;
  for (size_t i = name_hash (name) & mask;; i = (i + 1) & mask)
    {
      int32_t k = b->index[i];
      if (k < 0)
        return NULL;
      if (!strcmp (b->b[k].name, name))
        return &b->b[k];
    }
}

static void
index_put (block *b, size_t k)
{
  size_t mask = b->index_cap - 1;
  size_t i = name_hash (b->b[k].name) & mask;
  while (b->index[i] >= 0)
    i = (i + 1) & mask;
  b->index[i] = (int32_t) k;
}

static int
add_local (fn_state *f, const char *name)
{
  HGROW (f->th, f->locals, f->caplocals, f->nlocals + 1);
  HGROW (f->th, f->is_cell, f->capcell, f->nlocals + 1);
  f->locals[f->nlocals] = name;
  f->is_cell[f->nlocals] = false;
  return (int) f->nlocals++;
}

static binding *
bind (block *b, const char *name, scope_kind sc, int index, fb_pos pos)
{
  HGROW (b->fn->th, b->b, b->cap, b->n + 1);
  b->b[b->n] = (binding) { name, sc, index, pos };
  size_t k = b->n++;
  if (b->n > BLOCK_LINEAR && 2 * b->n > b->index_cap)
    {
      /* (re)build the index at a load factor of at most 1/2 */
      b->index_cap = b->index_cap ? 2 * b->index_cap : 4 * BLOCK_LINEAR;
      b->index = star_alloc (b->fn->th, b->index_cap * sizeof *b->index);
      memset (b->index, 0xff, b->index_cap * sizeof *b->index);
      for (size_t i = 0; i < b->n; i++)
        index_put (b, i);
    }
  else if (b->index)
    index_put (b, k);
  return &b->b[k];
}

/* Binds name in the function block b (a new local unless already bound). */
static void
bind_local (block *b, const char *name, fb_pos pos)
{
  if (!block_find (b, name))
    bind (b, name, SC_LOCAL, add_local (b->fn, name), pos);
}

static void
bind_global (resolver *r, const char *name, fb_pos pos)
{
  binding *old = block_find (r->module_block, name);
  if (old)
    {
      if (!(r->dialect & FB_STAR_ALLOW_GLOBAL_REASSIGN))
        rerror (r, pos, "cannot reassign global %s declared at %s:%d:%d",
                name, r->file, old->pos.line, old->pos.col);
      return;
    }
  fb_star_module *m = r->mod;
  int idx = (int) m->nglobals++;
  HGROW (r->th, m->names, r->capnames, m->nglobals);
  m->names[idx] = name;
  bind (r->module_block, name, SC_GLOBAL, idx, pos);
}

/* ---- binding pre-pass -------------------------------------------------- */

static void
collect_targets (resolver *r, block *b, expr *x, bool global)
{
  switch (x->kind)
    {
    case E_IDENT:
      if (global)
        bind_global (r, x->u.id.name, x->pos);
      else
        bind_local (b, x->u.id.name, x->pos);
      break;
    case E_LIST:
    case E_TUPLE:
      for (size_t i = 0; i < x->u.seq.n; i++)
        collect_targets (r, b, x->u.seq.items[i], global);
      break;
    default:
      break; /* x[i] = …, x.f = … bind nothing */
    }
}

static void
collect_bindings (resolver *r, block *b, stmt_list *l, bool global)
{
  for (size_t i = 0; i < l->n; i++)
    {
      stmt *s = l->items[i];
      switch (s->kind)
        {
        case S_ASSIGN:
        case S_AUGASSIGN:
          collect_targets (r, b, s->u.assign.lhs, global);
          break;
        case S_DEF:
          collect_targets (r, b, s->u.def.target, global);
          break;
        case S_FOR:
          collect_targets (r, b, s->u.fors.vars, global);
          collect_bindings (r, b, &s->u.fors.body, global);
          break;
        case S_IF:
          collect_bindings (r, b, &s->u.ifs.then, global);
          collect_bindings (r, b, &s->u.ifs.els, global);
          break;
        case S_WHILE:
          collect_bindings (r, b, &s->u.whiles.body, global);
          break;
        case S_LOAD:
          if (global)
            for (size_t k = 0; k < s->u.load.n; k++)
              collect_targets (r, b, s->u.load.to[k], true);
          break;
        default:
          break;
        }
    }
}

/* ---- uses -------------------------------------------------------------- */

static int
capture (fn_state *f, fn_state *owner, int owner_index, const char *name)
{
  bool from_free;
  int index;
  if (f->parent == owner)
    {
      owner->is_cell[owner_index] = true;
      from_free = false;
      index = owner_index;
    }
  else
    {
      from_free = true;
      index = capture (f->parent, owner, owner_index, name);
    }
  for (size_t i = 0; i < f->nfree; i++)
    if (f->frees[i].from_free == from_free && f->frees[i].index == index
        && !strcmp (f->frees[i].name, name))
      return (int) i;
  HGROW (f->th, f->frees, f->capfree, f->nfree + 1);
  f->frees[f->nfree].from_free = from_free;
  f->frees[f->nfree].index = index;
  f->frees[f->nfree].name = name;
  return (int) f->nfree++;
}

static void
suggest_undefined (resolver *r, block *b, expr *id)
{
  const char **cands = NULL;
  size_t n = 0, cap = 0;
  for (block *x = b; x; x = x->parent)
    for (size_t i = 0; i < x->n; i++)
      {
        HGROW (r->th, cands, cap, n + 1);
        cands[n++] = x->b[i].name;
      }
  for (size_t i = 0; i < r->th->npre; i++)
    {
      HGROW (r->th, cands, cap, n + 1);
      cands[n++] = r->th->pre_names[i];
    }
  for (const char *const *u = universe_names (); *u; u++)
    {
      HGROW (r->th, cands, cap, n + 1);
      cands[n++] = *u;
    }
  const char *s = fb_suggest (id->u.id.name, cands, n);
  char hint[128] = "";
  if (s)
    snprintf (hint, sizeof hint, " (did you mean %s?)", s);
  rerror (r, id->pos, "undefined: %s%s", id->u.id.name, hint);
}

static void
use (resolver *r, block *b, expr *id)
{
  const char *name = id->u.id.name;
  fn_state *cur = b->fn;
  for (block *x = b; x; x = x->parent)
    {
      binding *bd = block_find (x, name);
      if (!bd)
        continue;
      if (bd->scope == SC_GLOBAL)
        {
          id->u.id.scope = SC_GLOBAL;
          id->u.id.index = bd->index;
          return;
        }
      if (x->fn == cur)
        {
          id->u.id.scope = SC_LOCAL;
          id->u.id.index = bd->index;
          HGROW (cur->th, cur->local_refs, cur->caprefs, cur->nrefs + 1);
          cur->local_refs[cur->nrefs++] = id;
          return;
        }
      id->u.id.scope = SC_FREE;
      id->u.id.index = capture (cur, x->fn, bd->index, name);
      return;
    }
  for (size_t i = 0; i < r->th->npre; i++)
    if (!strcmp (r->th->pre_names[i], name))
      {
        id->u.id.scope = SC_PREDECLARED;
        id->u.id.value = r->th->pre_vals[i];
        return;
      }
  fb_value *u = universe_lookup (name);
  if (u)
    {
      id->u.id.scope = SC_UNIVERSAL;
      id->u.id.value = u;
      return;
    }
  suggest_undefined (r, b, id);
}

static void resolve_expr (resolver *r, block *b, expr *e);
static void resolve_stmts (resolver *r, block *b, stmt_list *l);
static void resolve_function (resolver *r, block *b, fn_def *d);

static void
resolve_target (resolver *r, block *b, expr *x)
{
  /* targets are already bound; resolve them as uses so assignment knows
   * the slot, and resolve subexpressions of x[i] / x.f */
  switch (x->kind)
    {
    case E_IDENT: use (r, b, x); break;
    case E_LIST:
    case E_TUPLE:
      for (size_t i = 0; i < x->u.seq.n; i++)
        resolve_target (r, b, x->u.seq.items[i]);
      break;
    default: resolve_expr (r, b, x); break;
    }
}

static void
resolve_comp (resolver *r, block *b, expr *e)
{
  block cb = { .parent = b, .fn = b->fn };
  /* one lexical block for all clauses, as in starlark-go: every loop
     variable is bound first, each name in a fresh slot */
  for (size_t i = 0; i < e->u.comp.n; i++)
    {
      comp_clause *cl = &e->u.comp.clauses[i];
      if (cl->is_if)
        continue;
      block tmp = { .fn = b->fn };
      collect_targets (r, &tmp, cl->vars, false);
      for (size_t k = 0; k < tmp.n; k++)
        if (!block_find (&cb, tmp.b[k].name))
          bind (&cb, tmp.b[k].name, SC_LOCAL, tmp.b[k].index, tmp.b[k].pos);
    }
  for (size_t i = 0; i < e->u.comp.n; i++)
    {
      comp_clause *cl = &e->u.comp.clauses[i];
      /* the first iterable is evaluated in the enclosing block */
      resolve_expr (r, i == 0 ? b : &cb, cl->x);
      if (!cl->is_if)
        resolve_target (r, &cb, cl->vars);
    }
  resolve_expr (r, &cb, e->u.comp.body);
  if (e->u.comp.value)
    resolve_expr (r, &cb, e->u.comp.value);
}

static void
resolve_expr (resolver *r, block *b, expr *e)
{
  switch (e->kind)
    {
    case E_IDENT: use (r, b, e); break;
    case E_CONST: break;
    case E_LIST:
    case E_TUPLE:
      for (size_t i = 0; i < e->u.seq.n; i++)
        resolve_expr (r, b, e->u.seq.items[i]);
      break;
    case E_DICT:
      for (size_t i = 0; i < e->u.seq.n * 2; i++)
        resolve_expr (r, b, e->u.seq.items[i]);
      break;
    case E_UNARY: resolve_expr (r, b, e->u.un.x); break;
    case E_BINARY:
    case E_AND:
    case E_OR:
      resolve_expr (r, b, e->u.bin.x);
      resolve_expr (r, b, e->u.bin.y);
      break;
    case E_COND:
      resolve_expr (r, b, e->u.cond.cond);
      resolve_expr (r, b, e->u.cond.a);
      resolve_expr (r, b, e->u.cond.b);
      break;
    case E_CALL:
      resolve_expr (r, b, e->u.call.fn);
      for (size_t i = 0; i < e->u.call.n; i++)
        resolve_expr (r, b, e->u.call.args[i].x);
      break;
    case E_DOT: resolve_expr (r, b, e->u.dot.x); break;
    case E_INDEX:
      resolve_expr (r, b, e->u.index.x);
      resolve_expr (r, b, e->u.index.i);
      break;
    case E_SLICE:
      resolve_expr (r, b, e->u.slice.x);
      if (e->u.slice.lo)
        resolve_expr (r, b, e->u.slice.lo);
      if (e->u.slice.hi)
        resolve_expr (r, b, e->u.slice.hi);
      if (e->u.slice.step)
        resolve_expr (r, b, e->u.slice.step);
      break;
    case E_LAMBDA: resolve_function (r, b, e->u.lambda); break;
    case E_COMP: resolve_comp (r, b, e); break;
    }
}

static void
check_toplevel_control (resolver *r, block *b, stmt *s, const char *what)
{
  if (b->fn->def->is_toplevel
      && !(r->dialect & FB_STAR_ALLOW_TOPLEVEL_CONTROL))
    rerror (r, s->pos, "%s not within a function", what);
}

/* A call of a universal builtin that only computes its result. */
static bool
pure_call (const expr *e)
{
  static const char *const names[] = {
    "abs", "bool", "float", "hash", "int", "len", "repr", "str", "type",
  };
  const expr *fn = e->u.call.fn;
  if (fn->kind != E_IDENT || fn->u.id.scope != SC_UNIVERSAL)
    return false;
  bool known = false;
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    known |= !strcmp (fn->u.id.name, names[i]);
  return known;
}

/* No effects and no calls but of pure builtins and of string methods:
   evaluating e only allocates values that nothing but its own result can
   reach (see heap_squeeze).
   Comprehensions bind frame slots, attributes may be host code: both
   excluded. */
static bool
expr_pure (const expr *e)
{
  if (!e)
    return true;
  switch (e->kind)
    {
    case E_IDENT:
    case E_CONST:
      return true;
    case E_LIST:
    case E_TUPLE:
    case E_DICT:
      for (size_t i = 0; i < e->u.seq.n; i++)
        if (!expr_pure (e->u.seq.items[i]))
          return false;
      return true;
    case E_UNARY:
      return expr_pure (e->u.un.x);
    case E_BINARY:
    case E_AND:
    case E_OR:
      return expr_pure (e->u.bin.x) && expr_pure (e->u.bin.y);
    case E_COND:
      return expr_pure (e->u.cond.cond) && expr_pure (e->u.cond.a)
             && expr_pure (e->u.cond.b);
    case E_INDEX:
      return expr_pure (e->u.index.x) && expr_pure (e->u.index.i);
    case E_SLICE:
      return expr_pure (e->u.slice.x) && expr_pure (e->u.slice.lo)
             && expr_pure (e->u.slice.hi) && expr_pure (e->u.slice.step);
    case E_CALL:
      /* a method call counts only if its receiver turns out a string
         (str_calls, checked when the statement ran) */
      if (!pure_call (e)
          && !(e->u.call.fn->kind == E_DOT && expr_pure (e->u.call.fn->u.dot.x)))
        return false;
      for (size_t i = 0; i < e->u.call.n; i++)
        if (e->u.call.args[i].kind != 0 || !expr_pure (e->u.call.args[i].x))
          return false;
      return true;
    default:
      return false;
    }
}

static void
resolve_stmts (resolver *r, block *b, stmt_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    {
      stmt *s = l->items[i];
      switch (s->kind)
        {
        case S_EXPR: resolve_expr (r, b, s->u.x); break;
        case S_ASSIGN:
        case S_AUGASSIGN:
          resolve_expr (r, b, s->u.assign.rhs);
          resolve_target (r, b, s->u.assign.lhs);
          s->pure = expr_pure (s->u.assign.rhs);
          break;
        case S_RETURN:
          if (b->fn->def->is_toplevel)
            rerror (r, s->pos, "return statement not within a function");
          if (s->u.x)
            resolve_expr (r, b, s->u.x);
          break;
        case S_IF:
          check_toplevel_control (r, b, s, "if statement");
          resolve_expr (r, b, s->u.ifs.cond);
          s->pure = expr_pure (s->u.ifs.cond);
          resolve_stmts (r, b, &s->u.ifs.then);
          resolve_stmts (r, b, &s->u.ifs.els);
          break;
        case S_FOR:
          check_toplevel_control (r, b, s, "for loop");
          resolve_expr (r, b, s->u.fors.x);
          resolve_target (r, b, s->u.fors.vars);
          b->fn->loops++;
          resolve_stmts (r, b, &s->u.fors.body);
          b->fn->loops--;
          break;
        case S_WHILE:
          if (!(r->dialect & FB_STAR_ALLOW_WHILE))
            rerror (r, s->pos, "this Starlark dialect does not support while loops (add \"# starlark: allow=while\" or use --dialect=standard)");
          check_toplevel_control (r, b, s, "while loop");
          resolve_expr (r, b, s->u.whiles.cond);
          b->fn->loops++;
          resolve_stmts (r, b, &s->u.whiles.body);
          b->fn->loops--;
          break;
        case S_BREAK:
        case S_CONTINUE:
          if (!b->fn->loops)
            rerror (r, s->pos, "%s not in a loop",
                    s->kind == S_BREAK ? "break" : "continue");
          break;
        case S_PASS: break;
        case S_DEF:
          resolve_function (r, b, s->u.def.def);
          resolve_target (r, b, s->u.def.target);
          break;
        case S_LOAD:
          if (!b->fn->def->is_toplevel)
            rerror (r, s->pos, "load statement within a function");
          for (size_t k = 0; k < s->u.load.n; k++)
            resolve_target (r, b, s->u.load.to[k]);
          break;
        }
    }
}

static void
finish_function (resolver *r, fn_state *f)
{
  fn_def *d = f->def;
  /* identifiers resolved before a nested function captured their slot
   * become cell accesses */
  for (size_t i = 0; i < f->nrefs; i++)
    if (f->is_cell[f->local_refs[i]->u.id.index])
      f->local_refs[i]->u.id.scope = SC_CELL;
  d->nlocals = (int) f->nlocals;
  d->local_names = star_alloc (r->th, (f->nlocals + 1) * sizeof (char *));
  d->local_is_cell = star_alloc (r->th, f->nlocals + 1);
  if (f->nlocals)
    {
      memcpy (d->local_names, f->locals, f->nlocals * sizeof (char *));
      memcpy (d->local_is_cell, f->is_cell, f->nlocals);
    }
  d->nfree = (int) f->nfree;
  d->free = star_alloc (r->th, (f->nfree + 1) * sizeof *d->free);
  if (f->nfree)
    memcpy (d->free, f->frees, f->nfree * sizeof *d->free);
}

static void
resolve_function (resolver *r, block *outer, fn_def *d)
{
  /* defaults are evaluated in the enclosing scope */
  for (size_t i = 0; i < d->nparams; i++)
    if (d->params[i].dflt)
      resolve_expr (r, outer, d->params[i].dflt);
  fn_state f = { .th = r->th, .def = d, .parent = outer->fn };
  block b = { .parent = outer, .fn = &f };
  /* slots: positional params, keyword-only params, *args, **kwargs */
  d->args_slot = d->kwargs_slot = -1;
  bool after_star = false;
  for (size_t i = 0; i < d->nparams; i++)
    {
      param *p = &d->params[i];
      if (p->kind == 1 || p->kind == 3)
        after_star = true;
      if (p->kind == 0)
        {
          bind (&b, p->name, SC_LOCAL, add_local (&f, p->name), p->pos);
          if (after_star)
            d->nkwonly++;
          else
            d->npositional++;
        }
    }
  for (size_t i = 0; i < d->nparams; i++)
    {
      param *p = &d->params[i];
      if (p->kind == 1)
        {
          d->args_slot = add_local (&f, p->name);
          bind (&b, p->name, SC_LOCAL, d->args_slot, p->pos);
        }
    }
  for (size_t i = 0; i < d->nparams; i++)
    {
      param *p = &d->params[i];
      if (p->kind == 2)
        {
          d->kwargs_slot = add_local (&f, p->name);
          bind (&b, p->name, SC_LOCAL, d->kwargs_slot, p->pos);
        }
    }
  if (d->lambda_body)
    resolve_expr (r, &b, d->lambda_body);
  else
    {
      collect_bindings (r, &b, &d->body, false);
      resolve_stmts (r, &b, &d->body);
    }
  finish_function (r, &f);
}

int
star_resolve (fb_star_thread *th, fn_def *top, unsigned dialect,
              fb_star_module **out, fb_error *err)
{
  resolver r = { .th = th, .file = top->file, .dialect = dialect, .err = err };
  fb_star_module *m = star_alloc (th, sizeof *m);
  memset (m, 0, sizeof *m);
  m->file = top->file;
  m->toplevel = top;
  r.mod = m;
  fn_state f = { .th = th, .def = top };
  block mb = { .fn = &f };
  r.module_block = &mb;
  if (setjmp (r.jmp))
    return -1;
  collect_bindings (&r, &mb, &top->body, true);
  resolve_stmts (&r, &mb, &top->body);
  finish_function (&r, &f);
  /* globals: names into the heap, values start unassigned */
  const char **names = star_alloc (th, (m->nglobals + 1) * sizeof *names);
  if (m->nglobals)
    memcpy (names, m->names, m->nglobals * sizeof *names);
  m->names = names;
  m->values = star_alloc (th, (m->nglobals + 1) * sizeof *m->values);
  memset (m->values, 0, (m->nglobals + 1) * sizeof *m->values);
  *out = m;
  return 0;
}
