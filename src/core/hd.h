/* AIHW_HD marks functions compiled for both host and device: plain `static inline` for
 * the C compilers, `__host__ __device__` under nvcc (DESIGN.md §4 rule 1). */
#ifndef AIHW_CORE_HD_H
#define AIHW_CORE_HD_H

#if defined(__CUDACC__)
#define AIHW_HD __host__ __device__ __forceinline__
#else
#define AIHW_HD
#endif

#endif
