"""Eager-mode behaviour scripts written for torch rely on: graphc.cuda and devices without CUDA,
numpy's axis=/keepdims= keywords, refusing writes through overlapping memory, softmax over an
empty dim, printing huge expanded tensors, torch's exception classes for bad arguments, and
clamp's NaN bounds. Each is checked against known values; where torch is installed, against it.
"""
import math
import pickle

import numpy as np
import pytest

import graphc

NO_CUDA = "Torch not compiled with CUDA enabled"
PARTIAL_OVERLAP = ("unsupported operation: some elements of the input tensor and the written-to "
                   "tensor refer to a single memory location. Please clone() the tensor before "
                   "performing the operation.")


def outcome(function):
    """('ok', value) or (exception class name, message) of calling `function`."""
    try:
        return "ok", function()
    except Exception as error:  # noqa: BLE001 (the class is what is compared)
        return type(error).__name__, str(error)


# ---------------------------------------------------------------- graphc.cuda and devices


def test_cuda_module_reports_no_cuda():
    assert graphc.cuda.is_available() is False
    assert graphc.cuda.device_count() == 0
    assert graphc.cuda.is_initialized() is False
    assert graphc.cuda.memory_allocated() == 0 and graphc.cuda.max_memory_allocated() == 0
    assert graphc.cuda.empty_cache() is None
    assert graphc.cuda.manual_seed(0) is None and graphc.cuda.manual_seed_all(1) is None
    with pytest.raises(TypeError):
        graphc.cuda.manual_seed(None)  # torch converts the seed with int() first
    for needs_gpu in (graphc.cuda.current_device, graphc.cuda.get_device_name,
                      graphc.cuda.synchronize, graphc.cuda.get_device_capability,
                      graphc.cuda.initial_seed):
        with pytest.raises(AssertionError, match=NO_CUDA):
            needs_gpu()


@pytest.mark.parametrize("make", [
    lambda: graphc.ones(2).cuda(),
    lambda: graphc.zeros(2, device="cuda"),
    lambda: graphc.zeros(2, device="cuda:0"),
    lambda: graphc.zeros(2, device=graphc.device("cuda", 0)),
    lambda: graphc.ones(2).to("cuda"),
    lambda: graphc.ones(2).to(device="cuda"),
    lambda: graphc.tensor([1.0], device="cuda"),
    lambda: graphc.arange(3, device="cuda"),
    lambda: graphc.zeros_like(graphc.ones(2), device="cuda"),
    lambda: graphc.ones(2).new_zeros(2, device="cuda"),
], ids=["cuda()", "zeros", "zeros cuda:0", "zeros device()", "to", "to(device=)", "tensor",
        "arange", "zeros_like", "new_zeros"])
def test_asking_for_cuda_raises_torchs_assertion(make):
    with pytest.raises(AssertionError, match=NO_CUDA):
        make()


def test_script_choosing_its_device_runs_on_cpu():
    device = "cuda" if graphc.cuda.is_available() else "cpu"
    x = graphc.ones(2, 3, device=device).to(device)
    y = graphc.zeros_like(x, device=device) + x.to(graphc.device(device))
    assert y.tolist() == [[1.0] * 3] * 2
    assert y.is_cuda is False and y.device == graphc.device("cpu")
    assert repr(y.device) == "device(type='cpu')" and str(y.device) == "cpu"


def test_device_objects():
    assert repr(graphc.device("cuda", 0)) == "device(type='cuda', index=0)"
    assert repr(graphc.device("cuda:1")) == "device(type='cuda', index=1)"
    assert graphc.device(type="cuda", index=0) == graphc.device("cuda:0")
    assert graphc.device("cpu") != graphc.device("cpu", 0)
    assert graphc.device("cpu") != "cpu"  # as torch: a device never equals a string
    assert pickle.loads(pickle.dumps(graphc.device("cuda", 2))) == graphc.device("cuda:2")
    assert repr(graphc.device("meta")) == "device(type='meta')"
    for bad, error in (("CUDA", RuntimeError), ("cuda:x", RuntimeError), ("cuda:00", RuntimeError),
                       ("tpu", RuntimeError), (0, RuntimeError)):
        with pytest.raises(error):
            graphc.device(bad)
    with pytest.raises(RuntimeError, match="must not be negative"):
        graphc.device("cuda", -1)
    with pytest.raises(TypeError):
        graphc.device("cuda", "0")
    with pytest.raises(RuntimeError, match="must not include an index"):
        graphc.device("cuda:0", 1)


