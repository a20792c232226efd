/* Loading a spec: running it with the spec builtins, test discovery, and
 * the seccomp filter each service needs. */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultbox/protocol.h"
#include "lang/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"

/* Steps a spec may take while it loads (about 0.2 s): plenty for building
 * services and fault matrices, a clear error for a runaway loop. */
#define SPEC_LOAD_MAX_STEPS 10000000

fb_spec *
spec_of (fb_star_thread *th)
{
  return fb_star_user (th);
}

fb_session *
spec_session (fb_star_thread *th, const char *fname, const char *what)
{
  fb_session *ss = spec_of (th)->session;
  if (!ss)
    fb_star_errorf (th, "%s: %s (called while loading the spec)", fname, what);
  return ss;
}

/* Faultbox keywords not implemented yet raise rather than be silently
 * ignored. With falsy_ok, a falsy value (None, False, "", []) asks for
 * nothing, so a spec spelling out that default (tls=False) still loads. */
int
spec_unsupported (fb_star_thread *th, const char *fname, const char *name, const char *kw,
                  fb_value *v, bool falsy_ok)
{
  if (!v || v == fb_none () || (falsy_ok && !fb_value_truth (v)))
    return 0;
  fb_star_errorf (th, "%s%s%s: %s= is not supported yet", fname, name ? " " : "",
                  name ? name : "", kw);
  return -1;
}

void
spec_predeclare_all (fb_spec *s, const spec_builtin *fns, size_t n)
{
  for (size_t i = 0; i < n; i++)
    fb_star_predeclare (s->th, fns[i].name, fb_builtin_new (s->th, fns[i].name, fns[i].fn, NULL));
}

/* ---- loading ----------------------------------------------------------- */

void
spec_strv_add (char ***v, size_t *n, char *const *add)
{
  for (char *const *p = add; p && *p; p++)
    {
      bool have = false;
      for (size_t i = 0; i < *n; i++)
        have |= !strcmp ((*v)[i], *p);
      if (have)
        continue;
      *v = fb_xreallocarray (*v, *n + 2, sizeof **v);
      (*v)[(*n)++] = fb_xstrdup (*p);
      (*v)[*n] = NULL;
    }
}

static void
filter_add (fb_spec *sp, size_t svc, char **syscalls)
{
  spec_strv_add (&sp->filters[svc], &sp->n_filters[svc], syscalls);
}

/* A keyword of fault() names an op of the service or a syscall family. */
static void
filter_add_keyword (fb_spec *sp, size_t svc, const char *kw)
{
  const fb_plan_service *s = &sp->plan.services[svc];
  for (size_t i = 0; i < s->n_ops; i++)
    if (!strcmp (s->ops[i].name, kw))
      {
        for (size_t j = 0; j < s->ops[i].n_syscalls; j++)
          filter_add_keyword (sp, svc, s->ops[i].syscalls[j]);
        return;
      }
  char **fam = NULL;
  if (fb_syscall_family (kw, &fam, NULL) == 0)
    filter_add (sp, svc, fam);
  fb_strv_free (fam);
}

static ssize_t
scan_target (fb_spec *sp, const char *ident)
{
  if (!ident)
    return -1;
  fb_value *v = fb_star_module_get (sp->mod, ident);
  service_ref *r = v ? fb_host_data (v, &spec_service_type) : NULL;
  if (r)
    return (ssize_t) r->svc;
  ssize_t i = fb_plan_find_service (&sp->plan, ident);
  return i;
}

/* ---- the proxy's interfaces ---------------------------------------------- */

static void
proxied_grow (fb_spec *sp)
{
  const fb_plan *p = &sp->plan;
  size_t n = 0;
  for (size_t i = 0; i < p->n_services; i++)
    n += p->services[i].n_ifaces;
  if (n > sp->n_proxied)
    {
      sp->proxied = fb_xreallocarray (sp->proxied, n, sizeof *sp->proxied);
      memset (sp->proxied + sp->n_proxied, 0, (n - sp->n_proxied) * sizeof *sp->proxied);
      sp->n_proxied = n;
    }
  if (p->n_services > sp->n_proxied_svc)
    {
      sp->proxied_svc = fb_xreallocarray (sp->proxied_svc, p->n_services, sizeof *sp->proxied_svc);
      memset (sp->proxied_svc + sp->n_proxied_svc, 0, (p->n_services - sp->n_proxied_svc) * sizeof *sp->proxied_svc);
      sp->n_proxied_svc = p->n_services;
    }
}

