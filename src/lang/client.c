/* client(): a named, typed caller of a gRPC interface (Faultbox's RFC-055
 * clients). Its operations are the unary methods of one service of a
 * FileDescriptorSet, named in snake_case; an operation's keyword arguments
 * are the request message's fields, its reply is decoded into .data. A
 * call is the interface's grpc call step (events, proxy rules and all)
 * with the encoded message as its body. */
#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultbox/protobuf.h"
#include "lang/internal.h"
#include "util/alloc.h"
#include "util/cleanup.h"
#include "util/suggest.h"

typedef struct client client;

/* what is not an operation: one of these names (a method Call) is reached
 * by .call("/pkg.Svc/Call") only (Faultbox refuses it and asks for rename=,
 * which we lack) */
static const char *const client_attrs[] = { "name", "target", "operations", "call", NULL };

typedef struct {
  client *c;
  char *name;                         /* snake_case of the method's name */
  const fb_pb_method_info *m;         /* points into c->methods */
} client_op;

struct client {
  char *name;
  iface_ref target;
  fb_pb_set *set;
  fb_pb_method_info *methods;
  client_op *ops;
  size_t n_ops;
  const char **op_names;              /* NULL-terminated, for suggestions */
};

static void
client_free (void *p)
{
  client *c = p;
  for (size_t i = 0; i < c->n_ops; i++)
    free (c->ops[i].name);
  free (c->ops), free (c->methods), free (c->op_names), free (c->name);
  fb_pb_set_free (c->set);
  free (c);
}

/* Faultbox's canonical names: words split at separators and case changes
 * ("GetOrderByID" -> get_order_by_id, "HTTPServer" -> http_server), digits
 * staying in their word, a leading digit prefixed with op_. */
static char *
snake_case (const char *raw)
{
  fb_buf b = FB_BUF_INIT;
  for (const char *p = raw; *p; p++)
    {
      unsigned char ch = (unsigned char) *p;
      if (!isalnum (ch))
        {
          if (b.len && b.data[b.len - 1] != '_')
            fb_buf_putc (&b, '_');
          continue;
        }
      if (isupper (ch) && p > raw && b.len && b.data[b.len - 1] != '_')
        {
          unsigned char prev = (unsigned char) p[-1], next = (unsigned char) p[1];
          if (islower (prev) || isdigit (prev) || (isupper (prev) && islower (next)))
            fb_buf_putc (&b, '_');
        }
      fb_buf_putc (&b, (char) tolower (ch));
    }
  while (b.len && b.data[b.len - 1] == '_')
    b.len--;
  fb_buf_putc (&b, '\0');
  char *s = fb_buf_steal (&b);
  if (isdigit ((unsigned char) s[0]))
    {
      char *o = fb_xasprintf ("op_%s", s);
      free (s);
      s = o;
    }
  return s;
}

/* The unary methods of service (or of the set's only one). */
static int
client_ops (fb_star_thread *th, client *c, const char *desc, const char *service)
{
  fb_pb_method_info m;
  _cleanup_buf_ fb_buf names = FB_BUF_INIT;
  size_t n_services = 0, prev_len = 0;
  const char *prev = NULL;
  bool found = false;
  for (size_t i = 0; fb_pb_method_at (c->set, i, &m); i++)
    {
      const char *svc = m.path + 1;
      size_t svc_len = (size_t) (strrchr (m.path, '/') - svc);
      /* a service's methods are adjacent in the set: list each once */
      if (!prev || prev_len != svc_len || strncmp (prev, svc, svc_len))
        fb_buf_printf (&names, "%s%.*s", n_services++ ? ", " : "", (int) svc_len, svc);
      prev = svc, prev_len = svc_len;
      bool ours = !service || (strlen (service) == svc_len && !strncmp (service, svc, svc_len));
      found |= ours;
      if (!ours || m.streaming)
        continue;
      c->methods = fb_xreallocarray (c->methods, c->n_ops + 1, sizeof *c->methods);
      c->methods[c->n_ops++] = m;
    }
  fb_buf_putc (&names, '\0');
  if (!service && n_services != 1)
    return fb_star_errorf (th, "client(\"%s\"): descriptors \"%s\" declare %zu services; pass grpc_service= to "
                               "pick one (candidates: %s)", c->name, desc, n_services, names.data), -1;
  if (!found)
    return fb_star_errorf (th, "client(\"%s\"): service \"%s\" not found in descriptors \"%s\" (available: %s)",
                           c->name, service, desc, names.data), -1;
  if (!c->n_ops)
    return fb_star_errorf (th, "client(\"%s\"): service %s declares no unary methods (streaming ones are not "
                               "supported)", c->name, service ? service : names.data), -1;
  c->ops = fb_xcalloc (c->n_ops, sizeof *c->ops);
  c->op_names = fb_xcalloc (c->n_ops + 1, sizeof *c->op_names);
  for (size_t i = 0; i < c->n_ops; i++)
    {
      client_op *op = &c->ops[i];
      *op = (client_op) { c, snake_case (strrchr (c->methods[i].path, '/') + 1), &c->methods[i] };
      c->op_names[i] = op->name;
      for (size_t k = 0; k < i; k++)
        if (!strcmp (c->ops[k].name, op->name))
          return fb_star_errorf (th, "client(\"%s\"): methods %s and %s are both operation %s", c->name,
                                 c->ops[k].m->path, op->m->path, op->name), -1;
    }
  return 0;
}

