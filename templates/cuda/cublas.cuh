/*
 * cublas.cuh: the cuBLAS routines graphc's products call, declared as the C source declares
 * BLAS's (no cuBLAS header, no include path; a GPU build links -lcublas), and graphc_gemm, the
 * row-major GEMM of the C backend's call on cuBLAS's column-major one. A row-major C = A B is
 * the column-major C^T = B^T A^T, so the operands and m, n swap places; each operand keeps its
 * own transposition and leading dimension. Under the host emulation, host_emulation.h defines
 * these routines over host memory.
 */
#ifndef GRAPHC_CUBLAS_CUH
#define GRAPHC_CUBLAS_CUH

#ifdef __CUDACC__
typedef struct cublasContext *cublasHandle_t;
/* cublasStatus_t and cublasOperation_t are enums of int size: 0 is CUBLAS_STATUS_SUCCESS and
   CUBLAS_OP_N, 1 CUBLAS_OP_T */
extern "C" int cublasCreate_v2(cublasHandle_t *handle);
extern "C" int cublasDestroy_v2(cublasHandle_t handle);
extern "C" int cublasSetStream_v2(cublasHandle_t handle, cudaStream_t stream);
extern "C" int cublasSgemm_v2(cublasHandle_t handle, int transa, int transb, int m, int n, int k,
                              const float *alpha, const float *a, int lda, const float *b,
                              int ldb, const float *beta, float *c, int ldc);
extern "C" int cublasDgemm_v2(cublasHandle_t handle, int transa, int transb, int m, int n, int k,
                              const double *alpha, const double *a, int lda, const double *b,
                              int ldb, const double *beta, double *c, int ldc);
#endif

/* CBLAS's transposition enums (111: as stored, 112: transposed) as cuBLAS's operations */
inline int graphc_cublas_operation(int cblas_transpose)
{
    return cblas_transpose == 112 ? 1 : 0;
}

/* the row-major C = alpha op(A) op(B) + beta C, queued on the handle's stream; cuBLAS's status */
inline int graphc_gemm(cublasHandle_t handle, int transpose_a, int transpose_b, int m, int n,
                       int k, float alpha, const float *a, int lda, const float *b, int ldb,
                       float beta, float *c, int ldc)
{
    return cublasSgemm_v2(handle, graphc_cublas_operation(transpose_b),
                          graphc_cublas_operation(transpose_a), n, m, k, &alpha, b, ldb, a, lda,
                          &beta, c, ldc);
}

inline int graphc_gemm(cublasHandle_t handle, int transpose_a, int transpose_b, int m, int n,
                       int k, double alpha, const double *a, int lda, const double *b, int ldb,
                       double beta, double *c, int ldc)
{
    return cublasDgemm_v2(handle, graphc_cublas_operation(transpose_b),
                          graphc_cublas_operation(transpose_a), n, m, k, &alpha, b, ldb, a, lda,
                          &beta, c, ldc);
}

/* a failed cuBLAS call: stop, release what was allocated, report it (ErrorKind.CUBLAS_FAILED) */
#define GRAPHC_CUBLAS_TRY(call)          \
    if ((cublas_status = (call)) != 0) \
        goto release;

#endif  /* GRAPHC_CUBLAS_CUH */
