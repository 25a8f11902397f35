/*
 * group_usage.c - what one key costs runnel: MEMORY USAGE.
 *
 * It counts a stream and its groups, so it sits in the group layer (the
 * lowest that may see both; tools/check-layers.sh).
 *
 * Redis answers MEMORY USAGE with the bytes its allocator holds for the
 * key. runnel's costs are of two kinds, and the answer is their sum:
 *   RAM   the index entries the key occupies in the arena's pools: its
 *         stream slot (with the name, hash and tail-cache room every slot
 *         has), one node slot per node (with its deletion bitmap and order
 *         entries), one group slot per group, one consumer slot per
 *         consumer, one PEL slot per pending entry, each with its name and
 *         order entry. These are exact: sizeof of the slots, nothing else.
 *   store the bytes the key's live nodes take in the log: for each node
 *         the listpack-model bytes XADD keeps (node.lp_rest: the entries'
 *         field/value/ID encodings as Redis's listpack counts them, which
 *         is how runnel stores a node's entries) plus the 6-byte record
 *         header of each entry. Group records (deliveries, acks) are not
 *         counted: the log reclaims them with their blocks.
 * Every node's size is in RAM, so the sum is exact over all nodes; the
 * SAMPLES argument Redis uses to estimate is accepted and not needed.
 */
#include <string.h>

#include "group_impl.h"
#include "internal.h"
#include "store.h"

#define ENTRY_RECORD_HEADER 6u   /* FORMAT.md: type, length, CRC of a record */

int runnel_key_usage(runnel_t *r, runnel_str_t key, runnel_key_usage_t *out)
{
    uint32_t sidx, lo, hi, i;

    if (r == NULL || out == NULL)
        return RUNNEL_ERR_INVAL;
    memset(out, 0, sizeof *out);
    runnel__lock(r);
    if (runnel__lookup(r, key, &sidx) < 0) {
        runnel__unlock(r);
        return RUNNEL_ERR_NO_SUCH_KEY;
    }
    const struct runnel_groups *g = &r->groups;
    /* The stream slot: struct, name, two hash slots (the table is kept at
     * most half full), the tail link cache and the tail names cache. */
    uint64_t ram = sizeof(struct runnel__stream) + r->cfg.name_max + 2u * sizeof(uint32_t) +
                   (uint64_t)r->link_levels * sizeof(runnel_pos_t) + r->names_cap;
    uint64_t store = 0;
    runnel__stream_nodes(r, sidx, &lo, &hi);
    for (i = lo; i < hi; i++) {
        const struct runnel__node *n = &r->nodes[r->node_order[i]];
        /* a stub (checkpoint_stub.c) holds the sums of its run's nodes */
        ram += (uint64_t)RUNNEL__NODE_KEYS(n) * (sizeof(*n) + r->bitmap_bytes + 2u * sizeof(uint32_t));
        store += (uint64_t)n->lp_rest + (uint64_t)n->count * ENTRY_RECORD_HEADER;
    }
    uint32_t gfirst, ngroups = grp_stream_range(g, sidx, &gfirst);
    for (i = 0; i < ngroups; i++) {
        uint32_t gslot = g->group_order[gfirst + i];
        uint32_t cfirst, nconsumers = grp_consumer_range(g, gslot, &cfirst);
        uint32_t npel = grp_pel_end(g, gslot) - grp_pel_lower(g, gslot, RUNNEL_ID_MIN);
        ram += sizeof(struct runnel__group) + g->name_max + sizeof(uint32_t);
        ram += (uint64_t)nconsumers * (sizeof(struct runnel__consumer) + g->name_max +
                                       sizeof(uint32_t));
        ram += (uint64_t)npel * (sizeof(struct runnel__nack) + 2u * sizeof(uint32_t));
        (void)cfirst;
    }
    out->ram_bytes = ram;
    out->store_bytes = store;
    runnel__unlock(r);
    return 0;
}
