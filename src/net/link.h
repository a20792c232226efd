/* Lab links through libnl: the bridge of a lab network namespace, the veth
 * of each service, addresses and routes. Every function acts in the network
 * namespace of the calling thread. */
#ifndef FB_NET_LINK_H
#define FB_NET_LINK_H

#include <stdint.h>
#include <sys/types.h>
#include "faultbox/error.h"

struct nl_sock;
/* A connected NETLINK_ROUTE socket; free with nl_socket_free. */
int fb_net_route_socket (struct nl_sock **out, fb_error *err);

/* Brings lo up (a fresh network namespace has it down). */
int fb_net_lo_up (fb_error *err);

/* Creates bridge `name` with addr/prefix and brings it and lo up; returns
 * the bridge's ifindex in *ifindex. */
int fb_net_make_bridge (const char *name, uint32_t addr, int prefix, int *ifindex, fb_error *err);

/* Adds addr/prefix to ifindex; already there is fine. */
int fb_net_add_address (int ifindex, uint32_t addr, int prefix, fb_error *err);

/* Creates veth host_name <-> peer "eth0" in the network namespace open as
 * peer_netns, with host_name enslaved to the bridge and up; eth0's MAC is
 * 02:fb: then peer_addr (network order), the same for every incarnation. */
int fb_net_make_veth (const char *host_name, int bridge_ifindex, int peer_netns, uint32_t peer_addr,
                      fb_error *err);
/* Deletes a link (both ends of a veth) now; a missing one is no error. */
int fb_net_delete_link (const char *name, fb_error *err);

/* Cuts bridge ports off (STP state disabled: nothing is forwarded to or
 * from them) without deleting them, which would wait for RCU grace
 * periods; names that no longer exist are skipped. */
int fb_net_isolate_ports (char *const *ports, size_t n, fb_error *err);

/* Deletes every neighbour (ARP, NDP) entry on ifindex. */
int fb_net_flush_neighbours (int ifindex, fb_error *err);

/* Links made from now on in the calling thread's network namespace get no
 * IPv6 (the lab is IPv4; lo keeps ::1): no link-local address, duplicate
 * address detection, router solicitations or MLD reports, work the kernel
 * would do under its rtnl lock, stalling the next lab's links. Without
 * IPv6 in the kernel there is nothing to turn off. Best effort. */
void fb_net_no_ipv6_on_new_links (void);

/* Inside a service: lo and eth0 up, eth0 gets addr/prefix, default route via gw. */
int fb_net_configure_service (uint32_t addr, int prefix, uint32_t gw, fb_error *err);

#endif
