/* Strings the library hands out: a growable byte buffer, always
 * NUL-terminated so it doubles as a string (renderers and messages write
 * into a caller's fb_buf), and key-value pairs (event fields, headers). */
#ifndef FAULTBOX_BUF_H
#define FAULTBOX_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include "faultbox/error.h"

typedef struct fb_buf {
  char *data;   /* NULL until the first append */
  size_t len;
  size_t cap;
} fb_buf;

#define FB_BUF_INIT { NULL, 0, 0 }

typedef struct fb_kv {
  char *key;
  char *value;
} fb_kv;

void fb_buf_reserve (fb_buf *b, size_t extra);
void fb_buf_append (fb_buf *b, const void *data, size_t n);
void fb_buf_puts (fb_buf *b, const char *s);
void fb_buf_putc (fb_buf *b, char c);
void fb_buf_printf (fb_buf *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void fb_buf_vprintf (fb_buf *b, const char *fmt, va_list ap);
void fb_buf_truncate (fb_buf *b, size_t len);
/* s as XML/HTML text or attribute value: the five specials as entities,
 * control characters other than \n, \t and \r dropped (XML 1.0 forbids
 * them even escaped, and nothing a service prints may end an element). */
void fb_buf_put_markup (fb_buf *b, const char *s);
/* "" when empty, never NULL */
const char *fb_buf_str (const fb_buf *b);
/* Hands the string out (caller frees) and resets b. Never NULL. */
char *fb_buf_steal (fb_buf *b);
void fb_buf_free (fb_buf *b);
/* Appends the whole file at path. */
int fb_buf_read_file (fb_buf *b, const char *path, fb_error *err);
/* Appends the end of the file at path: its last max_bytes, of those the
 * last max_lines lines (0: any number), starting at a line when anything
 * was cut (then *cut is true). Made safe for JSON and XML: bytes that are
 * not UTF-8 become '?', control characters but \n and \t are dropped. */
int fb_buf_read_tail (fb_buf *b, const char *path, size_t max_lines, size_t max_bytes, bool *cut,
                      fb_error *err);

#define _cleanup_buf_ __attribute__ ((cleanup (fb_buf_free)))

#endif
