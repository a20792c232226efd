/* Protobuf by a FileDescriptorSet: the descriptors read with our own wire
 * reader (descriptor.proto's few fields we need), JSON to wire and back
 * as protojson does (field names or their json_name, enums by name, 64-bit
 * integers as strings or numbers, bytes as base64). */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "faultbox/protobuf.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/suggest.h"

/* descriptor.proto's FieldDescriptorProto.Type */
enum {
  T_DOUBLE = 1, T_FLOAT, T_INT64, T_UINT64, T_INT32, T_FIXED64, T_FIXED32, T_BOOL, T_STRING, T_GROUP, T_MESSAGE,
  T_BYTES, T_UINT32, T_ENUM, T_SFIXED32, T_SFIXED64, T_SINT32, T_SINT64,
};
#define LABEL_REPEATED 3
#define MAX_DEPTH 64

typedef struct {
  char *name, *json_name, *type_name; /* type_name without its leading dot */
  int number, label, type;
  bool in_oneof, packed;
} pb_field;

typedef struct {
  char *full;
  pb_field *fields;
  size_t n_fields;
  bool map_entry;
} pb_message;

typedef struct {
  char *full;
  char **names;
  int *numbers;
  size_t n;
} pb_enum;

typedef struct {
  char *path, *input, *output;
  bool streaming;
} pb_method;

struct fb_pb_set {
  pb_message *msgs;
  size_t n_msgs;
  pb_enum *enums;
  size_t n_enums;
  pb_method *methods;
  size_t n_methods;
};

/* ---- the wire ------------------------------------------------------------ */

typedef struct {
  const uint8_t *p, *end;
} rd;

static bool
rd_varint (rd *r, uint64_t *v)
{
  *v = 0;
  for (int shift = 0; shift < 64 && r->p < r->end; shift += 7)
    {
      uint8_t b = *r->p++;
      *v |= (uint64_t) (b & 0x7f) << shift;
      if (!(b & 0x80))
        return true;
    }
  return false;
}

/* One field: its number, wire type, and value (varint and fixed in v,
 * length-delimited in data/len). Groups (3, 4) are refused. */
static bool
rd_field (rd *r, uint32_t *num, int *wt, uint64_t *v, const uint8_t **data, size_t *len)
{
  uint64_t tag;
  if (!rd_varint (r, &tag) || tag >> 3 == 0 || tag >> 3 > 0x1fffffff)
    return false;
  *num = (uint32_t) (tag >> 3);
  *wt = (int) (tag & 7);
  size_t w = *wt == 1 ? 8 : *wt == 5 ? 4 : 0;
  switch (*wt)
    {
    case 0:
      return rd_varint (r, v);
    case 1:
    case 5:
      if ((size_t) (r->end - r->p) < w)
        return false;
      *v = 0;
      for (size_t i = 0; i < w; i++)
        *v |= (uint64_t) r->p[i] << (8 * i);
      r->p += w;
      return true;
    case 2:
      if (!rd_varint (r, v) || *v > (uint64_t) (r->end - r->p))
        return false;
      *data = r->p, *len = (size_t) *v;
      r->p += *len;
      return true;
    default:
      return false;
    }
}

void
fb_pb_put_varint (fb_buf *b, uint64_t v)
{
  while (v >= 0x80)
    {
      fb_buf_putc (b, (char) (v | 0x80));
      v >>= 7;
    }
  fb_buf_putc (b, (char) v);
}

static void
put_tag (fb_buf *b, int num, int wt)
{
  fb_pb_put_varint (b, (uint64_t) num << 3 | (uint64_t) wt);
}

static void
put_fixed (fb_buf *b, uint64_t v, int bytes)
{
  for (int i = 0; i < bytes; i++)
    fb_buf_putc (b, (char) (v >> (8 * i)));
}

/* ---- reading the descriptors ------------------------------------------- */

static char *
dup_len (const uint8_t *d, size_t n)
{
  return fb_xstrndup ((const char *) d, n);
}

/* "pkg" + "." + name, or name alone at the top. */
static char *
qualify (const char *scope, const uint8_t *name, size_t n)
{
  return *scope ? fb_xasprintf ("%s.%.*s", scope, (int) n, (const char *) name) : dup_len (name, n);
}

static bool
read_field (const uint8_t *d, size_t n, pb_field *f)
{
  rd r = { d, d + n };
  uint32_t num;
  int wt;
  uint64_t v;
  const uint8_t *s;
  size_t l;
  while (r.p < r.end)
    {
      if (!rd_field (&r, &num, &wt, &v, &s, &l))
        return false;
      if (wt == 2 && num == 1)
        free (f->name), f->name = dup_len (s, l);
      else if (wt == 2 && num == 6)
        free (f->type_name), f->type_name = dup_len (l && *s == '.' ? s + 1 : s, l && *s == '.' ? l - 1 : l);
      else if (wt == 2 && num == 10)
        free (f->json_name), f->json_name = dup_len (s, l);
      else if (wt == 0 && num == 3)
        f->number = (int) v;
      else if (wt == 0 && num == 4)
        f->label = (int) v;
      else if (wt == 0 && num == 5)
        f->type = (int) v;
      else if (wt == 0 && num == 9)
        f->in_oneof = true;
      else if (wt == 2 && num == 8)
        {
          /* FieldOptions.packed = 2 */
          rd o = { s, s + l };
          while (o.p < o.end && rd_field (&o, &num, &wt, &v, &s, &l))
            if (num == 2 && wt == 0)
              f->packed = v != 0;
        }
    }
  return f->name && f->number > 0 && f->type >= T_DOUBLE && f->type <= T_SINT64;
}

