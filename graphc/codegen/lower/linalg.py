"""Lowerings of linear algebra through LAPACK (the OpenBLAS of scipy-openblas32), one matrix of
the batch at a time, copied row-major into scratch memory first:
- inverse, det, slogdet, solve and cholesky (getrf, getri, gesv, potrf): a singular or not
  positive-definite matrix stops the call with eager's LinAlgError (LAPACK's info is the pivot
  or the order torch reports);
- svd, eigh and qr (gesdd, syevd, geqrf/orgqr), the routines numpy's own LAPACK runs, so the
  results (signs of singular and eigenvectors included) are eager's to rounding;
- matrix_norm: +-1 and +-inf from column or row sums of |x|, +-2 and 'nuc' from the singular
  values (gesdd, as numpy)."""
from .. import blas
from .. import kernel as k
from ..c_layout import Unsupported, _numel
from ..errors import ErrorKind
from . import entry, lowering

__all__ = ["LAPACK_OPS"]

_LINEAR_SYSTEMS = ("inverse", "det", "slogdet_sign", "slogdet_logabsdet", "solve", "cholesky")
_FACTORISATIONS = ("svd_s", "svd_u", "svd_vh", "svd_v", "eigh_values", "eigh_vectors", "qr_q",
                   "qr_r")
LAPACK_OPS = _LINEAR_SYSTEMS + _FACTORISATIONS + ("matrix_norm",)

_ROW_MAJOR = 101
_INFO, _B = k.Var("info"), k.Var("b")


def _char(letter):
    return k.Const(f"'{letter}'")


def _element(buffer, row, column, columns):
    return k.Load(buffer, k.as_expr(row) * columns + column)


def _batch_loop(batch, body):
    """A serial loop over the batch's matrices (b), idx0.. the batch dims' indices."""
    lets, _ = k.multi_index(_B, batch)
    return k.Loop("b", _numel(batch), (*lets, *body))


def _copy_matrix(pointer, layout, target, m, n):
    """Matrix b of the batch (its idx0.. set) copied row-major into `target` (m x n)."""
    shape, strides, base = layout
    rows, columns = len(shape) - 2, len(shape) - 1
    index = {d: k.Var(f"idx{d}") for d in range(len(shape))}
    read = k.Load(pointer, k.strided(index, tuple(shape), tuple(strides), base))
    return k.Loop(f"idx{rows}", m, (k.Loop(f"idx{columns}", n, (k.Store(
        target, k.Var(f"idx{rows}") * n + k.Var(f"idx{columns}"), read),)),))


def _lapack(prefix, routine, *arguments):
    return k.Call(f"{prefix}{routine}", (_ROW_MAJOR, *arguments))


def _needs_lapack(node):
    if blas.library_dir() is None:
        raise Unsupported(f"{node.op} needs LAPACK (the scipy-openblas32 wheel)")


