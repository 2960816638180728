"""compiled.source(*example_args): the source of the specialisation those arguments select,
rendered without building a library or running compiled code; source() with no arguments is
the latest specialisation's."""
import shutil

import numpy as np
import pytest

import graphc
from graphc.codegen import cache, native_call, toolchain

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no C compiler")

WEIGHT = graphc.tensor(np.linspace(-1, 1, 4), dtype=graphc.float32)


def scaled_tanh(x):
    return (x * 2).tanh().sum(-1) + 1


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty cache directory, and the compiler's build commands of kernel libraries recorded
    (the call path's extension is built, once per process, before)."""
    native_call.extension()
    folder = tmp_path / "cache"
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(folder))
    cache._loaded.clear()
    builds = []
    real_run = toolchain._run

    def recording_run(command):
        if "-o" in command:
            builds.append(command)
        return real_run(command)
    monkeypatch.setattr(toolchain, "_run", recording_run)
    return folder, builds


def _files(folder):
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def test_source_of_example_arguments_is_what_a_call_builds(fresh_cache):
    folder, builds = fresh_cache
    compiled = graphc.compile(scaled_tanh, fullgraph=True)
    small = graphc.ones(3, 4, dtype=graphc.float32)
    wide = graphc.arange(5, dtype=graphc.float64)
    first, second = compiled.source(small), compiled.source(wide)
    assert "float" in first and "double" in second and first != second
    assert "IR nodes:" in first and "tanh" in first
    # nothing built, cached or specialised
    assert builds == [] and _files(folder) == []
    assert compiled._latest is None and compiled._specialisations == {}
    with pytest.raises(RuntimeError, match="no compiled specialisation yet"):
        compiled.source()
    np.testing.assert_allclose(compiled(small).numpy(), scaled_tanh(small).numpy(), rtol=1e-6)
    assert compiled.source() == first and len(builds) == 1
    compiled(wide)
    assert compiled.source() == second and len(builds) == 2
    assert compiled.source(small) == first  # rendered again, for a signature it has
    assert len(builds) == 2


def test_source_of_a_function_with_captured_tensors_and_draws(fresh_cache):
    folder, builds = fresh_cache

    def noisy(x):
        return x * WEIGHT + graphc.rand(4) * 0.1

    compiled = graphc.compile(noisy, fullgraph=True)
    x = graphc.ones(2, 4, dtype=graphc.float32)
    rendered = compiled.source(x)
    assert builds == [] and _files(folder) == []
    compiled(x)
    assert compiled.source() == rendered


def test_source_of_a_graph_break_says_it_runs_eagerly(fresh_cache):
    def reads_a_number(x):
        return x * float(x.sum())

    compiled = graphc.compile(reads_a_number)
    with pytest.raises(graphc.CompileError, match="no compiled source of reads_a_number"):
        compiled.source(graphc.ones(3))


def _training_step():
    """A step with a constant input no kernel reads (the gradient's ones, folded), a returned
    reduction, a dropout draw and an SGD update fused into its product."""
    graphc.manual_seed(0)
    w = (graphc.randn(8, 4) * 0.1).requires_grad_()

    def step(x):
        hidden = graphc.nn.functional.dropout(x @ w, 0.25)
        loss = hidden.clamp(min=0).sum()
        loss.backward()
        with graphc.no_grad():
            w.sub_(0.1 * w.grad)
        w.grad = None
        return loss
    return step


@pytest.mark.parametrize("make", [_training_step, lambda: scaled_tanh])
def test_generated_c_declares_nothing_it_does_not_use(fresh_cache, make, tmp_path):
    """gcc -Wall -Wextra finds no unused variable: the entry unpacks only the pointers its
    calls pass."""
    import subprocess
    compiler = shutil.which("cc") or shutil.which("gcc")
    unit = tmp_path / "unit.c"
    unit.write_text(graphc.compile(make(), fullgraph=True).source(graphc.randn(3, 8)))
    result = subprocess.run([compiler, "-std=c11", "-Wall", "-Wextra", "-fsyntax-only",
                             str(unit)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stderr, result.stderr
