"""The C kernels of values computed into memory of their own: matrix products (BLAS or a loop
nest), sorts, linear algebra (LAPACK) and the draws of random ops. Each builder returns a
kernel description for templates/c/elementwise.c.j2; `_MEMORY_KERNELS` finds the builder of an
op."""
from .. import dtypes as _dt
from .errors import ErrorKind, report
from .c_layout import (Unsupported, _decode, _index_lines, _numel, _offset,
                       _row_major, _signature)


_RANDOM = ("uniform", "normal", "randperm", "bernoulli", "exponential", "randint",
           "multinomial")


_SORTED = ("sort_indices", "topk_indices", "kthvalue_indices", "median_indices", "median_all",
           "mode_indices")


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
        "result": "", "output_pointer": target_pointer, "reduction": None, "random": None,
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
        "random": None,
        "gemm": gemm,
    }


def _randperm_kernel(position, graph, node, target_pointer, layouts, pointer_of, types, index):
    """randperm(n): the indices stably sorted by one 64-bit Philox key each (graphc.random's
    recipe), through qsort on (key, index) pairs."""
    n = node.attrs["n"]
    lines = _allocate([("graphc_keyed", "keyed", n)])
    lines += [f"for (int64_t b = 0; b < {-(-n // 2)}; b++) {{  /* two keys per Philox block */",
              "    uint32_t w[4];",
              "    graphc_philox(seed, offset + (uint64_t)b, w);",
              "    for (int64_t k = 0; k < 2; k++) {",
              "        const int64_t i = 2 * b + k;",
              f"        if (i < {n}) {{",
              "            keyed[i].key = ((uint64_t)w[2 * k] << 32) | w[2 * k + 1];",
              "            keyed[i].index = i;",
              "        }", "    }", "}",
              f"qsort(keyed, {n}, sizeof *keyed, graphc_keyed_compare);",
              f"for (int64_t i = 0; i < {n}; i++)",
              f"    {target_pointer}[i] = keyed[i].index;"] + _release(["keyed"])
    return _draw_kernel(position, graph, node, target_pointer, types, index, lines,
                        f"randperm draw {index} ({n} values)", comment="keys, then one sort")


