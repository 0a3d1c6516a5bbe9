/* The CUDA entry points on any machine: without a GPU (or without CUDA in the build)
 * moving a tile fails cleanly and changes nothing; bad arguments are refused either way.
 * The CPU/GPU comparisons live in tests/parity/test_cuda_parity.c. */
#include "aihw/aihw.h"
#include "test_util.h"

static aihw_tile *small_tile(void) {
  aihw_tile_config c = aihw_tile_config_default(AIHW_TILE_ANALOG);
  aihw_tile *t = NULL;
  CHECK_OK(aihw_tile_create(&c, 3, 5, &t));
  return t;
}

static void host_tile_reports_host_device(void) {
  aihw_tile *t = small_tile();
  CHECK(aihw_tile_device(t) == -1);
  CHECK(aihw_tile_device(NULL) == -1);
  CHECK_OK(aihw_tile_to_host(t)); /* no-op on a host tile */
  CHECK(aihw_tile_device(t) == -1);
  aihw_tile_destroy(t);
}

static void null_tile_is_refused(void) {
  CHECK_STATUS(aihw_tile_to_cuda(NULL, 0), AIHW_ERR_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("tile is NULL");
  CHECK_STATUS(aihw_tile_to_host(NULL), AIHW_ERR_INVALID_ARGUMENT);
}

/* With no device the move is UNSUPPORTED and says why; with devices an out-of-range
 * index is INVALID_ARGUMENT naming the range. The tile stays on the host and keeps
 * working either way. */
static void failed_move_leaves_tile_on_host(void) {
  aihw_tile *t = small_tile();
  const int count = aihw_cuda_device_count();
  CHECK(count >= 0);
  if (count == 0) {
    CHECK_STATUS(aihw_tile_to_cuda(t, 0), AIHW_ERR_UNSUPPORTED);
    CHECK(strstr(aihw_last_error(), "CUDA") != NULL);
  } else {
    CHECK_STATUS(aihw_tile_to_cuda(t, count), AIHW_ERR_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("device");
  }
  CHECK_STATUS(aihw_tile_to_cuda(t, -1), count == 0 ? AIHW_ERR_UNSUPPORTED
                                                    : AIHW_ERR_INVALID_ARGUMENT);
  CHECK(aihw_tile_device(t) == -1);
  const float x[5] = {0.1f, -0.2f, 0.3f, 0.0f, 0.5f};
  float y[3];
  CHECK_OK(aihw_tile_forward(t, x, 1, 5, y, 3));
  CHECK_OK(aihw_tile_decay_weights(t, 1.0f)); /* host-only calls still work */
  aihw_tile_destroy(t);
}

TEST_MAIN(TEST(host_tile_reports_host_device), TEST(null_tile_is_refused),
          TEST(failed_move_leaves_tile_on_host))
