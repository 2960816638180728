"""graphc.nn.functional: torch.nn.functional's functions, composed from graphc ops.

Every function is built from differentiable graphc ops (slices, matmul, gather, reductions), so
autograd and gradcheck work through all of them. Shapes and constant index/weight matrices are
computed in Python from sizes only; no function reads a tensor's values into Python on its
forward path (one_hot without num_classes is the exception: its size is data).
"""
import math
import warnings

import numpy as np

from .. import dispatch as _dispatch
from .. import dtypes as _dt
from .. import zeros, ones, full, arange, cat, stack, where, erf, tensor as _tensor
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..ir.primitives.fused import _NLL_LOSS, FUSED_DTYPES, class_targets
from ..ir.primitives.indexing import _gather as _GATHER, _scatter_add as _SCATTER_ADD
from ..ir.registry import defvjp

__all__ = [
    "relu", "relu_", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "softmax", "log_softmax",
    "elu", "softplus", "hardtanh", "relu6", "logsigmoid",
    "linear", "bilinear", "embedding", "one_hot", "pad", "dropout",
    "conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "batch_norm", "layer_norm", "normalize",
    "cosine_similarity", "interpolate",
    "mse_loss", "l1_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
]


# ------------------------------------------------------------------ helpers


def _tuple(value, n, name="value"):
    """An int or a sequence of n ints, as a tuple of n ints (torch's _pair, _single)."""
    if isinstance(value, (list, tuple)):
        if len(value) == 1 and n > 1:
            return tuple(int(value[0]) for _ in range(n))
        if len(value) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} "
                               f"values to match the convolution dimensions, but got "
                               f"{name}={list(value)}")
        return tuple(int(v) for v in value)
    return (int(value),) * n


def _inplace_result(input, result, inplace):
    """inplace=True: write the result into input (autograd rebases input's history)."""
    if not inplace:
        return result
    return input.copy_(result)


# ------------------------------------------------------------------ activations


def relu(input, inplace=False):
    return input.relu_() if inplace else input.relu()


def relu_(input):
    return input.relu_()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _inplace_result(input, where(input > 0, input, input * negative_slope), inplace)


def relu6(input, inplace=False):
    return hardtanh(input, 0.0, 6.0, inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _inplace_result(input, input.clamp(min_val, max_val), inplace)


def elu(input, alpha=1.0, inplace=False):
    return _inplace_result(input, where(input > 0, input, alpha * input.expm1()), inplace)


def silu(input, inplace=False):
    return _inplace_result(input, input * input.sigmoid(), inplace)


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def logsigmoid(input):
    # log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): finite for every x
    return input.clamp(max=0) - (-input.abs()).exp().log1p()


def softplus(input, beta=1.0, threshold=20.0):
    scaled = input * beta
    return where(scaled > threshold, input, scaled.exp().log1p() / beta)


def gelu(input, approximate="none"):
    if approximate == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (input + 0.044715 * input * input * input)
        return 0.5 * input * (1.0 + inner.tanh())
    if approximate != "none":
        raise RuntimeError(f"approximate argument must be either none or tanh.")
    return 0.5 * input * (1.0 + erf(input * (1.0 / math.sqrt(2.0))))


def _softmax_dim(name, ndim):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim("softmax", input.dim())
    return input.softmax(dim, dtype=dtype)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    if dim is None:
        dim = _softmax_dim("log_softmax", input.dim())
    return input.log_softmax(dim, dtype=dtype)


# ------------------------------------------------------------------ linear, embedding


def linear(input, weight, bias=None):
    if input.dim() == 2 and bias is not None:
        return bias.addmm(input, weight.t()) if bias.dim() == 1 else input.matmul(weight.t()) + bias
    result = input.matmul(weight.t())
    return result if bias is None else result + bias


def bilinear(input1, input2, weight, bias=None):
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got "
                           f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}")
    if input1.shape[-1] != weight.shape[1]:
        raise RuntimeError(f"bilinear(): input1 size does not match weight size: got "
                           f"{input1.shape[-1]} but expected {weight.shape[1]}")
    if input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input2 size does not match weight size: got "
                           f"{input2.shape[-1]} but expected {weight.shape[2]}")
    # out[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j]
    left = input1.unsqueeze(-2).unsqueeze(-3).matmul(weight).squeeze(-2)  # (..., O, J)
    result = (left * input2.unsqueeze(-2)).sum(-1)
    return result if bias is None else result + bias


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    if input.dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"{input.type()} instead (while checking arguments for embedding)")
    if padding_idx is not None:
        padding_idx = _padding_index(padding_idx, weight.shape[0])
    if max_norm is not None:
        _renorm_rows(weight, input, max_norm, norm_type)
    rows = weight.index_select(0, input.reshape(-1)).reshape(*input.shape, weight.shape[1])
    if padding_idx is None:
        return rows
    # the padding row gets no gradient: its entries are read detached
    is_padding = (input == padding_idx).unsqueeze(-1)
    return where(is_padding, rows.detach(), rows)


