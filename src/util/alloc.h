/* Allocation that cannot fail. Running out of memory is not an error a
 * caller can handle meaningfully here, so these abort (never exit) instead
 * of making every call site check for NULL. */
#ifndef FB_UTIL_ALLOC_H
#define FB_UTIL_ALLOC_H

#include <stddef.h>

void *fb_xmalloc (size_t n);
void *fb_xcalloc (size_t nmemb, size_t size);
void *fb_xrealloc (void *p, size_t n);
/* realloc of nmemb * size bytes, aborting on multiplication overflow */
void *fb_xreallocarray (void *p, size_t nmemb, size_t size);
char *fb_xstrdup (const char *s);
char *fb_xstrndup (const char *s, size_t n);
/* n bytes (NULs included) and a NUL after them. */
char *fb_xmemdup0 (const void *p, size_t n);
char *fb_xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* Frees the first n strings of v, then v. */
void fb_strv_free_n (char **v, size_t n);

#define FB_NEW(T) ((T *) fb_xcalloc (1, sizeof (T)))

/* Grow *arr (holding *cap elements of size elt) so index `need - 1` fits. */
void fb_grow (void *arr, size_t *cap, size_t need, size_t elt);
#define FB_GROW(arr, cap, need) fb_grow (&(arr), &(cap), (need), sizeof *(arr))

#endif
