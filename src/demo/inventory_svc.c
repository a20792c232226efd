/* inventory-svc: the tutorial's stock service (reference 4.4). TCP line
 * protocol; every reservation is appended to a WAL first, so that file faults
 * (open, write, fsync) turn into visible reservation failures. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo_net.h"

/* Seeded at every start; the WAL is never replayed (as in the reference). */
static struct { const char *sku; long long qty; } stock[] = {
    { "widget", 100 }, { "gadget", 50 }, { "gizmo", 25 },
};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *wal_path;

/* strerror, thread-safe and lowercased like Go's error strings. */
static void errstr(int e, char *buf, size_t len) {
    char tmp[128];
    const char *s = strerror_r(e, tmp, sizeof tmp);
    snprintf(buf, len, "%s", s);
    for (char *p = buf; *p; p++) *p = (char)tolower((unsigned char)*p);
}

static long long *find_sku(const char *sku) {
    for (size_t i = 0; i < sizeof stock / sizeof stock[0]; i++)
        if (!strcmp(stock[i].sku, sku)) return &stock[i].qty;
    return NULL;
}

/* One open/write/fsync/close per reservation on purpose: each step is a
 * distinct syscall a fault can target. Returns the failing step or NULL. */
static const char *wal_append(const char *sku, long long n, char *err, size_t errlen) {
    int fd = openat(AT_FDCWD, wal_path, O_CREAT | O_WRONLY | O_APPEND, 0644);
    if (fd < 0) { errstr(errno, err, errlen); return "open"; }
    char line[512];
    int len = snprintf(line, sizeof line, "RESERVE %s %lld\n", sku, n);
    if (len < 0 || (size_t)len >= sizeof line) len = (int)strlen(line);
    const char *op = NULL;
    ssize_t w = write(fd, line, (size_t)len);
    if (w < 0) { errstr(errno, err, errlen); op = "write"; }
    else if (w != len) { snprintf(err, errlen, "short write"); op = "write"; }
    else if (fsync(fd) < 0) { errstr(errno, err, errlen); op = "fsync"; }
    close(fd);
    return op;
}

/* Go's strconv.Atoi, including its error text, so replies match the reference. */
static int parse_qty(const char *s, long long *out, char *err, size_t errlen) {
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!*p) goto bad;
    for (const char *q = p; *q; q++) if (!isdigit((unsigned char)*q)) goto bad;
    errno = 0;
    *out = strtoll(s, NULL, 10);
    if (errno == ERANGE) { snprintf(err, errlen, "strconv.Atoi: parsing \"%s\": value out of range", s); return -1; }
    return 0;
bad:
    snprintf(err, errlen, "strconv.Atoi: parsing \"%s\": invalid syntax", s);
    return -1;
}

static void reply(int fd, const char *s) {
    /* Socket write errors are ignored like the reference service does. */
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "%s\n", s);
    if (n < 0) return;
    if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
    if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) < 0) return;
}

static void do_reserve(int fd, const char *sku, const char *nstr) {
    char msg[512], err[256];
    long long n;
    if (parse_qty(nstr, &n, err, sizeof err) < 0) {
        snprintf(msg, sizeof msg, "ERR bad qty: %s", err);
        reply(fd, msg);
        return;
    }
    /* Check, WAL and decrement under one lock so concurrent orders cannot oversell. */
    pthread_mutex_lock(&lock);
    long long *q = find_sku(sku);
    if (!q) snprintf(msg, sizeof msg, "ERR not_found");
    else if (*q < n) snprintf(msg, sizeof msg, "ERR insufficient_stock %lld", *q);
    else {
        const char *op = wal_append(sku, n, err, sizeof err);
        if (op) snprintf(msg, sizeof msg, "ERR wal: %s: %s", op, err);
        else { *q -= n; snprintf(msg, sizeof msg, "OK %lld", *q); }
    }
    pthread_mutex_unlock(&lock);
    reply(fd, msg);
}

/* Handles one trimmed line; returns 1 when the connection should close. */
static int handle(int fd, char *line) {
    char *argv[4] = { 0 };
    int argc = 0;
    char *save = NULL;
    for (char *tok = strtok_r(line, " \t\r", &save); tok && argc < 4; tok = strtok_r(NULL, " \t\r", &save)) argv[argc++] = tok;
    const char *cmd = argc ? argv[0] : "";
    char msg[512];
    if (!strcasecmp(cmd, "QUIT")) return 1;
    if (!strcasecmp(cmd, "PING")) reply(fd, "PONG");
    else if (!strcasecmp(cmd, "CHECK")) {
        if (argc < 2) { reply(fd, "ERR usage: CHECK <sku>"); return 0; }
        pthread_mutex_lock(&lock);
        long long *q = find_sku(argv[1]);
        if (q) snprintf(msg, sizeof msg, "%lld", *q);
        else snprintf(msg, sizeof msg, "NOT_FOUND");
        pthread_mutex_unlock(&lock);
        reply(fd, msg);
    } else if (!strcasecmp(cmd, "RESERVE")) {
        if (argc < 3) { reply(fd, "ERR usage: RESERVE <sku> <qty>"); return 0; }
        do_reserve(fd, argv[1], argv[2]);
    } else {
        snprintf(msg, sizeof msg, "ERR unknown: %s", cmd);
        reply(fd, msg);
    }
    return 0;
}

static void serve(int fd) { demo_read_lines(fd, handle); }

int main(void) {
    const char *port = demo_env("PORT", "5432");
    wal_path = demo_env("WAL_PATH", "/tmp/inventory.wal");
    int s = demo_listen("inventory-svc", port);
    if (s < 0) return 1;
    fprintf(stderr, "inventory-svc: listening on :%s (wal=%s)\n", port, wal_path);
    demo_accept_loop(s, serve);
}