def _padding_index(padding_idx, num_embeddings):
    if padding_idx > 0:
        if padding_idx >= num_embeddings:
            raise AssertionError("Padding_idx must be within num_embeddings")
    elif padding_idx < 0:
        if padding_idx < -num_embeddings:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx += num_embeddings
    return padding_idx


def _renorm_rows(weight, input, max_norm, norm_type):
    """max_norm: the rows looked up are rescaled in place to norm at most max_norm (as torch)."""
    with no_grad():
        rows = input.reshape(-1).unique()
        selected = weight.index_select(0, rows)
        norms = selected.norm(p=norm_type, dim=1, keepdim=True)
        scale = where(norms > max_norm, max_norm / (norms + 1e-7), ones(()).to(weight.dtype))
        weight.index_copy_(0, rows, selected * scale)


def one_hot(tensor, num_classes=-1):
    if tensor.dtype is not _dt.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if tensor.numel() and int(tensor.min()) < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(tensor.max()) + 1 if tensor.numel() else 0
    elif tensor.numel() and int(tensor.max()) >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return (tensor.unsqueeze(-1) == arange(num_classes)).long()


# ------------------------------------------------------------------ padding


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError("Padding length should be less than or equal to two times the input "
                           "dimension but got padding length {} and input of dimension {}"
                           .format(len(pad), input.dim()))
    if mode not in _PAD_MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if mode != "constant" and value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument.')
    result = input
    for position in range(len(pad) // 2):
        dim = input.dim() - 1 - position
        before, after = int(pad[2 * position]), int(pad[2 * position + 1])
        if mode == "constant":
            result = _pad_constant(result, dim, before, after, 0.0 if value is None else value)
        else:
            result = _pad_by_index(result, dim, before, after, mode, input.dim(), len(pad))
    return result


def _pad_constant(x, dim, before, after, value):
    size = x.shape[dim]
    if before < 0 or after < 0:  # negative padding crops
        start, stop = max(-before, 0), size - max(-after, 0)
        if stop - start + max(before, 0) + max(after, 0) < 0:
            raise RuntimeError("The input size {}, plus negative padding {} and {} resulted in a "
                               "negative output size, which is invalid. Check dimension {} of "
                               "your input.".format(size, before, after, dim))
        x = x.narrow(dim, start, max(stop - start, 0))
        before, after = max(before, 0), max(after, 0)
    if not before and not after:
        return x
    parts = []
    for count in (before, None, after):
        if count is None:
            parts.append(x)
        elif count:
            block = list(x.shape)
            block[dim] = count
            parts.append(full(block, value, dtype=x.dtype))
    return cat(parts, dim)


def _pad_by_index(x, dim, before, after, mode, ndim, pad_length):
    size = x.shape[dim]
    spatial = pad_length // 2
    if ndim not in (spatial + 1, spatial + 2) or spatial > 3:
        raise NotImplementedError(
            f"Padding size {pad_length} is not supported for {ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    if mode == "reflect" and (before >= size or after >= size):
        raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding "
                           f"input dimension, but got: padding ({before}, {after}) at dimension "
                           f"{dim} of input {list(x.shape)}")
    if mode == "circular" and (before > size or after > size):
        raise RuntimeError("Padding value causes wrapping around more than once.")
    if mode == "replicate" and size == 0:
        raise RuntimeError(f"padding size is expected to be less than or equal to input size")
    positions = np.arange(-before, size + after)
    if mode == "reflect":
        period = 2 * (size - 1) if size > 1 else 1
        positions = np.abs(positions) % period
        positions = np.where(positions >= size, period - positions, positions)
    elif mode == "replicate":
        positions = np.clip(positions, 0, size - 1)
    else:
        positions = positions % size
    return x.index_select(dim, _tensor(positions.astype(np.int64)))


# ------------------------------------------------------------------ dropout


def dropout(input, p=0.5, training=True, inplace=False):
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return _inplace_result(input, input * 0.0, inplace)
    keep = zeros(input.shape, dtype=input.dtype).bernoulli_(1.0 - p)
    return _inplace_result(input, input * keep * (1.0 / (1.0 - p)), inplace)


# ------------------------------------------------------------------ windows (conv, pooling)


def _windows(x, kernel, stride, dilation):
    """The sliding windows of x (N, C, *spatial), as (N, C, prod(kernel), *out) by slicing:
    one strided slice per kernel offset, stacked (so the gradient is the slices' own)."""
    spatial = x.shape[2:]
    out = [(size - d * (k - 1) - 1) // s + 1 for size, k, s, d in
           zip(spatial, kernel, stride, dilation)]
    slices = []
    for offset in np.ndindex(*kernel):
        index = [slice(None), slice(None)]
        for o, d, s, n in zip(offset, dilation, stride, out):
            start = o * d
            index.append(slice(start, start + s * (n - 1) + 1, s))
        slices.append(x[tuple(index)])
    return stack(slices, 2), out


def _conv(input, weight, bias, stride, padding, dilation, groups, n, name):
    batched = input.dim() == n + 2
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(f"Expected {n + 1}D (unbatched) or {n + 2}D (batched) input to {name}, "
                           f"but got input of size: {list(input.shape)}")
    if not batched:
        input = input.unsqueeze(0)
    stride, dilation = _tuple(stride, n, "stride"), _tuple(dilation, n, "dilation")
    kernel = tuple(weight.shape[2:])
    channels = input.shape[1]
    out_channels = weight.shape[0]
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if channels != weight.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(input.shape)} to have {weight.shape[1] * groups} channels, but got "
            f"{channels} channels instead")
    if out_channels % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size {list(weight.shape)} instead")
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0,) * n
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
            pads = []
            for k, d in reversed(list(zip(kernel, dilation))):
                total = d * (k - 1)
                pads += [total // 2, total - total // 2]  # the odd one goes after, as torch
            input = pad(input, pads)
            padding = (0,) * n
        else:
            raise ValueError(f"Invalid padding string '{padding}', should be one of "
                             f"{{'valid', 'same'}}")
    padding = _tuple(padding, n, "padding")
    if any(padding):
        input = pad(input, [p for p in reversed(padding) for _ in range(2)])
    for size, k, d in zip(input.shape[2:], kernel, dilation):
        if size < d * (k - 1) + 1:
            raise RuntimeError(
                f"Calculated padded input size per channel: ({' x '.join(str(s) for s in input.shape[2:])}). "
                f"Kernel size: ({' x '.join(str(d * (k - 1) + 1) for k, d in zip(kernel, dilation))}). "
                f"Kernel size can't be greater than actual input size")
    windows, out = _windows(input, kernel, stride, dilation)   # (N, C, K, *out)
    batch = input.shape[0]
    columns = windows.reshape(batch, groups, (channels // groups) * math.prod(kernel),
                              math.prod(out))
    filters = weight.reshape(groups, out_channels // groups, -1)
    result = filters.matmul(columns).reshape(batch, out_channels, *out)
    if bias is not None:
        result = result + bias.reshape(out_channels, *([1] * n))
    return result if batched else result.squeeze(0)


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def _pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode, n, name):
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(f"{name}: Expected {n + 1}D or {n + 2}D (batch mode) tensor for input, "
                           f"but got: {list(input.shape)}")
    kernel = _tuple(kernel_size, n, "kernel_size")
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and not stride) \
        else _tuple(stride, n, "stride")
    padding, dilation = _tuple(padding, n, "padding"), _tuple(dilation, n, "dilation")
    for k, p, d in zip(kernel, padding, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    out = []
    for size, k, s, p, d in zip(input.shape[-n:], kernel, stride, padding, dilation):
        span = size + 2 * p - d * (k - 1) - 1
        count = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (count - 1) * s >= size + p:
            count -= 1  # the last window must start inside the input or its left padding
        if count <= 0:
            raise RuntimeError(f"Given input size: ({'x'.join(str(v) for v in input.shape[-n - 1:])}"
                               f"). Calculated output size: ({input.shape[-n - 1]}x"
                               f"{'x'.join(str(max(c, 0)) for c in [count])}). Output size is too small")
        out.append(count)
    return kernel, stride, padding, dilation, out


def _pool_padding(kernel, stride, padding, dilation, out, spatial):
    """(before, after) per spatial dim: the padding plus what ceil_mode's last window needs."""
    pads = []
    for k, s, p, d, n, size in zip(kernel, stride, padding, dilation, out, spatial):
        needed = (n - 1) * s + d * (k - 1) + 1
        pads.append((p, max(needed - size - p, 0)))
    return pads


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, n, name):
    batched = input.dim() == n + 2
    x = input if batched else input.unsqueeze(0)
    kernel, stride, padding, dilation, out = _pool_geometry(x, kernel_size, stride, padding,
                                                            dilation, ceil_mode, n, name)
    pads = _pool_padding(kernel, stride, padding, dilation, out, x.shape[2:])
    flat_pad = [v for before_after in reversed(pads) for v in before_after]
    padded = pad(x, flat_pad, value=-math.inf) if any(flat_pad) else x
    windows, _ = _windows(padded, kernel, stride, dilation)
    values, positions = windows.max(2)
    if not return_indices:
        return values if batched else values.squeeze(0)
    # the flat index into the (unpadded) input of the chosen element of each window
    offsets = np.array(list(np.ndindex(*kernel)), dtype=np.int64)   # (K, n)
    starts = np.stack(np.meshgrid(*[np.arange(c) * s - p for c, s, (p, _) in
                                    zip(out, stride, pads)], indexing="ij"), -1)  # (*out, n)
    coordinates = starts[None] + offsets.reshape(-1, *([1] * n), n) * np.array(dilation)
    flat = np.zeros(coordinates.shape[:-1], dtype=np.int64)
    for axis, size in enumerate(x.shape[2:]):
        flat = flat * size + coordinates[..., axis]
    indices = _tensor(flat).unsqueeze(0).unsqueeze(0).expand(*windows.shape)
    chosen = indices.gather(2, positions.unsqueeze(2)).squeeze(2)
    if not batched:
        values, chosen = values.squeeze(0), chosen.squeeze(0)
    return values, chosen


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     1, "max_pool1d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     2, "max_pool2d")


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, n, name):
    batched = input.dim() == n + 2
    x = input if batched else input.unsqueeze(0)
    kernel, stride, padding, dilation, out = _pool_geometry(x, kernel_size, stride, padding, 1,
                                                            ceil_mode, n, name)
    pads = _pool_padding(kernel, stride, padding, dilation, out, x.shape[2:])
    flat_pad = [v for before_after in reversed(pads) for v in before_after]
    padded = pad(x, flat_pad) if any(flat_pad) else x
    windows, _ = _windows(padded, kernel, stride, dilation)
    sums = windows.sum(2)
    if divisor_override is not None:
        if divisor_override == 0:
            raise RuntimeError("divisor must be not zero")
        result = sums / divisor_override
    else:
        result = sums / _tensor(_avg_divisors(x.shape[2:], kernel, stride, padding, out,
                                              count_include_pad), dtype=x.dtype)
    return result if batched else result.squeeze(0)


