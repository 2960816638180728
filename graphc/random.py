"""Random numbers: the Philox4x32-10 generator and the exact recipe every backend follows.

Eager numpy code (here), generated C and generated CUDA all draw random numbers with the recipe
below, so the same seed gives the same numbers in eager, compiled and CUDA runs. This docstring is
the specification the code generators implement; `tests/test_random.py` pins it down.

Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011)
--------------------------------------------------------------------------------------
A bijection of a 128-bit counter (c0, c1, c2, c3) under a 64-bit key (k0, k1), all uint32 words:

    repeat 10 times:
        p0 = 0xD2511F53 * c0                   (full 64-bit product)
        p1 = 0xCD9E8D57 * c2
        (c0, c1, c2, c3) = (hi(p1) ^ c1 ^ k0, lo(p1), hi(p0) ^ c3 ^ k1, lo(p0))
        (k0, k1) = (k0 + 0x9E3779B9, k1 + 0xBB67AE85)     (mod 2**32; the last bump is unused)

The output block is the four words (c0, c1, c2, c3) in that order; it matches Random123's
philox4x32 (10 rounds), whose published known-answer vectors the tests check.

The stream of a generator
-------------------------
A `Generator` holds a 64-bit `seed` and a 64-bit `offset` counting the 128-bit blocks it has used
(its state, `get_state()`, is these two as little-endian uint64: 16 bytes). manual_seed(s) sets
seed = s mod 2**64 and offset = 0.

    key          = (low32(seed), high32(seed))
    block b      = Philox(counter=(low32(b), high32(b), 0, 0), key)
    word j       = word j % 4 of block (offset + j // 4)        (block index mod 2**64)

Every draw (one random op) of W words reads words 0 .. W-1 of the stream at the current offset,
then advances the offset by ceil(W / 4): each draw starts on a fresh block, so a kernel computes
word j of a draw from (seed, offset, j) alone, with no sequential state. The words a draw uses, by
element i of its output (in row-major order of the output's logical shape):

    uniform (rand, rand_like, uniform_), bits m = 11 for float16, 24 for float32, 53 for float64:
        m <= 32: u_i = (word[i] >> (32 - m)) * 2**-m                        (1 word per element)
        m == 53: u_i = (((word[2i] << 32) | word[2i+1]) >> 11) * 2**-53     (2 words per element)
        u_i lies in [0, 1) and is exact in the dtype. uniform_(a, b) returns (b - a) * u_i + a,
        computed in float64 (no fused multiply-add: one rounding per operation) and rounded to the
        dtype; rand is u_i itself.

    normal (randn, normal, normal_): Box-Muller on pairs. The pair k (elements 2k and 2k+1) takes
        the uniforms v_2k and v_2k+1 of the 53-bit recipe above for float64 and of the 24-bit
        recipe for float16 and float32 (so 2 words per float32 pair, 4 words per float64 pair):
            r = sqrt(-2 * log(1 - v_2k)),  t = (2 * pi) * v_2k+1      (in float64)
            z_2k = r * cos(t),  z_2k+1 = r * sin(t)
        normal_(mean, std) returns std * z_i + mean in float64, rounded to the dtype. An odd count
        still consumes the whole last pair (its sine is dropped).

    exponential_(lambd): x_i = -log(1 - v_i) / lambd in float64 with v_i the normal recipe's
        uniforms (1 word per element up to float32, 2 for float64), rounded to the dtype.

    integers (randint, randint_like, random_) in [low, high), span = high - low:
        span <= 2**32: x_i = low + word[i] % span                                (1 word)
        span >  2**32: x_i = low + ((word[2i] << 32) | word[2i+1]) % span         (2 words)
        in 64-bit two's complement (span == 2**64 takes the 64-bit value whole), then converted to
        the dtype.

    bernoulli: x_i = 1 if word[i] * 2**-32 < p_i else 0, compared in float64 (1 word).

    randperm(n): key_i = (word[2i] << 32) | word[2i+1] (2 words); the result lists 0 .. n-1 sorted
        by (key_i, i) ascending, i.e. a stable sort of the indices by key.

    multinomial (rows of k probabilities, s samples), on each row's probabilities p in float64:
        with replacement: c = running sum of p (left to right); sample j of row r takes the 53-bit
            uniform v of element r * s + j and returns the first index whose c exceeds v * c[k-1]
            (the last index with p > 0 if rounding leaves none).
        without replacement: element r * k + i gives e_i = -log(1 - v) (v the 53-bit uniform);
            the row's key_i = e_i / p_i (+inf where p_i == 0); the result is the first s indices
            of a stable ascending sort by key.

Eager results agree bit for bit with any implementation of this recipe, except where it calls
log, sqrt, sin or cos: those are evaluated in float64 and rounded to the result dtype, so two
correct libms can disagree only when a float64 result lies within an ulp of a rounding boundary.
"""
import contextlib
import math
import os
import sys