void
spec_mark_proxied (fb_spec *sp, ssize_t svc, ssize_t iface)
{
  proxied_grow (sp);
  size_t k = 0;
  for (size_t i = 0; i < sp->plan.n_services; i++)
    for (size_t j = 0; j < sp->plan.services[i].n_ifaces; j++, k++)
      {
        const fb_plan_service *s = &sp->plan.services[i];
        const fb_protocol *p = fb_protocol_find (s->ifaces[j].protocol);
        /* the proxy does not terminate TLS: a TLS mock's bytes are relayed */
        if ((svc >= 0 && (size_t) svc != i) || (iface >= 0 && (size_t) iface != j) || !p || !p->framing
            || (s->mock && s->mock->ifaces[j].tls.cert))
          continue;
        sp->proxied[k] = sp->proxied_svc[i] = sp->proxied_any = true;
      }
}

/* fault(svc.iface, ...), fault_start(svc.iface, ...) and
 * fault_assumption(target=svc.iface, rules=...) name an interface whose
 * messages the proxy must frame; a target the scan cannot tell (a
 * parameter) with rules (positional ones, or rules=) proxies every
 * interface it could frame. Interfaces no call names are not proxied. */
static void
scan_proxy (fb_spec *sp, const fb_star_callsite *cs)
{
  bool assumption = !strcmp (cs->callee, "fault_assumption");
  const fb_star_scan_arg *target = NULL;
  bool rules = false;
  for (size_t i = 0; i < cs->n_args; i++)
    {
      const fb_star_scan_arg *x = &cs->args[i];
      if (assumption ? x->keyword && !strcmp (x->keyword, "target") : !x->keyword && i == 0)
        target = x;
      rules |= (x->keyword && !strcmp (x->keyword, "rules")) || (!assumption && !x->keyword && i > 0);
    }
  if (!target)
    return;
  if (target->dot_ident)
    {
      ssize_t s = scan_target (sp, target->dot_ident);
      const fb_plan_service *ps = s >= 0 ? &sp->plan.services[s] : NULL;
      for (size_t j = 0; ps && j < ps->n_ifaces; j++)
        if (!strcmp (ps->ifaces[j].name, target->dot_attr))
          spec_mark_proxied (sp, s, (ssize_t) j);
      if (!ps && rules)
        spec_mark_proxied (sp, -1, -1);
      return;
    }
  fb_value *v = target->ident ? fb_star_module_get (sp->mod, target->ident) : NULL;
  iface_ref *r = v ? fb_host_data (v, &spec_iface_ref_type) : NULL;
  if (r)
    spec_mark_proxied (sp, (ssize_t) r->svc, (ssize_t) r->iface);
  else if (rules && !(v && fb_host_data (v, &spec_service_type)))
    spec_mark_proxied (sp, -1, -1);
}

/* Each call that can install a rule adds its syscalls to the filter of the
 * service it names; when the target cannot be told statically (a
 * parameter, a computed value), to every service. */