def _avg_divisors(spatial, kernel, stride, padding, out, count_include_pad):
    """How many elements each window averages: torch counts the padding (up to the padded
    extent, never ceil_mode's overhang) unless count_include_pad is False."""
    counts = np.ones(out, dtype=np.float64)
    for axis, (size, k, s, p, n) in enumerate(zip(spatial, kernel, stride, padding, out)):
        start = np.arange(n) * s - p
        end = np.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        shape = [1] * len(out)
        shape[axis] = n
        counts = counts * (end - start).reshape(shape)
    return counts


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                     1, "avg_pool1d")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2, "avg_pool2d")


def _adaptive_matrix(size, out):
    """(out, size): row i averages input[floor(i*size/out) : ceil((i+1)*size/out)]."""
    matrix = np.zeros((out, size))
    for i in range(out):
        start, end = (i * size) // out, -(-((i + 1) * size) // out)
        matrix[i, start:end] = 1.0 / (end - start)
    return matrix


def _adaptive_avg_pool(input, output_size, n, name):
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(f"{name}(): Expected {n + 1}D or {n + 2}D tensor, but got "
                           f"{list(input.shape)}")
    sizes = list(input.shape[-n:])
    targets = output_size if isinstance(output_size, (list, tuple)) else (output_size,) * n
    targets = [s if t is None else int(t) for s, t in zip(sizes, targets)]
    result = input
    for axis, (size, target) in enumerate(zip(sizes, targets)):
        dim = input.dim() - n + axis
        matrix = _tensor(_adaptive_matrix(size, target), dtype=input.dtype)
        result = result.movedim(dim, -1).matmul(matrix.t()).movedim(-1, dim)
    return result


