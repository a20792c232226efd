#include "faultbox/engine.h"
#include "util/alloc.h"
#include "util/cleanup.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* libseccomp 2.5 exports BPF only to an fd: read it back from a memfd. */
static int
export_prog (scmp_filter_ctx ctx, struct sock_fprog *out, fb_error *err)
{
  _cleanup_close_ int fd = memfd_create ("faultbox-bpf", MFD_CLOEXEC);
  if (fd < 0)
    return fb_error_setsys (err, errno, "memfd_create");
  int r = seccomp_export_bpf (ctx, fd);
  if (r < 0)
    return fb_error_set (err, -r, "seccomp_export_bpf: %s", strerror (-r));
  struct stat st;
  if (fstat (fd, &st) < 0 || st.st_size <= 0 || st.st_size % (off_t) sizeof (struct sock_filter))
    return fb_error_set (err, EIO, "seccomp_export_bpf produced no program");
  _cleanup_free_ struct sock_filter *insns = fb_xmalloc ((size_t) st.st_size);
  if (pread (fd, insns, (size_t) st.st_size, 0) != st.st_size)
    return fb_error_setsys (err, errno, "reading the BPF program back");
  out->len = (unsigned short) ((size_t) st.st_size / sizeof (struct sock_filter));
  out->filter = steal_pointer (&insns);
  return 0;
}

/* Adds the conditional routes of syscalls the plain list leaves alone. */
static int
add_conds (scmp_filter_ctx ctx, char *const *syscalls, const fb_filter_cond *conds, size_t n, fb_error *err)
{
  for (size_t i = 0; i < n; i++)
    {
      bool plain = false;
      for (char *const *s = syscalls; s && *s; s++)
        plain |= !strcmp (*s, conds[i].syscall);
      int nr = seccomp_syscall_resolve_name (conds[i].syscall);
      if (plain || nr == __NR_SCMP_ERROR)
        continue;
      const fb_filter_cond *c = &conds[i];
      /* spelled out: SCMP_CMP leaves datum_b to the compiler, which clang flags */
      struct scmp_arg_cmp cmp = c->ne ? (struct scmp_arg_cmp) { c->arg, SCMP_CMP_NE, c->value, 0 }
                                      : (struct scmp_arg_cmp) { c->arg, SCMP_CMP_MASKED_EQ, c->mask, c->value };
      int r = seccomp_rule_add_array (ctx, SCMP_ACT_NOTIFY, nr, 1, &cmp);
      if (r < 0)
        return fb_error_set (err, -r, "seccomp filter: cannot route %s to the supervisor: %s", c->syscall,
                             strerror (-r));
    }
  return 0;
}

int
fb_filter_build (char *const *syscalls, struct sock_fprog *out, fb_error *err)
{
  return fb_filter_build_cond (syscalls, NULL, 0, out, err);
}

int
fb_filter_build_cond (char *const *syscalls, const fb_filter_cond *conds, size_t n_conds,
                      struct sock_fprog *out, fb_error *err)
{
  scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (!ctx)
    return fb_error_set (err, ENOMEM, "cannot create a seccomp filter");
  /* no_new_privs is set by the code that installs the filter */
  seccomp_attr_set (ctx, SCMP_FLTATR_CTL_NNP, 0);
  int ret = 0;
  for (char *const *s = syscalls; s && *s && ret == 0; s++)
    {
      int nr = seccomp_syscall_resolve_name (*s);
      if (nr == __NR_SCMP_ERROR)
        continue; /* e.g. open and creat do not exist on aarch64 */
      int r = seccomp_rule_add (ctx, SCMP_ACT_NOTIFY, nr, 0);
      if (r < 0)
        ret = fb_error_set (err, -r, "seccomp filter: cannot route %s to the supervisor: %s", *s, strerror (-r));
    }
  if (ret == 0)
    ret = add_conds (ctx, syscalls, conds, n_conds, err);
  /* io_uring does reads, writes, connects... with no syscall a filter
   * sees: a ring would carry them past every rule. ENOSYS makes callers
   * (liburing, libuv) fall back to the syscalls we route. */
  if (ret == 0)
    {
      int r = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), SCMP_SYS (io_uring_setup), 0);
      if (r < 0)
        ret = fb_error_set (err, -r, "seccomp filter: cannot refuse io_uring_setup: %s", strerror (-r));
    }
  if (ret == 0)
    ret = export_prog (ctx, out, err);
  seccomp_release (ctx);
  return ret;
}

void
fb_filter_free (struct sock_fprog *prog)
{
  if (!prog)
    return;
  free (prog->filter);
  prog->filter = NULL;
  prog->len = 0;
}