static void
scan_call (void *ctx, const fb_star_callsite *cs)
{
  fb_spec *sp = ctx;
  const char *c = cs->callee;
  bool fault = !strcmp (c, "fault") || !strcmp (c, "fault_start")
               || !strcmp (c, "fault_assumption") || !strcmp (c, "fault_all");
  bool trace = !strcmp (c, "trace") || !strcmp (c, "trace_start");
  /* these name a service and a syscall by keyword; routing it makes an
   * assertion about it meaningful */
  bool monitor = !strcmp (c, "monitor") || !strcmp (c, "match.event")
                 || !strcmp (c, "assert_never") || !strcmp (c, "assert_eventually")
                 || !strcmp (c, "events");
  sp->has_parallel |= !strcmp (c, "parallel");
  if (!fault && !trace && !monitor)
    return;
  if (fault)
    scan_proxy (sp, cs);
  const char *target = NULL;
  bool target_known = false;
  for (size_t i = 0; i < cs->n_args; i++)
    {
      const fb_star_scan_arg *x = &cs->args[i];
      /* fault_assumption and monitor name their service by keyword */
      bool positional = strcmp (c, "fault_assumption") && !monitor;
      bool is_target = (!x->keyword && i == 0 && positional)
                       || (x->keyword && (!strcmp (x->keyword, "target")
                                          || !strcmp (x->keyword, "service")));
      if (is_target)
        {
          target = x->ident ? x->ident : x->string;
          target_known = true;
        }
    }
  ssize_t t = target_known ? scan_target (sp, target) : -1;
  for (size_t svc = 0; svc < sp->plan.n_services; svc++)
    {
      if (t >= 0 && (size_t) t != svc)
        continue;
      for (size_t i = 0; i < cs->n_args; i++)
        {
          const fb_star_scan_arg *x = &cs->args[i];
          if (!x->keyword)
            continue;
          if (trace && !strcmp (x->keyword, "syscalls"))
            for (size_t k = 0; k < x->n_strings; k++)
              filter_add_keyword (sp, svc, x->strings[k]);
          else if (monitor && !strcmp (x->keyword, "syscall") && x->string)
            filter_add_keyword (sp, svc, x->string);
          else if (fault)
            filter_add_keyword (sp, svc, x->keyword);
        }
    }
}

static int
cmp_tests (const void *a, const void *b)
{
  return strcmp (((const spec_test *) a)->name, ((const spec_test *) b)->name);
}

void
spec_record_file (fb_spec *sp, const char *real)
{
  for (size_t i = 0; i < sp->n_files; i++)
    if (!strcmp (sp->files[i], real))
      return;
  sp->files = fb_xreallocarray (sp->files, sp->n_files + 1, sizeof *sp->files);
  sp->files[sp->n_files++] = fb_xstrdup (real);
}

/* Where load("@faultbox/...") reads from: $FAULTBOX_STDLIB, else the
 * source tree's stdlib/ for a binary of the build tree, else beside an
 * installed binary (BIN/../share/faultbox/stdlib), else the configured
 * datadir. */
static char *
stdlib_dir (void)
{
  const char *env = getenv ("FAULTBOX_STDLIB");
  if (env && *env)
    return fb_xstrdup (env);
  char exe[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0)
    {
      exe[n] = '\0';
      size_t bl = strlen (FB_BUILD_ROOT);
      if (!strncmp (exe, FB_BUILD_ROOT, bl) && exe[bl] == '/')
        return fb_xstrdup (FB_STDLIB_SOURCE);
      char *beside = fb_xasprintf ("%s/../share/faultbox/stdlib", dirname (exe));
      if (access (beside, R_OK) == 0)
        return beside;
      free (beside);
    }
  return fb_xstrdup (FB_STDLIB_DATADIR);
}

/* "@faultbox/recipes/http.star" as a path in the standard library; an
 * unknown module fails naming the known ones. */
static char *
stdlib_module (const char *name, fb_error *err)
{
  _cleanup_free_ char *dir = stdlib_dir ();
  const char *rel = name + strlen ("@faultbox/");
  char *path = fb_xasprintf ("%s/%s", dir, rel);
  if (!strstr (rel, "..") && access (path, R_OK) == 0)
    return path;
  free (path);
  fb_buf known = FB_BUF_INIT;
  static const char *const areas[] = { "recipes", "mocks" };
  for (size_t i = 0; i < 2; i++)
    {
      _cleanup_free_ char *sub = fb_xasprintf ("%s/%s", dir, areas[i]);
      struct dirent **ents;
      int ne = scandir (sub, &ents, NULL, alphasort);
      for (int k = 0; k < ne; k++)
        {
          size_t l = strlen (ents[k]->d_name);
          if (l > 5 && !strcmp (ents[k]->d_name + l - 5, ".star"))
            fb_buf_printf (&known, "%s@faultbox/%s/%s", known.len ? ", " : "", areas[i], ents[k]->d_name);
          free (ents[k]);
        }
      if (ne >= 0)
        free (ents);
    }
  fb_error_set (err, ENOENT, "load \"%s\": not found in faultbox's standard library (%s%s)", name,
                known.len ? "known: " : "none installed at ", known.len ? fb_buf_str (&known) : dir);
  fb_buf_free (&known);
  return NULL;
}

