/* See demo_net.h. */
#include "demo_net.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

char *xstrdup(const char *s) {
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

char *xasprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s;
    if (vasprintf(&s, fmt, ap) < 0) abort();
    va_end(ap);
    return s;
}

char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

const char *demo_env(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return v && *v ? v : fallback;
}

/* ---------------------------------------------------------------- server */

static void on_term(int sig) { (void)sig; _exit(0); }

int demo_listen(const char *name, const char *port) {
    signal(SIGTERM, on_term);
    signal(SIGPIPE, SIG_IGN);
    int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1, zero = 0;
    /* REUSEADDR+REUSEPORT: back-to-back tests rebind the same port at once. */
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(port)), .sin6_addr = in6addr_any };
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 128) < 0) {
        fprintf(stderr, "%s: listen :%s: %s\n", name, port, strerror(errno));
        return -1;
    }
    return s;
}

/* One server per process, so the handler can live in a global and the fd
 * travels in the thread argument without an allocation. */
static void (*conn_serve)(int fd);

static void *conn_main(void *arg) {
    int fd = (int)(intptr_t)arg;
    conn_serve(fd);
    close(fd);
    return NULL;
}

void demo_accept_loop(int s, void (*serve)(int fd)) {
    conn_serve = serve;
    for (;;) {
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        pthread_t t;
        if (pthread_create(&t, NULL, conn_main, (void *)(intptr_t)c) != 0) { close(c); continue; }
        pthread_detach(t);
    }
}

void demo_read_lines(int fd, int (*handle)(int fd, char *line)) {
    char buf[8192];
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, buf + used, sizeof buf - 1 - used);
        if (n <= 0) return;
        used += (size_t)n;
        buf[used] = 0;
        char *nl;
        while ((nl = memchr(buf, '\n', used))) {
            *nl = 0;
            if (handle(fd, buf)) return;
            used -= (size_t)(nl + 1 - buf);
            memmove(buf, nl + 1, used);
        }
        if (used == sizeof buf - 1) return; /* line too long: drop the client */
    }
}

/* ---------------------------------------------------------------- client */

/* Error text like Go's: lowercased strerror, timeouts as "i/o timeout". */
static char *errtext(int e) {
    if (e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT) return xstrdup("i/o timeout");
    char tmp[128];
    char *s = xstrdup(strerror_r(e, tmp, sizeof tmp));
    for (char *p = s; *p; p++) *p = (char)tolower((unsigned char)*p);
    return s;
}

static long ms_left(const struct timespec *deadline) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (long)(deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
    return ms > 0 ? ms : 0;
}

/* Connects to host:port within 2 s overall; returns fd or -1 with *err set. */
static int dial(const char *addr, const char *peer, char **err) {
    char *host = xstrdup(addr);
    char *colon = strrchr(host, ':');
    if (!colon) { *err = xasprintf("address %s: missing port in address", addr); free(host); return -1; }
    *colon = 0;
    const char *port = colon + 1, *h = host;
    if (*h == '[' && colon > host && colon[-1] == ']') { colon[-1] = 0; h++; }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
    /* Empty host means the local system, as in Go; NULL node gives loopback. */
    int rc = getaddrinfo(*h ? h : NULL, port, &hints, &res);
    if (rc != 0) {
        char *g = xstrdup(rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        for (char *p = g; *p; p++) *p = (char)tolower((unsigned char)*p);
        *err = xasprintf("lookup %s: %s", h, g);
        free(g); free(host);
        return -1;
    }
    free(host);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += 2;
    int fd = -1, last = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) { last = errno; continue; }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        if (errno == EINPROGRESS) {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            int pr;
            do pr = poll(&p, 1, (int)ms_left(&deadline)); while (pr < 0 && errno == EINTR);
            int soerr = 0;
            socklen_t sl = sizeof soerr;
            if (pr == 0) soerr = ETIMEDOUT;
            else if (pr < 0) soerr = errno;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) soerr = errno;
            if (soerr == 0) break;
            last = soerr;
        } else last = errno;
        close(fd);
        fd = -1;
        if (ms_left(&deadline) == 0) { last = ETIMEDOUT; break; }
    }
    freeaddrinfo(res);
    if (fd < 0) { char *e = errtext(last); *err = xasprintf("connect to %s: %s", peer, e); free(e); return -1; }
    /* Back to blocking, with the 5 s per-call deadline the reference uses. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

/* A fresh connection per command on purpose: each connect/write/read is a
 * syscall a fault can target. */
char *demo_call(const char *addr, const char *peer, const char *cmd, char **err) {
    int fd = dial(addr, peer, err);
    if (fd < 0) return NULL;
    char *line = xasprintf("%s\n", cmd), *reply = NULL;
    size_t len = strlen(line), off = 0;
    while (off < len) {
        ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { char *e = errtext(errno); *err = xasprintf("write to %s: %s", peer, e); free(e); goto out; }
        off += (size_t)n;
    }
    char buf[65536];
    size_t used = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + used, sizeof buf - 1 - used, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { char *e = errtext(errno); *err = xasprintf("read from %s: %s", peer, e); free(e); goto out; }
        char *nl = n > 0 ? memchr(buf + used, '\n', (size_t)n) : NULL;
        used += (size_t)n;
        if (nl) { *nl = 0; reply = xstrdup(trim(buf)); break; }
        /* Peer closed (or reply too long) before a full line. */
        if (n == 0 || used == sizeof buf - 1) { *err = xasprintf("no response from %s", peer); goto out; }
    }
out:
    free(line);
    close(fd);
    return reply;
}