def test_default_device():
    assert graphc.get_default_device() == graphc.device("cpu")
    on_cpu = graphc.zeros(1)
    try:
        graphc.set_default_device("cpu")
        assert graphc.zeros(1).device == graphc.device("cpu")
        graphc.set_default_device("cuda")  # accepted, as torch does; the next factory fails
        with pytest.raises(AssertionError, match=NO_CUDA):
            graphc.zeros(1)
        with pytest.raises(AssertionError, match=NO_CUDA):
            graphc.get_default_device()
        assert graphc.ones_like(on_cpu).tolist() == [1.0]  # like-functions keep input's device
    finally:
        graphc.set_default_device(None)
    assert graphc.zeros(1).tolist() == [0.0]
    with pytest.raises(NotImplementedError, match="meta"):
        graphc.set_default_device("meta")
    with graphc.device("cpu"):
        assert graphc.zeros(1).device == graphc.device("cpu")
    with pytest.raises(AssertionError):
        with graphc.device("cuda"):
            graphc.zeros(1)
    assert graphc.get_default_device() == graphc.device("cpu")  # restored on leaving the block


def test_load_to_cuda_is_refused_as_torch_does(tmp_path):
    graphc.save(graphc.ones(1), tmp_path / "x.pt")
    with pytest.raises(RuntimeError, match="torch.cuda.is_available\\(\\) is False"):
        graphc.load(tmp_path / "x.pt", map_location="cuda")


def test_cuda_behaviour_matches_torch():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("compares against a torch built without CUDA")
    cases = [
        lambda t: t.cuda.is_available(), lambda t: t.cuda.device_count(),
        lambda t: t.cuda.current_device(), lambda t: t.cuda.get_device_name(0),
        lambda t: t.cuda.synchronize(), lambda t: t.cuda.manual_seed_all(3),
        lambda t: t.ones(2).cuda(), lambda t: t.ones(2).cuda(0),
        lambda t: t.zeros(2, device="cuda"), lambda t: t.ones(2).to("cuda"),
        lambda t: repr(t.device("cuda", 0)), lambda t: repr(t.device("cuda:3")),
        lambda t: t.device("cuda:x"), lambda t: t.device("cuda", -1), lambda t: t.device("foo"),
        lambda t: repr(t.ones(2).device), lambda t: t.ones(2).is_cuda,
        lambda t: repr(t.get_default_device()),
    ]
    for case in cases:
        assert outcome(lambda: case(graphc)) == outcome(lambda: case(torch))


# ---------------------------------------------------------------- numpy's axis= and keepdims=

MATRIX = np.arange(12.0).reshape(3, 4) - 5.0


@pytest.mark.parametrize("name, expected", [
    ("sum", MATRIX.sum(axis=1, keepdims=True)),
    ("mean", MATRIX.mean(axis=1, keepdims=True)),
    ("prod", MATRIX.prod(axis=1, keepdims=True)),
    ("amax", MATRIX.max(axis=1, keepdims=True)),
    ("amin", MATRIX.min(axis=1, keepdims=True)),
    ("std", MATRIX.std(axis=1, ddof=1, keepdims=True)),
    ("var", MATRIX.var(axis=1, ddof=1, keepdims=True)),
    ("argmax", MATRIX.argmax(axis=1, keepdims=True)),
    ("argmin", MATRIX.argmin(axis=1, keepdims=True)),
    ("logsumexp", np.log(np.exp(MATRIX).sum(axis=1, keepdims=True))),
    ("nansum", MATRIX.sum(axis=1, keepdims=True)),
])
def test_reductions_take_axis_and_keepdims(name, expected):
    x = graphc.tensor(MATRIX)
    for result in (getattr(x, name)(axis=1, keepdims=True), getattr(graphc, name)(x, axis=1,
                                                                                  keepdims=True)):
        assert tuple(result.shape) == (3, 1)
        np.testing.assert_allclose(result.numpy(), expected, rtol=1e-12)
    np.testing.assert_allclose(getattr(x, name)(axis=0).numpy(),
                               getattr(x, name)(dim=0).numpy())


