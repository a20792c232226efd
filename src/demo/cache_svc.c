/* cache-svc: a cache-aside item service for specs/examples/cache-aside.star.
 *   GET  /item/ID   redis GET item:ID; on a miss (or any redis failure)
 *                   SELECT from postgres, then SET item:ID in redis
 *   POST /item/ID   body = the item's name: upsert in postgres, then DEL
 *                   item:ID in redis
 * Replies are JSON naming where the value came from ("cache" or "db").
 * Redis is only a cache: when it fails the service still answers from
 * postgres. A postgres failure is the client's 503.
 * Every request opens its own connections (like mock-api), so connections
 * need no locking between the server's threads and a fault on a new
 * connection is seen by the next request.
 * env: PORT (8080), REDIS_ADDR (redis:6379), PG_CONNINFO. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include "demo_http.h"
#include "demo_net.h"

static char redis_host[256];
static int redis_port;
static const char *pg_conninfo;

static redisContext *redis_open(void) {
    struct timeval tv = { .tv_sec = 2 };
    redisContext *c = redisConnectWithTimeout(redis_host, redis_port, tv);
    if (c && !c->err && redisSetTimeout(c, tv) == REDIS_OK) return c;
    fprintf(stderr, "cache-svc: redis %s:%d: %s\n", redis_host, redis_port, c ? c->errstr : "out of memory");
    redisFree(c);
    return NULL;
}

/* One redis command (its words); a reply of the wanted type, else NULL
 * with the reason logged. */
static redisReply *redis_cmd(redisContext *c, int want, int argc, const char **argv) {
    redisReply *r = c ? redisCommandArgv(c, argc, argv, NULL) : NULL;
    if (r && r->type == want) return r;
    if (r && r->type == REDIS_REPLY_ERROR) fprintf(stderr, "cache-svc: redis %s: %s\n", argv[0], r->str);
    else if (c && c->err) fprintf(stderr, "cache-svc: redis %s: %s\n", argv[0], c->errstr);
    if (r) freeReplyObject(r);
    return NULL;
}

/* The cached value is gone or replaced; 0 when redis did not say so. */
static int redis_store(redisContext *c, int argc, const char **argv) {
    redisReply *r = redis_cmd(c, argv[0][0] == 'S' ? REDIS_REPLY_STATUS : REDIS_REPLY_INTEGER, argc, argv);
    if (r) freeReplyObject(r);
    return r != NULL;
}

/* A connection, or NULL with *err set (malloc'd). */
static PGconn *pg_open(char **err) {
    PGconn *pg = PQconnectdb(pg_conninfo);
    if (PQstatus(pg) == CONNECTION_OK) return pg;
    *err = xstrdup(trim(PQerrorMessage(pg)));
    PQfinish(pg);
    return NULL;
}

/* Runs one statement with its text parameters. The result when it
 * succeeded, else NULL with *err set (malloc'd). */
static PGresult *pg_run(const char *sql, int n, const char *const *params, char **err) {
    PGconn *pg = pg_open(err);
    if (!pg) return NULL;
    PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        *err = xstrdup(trim(PQresultErrorMessage(res)));
        PQclear(res);
        res = NULL;
    }
    PQfinish(pg);
    return res;
}

static void json_reply(struct response *r, int code, const char *id, const char *name, const char *source) {
    http_text(r, code, "{\"id\": %s, \"name\": \"%s\", \"source\": \"%s\"}", id, name, source);
    r->ctype = "application/json";
}

