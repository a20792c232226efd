/* Lexer and recursive-descent parser for Starlark (spec: lexical elements,
 * grammar). Syntax errors unwind with longjmp: the tree lives in the
 * thread's heap, so nothing needs freeing on the way out. */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include "star/internal.h"
#include "util/alloc.h"

#define MAX_INDENT 128
#define MAX_NESTING 200

typedef struct {
  tok_kind kind;
  fb_pos pos;
  const char *ident;
  fb_value *val;
} token;

struct parse_ctx {
  fb_star_thread *th;
  const char *file;
  const char *src, *p, *end, *line_start;
  int line;
  const char *col_p; /* col_of's last answer, so one long line stays linear */
  int col;
  int depth; /* open brackets: newlines are insignificant inside */
  int indents[MAX_INDENT];
  int nindent;
  int pending_outdents;
  bool at_line_start;
  bool emitted_any; /* a token since the last NEWLINE */
  token tok;
  int nesting; /* expression recursion, bounded against stack overflow */
  fb_error *err;
  jmp_buf jmp;
  fb_buf sbuf; /* string literal being lexed; freed with the context */
};

static const char *const tok_names[T_COUNT_] = {
  [T_EOF] = "end of file", [T_NEWLINE] = "newline", [T_INDENT] = "indent",
  [T_OUTDENT] = "outdent", [T_IDENT] = "identifier", [T_INT] = "int literal",
  [T_FLOAT] = "float literal", [T_STRING] = "string literal",
  [T_BYTES] = "bytes literal", [T_PLUS] = "+", [T_MINUS] = "-",
  [T_STAR] = "*", [T_SLASH] = "/", [T_SLASHSLASH] = "//", [T_PERCENT] = "%",
  [T_AMP] = "&", [T_PIPE] = "|", [T_CIRCUMFLEX] = "^", [T_TILDE] = "~",
  [T_LTLT] = "<<", [T_GTGT] = ">>", [T_DOT] = ".", [T_COMMA] = ",",
  [T_EQ] = "=", [T_SEMI] = ";", [T_COLON] = ":", [T_LPAREN] = "(",
  [T_RPAREN] = ")", [T_LBRACK] = "[", [T_RBRACK] = "]", [T_LBRACE] = "{",
  [T_RBRACE] = "}", [T_LT] = "<", [T_GT] = ">", [T_GE] = ">=", [T_LE] = "<=",
  [T_EQL] = "==", [T_NEQ] = "!=", [T_PLUS_EQ] = "+=", [T_MINUS_EQ] = "-=",
  [T_STAR_EQ] = "*=", [T_SLASH_EQ] = "/=", [T_SLASHSLASH_EQ] = "//=",
  [T_PERCENT_EQ] = "%=", [T_AMP_EQ] = "&=", [T_PIPE_EQ] = "|=",
  [T_CIRCUMFLEX_EQ] = "^=", [T_LTLT_EQ] = "<<=", [T_GTGT_EQ] = ">>=",
  [T_STARSTAR] = "**", [T_AND] = "and", [T_BREAK] = "break",
  [T_CONTINUE] = "continue", [T_DEF] = "def", [T_ELIF] = "elif",
  [T_ELSE] = "else", [T_FOR] = "for", [T_IF] = "if", [T_IN] = "in",
  [T_LAMBDA] = "lambda", [T_LOAD] = "load", [T_NOT] = "not",
  [T_NOT_IN] = "not in", [T_OR] = "or", [T_PASS] = "pass",
  [T_RETURN] = "return", [T_WHILE] = "while",
};

const char *
tok_name (tok_kind k)
{
  return tok_names[k];
}

static const struct { const char *word; tok_kind kind; } keywords[] = {
  { "and", T_AND }, { "break", T_BREAK }, { "continue", T_CONTINUE },
  { "def", T_DEF }, { "elif", T_ELIF }, { "else", T_ELSE },
  { "for", T_FOR }, { "if", T_IF }, { "in", T_IN }, { "lambda", T_LAMBDA },
  { "load", T_LOAD }, { "not", T_NOT }, { "or", T_OR }, { "pass", T_PASS },
  { "return", T_RETURN }, { "while", T_WHILE },
};

