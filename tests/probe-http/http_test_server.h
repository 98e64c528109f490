/* A scripted HTTP/1.1 server on 127.0.0.1 for the probe's HTTP backend
 * tests, running on the test's own libevent loop. It answers from a table of
 * routes (method + exact target), can misbehave on purpose (hang, cut the
 * body short, close without answering), and records every request and the
 * highest number of requests it held at once. */
#ifndef LOCUS_TEST_HTTP_SERVER_H
#define LOCUS_TEST_HTTP_SERVER_H

#include <stddef.h>

#include <event2/event.h>

typedef enum hts_mode {
    HTS_OK,        /* full response, then close */
    HTS_HANG,      /* never answer */
    HTS_TRUNCATE,  /* Content-Length of the whole body, half of it sent, then close */
    HTS_CLOSE,     /* close without a response */
    HTS_GARBAGE    /* a status line that is not HTTP, then close */
} hts_mode;

typedef struct hts hts;

/* Listens on a free loopback port; NULL on failure. */
hts *hts_new(struct event_base *base);
/* Closes every connection, frees everything. NULL: no-op. */
void hts_free(hts *s);
int hts_port(const hts *s);

/* Adds a route; body is copied. Unknown targets get 404 with an empty
 * JSON object. Returns 0 or -1. */
int hts_route(hts *s, const char *method, const char *target, int status, const char *body,
              hts_mode mode);
/* Same with the body read from data_dir/file; -1 if unreadable. */
int hts_route_file(hts *s, const char *method, const char *target, int status,
                   const char *file, hts_mode mode);
/* Removes every route. */
void hts_clear_routes(hts *s);
/* Delays every response by ms milliseconds (to let requests pile up). */
void hts_set_delay_ms(hts *s, int ms);
/* With on, HTS_OK answers say "Connection: keep-alive" and the connection
 * stays open for the next request (default: every answer closes it). */
void hts_set_keep_alive(hts *s, int on);
/* Connections accepted so far. */
int hts_connections(const hts *s);

/* Requests seen, as "METHOD target", in arrival order. */
size_t hts_requests(const hts *s);
const char *hts_request(const hts *s, size_t i);
/* Whether "METHOD target" was seen. */
int hts_seen(const hts *s, const char *method, const char *target);
/* Highest number of requests received and not yet answered at once. */
int hts_max_in_flight(const hts *s);

#endif
