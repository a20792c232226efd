#include "net/qdisc.h"
#include "net/link.h"

#include <errno.h>
#include <net/if.h>
#include <stdbool.h>

#include <netlink/netlink.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/netem.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>

/* netem probabilities are fractions of UINT32_MAX on the wire; libnl passes
 * the int through unchanged. */
static int
prob (double p)
{
  return (int) (uint32_t) (p >= 1.0 ? UINT32_MAX : p * (double) UINT32_MAX);
}

static bool
needs_netem (const fb_link_impairment *f)
{
  return f->delay_ns || f->jitter_ns || f->loss > 0 || f->duplicate > 0 || f->reorder > 0 || f->corrupt > 0;
}

/* A route socket and a root qdisc object for ifname. */
static int
root_qdisc (const char *ifname, struct nl_sock **sk, struct rtnl_qdisc **q, fb_error *err)
{
  int idx = (int) if_nametoindex (ifname);
  if (idx <= 0)
    return fb_error_setsys (err, errno, "link fault: no interface %s", ifname);
  if (fb_net_route_socket (sk, err) < 0)
    return -1;
  *q = rtnl_qdisc_alloc ();
  rtnl_tc_set_ifindex (TC_CAST (*q), idx);
  rtnl_tc_set_parent (TC_CAST (*q), TC_H_ROOT);
  return 0;
}

int
fb_net_link_fault_apply (const char *ifname, const fb_link_impairment *f, fb_error *err)
{
  bool netem = needs_netem (f);
  if (netem && f->rate)
    return fb_error_set (err, EINVAL, "link fault: a rate together with delay/loss is not supported yet; use one or the other");
  if (!netem && !f->rate)
    return fb_error_set (err, EINVAL, "link fault: nothing to apply");
  struct nl_sock *sk = NULL;
  struct rtnl_qdisc *q = NULL;
  if (root_qdisc (ifname, &sk, &q, err) < 0)
    return -1;
  rtnl_tc_set_handle (TC_CAST (q), TC_HANDLE (1, 0));
  int r = rtnl_tc_set_kind (TC_CAST (q), netem ? "netem" : "tbf");
  if (r >= 0 && netem)
    {
      rtnl_netem_set_limit (q, 10000);
      rtnl_netem_set_delay (q, (int) (f->delay_ns / 1000));
      rtnl_netem_set_jitter (q, (int) (f->jitter_ns / 1000));
      rtnl_netem_set_loss (q, prob (f->loss));
      rtnl_netem_set_duplicate (q, prob (f->duplicate));
      rtnl_netem_set_reorder_probability (q, prob (f->reorder));
      rtnl_netem_set_corruption_probability (q, prob (f->corrupt));
    }
  else if (r >= 0)
    {
      /* a burst of 10 ms of traffic (at least one MTU) and 100 ms of queue */
      uint64_t burst = f->rate / 100 > 1600 ? f->rate / 100 : 1600;
      rtnl_qdisc_tbf_set_rate (q, (int) f->rate, (int) burst, 0);
      r = rtnl_qdisc_tbf_set_limit_by_latency (q, 100000);
    }
  if (r >= 0)
    r = rtnl_qdisc_add (sk, q, NLM_F_CREATE | NLM_F_REPLACE);
  rtnl_qdisc_put (q);
  nl_socket_free (sk);
  if (r < 0 && netem && (r == -NLE_OBJ_NOTFOUND || r == -NLE_OPNOTSUPP || r == -NLE_NOATTR))
    return fb_error_set (err, EOPNOTSUPP, "kernel lacks sch_netem: link delay/loss unavailable (faultbox doctor)");
  if (r < 0)
    return fb_error_set (err, EIO, "link fault on %s: %s", ifname, nl_geterror (r));
  return 0;
}

int
fb_net_link_fault_clear (const char *ifname, fb_error *err)
{
  struct nl_sock *sk = NULL;
  struct rtnl_qdisc *q = NULL;
  if (root_qdisc (ifname, &sk, &q, err) < 0)
    return -1;
  int r = rtnl_qdisc_delete (sk, q);
  rtnl_qdisc_put (q);
  nl_socket_free (sk);
  if (r < 0 && r != -NLE_OBJ_NOTFOUND)
    return fb_error_set (err, EIO, "clearing the link fault on %s: %s", ifname, nl_geterror (r));
  return 0;
}
