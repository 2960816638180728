"""The kernel IR of fused elementwise kernels and reductions, from codegen/fusion.py's fused
kernel (its loads, each with the index it is read at; sympy's common subexpressions, as
`t0 = ...`; its results), after the loop passes (codegen/loop_passes.py) merged and split them:
- elementwise: one parallel loop over the output's elements (or over rows of its last dim, when
  the loads need index arithmetic: the inner loop has no division and vectorises);
- reductions: a parallel loop over the outputs, each folding its elements in double, in order
  (argmax/argmin keep the position of the first extreme value or the first NaN)."""
import re

from .. import kernel as k

__all__ = ["elementwise_ir", "reduction_ir", "FOLDS", "fold_of"]

_VALUE, _ACCUMULATOR = k.Var("value"), k.Var("accumulator")


def _either(left, right):
    return left.or_(right)


def _is_nan(x):
    return x.ne(x)


# how each reduction starts and folds `value` in (a sum when absent); NaN propagates, as torch's
FOLDS = {
    "amax": (k.Const("-INFINITY"), k.Select(_either(_VALUE.gt(_ACCUMULATOR), _is_nan(_VALUE)),
                                            _VALUE, _ACCUMULATOR)),
    "amin": (k.Const("INFINITY"), k.Select(_either(_VALUE.lt(_ACCUMULATOR), _is_nan(_VALUE)),
                                           _VALUE, _ACCUMULATOR)),
    # the first extreme value wins; the first NaN beats everything (as torch's argmax)
    "argmax": (k.Const("-INFINITY"), k.Select(_either(_VALUE.gt(_ACCUMULATOR), _is_nan(
        _VALUE).and_(_ACCUMULATOR.eq(_ACCUMULATOR))), _VALUE, _ACCUMULATOR)),
    "argmin": (k.Const("INFINITY"), k.Select(_either(_VALUE.lt(_ACCUMULATOR), _is_nan(
        _VALUE).and_(_ACCUMULATOR.eq(_ACCUMULATOR))), _VALUE, _ACCUMULATOR)),
    "all": (k.Const(1.0), k.Select(_VALUE.ne(0).and_(_ACCUMULATOR.ne(0)), k.Const(1.0),
                                   k.Const(0.0))),
    "any": (k.Const(0.0), k.Select(_VALUE.ne(0).or_(_ACCUMULATOR.ne(0)), k.Const(1.0),
                                   k.Const(0.0))),
    "prod": (k.Const(1.0), _ACCUMULATOR * _VALUE),
}


def finished(op, attrs, count):
    """The accumulator as the reduction's result: the mean's division, a norm's root."""
    if op == "mean":
        return _ACCUMULATOR / k.Const(float(count))
    if op == "vector_norm":
        order = float(attrs["ord"])
        if order == 2:
            return k.Call("sqrt", (_ACCUMULATOR,))
        return _ACCUMULATOR if order == 1 else k.Call("pow", (_ACCUMULATOR, k.Const(1.0 / order)))
    return _ACCUMULATOR


def _formula(kernel, text):
    """The formula `text` of the kernel, reading those of its loads and shared subexpressions
    it names (a load no formula names is then a dead Let, and is not printed)."""
    named = set(_IDENTIFIER.findall(text))
    return k.Formula(text, tuple(name for name in [load["symbol"] for load in kernel.loads]
                                 + [name for name, _ in kernel.temporaries] if name in named))


_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _reads(kernel, ctype):
    """The loads of one element (or one term of a reduction) and the shared subexpressions."""
    body = [k.Let(load["symbol"], load.get("ctype", ctype), k.Load(load["pointer"], load["at"]))
            for load in kernel.loads]
    return body + [k.Let(name, (kernel.temporary_ctype or ctype), _formula(kernel, value))
                   for name, value in kernel.temporaries]


def _element(kernel, ctype):
    """What one element computes: its reads, then its stores at i."""
    stores = [(kernel.output_pointer, kernel.result)] + list(kernel.more_results)
    return _reads(kernel, ctype) + [k.Store(pointer, k.Var("i"), _formula(kernel, value))
                                    for pointer, value in stores]


