"""Random ops: rand, randn, randint, randperm, normal, bernoulli, multinomial and the in-place
samplers (uniform_, normal_, random_, bernoulli_, exponential_), with torch's signatures and errors.

Each sampler is a primitive of kind "random" whose eager implementation is a pure function of its
attributes: the output size and dtype, the distribution's parameters, and `seed` and `offset`, the
position in a Philox stream claimed from the generator when the op is called (graphc.random
documents the exact recipe). A compiler can therefore take `seed` and `offset` as inputs of a
compiled graph and reproduce the eager numbers. `normal` with tensor mean or std is composite:
std * z + mean with z drawn by the "normal" primitive, so its gradients come from `mul` and `add`.
"""
import warnings

import numpy as np

from .. import dtypes as _dt
from .. import random as _random
from ..device import check_device
from .. import dispatch as _dispatch
from ..runtime import cpu as _cpu
from ..ir.registry import defvjp
from . import elementwise as _elementwise
from .creation import parse_size
from ..ir.primitives.random_ops import (_bernoulli, _count, _exponential, _multinomial, _normal,
                                        _randint, _randperm, _uniform)

__all__ = ["rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like",
           "normal", "bernoulli", "multinomial"]
NOT_METHODS = ["rand", "randn", "randint", "randperm", "rand_like", "randn_like",
               "randint_like", "normal"]

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

# the C++ type names torch prints in range errors
_C_NAMES = {"bool": "bool", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
            "int32": "int", "int64": "long int", "float16": "c10::Half", "float32": "float",
            "float64": "double"}
_CAST_NAMES = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int32_t",
               "int64": "int64_t"}
_LIMIT_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double"}


def _draw(op, generator, word_count, args=(), **attrs):
    """Claim the next `word_count` words of the generator's stream and run `op` on them."""
    _dispatch.note_pending_draw(generator, word_count)
    attrs["seed"], attrs["offset"] = generator.claim(word_count)
    return _dispatch.apply(op, args, attrs)


def _draw_into(target, op, generator, word_count, args=(), **attrs):
    """`_draw`, written into `target` (uniform_, normal_, ...)."""
    _dispatch.note_pending_draw(generator, word_count)
    attrs["seed"], attrs["offset"] = generator.claim(word_count)
    return _dispatch.apply_inplace(op, target, args, attrs)


def _generator(generator, function_name):
    if generator is None:
        return _random.default_generator
    if not isinstance(generator, _random.Generator):
        raise TypeError(f"{function_name}(): argument 'generator' must be torch.Generator, not "
                        f"{type(generator).__name__}")
    return generator


def _size(size, function_name):
    if not size:
        raise TypeError(
            f"{function_name}() received an invalid combination of arguments - got (), but "
            "expected one of:\n * (tuple of ints size, *, torch.Generator generator, Tensor out = "
            "None, torch.dtype dtype = None, torch.layout layout = None, torch.device device = "
            "None, bool pin_memory = False, bool requires_grad = False)\n")
    return parse_size(size, function_name)


def _float_dtype(dtype, kernel):
    """The dtype of a floating-point sampler; torch names the kernel that refuses other dtypes."""
    if dtype.category != 2:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{dtype.scalar_name}\'')
    return dtype


def _factory_dtype(dtype, out):
    if dtype is not None:
        return _dt.to_dtype(dtype)
    return out._dtype if out is not None else _dt.get_default_dtype()


def _check_requires_grad(dtype, requires_grad):
    """Checked before drawing, so a refused call leaves the generator where it was."""
    if requires_grad and dtype.category != 2:
        raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")


def _finish(result, requires_grad, out):
    if requires_grad:
        result.requires_grad_(True)
    return result if out is None else _elementwise.write_out(result, out)


def _integer(value, function_name, argument, position):
    """An int argument (Python, numpy or a one-element integer tensor), range-checked like torch."""
    if isinstance(value, _dispatch.Tensor) and value.numel() == 1 and value._dtype.category < 2:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        where = f" (position {position})" if position else ""
        raise TypeError(f"{function_name}(): argument '{argument}'{where} must be int, not "
                        f"{type(value).__name__}")
    value = int(value)
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise ValueError("Overflow when unpacking long long")
    return value


