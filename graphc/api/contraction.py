"""Contractions: einsum, tensordot and cdist, composed of existing ops (diagonal, permute,
reshape, sum, bmm, mul, vector_norm), so that autograd and graphc.compile see only ops they
already know and no new primitive is needed.

einsum contracts its operands left to right, as torch does without opt_einsum: each pair is
permuted to (batch, kept, summed) and multiplied with one bmm, or with a broadcasting mul when
no subscript is summed (torch's rule, which is also why bmm's dtype check applies only then).
"""
import math

import numpy as np

from .. import dispatch as _dispatch
from .elementwise import mul as _mul
from .linalg import bmm as _bmm, vector_norm as _vector_norm
from .reductions import sum as _sum
from .shape import (diagonal as _diagonal, expand as _expand, permute as _permute,
                    reshape as _reshape, unsqueeze as _unsqueeze, wrap_dim as _wrap_dim)

__all__ = ["einsum", "tensordot", "cdist"]
NOT_METHODS = __all__

_ELLIPSIS = "..."


def _check_tensor(value, position, argument):
    if not isinstance(value, _dispatch.Tensor):
        raise TypeError(f"expected Tensor as element {position} in argument {argument}, but got "
                        f"{type(value).__name__}")


def _parse_operand(text, start, index):
    """The subscripts of one operand: letters and at most one ELLIPSIS."""
    tokens, position = [], 0
    while position < len(text):
        character = text[position]
        if character == ".":
            if _ELLIPSIS in tokens:
                raise RuntimeError(f"einsum(): found '.' for operand {index} for which an "
                                   "ellipsis was already found")
            if text[position:position + 3] != "...":
                raise RuntimeError(f"einsum(): found '.' for operand {index} that is not part of "
                                   "any ellipsis")
            tokens.append(_ELLIPSIS)
            position += 3
            continue
        if not ("a" <= character <= "z" or "A" <= character <= "Z"):
            raise RuntimeError(f"einsum(): invalid subscript given at index {start + position} in "
                               "the equation string, subscripts must be in [a-zA-Z]")
        tokens.append(character)
        position += 1
    return tokens


def _parse(equation, count):
    """(per operand: its subscripts, the output's subscripts or None when implicit). Spaces are
    ignored, as torch ignores them."""
    equation = equation.replace(" ", "")
    arrow = equation.find("->")
    inputs = equation if arrow < 0 else equation[:arrow]
    terms, start = [], 0
    for index, text in enumerate(inputs.split(",")):
        terms.append(_parse_operand(text, start, index))
        start += len(text) + 1
    if len(terms) < count:
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    if len(terms) > count:
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    if arrow < 0:
        return terms, None
    output = _parse_operand(equation[arrow + 2:], arrow + 2, "output")
    return terms, output


def _labelled(terms, operands):
    """Each operand's dims as labels: its letters, and for the dims an ellipsis covers the
    integers 0..E-1 (E the widest ellipsis, aligned to the right as broadcasting aligns)."""
    widths = []
    for index, (tokens, operand) in enumerate(zip(terms, operands)):
        letters = len(tokens) - (_ELLIPSIS in tokens)
        ndim = operand._data.ndim
        if _ELLIPSIS in tokens:
            if ndim < letters:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({letters})"
                                   f" is more than the number of dimensions ({ndim}) for operand "
                                   f"{index}")
        elif ndim != letters:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({letters}) "
                               f"does not match the number of dimensions ({ndim}) for operand "
                               f"{index} and no ellipsis was given")
        widths.append(ndim - letters)
    width = max(widths, default=0)
    labelled = []
    for tokens, covered in zip(terms, widths):
        labels = []
        for token in tokens:
            if token == _ELLIPSIS:
                labels.extend(range(width - covered, width))
            else:
                labels.append(token)
        labelled.append(labels)
    return labelled, width


