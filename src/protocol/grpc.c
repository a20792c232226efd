/* gRPC over h2c: the call(method=, body=) step as Faultbox's raw invoke
 * makes it (the body's bytes are the request message; the reply's are
 * .data["raw"]), status codes, message framing, grpc-message's encoding,
 * google.protobuf.Struct from JSON, and a healthcheck through
 * grpc.health.v1. */
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultbox/protobuf.h"
#include "protocol/h2.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#define GRPC_STEP_TIMEOUT_MS 30000
/* grpc-go's default largest message */
#define GRPC_MAX_BODY (4u * 1024 * 1024 + 5)
#define GRPC_UNAVAILABLE 14
#define GRPC_UNIMPLEMENTED 12

static const struct {
  const char *name, *camel;
} codes[] = {
  { "OK", "OK" },
  { "CANCELLED", "Canceled" },
  { "UNKNOWN", "Unknown" },
  { "INVALID_ARGUMENT", "InvalidArgument" },
  { "DEADLINE_EXCEEDED", "DeadlineExceeded" },
  { "NOT_FOUND", "NotFound" },
  { "ALREADY_EXISTS", "AlreadyExists" },
  { "PERMISSION_DENIED", "PermissionDenied" },
  { "RESOURCE_EXHAUSTED", "ResourceExhausted" },
  { "FAILED_PRECONDITION", "FailedPrecondition" },
  { "ABORTED", "Aborted" },
  { "OUT_OF_RANGE", "OutOfRange" },
  { "UNIMPLEMENTED", "Unimplemented" },
  { "INTERNAL", "Internal" },
  { "UNAVAILABLE", "Unavailable" },
  { "DATA_LOSS", "DataLoss" },
  { "UNAUTHENTICATED", "Unauthenticated" },
};
#define N_CODES (int) (sizeof codes / sizeof *codes)

int
fb_grpc_code (const char *name)
{
  for (int i = 0; i < N_CODES; i++)
    if (!strcmp (codes[i].name, name))
      return i;
  return -1;
}

const char *
fb_grpc_code_names (void)
{
  return "OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, "
         "PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, "
         "INTERNAL, UNAVAILABLE, DATA_LOSS or UNAUTHENTICATED";
}

const char *
fb_grpc_code_camel (int code)
{
  return code >= 0 && code < N_CODES ? codes[code].camel : "Unknown";
}

void
fb_grpc_frame (fb_buf *out, const char *msg, size_t len)
{
  unsigned char h[5] = { 0, (unsigned char) (len >> 24), (unsigned char) (len >> 16), (unsigned char) (len >> 8),
                         (unsigned char) len };
  fb_buf_append (out, h, 5);
  fb_buf_append (out, msg, len);
}

int
fb_grpc_unframe (const char *body, size_t n, const char **msg, size_t *len)
{
  const unsigned char *b = (const unsigned char *) body;
  if (n < 5 || b[0] != 0)
    return -1;
  size_t l = (size_t) b[1] << 24 | (size_t) b[2] << 16 | (size_t) b[3] << 8 | b[4];
  if (l > n - 5)
    return -1;
  *msg = body + 5;
  *len = l;
  return 0;
}

char *
fb_grpc_pct_encode (const char *s)
{
  fb_buf b = FB_BUF_INIT;
  for (const unsigned char *p = (const unsigned char *) s; *p; p++)
    if (*p < 0x20 || *p > 0x7e || *p == '%')
      fb_buf_printf (&b, "%%%02X", *p);
    else
      fb_buf_putc (&b, (char) *p);
  fb_buf_putc (&b, '\0');
  return fb_buf_steal (&b);
}

char *
fb_grpc_pct_decode (const char *s)
{
  char *out = fb_xstrdup (s), *o = out;
  for (const char *p = s; *p; p++)
    if (*p == '%' && isxdigit ((unsigned char) p[1]) && isxdigit ((unsigned char) p[2]))
      {
        char hex[3] = { p[1], p[2], 0 };
        *o++ = (char) strtol (hex, NULL, 16);
        p += 2;
      }
    else
      *o++ = *p;
  *o = '\0';
  return out;
}