def _sort_kernel(position, graph, node, target_pointer, layouts, pointer_of, types, draw=None):
    """sort/argsort, topk, kthvalue, median and nanmedian: each line along `dim` copied as
    (value, index) pairs and qsort-ed in eager's stable order (equal values keep their order;
    NaN last ascending, first descending), then the positions the op asks for written out."""
    source = node.inputs[0]
    shape, strides, base = layouts[source]
    if node.op == "median_all":  # all elements as one line
        dim, others, size = None, [], _numel(shape)
    else:
        dim = node.attrs["dim"] % len(shape)
        others, size = [(n, d) for d, n in enumerate(shape) if d != dim], shape[dim]
    descending = node.attrs.get("descending") or node.attrs.get("largest", False)
    order = "graphc_descending" if descending else "graphc_ascending"
    lines = _allocate([("graphc_ranked", "line", size)]) + [
             f"for (int64_t o = 0; o < {_numel(n for n, _ in others)}; o++) {{"]
    lines += ["    " + line for line in _decode("o", others)]
    if dim is None:
        read = _offset(tuple(shape), *layouts[source], flat=False)
        lines += [f"    for (int64_t i = 0; i < {size}; i++) {{"]
        lines += ["        " + line for line in _index_lines(tuple(shape))]
        lines += [f"        line[i].value = {pointer_of[source]}[{read}];",
                  "        line[i].index = i;", "    }"]
    else:
        read = _offset(tuple(shape), *layouts[source], flat=False)
        lines += [f"    for (int64_t idx{dim} = 0; idx{dim} < {size}; idx{dim}++) {{",
                  f"        line[idx{dim}].value = {pointer_of[source]}[{read}];",
                  f"        line[idx{dim}].index = idx{dim};", "    }"]
    lines += [f"    qsort(line, {size}, sizeof *line, {order});"]
    # the result, row-major over the input's shape with `count` along dim
    count = {"sort_indices": size, "topk_indices": node.attrs.get("k")}.get(node.op, 1)
    if dim is not None:
        kept = tuple(shape[:dim]) + (count,) + tuple(shape[dim + 1:])
        written = _offset(kept, kept, _row_major(kept), 0, flat=False)
    if node.op in ("sort_indices", "topk_indices"):
        lines += [f"    for (int64_t idx{dim} = 0; idx{dim} < {count}; idx{dim}++)",
                  f"        {target_pointer}[{written}] = line[idx{dim}].index;"]
    elif node.op == "mode_indices":  # the end of the first longest run of equal values
        lines += ["    int64_t best = 0, longest = -1, start = 0;",
                  f"    for (int64_t j = 0; j < {size}; j++) {{",
                  "        if (j > 0 && !(line[j].value == line[j - 1].value))",
                  "            start = j;  /* NaN equals nothing: a run of its own */",
                  "        if (j - start > longest) {",
                  "            longest = j - start;", "            best = j;", "        }",
                  "    }",
                  f"    const int64_t idx{dim} = 0;",
                  f"    {target_pointer}[{written}] = line[best].index;"]
    elif node.op == "kthvalue_indices":
        lines += [f"    const int64_t idx{dim} = 0;",
                  f"    {target_pointer}[{written}] = line[{node.attrs['k'] - 1}].index;"]
    else:  # medians: NaN sorts last, so `present` values come first
        lines += [f"    int64_t present = {size};",
                  "    while (present > 0 && line[present - 1].value != line[present - 1].value)",
                  "        present--;"]
        if node.attrs["ignore_nan"]:
            pick = "line[(present > 0 ? present - 1 : 0) / 2]"
        else:  # torch.median: the first NaN, if any
            pick = f"line[present < {size} ? present : ({size} - 1) / 2]"
        if node.op == "median_all":
            lines += [f"    {target_pointer}[0] = present == 0 || "
                      + ("0" if node.attrs["ignore_nan"] else f"present < {size}")
                      + f" ? NAN : {pick}.value;"]
        else:
            lines += [f"    const int64_t idx{dim} = 0;",
                      f"    {target_pointer}[{written}] = {pick}.index;"]
    lines += ["}"] + _release(["line"])
    return _lines_kernel(position, graph, node, f"{node.op} of %{source}"
                         + ("" if dim is None else f" along dim {dim}"),
                         [pointer_of[source]], target_pointer, types, lines,
                         comment="each line sorted in eager's stable order")


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


