/*
 * A minimal Lambda custom runtime (`provided.al2023` bootstrap) for benchmarks: one keep-alive
 * TCP connection (TCP_NODELAY) to the Runtime API in AWS_LAMBDA_RUNTIME_API, GET
 * /runtime/invocation/next, then POST /runtime/invocation/{id}/response with
 *     {"fn_ns":N}
 * where N is the nanoseconds (CLOCK_MONOTONIC) between having read the whole event and
 * starting to write the response: the time the "function" spent, reported so a client can
 * subtract it. It does no other work and ignores the event.
 *
 * Built by bench/lambda_bench.py with `gcc -O2`; only libc. Exits on any protocol error
 * (Stratus then reports Runtime.ExitError), reconnects if the API closes the connection.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE (7 * 1024 * 1024) /* an event is at most 6 MB */

static char host[256];
static char port[16];
static int fd = -1;
static char *buf;      /* received bytes */
static size_t have;    /* bytes in buf */

static void die(const char *what) {
    fprintf(stderr, "bootstrap: %s: %s\n", what, errno ? strerror(errno) : "protocol error");
    exit(1);
}

static void connect_api(void) {
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res) die("getaddrinfo");
    fd = socket(res->ai_family, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) die("connect");
    freeaddrinfo(res);
    have = 0;
}

static int write_all(const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one HTTP/1.1 response. On return buf[0..head_len) is the head (NUL-terminated in place
 * of its final CRLF CRLF) and *body points at body_len bytes. Returns -1 if the connection
 * closed before anything arrived (the caller reconnects), dies on anything else. */
static int read_response(size_t *head_len, char **body, size_t *body_len) {
    char *end = NULL;
    for (;;) {
        if (have > 0) {
            buf[have] = '\0';
            end = strstr(buf, "\r\n\r\n");
            if (end) break;
        }
        if (have >= BUF_SIZE - 1) die("response head too large");
        ssize_t r = read(fd, buf + have, BUF_SIZE - 1 - have);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (have == 0) return -1;
            die("read head");
        }
        have += (size_t)r;
    }
    size_t hl = (size_t)(end - buf) + 4;
    *end = '\0';
    size_t clen = 0;
    for (char *line = strstr(buf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0) clen = strtoul(line + 17, NULL, 10);
        if (strncasecmp(line + 2, "Transfer-Encoding:", 18) == 0) die("chunked responses are not supported");
    }
    if (hl + clen >= BUF_SIZE) die("response too large");
    while (have < hl + clen) {
        ssize_t r = read(fd, buf + have, BUF_SIZE - 1 - have);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) die("read body");
        have += (size_t)r;
    }
    *head_len = hl;
    *body = buf + hl;
    *body_len = clen;
    return 0;
}

/* Drops the response just handled; keeps anything pipelined after it. */
static void consume(size_t n) {
    memmove(buf, buf + n, have - n);
    have -= n;
}

static const char *header(const char *head, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, name, nl) == 0 && line[2 + nl] == ':') {
            const char *v = line + 3 + nl;
            while (*v == ' ') v++;
            size_t i = 0;
            while (v[i] && v[i] != '\r' && i + 1 < cap) {
                out[i] = v[i];
                i++;
            }
            out[i] = '\0';
            return out;
        }
    }
    return NULL;
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void) {
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api) die("AWS_LAMBDA_RUNTIME_API is not set");
    const char *colon = strrchr(api, ':');
    if (!colon || (size_t)(colon - api) >= sizeof host || strlen(colon + 1) >= sizeof port) die("bad AWS_LAMBDA_RUNTIME_API");
    memcpy(host, api, (size_t)(colon - api));
    strcpy(port, colon + 1);
    buf = malloc(BUF_SIZE);
    if (!buf) die("malloc");
    connect_api();

    char req[512], id[128], body_out[64];
    for (;;) {
        int n = snprintf(req, sizeof req,
                         "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n", api);
        size_t head_len, body_len;
        char *body;
        if (write_all(req, (size_t)n) != 0 || read_response(&head_len, &body, &body_len) != 0) {
            /* The API closed the keep-alive connection between events: reconnect once. */
            close(fd);
            connect_api();
            if (write_all(req, (size_t)n) != 0 || read_response(&head_len, &body, &body_len) != 0) die("next");
        }
        long long t0 = now_ns();
        if (!header(buf, "Lambda-Runtime-Aws-Request-Id", id, sizeof id)) die("no request id");
        consume(head_len + body_len);

        long long spent = now_ns() - t0;
        int bl = snprintf(body_out, sizeof body_out, "{\"fn_ns\":%lld}", spent);
        n = snprintf(req, sizeof req,
                     "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                     id, api, bl, body_out);
        if (n <= 0 || (size_t)n >= sizeof req) die("request too long");
        if (write_all(req, (size_t)n) != 0) die("write response");
        if (read_response(&head_len, &body, &body_len) != 0) die("response status");
        if (strncmp(buf, "HTTP/1.1 202", 12) != 0) {
            errno = 0;
            fprintf(stderr, "bootstrap: the API refused the response: %.100s\n", buf);
        }
        consume(head_len + body_len);
    }
}
