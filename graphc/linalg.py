"""graphc.linalg: torch.linalg's namespace. Every function here is defined in
graphc.api.linalg (most also serve graphc.<name> and Tensor methods); this module only names
them as torch.linalg does."""
from .api.linalg import (cholesky, det, eigh, eigvalsh, inverse as inv, linalg_cross as cross,
                         linalg_diagonal as diagonal, linalg_norm as norm,
                         linalg_slogdet as slogdet, linalg_svd as svd, matmul, matrix_norm,
                         matrix_power, multi_dot, qr, solve, svdvals, vector_norm)
from .ir.primitives.linalg import LinAlgError

__all__ = ["LinAlgError", "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv",
           "matmul", "matrix_norm", "matrix_power", "multi_dot", "norm", "qr", "slogdet", "solve",
           "svd", "svdvals", "vector_norm"]
