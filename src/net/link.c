#include "net/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/if_bridge.h>
#include <net/if.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

typedef struct nl_sock nl_sock;

#define LOOPBACK_IFINDEX 1 /* lo's, in every network namespace (as the kernel defines it) */

static void
sock_freep (nl_sock **s)
{
  if (*s)
    nl_socket_free (*s);
}

int
fb_net_route_socket (nl_sock **out, fb_error *err)
{
  nl_sock *sk = nl_socket_alloc ();
  if (!sk)
    return fb_error_set (err, ENOMEM, "netlink: cannot allocate a socket");
  int r = nl_connect (sk, NETLINK_ROUTE);
  if (r < 0)
    {
      nl_socket_free (sk);
      return fb_error_set (err, EIO, "netlink: connect: %s", nl_geterror (r));
    }
  *out = sk;
  return 0;
}

/* Brings link ifindex (called name in errors) up: one request, no lookup. */
static int
link_up (nl_sock *sk, int ifindex, const char *name, fb_error *err)
{
  struct rtnl_link *old = rtnl_link_alloc (), *chg = rtnl_link_alloc ();
  rtnl_link_set_ifindex (old, ifindex);
  rtnl_link_set_flags (chg, IFF_UP);
  int r = rtnl_link_change (sk, old, chg, 0);
  rtnl_link_put (chg);
  rtnl_link_put (old);
  if (r < 0)
    return fb_error_set (err, EIO, "netlink: cannot bring %s up: %s", name, nl_geterror (r));
  return 0;
}

static int
add_addr (nl_sock *sk, int ifindex, uint32_t addr, int prefix, fb_error *err)
{
  struct rtnl_addr *a = rtnl_addr_alloc ();
  struct nl_addr *local = nl_addr_build (AF_INET, &addr, 4);
  nl_addr_set_prefixlen (local, prefix);
  rtnl_addr_set_ifindex (a, ifindex);
  rtnl_addr_set_local (a, local);
  int r = rtnl_addr_add (sk, a, 0);
  nl_addr_put (local);
  rtnl_addr_put (a);
  if (r < 0)
    {
      char ip[INET_ADDRSTRLEN];
      inet_ntop (AF_INET, &addr, ip, sizeof ip);
      return fb_error_set (err, EIO, "netlink: cannot add address %s/%d: %s", ip, prefix, nl_geterror (r));
    }
  return 0;
}

int
fb_net_add_address (int ifindex, uint32_t addr, int prefix, fb_error *err)
{
  __attribute__ ((cleanup (sock_freep))) nl_sock *sk = NULL;
  if (fb_net_route_socket (&sk, err) < 0)
    return -1;
  fb_error e = { 0 };
  if (add_addr (sk, ifindex, addr, prefix, &e) < 0)
    {
      /* a kept network has it from an earlier lab */
      if (strstr (e.msg, "exists"))
        return 0;
      return fb_error_set (err, e.code, "%s", e.msg);
    }
  return 0;
}

int
fb_net_lo_up (fb_error *err)
{
  __attribute__ ((cleanup (sock_freep))) nl_sock *sk = NULL;
  if (fb_net_route_socket (&sk, err) < 0)
    return -1;
  return link_up (sk, LOOPBACK_IFINDEX, "lo", err);
}

