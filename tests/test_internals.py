"""Seed 1.3 (internals) and numpy interop: storage sharing, data_ptr, strides, from_numpy."""
import numpy as np
import pytest

import graphc


def test_views_share_one_storage_object():
    a = graphc.arange(0, 6).float()
    b = a.view(2, 3)
    c = a[2:]
    assert a.storage() is b.storage() is c.storage()
    assert b.storage().size() == 6 and len(c.storage()) == 6
    a[1] = 100
    assert b[0, 1].item() == 100 and c.storage()[1] == 100


def test_data_ptr_offset_of_a_view_is_storage_offset_times_itemsize():
    for dtype in (graphc.float32, graphc.float64, graphc.int16, graphc.uint8):
        a = graphc.arange(0, 10).to(dtype)
        view = a[3:]
        assert view.storage_offset() == 3
        assert view.data_ptr() - a.data_ptr() == 3 * a.element_size()
        assert view.storage().data_ptr() == a.data_ptr()


def test_tensor_of_a_storage_shares_memory():
    a = graphc.arange(0, 6).float()
    c = a[2:]
    d = graphc.Tensor(c.storage())
    assert d.shape == (6,) and d.storage_offset() == 0 and d.storage() is a.storage()
    d[0] = 6666
    assert a[0].item() == 6666


def test_strides_and_contiguity_follow_torch():
    b = graphc.arange(0, 6).float().view(2, 3)
    e = b[::2, ::2]
    assert b.stride() == (3, 1) and e.stride() == (6, 2) and b.stride(-1) == 1
    assert b.is_contiguous() and not e.is_contiguous()
    assert not b.t().is_contiguous() and b.t().contiguous().is_contiguous()
    # sizes of 1 may carry any stride
    assert graphc.ones(3, 1).expand(3, 1).is_contiguous()
    assert graphc.ones(1, 3).t().is_contiguous()


def test_expand_is_a_stride_zero_view():
    a = graphc.arange(3.0)
    e = a.expand(4, 3)
    assert e.stride() == (0, 1) and e.storage() is a.storage()
    a[0] = 7
    assert e[3, 0].item() == 7


def test_set_makes_a_tensor_view_a_storage():
    a = graphc.arange(6.0)
    x = graphc.Tensor()
    x.set_(a.storage(), 2, (2, 2), (2, 1))
    assert x.tolist() == [[2.0, 3.0], [4.0, 5.0]]
    x[0, 0] = -1
    assert a[2].item() == -1
    with pytest.raises(RuntimeError):
        x.set_(a.storage(), 4, (2, 2), (2, 1))


def test_from_numpy_and_numpy_share_memory_both_ways():
    array = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = graphc.from_numpy(array)
    assert t.dtype is graphc.float64
    t[0, 0] = 42
    assert array[0, 0] == 42
    array[1, 2] = -5
    assert t[1, 2].item() == -5
    assert np.shares_memory(t.numpy(), array)
    view = graphc.from_numpy(array[:, 1:])
    assert view.stride() == (3, 1) and view.storage().size() >= 5


def test_tensor_of_an_ndarray_copies():
    array = np.ones(3, dtype=np.int32)
    t = graphc.tensor(array)
    t[0] = 9
    assert array[0] == 1 and t.dtype is graphc.int32


@pytest.mark.parametrize("name", ["bool", "uint8", "int8", "int16", "int32", "int64",
                                  "float16", "float32", "float64"])
def test_dtypes_map_to_numpy_both_ways(name):
    dtype = getattr(graphc, name)
    array = np.zeros(2, dtype=name if name != "bool" else np.bool_)
    assert graphc.from_numpy(array).dtype is dtype
    assert graphc.zeros(2, dtype=dtype).numpy().dtype == array.dtype
    assert np.asarray(graphc.zeros(2, dtype=dtype)).dtype == array.dtype


def test_from_numpy_rejects_unsupported_arrays():
    with pytest.raises(TypeError):
        graphc.from_numpy(np.zeros(2, dtype=np.complex64))
    with pytest.raises(ValueError):
        graphc.from_numpy(np.arange(4)[::-1])
    with pytest.raises(TypeError):
        graphc.from_numpy([1, 2])


def test_numpy_refuses_tensors_that_require_grad():
    t = graphc.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        t.numpy()
    assert t.detach().numpy().tolist() == [1.0, 1.0]


def test_version_counter_is_shared_by_views_and_bumped_by_writes():
    a = graphc.zeros(4)
    v = a[1:]
    before = a._version
    v.add_(1)
    a[0] = 2
    assert a._version == v._version == before + 2


def test_storage_resize_and_tensor_resize():
    a = graphc.arange(4.0)
    a.resize_(2, 3)
    assert a.shape == (2, 3) and a.flatten()[:4].tolist() == [0.0, 1.0, 2.0, 3.0]
    a.resize_(2)
    assert a.tolist() == [0.0, 1.0] and a.storage().size() == 6


def test_num_threads_round_trip():
    before = graphc.get_num_threads()
    graphc.set_num_threads(2)
    assert graphc.get_num_threads() == 2
    graphc.set_num_threads(before)
    with pytest.raises(RuntimeError):
        graphc.set_num_threads(0)


def _in_fresh_process(code, **environment):
    import os
    import subprocess
    import sys
    env = {**os.environ, **environment}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_omp_num_threads_sets_the_default_thread_count_as_in_torch():
    assert _in_fresh_process("import graphc; print(graphc.get_num_threads())",
                             OMP_NUM_THREADS="1") == ["1"]
    assert _in_fresh_process("import graphc; print(graphc.get_num_threads())",
                             OMP_NUM_THREADS="3") == ["3"]


def test_set_num_threads_reaches_the_blas_that_compiled_products_call():
    pytest.importorskip("scipy_openblas32")
    code = """
import ctypes, os, graphc, scipy_openblas32
f = graphc.compile(lambda a, b: a @ b, fullgraph=True)
f(graphc.randn(64, 64), graphc.randn(64, 64))
blas = ctypes.CDLL(os.path.join(scipy_openblas32.get_lib_dir(), "libscipy_openblas.so"))
print(blas.scipy_openblas_get_num_threads())
graphc.set_num_threads(2)
print(blas.scipy_openblas_get_num_threads())
"""
    assert _in_fresh_process(code, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="2") == ["1", "2"]
