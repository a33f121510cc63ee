/*
 * bigplan CPU kernels: sparse matrix times a block of plans, and the fused
 * block updates of the batched Krylov solver.
 *
 * Plain C with no Python API: bigplan/cpu.py loads the shared library with
 * ctypes, which releases the GIL during each call, and runs one call per row
 * slice in a thread pool.  Blocks are row-major (n, k) arrays, so each
 * non-zero A[i, j] touches k contiguous numbers of row j of X: one pass over
 * the matrix serves every plan.  Coefficients may be float64 or float32 (read
 * half the bytes, accumulate in float64), indices int32 or int64; blocks may
 * be float32 too (the inner solves of mixed-precision refinement).
 *
 * The rows of X that a product gathers lie anywhere in memory, so each one is
 * a cache miss; the product kernels prefetch the rows needed PF non-zeros
 * ahead (PF1 for one plan), which keeps many misses in flight at once and
 * roughly doubles the speed of a 64-plan product on a 2-core Xeon.
 *
 * Every function works on rows [r0, r1) and writes only those rows of its
 * output, so row slices can run concurrently.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The version of these functions' names and arguments.  bigplan/_kernel_sigs.py
 * declares them for ctypes from one table and refuses a build whose version
 * differs: bump both together whenever a signature changes.
 */
#define BIGPLAN_ABI_VERSION 2
int64_t bigplan_abi_version(void) { return BIGPLAN_ABI_VERSION; }

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(BIGPLAN_NO_CLONES)
#define BIGPLAN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define BIGPLAN_CLONES
#endif

#define KTILE 64
#ifndef PF
#define PF 16 /* non-zeros ahead whose rows of X are prefetched, for a block of plans */
#endif
#ifndef PF1
#define PF1 32 /* the same for one plan */
#endif

/*
 * Every kernel exists for float64 blocks (no suffix, or "_d_"/"_f_" naming the
 * coefficient type) and for float32 blocks ("_s", or "_ff_": float32
 * coefficients and blocks, the inner solves of mixed-precision refinement).
 * Column sums over rows (dot products) always accumulate in float64.
 */

/*
 * Row i of A X for the columns [c0, c0 + W) of a tile, into acc (AT acc[KTILE]);
 * the rows of X needed PF non-zeros ahead are prefetched.  ROW_TIMES_BLOCK
 * dispatches on the tile width kc so that the usual widths are compile-time
 * constants: the column loop is then fully unrolled into vector registers,
 * which matters most for narrow blocks (a few plans), where a loop of unknown
 * length would cost more than the memory access it wraps.
 */
#define ROW_W(AT, XT, W)                                                                          \
    for (int64_t c = 0; c < (W); ++c) acc[c] = 0;                                                 \
    for (int64_t jj = (int64_t)indptr[i], end = (int64_t)indptr[i + 1]; jj < end; ++jj) {         \
        if (jj + PF < nnz_end) {                                                                  \
            const char *pf = (const char *)(X + (int64_t)indices[jj + PF] * k + c0);              \
            for (int64_t b = 0; b < (int64_t)((W) * sizeof(XT)); b += 64) __builtin_prefetch(pf + b, 0, 3); \
        }                                                                                         \
        const AT a = (AT)data[jj];                                                                \
        const XT *restrict xr = X + (int64_t)indices[jj] * k + c0;                                \
        for (int64_t c = 0; c < (W); ++c) acc[c] += a * xr[c];                                    \
    }

#define ROW_TIMES_BLOCK(AT, XT)                                                                   \
    switch (kc) {                                                                                 \
    case 64: { ROW_W(AT, XT, 64) } break;                                                         \
    case 32: { ROW_W(AT, XT, 32) } break;                                                         \
    case 16: { ROW_W(AT, XT, 16) } break;                                                         \
    case 8: { ROW_W(AT, XT, 8) } break;                                                           \
    case 4: { ROW_W(AT, XT, 4) } break;                                                           \
    case 2: { ROW_W(AT, XT, 2) } break;                                                           \
    default: { ROW_W(AT, XT, kc) } break;                                                         \
    }