/* ---- a call -------------------------------------------------------------- */

/* The reply's message (grpc's .data["raw"]) as the output type's JSON. */
static int
decode_reply (fb_star_thread *th, fb_step_result *res, void *ctx)
{
  const client_op *op = ctx;
  if (res->error)
    return 0;
  json_object *o = json_tokener_parse (res->body ? res->body : ""), *raw;
  if (!o || !json_object_object_get_ex (o, "raw", &raw))
    {
      json_object_put (o);
      return fb_star_errorf (th, "client \"%s\" %s: no reply message", op->c->name, op->name), -1;
    }
  fb_error e = { 0 };
  char *json = fb_pb_decode_json (op->c->set, op->m->output, json_object_get_string (raw),
                                  (size_t) json_object_get_string_len (raw), &e);
  json_object_put (o);
  if (!json)
    return fb_star_errorf (th, "client \"%s\" %s: reply: %s", op->c->name, op->name, e.msg), -1;
  free (res->body);
  res->body = json;
  return 0;
}

/* The request field a keyword names: Faultbox's kwargs are the fields'
 * names in snake_case (orderId: order_id); else the keyword as written,
 * which the encoder checks. */
static const char *
field_of (const client_op *op, const char *kw)
{
  const char *f;
  for (size_t i = 0; (f = fb_pb_field_at (op->c->set, op->m->input, i)); i++)
    {
      _cleanup_free_ char *snake = snake_case (f);
      if (!strcmp (snake, kw))
        return f;
    }
  return kw;
}

/* Field names and values (kwnames[i] = kwvals[i]) as the request message:
 * the method's call step with it, its reply decoded. */
static fb_value *
run_op (fb_star_thread *th, const client_op *op, size_t n, const char *const *kwnames, fb_value *const *kwvals)
{
  const client *c = op->c;
  fb_value *fields = fb_dict_new (th);
  for (size_t i = 0; i < n; i++)
    {
      if (!strcmp (kwnames[i], "body"))
        return fb_star_errorf (th, "client \"%s\" %s: gRPC operations take request fields as keyword arguments, "
                                   "not body=", c->name, op->name);
      if (!strcmp (kwnames[i], "headers") || !strcmp (kwnames[i], "timeout"))
        return fb_star_errorf (th, "client \"%s\" %s: %s= is not supported yet", c->name, op->name, kwnames[i]);
      fb_dict_set_str (th, fields, field_of (op, kwnames[i]), kwvals[i]);
    }
  _cleanup_free_ char *json = fb_star_json_encode (th, fields);
  if (!json)
    return NULL;
  _cleanup_buf_ fb_buf wire = FB_BUF_INIT;
  fb_error e = { 0 };
  if (fb_pb_encode_json (c->set, op->m->input, json, &wire, &e) < 0)
    return fb_star_errorf (th, "client \"%s\" %s: %s", c->name, op->name, e.msg);
  const fb_step_method *m = fb_protocol_method (fb_protocol_find ("grpc"), "call");
  fb_step_arg args[FB_STEP_MAX_PARAMS] = { { .s = op->m->path }, { .s = wire.len ? wire.data : "", .s_len = wire.len } };
  const char *const extra[] = { "client", c->name, "operation", op->name, NULL };
  return spec_step_run (th, &c->target, m, args, extra, decode_reply, (void *) op);
}

