/* The normalized trace: what a test did, with everything that legitimately
 * varies between two runs of one seed removed — timings, pids, fd numbers,
 * the interleaving of services, allowed syscalls on sockets and pipes — so
 * two runs compare line by line. Faultbox's format: per test "=== name ===",
 * per service (sorted) "--- svc ---", then one line per kept event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultbox/engine.h"
#include "faultbox/report.h"
#include "util/alloc.h"
#include "faultbox/buf.h"

#include <stdint.h>

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* "socket:[123]" -> "socket", "pipe:[9]" -> "pipe"; NULL: drop the event. */
static const char *
stable_path (const char *path, bool allowed, char *buf, size_t len)
{
  if (!path || !*path)
    return allowed ? NULL : "";
  const char *kinds[] = { "socket", "pipe", "anon_inode", "stdout" };
  for (size_t i = 0; i < 4; i++)
    {
      size_t n = strlen (kinds[i]);
      if (!strncmp (path, kinds[i], n) && (path[n] == ':' || !path[n]))
        {
          if (allowed)
            return NULL;
          snprintf (buf, len, "%s", kinds[i]);
          return buf;
        }
    }
  if (allowed && (!strcmp (path, "/dev/null") || fb_path_is_system (path)))
    return NULL;
  return path;
}

static void
event_line (const fb_event *ev, fb_buf *out)
{
  const char *type = ev->type;
  if (!strcmp (type, "syscall"))
    {
      const char *dec = fb_event_get (ev, "decision");
      bool allowed = !dec || !strcmp (dec, "allow");
      char buf[32];
      const char *path = stable_path (fb_event_get (ev, "path"), allowed, buf, sizeof buf);
      if (!path)
        return;
      fb_buf_printf (out, "%s %s%s%s\n", fb_event_get (ev, "syscall"), dec ? dec : "allow",
                     *path ? " " : "", path);
    }
  else if (!strcmp (type, "proxy"))
    {
      /* a protocol rule's decision, without the timing of when it came */
      fb_buf_printf (out, "proxy %s", fb_event_get (ev, "action"));
      /* what the protocol names it by: method path, command key, query */
      static const char *const names[] = { "method", "command", "path", "key", "query" };
      for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (fb_event_get (ev, names[i]))
          fb_buf_printf (out, " %s", fb_event_get (ev, names[i]));
      fb_buf_putc (out, '\n');
    }
  else if (!strcmp (type, "unmediated_io"))
    fb_buf_printf (out, "unmediated_io %s %s\n", fb_event_get (ev, "category"), fb_event_get (ev, "detail"));
  else if (!strcmp (type, "step_send") || !strcmp (type, "step_recv"))
    fb_buf_printf (out, "%s %s\n", type, fb_event_get (ev, "target"));
  else if (!strncmp (type, "service_", 8)
           || !strcmp (type, "fault_applied") || !strcmp (type, "fault_removed")
           || !strncmp (type, "trace_", 6) || !strncmp (type, "partition_", 10)
           || !strcmp (type, "proxy_started") || !strncmp (type, "proxy_fault_", 12))
    fb_buf_printf (out, "%s\n", type);
}

void
fb_report_normalize_test (const fb_test_result *t, fb_buf *out)
{
  fb_buf_printf (out, "=== %s ===\n", t->name);
  const char **svcs = fb_xcalloc (t->n_events + 1, sizeof *svcs);
  size_t n = 0;
  for (size_t i = 0; i < t->n_events; i++)
    {
      const char *s = t->events[i].service && *t->events[i].service ? t->events[i].service : "test";
      bool seen = false;
      for (size_t k = 0; k < n && !seen; k++)
        seen = !strcmp (svcs[k], s);
      if (!seen)
        svcs[n++] = s;
    }
  qsort (svcs, n, sizeof *svcs, cmp_str);
  for (size_t k = 0; k < n; k++)
    {
      fb_buf_printf (out, "--- %s ---\n", svcs[k]);
      for (size_t i = 0; i < t->n_events; i++)
        {
          const fb_event *ev = &t->events[i];
          const char *s = ev->service && *ev->service ? ev->service : "test";
          if (!strcmp (s, svcs[k]))
            event_line (ev, out);
        }
    }
  free (svcs);
}

