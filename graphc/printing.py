"""How tensors and storages print: character for character what PyTorch prints.

`format_tensor` builds `tensor([...], dtype=..., requires_grad=True)` strings; `format_storage`
builds the one-element-per-line listing of `print(t.storage())`; `set_printoptions` and
`get_printoptions` hold the options (precision, threshold, edgeitems, linewidth, sci_mode).

The rules reproduced here, in torch's words:
- a tensor with more than `threshold` elements is summarised: each dimension longer than
  2*edgeitems shows only its first and last `edgeitems` entries, with `...` between them;
- all elements of a tensor share one format and one width, chosen from the elements that are
  shown (the summary), looking only at the finite nonzero ones: scientific notation when the
  largest/smallest magnitude ratio exceeds 1000, the largest exceeds 1e8 or the smallest is
  below 1e-4; integer-valued floats print as `3.`; otherwise fixed with `precision` decimals;
- 1-D rows wrap to fit `linewidth`; suffixes (dtype, grad_fn, ...) go on the last line or, when
  it would grow past `linewidth`, on a new line indented under the opening bracket.
"""
import math

import numpy as np

from . import dtypes as _dtypes

__all__ = ["set_printoptions", "get_printoptions"]


class _PrintOptions:
    """The current options; one module-level instance, like numpy's and torch's."""

    __slots__ = ("precision", "threshold", "edgeitems", "linewidth", "sci_mode")

    def __init__(self):
        self.precision = 4
        self.threshold = 1000
        self.edgeitems = 3
        self.linewidth = 80
        self.sci_mode = None


_options = _PrintOptions()

_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """torch.set_printoptions: a profile first, then the explicit options override it.

    As in torch, `sci_mode` is always assigned (leaving it out resets it to automatic) and an
    unknown profile name is ignored.
    """
    if profile is not None and profile in _PROFILES:
        for name, value in _PROFILES[profile].items():
            setattr(_options, name, value)
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            setattr(_options, name, value)
    _options.sci_mode = sci_mode


def get_printoptions():
    """The current options as a dict that `set_printoptions(**options)` accepts."""
    return {name: getattr(_options, name) for name in _PrintOptions.__slots__}


# ------------------------------------------------------------------ element formatting


class _ElementFormat:
    """One shared format for every element of a tensor: a style and a column width."""

    __slots__ = ("style", "width", "precision")

    def __init__(self, shown, dtype):
        """`shown`: the numpy array of the elements that will be printed (after summarising)."""
        self.precision = _options.precision
        self.width = 1
        if dtype.category != 2:
            self.style = "plain"
            if shown.size:
                self.width = max(1, _widest_plain(shown))
            return
        values = shown.reshape(-1).astype(np.float64)  # exact for every float dtype
        magnitudes = np.abs(values)
        judged = np.isfinite(magnitudes) & (magnitudes != 0)
        candidates = values[judged]
        if candidates.size == 0:
            # no finite nonzero value to judge by: integer style, and sci_mode is not consulted
            self.style = "integer"
            return
        smallest = float(magnitudes[judged].min())
        largest = float(magnitudes[judged].max())
        integral = bool(np.all(candidates == np.ceil(candidates)))
        if _options.sci_mode is None:
            scientific = largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
        else:
            scientific = bool(_options.sci_mode)
        if scientific:
            self.style = "scientific"
        elif integral:
            self.style = "integer"
        else:
            self.style = "fixed"
        self.width = max(1, max(len(self._bare(v)) for v in _width_deciders(candidates)))

    def _bare(self, value):
        """The text of one value before padding."""
        style = self.style
        if style == "fixed":
            return f"{value:.{self.precision}f}"
        if style == "scientific":
            return f"{value:.{self.precision}e}"
        if style == "integer":
            text = f"{value:.0f}"
            return text if math.isinf(value) or math.isnan(value) else text + "."
        return str(value)

    def __call__(self, value):
        return self._bare(value).rjust(self.width)


def _widest_plain(values):
    """Width of the longest str() of an integer or bool array, without visiting every element."""
    if values.dtype == np.bool_:
        return 5 if not values.all() else 4
    return max(len(str(int(values.min()))), len(str(int(values.max()))))


def _width_deciders(values):
    """The few values whose text is the widest, so widths need not format every element.

    Rounding is monotonic, so among values of one sign the fixed-notation text is longest at the
    largest magnitude, and the exponent (whose digit count varies) is most extreme at the largest
    or the smallest magnitude.
    """
    deciders = []
    for same_sign in (values[values > 0], values[values < 0]):
        if same_sign.size:
            deciders.append(float(same_sign.min()))
            deciders.append(float(same_sign.max()))
    return deciders


# ------------------------------------------------------------------ layout


def _summary(array, edgeitems):
    """The elements a summarised print shows: the edge entries of every long dimension. They are
    gathered in one indexing through the array's strides (`take` would first copy a huge
    expanded tensor, whose elements share memory, into a contiguous one)."""
    if edgeitems <= 0 or array.ndim == 0:
        return array
    keeps = [np.r_[0:edgeitems, size - edgeitems:size] if size > 2 * edgeitems
             else np.arange(size) for size in array.shape]
    return array[np.ix_(*keeps)]


