/* Capability names for service(caps=, drop_caps=) and the default set our
 * init gives a service. */
#include "faultbox/lab.h"

#include <linux/capability.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const char *const cap_names[] = {
  [CAP_CHOWN] = "chown",
  [CAP_DAC_OVERRIDE] = "dac_override",
  [CAP_DAC_READ_SEARCH] = "dac_read_search",
  [CAP_FOWNER] = "fowner",
  [CAP_FSETID] = "fsetid",
  [CAP_KILL] = "kill",
  [CAP_SETGID] = "setgid",
  [CAP_SETUID] = "setuid",
  [CAP_SETPCAP] = "setpcap",
  [CAP_LINUX_IMMUTABLE] = "linux_immutable",
  [CAP_NET_BIND_SERVICE] = "net_bind_service",
  [CAP_NET_BROADCAST] = "net_broadcast",
  [CAP_NET_ADMIN] = "net_admin",
  [CAP_NET_RAW] = "net_raw",
  [CAP_IPC_LOCK] = "ipc_lock",
  [CAP_IPC_OWNER] = "ipc_owner",
  [CAP_SYS_MODULE] = "sys_module",
  [CAP_SYS_RAWIO] = "sys_rawio",
  [CAP_SYS_CHROOT] = "sys_chroot",
  [CAP_SYS_PTRACE] = "sys_ptrace",
  [CAP_SYS_PACCT] = "sys_pacct",
  [CAP_SYS_ADMIN] = "sys_admin",
  [CAP_SYS_BOOT] = "sys_boot",
  [CAP_SYS_NICE] = "sys_nice",
  [CAP_SYS_RESOURCE] = "sys_resource",
  [CAP_SYS_TIME] = "sys_time",
  [CAP_SYS_TTY_CONFIG] = "sys_tty_config",
  [CAP_MKNOD] = "mknod",
  [CAP_LEASE] = "lease",
  [CAP_AUDIT_WRITE] = "audit_write",
  [CAP_AUDIT_CONTROL] = "audit_control",
  [CAP_SETFCAP] = "setfcap",
  [CAP_MAC_OVERRIDE] = "mac_override",
  [CAP_MAC_ADMIN] = "mac_admin",
  [CAP_SYSLOG] = "syslog",
  [CAP_WAKE_ALARM] = "wake_alarm",
  [CAP_BLOCK_SUSPEND] = "block_suspend",
  [CAP_AUDIT_READ] = "audit_read",
  [CAP_PERFMON] = "perfmon",
  [CAP_BPF] = "bpf",
  [CAP_CHECKPOINT_RESTORE] = "checkpoint_restore",
};
#define N_CAPS ((int) (sizeof cap_names / sizeof cap_names[0]))

/* The conventional container default: enough for ordinary servers such as
 * nginx or redis; never sys_admin, net_admin, sys_ptrace or sys_module. */
static const int default_caps[] = {
  CAP_CHOWN,  CAP_DAC_OVERRIDE,     CAP_FOWNER,  CAP_FSETID,     CAP_KILL,  CAP_SETGID,      CAP_SETUID,
  CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_NET_RAW, CAP_SYS_CHROOT, CAP_MKNOD, CAP_AUDIT_WRITE, CAP_SETFCAP,
};

int
fb_cap_from_name (const char *name)
{
  if (!strncasecmp (name, "cap_", 4))
    name += 4;
  for (int c = 0; c < N_CAPS; c++)
    if (!strcasecmp (name, cap_names[c]))
      return c;
  return -1;
}

const char *
fb_cap_name (int cap)
{
  return cap >= 0 && cap < N_CAPS ? cap_names[cap] : NULL;
}

uint64_t
fb_cap_default_mask (void)
{
  uint64_t m = 0;
  for (size_t i = 0; i < sizeof default_caps / sizeof default_caps[0]; i++)
    m |= UINT64_C (1) << default_caps[i];
  return m;
}

uint64_t
fb_cap_all_mask (void)
{
  return (UINT64_C (1) << N_CAPS) - 1;
}