static void get_item(const char *id, struct response *r) {
    char *key = xasprintf("item:%s", id);
    redisContext *rc = redis_open();
    redisReply *hit = redis_cmd(rc, REDIS_REPLY_STRING, 2, (const char *[]){ "GET", key });
    char *err = NULL;
    PGresult *res = NULL;
    if (hit) json_reply(r, 200, id, hit->str, "cache");
    else if (!(res = pg_run("SELECT name FROM item WHERE id = $1::int", 1, &id, &err)))
        http_text(r, 503, "db error: %s", err);
    else if (PQntuples(res) == 0) http_text(r, 404, "no item %s", id);
    else {
        const char *name = PQgetvalue(res, 0, 0);
        redis_store(rc, 5, (const char *[]){ "SET", key, name, "EX", "60" });
        json_reply(r, 200, id, name, "db");
    }
    if (hit) freeReplyObject(hit);
    PQclear(res);
    free(err);
    redisFree(rc);
    free(key);
}

/* The write goes to postgres; the cached copy is then dropped, so the next
 * read loads the new name. A cache that cannot be invalidated is reported
 * (the write itself happened). */
static void put_item(const char *id, const char *name, struct response *r) {
    char *err = NULL;
    PGresult *res = pg_run("INSERT INTO item (id, name) VALUES ($1::int, $2) "
                           "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name",
                           2, (const char *[]){ id, name }, &err);
    if (!res) {
        http_text(r, 503, "db error: %s", err);
        free(err);
        return;
    }
    PQclear(res);
    char *key = xasprintf("item:%s", id);
    redisContext *rc = redis_open();
    int dropped = redis_store(rc, 2, (const char *[]){ "DEL", key });
    redisFree(rc);
    free(key);
    http_text(r, 200, "{\"id\": %s, \"name\": \"%s\", \"invalidated\": %s}", id, name, dropped ? "true" : "false");
    r->ctype = "application/json";
}

static int valid_id(const char *id) {
    if (!*id || strlen(id) > 9) return 0;
    for (const char *p = id; *p; p++)
        if (*p < '0' || *p > '9') return 0;
    return 1;
}

static void route(struct request *rq, struct response *r) {
    if (!strcmp(rq->path, "/health")) { http_text(r, 200, "ok"); return; }
    if (strncmp(rq->path, "/item/", 6)) { http_text(r, 404, "404 page not found"); return; }
    const char *id = rq->path + 6;
    if (!valid_id(id)) { http_text(r, 400, "bad item id"); return; }
    const char *name = trim(rq->body);
    if (!strcmp(rq->method, "GET")) get_item(id, r);
    else if (strcmp(rq->method, "POST")) http_text(r, 405, "method not allowed");
    else if (!*name || strpbrk(name, "\"\\")) http_text(r, 400, "bad item name");
    else put_item(id, name, r);
}

/* The table, once postgres accepts connections (it may still be starting). */
static int create_table(void) {
    char *err = NULL;
    for (int i = 0; i < 100; i++) {
        PGresult *res = pg_run("CREATE TABLE IF NOT EXISTS item (id int PRIMARY KEY, name text NOT NULL)",
                               0, NULL, &err);
        if (res) { PQclear(res); return 0; }
        free(err);
        err = NULL;
        usleep(100 * 1000);
    }
    fprintf(stderr, "cache-svc: postgres never accepted the table\n");
    return -1;
}

int main(void) {
    const char *port = demo_env("PORT", "8080");
    const char *raddr = demo_env("REDIS_ADDR", "redis:6379");
    pg_conninfo = demo_env("PG_CONNINFO", "host=pg user=postgres dbname=postgres connect_timeout=2");
    const char *colon = strrchr(raddr, ':');
    if (!colon || (size_t)(colon - raddr) >= sizeof redis_host) {
        fprintf(stderr, "cache-svc: REDIS_ADDR %s is not host:port\n", raddr);
        return 1;
    }
    memcpy(redis_host, raddr, (size_t)(colon - raddr));
    redis_port = atoi(colon + 1);
    if (create_table() < 0) return 1;
    int s = demo_listen("cache-svc", port);
    if (s < 0) return 1;
    printf("cache-svc: listening on :%s (redis=%s)\n", port, raddr);
    fflush(stdout);
    http_serve(s, route);
}
