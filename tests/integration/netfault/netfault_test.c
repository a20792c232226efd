/* Network faults on the lab bridge. A partition cuts an established TCP connection between
 * two services silently (no error on either side), one way or both, and the
 * conversation resumes after heal, through netem's loss 100 % where the
 * kernel has sch_netem and an nft chain where it does not; either lives only
 * as long as the partition, and the lab's namespace goes with the lab. A
 * rate limit slows a transfer, from anyone or from one service only. With
 * netem (scripts/kernel-lane): a delay adds to one pair's round trip only,
 * a seed fixes the drops, Gilbert-Elliott loses in bursts, rate and delay
 * combine. Runs real services in a real lab. */
#include "faultbox/features.h"
#include "faultbox/lab.h"
#include "util/time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                                                                              \
  do                                                                                                                  \
    {                                                                                                                 \
      if (cond)                                                                                                       \
        printf ("ok: " __VA_ARGS__);                                                                                  \
      else                                                                                                            \
        {                                                                                                             \
          printf ("FAIL: " __VA_ARGS__);                                                                              \
          failures++;                                                                                                 \
        }                                                                                                             \
      printf ("\n");                                                                                                  \
    }                                                                                                                 \
  while (0)

typedef struct {
  int during, after, errors;
} counts;

/* Counts lines received in [t0, t1) and after t1, and errors seen before
 * t_end (when the lab began to stop, which may legitimately end a peer). */
static counts
scan (const char *log, double t0, double t1, double t_end)
{
  counts c = { 0 };
  FILE *f = fopen (log, "re");
  char line[256], what[64];
  double t;
  while (f && fgets (line, sizeof line, f))
    {
      if (sscanf (line, "error %lf", &t) == 1)
        c.errors += t < t_end;
      else if (sscanf (line, "recv %63s %lf", what, &t) == 2)
        {
          c.during += t >= t0 && t < t1;
          c.after += t >= t1;
        }
    }
  if (f)
    fclose (f);
  return c;
}

static double
now_s (void)
{
  return (double) fb_now_ns () / 1e9;
}

/* Runs shell command cmd inside the lab network; its exit status. */
static int
in_lab_sh (fb_lab *lab, const char *cmd)
{
  fb_error err = { 0 };
  if (fb_lab_enter (lab, -1, &err) < 0)
    return -1;
  int rc = system (cmd);
  fb_lab_leave (lab);
  return rc;
}

static ino_t
lab_netns (fb_lab *lab)
{
  fb_error err = { 0 };
  struct stat st = { 0 };
  if (fb_lab_enter (lab, -1, &err) == 0)
    {
      stat ("/proc/thread-self/ns/net", &st);
      fb_lab_leave (lab);
    }
  return st.st_ino;
}

/* True when some task or some fd of ours still refers to network namespace ino. */
static bool
netns_alive (ino_t ino)
{
  bool found = false;
  char want[64], path[512], link[64];
  snprintf (want, sizeof want, "net:[%lu]", (unsigned long) ino);
  DIR *d = opendir ("/proc");
  struct dirent *e;
  while (d && !found && (e = readdir (d)))
    {
      struct stat st;
      snprintf (path, sizeof path, "/proc/%s/ns/net", e->d_name);
      found = e->d_name[0] >= '1' && e->d_name[0] <= '9' && stat (path, &st) == 0 && st.st_ino == ino;
    }
  if (d)
    closedir (d);
  d = opendir ("/proc/self/fd");
  while (d && !found && (e = readdir (d)))
    {
      snprintf (path, sizeof path, "/proc/self/fd/%s", e->d_name);
      ssize_t n = readlink (path, link, sizeof link - 1);
      found = n > 0 && (link[n] = '\0', strcmp (link, want) == 0);
    }
  if (d)
    closedir (d);
  return found;
}

static bool
have_netem (void)
{
  fb_features feats;
  fb_features_probe (&feats, NULL);
  return feats.items[FB_FEAT_NETEM].ok;
}