/* Python keywords Starlark reserves ("assert" is allowed, as in Go). */
static const char *const reserved[] = {
  "as", "async", "await", "class", "del", "except", "finally", "from",
  "global", "import", "is", "nonlocal", "raise", "try", "with", "yield",
};

static int
col_of (parse_ctx *c, const char *p)
{
  const char *q = c->line_start;
  int col = 1;
  if (c->col_p >= c->line_start && c->col_p <= p)
    {
      q = c->col_p;
      col = c->col;
    }
  for (; q < p; q++)
    if (((unsigned char) *q & 0xc0) != 0x80)
      col++;
  c->col_p = p;
  c->col = col;
  return col;
}

static fb_pos
pos_of (parse_ctx *c, const char *p)
{
  return (fb_pos) { c->line, col_of (c, p) };
}

static _Noreturn void __attribute__ ((format (printf, 3, 4)))
syntax_error (parse_ctx *c, fb_pos pos, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  fb_error_set (c->err, EINVAL, "%s:%d:%d: %s", c->file, pos.line, pos.col,
                msg);
  longjmp (c->jmp, 1);
}

/* ---- lexer ------------------------------------------------------------- */

static void
newline (parse_ctx *c)
{
  c->line++;
  c->line_start = c->p;
}

static int
hexval (char ch)
{
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

static void
lex_string (parse_ctx *c, token *t, bool raw, bool bytes)
{
  char q = *c->p;
  bool triple = c->end - c->p >= 3 && c->p[1] == q && c->p[2] == q;
  c->p += triple ? 3 : 1;
  /* in the context, not on the stack: a syntax error longjmps out */
  fb_buf *b = &c->sbuf;
  fb_buf_truncate (b, 0);
  fb_buf_reserve (b, 16);
  for (;;)
    {
      if (c->p >= c->end)
        syntax_error (c, t->pos, "unexpected end of file in string literal");
      char ch = *c->p;
      if (ch == q
          && (!triple || (c->end - c->p >= 3 && c->p[1] == q && c->p[2] == q)))
        {
          c->p += triple ? 3 : 1;
          break;
        }
      if (ch == '\n')
        {
          if (!triple)
            syntax_error (c, t->pos, "unexpected newline in string literal");
          c->p++;
          fb_buf_putc (b, '\n');
          newline (c);
          continue;
        }
      if (ch != '\\')
        {
          fb_buf_putc (b, ch);
          c->p++;
          continue;
        }
      /* escape */
      fb_pos epos = pos_of (c, c->p);
      if (c->p + 1 >= c->end)
        syntax_error (c, t->pos, "unexpected end of file in string literal");
      char e = c->p[1];
      if (raw)
        {
          /* a raw string keeps the backslash; \<quote> does not end it */
          fb_buf_putc (b, '\\');
          if (e == '\n')
            {
              fb_buf_putc (b, '\n');
              c->p += 2;
              newline (c);
            }
          else
            {
              fb_buf_putc (b, e);
              c->p += 2;
            }
          continue;
        }
      c->p += 2;
      switch (e)
        {
        case '\n': newline (c); break;
        case 'a': fb_buf_putc (b, '\a'); break;
        case 'b': fb_buf_putc (b, '\b'); break;
        case 'f': fb_buf_putc (b, '\f'); break;
        case 'n': fb_buf_putc (b, '\n'); break;
        case 'r': fb_buf_putc (b, '\r'); break;
        case 't': fb_buf_putc (b, '\t'); break;
        case 'v': fb_buf_putc (b, '\v'); break;
        case '\\': fb_buf_putc (b, '\\'); break;
        case '\'': fb_buf_putc (b, '\''); break;
        case '"': fb_buf_putc (b, '"'); break;
        case '0': case '1': case '2': case '3':
        case '4': case '5': case '6': case '7':
          {
            int v = e - '0';
            for (int k = 0; k < 2 && c->p < c->end && *c->p >= '0'
                            && *c->p <= '7';
                 k++)
              v = v * 8 + (*c->p++ - '0');
            if (v > 127 && !bytes)
              syntax_error (c, epos, "non-ASCII octal escape \\%o (use \\u%04X for the UTF-8 encoding of U+%04X)", (unsigned) v, (unsigned) v, (unsigned) v);
            fb_buf_putc (b, (char) v);
            break;
          }
        case 'x':
          {
            int h1 = c->p < c->end ? hexval (c->p[0]) : -1;
            int h2 = c->p + 1 < c->end ? hexval (c->p[1]) : -1;
            if (h1 < 0 || h2 < 0)
              syntax_error (c, epos, "invalid escape sequence \\x: want two hex digits");
            int v = h1 * 16 + h2;
            if (v > 127 && !bytes)
              syntax_error (c, epos, "non-ASCII hex escape \\x%02x (use \\u%04X for the UTF-8 encoding of U+%04X)", (unsigned) v, (unsigned) v, (unsigned) v);
            fb_buf_putc (b, (char) v);
            c->p += 2;
            break;
          }
        case 'u':
        case 'U':
          {
            int n = e == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int k = 0; k < n; k++)
              {
                int h = c->p + k < c->end ? hexval (c->p[k]) : -1;
                if (h < 0)
                  syntax_error (c, epos, "invalid escape sequence \\%c: want %d hex digits", e, n);
                cp = cp * 16 + (uint32_t) h;
              }
            c->p += n;
            if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
              syntax_error (c, epos, "invalid Unicode code point U+%04X", cp);
            utf8_append (b, cp);
            break;
          }
        default:
          syntax_error (c, epos, "invalid escape sequence \\%c", e);
        }
    }
  t->kind = bytes ? T_BYTES : T_STRING;
  t->val = bytes ? fb_bytes_n (c->th, fb_buf_str (b), b->len)
                 : fb_string_n (c->th, fb_buf_str (b), b->len);
}

