/* The configuration the runner hands faultbox-init: what goes in comes out,
 * and a cut or corrupted one is refused rather than half-read; the fork
 * server's requests carry their fds. */
#include "fb_test.h"

#include "sandbox/init.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static char *const argv_[] = { "/usr/bin/redis-server", "--port", "6379", NULL };
static char *const envp_[] = { "PATH=/usr/bin:/bin", "EMPTY=", NULL };
static const char *const ro_[] = { "/opt/svc", NULL };
static struct sock_filter insns_[] = { BPF_STMT (BPF_LD | BPF_W | BPF_ABS, 0), BPF_STMT (BPF_RET | BPF_K, 0x7fff0000) };
static const struct sock_fprog prog_ = { .len = 2, .filter = insns_ };
static const fb_bind binds_[] = { { "/srv/data", "/data", true }, { "/etc/ssl", "/ssl", false } };

/* what fb_init_unpack allocated (faultbox-init itself exits instead) */
static void
free_unpacked (fb_service_plan *q)
{
  free ((void *) q->argv);
  free ((void *) q->envp);
  free ((void *) q->ro_binds);
  if (q->seccomp_filter)
    free (q->seccomp_filter->filter);
  free ((void *) q->seccomp_filter);
  free ((void *) q->binds);
  free ((void *) q->lowers);
}

static fb_init_args
sample (const fb_service_plan *p)
{
  return (fb_init_args) { .plan = p, .workdir = "/dev/shm/faultbox-1-2", .log_path = "/dev/shm/faultbox-1-2/db.log",
                          .addr = 0x0200d50a, .prefix = 24, .gateway = 0x0100d50a };
}

static const char *const lowers_[] = { "/cache/layers/sha256/a", "/cache/layers/sha256/b", NULL };

static void
test_round_trip_keeps_every_field (void **state)
{
  fb_service_plan p = { .name = "db", .argv = argv_, .envp = envp_, .ro_binds = ro_, .seccomp_filter = &prog_,
                        .inherit_stdio = false, .echo_output = true, .binds = binds_, .n_binds = 2,
                        .rootfs = "/srv/root", .caps_add = 1u << 12, .caps_drop = 1u << 0,
                        .lowers = lowers_, .cwd = "/srv/app", .set_user = true, .uid = 1000, .gid = 50 };
  fb_init_args a = sample (&p);
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  fb_init_pack (&a, &b);
  fb_init_args o = { .ctl = 7 };
  fb_service_plan q;
  assert_int_equal (fb_init_unpack (b.data, b.len, &o, &q), 0);
  assert_ptr_equal (o.plan, &q);
  assert_int_equal (o.ctl, 7); /* fds are not in the bytes */
  assert_string_equal (o.workdir, a.workdir);
  assert_string_equal (o.log_path, a.log_path);
  assert_int_equal (o.addr, a.addr);
  assert_int_equal (o.prefix, 24);
  assert_int_equal (o.gateway, a.gateway);
  assert_string_equal (q.name, "db");
  for (int i = 0; i < 3; i++)
    assert_string_equal (q.argv[i], argv_[i]);
  assert_null (q.argv[3]);
  assert_string_equal (q.envp[1], "EMPTY=");
  assert_null (q.envp[2]);
  assert_string_equal (q.ro_binds[0], "/opt/svc");
  assert_null (q.ro_binds[1]);
  assert_non_null (q.seccomp_filter);
  assert_int_equal (q.seccomp_filter->len, 2);
  assert_memory_equal (q.seccomp_filter->filter, insns_, sizeof insns_);
  assert_false (q.inherit_stdio);
  assert_true (q.echo_output);
  assert_int_equal (q.n_binds, 2);
  assert_string_equal (q.binds[0].src, "/srv/data");
  assert_string_equal (q.binds[0].dst, "/data");
  assert_true (q.binds[0].writable);
  assert_false (q.binds[1].writable);
  assert_string_equal (q.rootfs, "/srv/root");
  assert_int_equal (q.caps_add, 1u << 12);
  assert_int_equal (q.caps_drop, 1u);
  assert_string_equal (q.lowers[0], "/cache/layers/sha256/a");
  assert_string_equal (q.lowers[1], "/cache/layers/sha256/b");
  assert_null (q.lowers[2]);
  assert_string_equal (q.cwd, "/srv/app");
  assert_true (q.set_user);
  assert_int_equal (q.uid, 1000);
  assert_int_equal (q.gid, 50);
  free_unpacked (&q);
}

