/* Recursive-descent parser for Starlark (spec: grammar), over the tokens
 * of lexer.c. Syntax errors unwind with longjmp: the tree lives in the
 * thread's heap, so nothing needs freeing on the way out. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include "star/lexer.h"
#include "util/alloc.h"

#define MAX_NESTING 200

static const char *
describe (const token *t)
{
  static _Thread_local char buf[96];
  if (t->kind == T_IDENT)
    {
      snprintf (buf, sizeof buf, "identifier %s", t->ident);
      return buf;
    }
  return tok_name (t->kind);
}

static _Noreturn void
unexpected (parse_ctx *c, const char *want)
{
  syntax_error (c, c->tok.pos, "got %s, want %s", describe (&c->tok), want);
}

static fb_pos
expect (parse_ctx *c, tok_kind k)
{
  fb_pos p = c->tok.pos;
  if (c->tok.kind != k)
    unexpected (c, tok_name (k));
  lex_next (c);
  return p;
}

static void *
node (parse_ctx *c, size_t size)
{
  void *p = star_alloc (c->th, size);
  memset (p, 0, size);
  return p;
}

static expr *
new_expr (parse_ctx *c, expr_kind k, fb_pos pos)
{
  expr *e = node (c, sizeof *e);
  e->kind = k;
  e->pos = pos;
  return e;
}

static stmt *
new_stmt (parse_ctx *c, stmt_kind k, fb_pos pos)
{
  stmt *s = node (c, sizeof *s);
  s->kind = k;
  s->pos = pos;
  return s;
}

/* growable arrays of pointers, in the thread heap like the tree itself so
 * that a syntax error (a longjmp out of any depth) leaks nothing; growth
 * doubles, so the abandoned copies cost at most as much again */
typedef struct { void **v; size_t n, cap; } ptrvec;

static void
pv_push (parse_ctx *c, ptrvec *pv, void *p)
{
  if (pv->n == pv->cap)
    {
      size_t cap = pv->cap ? 2 * pv->cap : 4;
      void **v = star_alloc (c->th, cap * sizeof *v);
      if (pv->n)
        memcpy (v, pv->v, pv->n * sizeof *v);
      pv->v = v;
      pv->cap = cap;
    }
  pv->v[pv->n++] = p;
}

static void **
pv_finish (parse_ctx *c, ptrvec *pv)
{
  if (!pv->v)
    pv->v = star_alloc (c->th, sizeof *pv->v);
  return pv->v;
}

static expr *parse_test (parse_ctx *c);
static expr *parse_test_nocond (parse_ctx *c);
static expr *parse_expr (parse_ctx *c);
static stmt_list parse_suite (parse_ctx *c);
static void parse_stmt (parse_ctx *c, ptrvec *out);
static expr *parse_binary (parse_ctx *c, int prec);

static void
enter (parse_ctx *c)
{
  if (++c->nesting > MAX_NESTING)
    syntax_error (c, c->tok.pos, "expression nested too deeply");
}

