/* gRPC's pieces the spec language needs: status codes by name and the
 * google.protobuf.Struct encoding grpc_response() ships (protocol/grpc.c). */
#ifndef FAULTBOX_GRPC_H
#define FAULTBOX_GRPC_H

#include <stddef.h>

#include "faultbox/buf.h"

/* gRPC's status codes: the number of NAME ("UNAVAILABLE"), -1 if unknown;
 * the CamelCase name grpc-go prints ("Unavailable") of a number. */
int fb_grpc_code (const char *name);
const char *fb_grpc_code_camel (int code);
/* "OK, CANCELLED, ... or UNAUTHENTICATED", for messages. */
const char *fb_grpc_code_names (void);
/* A JSON object as a google.protobuf.Struct's wire bytes, as Faultbox's
 * grpc_response() ships it without a .proto; -1 (why) when it is not an
 * object. */
int fb_grpc_struct_from_json (const char *json, fb_buf *out, char *why, size_t why_len);

/* The content type marking a mock response's body as grpc_typed_response()'s
 * JSON, encoded per call by the mock's descriptors=, and grpc_raw_response()'s
 * wire bytes. */
#define FB_GRPC_TYPED "application/grpc+json"
#define FB_GRPC_RAW "application/grpc+raw"

#endif