def _multinomial_kernel(position, graph, node, target_pointer, layouts, pointer_of, types,
                        index):
    """multinomial, as graphc.random specifies it: every probability checked first (eager's
    RuntimeErrors), then per row either inverse-CDF sampling with replacement (the first
    cumulative sum above v * total, never past the last positive weight) or, without, the
    first `num_samples` of a stable sort by -log(1 - v) / p."""
    source = node.inputs[0]
    shape, strides, base = layouts[source]
    k = shape[-1]
    rows = _numel(shape[:-1])
    samples, replacement = node.attrs["num_samples"], node.attrs["replacement"]
    row_stride = strides[-2] if len(shape) == 2 else 0
    p = f"{pointer_of[source]}[{base} + r * {row_stride} + i * {strides[-1]}]"
    lines = [f"for (int64_t r = 0; r < {rows}; r++)  /* the checks eager makes first */",
             f"    for (int64_t i = 0; i < {k}; i++)",
             f"        if (!isfinite((double){p}) || {p} < 0) {{",
             *["            " + line for line in report(
                 ErrorKind.MULTINOMIAL_INVALID_PROBABILITY)], "            return 1;", "        }",
             f"for (int64_t r = 0; r < {rows}; r++) {{",
             "    double total = 0.0;",
             f"    for (int64_t i = 0; i < {k}; i++)",
             f"        total += {p};",
             "    if (!(total > 0)) {",
             *["        " + line for line in report(ErrorKind.MULTINOMIAL_NONPOSITIVE_SUM)],
             "        return 1;", "    }", "}",
             *_allocate([("double", "cumulative", k), ("graphc_ranked", "line", k)]),
             f"for (int64_t r = 0; r < {rows}; r++) {{"]
    if replacement:
        lines += ["    double running = 0.0;", "    int64_t last_positive = 0;",
                  f"    for (int64_t i = 0; i < {k}; i++) {{",
                  f"        running += {p};", "        cumulative[i] = running;",
                  f"        if ({p} > 0)", "            last_positive = i;", "    }",
                  f"    for (int64_t j = 0; j < {samples}; j++) {{",
                  f"        const double v = graphc_uniform53(seed, offset, r * {samples} + j);",
                  f"        const double target = v * cumulative[{k - 1}];",
                  f"        int64_t low = 0, high = {k};  /* the first cumulative > target */",
                  "        while (low < high) {",
                  "            const int64_t middle = (low + high) / 2;",
                  "            if (cumulative[middle] > target)",
                  "                high = middle;", "            else",
                  "                low = middle + 1;", "        }",
                  f"        {target_pointer}[r * {samples} + j] = "
                  "low < last_positive ? low : last_positive;", "    }"]
    else:
        lines += [f"    for (int64_t i = 0; i < {k}; i++) {{",
                  f"        const double v = graphc_uniform53(seed, offset, r * {k} + i);",
                  f"        line[i].value = {p} > 0 ? -log(1.0 - v) / {p} : INFINITY;",
                  "        line[i].index = i;", "    }",
                  f"    qsort(line, {k}, sizeof *line, graphc_ascending);",
                  f"    for (int64_t j = 0; j < {samples}; j++)",
                  f"        {target_pointer}[r * {samples} + j] = line[j].index;"]
    lines += ["}"] + _release(["cumulative", "line"])
    return _draw_kernel(position, graph, node, target_pointer, types, index, lines,
                        f"multinomial draw {index} ({rows} x {samples}, "
                        f"{'with' if replacement else 'without'} replacement)",
                        [pointer_of[source]], comment="checks, then each row drawn")


def _draw_kernel(position, graph, node, target_pointer, types, index, lines, summary, reads=(),
                 comment="element i of the draw, in row-major order: eager's numbers"):
    """A draw written as its own C lines, taking the (seed, offset) the call claimed."""
    signature = _signature(list(reads), [target_pointer], types)
    return _lines_kernel(position, graph, node, summary, list(reads), target_pointer, types,
                         lines, comment) | {
        "parameters": f"uint64_t seed, uint64_t offset, {signature['parameters']}",
        "arguments": f"seed{index}, offset{index}, {signature['arguments']}",
    }


