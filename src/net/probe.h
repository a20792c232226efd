/* Link and qdisc probes for `faultbox doctor`. Each must run inside a
 * network namespace of its own (the caller unshares one). */
#ifndef FB_NET_PROBE_H
#define FB_NET_PROBE_H

#include <stddef.h>

/* 0 when a link of `kind` ("veth", "bridge") can be created; else -errno with
 * a reason in why. */
int fb_net_probe_link (const char *kind, char *why, size_t whylen);

/* 0 when a qdisc of `kind` ("netem", "htb") can be attached to loopback. */
int fb_net_probe_qdisc (const char *kind, char *why, size_t whylen);

#endif
