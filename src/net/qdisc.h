/* Link impairments on one lab port, the bridge side of a service's veth, so
 * on what the service receives. The port gets a root htb whose unclassified
 * traffic passes unshaped; each impaired source has a slot: an htb class
 * (its rate, or unlimited), a u32 filter on the source address (or on
 * everything) and, for delay/jitter/loss/duplicate/reorder/corrupt, a netem
 * leaf built by hand so it can carry 64-bit times and the PRNG seed.
 * Acts in the calling thread's network namespace. */
#ifndef FB_NET_QDISC_H
#define FB_NET_QDISC_H

#include <stdbool.h>
#include <stdint.h>

#include "faultbox/error.h"
#include "faultbox/netfault.h"

/* True when f needs sch_netem (anything but a rate). */
bool fb_net_needs_netem (const fb_link_impairment *f);

/* Slot 1 is "from anyone"; sources use 2.. (at most 0xfff). src is an IPv4
 * address in network order, 0 with slot 1. Replaces what the slot held. */
int fb_net_link_fault_apply (const char *ifname, unsigned slot, uint32_t src, const fb_link_impairment *f,
                             fb_error *err);
/* Removes the slot; the last one takes the root htb with it. */
int fb_net_link_fault_clear (const char *ifname, unsigned slot, fb_error *err);

#endif
