"""torch's type promotion: tensor pairs, Python scalars, 0-dim tensors, result_type, can_cast.

The expected dtypes come from a table written out by hand (`PROMOTE_TABLE`) and from the rule
stated in torch's documentation: operands are grouped as tensors with dimensions > 0-dim tensors >
Python scalars, and a lower group only matters when its category (bool < integer < floating) is
higher. The torch tests check the same over every combination (torch's answers live, or recorded in
tests/oracle).
"""
import itertools

import numpy as np
import pytest

import graphc
import oracle

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
SHORT = {"b": "bool", "u8": "uint8", "i8": "int8", "i16": "int16", "i32": "int32", "i64": "int64",
         "f16": "float16", "f32": "float32", "f64": "float64"}

# torch.promote_types, row x column, in the order of NAMES
PROMOTE_TABLE = """
b    u8   i8   i16  i32  i64  f16  f32  f64
u8   u8   i16  i16  i32  i64  f16  f32  f64
i8   i16  i8   i16  i32  i64  f16  f32  f64
i16  i16  i16  i16  i32  i64  f16  f32  f64
i32  i32  i32  i32  i32  i64  f16  f32  f64
i64  i64  i64  i64  i64  i64  f16  f32  f64
f16  f16  f16  f16  f16  f16  f16  f32  f64
f32  f32  f32  f32  f32  f32  f32  f32  f64
f64  f64  f64  f64  f64  f64  f64  f64  f64
"""
TABLE = {(NAMES[i], NAMES[j]): SHORT[entry]
         for i, row in enumerate(PROMOTE_TABLE.split("\n")[1:-1])
         for j, entry in enumerate(row.split())}
CATEGORY = {name: 0 if name == "bool" else 2 if name.startswith("float") else 1 for name in NAMES}


def dtype(name):
    return getattr(graphc, name)


def name_of(d):
    return str(d).split(".")[1]


def sample(name, zero_dim=False):
    values = np.array([1, 0, 1], dtype=name)
    return graphc.tensor(values[0]) if zero_dim else graphc.tensor(values)


def expected_result_type(dims=(), zero_dims=(), scalars=()):
    """The documented rule, over the hand table."""
    default = name_of(graphc.get_default_dtype())
    scalar_names = ["bool" if isinstance(s, bool) else "int64" if isinstance(s, int) else default
                    for s in scalars]
    groups = []
    for group in (dims, zero_dims, scalar_names):
        if group:
            result = group[0]
            for other in group[1:]:
                result = TABLE[(result, other)]
            groups.append(result)
    result = groups[0]
    for lower in groups[1:]:
        if CATEGORY[lower] > CATEGORY[result]:
            result = TABLE[(result, lower)]
    return result


@pytest.fixture(autouse=True)
def restore_default_dtype():
    yield
    graphc.set_default_dtype(graphc.float32)


def test_hand_table_is_symmetric():
    for a, b in itertools.product(NAMES, NAMES):
        assert TABLE[(a, b)] == TABLE[(b, a)]


@pytest.mark.parametrize("first", NAMES)
def test_promote_types_matches_the_table(first):
    for second in NAMES:
        assert name_of(graphc.promote_types(dtype(first), dtype(second))) == TABLE[(first, second)]


@pytest.mark.parametrize("first", NAMES)
def test_tensor_pairs_promote_like_the_table(first):
    for second in NAMES:
        a, b = sample(first), sample(second)
        expected = TABLE[(first, second)]
        assert name_of(graphc.result_type(a, b)) == expected
        if expected != "bool":
            assert name_of((a + b).dtype) == expected, (first, second)
            assert name_of(graphc.mul(a, b).dtype) == expected
        assert (a == b).dtype is graphc.bool and (a < b).dtype is graphc.bool