static fn_def *
parse_params_and_body (parse_ctx *c, const char *name, fb_pos pos,
                       tok_kind close, bool is_lambda)
{
  fn_def *d = node (c, sizeof *d);
  d->name = name;
  d->pos = pos;
  d->file = c->file;
  param ps[256];
  size_t n = 0;
  bool seen_star = false, seen_kwargs = false, seen_default = false;
  while (c->tok.kind != close)
    {
      if (n == 256)
        syntax_error (c, c->tok.pos, "too many parameters");
      param *p = &ps[n];
      memset (p, 0, sizeof *p);
      p->pos = c->tok.pos;
      if (seen_kwargs)
        syntax_error (c, c->tok.pos, "parameter may not follow **%s",
                      ps[n - 1].name);
      if (c->tok.kind == T_STARSTAR)
        {
          lex_next (c);
          if (c->tok.kind != T_IDENT)
            unexpected (c, "identifier");
          p->name = c->tok.ident;
          p->kind = 2;
          seen_kwargs = true;
          lex_next (c);
        }
      else if (c->tok.kind == T_STAR)
        {
          if (seen_star)
            syntax_error (c, c->tok.pos, "multiple * parameters not allowed");
          seen_star = true;
          lex_next (c);
          if (c->tok.kind == T_IDENT)
            {
              p->name = c->tok.ident;
              p->kind = 1;
              lex_next (c);
            }
          else
            {
              p->name = "*";
              p->kind = 3;
            }
        }
      else
        {
          if (c->tok.kind != T_IDENT)
            unexpected (c, "parameter name");
          p->name = c->tok.ident;
          lex_next (c);
          if (c->tok.kind == T_EQ)
            {
              lex_next (c);
              p->dflt = parse_test (c);
              seen_default = true;
            }
          else if (seen_default && !seen_star)
            syntax_error (c, p->pos,
                          "required parameter %s may not follow optional",
                          p->name);
        }
      for (size_t k = 0; k < n; k++)
        if (p->kind != 3 && !strcmp (ps[k].name, p->name))
          syntax_error (c, p->pos, "duplicate parameter: %s", p->name);
      n++;
      if (c->tok.kind != T_COMMA)
        break;
      lex_next (c);
    }
  if (n && ps[n - 1].kind == 3)
    syntax_error (c, ps[n - 1].pos, "bare * must be followed by parameters");
  d->nparams = n;
  d->params = star_alloc (c->th, (n ? n : 1) * sizeof *d->params);
  memcpy (d->params, ps, n * sizeof *ps);
  if (is_lambda)
    {
      expect (c, T_COLON);
      d->lambda_body = parse_test (c);
    }
  else
    {
      expect (c, T_RPAREN);
      expect (c, T_COLON);
      d->body = parse_suite (c);
    }
  return d;
}

static void
parse_args (parse_ctx *c, expr *call)
{
  call_arg args[256];
  size_t n = 0;
  bool seen_named = false, seen_star = false, seen_kwargs = false;
  while (c->tok.kind != T_RPAREN)
    {
      if (n == 256)
        syntax_error (c, c->tok.pos, "too many arguments");
      call_arg *a = &args[n];
      fb_pos apos = c->tok.pos;
      a->name = NULL;
      if (c->tok.kind == T_STAR || c->tok.kind == T_STARSTAR)
        {
          bool kw = c->tok.kind == T_STARSTAR;
          lex_next (c);
          a->kind = kw ? 3 : 2;
          a->x = parse_test (c);
          if (kw)
            {
              if (seen_kwargs)
                syntax_error (c, apos, "multiple **kwargs not allowed");
              seen_kwargs = true;
            }
          else
            {
              if (seen_star)
                syntax_error (c, apos, "multiple *args not allowed");
              if (seen_kwargs)
                syntax_error (c, apos, "*args may not follow **kwargs");
              seen_star = true;
            }
        }
      else
        {
          expr *x = parse_test (c);
          if (c->tok.kind == T_EQ)
            {
              if (x->kind != E_IDENT)
                syntax_error (c, x->pos, "keyword argument must have form name=expr");
              lex_next (c);
              a->kind = 1;
              a->name = x->u.id.name;
              a->x = parse_test (c);
              for (size_t k = 0; k < n; k++)
                if (args[k].kind == 1 && !strcmp (args[k].name, a->name))
                  syntax_error (c, apos, "keyword argument %s repeated",
                                a->name);
              if (seen_kwargs)
                syntax_error (c, apos, "keyword argument may not follow **kwargs");
              seen_named = true;
            }
          else
            {
              a->kind = 0;
              a->x = x;
              if (seen_named)
                syntax_error (c, apos, "positional argument may not follow named");
              if (seen_star || seen_kwargs)
                syntax_error (c, apos, "positional argument may not follow *args or **kwargs");
            }
        }
      n++;
      if (c->tok.kind != T_COMMA)
        break;
      lex_next (c);
    }
  expect (c, T_RPAREN);
  call->u.call.n = n;
  call->u.call.args = star_alloc (c->th, (n ? n : 1) * sizeof (call_arg));
  memcpy (call->u.call.args, args, n * sizeof (call_arg));
  for (size_t k = 0; k < n; k++)
    {
      call->u.call.npos += args[k].kind == 0;
      call->u.call.nnamed += args[k].kind == 1;
    }
}

