/* Creates, starts and destroys a two-service lab N times, then reports what
 * this process still holds (fds, children) and how many of the labs'
 * network namespaces it or a process left in a lab cgroup still holds, as
 * "key value" lines for tests/integration/test_lab_cycles.sh. The first cycle is a warm-up, so
 * that what a process keeps for good (a cached socket, the fork server
 * of inits) is not a leak. Halfway, the fork server is killed: the next
 * lab must start (and reap) it anew. */
#include "faultbox/lab.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static size_t
count_dir (const char *path)
{
  DIR *d = opendir (path);
  size_t n = 0;
  for (struct dirent *de; d && (de = readdir (d));)
    n += de->d_name[0] != '.';
  if (d)
    closedir (d);
  return n;
}

/* The children of this process, but the fork server of inits
 * (faultbox-forksv, made with the first lab and kept), counted apart in
 * *servers (its pid in *server). */
static size_t
count_children (size_t *servers, pid_t *server)
{
  size_t n = 0;
  *servers = 0;
  DIR *d = opendir ("/proc/self/task");
  for (struct dirent *de; d && (de = readdir (d));)
    {
      char p[300];
      snprintf (p, sizeof p, "/proc/self/task/%s/children", de->d_name);
      FILE *f = de->d_name[0] != '.' ? fopen (p, "re") : NULL;
      int pid;
      while (f && fscanf (f, "%d", &pid) == 1)
        {
          char cp[64], comm[32] = "";
          snprintf (cp, sizeof cp, "/proc/%d/comm", pid);
          FILE *c = fopen (cp, "re");
          if (c && fgets (comm, sizeof comm, c) && !strcmp (comm, "faultbox-forksv\n"))
            {
              ++*servers;
              *server = pid;
            }
          else
            n++;
          if (c)
            fclose (c);
        }
      if (f)
        fclose (f);
    }
  if (d)
    closedir (d);
  return n;
}

static ino_t
netns_of (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 ? st.st_ino : 0;
}

static bool
is_ours (ino_t ino, const ino_t *ours, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (ours[i] == ino)
      return true;
  return false;
}

/* This process, or one in a cgroup of our labs (a process that outlived
 * its lab would keep the lab's cgroup). Other processes are not looked at:
 * namespace inode numbers are reused by the labs of other runners. */
static bool
is_our_process (const char *pid)
{
  if (atoi (pid) == getpid ())
    return true;
  char path[300], line[4096], prefix[64];
  snprintf (path, sizeof path, "/proc/%s/cgroup", pid);
  snprintf (prefix, sizeof prefix, "/faultbox-%d-", (int) getpid ());
  FILE *f = fopen (path, "re");
  bool ours = false;
  while (f && !ours && fgets (line, sizeof line, f))
    ours = strstr (line, prefix) != NULL;
  if (f)
    fclose (f);
  return ours;
}

/* Namespaces of our labs that a task of ours is in or an fd of ours refers to. */
static size_t
count_alive (const ino_t *ours, size_t n)
{
  size_t alive = 0;
  DIR *proc = opendir ("/proc");
  for (struct dirent *p; proc && (p = readdir (proc));)
    {
      if (p->d_name[0] < '0' || p->d_name[0] > '9' || !is_our_process (p->d_name))
        continue;
      char path[600];
      snprintf (path, sizeof path, "/proc/%s/task", p->d_name);
      DIR *tasks = opendir (path);
      for (struct dirent *t; tasks && (t = readdir (tasks));)
        {
          snprintf (path, sizeof path, "/proc/%s/task/%s/ns/net", p->d_name, t->d_name);
          alive += t->d_name[0] != '.' && is_ours (netns_of (path), ours, n);
        }
      if (tasks)
        closedir (tasks);
      snprintf (path, sizeof path, "/proc/%s/fd", p->d_name);
      DIR *fds = opendir (path);
      for (struct dirent *f; fds && (f = readdir (fds));)
        {
          char link[700], target[64];
          snprintf (link, sizeof link, "/proc/%s/fd/%s", p->d_name, f->d_name);
          ssize_t len = readlink (link, target, sizeof target - 1);
          unsigned long ino;
          if (len > 0 && (target[len] = '\0', sscanf (target, "net:[%lu]", &ino) == 1))
            alive += is_ours ((ino_t) ino, ours, n);
        }
      if (fds)
        closedir (fds);
    }
  if (proc)
    closedir (proc);
  return alive;
}

