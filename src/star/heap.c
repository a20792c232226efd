/* Region heap of a Starlark thread: bump allocation in 64 KiB chunks, large
 * objects in chunks of their own. Marks record the tops of both chunk
 * stacks, so releasing a mark frees exactly what was allocated after it. */
#include <stdlib.h>

#include "star/internal.h"
#include "util/alloc.h"

#define CHUNK (64 * 1024)
#define BIG (CHUNK / 4)

static heap_chunk *
chunk_new (size_t size, heap_chunk *prev)
{
  heap_chunk *c = fb_xmalloc (sizeof *c + size);
  c->prev = prev;
  c->size = size;
  return c;
}

void *
heap_alloc (fb_heap *h, size_t n)
{
  n = (n + 15) & ~(size_t) 15;
  if (n >= BIG)
    {
      h->big = chunk_new (n, h->big);
      h->bytes += n;
      return h->big->data;
    }
  if ((size_t) (h->end - h->cur) < n)
    {
      h->small = chunk_new (CHUNK, h->small);
      h->cur = h->small->data;
      h->end = h->cur + CHUNK;
      h->bytes += CHUNK;
    }
  void *p = h->cur;
  h->cur += n;
  return p;
}

void
heap_add_fin (fb_heap *h, void (*fn) (void *), void *data)
{
  heap_fin *f = heap_alloc (h, sizeof *f);
  f->fn = fn;
  f->data = data;
  f->prev = h->fins;
  h->fins = f;
}

static void
release_to (fb_heap *h, heap_chunk *small, char *cur, heap_chunk *big,
            heap_fin *fins)
{
  /* Finalizers live inside the chunks being freed: run them first. */
  while (h->fins != fins)
    {
      heap_fin *f = h->fins;
      h->fins = f->prev;
      f->fn (f->data);
    }
  while (h->small != small)
    {
      heap_chunk *c = h->small;
      h->small = c->prev;
      h->bytes -= c->size;
      free (c);
    }
  while (h->big != big)
    {
      heap_chunk *c = h->big;
      h->big = c->prev;
      h->bytes -= c->size;
      free (c);
    }
  h->cur = cur;
  h->end = small ? small->data + small->size : NULL;
  if (!small)
    h->cur = NULL;
}

void
heap_free_all (fb_heap *h)
{
  release_to (h, NULL, NULL, NULL, NULL);
}

void
heap_adopt (fb_heap *dst, fb_heap *src)
{
  /* Both of src's stacks go on top of dst's big stack: they are plain
   * blocks to free at the next release; dst keeps bumping in its own
   * current chunk, which stays below them. Finalizers move too. */
  heap_chunk **lists[2] = { &src->small, &src->big };
  for (int i = 0; i < 2; i++)
    while (*lists[i])
      {
        heap_chunk *c = *lists[i];
        *lists[i] = c->prev;
        c->prev = dst->big;
        dst->big = c;
      }
  while (src->fins)
    {
      heap_fin *f = src->fins;
      src->fins = f->prev;
      heap_add_fin (dst, f->fn, f->data);
    }
  dst->bytes += src->bytes;
  src->bytes = 0;
  src->cur = src->end = NULL;
}

fb_star_mark
fb_star_mark_heap (fb_star_thread *th)
{
  fb_heap *h = &th->heap;
  return (fb_star_mark) { h->small, h->cur, h->big, h->fins, h->bytes };
}

void
fb_star_release (fb_star_thread *th, fb_star_mark m)
{
  release_to (&th->heap, m.small, m.cur, m.big, m.fins);
}

size_t
fb_star_heap_bytes (fb_star_thread *th)
{
  return th->heap.bytes;
}
