/* Redis Cluster key slots: CRC16 (XMODEM) of the key, or of its first
 * non-empty {hash tag}, modulo 16384 -- the routing rule of the Redis Cluster
 * specification. The probe itself scans whole nodes and needs no routing; the
 * slot function serves loaders (tests, benchmarks) that send each key straight
 * to its master, and the topology checks that slot numbers are in range. */
#ifndef LOCUS_PROBE_BACKEND_REDIS_SLOT_H
#define LOCUS_PROBE_BACKEND_REDIS_SLOT_H

#include <stddef.h>
#include <stdint.h>

#define PROBE_REDIS_SLOTS 16384

/* CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0). */
uint16_t probe_redis_crc16(const char *buf, size_t len);

/* The cluster slot (0..16383) of a key of len bytes. */
unsigned probe_redis_key_slot(const char *key, size_t len);

#endif
