/* The Alluxio backend of locus-probe: block locations from an Alluxio 2.x
 * REST proxy (default port 39999).
 *
 * Requests, as the proxy's PathsRestServiceHandler defines them and the
 * Alluxio Python client sends them (POST, JSON options body "{}", the
 * Alluxio path inserted whole, hence the "//"):
 *   POST /api/v1/paths//<dir>/list-status  -> JSON array of URIStatus
 *   POST /api/v1/paths//<file>/get-status  -> one URIStatus
 * A URIStatus is the JSON form of alluxio.wire.FileInfo: "path", "folder",
 * and "fileBlockInfos"[] = { "offset", "blockInfo": { "length",
 * "locations"[] = { "workerAddress": { "host" }, "tierAlias" } } }.
 * Tier aliases MEM, SSD and HDD (Alluxio's default tiers) map to the tiers of
 * the same names (locus_tier_parse); any other alias fails the poll, since
 * guessing a tier would rank agents wrongly.
 *
 * The crawl, concurrency and failure handling are shared with the HDFS
 * backend (http_walk.h); this file is only the protocol.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_walk.h"
#include "locus/error.h"

static char *paths_request(const char *path, const char *action)
{
    char *enc = http_fetch_encode_path(path);
    if (!enc)
        return NULL;
    size_t n = strlen(enc) + strlen(action) + 32;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "/api/v1/paths/%s/%s", enc, action);
    free(enc);
    return out;
}

static char *alluxio_list_request(const http_walk_config *cfg, const char *path)
{
    (void)cfg;
    return paths_request(path, "list-status");
}

static char *alluxio_blocks_request(const http_walk_config *cfg, const char *path)
{
    (void)cfg;
    return paths_request(path, "get-status");
}

static int alluxio_parse_list(json_t *root, const char *dir,
                              int (*emit)(void *ctx, const char *path, int is_dir), void *ctx,
                              char *err, size_t errlen)
{
    (void)dir;
    if (!json_is_array(root)) {
        snprintf(err, errlen, "$: expected an array of URIStatus");
        return LOCUS_EPARSE;
    }
    for (size_t i = 0; i < json_array_size(root); i++) {
        char where[48];
        snprintf(where, sizeof where, "$[%zu]", i);
        json_t *st;
        const char *path;
        int folder;
        int rc = http_json_item_object(root, "$", i, &st, err, errlen);
        if (rc == 0)
            rc = http_json_string(st, where, "path", &path, err, errlen);
        if (rc == 0)
            rc = http_json_bool(st, where, "folder", &folder, err, errlen);
        if (rc == 0)
            rc = emit(ctx, path, folder);
        if (rc)
            return rc;
    }
    return 0;
}

static int alluxio_parse_blocks(json_t *root, void *file, char *err, size_t errlen)
{
    json_t *fbis;
    int rc = http_json_array(root, "$", "fileBlockInfos", &fbis, err, errlen);
    if (rc)
        return rc;
    const char **hosts = NULL;
    locus_tier *tiers = NULL;
    for (size_t i = 0; i < json_array_size(fbis) && rc == 0; i++) {
        char where[64], bwhere[96], lwhere[128];
        snprintf(where, sizeof where, "$.fileBlockInfos[%zu]", i);
        snprintf(bwhere, sizeof bwhere, "%s.blockInfo", where);
        snprintf(lwhere, sizeof lwhere, "%s.locations", bwhere);
        json_t *fbi, *bi, *locs;
        uint64_t offset, length;
        rc = http_json_item_object(fbis, "$.fileBlockInfos", i, &fbi, err, errlen);
        if (rc == 0)
            rc = http_json_u64(fbi, where, "offset", &offset, err, errlen);
        if (rc == 0)
            rc = http_json_object(fbi, where, "blockInfo", &bi, err, errlen);
        if (rc == 0)
            rc = http_json_u64(bi, bwhere, "length", &length, err, errlen);
        if (rc == 0)
            rc = http_json_array(bi, bwhere, "locations", &locs, err, errlen);
        if (rc)
            break;
        size_t n = json_array_size(locs);
        free(hosts);
        free(tiers);
        hosts = calloc(n ? n : 1, sizeof *hosts);
        tiers = calloc(n ? n : 1, sizeof *tiers);
        if (!hosts || !tiers) {
            snprintf(err, errlen, "out of memory");
            rc = LOCUS_ENOMEM;
            break;
        }
        for (size_t j = 0; j < n && rc == 0; j++) {
            char iwhere[160], awhere[192];
            snprintf(iwhere, sizeof iwhere, "%s[%zu]", lwhere, j);
            snprintf(awhere, sizeof awhere, "%s.workerAddress", iwhere);
            json_t *loc, *addr;
            const char *alias;
            rc = http_json_item_object(locs, lwhere, j, &loc, err, errlen);
            if (rc == 0)
                rc = http_json_object(loc, iwhere, "workerAddress", &addr, err, errlen);
            if (rc == 0)
                rc = http_json_string(addr, awhere, "host", &hosts[j], err, errlen);
            if (rc == 0)
                rc = http_json_string(loc, iwhere, "tierAlias", &alias, err, errlen);
            if (rc == 0 && locus_tier_parse(alias, &tiers[j]) != 0) {
                snprintf(err, errlen, "%s.tierAlias: unknown tier alias \"%s\" (expected MEM, SSD or HDD)",
                         iwhere, alias);
                rc = LOCUS_EPARSE;
            }
        }
        if (rc == 0)
            rc = http_walk_add_block(file, offset, length, hosts, tiers, n, err, errlen);
    }
    free(hosts);
    free(tiers);
    return rc;
}

const http_walk_ops http_walk_alluxio_ops = {
    .name = "alluxio",
    .default_port = 39999,
    .method = HTTP_FETCH_POST,
    .list_request = alluxio_list_request,
    .blocks_request = alluxio_blocks_request,
    .parse_list = alluxio_parse_list,
    .parse_blocks = alluxio_parse_blocks,
};

static const locus_cfg_key alluxio_keys[] = {
    HTTP_WALK_KEYS("alluxio", "http://127.0.0.1:39999"),
};

static int alluxio_create(const void *config, struct event_base *base, void **state, char *err,
                          size_t errlen)
{
    return http_walk_create(&http_walk_alluxio_ops, config, base, state, err, errlen);
}

const probe_backend_type probe_backend_alluxio = {
    .name = "alluxio",
    .keys = alluxio_keys,
    .n_keys = sizeof alluxio_keys / sizeof alluxio_keys[0],
    .config_size = sizeof(http_walk_config),
    .create = alluxio_create,
    .destroy = http_walk_destroy,
    .poll = http_walk_poll,
    .cancel = http_walk_cancel,
};
