/* Thread-count-independent BLAS products (gemm.h). */
#include "backend/cpu/gemm.h"

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Threads of the region around the blocks: with more than one OpenMP thread always an
 * active team (two at least, even for a single block), because OpenBLAS runs
 * single-threaded only inside an active parallel region; outside one it would use its own
 * threads and partition the one block by their number. */
static int team_size(int64_t blocks) {
#ifdef _OPENMP
  const int max = omp_get_max_threads();
  if (max < 2)
    return 1;
  return blocks >= max ? max : (blocks < 2 ? 2 : (int)blocks);
#else
  (void)blocks;
  return 1;
#endif
}

void aihw_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                int64_t ldc) {
  const int64_t row_blocks = (m + AIHW_GEMM_ROWS - 1) / AIHW_GEMM_ROWS;
  const int64_t col_blocks = (n + AIHW_GEMM_COLS - 1) / AIHW_GEMM_COLS;
  const int64_t blocks = row_blocks * col_blocks;
  const int team = team_size(blocks);
#pragma omp parallel for schedule(dynamic, 1) num_threads(team) if (team > 1)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t r0 = (blk / col_blocks) * AIHW_GEMM_ROWS, c0 = (blk % col_blocks) * AIHW_GEMM_COLS;
    const int64_t mb = m - r0 < AIHW_GEMM_ROWS ? m - r0 : AIHW_GEMM_ROWS;
    const int64_t nb = n - c0 < AIHW_GEMM_COLS ? n - c0 : AIHW_GEMM_COLS;
    /* rows r0.. of op(A): rows of A, or columns of A when transposed */
    const float *ab = trans_a ? a + r0 : a + r0 * lda;
    /* columns c0.. of op(B): columns of B, or rows of B when transposed */
    const float *bb = trans_b ? b + c0 * ldb : b + c0;
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)mb, (int)nb, (int)k, alpha, ab,
                (int)lda, bb, (int)ldb, beta, c + r0 * ldc + c0, (int)ldc);
  }
}

void aihw_sgemv(int trans, int64_t rows, int64_t cols, float alpha, const float *a,
                int64_t lda, const float *x, float beta, float *y) {
  const int64_t len = trans ? cols : rows; /* output length */
  const int64_t blocks = (len + AIHW_GEMM_COLS - 1) / AIHW_GEMM_COLS;
  const int team = team_size(blocks);
#pragma omp parallel for schedule(dynamic, 1) num_threads(team) if (team > 1)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t o0 = blk * AIHW_GEMM_COLS;
    const int64_t ob = len - o0 < AIHW_GEMM_COLS ? len - o0 : AIHW_GEMM_COLS;
    if (!trans) /* y[o0..] = A[o0.., :] x */
      cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)ob, (int)cols, alpha, a + o0 * lda,
                  (int)lda, x, 1, beta, y + o0, 1);
    else /* y[o0..] = A[:, o0..]^T x */
      cblas_sgemv(CblasRowMajor, CblasTrans, (int)rows, (int)ob, alpha, a + o0, (int)lda, x,
                  1, beta, y + o0, 1);
  }
}