import numpy as np

from . import dispatch as _dispatch
from . import dtypes as _dt

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed",
           "get_rng_state", "set_rng_state", "fork_rng"]

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
ROUNDS = 10
MASK32 = 0xFFFFFFFF
MASK64 = 0xFFFFFFFFFFFFFFFF
DEFAULT_SEED = 67280421310721  # torch's default seed, so initial_seed() prints the same number
STATE_SIZE = 16  # get_state(): seed then offset, each 8 bytes little-endian

_U64 = np.uint64
_MULTIPLIERS = np.array([[M0], [M1]], dtype=np.uint64)
_SHIFT32 = np.uint64(32)
_MASK32_U64 = np.uint64(MASK32)
_ROUND_INDEX = np.arange(ROUNDS, dtype=np.uint64)
_LOW, _HIGH = (0, 1) if sys.byteorder == "little" else (1, 0)  # uint32 halves of a uint64



# ------------------------------------------------------------------ Philox4x32-10


def philox_block(counter, key):
    """The reference: one block, on Python ints. `counter` is 4 words, `key` 2 words."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(ROUNDS):
        p0 = M0 * c0
        p1 = M1 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & MASK32
        k0 = (k0 + W0) & MASK32
        k1 = (k1 + W1) & MASK32
    return c0, c1, c2, c3


def philox(counters, key, out=None):
    """Vectorised Philox: `counters` is a (4, n) array of counter words, `key` 2 ints.

    Returns (or writes into `out`) the (n, 4) uint32 array of output blocks. Each round multiplies
    the rows (c0, c2) as one uint32 -> uint64 product and reads the product's high and low halves
    through a uint32 view instead of shifting and masking.
    """
    counters = np.asarray(counters, dtype=np.uint32)
    n = counters.shape[1]
    keys = _round_keys(key)
    multiplied = counters[0::2]  # rows c0, c2: the words that get multiplied
    passed = counters[1::2]      # rows c1, c3: the words that get xored in
    for round_key in keys:
        product = np.multiply(multiplied, _MULTIPLIERS, order="C")
        halves = product.view(np.uint32).reshape(2, n, 2)[::-1]  # rows swapped: (p1, p0)
        # new (c0, c2) = (hi(p1), hi(p0)) ^ (c1, c3) ^ key; new (c1, c3) = (lo(p1), lo(p0))
        multiplied = halves[:, :, _HIGH] ^ passed
        multiplied ^= round_key
        passed = halves[:, :, _LOW]
    if out is None:
        out = np.empty((n, 4), dtype=np.uint32)
    out[:, 0::2] = multiplied.T
    out[:, 1::2] = passed.T
    return out


def _round_keys(key):
    """The (k0, k1) of each round as a (ROUNDS, 2, 1) uint32 array."""
    keys = np.empty((ROUNDS, 2, 1), dtype=np.uint32)
    keys[:, 0, 0] = (key[0] + _ROUND_INDEX * _U64(W0)) & _MASK32_U64
    keys[:, 1, 0] = (key[1] + _ROUND_INDEX * _U64(W1)) & _MASK32_U64
    return keys


def _key_of(seed):
    return seed & MASK32, seed >> 32


_CHUNK_BLOCKS = 32768  # large draws run in chunks whose temporaries stay in cache


def compute_blocks(seed, first_block, blocks):
    """Blocks first_block .. first_block+blocks-1 (mod 2**64) of `seed`, as flat uint32 words."""
    key = _key_of(seed)
    out = np.empty((blocks, 4), dtype=np.uint32)
    for start in range(0, blocks, _CHUNK_BLOCKS):
        n = min(_CHUNK_BLOCKS, blocks - start)
        index = np.arange(n, dtype=np.uint64) + _U64((first_block + start) & MASK64)  # wraps
        counters = np.zeros((4, n), dtype=np.uint32)
        counters[0] = index & _MASK32_U64
        counters[1] = index >> _SHIFT32
        philox(counters, key, out[start:start + n])
    return out.reshape(-1)


# Philox (and a transform's numpy calls) cost tens of microseconds whatever the size, so small
# draws are served from windows of precomputed words and values per seed (the stream is a pure
# function of seed and block): see _windowed.
_WINDOW_BLOCKS = 256
_WINDOWED_DRAW_BLOCKS = 64
_MAX_WINDOWS = 24
_windows = {}  # (seed, recipe) -> (first block, read-only values of _WINDOW_BLOCKS blocks)


def words(seed, offset, count):
    """Words 0 .. count-1 of the stream of (seed, offset), as a uint32 array (see the docstring).

    The result may be a read-only view into a shared window: copy before writing to it.
    """
    served = _windowed(seed, offset, count, 1, "words", np.asarray)
    if served is not None:
        return served
    return compute_blocks(seed, offset, blocks_for(count))[:count]


def _windowed(seed, offset, count, per_value, recipe, compute, *compute_args):
    """Values 0 .. count-1 of `recipe` for the draw at (seed, offset), as a read-only view into
    a window of them per (seed, recipe): a recipe's values are a function of their words' place
    in the stream, so one window, computed (`compute(words, *compute_args)`, each value made from
    `per_value` words, 1 or 2) over _WINDOW_BLOCKS blocks, serves the small draws that fall
    inside it (one slice instead of Philox's and the transform's numpy calls on a few elements).
    None for a draw too large to serve."""
    blocks = blocks_for(per_value * count)
    if blocks > _WINDOWED_DRAW_BLOCKS:
        return None
    key = (seed, recipe)
    window = _windows.get(key)
    if window is None or not 0 <= offset - window[0] <= _WINDOW_BLOCKS - blocks:
        values = compute(compute_blocks(seed, offset, _WINDOW_BLOCKS), *compute_args)
        values.flags.writeable = False
        if len(_windows) >= _MAX_WINDOWS and key not in _windows:
            del _windows[next(iter(_windows))]
        window = _windows[key] = (offset, values)
    start = 4 // per_value * (offset - window[0])
    return window[1][start:start + count]


def blocks_for(word_count):
    """Blocks a draw of `word_count` words consumes (how far it advances the offset)."""
    return (word_count + 3) // 4


# ------------------------------------------------------------------ words -> values


_SIGNIFICAND_BITS = {"float16": 11, "float32": 24, "float64": 53}


def uniform_bits(dtype):
    """Random bits in one uniform of a float dtype: its significand width."""
    return _SIGNIFICAND_BITS[dtype.name]


def transform_bits(dtype):
    """Bits of the uniforms behind normal and exponential values of a float dtype."""
    return 53 if dtype.name == "float64" else 24


def uniform_word_count(count, bits):
    return 2 * count if bits > 32 else count


def uniforms(seed, offset, count, bits, np_dtype=np.float64):
    """`count` uniforms in [0, 1) with `bits` random bits each, as `np_dtype` (which must hold
    `bits` significant bits, so the values are exact); a new array."""
    per_value = 2 if bits > 32 else 1
    served = _windowed(seed, offset, count, per_value, ("uniform", bits, np_dtype), _uniforms_of,
                       bits, np_dtype)
    if served is not None:
        return served.copy()
    return _uniforms_of(words(seed, offset, per_value * count), bits, np_dtype)


def _uniforms_of(w, bits, np_dtype):
    if bits > 32:
        w = w.astype(np.uint64)
        combined = ((w[0::2] << _SHIFT32) | w[1::2]) >> _U64(11)
        return combined.astype(np_dtype) * np_dtype(2.0 ** -53)
    return (w >> np.uint32(32 - bits)).astype(np_dtype) * np_dtype(2.0 ** -bits)


def uniform_values(seed, offset, count, dtype, low=0.0, high=1.0):
    bits = uniform_bits(dtype)
    if low == 0.0 and high == 1.0:
        return uniforms(seed, offset, count, bits, dtype.np.type)
    u = uniforms(seed, offset, count, bits)
    u *= float(high) - float(low)
    u += float(low)
    return u.astype(dtype.np)


def uniform_words(count, dtype):
    return uniform_word_count(count, uniform_bits(dtype))


def normal_word_count(count, dtype):
    pairs = (count + 1) // 2
    return uniform_word_count(2 * pairs, transform_bits(dtype))


def standard_normal(seed, offset, count, dtype):
    """Box-Muller normals as float64 (see the docstring for the pairing); a new array."""
    bits = transform_bits(dtype)
    per_value = 2 if bits > 32 else 1
    served = _windowed(seed, offset, count, per_value, ("normal", bits), _normals_of, bits)
    if served is not None:
        return served.copy()
    pairs = (count + 1) // 2
    return _box_muller(uniforms(seed, offset, 2 * pairs, bits))[:count]


def _normals_of(w, bits):
    return _box_muller(_uniforms_of(w, bits, np.float64))


def _box_muller(u):
    """The normals of consecutive pairs of uniforms (float64)."""
    pairs = len(u) // 2
    radius = np.sqrt(-2.0 * np.log(1.0 - u[0::2]))
    angle = (2.0 * math.pi) * u[1::2]
    z = np.empty(2 * pairs, dtype=np.float64)
    z[0::2] = radius * np.cos(angle)
    z[1::2] = radius * np.sin(angle)
    return z


def normal_values(seed, offset, count, dtype, mean=0.0, std=1.0):
    z = standard_normal(seed, offset, count, dtype)
    if mean != 0.0 or std != 1.0:
        z *= float(std)
        z += float(mean)
    return z.astype(dtype.np)


def exponential_word_count(count, dtype):
    return uniform_word_count(count, transform_bits(dtype))


def exponential_values(seed, offset, count, dtype, lambd=1.0):
    u = uniforms(seed, offset, count, transform_bits(dtype))
    x = -np.log(1.0 - u)
    x /= float(lambd)
    return x.astype(dtype.np)


def integer_word_count(count, span):
    return count if span <= 1 << 32 else 2 * count


def integer_values(seed, offset, count, low, span):
    """`count` integers in [low, low + span) as int64 (see the docstring)."""
    if span <= 1 << 32:
        r = words(seed, offset, count).astype(np.int64)
        if span != 1 << 32:
            r %= span
        return r + low
    w = words(seed, offset, 2 * count).astype(np.uint64)
    r = (w[0::2] << _SHIFT32) | w[1::2]
    if span != 1 << 64:
        r %= _U64(span)
    r += _U64(low & MASK64)  # two's complement: uint64 addition wraps like int64 addition
    return r.view(np.int64)


def bernoulli_values(seed, offset, count, p):
    """`count` booleans, True with probability p (a float or a float64 array of `count`)."""
    return words(seed, offset, count).astype(np.float64) * 2.0 ** -32 < p


def permutation(seed, offset, n):
    """randperm's order: indices stably sorted by one 64-bit key each (2 words per element)."""
    w = words(seed, offset, 2 * n).astype(np.uint64)
    keys = (w[0::2] << _SHIFT32) | w[1::2]
    # an unstable sort is several times faster; it can differ from the stable order only where
    # keys tie, which 64-bit keys almost never do
    order = np.argsort(keys)
    ordered = keys[order]
    if (ordered[1:] == ordered[:-1]).any():
        order = np.argsort(keys, kind="stable")
    return order


