/* Observing service output (Faultbox's service(observe=)): observe.stdout()
 * and observe.stderr() sources, decoder("json" | "logfmt" | "regex",
 * pattern=), and the decoding of each line into a stdout or stderr event.
 * Regexes are POSIX extended (regcomp) after a translation of Go's syntax:
 * named groups (?P<name>...) and (?<name>...) lose their names, kept as a
 * group index -> name map; (?:...) becomes a plain group; \d and \D become
 * [0-9] and [^0-9]. Other (?...) forms are refused. */
#include <json-c/json.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"

typedef struct {
  char *kind;           /* "json", "logfmt", "regex" */
  char *pattern;
} decoder_val;

typedef struct {
  int stream;           /* 1 stdout, 2 stderr */
  decoder_val *decoder; /* NULL: none; the decoder value's, alive as long as the spec */
} source_val;

static const fb_host_type decoder_type;

static void
decoder_free (void *p)
{
  decoder_val *d = p;
  free (d->kind);
  free (d->pattern);
  free (d);
}

static char *
decoder_repr (fb_value *self)
{
  decoder_val *d = fb_host_data (self, &decoder_type);
  return fb_xasprintf ("decoder(\"%s\")", d->kind);
}

static const fb_host_type decoder_type = { .name = "decoder", .repr = decoder_repr, .destroy = decoder_free };
static const fb_host_type source_type = { .name = "observe_source", .destroy = free };

/* ---- Go regex syntax to POSIX ------------------------------------------ */

typedef struct {
  regex_t re;
  char **names;         /* by group index, NULL for unnamed */
  size_t n_groups;
} go_regex;

static void
go_regex_free (go_regex *g)
{
  regfree (&g->re);
  for (size_t i = 0; i <= g->n_groups; i++)
    free (g->names[i]);
  free (g->names);
}

/* Translates pattern into out, filling names; NULL or what is refused. */
static const char *
translate (const char *p, fb_buf *out, char ***names, size_t *n)
{
  bool bracket = false;
  for (; *p; p++)
    {
      if (*p == '\\' && p[1])
        {
          if (!bracket && (p[1] == 'd' || p[1] == 'D'))
            fb_buf_puts (out, p[1] == 'd' ? "[0-9]" : "[^0-9]");
          else
            fb_buf_append (out, p, 2);
          p++;
          continue;
        }
      if (bracket)
        bracket = *p != ']';
      else if (*p == '[')
        {
          bracket = true;
          fb_buf_putc (out, *p++);
          /* a ']' first (after '^') is a member */
          if (*p == '^')
            fb_buf_putc (out, *p++);
          if (*p == ']')
            fb_buf_putc (out, *p++);
          p--;
          continue;
        }
      else if (*p == '(')
        {
          char *name = NULL;
          if (p[1] == '?')
            {
              const char *q = p + 2;
              if (*q == 'P')
                q++;
              const char *end = *q == '<' ? strchr (q, '>') : NULL;
              if (*q == ':')
                p += 2;
              else if (end && end > q + 1)
                {
                  name = fb_xstrndup (q + 1, (size_t) (end - q - 1));
                  p = end;
                }
              else
                return "only (?P<name>...), (?<name>...) and (?:...) groups are supported";
            }
          *names = fb_xreallocarray (*names, ++*n + 1, sizeof **names);
          (*names)[*n] = name;
          fb_buf_putc (out, '(');
          continue;
        }
      fb_buf_putc (out, *p);
    }
  return NULL;
}

/* 0, or -1 with why filled ("invalid pattern: ..."). */
static int
go_regex_compile (const char *pattern, go_regex *g, fb_buf *why)
{
  _cleanup_buf_ fb_buf posix = FB_BUF_INIT;
  g->names = fb_xcalloc (1, sizeof *g->names);
  g->n_groups = 0;
  const char *bad = translate (pattern, &posix, &g->names, &g->n_groups);
  int rc = bad ? -1 : regcomp (&g->re, fb_buf_str (&posix), REG_EXTENDED);
  if (!bad && !rc)
    return 0;
  char msg[256];
  if (!bad)
    regerror (rc, &g->re, msg, sizeof msg);
  fb_buf_printf (why, "invalid pattern: %s", bad ? bad : msg);
  for (size_t i = 0; i <= g->n_groups; i++)
    free (g->names[i]);
  free (g->names);
  return -1;
}

/* ---- builtins ---------------------------------------------------------- */

