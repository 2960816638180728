"""Every code block of the seed's chapter 1 ("Tensor") runs with graphc and prints what PyTorch
prints: deterministic blocks are compared with PyTorch's recorded output (tests/seed/*.txt, and
live when torch is importable); the random ones are checked for what they must show."""
import math
import pathlib
import sys

import pytest

import graphc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from seed.blocks import (chapter_blocks, headless_matplotlib, mask, run_block,  # noqa: E402
                         transliterate)
from seed.regenerate import DETERMINISTIC, reference_code  # noqa: E402

BLOCKS = chapter_blocks(1)
REFERENCE = pathlib.Path(__file__).resolve().parent / "seed"


@pytest.fixture(autouse=True)
def restore_defaults():
    yield
    graphc.set_default_dtype(graphc.float32)


def test_chapter_has_the_expected_blocks():
    assert len(BLOCKS) == 10


@pytest.mark.parametrize("index", DETERMINISTIC)
def test_deterministic_block_prints_what_pytorch_printed(index):
    output = mask(run_block(transliterate(BLOCKS[index])))
    expected = (REFERENCE / f"chapter1_block{index}.txt").read_text()
    assert output == expected


@pytest.mark.parametrize("index", DETERMINISTIC)
def test_deterministic_block_matches_live_pytorch(index):
    pytest.importorskip("torch")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = mask(run_block(reference_code(index)))
    assert mask(run_block(transliterate(BLOCKS[index]))) == expected


def test_block0_creation_runs():
    namespace = {}
    run_block(transliterate(BLOCKS[0]), namespace)
    b = namespace["b"]
    assert namespace["c"] == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert b.size() == b.shape == (2, 3)


def test_block1_names_methods_that_exist():
    # the block lists methods of a tensor named `tensor`; run it with one
    code = BLOCKS[1]
    namespace = {"tensor": graphc.ones(2, 3)}
    run_block(code, namespace)
    for name in ("view", "resize_", "squeeze", "unsqueeze"):
        assert callable(getattr(namespace["tensor"], name))


def test_block2_indexing_on_random_data():
    namespace = {}
    run_block(transliterate(BLOCKS[2]), namespace)
    a = namespace["a"]
    assert a.shape == (3, 4)
    selected = a[a > 1]
    assert selected.tolist() == [v for row in a.tolist() for v in row if v > 1]
    assert a[graphc.LongTensor([0, 1])].tolist() == a.tolist()[:2]
    assert a[0, 2].item() == a[0][2].item() == a.tolist()[0][2]


def test_block9_linear_regression_fits_the_line(monkeypatch):
    headless_matplotlib(monkeypatch)
    namespace = {}
    output = run_block(transliterate(BLOCKS[9]), namespace)
    lines = output.strip().splitlines()
    assert len(lines) == 6 and lines[4] == "Finally"
    w, b = namespace["w"].squeeze().item(), namespace["b"].squeeze().item()
    assert lines[5] == f"y =  {w}  x +  {b}"
    assert abs(w - 2) < 0.2 and abs(b - 3) < 0.3
    assert math.isfinite(w) and math.isfinite(b)