static bool
read_enum (fb_pb_set *set, const char *scope, const uint8_t *d, size_t n)
{
  rd r = { d, d + n };
  uint32_t num;
  int wt;
  uint64_t v;
  const uint8_t *s;
  size_t l;
  set->enums = fb_xreallocarray (set->enums, set->n_enums + 1, sizeof *set->enums);
  pb_enum *e = &set->enums[set->n_enums++];
  *e = (pb_enum) { 0 };
  while (r.p < r.end)
    {
      if (!rd_field (&r, &num, &wt, &v, &s, &l))
        return false;
      if (wt == 2 && num == 1)
        free (e->full), e->full = qualify (scope, s, l);
      else if (wt == 2 && num == 2)
        {
          rd ev = { s, s + l };
          char *name = NULL;
          int number = 0;
          while (ev.p < ev.end && rd_field (&ev, &num, &wt, &v, &s, &l))
            if (num == 1 && wt == 2)
              free (name), name = dup_len (s, l);
            else if (num == 2 && wt == 0)
              number = (int) (int32_t) v;
          e->names = fb_xreallocarray (e->names, e->n + 1, sizeof *e->names);
          e->numbers = fb_xreallocarray (e->numbers, e->n + 1, sizeof *e->numbers);
          e->names[e->n] = name ? name : fb_xstrdup ("");
          e->numbers[e->n++] = number;
        }
    }
  return e->full != NULL;
}

static int
by_number (const void *a, const void *b)
{
  return ((const pb_field *) a)->number - ((const pb_field *) b)->number;
}


/* A message's own fields and name first, then its nested types under it. */
static bool
read_message (fb_pb_set *set, const char *scope, const uint8_t *d, size_t n, bool proto3, int depth)
{
  rd r = { d, d + n };
  uint32_t num;
  int wt;
  uint64_t v;
  const uint8_t *s;
  size_t l;
  if (depth > MAX_DEPTH)
    return false;
  set->msgs = fb_xreallocarray (set->msgs, set->n_msgs + 1, sizeof *set->msgs);
  size_t me = set->n_msgs++;
  set->msgs[me] = (pb_message) { 0 };
  while (r.p < r.end)
    {
      if (!rd_field (&r, &num, &wt, &v, &s, &l))
        return false;
      pb_message *m = &set->msgs[me];
      if (wt == 2 && num == 1)
        free (m->full), m->full = qualify (scope, s, l);
      else if (wt == 2 && num == 2)
        {
          m->fields = fb_xreallocarray (m->fields, m->n_fields + 1, sizeof *m->fields);
          pb_field *f = &m->fields[m->n_fields++];
          /* proto3 packs repeated scalars unless told not to */
          *f = (pb_field) { .packed = proto3 };
          if (!read_field (s, l, f))
            return false;
        }
      else if (wt == 2 && num == 7)
        {
          rd o = { s, s + l };
          while (o.p < o.end && rd_field (&o, &num, &wt, &v, &s, &l))
            if (num == 7 && wt == 0)
              set->msgs[me].map_entry = v != 0;
        }
    }
  if (!set->msgs[me].full)
    return false;
  qsort (set->msgs[me].fields, set->msgs[me].n_fields, sizeof *set->msgs[me].fields, by_number);
  _cleanup_free_ char *self = fb_xstrdup (set->msgs[me].full);
  for (r.p = d; r.p < r.end;)
    {
      if (!rd_field (&r, &num, &wt, &v, &s, &l))
        return false;
      if (wt == 2 && ((num == 3 && !read_message (set, self, s, l, proto3, depth + 1))
                      || (num == 4 && !read_enum (set, self, s, l))))
        return false;
    }
  return true;
}