def test_other_ops_take_axis():
    x = graphc.tensor(MATRIX)
    assert x.cumsum(axis=0).tolist() == MATRIX.cumsum(axis=0).tolist()
    assert graphc.cumprod(x, axis=1).tolist() == MATRIX.cumprod(axis=1).tolist()
    assert (x > 0).any(axis=1, keepdims=True).tolist() == [[False], [True], [True]]
    assert (x > -6).all(axis=0).tolist() == [True] * 4
    values, indices = x.max(axis=1, keepdims=True)
    assert values.tolist() == [[-2.0], [2.0], [6.0]] and indices.tolist() == [[3]] * 3
    assert x.sort(axis=0, descending=True).values[0].tolist() == MATRIX[2].tolist()
    assert graphc.cat([x, x], axis=1).shape == (3, 8)
    assert x.unsqueeze(axis=0).shape == (1, 3, 4)
    np.testing.assert_allclose(x.softmax(axis=1).sum(axis=1).numpy(), np.ones(3))
    assert x.sum(axis=(0, 1)).item() == MATRIX.sum()


def test_axis_is_refused_where_torch_refuses_it():
    x = graphc.tensor(MATRIX)
    with pytest.raises(TypeError, match="unexpected keyword argument 'axis'"):
        x.sum(dim=0, axis=1)  # both spellings
    with pytest.raises(TypeError):
        x.sum(0, axis=1)
    with pytest.raises(TypeError):
        x.norm(dim=1, keepdims=True)  # written in Python in torch: no numpy names
    with pytest.raises(TypeError):
        x.cumsum(axis=0, keepdims=True)  # cumsum has no keepdim to alias


def test_numpy_keywords_match_torch():
    torch = pytest.importorskip("torch")
    cases = [lambda t, x: x.sum(axis=1, keepdims=True), lambda t, x: x.mean(axis=0),
             lambda t, x: t.amax(x, axis=1, keepdims=True), lambda t, x: x.cumsum(axis=1),
             lambda t, x: x.var(axis=1, keepdims=True), lambda t, x: x.argmax(keepdims=True),
             lambda t, x: x.median(axis=1, keepdims=True).values,
             lambda t, x: t.std_mean(x, axis=1, keepdims=True)[0],
             lambda t, x: x.sum(dim=1, axis=0), lambda t, x: x.norm(dim=1, keepdims=True),
             lambda t, x: x.count_nonzero(axis=0)]
    for case in cases:
        kind, ours = outcome(lambda: case(graphc, graphc.tensor(MATRIX)))
        expected_kind, theirs = outcome(lambda: case(torch, torch.tensor(MATRIX)))
        assert kind == expected_kind
        if kind == "ok":
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)


# ---------------------------------------------------------------- writes through overlapping memory


@pytest.mark.parametrize("write", [
    lambda x: x[1:].__iadd__(x[:-1]),
    lambda x: x[1:].add_(x[:-1]),
    lambda x: x[1:].sub_(x[:-1], alpha=2),
    lambda x: x[1:].mul_(x[:-1]),
    lambda x: x[1:].div_(x[:-1]),
    lambda x: x[1:].pow_(x[:-1]),
    lambda x: x[1:].lerp_(x[:-1], 0.5),
    lambda x: x[1:].clamp_(min=x[:-1]),
    lambda x: x[1:].copy_(x[:-1]),
    lambda x: x.__setitem__(slice(1, None), x[:-1]),
    lambda x: graphc.add(x[:-1], 1, out=x[1:]),
    lambda x: graphc.neg(x[:-1], out=x[1:]),
    lambda x: graphc.maximum(x[:-1], x[:-1], out=x[1:]),
    lambda x: x[:3].add_(x[2:5]),
    lambda x: x.view(2, 3).add_(x.view(3, 2).t()),
], ids=["+=", "add_", "sub_ alpha", "mul_", "div_", "pow_", "lerp_", "clamp_", "copy_",
        "setitem", "add out", "neg out", "maximum out", "add_ partial", "add_ transposed"])
