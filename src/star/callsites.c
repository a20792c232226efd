/* Static scan of a module's call sites (see fb_star_module_scan). */
#include <stdlib.h>

#include "star/internal.h"
#include "util/alloc.h"

typedef struct {
  void (*fn) (void *ctx, const fb_star_callsite *cs);
  void *ctx;
  const char *file;
} scanner;

static void scan_expr (scanner *s, expr *e);
static void scan_stmts (scanner *s, stmt_list *l);

static void
describe_arg (expr *x, fb_star_scan_arg *a, const char ***strs)
{
  switch (x->kind)
    {
    case E_IDENT: a->ident = x->u.id.name; break;
    case E_DOT:
      if (x->u.dot.x->kind == E_IDENT)
        a->dot_ident = x->u.dot.x->u.id.name, a->dot_attr = x->u.dot.name;
      break;
    case E_CONST:
      if (vtype (x->u.konst) == FB_V_STRING)
        a->string = STR (x->u.konst)->s;
      break;
    case E_CALL:
      if (x->u.call.fn->kind == E_IDENT)
        a->call = x->u.call.fn->u.id.name;
      break;
    case E_LIST:
    case E_TUPLE:
      {
        size_t n = 0;
        *strs = fb_xcalloc (x->u.seq.n + 1, sizeof **strs);
        for (size_t i = 0; i < x->u.seq.n; i++)
          if (x->u.seq.items[i]->kind == E_CONST
              && vtype (x->u.seq.items[i]->u.konst) == FB_V_STRING)
            (*strs)[n++] = STR (x->u.seq.items[i]->u.konst)->s;
        a->strings = *strs;
        a->n_strings = n;
        break;
      }
    default:
      break;
    }
}

static void
scan_call (scanner *s, expr *e)
{
  size_t n = e->u.call.n;
  fb_star_scan_arg *args = fb_xcalloc (n + 1, sizeof *args);
  const char ***lists = fb_xcalloc (n + 1, sizeof *lists);
  for (size_t i = 0; i < n; i++)
    {
      call_arg *ca = &e->u.call.args[i];
      if (ca->kind > 1)
        continue;
      args[i].keyword = ca->kind == 1 ? ca->name : NULL;
      describe_arg (ca->x, &args[i], &lists[i]);
    }
  /* f(...) is named "f", m.f(...) "m.f" */
  expr *fn = e->u.call.fn;
  char *dotted = fn->kind == E_DOT ? fb_xasprintf ("%s.%s", fn->u.dot.x->u.id.name,
                                                   fn->u.dot.name)
                                   : NULL;
  fb_star_callsite cs = { dotted ? dotted : fn->u.id.name, s->file, e->pos.line,
                          e->pos.col, n, args };
  s->fn (s->ctx, &cs);
  free (dotted);
  for (size_t i = 0; i < n; i++)
    free (lists[i]);
  free (lists);
  free (args);
}

static void
scan_fn (scanner *s, fn_def *d)
{
  for (size_t i = 0; i < d->nparams; i++)
    if (d->params[i].dflt)
      scan_expr (s, d->params[i].dflt);
  if (d->lambda_body)
    scan_expr (s, d->lambda_body);
  else
    scan_stmts (s, &d->body);
}

static void
scan_expr (scanner *s, expr *e)
{
  if (!e)
    return;
  switch (e->kind)
    {
    case E_IDENT:
    case E_CONST:
      break;
    case E_LIST:
    case E_TUPLE:
      for (size_t i = 0; i < e->u.seq.n; i++)
        scan_expr (s, e->u.seq.items[i]);
      break;
    case E_DICT:
      for (size_t i = 0; i < e->u.seq.n * 2; i++)
        scan_expr (s, e->u.seq.items[i]);
      break;
    case E_UNARY: scan_expr (s, e->u.un.x); break;
    case E_BINARY:
    case E_AND:
    case E_OR:
      scan_expr (s, e->u.bin.x);
      scan_expr (s, e->u.bin.y);
      break;
    case E_COND:
      scan_expr (s, e->u.cond.cond);
      scan_expr (s, e->u.cond.a);
      scan_expr (s, e->u.cond.b);
      break;
    case E_CALL:
      if (e->u.call.fn->kind == E_IDENT
          || (e->u.call.fn->kind == E_DOT && e->u.call.fn->u.dot.x->kind == E_IDENT))
        scan_call (s, e);
      scan_expr (s, e->u.call.fn);
      for (size_t i = 0; i < e->u.call.n; i++)
        scan_expr (s, e->u.call.args[i].x);
      break;
    case E_DOT: scan_expr (s, e->u.dot.x); break;
    case E_INDEX:
      scan_expr (s, e->u.index.x);
      scan_expr (s, e->u.index.i);
      break;
    case E_SLICE:
      scan_expr (s, e->u.slice.x);
      scan_expr (s, e->u.slice.lo);
      scan_expr (s, e->u.slice.hi);
      scan_expr (s, e->u.slice.step);
      break;
    case E_LAMBDA: scan_fn (s, e->u.lambda); break;
    case E_COMP:
      scan_expr (s, e->u.comp.body);
      scan_expr (s, e->u.comp.value);
      for (size_t i = 0; i < e->u.comp.n; i++)
        scan_expr (s, e->u.comp.clauses[i].x);
      break;
    }
}

static void
scan_stmts (scanner *s, stmt_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    {
      stmt *st = l->items[i];
      switch (st->kind)
        {
        case S_EXPR:
        case S_RETURN: scan_expr (s, st->u.x); break;
        case S_ASSIGN:
        case S_AUGASSIGN:
          scan_expr (s, st->u.assign.lhs);
          scan_expr (s, st->u.assign.rhs);
          break;
        case S_IF:
          scan_expr (s, st->u.ifs.cond);
          scan_stmts (s, &st->u.ifs.then);
          scan_stmts (s, &st->u.ifs.els);
          break;
        case S_FOR:
          scan_expr (s, st->u.fors.x);
          scan_stmts (s, &st->u.fors.body);
          break;
        case S_WHILE:
          scan_expr (s, st->u.whiles.cond);
          scan_stmts (s, &st->u.whiles.body);
          break;
        case S_DEF: scan_fn (s, st->u.def.def); break;
        default: break;
        }
    }
}

void
fb_star_module_scan (const fb_star_module *m,
                     void (*fn) (void *ctx, const fb_star_callsite *cs),
                     void *ctx)
{
  scanner s = { fn, ctx, m->file };
  scan_stmts (&s, &m->toplevel->body);
}