static bool
read_service (fb_pb_set *set, const char *scope, const uint8_t *d, size_t n)
{
  rd r = { d, d + n };
  uint32_t num;
  int wt;
  uint64_t v;
  const uint8_t *s;
  size_t l;
  _cleanup_free_ char *name = NULL;
  while (r.p < r.end)
    {
      if (!rd_field (&r, &num, &wt, &v, &s, &l))
        return false;
      if (wt == 2 && num == 1)
        free (name), name = qualify (scope, s, l);
    }
  if (!name)
    return false;
  for (r.p = d; r.p < r.end;)
    {
      rd_field (&r, &num, &wt, &v, &s, &l);
      if (wt != 2 || num != 2)
        continue;
      rd m = { s, s + l };
      _cleanup_free_ char *mname = NULL, *in = NULL, *out = NULL;
      bool streaming = false;
      while (m.p < m.end && rd_field (&m, &num, &wt, &v, &s, &l))
        if (wt == 2 && num == 1)
          free (mname), mname = dup_len (s, l);
        else if (wt == 2 && (num == 2 || num == 3))
          {
            char **t = num == 2 ? &in : &out;
            free (*t), *t = dup_len (l && *s == '.' ? s + 1 : s, l && *s == '.' ? l - 1 : l);
          }
        else if (wt == 0 && (num == 5 || num == 6))
          streaming |= v != 0;
      if (!mname || !in || !out)
        return false;
      set->methods = fb_xreallocarray (set->methods, set->n_methods + 1, sizeof *set->methods);
      set->methods[set->n_methods++] = (pb_method) { fb_xasprintf ("/%s/%s", name, mname), steal_pointer (&in),
                                                     steal_pointer (&out), streaming };
    }
  return true;
}

static bool
read_file (fb_pb_set *set, const uint8_t *d, size_t n)
{
  rd r = { d, d + n };
  uint32_t num;
  int wt;
  uint64_t v;
  const uint8_t *s;
  size_t l;
  _cleanup_free_ char *pkg = fb_xstrdup ("");
  bool proto3 = false;
  while (r.p < r.end)
    {
      if (!rd_field (&r, &num, &wt, &v, &s, &l))
        return false;
      if (wt == 2 && num == 2)
        free (pkg), pkg = dup_len (s, l);
      else if (wt == 2 && num == 12)
        proto3 = l == 6 && !memcmp (s, "proto3", 6);
    }
  for (r.p = d; r.p < r.end;)
    {
      rd_field (&r, &num, &wt, &v, &s, &l);
      if (wt == 2 && ((num == 4 && !read_message (set, pkg, s, l, proto3, 0))
                      || (num == 5 && !read_enum (set, pkg, s, l)) || (num == 6 && !read_service (set, pkg, s, l))))
        return false;
    }
  return true;
}

static const pb_message *
find_message (const fb_pb_set *s, const char *full)
{
  for (size_t i = 0; i < s->n_msgs; i++)
    if (!strcmp (s->msgs[i].full, full))
      return &s->msgs[i];
  return NULL;
}

static const pb_enum *
find_enum (const fb_pb_set *s, const char *full)
{
  for (size_t i = 0; i < s->n_enums; i++)
    if (!strcmp (s->enums[i].full, full))
      return &s->enums[i];
  return NULL;
}

/* Every type a field or method names is in the set (protoc
 * --include_imports puts imported files in). */
static int
check_types (const fb_pb_set *s, fb_error *err)
{
  for (size_t i = 0; i < s->n_msgs; i++)
    for (size_t k = 0; k < s->msgs[i].n_fields; k++)
      {
        const pb_field *f = &s->msgs[i].fields[k];
        if ((f->type == T_MESSAGE && (!f->type_name || !find_message (s, f->type_name)))
            || (f->type == T_ENUM && (!f->type_name || !find_enum (s, f->type_name))))
          return fb_error_set (err, EINVAL, "field %s.%s: type %s is not in the set (build it with protoc --include_imports)",
                               s->msgs[i].full, f->name, f->type_name ? f->type_name : "(none)");
      }
  for (size_t i = 0; i < s->n_methods; i++)
    for (int k = 0; k < 2; k++)
      {
        const char *t = k ? s->methods[i].output : s->methods[i].input;
        if (!find_message (s, t))
          return fb_error_set (err, EINVAL, "method %s: type %s is not in the set (build it with protoc "
                                            "--include_imports)", s->methods[i].path, t);
      }
  return 0;
}

void
fb_pb_set_free (fb_pb_set *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < s->n_msgs; i++)
    {
      for (size_t k = 0; k < s->msgs[i].n_fields; k++)
        free (s->msgs[i].fields[k].name), free (s->msgs[i].fields[k].json_name),
            free (s->msgs[i].fields[k].type_name);
      free (s->msgs[i].fields);
      free (s->msgs[i].full);
    }
  for (size_t i = 0; i < s->n_enums; i++)
    {
      for (size_t k = 0; k < s->enums[i].n; k++)
        free (s->enums[i].names[k]);
      free (s->enums[i].names), free (s->enums[i].numbers), free (s->enums[i].full);
    }
  for (size_t i = 0; i < s->n_methods; i++)
    free (s->methods[i].path), free (s->methods[i].input), free (s->methods[i].output);
  free (s->msgs), free (s->enums), free (s->methods);
  free (s);
}