def adaptive_avg_pool1d(input, output_size):
    return _adaptive_avg_pool(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size):
    return _adaptive_avg_pool(input, output_size, 2, "adaptive_avg_pool2d")


# ------------------------------------------------------------------ normalization


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-05):
    if input.dim() < 2:
        raise ValueError(f"Expected 2 or more dimensions (got {input.dim()})")
    channels = input.shape[1]
    dims = [0] + list(range(2, input.dim()))
    shape = [1, channels] + [1] * (input.dim() - 2)
    if training:
        count = input.numel() // channels
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {input.shape}")
        mean = input.mean(dims)
        var = input.var(dims, correction=0)
        if running_mean is not None or running_var is not None:
            with no_grad():
                factor = momentum  # a float, or a 0-dim tensor (the cumulative average)
                if running_mean is not None:
                    running_mean.copy_(running_mean * (1 - factor) + mean.detach() * factor)
                if running_var is not None:
                    unbiased = var.detach() * (count / (count - 1))
                    running_var.copy_(running_var * (1 - factor) + unbiased * factor)
    else:
        mean, var = running_mean, running_var
    result = (input - mean.reshape(shape)) * (var.reshape(shape) + eps).rsqrt()
    if weight is not None:
        result = result * weight.reshape(shape)
    if bias is not None:
        result = result + bias.reshape(shape)
    return result


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-05):
    normalized_shape = tuple(normalized_shape) if isinstance(normalized_shape, (list, tuple)) \
        else (int(normalized_shape),)
    n = len(normalized_shape)
    if tuple(input.shape[input.dim() - n:]) != normalized_shape or input.dim() < n:
        raise RuntimeError(f"Given normalized_shape={list(normalized_shape)}, expected input with "
                           f"shape [*, {', '.join(str(s) for s in normalized_shape)}], but got "
                           f"input of size{list(input.shape)}")
    dims = list(range(input.dim() - n, input.dim()))
    mean = input.mean(dims, keepdim=True)
    var = input.var(dims, keepdim=True, correction=0)
    result = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        result = result * weight
    if bias is not None:
        result = result + bias
    return result


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    denominator = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    return input / denominator


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    norm1 = x1.norm(2, dim, keepdim=True).clamp_min(eps)
    norm2 = x2.norm(2, dim, keepdim=True).clamp_min(eps)
    return ((x1 / norm1) * (x2 / norm2)).sum(dim)