/* for x, y in ...: primary expressions separated by commas */
static expr *
parse_loop_vars (parse_ctx *c)
{
  fb_pos vp = c->tok.pos;
  expr *v = parse_binary (c, 100);
  if (c->tok.kind != T_COMMA)
    return v;
  ptrvec items = { 0 };
  pv_push (c, &items, v);
  while (c->tok.kind == T_COMMA)
    {
      fb_pos comma = c->tok.pos;
      lex_next (c);
      if (c->tok.kind == T_IN)
        syntax_error (c, comma, "unparenthesized tuple with trailing comma");
      pv_push (c, &items, parse_binary (c, 100));
    }
  expr *t = new_expr (c, E_TUPLE, vp);
  t->u.seq.n = items.n;
  t->u.seq.items = (expr **) pv_finish (c, &items);
  return t;
}

static expr *
parse_comprehension (parse_ctx *c, fb_pos pos, expr *body, expr *value,
                     bool is_dict, tok_kind close)
{
  expr *e = new_expr (c, E_COMP, pos);
  e->u.comp.is_dict = is_dict;
  e->u.comp.body = body;
  e->u.comp.value = value;
  comp_clause cl[64];
  size_t n = 0;
  while (c->tok.kind == T_FOR || c->tok.kind == T_IF)
    {
      if (n == 64)
        syntax_error (c, c->tok.pos, "too many comprehension clauses");
      if (c->tok.kind == T_FOR)
        {
          lex_next (c);
          cl[n].is_if = false;
          expr *v = parse_loop_vars (c);
          cl[n].vars = v;
          expect (c, T_IN);
          cl[n].x = parse_test_nocond (c);
        }
      else
        {
          lex_next (c);
          cl[n].is_if = true;
          cl[n].vars = NULL;
          cl[n].x = parse_test_nocond (c);
        }
      n++;
    }
  expect (c, close);
  e->u.comp.n = n;
  e->u.comp.clauses = star_alloc (c->th, n * sizeof *cl);
  memcpy (e->u.comp.clauses, cl, n * sizeof *cl);
  return e;
}

static expr *
parse_operand (parse_ctx *c)
{
  token t = c->tok;
  switch (t.kind)
    {
    case T_IDENT:
      {
        lex_next (c);
        expr *e = new_expr (c, E_IDENT, t.pos);
        e->u.id.name = t.ident;
        return e;
      }
    case T_INT: case T_FLOAT: case T_STRING: case T_BYTES:
      {
        lex_next (c);
        expr *e = new_expr (c, E_CONST, t.pos);
        e->u.konst = t.val;
        return e;
      }
    case T_LPAREN:
      {
        lex_next (c);
        if (c->tok.kind == T_RPAREN)
          {
            lex_next (c);
            return new_expr (c, E_TUPLE, t.pos);
          }
        expr *x = parse_test (c);
        if (c->tok.kind == T_COMMA)
          {
            ptrvec items = { 0 };
            pv_push (c, &items, x);
            while (c->tok.kind == T_COMMA)
              {
                lex_next (c);
                if (c->tok.kind == T_RPAREN)
                  break;
                pv_push (c, &items, parse_test (c));
              }
            expr *tu = new_expr (c, E_TUPLE, t.pos);
            tu->u.seq.n = items.n;
            tu->u.seq.items = (expr **) pv_finish (c, &items);
            x = tu;
          }
        expect (c, T_RPAREN);
        return x;
      }
    case T_LBRACK:
      {
        lex_next (c);
        ptrvec items = { 0 };
        if (c->tok.kind != T_RBRACK)
          {
            expr *first = parse_test (c);
            if (c->tok.kind == T_FOR)
              return parse_comprehension (c, t.pos, first, NULL, false, T_RBRACK);
            pv_push (c, &items, first);
            while (c->tok.kind == T_COMMA)
              {
                lex_next (c);
                if (c->tok.kind == T_RBRACK)
                  break;
                pv_push (c, &items, parse_test (c));
              }
          }
        expect (c, T_RBRACK);
        expr *e = new_expr (c, E_LIST, t.pos);
        e->u.seq.n = items.n;
        e->u.seq.items = (expr **) pv_finish (c, &items);
        return e;
      }
    case T_LBRACE:
      {
        lex_next (c);
        ptrvec items = { 0 };
        if (c->tok.kind != T_RBRACE)
          {
            expr *k = parse_test (c);
            expect (c, T_COLON);
            expr *v = parse_test (c);
            if (c->tok.kind == T_FOR)
              return parse_comprehension (c, t.pos, k, v, true, T_RBRACE);
            pv_push (c, &items, k);
            pv_push (c, &items, v);
            while (c->tok.kind == T_COMMA)
              {
                lex_next (c);
                if (c->tok.kind == T_RBRACE)
                  break;
                pv_push (c, &items, parse_test (c));
                expect (c, T_COLON);
                pv_push (c, &items, parse_test (c));
              }
          }
        expect (c, T_RBRACE);
        expr *e = new_expr (c, E_DICT, t.pos);
        e->u.seq.n = items.n / 2;
        e->u.seq.items = (expr **) pv_finish (c, &items);
        return e;
      }
    default:
      unexpected (c, "primary expression");
    }
}

