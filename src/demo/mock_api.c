/* mock-api: the tutorial's HTTP front end to mock-db (reference 4.3).
 * Minimal HTTP/1.1: one request per connection, answered with Content-Length
 * and "Connection: close". Every DB command uses a fresh TCP connection, so
 * each connect/write/read is a syscall a fault can target. */
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
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *db_addr;

static char *xstrdup(const char *s) {
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s;
    if (vasprintf(&s, fmt, ap) < 0) abort();
    va_end(ap);
    return s;
}

/* Error text like Go's: lowercased strerror, timeouts as "i/o timeout". */
static char *errtext(int e) {
    if (e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT) return xstrdup("i/o timeout");
    char tmp[128];
    char *s = xstrdup(strerror_r(e, tmp, sizeof tmp));
    for (char *p = s; *p; p++) *p = (char)tolower((unsigned char)*p);
    return s;
}

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

/* ---------------------------------------------------------------- client */

static long ms_left(const struct timespec *deadline) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (long)(deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
    return ms > 0 ? ms : 0;
}

/* Connects to host:port within 2 s overall; returns fd or -1 with *err set. */
static int dial(const char *addr, char **err) {
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
    if (fd < 0) { char *e = errtext(last); *err = xasprintf("connect to db: %s", e); free(e); return -1; }
    /* Back to blocking, with the 5 s per-call deadline the reference uses. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

/* Sends one command line, returns the trimmed reply line (malloc'd), or NULL
 * with *err set (malloc'd). */
static char *db_call(const char *cmd, char **err) {
    int fd = dial(db_addr, err);
    if (fd < 0) return NULL;
    char *line = xasprintf("%s\n", cmd), *reply = NULL;
    size_t len = strlen(line), off = 0;
    while (off < len) {
        ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { char *e = errtext(errno); *err = xasprintf("write to db: %s", e); free(e); goto out; }
        off += (size_t)n;
    }
    char buf[65536];
    size_t used = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + used, sizeof buf - 1 - used, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { char *e = errtext(errno); *err = xasprintf("read from db: %s", e); free(e); goto out; }
        char *nl = n > 0 ? memchr(buf + used, '\n', (size_t)n) : NULL;
        used += (size_t)n;
        if (nl) { *nl = 0; reply = xstrdup(trim(buf)); break; }
        /* Peer closed (or reply too long) before a full line. */
        if (n == 0 || used == sizeof buf - 1) { *err = xstrdup("no response from db"); goto out; }
    }
out:
    free(line);
    close(fd);
    return reply;
}

/* ---------------------------------------------------------------- server */

struct request {
    char method[32];
    char *path;  /* percent-decoded, without query */
    char *body;  /* NUL-terminated */
    size_t body_len;
};

struct response {
    int code;
    const char *ctype;
    char *body; /* malloc'd */
};

static const char *status_text(int code) {
    switch (code) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

static void send_all(int fd, const char *p, size_t len) {
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        p += n;
        len -= (size_t)n;
    }
}

