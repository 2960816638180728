"""graphc.linalg: torch.linalg's namespace. Every function here is declared in
graphc.ir.ops.linalg (most also serve graphc.<name> and Tensor methods); this module only names
them as torch.linalg does."""
from .ir.ops.linalg import (LinAlgError, cholesky, det, eigh, eigvalsh, inverse as inv,
                            linalg_cross as cross, linalg_diagonal as diagonal,
                            linalg_norm as norm, linalg_slogdet as slogdet, linalg_svd as svd,
                            matmul, matrix_norm, matrix_power, multi_dot, qr, solve, svdvals,
                            vector_norm)

__all__ = ["LinAlgError", "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv",
           "matmul", "matrix_norm", "matrix_power", "multi_dot", "norm", "qr", "slogdet", "solve",
           "svd", "svdvals", "vector_norm"]
