#include "faultbox/mock.h"
#include "faultbox/plan.h"
#include "faultbox/engine.h"
#include "util/alloc.h"
#include "faultbox/buf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

ssize_t
fb_plan_find_service (const fb_plan *p, const char *name)
{
  for (size_t i = 0; i < p->n_services; i++)
    if (strcmp (p->services[i].name, name) == 0)
      return (ssize_t) i;
  return -1;
}

enum { WHITE, GREY, BLACK };

static int
visit (const fb_plan *p, size_t i, int *color, size_t *stack, size_t depth, size_t *order, size_t *n,
       fb_error *err)
{
  if (color[i] == BLACK)
    return 0;
  stack[depth] = i;
  if (color[i] == GREY)
    {
      fb_buf b = FB_BUF_INIT;
      size_t start = 0;
      while (stack[start] != i)
        start++;
      for (size_t k = start; k <= depth; k++)
        fb_buf_printf (&b, "%s%s", k > start ? " -> " : "", p->services[stack[k]].name);
      int r = fb_error_set (err, ELOOP, "dependency cycle: %s", fb_buf_str (&b));
      fb_buf_free (&b);
      return r;
    }
  color[i] = GREY;
  const fb_plan_service *s = &p->services[i];
  for (size_t d = 0; d < s->n_deps; d++)
    {
      int r = visit (p, s->deps[d], color, stack, depth + 1, order, n, err);
      if (r < 0)
        return r;
    }
  color[i] = BLACK;
  order[(*n)++] = i;
  return 0;
}

int
fb_plan_start_order (const fb_plan *p, size_t *order, fb_error *err)
{
  int *color = fb_xcalloc (p->n_services + 1, sizeof *color);
  size_t *stack = fb_xcalloc (p->n_services + 2, sizeof *stack);
  size_t n = 0;
  int r = 0;
  for (size_t i = 0; i < p->n_services && r == 0; i++)
    r = visit (p, i, color, stack, 0, order, &n, err);
  free (color);
  free (stack);
  return r;
}

static char *
env_key (const char *svc, const char *iface, const char *what)
{
  char *k = fb_xasprintf ("FAULTBOX_%s_%s_%s", svc, iface, what);
  for (char *c = k; *c; c++)
    *c = isalnum ((unsigned char) *c) ? (char) toupper ((unsigned char) *c) : '_';
  return k;
}

static void
env_put (char ***env, size_t *n, const char *kv)
{
  size_t kl = strcspn (kv, "=");
  for (size_t i = 0; i < *n; i++)
    if (strncmp ((*env)[i], kv, kl) == 0 && (*env)[i][kl] == '=')
      {
        free ((*env)[i]);
        (*env)[i] = fb_xstrdup (kv);
        return;
      }
  *env = fb_xreallocarray (*env, *n + 2, sizeof **env);
  (*env)[(*n)++] = fb_xstrdup (kv);
  (*env)[*n] = NULL;
}

char **
fb_plan_service_env (const fb_plan *p, size_t idx, const char *const *addrs)
{
  char **env = fb_xcalloc (1, sizeof *env);
  size_t n = 0;
  env_put (&env, &n, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  env_put (&env, &n, "HOME=/tmp");
  for (size_t i = 0; i < p->n_services; i++)
    {
      const fb_plan_service *s = &p->services[i];
      /* a service reaches itself on localhost, others at their lab address */
      const char *host = i == idx ? "localhost" : addrs[i];
      for (size_t j = 0; j < s->n_ifaces; j++)
        {
          static const char *const what[] = { "HOST", "PORT", "ADDR" };
          for (int w = 0; w < 3; w++)
            {
              char *k = env_key (s->name, s->ifaces[j].name, what[w]);
              char *kv = w == 0   ? fb_xasprintf ("%s=%s", k, host)
                         : w == 1 ? fb_xasprintf ("%s=%d", k, s->ifaces[j].port)
                                  : fb_xasprintf ("%s=%s:%d", k, host, s->ifaces[j].port);
              env_put (&env, &n, kv);
              free (k);
              free (kv);
            }
        }
    }
  const fb_plan_service *me = &p->services[idx];
  for (size_t i = 0; i < me->n_env; i++)
    env_put (&env, &n, me->env[i]);
  return env;
}

void
fb_plan_free (fb_plan *p)
{
  if (!p)
    return;
  for (size_t i = 0; i < p->n_services; i++)
    {
      fb_plan_service *s = &p->services[i];
      free (s->name);
      free (s->binary);
      fb_strv_free_n (s->args, s->n_args);
      fb_strv_free_n (s->env, s->n_env);
      for (size_t j = 0; j < s->n_ifaces; j++)
        {
          free (s->ifaces[j].name);
          free (s->ifaces[j].protocol);
        }
      free (s->ifaces);
      free (s->deps);
      free (s->hc.protocol);
      free (s->hc.host);
      free (s->hc.path);
      for (size_t j = 0; j < s->n_ops; j++)
        {
          free (s->ops[j].name);
          fb_strv_free_n (s->ops[j].syscalls, s->ops[j].n_syscalls);
          free (s->ops[j].path);
        }
      free (s->ops);
      free (s->decl_pos);
      free (s->rootfs);
      if (s->mock)
        fb_mock_config_clear (s->mock);
      free (s->mock);
      for (size_t j = 0; j < s->n_volumes; j++)
        {
          free (s->volumes[j].src);
          free (s->volumes[j].dst);
        }
      free (s->volumes);
      for (int k = 0; k < 2; k++)
        {
          free (s->observe[k].decoder);
          free (s->observe[k].pattern);
        }
      free (s->user);
      free (s->image);
      fb_strv_free (s->layers);
      free (s->cwd);
      fb_strv_free (s->warnings);
    }
  free (p->services);
  memset (p, 0, sizeof *p);
}
