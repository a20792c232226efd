/* Protobuf messages by a FileDescriptorSet (`protoc --include_imports
 * --descriptor_set_out=set.pb x.proto`), for typed gRPC mocks and client(): the set's
 * messages, enums and methods, a JSON object encoded as a message of a
 * named type (protojson's names and forms), a message decoded back to JSON
 * (protojson's, unpopulated fields included). Our own small wire codec
 * (protocol/protobuf.c): no protobuf library. Google's well-known types
 * are plain messages here: their JSON forms (Timestamp as a string) are not
 * special. */
#ifndef FAULTBOX_PROTOBUF_H
#define FAULTBOX_PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultbox/buf.h"
#include "faultbox/error.h"

typedef struct fb_pb_set fb_pb_set;

/* The set's descriptors; -1 (err) when the bytes are not a FileDescriptorSet
 * or a type one names is not in it. */
int fb_pb_set_parse (const void *data, size_t n, fb_pb_set **out, fb_error *err);
void fb_pb_set_free (fb_pb_set *s);

/* The output message type of a unary method "/pkg.Service/Method"; -1
 * (err, as Faultbox words it) when the set has no such service or method. */
int fb_pb_method_output (const fb_pb_set *s, const char *path, const char **type, fb_error *err);

typedef struct {
  const char *path;            /* "/pkg.Service/Method" */
  const char *input, *output;  /* message types */
  bool streaming;              /* client or server streaming */
} fb_pb_method_info;

/* The set's i-th method, in the set's order; false past the last. */
bool fb_pb_method_at (const fb_pb_set *s, size_t i, fb_pb_method_info *m);

/* The proto name of message type's i-th field (by number); NULL past the
 * last or for a type the set lacks. */
const char *fb_pb_field_at (const fb_pb_set *s, const char *type, size_t i);

/* JSON text as the wire bytes of message type ("pkg.Msg"), appended to
 * out; -1 (err: the field and what is wrong) when it does not fit. */
int fb_pb_encode_json (const fb_pb_set *s, const char *type, const char *json, fb_buf *out, fb_error *err);

/* Wire bytes of message type as JSON text (malloc'd); NULL (err) when they
 * are not one. */
char *fb_pb_decode_json (const fb_pb_set *s, const char *type, const void *msg, size_t n, fb_error *err);

/* v as a base-128 varint, appended to b (also google.protobuf.Struct's). */
void fb_pb_put_varint (fb_buf *b, uint64_t v);

#endif