int
fb_net_make_bridge (const char *name, uint32_t addr, int prefix, int *ifindex, fb_error *err)
{
  __attribute__ ((cleanup (sock_freep))) nl_sock *sk = NULL;
  if (fb_net_route_socket (&sk, err) < 0)
    return -1;
  if (link_up (sk, LOOPBACK_IFINDEX, "lo", err) < 0)
    return -1;
  struct rtnl_link *br = rtnl_link_bridge_alloc ();
  rtnl_link_set_name (br, name);
  /* An address of its own (locally administered, from addr): otherwise the
   * bridge takes its lowest port's, and changes it as ports come and go,
   * leaving the services' neighbour entries for the worker stale. */
  unsigned char mac[6] = { 0x02, 0xfb };
  memcpy (mac + 2, &addr, 4);
  struct nl_addr *lladdr = nl_addr_build (AF_LLC, mac, sizeof mac);
  rtnl_link_set_addr (br, lladdr);
  nl_addr_put (lladdr);
  int r = rtnl_link_add (sk, br, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put (br);
  if (r < 0)
    return fb_error_set (err, EIO, "netlink: cannot create bridge %s: %s", name, nl_geterror (r));
  int idx = (int) if_nametoindex (name);
  if (idx <= 0 || add_addr (sk, idx, addr, prefix, err) < 0 || link_up (sk, idx, name, err) < 0)
    return err && err->code ? -err->code : -EIO;
  *ifindex = idx;
  return 0;
}

int
fb_net_make_veth (const char *host_name, int bridge_ifindex, int peer_netns, uint32_t peer_addr, fb_error *err)
{
  __attribute__ ((cleanup (sock_freep))) nl_sock *sk = NULL;
  if (fb_net_route_socket (&sk, err) < 0)
    return -1;
  struct rtnl_link *veth = rtnl_link_veth_alloc ();
  if (!veth)
    return fb_error_set (err, ENOMEM, "netlink: cannot allocate a veth");
  struct rtnl_link *peer = rtnl_link_veth_get_peer (veth);
  rtnl_link_set_name (veth, host_name);
  rtnl_link_set_master (veth, bridge_ifindex);
  rtnl_link_set_flags (veth, IFF_UP);
  rtnl_link_set_name (peer, "eth0");
  rtnl_link_set_ns_fd (peer, peer_netns);
  /* a MAC of the service's address: a restarted service's new veth is
   * reached through the neighbour entries the lab already holds */
  const uint8_t *ip = (const uint8_t *) &peer_addr;
  uint8_t mac[6] = { 0x02, 0xfb, ip[0], ip[1], ip[2], ip[3] };
  struct nl_addr *ll = nl_addr_build (AF_LLC, mac, sizeof mac);
  if (ll)
    {
      rtnl_link_set_addr (peer, ll);
      nl_addr_put (ll);
    }
  /* One queue each, asked for up front: trimming the default (one per
   * CPU) after registration waits for an RCU grace period per end. */
  rtnl_link_set_num_tx_queues (veth, 1);
  rtnl_link_set_num_rx_queues (veth, 1);
  rtnl_link_set_num_tx_queues (peer, 1);
  rtnl_link_set_num_rx_queues (peer, 1);
  int r = rtnl_link_add (sk, veth, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put (peer);
  rtnl_link_put (veth);
  if (r < 0)
    return fb_error_set (err, EIO, "netlink: cannot create veth %s: %s", host_name, nl_geterror (r));
  return 0;
}

int
fb_net_delete_link (const char *name, fb_error *err)
{
  __attribute__ ((cleanup (sock_freep))) nl_sock *sk = NULL;
  if (fb_net_route_socket (&sk, err) < 0)
    return -1;
  struct rtnl_link *l = rtnl_link_alloc ();
  if (!l)
    return fb_error_set (err, ENOMEM, "netlink: cannot allocate a link");
  rtnl_link_set_name (l, name);
  int r = rtnl_link_delete (sk, l);
  rtnl_link_put (l);
  if (r < 0 && r != -NLE_NODEV && r != -NLE_OBJ_NOTFOUND)
    return fb_error_set (err, EIO, "netlink: cannot delete link %s: %s", name, nl_geterror (r));
  return 0;
}

void
fb_net_no_ipv6_on_new_links (void)
{
  int fd = open ("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  if (write (fd, "1", 1) < 0)
    {
      /* best effort: the links work either way */
    }
  close (fd);
}

int
fb_net_configure_service (uint32_t addr, int prefix, uint32_t gw, fb_error *err)
{
  __attribute__ ((cleanup (sock_freep))) nl_sock *sk = NULL;
  if (fb_net_route_socket (&sk, err) < 0)
    return -1;
  int idx = (int) if_nametoindex ("eth0");
  if (idx <= 0)
    return fb_error_setsys (err, errno, "netlink: no link eth0");
  if (link_up (sk, LOOPBACK_IFINDEX, "lo", err) < 0 || link_up (sk, idx, "eth0", err) < 0)
    return -1;
  if (add_addr (sk, idx, addr, prefix, err) < 0)
    return -1;
  struct rtnl_route *rt = rtnl_route_alloc ();
  struct rtnl_nexthop *nh = rtnl_route_nh_alloc ();
  struct nl_addr *via = nl_addr_build (AF_INET, &gw, 4);
  struct nl_addr *dst = NULL;
  nl_addr_parse ("default", AF_INET, &dst);
  rtnl_route_nh_set_ifindex (nh, idx);
  rtnl_route_nh_set_gateway (nh, via);
  rtnl_route_add_nexthop (rt, nh);
  rtnl_route_set_dst (rt, dst);
  rtnl_route_set_family (rt, AF_INET);
  rtnl_route_set_table (rt, RT_TABLE_MAIN);
  int r = rtnl_route_add (sk, rt, 0);
  nl_addr_put (via);
  nl_addr_put (dst);
  rtnl_route_put (rt);
  if (r < 0)
    return fb_error_set (err, EIO, "netlink: cannot add the default route: %s", nl_geterror (r));
  return 0;
}

int
fb_net_isolate_ports (char *const *ports, size_t n, fb_error *err)
{
  __attribute__ ((cleanup (sock_freep))) nl_sock *sk = NULL;
  if (fb_net_route_socket (&sk, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      int idx = (int) if_nametoindex (ports[i]);
      if (idx <= 0)
        continue; /* gone already */
      struct nl_msg *m = nlmsg_alloc_simple (RTM_SETLINK, 0);
      struct ifinfomsg ifi = { .ifi_family = AF_BRIDGE, .ifi_index = idx };
      struct nlattr *pi;
      if (!m || nlmsg_append (m, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0
          || !(pi = nla_nest_start (m, IFLA_PROTINFO | NLA_F_NESTED))
          || nla_put_u8 (m, IFLA_BRPORT_STATE, BR_STATE_DISABLED) < 0)
        {
          nlmsg_free (m);
          return fb_error_set (err, ENOMEM, "netlink: cannot build a port state request");
        }
      nla_nest_end (m, pi);
      int r = nl_send_sync (sk, m);
      if (r < 0 && r != -NLE_NODEV && r != -NLE_OBJ_NOTFOUND)
        return fb_error_set (err, EIO, "netlink: cannot disable bridge port %s: %s", ports[i], nl_geterror (r));
    }
  return 0;
}

int
fb_net_flush_neighbours (int ifindex, fb_error *err)
{
  __attribute__ ((cleanup (sock_freep))) nl_sock *sk = NULL;
  struct nl_cache *cache = NULL;
  if (fb_net_route_socket (&sk, err) < 0)
    return -1;
  int r = rtnl_neigh_alloc_cache (sk, &cache);
  if (r < 0)
    return fb_error_set (err, EIO, "netlink: cannot list neighbours: %s", nl_geterror (r));
  for (struct nl_object *o = nl_cache_get_first (cache); o && r >= 0; o = nl_cache_get_next (o))
    if (rtnl_neigh_get_ifindex ((struct rtnl_neigh *) o) == ifindex)
      {
        r = rtnl_neigh_delete (sk, (struct rtnl_neigh *) o, 0);
        r = r == -NLE_OBJ_NOTFOUND ? 0 : r;
      }
  nl_cache_free (cache);
  if (r < 0)
    return fb_error_set (err, EIO, "netlink: cannot delete a neighbour entry: %s", nl_geterror (r));
  return 0;
}
