"""The README's Python examples run as written."""
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path / "cache"))
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks
    namespace = {}  # the blocks build on each other, as a reader runs them in one session
    for code in blocks:
        exec(compile(code, "<README>", "exec"), namespace)
    output = capsys.readouterr().out
    assert "# gradient" in output and "%y = mul(pow, exp)" in output
    assert (tmp_path / "y.dot").read_text().startswith("digraph graphc {")
    assert "static void kernel0_" in output  # the compile example printed its C
    w, b = namespace["w"].item(), namespace["b"].item()  # the compiled regression fitted the line
    assert abs(w - 2) < 0.3 and abs(b - 3) < 1.0


def test_readme_starts_with_the_two_commands():
    first_block = README.read_text().split("```")[1]
    lines = [line for line in first_block.splitlines()[1:] if line.strip()]
    assert lines == ['pip install ".[test]" && python examples/linear_regression.py', "python -m pytest"]
