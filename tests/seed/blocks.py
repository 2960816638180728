"""The seed tutorial's code blocks, transliterated from torch to graphc, and a runner.

The blocks are the project's own test programs: `programs/chapter<C>_block<NN>.txt` hold the
tutorial's code exactly as it is written there (for torch, typos and IPython magics included).
`chapter_blocks(1)` lists chapter 1's blocks in order; `transliterate` makes one runnable
with graphc (`import torch` -> `import graphc`, the tutorial's typos fixed); `run_block` executes
it, capturing what it prints; `mask` hides what may differ between runs (memory addresses).
"""
import contextlib
import io
import pathlib
import re
import sys
import types

PROGRAMS = pathlib.Path(__file__).resolve().parent / "programs"


def chapter_blocks(chapter):
    paths = sorted(PROGRAMS.glob(f"chapter{chapter}_block*.txt"))
    return [path.read_text(encoding="utf-8") for path in paths]


def transliterate(code, module="graphc"):
    code = code.replace("b..tolist()", "b.tolist()")  # a typo in the tutorial
    # IPython's %timeit becomes the timeit module
    code = re.sub(r"^%timeit -n (\d+) (.*)$",
                  lambda m: f"import timeit; print(timeit.timeit(lambda: {m.group(2)}, number={m.group(1)}))",
                  code, flags=re.M)
    code = re.sub(r"^import torch as t$", f"import {module} as t", code, flags=re.M)
    code = re.sub(r"^from torch\.autograd import", f"from {module}.autograd import", code, flags=re.M)
    if "import " not in code.split("\n", 3)[0] and module not in code:
        code = f"import {module} as t\n" + code
    return code


def run_block(code, namespace=None):
    """Execute `code`, returning everything it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<seed block>", "exec"), namespace if namespace is not None else {})
    return out.getvalue()


def mask(output):
    """Memory addresses (data_ptr, object ids) differ from run to run; class paths name the
    library (torch.Tensor / graphc.Tensor)."""
    output = re.sub(r"^\d{8,}$", "<address>", output, flags=re.M)
    output = re.sub(r" at 0x[0-9a-fA-F]+>", " at <address>>", output)
    return re.sub(r"\b(torch|graphc)\.(Tensor|autograd\.function)\b", r"<library>.\2", output)


def determinise(code, values):
    """Replace the random draws of a block by fixed tensors, so that its output can be compared
    with PyTorch's: `values` maps a call such as "t.randn(3, 4)" to a nested list."""
    for call, value in values.items():
        code = code.replace(call, f"t.tensor({value!r})")
    return code


def headless_matplotlib(monkeypatch):
    """The regression blocks plot: draw with the Agg backend and close instead of showing, or,
    without matplotlib, accept the calls and draw nothing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        monkeypatch.setattr(plt, "show", lambda: plt.close("all"))
    except ImportError:
        stub = types.ModuleType("matplotlib.pyplot")
        for name in ("figure", "plot", "scatter", "xlim", "ylim", "show"):
            setattr(stub, name, lambda *args, **kwargs: None)
        package = types.ModuleType("matplotlib")
        package.pyplot = stub
        monkeypatch.setitem(sys.modules, "matplotlib", package)
        monkeypatch.setitem(sys.modules, "matplotlib.pyplot", stub)