static void
lex_number (parse_ctx *c, token *t)
{
  const char *s = c->p;
  bool is_float = false;
  if (*s == '0' && s + 1 < c->end && strchr ("xXoObB", s[1]))
    {
      int base = strchr ("xX", s[1]) ? 16 : strchr ("oO", s[1]) ? 8 : 2;
      const char *d = s + 2, *q = d;
      while (q < c->end && isalnum ((unsigned char) *q))
        q++;
      c->p = q;
      fb_value *v = q > d ? int_parse (c->th, d, (size_t) (q - d), base) : NULL;
      if (!v)
        syntax_error (c, t->pos, "invalid int literal %.*s", (int) (q - s), s);
      t->kind = T_INT;
      t->val = v;
      return;
    }
  const char *q = s;
  while (q < c->end && isdigit ((unsigned char) *q))
    q++;
  if (q < c->end && *q == '.')
    {
      is_float = true;
      q++;
      while (q < c->end && isdigit ((unsigned char) *q))
        q++;
    }
  if (q < c->end && (*q == 'e' || *q == 'E'))
    {
      const char *e = q + 1;
      if (e < c->end && (*e == '+' || *e == '-'))
        e++;
      if (e < c->end && isdigit ((unsigned char) *e))
        {
          is_float = true;
          q = e;
          while (q < c->end && isdigit ((unsigned char) *q))
            q++;
        }
    }
  if (q < c->end && (isalpha ((unsigned char) *q) || *q == '_'))
    {
      const char *r = q;
      while (r < c->end && (isalnum ((unsigned char) *r) || *r == '_'))
        r++;
      syntax_error (c, t->pos, "invalid numeric literal %.*s", (int) (r - s), s);
    }
  c->p = q;
  if (is_float)
    {
      char buf[512];
      size_t n = (size_t) (q - s);
      if (n >= sizeof buf)
        syntax_error (c, t->pos, "float literal too long");
      memcpy (buf, s, n);
      buf[n] = '\0';
      t->kind = T_FLOAT;
      t->val = fb_float (c->th, strtod (buf, NULL));
      return;
    }
  if (*s == '0' && q - s > 1)
    {
      bool allzero = true;
      for (const char *z = s; z < q; z++)
        allzero &= *z == '0';
      if (!allzero)
        syntax_error (c, t->pos, "obsolete form of octal literal; use 0o%.*s",
                      (int) (q - s - 1), s + 1);
    }
  t->kind = T_INT;
  t->val = int_parse (c->th, s, (size_t) (q - s), 10);
}