/* c.get_order(order_id = 42): keywords only, the request's fields. */
static fb_value *
op_call (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  const client_op *op = fb_builtin_data (self);
  if (a->npos)
    return fb_star_errorf (th, "client \"%s\" %s takes the fields of %s as keyword arguments (got %zu positional)",
                           op->c->name, op->name, op->m->input, a->npos);
  return run_op (th, op, a->nkw, a->kwnames, a->kwvals);
}

/* c.call("/pkg.Svc/Method" or "get_order", params = {...}): Faultbox's
 * escape hatch, by the method's path or the operation's name. */
static fb_value *
client_call (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  const client *c = fb_builtin_data (self);
  const char *name = NULL;
  fb_value *params = NULL;
  if (fb_star_unpack (th, "call", a, "name:s", &name, "params?", &params, NULL) < 0)
    return NULL;
  const client_op *op = NULL;
  for (size_t i = 0; i < c->n_ops && !op; i++)
    if (!strcmp (c->ops[i].m->path, name) || !strcmp (c->ops[i].name, name))
      op = &c->ops[i];
  if (!op)
    return fb_star_errorf (th, "client \"%s\" call(\"%s\"): no such operation (a method path \"/pkg.Svc/Method\" "
                               "or one of .operations)", c->name, name);
  if (params && params != fb_none () && fb_value_type_of (params) != FB_V_DICT)
    return fb_star_errorf (th, "client \"%s\" call(\"%s\"): params= must be a dict", c->name, name);
  size_t n = 0;
  fb_value *k, *v;
  while (params && params != fb_none () && fb_dict_entry (params, n, &k, &v))
    n++;
  _cleanup_free_ const char **names = fb_xcalloc (n + 1, sizeof *names);
  _cleanup_free_ fb_value **vals = fb_xcalloc (n + 1, sizeof *vals);
  for (size_t i = 0; i < n; i++)
    {
      fb_dict_entry (params, i, &k, &vals[i]);
      if (fb_value_type_of (k) != FB_V_STRING)
        return fb_star_errorf (th, "client \"%s\" call(\"%s\"): params keys must be strings", c->name, name);
      names[i] = fb_value_as_string (k, NULL);
    }
  return run_op (th, op, n, names, vals);
}

/* ---- the value ----------------------------------------------------------- */

static fb_value *
client_attr (fb_star_thread *th, fb_value *self, const char *name)
{
  client *c = fb_host_data (self, &spec_client_type);
  if (!strcmp (name, "name"))
    return fb_string (th, c->name);
  if (!strcmp (name, "operations"))
    {
      fb_value *l = fb_list_new (th, 0, NULL);
      for (size_t i = 0; i < c->n_ops; i++)
        fb_list_append (th, l, fb_string (th, c->ops[i].name));
      return l;
    }
  if (!strcmp (name, "target"))
    {
      iface_ref *r = FB_NEW (iface_ref);
      *r = c->target;
      return fb_host_new (th, &spec_iface_ref_type, r);
    }
  if (!strcmp (name, "call"))
    return fb_builtin_new (th, "call", client_call, c);
  for (size_t i = 0; i < c->n_ops; i++)
    if (!strcmp (c->ops[i].name, name))
      return fb_builtin_new (th, c->ops[i].name, op_call, &c->ops[i]);
  const char *near = fb_suggest (name, c->op_names, (size_t) -1);
  return fb_star_errorf (th, "client \"%s\" has no operation \"%s\"%s%s%s; its %zu are in .operations", c->name,
                         name, near ? " (did you mean \"" : "", near ? near : "", near ? "\"?)" : "", c->n_ops);
}