def _format_row(row, indent, summarize, fmt):
    """A 1-D block: elements joined by ', ', wrapped to the line width."""
    edgeitems = _options.edgeitems
    if summarize and not edgeitems:
        items = ["..."]
    elif summarize and row.shape[0] > 2 * edgeitems:
        items = ([fmt(v) for v in row[:edgeitems].tolist()] + [" ..."]
                 + [fmt(v) for v in row[-edgeitems:].tolist()])
    else:
        items = [fmt(v) for v in row.tolist()]
    per_line = max(1, math.floor((_options.linewidth - indent) / (fmt.width + 2)))
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _format_block(array, indent, summarize, fmt):
    """Nested brackets; blocks of rank k are separated by k-1 blank lines, as torch does."""
    ndim = array.ndim
    if ndim == 0:
        return fmt(array.item())
    if ndim == 1:
        return _format_row(array, indent, summarize, fmt)
    edgeitems = _options.edgeitems
    count = array.shape[0]
    if summarize and count > 2 * edgeitems:
        head = range(edgeitems)
        tail = range(count - edgeitems, count)
        blocks = ([_format_block(array[i], indent + 1, summarize, fmt) for i in head] + ["..."]
                  + [_format_block(array[i], indent + 1, summarize, fmt) for i in tail])
    else:
        blocks = [_format_block(array[i], indent + 1, summarize, fmt) for i in range(count)]
    return "[" + ("," + "\n" * (ndim - 1) + " " * (indent + 1)).join(blocks) + "]"


def _format_contents(array, dtype, indent):
    """The bracketed values of a non-empty tensor."""
    summarize = array.size > _options.threshold
    shown = _summary(array, _options.edgeitems) if summarize else array
    fmt = _ElementFormat(shown, dtype)
    return _format_block(array, indent, summarize, fmt)


def _append_suffixes(text, suffixes, indent):
    """Close the tensor(...) call, putting each suffix on the line if it fits, else below."""
    parts = [text]
    # torch measures the last line this way (two more than its length); kept for identical wraps
    line_length = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if line_length + len(suffix) + 2 > _options.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            line_length = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            line_length += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


# ------------------------------------------------------------------ tensors


def _class_prefix(t):
    """'tensor(' for plain tensors and parameters, the class name for other subclasses."""
    from .tensor import Tensor
    cls = type(t)
    if cls is Tensor or cls.__name__ == "Parameter":
        return "tensor(", False
    is_parameter = any(base.__name__ == "Parameter" for base in cls.__mro__)
    return f"{cls.__name__}(", is_parameter


def _grad_fn_name(grad_fn):
    """The node's class name, or the name a generic node reports (last `::` part, as torch)."""
    name_method = getattr(grad_fn, "name", None)
    if callable(name_method):
        return str(name_method()).rsplit("::", 1)[-1]
    return type(grad_fn).__name__


def format_tensor(t, tensor_contents=None):
    """repr(t) / str(t), as torch prints it. `tensor_contents` replaces the bracketed values."""
    prefix, wrap_as_parameter = _class_prefix(t)
    indent = len(prefix)
    suffixes = []
    device = t.device
    if device.type != "cpu":
        suffixes.append(f"device='{device}'")
    array = t._data
    dtype = t._dtype
    default = _dtypes.get_default_dtype()
    if array.size == 0:
        # numpy-like: the size is only implied for 1-D; with no values the dtype cannot be inferred
        if array.ndim != 1:
            suffixes.append(f"size={tuple(array.shape)}")
        if dtype is not default:
            suffixes.append(f"dtype={dtype!r}")
    else:
        if not _options.edgeitems:
            suffixes.append(f"size={tuple(array.shape)}")
        if dtype is not default and dtype is not _dtypes.int64 and dtype is not _dtypes.bool:
            suffixes.append(f"dtype={dtype!r}")
    if tensor_contents is not None:
        contents = tensor_contents
    elif array.size == 0:
        contents = "[]"
    else:
        contents = _format_contents(array, dtype, indent)
    grad_fn = getattr(t, "_grad_fn", None)
    if grad_fn is not None:
        suffixes.append(f"grad_fn=<{_grad_fn_name(grad_fn)}>")
    elif getattr(t, "_requires_grad", False):
        suffixes.append("requires_grad=True")
    text = _append_suffixes(prefix + contents, suffixes, indent)
    return f"Parameter({text})" if wrap_as_parameter else text


# ------------------------------------------------------------------ storages


def format_storage(storage):
    """print(storage): one element per line, each after a space, then a bracketed summary."""
    from .storage import UntypedStorage
    values = "\n ".join(str(v) for v in storage._flat.tolist())
    if isinstance(storage, UntypedStorage):
        info = f"[torch.storage.UntypedStorage(device={storage.device}) of size {len(storage)}]"
    else:
        info = (f"[torch.storage.TypedStorage(dtype={storage.dtype!r}, device={storage.device})"
                f" of size {len(storage)}]")
    return " " + values + "\n" + info
