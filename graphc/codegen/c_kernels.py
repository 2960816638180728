"""The C kernels not yet built as kernel IR (codegen/lower): matrix products (BLAS or a loop
nest) and linear algebra (LAPACK). Each builder returns a kernel description for
templates/c/elementwise.c.j2; `_MEMORY_KERNELS` finds the builder of an op."""
from .errors import ErrorKind, report
from .c_layout import Unsupported, _decode, _numel, _offset, _signature


_LINEAR_SYSTEMS = ("inverse", "det", "slogdet_sign", "slogdet_logabsdet", "solve", "cholesky")
_FACTORISATIONS = ("svd_s", "svd_u", "svd_vh", "svd_v", "eigh_values", "eigh_vectors", "qr_q",
                   "qr_r")
_LAPACK = _LINEAR_SYSTEMS + _FACTORISATIONS + ("matrix_norm",)


def _allocate(buffers):
    """C lines allocating scratch arrays, (element type, name, count) each, that stop the call
    with MemoryError (ErrorKind.ALLOCATION_FAILED) when one cannot be had, every one freed
    first."""
    names = [name for _, name, _ in buffers]
    lines = [f"{ctype} *{name} = malloc({max(count, 1)} * sizeof *{name});"
             for ctype, name, count in buffers]
    return lines + [f"if ({' || '.join(f'{name} == NULL' for name in names)}) {{",
                    *["    " + line for line in _release(names)],
                    *["    " + line for line in report(
                        ErrorKind.ALLOCATION_FAILED, sum(count for _, _, count in buffers))],
                    "    return 1;", "}"]


def _release(names):
    return [f"free({name});" for name in names]


def _copy_matrix(pointer, layout, target, m, n):
    """C lines (one level in) copying matrix b of a batch row-major into `target` (m x n)."""
    shape, strides, base = layout
    rows, columns = len(shape) - 2, len(shape) - 1
    read = _offset(tuple(shape), tuple(shape), tuple(strides), base, flat=False)
    return [f"    for (int64_t idx{rows} = 0; idx{rows} < {m}; idx{rows}++)",
            f"        for (int64_t idx{columns} = 0; idx{columns} < {n}; idx{columns}++)",
            f"            {target}[idx{rows} * {n} + idx{columns}] = {pointer}[{read}];"]


def _lines_kernel(position, graph, node, summary, reads, target_pointer, types, lines,
                  comment="serial: stores may land on one element twice, and the first bad "
                          "index is reported"):
    """A kernel written as its own C lines (gathers, scatters, scans, copies, randperm): it
    returns non-zero to stop the call (a bad index)."""
    return {
        "name": f"kernel{position}_{node.op}",
        "output": node.name,
        "summary": summary,
        "nodes": [f"%{node.name} = {node.op}"],
        "locations": sorted({getattr(graph, "locations", {}).get(node.name)} - {None}) or ["?"],
        **_signature(reads, [target_pointer], types),
        "numel": _numel(node.shape), "loads": [], "temporaries": [],
        "result": "", "output_pointer": target_pointer, "reduction": None,
        "gemm": None, "lines": lines, "fails": True, "comment": comment,
    }


BLAS_MINIMUM = 16384  # multiply-adds below which a loop nest beats a BLAS call


def _blas_operand(rows, columns, row_stride, column_stride):
    """(transposed?, leading dimension) for a row-major BLAS call, or None."""
    if column_stride == 1 and row_stride >= max(columns, 1):
        return False, row_stride
    if row_stride == 1 and column_stride >= max(rows, 1):
        return True, column_stride
    return None