/* decoder(name, **kw) */
static fb_value *
b_decoder (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  const char *name = a->npos == 1 && fb_value_type_of (a->pos[0]) == FB_V_STRING
                         ? fb_value_as_string (a->pos[0], NULL) : NULL;
  if (!name)
    return fb_star_errorf (th, "decoder(name, ...): takes exactly one positional argument (the decoder name)");
  bool regex = !strcmp (name, "regex");
  if (!regex && strcmp (name, "json") && strcmp (name, "logfmt"))
    return fb_star_errorf (th, "decoder(\"%s\"): unknown decoder; known names: \"json\", \"logfmt\", \"regex\"",
                           name);
  const char *pattern = NULL;
  for (size_t i = 0; i < a->nkw; i++)
    if (regex && !strcmp (a->kwnames[i], "pattern") && fb_value_type_of (a->kwvals[i]) == FB_V_STRING)
      pattern = fb_value_as_string (a->kwvals[i], NULL);
    else
      return fb_star_errorf (th, "decoder(\"%s\"): unexpected %s= (%s)", name, a->kwnames[i],
                             regex ? "it takes pattern=, a string" : "it takes no keyword arguments");
  if (regex && !pattern)
    return fb_star_errorf (th, "decoder(\"regex\", pattern=...): requires pattern= kwarg");
  go_regex g;
  _cleanup_buf_ fb_buf why = FB_BUF_INIT;
  if (regex && go_regex_compile (pattern, &g, &why) < 0)
    return fb_star_errorf (th, "decoder \"regex\": regex decoder: %s", fb_buf_str (&why));
  if (regex)
    go_regex_free (&g);
  decoder_val *d = FB_NEW (decoder_val);
  d->kind = fb_xstrdup (name);
  d->pattern = pattern ? fb_xstrdup (pattern) : NULL;
  return fb_host_new (th, &decoder_type, d);
}

static fb_value *
make_source (fb_star_thread *th, const fb_star_args *a, int stream)
{
  const char *fname = stream == 1 ? "observe.stdout" : "observe.stderr";
  fb_value *dec = NULL;
  if (fb_star_unpack (th, fname, a, "decoder?", &dec, NULL) < 0)
    return NULL;
  decoder_val *d = dec && dec != fb_none () ? fb_host_data (dec, &decoder_type) : NULL;
  if (dec && dec != fb_none () && !d)
    return fb_star_errorf (th, "%s: decoder= must be decoder(...), got %s", fname, fb_value_type_name (dec));
  source_val *s = FB_NEW (source_val);
  *s = (source_val) { stream, d };
  /* the source refers to the decoder: keep it alive with the spec */
  return fb_host_new (th, &source_type, s);
}

static fb_value *
b_stdout (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return make_source (th, a, 1);
}

static fb_value *
b_stderr (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  return make_source (th, a, 2);
}

int
spec_observe_items (fb_star_thread *th, fb_plan_service *sv, fb_value *items)
{
  fb_value_type t = fb_value_type_of (items);
  if (t != FB_V_LIST && t != FB_V_TUPLE)
    {
      fb_star_errorf (th, "service %s: observe= must be a list of observe.stdout()/observe.stderr(), got %s",
                      sv->name, fb_value_type_name (items));
      return -1;
    }
  for (long i = 0; i < fb_value_len (items); i++)
    {
      fb_value *v = fb_value_at (items, (size_t) i);
      source_val *s = fb_host_data (v, &source_type);
      if (!s)
        {
          fb_star_errorf (th, "service() observe items must be stdout()/topic()/etc, got %s", fb_value_type_name (v));
          return -1;
        }
      fb_plan_observe *o = &sv->observe[s->stream - 1];
      free (o->decoder);
      free (o->pattern);
      *o = (fb_plan_observe) { .on = true, .decoder = s->decoder ? fb_xstrdup (s->decoder->kind) : NULL,
                               .pattern = s->decoder && s->decoder->pattern ? fb_xstrdup (s->decoder->pattern) : NULL };
    }
  return 0;
}

void
spec_predeclare_observe (fb_spec *s)
{
  static const spec_builtin fns[] = { { "decoder", b_decoder } };
  spec_predeclare_all (s, fns, 1);
  const char *names[] = { "stdout", "stderr" };
  fb_value *vals[] = { fb_builtin_new (s->th, "stdout", b_stdout, NULL),
                       fb_builtin_new (s->th, "stderr", b_stderr, NULL) };
  fb_star_predeclare (s->th, "observe", fb_struct_new (s->th, 2, names, vals));
}

/* ---- decoding, on the lab's watcher thread ----------------------------- */

typedef enum { DEC_NONE, DEC_JSON, DEC_LOGFMT, DEC_REGEX } dec_kind;

typedef struct {
  dec_kind kind;
  go_regex re;
} decoder_rt;

struct session_decoders {
  decoder_rt *d;        /* [service * 2 + stream - 1] */
  size_t n;
};