static expr *
parse_primary (parse_ctx *c)
{
  expr *x = parse_operand (c);
  fb_pos start = x->pos; /* calls report the start of the whole chain */
  for (;;)
    {
      fb_pos pos = c->tok.pos;
      if (c->tok.kind == T_DOT)
        {
          lex_next (c);
          if (c->tok.kind != T_IDENT)
            unexpected (c, "identifier after '.'");
          expr *e = new_expr (c, E_DOT, c->tok.pos);
          e->u.dot.x = x;
          e->u.dot.name = c->tok.ident;
          lex_next (c);
          x = e;
        }
      else if (c->tok.kind == T_LPAREN)
        {
          /* positioned at '(' like Go, so a.f(x) reports where the call is */
          lex_next (c);
          expr *e = new_expr (c, E_CALL, start);
          e->u.call.fn = x;
          parse_args (c, e);
          x = e;
        }
      else if (c->tok.kind == T_LBRACK)
        {
          lex_next (c);
          expr *lo = NULL, *hi = NULL, *step = NULL;
          if (c->tok.kind != T_COLON)
            {
              lo = parse_expr (c);
              if (c->tok.kind == T_RBRACK)
                {
                  lex_next (c);
                  expr *e = new_expr (c, E_INDEX, pos);
                  e->u.index.x = x;
                  e->u.index.i = lo;
                  x = e;
                  continue;
                }
            }
          expect (c, T_COLON);
          if (c->tok.kind != T_COLON && c->tok.kind != T_RBRACK)
            hi = parse_test (c);
          if (c->tok.kind == T_COLON)
            {
              lex_next (c);
              if (c->tok.kind != T_RBRACK)
                step = parse_test (c);
            }
          expect (c, T_RBRACK);
          expr *e = new_expr (c, E_SLICE, pos);
          e->u.slice.x = x;
          e->u.slice.lo = lo;
          e->u.slice.hi = hi;
          e->u.slice.step = step;
          x = e;
        }
      else
        return x;
    }
}

/* precedence levels: higher binds tighter */
static int
binary_prec (tok_kind k)
{
  switch (k)
    {
    case T_OR: return 1;
    case T_AND: return 2;
    case T_EQL: case T_NEQ: case T_LT: case T_GT: case T_LE: case T_GE:
    case T_IN: case T_NOT_IN: return 4;
    case T_PIPE: return 5;
    case T_CIRCUMFLEX: return 6;
    case T_AMP: return 7;
    case T_LTLT: case T_GTGT: return 8;
    case T_PLUS: case T_MINUS: return 9;
    case T_STAR: case T_SLASH: case T_SLASHSLASH: case T_PERCENT: return 10;
    default: return -1;
    }
}