static int
cycle (const fb_lab_plan *plan, ino_t *ns)
{
  fb_lab *lab;
  fb_error err = { 0 };
  if (fb_lab_create (plan, &lab, &err) < 0)
    goto fail;
  for (size_t i = 0; i < plan->n_services; i++)
    if (fb_lab_start_service (lab, i, &err) < 0)
      {
        fb_lab_destroy (lab);
        goto fail;
      }
  if (fb_lab_enter (lab, -1, &err) < 0)
    {
      fb_lab_destroy (lab);
      goto fail;
    }
  ns[0] = netns_of ("/proc/thread-self/ns/net");
  fb_lab_leave (lab);
  char p[64];
  snprintf (p, sizeof p, "/proc/%d/ns/net", (int) fb_lab_service_pid (lab, 0));
  ns[1] = netns_of (p);
  fb_lab_destroy (lab);
  if (ns[0] && ns[1])
    return 0;
  snprintf (err.msg, sizeof err.msg, "cannot see the lab's network namespaces");
fail:
  fprintf (stderr, "lab_cycles: %s\n", err.msg);
  return -1;
}

int
main (int argc, char **argv)
{
  if (argc != 3)
    {
      fprintf (stderr, "usage: lab_cycles N SLEEP_SECONDS (a number unique to this run, to find its services)\n");
      return 2;
    }
  size_t n = (size_t) atol (argv[1]);
  char *env[] = { "PATH=/usr/bin:/bin", NULL };
  char *stay[] = { "/bin/sleep", argv[2], NULL };
  char *gone[] = { "/bin/true", NULL };
  fb_service_plan svcs[] = {
    { .name = "stay", .argv = stay, .envp = env },
    { .name = "gone", .argv = gone, .envp = env },
  };
  fb_lab_plan plan = { .services = svcs, .n_services = 2 };
  ino_t *ns = calloc (2 * (n + 1), sizeof *ns);
  if (!ns || cycle (&plan, ns) < 0)
    return 1;
  size_t fds_before = count_dir ("/proc/self/fd");
  struct timespec t0, t1;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  size_t servers;
  pid_t server = 0, killed = 0;
  for (size_t i = 1; i <= n; i++)
    {
      /* halfway, the fork server dies: the next lab starts another */
      if (i == n / 2 && count_children (&servers, &server) == 0 && servers == 1 && kill (server, SIGKILL) == 0)
        {
          char st[64], line[256] = "", *state = NULL;
          snprintf (st, sizeof st, "/proc/%d/stat", (int) server);
          for (int k = 0; k < 500 && !(state && state[2] == 'Z'); k++, usleep (2000))
            {
              FILE *f = fopen (st, "re");
              if (f && fgets (line, sizeof line, f))
                state = strrchr (line, ')');
              if (f)
                fclose (f);
            }
          killed = server;
        }
      if (cycle (&plan, ns + 2 * i) < 0)
        return 1;
    }
  clock_gettime (CLOCK_MONOTONIC, &t1);
  double ms = ((double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6) / (double) n;
  printf ("cycles %zu\nms_per_cycle %.1f\n", n, ms);
  printf ("fds_before %zu\nfds_after %zu\n", fds_before, count_dir ("/proc/self/fd"));
  printf ("children %zu\n", count_children (&servers, &server));
  printf ("fork_servers %zu\nfork_server_replaced %d\n", servers, killed && server != killed);
  printf ("netns_alive %zu\n", count_alive (ns, 2 * (n + 1)));
  free (ns);
  return 0;
}