@pytest.mark.parametrize("first", NAMES)
def test_python_scalars_only_promote_across_categories(first):
    t = sample(first)
    default = name_of(graphc.get_default_dtype())
    expected = {True: first,
                2: "int64" if first == "bool" else first,
                2.5: first if CATEGORY[first] == 2 else default}
    for scalar, result in expected.items():
        assert name_of(graphc.result_type(t, scalar)) == result, (first, scalar)
        assert name_of((t * scalar).dtype) == result, (first, scalar)
        assert name_of((scalar * t).dtype) == result, (first, scalar)


@pytest.mark.parametrize("first", NAMES)
def test_zero_dim_tensors_rank_below_dimensioned_ones(first):
    for second in NAMES:
        t, zero = sample(first), sample(second, zero_dim=True)
        expected = expected_result_type(dims=[first], zero_dims=[second])
        assert name_of(graphc.result_type(t, zero)) == expected, (first, second)
        assert name_of(graphc.result_type(zero, t)) == expected, (first, second)
        if expected != "bool":
            assert name_of((t * zero).dtype) == expected, (first, second)
        # two 0-dim tensors promote like dimensioned ones
        assert name_of(graphc.result_type(sample(first, True), zero)) == TABLE[(first, second)]


def test_documented_zero_dim_examples():
    int32 = graphc.tensor([1, 2], dtype=graphc.int32)
    assert (int32 + graphc.tensor(5)).dtype is graphc.int32  # 0-dim int64: same category
    assert (int32 + graphc.tensor(5.0, dtype=graphc.float64)).dtype is graphc.float64
    assert (int32 + graphc.tensor(5.0, dtype=graphc.float16)).dtype is graphc.float16
    assert (int32 + 5.0).dtype is graphc.float32  # a Python float gives the default dtype
    uint8 = graphc.tensor([1, 2], dtype=graphc.uint8)
    assert (uint8 + graphc.tensor(1, dtype=graphc.int8)).dtype is graphc.uint8
    assert (uint8 + graphc.tensor([1], dtype=graphc.int8)).dtype is graphc.int16
    half = graphc.tensor([1.0], dtype=graphc.float16)
    assert (half + graphc.tensor(1.0, dtype=graphc.float64)).dtype is graphc.float16
    assert (half + 2.5).dtype is graphc.float16
    boolean = graphc.tensor([True])
    assert (boolean + graphc.tensor(1, dtype=graphc.int8)).dtype is graphc.int8
    assert (boolean + graphc.tensor(1.0, dtype=graphc.float64)).dtype is graphc.float64
    assert (boolean + True).dtype is graphc.bool
    assert (boolean + 1).dtype is graphc.int64
    zero_int8 = graphc.tensor(1, dtype=graphc.int8)
    assert (zero_int8 + 2).dtype is graphc.int8
    assert (zero_int8 + 2.5).dtype is graphc.float32
    assert (zero_int8 + graphc.tensor(1.0, dtype=graphc.float64)).dtype is graphc.float64


def test_result_type_with_scalars_only_and_mixed():
    assert graphc.result_type(2, 3.5) is graphc.float32
    assert graphc.result_type(2, 3) is graphc.int64
    assert graphc.result_type(True, False) is graphc.bool
    assert graphc.result_type(True, graphc.tensor(1, dtype=graphc.int8)) is graphc.int8
    assert graphc.result_type(graphc.tensor([1], dtype=graphc.uint8), -1) is graphc.uint8
    assert graphc.result_type(graphc.tensor([True]), 2.5) is graphc.float32


def test_integer_true_division_gives_the_default_float_dtype():
    for name in ["bool", "uint8", "int8", "int16", "int32", "int64"]:
        t = sample(name)
        assert (t / t).dtype is graphc.float32
        assert (t / 2).dtype is graphc.float32
        assert graphc.div(t, 2).dtype is graphc.float32
    graphc.set_default_dtype(graphc.float64)
    t = sample("int32")
    assert (t / t).dtype is graphc.float64
    assert (t + 1.5).dtype is graphc.float64
    assert graphc.exp(t).dtype is graphc.float64
    assert (sample("float32") / 2).dtype is graphc.float32  # floats keep their own type
    assert graphc.tensor([1.5]).dtype is graphc.float64