def _gemm_lines(a, b, a_layout, b_layout, batch, m, k, n, pointers, target, ctype):
    """C lines calling BLAS once per batch entry, or None when the layouts do not allow it."""
    from . import blas
    if blas.library_dir() is None or m * n * k < BLAS_MINIMUM:
        return None
    (a_shape, a_strides, a_base), (b_shape, b_strides, b_base) = a_layout, b_layout
    left = _blas_operand(m, k, a_strides[-2], a_strides[-1])
    right = _blas_operand(k, n, b_strides[-2], b_strides[-1])
    if left is None or right is None:
        return None
    lines = []
    batch_count = _numel(batch)
    a_offset = _offset(batch, tuple(a_shape[:-2]), tuple(a_strides[:-2]), a_base, flat=False)
    b_offset = _offset(batch, tuple(b_shape[:-2]), tuple(b_strides[:-2]), b_base, flat=False)
    lines.append(f"for (int64_t batch = 0; batch < {batch_count}; batch++) {{")
    lines += ["    " + line for line in _decode("batch", [(s, d) for d, s in enumerate(batch)])]
    one = "1.0f" if ctype == "float" else "1.0"
    zero = "0.0f" if ctype == "float" else "0.0"
    lines.append(f"    {blas.GEMM[ctype]}(101, {112 if left[0] else 111}, {112 if right[0] else 111}, "
                 f"{m}, {n}, {k}, {one}, {pointers[a]} + ({a_offset}), {left[1]}, "
                 f"{pointers[b]} + ({b_offset}), {right[1]}, {zero}, {target} + batch * {m * n}, {n});")
    lines.append("}")
    return lines


def _matmul_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                   draw=None):
    """out[..., i, j] = sum_k a[..., i, k] * b[..., k, j]: BLAS for products big enough to pay
    for the call (operands passed in place, transposed when that is their layout), else a
    reduction over k of the loop (batch..., i, k, j) reading both operands through their
    strides."""
    import numpy as np
    a, b = node.inputs
    (a_shape, a_strides, a_base), (b_shape, b_strides, b_base) = layouts[a], layouts[b]
    # a vector is a one-row matrix on the left and a one-column matrix on the right (the
    # product's memory is the same with that dim dropped, as torch drops it)
    if len(a_shape) == 1:
        a_shape, a_strides = (1,) + tuple(a_shape), (a_shape[0] * a_strides[0],) + tuple(a_strides)
    if len(b_shape) == 1:
        b_shape, b_strides = tuple(b_shape) + (1,), tuple(b_strides) + (1,)
    batch = tuple(np.broadcast_shapes(tuple(a_shape[:-2]), tuple(b_shape[:-2])))
    m, k, n = a_shape[-2], a_shape[-1], b_shape[-1]
    pointers = [pointer_of[a]] if pointer_of[a] == pointer_of[b] else [pointer_of[a], pointer_of[b]]
    signature = _signature(pointers, [target_pointer], types)
    if len(pointers) == 2 and (a_base or b_base):
        # each operand's start is passed (`in0_data + 256`), so that the products of an
        # unrolled loop's steps are one function (see loop_passes.share_identical_kernels)
        signature["arguments"] = ", ".join(
            [f"{pointer} + {base}" if base else pointer
             for pointer, base in zip(pointers, (a_base, b_base))] + [target_pointer])
        a_base = b_base = 0
    gemm = _gemm_lines(a, b, (a_shape, a_strides, a_base), (b_shape, b_strides, b_base), batch,
                       m, k, n, pointer_of, target_pointer, types.compute)
    loop_shape = batch + (m, k, n)
    # both operands on the loop (batch..., i, k, j): a has no j, b no i
    a_layout = (tuple(a_shape[:-2]) + (m, k, 1),
                tuple(a_strides[:-2]) + (a_strides[-2], a_strides[-1], 0), a_base)
    b_layout = (tuple(b_shape[:-2]) + (1, k, n),
                tuple(b_strides[:-2]) + (0, b_strides[-2], b_strides[-1]), b_base)
    numel = _numel(node.shape)
    return {
        "name": f"kernel{position}_matmul",
        "output": node.name,
        "summary": f"matmul of %{a} [{', '.join(map(str, a_shape))}] and %{b} "
                   f"[{', '.join(map(str, b_shape))}]",
        "nodes": [f"%{node.name} = matmul"],
        "locations": sorted({getattr(graph, "locations", {}).get(node.name)} - {None}) or ["?"],
        **signature,
        "numel": numel,
        "loop_shape": loop_shape,
        "loads": [{"symbol": "left", "pointer": pointer_of[a], "layout": a_layout,
                   "offset": _offset(loop_shape, *a_layout, flat=False)},
                  {"symbol": "right", "pointer": pointer_of[b], "layout": b_layout,
                   "offset": _offset(loop_shape, *b_layout, flat=False)}],
        "temporaries": [],
        "result": "left * right",
        "output_pointer": target_pointer,
        "reduction": None if gemm else {"count": k, "dims": (len(loop_shape) - 2,),
                                        "op": "sum", "attrs": {}},
        "pointers": pointers, "more_results": [],
        "gemm": gemm,
    }