int
fb_pb_set_parse (const void *data, size_t n, fb_pb_set **out, fb_error *err)
{
  fb_pb_set *s = FB_NEW (fb_pb_set);
  rd r = { data, (const uint8_t *) data + n };
  uint32_t num;
  int wt;
  uint64_t v;
  const uint8_t *d;
  size_t l;
  bool ok = n > 0;
  while (ok && r.p < r.end)
    ok = rd_field (&r, &num, &wt, &v, &d, &l) && (num != 1 || (wt == 2 && read_file (s, d, l)));
  if (!ok)
    {
      fb_pb_set_free (s);
      return fb_error_set (err, EINVAL, "not a FileDescriptorSet (make one with protoc --include_imports "
                                        "--descriptor_set_out=FILE)");
    }
  if (check_types (s, err) < 0)
    {
      fb_pb_set_free (s);
      return -1;
    }
  *out = s;
  return 0;
}

int
fb_pb_method_output (const fb_pb_set *s, const char *path, const char **type, fb_error *err)
{
  const char *slash = path[0] == '/' ? strrchr (path + 1, '/') : NULL;
  if (!slash || slash == path + 1 || !slash[1])
    return fb_error_set (err, EINVAL, "invalid gRPC method path \"%s\" (expected /pkg.Service/Method)", path);
  size_t svc_len = (size_t) (slash - path);
  bool svc_found = false;
  for (size_t i = 0; i < s->n_methods; i++)
    {
      if (!strcmp (s->methods[i].path, path))
        {
          *type = s->methods[i].output;
          return 0;
        }
      svc_found |= !strncmp (s->methods[i].path, path, svc_len + 1);
    }
  if (!svc_found)
    return fb_error_set (err, ENOENT, "service \"%.*s\" not found in descriptor set", (int) svc_len - 1, path + 1);
  return fb_error_set (err, ENOENT, "method \"%s\" not found on service \"%.*s\"", slash + 1, (int) svc_len - 1,
                       path + 1);
}

bool
fb_pb_method_at (const fb_pb_set *s, size_t i, fb_pb_method_info *m)
{
  if (i >= s->n_methods)
    return false;
  const pb_method *p = &s->methods[i];
  *m = (fb_pb_method_info) { p->path, p->input, p->output, p->streaming };
  return true;
}

const char *
fb_pb_field_at (const fb_pb_set *s, const char *type, size_t i)
{
  const pb_message *m = find_message (s, type);
  return m && i < m->n_fields ? m->fields[i].name : NULL;
}

/* ---- JSON to wire ------------------------------------------------------ */

static int encode_message (const fb_pb_set *s, const pb_message *m, json_object *o, fb_buf *out, int depth,
                           fb_error *err);

static const pb_field *
field_named (const pb_message *m, const char *key)
{
  for (size_t i = 0; i < m->n_fields; i++)
    if (!strcmp (m->fields[i].name, key) || (m->fields[i].json_name && !strcmp (m->fields[i].json_name, key)))
      return &m->fields[i];
  return NULL;
}

static const pb_field *
field_number (const pb_message *m, int number)
{
  for (size_t i = 0; i < m->n_fields; i++)
    if (m->fields[i].number == number)
      return &m->fields[i];
  return NULL;
}

/* An integer of JSON: a number without a fraction, or a string of one. */
static bool
json_integer (json_object *v, bool is_signed, uint64_t *out)
{
  errno = 0;
  if (json_object_is_type (v, json_type_int))
    {
      int64_t i = json_object_get_int64 (v);
      if (!is_signed && i < 0 && errno == 0)
        {
          /* json-c keeps a uint64 above INT64_MAX as uint64 */
          uint64_t u = json_object_get_uint64 (v);
          *out = u;
          return u > (uint64_t) INT64_MAX;
        }
      *out = (uint64_t) i;
      return errno == 0;
    }
  if (json_object_is_type (v, json_type_double))
    {
      double d = json_object_get_double (v);
      if (d != floor (d) || fabs (d) > 9007199254740992.0 || (!is_signed && d < 0))
        return false;
      *out = is_signed ? (uint64_t) (int64_t) d : (uint64_t) d;
      return true;
    }
  if (json_object_is_type (v, json_type_string))
    {
      const char *str = json_object_get_string (v);
      char *end;
      if (!*str || (!is_signed && *str == '-'))
        return false;
      *out = is_signed ? (uint64_t) strtoll (str, &end, 10) : strtoull (str, &end, 10);
      return *end == '\0' && errno == 0;
    }
  return false;
}

static bool
json_float (json_object *v, double *out)
{
  if (json_object_is_type (v, json_type_int) || json_object_is_type (v, json_type_double))
    {
      *out = json_object_get_double (v);
      return true;
    }
  if (!json_object_is_type (v, json_type_string))
    return false;
  const char *str = json_object_get_string (v);
  if (!strcmp (str, "NaN"))
    *out = NAN;
  else if (!strcmp (str, "Infinity") || !strcmp (str, "-Infinity"))
    *out = *str == '-' ? -INFINITY : INFINITY;
  else
    {
      char *end;
      *out = strtod (str, &end);
      return *str && !*end;
    }
  return true;
}

static int
b64_value (int c)
{
  const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  const char *p = c ? strchr (abc, c) : NULL;
  return p ? (int) (p - abc) : -1;
}

