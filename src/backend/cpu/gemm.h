/* Matrix products of the CPU backend that give the same bits for any number of threads.
 *
 * OpenBLAS computes an element of C in an order that depends on how it partitions the
 * product, and it partitions by the number of threads: 1 and 2 threads give different
 * bits (measured here with OpenBLAS 0.3.21 for every shape the tiles use). These
 * wrappers fix the partition instead: C is cut into blocks of at most AIHW_GEMM_ROWS x
 * AIHW_GEMM_COLS (a function of the shape only), the blocks are distributed over OpenMP
 * threads, and each block is one single-threaded BLAS call (OpenBLAS runs single-threaded
 * inside an active parallel region, so with two or more OpenMP threads a product of one
 * block runs in a team of two as well). With one OpenMP thread the blocks run as plain
 * calls: OpenBLAS must then have one thread too (the aihw command sets both). Row-major,
 * CBLAS conventions. */
#ifndef AIHW_BACKEND_CPU_GEMM_H
#define AIHW_BACKEND_CPU_GEMM_H

#include <stdint.h>

#define AIHW_GEMM_ROWS 128
#define AIHW_GEMM_COLS 128

/* C[m][n] = alpha op(A) op(B) + beta C with op(A) m x k, op(B) k x n. */
void aihw_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                int64_t ldc);

/* y[len] = alpha op(A) x + beta y with A rows x cols (op = transpose if trans). */
void aihw_sgemv(int trans, int64_t rows, int64_t cols, float alpha, const float *a,
                int64_t lda, const float *x, float beta, float *y);

#endif