def _linalg_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                   draw=None):
    """inverse, det, solve and cholesky through LAPACK (the OpenBLAS of scipy-openblas32): each
    matrix of the batch copied row-major, factored (getrf, gesv, potrf), and the result taken
    from the factors; a singular or not positive-definite matrix stops the call with eager's
    LinAlgError (LAPACK's info is the pivot or the order torch reports)."""
    from . import blas
    if blas.library_dir() is None:
        raise Unsupported(f"{node.op} needs LAPACK (the scipy-openblas32 wheel)")
    if node.op == "solve" and not node.attrs.get("left", True):
        raise Unsupported("solve with left=False (not compiled yet)")
    a = node.inputs[0]
    shape = layouts[a][0]
    n = shape[-1]
    batch = tuple(shape[:-2])
    element, f = types.of(pointer_of[a]), blas.LAPACK_PREFIX[types.of(pointer_of[a])]
    batched = int(len(shape) > 2)
    scratch = ["work", "pivots"]
    lines = _allocate([(element, "work", n * n), ("int", "pivots", n)])
    lines += [f"for (int64_t b = 0; b < {_numel(batch)}; b++) {{"]
    lines += ["    " + line for line in _decode("b", list(zip(batch, range(len(batch)))))]
    lines += _copy_matrix(pointer_of[a], layouts[a], "work", n, n)

    def fail(kind, detail):
        return ["    if (info > 0) {", *["        " + line for line in _release(scratch)],
                *["        " + line for line in report(kind, detail, "b", batched)],
                "        return 1;", "    }"]
    out = f"{target_pointer} + b * {n * n}"
    if node.op == "inverse":
        lines += [f"    int info = {f}getrf(101, {n}, {n}, work, {n}, pivots);"]
        lines += fail(ErrorKind.INVERSE_SINGULAR, "info")
        lines += [f"    {f}getri(101, {n}, work, {n}, pivots);",
                  f"    memcpy({out}, work, {n * n} * sizeof *work);"]
    elif node.op == "det":  # LU: the product of the pivots, negated per row swap
        lines += [f"    const int info = {f}getrf(101, {n}, {n}, work, {n}, pivots);",
                  "    double product = 1.0;",
                  f"    for (int i = 0; i < {n}; i++)",
                  f"        product *= (pivots[i] != i + 1 ? -1.0 : 1.0) * work[i * {n} + i];",
                  f"    {target_pointer}[b] = info > 0 ? 0.0 : product;"]
    elif node.op.startswith("slogdet"):  # the pivots' signs and the sum of their logs
        lines += [f"    const int info = {f}getrf(101, {n}, {n}, work, {n}, pivots);",
                  "    double sign = 1.0, logabs = 0.0;",
                  f"    for (int i = 0; i < {n}; i++) {{",
                  f"        const double pivot = work[i * {n} + i];",
                  "        sign *= (pivots[i] != i + 1 ? -1.0 : 1.0) * (pivot < 0 ? -1.0 : 1.0);",
                  "        logabs += log(fabs(pivot));", "    }",
                  f"    {target_pointer}[b] = info > 0 ? "
                  + ("0.0 : sign;" if node.op == "slogdet_sign" else "-INFINITY : logabs;")]
    elif node.op == "solve":
        right = node.inputs[1]
        r_shape, r_strides, r_base = layouts[right]
        columns = r_shape[-1] if len(r_shape) == len(shape) else 1
        if len(r_shape) != len(shape) and len(r_shape) != len(shape) - 1 or \
                tuple(r_shape[:len(batch)]) != batch:
            raise Unsupported("solve with a broadcast right-hand side (not compiled yet)")
        rhs = _offset(tuple(r_shape), tuple(r_shape), tuple(r_strides), r_base, flat=False)
        loops = [f"    for (int64_t idx{len(batch)} = 0; idx{len(batch)} < {n}; idx{len(batch)}++)"]
        if columns > 1 or len(r_shape) == len(shape):
            loops.append(f"        for (int64_t idx{len(batch) + 1} = 0; idx{len(batch) + 1} < "
                         f"{columns}; idx{len(batch) + 1}++)")
            place = f"idx{len(batch)} * {columns} + idx{len(batch) + 1}"
        else:
            place = f"idx{len(batch)}"
        out = f"{target_pointer} + b * {n * columns}"
        lines += loops + [f"            ({out})[{place}] = {pointer_of[right]}[{rhs}];",
                          f"    int info = {f}gesv(101, {n}, {columns}, work, {n}, pivots, "
                          f"{out}, {columns});"]
        lines += fail(ErrorKind.SOLVE_SINGULAR, "info")
    else:  # cholesky: the factor, the other triangle zeroed
        upper = bool(node.attrs.get("upper", False))
        lines += [f"    int info = {f}potrf(101, '{'U' if upper else 'L'}', {n}, work, {n});"]
        lines += fail(ErrorKind.CHOLESKY_NOT_POSITIVE_DEFINITE, "info")
        lines += [f"    for (int i = 0; i < {n}; i++)",
                  f"        for (int j = 0; j < {n}; j++)",
                  f"            ({out})[i * {n} + j] = "
                  f"{'j >= i' if upper else 'j <= i'} ? work[i * {n} + j] : 0;"]
    lines += ["}"] + _release(scratch)
    reads = list(dict.fromkeys(pointer_of[o] for o in node.inputs))
    return _lines_kernel(position, graph, node, f"{node.op} of %{a} (LAPACK)", reads,
                         target_pointer, types, lines, comment="one matrix of the batch at a time")


