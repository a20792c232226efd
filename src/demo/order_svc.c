/* order-svc: the tutorial's order front end to inventory-svc (reference 4.5).
 * Minimal HTTP/1.1: one request per connection, answered with Content-Length
 * and "Connection: close". Each inventory command uses a fresh TCP connection,
 * so placing an order makes two (CHECK, RESERVE) that faults can target. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "demo_http.h"
#include "demo_net.h"

static const char *inv_addr;

/* Sends one command line, returns the trimmed reply line (malloc'd), or NULL
 * with *err set (malloc'd). */
static char *inv_call(const char *cmd, char **err) { return demo_call(inv_addr, "inventory", cmd, err); }

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
    if (perr) { http_text(r, 400, "bad request: %s", perr); free(sku); return; }
    if (!*sku) { http_text(r, 400, "sku required"); free(sku); return; }
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
    else http_text(r, 404, "order not found");
}

static void get_inventory(const char *sku, struct response *r) {
    char *err = NULL, *cmd = xasprintf("CHECK %s", sku);
    char *reply = inv_call(cmd, &err);
    free(cmd);
    if (!reply) http_text(r, 503, "inventory error: %s", err);
    else if (!strcmp(reply, "NOT_FOUND")) http_text(r, 404, "sku not found");
    else {
        /* Guard the hand-formatted JSON against a non-numeric reply. */
        char *e;
        errno = 0;
        (void)strtoll(reply, &e, 10);
        if (!*reply || *e || errno) http_text(r, 503, "inventory error: unexpected reply: %s", reply);
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
    if (!strcmp(rq->path, "/health")) http_text(r, 200, "ok");
    else if (!strcmp(rq->path, "/orders")) {
        if (strcmp(rq->method, "POST")) http_text(r, 405, "method not allowed");
        else place_order(rq, r);
    } else if (!strncmp(rq->path, "/orders/", 8)) get_order(rq->path + 8, r);
    else if (!strncmp(rq->path, "/inventory/", 11)) get_inventory(rq->path + 11, r);
    else http_text(r, 404, "404 page not found");
}

int main(void) {
    const char *port = demo_env("PORT", "8080");
    inv_addr = demo_env("INVENTORY_ADDR", "localhost:5432");
    int s = demo_listen("order-svc", port);
    if (s < 0) return 1;
    fprintf(stderr, "order-svc: listening on :%s (inventory=%s)\n", port, inv_addr);
    http_serve(s, route);
}
