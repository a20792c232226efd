/* The scanner's interface to the parser: one context holds both, since the
 * parser reads the current token and both unwind through jmp on a syntax
 * error. */
#ifndef FB_STAR_LEXER_H
#define FB_STAR_LEXER_H

#include <setjmp.h>

#include "star/internal.h"

#define MAX_INDENT 128

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

/* Sets c->err to "file:line:col: msg" and longjmps to c->jmp. */
_Noreturn void syntax_error (parse_ctx *c, fb_pos pos, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
/* Scans the next token into c->tok. */
void lex_next (parse_ctx *c);
/* Rejects a source that is not UTF-8 text, then rewinds to its start. */
void lex_check_source (parse_ctx *c);

#endif