def _output_labels(output, labelled, width):
    if output is None:
        # implicit: the ellipsis dims, then the letters that occur once, in alphabetical order
        counts = {}
        for labels in labelled:
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
        letters = sorted(label for label, n in counts.items() if isinstance(label, str) and n == 1)
        return list(range(width)) + letters
    seen = {label for labels in labelled for label in labels}
    result = []
    for token in output:
        if token == _ELLIPSIS:
            result.extend(range(width))
            continue
        if token in result:
            raise RuntimeError(f"einsum(): output subscript {token} appears more than once in the "
                               "output")
        if token not in seen:
            raise RuntimeError(f"einsum(): output subscript {token} does not appear in the "
                               "equation for any input operand")
        result.append(token)
    return result


def _take_diagonals(operand, labels, index):
    """A subscript repeated within one operand selects the diagonal of those dims."""
    labels = list(labels)
    while len(set(labels)) < len(labels):
        first = next(i for i, label in enumerate(labels) if labels.index(label) != i)
        label = labels[first]
        earlier = labels.index(label)
        shape = operand._data.shape
        if shape[earlier] != shape[first]:
            raise RuntimeError(f"einsum(): subscript {label} is repeated for operand {index} but "
                               f"the sizes don't match, {shape[first]} != {shape[earlier]}")
        operand = _diagonal(operand, 0, earlier, first)  # the diagonal becomes the last dim
        labels = [l for i, l in enumerate(labels) if i not in (earlier, first)] + [label]
    return operand, labels


def _label_sizes(operands, labelled):
    """Every label's size; size 1 broadcasts against any other (torch's rule)."""
    sizes = {}
    for index, (operand, labels) in enumerate(zip(operands, labelled)):
        for label, size in zip(labels, operand._data.shape):
            seen = sizes.get(label)
            if seen is None or seen == 1:
                sizes[label] = size
            elif size != 1 and size != seen:
                if isinstance(label, int):
                    raise RuntimeError(
                        f"einsum(): dimension {label} covered by ellipsis in operand {index}has "
                        f"size {size} which does not broadcast with previously seen ellipsis with "
                        f"size {seen} for the respective dimension")
                raise RuntimeError(f"einsum(): subscript {label} has size {size} for operand "
                                   f"{index} which does not broadcast with previously seen size "
                                   f"{seen}")
    return sizes


def _sum_labels(operand, labels, drop):
    dims = [i for i, label in enumerate(labels) if label in drop]
    if not dims:
        return operand, labels
    return _sum(operand, dims), [label for label in labels if label not in drop]


def _arranged(operand, labels, order, sizes):
    """The operand with its dims permuted to `order` (labels it lacks become size-1 dims) and
    broadcast to the full sizes."""
    for label in order:
        if label not in labels:
            operand = _unsqueeze(operand, operand._data.ndim)
            labels = labels + [label]
    operand = _permute(operand, [labels.index(label) for label in order])
    target = [sizes[label] for label in order]
    if list(operand._data.shape) != target:
        operand = _expand(operand, target)
    return operand


def _contract_pair(a, a_labels, b, b_labels, keep, sizes):
    """a * b summed over the labels they share that are not kept: one bmm."""
    shared = [label for label in a_labels if label in b_labels]
    batch = [label for label in shared if label in keep]
    summed = [label for label in shared if label not in keep]
    a_only = [label for label in a_labels if label not in b_labels]
    b_only = [label for label in b_labels if label not in a_labels]
    if not summed:
        order = batch + a_only + b_only
        a = _arranged(a, a_labels, batch + a_only, sizes)
        a = _reshape(a, list(a._data.shape) + [1] * len(b_only))
        b = _arranged(b, b_labels, batch + b_only, sizes)
        b = _reshape(b, [sizes[label] for label in batch] + [1] * len(a_only)
                     + [sizes[label] for label in b_only])
        return _mul(a, b), order

    def size(labels):
        return math.prod(sizes[label] for label in labels)
    a = _reshape(_arranged(a, a_labels, batch + a_only + summed, sizes),
                 (size(batch), size(a_only), size(summed)))
    b = _reshape(_arranged(b, b_labels, batch + summed + b_only, sizes),
                 (size(batch), size(summed), size(b_only)))
    result = _bmm(a, b)
    labels = batch + a_only + b_only
    return _reshape(result, [sizes[label] for label in labels]), labels


