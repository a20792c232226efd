/* Protocol-level faults from specs: response(), error(), drop(),
 * duplicate() and delay(delay=...) rules, attached to an interface with
 * fault(svc.iface, rule, ..., run=fn), fault_start/fault_stop or a
 * fault_assumption(target=svc.iface, rules=[...]); the lab's proxy that
 * applies them, and the events and summaries they leave. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faultbox/proxy.h"
#include "lang/internal.h"
#include "util/alloc.h"
#include "faultbox/buf.h"
#include "util/cleanup.h"
#include "util/parse.h"
#include "util/time.h"

/* The matcher keywords, as Faultbox spells them, and what each means. */
static const struct {
  const char *kw, *canon;
} matcher_kws[] = {
  { "method", "method" }, { "op", "method" }, { "path", "path" }, { "query", "query" },
  { "command", "command" }, { "key", "key" }, { "collection", "key" }, { "topic", "topic" },
  { "subject", "topic" }, { "header", "header" },
};
#define N_MATCHERS (sizeof matcher_kws / sizeof *matcher_kws)

typedef struct {
  const char *fname;        /* the builtin that made it */
  fb_proxy_rule rule;
  char *matchers;           /* as written: "method=POST path=/data/x" */
  const char *given[N_MATCHERS]; /* canonical matcher names given */
  size_t n_given;
} pfault_val;

static void
pfault_free (void *p)
{
  pfault_val *f = p;
  fb_proxy_rule_clear (&f->rule);
  free (f->matchers);
  free (f);
}

static char *
pfault_repr (fb_value *self)
{
  pfault_val *f = fb_host_data (self, &spec_proxy_fault_type);
  return fb_xasprintf ("%s(%s)", f->fname, f->matchers);
}

const fb_host_type spec_proxy_fault_type = {
  .name = "proxy_fault", .repr = pfault_repr, .destroy = pfault_free,
};

/* ---- the rule builtins ------------------------------------------------ */

static int
set_matcher (fb_star_thread *th, const char *fname, pfault_val *f, const char *canon, const char *kw,
             fb_value *v, fb_buf *desc)
{
  const char *s = fb_value_type_of (v) == FB_V_STRING ? fb_value_as_string (v, NULL) : NULL;
  if (!s)
    {
      fb_star_errorf (th, "%s(): %s= must be a string glob, got %s", fname, kw, fb_value_type_name (v));
      return -1;
    }
  char **slot = !strcmp (canon, "method") || !strcmp (canon, "command") ? &f->rule.verb : &f->rule.target;
  if (!strcmp (canon, "header"))
    {
      const char *colon = strchr (s, ':');
      if (!colon || colon == s)
        {
          fb_star_errorf (th, "%s(): header= must be \"Name: glob\", got \"%s\"", fname, s);
          return -1;
        }
      f->rule.header_name = fb_xstrndup (s, (size_t) (colon - s));
      f->rule.header_glob = fb_xstrdup (colon + 1 + strspn (colon + 1, " \t"));
    }
  else if (*slot)
    {
      fb_star_errorf (th, "%s(): %s= repeats a matcher already given", fname, kw);
      return -1;
    }
  else
    *slot = fb_xstrdup (s);
  f->given[f->n_given++] = canon;
  fb_buf_printf (desc, "%s%s=%s", desc->len ? " " : "", kw, s);
  return 0;
}