/* protojson's bytes: standard or URL-safe base64, padding optional. */
static bool
b64_decode (const char *in, fb_buf *out)
{
  uint32_t acc = 0;
  int bits = 0;
  for (; *in && *in != '='; in++)
    {
      int v = b64_value ((unsigned char) *in);
      if (v < 0)
        return false;
      acc = acc << 6 | (uint32_t) v;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          fb_buf_putc (out, (char) (acc >> bits));
        }
    }
  return true;
}

static bool
enum_number (const fb_pb_set *s, const pb_field *f, json_object *v, uint64_t *out)
{
  const pb_enum *e = find_enum (s, f->type_name);
  if (json_object_is_type (v, json_type_string))
    {
      for (size_t i = 0; i < e->n; i++)
        if (!strcmp (e->names[i], json_object_get_string (v)))
          {
            *out = (uint64_t) (int64_t) e->numbers[i];
            return true;
          }
      return false;
    }
  return json_integer (v, true, out);
}

/* One value of f: its wire type's bytes (no tag), to out; the wire type.
 * The caller names the field in an error. */
static int
encode_scalar (const fb_pb_set *s, const pb_field *f, json_object *v, fb_buf *out, int depth, fb_error *err)
{
  uint64_t u = 0;
  double d;
  bool sgn = f->type == T_INT64 || f->type == T_INT32 || f->type == T_SINT32 || f->type == T_SINT64
             || f->type == T_SFIXED32 || f->type == T_SFIXED64;
  bool ok = true;
  switch (f->type)
    {
    case T_DOUBLE:
    case T_FLOAT:
      if (!(ok = json_float (v, &d)))
        break;
      if (f->type == T_DOUBLE)
        memcpy (&u, &d, 8), put_fixed (out, u, 8);
      else
        {
          float fl = (float) d;
          uint32_t w;
          memcpy (&w, &fl, 4);
          put_fixed (out, w, 4);
        }
      return f->type == T_DOUBLE ? 1 : 5;
    case T_BOOL:
      if (!(ok = json_object_is_type (v, json_type_boolean)))
        break;
      fb_pb_put_varint (out, json_object_get_boolean (v) ? 1 : 0);
      return 0;
    case T_STRING:
      if (!(ok = json_object_is_type (v, json_type_string)))
        break;
      fb_pb_put_varint (out, (uint64_t) json_object_get_string_len (v));
      fb_buf_append (out, json_object_get_string (v), (size_t) json_object_get_string_len (v));
      return 2;
    case T_BYTES:
      {
        _cleanup_buf_ fb_buf raw = FB_BUF_INIT;
        if (!(ok = json_object_is_type (v, json_type_string) && b64_decode (json_object_get_string (v), &raw)))
          break;
        fb_pb_put_varint (out, raw.len);
        fb_buf_append (out, raw.data, raw.len);
        return 2;
      }
    case T_MESSAGE:
      {
        _cleanup_buf_ fb_buf sub = FB_BUF_INIT;
        if (encode_message (s, find_message (s, f->type_name), v, &sub, depth + 1, err) < 0)
          return -1;
        fb_pb_put_varint (out, sub.len);
        fb_buf_append (out, sub.data, sub.len);
        return 2;
      }
    case T_ENUM:
      if (!(ok = enum_number (s, f, v, &u) && (int64_t) u == (int32_t) u))
        break;
      fb_pb_put_varint (out, u);
      return 0;
    case T_GROUP:
      return fb_error_set (err, ENOTSUP, "groups are not supported");
    default:
      if (!(ok = json_integer (v, sgn, &u)))
        break;
      if (f->type == T_INT32 || f->type == T_SINT32 || f->type == T_SFIXED32)
        ok = (int64_t) u == (int32_t) u;
      else if (f->type == T_UINT32 || f->type == T_FIXED32)
        ok = u <= UINT32_MAX;
      if (!ok)
        break;
      if (f->type == T_SINT32 || f->type == T_SINT64)
        u = (u << 1) ^ (uint64_t) ((int64_t) u >> 63);
      if (f->type == T_FIXED32 || f->type == T_SFIXED32)
        return put_fixed (out, u, 4), 5;
      if (f->type == T_FIXED64 || f->type == T_SFIXED64)
        return put_fixed (out, u, 8), 1;
      fb_pb_put_varint (out, u);
      return 0;
    }
  _cleanup_free_ char *shown = fb_xstrdup (json_object_to_json_string_ext (v, JSON_C_TO_STRING_PLAIN));
  static const char *const kinds[] = { [T_DOUBLE] = "a number", [T_FLOAT] = "a number", [T_BOOL] = "a bool",
                                       [T_STRING] = "a string", [T_BYTES] = "base64 bytes", [T_ENUM] = "an enum name or number" };
  const char *want = f->type < (int) (sizeof kinds / sizeof *kinds) && kinds[f->type] ? kinds[f->type] : "an integer in range";
  return fb_error_set (err, EINVAL, "invalid value %s (want %s)", shown, want);
}

