/* mock-db: the tutorial's TCP line-protocol key/value store (reference 4.2),
 * plus a write-ahead log so that write faults on SET are observable. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "demo_net.h"

struct kv { char *key, *val; struct kv *next; };
static struct kv *store;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *wal_path;

static void logline(const char *op, const char *key, const char *status) {
    pthread_mutex_lock(&lock);
    if (key)
        printf("{\"level\":\"INFO\",\"msg\":\"command\",\"op\":\"%s\",\"key\":\"%s\",\"status\":\"%s\"}\n", op, key, status);
    else
        printf("{\"level\":\"INFO\",\"msg\":\"command\",\"op\":\"%s\",\"status\":\"%s\"}\n", op, status);
    fflush(stdout);
    pthread_mutex_unlock(&lock);
}

/* The WAL is opened, written, synced and closed per SET on purpose: each step
 * is a distinct syscall a fault can target. */
static const char *wal_append(const char *key, const char *val) {
    int fd = open(wal_path, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return "open";
    char *line;
    int n = asprintf(&line, "SET %s %s\n", key, val);
    if (n < 0) abort();
    const char *op = NULL;
    if (write(fd, line, (size_t)n) != n) op = "write";
    else if (fsync(fd) < 0) op = "fsync";
    int saved = errno;
    free(line);
    close(fd);
    errno = saved;
    return op;
}

static void reply(int fd, const char *s) {
    size_t len = strlen(s);
    /* Socket write errors are ignored like the reference service does. */
    if (write(fd, s, len) < 0 || write(fd, "\n", 1) < 0) return;
}

static void handle(int fd, char *line) {
    while (*line == ' ' || *line == '\t' || *line == '\r') line++;
    size_t l = strlen(line);
    while (l && (line[l-1] == ' ' || line[l-1] == '\t' || line[l-1] == '\r')) line[--l] = 0;
    char *cmd = line, *key = NULL, *val = NULL;
    char *sp = strchr(cmd, ' ');
    if (sp) { *sp = 0; key = sp + 1; sp = strchr(key, ' '); if (sp) { *sp = 0; val = sp + 1; } }
    if (!strcasecmp(cmd, "PING")) { logline("PING", NULL, "ok"); reply(fd, "PONG"); }
    else if (!strcasecmp(cmd, "SET")) {
        if (!key || !val) { reply(fd, "ERR usage: SET key value"); return; }
        const char *op = wal_append(key, val);
        if (op) {
            char msg[256];
            snprintf(msg, sizeof msg, "ERR wal: %s: %s", op, strerror(errno));
            logline("SET", key, "error");
            reply(fd, msg);
            return;
        }
        pthread_mutex_lock(&lock);
        struct kv *e;
        for (e = store; e && strcmp(e->key, key); e = e->next) {}
        if (!e) { e = calloc(1, sizeof *e); if (!e) abort(); e->key = strdup(key); e->next = store; store = e; }
        free(e->val);
        e->val = strdup(val);
        if (!e->key || !e->val) abort();
        pthread_mutex_unlock(&lock);
        logline("SET", key, "ok");
        reply(fd, "OK");
    } else if (!strcasecmp(cmd, "GET")) {
        if (!key) { reply(fd, "ERR usage: GET key"); return; }
        pthread_mutex_lock(&lock);
        struct kv *e;
        for (e = store; e && strcmp(e->key, key); e = e->next) {}
        char *v = e ? strdup(e->val) : NULL;
        pthread_mutex_unlock(&lock);
        logline("GET", key, v ? "ok" : "not_found");
        reply(fd, v ? v : "NOT_FOUND");
        free(v);
    } else {
        char msg[256];
        snprintf(msg, sizeof msg, "ERR unknown command: %s", cmd);
        reply(fd, msg);
    }
}

/* QUIT ends the connection; only leading spaces are skipped to spot it. */
static int on_line(int fd, char *line) {
    char *ln = line;
    while (*ln == ' ') ln++;
    if (!strncasecmp(ln, "QUIT", 4) && (ln[4] == 0 || ln[4] == '\r' || ln[4] == ' ')) return 1;
    handle(fd, line);
    return 0;
}

static void serve(int fd) { demo_read_lines(fd, on_line); }

int main(void) {
    const char *port = demo_env("PORT", "5432");
    wal_path = demo_env("WAL_PATH", "/tmp/mock-db.wal");
    int s = demo_listen("mock-db", port);
    if (s < 0) return 1;
    fprintf(stderr, "mock-db: listening on :%s\n", port);
    printf("{\"level\":\"INFO\",\"msg\":\"startup\",\"port\":\"%s\"}\n", port);
    fflush(stdout);
    demo_accept_loop(s, serve);
}
