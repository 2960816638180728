"""The kernel IR of lowerings (graphc/codegen/kernel.py, codegen/lower/): what the IR makes
checkable about a family's kernels, whatever C they print as."""
import re

import numpy as np
import pytest

import graphc
from graphc.codegen import schedule
from graphc.codegen import kernel as k


def _kernels_of(monkeypatch, function, *arguments):
    """The kernel IR of each lowering a compilation of `function` for `arguments` runs (its
    source rendered, nothing built), and that source."""
    found = []

    def recording(lower):
        def lowered(*args, **kwargs):
            scheduled = lower(*args, **kwargs)
            if "ir" in scheduled:
                found.append(scheduled["ir"])
            return scheduled
        return lowered
    for op, lower in list(schedule.LOWERED.items()):
        monkeypatch.setitem(schedule.LOWERED, op, recording(lower))
    source = graphc.compile(function, fullgraph=True).source(*arguments)
    return found, source


def _loops_around(statements, around=()):
    """(statement, the loops it is inside, outermost first) for every statement."""
    for s in statements:
        yield s, around
        if isinstance(s, k.Loop):
            yield from _loops_around(s.body, around + (s,))
        elif isinstance(s, k.If):
            yield from _loops_around(s.then + s.otherwise, around)


# ------------------------------------------------------------------------------ indexing family

def _ints(values):
    return graphc.tensor(np.array(values, dtype=np.int64))


_X = graphc.tensor(np.arange(20.0).reshape(4, 5))
_PAIRS = _ints([[0, 4], [1, 1], [2, 3], [4, 0]])
# op: (function, arguments, whether it copies a base first, whether it stores by accumulating)
INDEXING_CASES = {
    "index": (lambda x, i, j: x.t()[i, j] * 2, (_X, _ints([0, 4]), _ints([1, -1])), False, False),
    "index_put": (lambda x, i, v: x.t().index_put((i,), v, accumulate=True) * 1,
                  (_X, _ints([0, 0, 2]), graphc.ones(3, 4, dtype=graphc.float64)), True, True),
    "gather": (lambda x, i: x.t().gather(0, i) * 2, (_X, _ints([[0, 3, 1, 1]])), False, False),
    "scatter": (lambda x, i: x.scatter(1, i, 5.0) * 1, (_X, _PAIRS), True, False),
    "scatter_add": (lambda x, i: x.t().scatter_add(0, i, x[:2, :2].t()) * 1,
                    (_X, _ints([[0, 0], [3, 3]])), True, True),
    "scatter_reduce": (lambda x, i: x.scatter_reduce(1, i, x[:, :2] * 3, "mean") * 1,
                       (_X, _PAIRS), True, True),
    "index_select": (lambda x, i: x.t().index_select(1, i) * 1, (_X, _ints([3, 0, 0])), False,
                     False),
    "index_add": (lambda x, i: x.t().index_add(0, i, x[:, :3].t(), alpha=2.0) * 1,
                  (_X, _ints([0, 0, 4])), True, True),
    "index_copy": (lambda x, i: x.index_copy(0, i, x[:2] * 2) * 1, (_X, _ints([1, 3])), True,
                   False),
    "index_fill": (lambda x, i: x.t().index_fill(0, i, -2.0) * 1, (_X, _ints([1, -1])), True,
                   False),
    "take": (lambda x, i: x.t().take(i) * 1, (_X, _ints([[0, 19], [-1, 7]])), False, False),
    "put": (lambda x, i: x.t().put(i, x[0, :3], accumulate=True) * 1, (_X, _ints([0, 3, 3])),
            True, True),
}


@pytest.mark.parametrize("op", sorted(INDEXING_CASES))
def test_indexing_kernels_check_and_accumulate_in_serial_loops(monkeypatch, op):
    """Every index check and every store accumulating at a read index sits in serial loops only
    (the first bad index in eager's order is reported, repeated indices add up in order); a
    base is copied first by a parallel loop that checks nothing; no index variable is left
    unused."""
    function, arguments, copies_a_base, accumulates = INDEXING_CASES[op]
    kernels, source = _kernels_of(monkeypatch, function, *arguments)
    [ir] = [kernel for kernel in kernels if kernel.name == op]
    target = ir.writes[0]
    checks = [(s, around) for s, around in _loops_around(ir.body) if isinstance(s, k.Check)]
    assert checks and all(loop.kind == k.SERIAL for _, around in checks for loop in around)
    # an accumulating store at an index read from data (not each element's own: mean's division)
    stores = [(s, around) for s, around in _loops_around(ir.body) if isinstance(s, k.Store)
              and s.buffer == target and s.op != "=" and s.index != k.Var("i")]
    assert bool(stores) == accumulates
    assert all(loop.kind == k.SERIAL for _, around in stores for loop in around)
    first = ir.body[0]
    if copies_a_base:
        assert isinstance(first, k.Loop) and first.kind == k.PARALLEL
        assert not any(isinstance(s, k.Check) for s in k.walk(first.body))
        assert [s.index for s in k.walk(first.body) if isinstance(s, k.Store)] == [k.Var("i")]
    else:
        assert not any(loop.kind == k.PARALLEL for loop in k.walk(ir.body)
                       if isinstance(loop, k.Loop))
    body = source[source.index(f"_{op}("):]
    body = body[:body.index("\n}\n")]
    for name in re.findall(r"const int64_t (\w+) = ", body):
        assert len(re.findall(rf"\b{name}\b", body)) > 1, f"{name} is never read"
