/*
 * bigplan CPU kernels: sparse matrix times a block of plans, and the fused
 * block updates of the batched Krylov solver.
 *
 * Plain C with no Python API: bigplan/cpu.py loads the shared library with
 * ctypes, which releases the GIL during each call, and runs one call per row
 * slice in a thread pool.  Blocks are row-major (n, k) float64 arrays, so each
 * non-zero A[i, j] touches k contiguous numbers of row j of X: one pass over
 * the matrix serves every plan.  Coefficients may be float64 or float32 (read
 * half the bytes, accumulate in float64), indices int32 or int64.
 *
 * Every function works on rows [r0, r1) and writes only those rows of its
 * output, so row slices can run concurrently.
 */
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(BIGPLAN_NO_CLONES)
#define BIGPLAN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define BIGPLAN_CLONES
#endif

#define KTILE 64

/* Y[i,:] = (X[i,:] -) sum_jj data[jj] * X[indices[jj], :] for rows i in [r0, r1). */
#define DEFINE_SPMM(NAME, DT, IT)                                                        \
    BIGPLAN_CLONES void NAME(int64_t r0, int64_t r1, int64_t k, const IT *restrict indptr, \
                             const IT *restrict indices, const DT *restrict data,          \
                             const double *restrict X, double *restrict Y, int subtract)   \
    {                                                                                      \
        if (k == 1) {                                                                      \
            for (int64_t i = r0; i < r1; ++i) {                                            \
                double a0 = 0.0, a1 = 0.0;                                                 \
                int64_t jj = (int64_t)indptr[i];                                           \
                const int64_t end = (int64_t)indptr[i + 1];                                \
                for (; jj + 1 < end; jj += 2) {                                            \
                    a0 += (double)data[jj] * X[indices[jj]];                               \
                    a1 += (double)data[jj + 1] * X[indices[jj + 1]];                       \
                }                                                                          \
                if (jj < end) a0 += (double)data[jj] * X[indices[jj]];                     \
                Y[i] = subtract ? X[i] - (a0 + a1) : (a0 + a1);                            \
            }                                                                              \
            return;                                                                        \
        }                                                                                  \
        double acc[KTILE];                                                                 \
        for (int64_t c0 = 0; c0 < k; c0 += KTILE) {                                        \
            const int64_t kc = (k - c0) < KTILE ? (k - c0) : KTILE;                        \
            for (int64_t i = r0; i < r1; ++i) {                                            \
                for (int64_t c = 0; c < kc; ++c) acc[c] = 0.0;                             \
                const int64_t end = (int64_t)indptr[i + 1];                                \
                for (int64_t jj = (int64_t)indptr[i]; jj < end; ++jj) {                    \
                    const double a = (double)data[jj];                                     \
                    const double *restrict xr = X + (int64_t)indices[jj] * k + c0;         \
                    for (int64_t c = 0; c < kc; ++c) acc[c] += a * xr[c];                  \
                }                                                                          \
                double *restrict yr = Y + i * k + c0;                                      \
                if (subtract) {                                                            \
                    const double *restrict xi = X + i * k + c0;                            \
                    for (int64_t c = 0; c < kc; ++c) yr[c] = xi[c] - acc[c];               \
                } else {                                                                   \
                    for (int64_t c = 0; c < kc; ++c) yr[c] = acc[c];                       \
                }                                                                          \
            }                                                                              \
        }                                                                                  \
    }

DEFINE_SPMM(bigplan_spmm_d_i32, double, int32_t)
DEFINE_SPMM(bigplan_spmm_d_i64, double, int64_t)
DEFINE_SPMM(bigplan_spmm_f_i32, float, int32_t)
DEFINE_SPMM(bigplan_spmm_f_i64, float, int64_t)

/*
 * Scatter form for a block of destination rows: the matrix is given by columns
 * (CSC) holding only entries whose row lies in [r0, r1).  Column j reads row j of
 * X once, in order, and adds it into the rows of its suppliers; on input-output
 * structure those rows are few and hot (hub suppliers) or near j, so the
 * scattered writes stay in cache.  Y[r0:r1] = (X[r0:r1] -) A[r0:r1, :] X.
 */
#define DEFINE_SPMM_CSC(NAME, DT, IT)                                                      \
    BIGPLAN_CLONES void NAME(int64_t r0, int64_t r1, int64_t ncols, int64_t k,               \
                             const IT *restrict indptr, const IT *restrict indices,          \
                             const DT *restrict data, const double *restrict X,              \
                             double *restrict Y, int subtract)                               \
    {                                                                                        \
        const double sign = subtract ? -1.0 : 1.0;                                           \
        for (int64_t i = r0 * k; i < r1 * k; ++i) Y[i] = subtract ? X[i] : 0.0;              \
        if (k == 1) {                                                                        \
            for (int64_t j = 0; j < ncols; ++j) {                                            \
                const double xj = sign * X[j];                                               \
                const int64_t end = (int64_t)indptr[j + 1];                                  \
                for (int64_t jj = (int64_t)indptr[j]; jj < end; ++jj)                        \
                    Y[indices[jj]] += (double)data[jj] * xj;                                 \
            }                                                                                \
            return;                                                                          \
        }                                                                                    \
        for (int64_t j = 0; j < ncols; ++j) {                                                \
            const double *restrict xj = X + j * k;                                           \
            const int64_t end = (int64_t)indptr[j + 1];                                      \
            for (int64_t jj = (int64_t)indptr[j]; jj < end; ++jj) {                          \
                const double a = sign * (double)data[jj];                                    \
                double *restrict yi = Y + (int64_t)indices[jj] * k;                          \
                for (int64_t c = 0; c < k; ++c) yi[c] += a * xj[c];                          \
            }                                                                                \
        }                                                                                    \
    }