def _word_draw_kernel(position, graph, node, target_pointer, layouts, pointer_of, types, index):
    """bernoulli, exponential_ and randint from Philox words, as graphc.random specifies them:
    bernoulli compares word * 2^-32 with p (a number or a tensor of probabilities);
    exponential_ is -log(1 - v) / lambd on the normal recipe's uniforms; randint is
    low + word % span (two words per value when the span passes 2^32)."""
    shape = tuple(node.shape)
    n = _numel(shape)
    reads, prologue = [], []
    if node.op == "bernoulli":
        per_block, p = 4, node.inputs[0]
        if p in layouts:  # a tensor of probabilities, each checked as eager checks them
            reads.append(pointer_of[p])
            p = f"(double){pointer_of[p]}[{_offset(shape, *layouts[p], flat=False)}]"
            prologue = _index_lines(shape) + [f"if (!({p} >= 0 && {p} <= 1)) {{",
                                              *["    " + line for line in report(
                                                  ErrorKind.BERNOULLI_P_OUT_OF_RANGE)],
                                              "    return 1;", "}"]
        value = f"((double)w[k] * 0x1p-32 < {p}) ? 1 : 0"
    elif node.op == "exponential":
        bits = 24 if node.dtype is _dt.float32 else 53
        per_block = 4 if bits <= 32 else 2
        value = f"-log(1.0 - uniform[k]) / {float(node.attrs['lambd'])!r}"
        prologue = None  # uniforms, not raw words
    else:
        low, span = int(node.attrs["low"]), int(node.attrs["high"]) - int(node.attrs["low"])
        if span <= 1 << 32:
            per_block, word = 4, "(uint64_t)w[k]"
        else:
            per_block, word = 2, "(((uint64_t)w[2 * k] << 32) | w[2 * k + 1])"
        drawn = word if span == 1 << 64 else f"{word} % {span}u"
        value = f"(int64_t)((uint64_t){low} + {drawn})"
    if prologue is None:
        lines = [f"for (int64_t b = 0; b < {-(-n // per_block)}; b++) {{",
                 "    double uniform[4];",
                 f"    graphc_uniform_block(seed, offset, b, {bits}, uniform);"]
    else:
        lines = [f"for (int64_t b = 0; b < {-(-n // per_block)}; b++) {{",
                 "    uint32_t w[4];",
                 "    graphc_philox(seed, offset + (uint64_t)b, w);"]
    lines += [f"    for (int64_t k = 0; k < {per_block}; k++) {{",
              f"        const int64_t i = b * {per_block} + k;",
              f"        if (i >= {n})", "            break;"]
    lines += ["        " + line for line in (prologue or [])]
    lines += [f"        {target_pointer}[i] = {value};", "    }", "}"]
    return _draw_kernel(position, graph, node, target_pointer, types, index, lines,
                        f"{node.op} draw {index} ({n} values)", reads)


def _random_kernel(position, graph, node, target_pointer, layouts, pointer_of, types, index):
    """A draw of uniform or normal numbers, element i from the stream word graphc.random's
    recipe assigns to it (the runner claims seed and offset from the generator per call)."""
    ctype, dtype = types.of(target_pointer), node.dtype
    numel = _numel(node.shape)
    attrs = node.attrs
    bits = 24 if dtype is _dt.float32 else 53
    per_block = 4 if bits <= 32 else 2
    value = "values[k]"
    if node.op == "uniform":
        if (attrs["low"], attrs["high"]) != (0.0, 1.0):
            value = f"({float(attrs['high']) - float(attrs['low'])!r} * {value} + {float(attrs['low'])!r})"
    elif (attrs["mean"], attrs["std"]) != (0.0, 1.0):
        value = f"({value} * {float(attrs['std'])!r} + {float(attrs['mean'])!r})"
    random = {"block": f"graphc_{node.op}_block", "bits": bits, "per_block": per_block,
              "blocks": -(-numel // per_block), "ragged": numel % per_block != 0,
              "value": f"({ctype}){value}"}
    return {
        "name": f"kernel{position}_{node.op}",
        "output": node.name,
        "summary": f"{node.op} draw {index} ({numel} values)",
        "nodes": [f"%{node.name} = {node.op}"],
        "locations": sorted({getattr(graph, "locations", {}).get(node.name)} - {None}) or ["?"],
        "parameters": f"uint64_t seed, uint64_t offset, {ctype} *restrict {target_pointer}",
        "arguments": f"seed{index}, offset{index}, {target_pointer}",
        "numel": numel, "loads": [], "temporaries": [],
        "result": "", "output_pointer": target_pointer, "reduction": None,
        "random": random,
        "gemm": None,
    }


# the lowerings not yet moved to codegen/lower, by family (lower/__init__.py merges them)
_MEMORY_KERNELS = {
    # products
    "matmul": _matmul_kernel,
    # sorting
    **{op: _sort_kernel for op in _SORTED},
    # linear algebra
    **{op: _linalg_kernel for op in _LINEAR_SYSTEMS},
    **{op: _factorisation_kernel for op in _FACTORISATIONS},
    "matrix_norm": _matrix_norm_kernel,
    # draws
    "randperm": _randperm_kernel, "uniform": _random_kernel, "normal": _random_kernel,
    "bernoulli": _word_draw_kernel, "exponential": _word_draw_kernel,
    "randint": _word_draw_kernel, "multinomial": _multinomial_kernel,
}
