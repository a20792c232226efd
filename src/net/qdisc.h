/* Link impairments on one lab port, the bridge side of a service's veth, so
 * on what the service receives. The port gets a root htb whose unclassified
 * traffic passes unshaped; each impairment has a slot: an htb class, u32
 * filters on the source addresses (or one on everything) and, for
 * delay/jitter/loss/duplicate/reorder/corrupt, a netem leaf built by hand so
 * it can carry 64-bit times, the PRNG seed, Gilbert-Elliott loss and a rate.
 * A rate alone is the htb class's; with a netem leaf it is netem's, so it
 * adds to the delay packet by packet. Acts in the calling thread's network
 * namespace. */
#ifndef FB_NET_QDISC_H
#define FB_NET_QDISC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultbox/error.h"
#include "faultbox/netfault.h"

/* A slot's number is also its filter priority: the lower decides first.
 * Partitions take 1 .. FB_NET_LINK_SLOTS - 1 (so they beat any link fault),
 * link faults FB_NET_LINK_SLOTS and up (at most 0xfeff). */
#define FB_NET_LINK_SLOTS 0x800u

/* Shapes what the port sends of packets from srcs (IPv4 addresses in network
 * order; none: everything, ARP included). Replaces what the slot held; on
 * failure leaves the slot empty. Returns 1 instead of 0 when f is seeded but
 * the kernel (before 6.6) ignored the seed, so netem draws its own. */
int fb_net_link_fault_apply (const char *ifname, unsigned slot, const uint32_t *srcs, size_t nsrc,
                             const fb_link_impairment *f, fb_error *err);
/* Removes the slot; the last one takes the root htb with it. */
int fb_net_link_fault_clear (const char *ifname, unsigned slot, fb_error *err);

#endif