def _factorisation_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                          draw=None):
    """svd (gesdd), eigh (syevd) and qr (geqrf, orgqr) through LAPACK, the routines numpy's
    own LAPACK runs, so the results (signs of singular and eigenvectors included) are eager's
    to rounding. Each matrix of the batch is copied row-major, factored, and the part the op
    asks for written out."""
    from . import blas
    if blas.library_dir() is None:
        raise Unsupported(f"{node.op} needs LAPACK (the scipy-openblas32 wheel)")
    if node.op.startswith("qr") and node.attrs["mode"] != "reduced" and not (
            node.op == "qr_r" and node.attrs["mode"] == "r"):
        raise Unsupported(f"qr with mode={node.attrs['mode']!r} (not compiled yet)")
    a = node.inputs[0]
    shape = layouts[a][0]
    m, n = shape[-2], shape[-1]
    k, batch = min(m, n), tuple(shape[:-2])
    element, f = types.of(pointer_of[a]), blas.LAPACK_PREFIX[types.of(pointer_of[a])]
    per_matrix = _numel(node.shape) // max(_numel(batch), 1)
    full = bool(node.attrs.get("full_matrices", False))
    u_columns, vt_rows = (m, n) if full else (k, k)
    scratch = ["work", "values", "u", "vt"]
    lines = _allocate([(element, "work", m * n), (element, "values", max(m, n)),
                       (element, "u", m * u_columns), (element, "vt", vt_rows * n)])
    lines += [f"for (int64_t b = 0; b < {_numel(batch)}; b++) {{"]
    lines += ["    " + line for line in _decode("b", list(zip(batch, range(len(batch)))))]
    lines += _copy_matrix(pointer_of[a], layouts[a], "work", m, n)
    out = f"{target_pointer}[b * {per_matrix} + "
    if node.op.startswith("svd"):
        job = "N" if node.op == "svd_s" else ("A" if full else "S")
        lines += [f"    int info = {f}gesdd(101, '{job}', {m}, {n}, work, {n}, values, u, "
                  f"{u_columns}, vt, {n});"]
        written = {"svd_s": (k, 1, "values[i]"),
                   "svd_u": (m, u_columns, f"u[i * {u_columns} + j]"),
                   "svd_vh": (vt_rows, n, f"vt[i * {n} + j]"),
                   "svd_v": (n, vt_rows, f"vt[j * {n} + i]")}[node.op]
    elif node.op.startswith("eigh"):
        job = "V" if node.op == "eigh_vectors" else "N"
        lines += [f"    int info = {f}syevd(101, '{job}', '{node.attrs['uplo']}', {n}, work, {n}, "
                  "values);"]
        written = (n, n, f"work[i * {n} + j]") if job == "V" else (n, 1, "values[i]")
    else:  # qr: R is the upper triangle of the factored rows, Q rebuilt from the reflectors
        lines += [f"    int info = {f}geqrf(101, {m}, {n}, work, {n}, values);"]
        if node.op == "qr_q":
            lines += ["    if (info == 0)",
                      f"        info = {f}orgqr(101, {m}, {k}, {k}, work, {n}, values);"]
            written = (m, k, f"work[i * {n} + j]")
        else:
            written = (k, n, f"(j >= i ? work[i * {n} + j] : 0)")
    lines += ["    if (info != 0) {", *["        " + line for line in _release(scratch)],
              *["        " + line for line in report(ErrorKind.LAPACK_FAILED, "info", "b")],
              "        return 1;", "    }"]
    out_rows, out_columns, value = written
    lines += [f"    for (int64_t i = 0; i < {out_rows}; i++)",
              f"        for (int64_t j = 0; j < {out_columns}; j++)",
              f"            {out}i * {out_columns} + j] = {value};",
              "}"] + _release(scratch)
    return _lines_kernel(position, graph, node, f"{node.op} of %{a} (LAPACK)",
                         [pointer_of[a]], target_pointer, types, lines,
                         comment="one matrix of the batch at a time")