/* One keyword of a rule builtin that is not a matcher. */
static int
set_param (fb_star_thread *th, const char *fname, pfault_val *f, const char *kw, fb_value *v)
{
  const char *s = fb_value_type_of (v) == FB_V_STRING ? fb_value_as_string (v, NULL) : NULL;
  fb_error e = { 0 };
  int64_t n;
  if (!strcmp (kw, "probability"))
    {
      if (spec_parse_probability (th, fname, v, &f->rule.probability) < 0)
        return -1;
      /* as in Faultbox, 0 (unset) means every match */
      if (f->rule.probability == 0)
        f->rule.probability = 1;
      return 0;
    }
  if (!strcmp (kw, "status"))
    {
      /* a postgres error's status is its SQLSTATE: five digits or capitals */
      if (s && strlen (s) == 5 && strspn (s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 5)
        {
          memcpy (f->rule.sqlstate, s, 6);
          return 0;
        }
      /* which one the interface takes is checked when the rule is attached */
      if (!fb_value_as_int64 (v, &n) || n < 0 || n > 999 || (n > 16 && n < 100))
        return fb_star_errorf (th, "%s(): status= must be an HTTP status code (100-999), a gRPC status code (0-16) "
                                   "or a postgres or mysql SQLSTATE (\"40001\")",
                               fname), -1;
      f->rule.status = (int) n;
      return 0;
    }
  if (!s)
    return fb_star_errorf (th, "%s(): %s= must be a string, got %s", fname, kw, fb_value_type_name (v)), -1;
  if (!strcmp (kw, "delay"))
    {
      if (fb_parse_duration (s, &f->rule.delay_ns, &e) < 0 || f->rule.delay_ns <= 0)
        return fb_star_errorf (th, "%s(): delay: %s", fname, e.msg[0] ? e.msg : "must be more than 0"), -1;
      return 0;
    }
  char **dst = !strcmp (kw, "message") ? &f->rule.message : &f->rule.body;
  free (*dst);
  *dst = fb_xstrdup (s);
  return 0;
}

/* params: the builtin's own keywords beyond the matchers and probability. */
static fb_value *
make_rule (fb_star_thread *th, const char *fname, fb_proxy_action action, const char *const *params,
           const fb_star_args *a)
{
  if (a->npos)
    return fb_star_errorf (th, "%s(): takes keyword arguments only (e.g. %s(method=\"POST\", path=\"/orders\"))",
                           fname, fname);
  pfault_val *f = FB_NEW (pfault_val);
  f->fname = fname;
  f->rule.action = action;
  f->rule.probability = 1;
  fb_value *v = fb_host_new (th, &spec_proxy_fault_type, f);
  _cleanup_buf_ fb_buf desc = FB_BUF_INIT;
  for (size_t i = 0; i < a->nkw; i++)
    {
      const char *kw = a->kwnames[i];
      size_t m = 0;
      while (m < N_MATCHERS && strcmp (matcher_kws[m].kw, kw))
        m++;
      bool param = !strcmp (kw, "probability");
      for (const char *const *p = params; *p && !param; p++)
        param = !strcmp (*p, kw);
      int rc;
      if (m < N_MATCHERS)
        rc = set_matcher (th, fname, f, matcher_kws[m].canon, kw, a->kwvals[i], &desc);
      else if (param)
        rc = set_param (th, fname, f, kw, a->kwvals[i]);
      else
        {
          _cleanup_buf_ fb_buf valid = FB_BUF_INIT;
          for (size_t k = 0; k < N_MATCHERS; k++)
            fb_buf_printf (&valid, "%s, ", matcher_kws[k].kw);
          fb_buf_puts (&valid, "probability");
          for (const char *const *p = params; *p; p++)
            fb_buf_printf (&valid, ", %s", *p);
          return fb_star_errorf (th, "%s(): unknown keyword argument \"%s\"; valid: %s", fname, kw,
                                 fb_buf_str (&valid));
        }
      if (rc < 0)
        return NULL;
    }
  if (action == FB_PX_DELAY && !f->rule.delay_ns)
    return fb_star_errorf (th, "delay() requires delay= or a positional duration argument");
  f->matchers = fb_xstrdup (desc.len ? fb_buf_str (&desc) : "");
  return v;
}

static fb_value *
b_response (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  static const char *const params[] = { "status", "body", "value", NULL };
  return make_rule (th, "response", FB_PX_RESPOND, params, a);
}

static fb_value *
b_error (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  static const char *const params[] = { "message", "status", NULL };
  return make_rule (th, "error", FB_PX_ERROR, params, a);
}

static fb_value *
b_drop (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  static const char *const params[] = { NULL };
  return make_rule (th, "drop", FB_PX_DROP, params, a);
}

static fb_value *
b_duplicate (fb_star_thread *th, fb_value *self, const fb_star_args *a)
{
  (void) self;
  static const char *const params[] = { NULL };
  return make_rule (th, "duplicate", FB_PX_DUPLICATE, params, a);
}

fb_value *
spec_proxy_delay (fb_star_thread *th, const fb_star_args *a)
{
  static const char *const params[] = { "delay", NULL };
  return make_rule (th, "delay", FB_PX_DELAY, params, a);
}

/* ---- the proxy of a running test ------------------------------------- */

typedef struct {
  size_t svc, iface;
  uint64_t scope, id;
  char *action, *detail, *filter;
} px_installed;

struct session_proxy {
  fb_proxy *px;
  px_installed *rules;
  size_t n_rules;
  uint64_t *start_scope;   /* per service x interface: fault_start's scope */
};

static size_t
iface_slot (const fb_plan *p, size_t svc, size_t iface)
{
  size_t k = 0;
  for (size_t i = 0; i < svc; i++)
    k += p->services[i].n_ifaces;
  return k + iface;
}

/* Which service a peer address is: "test" for the worker. */
static const char *
peer_name (fb_session *ss, const char *addr)
{
  if (!strcmp (addr, fb_lab_worker_addr (ss->lab)))
    return "test";
  for (size_t i = 0; i < ss->spec->plan.n_services; i++)
    {
      if (!strcmp (addr, fb_lab_service_addr (ss->lab, i)))
        return ss->spec->plan.services[i].name;
      /* the worker's steps to the proxy's own address leave from it */
      const char *px = fb_lab_proxy_addr (ss->lab, i);
      if (px && !strcmp (addr, px))
        return "test";
    }
  return addr;
}

/* A rule fired: the `proxy` event of Faultbox's trace (reference 2.7),
 * with the client that sent the message. */
static void
on_fired (void *ctx, const fb_proxy_event *ev)
{
  fb_session *ss = ctx;
  const fb_framing *fr = fb_protocol_find (ev->protocol)->framing;
  /* replies with a status (http's) report it, the others their error */
  bool status = !fr->default_error;
  const fb_proxy_rule *r = ev->rule;
  char num[32] = "";
  const char *kv[20] = { "interface", ev->iface, "protocol", ev->protocol, "action",
                         fb_proxy_action_name (r->action), "from", peer_name (ss, ev->client) };
  size_t n = 8;
  if (fr->event_verb)
    kv[n++] = fr->event_verb, kv[n++] = ev->msg->verb;
  if (fr->event_target)
    kv[n++] = fr->event_target, kv[n++] = ev->msg->target;
  if (r->action == FB_PX_DELAY)
    {
      snprintf (num, sizeof num, "%lld", (long long) (r->delay_ns / FB_NS_PER_MS));
      kv[n++] = "delay_ms", kv[n++] = num;
    }
  else if (status && (r->action == FB_PX_RESPOND || r->action == FB_PX_ERROR))
    {
      snprintf (num, sizeof num, "%d", r->status ? r->status : 500);
      kv[n++] = "status", kv[n++] = num;
    }
  else if (r->action == FB_PX_ERROR)
    kv[n++] = "error", kv[n++] = r->message ? r->message : fr->default_error;
  session_event (ss, "proxy", ev->service, kv);
}

static void
on_conn (void *ctx, const fb_proxy_conn_event *ev)
{
  const char *kv[] = { "interface", ev->iface, "protocol", ev->protocol, "reason", ev->reason, NULL };
  session_event (ctx, !strcmp (ev->what, "unframed") ? "proxy_unframed" : "proxy_conn_close", ev->service, kv);
}

int
session_proxy_start (fb_session *ss, fb_error *err)
{
  fb_spec *sp = ss->spec;
  const fb_plan *p = &sp->plan;
  if (!sp->proxied_any)
    return 0;
  struct session_proxy *sx = ss->proxy = FB_NEW (struct session_proxy);
  fb_proxy_callbacks cb = { on_fired, on_conn, ss };
  sx->px = fb_proxy_new (ss->result->seed, &cb);
  sx->start_scope = fb_xcalloc (iface_slot (p, p->n_services, 0) + 1, sizeof *sx->start_scope);
  for (size_t i = 0; i < p->n_services; i++)
    for (size_t k = 0; k < p->services[i].n_ifaces && sp->proxied_svc[i]; k++)
      {
        const fb_plan_interface *f = &p->services[i].ifaces[k];
        bool framed = sp->proxied[iface_slot (p, i, k)];
        const char *listen = fb_lab_proxy_addr (ss->lab, i), *up = fb_lab_service_addr (ss->lab, i);
        /* datagrams are relayed as datagrams, framed or not */
        const fb_protocol *pr = fb_protocol_find (f->protocol);
        if (fb_proxy_listen (sx->px, p->services[i].name, f->name, framed || pr->datagram ? pr : NULL, listen,
                             f->port, up, f->port, err) < 0)
          return -1;
        char addr[64], target[64];
        snprintf (addr, sizeof addr, "%s:%d", listen, f->port);
        snprintf (target, sizeof target, "%s:%d", up, f->port);
        const char *kv[] = { "interface", f->name, "protocol", f->protocol, "listen", addr, "target", target,
                             "mode", framed ? "passthrough" : "relay", NULL };
        session_event (ss, "proxy_started", p->services[i].name, kv);
      }
  return fb_proxy_start (sx->px, err);
}

void
session_proxy_partition (fb_session *ss, unsigned id, const size_t *a, size_t na, const size_t *b, size_t nb,
                         fb_lab_part_dir dir)
{
  if (!ss->proxy)
    return;
  const fb_plan *p = &ss->spec->plan;
  /* ab: what a sends to b is lost; a's connections to b then lose their
   * requests, b's connections to a their replies */
  bool ab = dir != FB_LAB_PART_B_TO_A, ba = dir != FB_LAB_PART_A_TO_B;
  for (size_t i = 0; i < na; i++)
    for (size_t k = 0; k < nb; k++)
      {
        fb_proxy_cut (ss->proxy->px, id, fb_lab_service_addr (ss->lab, a[i]), p->services[b[k]].name, ab, ba);
        fb_proxy_cut (ss->proxy->px, id, fb_lab_service_addr (ss->lab, b[k]), p->services[a[i]].name, ba, ab);
      }
}

void
session_proxy_heal (fb_session *ss, unsigned id)
{
  if (ss->proxy)
    fb_proxy_heal (ss->proxy->px, id);
}

void
session_proxy_close (fb_session *ss)
{
  struct session_proxy *sx = ss->proxy;
  if (!sx)
    return;
  fb_proxy_free (sx->px);
  for (size_t i = 0; i < sx->n_rules; i++)
    {
      free (sx->rules[i].action);
      free (sx->rules[i].detail);
      free (sx->rules[i].filter);
    }
  free (sx->rules);
  free (sx->start_scope);
  free (sx);
  ss->proxy = NULL;
}

const char *
session_step_host (fb_session *ss, size_t svc)
{
  const char *px = ss->proxy ? fb_lab_proxy_addr (ss->lab, svc) : NULL;
  return px ? px : fb_lab_service_addr (ss->lab, svc);
}

/* ---- attaching rules -------------------------------------------------- */

/* What a rule asks that the interface's protocol cannot do. */
static int
rule_unfit (fb_star_thread *th, const char *fname, const pfault_val *pf, const fb_plan_service *s,
            const fb_plan_interface *f, const fb_framing *fr)
{
  const fb_proxy_rule *r = &pf->rule;
  /* a session protocol (HTTP/2) answers from the verdict, without reply() */
  if (!fr->reply && !fr->session && (r->action == FB_PX_RESPOND || r->action == FB_PX_ERROR))
    return fb_star_errorf (th, "%s: %s() on %s.%s: the %s proxy only drops, delays and duplicates what passes",
                           fname, pf->fname, s->name, f->name, f->protocol), -1;
  if (fr->no_respond && r->action == FB_PX_RESPOND)
    return fb_star_errorf (th, "%s: response() on %s.%s: the %s proxy answers only error() (and drop(), delay())",
                           fname, s->name, f->name, f->protocol), -1;
  if (r->action == FB_PX_ERROR && fr->sqlstate && r->status)
    return fb_star_errorf (th, "%s: error(status=%d) on %s.%s: a %s error's status is a SQLSTATE string, e.g. status=\"40001\"",
                           fname, r->status, s->name, f->name, f->protocol), -1;
  if (r->status && (r->status < 100) != fr->grpc_status)
    return fb_star_errorf (th, "%s: %s(status=%d) on %s.%s: %s takes %s", fname, pf->fname, r->status, s->name,
                           f->name, f->protocol, fr->grpc_status ? "a gRPC status code (0-16)" : "an HTTP status code (100-999)"), -1;
  if (!fr->sqlstate && r->sqlstate[0])
    return fb_star_errorf (th, "%s: error(status=\"%s\") on %s.%s: a SQLSTATE is for postgres and mysql interfaces; %s takes a status code",
                           fname, r->sqlstate, s->name, f->name, f->protocol), -1;
  return 0;
}

/* The matchers this protocol's proxy fills, for messages: "command= and key=". */
static void
matcher_list (const fb_framing *fr, fb_buf *b)
{
  if (!*fr->matchers)
    fb_buf_puts (b, "no field (its rules apply to every message)");
  for (const char *const *m = fr->matchers; *m; m++)
    fb_buf_printf (b, "%s%s=", m == fr->matchers ? "" : m[1] ? ", " : " and ", *m);
}

int
spec_proxy_install (fb_star_thread *th, const char *fname, fb_session *ss, const iface_ref *r, fb_value *v,
                    uint64_t scope, const char *why_kv, const char *why)
{
  const fb_plan_service *s = &ss->spec->plan.services[r->svc];
  const fb_plan_interface *f = &s->ifaces[r->iface];
  pfault_val *pf = fb_host_data (v, &spec_proxy_fault_type);
  if (!pf)
    return fb_star_errorf (th, "%s(interface_ref, ...) arguments must be response()/error()/drop()/duplicate()/delay(delay=...), got %s",
                           fname, fb_value_type_name (v)), -1;
  const fb_protocol *p = fb_protocol_find (f->protocol);
  if (!p->framing)
    return fb_star_errorf (th, "%s: %s.%s is a %s interface: protocol-level rules need a protocol the proxy can frame (%s); use syscall faults on %s instead",
                           fname, s->name, f->name, f->protocol, fb_protocol_framed_names (), s->name), -1;
  if (s->mock && s->mock->ifaces[r->iface].tls.cert)
    return fb_star_errorf (th, "%s: %s.%s serves TLS (mock_service tls=True): protocol-level rules on it are not "
                               "supported yet (the proxy does not terminate TLS); use syscall faults on %s instead",
                           fname, s->name, f->name, s->name), -1;
  if (rule_unfit (th, fname, pf, s, f, p->framing) < 0)
    return -1;
  for (size_t i = 0; i < pf->n_given; i++)
    {
      bool ok = false;
      for (const char *const *m = p->framing->matchers; *m; m++)
        ok |= !strcmp (*m, pf->given[i]);
      if (ok)
        continue;
      _cleanup_buf_ fb_buf known = FB_BUF_INIT;
      matcher_list (p->framing, &known);
      return fb_star_errorf (th, "%s: %s(%s=...) can never match on %s.%s: the %s proxy matches %s", fname,
                             pf->fname, pf->given[i], s->name, f->name, f->protocol, fb_buf_str (&known)), -1;
    }
  struct session_proxy *sx = ss->proxy;
  ssize_t li = sx ? fb_proxy_find (sx->px, s->name, f->name) : -1;
  if (li < 0)
    return fb_star_errorf (th, "%s: %s.%s is not proxied in this run: faultbox proxies the interfaces that fault() and fault_assumption(target=) name, found when the spec loads; name the interface directly, e.g. %s(%s.%s, ...)",
                           fname, s->name, f->name, fname, s->name, f->name), -1;
  fb_error e = { 0 };
  uint64_t id;
  if (fb_proxy_add_rule (sx->px, (size_t) li, &pf->rule, scope, &id, &e) < 0)
    return fb_star_errorf (th, "%s: %s", fname, e.msg), -1;
  px_installed in = { r->svc, r->iface, scope, id, fb_xstrdup (fb_proxy_action_name (pf->rule.action)), NULL,
                      fb_xasprintf ("proxy %s%s%s", f->protocol, *pf->matchers ? " " : "", pf->matchers) };
  const fb_proxy_rule *rl = &pf->rule;
  char d[32];
  if (rl->action == FB_PX_DELAY)
    fb_format_duration (rl->delay_ns, d, sizeof d), in.detail = fb_xstrdup (d);
  else if (rl->status || rl->message)
    in.detail = rl->status ? fb_xasprintf ("%d", rl->status) : fb_xstrdup (rl->message);
  sx->rules = fb_xreallocarray (sx->rules, sx->n_rules + 1, sizeof *sx->rules);
  sx->rules[sx->n_rules++] = in;
  char listen[64];
  snprintf (listen, sizeof listen, "%s:%d", fb_lab_proxy_addr (ss->lab, r->svc), f->port);
  const char *kv[] = { "interface", f->name, "protocol", f->protocol, "proxy", listen, "rule", in.filter,
                       why_kv, why, NULL };
  session_event (ss, "proxy_fault_applied", s->name, kv);
  return 0;
}

static void
summarize (fb_session *ss, const px_installed *in)
{
  struct session_proxy *sx = ss->proxy;
  const fb_plan_service *s = &ss->spec->plan.services[in->svc];
  uint64_t matched, fired;
  fb_proxy_rule_stats (sx->px, in->id, &matched, &fired);
  fb_fault_summary *f = session_add_summary (ss);
  const char *iface = s->ifaces[in->iface].name;
  f->service = fb_xstrdup (s->name);
  f->keyword = fb_xstrdup (iface);
  f->action = fb_xstrdup (in->action);
  f->errno_name = in->detail && strcmp (in->action, "delay") ? fb_xstrdup (in->detail) : NULL;
  f->delay = in->detail && !strcmp (in->action, "delay") ? fb_xstrdup (in->detail) : NULL;
  f->filter = fb_xstrdup (in->filter);
  f->hits = fired;
  f->matched = matched;
  if (!fired)
    f->hint = matched ? fb_xasprintf ("%s on %s.%s matched %" PRIu64 " message%s, but its probability let none fire",
                                      in->action, s->name, iface, matched, matched == 1 ? "" : "s")
                      : fb_xasprintf ("no message to %s.%s matched %s while the rule was installed", s->name,
                                      iface, in->filter);
  char hits[32];
  snprintf (hits, sizeof hits, "%" PRIu64, fired);
  const char *kv[] = { "interface", iface, "rule", in->filter, "hits", hits, NULL };
  session_event (ss, "proxy_fault_removed", s->name, kv);
}

void
session_proxy_remove_scope (fb_session *ss, uint64_t scope)
{
  struct session_proxy *sx = ss->proxy;
  if (!sx)
    return;
  size_t k = 0;
  for (size_t i = 0; i < sx->n_rules; i++)
    {
      px_installed *in = &sx->rules[i];
      if (in->scope != scope)
        {
          sx->rules[k++] = *in;
          continue;
        }
      summarize (ss, in);
      free (in->action);
      free (in->detail);
      free (in->filter);
    }
  sx->n_rules = k;
  fb_proxy_remove_scope (sx->px, scope);
}

/* fault(svc.iface, rule, ..., run=fn) installs the positional rules in
 * scope; fault_start(svc.iface, rule, ...) in the interface's own. */
int
spec_proxy_fault (fb_star_thread *th, const char *fname, fb_session *ss, const fb_star_args *a, uint64_t scope)
{
  iface_ref *r = fb_host_data (a->pos[0], &spec_iface_ref_type);
  const char *source = "";
  for (size_t i = 0; i < a->nkw; i++)
    if (!strcmp (a->kwnames[i], "source"))
      {
        ssize_t s = spec_service_arg (th, fname, a->kwvals[i]);
        if (s < 0)
          return -1;
        source = ss->spec->plan.services[s].name;
      }
    else if (strcmp (a->kwnames[i], "run"))
      return fb_star_errorf (th, "%s: an interface takes protocol rules as positional arguments (response(), error(), drop(), ...), not %s=",
                             fname, a->kwnames[i]), -1;
  if (a->npos < 2)
    return fb_star_errorf (th, "%s(interface_ref, ...) requires at least one protocol fault (response(), error(), drop(), duplicate(), delay(delay=...))",
                           fname), -1;
  if (!strcmp (fname, "fault_start"))
    {
      size_t slot = iface_slot (&ss->spec->plan, r->svc, r->iface);
      struct session_proxy *sx = ss->proxy;
      if (sx && !sx->start_scope[slot])
        sx->start_scope[slot] = ++ss->next_scope;
      scope = sx ? sx->start_scope[slot] : 0;
    }
  for (size_t i = 1; i < a->npos; i++)
    if (spec_proxy_install (th, fname, ss, r, a->pos[i], scope, "source", source) < 0)
      return -1;
  return 0;
}

/* fault_stop(svc.iface): removes what fault_start put there. */
void
spec_proxy_fault_stop (fb_session *ss, const iface_ref *r)
{
  struct session_proxy *sx = ss->proxy;
  if (!sx)
    return;
  size_t slot = iface_slot (&ss->spec->plan, r->svc, r->iface);
  if (sx->start_scope[slot])
    session_proxy_remove_scope (ss, sx->start_scope[slot]);
  sx->start_scope[slot] = 0;
}

void
spec_predeclare_proxyfaults (fb_spec *s)
{
  static const spec_builtin fns[] = {
    { "response", b_response }, { "error", b_error }, { "drop", b_drop }, { "duplicate", b_duplicate },
  };
  spec_predeclare_all (s, fns, sizeof fns / sizeof *fns);
}

void
session_proxy_remove_all (fb_session *ss)
{
  while (ss->proxy && ss->proxy->n_rules)
    session_proxy_remove_scope (ss, ss->proxy->rules[0].scope);
}