static expr *
parse_unary (parse_ctx *c)
{
  fb_pos pos = c->tok.pos;
  tok_kind k = c->tok.kind;
  if (k == T_MINUS || k == T_PLUS || k == T_TILDE)
    {
      lex_next (c);
      enter (c);
      expr *e = new_expr (c, E_UNARY, pos);
      e->u.un.op = k;
      e->u.un.x = parse_unary (c);
      c->nesting--;
      return e;
    }
  return parse_primary (c);
}

static expr *
parse_binary (parse_ctx *c, int prec)
{
  enter (c);
  int depth = 1; /* a chain a+b+c+... nests to the left, as deep as it is long */
  expr *x;
  if (c->tok.kind == T_NOT && prec <= 3)
    {
      fb_pos pos = c->tok.pos;
      lex_next (c);
      x = new_expr (c, E_UNARY, pos);
      x->u.un.op = T_NOT;
      x->u.un.x = parse_binary (c, 3);
    }
  else
    x = parse_unary (c);
  for (;;)
    {
      tok_kind k = c->tok.kind;
      fb_pos pos = c->tok.pos;
      if (k == T_STARSTAR)
        syntax_error (c, pos, "Starlark has no ** (power) operator");
      if (k == T_NOT)
        {
          /* "not in" as a binary operator; a lone "not" here is an error */
          if (prec > 4)
            break;
          lex_next (c);
          if (c->tok.kind != T_IN)
            unexpected (c, "in");
          lex_next (c);
          k = T_NOT_IN;
        }
      else
        {
          int p = binary_prec (k);
          if (p < 0 || p < prec)
            break;
          lex_next (c);
        }
      int p = binary_prec (k);
      expr *y = parse_binary (c, p + 1);
      expr *e = new_expr (c, k == T_AND ? E_AND : k == T_OR ? E_OR : E_BINARY,
                          pos);
      e->u.bin.op = k;
      e->u.bin.x = x;
      e->u.bin.y = y;
      x = e;
      enter (c);
      depth++;
      /* comparisons do not associate: a < b < c is an error */
      if (p == 4 && (binary_prec (c->tok.kind) == 4 || c->tok.kind == T_NOT))
        syntax_error (c, c->tok.pos, "%s does not associate with %s (use parens)",
                      tok_name (k), tok_name (c->tok.kind));
    }
  c->nesting -= depth;
  return x;
}

static expr *
parse_lambda (parse_ctx *c, bool allow_cond)
{
  fb_pos pos = c->tok.pos;
  lex_next (c);
  fn_def *d = parse_params_and_body (c, "lambda", pos, T_COLON, true);
  (void) allow_cond;
  expr *e = new_expr (c, E_LAMBDA, pos);
  e->u.lambda = d;
  return e;
}

static expr *
parse_test_nocond (parse_ctx *c)
{
  if (c->tok.kind == T_LAMBDA)
    return parse_lambda (c, false);
  return parse_binary (c, 1);
}

static expr *
parse_test (parse_ctx *c)
{
  if (c->tok.kind == T_LAMBDA)
    return parse_lambda (c, true);
  enter (c);
  expr *x = parse_binary (c, 1);
  if (c->tok.kind == T_IF)
    {
      fb_pos pos = c->tok.pos;
      lex_next (c);
      expr *cond = parse_binary (c, 1);
      if (c->tok.kind != T_ELSE)
        unexpected (c, "else");
      lex_next (c);
      expr *e = new_expr (c, E_COND, pos);
      e->u.cond.cond = cond;
      e->u.cond.a = x;
      e->u.cond.b = parse_test (c);
      x = e;
    }
  c->nesting--;
  return x;
}

