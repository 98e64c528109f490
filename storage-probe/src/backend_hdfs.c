/* The HDFS backend of locus-probe: block locations from the NameNode's
 * WebHDFS REST API (default HTTP port 9870).
 *
 * Requests, as the Hadoop WebHDFS documentation defines them:
 *   GET /webhdfs/v1/<dir>?op=LISTSTATUS[&user.name=U]
 *       -> {"FileStatuses":{"FileStatus":[{"pathSuffix","type",...}]}}
 *   GET /webhdfs/v1/<file>?op=GETFILEBLOCKLOCATIONS[&user.name=U]
 *       -> {"BlockLocations":{"BlockLocation":[{"offset","length","hosts",
 *           "storageTypes","cachedHosts",...}]}}
 * hosts[i] holds a replica on storageTypes[i]; a host in cachedHosts holds
 * the block in the DataNode's centralized cache (off-heap memory), so it is
 * published as a MEM replica (a host both cached and on disk keeps MEM).
 * Storage types: RAM_DISK and NVDIMM -> MEM, SSD -> SSD, DISK, ARCHIVE and
 * PROVIDED -> HDD; an unknown type fails the poll. A reply without
 * storageTypes or cachedHosts is read as all-DISK and uncached. Symbolic links are not followed.
 * GETFILEBLOCKLOCATIONS is a WebHDFS op since Hadoop 3.2 (HDFS-12459); an
 * older NameNode refuses it with an error status, which fails the poll.
 *
 * The crawl, concurrency and failure handling are shared with the Alluxio
 * backend (http_walk.h); this file is only the protocol.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_walk.h"
#include "locus/error.h"

static char *webhdfs_request(const http_walk_config *cfg, const char *path, const char *op)
{
    char *enc = http_fetch_encode_path(path);
    char *user = (cfg->user && cfg->user[0]) ? http_fetch_encode_query(cfg->user) : NULL;
    char *out = NULL;
    if (enc && (user || !(cfg->user && cfg->user[0]))) {
        size_t n = strlen(enc) + strlen(op) + (user ? strlen(user) : 0) + 48;
        out = malloc(n);
        if (out)
            snprintf(out, n, "/webhdfs/v1%s?op=%s%s%s", enc, op, user ? "&user.name=" : "",
                     user ? user : "");
    }
    free(enc);
    free(user);
    return out;
}

static char *hdfs_list_request(const http_walk_config *cfg, const char *path)
{
    return webhdfs_request(cfg, path, "LISTSTATUS");
}

static char *hdfs_blocks_request(const http_walk_config *cfg, const char *path)
{
    return webhdfs_request(cfg, path, "GETFILEBLOCKLOCATIONS");
}

static int hdfs_parse_list(json_t *root, const char *dir,
                           int (*emit)(void *ctx, const char *path, int is_dir), void *ctx,
                           char *err, size_t errlen)
{
    json_t *fss, *arr;
    int rc = http_json_object(root, "$", "FileStatuses", &fss, err, errlen);
    if (rc == 0)
        rc = http_json_array(fss, "$.FileStatuses", "FileStatus", &arr, err, errlen);
    if (rc)
        return rc;
    const char *w = "$.FileStatuses.FileStatus";
    size_t dlen = strlen(dir);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char where[80];
        snprintf(where, sizeof where, "%s[%zu]", w, i);
        json_t *st;
        const char *suffix, *type;
        rc = http_json_item_object(arr, w, i, &st, err, errlen);
        if (rc == 0)
            rc = http_json_string(st, where, "pathSuffix", &suffix, err, errlen);
        if (rc == 0)
            rc = http_json_string(st, where, "type", &type, err, errlen);
        if (rc)
            return rc;
        if (strchr(suffix, '/')) {
            snprintf(err, errlen, "%s.pathSuffix: \"%s\" contains '/'", where, suffix);
            return LOCUS_EPARSE;
        }
        int is_dir;
        if (strcmp(type, "DIRECTORY") == 0)
            is_dir = 1;
        else if (strcmp(type, "FILE") == 0)
            is_dir = 0;
        else if (strcmp(type, "SYMLINK") == 0)
            continue;
        else {
            snprintf(err, errlen, "%s.type: unknown type \"%s\" (expected FILE, DIRECTORY or SYMLINK)",
                     where, type);
            return LOCUS_EPARSE;
        }
        /* An empty suffix: the listed path is itself a file. */
        size_t n = dlen + strlen(suffix) + 2;
        char *child = malloc(n);
        if (!child) {
            snprintf(err, errlen, "out of memory");
            return LOCUS_ENOMEM;
        }
        if (!suffix[0])
            snprintf(child, n, "%s", dir);
        else
            snprintf(child, n, "%s%s%s", dir, (dlen && dir[dlen - 1] == '/') ? "" : "/", suffix);
        rc = emit(ctx, child, is_dir);
        free(child);
        if (rc)
            return rc;
    }
    return 0;
}

/* HDFS StorageType -> tier: locus_tier_parse knows RAM_DISK, SSD, DISK and
 * ARCHIVE; the two types it does not know are mapped here. */
