"""The CUDA dialect (graphc/codegen/render/cuda.py): for graphs the C backend compiles, the same
scheduled kernels rendered as CUDA, compiled by nvcc (when on PATH), and executed on the CPU
through the host emulation (templates/cuda/host_emulation.h) with graphc.compile's own calling
convention: the specialisation's slots, the emulated library's entry point, results compared
with eager's."""
import functools
import warnings

import numpy as np
import pytest

import graphc
from graphc.codegen import cuda_check
from graphc.codegen.call_path import NativeFailure
from graphc.codegen.c_layout import Unsupported
from graphc.codegen.render import cuda

if cuda_check.host_compiler() is None:
    pytest.skip("no g++: the CUDA emulation needs a C++17 compiler", allow_module_level=True)


@functools.lru_cache(maxsize=None)
def _emulated(source, directory):
    """The emulated library of `source`, loaded as the C backend's libraries are (cffi), built
    once per source in the first test's directory (pytest keeps it for the session), after
    nvcc has checked the source is valid CUDA for sm_90 (where nvcc is present)."""
    import pathlib
    name = f"cuda{abs(hash(source)) % 10 ** 12}"
    if cuda_check.nvcc() is not None:
        cuda_check.build_with_nvcc(source, pathlib.Path(directory), name + "_nvcc")
    cuda_check.build_emulated(source, pathlib.Path(directory), name)
    return pathlib.Path(directory) / f"{name}.so"


_BUILT = {}  # source -> the directory it was built in


def _library_of(source, directory):
    return _emulated(source, _BUILT.setdefault(source, str(directory)))


def run_as_cuda(compiled, args, directory):
    """Call the latest specialisation of `compiled` with `args` through its CUDA source. A call
    the kernels stop raises their error (the exception graphc.compile's eager rerun raises)."""
    specialisation = compiled._latest
    source = cuda.source_of(specialisation)
    library = specialisation.ffi.dlopen(str(_library_of(source, directory)))
    saved = specialisation.lib, specialisation.entry
    specialisation.lib, specialisation.entry = library, library.graphc_entry
    try:
        sourced = [source.value(args) for source in compiled._sources]
        return specialisation._call(args, {}, sourced), source
    except NativeFailure as failure:
        raise failure.error from None
    finally:
        specialisation.lib, specialisation.entry = saved


def _compiled(function, *args):
    compiled = graphc.compile(function, fullgraph=True)
    compiled(*args)  # the trace
    compiled(*args)
    assert compiled._latest is not None
    return compiled


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_lowered_elementwise_op_runs_as_cuda_to_eagers_values(dtype, tmp_path):
    """The registry-generated program of test_compile_ops (every op on every layout: special
    values, 0-d, empty, size-1, transposed, expanded operands) through the CUDA dialect."""
    import test_compile_ops as ops
    names = tuple(name for name, d in ops.CASES if d == dtype and not ops._not_compiled(name, d))
    plan, program, arguments = ops._program(names, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = _compiled(program, *arguments(0))
        args = arguments(3)
        ours, source = run_as_cuda(compiled, args, tmp_path)
        theirs = program(*args)
    assert "__global__ void kernel" in source
    for (name, layout, _), mine, reference in zip(plan, ours[1:], theirs[1:]):
        ops.assert_same(mine, reference, f"CUDA {name} {dtype} {layout}")


def test_reductions_run_as_cuda(tmp_path):
    def f(x):
        return (x.sum(1), x.mean((0, 2)), x.amax(-1), x.argmax(0), x.exp().prod(2),
                x.sum(), x[:, :, None].expand(3, 4, 2, 5).sum(2))
    x = graphc.randn(3, 4, 5, dtype=graphc.float64)
    compiled = _compiled(f, x)
    ours, _ = run_as_cuda(compiled, (x,), tmp_path)
    for mine, reference in zip(ours, f(x)):
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=1e-12)


def test_a_training_step_with_small_products_runs_as_cuda(tmp_path):
    """Forward, backward and the SGD update in place, as one CUDA entry point; parameters
    after three calls equal three eager steps."""
    def make():
        graphc.manual_seed(3)
        w = graphc.randn(4, 3, dtype=graphc.float64, requires_grad=True)
        b = graphc.zeros(3, dtype=graphc.float64, requires_grad=True)

        def step(x, y):
            loss = ((x @ w + b).tanh() - y).pow(2).mean()
            loss.backward()
            with graphc.no_grad():
                w.sub_(0.1 * w.grad)
                b.sub_(0.1 * b.grad)
            w.grad.zero_()
            b.grad.zero_()
            return loss
        return (w, b), step
    x = graphc.randn(5, 4, dtype=graphc.float64)
    y = graphc.randn(5, 3, dtype=graphc.float64)
    params, step = make()
    eager = [step(x, y).item() for _ in range(5)]
    expected = [p.detach().numpy().copy() for p in params]
    params, step = make()
    compiled = _compiled(step, x, y)  # two steps taken
    losses = [run_as_cuda(compiled, (x, y), tmp_path)[0].item() for _ in range(3)]
    np.testing.assert_allclose(losses, eager[2:], rtol=1e-12)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.detach().numpy(), e, rtol=1e-12)