/* A map's entry: key 1 (from the JSON key's text) and value 2. */
static int
encode_entry (const fb_pb_set *s, const pb_field *f, const char *key, json_object *val, fb_buf *out, int depth,
              fb_error *err)
{
  const pb_message *e = find_message (s, f->type_name);
  const pb_field *kf = field_number (e, 1), *vf = field_number (e, 2);
  _cleanup_buf_ fb_buf entry = FB_BUF_INIT;
  if (!kf || !vf)
    return fb_error_set (err, EINVAL, "%s: a malformed map entry type", f->name);
  json_object *k = kf->type == T_BOOL ? json_object_new_boolean (!strcmp (key, "true")) : json_object_new_string (key);
  int wt = encode_scalar (s, kf, k, &entry, depth, err);
  json_object_put (k);
  if (wt < 0)
    return fb_error_prefix (err, "%s key \"%s\"", f->name, key);
  /* the key's bytes came first: put its tag in front of them */
  _cleanup_buf_ fb_buf tagged = FB_BUF_INIT;
  put_tag (&tagged, 1, wt);
  fb_buf_append (&tagged, entry.data, entry.len);
  _cleanup_buf_ fb_buf value = FB_BUF_INIT;
  if ((wt = encode_scalar (s, vf, val, &value, depth, err)) < 0)
    return fb_error_prefix (err, "%s[\"%s\"]", f->name, key);
  put_tag (&tagged, 2, wt);
  fb_buf_append (&tagged, value.data, value.len);
  put_tag (out, f->number, 2);
  fb_pb_put_varint (out, tagged.len);
  fb_buf_append (out, tagged.data, tagged.len);
  return 0;
}

static int
encode_repeated (const fb_pb_set *s, const pb_field *f, json_object *v, fb_buf *out, int depth, fb_error *err)
{
  const pb_message *entry = f->type == T_MESSAGE ? find_message (s, f->type_name) : NULL;
  if (entry && entry->map_entry)
    {
      if (!json_object_is_type (v, json_type_object))
        return fb_error_set (err, EINVAL, "%s: a map wants an object", f->name);
      json_object_object_foreach (v, key, val)
        if (encode_entry (s, f, key, val, out, depth, err) < 0)
          return -1;
      return 0;
    }
  if (!json_object_is_type (v, json_type_array))
    return fb_error_set (err, EINVAL, "%s: a repeated field wants a list", f->name);
  bool packed = f->packed && f->type != T_STRING && f->type != T_BYTES && f->type != T_MESSAGE;
  _cleanup_buf_ fb_buf run = FB_BUF_INIT;
  for (size_t i = 0; i < json_object_array_length (v); i++)
    {
      _cleanup_buf_ fb_buf one = FB_BUF_INIT;
      int wt = encode_scalar (s, f, json_object_array_get_idx (v, i), &one, depth, err);
      if (wt < 0)
        return fb_error_prefix (err, "%s[%zu]", f->name, i);
      if (!packed)
        put_tag (out, f->number, wt);
      fb_buf_append (packed ? &run : out, one.data, one.len);
    }
  if (packed && run.len)
    {
      put_tag (out, f->number, 2);
      fb_pb_put_varint (out, run.len);
      fb_buf_append (out, run.data, run.len);
    }
  return 0;
}

/* A typo of a field's name is the usual mistake: name the nearest one. */
static int
unknown_field (const pb_message *m, const char *key, fb_error *err)
{
  _cleanup_free_ const char **names = fb_xcalloc (m->n_fields + 1, sizeof *names);
  for (size_t i = 0; i < m->n_fields; i++)
    names[i] = m->fields[i].name;
  const char *near = fb_suggest (key, names, m->n_fields);
  return fb_error_set (err, EINVAL, "unknown field \"%s\" of %s%s%s%s", key, m->full, near ? " (did you mean \"" : "",
                       near ? near : "", near ? "\"?)" : "");
}

static int
encode_message (const fb_pb_set *s, const pb_message *m, json_object *o, fb_buf *out, int depth, fb_error *err)
{
  if (depth > MAX_DEPTH)
    return fb_error_set (err, ELOOP, "nested deeper than %d messages", MAX_DEPTH);
  if (!o)
    return 0;
  if (!json_object_is_type (o, json_type_object))
    return fb_error_set (err, EINVAL, "%s wants an object, got %s", m->full,
                         json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN));
  for (struct json_object_iterator it = json_object_iter_begin (o), end = json_object_iter_end (o);
       !json_object_iter_equal (&it, &end); json_object_iter_next (&it))
    if (!field_named (m, json_object_iter_peek_name (&it)))
      return unknown_field (m, json_object_iter_peek_name (&it), err);
  /* in field number order, as protobuf's own encoders write */
  for (size_t i = 0; i < m->n_fields; i++)
    {
      const pb_field *f = &m->fields[i];
      json_object *val = NULL;
      if (!json_object_object_get_ex (o, f->name, &val) && f->json_name)
        json_object_object_get_ex (o, f->json_name, &val);
      if (!val)
        continue;
      if (f->label == LABEL_REPEATED)
        {
          if (encode_repeated (s, f, val, out, depth, err) < 0)
            return -1;
          continue;
        }
      _cleanup_buf_ fb_buf one = FB_BUF_INIT;
      int wt = encode_scalar (s, f, val, &one, depth, err);
      if (wt < 0)
        return fb_error_prefix (err, "%s", f->name);
      put_tag (out, f->number, wt);
      fb_buf_append (out, one.data, one.len);
    }
  return 0;
}

