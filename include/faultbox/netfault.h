/* A link impairment as plain data, shared by the lab API and src/net. */
#ifndef FAULTBOX_NETFAULT_H
#define FAULTBOX_NETFAULT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct fb_link_impairment {
  int64_t delay_ns, jitter_ns;
  double loss, duplicate, reorder, corrupt; /* 0..1 */
  /* Gilbert-Elliott loss (netem's gemodel) instead of loss when set: p and
   * r move good->bad and bad->good per packet; bad_loss (1-h) and good_loss
   * (1-k) drop in each state. */
  bool gemodel;
  double ge_p, ge_r, ge_bad_loss, ge_good_loss;
  uint64_t rate;                            /* bytes per second, 0: unlimited; netem's own with netem */
  /* netem's PRNG (loss, duplicate, corrupt) starts from seed when seeded;
   * kernels before 6.6 ignore it and draw their own */
  bool seeded;
  uint64_t seed;
} fb_link_impairment;

/* True when f needs sch_netem (anything but a rate). */
bool fb_net_needs_netem (const fb_link_impairment *f);

#endif
