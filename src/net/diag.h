/* Listening sockets seen through NETLINK_SOCK_DIAG: whether something
 * listens on a TCP port, asked of the kernel without a connection the
 * listener would see. A sock_diag socket answers for the network
 * namespace it was made in. */
#ifndef FB_NET_DIAG_H
#define FB_NET_DIAG_H

#include "faultbox/error.h"

/* A NETLINK_SOCK_DIAG socket of the calling thread's network namespace. */
int fb_net_diag_socket (fb_error *err);

/* 1 when a TCP socket of fd's namespace listens on port at the wildcard
 * address (IPv4, IPv6 or both), 0 when none does. A listener bound to one
 * address only is not seen: this is a hint, never the verdict. */
int fb_net_tcp_listening (int fd, int port, fb_error *err);

#endif
