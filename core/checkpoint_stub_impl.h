/*
 * checkpoint_stub_impl.h - the seam between the two files of node runs:
 *
 *   checkpoint_stub.c  which nodes a checkpoint keeps in its body and which
 *                      in runs, writing the runs, the stubs that stand for
 *                      them in RAM and loading one (its run read back);
 *   checkpoint_dir.c   the directory that names the runs: CKPT_NODE_DIR
 *                      entries written and read, and the older directory
 *                      records a checkpoint names again (CKPT_DIR_REF).
 *
 * The directory calls into the runs' file, never the other way.
 */
#ifndef RUNNEL_CHECKPOINT_STUB_IMPL_H
#define RUNNEL_CHECKPOINT_STUB_IMPL_H

#include "store.h"

/* A run as a DIR entry names it and a stub holds it. */
typedef struct run_desc {
    uint32_t sidx, nodes, len;
    runnel_id_t first, last;
    runnel_pos_t low, high, run_pos;    /* lowest / highest node first_pos */
    uint64_t count, live, lp;
    bool unordered;
} run_desc_t;

/* The run of nodes that starts at node_order position p: the position
 * after it; its body encoded into b (NULL: measured only), *len bytes. */
uint32_t runnel__stub_next_run(const runnel_t *r, uint32_t p, uint8_t *b, size_t *len);

/* Loaded nodes from p that came from one run: the end of them; and the
 * position of that run (RUNNEL__NO_POS if none fits). */
uint32_t runnel__stub_origin_end(const runnel_t *r, uint32_t p);
runnel_pos_t runnel__stub_origin_pos(const runnel_t *r, uint32_t lo);

/* A descriptor of the run [p, q) of nodes at run_pos (len body bytes),
 * or of stub n. */
void runnel__stub_desc_of_nodes(const runnel_t *r, uint32_t p, uint32_t q, runnel_pos_t run_pos,
                                size_t len, run_desc_t *d);
void runnel__stub_desc_of_stub(const struct runnel__node *n, run_desc_t *d);

/* Stub d in free slot nslot and the node order; the nodes [p, q) of a
 * run named as d give their slots back to its stub (at p after). */
void runnel__stub_place(runnel_t *r, uint32_t nslot, const run_desc_t *d);
void runnel__stub_evict(runnel_t *r, uint32_t p, uint32_t q, const run_desc_t *d);

#endif /* RUNNEL_CHECKPOINT_STUB_IMPL_H */