def _real(value):
    """A float parameter given as a number or a one-element tensor."""
    return float(value.item()) if isinstance(value, _dispatch.Tensor) else float(value)


def _cpp(value):
    """A number the way C++ streams print it in torch's messages (6 significant digits)."""
    return "%g" % value


def _dtype_limits(dtype):
    if dtype.category == 2:
        info = np.finfo(dtype.np)
        return float(info.min), float(info.max)
    if dtype is _dt.bool:
        return 0, 1
    info = np.iinfo(dtype.np)
    return int(info.min), int(info.max)


def _default_high(dtype):
    """The largest value random_ draws when no upper bound is given (inclusive)."""
    if dtype.category == 2:
        return 1 << _random.uniform_bits(dtype)
    return _dtype_limits(dtype)[1]


def _check_integer_range(low, high_inclusive, dtype):
    """torch's checks of random_/randint bounds against the result dtype."""
    minimum, maximum = _dtype_limits(dtype)
    c_name = _C_NAMES[dtype.name]
    if low < minimum or low > maximum:
        raise RuntimeError(f"from is out of bounds for {c_name}")
    if high_inclusive < minimum or high_inclusive > maximum:
        raise RuntimeError(f"to - 1 is out of bounds for {c_name}")
    if dtype.category == 2:
        bits = _random.uniform_bits(dtype)
        for name, value in (("from", low), ("to - 1", high_inclusive)):
            if not -(1 << bits) <= value <= 1 << bits:
                warnings.warn(
                    f"{name} is out of bounds [-(2^{bits}), 2^{bits}]. Due to precision "
                    f"limitations {c_name} can support discrete uniform distribution only within "
                    "this range. This warning will become an error in version 1.7 release, please "
                    "fix the code in advance", UserWarning, stacklevel=4)


def _check_from_to(low, high):
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= "
                           f"to={high}")


def _integers(low, high, size, dtype):
    """randint's draw: `high` is exclusive."""
    _check_from_to(low, high)
    _check_integer_range(low, high - 1, dtype)
    word_count = _random.integer_word_count(_count(size), high - low)
    return word_count, dict(size=size, dtype=dtype, low=low, high=high)


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, pin_memory=False,
         requires_grad=False):
    """Uniform numbers in [0, 1)."""
    check_device(device)
    size = _size(size, "rand")
    generator = _random.default_generator if generator is None else _generator(generator, "rand")
    dtype = _float_dtype(_factory_dtype(dtype, out), "check_uniform_bounds")
    result = _draw(_uniform, generator, _random.uniform_words(_count(size), dtype),
                   size=size, dtype=dtype, low=0.0, high=1.0)
    return _finish(result, requires_grad, out)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, pin_memory=False,
          requires_grad=False):
    """Standard normal numbers."""
    check_device(device)
    size = _size(size, "randn")
    generator = _random.default_generator if generator is None else _generator(generator, "randn")
    dtype = _float_dtype(_factory_dtype(dtype, out), "normal_kernel_cpu")
    result = _standard_normal(size, dtype, generator)
    return _finish(result, requires_grad, out)


def _standard_normal(size, dtype, generator, mean=0.0, std=1.0):
    return _draw(_normal, generator, _random.normal_word_count(_count(size), dtype),
                 size=size, dtype=dtype, mean=mean, std=std)


_RANDINT_FORMS = (
    " * (int high, tuple of ints size, *, torch.Generator generator, Tensor out = None, "
    "torch.dtype dtype = None, torch.layout layout = None, torch.device device = None, "
    "bool pin_memory = False, bool requires_grad = False)\n"
    " * (int low, int high, tuple of ints size, *, torch.Generator generator, Tensor out = None, "
    "torch.dtype dtype = None, torch.layout layout = None, torch.device device = None, "
    "bool pin_memory = False, bool requires_grad = False)\n")


