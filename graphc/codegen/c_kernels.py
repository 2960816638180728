"""The C kernels not yet built as kernel IR (codegen/lower): linear algebra through LAPACK. Each builder returns a kernel description for
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
    # linear algebra
    **{op: _linalg_kernel for op in _LINEAR_SYSTEMS},
    **{op: _factorisation_kernel for op in _FACTORISATIONS},
    "matrix_norm": _matrix_norm_kernel,
}
