"""The error kinds generated code reports, and the eager exception each one becomes.

A kernel that meets bad input (an index out of range, a matrix LAPACK refuses, no memory) stores
four numbers in `graphc_error` and returns non-zero: the offending value, a size, a dimension and
the kind. `ErrorKind` names the kinds; `report` writes the C lines storing them; `eager_exception`
turns what the library reports back into the exception (type and message) eager raises for the
same input. One table, `EAGER_ERRORS`, holds every kind's exception class and message."""
import enum


class ErrorKind(enum.IntEnum):
    """What went wrong in compiled code; the value is what the C code stores."""
    INDEX_OUT_OF_BOUNDS = 0  # advanced indexing, index_put, index_fill: IndexError
    GATHER_SCATTER_OUT_OF_BOUNDS = 1  # gather, scatter, index_add: RuntimeError
    ALLOCATION_FAILED = 2  # scratch memory could not be had: MemoryError
    INDEX_SELECT_DIM1_OUT_OF_BOUNDS = 3  # index_select along dim 1: torch's RuntimeError
    INVERSE_SINGULAR = 4  # linalg.inv of a singular matrix
    SOLVE_SINGULAR = 5  # linalg.solve of a singular matrix
    CHOLESKY_NOT_POSITIVE_DEFINITE = 6
    INDEX_COPY_OUT_OF_BOUNDS = 7  # index_copy's own IndexError
    TAKE_OUT_OF_RANGE = 8  # take and put: IndexError over the flat positions
    MULTINOMIAL_INVALID_PROBABILITY = 9  # an inf, nan or negative weight
    MULTINOMIAL_NONPOSITIVE_SUM = 10  # a row whose weights sum to <= 0
    BERNOULLI_P_OUT_OF_RANGE = 11  # a probability outside [0, 1]
    LAPACK_FAILED = 12  # an eigen or singular value routine did not converge
    INDEX_SELECT_OUT_OF_RANGE = 13  # index_select along another dim: IndexError
    CUDA_RUNTIME_FAILED = 14  # a CUDA runtime call failed (value: its cudaError_t)
    CUBLAS_FAILED = 15  # a cuBLAS call failed (value: its cublasStatus_t)
    CLASS_TARGET_OUT_OF_BOUNDS = 16  # nll_loss and cross_entropy's class targets: IndexError


def _linalg_error():
    from ..ir.primitives.linalg import LinAlgError  # the ops import the runtime; load them late
    return LinAlgError


_P_MESSAGE = ("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could this error "
              "message be improved?  If so, please report an enhancement request to PyTorch.)")
_OUT_OF_BOUNDS = "index {value} is out of bounds for dimension {dim} with size {size}"

# kind: (eager's exception class, or a function returning it; its message). The message is
# formatted with the reported value, size and dim; the LAPACK kinds report (info, batch
# element, whether batched) there, and their message gets {batch}, "(Batch element b): " or "".
EAGER_ERRORS = {
    ErrorKind.INDEX_OUT_OF_BOUNDS: (IndexError, _OUT_OF_BOUNDS),
    ErrorKind.GATHER_SCATTER_OUT_OF_BOUNDS: (RuntimeError, _OUT_OF_BOUNDS),
    ErrorKind.ALLOCATION_FAILED: (MemoryError, "compiled code could not allocate {value} "
                                               "elements"),
    ErrorKind.INDEX_SELECT_DIM1_OUT_OF_BOUNDS: (
        RuntimeError, "INDICES element is out of DATA bounds, id={value} axis_dim={size}"),
    ErrorKind.INVERSE_SINGULAR: (
        _linalg_error, "linalg.inv: {batch}The diagonal element {value} is zero, the inversion "
                       "could not be completed because the input matrix is singular."),
    ErrorKind.SOLVE_SINGULAR: (
        _linalg_error, "torch.linalg.solve: {batch}The solver failed because the input matrix "
                       "is singular."),
    ErrorKind.CHOLESKY_NOT_POSITIVE_DEFINITE: (
        _linalg_error, "linalg.cholesky: {batch}The factorization could not be completed "
                       "because the input is not positive-definite (the leading minor of order "
                       "{value} is not positive-definite)."),
    ErrorKind.INDEX_COPY_OUT_OF_BOUNDS: (
        IndexError, "index_copy_(): index {value} is out of bounds for dimension {dim} with "
                    "size {size}"),
    ErrorKind.TAKE_OUT_OF_RANGE: (
        IndexError, "out of range: tried to access index {value} on a tensor of {size} "
                    "elements."),
    ErrorKind.MULTINOMIAL_INVALID_PROBABILITY: (
        RuntimeError, "probability tensor contains either `inf`, `nan` or element < 0"),
    ErrorKind.MULTINOMIAL_NONPOSITIVE_SUM: (
        RuntimeError, "invalid multinomial distribution (sum of probabilities <= 0)"),
    ErrorKind.BERNOULLI_P_OUT_OF_RANGE: (RuntimeError, _P_MESSAGE),
    ErrorKind.LAPACK_FAILED: (
        _linalg_error, "the LAPACK routine of this op failed on matrix {size} (info {value})"),
    ErrorKind.INDEX_SELECT_OUT_OF_RANGE: (IndexError, "index out of range in self"),
    ErrorKind.CUDA_RUNTIME_FAILED: (RuntimeError, "CUDA error: a runtime call failed "
                                                  "(cudaError_t {value})"),
    ErrorKind.CUBLAS_FAILED: (RuntimeError, "CUDA error: a cuBLAS call failed "
                                            "(cublasStatus_t {value})"),
    ErrorKind.CLASS_TARGET_OUT_OF_BOUNDS: (IndexError, "Target {value} is out of bounds."),
}

_BATCHED = (ErrorKind.INVERSE_SINGULAR, ErrorKind.SOLVE_SINGULAR,
            ErrorKind.CHOLESKY_NOT_POSITIVE_DEFINITE)


def exception_class(kind):
    """Eager's exception class for an error kind."""
    found = EAGER_ERRORS[ErrorKind(kind)][0]
    return found if isinstance(found, type) else found()


def eager_exception(kind, value, size, dim):
    """The exception eager raises for what compiled code reported (kind, value, size, dim)."""
    kind = ErrorKind(kind)
    batch = f"(Batch element {size}): " if kind in _BATCHED and dim else ""
    message = EAGER_ERRORS[kind][1].format(value=value, size=size, dim=dim, batch=batch)
    return exception_class(kind)(message)


def c_kind(kind):
    """The C text of an error kind: its value, with a comment naming it."""
    kind = ErrorKind(kind)
    return f"{int(kind)};  /* ErrorKind.{kind.name} */"


def report(kind, value=None, size=None, dim=None):
    """C lines storing an error report (the fields given, then the kind); the caller returns."""
    fields = [(0, value), (1, size), (2, dim)]
    return [f"graphc_error[{slot}] = {field};" for slot, field in fields if field is not None] \
        + [f"graphc_error[3] = {c_kind(kind)}"]