static char *
client_repr (fb_value *self)
{
  client *c = fb_host_data (self, &spec_client_type);
  const fb_plan_service *s = &c->target.spec->plan.services[c->target.svc];
  return fb_xasprintf ("<client %s -> %s.%s (%zu operations)>", c->name, s->name, s->ifaces[c->target.iface].name,
                       c->n_ops);
}

const fb_host_type spec_client_type = {
  .name = "client", .attr = client_attr, .attr_names = client_attrs, .repr = client_repr, .destroy = client_free,
};

/* ---- client() ------------------------------------------------------------ */

/* target=: a grpc interface, not a name a service or client holds. */
static int
client_target (fb_star_thread *th, client *c, fb_value *target)
{
  iface_ref *r = fb_host_data (target, &spec_iface_ref_type);
  if (!r)
    return fb_star_errorf (th, "client(\"%s\"): target= must be a service interface like orders.main (got %s)",
                           c->name, fb_value_type_name (target)), -1;
  const fb_plan_service *s = &r->spec->plan.services[r->svc];
  /* a client and a service would share the trace's name */
  if (!strcmp (c->name, "test"))
    return fb_star_errorf (th, "client(\"test\"): \"test\" is the test driver's name; pick another"), -1;
  for (size_t i = 0; i < r->spec->plan.n_services; i++)
    if (!strcmp (r->spec->plan.services[i].name, c->name))
      return fb_star_errorf (th, "client(\"%s\"): a service is named \"%s\"; pick another name", c->name,
                             c->name), -1;
  const char *proto = s->ifaces[r->iface].protocol;
  if (strcmp (proto, "grpc"))
    return fb_star_errorf (th, "client(\"%s\"): %s.%s is a %s interface: only grpc clients (descriptors=) "
                               "are supported yet", c->name, s->name, s->ifaces[r->iface].name, proto), -1;
  c->target = *r;
  return 0;
}

static fb_value *
b_client (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  const char *name = NULL, *desc = NULL, *service = NULL;
  fb_value *target = NULL, *openapi = NULL, *base_path = NULL, *headers = NULL, *before = NULL, *rename = NULL,
           *validate = NULL, *timeout = NULL;
  if (fb_star_unpack (th, "client", a, "name:s", &name, "target", &target, "openapi?", &openapi, "descriptors?:s",
                      &desc, "grpc_service?:s", &service, "base_path?", &base_path, "headers?", &headers, "before?",
                      &before, "rename?", &rename, "validate?", &validate, "timeout?", &timeout, NULL) < 0)
    return NULL;
  fb_value *unsupported[] = { openapi, base_path, headers, before, rename, validate, timeout };
  const char *kws[] = { "openapi", "base_path", "headers", "before", "rename", "validate", "timeout" };
  for (size_t i = 0; i < sizeof kws / sizeof *kws; i++)
    if (spec_unsupported (th, "client", name, kws[i], unsupported[i], false) < 0)
      return NULL;
  if (!*name)
    return fb_star_errorf (th, "client() requires a non-empty name");
  client *c = FB_NEW (client);
  c->name = fb_xstrdup (name);
  /* owned by the value from here: its destroy frees a half-built one */
  fb_value *v = fb_host_new (th, &spec_client_type, c);
  if (client_target (th, c, target) < 0)
    return NULL;
  if (!desc)
    return fb_star_errorf (th, "client(\"%s\"): no contract: pass descriptors= (a FileDescriptorSet: protoc "
                               "--include_imports --descriptor_set_out=FILE)", name);
  _cleanup_buf_ fb_buf data = FB_BUF_INIT;
  if (spec_read_data (th, "descriptors", desc, &data) < 0)
    return NULL;
  fb_error e = { 0 };
  if (fb_pb_set_parse (data.data, data.len, &c->set, &e) < 0)
    return fb_star_errorf (th, "client(\"%s\"): descriptors \"%s\": %s", name, desc, e.msg);
  if (client_ops (th, c, desc, service) < 0)
    return NULL;
  return v;
}

static const spec_builtin client_builtins[] = {
  { "client", b_client },
};

void
spec_predeclare_client (fb_spec *s)
{
  spec_predeclare_all (s, client_builtins, sizeof client_builtins / sizeof *client_builtins);
}