def _randint_arguments(args, low, high, size):
    """Resolve randint's overloads (high, size) / (low, high, size), positional or keyword."""
    valid = len(args) <= 3
    if len(args) == 3:
        low, high, size = args
    elif len(args) == 2 and size is None:
        high, size = args
    elif len(args) == 2:
        low, high = args
    elif len(args) == 1 and low is None and high is None:
        high = args[0]
    elif len(args) == 1 and low is None:
        low = args[0]
    elif len(args) == 1:
        valid = False
    if not valid or high is None or size is None:
        got = ", ".join(type(a).__name__ for a in args)
        raise TypeError(f"randint() received an invalid combination of arguments - got ({got}), "
                        f"but expected one of:\n{_RANDINT_FORMS}")
    return (0 if low is None else low), high, size


def randint(*args, size=None, low=None, high=None, generator=None, out=None, dtype=None,
            layout=None, device=None, pin_memory=False, requires_grad=False):
    """Integers uniform in [low, high): randint(high, size) or randint(low, high, size)."""
    check_device(device)
    explicit_low = len(args) == 3 or (len(args) == 2 and size is not None) or (
        len(args) == 1 and high is not None)
    low, high, size = _randint_arguments(args, low, high, size)
    low = _integer(low, "randint", "low", 1 if explicit_low else 0)
    high = _integer(high, "randint", "high", 2 if explicit_low else 1)
    if not isinstance(size, (tuple, list)):
        position = 3 if explicit_low else 2
        raise TypeError(f"randint(): argument 'size' (position {position}) must be tuple of ints, "
                        f"not {type(size).__name__}")
    size = parse_size((size,), "randint")
    generator = _generator(generator, "randint")
    if dtype is None:
        dtype = out._dtype if out is not None else _dt.int64
    dtype = _dt.to_dtype(dtype)
    word_count, attrs = _integers(low, high, size, dtype)
    _check_requires_grad(dtype, requires_grad)
    result = _draw(_randint, generator, word_count, **attrs)
    return _finish(result, requires_grad, out)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             pin_memory=False, requires_grad=False):
    """A random permutation of 0 .. n-1 (graphc.random documents the sort-by-keys order)."""
    check_device(device)
    n = _integer(n, "randperm", "n", 1)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    if dtype is None:
        dtype = out._dtype if out is not None else _dt.int64
    dtype = _dt.to_dtype(dtype)
    _check_randperm_dtype(n, dtype)
    _check_requires_grad(dtype, requires_grad)
    generator = _generator(generator, "randperm")
    result = _draw(_randperm, generator, 2 * n, n=n, dtype=dtype)
    return _finish(result, requires_grad, out)


def _check_randperm_dtype(n, dtype):
    if dtype is _dt.bool:
        raise NotImplementedError("\"randperm\" not implemented for 'Bool'")
    if dtype.category == 2:
        bits = _random.uniform_bits(dtype)
        if n > (1 << bits) + 1:
            limit = "2049" if bits == 11 else f"2^{bits}+1"
            raise RuntimeError(f"n cannot be greater than {limit} for {_LIMIT_NAMES[dtype.name]} "
                               "type.")
    elif n - 1 > _dtype_limits(dtype)[1]:
        raise RuntimeError(f"value cannot be converted to type {_CAST_NAMES[dtype.name]} without "
                           "overflow")


def _like_dtype(input, dtype):
    return input._dtype if dtype is None else _dt.to_dtype(dtype)


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad=False, memory_format=None):
    return rand(input.shape, generator=generator, dtype=_like_dtype(input, dtype), device=device,
                requires_grad=requires_grad)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad=False, memory_format=None):
    return randn(input.shape, generator=generator, dtype=_like_dtype(input, dtype), device=device,
                 requires_grad=requires_grad)


def randint_like(input, *args, low=None, high=None, generator=None, dtype=None, layout=None,
                 device=None, requires_grad=False, memory_format=None):
    """randint_like(input, high) or randint_like(input, low, high), in input's dtype by default."""
    if len(args) == 2:
        low, high = args
    elif len(args) == 1 and high is None:
        high = args[0]
    elif len(args) == 1:
        low = args[0]
    if high is None or len(args) > 2:
        raise TypeError("randint_like() received an invalid combination of arguments - expected "
                        "(Tensor input, int high, ...) or (Tensor input, int low, int high, ...)")
    return randint(0 if low is None else low, high, tuple(input.shape), generator=generator,
                   dtype=_like_dtype(input, dtype), device=device, requires_grad=requires_grad)


