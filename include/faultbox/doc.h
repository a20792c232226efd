/* The spec language's reference: one entry per builtin, module function
 * and protocol step method (src/lang/builtins_doc.c). `faultbox help
 * builtins` prints it, doc/spec-language.md is its Markdown, and
 * fb_doc_missing says what the interpreter registers that it lacks. */
#ifndef FAULTBOX_DOC_H
#define FAULTBOX_DOC_H

#include <stddef.h>

#include "faultbox/buf.h"
#include "faultbox/error.h"

typedef struct fb_doc {
  const char *name;      /* "service", "match.event", "http.get" */
  const char *section;   /* one of fb_doc_sections */
  const char *signature; /* with types and defaults */
  const char *summary;
  const char *args;      /* one line per argument: "name (type[, default X]): what";
                          * NULL for a step method: its protocol's table says */
  const char *returns, *events, *errors;
  const char *example;   /* a spec fragment that loads after fb_doc_prelude */
} fb_doc;

size_t fb_doc_count (void);
const fb_doc *fb_doc_at (size_t i);
const fb_doc *fb_doc_find (const char *name);
/* Section names in reference order, NULL-terminated. */
extern const char *const fb_doc_sections[];
/* The services every example may name (BIN: the demo services' directory). */
extern const char fb_doc_prelude[];

/* One entry as `faultbox help builtins NAME` prints it. */
void fb_doc_text (const fb_doc *d, fb_buf *out);
/* The index `faultbox help builtins` prints: names by section. */
void fb_doc_index (fb_buf *out);
/* doc/spec-language.md. */
void fb_doc_markdown (fb_buf *out);
/* What the interpreter registers with no entry ("missing: NAME") and
 * entries naming nothing registered ("stale: NAME"), NULL-terminated into
 * *out (free with fb_strv_free); returns how many, -1 with err when the
 * builtins could not be listed. */
int fb_doc_missing (char ***out, fb_error *err);

#endif