/* Where sch_netem exists a partition is netem's loss 100 % on the receiving
 * ports and nft holds nothing; elsewhere it is an nft chain of the lab. */
static void
check_partition_state (fb_lab *lab, unsigned id, bool open, fb_lab_part_dir pdir, const char *title)
{
  char chain[128];
  snprintf (chain, sizeof chain, "nft list chain bridge faultbox p%u >/dev/null 2>&1", id);
  if (!have_netem ())
    {
      CHECK ((in_lab_sh (lab, chain) == 0) == open, "%s: the partition's nft chain is %s", title,
             open ? "in the lab's ruleset" : "gone after heal");
      return;
    }
  const char *cut = "tc qdisc show dev fbv1 | grep -q 'netem.*loss 100%'";
  const char *back = "tc qdisc show dev fbv0 | grep -q 'netem.*loss 100%'";
  CHECK ((in_lab_sh (lab, cut) == 0) == open, "%s: the server's port %s netem loss 100%%", title,
         open ? "carries" : "no longer carries");
  CHECK ((in_lab_sh (lab, back) == 0) == (open && pdir == FB_LAB_PART_BOTH), "%s: the client's port %s", title,
         open && pdir == FB_LAB_PART_BOTH ? "is cut too" : "is not cut");
  CHECK ((in_lab_sh (lab, "tc qdisc show | grep -q htb") == 0) == open, "%s: %s", title,
         open ? "the cut hangs under a root htb" : "heal took every qdisc along");
  CHECK (in_lab_sh (lab, "nft list tables | grep -q faultbox") != 0, "%s: no nft table (the netem path)", title);
}

static void
run_case (const char *py, const char *dir, fb_lab_part_dir pdir, const char *title)
{
  char *server_argv[] = { "/usr/bin/python3", (char *) py, "server", "0.1", NULL };
  char *client_argv[] = { "/usr/bin/python3", (char *) py, "client", "0.1", NULL };
  char *envp[] = { "PATH=/usr/bin:/bin", NULL };
  const char *binds[] = { dir, NULL };
  fb_service_plan svcs[] = {
    { .name = "client", .argv = client_argv, .envp = envp, .ro_binds = binds },
    { .name = "server", .argv = server_argv, .envp = envp, .ro_binds = binds },
  };
  fb_lab_plan plan = { .services = svcs, .n_services = 2 };
  fb_lab *lab = NULL;
  fb_error err = { 0 };
  if (fb_lab_create (&plan, &lab, &err) < 0 || fb_lab_start_service (lab, 1, &err) < 0
      || fb_lab_start_service (lab, 0, &err) < 0)
    {
      printf ("FAIL: %s: lab: %s\n", title, err.msg);
      failures++;
      fb_lab_destroy (lab);
      return;
    }
  /* python starts slowly on an emulated CPU: wait for the conversation */
  for (int i = 0; i < 300; i++)
    {
      counts c0 = scan (fb_lab_service_log (lab, 0), 0, 0, 1e12), c1 = scan (fb_lab_service_log (lab, 1), 0, 0, 1e12);
      if (c0.after >= 3 && c1.after >= 3)
        break;
      fb_sleep_ns (50 * FB_NS_PER_MS);
    }
  size_t a = 0, b = 1;
  unsigned id = 0;
  if (fb_lab_partition (lab, &a, 1, &b, 1, pdir, &id, &err) < 0)
    {
      printf ("FAIL: %s: partition: %s\n", title, err.msg);
      failures++;
      fb_lab_destroy (lab);
      return;
    }
  /* a line already past the bridge may still be read: count from a bit later */
  double t0 = now_s () + 0.05;
  check_partition_state (lab, id, true, pdir, title);
  fb_sleep_ns (1500 * FB_NS_PER_MS);
  double t1 = now_s ();
  if (fb_lab_heal (lab, id, &err) < 0)
    {
      printf ("FAIL: %s: heal: %s\n", title, err.msg);
      failures++;
    }
  check_partition_state (lab, id, false, pdir, title);
  fb_sleep_ns (4 * FB_NS_PER_S); /* TCP retransmits on its own backoff */
  double t_end = now_s ();
  fb_lab_stop (lab);
  counts cl = scan (fb_lab_service_log (lab, 0), t0, t1, t_end);
  counts sv = scan (fb_lab_service_log (lab, 1), t0, t1, t_end);
  printf ("%s: client got %d during, %d after; server got %d during, %d after\n", title, cl.during, cl.after,
          sv.during, sv.after);
  CHECK (cl.errors == 0 && sv.errors == 0, "%s: neither side saw an error", title);
  CHECK (sv.during == 0, "%s: server received nothing from the client during the partition", title);
  if (pdir == FB_LAB_PART_BOTH)
    CHECK (cl.during == 0, "%s: client received nothing from the server during the partition", title);
  else
    CHECK (cl.during >= 1, "%s: the server's lines still reached the client (%d)", title, cl.during);
  CHECK (sv.after >= 5 && cl.after >= 5, "%s: the conversation resumed after heal", title);
  ino_t ns = lab_netns (lab);
  fb_lab_destroy (lab);
  CHECK (ns && !netns_alive (ns), "%s: the lab's network namespace (and its qdiscs, nft tables) went with the lab",
         title);
}