# ------------------------------------------------------------------ interpolation


_INTERPOLATING = ("linear", "bilinear", "bicubic", "trilinear")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    if mode not in ("nearest", "linear", "bilinear"):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                                  f"{input.dim()}D) for the modes: nearest | linear | bilinear "
                                  f"(got {mode})")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    spatial = input.dim() - 2
    if spatial < 1:
        raise ValueError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                         f"{input.dim()}D) for the modes: nearest | linear | bilinear | bicubic "
                         f"| trilinear | area | nearest-exact (got {mode})")
    needed = {"linear": 1, "bilinear": 2}.get(mode)
    if needed is not None and spatial != needed:
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs "
                                  f"{needed + 2}D input")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    sizes = list(input.shape[2:])
    if size is not None:
        targets = list(size) if isinstance(size, (list, tuple)) else [size] * spatial
        if len(targets) != spatial:
            raise ValueError(f"Input and output must have the same number of spatial dimensions,"
                             f" but got input with spatial dimensions of {sizes} and output size "
                             f"of {targets}. Please provide input tensor in (N, C, d1, d2, "
                             f"...,dK) format and output size in (o1, o2, ...,oK) format.")
        targets = [int(t) for t in targets]
        scales = [None] * spatial
    else:
        factors = list(scale_factor) if isinstance(scale_factor, (list, tuple)) \
            else [scale_factor] * spatial
        targets = [int(math.floor(s * f)) for s, f in zip(sizes, factors)]
        scales = [None] * spatial if recompute_scale_factor else [float(f) for f in factors]
    result = input
    corners = bool(align_corners)
    for axis, (size_in, size_out, scale) in enumerate(zip(sizes, targets, scales)):
        dim = 2 + axis
        if mode == "nearest":
            step = (1.0 / scale) if scale is not None else size_in / size_out
            source = np.minimum(np.floor(np.arange(size_out) * np.float32(step)).astype(np.int64),
                                size_in - 1)
            result = result.index_select(dim, _tensor(source))
        else:
            matrix = _tensor(_linear_matrix(size_in, size_out, scale, corners), dtype=input.dtype)
            result = result.movedim(dim, -1).matmul(matrix.t()).movedim(-1, dim)
    return result