def test_partly_overlapping_write_is_refused(write):
    x = graphc.arange(6.0)
    with pytest.raises(RuntimeError) as error:
        write(x)
    assert str(error.value) == PARTIAL_OVERLAP
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]  # nothing was written


def test_transposed_copy_into_itself_is_refused():
    m = graphc.arange(4.0).reshape(2, 2)
    with pytest.raises(RuntimeError, match="single memory location"):
        m.copy_(m.t())


def test_writes_that_do_not_partly_overlap_still_work():
    x = graphc.arange(6.0)
    x[:2].add_(x[3:5])  # views of one storage, apart
    assert x.tolist() == [3.0, 5.0, 2.0, 3.0, 4.0, 5.0]
    x.add_(x)  # the same elements in the same layout
    x.mul_(x.view(6))
    assert x.tolist() == [36.0, 100.0, 16.0, 36.0, 64.0, 100.0]
    y = graphc.arange(6.0)
    y[0::2].add_(y[1::2])  # interleaved, not dense: torch does not refuse these
    assert y.tolist() == [1.0, 1.0, 5.0, 3.0, 9.0, 5.0]
    z = graphc.arange(4.0)
    z.add_(z[:1].expand(4))  # an expanded operand is read-only here
    assert z.tolist() == [0.0, 1.0, 2.0, 3.0]
    w = graphc.arange(4.0)
    w[1:] = w[:-1].clone()
    graphc.add(w, 1, out=w)
    assert w.tolist() == [1.0, 1.0, 2.0, 3.0]


def test_overlap_refusals_match_torch():
    torch = pytest.importorskip("torch")
    cases = [lambda x: x[1:].add_(x[:-1]), lambda x: x[1:].copy_(x[:-1]),
             lambda x: x[:2].add_(x[3:5]), lambda x: x[0::2].add_(x[1::2]),
             lambda x: x.add_(x), lambda x: x[1:].mul_(x[:-1]),
             lambda x: x.view(2, 3).add_(x.view(2, 3)[0]), lambda x: x.add_(x[0])]
    # torch's too-hard-to-tell cases: allowed (its result then depends on its loop order)
    unchecked = [lambda x: x.view(2, 3).add_(x.view(2, 3)[:, :1]),
                 lambda x: x.as_strided((3,), (1,), 1).add_(x.as_strided((3,), (2,), 0))]
    for case in cases + unchecked:
        ours, theirs = graphc.arange(6.0), torch.arange(6.0)
        kind, _ = outcome(lambda: case(ours))
        expected_kind, _ = outcome(lambda: case(theirs))
        assert kind == expected_kind
        if case in cases:
            assert ours.tolist() == theirs.tolist()


# ---------------------------------------------------------------- softmax over an empty dim


@pytest.mark.parametrize("function", [graphc.softmax, graphc.log_softmax])
def test_softmax_over_an_empty_dim_is_empty(function):
    for shape, dim in (((0,), 0), ((2, 0), 1), ((2, 0), -1), ((0, 3), 1)):
        x = graphc.zeros(*shape, requires_grad=True)
        result = function(x, dim)
        assert tuple(result.shape) == shape and result.dtype == graphc.float32
        result.sum().backward()
        assert tuple(x.grad.shape) == shape
    assert function(graphc.zeros(2, 0), 1, dtype=graphc.float64).dtype == graphc.float64
    assert function(graphc.zeros(2, 0, dtype=graphc.int64), 1).dtype == graphc.int64
    with pytest.raises(IndexError):
        function(graphc.zeros(2, 0), 2)


# ---------------------------------------------------------------- torch's exception classes