static int storage_tier(const char *type, locus_tier *out)
{
    if (strcmp(type, "NVDIMM") == 0) {
        *out = LOCUS_TIER_MEM; /* persistent memory on the DataNode */
        return 0;
    }
    if (strcmp(type, "PROVIDED") == 0) {
        *out = LOCUS_TIER_HDD; /* external storage read through the DataNode */
        return 0;
    }
    return locus_tier_parse(type, out) == 0 ? 0 : LOCUS_EPARSE;
}

/* Optional array member: absent is fine (older NameNodes), wrong type is not. */
static int optional_array(json_t *obj, const char *where, const char *key, json_t **out,
                          char *err, size_t errlen)
{
    *out = NULL;
    if (!json_object_get(obj, key))
        return 0;
    return http_json_array(obj, where, key, out, err, errlen);
}

static int hdfs_parse_blocks(json_t *root, void *file, char *err, size_t errlen)
{
    json_t *bls, *arr;
    int rc = http_json_object(root, "$", "BlockLocations", &bls, err, errlen);
    if (rc == 0)
        rc = http_json_array(bls, "$.BlockLocations", "BlockLocation", &arr, err, errlen);
    if (rc)
        return rc;
    const char *w = "$.BlockLocations.BlockLocation";
    const char **hosts = NULL;
    locus_tier *tiers = NULL;
    for (size_t i = 0; i < json_array_size(arr) && rc == 0; i++) {
        char where[96], hw[128];
        snprintf(where, sizeof where, "%s[%zu]", w, i);
        json_t *bl, *h, *st = NULL, *ch = NULL;
        uint64_t offset, length;
        rc = http_json_item_object(arr, w, i, &bl, err, errlen);
        if (rc == 0)
            rc = http_json_u64(bl, where, "offset", &offset, err, errlen);
        if (rc == 0)
            rc = http_json_u64(bl, where, "length", &length, err, errlen);
        if (rc == 0)
            rc = http_json_array(bl, where, "hosts", &h, err, errlen);
        if (rc == 0)
            rc = optional_array(bl, where, "storageTypes", &st, err, errlen);
        if (rc == 0)
            rc = optional_array(bl, where, "cachedHosts", &ch, err, errlen);
        if (rc)
            break;
        size_t nh = json_array_size(h), nc = ch ? json_array_size(ch) : 0;
        if (st && json_array_size(st) != nh) {
            snprintf(err, errlen, "%s: %zu hosts but %zu storageTypes", where, nh,
                     json_array_size(st));
            rc = LOCUS_EPARSE;
            break;
        }
        free(hosts);
        free(tiers);
        hosts = calloc(nh + nc + 1, sizeof *hosts);
        tiers = calloc(nh + nc + 1, sizeof *tiers);
        if (!hosts || !tiers) {
            snprintf(err, errlen, "out of memory");
            rc = LOCUS_ENOMEM;
            break;
        }
        snprintf(hw, sizeof hw, "%s.hosts", where);
        for (size_t j = 0; j < nh && rc == 0; j++) {
            rc = http_json_item_string(h, hw, j, &hosts[j], err, errlen);
            tiers[j] = LOCUS_TIER_HDD;
            if (rc == 0 && st) {
                const char *type;
                char sw[128];
                snprintf(sw, sizeof sw, "%s.storageTypes", where);
                rc = http_json_item_string(st, sw, j, &type, err, errlen);
                if (rc == 0 && storage_tier(type, &tiers[j]) != 0) {
                    snprintf(err, errlen, "%s[%zu]: unknown storage type \"%s\"", sw, j, type);
                    rc = LOCUS_EPARSE;
                }
            }
        }
        snprintf(hw, sizeof hw, "%s.cachedHosts", where);
        for (size_t j = 0; j < nc && rc == 0; j++) {
            rc = http_json_item_string(ch, hw, j, &hosts[nh + j], err, errlen);
            tiers[nh + j] = LOCUS_TIER_MEM;
        }
        if (rc == 0)
            rc = http_walk_add_block(file, offset, length, hosts, tiers, nh + nc, err, errlen);
    }
    free(hosts);
    free(tiers);
    return rc;
}

const http_walk_ops http_walk_hdfs_ops = {
    .name = "hdfs",
    .default_port = 9870,
    .method = HTTP_FETCH_GET,
    .list_request = hdfs_list_request,
    .blocks_request = hdfs_blocks_request,
    .parse_list = hdfs_parse_list,
    .parse_blocks = hdfs_parse_blocks,
};

static const locus_cfg_key hdfs_keys[] = {
    HTTP_WALK_KEYS("hdfs", "http://127.0.0.1:9870"),
    {"hdfs", "user", LOCUS_CFG_STRING, offsetof(http_walk_config, user), "", 0, 0, "", NULL,
     "WebHDFS user.name sent with every request (simple authentication); empty: none."},
};

static int hdfs_create(const void *config, struct event_base *base, void **state, char *err,
                       size_t errlen)
{
    return http_walk_create(&http_walk_hdfs_ops, config, base, state, err, errlen);
}

const probe_backend_type probe_backend_hdfs = {
    .name = "hdfs",
    .keys = hdfs_keys,
    .n_keys = sizeof hdfs_keys / sizeof hdfs_keys[0],
    .config_size = sizeof(http_walk_config),
    .create = hdfs_create,
    .destroy = http_walk_destroy,
    .poll = http_walk_poll,
    .cancel = http_walk_cancel,
};
