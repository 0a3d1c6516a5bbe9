/* The tile object (opaque in the public API) and internal hooks for tests. */
#ifndef AIHW_TILE_INTERNAL_H
#define AIHW_TILE_INTERNAL_H

#include "aihw/tile.h"
#include "tile/periphery.h"

struct aihw_tile {
  aihw_tile_config config; /* validated copy */
  int64_t out_size, in_size, cols; /* cols = in_size (+1 with analog bias) */
  float *weights;          /* [out_size][cols] */
  float *weights_abs;      /* |weights|, kept current when a periphery needs it, or NULL */
  float forward_alpha, backward_alpha;
  uint64_t op_counter;     /* next operation's position in the random streams */
  aihw_periphery forward, backward;
  aihw_workspace workspace;
  int *last_rounds;        /* analog passes per sample of the last forward (diagnostics) */
  int64_t last_rounds_capacity;
};

/* Number of analog passes each sample of the last forward() needed (bound management),
 * 0 for samples answered with zeros; NULL before the first forward. Length = that
 * forward's batch. For tests and diagnostics. */
const int *aihw_tile_last_forward_rounds(const aihw_tile *tile);

/* Largest op counter a tile accepts (48 bits, see core/philox.h). */
#define AIHW_TILE_MAX_OP_COUNTER ((UINT64_C(1) << 48) - 1)

#endif
