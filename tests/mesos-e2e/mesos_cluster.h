/* A throw-away Mesos cluster on loopback for the end-to-end test: one
 * mesos-master loading the Locus allocator module, agents with distinct
 * hostnames, each in its own mount namespace without the cgroup v2 mount
 * Mesos 1.12 refuses, and a v1 HTTP scheduler client (JSON over plain
 * sockets, no libmesos) that reads the SUBSCRIBE stream's RecordIO events. */
#ifndef LOCUS_MESOS_CLUSTER_H
#define LOCUS_MESOS_CLUSTER_H

#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

/* One subscribed framework: the open event stream and what identifies it. */
typedef struct mc_scheduler {
    int port;              /* master port */
    int fd;                /* the SUBSCRIBE connection */
    char stream_id[128];   /* Mesos-Stream-Id, sent with every call */
    char framework_id[128];
    /* raw bytes of the chunked body not yet decoded, and decoded body bytes
     * not yet split into RecordIO records */
    char *raw, *body;
    size_t raw_len, raw_cap, body_len, body_cap;
    int chunk_left;        /* bytes left in the current chunk, -1 = reading a size line */
} mc_scheduler;

/* Subscribes framework_info (a JSON object, stolen) with the given roles
 * suppressed; returns 0 once SUBSCRIBED arrived, or -1 with a message in err. */
int mc_subscribe(mc_scheduler *s, int port, json_t *framework_info, const char *suppressed_role,
                 char *err, size_t err_len);
/* The next event of the stream within timeout_s (a new reference), or NULL. */
json_t *mc_next_event(mc_scheduler *s, double timeout_s);
/* Sends one call (the object gets framework_id added; stolen); returns the
 * HTTP status (202, or 200 for UPDATE_FRAMEWORK) or -1. */
int mc_call(mc_scheduler *s, json_t *call);
void mc_close(mc_scheduler *s);
/* Sends one operator API call (POST /api/v1, the object stolen); returns the
 * HTTP status or -1. */
int mc_operator(int port, json_t *call);

/* Scalar value of resource `name` in a JSON resources array (0 if absent). */
double mc_scalar(const json_t *resources, const char *name);

/* GET a JSON document from the master, NULL on error (new reference). */
json_t *mc_get_json(int port, const char *path);

#endif
