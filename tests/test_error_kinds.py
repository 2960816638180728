"""The error kinds of generated code (graphc/codegen/errors.py): every kind the C code stores is
an ErrorKind written with its name, and each becomes eager's exception, type and message."""
import pathlib
import re

import numpy as np
import pytest

import graphc
from graphc.codegen import blas
from graphc.codegen.errors import EAGER_ERRORS, ErrorKind, eager_exception, exception_class
from graphc.linalg import LinAlgError

ROOT = pathlib.Path(__file__).resolve().parent.parent
STORED_KIND = re.compile(r"graphc_error\[3\] = (\d+);  /\* ErrorKind\.(\w+) \*/")


def _ints(values):
    return graphc.tensor(np.array(values, dtype=np.int64))


def _floats(values):
    return graphc.tensor(np.array(values, dtype=np.float64))


def _index_copy(x, i, source):
    return x.index_copy(0, i, source)


# kind: (function, arguments it compiles for, arguments that make eager raise that kind's error)
TRIGGERS = {
    ErrorKind.INDEX_OUT_OF_BOUNDS: (
        lambda x, i: x[i] * 2, (_floats([1, 2, 3]), _ints([0, 1])),
        (_floats([1, 2, 3]), _ints([0, 5]))),
    ErrorKind.GATHER_SCATTER_OUT_OF_BOUNDS: (
        lambda x, i: graphc.gather(x, 0, i) * 2, (_floats([1, 2, 3]), _ints([2, 0])),
        (_floats([1, 2, 3]), _ints([0, 7]))),
    ErrorKind.INDEX_SELECT_DIM1_OUT_OF_BOUNDS: (
        lambda x, i: x.index_select(1, i) * 2, (_floats(np.ones((3, 2))), _ints([0, 1])),
        (_floats(np.ones((3, 2))), _ints([0, 2]))),
    ErrorKind.INDEX_SELECT_OUT_OF_RANGE: (
        lambda x, i: x.index_select(0, i) * 2, (_floats(np.ones((3, 2))), _ints([0, 1])),
        (_floats(np.ones((3, 2))), _ints([0, 5]))),
    ErrorKind.INDEX_COPY_OUT_OF_BOUNDS: (
        _index_copy, (_floats([1, 2, 3]), _ints([1]), _floats([9])),
        (_floats([1, 2, 3]), _ints([5]), _floats([9]))),
    ErrorKind.TAKE_OUT_OF_RANGE: (
        lambda x, i: graphc.take(x, i) * 2, (_floats([1, 2, 3]), _ints([2])),
        (_floats([1, 2, 3]), _ints([7]))),
    ErrorKind.INVERSE_SINGULAR: (
        lambda a: graphc.linalg.inv(a), (_floats([[[2, 0], [0, 1]]] * 2),),
        (_floats([[[2, 0], [0, 1]], [[1, 1], [1, 1]]]),)),
    ErrorKind.SOLVE_SINGULAR: (
        lambda a, b: graphc.linalg.solve(a, b), (_floats([[2, 0], [0, 1]]), _floats([1, 1])),
        (_floats([[1, 1], [1, 1]]), _floats([1, 1]))),
    ErrorKind.CHOLESKY_NOT_POSITIVE_DEFINITE: (
        lambda a: graphc.linalg.cholesky(a), (_floats([[2, 0], [0, 1]]),),
        (_floats([[1, 0], [0, -1]]),)),
    ErrorKind.MULTINOMIAL_INVALID_PROBABILITY: (
        lambda p: graphc.multinomial(p, 1), (_floats([0.5, 0.5]),), (_floats([-1.0, 1.0]),)),
    ErrorKind.MULTINOMIAL_NONPOSITIVE_SUM: (
        lambda p: graphc.multinomial(p, 1), (_floats([0.5, 0.5]),), (_floats([0.0, 0.0]),)),
    ErrorKind.BERNOULLI_P_OUT_OF_RANGE: (
        lambda p: graphc.bernoulli(p), (_floats([0.5, 0.25]),), (_floats([0.5, 1.5]),)),
    ErrorKind.CLASS_TARGET_OUT_OF_BOUNDS: (
        lambda x, t: graphc.nn.functional.cross_entropy(x, t) * 2,
        (_floats(np.ones((3, 4))), _ints([0, -100, 3])),
        (_floats(np.ones((3, 4))), _ints([0, -100, 9]))),
}
# no input makes these fail on demand: their table entries are checked directly
UNTRIGGERABLE = {ErrorKind.ALLOCATION_FAILED: MemoryError, ErrorKind.LAPACK_FAILED: LinAlgError,
                 # the CUDA entry's own failures (tests/test_cuda_emulation.py triggers 14)
                 ErrorKind.CUDA_RUNTIME_FAILED: RuntimeError, ErrorKind.CUBLAS_FAILED: RuntimeError}
LAPACK_KINDS = (ErrorKind.INVERSE_SINGULAR, ErrorKind.SOLVE_SINGULAR,
                ErrorKind.CHOLESKY_NOT_POSITIVE_DEFINITE)


def test_every_kind_is_tested_and_has_an_eager_exception():
    assert set(TRIGGERS) | set(UNTRIGGERABLE) == set(ErrorKind)
    assert set(EAGER_ERRORS) == set(ErrorKind)
    for kind, expected in UNTRIGGERABLE.items():
        assert exception_class(kind) is expected
    assert str(eager_exception(ErrorKind.ALLOCATION_FAILED, 40, 0, 0)) == \
        "compiled code could not allocate 40 elements"


def test_error_kinds_are_stored_only_through_the_enum():
    """No C-producing file writes a kind as a bare number: errors.report is the one writer."""
    sources = [path for path in (ROOT / "graphc").rglob("*.py")] + \
        [path for path in (ROOT / "templates" / "c").rglob("*") if path.is_file()]
    writers = [path.relative_to(ROOT).as_posix() for path in sources
               if "graphc_error[3]" in path.read_text(encoding="utf-8")]
    assert writers == ["graphc/codegen/errors.py"]


@pytest.mark.parametrize("kind", list(TRIGGERS), ids=lambda kind: kind.name)
def test_compiled_error_is_eagers(kind):
    if kind in LAPACK_KINDS and blas.library_dir() is None:
        pytest.skip("needs LAPACK (scipy-openblas32)")
    function, good, bad = TRIGGERS[kind]
    compiled = graphc.compile(function, fullgraph=True)
    compiled(*good)
    stored = STORED_KIND.findall(compiled.source())
    assert (str(int(kind)), kind.name) in stored
    assert all(ErrorKind[name] == int(value) for value, name in stored)
    with pytest.raises(Exception) as eager:
        function(*bad)
    with pytest.raises(Exception) as ours:
        compiled(*bad)
    assert type(ours.value) is type(eager.value) is exception_class(kind)
    assert str(ours.value) == str(eager.value)