@lowering(*_LINEAR_SYSTEMS)
def linear_system(position, graph, node, target, layouts, pointer_of, types, draw=None):
    _needs_lapack(node)
    if node.op == "solve" and not node.attrs.get("left", True):
        raise Unsupported("solve with left=False (not compiled yet)")
    a = node.inputs[0]
    shape = layouts[a][0]
    n = shape[-1]
    batch = tuple(shape[:-2])
    element = types.of(pointer_of[a])
    f = blas.LAPACK_PREFIX[element]
    batched = int(len(shape) > 2)
    work, pivots = k.Var("work"), k.Var("pivots")
    body = [_copy_matrix(pointer_of[a], layouts[a], "work", n, n)]

    def fail(kind):
        return k.Check(_INFO.gt(0), kind, value=_INFO, size=_B, dim=batched)
    if node.op == "inverse":
        body += [k.Let("info", "int", _lapack(f, "getrf", n, n, work, n, pivots)),
                 fail(ErrorKind.INVERSE_SINGULAR),
                 k.Do(_lapack(f, "getri", n, work, n, pivots)),
                 k.Loop("i", n * n, (k.Store(target, _B * (n * n) + k.Var("i"),
                                             k.Load("work", k.Var("i"))),))]
    elif node.op == "det" or node.op.startswith("slogdet"):
        # LU: the product of the pivots, negated per row swap; slogdet: their signs and the
        # sum of the logs of their magnitudes
        swapped = k.Select(k.Load("pivots", k.Var("i")).ne(k.Var("i") + 1), k.Const(-1.0),
                           k.Const(1.0))
        pivot = _element("work", k.Var("i"), k.Var("i"), n)
        body.append(k.Let("info", "int", _lapack(f, "getrf", n, n, work, n, pivots)))
        if node.op == "det":
            product = k.Var("product")
            body += [k.Let("product", "double", k.Const(1.0), mutable=True),
                     k.Loop("i", n, (k.Assign(product, swapped * pivot, "*="),)),
                     k.Store(target, _B, k.Select(_INFO.gt(0), k.Const(0.0), product))]
        else:
            sign, logabs = k.Var("sign"), k.Var("logabs")
            body += [k.Let("sign", "double", k.Const(1.0), mutable=True),
                     k.Let("logabs", "double", k.Const(0.0), mutable=True),
                     k.Loop("i", n, (
                         k.Let("pivot", "double", pivot),
                         k.Assign(sign, swapped * k.Select(k.Var("pivot").lt(0), k.Const(-1.0),
                                                            k.Const(1.0)), "*="),
                         k.Assign(logabs, k.Call("log", (k.Call("fabs", (k.Var("pivot"),)),)),
                                  "+="))),
                     k.Store(target, _B, k.Select(_INFO.gt(0), k.Const(0.0), sign)
                             if node.op == "slogdet_sign" else
                             k.Select(_INFO.gt(0), k.Const("-INFINITY"), logabs))]
    elif node.op == "solve":
        right = node.inputs[1]
        r_shape, r_strides, r_base = layouts[right]
        columns = r_shape[-1] if len(r_shape) == len(shape) else 1
        if len(r_shape) != len(shape) and len(r_shape) != len(shape) - 1 or \
                tuple(r_shape[:len(batch)]) != batch:
            raise Unsupported("solve with a broadcast right-hand side (not compiled yet)")
        index = {d: k.Var(f"idx{d}") for d in range(len(r_shape))}
        rhs = k.Load(pointer_of[right], k.strided(index, tuple(r_shape), tuple(r_strides), r_base))
        row = k.Var(f"idx{len(batch)}")
        start = _B * (n * columns)
        if columns > 1 or len(r_shape) == len(shape):
            column = k.Var(f"idx{len(batch) + 1}")
            copy = k.Loop(row.name, n, (k.Loop(column.name, columns, (k.Store(
                target, start + row * columns + column, rhs),)),))
        else:
            copy = k.Loop(row.name, n, (k.Store(target, start + row, rhs),))
        body += [copy, k.Let("info", "int", _lapack(f, "gesv", n, columns, work, n, pivots,
                                                   k.Address(target, start), columns)),
                 fail(ErrorKind.SOLVE_SINGULAR)]
    else:  # cholesky: the factor, the other triangle zeroed
        upper = bool(node.attrs.get("upper", False))
        i, j = k.Var("i"), k.Var("j")
        kept = j.ge(i) if upper else j.le(i)
        body += [k.Let("info", "int", _lapack(f, "potrf", _char("U" if upper else "L"), n, work,
                                              n)),
                 fail(ErrorKind.CHOLESKY_NOT_POSITIVE_DEFINITE),
                 k.Loop("i", n, (k.Loop("j", n, (k.Store(
                     target, _B * (n * n) + i * n + j,
                     k.Select(kept, _element("work", i, j, n), k.Const(0))),)),))]
    ir = k.Kernel(node.op, list(dict.fromkeys(pointer_of[o] for o in node.inputs)), [target],
                  [_batch_loop(batch, body)], scratch=[(element, "work", n * n),
                                                       ("int", "pivots", n)],
                  comment="one matrix of the batch at a time")
    return entry(position, graph, node, f"{node.op} of %{a} (LAPACK)", ir, types)


