/* Scanner for Starlark (spec: lexical elements): tokens, string and number
 * literals, indentation. Errors unwind with longjmp, as in the parser. */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include "star/lexer.h"

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

_Noreturn void
star_syntax_error_at (fb_error *err, jmp_buf jmp, const char *file, fb_pos pos, const char *fmt, va_list ap)
{
  char msg[1024];
  vsnprintf (msg, sizeof msg, fmt, ap);
  fb_error_set (err, EINVAL, "%s:%d:%d: %s", file, pos.line, pos.col, msg);
  longjmp (jmp, 1);
}

_Noreturn void
syntax_error (parse_ctx *c, fb_pos pos, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  star_syntax_error_at (c->err, c->jmp, c->file, pos, fmt, ap);
}

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

/* One escape of a string that is not raw, c->p just past its backslash and
 * e: appended to b. */
static void
lex_escape (parse_ctx *c, fb_buf *b, char e, fb_pos epos, bool bytes)
{
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

/* A raw string keeps the backslash; \<quote> does not end it. */
static void
lex_raw_escape (parse_ctx *c, fb_buf *b, char e)
{
  fb_buf_putc (b, '\\');
  fb_buf_putc (b, e);
  c->p += 2;
  if (e == '\n')
    newline (c);
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
          lex_raw_escape (c, b, e);
          continue;
        }
      c->p += 2;
      lex_escape (c, b, e, epos, bytes);
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

/* Blanks, comments, line continuations, and newlines inside brackets. */
static void
skip_blanks (parse_ctx *c)
{
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
}

/* End of input closes the last line and its indentation, one token a call. */
static void
lex_end (parse_ctx *c, token *t)
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
}

/* A string with optional r/b prefixes; false when c->p starts none. */
static bool
lex_prefixed_string (parse_ctx *c, token *t)
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
      return true;
    }
  /* Faultbox's own docs once showed f-strings: say so clearly */
  if ((*c->p == 'f' || *c->p == 'F') && c->p + 1 < c->end
      && (c->p[1] == '"' || c->p[1] == '\''))
    syntax_error (c, t->pos, "Starlark has no f-strings (use %% or .format)");
  return false;
}

/* An identifier or a keyword; reserved words are errors. */
static void
lex_word (parse_ctx *c, token *t)
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
}

/* Punctuation, longest match first; brackets count toward c->depth. */
static void
lex_operator (parse_ctx *c, token *t)
{
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
  char ch = *c->p;
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

void
lex_next (parse_ctx *c)
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
  skip_blanks (c);
  t->pos = pos_of (c, c->p);
  if (c->p >= c->end)
    {
      lex_end (c, t);
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
  if (lex_prefixed_string (c, t))
    return;
  if (isalpha ((unsigned char) ch) || ch == '_' || (unsigned char) ch >= 0x80)
    lex_word (c, t);
  else if (isdigit ((unsigned char) ch)
           || (ch == '.' && c->p + 1 < c->end
               && isdigit ((unsigned char) c->p[1])))
    lex_number (c, t);
  else
    lex_operator (c, t);
}

/* A spec is UTF-8 text: a NUL or a byte that is not UTF-8 (binary garbage,
 * a Latin-1 file) is an error at its line and column, before any parsing. */
void
lex_check_source (parse_ctx *c)
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
