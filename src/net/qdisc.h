/* Link impairments on one lab port: netem (delay, jitter, loss, duplicate,
 * reorder, corrupt) where the kernel has sch_netem, tbf for a rate alone.
 * Acts in the calling thread's network namespace. */
#ifndef FB_NET_QDISC_H
#define FB_NET_QDISC_H

#include "faultbox/error.h"
#include "faultbox/netfault.h"

/* Replaces the root qdisc of ifname. */
int fb_net_link_fault_apply (const char *ifname, const fb_link_impairment *f, fb_error *err);
int fb_net_link_fault_clear (const char *ifname, fb_error *err);

#endif