int
session_observe_open (fb_session *ss, fb_error *err)
{
  const fb_plan *p = &ss->spec->plan;
  struct session_decoders *sd = FB_NEW (struct session_decoders);
  sd->n = p->n_services * 2;
  sd->d = fb_xcalloc (sd->n + 1, sizeof *sd->d);
  ss->decoders = sd;
  for (size_t i = 0; i < sd->n; i++)
    {
      const fb_plan_observe *o = &p->services[i / 2].observe[i % 2];
      const char *k = o->decoder ? o->decoder : "";
      sd->d[i].kind = !strcmp (k, "json") ? DEC_JSON : !strcmp (k, "logfmt") ? DEC_LOGFMT
                      : !strcmp (k, "regex") ? DEC_REGEX : DEC_NONE;
      _cleanup_buf_ fb_buf why = FB_BUF_INIT;
      if (sd->d[i].kind == DEC_REGEX && go_regex_compile (o->pattern, &sd->d[i].re, &why) < 0)
        {
          sd->d[i].kind = DEC_NONE;
          return fb_error_set (err, EINVAL, "service %s: decoder \"regex\": %s", p->services[i / 2].name,
                               fb_buf_str (&why));
        }
    }
  return 0;
}

void
session_observe_close (fb_session *ss)
{
  struct session_decoders *sd = ss->decoders;
  if (!sd)
    return;
  for (size_t i = 0; i < sd->n; i++)
    if (sd->d[i].kind == DEC_REGEX)
      go_regex_free (&sd->d[i].re);
  free (sd->d);
  free (sd);
  ss->decoders = NULL;
}

/* Fields as key, value pairs (owned), in the order they are set. */
typedef struct {
  char **kv;
  size_t n;
} fields;

static void
field_put (fields *f, char *k, char *v)
{
  f->kv = fb_xreallocarray (f->kv, f->n + 3, sizeof *f->kv);
  f->kv[f->n++] = k;
  f->kv[f->n++] = v;
  f->kv[f->n] = NULL;
}

static void
fields_clear (fields *f)
{
  for (size_t i = 0; i < f->n; i++)
    free (f->kv[i]);
  free (f->kv);
}

/* Go's fmt.Sprint of a float64 (JSON numbers are float64 in Go): the
 * shortest digits that read back, in %e form when the exponent is below
 * -4 or at least 6, as Go's %v does ("1e+06", "42", "3.5"). */
static void
go_float (double d, fb_buf *out)
{
  if (isnan (d) || isinf (d))
    {
      fb_buf_puts (out, isnan (d) ? "NaN" : d > 0 ? "+Inf" : "-Inf");
      return;
    }
  char s[64];
  int prec = 1;
  for (; prec < 17; prec++)
    {
      snprintf (s, sizeof s, "%.*e", prec - 1, d);
      if (strtod (s, NULL) == d)
        break;
    }
  snprintf (s, sizeof s, "%.*e", prec - 1, d);
  int exp = atoi (strchr (s, 'e') + 1);
  if (exp < -4 || exp >= 6)
    fb_buf_puts (out, s);
  else
    fb_buf_printf (out, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, d);
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Go's fmt.Sprint of a decoded JSON value. */
static void
go_sprint (json_object *o, fb_buf *out)
{
  switch (json_object_get_type (o))
    {
    case json_type_null:
      fb_buf_puts (out, "<nil>");
      break;
    case json_type_boolean:
      fb_buf_puts (out, json_object_get_boolean (o) ? "true" : "false");
      break;
    case json_type_double:
    case json_type_int:
      go_float (json_object_get_double (o), out);
      break;
    case json_type_string:
      fb_buf_append (out, json_object_get_string (o), (size_t) json_object_get_string_len (o));
      break;
    case json_type_array:
      fb_buf_putc (out, '[');
      for (size_t i = 0; i < json_object_array_length (o); i++)
        {
          if (i)
            fb_buf_putc (out, ' ');
          go_sprint (json_object_array_get_idx (o, i), out);
        }
      fb_buf_putc (out, ']');
      break;
    case json_type_object:
      {
        /* Go prints maps with their keys sorted */
        size_t n = (size_t) json_object_object_length (o), k = 0;
        _cleanup_free_ const char **keys = fb_xcalloc (n + 1, sizeof *keys);
        json_object_object_foreach (o, key, val)
          {
            (void) val;
            keys[k++] = key;
          }
        qsort (keys, k, sizeof *keys, cmp_str);
        fb_buf_puts (out, "map[");
        for (size_t i = 0; i < k; i++)
          {
            fb_buf_printf (out, "%s%s:", i ? " " : "", keys[i]);
            go_sprint (json_object_object_get (o, keys[i]), out);
          }
        fb_buf_putc (out, ']');
        break;
      }
    }
}

static void
decode_json (const char *line, size_t len, fields *f)
{
  json_tokener *tok = json_tokener_new ();
  json_object *o = json_tokener_parse_ex (tok, line, (int) len);
  bool whole = o && json_tokener_get_error (tok) == json_tokener_success
               && (size_t) json_tokener_get_parse_end (tok) == len;
  json_tokener_free (tok);
  field_put (f, fb_xstrdup ("data"), fb_xstrndup (line, len));
  if (whole && json_object_is_type (o, json_type_object))
    {
      json_object_object_foreach (o, key, val)
        {
          fb_buf b = FB_BUF_INIT;
          go_sprint (val, &b);
          field_put (f, fb_xstrdup (key), fb_buf_steal (&b));
        }
    }
  json_object_put (o);
}

/* Go's json.Marshal of a map[string]string: keys sorted, <, >, & escaped. */
static char *
go_json_map (fields *f, size_t from)
{
  size_t n = (f->n - from) / 2;
  _cleanup_free_ size_t *order = fb_xcalloc (n + 1, sizeof *order);
  for (size_t i = 0; i < n; i++)
    order[i] = from + 2 * i;
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && strcmp (f->kv[order[j - 1]], f->kv[order[j]]) > 0; j--)
      {
        size_t t = order[j];
        order[j] = order[j - 1], order[j - 1] = t;
      }
  fb_buf b = FB_BUF_INIT;
  fb_buf_putc (&b, '{');
  for (size_t i = 0; i < n; i++)
    for (int kv = 0; kv < 2; kv++)
      {
        fb_buf_puts (&b, kv ? ":\"" : i ? ",\"" : "\"");
        for (const unsigned char *c = (const unsigned char *) f->kv[order[i] + (size_t) kv]; *c; c++)
          if (*c == '"' || *c == '\\')
            fb_buf_printf (&b, "\\%c", *c);
          else if (*c < 0x20 || *c == '<' || *c == '>' || *c == '&')
            fb_buf_printf (&b, "\\u%04x", *c);
          else
            fb_buf_putc (&b, (char) *c);
        fb_buf_putc (&b, '"');
      }
  fb_buf_putc (&b, '}');
  return fb_buf_steal (&b);
}