def _linear_matrix(size_in, size_out, scale, align_corners):
    """(size_out, size_in): each output's two neighbours and weights, as torch's
    area_pixel_compute_source_index places them."""
    if align_corners:
        step = (size_in - 1) / (size_out - 1) if size_out > 1 else 0.0
        source = np.arange(size_out) * step
    else:
        step = (1.0 / scale) if scale is not None and scale > 0 else size_in / size_out
        source = np.maximum((np.arange(size_out) + 0.5) * step - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    weight_high = source - low
    matrix = np.zeros((size_out, size_in))
    rows = np.arange(size_out)
    np.add.at(matrix, (rows, low), 1.0 - weight_high)
    np.add.at(matrix, (rows, high), weight_high)
    return matrix


# ------------------------------------------------------------------ losses


def _legacy_reduction(size_average, reduce):
    """The deprecated size_average/reduce pair, as the reduction string torch derives."""
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  "reduction='{}' instead.".format(
                      _legacy_string(size_average, reduce)), stacklevel=3)
    return _legacy_string(size_average, reduce)


def _legacy_string(size_average, reduce):
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _reduction(size_average, reduce, reduction):
    if size_average is not None or reduce is not None:
        return _legacy_reduction(size_average, reduce)
    return reduction


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _check_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{reduction} is not a valid value for reduction")