/* Sends n bytes to the sink idx from service `from` (-1: the lab's client
 * address) and waits for its answer; returns the seconds it took, or -1. */
static double
send_to_sink (fb_lab *lab, ssize_t from, size_t idx, size_t n)
{
  fb_error err = { 0 };
  if (fb_lab_enter (lab, from, &err) < 0)
    return -1;
  double t = -1;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (7001) };
  inet_pton (AF_INET, fb_lab_service_addr (lab, idx), &sa.sin_addr);
  static char buf[1 << 16];
  double t0 = now_s ();
  for (int i = 0; i < 100 && connect (fd, (struct sockaddr *) &sa, sizeof sa) < 0; i++)
    {
      close (fd);
      fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      fb_sleep_ns (50 * FB_NS_PER_MS);
      t0 = now_s ();
    }
  size_t sent = 0;
  while (sent < n)
    {
      ssize_t w = send (fd, buf, n - sent < sizeof buf ? n - sent : sizeof buf, MSG_NOSIGNAL);
      if (w <= 0)
        break;
      sent += (size_t) w;
    }
  shutdown (fd, SHUT_WR);
  char reply[64] = "";
  if (sent == n && recv (fd, reply, sizeof reply - 1, 0) > 0 && strncmp (reply, "got ", 4) == 0)
    t = now_s () - t0;
  close (fd);
  fb_lab_leave (lab);
  return t;
}

