/* A link impairment as plain data, shared by the lab API and src/net. */
#ifndef FAULTBOX_NETFAULT_H
#define FAULTBOX_NETFAULT_H

#include <stdint.h>

typedef struct fb_link_impairment {
  int64_t delay_ns, jitter_ns;
  double loss, duplicate, reorder, corrupt; /* 0..1 */
  uint64_t rate;                            /* bytes per second, 0: unlimited */
} fb_link_impairment;

#endif