def _warn_size(input, target):
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      f"broadcasting. Please ensure they have the same size.", stacklevel=3)


def _pointwise_loss(loss, reduction, weight):
    _check_reduction(reduction)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    return _pointwise_loss((input - target) ** 2, reduction, weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    return _pointwise_loss((input - target).abs(), reduction, weight)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    difference = (input - target).abs()
    if beta == 0.0:
        return _pointwise_loss(difference, reduction, None)
    loss = where(difference < beta, 0.5 * difference * difference / beta, difference - 0.5 * beta)
    return _pointwise_loss(loss, reduction, None)


def _check_class_target(input, target):
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if input.dim() == 1:
        if target.dim() != 0:
            raise RuntimeError(f"0D or 1D target tensor expected, multi-target not supported")
        return
    target_batch = target.shape[0] if target.dim() else 0
    if input.shape[0] != target_batch:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target_batch}).")
    if tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError(f"size mismatch (got input: {list(input.shape)}, target: "
                           f"{list(target.shape)})")


def _check_target_dtype(target):
    if target.dtype not in (_dt.int64, _dt.uint8, _dt.int32, _dt.int16, _dt.int8):
        raise RuntimeError(f"expected scalar type Long but found {target.dtype.scalar_name}")


def _class_weights(log_probs, target, weight, ignore_index):
    """(picked log-probabilities, per-element weights): the class axis is 1 (0 unbatched); an
    ignored target reads class 0 and weighs 0."""
    class_dim = 0 if log_probs.dim() == 1 else 1
    _check_target_dtype(target)
    target = target.long()
    ignored = target == ignore_index
    safe = where(ignored, 0, target)  # an int64 where lowers to C (an int64 masked_fill does not)
    class_targets(log_probs.shape, log_probs.dtype.np, safe._data, None, ignore_index)  # bounds
    picked = _dispatch.apply(_GATHER, (log_probs, safe.unsqueeze(class_dim)),
                             {"dim": class_dim, "class_targets": True}).squeeze(class_dim)
    if weight is None:
        weights = (~ignored).to(log_probs.dtype)
    else:
        weights = weight.index_select(0, safe.reshape(-1)).reshape(safe.shape)
        weights = weights.masked_fill(ignored, 0.0)
    return picked, weights, ignored


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_class_target(input, target)
    if weight is not None and weight.numel() != input.shape[0 if input.dim() == 1 else 1]:
        raise RuntimeError(f"weight tensor should be defined either for all "
                           f"{input.shape[0 if input.dim() == 1 else 1]} classes or no classes "
                           f"but got weight tensor of shape: {list(weight.shape)}")
    if weight is not None and weight.requires_grad and is_grad_enabled():
        raise RuntimeError("The function 'nll_loss_forward' is not differentiable with respect "
                           "to argument 'weight'. This input cannot have requires_grad True.")
    _check_target_dtype(target)

    def composite():
        picked, weights, ignored = _class_weights(input, target, weight, ignore_index)
        # torch skips ignored lines: +0 (a -inf log-probability read there gives no nan), and
        # no gradient reaches them, even where every line is ignored
        losses = where(ignored, 0.0, -picked * weights)
        if reduction == "none":
            return losses
        if reduction == "sum":
            return losses.sum()
        return losses.sum() / weights.sum()
    if input.dtype not in FUSED_DTYPES or (weight is not None and weight.dtype is not input.dtype):
        return composite()
    return _dispatch.apply_fused(_NLL_LOSS, (input, target, weight),
                                 {"reduction": reduction, "ignore_index": ignore_index}, composite)


