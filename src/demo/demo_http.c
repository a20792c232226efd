/* See demo_http.h. */
#include "demo_http.h"
#include "demo_net.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

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

void http_text(struct response *r, int code, const char *fmt, ...) {
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

int hexval(char c) {
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

/* Reads and parses one request. Returns 0, -1 when the client went away, or
 * an HTTP error status to send. */
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

/* One server per process, like demo_accept_loop's handler. */
static void (*http_route)(struct request *rq, struct response *r);

static void serve_conn(int fd) {
    /* A silent client must not pin a thread forever. */
    struct timeval tv = { .tv_sec = 30 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct request rq = { .path = NULL };
    struct response r = { .body = NULL };
    int rc = read_request(fd, &rq);
    if (rc > 0) {
        http_text(&r, rc, "%s", status_text(rc));
        send_response(fd, &r, 0);
    } else if (rc == 0) {
        http_route(&rq, &r);
        send_response(fd, &r, !strcmp(rq.method, "HEAD"));
    }
    free(r.body);
    free(rq.path);
    free(rq.body);
}

void http_serve(int s, void (*route)(struct request *rq, struct response *r)) {
    http_route = route;
    demo_accept_loop(s, serve_conn);
}