/* Expression = Test {',' Test} [','] — a bare tuple */
static expr *
parse_expr (parse_ctx *c)
{
  expr *x = parse_test (c);
  if (c->tok.kind != T_COMMA)
    return x;
  ptrvec items = { 0 };
  pv_push (c, &items, x);
  while (c->tok.kind == T_COMMA)
    {
      fb_pos comma = c->tok.pos;
      lex_next (c);
      tok_kind k = c->tok.kind;
      /* "x = 1," or "return a, b,": the spec allows a trailing comma only
       * inside brackets */
      if (k == T_EQ || k == T_NEWLINE || k == T_EOF || k == T_RPAREN
          || k == T_RBRACK || k == T_SEMI || k == T_COLON || k == T_IN
          || (k >= T_PLUS_EQ && k <= T_GTGT_EQ))
        syntax_error (c, comma, "unparenthesized tuple with trailing comma");
      pv_push (c, &items, parse_test (c));
    }
  expr *t = new_expr (c, E_TUPLE, x->pos);
  t->u.seq.n = items.n;
  t->u.seq.items = (expr **) pv_finish (c, &items);
  return t;
}

static void
check_assignable (parse_ctx *c, expr *x, bool augmented)
{
  switch (x->kind)
    {
    case E_IDENT:
    case E_INDEX:
    case E_DOT:
      return;
    case E_LIST:
    case E_TUPLE:
      if (augmented)
        syntax_error (c, x->pos, "cannot use augmented assignment on a %s",
                      x->kind == E_LIST ? "list" : "tuple");
      for (size_t i = 0; i < x->u.seq.n; i++)
        check_assignable (c, x->u.seq.items[i], false);
      return;
    default:
      syntax_error (c, x->pos, "cannot assign to this expression");
    }
}

static stmt *
parse_small_stmt (parse_ctx *c)
{
  fb_pos pos = c->tok.pos;
  switch (c->tok.kind)
    {
    case T_RETURN:
      {
        lex_next (c);
        stmt *s = new_stmt (c, S_RETURN, pos);
        if (c->tok.kind != T_NEWLINE && c->tok.kind != T_SEMI
            && c->tok.kind != T_EOF)
          s->u.x = parse_expr (c);
        return s;
      }
    case T_BREAK:
      lex_next (c);
      return new_stmt (c, S_BREAK, pos);
    case T_CONTINUE:
      lex_next (c);
      return new_stmt (c, S_CONTINUE, pos);
    case T_PASS:
      lex_next (c);
      return new_stmt (c, S_PASS, pos);
    case T_LOAD:
      {
        lex_next (c);
        expect (c, T_LPAREN);
        if (c->tok.kind != T_STRING)
          unexpected (c, "module name string");
        stmt *s = new_stmt (c, S_LOAD, pos);
        s->u.load.module = STR (c->tok.val)->s;
        lex_next (c);
        ptrvec to = { 0 }, from = { 0 };
        while (c->tok.kind == T_COMMA)
          {
            lex_next (c);
            if (c->tok.kind == T_RPAREN)
              break;
            fb_pos ipos = c->tok.pos;
            const char *local, *orig;
            if (c->tok.kind == T_STRING)
              {
                orig = local = STR (c->tok.val)->s;
                lex_next (c);
              }
            else if (c->tok.kind == T_IDENT)
              {
                local = c->tok.ident;
                lex_next (c);
                expect (c, T_EQ);
                if (c->tok.kind != T_STRING)
                  unexpected (c, "string");
                orig = STR (c->tok.val)->s;
                lex_next (c);
              }
            else
              unexpected (c, "string or identifier");
            if (!*orig || orig[0] == '_')
              syntax_error (c, ipos, "load: names with leading underscores are not exported: %s", orig);
            expr *id = new_expr (c, E_IDENT, ipos);
            id->u.id.name = local;
            pv_push (c, &to, id);
            pv_push (c, &from, (void *) orig);
          }
        if (!to.n)
          syntax_error (c, c->tok.pos, "load statement must import at least 1 symbol");
        expect (c, T_RPAREN);
        s->u.load.n = to.n;
        s->u.load.to = (expr **) pv_finish (c, &to);
        s->u.load.from = (const char **) pv_finish (c, &from);
        return s;
      }
    default:
      break;
    }
  expr *x = parse_expr (c);
  tok_kind k = c->tok.kind;
  if (k == T_EQ || (k >= T_PLUS_EQ && k <= T_GTGT_EQ))
    {
      check_assignable (c, x, k != T_EQ);
      lex_next (c);
      stmt *s = new_stmt (c, k == T_EQ ? S_ASSIGN : S_AUGASSIGN, pos);
      s->u.assign.lhs = x;
      s->u.assign.op = k;
      s->u.assign.rhs = parse_expr (c);
      return s;
    }
  stmt *s = new_stmt (c, S_EXPR, pos);
  s->u.x = x;
  return s;
}

