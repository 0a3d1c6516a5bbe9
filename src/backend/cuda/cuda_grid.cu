/* CUDA backend: the forward pass of a layer mapped onto a grid of tiles (a LINEAR
 * module's in_splits x out_splits tiles, all on one GPU) in one call, the fused version
 * of one aihw_cuda_tile_mv per tile plus the module's partial sums.
 *
 * Every kernel of the one-tile call (cuda_mv_kernels.cuh) runs once per round for all
 * tiles together (tile = blockIdx.z, per-tile arguments in device arrays), the products
 * run as cuBLAS batched SGEMMs (one per tile shape), and the host synchronises once per
 * bound-management round for the whole layer instead of once per tile and round: it reads
 * every tile's counters together, compacts the saturated samples of the tiles that have
 * some (in sample order, as the one-tile call) and starts the next round for those tiles
 * only. A last kernel adds the tiles' outputs of each output block in input-block order
 * (r = 0, 1, ...) and the digital bias, as linear.c does on the host. Each tile keeps its
 * own Philox key (seed, tile id, op counter), so every draw is the one-tile call's.
 *
 * Limits (the caller checks them and otherwise runs the tiles one by one): non-perfect
 * forward peripheries without the AVERAGE_ABS_MAX noise management (its running average
 * needs a synchronisation per tile), all tiles on the same device.
 */
#include "backend/cuda/cuda_mv_kernels.cuh"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

namespace {

/* Output block c: y[b][out_start + i] = sum_r dst[r][c][b][i] (+ bias[out_start + i]). */
struct sum_table {
  const float *const *dst; /* [in_splits][out_splits] */
  const int64_t *out_start, *n_out; /* [out_splits] */
};

__global__ void grid_sum_kernel(sum_table t, int in_splits, int out_splits, int batch,
                                const float *bias, float *y, int64_t out) {
  const int c = blockIdx.z;
  const int64_t n = t.n_out[c], start = t.out_start[c];
  const int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (e >= (int64_t)batch * n)
    return;
  const int64_t b = e / n, i = e - b * n;
  float v = t.dst[c][e];
  for (int r = 1; r < in_splits; ++r)
    v = v + t.dst[(int64_t)r * out_splits + c][e];
  if (bias != nullptr)
    v = v + bias[start + i];
  y[b * out + start + i] = v;
}

/* The samples of tile blockIdx.x that saturated in this round (done = 0), kept in order
 * at the front of its index list (one block of 256 threads per tile; each chunk reads its
 * indices before any of its writes, which land at or below the positions read so far). */
__global__ void compact_grid(const mv_bufs *W) {
  __shared__ int warp_count[8], base;
  const mv_bufs &w = W[blockIdx.x];
  const int act = w.active;
  if (act == 0)
    return;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (threadIdx.x == 0)
    base = 0;
  __syncthreads();
  for (int c0 = 0; c0 < act; c0 += 256) {
    const int k = c0 + threadIdx.x;
    const int keep = k < act && w.done[k] == 0;
    const int v = k < act ? w.idx[k] : 0;
    const unsigned ballot = __ballot_sync(0xffffffffu, keep);
    const int before = __popc(ballot & ((1u << lane) - 1u));
    if (lane == 0)
      warp_count[warp] = __popc(ballot);
    __syncthreads();
    int off = base;
    for (int q = 0; q < warp; ++q)
      off += warp_count[q];
    if (keep)
      w.idx[off + before] = v;
    __syncthreads();
    if (threadIdx.x == 0)
      for (int q = 0; q < 8; ++q)
        base += warp_count[q];
    __syncthreads();
  }
}

} // namespace