static void
test_absent_fields_stay_absent (void **state)
{
  static char *const one[] = { "/bin/true", NULL };
  fb_service_plan p = { .name = "s", .argv = one };
  fb_init_args a = sample (&p);
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  fb_init_pack (&a, &b);
  fb_init_args o = { 0 };
  fb_service_plan q;
  assert_int_equal (fb_init_unpack (b.data, b.len, &o, &q), 0);
  assert_null (q.envp);
  assert_null (q.ro_binds);
  assert_null (q.seccomp_filter);
  assert_null (q.rootfs);
  assert_null (q.lowers);
  assert_null (q.cwd);
  assert_false (q.set_user);
  assert_int_equal (q.n_binds, 0);
  free_unpacked (&q);
}

/* every shorter prefix and a flipped length byte are refused */
static void
test_cut_or_corrupt_configuration_is_refused (void **state)
{
  fb_service_plan p = { .name = "db", .argv = argv_, .envp = envp_, .seccomp_filter = &prog_ };
  fb_init_args a = sample (&p);
  _cleanup_buf_ fb_buf b = FB_BUF_INIT;
  fb_init_pack (&a, &b);
  for (size_t n = 0; n < b.len; n++)
    {
      char *copy = malloc (n + 1);
      memcpy (copy, b.data, n);
      fb_init_args o = { 0 };
      fb_service_plan q;
      assert_int_equal (fb_init_unpack (copy, n, &o, &q), -1);
      free_unpacked (&q);
      free (copy);
    }
  b.data[0] ^= 0x40; /* the workdir's length */
  fb_init_args o = { 0 };
  fb_service_plan q;
  assert_int_equal (fb_init_unpack (b.data, b.len, &o, &q), -1);
  free_unpacked (&q);
}

static void
test_a_message_carries_its_fds (void **state)
{
  int sp[2], pipe_[2];
  assert_int_equal (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
  assert_int_equal (pipe (pipe_), 0);
  int sent[] = { pipe_[0], pipe_[1], sp[0] };
  assert_int_equal (fb_init_send_fds (sp[0], "C", 1, sent, 3), 0);
  assert_int_equal (fb_init_send_fds (sp[0], "x", 1, NULL, 0), 0);
  char c;
  int got[FB_INIT_MAX_FDS];
  size_t n;
  assert_int_equal (fb_init_recv_fds (sp[1], &c, 1, got, &n), 1);
  assert_int_equal (c, 'C');
  assert_int_equal (n, 3);
  for (size_t i = 0; i < n; i++)
    {
      struct stat a, b;
      assert_int_equal (fstat (sent[i], &a), 0);
      assert_int_equal (fstat (got[i], &b), 0);
      assert_true (a.st_ino == b.st_ino && a.st_dev == b.st_dev);
      assert_true (fcntl (got[i], F_GETFD) & FD_CLOEXEC);
    }
  /* the fds work: what goes in the received pipe comes out of ours */
  assert_int_equal (write (got[1], "k", 1), 1);
  assert_int_equal (read (pipe_[0], &c, 1), 1);
  assert_int_equal (c, 'k');
  int none[FB_INIT_MAX_FDS];
  assert_int_equal (fb_init_recv_fds (sp[1], &c, 1, none, &n), 1);
  assert_int_equal (c, 'x');
  assert_int_equal (n, 0);
  for (int i = 0; i < 3; i++)
    close (got[i]);
  close (sp[0]);
  assert_int_equal (fb_init_recv_fds (sp[1], &c, 1, got, &n), 0); /* EOF */
  close (sp[1]);
  close (pipe_[0]);
  close (pipe_[1]);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_round_trip_keeps_every_field),
    cmocka_unit_test (test_absent_fields_stay_absent),
    cmocka_unit_test (test_cut_or_corrupt_configuration_is_refused),
    cmocka_unit_test (test_a_message_carries_its_fds),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