def multinomial_word_count(rows, categories, samples, replacement):
    return 2 * rows * (samples if replacement else categories)


def multinomial_indices(seed, offset, probabilities, samples, replacement):
    """(rows, samples) int64 indices drawn from each row of the (rows, k) float64 array."""
    rows, categories = probabilities.shape
    if replacement:
        u = uniforms(seed, offset, rows * samples, 53).reshape(rows, samples)
        cumulative = np.cumsum(probabilities, axis=1)
        last_positive = categories - 1 - np.argmax(probabilities[:, ::-1] > 0, axis=1)
        result = np.empty((rows, samples), dtype=np.int64)
        for r in range(rows):
            found = np.searchsorted(cumulative[r], u[r] * cumulative[r, -1], side="right")
            result[r] = np.minimum(found, last_positive[r])
        return result
    u = uniforms(seed, offset, rows * categories, 53).reshape(rows, categories)
    exponential = -np.log(1.0 - u)
    with np.errstate(divide="ignore", invalid="ignore"):
        keys = np.where(probabilities > 0, exponential / probabilities, np.inf)
    return np.argsort(keys, axis=1, kind="stable")[:, :samples].astype(np.int64)


# ------------------------------------------------------------------ generators


def _normalise_seed(value):
    """torch's rule: int(value), accepted in [-2**63, 2**64), negatives taken mod 2**64."""
    if hasattr(value, "item") and not isinstance(value, (int, float)):
        value = value.item()
    value = int(value)
    if not -(1 << 63) <= value <= MASK64:
        raise ValueError("Overflow when unpacking long long")
    return value & MASK64


