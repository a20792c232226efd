/* order-svc: the tutorial's order front end to inventory-svc (reference 4.5).
 * Minimal HTTP/1.1: one request per connection, answered with Content-Length
 * and "Connection: close". Each inventory command uses a fresh TCP connection,
 * so placing an order makes two (CHECK, RESERVE) that faults can target. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

static const char *inv_addr;

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
    if (fd < 0) { char *e = errtext(last); *err = xasprintf("connect to inventory: %s", e); free(e); return -1; }
    /* Back to blocking, with the 5 s per-call deadline the reference uses. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

/* Sends one command line, returns the trimmed reply line (malloc'd), or NULL
 * with *err set (malloc'd). */
static char *inv_call(const char *cmd, char **err) {
    int fd = dial(inv_addr, err);
    if (fd < 0) return NULL;
    char *line = xasprintf("%s\n", cmd), *reply = NULL;
    size_t len = strlen(line), off = 0;
    while (off < len) {
        ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { char *e = errtext(errno); *err = xasprintf("write to inventory: %s", e); free(e); goto out; }
        off += (size_t)n;
    }
    char buf[65536];
    size_t used = 0;
    for (;;) {
        ssize_t n = recv(fd, buf + used, sizeof buf - 1 - used, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { char *e = errtext(errno); *err = xasprintf("read from inventory: %s", e); free(e); goto out; }
        char *nl = n > 0 ? memchr(buf + used, '\n', (size_t)n) : NULL;
        used += (size_t)n;
        if (nl) { *nl = 0; reply = xstrdup(trim(buf)); break; }
        /* Peer closed (or reply too long) before a full line. */
        if (n == 0 || used == sizeof buf - 1) { *err = xstrdup("no response from inventory"); goto out; }
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

/* Orders live in memory, indexed by id - 1. Ids come from one global counter,
 * so failed orders consume an id too; an order in flight is NULL (not found). */
static pthread_mutex_t orders_lock = PTHREAD_MUTEX_INITIALIZER;
static char **orders;
static long long norders;

static long long new_order_id(void) {
    pthread_mutex_lock(&orders_lock);
    char **grown = realloc(orders, (size_t)(norders + 1) * sizeof *orders);
    if (!grown) abort();
    orders = grown;
    orders[norders++] = NULL;
    long long id = norders;
    pthread_mutex_unlock(&orders_lock);
    return id;
}

static void store_order(long long id, const char *json) {
    pthread_mutex_lock(&orders_lock);
    orders[id - 1] = xstrdup(json);
    pthread_mutex_unlock(&orders_lock);
}

/* JSON string literal as Go's encoder writes it (HTML characters escaped too). */
static char *json_quote(const char *s) {
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f) abort();
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        case '<': case '>': case '&': fprintf(f, "\\u%04x", *p); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
    if (fclose(f) != 0) abort();
    return out;
}

/* Order JSON; remaining_stock is omitted when 0 (Go's omitempty). */
static char *order_json(long long id, const char *sku, long long qty, const char *error, long long remaining) {
    char *q = json_quote(sku), *out;
    if (error) {
        char *e = json_quote(error);
        out = xasprintf("{\"id\":%lld,\"sku\":%s,\"qty\":%lld,\"status\":\"failed\",\"error\":%s}\n", id, q, qty, e);
        free(e);
    } else if (remaining)
        out = xasprintf("{\"id\":%lld,\"sku\":%s,\"qty\":%lld,\"status\":\"confirmed\",\"remaining_stock\":%lld}\n", id, q, qty, remaining);
    else
        out = xasprintf("{\"id\":%lld,\"sku\":%s,\"qty\":%lld,\"status\":\"confirmed\"}\n", id, q, qty);
    free(q);
    return out;
}

/* ------------------------------------------------- tiny JSON reader */

struct jp {
    const char *p, *end;
    char err[64];
};

static int jfail(struct jp *j) {
    if (j->err[0]) return -1;
    if (j->p >= j->end) snprintf(j->err, sizeof j->err, "unexpected EOF");
    else if (isprint((unsigned char)*j->p)) snprintf(j->err, sizeof j->err, "invalid character '%c'", *j->p);
    else snprintf(j->err, sizeof j->err, "invalid character");
    return -1;
}

static void jws(struct jp *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int jhex4(struct jp *j, unsigned *out) {
    if (j->end - j->p < 4) { j->p = j->end; return jfail(j); }
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(j->p[i]);
        if (h < 0) { j->p += i; return jfail(j); }
        v = v * 16 + (unsigned)h;
    }
    j->p += 4;
    *out = v;
    return 0;
}

static char *put_utf8(char *o, unsigned c) {
    if (c < 0x80) *o++ = (char)c;
    else if (c < 0x800) { *o++ = (char)(0xC0 | c >> 6); *o++ = (char)(0x80 | (c & 0x3F)); }
    else if (c < 0x10000) { *o++ = (char)(0xE0 | c >> 12); *o++ = (char)(0x80 | (c >> 6 & 0x3F)); *o++ = (char)(0x80 | (c & 0x3F)); }
    else { *o++ = (char)(0xF0 | c >> 18); *o++ = (char)(0x80 | (c >> 12 & 0x3F)); *o++ = (char)(0x80 | (c >> 6 & 0x3F)); *o++ = (char)(0x80 | (c & 0x3F)); }
    return o;
}

/* At a '"': decodes the string into *out (malloc'd; escapes never grow it). */
static int jstring(struct jp *j, char **out) {
    j->p++;
    char *buf = malloc((size_t)(j->end - j->p) + 1), *o = buf;
    if (!buf) abort();
    for (;;) {
        if (j->p >= j->end) goto bad;
        char c = *j->p;
        if (c == '"') { j->p++; break; }
        if ((unsigned char)c < 0x20) goto bad;
        if (c != '\\') { *o++ = c; j->p++; continue; }
        if (++j->p >= j->end) goto bad;
        c = *j->p++;
        switch (c) {
        case '"': case '\\': case '/': *o++ = c; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned u, lo;
            if (jhex4(j, &u) < 0) goto bad;
            if (u >= 0xD800 && u < 0xDC00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                const char *save = j->p;
                j->p += 2;
                if (jhex4(j, &lo) < 0) goto bad;
                if (lo >= 0xDC00 && lo < 0xE000) u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                else { u = 0xFFFD; j->p = save; }
            } else if (u >= 0xD800 && u < 0xE000) u = 0xFFFD; /* lone surrogate, as Go */
            o = put_utf8(o, u);
            break;
        }
        default: j->p--; goto bad;
        }
    }
    *o = 0;
    *out = buf;
    return 0;
bad:
    free(buf);
    return jfail(j);
}

/* Number at j->p; *is_int set when it is a plain integer that fits. */
static int jnumber(struct jp *j, long long *v, int *is_int) {
    const char *s = j->p;
    if (j->p < j->end && *j->p == '-') j->p++;
    if (j->p >= j->end || !isdigit((unsigned char)*j->p)) return jfail(j);
    if (*j->p == '0') j->p++;
    else while (j->p < j->end && isdigit((unsigned char)*j->p)) j->p++;
    *is_int = 1;
    if (j->p < j->end && *j->p == '.') {
        *is_int = 0;
        if (++j->p >= j->end || !isdigit((unsigned char)*j->p)) return jfail(j);
        while (j->p < j->end && isdigit((unsigned char)*j->p)) j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        *is_int = 0;
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (j->p >= j->end || !isdigit((unsigned char)*j->p)) return jfail(j);
        while (j->p < j->end && isdigit((unsigned char)*j->p)) j->p++;
    }
    if (*is_int) {
        char tmp[32];
        size_t n = (size_t)(j->p - s);
        if (n >= sizeof tmp) { *is_int = 0; return 0; }
        memcpy(tmp, s, n);
        tmp[n] = 0;
        errno = 0;
        *v = strtoll(tmp, NULL, 10);
        if (errno == ERANGE) *is_int = 0;
    }
    return 0;
}

static int jliteral(struct jp *j, const char *word) {
    size_t n = strlen(word);
    for (size_t i = 0; i < n; i++, j->p++)
        if (j->p >= j->end || *j->p != word[i]) return jfail(j);
    return 0;
}

/* Skips any value (for fields we do not know). */
static int jskip(struct jp *j, int depth) {
    if (depth > 100) { snprintf(j->err, sizeof j->err, "exceeded max depth"); return -1; }
    jws(j);
    if (j->p >= j->end) return jfail(j);
    char c = *j->p;
    if (c == '"') { char *s; if (jstring(j, &s) < 0) return -1; free(s); return 0; }
    if (c == 't') return jliteral(j, "true");
    if (c == 'f') return jliteral(j, "false");
    if (c == 'n') return jliteral(j, "null");
    if (c == '-' || isdigit((unsigned char)c)) { long long v; int ii; return jnumber(j, &v, &ii); }
    if (c != '[' && c != '{') return jfail(j);
    char close_c = c == '[' ? ']' : '}';
    j->p++;
    jws(j);
    if (j->p < j->end && *j->p == close_c) { j->p++; return 0; }
    for (;;) {
        if (close_c == '}') {
            jws(j);
            char *k;
            if (j->p >= j->end || *j->p != '"') return jfail(j);
            if (jstring(j, &k) < 0) return -1;
            free(k);
            jws(j);
            if (j->p >= j->end || *j->p != ':') return jfail(j);
            j->p++;
        }
        if (jskip(j, depth + 1) < 0) return -1;
        jws(j);
        if (j->p >= j->end) return jfail(j);
        if (*j->p == ',') { j->p++; continue; }
        if (*j->p == close_c) { j->p++; return 0; }
        return jfail(j);
    }
}

/* Decodes {"sku":str,"qty":int} like Go's json.Decoder into a struct: keys
 * match case-insensitively, unknown keys and trailing data are ignored, null
 * leaves the zero value. Returns NULL or the error text. */
static const char *parse_order(const char *body, size_t len, char **sku, long long *qty, char *errbuf, size_t errlen) {
    struct jp j = { .p = body, .end = body + len, .err = "" };
    *sku = xstrdup("");
    *qty = 0;
    jws(&j);
    if (j.p >= j.end) return "EOF";
    if (*j.p != '{') {
        if (jskip(&j, 0) < 0) goto bad;
        return "expected a JSON object";
    }
    j.p++;
    jws(&j);
    if (j.p < j.end && *j.p == '}') return NULL;
    for (;;) {
        char *k;
        jws(&j);
        if (j.p >= j.end || *j.p != '"') { jfail(&j); goto bad; }
        if (jstring(&j, &k) < 0) goto bad;
        jws(&j);
        if (j.p >= j.end || *j.p != ':') { free(k); jfail(&j); goto bad; }
        j.p++;
        jws(&j);
        int is_sku = !strcasecmp(k, "sku"), is_qty = !strcasecmp(k, "qty");
        free(k);
        if (j.p < j.end && *j.p == 'n' && (is_sku || is_qty)) {
            if (jliteral(&j, "null") < 0) goto bad;
        } else if (is_sku) {
            if (j.p >= j.end) { jfail(&j); goto bad; }
            if (*j.p != '"') { if (jskip(&j, 0) < 0) goto bad; return "sku must be a string"; }
            free(*sku);
            if (jstring(&j, sku) < 0) { *sku = xstrdup(""); goto bad; }
        } else if (is_qty) {
            int is_int = 0;
            if (j.p >= j.end) { jfail(&j); goto bad; }
            if (*j.p != '-' && !isdigit((unsigned char)*j.p)) { if (jskip(&j, 0) < 0) goto bad; return "qty must be an integer"; }
            if (jnumber(&j, qty, &is_int) < 0) goto bad;
            if (!is_int) return "qty must be an integer";
        } else if (jskip(&j, 0) < 0) goto bad;
        jws(&j);
        if (j.p >= j.end) { jfail(&j); goto bad; }
        if (*j.p == ',') { j.p++; continue; }
        if (*j.p == '}') return NULL;
        jfail(&j);
        goto bad;
    }
bad:
    snprintf(errbuf, errlen, "%s", j.err);
    return errbuf;
}

/* ------------------------------------------------------------ handlers */

static void json_reply(struct response *r, int code, char *body) {
    r->code = code;
    r->ctype = "application/json";
    r->body = body;
}

static void place_order(struct request *rq, struct response *r) {
    char *sku, errbuf[64], *err = NULL, *reply = NULL, *cmd;
    long long qty, remaining = 0;
    const char *perr = parse_order(rq->body, rq->body_len, &sku, &qty, errbuf, sizeof errbuf);
    if (perr) { text(r, 400, "bad request: %s", perr); free(sku); return; }
    if (!*sku) { text(r, 400, "sku required"); free(sku); return; }
    if (qty <= 0) qty = 1;
    long long id = new_order_id();
    char *failure = NULL;
    int code = 200;

    cmd = xasprintf("CHECK %s", sku);
    reply = inv_call(cmd, &err);
    free(cmd);
    if (!reply) { code = 503; failure = xasprintf("inventory unreachable: %s", err); goto done; }
    if (!strcmp(reply, "NOT_FOUND")) { code = 404; failure = xstrdup("sku not found"); goto done; }
    free(reply);

    cmd = xasprintf("RESERVE %s %lld", sku, qty);
    reply = inv_call(cmd, &err);
    free(cmd);
    if (!reply) { code = 503; failure = xasprintf("inventory error: %s", err); goto done; }
    if (strncmp(reply, "OK", 2)) { code = 409; failure = xstrdup(reply); goto done; }
    remaining = strtoll(reply + 2, NULL, 10);
done:
    json_reply(r, code, order_json(id, sku, qty, failure, remaining));
    store_order(id, r->body);
    free(failure);
    free(reply);
    free(err);
    free(sku);
}

static void get_order(const char *idstr, struct response *r) {
    char *body = NULL;
    char *e;
    errno = 0;
    long long id = strtoll(idstr, &e, 10);
    if (*idstr && isdigit((unsigned char)*idstr) && !*e && !errno) {
        pthread_mutex_lock(&orders_lock);
        if (id >= 1 && id <= norders && orders[id - 1]) body = xstrdup(orders[id - 1]);
        pthread_mutex_unlock(&orders_lock);
    }
    if (body) json_reply(r, 200, body);
    else text(r, 404, "order not found");
}

static void get_inventory(const char *sku, struct response *r) {
    char *err = NULL, *cmd = xasprintf("CHECK %s", sku);
    char *reply = inv_call(cmd, &err);
    free(cmd);
    if (!reply) text(r, 503, "inventory error: %s", err);
    else if (!strcmp(reply, "NOT_FOUND")) text(r, 404, "sku not found");
    else {
        /* Guard the hand-formatted JSON against a non-numeric reply. */
        char *e;
        errno = 0;
        (void)strtoll(reply, &e, 10);
        if (!*reply || *e || errno) text(r, 503, "inventory error: unexpected reply: %s", reply);
        else {
            char *q = json_quote(sku);
            json_reply(r, 200, xasprintf("{\"sku\":%s,\"qty\":%s}\n", q, reply));
            free(q);
        }
    }
    free(reply);
    free(err);
}

static void route(struct request *rq, struct response *r) {
    if (!strcmp(rq->path, "/health")) text(r, 200, "ok");
    else if (!strcmp(rq->path, "/orders")) {
        if (strcmp(rq->method, "POST")) text(r, 405, "method not allowed");
        else place_order(rq, r);
    } else if (!strncmp(rq->path, "/orders/", 8)) get_order(rq->path + 8, r);
    else if (!strncmp(rq->path, "/inventory/", 11)) get_inventory(rq->path + 11, r);
    else text(r, 404, "404 page not found");
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
    inv_addr = getenv("INVENTORY_ADDR");
    if (!inv_addr || !*inv_addr) inv_addr = "localhost:5432";
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
        fprintf(stderr, "order-svc: listen :%s: %s\n", port, strerror(errno));
        return 1;
    }
    fprintf(stderr, "order-svc: listening on :%s (inventory=%s)\n", port, inv_addr);
    for (;;) {
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        pthread_t t;
        if (pthread_create(&t, NULL, conn_main, (void *)(intptr_t)c) != 0) { close(c); continue; }
        pthread_detach(t);
    }
}
