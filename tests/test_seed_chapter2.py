"""Every code block of the seed's chapter 2 ("autograd") runs with graphc: random draws are
replaced by fixed tensors so that what a block prints can be compared with PyTorch (live, or
recorded in tests/oracle), gradients are checked against the hand formula, gradcheck prints True, and
the linear regression ends near w = 2, b = 3."""
import math
import pathlib
import sys
import warnings

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import oracle  # noqa: E402
from seed.blocks import (chapter_blocks, determinise, headless_matplotlib,  # noqa: E402
                         mask, run_block, transliterate)

BLOCKS = chapter_blocks(2)
RNG = np.random.default_rng(7)
FIXED = {
    0: {"t.randn(3, 4)": np.round(RNG.standard_normal((3, 4)), 4).tolist()},
    1: {"t.rand(1)": [0.8940]},
}


def run_both(index, code_for):
    """What the block prints under graphc, and under torch (tests/oracle: live, or recorded)."""
    def printed_by_torch(torch):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return mask(run_block(code_for("torch")))

    return mask(run_block(code_for("graphc"))), oracle.answer(f"block {index}", printed_by_torch)


def _block(index, module):
    return determinise(transliterate(BLOCKS[index], module), FIXED.get(index, {}))


def test_chapter_has_the_expected_blocks():
    assert len(BLOCKS) == 4


def test_block0_autograd_matches_the_hand_formula():
    namespace = {}
    output = run_block(_block(0, "graphc"), namespace)
    x = namespace["x"]
    expected = (2 * x.detach() * x.detach().exp() + x.detach() ** 2 * x.detach().exp()).numpy()
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-6)
    assert "grad_fn=<MulBackward0>" in output and "grad_fn=<AddBackward0>" in output
    assert "requires_grad=True" in output


def test_block0_prints_what_pytorch_prints():
    ours, theirs = run_both(0, lambda module: _block(0, module))
    assert ours == theirs


def test_block1_custom_function_prints_what_pytorch_prints():
    ours, theirs = run_both(1, lambda module: _block(1, module))
    assert ours == theirs


def test_block1_custom_function_gradients():
    namespace = {}
    output = run_block(_block(1, "graphc"), namespace)
    w, b = namespace["w"], namespace["b"]
    lines = output.splitlines()
    assert lines[0] == "Begin forwarding" and "Begin backwarding" in lines
    assert w.grad.tolist() == [1.0] and b.grad.tolist() == [1.0]
    x_grad = namespace["x"].grad
    assert math.isclose(x_grad.item(), 0.8940, rel_tol=1e-6) and x_grad.grad_fn is not None


def test_block2_gradcheck_prints_true_and_times_three_variants():
    output = run_block(_block(2, "graphc"), {})
    lines = output.splitlines()
    assert lines[:2] == ["torch.float32", "True"]
    timings = [float(line) for line in lines[2:]]
    assert len(timings) == 3 and all(t > 0 for t in timings)


def test_block3_linear_regression_fits_the_line(monkeypatch):
    headless_matplotlib(monkeypatch)
    namespace = {}
    output = run_block(_block(3, "graphc"), namespace)
    lines = output.strip().splitlines()
    assert len(lines) == 6 and lines[4] == "Finally"
    w, b = namespace["w"].squeeze().item(), namespace["b"].squeeze().item()
    assert lines[5] == f"y =  {w}  x +  {b}"
    assert abs(w - 2) < 0.2 and abs(b - 3) < 0.3
