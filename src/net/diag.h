/* Listening sockets seen through NETLINK_SOCK_DIAG: whether something
 * listens on a TCP port, asked of the kernel without a connection the
 * listener would see. A sock_diag socket answers for the network
 * namespace it was made in. */
#ifndef FB_NET_DIAG_H
#define FB_NET_DIAG_H

#include "faultbox/error.h"

/* A NETLINK_SOCK_DIAG socket of the calling thread's network namespace. */
int fb_net_diag_socket (fb_error *err);

/* 1 when a TCP socket (IPv4 or IPv6) of fd's namespace listens on port,
 * 0 when none does. */
int fb_net_tcp_listening (int fd, int port, fb_error *err);

#endif