def _nll_loss_vjp(ctx, grad):
    """-weight (over the total weight for a mean) at each target's class, zero elsewhere and on
    ignored targets."""
    shape, dtype = ctx.meta[0]
    _, target, weight = ctx.operands
    class_dim = 0 if len(shape) == 1 else 1
    safe, weights, _ = class_targets(shape, dtype.np, target._data,
                                  None if weight is None else weight._data,
                                  ctx.attrs["ignore_index"])
    if ctx.attrs["reduction"] == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            # ignored targets get no gradient, even where every target is ignored (0/0)
            coefficients = np.where(weights == 0, 0, -weights / np.add.reduce(weights, None))
    else:
        coefficients = -weights
    if _dispatch.records_nothing():  # one target per line: a put, on the arrays
        values = np.where(weights == 0, 0, grad._data * coefficients)  # +0: torch writes nothing
        result = np.zeros(shape, dtype.np)
        if len(shape) == 2:
            result[np.arange(shape[0]), safe] = values
        else:
            np.put_along_axis(result, np.expand_dims(safe, class_dim),
                              np.expand_dims(values, class_dim), class_dim)
        return _dispatch.wrap(result, dtype), None, None
    values = grad * _dispatch.wrap(coefficients, dtype)
    if values.dim() < len(shape):
        values = values.unsqueeze(class_dim)
    return (_dispatch.apply(_SCATTER_ADD, (zeros(shape, dtype=dtype),
                                           _dispatch.wrap(np.expand_dims(safe, class_dim),
                                                          _dt.int64), values),
                            {"dim": class_dim}), None, None)


defvjp("nll_loss", _nll_loss_vjp, saves=(1, 2))


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
                  reduction="mean", label_smoothing=0.0):
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input.dim() == 1 else 1
    classes = input.shape[class_dim]
    log_probs = input.log_softmax(class_dim)
    if target.shape == input.shape:
        return _cross_entropy_probabilities(log_probs, target, weight, reduction,
                                            label_smoothing, class_dim, classes)
    loss = nll_loss(log_probs, target, weight, ignore_index=ignore_index, reduction=reduction)
    if label_smoothing == 0.0:
        return loss
    # torch: (1 - e) nll + e/C * smooth, smooth the (weighted) sum of -log p over classes
    weight_shape = [1] * input.dim()
    weight_shape[class_dim] = classes
    terms = log_probs if weight is None else log_probs * weight.reshape(weight_shape)
    _, weights, ignored = _class_weights(log_probs, target, weight, ignore_index)
    smooth = (-terms.sum(class_dim)).masked_fill(ignored, 0.0)
    if reduction == "mean":
        smooth = smooth.sum() / weights.sum()
    elif reduction == "sum":
        smooth = smooth.sum()
    return (1 - label_smoothing) * loss + smooth * (label_smoothing / classes)


def _cross_entropy_probabilities(log_probs, target, weight, reduction, label_smoothing,
                                 class_dim, classes):
    if not target.is_floating_point():
        raise RuntimeError(f"Expected floating point type for target with class probabilities, "
                           f"got {target.dtype.scalar_name}")
    if label_smoothing > 0.0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = log_probs * target
    if weight is not None:
        weight_shape = [1] * log_probs.dim()
        weight_shape[class_dim] = classes
        terms = terms * weight.reshape(weight_shape)
    loss = -terms.sum(class_dim)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (log_probs.numel() // classes)


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         f"size.")
    # torch clamps each log at -100, so that a probability of 0 or 1 gives a finite loss
    loss = -(target * input.log().clamp_min(-100.0)
             + (1 - target) * (1 - input).log().clamp_min(-100.0))
    return _pointwise_loss(loss, reduction, weight)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None,
                                     reduction="mean", pos_weight=None):
    reduction = _reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    log_sigmoid = logsigmoid(input)
    if pos_weight is None:
        loss = (1 - target) * input - log_sigmoid
    else:
        loss = (1 - target) * input - ((pos_weight - 1) * target + 1) * log_sigmoid
    return _pointwise_loss(loss, reduction, weight)
