"""dtypes, torch's type promotion, and the legacy typed-tensor names (FloatTensor, ...)."""
import builtins

import numpy as np

__all__ = [
    "dtype", "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32",
    "float64", "promote_types", "result_type_of", "can_cast", "get_default_dtype",
    "set_default_dtype",
]

_builtin_bool = builtins.bool
_builtin_int = builtins.int
_builtin_float = builtins.float


class dtype:
    """One element type: its torch name, numpy type, and category (bool < integer < float)."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "category",
                 "scalar_name", "legacy_name", "rank", "__weakref__")

    def __init__(self, name, np_type, category, scalar_name, legacy_name, rank, is_signed):
        self.name = name
        self.np = np.dtype(np_type)
        self.itemsize = self.np.itemsize
        self.category = category  # 0 bool, 1 integer, 2 floating
        self.is_floating_point = category == 2
        self.is_signed = is_signed
        self.scalar_name = scalar_name  # the name torch prints in error messages ("Float")
        self.legacy_name = legacy_name  # "FloatTensor"
        self.rank = rank

    is_complex = False

    def __repr__(self):
        return "torch." + self.name

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))

    def to_real(self):
        return self

    @property
    def is_integral(self):
        return self.category == 1


bool = dtype("bool", np.bool_, 0, "Bool", "BoolTensor", 0, False)
uint8 = dtype("uint8", np.uint8, 1, "Byte", "ByteTensor", 1, False)
int8 = dtype("int8", np.int8, 1, "Char", "CharTensor", 2, True)
int16 = dtype("int16", np.int16, 1, "Short", "ShortTensor", 3, True)
int32 = dtype("int32", np.int32, 1, "Int", "IntTensor", 4, True)
int64 = dtype("int64", np.int64, 1, "Long", "LongTensor", 5, True)
float16 = dtype("float16", np.float16, 2, "Half", "HalfTensor", 6, True)
float32 = dtype("float32", np.float32, 2, "Float", "FloatTensor", 7, True)
float64 = dtype("float64", np.float64, 2, "Double", "DoubleTensor", 8, True)

ALL = (bool, uint8, int8, int16, int32, int64, float16, float32, float64)
# torch's aliases
half, float, double = float16, float32, float64
short, int, long = int16, int32, int64

_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(half=float16, float=float32, double=float64, short=int16, int=int32, long=int64)
_BY_NP = {d.np: d for d in ALL}
_BY_LEGACY = {d.legacy_name: d for d in ALL}


def _dtype_by_name(name):
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype):
    """The graphc dtype of a numpy dtype; TypeError for types torch cannot hold."""
    try:
        return _BY_NP[np.dtype(np_dtype)]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{np.dtype(np_dtype).name}. The only supported "
            "types are: float64, float32, float16, int64, int32, int16, int8, uint8, and bool."
        ) from None


def by_legacy_name(name):
    """'torch.FloatTensor' / 'graphc.FloatTensor' / 'FloatTensor' -> float32."""
    short_name = name.rsplit(".", 1)[-1]
    try:
        return _BY_LEGACY[short_name]
    except KeyError:
        raise ValueError(f"invalid type: '{name}'") from None


def to_dtype(value):
    """Accept a graphc dtype, a numpy dtype/type, or a Python type (float, int, bool)."""
    if isinstance(value, dtype):
        return value
    if value is _builtin_float:
        return float64
    if value is _builtin_int:
        return int64
    if value is _builtin_bool:
        return bool
    if isinstance(value, str):
        try:
            return _BY_NAME[value.rsplit(".", 1)[-1]]
        except KeyError:
            pass
    try:
        return from_numpy_dtype(value)
    except TypeError:
        raise TypeError(f"dtype must be a graphc dtype, got {value!r}") from None




# ---------------------------------------------------------------- promotion


def _promote_pair(a, b):
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == 2 or a.category == 0:
        return a if a.rank > b.rank else b
    # both integers: numpy's rule for these eight types is torch's rule
    return _BY_NP[np.promote_types(a.np, b.np)]


_PROMOTE = {(a, b): _promote_pair(a, b) for a in ALL for b in ALL}


def promote_types(a, b):
    return _PROMOTE[(a, b)]


def _combine_categories(higher, lower):
    # torch's combine_categories: a lower-priority operand only matters when its category is higher
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.category == 2:
        return higher
    if higher is bool or lower.category == 2:
        return _PROMOTE[(higher, lower)]
    return higher


def scalar_dtype(value):
    """The dtype torch gives a Python scalar operand (floats take the default dtype)."""
    if isinstance(value, _builtin_bool) or isinstance(value, np.bool_):
        return bool
    if isinstance(value, (_builtin_int, np.integer)):
        return int64
    return _default[0]


def result_type_of(dim_dtypes, zero_dim_dtypes, scalar_dtypes):
    """torch.result_type over three priority groups: tensors with dims, 0-dim tensors, scalars."""
    dim_result = zero_result = wrapped_result = None
    for d in dim_dtypes:
        dim_result = d if dim_result is None else _PROMOTE[(dim_result, d)]
    for d in zero_dim_dtypes:
        zero_result = d if zero_result is None else _PROMOTE[(zero_result, d)]
    for d in scalar_dtypes:
        wrapped_result = d if wrapped_result is None else _PROMOTE[(wrapped_result, d)]
    return _combine_categories(dim_result, _combine_categories(zero_result, wrapped_result))


def can_cast(from_dtype, to_dtype):
    """torch.can_cast: no float -> integer, no non-bool -> bool."""
    if from_dtype.category == 2 and to_dtype.category < 2:
        return False
    if from_dtype is not bool and to_dtype is bool:
        return False
    return True


# ---------------------------------------------------------------- default dtype

_default = [float32]


def get_default_dtype():
    return _default[0]


def set_default_dtype(d):
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default[0] = d


# ---------------------------------------------------------------- legacy typed-tensor names


class _LegacyTensorMeta(type):
    """FloatTensor & co.: constructors of a fixed dtype and isinstance targets checking it."""

    def __instancecheck__(cls, instance):
        from .tensor import Tensor
        return isinstance(instance, Tensor) and instance.dtype is cls._legacy_dtype

    def __call__(cls, *args, **kwargs):
        from .tensor import Tensor
        return Tensor(*args, dtype=cls._legacy_dtype, **kwargs)

    def __repr__(cls):
        return f"<class 'torch.{cls.__name__}'>"


def _legacy_class(d):
    return _LegacyTensorMeta(d.legacy_name, (), {"_legacy_dtype": d, "dtype": d,
                                                 "__module__": "graphc"})


LEGACY_TENSOR_TYPES = {d.legacy_name: _legacy_class(d) for d in ALL}


def set_default_tensor_type(kind):
    """Accepts 'torch.DoubleTensor', 'graphc.DoubleTensor' or the class itself."""
    if isinstance(kind, str):
        d = by_legacy_name(kind)
    else:
        d = getattr(kind, "_legacy_dtype", None)
        if d is None:
            raise TypeError(f"invalid type: {kind!r}")
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    _default[0] = d
