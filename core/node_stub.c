/*
 * node_stub.c - where the engine needs a stub's nodes, it asks for them
 * here: a stub (struct runnel__node, checkpoint_stub.c) is a run of a
 * stream's nodes that mount left on flash. Loading one is the durable
 * store's business (runnel_durability.stub_load); a store that was never
 * mounted has no stub, and a program without durability links none of it.
 */
#include "store.h"

bool runnel__nodes_full(const runnel_t *r)
{
    return (uint64_t)r->nodes_used + r->stub_extra >= r->nodes_cap;
}

int runnel__stub_load(runnel_t *r, uint32_t nslot)
{
    if (!r->nodes[nslot].stub)
        return 0;
    if (r->hooks.stub_load == NULL)
        return RUNNEL_ERR_CORRUPT;      /* cannot be: only mount makes stubs */
    return r->hooks.stub_load(r, nslot);
}

int runnel__stubs_load_below(runnel_t *r, runnel_pos_t end)
{
    uint32_t p = 0;
    int err;

    if (r->stubs == 0)
        return 0;
    while (p < r->nodes_used) {
        const struct runnel__node *n = &r->nodes[r->node_order[p]];

        if (n->stub && n->first_pos < end) {
            err = runnel__stub_load(r, r->node_order[p]);
            if (err < 0)
                return err;
            continue;       /* its first node is at p now */
        }
        p++;
    }
    return 0;
}

int runnel__stubs_load_head(runnel_t *r, uint32_t sidx, uint32_t n)
{
    uint32_t lo, hi, p;
    int err;

    if (r->stubs == 0)
        return 0;
    runnel__stream_nodes(r, sidx, &lo, &hi);
    for (p = lo; p < hi && p - lo < n; p++) {
        if (!r->nodes[r->node_order[p]].stub)
            continue;
        err = runnel__stub_load_walk(r, sidx, &p, &lo, &hi);
        if (err < 0)
            return err;
    }
    return 0;
}

int runnel__stub_load_walk(runnel_t *r, uint32_t sidx, uint32_t *p, uint32_t *lo,
                           uint32_t *hi)
{
    int err = runnel__stub_load(r, r->node_order[*p]);

    if (err < 0)
        return err;
    runnel__stream_nodes(r, sidx, lo, hi);
    (*p)--;     /* the walk's next step comes back to *p: its first node */
    return 0;
}

int runnel__stubs_load_all(runnel_t *r)
{
    return runnel__stubs_load_below(r, RUNNEL__NO_POS);
}

int runnel__stub_tail(runnel_t *r, uint32_t sidx)
{
    uint32_t t = r->streams[sidx].tail_node;

    return t != RUNNEL__NONE && r->nodes[t].stub ? runnel__stub_load(r, t) : 0;
}
