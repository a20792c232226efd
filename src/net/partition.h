/* Partitions: packets between two groups of lab ports are dropped on the
 * forwarding hop (the lab bridge), so a sender's own stack sees nothing and
 * established connections just stop delivering; ARP still passes. Built as
 * nftables rules in the bridge family, one base chain per partition, driven
 * through the nft command (no extra library; bootstrap installs nftables).
 * Acts in the calling thread's network namespace. */
#ifndef FB_NET_PARTITION_H
#define FB_NET_PARTITION_H

#include <stddef.h>
#include "faultbox/error.h"

typedef enum { FB_PART_BOTH, FB_PART_A_TO_B, FB_PART_B_TO_A } fb_part_dir;

/* Drops frames from ports in a to ports in b (and/or back). */
int fb_net_partition_apply (unsigned id, char *const *a, size_t na, char *const *b, size_t nb, fb_part_dir dir,
                            fb_error *err);
int fb_net_partition_heal (unsigned id, fb_error *err);
/* Removes every partition's chain and their table, if there is one. */
int fb_net_partition_reset (fb_error *err);

#endif
