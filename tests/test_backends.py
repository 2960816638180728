"""Backends as data (graphc/codegen/backend.py): graphc.compile(backend=) picks one from the
registry; its compiler and flags are what the build runs and what the cache key covers."""
import dataclasses
import shutil

import numpy as np
import pytest

import graphc
from graphc.codegen import backend as backends, cache, toolchain

pytestmark = pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                                reason="no C compiler")


def test_two_backends_with_different_flags_get_different_keys():
    c = backends.BACKENDS["c"]
    debug = dataclasses.replace(c, name="c-debug", flags=lambda: ("-O0", "-shared", "-fPIC"))
    same_flags_other_name = dataclasses.replace(c, name="c-copy")
    keys = {(cache.key_of("int x;", "", b), cache.graph_key_of("graph", b))
            for b in (c, debug, same_flags_other_name)}
    assert len({key for pair in keys for key in pair}) == 6
    assert cache.key_of("int x;", "") == cache.key_of("int x;", "", c)  # the default is C


def test_unknown_backend_raises_as_torch_does():
    with pytest.raises(RuntimeError, match=r"^Invalid backend: 'tvm'"):
        graphc.compile(lambda x: x, backend="tvm")
    assert graphc.compile(lambda x: x, backend="inductor")._backend is backends.BACKENDS["c"]


def test_the_build_runs_the_backends_compiler_and_flags(monkeypatch, tmp_path):
    """A backend of our own: its flags reach the compiler, its suffix names the source file,
    its renderer is the one graphc.compile calls, and its library is loaded."""
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "cache"))
    cache._loaded.clear()
    commands, rendered = [], []
    real_run = toolchain._run

    def recording_run(command):
        commands.append(command)
        return real_run(command)
    monkeypatch.setattr(toolchain, "_run", recording_run)
    c = backends.BACKENDS["c"]

    def render(*args, **kwargs):
        rendered.append(args[3])
        return c.render(*args, **kwargs)
    ours = dataclasses.replace(c, name="c-serial", render=render, parallel_flags=lambda: (),
                               flags=lambda: (*toolchain.FLAGS, "-DGRAPHC_TEST_FLAG=1"))
    compiled = graphc.compile(lambda x: (x * 3).exp(), backend=ours, fullgraph=True)
    x = graphc.arange(5.0)
    compiled(x)
    np.testing.assert_allclose(compiled(x).numpy(), np.exp(np.arange(5.0) * 3), rtol=1e-6)
    builds = [command for command in commands if "-o" in command]
    assert len(builds) == 1 and len(rendered) == 1 and rendered[0].endswith("<lambda>")
    assert "-DGRAPHC_TEST_FLAG=1" in builds[0] and "-fopenmp" not in builds[0]
    assert builds[0][builds[0].index("-o") - 1].endswith("kernel.c")
    assert list((tmp_path / "cache").rglob("*.so"))
