/* The Kafka mock's broker state and one request's answer, shared by the
 * broker (kafka_mock.c) and its consumer groups (kafka_group.c). */
#ifndef FB_PROTOCOL_KAFKA_MOCK_H
#define FB_PROTOCOL_KAFKA_MOCK_H

#include <pthread.h>

#include "protocol/internal.h"

#define KMOCK_NODE 1

enum {
  KERR_NONE = 0, KERR_CORRUPT_MESSAGE = 2, KERR_UNKNOWN_PARTITION = 3, KERR_ILLEGAL_GENERATION = 22,
  KERR_UNKNOWN_MEMBER_ID = 25, KERR_REBALANCE_IN_PROGRESS = 27, KERR_UNSUPPORTED_VERSION = 35,
};

typedef struct {
  char *group, *topic;
  int32_t part;
  int64_t offset;
} kcommit;

typedef struct kgroup kgroup;

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t grew;   /* a partition got records, a group its assignments */
  struct ktopic *t;
  size_t n, cap;
  kcommit *c;
  size_t n_c, cap_c;
  kgroup **g;
  size_t n_g, cap_g;
  unsigned next_member;
  int partitions;
} kstore;

/* What one request's answer needs; the store's mutex is held. */
typedef struct {
  fb_mock_conn *c;
  kstore *s;
  fb_kafka_req *h;
  fb_buf *out;
  bool unsupported;      /* an ApiVersions at a version not served */
} kx;

/* JoinGroup, SyncGroup, Heartbeat and LeaveGroup. */
void fb_kafka_mock_group (kx *x);

#endif