@pytest.mark.parametrize("dtype", [graphc.float32, graphc.float64])
def test_blas_products_run_on_cublas(dtype, tmp_path):
    """Products big enough for BLAS: the C backend's GEMM calls made on cuBLAS, operands swapped
    for its column-major order: plain, transposed, batched over expanded operands, and a
    matrix-vector product (a loop nest, under BLAS's size)."""
    from graphc.codegen import blas
    if blas.library_dir() is None:
        pytest.skip("no BLAS (scipy-openblas32): products stay loop nests")

    def products(a, b, c, v):
        return (a @ b, a.t() @ c.t(), graphc.bmm(c.expand(3, 40, 32), b.expand(3, 32, 40)),
                a @ v, (a @ b)[:, 1:].t() @ a[:, 2:])
    rng = np.random.default_rng(0)
    args = [graphc.tensor(rng.standard_normal(shape), dtype=dtype)
            for shape in ((32, 32), (32, 40), (40, 32), (32,))]
    compiled = _compiled(products, *args)
    ours, source = run_as_cuda(compiled, args, tmp_path)
    assert source.count("GRAPHC_CUBLAS_TRY(graphc_gemm(cublas,") >= 3
    tolerance = 1e-5 if dtype is graphc.float32 else 1e-12  # sums of 32 products of ~1
    for mine, reference in zip(ours, products(*args)):
        scale = np.abs(reference.numpy()).max()
        np.testing.assert_allclose(mine.numpy(), reference.numpy(), rtol=tolerance,
                                   atol=tolerance * scale)


def test_a_training_step_with_draws_and_cublas_products_runs_as_cuda(tmp_path):
    """An MLP step with a dropout mask drawn each call, backward() and SGD in place: one CUDA
    entry point (products on cuBLAS, the mask from the device's Philox), whose parameters
    after three calls equal three eager steps."""
    def make():
        graphc.manual_seed(5)
        w1 = (graphc.randn(32, 48, dtype=graphc.float64) * 0.2).requires_grad_()
        w2 = (graphc.randn(48, 10, dtype=graphc.float64) * 0.2).requires_grad_()

        def step(x, y):
            hidden = (x @ w1).relu() * (graphc.rand(64, 48, dtype=graphc.float64) > 0.2) / 0.8
            loss = (hidden @ w2 - y).pow(2).mean()
            loss.backward()
            with graphc.no_grad():
                w1.sub_(0.05 * w1.grad)
                w2.sub_(0.05 * w2.grad)
            w1.grad = None
            w2.grad = None
            return loss
        return (w1, w2), step
    x = graphc.randn(64, 32, dtype=graphc.float64)
    y = graphc.randn(64, 10, dtype=graphc.float64)
    params, step = make()
    eager = [step(x, y).item() for _ in range(5)]
    expected = [p.detach().numpy().copy() for p in params]
    params, step = make()
    compiled = _compiled(step, x, y)  # two steps taken
    source = cuda.source_of(compiled._latest)
    assert "graphc_gemm(cublas," in source and "graphc_uniform_block(seed" in source
    losses = [run_as_cuda(compiled, (x, y), tmp_path)[0].item() for _ in range(3)]
    np.testing.assert_allclose(losses, eager[2:], rtol=1e-11)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.detach().numpy(), e, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("function, args, op", [
    (lambda a: graphc.linalg.inv(a) * 2, (graphc.randn(4, 4),), "inverse"),
    (lambda a: graphc.linalg.cholesky(a @ a.mT + 4 * graphc.eye(3)), (graphc.randn(3, 3),),
     "cholesky"),
    (lambda a, b: graphc.linalg.solve(a, b), (graphc.randn(3, 3), graphc.randn(3)), "solve"),
])
def test_kernels_without_a_cuda_form_are_refused_by_name(function, args, op):
    compiled = _compiled(function, *args)
    with pytest.raises(Unsupported, match=op):
        cuda.source_of(compiled._latest)


# ------------------------------------------------------------------ graphc.compile(backend="cuda")