_NORMAL_FORMS = (
    " * (Tensor mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)\n"
    " * (Tensor mean, float std = 1, *, torch.Generator generator = None, Tensor out = None)\n"
    " * (float mean, Tensor std, *, torch.Generator generator = None, Tensor out = None)\n"
    " * (float mean, float std, tuple of ints size, *, torch.Generator generator = None, "
    "Tensor out = None, torch.dtype dtype = None, torch.layout layout = None, "
    "torch.device device = None, bool pin_memory = False, bool requires_grad = False)\n")


def normal(mean, std=None, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, pin_memory=False, requires_grad=False):
    """torch.normal's overloads: (Tensor mean, Tensor std), (Tensor mean, float std=1),
    (float mean, Tensor std) and (float mean, float std, size)."""
    generator = _generator(generator, "normal")
    mean_is_tensor = isinstance(mean, _dispatch.Tensor)
    std_is_tensor = isinstance(std, _dispatch.Tensor)
    if not mean_is_tensor and not std_is_tensor:
        if size is None or std is None:
            raise TypeError(
                f"normal() received an invalid combination of arguments - got "
                f"({type(mean).__name__}, {type(std).__name__}), but expected one of:\n"
                f"{_NORMAL_FORMS}")
        check_device(device)
        mean, std = float(mean), float(std)
        _check_std(std)
        size = parse_size((size,) if isinstance(size, (tuple, list)) else (size,), "normal")
        dtype = _float_dtype(_factory_dtype(dtype, out), "normal_kernel_cpu")
        result = _standard_normal(size, dtype, generator, mean, std)
        return _finish(result, requires_grad, out)
    if std is None:
        std = 1.0
    result_dtype = (mean if mean_is_tensor else std)._dtype
    _float_dtype(result_dtype, "normal_kernel_cpu")
    if std_is_tensor:
        _dispatch.check_not_tracing("normal's check of a std tensor")  # it reads the values
        if std.numel() and not (std._data >= 0).all():
            raise RuntimeError("normal expects all elements of std >= 0.0")
    else:
        std = _real(std)
        _check_std(std)
    if not mean_is_tensor:
        mean = _real(mean)
    result = _normal_of_tensors(mean, std, result_dtype, generator)
    return result if out is None else _elementwise.write_out(result, out)


def _check_std(std):
    if not std >= 0.0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {_cpp(std)}")


def _normal_of_tensors(mean, std, dtype, generator):
    """std * z + mean with z standard normal in the broadcast shape, as graphc ops (so autograd
    and compilation see mul and add)."""
    shapes = [t._data.shape for t in (mean, std) if isinstance(t, _dispatch.Tensor)]
    try:
        size = np.broadcast_shapes(*shapes)
    except ValueError:
        raise _cpu.broadcast_error(shapes) from None
    if isinstance(std, _dispatch.Tensor):
        if std._dtype is not dtype:
            std = _elementwise.cast(std, dtype)
        noise = _elementwise.mul(_standard_normal(size, dtype, generator), std)
    else:
        noise = _standard_normal(size, dtype, generator, 0.0, std)
    if isinstance(mean, _dispatch.Tensor):
        if mean._dtype is not dtype:
            mean = _elementwise.cast(mean, dtype)
        return _elementwise.add(noise, mean)
    return _elementwise.add(noise, mean) if mean != 0.0 else noise


def _check_probability(p):
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={_cpp(p)}")


def _check_probability_tensor(p):
    if p._dtype.category != 2:
        raise NotImplementedError(
            f"\"bernoulli_tensor_cpu_p_\" not implemented for '{p._dtype.scalar_name}'")
    data = p._data
    if data.size and not ((data >= 0) & (data <= 1)).all():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.  (Could "
                           "this error message be improved?  If so, please report an enhancement "
                           "request to PyTorch.)")