static void
run_link_cases (const char *py, const char *dir)
{
  char *argv[] = { "/usr/bin/python3", (char *) py, "sink", "0", NULL };
  char *envp[] = { "PATH=/usr/bin:/bin", NULL };
  const char *binds[] = { dir, NULL };
  /* two sinks: "peer" (0) only serves as a second source */
  fb_service_plan svcs[] = {
    { .name = "peer", .argv = argv, .envp = envp, .ro_binds = binds },
    { .name = "sink", .argv = argv, .envp = envp, .ro_binds = binds },
  };
  fb_lab_plan plan = { .services = svcs, .n_services = 2 };
  fb_lab *lab = NULL;
  fb_error err = { 0 };
  if (fb_lab_create (&plan, &lab, &err) < 0 || fb_lab_start_service (lab, 0, &err) < 0
      || fb_lab_start_service (lab, 1, &err) < 0)
    {
      printf ("FAIL: link: lab: %s\n", err.msg);
      failures++;
      fb_lab_destroy (lab);
      return;
    }
  double plain = send_to_sink (lab, -1, 1, 400000);
  fb_link_impairment rate = { .rate = 250000 }; /* 2mbit */
  int r = fb_lab_link_fault (lab, -1, 1, &rate, &err);
  CHECK (r == 0, "a rate alone applies through htb%s%s", r ? ": " : "", r ? err.msg : "");
  double shaped = send_to_sink (lab, -1, 1, 400000);
  CHECK (in_lab_sh (lab, "tc qdisc show dev fbv1 | grep -q htb") == 0, "the shaped port has a root htb");
  fb_lab_link_clear (lab, -1, 1, &err);
  double cleared = send_to_sink (lab, -1, 1, 400000);
  printf ("400 kB to the sink: %.3fs plain, %.3fs at 2mbit, %.3fs after clear\n", plain, shaped, cleared);
  CHECK (plain >= 0 && plain < 0.5, "unshaped transfer is fast");
  CHECK (shaped >= 1.2, "2mbit makes 400 kB take over 1.2 s");
  CHECK (cleared >= 0 && cleared < 0.5, "clearing the rate restores the link");
  CHECK (in_lab_sh (lab, "tc qdisc show dev fbv1 | grep -q htb") != 0, "clearing the last fault removes the root htb");

  r = fb_lab_link_fault (lab, 0, 1, &rate, &err);
  CHECK (r == 0, "a rate from peer to sink applies%s%s", r ? ": " : "", r ? err.msg : "");
  double from_peer = send_to_sink (lab, 0, 1, 400000);
  double from_client = send_to_sink (lab, -1, 1, 400000);
  fb_lab_link_clear (lab, 0, 1, &err);
  double peer_cleared = send_to_sink (lab, 0, 1, 400000);
  printf ("400 kB to the sink with 2mbit from peer only: %.3fs from peer, %.3fs from the client, %.3fs from peer after clear\n",
          from_peer, from_client, peer_cleared);
  CHECK (from_peer >= 1.2, "the pair's rate slows the peer's transfer");
  CHECK (from_client >= 0 && from_client < 0.5, "the client's transfer to the same sink stays fast");
  CHECK (peer_cleared >= 0 && peer_cleared < 0.5, "clearing the pair restores the peer's link");

  fb_link_impairment delay = { .delay_ns = 200 * FB_NS_PER_MS, .seeded = true, .seed = 42 };
  fb_error derr = { 0 };
  r = fb_lab_link_fault (lab, -1, 1, &delay, &derr);
  if (!have_netem ())
    {
      CHECK (r < 0 && strcmp (derr.msg, "kernel lacks sch_netem: link delay/loss unavailable (faultbox doctor)") == 0,
             "without sch_netem a delay fails with the doctor's reason (got: %s)", derr.msg);
      CHECK (in_lab_sh (lab, "tc qdisc show dev fbv1 | grep -q htb") != 0, "a failed fault leaves no qdisc behind");
    }
  else
    {
      double slow = send_to_sink (lab, -1, 1, 10);
      /* the SYN and the data each cross into the sink once */
      CHECK (r >= 0 && slow >= 0.4 && slow < 1.0, "a 200 ms delay shows in one exchange (%.3fs)", slow);
      CHECK (in_lab_sh (lab, "tc qdisc show dev fbv1 | grep -q 'netem.*delay 200ms'") == 0, "the netem leaf carries the delay");
      fb_lab_link_clear (lab, -1, 1, &derr);

      fb_link_impairment both = { .delay_ns = 100 * FB_NS_PER_MS, .rate = 250000 };
      r = fb_lab_link_fault (lab, 0, 1, &both, &derr);
      CHECK (r == 0, "a rate with a delay applies through netem%s%s", r ? ": " : "", r ? derr.msg : "");
      double t = send_to_sink (lab, 0, 1, 400000);
      printf ("measured: 400 kB peer -> sink at 2mbit + 100ms delay (netem rate): %.3fs\n", t);
      CHECK (t >= 1.3 && t < 10, "2mbit with a 100 ms delay makes 400 kB take over 1.3 s");
      CHECK (in_lab_sh (lab, "tc qdisc show dev fbv1 | grep -q 'netem.*delay 100ms.*rate 2Mbit'") == 0,
             "netem carries both the delay and the rate");
      fb_lab_link_clear (lab, 0, 1, &derr);
    }
  fb_lab_destroy (lab);
}

/* ---- with real packets: round trips and drops (sch_netem only) ---------- */