void
fb_report_normalize (const fb_report *r, fb_buf *out)
{
  for (size_t i = 0; i < r->n_tests; i++)
    fb_report_normalize_test (&r->tests[i], out);
}

typedef struct {
  const char **line;
  size_t *len;
  size_t n;
} lines;

static void
split_lines (const char *s, lines *l)
{
  l->n = 0;
  size_t cap = 16;
  l->line = fb_xcalloc (cap, sizeof *l->line);
  l->len = fb_xcalloc (cap, sizeof *l->len);
  while (*s)
    {
      size_t n = strcspn (s, "\n");
      if (l->n == cap)
        {
          cap *= 2;
          l->line = fb_xreallocarray (l->line, cap, sizeof *l->line);
          l->len = fb_xreallocarray (l->len, cap, sizeof *l->len);
        }
      l->line[l->n] = s;
      l->len[l->n++] = n;
      s += n + (s[n] == '\n');
    }
}

static bool
same (const lines *a, size_t i, const lines *b, size_t j)
{
  return a->len[i] == b->len[j] && !memcmp (a->line[i], b->line[j], a->len[i]);
}

/* Prints a changed line under the section headers ("=== test", "--- svc")
 * it belongs to, each header once. */
static void
emit (fb_buf *out, char sign, const lines *l, size_t i, const char **test, const char **svc)
{
  const char *t = NULL, *s = NULL;
  for (size_t k = i + 1; k-- > 0;)
    {
      if (!s && !strncmp (l->line[k], "--- ", 4))
        s = l->line[k];
      if (!strncmp (l->line[k], "=== ", 4))
        {
          t = l->line[k];
          break;
        }
    }
  if (t && (!*test || strncmp (*test, t, strcspn (t, "\n") + 1)))
    fb_buf_printf (out, "%.*s\n", (int) strcspn (t, "\n"), t), *test = t, *svc = NULL;
  if (s && s != l->line[i] && (!*svc || strncmp (*svc, s, strcspn (s, "\n") + 1)))
    fb_buf_printf (out, "%.*s\n", (int) strcspn (s, "\n"), s), *svc = s;
  fb_buf_printf (out, "%c %.*s\n", sign, (int) l->len[i], l->line[i]);
}

size_t
fb_report_diff (const char *a_text, const char *b_text, fb_buf *out)
{
  lines a, b;
  split_lines (a_text, &a);
  split_lines (b_text, &b);
  size_t pre = 0;
  while (pre < a.n && pre < b.n && same (&a, pre, &b, pre))
    pre++;
  size_t suf = 0;
  while (suf < a.n - pre && suf < b.n - pre && same (&a, a.n - 1 - suf, &b, b.n - 1 - suf))
    suf++;
  size_t n = a.n - pre - suf, m = b.n - pre - suf, changed = 0;
  const char *test = NULL, *svc = NULL;
  /* an LCS of the middle when it is small enough, else all of it changed */
  uint32_t *dp = (n + 1) * (m + 1) <= 4000000 ? fb_xcalloc ((n + 1) * (m + 1), sizeof *dp) : NULL;
  for (size_t i = n; dp && i-- > 0;)
    for (size_t j = m; j-- > 0;)
      dp[i * (m + 1) + j] = same (&a, pre + i, &b, pre + j)
                                ? dp[(i + 1) * (m + 1) + j + 1] + 1
                                : dp[(i + 1) * (m + 1) + j] > dp[i * (m + 1) + j + 1]
                                      ? dp[(i + 1) * (m + 1) + j]
                                      : dp[i * (m + 1) + j + 1];
  size_t i = 0, j = 0;
  while (i < n || j < m)
    {
      if (dp && i < n && j < m && same (&a, pre + i, &b, pre + j))
        i++, j++;
      else if (j == m || (i < n && (!dp || dp[(i + 1) * (m + 1) + j] >= dp[i * (m + 1) + j + 1])))
        emit (out, '-', &a, pre + i++, &test, &svc), changed++;
      else
        emit (out, '+', &b, pre + j++, &test, &svc), changed++;
    }
  free (dp);
  free (a.line);
  free (a.len);
  free (b.line);
  free (b.len);
  return changed;
}