static void
parse_simple_stmt (parse_ctx *c, ptrvec *out)
{
  for (;;)
    {
      pv_push (c, out, parse_small_stmt (c));
      if (c->tok.kind != T_SEMI)
        break;
      lex_next (c);
      if (c->tok.kind == T_NEWLINE || c->tok.kind == T_EOF)
        break;
    }
  if (c->tok.kind == T_EOF)
    return;
  if (c->tok.kind != T_NEWLINE)
    unexpected (c, "newline");
  lex_next (c);
}

static stmt_list
finish_list (parse_ctx *c, ptrvec *pv)
{
  stmt_list l;
  l.n = pv->n;
  l.items = (stmt **) pv_finish (c, pv);
  return l;
}

static stmt_list
parse_suite (parse_ctx *c)
{
  ptrvec v = { 0 };
  if (c->tok.kind == T_NEWLINE)
    {
      lex_next (c);
      if (c->tok.kind != T_INDENT)
        unexpected (c, "indented block");
      lex_next (c);
      enter (c);
      while (c->tok.kind != T_OUTDENT && c->tok.kind != T_EOF)
        parse_stmt (c, &v);
      c->nesting--;
      if (c->tok.kind == T_OUTDENT)
        lex_next (c);
    }
  else
    parse_simple_stmt (c, &v);
  return finish_list (c, &v);
}

static void
parse_stmt (parse_ctx *c, ptrvec *out)
{
  fb_pos pos = c->tok.pos;
  switch (c->tok.kind)
    {
    case T_DEF:
      {
        lex_next (c);
        if (c->tok.kind != T_IDENT)
          unexpected (c, "function name");
        stmt *s = new_stmt (c, S_DEF, pos);
        expr *id = new_expr (c, E_IDENT, c->tok.pos);
        id->u.id.name = c->tok.ident;
        lex_next (c);
        expect (c, T_LPAREN);
        s->u.def.def = parse_params_and_body (c, id->u.id.name, pos, T_RPAREN,
                                              false);
        s->u.def.target = id;
        pv_push (c, out, s);
        return;
      }
    case T_IF:
    case T_ELIF:
      {
        lex_next (c);
        stmt *s = new_stmt (c, S_IF, pos);
        s->u.ifs.cond = parse_test (c);
        expect (c, T_COLON);
        s->u.ifs.then = parse_suite (c);
        if (c->tok.kind == T_ELIF)
          {
            ptrvec els = { 0 };
            parse_stmt (c, &els); /* elif chains into a nested if */
            s->u.ifs.els = finish_list (c, &els);
          }
        else if (c->tok.kind == T_ELSE)
          {
            lex_next (c);
            expect (c, T_COLON);
            s->u.ifs.els = parse_suite (c);
          }
        pv_push (c, out, s);
        return;
      }
    case T_FOR:
      {
        lex_next (c);
        stmt *s = new_stmt (c, S_FOR, pos);
        expr *v = parse_loop_vars (c);
        check_assignable (c, v, false);
        s->u.fors.vars = v;
        expect (c, T_IN);
        s->u.fors.x = parse_expr (c);
        expect (c, T_COLON);
        s->u.fors.body = parse_suite (c);
        pv_push (c, out, s);
        return;
      }
    case T_WHILE:
      {
        lex_next (c);
        stmt *s = new_stmt (c, S_WHILE, pos);
        s->u.whiles.cond = parse_test (c);
        expect (c, T_COLON);
        s->u.whiles.body = parse_suite (c);
        pv_push (c, out, s);
        return;
      }
    case T_ELSE:
      syntax_error (c, pos, "else without if");
    case T_INDENT:
      syntax_error (c, pos, "unexpected indent");
    default:
      parse_simple_stmt (c, out);
    }
}