/* key=value and key="quoted value" pairs; no escapes */
static void
decode_logfmt (const char *line, size_t len, fields *f)
{
  const char *p = line, *end = line + len;
  while (p < end)
    {
      while (p < end && *p == ' ')
        p++;
      const char *k = p;
      while (p < end && *p != '=' && *p != ' ')
        p++;
      if (p >= end || *p != '=' || p == k)
        {
          while (p < end && *p != ' ')
            p++;
          continue;
        }
      char *key = fb_xstrndup (k, (size_t) (p - k));
      const char *v = ++p;
      if (p < end && *p == '"')
        {
          v = ++p;
          while (p < end && *p != '"')
            p++;
          field_put (f, key, fb_xstrndup (v, (size_t) (p - v)));
          p += p < end;
          continue;
        }
      while (p < end && *p != ' ')
        p++;
      field_put (f, key, fb_xstrndup (v, (size_t) (p - v)));
    }
  field_put (f, fb_xstrdup ("data"), go_json_map (f, 0));
}

static void
decode_regex (const go_regex *g, const char *line, size_t len, fields *f)
{
  _cleanup_free_ char *s = fb_xstrndup (line, len);
  _cleanup_free_ regmatch_t *m = fb_xcalloc (g->n_groups + 1, sizeof *m);
  if (regexec (&g->re, s, g->n_groups + 1, m, 0) != 0)
    {
      field_put (f, fb_xstrdup ("raw"), fb_xstrdup (s));
      return;
    }
  for (size_t i = 1; i <= g->n_groups; i++)
    if (g->names[i])
      field_put (f, fb_xstrdup (g->names[i]),
                 m[i].rm_so < 0 ? fb_xstrdup ("") : fb_xstrndup (s + m[i].rm_so, (size_t) (m[i].rm_eo - m[i].rm_so)));
  field_put (f, fb_xstrdup ("data"), go_json_map (f, 0));
}

void
session_service_output (fb_session *ss, size_t idx, int stream, const char *line, size_t len)
{
  const decoder_rt *d = ss->decoders ? &ss->decoders->d[idx * 2 + (size_t) stream - 1] : NULL;
  fields f = { 0 };
  switch (d ? d->kind : DEC_NONE)
    {
    case DEC_JSON:
      decode_json (line, len, &f);
      break;
    case DEC_LOGFMT:
      decode_logfmt (line, len, &f);
      break;
    case DEC_REGEX:
      decode_regex (&d->re, line, len, &f);
      break;
    default:
      field_put (&f, fb_xstrdup ("raw"), fb_xstrndup (line, len));
    }
  session_event (ss, stream == 1 ? "stdout" : "stderr", ss->spec->plan.services[idx].name,
                 (const char *const *) f.kv);
  fields_clear (&f);
}