/* load() as Starlark does it, but from the copies when the spec is read
 * from copies, and noting every file read. */
static int
spec_loader (fb_star_thread *th, void *ctx, const char *from, const char *name, fb_star_module **out,
             fb_error *err)
{
  fb_spec *sp = ctx;
  const fb_spec_source *src = sp->src;
  if (src && src->copy && !strcmp (from, sp->file))
    from = src->copy;
  for (size_t i = 0; src && i < src->n_moved; i++)
    if (!strcmp (name, src->moved_from[i]))
      name = src->moved_to[i];
  _cleanup_free_ char *std = NULL;
  if (!strncmp (name, "@faultbox/", 10) && !(name = std = stdlib_module (name, err)))
    return -1;
  if (fb_star_default_loader (th, NULL, from, name, out, err) < 0)
    return -1;
  spec_record_file (sp, fb_star_module_file (*out));
  return 0;
}

static int
exec_spec (fb_spec *sp, const fb_spec_source *src, fb_error *err)
{
  if (!src->copy)
    return fb_star_exec_file (sp->th, src->path, &sp->mod, err);
  _cleanup_buf_ fb_buf text = FB_BUF_INIT;
  if (fb_buf_read_file (&text, src->copy, err) < 0)
    return -1;
  return fb_star_exec_string (sp->th, src->path, text.data ? text.data : "", text.len, &sp->mod, err);
}

int
fb_spec_load_source (const fb_spec_source *src, fb_spec **out, fb_error *err)
{
  const char *path = src->path;
  fb_spec *sp = FB_NEW (fb_spec);
  sp->file = fb_xstrdup (path);
  char abs[PATH_MAX];
  if (!realpath (src->copy ? src->copy : path, abs))
    {
      fb_error_setsys (err, errno, "cannot open %s", src->copy ? src->copy : path);
      fb_spec_free (sp);
      return -1;
    }
  spec_record_file (sp, abs);
  sp->dir = fb_xstrdup (src->dir ? src->dir : dirname (abs));
  /* loading an untrusted spec is bounded in steps and memory; test bodies
   * are bounded by their timeout instead (long polling loops are fine) */
  fb_star_config cfg = { .dialect = FB_STAR_DIALECT_FAULTBOX,
                         .print = src->print, /* NULL: print() goes nowhere */
                         .print_ctx = src->print_ctx,
                         .max_steps = SPEC_LOAD_MAX_STEPS,
                         .max_memory = (size_t) 1 << 30,
                         .loader = spec_loader,
                         .loader_ctx = sp };
  sp->src = src;
  sp->th = fb_star_thread_new (&cfg);
  fb_star_set_user (sp->th, sp);
  spec_predeclare_topology (sp);
  spec_predeclare_faults (sp);
  spec_predeclare_proxyfaults (sp);
  spec_predeclare_mocks (sp);
  spec_predeclare_client (sp);
  spec_predeclare_netfaults (sp);
  spec_predeclare_steps (sp);
  spec_predeclare_domain (sp);
  spec_predeclare_events (sp);
  spec_predeclare_time (sp);
  spec_predeclare_choose (sp);
  spec_predeclare_data (sp);
  spec_predeclare_expect (sp);
  spec_predeclare_determinism (sp);
  spec_predeclare_lifecycle (sp);
  spec_predeclare_observe (sp);
  int loaded = exec_spec (sp, src, err);
  sp->src = NULL;
  if (loaded < 0)
    {
      fb_spec_free (sp);
      return -1;
    }
  fb_star_set_step_limit (sp->th, 0);
  /* dependency cycles are load errors */
  size_t *order = fb_xcalloc (sp->plan.n_services + 1, sizeof *order);
  int rc = fb_plan_start_order (&sp->plan, order, err);
  free (order);
  if (rc < 0)
    {
      fb_error_prefix (err, "%s", path);
      fb_spec_free (sp);
      return -1;
    }
  for (size_t i = 0; i < fb_star_module_size (sp->mod); i++)
    {
      fb_value *v;
      const char *name = fb_star_module_name_at (sp->mod, i, &v);
      if (strncmp (name, "test_", 5) || !v || !fb_value_is_callable (v))
        continue;
      const char *file = path;
      int line = 0, col = 0;
      fb_value_func_position (v, &file, &line, &col);
      spec_add_test (sp, &(spec_test) { .name = fb_xstrdup (name), .fn = v,
                                        .decl = fb_xasprintf ("%s:%d:%d", file, line, col) });
    }
  if (sp->n_tests) /* a spec without tests has no array: qsort wants one */
    qsort (sp->tests, sp->n_tests, sizeof *sp->tests, cmp_tests);
  for (size_t i = 1; i < sp->n_tests; i++)
    if (!strcmp (sp->tests[i - 1].name, sp->tests[i].name))
      {
        fb_error_set (err, EEXIST, "%s: test %s is defined twice (at %s and at %s)", path,
                      sp->tests[i].name, sp->tests[i - 1].decl, sp->tests[i].decl);
        fb_spec_free (sp);
        return -1;
      }
  sp->filters = fb_xcalloc (sp->plan.n_services + 1, sizeof *sp->filters);
  sp->n_filters = fb_xcalloc (sp->plan.n_services + 1, sizeof *sp->n_filters);
  fb_star_module_scan (sp->mod, scan_call, sp);
  proxied_grow (sp);
  *out = sp;
  return 0;
}