@lowering(*_FACTORISATIONS)
def factorisation(position, graph, node, target, layouts, pointer_of, types, draw=None):
    _needs_lapack(node)
    if node.op.startswith("qr") and node.attrs["mode"] != "reduced" and not (
            node.op == "qr_r" and node.attrs["mode"] == "r"):
        raise Unsupported(f"qr with mode={node.attrs['mode']!r} (not compiled yet)")
    a = node.inputs[0]
    shape = layouts[a][0]
    m, n = shape[-2], shape[-1]
    smaller, batch = min(m, n), tuple(shape[:-2])
    element = types.of(pointer_of[a])
    f = blas.LAPACK_PREFIX[element]
    per_matrix = _numel(node.shape) // max(_numel(batch), 1)
    full = bool(node.attrs.get("full_matrices", False))
    u_columns, vt_rows = (m, n) if full else (smaller, smaller)
    work, values, u, vt = (k.Var(name) for name in ("work", "values", "u", "vt"))
    i, j = k.Var("i"), k.Var("j")
    body = [_copy_matrix(pointer_of[a], layouts[a], "work", m, n)]
    if node.op.startswith("svd"):
        job = "N" if node.op == "svd_s" else ("A" if full else "S")
        body.append(k.Let("info", "int", _lapack(f, "gesdd", _char(job), m, n, work, n, values,
                                                 u, u_columns, vt, n)))
        written = {"svd_s": (smaller, 1, k.Load("values", i)),
                   "svd_u": (m, u_columns, _element("u", i, j, u_columns)),
                   "svd_vh": (vt_rows, n, _element("vt", i, j, n)),
                   "svd_v": (n, vt_rows, _element("vt", j, i, n))}[node.op]
    elif node.op.startswith("eigh"):
        job = "V" if node.op == "eigh_vectors" else "N"
        body.append(k.Let("info", "int", _lapack(f, "syevd", _char(job),
                                                 _char(node.attrs["uplo"]), n, work, n, values)))
        written = (n, n, _element("work", i, j, n)) if job == "V" else \
            (n, 1, k.Load("values", i))
    else:  # qr: R is the upper triangle of the factored rows, Q rebuilt from the reflectors
        body.append(k.Let("info", "int", _lapack(f, "geqrf", m, n, work, n, values),
                          mutable=True))
        if node.op == "qr_q":
            body.append(k.If(_INFO.eq(0), (k.Assign(_INFO, _lapack(
                f, "orgqr", m, smaller, smaller, work, n, values)),)))
            written = (m, smaller, _element("work", i, j, n))
        else:
            written = (smaller, n, k.Select(j.ge(i), _element("work", i, j, n), k.Const(0)))
    rows, columns, value = written
    body += [k.Check(_INFO.ne(0), ErrorKind.LAPACK_FAILED, value=_INFO, size=_B),
             k.Loop("i", rows, (k.Loop("j", columns, (k.Store(
                 target, _B * per_matrix + i * columns + j, value),)),))]
    ir = k.Kernel(node.op, [pointer_of[a]], [target], [_batch_loop(batch, body)],
                  scratch=[(element, "work", m * n), (element, "values", max(m, n)),
                           (element, "u", m * u_columns), (element, "vt", vt_rows * n)],
                  comment="one matrix of the batch at a time")
    return entry(position, graph, node, f"{node.op} of %{a} (LAPACK)", ir, types)


@lowering("matrix_norm")
def matrix_norm(position, graph, node, target, layouts, pointer_of, types, draw=None):
    order = node.attrs["ord"]
    source = node.inputs[0]
    shape, strides, base = layouts[source]
    dims = tuple(sorted(d % len(shape) for d in node.attrs["dims"]))
    if dims != (len(shape) - 2, len(shape) - 1):
        raise Unsupported("matrix_norm over other dims than the last two (not compiled yet)")
    if order in ("nuc", 2, -2) and blas.library_dir() is None:
        raise Unsupported("matrix_norm of this order needs LAPACK (the scipy-openblas32 wheel)")
    m, n = shape[-2], shape[-1]
    batch = tuple(shape[:-2])
    rows, columns = len(shape) - 2, len(shape) - 1
    sums, result, each = k.Var("sums"), k.Var("result"), k.Var("k")
    if order in ("nuc", 2, -2):
        count = min(m, n)
        body = [_copy_matrix(pointer_of[source], layouts[source], "work", m, n),
                k.Let("unused", "double", k.Const(0.0), mutable=True),
                k.Check(k.Call("scipy_LAPACKE_dgesdd", (_ROW_MAJOR, _char("N"), m, n,
                                                        k.Var("work"), n, sums,
                                                        k.Address("unused"), 1,
                                                        k.Address("unused"), 1)).ne(0),
                        ErrorKind.LAPACK_FAILED, size=_B)]
    else:  # the sums of |x| down the columns (order +-1) or along the rows (+-inf)
        down = abs(order) == 1
        count = n if down else m
        index = {d: k.Var(f"idx{d}") for d in range(len(shape))}
        magnitude = k.Call("fabs", (k.Cast("double", k.Load(
            pointer_of[source], k.strided(index, tuple(shape), tuple(strides), base))),))
        body = [k.Loop("k", count, (k.Store("sums", each, k.Const(0.0)),)),
                k.Loop(f"idx{rows}", m, (k.Loop(f"idx{columns}", n, (k.Store(
                    "sums", index[columns if down else rows], magnitude, "+="),)),))]
    element = k.Load("sums", each)
    if order == "nuc":
        start, fold, op = k.Const(0.0), element, "+="
    elif order > 0:  # the largest (0 for an empty matrix, numpy's initial)
        start, op = k.Const(0.0), "="
        fold = k.Select(element.gt(result).or_(element.ne(element)), element, result)
    else:
        start, op = k.Const("INFINITY"), "="
        fold = k.Select(element.lt(result).or_(element.ne(element)), element, result)
    body += [k.Let("result", "double", start, mutable=True),
             k.Loop("k", count, (k.Assign(result, fold, op),)),
             k.Store(target, _B, result)]
    ir = k.Kernel("matrix_norm", [pointer_of[source]], [target], [_batch_loop(batch, body)],
                  scratch=[("double", "sums", max(m, n)), ("double", "work", m * n)],
                  comment="one matrix of the batch at a time")
    return entry(position, graph, node, f"matrix_norm of order {order!r} of %{source}", ir,
                 types)