/* ---- google.protobuf.Struct ---------------------------------------------- */

/* A length-delimited field of tag's number. */
static void
put_bytes (fb_buf *b, unsigned tag, const void *p, size_t n)
{
  fb_pb_put_varint (b, (uint64_t) tag << 3 | 2);
  fb_pb_put_varint (b, n);
  fb_buf_append (b, p, n);
}

static void put_struct (fb_buf *b, json_object *o);

/* A google.protobuf.Value: null 1, number 2, string 3, bool 4, struct 5, list 6. */
static void
put_value (fb_buf *b, json_object *v)
{
  fb_buf sub = FB_BUF_INIT;
  switch (json_object_get_type (v))
    {
    case json_type_null:
      fb_buf_append (b, "\x08\x00", 2);
      break;
    case json_type_boolean:
      fb_buf_append (b, json_object_get_boolean (v) ? "\x20\x01" : "\x20\x00", 2);
      break;
    case json_type_int:
    case json_type_double:
      {
        double d = json_object_get_double (v);
        uint64_t bits;
        memcpy (&bits, &d, sizeof bits);
        fb_buf_putc (b, 0x11);
        for (int i = 0; i < 8; i++)
          fb_buf_putc (b, (char) (bits >> (8 * i)));
        break;
      }
    case json_type_string:
      put_bytes (b, 3, json_object_get_string (v), (size_t) json_object_get_string_len (v));
      break;
    case json_type_object:
      put_struct (&sub, v);
      put_bytes (b, 5, sub.data, sub.len);
      break;
    case json_type_array:
      for (size_t i = 0; i < json_object_array_length (v); i++)
        {
          fb_buf item = FB_BUF_INIT;
          put_value (&item, json_object_array_get_idx (v, i));
          put_bytes (&sub, 1, item.data, item.len);
          fb_buf_free (&item);
        }
      put_bytes (b, 6, sub.data, sub.len);
      break;
    }
  fb_buf_free (&sub);
}

/* Struct: map<string, Value> fields = 1, each entry {key 1, value 2}. */
static void
put_struct (fb_buf *b, json_object *o)
{
  json_object_object_foreach (o, key, val)
    {
      fb_buf entry = FB_BUF_INIT, value = FB_BUF_INIT;
      put_bytes (&entry, 1, key, strlen (key));
      put_value (&value, val);
      put_bytes (&entry, 2, value.data, value.len);
      put_bytes (b, 1, entry.data, entry.len);
      fb_buf_free (&entry);
      fb_buf_free (&value);
    }
}

int
fb_grpc_struct_from_json (const char *json, fb_buf *out, char *why, size_t why_len)
{
  json_object *o = json_tokener_parse (json);
  if (!o || json_object_get_type (o) != json_type_object)
    {
      snprintf (why, why_len, "body must be a dict (a google.protobuf.Struct), got %s", json);
      json_object_put (o);
      return -1;
    }
  put_struct (out, o);
  json_object_put (o);
  return 0;
}

/* ---- the step ------------------------------------------------------------ */

/* The reply's Response: .data {"method", "raw"} on OK, else .ok False
 * with grpc-go's words and .status the code. */