/* A UDP socket in service svc's network (bound to port when nonzero). */
static int
udp_in (fb_lab *lab, ssize_t svc, int port)
{
  fb_error err = { 0 };
  if (fb_lab_enter (lab, svc, &err) < 0)
    return -1;
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
  struct timeval tv = { .tv_sec = 2 };
  int big = 4 << 20;
  if (fd >= 0 && (bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0
                  || setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0
                  || setsockopt (fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0))
    {
      close (fd);
      fd = -1;
    }
  fb_lab_leave (lab);
  return fd;
}

static struct sockaddr_in
addr_of (fb_lab *lab, size_t svc, int port)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
  inet_pton (AF_INET, fb_lab_service_addr (lab, svc), &sa.sin_addr);
  return sa;
}

typedef struct {
  int fd;
  struct sockaddr_in addr;
} endpoint;

static endpoint
endpoint_in (fb_lab *lab, size_t svc, int port)
{
  return (endpoint){ udp_in (lab, (ssize_t) svc, port), addr_of (lab, svc, port) };
}

static int
cmp_double (const void *x, const void *y)
{
  double a = *(const double *) x, b = *(const double *) y;
  return a < b ? -1 : a > b;
}

/* The median round trip, in ms, of a datagram a -> b -> a (-1 on a loss). */
static double
rtt_ms (const endpoint *a, const endpoint *b)
{
  double t[7];
  char buf[16];
  for (int i = 0; i < 7; i++)
    {
      double t0 = now_s ();
      if (sendto (a->fd, "ping", 4, 0, (const struct sockaddr *) &b->addr, sizeof b->addr) != 4
          || recv (b->fd, buf, sizeof buf, 0) != 4
          || sendto (b->fd, "pong", 4, 0, (const struct sockaddr *) &a->addr, sizeof a->addr) != 4
          || recv (a->fd, buf, sizeof buf, 0) != 4)
        return -1;
      t[i] = (now_s () - t0) * 1000;
    }
  qsort (t, 7, sizeof *t, cmp_double);
  return t[3];
}

#define N_DGRAMS 2000