def _matrix_norm_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                        draw=None):
    """matrix_norm over the last two dims: ±1 and ±inf from column or row sums of |x|, ±2 and
    'nuc' from the singular values (gesdd, as numpy)."""
    from . import blas
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
    read = _offset(tuple(shape), tuple(shape), tuple(strides), base, flat=False)
    scratch = ["sums", "work"]
    lines = _allocate([("double", "sums", max(m, n)), ("double", "work", m * n)])
    lines += [f"for (int64_t b = 0; b < {_numel(batch)}; b++) {{"]
    lines += ["    " + line for line in _decode("b", list(zip(batch, range(len(batch)))))]
    if order in ("nuc", 2, -2):
        count = min(m, n)
        lines += _copy_matrix(pointer_of[source], layouts[source], "work", m, n)
        lines += ["    double unused;",
                  f"    if (scipy_LAPACKE_dgesdd(101, 'N', {m}, {n}, work, {n}, sums, &unused, 1, "
                  "&unused, 1) != 0) {", *["        " + line for line in _release(scratch)],
                  *["        " + line for line in report(ErrorKind.LAPACK_FAILED, size="b")],
                  "        return 1;", "    }"]
    else:  # the sums of |x| down the columns (order ±1) or along the rows (±inf)
        down = abs(order) == 1
        count = n if down else m
        lines += [f"    for (int64_t k = 0; k < {count}; k++)", "        sums[k] = 0.0;",
                  f"    for (int64_t idx{rows} = 0; idx{rows} < {m}; idx{rows}++)",
                  f"        for (int64_t idx{columns} = 0; idx{columns} < {n}; idx{columns}++)",
                  f"            sums[idx{columns if down else rows}] += "
                  f"fabs((double){pointer_of[source]}[{read}]);"]
    if order == "nuc":
        lines += ["    double result = 0.0;", f"    for (int64_t k = 0; k < {count}; k++)",
                  "        result += sums[k];"]
    elif order > 0:  # the largest (0 for an empty matrix, numpy's initial)
        lines += ["    double result = 0.0;", f"    for (int64_t k = 0; k < {count}; k++)",
                  "        result = sums[k] > result || sums[k] != sums[k] ? sums[k] : result;"]
    else:
        lines += ["    double result = INFINITY;", f"    for (int64_t k = 0; k < {count}; k++)",
                  "        result = sums[k] < result || sums[k] != sums[k] ? sums[k] : result;"]
    lines += [f"    {target_pointer}[b] = result;", "}"] + _release(scratch)
    return _lines_kernel(position, graph, node, f"matrix_norm of order {order!r} of %{source}",
                         [pointer_of[source]], target_pointer, types, lines,
                         comment="one matrix of the batch at a time")


# the lowerings not yet moved to codegen/lower, by family (lower/__init__.py merges them)
_MEMORY_KERNELS = {
    # products
    "matmul": _matmul_kernel,
    # linear algebra
    **{op: _linalg_kernel for op in _LINEAR_SYSTEMS},
    **{op: _factorisation_kernel for op in _FACTORISATIONS},
    "matrix_norm": _matrix_norm_kernel,
}
