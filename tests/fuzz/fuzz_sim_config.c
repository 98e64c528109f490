/* Fuzz target: locus-sim's config file (sim_config_load: the shared parser
 * over the simulator's key table, then the hardware profile filling the
 * network values left at 0), on arbitrary contents. A failed load must leave
 * the previous config exactly as it was and say why; a loaded one must be a
 * config the replay can use (every network rate positive, at least one rack,
 * no more racks than agents). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "simconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_scratch_file(data, size);
    if (!path)
        return 0;
    sim_config cfg;
    memset(&cfg, 0, sizeof cfg);
    char err[512] = "";
    if (sim_config_load(&cfg, NULL, NULL, 0, err, sizeof err) != 0)
        abort(); /* the defaults always load */
    sim_config before = cfg;
    err[0] = '\0';
    int rc = sim_config_load(&cfg, path, NULL, 0, err, sizeof err);
    if (rc) {
        if (memcmp(&before, &cfg, sizeof cfg) != 0 || !err[0])
            abort(); /* all-or-nothing, with a message */
    } else {
        if (!(cfg.nic_gbps > 0 && cfg.hdd_stream_mbps > 0 && cfg.hdd_agent_mbps > 0 &&
              cfg.mem_mbps > 0 && cfg.mem_agent_mbps > 0 && cfg.oversubscription >= 1))
            abort(); /* the profile fills every rate left at 0 */
        uint32_t racks = sim_config_racks(&cfg);
        if (racks < 1 || (int64_t)racks > cfg.agents)
            abort();
    }
    locus_cfg_free(sim_config_keys, sim_config_n_keys, &cfg);
    return 0;
}
