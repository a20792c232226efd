/* A link impairment as plain data, shared by the lab API and src/net. */
#ifndef FAULTBOX_NETFAULT_H
#define FAULTBOX_NETFAULT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct fb_link_impairment {
  int64_t delay_ns, jitter_ns;
  double loss, duplicate, reorder, corrupt; /* 0..1 */
  uint64_t rate;                            /* bytes per second, 0: unlimited */
  /* netem's PRNG (loss, duplicate, corrupt) starts from seed when seeded;
   * kernels before 6.6 ignore it and draw their own */
  bool seeded;
  uint64_t seed;
} fb_link_impairment;

#endif
