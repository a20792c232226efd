#include "net/qdisc.h"
#include "net/link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <stdbool.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <netlink/attr.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/tc.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

/* Linux 6.6 (uapi after TCA_NETEM_SLOT_DIST); older headers lack it and
 * older kernels skip it as an unknown attribute. */
#define FB_TCA_NETEM_PRNG_SEED 14

#define ROOT TC_HANDLE (1, 0)
#define CLASS(slot) TC_HANDLE (1, (slot))
#define LEAF(slot) TC_HANDLE (0x100 + (slot), 0)
/* htb needs a rate for every class: a slot without one gets 100 Gbit/s */
#define UNLIMITED (100ULL * 1000 * 1000 * 1000 / 8)

/* netem probabilities are fractions of UINT32_MAX on the wire */
static uint32_t
prob (double p)
{
  return p >= 1.0 ? UINT32_MAX : (uint32_t) (p * (double) UINT32_MAX);
}

bool
fb_net_needs_netem (const fb_link_impairment *f)
{
  return f->delay_ns || f->jitter_ns || f->loss > 0 || f->gemodel || f->duplicate > 0 || f->reorder > 0
         || f->corrupt > 0;
}

static int
missing (int r, const char *what, fb_error *err)
{
  if (r == -NLE_OBJ_NOTFOUND || r == -NLE_OPNOTSUPP || r == -NLE_NOATTR)
    return fb_error_set (err, EOPNOTSUPP, "%s", what);
  return 0;
}

static int
fail (const char *ifname, const char *step, int r, fb_error *err)
{
  return fb_error_set (err, EIO, "link fault on %s: %s: %s", ifname, step, nl_geterror (r));
}

/* The root htb, created once per port; unclassified traffic (default 0)
 * leaves through htb's direct queue, unshaped. */