def _sublist_equation(arguments):
    """torch's other form, einsum(op1, [0, 1], op2, [1, 2], [0, 2]): integers for subscripts."""
    operands, terms = list(arguments[0::2]), list(arguments[1::2])
    output = None
    if len(operands) == len(terms) + 1 and not isinstance(operands[-1], _dispatch.Tensor):
        output = operands.pop()
    elif len(terms) > len(operands):
        output = terms.pop()

    def letters(sublist):
        text = []
        for item in sublist:
            if item is Ellipsis:
                text.append("...")
            elif isinstance(item, int) and 0 <= item < 52:
                text.append(chr(ord("A") + item) if item < 26 else chr(ord("a") + item - 26))
            else:
                raise ValueError(f"einsum(): subscript in subscript list is not within the valid "
                                 f"range [0, 52), got {item}")
        return "".join(text)
    equation = ",".join(letters(term) for term in terms)
    if output is not None:
        equation += "->" + letters(output)
    return equation, operands


def einsum(*arguments):
    """Sums of products of the operands' elements, by Einstein's summation convention: the
    equation names each operand's dims ('ij,jk->ik'); a subscript missing from the output is
    summed over; one repeated within an operand takes its diagonal; '...' stands for broadcast
    dims; without '->' the output is the ellipsis dims and then the subscripts that occur once,
    in alphabetical order. The operands may also be given as one list."""
    if not arguments or (isinstance(arguments[0], str) and len(arguments) < 2):
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    if isinstance(arguments[0], _dispatch.Tensor):
        equation, operands = _sublist_equation(arguments)
    else:
        equation, operands = arguments[0], list(arguments[1:])
        if not isinstance(equation, str):
            raise TypeError(f"einsum(): argument 'equation' (position 1) must be str, not "
                            f"{type(equation).__name__}")
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    for position, operand in enumerate(operands):
        _check_tensor(operand, position, 1)
    terms, output = _parse(equation, len(operands))
    labelled, width = _labelled(terms, operands)
    out_labels = _output_labels(output, labelled, width)
    operands = list(operands)
    for index, operand in enumerate(operands):
        operands[index], labelled[index] = _take_diagonals(operand, labelled[index], index)
    sizes = _label_sizes(operands, labelled)
    # a label that only one operand has and the output lacks is summed before any product
    for index, labels in enumerate(labelled):
        others = {label for j, other in enumerate(labelled) if j != index for label in other}
        drop = {label for label in labels if label not in others and label not in out_labels}
        operands[index], labelled[index] = _sum_labels(operands[index], labels, drop)
    result, labels = operands[0], labelled[0]
    for position in range(1, len(operands)):
        keep = set(out_labels).union(*labelled[position + 1:])
        result, labels = _contract_pair(result, labels, operands[position], labelled[position],
                                        keep, sizes)
    result, labels = _sum_labels(result, labels, {l for l in labels if l not in out_labels})
    return _arranged(result, labels, out_labels, sizes)


