/* Region heap of a Starlark thread: bump allocation in 64 KiB chunks, large
 * objects in chunks of their own. Marks record the tops of both chunk
 * stacks, so releasing a mark frees exactly what was allocated after it. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "star/internal.h"
#include "util/alloc.h"

#define CHUNK (64 * 1024)
#define BIG (CHUNK / 4)
/* Nothing is freed before a release, so a busy evaluation touches fresh
 * memory all the time and page faults dominate: once a heap is past
 * HUGE_AFTER bytes, its small chunks are 2 MiB huge pages (one fault
 * instead of 512; at 8 MiB, faults were still a fifth of the bench's
 * CPU time). Small heaps, the common case, stay small. */
#define HUGE_CHUNK ((size_t) 2 << 20)
#define HUGE_AFTER ((size_t) 1 << 20)

static heap_chunk *
chunk_new (size_t size, heap_chunk *prev)
{
  heap_chunk *c = fb_xmalloc (sizeof *c + size);
  c->prev = prev;
  c->size = size;
  c->mapped = 0;
  return c;
}

/* A 2 MiB-aligned anonymous mapping advised for huge pages, or NULL. */
static heap_chunk *
chunk_new_huge (heap_chunk *prev)
{
  size_t sz = HUGE_CHUNK;
  char *p = mmap (NULL, 2 * sz, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  uintptr_t a = ((uintptr_t) p + sz - 1) & ~(uintptr_t) (sz - 1);
  if (a > (uintptr_t) p)
    munmap (p, a - (uintptr_t) p);
  if ((uintptr_t) p + 2 * sz > a + sz)
    munmap ((void *) (a + sz), (uintptr_t) p + 2 * sz - (a + sz));
  madvise ((void *) a, sz, MADV_HUGEPAGE);
  heap_chunk *c = (heap_chunk *) a;
  c->prev = prev;
  c->size = sz - sizeof *c;
  c->mapped = 1;
  return c;
}

static void
chunk_free (heap_chunk *c)
{
  if (c->mapped)
    munmap (c, c->size + sizeof *c);
  else
    free (c);
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
      heap_chunk *c = h->bytes >= HUGE_AFTER ? chunk_new_huge (h->small) : NULL;
      h->small = c ? c : chunk_new (CHUNK, h->small);
      h->cur = h->small->data;
      h->end = h->cur + h->small->size;
      h->bytes += h->small->size;
    }
  void *p = h->cur;
  h->cur += n;
  return p;
}

heap_pos
heap_here (const fb_heap *h)
{
  return (heap_pos) { h->small, h->big, h->cur, h->fins };
}

fb_value *
heap_squeeze (fb_heap *h, const heap_pos *at, fb_value *v, bool drop_all)
{
  /* only within the current small chunk, and with no finalizer to run */
  if (h->small != at->small || h->big != at->big || h->fins != at->fins
      || h->cur == at->cur)
    return v;
  uintptr_t p = (uintptr_t) v;
  if (IS_SMALL (v) || p < (uintptr_t) at->cur || p >= (uintptr_t) h->cur)
    {
      if (drop_all)
        h->cur = at->cur;
      return v;
    }
  fb_value_type t = vtype (v);
  if (t != FB_V_STRING && t != FB_V_BYTES)
    return v;
  size_t n = (sizeof (fv_string) + STR (v)->len + 1 + STR (v)->spare + 15)
             & ~(size_t) 15;
  if (n > (size_t) (h->cur - (char *) v))
    n = (size_t) (h->cur - (char *) v);
  memmove (at->cur, v, n);
  h->cur = at->cur + n;
  return (fb_value *) at->cur;
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
      chunk_free (c);
    }
  while (h->big != big)
    {
      heap_chunk *c = h->big;
      h->big = c->prev;
      h->bytes -= c->size;
      chunk_free (c);
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