@pytest.mark.parametrize("make, error, message", [
    (lambda: graphc.ones(2) << 1, NotImplementedError, "\"lshift_cpu\" not implemented for 'Float'"),
    (lambda: graphc.ones(2) >> 1, NotImplementedError, "\"rshift_cpu\" not implemented for 'Float'"),
    (lambda: 1 << graphc.ones(2), NotImplementedError, "\"lshift_cpu\" not implemented for 'Float'"),
    (lambda: graphc.tensor([True]) << True, NotImplementedError, "not implemented for 'Bool'"),
    (lambda: graphc.ones(2, dtype="float32"), TypeError,
     "ones(): argument 'dtype' must be torch.dtype, not str"),
    (lambda: graphc.zeros(2, dtype=np.float32), TypeError,
     "zeros(): argument 'dtype' must be torch.dtype, not type"),
    (lambda: graphc.tensor([1.0], dtype="float32"), TypeError,
     "tensor(): argument 'dtype' must be torch.dtype, not str"),
    (lambda: graphc.full((2,), "x"), TypeError,
     "full(): argument 'fill_value' (position 2) must be Number, not str"),
    (lambda: graphc.full((2,), None), TypeError, "must be Number, not NoneType"),
    (lambda: graphc.full((2,), graphc.tensor([1.0])), TypeError, "must be Number, not Tensor"),
    (lambda: graphc.full_like(graphc.ones(2), "x"), TypeError,
     "full_like(): argument 'fill_value' (position 2) must be Number, not str"),
])
def test_bad_arguments_raise_torchs_exception(make, error, message):
    with pytest.raises(error) as raised:
        make()
    assert message in str(raised.value)


def test_accepted_dtype_and_fill_forms():
    assert graphc.ones(2, dtype=float).dtype == graphc.float64  # Python types, as torch
    assert graphc.zeros(2, dtype=int).dtype == graphc.int64
    assert graphc.full((2,), graphc.tensor(3.0)).tolist() == [3.0, 3.0]
    assert graphc.full((2,), np.float32(2)).tolist() == [2.0, 2.0]


def test_exception_classes_match_torch():
    torch = pytest.importorskip("torch")
    cases = [lambda t: t.ones(2) << 1, lambda t: t.ones(2, dtype=t.float64) >> 1,
             lambda t: t.ones(2, dtype="float32"), lambda t: t.full((2,), "x"),
             lambda t: t.full((2,), [1]), lambda t: t.softmax(t.zeros(2, 0), 1).shape,
             lambda t: t.log_softmax(t.zeros(0, 3, dtype=t.int64), 0).dtype]
    for case in cases:
        ours, theirs = outcome(lambda: case(graphc)), outcome(lambda: case(torch))
        assert ours[0] == theirs[0]
        assert str(ours[1]) == str(theirs[1])
    assert outcome(lambda: graphc.arange(3, dtype="int64"))[0] == "TypeError"  # torch: TypeError


# ---------------------------------------------------------------- clamp with NaN bounds

NAN = math.nan


def _same(result, expected):
    np.testing.assert_array_equal(result.numpy(), np.array(expected, dtype=result.numpy().dtype))


def test_clamp_with_nan_bounds_gives_nan():
    x = graphc.tensor([-1.0, 0.5, 2.0, NAN])
    _same(graphc.clamp(x, min=graphc.tensor(NAN)), [NAN] * 4)
    _same(graphc.clamp(x, max=graphc.tensor(NAN)), [NAN] * 4)
    _same(graphc.clamp(x, min=graphc.tensor([NAN, 0.0, NAN, 0.0])), [NAN, 0.5, NAN, NAN])
    _same(graphc.clamp(x, min=graphc.zeros(4), max=graphc.tensor([NAN, 1.0, 1.0, 1.0])),
          [NAN, 0.5, 1.0, NAN])
    for bounds in ({"min": NAN}, {"max": NAN}, {"min": NAN, "max": NAN}, {"min": 0.0, "max": NAN}):
        _same(graphc.clamp(x, **bounds), [NAN] * 4)
    _same(graphc.clamp_min(x, NAN), [NAN] * 4)
    _same(graphc.clamp_max(x, graphc.tensor(NAN)), [NAN] * 4)
    _same(x.clone().clamp_(min=graphc.tensor(NAN)), [NAN] * 4)
    _same(graphc.clip(x, min=graphc.tensor(NAN)), [NAN] * 4)
    _same(graphc.maximum(x, graphc.tensor(NAN)), [NAN] * 4)
    result = graphc.clamp(graphc.tensor([1, 2]), min=NAN)  # an int tensor becomes float
    assert result.dtype == graphc.float32
    _same(result, [NAN, NAN])
    _same(graphc.clamp(x, min=0.0, max=1.0), [0.0, 0.5, 1.0, NAN])  # unchanged without NaN


