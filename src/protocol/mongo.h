/* MongoDB's wire protocol (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/):
 * what the proxy's framing (mongo_frame.c), the mock (mongo_mock.c) and
 * the step client (mongodb.c) share. Messages are little-endian: a
 * 16-byte header (length, requestID, responseTo, opCode), then the body;
 * documents are BSON (libbson). */
#ifndef FB_PROTOCOL_MONGO_H
#define FB_PROTOCOL_MONGO_H

#include <bson/bson.h>
#include <json-c/json.h>
#include <stdint.h>

#include "protocol/internal.h"

enum {
  FB_MONGO_OP_REPLY = 1,
  FB_MONGO_OP_QUERY = 2004,
  FB_MONGO_OP_GET_MORE = 2005,
  FB_MONGO_OP_COMPRESSED = 2012,
  FB_MONGO_OP_MSG = 2013,
};
#define FB_MONGO_HEADER 16u
/* mongod's maxMessageSizeBytes */
#define FB_MONGO_MAX_MSG (48u * 1000 * 1000)
/* OP_MSG flag bits */
#define FB_MONGO_CHECKSUM 0x1u
#define FB_MONGO_MORE_TO_COME 0x2u

typedef struct fb_mongo_head {
  uint32_t len, request_id, response_to, opcode;
} fb_mongo_head;

/* Cuts the message at the head of buf: FB_FRAME_OK fills h. */
fb_frame_rc fb_mongo_cut (const char *buf, size_t len, fb_mongo_head *h, fb_error *err);
/* The command document of a whole message (OP_MSG's section 0, OP_QUERY's
 * query) into doc (static over buf); false when it has none. */
bool fb_mongo_command (const char *buf, const fb_mongo_head *h, bson_t *doc);
/* A whole message around doc: OP_MSG (flags 0, one section 0), or
 * OP_REPLY (one document) when op_reply; malloc'd, *len set. */
char *fb_mongo_message (uint32_t request_id, uint32_t response_to, bool op_reply, const bson_t *doc, size_t *len);
/* A BSON document as Faultbox's step returns it: keys sorted, ObjectIds
 * as their hex, dates as RFC 3339, numbers and the rest as JSON has them. */
json_object *fb_mongo_json (const bson_t *doc);

#endif