/* Sends n numbered datagrams a -> b and marks which arrived; the count. */
static int
deliveries (const endpoint *a, const endpoint *b, int n, bool *got)
{
  memset (got, 0, (size_t) n * sizeof *got);
  int count = 0;
  unsigned seq;
  for (int i = 0; i <= n; i++)
    {
      if (i < n)
        {
          seq = (unsigned) i;
          sendto (a->fd, &seq, sizeof seq, 0, (const struct sockaddr *) &b->addr, sizeof b->addr);
        }
      /* drain as we go; after the last, wait for stragglers */
      while (recv (b->fd, &seq, sizeof seq, i < n ? MSG_DONTWAIT : 0) == (ssize_t) sizeof seq)
        if (seq < (unsigned) n && !got[seq])
          got[seq] = true, count++;
      if (i == n - 1)
        {
          struct timeval tv = { .tv_usec = 300000 };
          setsockopt (b->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        }
    }
  struct timeval tv = { .tv_sec = 2 };
  setsockopt (b->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return count;
}

/* The drops of N_DGRAMS datagrams a -> b under impairment f from service
 * `from`; *kept tells whether the kernel took f's seed. */
static int
drops_under (fb_lab *lab, size_t from, size_t to, const fb_link_impairment *f, const endpoint *a, const endpoint *b,
             bool *got, bool *kept)
{
  fb_error err = { 0 };
  int r = fb_lab_link_fault (lab, (ssize_t) from, to, f, &err);
  if (r < 0)
    {
      printf ("FAIL: link fault: %s\n", err.msg);
      failures++;
      return -1;
    }
  *kept = r == 0;
  int n = N_DGRAMS - deliveries (a, b, N_DGRAMS, got);
  fb_lab_link_clear (lab, (ssize_t) from, to, &err);
  return n;
}

static bool
kernel_at_least (int major, int minor)
{
  int ma = 0, mi = 0;
  FILE *f = fopen ("/proc/sys/kernel/osrelease", "re");
  if (f && fscanf (f, "%d.%d", &ma, &mi) != 2)
    ma = 0;
  if (f)
    fclose (f);
  return ma > major || (ma == major && mi >= minor);
}

static void
run_packet_cases (const char *py, const char *dir)
{
  char *argv[] = { "/usr/bin/python3", (char *) py, "sink", "0", NULL };
  char *envp[] = { "PATH=/usr/bin:/bin", NULL };
  const char *binds[] = { dir, NULL };
  fb_service_plan svcs[] = {
    { .name = "a", .argv = argv, .envp = envp, .ro_binds = binds },
    { .name = "b", .argv = argv, .envp = envp, .ro_binds = binds },
    { .name = "c", .argv = argv, .envp = envp, .ro_binds = binds },
  };
  fb_lab_plan plan = { .services = svcs, .n_services = 3 };
  fb_lab *lab = NULL;
  fb_error err = { 0 };
  if (fb_lab_create (&plan, &lab, &err) < 0 || fb_lab_start_service (lab, 0, &err) < 0
      || fb_lab_start_service (lab, 1, &err) < 0 || fb_lab_start_service (lab, 2, &err) < 0)
    {
      printf ("FAIL: packets: lab: %s\n", err.msg);
      failures++;
      fb_lab_destroy (lab);
      return;
    }
  endpoint a = endpoint_in (lab, 0, 7100), b = endpoint_in (lab, 1, 7100), c = endpoint_in (lab, 2, 7100);
  CHECK (a.fd >= 0 && b.fd >= 0 && c.fd >= 0, "UDP sockets in three services");

  /* a 200 ms delay on a -> b: the a-b round trip grows by 200 ms, no other */
  double ab0 = rtt_ms (&a, &b), cb0 = rtt_ms (&c, &b), ac0 = rtt_ms (&a, &c);
  fb_link_impairment delay = { .delay_ns = 200 * FB_NS_PER_MS };
  int r = fb_lab_link_fault (lab, 0, 1, &delay, &err);
  double ab = rtt_ms (&a, &b), cb = rtt_ms (&c, &b), ac = rtt_ms (&a, &c);
  fb_lab_link_clear (lab, 0, 1, &err);
  double ab1 = rtt_ms (&a, &b);
  printf ("measured: round trip a<->b %.1f ms plain, %.1f ms with 200 ms on a->b, %.1f ms after clear; "
          "c<->b %.1f -> %.1f ms; a<->c %.1f -> %.1f ms\n", ab0, ab, ab1, cb0, cb, ac0, ac);
  CHECK (r == 0 && ab0 >= 0 && ab - ab0 >= 180 && ab - ab0 <= 220, "200 ms on a->b adds 200 ms +- 10%% to a<->b (%+.1f ms)",
         ab - ab0);
  CHECK (cb0 >= 0 && cb >= 0 && cb - cb0 < 20, "c<->b is not delayed (%+.1f ms): the delay is a's only", cb - cb0);
  CHECK (ac0 >= 0 && ac >= 0 && ac - ac0 < 20, "a<->c is not delayed (%+.1f ms): the delay is b's only", ac - ac0);
  CHECK (ab1 >= 0 && ab1 - ab0 < 20, "clearing the delay restores a<->b (%+.1f ms)", ab1 - ab0);

  /* 30 % loss: one seed, one pattern of drops, where the kernel seeds netem */
  static bool got1[N_DGRAMS], got2[N_DGRAMS], got3[N_DGRAMS];
  fb_link_impairment loss = { .loss = 0.3, .seeded = true, .seed = 42 };
  bool k1, k2, k3;
  int d1 = drops_under (lab, 0, 1, &loss, &a, &b, got1, &k1);
  int d2 = drops_under (lab, 0, 1, &loss, &a, &b, got2, &k2);
  loss.seed = 43;
  int d3 = drops_under (lab, 0, 1, &loss, &a, &b, got3, &k3);
  int diff12 = 0, diff13 = 0;
  for (int i = 0; i < N_DGRAMS; i++)
    diff12 += got1[i] != got2[i], diff13 += got1[i] != got3[i];
  printf ("measured: 30%% loss of %d datagrams: seed 42 dropped %d, again %d (%d datagrams differ), seed 43 %d (%d differ); "
          "seed %s by the kernel\n", N_DGRAMS, d1, d2, diff12, d3, diff13, k1 ? "kept" : "ignored");
  CHECK (d1 > N_DGRAMS / 5 && d1 < N_DGRAMS * 2 / 5 && d3 > N_DGRAMS / 5 && d3 < N_DGRAMS * 2 / 5,
         "30%% loss drops about 30%% (%d, %d of %d)", d1, d3, N_DGRAMS);
  CHECK (k1 == k2 && k2 == k3 && k1 == (diff12 == 0), "the kernel reports the seed kept exactly when it honours it");
  if (k1)
    CHECK (diff12 == 0 && diff13 > 0, "seed 42 twice drops the same datagrams, seed 43 others");
  else
    CHECK (!kernel_at_least (6, 6), "only kernels before 6.6 ignore netem's seed (%d of %d drops differ)", diff12,
           N_DGRAMS);

  /* Gilbert-Elliott: p 5 %, r 25 %, all lost in the bad state: about 1/6
   * lost, in bursts of 4 on average (random loss would give 1.2) */
  fb_link_impairment ge = { .gemodel = true, .ge_p = 0.05, .ge_r = 0.25, .ge_bad_loss = 1.0 };
  r = fb_lab_link_fault (lab, 0, 1, &ge, &err);
  CHECK (r == 0, "Gilbert-Elliott loss applies%s%s", r ? ": " : "", r ? err.msg : "");
  CHECK (in_lab_sh (lab, "tc qdisc show dev fbv1 | grep -q 'netem.*loss gemodel p 5%'") == 0,
         "the netem leaf carries the gemodel");
  int lost = N_DGRAMS - deliveries (&a, &b, N_DGRAMS, got1), bursts = 0;
  fb_lab_link_clear (lab, 0, 1, &err);
  for (int i = 0; i < N_DGRAMS; i++)
    bursts += !got1[i] && (i == 0 || got1[i - 1]);
  double mean = bursts ? (double) lost / bursts : 0;
  printf ("measured: gemodel p 5%% r 25%% 1-h 100%%: %d of %d lost in %d bursts (mean %.2f)\n", lost, N_DGRAMS, bursts,
          mean);
  CHECK (lost > N_DGRAMS / 20 && lost < N_DGRAMS * 2 / 5, "Gilbert-Elliott loses about a sixth (%d)", lost);
  CHECK (mean >= 2.0, "its losses come in bursts (mean %.2f)", mean);

  CHECK (in_lab_sh (lab, "tc qdisc show | grep -q 'htb\\|netem'") != 0, "no qdisc is left once every fault is cleared");
  close (a.fd);
  close (b.fd);
  close (c.fd);
  ino_t ns = lab_netns (lab);
  fb_lab_destroy (lab);
  CHECK (ns && !netns_alive (ns), "the lab's network namespace, and its qdiscs, went with the lab");
}

int
main (int argc, char **argv)
{
  if (getuid () != 0)
    {
      const char *ra = getenv ("FAULTBOX_REQUIRE_ALL");
      printf ("skip: needs root\n");
      return ra && strcmp (ra, "1") == 0 ? 1 : 77;
    }
  char py[4096], dir[4096];
  snprintf (dir, sizeof dir, "%s/tests/integration/netfault", getenv ("FAULTBOX_SRC") ? getenv ("FAULTBOX_SRC") : ".");
  snprintf (py, sizeof py, "%s/peer.py", dir);
  run_case (py, dir, FB_LAB_PART_BOTH, "both ways");
  run_case (py, dir, FB_LAB_PART_A_TO_B, "client to server only");
  run_link_cases (py, dir);
  if (have_netem ())
    run_packet_cases (py, dir);
  return failures ? 1 : 0;
}