def _scaled(x, y):
    return (x * y).exp().sum(1), x.atan2(y) * 2


@pytest.fixture
def empty_cache(monkeypatch, tmp_path):
    from graphc.codegen import cache
    folder = tmp_path / "cache"
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(folder))
    cache._loaded.clear()
    return folder


def test_backend_cuda_renders_the_source_the_example_arguments_select(empty_cache):
    """compiled.source(*example_args) with backend="cuda": the CUDA unit of the specialisation
    those (CPU) tensors select, the same one the C backend's specialisation renders to;
    source() then returns the latest rendered; nothing is built or cached."""
    from graphc.codegen import backend
    compiled = graphc.compile(_scaled, backend="cuda")
    assert compiled._backend is backend.BACKENDS["cuda"]
    with pytest.raises(RuntimeError, match=r"source\(\*example_args\) first"):
        compiled.source()
    x, y = graphc.randn(3, 4), graphc.randn(3, 4)
    wide = graphc.randn(2, 5, dtype=graphc.float64), graphc.randn(2, 5, dtype=graphc.float64)
    single = compiled.source(x, y)
    assert compiled.source() == single
    double = compiled.source(*wide)
    assert compiled.source() == double != single
    assert "__global__ void kernel" in single and "double" in double
    assert not empty_cache.exists() or not any(p.is_file() for p in empty_cache.rglob("*"))
    reference = _compiled(_scaled, x, y)  # the C backend's specialisation of the same call
    assert single == cuda.source_of(reference._latest)


@pytest.mark.skipif(cuda_check.nvcc() is None, reason="no nvcc on PATH")
@pytest.mark.parametrize("dtype", [graphc.float32, graphc.float64])
def test_the_source_builds_with_plain_nvcc_in_an_empty_folder(dtype, tmp_path):
    """`nvcc -arch=sm_90 -c file.cu`, nothing else: no include path (graphc's headers are
    inlined), no relaxed-constexpr flag (a math function's C name computes in double, as in C,
    so fmod(float, double) never reaches C++'s host-only template), no warning either (no
    unused slot pointer, no dead load)."""
    import subprocess
    def mixed(x, y):  # float and double operands of C's double functions, and a dead load
        return (x % 0.5) + graphc.fmod(x, y) * x.pow(1.5) + x.atan2(y) + (y * 0).sum()
    x, y = graphc.randn(3, 4, dtype=dtype), graphc.rand(3, 4, dtype=dtype) + 1
    (tmp_path / "unit.cu").write_text(graphc.compile(mixed, backend="cuda").source(x, y))
    result = subprocess.run([cuda_check.nvcc(), "-arch=sm_90", "-c", "unit.cu"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr, result.stderr
    assert (tmp_path / "unit.o").stat().st_size > 0


def test_calling_a_cuda_compiled_function_raises_before_anything_runs():
    """No CUDA runtime yet: a call raises RuntimeError before the trace, so nothing of the
    caller's runs (no in-place update of a parameter, no Python side effect)."""
    w = graphc.ones(3, requires_grad=True)
    calls = []

    def step(x):
        calls.append(x)
        loss = (w * x).sum()
        loss.backward()
        with graphc.no_grad():
            w.sub_(0.5 * w.grad)
            x.add_(1)
        return loss
    compiled = graphc.compile(step, backend="cuda")
    x = graphc.arange(3.0)
    for call in (lambda: compiled(x), lambda: compiled.repeat(3, x)):
        with pytest.raises(RuntimeError, match="CUDA runtime is not built yet"):
            call()
    assert calls == [] and w.grad is None
    np.testing.assert_array_equal(w.detach().numpy(), np.ones(3))
    np.testing.assert_array_equal(x.numpy(), np.arange(3.0))


def test_an_unknown_backend_name_raises_as_torch_does():
    with pytest.raises(RuntimeError, match=r"^Invalid backend: 'cudnn'.*'cuda'"):
        graphc.compile(_scaled, backend="cudnn")


@pytest.mark.parametrize("function, args, op", [
    (lambda a: graphc.linalg.inv(a) * 2, (graphc.randn(4, 4),), "inverse"),
    (lambda a, b: graphc.linalg.solve(a, b), (graphc.randn(3, 3), graphc.randn(3)), "solve"),
])
def test_source_names_the_op_that_has_no_cuda_lowering(function, args, op):
    compiled = graphc.compile(function, backend="cuda")
    with pytest.raises(graphc.CompileError, match=rf"{op}: .* has no CUDA lowering") as raised:
        compiled.source(*args)
    assert isinstance(raised.value.__cause__, Unsupported)