void
fb_spec_free (fb_spec *s)
{
  if (!s)
    return;
  for (size_t i = 0; s->filters && i < s->plan.n_services; i++)
    fb_strv_free (s->filters[i]);
  free (s->filters);
  free (s->n_filters);
  free (s->proxied);
  free (s->proxied_svc);
  free (s->det.decl);
  fb_plan_free (&s->plan);
  for (size_t i = 0; i < s->n_tests; i++)
    {
      free (s->tests[i].name);
      free (s->tests[i].decl);
      free (s->tests[i].matrix_scenario);
      free (s->tests[i].matrix_fault);
    }
  free (s->tests);
  fb_strv_free (s->matrix_scenarios);
  fb_strv_free (s->matrix_faults);
  free (s->monitors);
  free (s->mock_fns);
  fb_tls_pair_clear (&s->mock_ca);
  if (s->mock_ca_path && s->mock_ca_owner == getpid ())
    {
      unlink (s->mock_ca_path);
      *strrchr (s->mock_ca_path, '/') = '\0';
      rmdir (s->mock_ca_path);
    }
  free (s->mock_ca_path);
  fb_star_thread_free (s->th);
  free (s->file);
  free (s->dir);
  for (size_t i = 0; i < s->n_files; i++)
    free (s->files[i]);
  free (s->files);
  free (s);
}

size_t
fb_spec_file_count (const fb_spec *s)
{
  return s->n_files;
}

const char *
fb_spec_file (const fb_spec *s, size_t i)
{
  return s->files[i];
}

const char *
fb_spec_dir (const fb_spec *s)
{
  return s->dir;
}

const fb_plan *
fb_spec_plan (const fb_spec *s)
{
  return &s->plan;
}

size_t
fb_spec_test_count (const fb_spec *s)
{
  return s->n_tests;
}

const char *
fb_spec_test_name (const fb_spec *s, size_t i)
{
  return s->tests[i].name;
}

bool
fb_spec_test_is_matrix_cell (const fb_spec *s, size_t i)
{
  return s->tests[i].matrix_scenario != NULL;
}
