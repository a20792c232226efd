/* Network faults on the lab bridge. A partition cuts an established TCP connection between
 * two services silently (no error on either side), one way or both, and the
 * conversation resumes after heal; its nft chain lives in the lab's network
 * namespace only as long as the partition, and the namespace goes with the
 * lab. A rate limit slows a transfer, from anyone or from one service only.
 * Runs real services in a real lab. */
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
  char chain[128];
  snprintf (chain, sizeof chain, "nft list chain bridge faultbox p%u >/dev/null 2>&1", id);
  CHECK (in_lab_sh (lab, chain) == 0, "%s: the partition's chain is in the lab's nft ruleset", title);
  fb_sleep_ns (1500 * FB_NS_PER_MS);
  double t1 = now_s ();
  if (fb_lab_heal (lab, id, &err) < 0)
    {
      printf ("FAIL: %s: heal: %s\n", title, err.msg);
      failures++;
    }
  CHECK (in_lab_sh (lab, chain) != 0, "%s: heal removed the chain", title);
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
    CHECK (cl.during >= 2, "%s: the server's lines still reached the client (%d)", title, cl.during);
  CHECK (sv.after >= 5 && cl.after >= 5, "%s: the conversation resumed after heal", title);
  ino_t ns = lab_netns (lab);
  fb_lab_destroy (lab);
  CHECK (ns && !netns_alive (ns), "%s: the lab's network namespace (and its nft tables) went with the lab", title);
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

  fb_features feats;
  fb_features_probe (&feats, NULL);
  fb_link_impairment delay = { .delay_ns = 200 * FB_NS_PER_MS, .seeded = true, .seed = 42 };
  fb_error derr = { 0 };
  r = fb_lab_link_fault (lab, -1, 1, &delay, &derr);
  if (!feats.items[FB_FEAT_NETEM].ok)
    {
      CHECK (r < 0 && strcmp (derr.msg, "kernel lacks sch_netem: link delay/loss unavailable (faultbox doctor)") == 0,
             "without sch_netem a delay fails with the doctor's reason (got: %s)", derr.msg);
      CHECK (in_lab_sh (lab, "tc qdisc show dev fbv1 | grep -q htb") != 0, "a failed fault leaves no qdisc behind");
    }
  else
    {
      double slow = send_to_sink (lab, -1, 1, 10);
      /* the SYN and the data each cross into the sink once */
      CHECK (r == 0 && slow >= 0.4 && slow < 1.0, "a 200 ms delay shows in one exchange (%.3fs)", slow);
      CHECK (in_lab_sh (lab, "tc qdisc show dev fbv1 | grep -q 'netem.*delay 200ms'") == 0, "the netem leaf carries the delay");
      fb_lab_link_clear (lab, -1, 1, &derr);
      fb_link_impairment loss = { .loss = 0.5, .seeded = true, .seed = 42 };
      r = fb_lab_link_fault (lab, 0, 1, &loss, &derr);
      int seeded = in_lab_sh (lab, "tc -d qdisc show dev fbv1 | grep -q 'seed 42'");
      printf ("netem PRNG seed %s by this kernel\n", seeded == 0 ? "accepted" : "not shown (kernel < 6.6 ignores it)");
      CHECK (r == 0, "a loss from peer applies with a seed%s%s", r ? ": " : "", r ? derr.msg : "");
    }
  fb_lab_destroy (lab);
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
  return failures ? 1 : 0;
}
