"""Every graph tests/test_compile.py compiles on C, rendered for CUDA, built with plain nvcc (where
present) and run through the host emulation to the C calls' results (tests/cuda_replay.py), or
refused by name as Unsupported for CUDA."""
import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import graphc
from graphc.codegen import cuda_check

TESTS = pathlib.Path(__file__).resolve().parent

if cuda_check.host_compiler() is None:
    pytest.skip("no g++: the CUDA emulation needs a C++17 compiler", allow_module_level=True)

# what the CUDA dialect may refuse: the families with no device lowering yet, each by name
REFUSALS = re.compile(r"^\w+: a kernel calling [\w, ]+ .*has no CUDA "
                      r"lowering")


def test_every_graph_of_test_compile_runs_as_cuda_to_the_c_results(tmp_path):
    report_path = tmp_path / "report.json"
    environment = {**os.environ, "GRAPHC_CUDA_REPLAY_REPORT": str(report_path),
                   "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "cuda_replay", "-p",
                          "no:cacheprovider", "-q", str(TESTS / "test_compile.py")],
                         cwd=TESTS.parent, env=environment, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    report = json.loads(report_path.read_text())
    results = {kind: [r for r in report if r["result"] == kind]
               for kind in ("ran", "refused", "failed")}
    assert not results["failed"]
    assert len(results["ran"]) >= 150  # the suite's graphs: forward, gradients, training steps
    assert any("backward" in r["function"] or "step" in r["function"] for r in results["ran"])
    for refused in results["refused"]:
        assert REFUSALS.match(refused["reason"]), refused


def test_the_replay_catches_a_result_that_differs(tmp_path):
    """The comparison can fail: a recorded C call whose output is altered no longer matches."""
    import cuda_replay
    from graphc.codegen.render import cuda

    def f(x):
        return (x * 2).exp().sum(1), x + 1
    compiled = graphc.compile(f, fullgraph=True)
    x = graphc.randn(3, 4)
    compiled(x)
    specialisation = compiled._latest
    layout = cuda_replay._layout(specialisation)
    calls = []
    specialisation.entry = cuda_replay._recording_entry(specialisation, specialisation.entry,
                                                        calls)
    specialisation((x,), {}, [])  # a native call, recorded
    assert len(calls) == 1 and not calls[0].status
    source = cuda.source_of(specialisation)
    # a unit that does not build, batched with this one: it reports its own error, and this one
    # is built on its own and still runs
    broken = source.replace("in0 + 1;", "in0 + undeclared_name;")
    assert broken != source
    built = cuda_replay.build_units([source, broken], tmp_path)
    assert isinstance(built[broken], cuda_check.CudaBuildError)
    assert "undeclared_name" in str(built[broken])
    unit = built[source]
    cuda_replay._replay(specialisation, unit, calls[0], ())   # as recorded: the same
    wrong = np.frombuffer(calls[0].after[-1], np.float32).copy()
    wrong[5] += 1e-3
    calls[0].after[-1] = wrong.tobytes()
    with pytest.raises(AssertionError, match=specialisation.outputs[-1]):
        cuda_replay._replay(specialisation, unit, calls[0], ())
    assert len(layout) == len(calls[0].after)