def bernoulli(input, p=None, *, generator=None, out=None):
    """Draws 0/1 with probability `input` (elementwise), or with the float `p` in input's shape."""
    generator = _generator(generator, "bernoulli")
    size = tuple(input.shape)
    if p is None:
        _check_probability_tensor(input)
        result = _draw(_bernoulli, generator, _count(size), (input,), size=size,
                       dtype=input._dtype)
    else:
        if isinstance(p, _dispatch.Tensor):
            raise TypeError(
                "bernoulli() received an invalid combination of arguments - got (Tensor, "
                "p=Tensor), but expected one of:\n"
                " * (Tensor input, *, torch.Generator generator = None, Tensor out = None)\n"
                " * (Tensor input, float p, *, torch.Generator generator = None)\n")
        p = float(p)
        _check_probability(p)
        result = _draw(_bernoulli, generator, _count(size), (p,), size=size, dtype=input._dtype)
    return result if out is None else _elementwise.write_out(result, out)


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Indices sampled from the rows of `input` (1-D or 2-D, non-negative weights)."""
    generator = _generator(generator, "multinomial")
    num_samples = _integer(num_samples, "multinomial", "num_samples", 2)
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if input._dtype.category != 2:
        raise RuntimeError("multinomial only supports floating-point dtypes for input, got: "
                           f"{input._dtype.scalar_name}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    categories = input.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    if categories > 1 << 24:
        raise RuntimeError("number of categories cannot exceed 2^24")
    rows = input.shape[0] if input.dim() == 2 else 1
    if input.numel():
        _check_distributions(input._data.reshape(rows, categories))
    word_count = _random.multinomial_word_count(rows, categories, num_samples, replacement)
    # indices carry no gradient (the op is not differentiable); traced, so compiled code
    # draws them too (it checks the distributions again on every call)
    result = _draw(_multinomial, generator, word_count, (input.detach(),),
                   num_samples=num_samples, replacement=bool(replacement))
    return result if out is None else _elementwise.write_out(result, out)


def _check_distributions(rows):
    if not (np.isfinite(rows) & (rows >= 0)).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if not (rows.sum(axis=1, dtype=np.float64) > 0).all():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


def _bind(function_name, args, kwargs, names, defaults):
    """Parameters named like Python keywords (`from`) cannot be declared, so bind them by hand."""
    if len(args) > len(names):
        raise TypeError(f"{function_name}() takes from 0 to {len(names)} positional arguments but "
                        f"{len(args)} were given")
    values = dict(zip(names, defaults))
    values.update(zip(names, args))
    for key, value in kwargs.items():
        if key not in names:
            raise TypeError(f"{function_name}() got an unexpected keyword argument '{key}'")
        values[key] = value
    return [values[name] for name in names]


def uniform_(self, *args, generator=None, **kwargs):
    """Fill with numbers uniform in [from, to) (default [0, 1))."""
    low, high = _bind("uniform_", args, kwargs, ("from", "to"), (0.0, 1.0))
    dtype = _float_dtype(self._dtype, "check_uniform_bounds")
    low, high = _real(low), _real(high)
    _check_uniform_bounds(low, high, dtype)
    size = tuple(self.shape)
    return _draw_into(self, _uniform, _generator(generator, "uniform_"),
                      _random.uniform_words(_count(size), dtype),
                      size=size, dtype=dtype, low=low, high=high)


def _check_uniform_bounds(low, high, dtype):
    minimum, maximum = _dtype_limits(dtype)
    c_name = _C_NAMES[dtype.name]
    if not minimum <= low <= maximum:
        raise RuntimeError(f"from is out of bounds for {c_name}")
    if not minimum <= high <= maximum:
        raise RuntimeError(f"to is out of bounds for {c_name}")
    if low > high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={_cpp(low)} > to={_cpp(high)}")
    if high - low > maximum:
        raise RuntimeError(
            f"uniform_ expects to-from <= std::numeric_limits<{_LIMIT_NAMES[dtype.name]}>::max(), "
            f"but found to={_cpp(high)} and from={_cpp(low)} which result in to-from to exceed "
            "the limit")


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fill with normal numbers of the given mean and standard deviation."""
    dtype = _float_dtype(self._dtype, "normal_kernel_cpu")
    mean, std = _real(mean), _real(std)
    _check_std(std)
    size = tuple(self.shape)
    return _draw_into(self, _normal, _generator(generator, "normal_"),
                      _random.normal_word_count(_count(size), dtype),
                      size=size, dtype=dtype, mean=mean, std=std)


