/* AIHW_HD marks functions compiled for both host and device: plain `static inline` for
 * the C compilers, `__host__ __device__` under nvcc (DESIGN.md §4 rule 1). */
#ifndef AIHW_CORE_HD_H
#define AIHW_CORE_HD_H

#if defined(__CUDACC__)
/* Every use is `AIHW_HD static inline ...`: the inline is already there (a second one is
 * a duplicate specifier in C++), and nvcc inlines small device functions by itself. */
#define AIHW_HD __host__ __device__
#else
#define AIHW_HD
#endif

#endif