extern "C" aihw_status aihw_cuda_grid_forward(const aihw_cuda_grid_tile *tiles,
                                              int64_t in_splits, int64_t out_splits,
                                              const float *x, int64_t batch, int64_t in,
                                              float *y, int64_t out, const float *bias) {
  const int64_t K = in_splits * out_splits;
  aihw_cuda_tile *ct0 = tiles[0].ct;
  if (batch > 0x7fffffff || K > 65535)
    return aihw_error(AIHW_ERR_INVALID_ARGUMENT, "CUDA backend: grid call too large");
  const int x_dev = aihw_cuda_backend_is_device_pointer(x),
            y_dev = aihw_cuda_backend_is_device_pointer(y);
  CU_TRY(cudaSetDevice(ct0->device), "cudaSetDevice");
  cudaStream_t st = ct0->stream;

  /* Workspace layout. */
  size_t off = 0;
  auto take = [&off](size_t bytes) {
    size_t at = off;
    off += aihw_align256(bytes);
    return at;
  };
  const size_t B = (size_t)batch;
  const size_t o_x = x_dev ? 0 : take(B * (size_t)in * 4);
  const size_t o_y = y_dev ? 0 : take(B * (size_t)out * 4);
  const size_t o_bias = bias != NULL ? take((size_t)out * 4) : 0;
  std::vector<size_t> o_tile((size_t)K);
  int64_t n_max = 0;
  for (int64_t t = 0; t < K; ++t) {
    const aihw_cuda_tile *ct = tiles[t].ct;
    n_max = ct->cols > n_max ? ct->cols : n_max;
    o_tile[(size_t)t] = take(B * (size_t)ct->cols * 4) /* u */;
    take(B * (size_t)ct->rows * 4);                      /* analog y */
    take(B * (size_t)tiles[t].n_out * 4);                /* finished y */
    take(B * 4 * 8);                                     /* 8 per-sample arrays */
    take((size_t)tiles[t].n_out * 4 * 2);                /* digital factors */
  }
  const size_t o_rounds = take((size_t)K * B * 4); /* round counts of every tile, together */
  const size_t o_args = take((size_t)K * sizeof(mv_args));
  const size_t o_bufs = take((size_t)K * sizeof(mv_bufs));
  const size_t o_info = take((size_t)K * sizeof(aihw_round_info));
  const size_t o_ptrs = take((size_t)K * 3 * sizeof(float *));
  const size_t o_sum = take((size_t)K * sizeof(float *) + (size_t)out_splits * 16);
  AIHW_TRY(aihw_dbuf_reserve(&ct0->work, off, "CUDA grid workspace"));
  char *base = (char *)ct0->work.ptr;

  const float *xd = x;
  if (!x_dev) {
    CU_TRY(cudaMemcpyAsync(base + o_x, x, B * (size_t)in * 4, cudaMemcpyHostToDevice, st),
           "input to the device");
    xd = (const float *)(base + o_x);
  }
  float *yd = y_dev ? y : (float *)(base + o_y);
  const float *bias_d = nullptr;
  if (bias != NULL) {
    CU_TRY(cudaMemcpyAsync(base + o_bias, bias, (size_t)out * 4, cudaMemcpyHostToDevice, st),
           "bias to the device");
    bias_d = (const float *)(base + o_bias);
  }

  /* Per-tile arguments (mv_run's, with the input a column block of the layer's x). */
  std::vector<mv_args> args((size_t)K);
  std::vector<mv_bufs> bufs((size_t)K);
  std::vector<aihw_round_info> info((size_t)K);
  aihw_round_info *info_d = (aihw_round_info *)(base + o_info);
  int need_sum = 0, need_norm = 0;
  for (int64_t t = 0; t < K; ++t) {
    const aihw_cuda_grid_tile &g = tiles[t];
    const aihw_periphery *p = g.p;
    const aihw_io_params *io = &p->io;
    mv_args &a = args[(size_t)t];
    memset(&a, 0, sizeof a);
    a.io = *io;
    a.nm = (int)io->noise_management;
    a.bm = (int)p->bm;
    a.inp_res = p->inp_res;
    a.out_res = p->out_res;
    a.inp_bound = p->inp_bound;
    a.out_bound = p->out_bound;
    a.nm_thres = p->nm_thres;
    a.bm_red_limit = p->bm_red_limit;
    a.nl_factor = p->nl_factor;
    a.out_noise_sigma = g.ct->fwd.out_noise_sigma;
    a.v_offset = g.ct->fwd.v_offset;
    a.nl = g.ct->fwd.nl;
    a.n = (int)g.ct->cols;
    a.m = (int)g.ct->rows;
    a.x_cols = (int)g.n_in;
    a.x_ld = (int)in;
    a.y_cols = (int)g.n_out;
    a.call_alpha = g.alpha;
    a.seed = g.seed;
    a.tile_id = g.tile_id;
    a.op = g.op;
    need_sum |= p->v_offset != NULL && io->v_offset_w_min != 0.0f;
    need_norm |= io->w_noise > 0.0f && io->w_noise_type == AIHW_W_NOISE_ADDITIVE_CONSTANT;
    char *tb = base + o_tile[(size_t)t];
    size_t at = 0;
    auto carve = [&tb, &at](size_t bytes) {
      char *p_ = tb + at;
      at += aihw_align256(bytes);
      return p_;
    };
    mv_bufs &w = bufs[(size_t)t];
    memset(&w, 0, sizeof w);
    w.x = xd + g.in_start;
    w.u = (float *)carve(B * (size_t)g.ct->cols * 4);
    w.y = (float *)carve(B * (size_t)g.ct->rows * 4);
    w.dst = (float *)carve(B * (size_t)g.n_out * 4);
    char *per = carve(B * 4 * 8);
    w.alpha = (float *)(per);
    w.red = (float *)(per + B * 4);
    w.u_sum = (float *)(per + 2 * B * 4);
    w.u_norm = (float *)(per + 3 * B * 4);
    w.skip = (int *)(per + 4 * B * 4);
    w.idx = (int *)(per + 5 * B * 4);
    w.done = (int *)(per + 6 * B * 4);
    w.rounds = g.rounds != NULL ? (int *)(base + o_rounds) + (size_t)t * B : nullptr;
    float *dig = (float *)carve((size_t)g.n_out * 4 * 2);
    if (g.out_alpha != NULL) {
      CU_TRY(cudaMemcpyAsync(dig, g.out_alpha, (size_t)g.n_out * 4, cudaMemcpyHostToDevice, st),
             "output factors to the device");
      w.out_alpha = dig;
    }
    if (g.out_scales != NULL) {
      CU_TRY(cudaMemcpyAsync(dig + g.n_out, g.out_scales, (size_t)g.n_out * 4,
                             cudaMemcpyHostToDevice, st),
             "output scales to the device");
      w.out_scales = dig + g.n_out;
    }
    w.info = info_d + t;
    w.active = (int)batch;
    info[(size_t)t].bad_index = ~0ull;
    info[(size_t)t].failed = 0;
    info[(size_t)t].nm_running = -1.0f;
  }
  mv_args *args_d = (mv_args *)(base + o_args);
  mv_bufs *bufs_d = (mv_bufs *)(base + o_bufs);
  CU_TRY(cudaMemcpyAsync(args_d, args.data(), (size_t)K * sizeof(mv_args),
                         cudaMemcpyHostToDevice, st),
         "grid arguments to the device");
  CU_TRY(cudaMemcpyAsync(bufs_d, bufs.data(), (size_t)K * sizeof(mv_bufs),
                         cudaMemcpyHostToDevice, st),
         "grid buffers to the device");
  CU_TRY(cudaMemcpyAsync(info_d, info.data(), (size_t)K * sizeof(aihw_round_info),
                         cudaMemcpyHostToDevice, st),
         "grid counters to the device");

  const unsigned Kz = (unsigned)K;
  /* AIHW_CUDA_TIMING=1: stage times of round 0, rounds and the samples each ran
   * (diagnostics, on stderr). */
  static const int timing = getenv("AIHW_CUDA_TIMING") != NULL;
  cudaEvent_t ev[6];
  if (timing) {
    for (int q = 0; q < 6; ++q)
      cudaEventCreate(&ev[q]);
    cudaEventRecord(ev[0], st);
  }
  row_stats_grid<<<dim3((unsigned)batch, 1, Kz), 128, 0, st>>>(args_d, bufs_d);
  skip_grid<<<dim3(aihw_blocks_for(batch, 256), 1, Kz), 256, 0, st>>>(args_d, bufs_d,
                                                                     (int)batch);

  char trace[256] = "";
  size_t trace_len = 0;
  const float **ptrs_d = (const float **)(base + o_ptrs);
  std::vector<int> active((size_t)K, (int)batch);
  for (uint32_t round = 0;; ++round) {
    int active_max = 0;
    long active_sum = 0;
    for (int v : active) {
      active_max = v > active_max ? v : active_max;
      active_sum += v;
    }
    if (active_max == 0)
      break;
    if (timing && trace_len + 24 < sizeof trace)
      trace_len += (size_t)snprintf(trace + trace_len, sizeof trace - trace_len, " %ld", active_sum);
    if (round > 0)
      next_round_grid<<<dim3(aihw_blocks_for(active_max, 128), 1, Kz), 128, 0, st>>>(
          args_d, bufs_d, round);
    if (timing && round == 0)
      cudaEventRecord(ev[1], st);
    prepare_grid<<<dim3(aihw_blocks_for((n_max + 3) / 4, 128), (unsigned)active_max, Kz), 128,
                   0, st>>>(args_d, bufs_d, round);
    if (need_sum || need_norm)
      input_sums_grid<<<dim3(aihw_blocks_for(active_max, 128), 1, Kz), 128, 0, st>>>(
          args_d, bufs_d, need_sum, need_norm);
    if (timing && round == 0)
      cudaEventRecord(ev[2], st);
    /* Batched products, one per tile shape, over the largest active count of the shape
     * (rows past a tile's own count are never read). */
    std::map<std::pair<int64_t, int64_t>, std::vector<int64_t>> shapes;
    for (int64_t t = 0; t < K; ++t)
      if (active[(size_t)t] > 0)
        shapes[{tiles[t].ct->rows, tiles[t].ct->cols}].push_back(t);
    std::vector<const float *> host_ptrs;
    host_ptrs.reserve((size_t)K * 3);
    for (auto &sh : shapes)
      for (int part = 0; part < 3; ++part)
        for (int64_t t : sh.second)
          host_ptrs.push_back(part == 0 ? tiles[t].ct->w
                                        : part == 1 ? bufs[(size_t)t].u : bufs[(size_t)t].y);
    CU_TRY(cudaMemcpyAsync(ptrs_d, host_ptrs.data(), host_ptrs.size() * sizeof(float *),
                           cudaMemcpyHostToDevice, st),
           "product pointers to the device");
    size_t at = 0;
    for (auto &sh : shapes) {
      const int rows = (int)sh.first.first, cols = (int)sh.first.second;
      const int count = (int)sh.second.size();
      int act = 0;
      for (int64_t t : sh.second)
        act = active[(size_t)t] > act ? active[(size_t)t] : act;
      const float one = 1.0f, zero = 0.0f;
      CUBLAS_TRY(cublasSgemmBatched(ct0->blas, CUBLAS_OP_T, CUBLAS_OP_N, rows, act, cols, &one,
                                    ptrs_d + at, cols, ptrs_d + at + count, cols, &zero,
                                    (float *const *)(ptrs_d + at + 2 * count), rows, count),
                 "cublasSgemmBatched (grid forward)");
      at += 3 * (size_t)count;
    }
    if (timing && round == 0)
      cudaEventRecord(ev[3], st);
    epilogue_grid<<<dim3((unsigned)active_max, 1, Kz), 128, 0, st>>>(args_d, bufs_d, round);
    if (timing && round == 0)
      cudaEventRecord(ev[4], st);
    CU_TRY(cudaMemcpyAsync(info.data(), info_d, (size_t)K * sizeof(aihw_round_info),
                           cudaMemcpyDeviceToHost, st),
           "grid counters to the host");
    CU_TRY(cudaStreamSynchronize(st), "grid round");
    if (round == 0)
      for (int64_t t = 0; t < K; ++t)
        if (info[(size_t)t].bad_index != ~0ull) {
          const unsigned long long e = info[(size_t)t].bad_index;
          const unsigned long long b = e / (unsigned long long)in,
                                   j = e % (unsigned long long)in + (unsigned long long)tiles[t].in_start;
          float v = 0.0f;
          cudaMemcpy(&v, xd + b * (unsigned long long)in + j, sizeof v, cudaMemcpyDeviceToHost);
          return aihw_error(AIHW_ERR_NOT_FINITE, "x[%llu][%llu] is %g; inputs must be finite",
                            b, j, (double)v);
        }
    /* Saturated samples stay, compacted on the device; their number is the counter. */
    int any = 0;
    for (int64_t t = 0; t < K; ++t) {
      const int next = active[(size_t)t] > 0 ? info[(size_t)t].failed : 0;
      if (next == 0)
        active[(size_t)t] = bufs[(size_t)t].active = 0;
      any |= next > 0;
    }
    if (any)
      compact_grid<<<Kz, 256, 0, st>>>(bufs_d); /* reads this round's active counts */
    for (int64_t t = 0; t < K; ++t)
      if (active[(size_t)t] > 0) {
        active[(size_t)t] = bufs[(size_t)t].active = info[(size_t)t].failed;
        info[(size_t)t].failed = 0;
      }
    if (!any)
      break;
    CU_TRY(cudaMemcpyAsync(bufs_d, bufs.data(), (size_t)K * sizeof(mv_bufs),
                           cudaMemcpyHostToDevice, st),
           "grid buffers to the device");
    CU_TRY(cudaMemcpyAsync(info_d, info.data(), (size_t)K * sizeof(aihw_round_info),
                           cudaMemcpyHostToDevice, st),
           "grid counters to the device");
  }

  /* Partial sums of the output blocks, in input-block order, and the digital bias. */
  char *sb = base + o_sum;
  const float **dst_d = (const float **)sb;
  std::vector<const float *> dsts((size_t)K);
  std::vector<int64_t> tabs((size_t)(2 * out_splits));
  for (int64_t t = 0; t < K; ++t)
    dsts[(size_t)t] = bufs[(size_t)t].dst;
  for (int64_t c = 0; c < out_splits; ++c) {
    tabs[(size_t)c] = tiles[c].out_start;
    tabs[(size_t)(out_splits + c)] = tiles[c].n_out;
  }
  int64_t *tab_d = (int64_t *)(sb + (size_t)K * sizeof(float *));
  CU_TRY(cudaMemcpyAsync(dst_d, dsts.data(), (size_t)K * sizeof(float *), cudaMemcpyHostToDevice,
                         st),
         "grid output pointers to the device");
  CU_TRY(cudaMemcpyAsync(tab_d, tabs.data(), tabs.size() * sizeof(int64_t),
                         cudaMemcpyHostToDevice, st),
         "grid output blocks to the device");
  int64_t n_out_max = 0;
  for (int64_t c = 0; c < out_splits; ++c)
    n_out_max = tiles[c].n_out > n_out_max ? tiles[c].n_out : n_out_max;
  sum_table table = {dst_d, tab_d, tab_d + out_splits};
  grid_sum_kernel<<<dim3(aihw_blocks_for(batch * n_out_max, 256), 1, (unsigned)out_splits), 256,
                    0, st>>>(table, (int)in_splits, (int)out_splits, (int)batch, bias_d, yd,
                             out);
  std::vector<int> rounds_all;
  int any_rounds = 0;
  for (int64_t t = 0; t < K; ++t)
    any_rounds |= tiles[t].rounds != NULL;
  if (any_rounds) {
    rounds_all.resize((size_t)K * B);
    CU_TRY(cudaMemcpyAsync(rounds_all.data(), base + o_rounds, (size_t)K * B * 4,
                           cudaMemcpyDeviceToHost, st),
           "round counts to the host");
  }
  if (!y_dev)
    CU_TRY(cudaMemcpyAsync(y, yd, B * (size_t)out * 4, cudaMemcpyDeviceToHost, st),
           "output to the host");
  CU_TRY(cudaStreamSynchronize(st), "grid forward");
  for (int64_t t = 0; t < K; ++t)
    if (tiles[t].rounds != NULL)
      memcpy(tiles[t].rounds, rounds_all.data() + (size_t)t * B, B * 4);
  CU_TRY(cudaGetLastError(), "grid kernels");
  if (timing) {
    cudaEventRecord(ev[5], st);
    cudaEventSynchronize(ev[5]);
    float ms[5];
    for (int q = 0; q < 5; ++q)
      cudaEventElapsedTime(&ms[q], ev[q], ev[q + 1]);
    fprintf(stderr, "cuda grid %lldx%lld tiles, batch %lld: samples per round:%s; round 0: "
            "stats %.3f, inputs %.3f, products %.3f, outputs %.3f ms; the rest %.3f ms\n",
            (long long)in_splits, (long long)out_splits, (long long)batch, trace,
            (double)ms[0], (double)ms[1], (double)ms[2], (double)ms[3], (double)ms[4]);
    for (int q = 0; q < 6; ++q)
      cudaEventDestroy(ev[q]);
  }
  return AIHW_OK;
}