def exponential_(self, lambd=1.0, *, generator=None):
    """Fill with exponential numbers of rate `lambd`."""
    dtype = self._dtype
    if dtype.category != 2:
        raise RuntimeError("Exponential distribution is a continuous probability distribution. "
                           f"dtype must be a floating point but you specified {dtype.scalar_name}")
    lambd = _real(lambd)
    if not lambd > 0.0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={_cpp(lambd)}")
    size = tuple(self.shape)
    return _draw_into(self, _exponential, _generator(generator, "exponential_"),
                      _random.exponential_word_count(_count(size), dtype),
                      size=size, dtype=dtype, lambd=lambd)


_RANDOM_FORMS = (" * (*, torch.Generator generator = None)\n"
                 " * (int from, int to, *, torch.Generator generator = None)\n"
                 " * (int to, *, torch.Generator generator = None)\n")


def _random_bounds(args, kwargs):
    """random_'s bounds as given: [], [to] or [from, to] (`to` may be None), type-checked."""
    for key in kwargs:
        if key not in ("from", "to"):
            raise TypeError(f"random_() got an unexpected keyword argument '{key}'")
    given = list(args)
    if "from" in kwargs:
        given.insert(0, kwargs["from"])
    if "to" in kwargs:
        given = (given or [0]) + [kwargs["to"]]
    valid = len(given) <= 2 and not ("from" in kwargs and len(given) == 1)
    for value in given:
        if isinstance(value, bool) or not (value is None or isinstance(
                value, (int, np.integer, _dispatch.Tensor))):
            valid = False
    if not valid:
        got = ", ".join(type(v).__name__ for v in given)
        raise TypeError(f"random_() received an invalid combination of arguments - got ({got}), "
                        f"but expected one of:\n{_RANDOM_FORMS}")
    return given


def random_(self, *args, generator=None, **kwargs):
    """Fill with integers: random_() over the dtype's range, random_(to) in [0, to),
    random_(from, to) in [from, to), random_(from, None) from `from` to the dtype's maximum."""
    given = _random_bounds(args, kwargs)
    dtype = self._dtype
    if not given:
        low, high = 0, _default_high(dtype) + 1
    elif len(given) == 1:
        low, high = 0, _integer(given[0], "random_", "to", 1)
    else:
        low = _integer(given[0], "random_", "from", 1)
        high = (_default_high(dtype) + 1 if given[1] is None
                else _integer(given[1], "random_", "to", 2))
    size = tuple(self.shape)
    word_count, attrs = _integers(low, high, size, dtype)
    return _draw_into(self, _randint, _generator(generator, "random_"), word_count, **attrs)


def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 draws of probability `p` (a float, or a tensor broadcastable to self)."""
    generator = _generator(generator, "bernoulli_")
    size = tuple(self.shape)
    if isinstance(p, _dispatch.Tensor):
        _check_probability_tensor(p)
        _check_expandable(p.shape, size, p)
    else:
        p = float(p)
        _check_probability(p)
    return _draw_into(self, _bernoulli, generator, _count(size), (p,), size=size,
                      dtype=self._dtype)


def _check_expandable(shape, target, p):
    """torch expands p to self's shape: the same checks and messages as Tensor.expand."""
    if len(shape) > len(target):
        raise RuntimeError(
            f"expand(torch.{p._dtype.legacy_name}{{{list(shape)}}}, "
            f"size={list(target)}): the number of sizes provided ({len(target)}) must be greater "
            f"or equal to the number of dimensions in the tensor ({len(shape)})")
    for axis in range(-1, -len(shape) - 1, -1):
        if shape[axis] != 1 and shape[axis] != target[axis]:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[axis]}) must match the existing size "
                f"({shape[axis]}) at non-singleton dimension {len(target) + axis}.  Target sizes: "
                f"{list(target)}.  Tensor sizes: {list(shape)}")


EXTRA_METHODS = {"uniform_": uniform_, "normal_": normal_, "exponential_": exponential_,
                 "random_": random_, "bernoulli_": bernoulli_}


def _bernoulli_vjp(ctx, grad):
    """A sample does not vary smoothly with its probabilities: the gradient is zero (as torch)."""
    return tuple(None if meta is None else grad.new_zeros(meta[0]) for meta in ctx.meta)


defvjp("bernoulli", _bernoulli_vjp, saves=())
