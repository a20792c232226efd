/* load_file, load_json, load_yaml: data files beside the spec, read as
 * Faultbox reads them (builtins_load_file.go), and recorded like load()ed
 * files so a replay bundle carries them. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "lang/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"

#define LOAD_MAX_BYTES_DEFAULT 52428800LL
/* nesting (and alias expansion) bound: a hostile file must not blow the stack */
#define YAML_MAX_DEPTH 200

static long long
max_bytes (void)
{
  const char *v = getenv ("FAULTBOX_LOAD_FILE_MAX_BYTES");
  char *end;
  long long n = v && *v ? strtoll (v, &end, 10) : 0;
  return v && *v && !*end && n > 0 ? n : LOAD_MAX_BYTES_DEFAULT;
}

/* With FAULTBOX_HERMETIC=1 a spec may read nothing outside its directory. */
static int
check_hermetic (fb_star_thread *th, const char *fname, const char *path, const char *real,
                const char *dir)
{
  const char *h = getenv ("FAULTBOX_HERMETIC");
  if (!h || strcmp (h, "1"))
    return 0;
  char rdir[PATH_MAX];
  if (!realpath (dir, rdir))
    snprintf (rdir, sizeof rdir, "%s", dir);
  size_t n = strlen (rdir);
  if (!strncmp (real, rdir, n) && (real[n] == '/' || !real[n] || !strcmp (rdir, "/")))
    return 0;
  fb_star_errorf (th, "%s(\"%s\"): %s escapes spec directory \"%s\" (FAULTBOX_HERMETIC=1)", fname, path,
                  real, rdir);
  return -1;
}

/* Reads path (relative: to the spec's directory) into out; raises naming
 * fname and the path as the user wrote it. */
int
spec_read_data (fb_star_thread *th, const char *fname, const char *path, fb_buf *out)
{
  fb_spec *sp = spec_of (th);
  if (strstr (path, "://"))
    {
      fb_star_errorf (th, "%s(\"%s\"): network schemes are not supported — inline the content or download separately",
                      fname, path);
      return -1;
    }
  if (!*path)
    {
      fb_star_errorf (th, "%s(\"\"): empty path", fname);
      return -1;
    }
  _cleanup_free_ char *full = path[0] == '/' ? fb_xstrdup (path) : fb_xasprintf ("%s/%s", sp->dir, path);
  const char *at = full;
  /* replaying a bundle: the file is the bundle's copy */
  for (size_t i = 0; sp->src && i < sp->src->n_moved; i++)
    if (!strcmp (full, sp->src->moved_from[i]))
      at = sp->src->moved_to[i];
  char real[PATH_MAX];
  struct stat st;
  if (!realpath (at, real) || stat (real, &st) < 0)
    {
      fb_star_errorf (th, "%s(\"%s\"): %s: %s", fname, path, full, strerror (errno));
      return -1;
    }
  if (check_hermetic (th, fname, path, real, sp->dir) < 0)
    return -1;
  if (S_ISDIR (st.st_mode))
    {
      fb_star_errorf (th, "%s(\"%s\"): %s: path is a directory", fname, path, full);
      return -1;
    }
  long long cap = max_bytes ();
  if (st.st_size > cap)
    {
      fb_star_errorf (th, "%s(\"%s\"): %lld bytes exceeds FAULTBOX_LOAD_FILE_MAX_BYTES (%lld); override the env var if intentional",
                      fname, path, (long long) st.st_size, cap);
      return -1;
    }
  fb_error e = { 0 };
  if (fb_buf_read_file (out, real, &e) < 0)
    {
      fb_star_errorf (th, "%s(\"%s\"): %s", fname, path, e.msg);
      return -1;
    }
  /* the bundle keeps the original path: where the spec will look again */
  spec_record_file (sp, at == full ? real : full);
  return 0;
}

static fb_value *
b_load_file (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  const char *path;
  if (fb_star_unpack (th, "load_file", a, "path:s", &path, NULL) < 0)
    return NULL;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  if (spec_read_data (th, "load_file", path, &b) < 0)
    return NULL;
  return fb_string_n (th, b.data ? b.data : "", b.len);
}

static fb_value *
b_load_json (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  const char *path;
  if (fb_star_unpack (th, "load_json", a, "path:s", &path, NULL) < 0)
    return NULL;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  if (spec_read_data (th, "load_json", path, &b) < 0)
    return NULL;
  fb_value *v = fb_star_json_decode (th, b.data ? b.data : "", b.len);
  if (!v && !fb_star_error_message (th))
    return fb_star_errorf (th, "load_json \"%s\": not valid JSON", path);
  return v;
}

/* ---- YAML -------------------------------------------------------------- */

typedef struct {
  fb_star_thread *th;
  yaml_document_t *doc;
  const char *path;
} yaml_ctx;

static bool
is_one_of (const char *s, const char *const *words)
{
  for (; *words; words++)
    if (!strcmp (s, *words))
      return true;
  return false;
}