def test_comparisons_give_bool():
    for first, second in itertools.product(NAMES, NAMES):
        a, b = sample(first), sample(second)
        for result in (a == b, a != b, a < b, a <= b, a > b, a >= b, graphc.eq(a, 1)):
            assert result.dtype is graphc.bool


def test_can_cast():
    expected_refusals = set()
    for source, target in itertools.product(NAMES, NAMES):
        if CATEGORY[source] == 2 and CATEGORY[target] < 2:
            expected_refusals.add((source, target))  # float -> integer or bool
        if CATEGORY[source] == 1 and target == "bool":
            expected_refusals.add((source, target))  # integer -> bool
    for source, target in itertools.product(NAMES, NAMES):
        expected = (source, target) not in expected_refusals
        assert graphc.can_cast(dtype(source), dtype(target)) is expected, (source, target)
    assert graphc.can_cast(graphc.float64, graphc.float16)  # narrowing within a category is fine
    assert graphc.can_cast(graphc.int64, graphc.uint8)


# ------------------------------------------------------------------ against torch


def test_promote_types_matches_torch():
    for first, second in itertools.product(NAMES, NAMES):
        theirs = oracle.answer(f"{first}, {second}", lambda torch: str(
            torch.promote_types(getattr(torch, first), getattr(torch, second))))
        assert str(graphc.promote_types(dtype(first), dtype(second))) == theirs
        assert TABLE[(first, second)] == theirs.split(".")[1]


def _operand(lib, kind, name):
    if kind == "scalar":
        return {"bool": True, "int64": 3, "float32": 2.5}[name]
    values = np.array([1, 0], dtype=name)
    if kind == "zero":
        return lib.tensor(values[0].item(), dtype=getattr(lib, name))
    return lib.tensor(values)


def test_result_type_matches_torch_over_operand_kinds():
    kinds = [("dims", n) for n in NAMES] + [("zero", n) for n in NAMES] + \
        [("scalar", n) for n in ("bool", "int64", "float32")]
    mismatches = []
    for (kind_a, a), (kind_b, b) in itertools.product(kinds, kinds):
        if kind_a == "scalar" and kind_b == "scalar":
            continue

        def result(lib):
            return str(lib.result_type(_operand(lib, kind_a, a), _operand(lib, kind_b, b)))

        ours, theirs = result(graphc), oracle.answer(f"{kind_a} {a}, {kind_b} {b}", result)
        if ours != theirs:
            mismatches.append(f"{kind_a} {a} with {kind_b} {b}: {ours} != {theirs}")
    assert not mismatches, "\n".join(mismatches)


def test_can_cast_matches_torch():
    for source, target in itertools.product(NAMES, NAMES):
        assert graphc.can_cast(dtype(source), dtype(target)) == oracle.answer(
            f"{source} to {target}",
            lambda torch: torch.can_cast(getattr(torch, source), getattr(torch, target)))


def _float64_default_results(lib):
    """result_type with scalars and the dtype of a division, under float64 as default dtype."""
    previous = lib.get_default_dtype()
    lib.set_default_dtype(lib.float64)
    try:
        results = {}
        for name in NAMES:
            sample = lib.tensor(np.array([1, 0], dtype=name))
            for scalar in (True, 2, 2.5):
                results[f"{name} with {scalar!r}"] = str(lib.result_type(sample, scalar))
            results[f"{name} / 2"] = str((sample / 2).dtype)
        return results
    finally:
        lib.set_default_dtype(previous)


def test_default_dtype_float64_matches_torch():
    assert _float64_default_results(graphc) == oracle.answer("results",
                                                             _float64_default_results)