static void send_response(int fd, const struct response *r, int head) {
    size_t blen = strlen(r->body);
    char *hdr = xasprintf("HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                          r->code, status_text(r->code), r->ctype, blen);
    send_all(fd, hdr, strlen(hdr));
    if (!head) send_all(fd, r->body, blen);
    free(hdr);
}

/* Plain-text reply with a trailing newline, like Go's fmt.Fprintln/http.Error. */
static void text(struct response *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void text(struct response *r, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *s;
    if (vasprintf(&s, fmt, ap) < 0) abort();
    va_end(ap);
    r->code = code;
    r->ctype = "text/plain; charset=utf-8";
    r->body = xasprintf("%s\n", s);
    free(s);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Request target -> decoded path: drops scheme://host of absolute-form and the query. */
static char *decode_path(const char *target) {
    if (!strncasecmp(target, "http://", 7)) {
        const char *slash = strchr(target + 7, '/');
        target = slash ? slash : "/";
    }
    size_t n = strcspn(target, "?#");
    char *out = malloc(n + 1), *o = out;
    if (!out) abort();
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (target[i] == '%' && i + 2 < n && (hi = hexval(target[i + 1])) >= 0 && (lo = hexval(target[i + 2])) >= 0) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else *o++ = target[i];
    }
    *o = 0;
    return out;
}

#define MAX_HEADER 65536
#define MAX_BODY (1 << 20)

/* Reads and parses one request. Returns 0, or an HTTP error status to send. */
static int read_request(int fd, struct request *rq) {
    char *buf = malloc(MAX_HEADER + 1);
    if (!buf) abort();
    size_t used = 0;
    char *end = NULL;
    size_t hdr_len = 0;
    while (!end) {
        if (used == MAX_HEADER) { free(buf); return 431; }
        ssize_t n = recv(fd, buf + used, MAX_HEADER - used, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { free(buf); return -1; }
        used += (size_t)n;
        buf[used] = 0;
        if ((end = strstr(buf, "\r\n\r\n"))) hdr_len = (size_t)(end - buf) + 4;
        else if ((end = strstr(buf, "\n\n"))) hdr_len = (size_t)(end - buf) + 2;
    }
    *end = 0;
    /* Request line: METHOD SP target SP version */
    char *save = NULL;
    char *line = strtok_r(buf, "\n", &save);
    char *lsave = NULL;
    char *m = line ? strtok_r(line, " \r", &lsave) : NULL;
    char *target = m ? strtok_r(NULL, " \r", &lsave) : NULL;
    char *version = target ? strtok_r(NULL, " \r", &lsave) : NULL;
    if (!m || !target || !version || strncmp(version, "HTTP/1.", 7) || strlen(m) >= sizeof rq->method) { free(buf); return 400; }
    snprintf(rq->method, sizeof rq->method, "%s", m);
    long long clen = 0;
    int expect_continue = 0;
    for (char *h = strtok_r(NULL, "\n", &save); h; h = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(h, ':');
        if (!colon) continue;
        *colon = 0;
        char *v = trim(colon + 1);
        if (!strcasecmp(h, "Content-Length")) {
            char *e;
            errno = 0;
            clen = strtoll(v, &e, 10);
            if (errno || *e || e == v || clen < 0) { free(buf); return 400; }
        } else if (!strcasecmp(h, "Transfer-Encoding") && strcasecmp(v, "identity")) {
            free(buf); return 501; /* no chunked bodies: curl and libcurl send Content-Length */
        } else if (!strcasecmp(h, "Expect") && !strcasecmp(v, "100-continue")) expect_continue = 1;
    }
    if (clen > MAX_BODY) { free(buf); return 413; }
    rq->path = decode_path(target);
    rq->body = malloc((size_t)clen + 1);
    if (!rq->body) abort();
    size_t have = used - hdr_len;
    if (have > (size_t)clen) have = (size_t)clen;
    memcpy(rq->body, buf + hdr_len, have);
    free(buf);
    if (expect_continue && have < (size_t)clen) send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    while (have < (size_t)clen) {
        ssize_t n = recv(fd, rq->body + have, (size_t)clen - have, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        have += (size_t)n;
    }
    rq->body[have] = 0;
    rq->body_len = have;
    return 0;
}

/* ---------------------------------------------------------------- routes */

static void route(struct request *rq, struct response *r) {
    if (!strcmp(rq->path, "/health")) { text(r, 200, "ok"); return; }
    if (strncmp(rq->path, "/data/", 6)) { text(r, 404, "404 page not found"); return; }
    const char *key = rq->path + 6;
    if (!*key) { text(r, 400, "key required"); return; }
    char *err = NULL, *reply;
    if (!strcmp(rq->method, "POST")) {
        const char *val = trim(rq->body);
        if (!*val) val = "default";
        char *cmd = xasprintf("SET %s %s", key, val);
        reply = db_call(cmd, &err);
        free(cmd);
        if (!reply) text(r, 500, "db error: %s", err);
        else if (strcmp(reply, "OK")) text(r, 500, "db error: %s", reply);
        else text(r, 200, "stored: %s=%s", key, val);
    } else if (!strcmp(rq->method, "GET")) {
        char *cmd = xasprintf("GET %s", key);
        reply = db_call(cmd, &err);
        free(cmd);
        if (!reply) text(r, 500, "db error: %s", err);
        else if (!strcmp(reply, "NOT_FOUND")) text(r, 404, "not found");
        else text(r, 200, "%s", reply);
    } else {
        text(r, 405, "method not allowed");
        return;
    }
    free(reply);
    free(err);
}

static void *conn_main(void *arg) {
    int fd = (int)(intptr_t)arg;
    /* A silent client must not pin a thread forever. */
    struct timeval tv = { .tv_sec = 30 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct request rq = { .path = NULL };
    struct response r = { .body = NULL };
    int rc = read_request(fd, &rq);
    if (rc > 0) {
        text(&r, rc, "%s", status_text(rc));
        send_response(fd, &r, 0);
    } else if (rc == 0) {
        route(&rq, &r);
        send_response(fd, &r, !strcmp(rq.method, "HEAD"));
    }
    free(r.body);
    free(rq.path);
    free(rq.body);
    close(fd);
    return NULL;
}

static void on_term(int sig) { (void)sig; _exit(0); }

int main(void) {
    const char *port = getenv("PORT");
    if (!port || !*port) port = "8080";
    db_addr = getenv("DB_ADDR");
    if (!db_addr || !*db_addr) db_addr = "localhost:5432";
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
        fprintf(stderr, "mock-api: listen :%s: %s\n", port, strerror(errno));
        return 1;
    }
    printf("mock-api: listening on :%s (db=%s)\n", port, db_addr);
    fflush(stdout);
    for (;;) {
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        pthread_t t;
        if (pthread_create(&t, NULL, conn_main, (void *)(intptr_t)c) != 0) { close(c); continue; }
        pthread_detach(t);
    }
}