static void
lex_indent (parse_ctx *c, token *t)
{
  /* measure the indentation of the next non-blank, non-comment line */
  for (;;)
    {
      int col = 0;
      const char *q = c->p;
      while (q < c->end && (*q == ' ' || *q == '\t'))
        col = *q++ == '\t' ? (col / 8 + 1) * 8 : col + 1;
      if (q < c->end && *q == '\r' && q + 1 < c->end && q[1] == '\n')
        q++;
      if (q < c->end && (*q == '\n' || *q == '#'))
        {
          while (q < c->end && *q != '\n')
            q++;
          if (q < c->end)
            {
              c->p = q + 1;
              newline (c);
              continue;
            }
          c->p = q;
          col = 0;
        }
      else if (q >= c->end)
        {
          c->p = q;
          col = 0;
        }
      else
        c->p = q;
      c->at_line_start = false;
      int top = c->indents[c->nindent - 1];
      if (col > top)
        {
          if (c->nindent == MAX_INDENT)
            syntax_error (c, pos_of (c, c->p), "too many indentation levels");
          c->indents[c->nindent++] = col;
          t->kind = T_INDENT;
          t->pos = pos_of (c, c->p);
          return;
        }
      while (col < c->indents[c->nindent - 1])
        {
          c->nindent--;
          c->pending_outdents++;
        }
      if (col != c->indents[c->nindent - 1])
        syntax_error (c, pos_of (c, c->p),
                      "unindent does not match any outer indentation level");
      t->kind = T_EOF; /* no indentation token; caller continues */
      return;
    }
}