static int
ensure_root (struct nl_sock *sk, int idx)
{
  struct rtnl_qdisc *q = rtnl_qdisc_alloc ();
  rtnl_tc_set_ifindex (TC_CAST (q), idx);
  rtnl_tc_set_parent (TC_CAST (q), TC_H_ROOT);
  rtnl_tc_set_handle (TC_CAST (q), ROOT);
  int r = rtnl_tc_set_kind (TC_CAST (q), "htb");
  if (r >= 0)
    r = rtnl_qdisc_add (sk, q, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_qdisc_put (q);
  return r == -NLE_EXIST ? 0 : r;
}

static int
add_class (struct nl_sock *sk, int idx, unsigned slot, uint64_t rate)
{
  struct rtnl_class *c = rtnl_class_alloc ();
  rtnl_tc_set_ifindex (TC_CAST (c), idx);
  rtnl_tc_set_parent (TC_CAST (c), ROOT);
  rtnl_tc_set_handle (TC_CAST (c), CLASS (slot));
  int r = rtnl_tc_set_kind (TC_CAST (c), "htb");
  if (r >= 0)
    {
      rtnl_htb_set_rate64 (c, rate);
      rtnl_htb_set_ceil64 (c, rate);
      /* 10 ms of traffic per burst, at least a full frame */
      rtnl_htb_set_rbuffer (c, (uint32_t) (rate / 100 > 1600 ? (rate / 100 > UINT32_MAX ? UINT32_MAX : rate / 100) : 1600));
      rtnl_htb_set_quantum (c, 60000);
      r = rtnl_class_add (sk, c, NLM_F_CREATE | NLM_F_EXCL);
    }
  rtnl_class_put (c);
  return r;
}

static int
add_filter (struct nl_sock *sk, int idx, unsigned slot, uint32_t src)
{
  struct rtnl_cls *c = rtnl_cls_alloc ();
  rtnl_tc_set_ifindex (TC_CAST (c), idx);
  rtnl_tc_set_parent (TC_CAST (c), ROOT);
  int r = rtnl_tc_set_kind (TC_CAST (c), "u32");
  if (r >= 0)
    {
      rtnl_cls_set_prio (c, (uint16_t) slot);
      rtnl_cls_set_protocol (c, src ? ETH_P_IP : ETH_P_ALL);
      rtnl_u32_set_classid (c, CLASS (slot));
      rtnl_u32_set_cls_terminal (c);
      /* the IPv4 source address is at offset 12; mask 0 matches anything */
      r = rtnl_u32_add_key_uint32 (c, ntohl (src), src ? 0xffffffff : 0, src ? 12 : 0, 0);
    }
  /* several sources of one slot: several keys at one priority, each with
   * a handle of its own, all removed together with that priority */
  if (r >= 0)
    r = rtnl_cls_add (sk, c, NLM_F_CREATE);
  rtnl_cls_put (c);
  return r;
}

/* Gilbert-Elliott as the kernel reads it: loss in the good state when a
 * draw is below k1, in the bad state when a draw is above h. */
static int
put_gemodel (struct nl_msg *m, const fb_link_impairment *f)
{
  struct tc_netem_gemodel ge = { .p = prob (f->ge_p), .r = prob (f->ge_r), .h = UINT32_MAX - prob (f->ge_bad_loss),
                                 .k1 = prob (f->ge_good_loss) };
  struct nlattr *loss = nla_nest_start (m, TCA_NETEM_LOSS);
  if (!loss || nla_put (m, NETEM_LOSS_GE, sizeof ge, &ge) < 0)
    return -NLE_NOMEM;
  return nla_nest_end (m, loss);
}

/* netem's rate in bytes per second: 32 bits, with a 64-bit attribute
 * beside it for faster links */
static int
put_rate (struct nl_msg *m, uint64_t rate)
{
  struct tc_netem_rate nr = { .rate = rate > UINT32_MAX ? UINT32_MAX : (uint32_t) rate };
  if (nla_put (m, TCA_NETEM_RATE, sizeof nr, &nr) < 0)
    return -NLE_NOMEM;
  return rate > UINT32_MAX ? nla_put_u64 (m, TCA_NETEM_RATE64, rate) : 0;
}

/* netem by hand: libnl has neither the 64-bit times, the seed, the rate
 * nor Gilbert-Elliott. Its options are a tc_netem_qopt followed by
 * attributes, all inside one TCA_OPTIONS whose length spans them. */
static int
add_netem (struct nl_sock *sk, int idx, unsigned slot, const fb_link_impairment *f)
{
  struct nl_msg *m = nlmsg_alloc_simple (RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL);
  if (!m)
    return -NLE_NOMEM;
  struct tcmsg tcm = { .tcm_family = AF_UNSPEC, .tcm_ifindex = idx, .tcm_parent = CLASS (slot),
                       .tcm_handle = LEAF (slot) };
  struct tc_netem_qopt q = { .limit = 10000, .loss = f->gemodel ? 0 : prob (f->loss), .duplicate = prob (f->duplicate),
                             .gap = f->reorder > 0 ? 1 : 0 };
  struct tc_netem_reorder ro = { .probability = prob (f->reorder) };
  struct tc_netem_corrupt co = { .probability = prob (f->corrupt) };
  struct nlattr *opts = NULL;
  int r = -NLE_NOMEM;
  if (nlmsg_append (m, &tcm, sizeof tcm, NLMSG_ALIGNTO) < 0 || nla_put_string (m, TCA_KIND, "netem") < 0
      || !(opts = nla_reserve (m, TCA_OPTIONS, sizeof q)))
    goto out;
  memcpy (nla_data (opts), &q, sizeof q);
  if (nla_put_s64 (m, TCA_NETEM_LATENCY64, f->delay_ns) < 0 || nla_put_s64 (m, TCA_NETEM_JITTER64, f->jitter_ns) < 0
      || (f->reorder > 0 && nla_put (m, TCA_NETEM_REORDER, sizeof ro, &ro) < 0)
      || (f->corrupt > 0 && nla_put (m, TCA_NETEM_CORRUPT, sizeof co, &co) < 0)
      || (f->gemodel && put_gemodel (m, f) < 0) || (f->rate && put_rate (m, f->rate) < 0)
      || (f->seeded && nla_put_u64 (m, FB_TCA_NETEM_PRNG_SEED, f->seed) < 0))
    goto out;
  opts->nla_len = (uint16_t) ((char *) nlmsg_tail (nlmsg_hdr (m)) - (char *) opts);
  r = nl_send_auto (sk, m);
  if (r >= 0)
    r = nl_wait_for_ack (sk);
out:
  nlmsg_free (m);
  return r;
}

typedef struct {
  int idx;
  uint32_t handle;
  bool kept;
} seed_query;

static int
seed_in_reply (struct nl_msg *msg, void *arg)
{
  seed_query *sq = arg;
  const struct tcmsg *tcm = nlmsg_data (nlmsg_hdr (msg));
  struct nlattr *tb[TCA_MAX + 1], *nt[FB_TCA_NETEM_PRNG_SEED + 1];
  if (tcm->tcm_ifindex == sq->idx && tcm->tcm_handle == sq->handle
      && nlmsg_parse (nlmsg_hdr (msg), sizeof *tcm, tb, TCA_MAX, NULL) == 0 && tb[TCA_OPTIONS]
      && nla_len (tb[TCA_OPTIONS]) >= (int) sizeof (struct tc_netem_qopt))
    {
      int skip = NLA_ALIGN (sizeof (struct tc_netem_qopt));
      struct nlattr *attrs = (struct nlattr *) ((char *) nla_data (tb[TCA_OPTIONS]) + skip);
      sq->kept = nla_parse (nt, FB_TCA_NETEM_PRNG_SEED, attrs, nla_len (tb[TCA_OPTIONS]) - skip, NULL) == 0
                 && nt[FB_TCA_NETEM_PRNG_SEED];
    }
  return NL_OK;
}

/* True when the kernel kept the leaf's seed: from 6.6 on it reports one
 * back; older kernels skip the attribute and seed netem from their own
 * entropy. A dump, since a plain get answers only with NLM_F_ECHO. */
static bool
seed_kept (struct nl_sock *sk, int idx, unsigned slot)
{
  seed_query sq = { .idx = idx, .handle = LEAF (slot) };
  struct nl_msg *m = nlmsg_alloc_simple (RTM_GETQDISC, NLM_F_DUMP);
  struct tcmsg tcm = { .tcm_family = AF_UNSPEC, .tcm_ifindex = idx };
  struct nl_cb *cb = nl_cb_alloc (NL_CB_DEFAULT);
  if (m && cb && nlmsg_append (m, &tcm, sizeof tcm, NLMSG_ALIGNTO) == 0 && nl_send_auto (sk, m) >= 0
      && nl_cb_set (cb, NL_CB_VALID, NL_CB_CUSTOM, seed_in_reply, &sq) == 0)
    nl_recvmsgs (sk, cb);
  nl_cb_put (cb);
  nlmsg_free (m);
  return sq.kept;
}

static int
port_index (const char *ifname, fb_error *err)
{
  int idx = (int) if_nametoindex (ifname);
  if (idx <= 0)
    return fb_error_setsys (err, errno, "link fault: no interface %s", ifname);
  return idx;
}

static int
delete_root (struct nl_sock *sk, int idx)
{
  struct rtnl_qdisc *q = rtnl_qdisc_alloc ();
  rtnl_tc_set_ifindex (TC_CAST (q), idx);
  rtnl_tc_set_parent (TC_CAST (q), TC_H_ROOT);
  int r = rtnl_qdisc_delete (sk, q);
  rtnl_qdisc_put (q);
  return r;
}

/* Removes the slot: its filter and class (the leaf goes with the class), or
 * the whole root htb when the slot is its last class. A port without our
 * root has nothing to remove. */
static int
clear_slot (struct nl_sock *sk, int idx, unsigned slot)
{
  struct nl_cache *cache = NULL;
  int r = rtnl_qdisc_alloc_cache (sk, &cache);
  if (r < 0)
    return r;
  struct rtnl_qdisc *root = rtnl_qdisc_get (cache, idx, ROOT);
  nl_cache_free (cache);
  if (!root)
    return 0;
  rtnl_qdisc_put (root);
  if ((r = rtnl_class_alloc_cache (sk, idx, &cache)) < 0)
    return r;
  struct rtnl_class *c = rtnl_class_get (cache, idx, CLASS (slot));
  int others = nl_cache_nitems (cache) - (c ? 1 : 0);
  nl_cache_free (cache);
  if (!others)
    {
      if (c)
        rtnl_class_put (c);
      return delete_root (sk, idx);
    }
  if (!c)
    return 0;
  struct rtnl_cls *f = rtnl_cls_alloc ();
  rtnl_tc_set_ifindex (TC_CAST (f), idx);
  rtnl_tc_set_parent (TC_CAST (f), ROOT);
  rtnl_cls_set_prio (f, (uint16_t) slot);
  r = rtnl_cls_delete (sk, f, 0);
  rtnl_cls_put (f);
  if (r >= 0 || r == -NLE_OBJ_NOTFOUND)
    r = rtnl_class_delete (sk, c);
  rtnl_class_put (c);
  return r;
}

int
fb_net_link_fault_apply (const char *ifname, unsigned slot, const uint32_t *srcs, size_t nsrc,
                         const fb_link_impairment *f, fb_error *err)
{
  bool netem = fb_net_needs_netem (f);
  if (!netem && !f->rate)
    return fb_error_set (err, EINVAL, "link fault: nothing to apply");
  int idx = port_index (ifname, err);
  if (idx < 0)
    return -1;
  struct nl_sock *sk = NULL;
  if (fb_net_route_socket (&sk, err) < 0)
    return -1;
  int r = clear_slot (sk, idx, slot);
  const char *step = "clearing the previous fault";
  if (r >= 0)
    {
      step = "root htb";
      r = ensure_root (sk, idx);
      if (missing (r, "kernel lacks sch_htb: link faults unavailable (faultbox doctor)", err))
        goto out;
    }
  if (r >= 0)
    {
      step = "htb class";
      r = add_class (sk, idx, slot, f->rate && !netem ? f->rate : UNLIMITED);
    }
  if (r >= 0)
    step = "u32 filter";
  for (size_t i = 0; r >= 0 && i < (nsrc ? nsrc : 1); i++)
    {
      r = add_filter (sk, idx, slot, nsrc ? srcs[i] : 0);
      if (missing (r, "kernel lacks cls_u32: link faults unavailable (faultbox doctor)", err))
        goto out;
    }
  if (r >= 0 && netem)
    {
      step = "netem";
      r = add_netem (sk, idx, slot, f);
      if (missing (r, "kernel lacks sch_netem: link delay/loss unavailable (faultbox doctor)", err))
        goto out;
    }
  if (r < 0)
    fail (ifname, step, r, err);
out:
  if (r < 0)
    clear_slot (sk, idx, slot);
  bool unseeded = r >= 0 && netem && f->seeded && !seed_kept (sk, idx, slot);
  nl_socket_free (sk);
  return r < 0 ? -1 : unseeded ? 1 : 0;
}

int
fb_net_link_fault_clear (const char *ifname, unsigned slot, fb_error *err)
{
  int idx = port_index (ifname, err);
  if (idx < 0)
    return -1;
  struct nl_sock *sk = NULL;
  if (fb_net_route_socket (&sk, err) < 0)
    return -1;
  int r = clear_slot (sk, idx, slot);
  nl_socket_free (sk);
  if (r < 0)
    return fail (ifname, "clear", r, err);
  return 0;
}
