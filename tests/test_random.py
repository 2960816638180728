"""graphc.random (Philox4x32-10 and its documented stream layout) and the random ops.

The recipe tests recompute values from the pure-Python reference block function following the
module docstring, so they pin down the spec the C and CUDA generators must implement.
"""
import math
import pickle

import numpy as np
import pytest

import graphc
import oracle
from graphc import random as grandom
from graphc.random import Generator, philox, philox_block

MASK32 = 0xFFFFFFFF

KNOWN_ANSWERS = [  # Random123's published philox4x32-10 vectors: counter, key, output
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((MASK32,) * 4, (MASK32,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


def stream(seed, offset, count):
    """Words of the stream of (seed, offset), straight from the docstring, on Python ints."""
    key = (seed & MASK32, seed >> 32)
    result = []
    block = offset
    while len(result) < count:
        b = block % 2 ** 64
        result.extend(philox_block((b & MASK32, b >> 32, 0, 0), key))
        block += 1
    return result[:count]


def seeded(seed=1234):
    return Generator().manual_seed(seed)


# ------------------------------------------------------------------ Philox itself


@pytest.mark.parametrize("counter, key, expected", KNOWN_ANSWERS)
def test_known_answers_reference(counter, key, expected):
    assert philox_block(counter, key) == expected


def test_known_answers_vectorised():
    counters = np.array([c for c, _, _ in KNOWN_ANSWERS], dtype=np.uint64).T
    for i, (_, key, expected) in enumerate(KNOWN_ANSWERS):
        assert tuple(int(w) for w in philox(counters, key)[i]) == expected


def test_vectorised_matches_reference_on_random_inputs():
    rng = np.random.default_rng(0)
    counters = rng.integers(0, 2 ** 32, size=(4, 50), dtype=np.uint64)
    for key in [(0, 0), (MASK32, 1), tuple(int(k) for k in rng.integers(0, 2 ** 32, 2))]:
        blocks = philox(counters, key)
        for j in range(counters.shape[1]):
            expected = philox_block(tuple(int(c) for c in counters[:, j]), key)
            assert tuple(int(w) for w in blocks[j]) == expected


@pytest.mark.parametrize("offset", [0, 5, 2 ** 32 - 2, 2 ** 64 - 3])
@pytest.mark.parametrize("count", [1, 3, 4, 9, 300, 1500])
def test_stream_layout(offset, count):
    seed = 0x0123456789ABCDEF
    assert grandom.words(seed, offset, count).tolist() == stream(seed, offset, count)


def test_small_draws_served_from_window_match_direct_computation():
    seed = 99
    direct = grandom.compute_blocks(seed, 0, 600)
    for offset in range(0, 590, 7):
        got = grandom.words(seed, offset, 13)
        assert got.tolist() == direct[4 * offset:4 * offset + 13].tolist()


# ------------------------------------------------------------------ the documented recipes


def test_rand_float32_recipe_and_offset():
    g = seeded(7)
    values = graphc.rand(10, generator=g)
    assert values.dtype is graphc.float32
    w = stream(7, 0, 10)
    assert values.numpy().tolist() == [(x >> 8) * 2.0 ** -24 for x in w]
    assert g.get_offset() == 3  # 10 words -> 3 blocks


def test_rand_float64_and_float16_recipes():
    g = seeded(8)
    doubles = graphc.rand(3, generator=g, dtype=graphc.float64)
    w = stream(8, 0, 6)
    expected = [(((w[2 * i] << 32) | w[2 * i + 1]) >> 11) * 2.0 ** -53 for i in range(3)]
    assert doubles.numpy().tolist() == expected
    assert g.get_offset() == 2
    halves = graphc.rand(5, generator=g, dtype=graphc.float16)
    w = stream(8, 2, 5)
    assert halves.numpy().tolist() == [(x >> 21) * 2.0 ** -11 for x in w]


def test_uniform_range_recipe():
    g = seeded(9)
    values = graphc.zeros(6).uniform_(-2.0, 3.0, generator=g)
    w = stream(9, 0, 6)
    expected = np.array([(3.0 - -2.0) * ((x >> 8) * 2.0 ** -24) + -2.0 for x in w])
    assert values.numpy().tolist() == expected.astype(np.float32).tolist()


def box_muller(u1, u2):
    radius = math.sqrt(-2.0 * math.log(1.0 - u1))
    return radius * math.cos(2.0 * math.pi * u2), radius * math.sin(2.0 * math.pi * u2)


def test_randn_recipe_float32_odd_count():
    g = seeded(10)
    values = graphc.randn(5, generator=g).numpy()
    w = stream(10, 0, 6)
    u = [(x >> 8) * 2.0 ** -24 for x in w]
    expected = [z for k in range(3) for z in box_muller(u[2 * k], u[2 * k + 1])][:5]
    np.testing.assert_allclose(values, np.array(expected, dtype=np.float32), rtol=1e-6)
    assert g.get_offset() == 2  # three pairs = 6 words, the last sine dropped


def test_randn_recipe_float64():
    g = seeded(11)
    values = graphc.randn(4, generator=g, dtype=graphc.float64).numpy()
    w = stream(11, 0, 8)
    u = [(((w[2 * i] << 32) | w[2 * i + 1]) >> 11) * 2.0 ** -53 for i in range(4)]
    expected = box_muller(u[0], u[1]) + box_muller(u[2], u[3])
    np.testing.assert_allclose(values, expected, rtol=1e-14)
    assert g.get_offset() == 2


def test_normal_scalar_parameters_recipe():
    g = seeded(12)
    values = graphc.normal(3.0, 2.0, (2,), generator=g).numpy()
    w = stream(12, 0, 2)
    z = box_muller((w[0] >> 8) * 2.0 ** -24, (w[1] >> 8) * 2.0 ** -24)
    np.testing.assert_allclose(values, [2.0 * z[0] + 3.0, 2.0 * z[1] + 3.0], rtol=1e-6)


def test_exponential_recipe():
    g = seeded(13)
    values = graphc.zeros(3).exponential_(2.0, generator=g).numpy()
    w = stream(13, 0, 3)
    expected = [-math.log(1.0 - (x >> 8) * 2.0 ** -24) / 2.0 for x in w]
    np.testing.assert_allclose(values, expected, rtol=1e-6)


def test_randint_recipes_small_and_large_span():
    g = seeded(14)
    small = graphc.randint(-3, 7, (9,), generator=g)
    assert small.dtype is graphc.int64
    assert small.tolist() == [-3 + x % 10 for x in stream(14, 0, 9)]
    assert g.get_offset() == 3
    span = 2 ** 40 + 3
    large = graphc.randint(-5, span - 5, (3,), generator=g)
    w = stream(14, 3, 6)
    assert large.tolist() == [-5 + ((w[2 * i] << 32) | w[2 * i + 1]) % span for i in range(3)]


def test_random_full_int64_range_takes_the_whole_64_bit_value():
    g = seeded(15)
    values = graphc.zeros(2, dtype=graphc.int64).random_(-2 ** 63, None, generator=g)
    w = stream(15, 0, 4)
    raw = [(w[2 * i] << 32) | w[2 * i + 1] for i in range(2)]
    wrapped = [(-2 ** 63 + r) % 2 ** 64 for r in raw]  # low + raw in two's complement
    assert values.tolist() == [v - 2 ** 64 if v >= 2 ** 63 else v for v in wrapped]


def test_bernoulli_recipe():
    g = seeded(16)
    p = graphc.tensor([0.1, 0.5, 0.9, 0.0, 1.0, 0.3])
    values = graphc.bernoulli(p, generator=g)
    w = stream(16, 0, 6)
    assert values.tolist() == [float(x * 2.0 ** -32 < q) for x, q in zip(w, p.tolist())]


def test_randperm_recipe():
    g = seeded(17)
    values = graphc.randperm(7, generator=g)
    w = stream(17, 0, 14)
    keys = [(w[2 * i] << 32) | w[2 * i + 1] for i in range(7)]
    assert values.tolist() == sorted(range(7), key=lambda i: (keys[i], i))
    assert g.get_offset() == 4


def test_multinomial_with_replacement_recipe():
    g = seeded(18)
    weights = [0.2, 0.0, 0.5, 0.3]
    values = graphc.multinomial(graphc.tensor(weights), 6, replacement=True, generator=g)
    w = stream(18, 0, 12)
    cumulative = np.cumsum(weights)
    expected = []
    for i in range(6):
        v = (((w[2 * i] << 32) | w[2 * i + 1]) >> 11) * 2.0 ** -53
        expected.append(int(np.argmax(cumulative > v * cumulative[-1])))
    assert values.tolist() == expected
    assert 1 not in values.tolist()


def test_draws_continue_the_stream():
    g = seeded(19)
    first = graphc.rand(5, generator=g)
    second = graphc.rand(3, generator=g)
    assert g.get_offset() == 2 + 1
    w = stream(19, 0, 12)
    assert first.numpy().tolist() == [(x >> 8) * 2.0 ** -24 for x in w[:5]]
    # the second draw starts on a fresh block: words 8, 9, 10 of the stream
    assert second.numpy().tolist() == [(x >> 8) * 2.0 ** -24 for x in w[8:11]]


def test_inplace_fill_follows_logical_row_major_order():
    g = seeded(20)
    transposed = graphc.zeros(4, 3).t()
    transposed.uniform_(generator=g)
    expected = graphc.rand(3, 4, generator=seeded(20))
    assert transposed.tolist() == expected.tolist()


# ------------------------------------------------------------------ generators and seeding


def test_same_seed_same_numbers_different_seed_different():
    a = graphc.randn(20, generator=seeded(1))
    b = graphc.randn(20, generator=seeded(1))
    c = graphc.randn(20, generator=seeded(2))
    assert a.tolist() == b.tolist()
    assert a.tolist() != c.tolist()


def test_default_generator_seeding():
    grandom.manual_seed(42)
    a = graphc.rand(4)
    assert grandom.manual_seed(42) is grandom.default_generator
    b = graphc.rand(4)
    assert a.tolist() == b.tolist()
    assert grandom.initial_seed() == 42


def test_generator_independent_of_default():
    grandom.manual_seed(5)
    expected = graphc.rand(4).tolist()
    grandom.manual_seed(5)
    g = seeded(5)
    graphc.rand(100, generator=g)
    assert graphc.rand(4).tolist() == expected
    assert grandom.default_generator.get_offset() == 1


def test_rng_state_round_trip():
    grandom.manual_seed(3)
    graphc.rand(7)
    state = grandom.get_rng_state()
    assert state.dtype is graphc.uint8 and state.shape == (16,)
    first = graphc.randn(6).tolist()
    grandom.set_rng_state(state)
    assert graphc.randn(6).tolist() == first


def test_generator_state_clone_and_pickle():
    g = seeded(77)
    graphc.rand(9, generator=g)
    twin = Generator().set_state(g.get_state())
    clone = g.clone_state()
    restored = pickle.loads(pickle.dumps(g))
    expected = graphc.rand(5, generator=g).tolist()
    for other in (twin, clone, restored):
        assert graphc.rand(5, generator=other).tolist() == expected


def test_fork_rng_restores_state():
    grandom.manual_seed(8)
    with grandom.fork_rng():
        graphc.rand(10)
    assert grandom.default_generator.get_offset() == 0


@pytest.mark.parametrize("value, expected", [
    (0, 0), (-1, 2 ** 64 - 1), (-2 ** 63, 2 ** 63), (2 ** 64 - 1, 2 ** 64 - 1), (3.5, 3),
    (True, 1)])
def test_manual_seed_accepts_torch_range(value, expected):
    assert Generator().manual_seed(value).initial_seed() == expected


@pytest.mark.parametrize("value", [2 ** 64, -2 ** 63 - 1])
def test_manual_seed_overflow(value):
    with pytest.raises(ValueError, match="Overflow when unpacking long long"):
        grandom.manual_seed(value)


def test_manual_seed_bad_types():
    with pytest.raises(ValueError):
        grandom.manual_seed("abc")
    with pytest.raises(TypeError):
        grandom.manual_seed(None)
    assert Generator().manual_seed(graphc.tensor(5)).initial_seed() == 5


def test_seed_is_fresh_and_recorded():
    g = Generator()
    s = g.seed()
    assert 0 <= s < 2 ** 64 and g.initial_seed() == s and g.get_offset() == 0


def test_default_seed_matches_torch_default():
    assert Generator().initial_seed() == 67280421310721


def test_set_state_errors():
    g = Generator()
    with pytest.raises(TypeError, match="expected a torch.ByteTensor, but got list"):
        g.set_state([1])
    with pytest.raises(TypeError, match="RNG state must be a torch.ByteTensor"):
        g.set_state(graphc.zeros(16))
    with pytest.raises(RuntimeError, match="input RNG state size to be 3"):
        g.set_state(graphc.zeros(3, dtype=graphc.uint8))


# ------------------------------------------------------------------ statistics


N = 100_000


@pytest.mark.parametrize("dtype", [graphc.float16, graphc.float32, graphc.float64])
def test_rand_statistics(dtype):
    values = graphc.rand(N, generator=seeded(21), dtype=dtype)
    assert values.dtype is dtype
    x = values.numpy().astype(np.float64)
    assert x.min() >= 0.0 and x.max() < 1.0
    assert abs(x.mean() - 0.5) < 0.01
    assert abs(x.var() - 1 / 12) < 0.005


@pytest.mark.parametrize("dtype", [graphc.float16, graphc.float32, graphc.float64])
def test_randn_statistics(dtype):
    values = graphc.randn(N, generator=seeded(22), dtype=dtype)
    assert values.dtype is dtype
    x = values.numpy().astype(np.float64)
    assert abs(x.mean()) < 0.02
    assert abs(x.var() - 1.0) < 0.03
    assert abs(np.mean(np.abs(x) < 1.0) - 0.6827) < 0.01


def test_normal_uniform_exponential_parameters():
    g = seeded(23)
    x = graphc.normal(2.0, 3.0, (N,), generator=g).numpy()
    assert abs(x.mean() - 2.0) < 0.05 and abs(x.std() - 3.0) < 0.05
    u = graphc.zeros(N, dtype=graphc.float64).uniform_(-4, -1, generator=g).numpy()
    assert u.min() >= -4 and u.max() < -1 and abs(u.mean() + 2.5) < 0.02
    e = graphc.zeros(N).exponential_(4.0, generator=g).numpy()
    assert e.min() >= 0 and abs(e.mean() - 0.25) < 0.01


def test_randint_bounds_and_coverage():
    values = graphc.randint(-3, 4, (N,), generator=seeded(24)).numpy()
    assert values.min() == -3 and values.max() == 3
    counts = np.bincount(values + 3)
    assert np.all(np.abs(counts / N - 1 / 7) < 0.01)


def test_randperm_is_a_permutation():
    for n in (0, 1, 5, 1000):
        values = graphc.randperm(n, generator=seeded(n)).numpy()
        assert sorted(values.tolist()) == list(range(n))
    assert graphc.randperm(1000, generator=seeded(1)).tolist() != list(range(1000))


def test_bernoulli_frequency():
    p = graphc.full((N,), 0.3)
    assert abs(graphc.bernoulli(p, generator=seeded(25)).numpy().mean() - 0.3) < 0.01
    assert abs(graphc.zeros(N).bernoulli_(0.7, generator=seeded(26)).numpy().mean() - 0.7) < 0.01


def test_multinomial_frequencies_and_without_replacement():
    weights = graphc.tensor([[1.0, 2.0, 0.0, 7.0], [5.0, 0.0, 5.0, 0.0]])
    draws = graphc.multinomial(weights, 20_000, replacement=True, generator=seeded(27)).numpy()
    np.testing.assert_allclose(np.bincount(draws[0], minlength=4) / 20_000, [0.1, 0.2, 0, 0.7],
                               atol=0.015)
    np.testing.assert_allclose(np.bincount(draws[1], minlength=4) / 20_000, [0.5, 0, 0.5, 0],
                               atol=0.015)
    unique = graphc.multinomial(weights, 4, generator=seeded(28))
    assert unique.shape == (2, 4) and unique.dtype is graphc.int64
    for row in unique.tolist():
        assert sorted(row) == [0, 1, 2, 3]
    # zero-weight categories come last, in index order (as torch does)
    assert graphc.multinomial(graphc.tensor([0.0, 0.0, 1.0]), 2).tolist() == [2, 0]


def test_multinomial_without_replacement_prefers_heavy_categories():
    weights = graphc.tensor([1.0, 1.0, 98.0])
    firsts = [graphc.multinomial(weights, 1, generator=seeded(s)).item() for s in range(200)]
    assert firsts.count(2) > 180


# ------------------------------------------------------------------ signatures, shapes, dtypes


def test_size_forms_and_shapes():
    g = seeded(0)
    assert graphc.rand(2, 3, generator=g).shape == (2, 3)
    assert graphc.rand((2, 3), generator=g).shape == (2, 3)
    assert graphc.rand([], generator=g).shape == ()
    assert graphc.randn(0, 4, generator=g).shape == (0, 4)
    assert graphc.randint(5, (2, 2)).shape == (2, 2)
    assert graphc.randint(1, 5, size=(3,)).shape == (3,)
    assert graphc.randint(high=5, size=(3,)).shape == (3,)
    assert graphc.randint(low=1, high=5, size=[3]).shape == (3,)
    assert graphc.normal(0.0, 1.0, size=(4,)).shape == (4,)


def test_default_dtype_and_requires_grad():
    graphc.set_default_dtype(graphc.float64)
    try:
        assert graphc.rand(2).dtype is graphc.float64
        assert graphc.randn(2).dtype is graphc.float64
    finally:
        graphc.set_default_dtype(graphc.float32)
    x = graphc.rand(2, requires_grad=True)
    assert x.requires_grad and x.is_leaf
    assert graphc.randint(5, (2,), dtype=graphc.float32, requires_grad=True).requires_grad


def test_like_functions():
    base = graphc.zeros(2, 3, dtype=graphc.float64)
    assert graphc.rand_like(base).dtype is graphc.float64
    assert graphc.randn_like(base, dtype=graphc.float16).dtype is graphc.float16
    ints = graphc.randint_like(graphc.zeros(4, dtype=graphc.int32), 3, 9)
    assert ints.dtype is graphc.int32 and ints.shape == (4,)
    assert 3 <= ints.numpy().min() and ints.numpy().max() < 9
    assert graphc.randint_like(base, 5).dtype is graphc.float64


def test_integer_dtypes():
    assert graphc.randint(0, 256, (50,), dtype=graphc.uint8).dtype is graphc.uint8
    assert set(graphc.randint(2, (100,), dtype=graphc.bool).tolist()) == {False, True}
    assert graphc.randperm(5, dtype=graphc.float32).dtype is graphc.float32
    assert graphc.randperm(256, dtype=graphc.uint8).dtype is graphc.uint8
    x = graphc.zeros(1000, dtype=graphc.int8).random_()
    assert x.numpy().min() >= 0 and x.numpy().max() > 100
    f = graphc.zeros(1000).random_().numpy()
    assert f.min() >= 0 and f.max() <= 2 ** 24 and np.all(f == np.round(f))
    assert graphc.zeros(3, dtype=graphc.bool).bernoulli_(0.5).dtype is graphc.bool


def test_normal_overloads():
    g = seeded(30)
    mean = graphc.arange(4.0)
    assert graphc.normal(mean, 0.0, generator=g).tolist() == mean.tolist()
    assert graphc.normal(mean, graphc.zeros(4), generator=g).tolist() == mean.tolist()
    assert graphc.normal(2.0, graphc.zeros(2, 3)).tolist() == [[2.0] * 3] * 2
    assert graphc.normal(graphc.zeros(3), graphc.ones(2, 3)).shape == (2, 3)
    assert graphc.normal(graphc.zeros(3, dtype=graphc.float16),
                         graphc.ones(3, dtype=graphc.float64)).dtype is graphc.float16
    assert graphc.normal(mean=graphc.zeros(3)).shape == (3,)


def test_normal_of_tensors_uses_the_documented_noise():
    z = graphc.randn(3, generator=seeded(31))
    mean, std = graphc.tensor([1.0, 2.0, 3.0]), graphc.tensor([0.5, 1.0, 2.0])
    result = graphc.normal(mean, std, generator=seeded(31))
    np.testing.assert_allclose(result.numpy(), z.numpy() * std.numpy() + mean.numpy(), rtol=1e-6)


def test_out_argument():
    out = graphc.zeros(2, 3, dtype=graphc.float64)
    result = graphc.rand(2, 3, out=out, generator=seeded(32))
    assert result is out and out.numpy().max() > 0
    assert out.tolist() == graphc.rand(2, 3, dtype=graphc.float64, generator=seeded(32)).tolist()


def test_methods_exist_where_torch_has_them():
    x = graphc.full((3,), 0.5)
    assert x.bernoulli().shape == (3,)
    assert graphc.tensor([1.0, 2.0]).multinomial(1).shape == (1,)
    for name in ("uniform_", "normal_", "random_", "bernoulli_", "exponential_"):
        assert callable(getattr(x, name))
    for name in ("rand", "randn", "randint", "randperm", "rand_like", "normal"):
        assert not hasattr(x, name)


def test_inplace_returns_self_and_bumps_version():
    x = graphc.zeros(3)
    version = x._version
    assert x.normal_() is x
    assert x._version == version + 1


# ------------------------------------------------------------------ errors (messages as torch's)


def _inplace(call):
    return lambda: call(graphc.zeros(3))


ERRORS = [
    (lambda: graphc.rand(2, -3), RuntimeError,
     "Trying to create tensor with negative dimension -3: [2, -3]"),
    (lambda: graphc.rand(2, 3, dtype=graphc.int64), NotImplementedError,
     "\"check_uniform_bounds\" not implemented for 'Long'"),
    (lambda: graphc.randn(2, dtype=graphc.int32), NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Int'"),
    (lambda: graphc.randint(5, 2, (3,)), RuntimeError,
     "random_ expects 'from' to be less than 'to', but got from=5 >= to=2"),
    (lambda: graphc.randint(5, 3), TypeError,
     "randint(): argument 'size' (position 2) must be tuple of ints, not int"),
    (lambda: graphc.randint(2.5, (3,)), TypeError,
     "randint(): argument 'high' (position 1) must be int, not float"),
    (lambda: graphc.randint(0, 2 ** 63, (3,)), ValueError, "Overflow when unpacking long long"),
    (lambda: graphc.randint(0, 300, (3,), dtype=graphc.uint8), RuntimeError,
     "to - 1 is out of bounds for unsigned char"),
    (lambda: graphc.randint(-1, 3, (3,), dtype=graphc.uint8), RuntimeError,
     "from is out of bounds for unsigned char"),
    (lambda: graphc.randint(5, (3,), dtype=graphc.bool), RuntimeError,
     "to - 1 is out of bounds for bool"),
    (lambda: graphc.randint(0, 2 ** 40, (3,), dtype=graphc.int32), RuntimeError,
     "to - 1 is out of bounds for int"),
    (lambda: graphc.randint(5, (3,), requires_grad=True), RuntimeError,
     "Only Tensors of floating point and complex dtype can require gradients"),
    (lambda: graphc.randperm(-1), RuntimeError,
     "Trying to create tensor with negative dimension -1: [-1]"),
    (lambda: graphc.randperm(300, dtype=graphc.uint8), RuntimeError,
     "value cannot be converted to type uint8_t without overflow"),
    (lambda: graphc.randperm(5000, dtype=graphc.float16), RuntimeError,
     "n cannot be greater than 2049 for Half type."),
    (lambda: graphc.randperm(3, dtype=graphc.bool), NotImplementedError,
     "\"randperm\" not implemented for 'Bool'"),
    (lambda: graphc.randperm(5.0), TypeError,
     "randperm(): argument 'n' (position 1) must be int, not float"),
    (lambda: graphc.normal(graphc.zeros(3), -graphc.ones(3)), RuntimeError,
     "normal expects all elements of std >= 0.0"),
    (lambda: graphc.normal(graphc.zeros(3), -1.0), RuntimeError,
     "normal expects std >= 0.0, but found std -1"),
    (lambda: graphc.normal(0.0, -1.0, (3,)), RuntimeError,
     "normal expects std >= 0.0, but found std -1"),
    (lambda: graphc.normal(graphc.zeros(3), graphc.ones(4)), RuntimeError,
     "The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0"),
    (lambda: graphc.normal(graphc.zeros(3, dtype=graphc.int64), 1.0), NotImplementedError,
     "\"normal_kernel_cpu\" not implemented for 'Long'"),
    (lambda: graphc.normal(0.0, 1.0), TypeError, "normal() received an invalid combination"),
    (lambda: graphc.bernoulli(graphc.full((3,), 1.5)), RuntimeError,
     "Expected p_in >= 0 && p_in <= 1 to be true, but got false."),
    (lambda: graphc.bernoulli(graphc.ones(3, dtype=graphc.int64)), NotImplementedError,
     "\"bernoulli_tensor_cpu_p_\" not implemented for 'Long'"),
    (lambda: graphc.bernoulli(graphc.ones(3), 1.5), RuntimeError,
     "bernoulli_ expects p to be in [0, 1], but got p=1.5"),
    (lambda: graphc.multinomial(graphc.tensor([0.1, 0.9]), 3), RuntimeError,
     "cannot sample n_sample > prob_dist.size(-1) samples without replacement"),
    (lambda: graphc.multinomial(graphc.tensor([0.1, 0.9]), 0), RuntimeError,
     "cannot sample n_sample <= 0 samples"),
    (lambda: graphc.multinomial(graphc.zeros(3), 1), RuntimeError,
     "invalid multinomial distribution (sum of probabilities <= 0)"),
    (lambda: graphc.multinomial(graphc.tensor([-1.0, 2.0]), 1), RuntimeError,
     "probability tensor contains either `inf`, `nan` or element < 0"),
    (lambda: graphc.multinomial(graphc.tensor([1, 2]), 1), RuntimeError,
     "multinomial only supports floating-point dtypes for input, got: Long"),
    (lambda: graphc.multinomial(graphc.ones(2, 2, 2), 1), RuntimeError,
     "prob_dist must be 1 or 2 dim"),
    (_inplace(lambda x: x.uniform_(3, 2)), RuntimeError,
     "uniform_ expects to return a [from, to) range, but found from=3 > to=2"),
    (_inplace(lambda x: x.uniform_(-1e39, 1e39)), RuntimeError, "from is out of bounds for float"),
    (_inplace(lambda x: x.uniform_(0, float("nan"))), RuntimeError,
     "to is out of bounds for float"),
    (_inplace(lambda x: x.uniform_(-3e38, 3e38)), RuntimeError,
     "uniform_ expects to-from <= std::numeric_limits<Float>::max(), but found to=3e+38 and "
     "from=-3e+38 which result in to-from to exceed the limit"),
    (lambda: graphc.zeros(3, dtype=graphc.int32).uniform_(), NotImplementedError,
     "\"check_uniform_bounds\" not implemented for 'Int'"),
    (_inplace(lambda x: x.normal_(1, -2)), RuntimeError,
     "normal expects std >= 0.0, but found std -2"),
    (_inplace(lambda x: x.exponential_(0)), RuntimeError,
     "exponential_ expects lambda > 0.0, but found lambda=0"),
    (lambda: graphc.zeros(3, dtype=graphc.int32).exponential_(), RuntimeError,
     "Exponential distribution is a continuous probability distribution. dtype must be a "
     "floating point but you specified Int"),
    (_inplace(lambda x: x.random_(5, 2)), RuntimeError,
     "random_ expects 'from' to be less than 'to', but got from=5 >= to=2"),
    (_inplace(lambda x: x.random_(-1)), RuntimeError,
     "random_ expects 'from' to be less than 'to', but got from=0 >= to=-1"),
    (_inplace(lambda x: x.random_(2.5)), TypeError,
     "random_() received an invalid combination of arguments - got (float)"),
    (lambda: graphc.zeros(3, dtype=graphc.float16).random_(0, 2 ** 16), RuntimeError,
     "to - 1 is out of bounds for c10::Half"),
    (_inplace(lambda x: x.bernoulli_(1.5)), RuntimeError,
     "bernoulli_ expects p to be in [0, 1], but got p=1.5"),
    (_inplace(lambda x: x.bernoulli_(graphc.full((4,), 0.5))), RuntimeError,
     "The expanded size of the tensor (3) must match the existing size (4) at non-singleton "
     "dimension 0.  Target sizes: [3].  Tensor sizes: [4]"),
    (_inplace(lambda x: x.bernoulli_(graphc.ones(3, dtype=graphc.int64))), NotImplementedError,
     "\"bernoulli_tensor_cpu_p_\" not implemented for 'Long'"),
    (lambda: graphc.rand(2, generator=5), TypeError, "generator"),
]


@pytest.mark.parametrize("call, error, message", ERRORS)
def test_errors(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_expanded_tensor_cannot_be_filled():
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        graphc.zeros(3).expand(2, 3).uniform_()


def test_error_messages_match_torch():
    import warnings
    source = {  # the same calls, spelled for torch
        "rand_neg": ("rand(2, -3)", lambda: graphc.rand(2, -3)),
        "randint_order": ("randint(5, 2, (3,))", lambda: graphc.randint(5, 2, (3,))),
        "randint_uint8": ("randint(0, 300, (3,), dtype=torch.uint8)",
                          lambda: graphc.randint(0, 300, (3,), dtype=graphc.uint8)),
        "int16": ("randint(0, 2**40, (3,), dtype=torch.int16)",
                  lambda: graphc.randint(0, 2 ** 40, (3,), dtype=graphc.int16)),
        "int8": ("randint(-2**40, 2, (3,), dtype=torch.int8)",
                 lambda: graphc.randint(-2 ** 40, 2, (3,), dtype=graphc.int8)),
        "randperm_int8": ("randperm(200, dtype=torch.int8)",
                          lambda: graphc.randperm(200, dtype=graphc.int8)),
        "randperm_float": ("randperm(2**24+2, dtype=torch.float32)",
                           lambda: graphc.randperm(2 ** 24 + 2, dtype=graphc.float32)),
        "std": ("normal(0.0, float('nan'), (3,))",
                lambda: graphc.normal(0.0, float("nan"), (3,))),
        "uniform_half": ("zeros(3, dtype=torch.float16).uniform_(-60000, 60000)",
                         lambda: graphc.zeros(3, dtype=graphc.float16).uniform_(-60000, 60000)),
        "expand": ("zeros(3).bernoulli_(torch.full((2, 3), 0.5))",
                   lambda: graphc.zeros(3).bernoulli_(graphc.full((2, 3), 0.5))),
    }
    for name, (torch_call, graphc_call) in source.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = oracle.answer(name, lambda torch: eval("torch." + torch_call,
                                                              {"torch": torch}))
            with pytest.raises(Exception) as got:
                graphc_call()
        assert isinstance(expected, oracle.Raised), f"{name}: torch gave {expected!r}"
        assert type(got.value).__name__ == expected.name, name
        assert str(got.value) == expected.message, name