static void
call_result (const char *method, const fb_buf *body, fb_step_result *out)
{
  const char *st = fb_h2_header (out, "grpc-status");
  int code = st ? atoi (st) : 2;
  if (out->status != 200 && !st)
    code = GRPC_UNAVAILABLE;
  out->status = code;
  const char *msg;
  size_t len;
  if (code == 0 && fb_grpc_unframe (body->data ? body->data : "", body->len, &msg, &len) < 0)
    msg = "", len = 0;
  if (code != 0)
    {
      const char *gm = fb_h2_header (out, "grpc-message");
      _cleanup_free_ char *text = fb_grpc_pct_decode (gm ? gm : "");
      _cleanup_free_ char *e = fb_xasprintf ("rpc error: code = %s desc = %s", fb_grpc_code_camel (code), text);
      fb_step_fail (out, e);
      return;
    }
  json_object *o = json_object_new_object ();
  json_object_object_add (o, "method", json_object_new_string (method));
  json_object_object_add (o, "raw", json_object_new_string_len (msg, (int) len));
  out->body = fb_xstrdup (json_object_to_json_string_ext (o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put (o);
}

static int
grpc_step (const fb_step_call *c, fb_step_result *out, fb_error *err)
{
  const char *method = c->args[0].s, *body = c->args[1].s;
  if (!*method)
    return fb_error_set (err, EINVAL, "call(): method= is empty: name one as \"/package.Service/Method\"");
  c->on_send (c->ctx, (const char *const[]) { "method", method, NULL });
  /* Faultbox sends the body's bytes as the message; "{}" is an empty one */
  size_t len = c->args[1].s_len ? c->args[1].s_len : !strcmp (body, "{}") ? 0 : strlen (body);
  _cleanup_buf_ fb_buf req = FB_BUF_INIT, reply = FB_BUF_INIT;
  fb_grpc_frame (&req, body, len);
  fb_h2_req rq = { .method = "POST", .path = method, .body = req.data, .body_len = req.len, .grpc = true,
                   .max_body = GRPC_MAX_BODY, .ca_file = c->ca_file, .tls_name = c->ca_file ? c->service : NULL };
  fb_error e = { 0 };
  if (fb_h2_exchange (c->host, c->port, &rq, GRPC_STEP_TIMEOUT_MS, out, &reply, &e) < 0)
    {
      _cleanup_free_ char *msg = fb_xasprintf ("rpc error: code = Unavailable desc = %s", e.msg);
      fb_step_fail (out, msg);
      out->status = GRPC_UNAVAILABLE;
    }
  else
    call_result (method, &reply, out);
  char code[16];
  snprintf (code, sizeof code, "%ld", out->status);
  fb_step_outcome (out, "call");
  fb_step_field (out, "grpc_method", method);
  fb_step_field (out, "grpc_status", code);
  return 0;
}

/* Serving, or a gRPC server without the health service (UNIMPLEMENTED). */
static int
grpc_ready (const fb_ready_call *c, fb_error *err)
{
  _cleanup_buf_ fb_buf req = FB_BUF_INIT, reply = FB_BUF_INIT;
  fb_grpc_frame (&req, "", 0);
  fb_h2_req rq = { .method = "POST", .path = "/grpc.health.v1.Health/Check", .body = req.data,
                   .body_len = req.len, .grpc = true, .max_body = 64 };
  fb_step_result r = { 0 };
  if (fb_h2_exchange (c->host, c->port, &rq, c->timeout_ms, &r, &reply, err) < 0)
    return -1;
  const char *st = fb_h2_header (&r, "grpc-status"), *msg;
  int code = st ? atoi (st) : -1;
  size_t len;
  /* HealthCheckResponse{status: SERVING} is field 1, varint 1 */
  bool serving = code == 0 && fb_grpc_unframe (reply.data ? reply.data : "", reply.len, &msg, &len) == 0
                 && len == 2 && !memcmp (msg, "\x08\x01", 2);
  fb_step_result_clear (&r);
  if (serving || code == GRPC_UNIMPLEMENTED)
    return 0;
  return fb_error_set (err, EAGAIN, "grpc health check on %s:%d: %s", c->host, c->port,
                       code < 0 ? "no grpc-status" : code == 0 ? "not serving" : fb_grpc_code_camel (code));
}

static const fb_step_method grpc_methods[] = {
  { .name = "call", .n_params = 2,
    .params = { { "method", FB_PARAM_STRING, true, NULL }, { "body", FB_PARAM_STRING, false, "{}" } } },
};

const fb_protocol fb_protocol_grpc = {
  .name = "grpc",
  .methods = grpc_methods,
  .n_methods = sizeof grpc_methods / sizeof *grpc_methods,
  .methods_hint = "call(method=..., body=...)",
  .step = grpc_step,
  .ready = grpc_ready,
  .ready_timeout_ms = 1000,
  .framing = &fb_grpc_framing,
  .mock = &fb_grpc_mock,
};