int
fb_pb_encode_json (const fb_pb_set *s, const char *type, const char *json, fb_buf *out, fb_error *err)
{
  const pb_message *m = find_message (s, type);
  if (!m)
    return fb_error_set (err, ENOENT, "message type %s is not in the descriptor set", type);
  json_tokener *tok = json_tokener_new ();
  json_object *o = json_tokener_parse_ex (tok, json, (int) strlen (json));
  bool parsed = json_tokener_get_error (tok) == json_tokener_success;
  json_tokener_free (tok);
  if (!parsed)
    return fb_error_set (err, EINVAL, "encode as %s: not JSON: %s", type, json);
  int rc = encode_message (s, m, o, out, 0, err);
  json_object_put (o);
  return rc < 0 ? fb_error_prefix (err, "encode as %s", type) : 0;
}

/* ---- wire to JSON ------------------------------------------------------ */

static json_object *decode_message (const fb_pb_set *s, const pb_message *m, const uint8_t *d, size_t n, int depth);

static json_object *
b64_encode (const uint8_t *d, size_t n)
{
  static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  fb_buf b = FB_BUF_INIT;
  for (size_t i = 0; i < n; i += 3)
    {
      uint32_t v = (uint32_t) d[i] << 16 | (i + 1 < n ? (uint32_t) d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
      char q[4] = { abc[v >> 18 & 63], abc[v >> 12 & 63], i + 1 < n ? abc[v >> 6 & 63] : '=', i + 2 < n ? abc[v & 63] : '=' };
      fb_buf_append (&b, q, 4);
    }
  json_object *o = json_object_new_string_len (b.data ? b.data : "", (int) b.len);
  fb_buf_free (&b);
  return o;
}

/* One value of f's type from its wire value (v, or data/len). */
static json_object *
decode_scalar (const fb_pb_set *s, const pb_field *f, uint64_t v, const uint8_t *data, size_t len, int depth)
{
  char num[32];
  switch (f->type)
    {
    case T_DOUBLE:
      {
        double d;
        memcpy (&d, &v, 8);
        return json_object_new_double (d);
      }
    case T_FLOAT:
      {
        float fl;
        uint32_t w = (uint32_t) v;
        memcpy (&fl, &w, 4);
        return json_object_new_double (fl);
      }
    case T_BOOL: return json_object_new_boolean (v != 0);
    case T_STRING: return json_object_new_string_len ((const char *) data, (int) len);
    case T_BYTES: return b64_encode (data, len);
    case T_MESSAGE: return decode_message (s, find_message (s, f->type_name), data, len, depth + 1);
    case T_ENUM:
      {
        const pb_enum *e = find_enum (s, f->type_name);
        for (size_t i = 0; i < e->n; i++)
          if (e->numbers[i] == (int32_t) v)
            return json_object_new_string (e->names[i]);
        return json_object_new_int ((int32_t) v);
      }
    case T_INT32:
    case T_SFIXED32: return json_object_new_int ((int32_t) v);
    case T_SINT32: return json_object_new_int ((int32_t) ((uint32_t) v >> 1 ^ -(uint32_t) (v & 1)));
    case T_UINT32:
    case T_FIXED32: return json_object_new_int64 ((uint32_t) v);
    /* protojson writes 64-bit integers as strings */
    case T_INT64:
    case T_SFIXED64: snprintf (num, sizeof num, "%lld", (long long) (int64_t) v); break;
    case T_SINT64: snprintf (num, sizeof num, "%lld", (long long) (int64_t) (v >> 1 ^ -(v & 1))); break;
    default: snprintf (num, sizeof num, "%llu", (unsigned long long) v); break;
    }
  return json_object_new_string (num);
}

/* The zero value protojson's EmitUnpopulated shows for an absent field. */
static json_object *
zero_value (const fb_pb_set *s, const pb_field *f)
{
  const pb_message *entry = f->type == T_MESSAGE ? find_message (s, f->type_name) : NULL;
  if (f->label == LABEL_REPEATED)
    return entry && entry->map_entry ? json_object_new_object () : json_object_new_array ();
  switch (f->type)
    {
    case T_MESSAGE: return NULL;
    case T_BOOL: return json_object_new_boolean (0);
    case T_STRING:
    case T_BYTES: return json_object_new_string ("");
    case T_DOUBLE:
    case T_FLOAT:
    case T_INT32:
    case T_SINT32:
    case T_SFIXED32:
    case T_UINT32:
    case T_FIXED32: return json_object_new_int (0);
    case T_ENUM: return decode_scalar (s, f, 0, NULL, 0, 0);
    default: return json_object_new_string ("0");
    }
}

static const char *
json_key (const pb_field *f)
{
  return f->json_name ? f->json_name : f->name;
}

/* The wire type a value of f comes in (a packed run aside). */
static int
wire_type (const pb_field *f)
{
  switch (f->type)
    {
    case T_DOUBLE:
    case T_FIXED64:
    case T_SFIXED64: return 1;
    case T_FLOAT:
    case T_FIXED32:
    case T_SFIXED32: return 5;
    case T_STRING:
    case T_BYTES:
    case T_MESSAGE: return 2;
    default: return 0;
    }
}

/* A field's value read off the wire into o: lists grow, maps take entries. */
static bool
decode_field (const fb_pb_set *s, const pb_field *f, json_object *o, int wt, uint64_t v, const uint8_t *d, size_t l,
              int depth)
{
  const pb_message *entry = f->type == T_MESSAGE ? find_message (s, f->type_name) : NULL;
  json_object *val;
  if (wt != wire_type (f) && !(wt == 2 && f->label == LABEL_REPEATED))
    return false;
  if (f->label != LABEL_REPEATED)
    {
      if (!(val = decode_scalar (s, f, v, d, l, depth)))
        return false;
      json_object_object_add (o, json_key (f), val);
      return true;
    }
  json_object *list = NULL;
  if (!json_object_object_get_ex (o, json_key (f), &list))
    json_object_object_add (o, json_key (f), list = zero_value (s, f));
  if (entry && entry->map_entry)
    {
      const pb_field *kf = field_number (entry, 1), *vf = field_number (entry, 2);
      json_object *kv = kf && vf ? decode_message (s, entry, d, l, depth + 1) : NULL, *k = NULL, *val2 = NULL;
      if (!kv)
        return false;
      json_object_object_get_ex (kv, json_key (kf), &k);
      json_object_object_get_ex (kv, json_key (vf), &val2);
      json_object_object_add (list, json_object_get_string (k), json_object_get (val2));
      json_object_put (kv);
      return true;
    }
  bool scalar = f->type != T_STRING && f->type != T_BYTES && f->type != T_MESSAGE;
  if (wt == 2 && scalar)
    {
      /* packed: a run of varints or fixed values */
      rd r = { d, d + l };
      int fw = f->type == T_DOUBLE || f->type == T_FIXED64 || f->type == T_SFIXED64 ? 8
               : f->type == T_FLOAT || f->type == T_FIXED32 || f->type == T_SFIXED32 ? 4 : 0;
      while (r.p < r.end)
        {
          uint64_t x = 0;
          if (fw && (size_t) (r.end - r.p) < (size_t) fw)
            return false;
          if (fw)
            for (int i = 0; i < fw; i++)
              x |= (uint64_t) *r.p++ << (8 * i);
          else if (!rd_varint (&r, &x))
            return false;
          json_object_array_add (list, decode_scalar (s, f, x, NULL, 0, depth));
        }
      return true;
    }
  if (!(val = decode_scalar (s, f, v, d, l, depth)))
    return false;
  json_object_array_add (list, val);
  return true;
}

static json_object *
decode_message (const fb_pb_set *s, const pb_message *m, const uint8_t *d, size_t n, int depth)
{
  if (depth > MAX_DEPTH)
    return NULL;
  json_object *o = json_object_new_object ();
  rd r = { d, d + n };
  uint32_t num;
  int wt;
  uint64_t v;
  const uint8_t *data = NULL;
  size_t len = 0;
  while (r.p < r.end)
    {
      if (!rd_field (&r, &num, &wt, &v, &data, &len))
        goto bad;
      const pb_field *f = field_number (m, (int) num);
      /* a field this descriptor lacks (a newer server's) is skipped */
      if (f && !decode_field (s, f, o, wt, v, data, len, depth))
        goto bad;
    }
  for (size_t i = 0; i < m->n_fields; i++)
    {
      const pb_field *f = &m->fields[i];
      if (!f->in_oneof && !json_object_object_get_ex (o, json_key (f), NULL))
        json_object_object_add (o, json_key (f), zero_value (s, f));
    }
  return o;
bad:
  json_object_put (o);
  return NULL;
}

char *
fb_pb_decode_json (const fb_pb_set *s, const char *type, const void *msg, size_t n, fb_error *err)
{
  const pb_message *m = find_message (s, type);
  if (!m)
    {
      fb_error_set (err, ENOENT, "message type %s is not in the descriptor set", type);
      return NULL;
    }
  json_object *o = decode_message (s, m, msg, n, 0);
  if (!o)
    {
      fb_error_set (err, EBADMSG, "decode as %s: not a message of that type", type);
      return NULL;
    }
  char *text = fb_xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (o);
  return text;
}
