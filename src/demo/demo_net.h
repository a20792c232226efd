/* Shared plumbing of the demo services: TCP server (listen, a detached thread
 * per connection, line reading) and the one-command TCP client. Standalone:
 * libc and pthreads only, none of faultbox's headers. */
#ifndef DEMO_NET_H
#define DEMO_NET_H

#include <stddef.h>

char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Strips leading and trailing whitespace in place. */
char *trim(char *s);

/* $name, or fallback when it is unset or empty. */
const char *demo_env(const char *name, const char *fallback);

/* Exits on SIGTERM, ignores SIGPIPE, and listens on [::]:port (dual stack).
 * On failure prints "NAME: listen :PORT: ERROR" to stderr and returns -1. */
int demo_listen(const char *name, const char *port);

/* Accepts forever; each connection gets a detached thread running serve(fd),
 * after which the fd is closed. */
__attribute__((noreturn)) void demo_accept_loop(int s, void (*serve)(int fd));

/* Reads newline-terminated lines (at most 8191 bytes buffered) and passes
 * each, NUL-terminated without its '\n', to handle(); stops at EOF, on a read
 * error, on an over-long line, or when handle() returns nonzero. */
void demo_read_lines(int fd, int (*handle)(int fd, char *line));

/* Sends cmd plus '\n' over a new connection to addr ("host:port"; 2 s to
 * connect, 5 s per read/write) and returns the trimmed reply line (malloc'd),
 * or NULL with *err set (malloc'd) to Go-like text naming peer, e.g.
 * "connect to db: connection refused". */
char *demo_call(const char *addr, const char *peer, const char *cmd, char **err);

#endif
