/* One entry per `faultbox` command; each lives in its own cmd_*.c file. */
#ifndef FB_CLI_COMMANDS_H
#define FB_CLI_COMMANDS_H

#include <stdbool.h>

typedef struct fb_command {
  const char *name;
  const char *summary;  /* one line for `faultbox --help` */
  const char *usage;    /* full text for `faultbox help NAME` */
  int (*run) (int argc, char **argv);  /* argv[0] is the command name */
  bool sandbox;         /* makes labs: an unprivileged runner enters its user namespace first */
} fb_command;

extern const fb_command fb_cmd_doctor;
extern const fb_command fb_cmd_run;
extern const fb_command fb_cmd_lab;
extern const fb_command fb_cmd_star;
extern const fb_command fb_cmd_test;
extern const fb_command fb_cmd_merge;
extern const fb_command fb_cmd_list;
extern const fb_command fb_cmd_init;
extern const fb_command fb_cmd_diff;
extern const fb_command fb_cmd_replay;
extern const fb_command fb_cmd_check;

/* The hidden mock server mode (argv[0] "__mock", argv[1] the service). */
int fb_cmd_mock_serve (int argc, char **argv);

const fb_command *fb_command_find (const char *name);
/* Prints "faultbox: MSG" to stderr; returns 1 (the exit code of usage errors). */
int fb_cli_fail (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
/* Removes the cgroups of runners that died; with verbose says which. */
void fb_cli_sweep (bool verbose);
/* The error for what getopt_long rejected (c is its return; the optstring
 * starts with ':' so that a flag without its value is told apart from an
 * unknown one): "CMD: --output needs a value" or "CMD: unknown flag". */
int fb_cli_bad_flag (const char *cmd, int c, char **argv);
/* `faultbox help builtins ...` (argv[0] "builtins"). */
int fb_cli_help_builtins (int argc, char **argv);
/* A spec's print(): the line to stderr (fb_spec_source.print). */
void fb_cli_print_stderr (void *ctx, const char *msg);

#endif
