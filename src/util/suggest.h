/* "did you mean" helpers shared by the interpreter, errno tables and CLI. */
#ifndef FB_UTIL_SUGGEST_H
#define FB_UTIL_SUGGEST_H

#include <stddef.h>

/* Edit distance counting an adjacent transposition as one edit. */
size_t fb_edit_distance (const char *a, const char *b);

/* The candidate closest to `word` when it is close enough to be a plausible
 * typo (distance <= max(1, len/3)), else NULL. candidates is NULL-terminated
 * when n == (size_t)-1, else n entries. */
const char *fb_suggest (const char *word, const char *const *candidates, size_t n);

#endif
