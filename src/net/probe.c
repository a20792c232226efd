#include "net/probe.h"
#include "net/link.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/tc.h>

static struct nl_sock *
open_route (char *why, size_t whylen)
{
  struct nl_sock *sk = NULL;
  fb_error err = { 0 };
  if (fb_net_route_socket (&sk, &err) < 0)
    snprintf (why, whylen, "%s", err.msg);
  return sk;
}

int
fb_net_probe_link (const char *kind, char *why, size_t whylen)
{
  struct nl_sock *sk = open_route (why, whylen);
  if (!sk)
    return -EIO;
  struct rtnl_link *link = NULL;
  if (strcmp (kind, "veth") == 0)
    {
      link = rtnl_link_veth_alloc ();
      if (link)
        {
          rtnl_link_set_name (link, "fbprobe0");
          rtnl_link_set_name (rtnl_link_veth_get_peer (link), "fbprobe1");
        }
    }
  else
    {
      link = rtnl_link_bridge_alloc ();
      if (link)
        rtnl_link_set_name (link, "fbprobe0");
    }
  int ret = 0;
  if (!link)
    {
      snprintf (why, whylen, "libnl cannot allocate a %s link", kind);
      ret = -ENOMEM;
    }
  else
    {
      int r = rtnl_link_add (sk, link, NLM_F_CREATE | NLM_F_EXCL);
      if (r < 0)
        {
          snprintf (why, whylen, "cannot create a %s link: %s", kind, nl_geterror (r));
          ret = -EOPNOTSUPP;
        }
      rtnl_link_put (link);
    }
  nl_socket_free (sk);
  return ret;
}

int
fb_net_probe_qdisc (const char *kind, char *why, size_t whylen)
{
  struct nl_sock *sk = open_route (why, whylen);
  if (!sk)
    return -EIO;
  int ret = 0;
  struct rtnl_qdisc *q = rtnl_qdisc_alloc ();
  rtnl_tc_set_ifindex (TC_CAST (q), 1); /* lo of the fresh namespace */
  rtnl_tc_set_parent (TC_CAST (q), TC_H_ROOT);
  rtnl_tc_set_handle (TC_CAST (q), TC_HANDLE (1, 0));
  int r = rtnl_tc_set_kind (TC_CAST (q), kind);
  if (r >= 0)
    {
      if (strcmp (kind, "netem") == 0)
        rtnl_netem_set_delay (q, 1000);
      r = rtnl_qdisc_add (sk, q, NLM_F_CREATE | NLM_F_REPLACE);
    }
  if (r < 0)
    {
      snprintf (why, whylen, "kernel lacks sch_%s (%s)", kind, nl_geterror (r));
      ret = -EOPNOTSUPP;
    }
  rtnl_qdisc_put (q);
  nl_socket_free (sk);
  return ret;
}