static void
next (parse_ctx *c)
{
  token *t = &c->tok;
  t->val = NULL;
  t->ident = NULL;
again:
  if (c->pending_outdents)
    {
      c->pending_outdents--;
      t->kind = T_OUTDENT;
      t->pos = pos_of (c, c->p);
      return;
    }
  if (c->at_line_start && c->depth == 0)
    {
      lex_indent (c, t);
      if (t->kind == T_INDENT)
        return;
      if (c->pending_outdents)
        goto again;
    }
  /* skip blanks, comments, line continuations */
  for (;;)
    {
      while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r'
                               || *c->p == '\f'))
        c->p++;
      if (c->p < c->end && *c->p == '#')
        {
          while (c->p < c->end && *c->p != '\n')
            c->p++;
          continue;
        }
      if (c->p < c->end && *c->p == '\\')
        {
          if (c->p + 1 < c->end && c->p[1] == '\n')
            {
              c->p += 2;
              newline (c);
              continue;
            }
          if (c->p + 2 < c->end && c->p[1] == '\r' && c->p[2] == '\n')
            {
              c->p += 3;
              newline (c);
              continue;
            }
          syntax_error (c, pos_of (c, c->p), "stray backslash in program");
        }
      if (c->p < c->end && *c->p == '\n' && c->depth > 0)
        {
          c->p++;
          newline (c);
          continue;
        }
      break;
    }
  t->pos = pos_of (c, c->p);
  if (c->p >= c->end)
    {
      if (c->depth > 0)
        {
          t->kind = T_EOF; /* inside brackets: "got end of file, want )" */
          return;
        }
      if (c->emitted_any)
        {
          c->emitted_any = false;
          t->kind = T_NEWLINE;
          return;
        }
      if (c->nindent > 1)
        {
          c->nindent--;
          t->kind = T_OUTDENT;
          return;
        }
      t->kind = T_EOF;
      return;
    }
  char ch = *c->p;
  if (ch == '\n')
    {
      c->p++;
      newline (c);
      c->at_line_start = true;
      if (!c->emitted_any)
        goto again;
      c->emitted_any = false;
      t->kind = T_NEWLINE;
      return;
    }
  c->emitted_any = true;
  /* strings, with optional r/b prefixes */
  {
    const char *q = c->p;
    bool raw = false, bytes = false;
    for (int k = 0; k < 2 && q < c->end; k++)
      {
        if ((*q == 'r' || *q == 'R') && !raw)
          raw = true, q++;
        else if (*q == 'b' && !bytes)
          bytes = true, q++;
        else
          break;
      }
    if (q < c->end && (*q == '"' || *q == '\''))
      {
        c->p = q;
        lex_string (c, t, raw, bytes);
        return;
      }
    /* Faultbox's own docs once showed f-strings: say so clearly */
    if ((ch == 'f' || ch == 'F') && c->p + 1 < c->end
        && (c->p[1] == '"' || c->p[1] == '\''))
      syntax_error (c, t->pos, "Starlark has no f-strings (use %% or .format)");
  }
  if (isalpha ((unsigned char) ch) || ch == '_' || (unsigned char) ch >= 0x80)
    {
      const char *s = c->p;
      while (c->p < c->end
             && (isalnum ((unsigned char) *c->p) || *c->p == '_'
                 || (unsigned char) *c->p >= 0x80))
        c->p++;
      size_t n = (size_t) (c->p - s);
      /* keywords and reserved words have 2 to 8 letters, all lower case */
      bool maybe_kw = n >= 2 && n <= 8 && *s >= 'a' && *s <= 'y';
      for (size_t k = 0; maybe_kw && k < sizeof keywords / sizeof *keywords; k++)
        if (keywords[k].word[0] == *s && strlen (keywords[k].word) == n
            && !memcmp (keywords[k].word, s, n))
          {
            t->kind = keywords[k].kind;
            return;
          }
      for (size_t k = 0; maybe_kw && k < sizeof reserved / sizeof *reserved; k++)
        if (reserved[k][0] == *s && strlen (reserved[k]) == n
            && !memcmp (reserved[k], s, n))
          syntax_error (c, t->pos, "keyword %s is reserved", reserved[k]);
      t->kind = T_IDENT;
      t->ident = star_strdup (c->th, s, n);
      return;
    }
  if (isdigit ((unsigned char) ch)
      || (ch == '.' && c->p + 1 < c->end && isdigit ((unsigned char) c->p[1])))
    {
      lex_number (c, t);
      return;
    }
  /* operators: longest match */
  static const struct { const char *s; tok_kind k; } ops[] = {
    { "<<=", T_LTLT_EQ }, { ">>=", T_GTGT_EQ }, { "//=", T_SLASHSLASH_EQ },
    { "**", T_STARSTAR }, { "//", T_SLASHSLASH }, { "<<", T_LTLT },
    { ">>", T_GTGT }, { "<=", T_LE }, { ">=", T_GE }, { "==", T_EQL },
    { "!=", T_NEQ }, { "+=", T_PLUS_EQ }, { "-=", T_MINUS_EQ },
    { "*=", T_STAR_EQ }, { "/=", T_SLASH_EQ }, { "%=", T_PERCENT_EQ },
    { "&=", T_AMP_EQ }, { "|=", T_PIPE_EQ }, { "^=", T_CIRCUMFLEX_EQ },
    { "+", T_PLUS }, { "-", T_MINUS }, { "*", T_STAR }, { "/", T_SLASH },
    { "%", T_PERCENT }, { "&", T_AMP }, { "|", T_PIPE },
    { "^", T_CIRCUMFLEX }, { "~", T_TILDE }, { ".", T_DOT }, { ",", T_COMMA },
    { "=", T_EQ }, { ";", T_SEMI }, { ":", T_COLON }, { "(", T_LPAREN },
    { ")", T_RPAREN }, { "[", T_LBRACK }, { "]", T_RBRACK },
    { "{", T_LBRACE }, { "}", T_RBRACE }, { "<", T_LT }, { ">", T_GT },
  };
  for (size_t k = 0; k < sizeof ops / sizeof *ops; k++)
    {
      if (ops[k].s[0] != ch)
        continue;
      size_t n = strlen (ops[k].s);
      if ((size_t) (c->end - c->p) >= n && !memcmp (c->p, ops[k].s, n))
        {
          c->p += n;
          t->kind = ops[k].k;
          if (t->kind == T_LPAREN || t->kind == T_LBRACK || t->kind == T_LBRACE)
            c->depth++;
          else if ((t->kind == T_RPAREN || t->kind == T_RBRACK
                    || t->kind == T_RBRACE)
                   && c->depth > 0)
            c->depth--;
          return;
        }
    }
  if ((unsigned char) ch < 0x20 || (unsigned char) ch == 0x7f)
    syntax_error (c, t->pos, "invalid character \\x%02x in program",
                  (unsigned char) ch);
  syntax_error (c, t->pos, "unexpected character '%c'", ch);
}