class Generator:
    """A Philox stream (torch.Generator's API): a 64-bit seed, and a 64-bit offset counting the
    128-bit blocks drawn so far."""

    __slots__ = ("_seed", "_offset", "_device")

    def __init__(self, device="cpu"):
        from .device import check_device
        self._device = check_device(device)
        self._seed = DEFAULT_SEED
        self._offset = 0
        _dispatch.note_generator_born(self)

    @property
    def device(self):
        return self._device

    def manual_seed(self, seed):
        _break_trace("manual_seed")
        self._seed = _normalise_seed(seed)
        self._offset = 0
        return self

    def seed(self):
        """Seed from the operating system's entropy; returns the new seed."""
        _break_trace("seed")
        new_seed = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(new_seed)
        return new_seed

    def initial_seed(self):
        return self._seed

    def get_offset(self):
        return self._offset

    def set_offset(self, offset):
        _break_trace("set_offset")
        self._offset = _normalise_seed(offset)
        return self

    def get_state(self):
        state = np.array([self._seed, self._offset], dtype="<u8").view(np.uint8)
        return _dispatch.wrap(state.copy(), _dt.uint8)

    def set_state(self, new_state):
        _break_trace("set_state")
        if not isinstance(new_state, _dispatch.Tensor):
            raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
        if new_state._dtype is not _dt.uint8:
            raise TypeError("RNG state must be a torch.ByteTensor")
        if new_state.numel() != STATE_SIZE:
            raise RuntimeError(f"Expected a PhiloxGeneratorState of size {STATE_SIZE} but found "
                               f"the input RNG state size to be {new_state.numel()}")
        raw = np.ascontiguousarray(new_state._data.reshape(-1)).view("<u8")
        self._seed, self._offset = int(raw[0]), int(raw[1])
        return self

    def clone_state(self):
        twin = Generator(self._device)
        twin._seed, twin._offset = self._seed, self._offset
        return twin

    def __reduce__(self):
        return (_rebuild_generator, (self._seed, self._offset))

    def __repr__(self):
        return f"<graphc.Generator object at {id(self):#x}>"

    def claim(self, word_count):
        """Reserve the next draw of `word_count` words: returns its (seed, offset)."""
        offset = self._offset
        self._offset = (offset + blocks_for(word_count)) & MASK64
        return self._seed, offset


def _break_trace(method):
    """Seeding inside a compiled function: the compiled replay claims draws from the generator
    it finds but does not repeat the seeding, so the rest of the call runs eagerly."""
    _dispatch.graph_break(f"Generator.{method} (seeding a generator inside a compiled function "
                          f"is not compiled yet)")


def _rebuild_generator(seed, offset):
    generator = Generator()
    generator._seed, generator._offset = seed, offset
    return generator


default_generator = Generator()


def manual_seed(seed):
    """Seed the default generator (torch.manual_seed); returns it."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type="cuda"):
    """Restore the default generator's state on exit (torch.random.fork_rng)."""
    if not enabled:
        yield
        return
    saved = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(saved)
