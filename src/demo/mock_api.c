/* mock-api: the tutorial's HTTP front end to mock-db (reference 4.3).
 * Minimal HTTP/1.1: one request per connection, answered with Content-Length
 * and "Connection: close". Every DB command uses a fresh TCP connection, so
 * each connect/write/read is a syscall a fault can target. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo_http.h"
#include "demo_net.h"

static const char *db_addr;

/* Sends one command line, returns the trimmed reply line (malloc'd), or NULL
 * with *err set (malloc'd). */
static char *db_call(const char *cmd, char **err) { return demo_call(db_addr, "db", cmd, err); }

/* ---------------------------------------------------------------- routes */

static void route(struct request *rq, struct response *r) {
    if (!strcmp(rq->path, "/health")) { http_text(r, 200, "ok"); return; }
    if (strncmp(rq->path, "/data/", 6)) { http_text(r, 404, "404 page not found"); return; }
    const char *key = rq->path + 6;
    if (!*key) { http_text(r, 400, "key required"); return; }
    char *err = NULL, *reply;
    if (!strcmp(rq->method, "POST")) {
        const char *val = trim(rq->body);
        if (!*val) val = "default";
        char *cmd = xasprintf("SET %s %s", key, val);
        reply = db_call(cmd, &err);
        free(cmd);
        if (!reply) http_text(r, 500, "db error: %s", err);
        else if (strcmp(reply, "OK")) http_text(r, 500, "db error: %s", reply);
        else http_text(r, 200, "stored: %s=%s", key, val);
    } else if (!strcmp(rq->method, "GET")) {
        char *cmd = xasprintf("GET %s", key);
        reply = db_call(cmd, &err);
        free(cmd);
        if (!reply) http_text(r, 500, "db error: %s", err);
        else if (!strcmp(reply, "NOT_FOUND")) http_text(r, 404, "not found");
        else http_text(r, 200, "%s", reply);
    } else {
        http_text(r, 405, "method not allowed");
        return;
    }
    free(reply);
    free(err);
}

int main(void) {
    const char *port = demo_env("PORT", "8080");
    db_addr = demo_env("DB_ADDR", "localhost:5432");
    int s = demo_listen("mock-api", port);
    if (s < 0) return 1;
    printf("mock-api: listening on :%s (db=%s)\n", port, db_addr);
    fflush(stdout);
    http_serve(s, route);
}