def test_clamp_nan_bound_passes_no_gradient():
    x = graphc.tensor([1.0, 2.0], requires_grad=True)
    graphc.clamp(x, min=NAN).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    x.grad = None
    low = graphc.tensor([NAN, 3.0], requires_grad=True)
    graphc.clamp(x, min=low).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0] and low.grad.tolist()[1] == 1.0
    from graphc.autograd import gradcheck
    a = graphc.tensor([-2.0, -0.3, 0.2, 1.7], dtype=graphc.float64, requires_grad=True)
    b = graphc.tensor([-1.0, 0.0, -0.1, 1.0], dtype=graphc.float64, requires_grad=True)
    assert gradcheck(lambda a, b: graphc.clamp(a, min=b, max=b + 0.5), (a, b))


def test_compiled_clamp_with_nan_matches_eager():
    x = graphc.tensor([-1.0, 0.5, 2.0, NAN, 3.0])
    low = graphc.tensor([NAN, 0.0, 0.0, 0.0, 1.0])
    high = graphc.tensor([1.0, NAN, 1.0, 1.0, 2.0])
    for function in (lambda a, b, c: graphc.clamp(a, min=b, max=c),
                     lambda a, b, c: graphc.clamp(a, min=b), lambda a, b, c: graphc.clamp(a, max=c)):
        eager = function(x, low, high).numpy()
        np.testing.assert_array_equal(graphc.compile(function)(x, low, high).numpy(), eager)


def test_clamp_nan_matches_torch():
    torch = pytest.importorskip("torch")
    values = [-1.0, 0.5, 2.0, NAN]
    cases = [lambda t, x: t.clamp(x, min=t.tensor(NAN)), lambda t, x: t.clamp(x, max=NAN),
             lambda t, x: t.clamp(x, min=t.tensor([NAN, 0.0, NAN, 0.0])),
             lambda t, x: t.clamp_min(x, NAN), lambda t, x: t.clamp_max(x, t.tensor(NAN)),
             lambda t, x: t.minimum(x, t.tensor([NAN, 0.0, NAN, 0.0])),
             lambda t, x: t.clamp(x.long(), min=NAN)]
    for case in cases:
        ours = case(graphc, graphc.tensor(values))
        theirs = case(torch, torch.tensor(values))
        assert str(ours.dtype) == str(theirs.dtype)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_printing_a_huge_expanded_tensor_reads_only_its_corners():
    import tracemalloc
    wide = graphc.arange(3.).reshape(3, 1).expand(3, 10 ** 8)  # stride 0: 3 floats of memory
    tracemalloc.start()
    try:
        text = repr(wide)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert text == ("tensor([[0., 0., 0.,  ..., 0., 0., 0.],\n"
                    "        [1., 1., 1.,  ..., 1., 1., 1.],\n"
                    "        [2., 2., 2.,  ..., 2., 2., 2.]])")
    assert peak < 1 << 20  # the corners, not the 1.2 GB the expanded tensor would fill


def test_sigmoid_of_a_zero_dim_tensor():
    # found by the compile property test: a 0-d float64 input crashed numpy's in-place exp
    for value in (float("nan"), 0.5, -800.0):
        x = graphc.tensor(value, dtype=graphc.float64)
        expected = 1 / (1 + np.exp(-np.float64(value)))
        np.testing.assert_equal(x.sigmoid().numpy(), expected)