DEFINE_SPMM_CSC(bigplan_spmm_csc_d_i32, double, int32_t)
DEFINE_SPMM_CSC(bigplan_spmm_csc_d_i64, double, int64_t)
DEFINE_SPMM_CSC(bigplan_spmm_csc_f_i32, float, int32_t)
DEFINE_SPMM_CSC(bigplan_spmm_csc_f_i64, float, int64_t)

/* p = r + beta * (p - omega * v), per column */
BIGPLAN_CLONES void bigplan_p_update(int64_t r0, int64_t r1, int64_t k, const double *restrict r,
                                     double *restrict p, const double *restrict v,
                                     const double *restrict beta, const double *restrict omega)
{
    for (int64_t i = r0; i < r1; ++i) {
        const int64_t o = i * k;
        for (int64_t c = 0; c < k; ++c)
            p[o + c] = r[o + c] + beta[c] * (p[o + c] - omega[c] * v[o + c]);
    }
}

/* x += alpha * p + omega * s, per column */
BIGPLAN_CLONES void bigplan_xs_update(int64_t r0, int64_t r1, int64_t k, double *restrict x,
                                      const double *restrict p, const double *restrict s,
                                      const double *restrict alpha, const double *restrict omega)
{
    for (int64_t i = r0; i < r1; ++i) {
        const int64_t o = i * k;
        for (int64_t c = 0; c < k; ++c) x[o + c] += alpha[c] * p[o + c] + omega[c] * s[o + c];
    }
}

/* out = y + a * x, per column (out may be y or x) */
BIGPLAN_CLONES void bigplan_axpy(int64_t r0, int64_t r1, int64_t k, const double *a,
                                 const double *x, const double *y, double *out)
{
    for (int64_t i = r0; i < r1; ++i) {
        const int64_t o = i * k;
        for (int64_t c = 0; c < k; ++c) out[o + c] = y[o + c] + a[c] * x[o + c];
    }
}

/* partial[c] = sum over rows [r0, r1) of x[i, c] * y[i, c] */
BIGPLAN_CLONES void bigplan_coldot(int64_t r0, int64_t r1, int64_t k, const double *restrict x,
                                   const double *restrict y, double *restrict partial)
{
    if (k == 1) { /* one plan: four independent sums so the loop pipelines and vectorizes */
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        int64_t i = r0;
        for (; i + 3 < r1; i += 4) {
            s0 += x[i] * y[i];
            s1 += x[i + 1] * y[i + 1];
            s2 += x[i + 2] * y[i + 2];
            s3 += x[i + 3] * y[i + 3];
        }
        for (; i < r1; ++i) s0 += x[i] * y[i];
        partial[0] = (s0 + s1) + (s2 + s3);
        return;
    }
    for (int64_t c = 0; c < k; ++c) partial[c] = 0.0;
    for (int64_t i = r0; i < r1; ++i) {
        const int64_t o = i * k;
        for (int64_t c = 0; c < k; ++c) partial[c] += x[o + c] * y[o + c];
    }
}

/* out[i, c] = X[i, idx[c]]: compaction of a row-major block to some of its columns */
void bigplan_take_columns(int64_t r0, int64_t r1, int64_t k, int64_t kk, const double *restrict X,
                          const int64_t *restrict idx, double *restrict out)
{
    for (int64_t i = r0; i < r1; ++i) {
        const double *restrict xi = X + i * k;
        double *restrict oi = out + i * kk;
        for (int64_t c = 0; c < kk; ++c) oi[c] = xi[idx[c]];
    }
}

/* X[i, idx[c]] = part[i, c]: scatter a block's columns back into a wider row-major block */
void bigplan_put_columns(int64_t r0, int64_t r1, int64_t k, int64_t kk, double *restrict X,
                         const int64_t *restrict idx, const double *restrict part)
{
    for (int64_t i = r0; i < r1; ++i) {
        double *restrict xi = X + i * k;
        const double *restrict pi = part + i * kk;
        for (int64_t c = 0; c < kk; ++c) xi[idx[c]] = pi[c];
    }
}

/* pxx[c] = sum x[i,c]^2 and pxy[c] = sum x[i,c] y[i,c] over rows [r0, r1), in one pass */
BIGPLAN_CLONES void bigplan_coldot2(int64_t r0, int64_t r1, int64_t k, const double *restrict x,
                                    const double *restrict y, double *restrict pxx, double *restrict pxy)
{
    for (int64_t c = 0; c < k; ++c) pxx[c] = pxy[c] = 0.0;
    for (int64_t i = r0; i < r1; ++i) {
        const int64_t o = i * k;
        for (int64_t c = 0; c < k; ++c) {
            pxx[c] += x[o + c] * x[o + c];
            pxy[c] += x[o + c] * y[o + c];
        }
    }
}

/* out = y + a * x per column, and in the same pass poo[c] = sum out^2, pzo[c] = sum z * out */
BIGPLAN_CLONES void bigplan_axpy_dots(int64_t r0, int64_t r1, int64_t k, const double *a, const double *x,
                                      const double *y, double *out, const double *restrict z,
                                      double *restrict poo, double *restrict pzo)
{
    for (int64_t c = 0; c < k; ++c) poo[c] = pzo[c] = 0.0;
    for (int64_t i = r0; i < r1; ++i) {
        const int64_t o = i * k;
        for (int64_t c = 0; c < k; ++c) {
            const double v = y[o + c] + a[c] * x[o + c];
            out[o + c] = v;
            poo[c] += v * v;
            pzo[c] += z[o + c] * v;
        }
    }
}