/* "# starlark: dialect=standard" / "# starlark: allow=while,recursion" on a
 * comment line before the first statement. */
static void
parse_dialect_comments (parse_ctx *c, unsigned *dialect)
{
  const char *p = c->src;
  int line = 1;
  while (p < c->end)
    {
      const char *eol = memchr (p, '\n', (size_t) (c->end - p));
      if (!eol)
        eol = c->end;
      const char *q = p;
      while (q < eol && (*q == ' ' || *q == '\t'))
        q++;
      if (q < eol && *q != '#')
        return;
      static const char tag[] = "# starlark:";
      if ((size_t) (eol - q) > sizeof tag - 1 && !memcmp (q, tag, sizeof tag - 1))
        {
          const char *o = q + sizeof tag - 1;
          while (o < eol && *o == ' ')
            o++;
          size_t n = (size_t) (eol - o);
          while (n && (o[n - 1] == ' ' || o[n - 1] == '\r'))
            n--;
          if (n == 16 && !memcmp (o, "dialect=standard", 16))
            *dialect = FB_STAR_DIALECT_STANDARD;
          else if (n == 16 && !memcmp (o, "dialect=faultbox", 16))
            *dialect = FB_STAR_DIALECT_FAULTBOX;
          else if (n > 6 && !memcmp (o, "allow=", 6))
            {
              static const struct { const char *name; unsigned bit; } opts[] = {
                { "while", FB_STAR_ALLOW_WHILE },
                { "toplevelcontrol", FB_STAR_ALLOW_TOPLEVEL_CONTROL },
                { "globalreassign", FB_STAR_ALLOW_GLOBAL_REASSIGN },
                { "recursion", FB_STAR_ALLOW_RECURSION },
              };
              const char *w = o + 6, *we = o + n;
              while (w < we)
                {
                  const char *comma = memchr (w, ',', (size_t) (we - w));
                  if (!comma)
                    comma = we;
                  size_t wn = (size_t) (comma - w);
                  bool found = false;
                  for (size_t k = 0; k < 4; k++)
                    if (strlen (opts[k].name) == wn
                        && !memcmp (opts[k].name, w, wn))
                      {
                        *dialect |= opts[k].bit;
                        found = true;
                      }
                  if (!found)
                    syntax_error (c, (fb_pos) { line, (int) (w - p) + 1 },
                                  "unknown dialect option %.*s (want while, toplevelcontrol, globalreassign, recursion)",
                                  (int) wn, w);
                  w = comma + 1;
                }
            }
          else
            syntax_error (c, (fb_pos) { line, (int) (o - p) + 1 },
                          "bad dialect comment %.*s (want dialect=standard, dialect=faultbox or allow=...)",
                          (int) n, o);
        }
      p = eol + 1;
      line++;
    }
}

int
star_parse (fb_star_thread *th, const char *file, const char *src,
            size_t len, fn_def **toplevel, unsigned *dialect, fb_error *err)
{
  parse_ctx *c = fb_xcalloc (1, sizeof *c);
  c->th = th;
  c->file = star_strdup (th, file, strlen (file));
  c->src = c->p = c->line_start = src;
  c->end = src + len;
  c->line = 1;
  c->indents[0] = 0;
  c->nindent = 1;
  c->at_line_start = true;
  c->err = err;
  ptrvec body = { 0 };
  if (setjmp (c->jmp))
    {
      fb_buf_free (&c->sbuf);
      free (c);
      return -1;
    }
  lex_check_source (c);
  parse_dialect_comments (c, dialect);
  lex_next (c);
  while (c->tok.kind != T_EOF)
    {
      if (c->tok.kind == T_NEWLINE)
        {
          lex_next (c);
          continue;
        }
      parse_stmt (c, &body);
    }
  fn_def *d = node (c, sizeof *d);
  d->name = "<toplevel>";
  d->file = c->file;
  d->pos = (fb_pos) { 1, 1 };
  d->is_toplevel = true;
  d->body = finish_list (c, &body);
  *toplevel = d;
  fb_buf_free (&c->sbuf);
  free (c);
  return 0;
}