/* A plain scalar resolved as YAML 1.2's core schema does (yaml.v3). */
static fb_value *
yaml_plain (fb_star_thread *th, const char *s)
{
  static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
  static const char *const trues[] = { "true", "True", "TRUE", NULL };
  static const char *const falses[] = { "false", "False", "FALSE", NULL };
  static const char *const infs[] = { ".inf", "+.inf", ".Inf", "+.Inf", ".INF", "+.INF", NULL };
  static const char *const ninfs[] = { "-.inf", "-.Inf", "-.INF", NULL };
  static const char *const nans[] = { ".nan", ".NaN", ".NAN", NULL };
  if (is_one_of (s, nulls))
    return fb_none ();
  if (is_one_of (s, trues) || is_one_of (s, falses))
    return fb_bool (is_one_of (s, trues));
  if (is_one_of (s, infs) || is_one_of (s, ninfs))
    return fb_float (th, is_one_of (s, infs) ? HUGE_VAL : -HUGE_VAL);
  if (is_one_of (s, nans))
    return fb_float (th, NAN);
  char *end;
  errno = 0;
  bool octal = !strncmp (s, "0o", 2);
  long long i = strtoll (octal ? s + 2 : s, &end, octal ? 8 : !strncmp (s, "0x", 2) ? 16 : 10);
  if (*s && !*end && !errno && strspn (s, "+-0123456789abcdefxoABCDEF") == strlen (s))
    return fb_int (th, i);
  double d = strtod (s, &end);
  if (*s && !*end && strspn (s, "+-0123456789.eE") == strlen (s))
    return fb_float (th, d);
  return fb_string (th, s);
}

static fb_value *yaml_node (yaml_ctx *c, yaml_node_t *n, int depth);

static fb_value *
yaml_mapping (yaml_ctx *c, yaml_node_t *n, int depth)
{
  fb_value *d = fb_dict_new (c->th);
  for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++)
    {
      fb_value *k = yaml_node (c, yaml_document_get_node (c->doc, p->key), depth + 1);
      if (!k)
        return NULL;
      if (fb_value_type_of (k) != FB_V_STRING)
        {
          _cleanup_free_ char *ks = fb_value_str (c->th, k);
          return fb_star_errorf (c->th, "load_yaml(\"%s\"): non-string map key %s — Starlark dicts require string keys",
                                 c->path, ks);
        }
      fb_value *v = yaml_node (c, yaml_document_get_node (c->doc, p->value), depth + 1);
      if (!v || fb_dict_set (c->th, d, k, v) < 0)
        return NULL;
    }
  return d;
}

static fb_value *
yaml_node (yaml_ctx *c, yaml_node_t *n, int depth)
{
  if (depth > YAML_MAX_DEPTH)
    return fb_star_errorf (c->th, "load_yaml \"%s\": nested deeper than %d levels", c->path, YAML_MAX_DEPTH);
  if (n->type == YAML_SCALAR_NODE)
    {
      const char *s = (const char *) n->data.scalar.value;
      const char *tag = (const char *) n->tag;
      /* (the loader tags every scalar !!str: only quoting says "string") */
      if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return fb_string_n (c->th, s, n->data.scalar.length);
      if (tag && !strcmp (tag, YAML_TIMESTAMP_TAG))
        return fb_star_errorf (c->th, "load_yaml(\"%s\"): unsupported value type time.Time", c->path);
      return yaml_plain (c->th, s);
    }
  if (n->type == YAML_MAPPING_NODE)
    return yaml_mapping (c, n, depth);
  fb_value *l = fb_list_new (c->th, 0, NULL);
  for (yaml_node_item_t *i = n->data.sequence.items.start; n->type == YAML_SEQUENCE_NODE && i < n->data.sequence.items.top; i++)
    {
      fb_value *v = yaml_node (c, yaml_document_get_node (c->doc, *i), depth + 1);
      if (!v || fb_list_append (c->th, l, v) < 0)
        return NULL;
    }
  return l;
}

static fb_value *
b_load_yaml (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  const char *path;
  if (fb_star_unpack (th, "load_yaml", a, "path:s", &path, NULL) < 0)
    return NULL;
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  if (spec_read_data (th, "load_yaml", path, &b) < 0)
    return NULL;
  yaml_parser_t p;
  yaml_document_t doc;
  yaml_parser_initialize (&p);
  yaml_parser_set_input_string (&p, (const unsigned char *) (b.data ? b.data : ""), b.len);
  if (!yaml_parser_load (&p, &doc))
    {
      fb_value *r = fb_star_errorf (th, "load_yaml \"%s\": yaml: line %zu: %s", path, p.problem_mark.line + 1,
                                    p.problem ? p.problem : "parse error");
      yaml_parser_delete (&p);
      return r;
    }
  yaml_node_t *root = yaml_document_get_root_node (&doc);
  yaml_ctx c = { th, &doc, path };
  fb_value *v = root ? yaml_node (&c, root, 0) : fb_none ();
  yaml_document_delete (&doc);
  yaml_parser_delete (&p);
  return v;
}

void
spec_predeclare_data (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "load_file", b_load_file }, { "load_json", b_load_json }, { "load_yaml", b_load_yaml },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}