def _tensordot_dims(a, b, dims):
    if isinstance(dims, _dispatch.Tensor):
        dims = dims.tolist()
    if isinstance(dims, (int, np.integer)) and not isinstance(dims, bool):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > a._data.ndim or dims > b._data.ndim:
            raise RuntimeError(f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        return list(range(-dims, 0)), list(range(dims))
    if isinstance(dims, (list, tuple)) and len(dims) == 2:
        first, second = dims
        if not isinstance(first, (list, tuple)) or not isinstance(second, (list, tuple)):
            raise TypeError(f"tensordot(): argument 'dims_self' (position 3) must be tuple of "
                            f"ints, not {type(first).__name__}")
        return [int(d) for d in first], [int(d) for d in second]
    raise RuntimeError(f"tensordot expects dims to be int or tuple[list[int], list[int]] or "
                       f"list[list[int]] containing two lists, but got dims={dims}")


def tensordot(a, b, dims=2, out=None):
    """The sum of products over the given dims of `a` and `b`: `dims` an int (the last dims of
    a with the first of b) or two lists of dims. The result has a's remaining dims, then b's."""
    _check_tensor(a, 0, "a")
    _check_tensor(b, 1, "b")
    first, second = _tensordot_dims(a, b, dims)
    if len(first) != len(second):
        raise RuntimeError("both dimension lists should have same length")
    if a._dtype is not b._dtype:
        raise RuntimeError("both inputs should have same dtype")
    a_shape, b_shape = a._data.shape, b._data.shape
    first = [_wrap_dim(d, len(a_shape)) for d in first]
    second = [_wrap_dim(d, len(b_shape)) for d in second]
    for dims_list in (first, second):
        for d in dims_list:
            if dims_list.count(d) > 1:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    for given_a, da, db in zip(_tensordot_dims(a, b, dims)[0], first, second):
        if a_shape[da] != b_shape[db] and a_shape[da] != 1 and b_shape[db] != 1:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a_shape[da]} in dim {given_a} and second has size {b_shape[db]} "
                               f"in dim {db}")
    kept_a = [d for d in range(len(a_shape)) if d not in first]
    kept_b = [d for d in range(len(b_shape)) if d not in second]
    sizes = [max(a_shape[da], b_shape[db]) for da, db in zip(first, second)]
    # a size-1 contracted dim broadcasts against the other side's (torch sums over it)
    a = _expand(_permute(a, kept_a + first), [a_shape[d] for d in kept_a] + sizes)
    b = _expand(_permute(b, second + kept_b), sizes + [b_shape[d] for d in kept_b])
    rows = math.prod(a_shape[d] for d in kept_a)
    columns = math.prod(b_shape[d] for d in kept_b)
    inner = math.prod(sizes)
    product = _bmm(_reshape(a, (1, rows, inner)), _reshape(b, (1, inner, columns)))
    result = _reshape(product, [a_shape[d] for d in kept_a] + [b_shape[d] for d in kept_b])
    if out is not None:
        from .elementwise import write_out
        return write_out(result, out)
    return result


_COMPUTE_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                  "donot_use_mm_for_euclid_dist")


def cdist(x1, x2, p=2.0, compute_mode="use_mm_for_euclid_dist_if_necessary"):
    """The p-norm distance between each row of x1 (..., P, M) and each row of x2 (..., R, M):
    shape (..., P, R), batch dims broadcast. Computed directly (never through the matrix-product
    expansion, whatever compute_mode says), so distances of equal rows are exactly 0; their
    gradient is 0 there, as torch's."""
    _check_tensor(x1, 0, "x1")
    _check_tensor(x2, 1, "x2")
    if compute_mode not in _COMPUTE_MODES and compute_mode is not None:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    for name, x in (("X1", x1), ("X2", x2)):
        if x._data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: "
                               f"{x._data.ndim}D")
    if x1._data.shape[-1] != x2._data.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: "
                           f"{x1._data.shape[-1]} X2: {x2._data.shape[-1]}")
    for name, x in (("X1", x1), ("X2", x2)):
        if x._dtype.category != 2:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: "
                               f"{x._dtype.scalar_name}")
    if x1._dtype is not x2._dtype:
        raise RuntimeError(f"expected scalar type {x1._dtype.scalar_name} but found "
                           f"{x2._dtype.scalar_name}")
    if x1._dtype.name == "float16":
        raise NotImplementedError("\"cdist\" not implemented for 'Half'")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    differences = _unsqueeze(x1, -2) - _unsqueeze(x2, -3)  # (..., P, R, M)
    if x1._data.shape[-1] == 0:
        return _sum(differences, -1)  # no columns: every distance is 0
    return _vector_norm(differences, p, -1)