def elementwise_ir(kernel, ctype):
    shape, numel, split = kernel.loop_shape, kernel.numel, kernel.split
    if split:  # rows of the last dim: no index division in the inner loop
        last = len(shape) - 1
        lets, _ = k.multi_index(k.Var("outer"), shape[:-1])
        inner = k.Loop(f"idx{last}", split["inner"], (
            k.Let("i", "int64_t", k.Var("outer") * split["inner"] + k.Var(f"idx{last}")),
            *_element(kernel, ctype)))
        loop = k.Loop("outer", split["outer"], (*lets, inner), k.PARALLEL, work=numel)
        comment = f"rows of {split['inner']}: the inner loop has no index division, so it " \
                  "vectorises"
    else:
        lets, _ = k.multi_index(k.Var("i"), shape)
        loop = k.Loop("i", numel, (*lets, *_element(kernel, ctype)), k.PARALLEL)
        comment = "one pass over the elements"
    return _kernel(kernel, [loop], comment)


def reduction_ir(kernel, ctype, op, attrs):
    """One output o per iteration of the outer loop, its elements r folded in order."""
    shape, reduction = kernel.loop_shape, kernel.reduction
    dims = reduction["dims"]
    kept = [d for d in range(len(shape)) if d not in dims]
    outer, _ = k.multi_index(k.Var("o"), [shape[d] for d in kept], dims=kept)
    inner, _ = k.multi_index(k.Var("r"), [shape[d] for d in dims], dims=dims)
    start, combine = FOLDS.get(op, (k.Const(0.0), None))
    loads = _reads(kernel, ctype)
    value = _formula(kernel, kernel.result)
    position = op in ("argmax", "argmin")  # the position of the first extreme value (or NaN)
    if position:
        folded = k.Var("folded")
        better = folded.ne(_ACCUMULATOR).and_(_is_nan(folded).and_(_is_nan(_ACCUMULATOR)).not_())
        fold = [k.Let("value", "double", value), k.Let("folded", "double", combine),
                k.If(better, (k.Assign(_ACCUMULATOR, folded), k.Assign(k.Var("position"),
                                                                      k.Var("r"))))]
    elif combine is not None:
        fold = [k.Let("value", "double", value), k.Assign(_ACCUMULATOR, combine)]
    else:
        fold = [k.Assign(_ACCUMULATOR, value, "+=")]
    count = reduction["count"]
    result = k.Var("position") if position else k.Cast((kernel.output_ctype or ctype),
                                                       finished(op, attrs, count))
    body = [*outer, k.Let("accumulator", "double", start, mutable=True)]
    body += [k.Let("position", "int64_t", k.Const(0), mutable=True)] if position else []
    body += [k.Loop("r", count, (*inner, *loads, *fold), fold=fold_of(op, combine)),
             k.Store(kernel.output_pointer, k.Var("o"), result)]
    loop = k.Loop("o", kernel.numel, tuple(body), k.PARALLEL,
                  work=count * kernel.numel if kernel.numel > 1 else 0)
    return _kernel(kernel, [loop], f"{count} elements reduced into each of {kernel.numel} "
                                   "outputs, accumulated in double")


def fold_of(op, combine=None):
    """How two parts of a reduction combine (codegen/kernel.py's Fold): a sum adds, the other
    folds take the other part's accumulator as their value, and argmax/argmin keep the better
    of two (value, position) candidates: a NaN over a number, the extreme value, and on ties
    (two NaNs or equal values) the earlier position, so that any grouping finds the serial
    loop's first extreme."""
    other = k.Var("other_accumulator")
    if op in ("argmax", "argmin"):
        earlier = k.Var("other_position").lt(k.Var("position"))
        beyond = other.gt(_ACCUMULATOR) if op == "argmax" else other.lt(_ACCUMULATOR)
        numbers = _is_nan(_ACCUMULATOR).not_()
        better = _is_nan(other).and_(numbers.or_(earlier)).or_(
            numbers.and_(beyond.or_(other.eq(_ACCUMULATOR).and_(earlier))))
        return k.Fold(("accumulator", "position"), (k.If(better, (
            k.Assign(_ACCUMULATOR, other), k.Assign(k.Var("position"),
                                                   k.Var("other_position")))),))
    if combine is None:
        return k.Fold(("accumulator",), (k.Assign(_ACCUMULATOR, other, "+="),))
    return k.Fold(("accumulator",), (k.Let("value", "double", other),
                                     k.Assign(_ACCUMULATOR, combine)))


def _kernel(kernel, body, comment):
    pointers = [kernel.output_pointer] + [pointer for pointer, _ in kernel.more_results]
    return k.Kernel(kernel.name, list(kernel.pointers), pointers, body, comment=comment)
