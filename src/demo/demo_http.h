/* Minimal HTTP/1.1 server shared by mock-api and order-svc: one request per
 * connection, answered with Content-Length and "Connection: close". */
#ifndef DEMO_HTTP_H
#define DEMO_HTTP_H

#include <stddef.h>

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

/* Plain-text reply with a trailing newline, like Go's fmt.Fprintln/http.Error. */
void http_text(struct response *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Value of a hex digit, or -1. */
int hexval(char c);

/* Serves HTTP on the listening socket s forever; route() fills the response
 * of every well-formed request (HEAD gets the headers only). */
__attribute__((noreturn)) void http_serve(int s, void (*route)(struct request *rq, struct response *r));

#endif