/* ---- parser ------------------------------------------------------------ */

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
  next (c);
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
          next (c);
          if (c->tok.kind != T_IDENT)
            unexpected (c, "identifier");
          p->name = c->tok.ident;
          p->kind = 2;
          seen_kwargs = true;
          next (c);
        }
      else if (c->tok.kind == T_STAR)
        {
          if (seen_star)
            syntax_error (c, c->tok.pos, "multiple * parameters not allowed");
          seen_star = true;
          next (c);
          if (c->tok.kind == T_IDENT)
            {
              p->name = c->tok.ident;
              p->kind = 1;
              next (c);
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
          next (c);
          if (c->tok.kind == T_EQ)
            {
              next (c);
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
      next (c);
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
          next (c);
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
              next (c);
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
      next (c);
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
      next (c);
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
          next (c);
          cl[n].is_if = false;
          expr *v = parse_loop_vars (c);
          cl[n].vars = v;
          expect (c, T_IN);
          cl[n].x = parse_test_nocond (c);
        }
      else
        {
          next (c);
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
        next (c);
        expr *e = new_expr (c, E_IDENT, t.pos);
        e->u.id.name = t.ident;
        return e;
      }
    case T_INT: case T_FLOAT: case T_STRING: case T_BYTES:
      {
        next (c);
        expr *e = new_expr (c, E_CONST, t.pos);
        e->u.konst = t.val;
        return e;
      }
    case T_LPAREN:
      {
        next (c);
        if (c->tok.kind == T_RPAREN)
          {
            next (c);
            return new_expr (c, E_TUPLE, t.pos);
          }
        expr *x = parse_test (c);
        if (c->tok.kind == T_COMMA)
          {
            ptrvec items = { 0 };
            pv_push (c, &items, x);
            while (c->tok.kind == T_COMMA)
              {
                next (c);
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
        next (c);
        ptrvec items = { 0 };
        if (c->tok.kind != T_RBRACK)
          {
            expr *first = parse_test (c);
            if (c->tok.kind == T_FOR)
              return parse_comprehension (c, t.pos, first, NULL, false, T_RBRACK);
            pv_push (c, &items, first);
            while (c->tok.kind == T_COMMA)
              {
                next (c);
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
        next (c);
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
                next (c);
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
          next (c);
          if (c->tok.kind != T_IDENT)
            unexpected (c, "identifier after '.'");
          expr *e = new_expr (c, E_DOT, c->tok.pos);
          e->u.dot.x = x;
          e->u.dot.name = c->tok.ident;
          next (c);
          x = e;
        }
      else if (c->tok.kind == T_LPAREN)
        {
          /* positioned at '(' like Go, so a.f(x) reports where the call is */
          next (c);
          expr *e = new_expr (c, E_CALL, start);
          e->u.call.fn = x;
          parse_args (c, e);
          x = e;
        }
      else if (c->tok.kind == T_LBRACK)
        {
          next (c);
          expr *lo = NULL, *hi = NULL, *step = NULL;
          if (c->tok.kind != T_COLON)
            {
              lo = parse_expr (c);
              if (c->tok.kind == T_RBRACK)
                {
                  next (c);
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
              next (c);
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
      next (c);
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
      next (c);
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
          next (c);
          if (c->tok.kind != T_IN)
            unexpected (c, "in");
          next (c);
          k = T_NOT_IN;
        }
      else
        {
          int p = binary_prec (k);
          if (p < 0 || p < prec)
            break;
          next (c);
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
  next (c);
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
      next (c);
      expr *cond = parse_binary (c, 1);
      if (c->tok.kind != T_ELSE)
        unexpected (c, "else");
      next (c);
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
      next (c);
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
        next (c);
        stmt *s = new_stmt (c, S_RETURN, pos);
        if (c->tok.kind != T_NEWLINE && c->tok.kind != T_SEMI
            && c->tok.kind != T_EOF)
          s->u.x = parse_expr (c);
        return s;
      }
    case T_BREAK:
      next (c);
      return new_stmt (c, S_BREAK, pos);
    case T_CONTINUE:
      next (c);
      return new_stmt (c, S_CONTINUE, pos);
    case T_PASS:
      next (c);
      return new_stmt (c, S_PASS, pos);
    case T_LOAD:
      {
        next (c);
        expect (c, T_LPAREN);
        if (c->tok.kind != T_STRING)
          unexpected (c, "module name string");
        stmt *s = new_stmt (c, S_LOAD, pos);
        s->u.load.module = STR (c->tok.val)->s;
        next (c);
        ptrvec to = { 0 }, from = { 0 };
        while (c->tok.kind == T_COMMA)
          {
            next (c);
            if (c->tok.kind == T_RPAREN)
              break;
            fb_pos ipos = c->tok.pos;
            const char *local, *orig;
            if (c->tok.kind == T_STRING)
              {
                orig = local = STR (c->tok.val)->s;
                next (c);
              }
            else if (c->tok.kind == T_IDENT)
              {
                local = c->tok.ident;
                next (c);
                expect (c, T_EQ);
                if (c->tok.kind != T_STRING)
                  unexpected (c, "string");
                orig = STR (c->tok.val)->s;
                next (c);
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
      next (c);
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
      next (c);
      if (c->tok.kind == T_NEWLINE || c->tok.kind == T_EOF)
        break;
    }
  if (c->tok.kind == T_EOF)
    return;
  if (c->tok.kind != T_NEWLINE)
    unexpected (c, "newline");
  next (c);
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
      next (c);
      if (c->tok.kind != T_INDENT)
        unexpected (c, "indented block");
      next (c);
      enter (c);
      while (c->tok.kind != T_OUTDENT && c->tok.kind != T_EOF)
        parse_stmt (c, &v);
      c->nesting--;
      if (c->tok.kind == T_OUTDENT)
        next (c);
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
        next (c);
        if (c->tok.kind != T_IDENT)
          unexpected (c, "function name");
        stmt *s = new_stmt (c, S_DEF, pos);
        expr *id = new_expr (c, E_IDENT, c->tok.pos);
        id->u.id.name = c->tok.ident;
        next (c);
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
        next (c);
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
            next (c);
            expect (c, T_COLON);
            s->u.ifs.els = parse_suite (c);
          }
        pv_push (c, out, s);
        return;
      }
    case T_FOR:
      {
        next (c);
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
        next (c);
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

/* A spec is UTF-8 text: a NUL or a byte that is not UTF-8 (binary garbage,
 * a Latin-1 file) is an error at its line and column, before any parsing. */
static void
check_source_bytes (parse_ctx *c)
{
  const char *q = c->src;
  while (q < c->end)
    {
      size_t n = *q ? utf8_valid (q, (size_t) (c->end - q)) : 0;
      if (n == 0)
        {
          if (*q)
            syntax_error (c, pos_of (c, q), "invalid UTF-8 byte 0x%02x in source (a spec must be UTF-8 text)",
                          (unsigned char) *q);
          syntax_error (c, pos_of (c, q), "invalid NUL byte in source");
        }
      if (*q == '\n')
        {
          c->line++;
          c->line_start = q + 1;
        }
      q += n;
    }
  c->p = c->line_start = c->src;
  c->line = 1;
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
  check_source_bytes (c);
  parse_dialect_comments (c, dialect);
  next (c);
  while (c->tok.kind != T_EOF)
    {
      if (c->tok.kind == T_NEWLINE)
        {
          next (c);
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
