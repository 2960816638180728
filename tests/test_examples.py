"""The examples run and reach what they are for (short runs, in a temporary directory)."""
import importlib
import pathlib
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def example(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(EXAMPLES))

    def load(name):
        sys.modules.pop(name, None)
        return importlib.import_module(name)
    return load


def test_linear_regression_examples_fit_the_line(example, capsys):
    for name, steps in (("linear_regression_manual", 6000), ("linear_regression_autograd", 4000)):
        w, b = example(name).main(steps)
        assert abs(w.item() - 2) < 0.25 and abs(b.item() - 3) < 0.4
    output = capsys.readouterr().out
    assert output.count("Finally") == 2
    pytest.importorskip("matplotlib")
    assert pathlib.Path("linear_regression_manual.png").stat().st_size > 1000
    assert pathlib.Path("linear_regression_autograd.png").stat().st_size > 1000


def test_custom_function_example_passes_gradcheck(example, capsys):
    example("custom_function").main()
    lines = capsys.readouterr().out.splitlines()
    assert "True" in lines
    assert "float64 gradcheck: True" in lines and "MultiplyAdd gradcheck: True" in lines


def test_sigmoid_timing_example_times_three_variants(example, capsys):
    example("sigmoid_timing").main(number=2, repeat=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all("µs per loop" in line for line in lines)


def test_computation_graph_example_writes_dot(example):
    graph = example("computation_graph").main()
    dot = pathlib.Path("computation_graph.dot").read_text()
    assert '"w" -> "y";' in dot and '"y" -> "z";' in dot and '"b" -> "z";' in dot
    assert graph.outputs == ["z"]


def test_tensor_tour_runs(example, capsys):
    example("tensor_tour")
    output = capsys.readouterr().out
    assert "=== linear regression by hand (seed 1.5) ===" in output


def test_main_example_trains_eager_and_compiled_alike(example, capsys):
    w, b, eager_w, eager_b = example("linear_regression").main(3000)
    # the compiled step draws the same batches: the same line, to float32 rounding
    assert abs(w.item() - eager_w.item()) < 1e-4 and abs(b.item() - eager_b.item()) < 1e-4
    assert abs(w.item() - 2) < 0.25 and abs(b.item() - 3) < 1.0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("eager ") and lines[1].startswith("compiled ")
    assert all("µs per step" in line for line in lines[:2])
    assert "x faster" in lines[2]
    assert lines[4].startswith("generated C: ") and "kernel0_uniform" in lines[4]
    pytest.importorskip("matplotlib")
    assert lines[3] == f"plot: {pathlib.Path('linear_regression.png').resolve()}"
    assert pathlib.Path("linear_regression.png").stat().st_size > 1000


def test_digits_classifier_trains_eager_and_compiled_alike(example, capsys, tmp_path):
    pytest.importorskip("sklearn")
    out = tmp_path / "plots"
    run = example("digits_classifier").main(["--epochs", "1", "--out", str(out)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "1438 training and 359 held-out digits, 44 batches of 32 an epoch"
    assert lines[1].startswith("epoch  1/1  loss eager ") and " compiled " in lines[1]
    assert "held-out accuracy eager " in lines[1]
    assert lines[2].startswith("held-out accuracy: ") and "of 359 right" in lines[2]
    assert lines[3].startswith("time per step: eager ") and "x faster" in lines[3]
    # the same initial weights and the same batches: the same losses, to float32 rounding
    eager, compiled = run.losses["eager"], run.losses["compiled"]
    assert len(eager) == len(compiled) == 44
    assert max(abs(a - b) for a, b in zip(eager, compiled)) < 1e-3 * max(eager)
    assert sum(eager[-5:]) < 0.7 * sum(eager[:5]) and run.accuracy > 0.4  # one epoch learns
    pytest.importorskip("matplotlib")
    for name, line in zip(("digits_loss.png", "digits_misclassified.png"), lines[4:6]):
        assert line.endswith(str((out / name).resolve()))
        assert (out / name).stat().st_size > 1000


def test_digits_classifier_without_sklearn_says_what_to_install(example, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn.datasets then fails
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(SystemExit, match="needs scikit-learn.*pip install scikit-learn"):
        example("digits_classifier").main(["--epochs", "1"])