/* Row i of A x for one plan into the scalar acc (AT), prefetching PF1 non-zeros ahead. */
#define ROW_TIMES_VECTOR(AT)                                                                      \
    AT acc = 0, acc1 = 0;                                                                         \
    {                                                                                             \
        int64_t jj = (int64_t)indptr[i];                                                          \
        const int64_t end = (int64_t)indptr[i + 1];                                               \
        for (; jj + 1 < end; jj += 2) {                                                           \
            if (jj + PF1 + 1 < nnz_end) {                                                         \
                __builtin_prefetch(X + indices[jj + PF1], 0, 3);                                  \
                __builtin_prefetch(X + indices[jj + PF1 + 1], 0, 3);                              \
            }                                                                                     \
            acc += (AT)data[jj] * X[indices[jj]];                                                 \
            acc1 += (AT)data[jj + 1] * X[indices[jj + 1]];                                        \
        }                                                                                         \
        if (jj < end) acc += (AT)data[jj] * X[indices[jj]];                                       \
        acc += acc1;                                                                              \
    }

/* Y[i,:] = (X[i,:] -) sum_jj data[jj] * X[indices[jj], :] for rows i in [r0, r1). */
#define DEFINE_SPMM(NAME, DT, IT, XT, AT)                                                \
    BIGPLAN_CLONES void NAME(int64_t r0, int64_t r1, int64_t k, const IT *restrict indptr, \
                             const IT *restrict indices, const DT *restrict data,          \
                             const XT *restrict X, XT *restrict Y, int subtract)           \
    {                                                                                      \
        const int64_t nnz_end = (int64_t)indptr[r1];                                       \
        if (k == 1) {                                                                      \
            for (int64_t i = r0; i < r1; ++i) {                                            \
                ROW_TIMES_VECTOR(AT)                                                       \
                Y[i] = (XT)(subtract ? X[i] - acc : acc);                                  \
            }                                                                              \
            return;                                                                        \
        }                                                                                  \
        AT acc[KTILE];                                                                     \
        for (int64_t c0 = 0; c0 < k; c0 += KTILE) {                                        \
            const int64_t kc = (k - c0) < KTILE ? (k - c0) : KTILE;                        \
            for (int64_t i = r0; i < r1; ++i) {                                            \
                ROW_TIMES_BLOCK(AT, XT)                                                    \
                XT *restrict yr = Y + i * k + c0;                                          \
                if (subtract) {                                                            \
                    const XT *restrict xi = X + i * k + c0;                                \
                    for (int64_t c = 0; c < kc; ++c) yr[c] = (XT)(xi[c] - acc[c]);         \
                } else {                                                                   \
                    for (int64_t c = 0; c < kc; ++c) yr[c] = (XT)acc[c];                   \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
    }

DEFINE_SPMM(bigplan_spmm_d_i32, double, int32_t, double, double)
DEFINE_SPMM(bigplan_spmm_d_i64, double, int64_t, double, double)
DEFINE_SPMM(bigplan_spmm_f_i32, float, int32_t, double, double)
DEFINE_SPMM(bigplan_spmm_f_i64, float, int64_t, double, double)
DEFINE_SPMM(bigplan_spmm_ff_i32, float, int32_t, float, float)
DEFINE_SPMM(bigplan_spmm_ff_i64, float, int64_t, float, float)

/*
 * T = S - A S with p1[c] = sum_i T[i,c]^2 and p2[c] = sum_i T[i,c] S[i,c], in the
 * same pass: BiCGSTAB's second product and the two dot products that follow it
 * (S's row is read for the subtraction anyway).  The first product's dot with
 * the shadow residual is not fused: that third stream slows the gathers more
 * than a separate pass costs.
 */
#define DOT_FLUSH 32 /* rows summed in the working precision before adding into the float64 sums */
#define DEFINE_SPMM_DOTS(NAME, DT, IT, XT, AT)                                                    \
    BIGPLAN_CLONES void NAME(int64_t r0, int64_t r1, int64_t k, const IT *restrict indptr,        \
                             const IT *restrict indices, const DT *restrict data,                 \
                             const XT *restrict X, XT *restrict Y, double *restrict p1,           \
                             double *restrict p2)                                                 \
    {                                                                                             \
        const int64_t nnz_end = (int64_t)indptr[r1];                                              \
        for (int64_t c = 0; c < k; ++c) p1[c] = p2[c] = 0.0;                                      \
        if (k == 1) {                                                                             \
            double s1 = 0.0, s2 = 0.0;                                                            \
            for (int64_t i = r0; i < r1; ++i) {                                                   \
                ROW_TIMES_VECTOR(AT)                                                              \
                const XT y = (XT)(X[i] - acc);                                                    \
                Y[i] = y;                                                                         \
                s1 += (double)y * y;                                                              \
                s2 += (double)y * X[i];                                                           \
            }                                                                                     \
            p1[0] = s1;                                                                           \
            p2[0] = s2;                                                                           \
            return;                                                                               \
        }                                                                                         \
        AT acc[KTILE], d1[KTILE], d2[KTILE];                                                      \
        for (int64_t c0 = 0; c0 < k; c0 += KTILE) {                                               \
            const int64_t kc = (k - c0) < KTILE ? (k - c0) : KTILE;                               \
            for (int64_t i0 = r0; i0 < r1; i0 += DOT_FLUSH) {                                     \
                const int64_t i1 = (i0 + DOT_FLUSH) < r1 ? (i0 + DOT_FLUSH) : r1;                 \
                for (int64_t c = 0; c < kc; ++c) d1[c] = d2[c] = 0;                               \
                for (int64_t i = i0; i < i1; ++i) {                                               \
                    ROW_TIMES_BLOCK(AT, XT)                                                       \
                    const int64_t o = i * k + c0;                                                 \
                    for (int64_t c = 0; c < kc; ++c) {                                            \
                        const XT y = (XT)(X[o + c] - acc[c]);                                     \
                        Y[o + c] = y;                                                             \
                        d1[c] += y * y;                                                           \
                        d2[c] += y * X[o + c];                                                    \
                    }                                                                             \
                }                                                                                 \
                for (int64_t c = 0; c < kc; ++c) {                                                \
                    p1[c0 + c] += (double)d1[c];                                                  \
                    p2[c0 + c] += (double)d2[c];                                                  \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }

DEFINE_SPMM_DOTS(bigplan_spmm_dots_d_i32, double, int32_t, double, double)
DEFINE_SPMM_DOTS(bigplan_spmm_dots_d_i64, double, int64_t, double, double)
DEFINE_SPMM_DOTS(bigplan_spmm_dots_f_i32, float, int32_t, double, double)
DEFINE_SPMM_DOTS(bigplan_spmm_dots_f_i64, float, int64_t, double, double)
DEFINE_SPMM_DOTS(bigplan_spmm_dots_ff_i32, float, int32_t, float, float)
DEFINE_SPMM_DOTS(bigplan_spmm_dots_ff_i64, float, int64_t, float, float)

/*
 * The residual of iterative refinement in one pass: R = B - (X - A X) in float64,
 * written as float64 (R, may be NULL) and/or rounded to float32 (R32, may be
 * NULL), with prr[c] = sum_i R[i,c]^2.
 */
#define DEFINE_RESIDUAL(NAME, DT, IT)                                                             \
    BIGPLAN_CLONES void NAME(int64_t r0, int64_t r1, int64_t k, const IT *restrict indptr,        \
                             const IT *restrict indices, const DT *restrict data,                 \
                             const double *restrict B, const double *restrict X,                  \
                             double *restrict R, float *restrict R32, double *restrict prr)       \
    {                                                                                             \
        const int64_t nnz_end = (int64_t)indptr[r1];                                              \
        for (int64_t c = 0; c < k; ++c) prr[c] = 0.0;                                             \
        if (k == 1) {                                                                             \
            double s1 = 0.0;                                                                      \
            for (int64_t i = r0; i < r1; ++i) {                                                   \
                ROW_TIMES_VECTOR(double)                                                          \
                const double r = B[i] - (X[i] - acc);                                             \
                if (R) R[i] = r;                                                                  \
                if (R32) R32[i] = (float)r;                                                       \
                s1 += r * r;                                                                      \
            }                                                                                     \
            prr[0] = s1;                                                                          \
            return;                                                                               \
        }                                                                                         \
        double acc[KTILE];                                                                        \
        for (int64_t c0 = 0; c0 < k; c0 += KTILE) {                                               \
            const int64_t kc = (k - c0) < KTILE ? (k - c0) : KTILE;                               \
            for (int64_t i = r0; i < r1; ++i) {                                                   \
                ROW_TIMES_BLOCK(double, double)                                                   \
                const int64_t o = i * k + c0;                                                     \
                for (int64_t c = 0; c < kc; ++c) {                                                \
                    const double r = B[o + c] - (X[o + c] - acc[c]);                              \
                    if (R) R[o + c] = r;                                                          \
                    if (R32) R32[o + c] = (float)r;                                               \
                    prr[c0 + c] += r * r;                                                         \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }

DEFINE_RESIDUAL(bigplan_residual_d_i32, double, int32_t)
DEFINE_RESIDUAL(bigplan_residual_d_i64, double, int64_t)
DEFINE_RESIDUAL(bigplan_residual_f_i32, float, int32_t)
DEFINE_RESIDUAL(bigplan_residual_f_i64, float, int64_t)

/* X += D: a float32 correction added into a float64 block */
BIGPLAN_CLONES void bigplan_add_widened(int64_t r0, int64_t r1, int64_t k, double *restrict X,
                                        const float *restrict D)
{
    for (int64_t i = r0 * k; i < r1 * k; ++i) X[i] += (double)D[i];
}

#define DEFINE_BLOCK_KERNELS(SFX, T)                                                                  \
    /* p = r + beta * (p - omega * v), per column */                                                  \
    BIGPLAN_CLONES void bigplan_p_update##SFX(int64_t r0, int64_t r1, int64_t k, const T *restrict r,  \
                                              T *restrict p, const T *restrict v,                     \
                                              const T *restrict beta, const T *restrict omega)        \
    {                                                                                                 \
        for (int64_t i = r0; i < r1; ++i) {                                                           \
            const int64_t o = i * k;                                                                  \
            for (int64_t c = 0; c < k; ++c)                                                           \
                p[o + c] = r[o + c] + beta[c] * (p[o + c] - omega[c] * v[o + c]);                     \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    /* x += alpha * p + omega * s, per column */                                                      \
    BIGPLAN_CLONES void bigplan_xs_update##SFX(int64_t r0, int64_t r1, int64_t k, T *restrict x,       \
                                               const T *restrict p, const T *restrict s,              \
                                               const T *restrict alpha, const T *restrict omega)      \
    {                                                                                                 \
        for (int64_t i = r0; i < r1; ++i) {                                                           \
            const int64_t o = i * k;                                                                  \
            for (int64_t c = 0; c < k; ++c) x[o + c] += alpha[c] * p[o + c] + omega[c] * s[o + c];   \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    /* out = y + a * x, per column (out may be y or x) */                                             \
    BIGPLAN_CLONES void bigplan_axpy##SFX(int64_t r0, int64_t r1, int64_t k, const T *a, const T *x,   \
                                          const T *y, T *out)                                         \
    {                                                                                                 \
        for (int64_t i = r0; i < r1; ++i) {                                                           \
            const int64_t o = i * k;                                                                  \
            for (int64_t c = 0; c < k; ++c) out[o + c] = y[o + c] + a[c] * x[o + c];                  \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    /* partial[c] = sum over rows [r0, r1) of x[i, c] * y[i, c], accumulated in float64 */            \
    BIGPLAN_CLONES void bigplan_coldot##SFX(int64_t r0, int64_t r1, int64_t k, const T *restrict x,    \
                                            const T *restrict y, double *restrict partial)            \
    {                                                                                                 \
        if (k == 1) { /* one plan: four independent sums so the loop pipelines and vectorizes */      \
            double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;                                            \
            int64_t i = r0;                                                                           \
            for (; i + 3 < r1; i += 4) {                                                              \
                s0 += (double)x[i] * y[i];                                                            \
                s1 += (double)x[i + 1] * y[i + 1];                                                    \
                s2 += (double)x[i + 2] * y[i + 2];                                                    \
                s3 += (double)x[i + 3] * y[i + 3];                                                    \
            }                                                                                         \
            for (; i < r1; ++i) s0 += (double)x[i] * y[i];                                            \
            partial[0] = (s0 + s1) + (s2 + s3);                                                       \
            return;                                                                                   \
        }                                                                                             \
        for (int64_t c = 0; c < k; ++c) partial[c] = 0.0;                                             \
        for (int64_t i = r0; i < r1; ++i) {                                                           \
            const int64_t o = i * k;                                                                  \
            for (int64_t c = 0; c < k; ++c) partial[c] += (double)x[o + c] * y[o + c];                \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    /* out[i, c] = X[i, idx[c]]: compaction of a row-major block to some of its columns */            \
    void bigplan_take_columns##SFX(int64_t r0, int64_t r1, int64_t k, int64_t kk, const T *restrict X, \
                                   const int64_t *restrict idx, T *restrict out)                     \
    {                                                                                                 \
        for (int64_t i = r0; i < r1; ++i) {                                                           \
            const T *restrict xi = X + i * k;                                                         \
            T *restrict oi = out + i * kk;                                                            \
            for (int64_t c = 0; c < kk; ++c) oi[c] = xi[idx[c]];                                      \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    /* X[i, idx[c]] = part[i, c]: scatter a block's columns back into a wider row-major block */      \
    void bigplan_put_columns##SFX(int64_t r0, int64_t r1, int64_t k, int64_t kk, T *restrict X,        \
                                  const int64_t *restrict idx, const T *restrict part)                \
    {                                                                                                 \
        for (int64_t i = r0; i < r1; ++i) {                                                           \
            T *restrict xi = X + i * k;                                                               \
            const T *restrict pi = part + i * kk;                                                     \
            for (int64_t c = 0; c < kk; ++c) xi[idx[c]] = pi[c];                                      \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    /* pxx[c] = sum x[i,c]^2 and pxy[c] = sum x[i,c] y[i,c] over rows [r0, r1), in one pass */        \
    BIGPLAN_CLONES void bigplan_coldot2##SFX(int64_t r0, int64_t r1, int64_t k, const T *restrict x,   \
                                             const T *restrict y, double *restrict pxx,               \
                                             double *restrict pxy)                                    \
    {                                                                                                 \
        for (int64_t c = 0; c < k; ++c) pxx[c] = pxy[c] = 0.0;                                        \
        for (int64_t i = r0; i < r1; ++i) {                                                           \
            const int64_t o = i * k;                                                                  \
            for (int64_t c = 0; c < k; ++c) {                                                         \
                const double xv = x[o + c];                                                           \
                pxx[c] += xv * xv;                                                                    \
                pxy[c] += xv * y[o + c];                                                              \
            }                                                                                         \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    /* out = y + a * x per column, and in the same pass poo[c] = sum out^2, pzo[c] = sum z * out */   \
    BIGPLAN_CLONES void bigplan_axpy_dots##SFX(int64_t r0, int64_t r1, int64_t k, const T *a,          \
                                               const T *x, const T *y, T *out, const T *restrict z,   \
                                               double *restrict poo, double *restrict pzo)            \
    {                                                                                                 \
        for (int64_t c = 0; c < k; ++c) poo[c] = pzo[c] = 0.0;                                        \
        for (int64_t i = r0; i < r1; ++i) {                                                           \
            const int64_t o = i * k;                                                                  \
            for (int64_t c = 0; c < k; ++c) {                                                         \
                const T v = y[o + c] + a[c] * x[o + c];                                               \
                out[o + c] = v;                                                                       \
                poo[c] += (double)v * v;                                                              \
                pzo[c] += (double)z[o + c] * v;                                                       \
            }                                                                                         \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    /* The end of a BiCGSTAB step in one pass: x += alpha p + omega s; r = s - omega t;              \
       prr[c] = sum r^2 and pzr[c] = sum z r (z: the shadow residual) */                              \
    BIGPLAN_CLONES void bigplan_step_end##SFX(int64_t r0, int64_t r1, int64_t k, T *restrict x,        \
                                              const T *restrict p, const T *s, const T *restrict t,   \
                                              const T *restrict z, const T *restrict alpha,           \
                                              const T *restrict omega, T *r, double *restrict prr,    \
                                              double *restrict pzr)                                   \
    {                                                                                                 \
        for (int64_t c = 0; c < k; ++c) prr[c] = pzr[c] = 0.0;                                        \
        for (int64_t i = r0; i < r1; ++i) {                                                           \
            const int64_t o = i * k;                                                                  \
            for (int64_t c = 0; c < k; ++c) {                                                         \
                const T sv = s[o + c];                                                                \
                x[o + c] += alpha[c] * p[o + c] + omega[c] * sv;                                      \
                const T v = sv - omega[c] * t[o + c];                                                 \
                r[o + c] = v;                                                                         \
                prr[c] += (double)v * v;                                                              \
                pzr[c] += (double)z[o + c] * v;                                                       \
            }                                                                                         \
        }                                                                                             \
    }

/* Column minima and maxima over rows [r0, r1) in one pass; a NaN anywhere in a column makes both NaN. */
#define DEFINE_COLRANGE(NAME, T)                                                                      \
    BIGPLAN_CLONES void NAME(int64_t r0, int64_t r1, int64_t k, const T *restrict x,                  \
                             double *restrict pmin, double *restrict pmax)                            \
    {                                                                                                 \
        T lo[KTILE], hi[KTILE];                                                                       \
        int nan[KTILE];                                                                               \
        if (r1 <= r0) {                                                                               \
            for (int64_t c = 0; c < k; ++c) pmin[c] = INFINITY, pmax[c] = -INFINITY;                  \
            return;                                                                                   \
        }                                                                                             \
        for (int64_t c0 = 0; c0 < k; c0 += KTILE) {                                                   \
            const int64_t kc = (k - c0) < KTILE ? (k - c0) : KTILE;                                   \
            for (int64_t c = 0; c < kc; ++c) {                                                        \
                lo[c] = hi[c] = x[r0 * k + c0 + c];                                                   \
                nan[c] = 0;                                                                           \
            }                                                                                         \
            for (int64_t i = r0; i < r1; ++i) {                                                       \
                const T *restrict xi = x + i * k + c0;                                                \
                for (int64_t c = 0; c < kc; ++c) {                                                    \
                    const T v = xi[c];                                                                \
                    lo[c] = v < lo[c] ? v : lo[c];                                                    \
                    hi[c] = v > hi[c] ? v : hi[c];                                                    \
                    nan[c] |= (v != v);                                                               \
                }                                                                                     \
            }                                                                                         \
            for (int64_t c = 0; c < kc; ++c) {                                                        \
                pmin[c0 + c] = nan[c] ? (double)NAN : (double)lo[c];                                    \
                pmax[c0 + c] = nan[c] ? pmin[c0 + c] : (double)hi[c];                                 \
            }                                                                                         \
        }                                                                                             \
    }

DEFINE_COLRANGE(bigplan_colrange, double)
DEFINE_COLRANGE(bigplan_colrange_s, float)

DEFINE_BLOCK_KERNELS(, double)
DEFINE_BLOCK_KERNELS(_s, float)

/*
 * One pass over a re-plan's new and old outputs (float64, row-major (n, k)), rows [r0, r1):
 *   peak[i]   = max_c X[i, c] (NaN when the row holds one), worst[i] its first column;
 *   hits[i]   = #{c : |X - Xo| > max(thr |Xo|, athr)} (the candidates of a move);
 *   colmax[c] = max over the rows of |X[i, c]| (this slice's partial: the caller combines slices);
 *   over[i]   = #{c : X[i, c] > lim[i]} where peak[i] > lim[i] (0 elsewhere; lim may be NULL).
 * Every number of both blocks is read once.
 */
BIGPLAN_CLONES void bigplan_moved_scan(int64_t r0, int64_t r1, int64_t k, const double *restrict X,
                                       const double *restrict Xo, const double *restrict lim,
                                       double *restrict peak, int32_t *restrict hits, int32_t *restrict over,
                                       int64_t *restrict worst, double *restrict colmax, double thr, double athr)
{
    for (int64_t c = 0; c < k; ++c) colmax[c] = 0.0;
    for (int64_t i = r0; i < r1; ++i) {
        const double *restrict x = X + i * k;
        const double *restrict xo = Xo + i * k;
        double pk = -INFINITY;
        int64_t w = 0;
        int32_t h = 0, nan = 0;
        for (int64_t c = 0; c < k; ++c) {
            const double v = x[c], o = xo[c];
            if (v > pk) {
                pk = v;
                w = c;
            }
            nan |= (v != v);
            const double d = fabs(v - o);
            double b = fabs(o) * thr;
            b = b > athr ? b : athr;
            h += (d > b);
            const double av = fabs(v);
            colmax[c] = av > colmax[c] ? av : colmax[c];
        }
        peak[i] = nan ? (double)NAN : (k ? pk : -INFINITY);
        worst[i] = w;
        hits[i] = h;
        int32_t cnt = 0;
        if (lim != NULL && pk > lim[i]) {
            const double L = lim[i];
            for (int64_t c = 0; c < k; ++c) cnt += (x[c] > L);
        }
        over[i] = cnt;
    }
}
