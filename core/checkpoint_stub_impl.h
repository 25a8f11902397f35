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

/* A run as a DIR entry names it and a stub holds it: its newest record
 * at run_pos, its first at floor (the same for a run of one record), len
 * the body bytes of its `parts` records. */
typedef struct run_desc {
    uint32_t sidx, nodes, len, parts;
    runnel_id_t first, last;
    runnel_pos_t low, high;             /* lowest / highest node first_pos */
    runnel_pos_t run_pos, floor;
    uint64_t count, live, lp;
    bool unordered;
} run_desc_t;

/* Most records a run may grow to (CKPT_NODE_RUN and its CKPT_NODE_MOREs). */
#define RUNNEL__RUN_PARTS_MAX 16u

/* The run of nodes that starts at node_order position p: the position
 * after it; its body encoded into b (NULL: measured only), *len bytes.
 * When the stub before p grows by them (run_grows), they make its next
 * part instead: the body then starts with the position of the stub's
 * newest record, and all its parts stay within stub_cap. */
uint32_t runnel__stub_next_run(const runnel_t *r, uint32_t p, uint8_t *b, size_t *len);
/* The stub the nodes from p are the next part of, or RUNNEL__NONE. */
uint32_t runnel__stub_grown_by(const runnel_t *r, uint32_t p);

/* Loaded nodes from p that came from one run: the end of them; and the
 * position of that run (RUNNEL__NO_POS if none fits). */
uint32_t runnel__stub_origin_end(const runnel_t *r, uint32_t p);
runnel_pos_t runnel__stub_origin_pos(const runnel_t *r, uint32_t lo);
/* The `parts` records of the run whose newest record is at `at`, read
 * back: d->floor, d->parts and d->len as they are on flash (uses
 * stub_buf). */
int runnel__stub_run_shape(runnel_t *r, runnel_pos_t at, uint32_t parts, run_desc_t *d);

/* A descriptor of the run [p, q) of nodes at run_pos (len body bytes),
 * or of stub n. */
void runnel__stub_desc_of_nodes(const runnel_t *r, uint32_t p, uint32_t q, runnel_pos_t run_pos,
                                size_t len, run_desc_t *d);
void runnel__stub_desc_of_stub(const struct runnel__node *n, run_desc_t *d);

/* Stub d in free slot nslot and the node order; the nodes [p, q) of a
 * run named as d give their slots back to its stub (at p after). */
void runnel__stub_place(runnel_t *r, uint32_t nslot, const run_desc_t *d);
void runnel__stub_evict(runnel_t *r, uint32_t p, uint32_t q, const run_desc_t *d);
/* The nodes [p, q) of the part just written give their slots back to the
 * stub gslot they extend, which becomes d. */
void runnel__stub_grow(runnel_t *r, uint32_t gslot, uint32_t p, uint32_t q, const run_desc_t *d);

#endif /* RUNNEL_CHECKPOINT_STUB_IMPL_H */
