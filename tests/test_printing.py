"""Tensor and storage printing must be character-for-character what PyTorch prints.

Two kinds of tests: exact expected strings (verified once against torch 2.13 and checked again
by `test_expected_strings_are_torchs`), and broad randomised comparisons with torch's repr;
torch's answers are live where torch is importable, else recorded (tests/oracle, as digests).
"""
import math

import numpy as np
import pytest

import graphc
import oracle
from graphc import printing

nan, inf = math.nan, math.inf


class MulBackward0:
    """Stands in for an autograd node: printing shows the node's class name."""


@pytest.fixture(autouse=True)
def _restore_print_state():
    yield
    printing.set_printoptions(profile="default")
    graphc.set_default_dtype(graphc.float32)


def make(array, grad=None):
    """A graphc tensor over a copy of `array`; grad is None, 'leaf' or 'mul' (a fake grad_fn)."""
    t = graphc.from_numpy(np.array(array))
    if grad is not None:
        t._requires_grad = True
    if grad == "mul":
        t._grad_fn = MulBackward0()
    return t


def f32(values):
    return np.array(values, dtype=np.float32)


# (name, numpy array, grad kind, torch's repr)
EXPECTED = [
    ("seed_arange_4x4", np.arange(16, dtype=np.float32).reshape(4, 4), None,
     "tensor([[ 0.,  1.,  2.,  3.],\n"
     "        [ 4.,  5.,  6.,  7.],\n"
     "        [ 8.,  9., 10., 11.],\n"
     "        [12., 13., 14., 15.]])"),
    ("seed_big_ratio", f32([[6666., 100., 2.], [3., 4., 5.]]), None,
     "tensor([[6.6660e+03, 1.0000e+02, 2.0000e+00],\n"
     "        [3.0000e+00, 4.0000e+00, 5.0000e+00]])"),
    ("seed_mixed_width", f32([[0., 100., 2.], [3., 4., 5.]]), None,
     "tensor([[  0., 100.,   2.],\n        [  3.,   4.,   5.]])"),
    ("seed_int_3d", np.arange(24).reshape(2, 3, 4), None,
     "tensor([[[ 0,  1,  2,  3],\n         [ 4,  5,  6,  7],\n         [ 8,  9, 10, 11]],\n\n"
     "        [[12, 13, 14, 15],\n         [16, 17, 18, 19],\n         [20, 21, 22, 23]]])"),
    ("scalar_float", f32(3.), None, "tensor(3.)"),
    ("scalar_negative_zero", f32(-0.), None, "tensor(-0.)"),
    ("scalar_fraction", f32(2.5), None, "tensor(2.5000)"),
    ("scalar_int", np.array(7), None, "tensor(7)"),
    ("scalar_bool", np.array(True), None, "tensor(True)"),
    ("scalar_nan", f32(nan), None, "tensor(nan)"),
    ("scalar_double", np.array(0.1), None, "tensor(0.1000, dtype=torch.float64)"),
    ("empty", f32([]), None, "tensor([])"),
    ("empty_0x3", np.zeros((0, 3), np.float32), None, "tensor([], size=(0, 3))"),
    ("empty_int64", np.zeros(0, np.int64), None, "tensor([], dtype=torch.int64)"),
    ("empty_int32_3d", np.zeros((2, 0, 4), np.int32), None,
     "tensor([], size=(2, 0, 4), dtype=torch.int32)"),
    ("int_widths", np.array([[1, -20], [300, 4]]), None,
     "tensor([[  1, -20],\n        [300,   4]])"),
    ("int8", np.array([1, -2, 100], np.int8), None, "tensor([  1,  -2, 100], dtype=torch.int8)"),
    ("uint8", np.array([1, 2, 255], np.uint8), None, "tensor([  1,   2, 255], dtype=torch.uint8)"),
    ("bool_matrix", np.array([[True, False], [False, True]]), None,
     "tensor([[ True, False],\n        [False,  True]])"),
    ("bool_all_true", np.array([True, True]), None, "tensor([True, True])"),
    ("nan_inf_integers", f32([nan, inf, -inf, 1.]), None, "tensor([nan, inf, -inf, 1.])"),
    ("nan_inf_fractions", f32([nan, -inf, 0.25]), None, "tensor([   nan,   -inf, 0.2500])"),
    ("only_nonfinite", f32([nan, inf, 0.]), None, "tensor([nan, inf, 0.])"),
    ("zeros", np.zeros((2, 3), np.float32), None, "tensor([[0., 0., 0.],\n        [0., 0., 0.]])"),
    ("fixed_negative", f32([-1.5, 2.25, 10.125]), None, "tensor([-1.5000,  2.2500, 10.1250])"),
    ("float32_rounding", f32([0.1, 0.2, 0.3]), None, "tensor([0.1000, 0.2000, 0.3000])"),
    ("sci_small", f32([1e-5, 1.]), None, "tensor([1.0000e-05, 1.0000e+00])"),
    ("sci_large", f32([1e9, 1.]), None, "tensor([1.0000e+09, 1.0000e+00])"),
    ("sci_ratio", f32([1001., 1.]), None, "tensor([1.0010e+03, 1.0000e+00])"),
    ("no_sci_ratio_1000", f32([1000., 1.]), None, "tensor([1000.,    1.])"),
    ("sci_big_integers", f32([123456789., 2.]), None, "tensor([1.2346e+08, 2.0000e+00])"),
    ("sci_three_digit_exponent", np.array([1e100, -1e-100, 3.]), None,
     "tensor([ 1.0000e+100, -1.0000e-100,   3.0000e+00], dtype=torch.float64)"),
    ("float16", np.array([1.5, 65504., -0.25], np.float16), None,
     "tensor([ 1.5000e+00,  6.5504e+04, -2.5000e-01], dtype=torch.float16)"),
    ("float64", np.array([1., 2.5]), None, "tensor([1.0000, 2.5000], dtype=torch.float64)"),
    ("int32", np.array([1, 2], np.int32), None, "tensor([1, 2], dtype=torch.int32)"),
    ("int16_matrix", np.array([[1, 2], [3, 4]], np.int16), None,
     "tensor([[1, 2],\n        [3, 4]], dtype=torch.int16)"),
    ("summarised_int", np.arange(2000), None, "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"),
    ("summarised_matrix", np.arange(1200, dtype=np.float32).reshape(30, 40), None,
     "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 3.7000e+01, 3.8000e+01,\n"
     "         3.9000e+01],\n"
     "        [4.0000e+01, 4.1000e+01, 4.2000e+01,  ..., 7.7000e+01, 7.8000e+01,\n"
     "         7.9000e+01],\n"
     "        [8.0000e+01, 8.1000e+01, 8.2000e+01,  ..., 1.1700e+02, 1.1800e+02,\n"
     "         1.1900e+02],\n"
     "        ...,\n"
     "        [1.0800e+03, 1.0810e+03, 1.0820e+03,  ..., 1.1170e+03, 1.1180e+03,\n"
     "         1.1190e+03],\n"
     "        [1.1200e+03, 1.1210e+03, 1.1220e+03,  ..., 1.1570e+03, 1.1580e+03,\n"
     "         1.1590e+03],\n"
     "        [1.1600e+03, 1.1610e+03, 1.1620e+03,  ..., 1.1970e+03, 1.1980e+03,\n"
     "         1.1990e+03]])"),
    ("summarised_3d", np.arange(3000).reshape(10, 10, 30), None,
     "tensor([[[   0,    1,    2,  ...,   27,   28,   29],\n"
     "         [  30,   31,   32,  ...,   57,   58,   59],\n"
     "         [  60,   61,   62,  ...,   87,   88,   89],\n"
     "         ...,\n"
     "         [ 210,  211,  212,  ...,  237,  238,  239],\n"
     "         [ 240,  241,  242,  ...,  267,  268,  269],\n"
     "         [ 270,  271,  272,  ...,  297,  298,  299]],\n\n"
     "        [[ 300,  301,  302,  ...,  327,  328,  329],\n"
     "         [ 330,  331,  332,  ...,  357,  358,  359],\n"
     "         [ 360,  361,  362,  ...,  387,  388,  389],\n"
     "         ...,\n"
     "         [ 510,  511,  512,  ...,  537,  538,  539],\n"
     "         [ 540,  541,  542,  ...,  567,  568,  569],\n"
     "         [ 570,  571,  572,  ...,  597,  598,  599]],\n\n"
     "        [[ 600,  601,  602,  ...,  627,  628,  629],\n"
     "         [ 630,  631,  632,  ...,  657,  658,  659],\n"
     "         [ 660,  661,  662,  ...,  687,  688,  689],\n"
     "         ...,\n"
     "         [ 810,  811,  812,  ...,  837,  838,  839],\n"
     "         [ 840,  841,  842,  ...,  867,  868,  869],\n"
     "         [ 870,  871,  872,  ...,  897,  898,  899]],\n\n"
     "        ...,\n\n"
     "        [[2100, 2101, 2102,  ..., 2127, 2128, 2129],\n"
     "         [2130, 2131, 2132,  ..., 2157, 2158, 2159],\n"
     "         [2160, 2161, 2162,  ..., 2187, 2188, 2189],\n"
     "         ...,\n"
     "         [2310, 2311, 2312,  ..., 2337, 2338, 2339],\n"
     "         [2340, 2341, 2342,  ..., 2367, 2368, 2369],\n"
     "         [2370, 2371, 2372,  ..., 2397, 2398, 2399]],\n\n"
     "        [[2400, 2401, 2402,  ..., 2427, 2428, 2429],\n"
     "         [2430, 2431, 2432,  ..., 2457, 2458, 2459],\n"
     "         [2460, 2461, 2462,  ..., 2487, 2488, 2489],\n"
     "         ...,\n"
     "         [2610, 2611, 2612,  ..., 2637, 2638, 2639],\n"
     "         [2640, 2641, 2642,  ..., 2667, 2668, 2669],\n"
     "         [2670, 2671, 2672,  ..., 2697, 2698, 2699]],\n\n"
     "        [[2700, 2701, 2702,  ..., 2727, 2728, 2729],\n"
     "         [2730, 2731, 2732,  ..., 2757, 2758, 2759],\n"
     "         [2760, 2761, 2762,  ..., 2787, 2788, 2789],\n"
     "         ...,\n"
     "         [2910, 2911, 2912,  ..., 2937, 2938, 2939],\n"
     "         [2940, 2941, 2942,  ..., 2967, 2968, 2969],\n"
     "         [2970, 2971, 2972,  ..., 2997, 2998, 2999]]])"),
    # only the shown (summarised) values decide the format: 1/7-steps print in sci because
    # the shown zero is ignored and 0.142857 .. 199.857 spans a ratio over 1000
    ("summarised_rows_only", np.arange(1400, dtype=np.float32).reshape(200, 7) / np.float32(7),
     None,
     "tensor([[0.0000e+00, 1.4286e-01, 2.8571e-01,  ..., 5.7143e-01, 7.1429e-01,\n"
     "         8.5714e-01],\n"
     "        [1.0000e+00, 1.1429e+00, 1.2857e+00,  ..., 1.5714e+00, 1.7143e+00,\n"
     "         1.8571e+00],\n"
     "        [2.0000e+00, 2.1429e+00, 2.2857e+00,  ..., 2.5714e+00, 2.7143e+00,\n"
     "         2.8571e+00],\n"
     "        ...,\n"
     "        [1.9700e+02, 1.9714e+02, 1.9729e+02,  ..., 1.9757e+02, 1.9771e+02,\n"
     "         1.9786e+02],\n"
     "        [1.9800e+02, 1.9814e+02, 1.9829e+02,  ..., 1.9857e+02, 1.9871e+02,\n"
     "         1.9886e+02],\n"
     "        [1.9900e+02, 1.9914e+02, 1.9929e+02,  ..., 1.9957e+02, 1.9971e+02,\n"
     "         1.9986e+02]])"),
    ("wrapped_row", np.arange(30, dtype=np.float32) * np.float32(1.5), None,
     "tensor([ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000,\n"
     "        12.0000, 13.5000, 15.0000, 16.5000, 18.0000, 19.5000, 21.0000, 22.5000,\n"
     "        24.0000, 25.5000, 27.0000, 28.5000, 30.0000, 31.5000, 33.0000, 34.5000,\n"
     "        36.0000, 37.5000, 39.0000, 40.5000, 42.0000, 43.5000])"),
    ("wrapped_row_int", np.arange(100), None,
     "tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n"
     "        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,\n"
     "        36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53,\n"
     "        54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71,\n"
     "        72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89,\n"
     "        90, 91, 92, 93, 94, 95, 96, 97, 98, 99])"),
    ("wrapped_row_in_matrix", np.arange(60, dtype=np.float32).reshape(2, 30) / np.float32(3), None,
     "tensor([[ 0.0000,  0.3333,  0.6667,  1.0000,  1.3333,  1.6667,  2.0000,  2.3333,\n"
     "          2.6667,  3.0000,  3.3333,  3.6667,  4.0000,  4.3333,  4.6667,  5.0000,\n"
     "          5.3333,  5.6667,  6.0000,  6.3333,  6.6667,  7.0000,  7.3333,  7.6667,\n"
     "          8.0000,  8.3333,  8.6667,  9.0000,  9.3333,  9.6667],\n"
     "        [10.0000, 10.3333, 10.6667, 11.0000, 11.3333, 11.6667, 12.0000, 12.3333,\n"
     "         12.6667, 13.0000, 13.3333, 13.6667, 14.0000, 14.3333, 14.6667, 15.0000,\n"
     "         15.3333, 15.6667, 16.0000, 16.3333, 16.6667, 17.0000, 17.3333, 17.6667,\n"
     "         18.0000, 18.3333, 18.6667, 19.0000, 19.3333, 19.6667]])"),
    ("four_dims", np.arange(16).reshape(2, 2, 2, 2), None,
     "tensor([[[[ 0,  1],\n          [ 2,  3]],\n\n         [[ 4,  5],\n          [ 6,  7]]],\n\n\n"
     "        [[[ 8,  9],\n          [10, 11]],\n\n         [[12, 13],\n          [14, 15]]]])"),
    ("seed_requires_grad", f32([[-0.9896, -1.8309, -1.7555, 0.5094],
                                [0.6992, -0.9861, -0.6529, 0.1136],
                                [2.2123, 2.1677, -0.7240, 0.5284]]), "leaf",
     "tensor([[-0.9896, -1.8309, -1.7555,  0.5094],\n"
     "        [ 0.6992, -0.9861, -0.6529,  0.1136],\n"
     "        [ 2.2123,  2.1677, -0.7240,  0.5284]], requires_grad=True)"),
    ("requires_grad_double", np.array([1., 2.]), "leaf",
     "tensor([1., 2.], dtype=torch.float64, requires_grad=True)"),
    ("seed_grad_fn_wraps", f32([[3.6403e-01, 5.3725e-01, 5.3259e-01, 4.3180e-01],
                                [9.8378e-01, 3.6274e-01, 2.2191e-01, 1.4446e-02],
                                [4.4716e+01, 4.1059e+01, 2.5410e-01, 4.7366e-01]]), "mul",
     "tensor([[3.6403e-01, 5.3725e-01, 5.3259e-01, 4.3180e-01],\n"
     "        [9.8378e-01, 3.6274e-01, 2.2191e-01, 1.4446e-02],\n"
     "        [4.4716e+01, 4.1059e+01, 2.5410e-01, 4.7366e-01]],\n"
     "       grad_fn=<MulBackward0>)"),
    ("seed_grad_fn_fits", f32([0.8940]), "mul", "tensor([0.8940], grad_fn=<MulBackward0>)"),
    ("grad_fn_and_dtype_wrap", np.arange(18.).reshape(3, 6) * 1.25, "mul",
     "tensor([[ 0.0000,  1.2500,  2.5000,  3.7500,  5.0000,  6.2500],\n"
     "        [ 7.5000,  8.7500, 10.0000, 11.2500, 12.5000, 13.7500],\n"
     "        [15.0000, 16.2500, 17.5000, 18.7500, 20.0000, 21.2500]],\n"
     "       dtype=torch.float64, grad_fn=<MulBackward0>)"),
]

# (print options, numpy array, torch's repr under those options)
EXPECTED_WITH_OPTIONS = [
    (dict(precision=2), f32([1.12345, -2.5]), "tensor([ 1.12, -2.50])"),
    (dict(precision=0), f32([1.6, -2.5]), "tensor([ 2, -2])"),
    (dict(precision=6), np.array([1 / 3, 2 / 3]), "tensor([0.333333, 0.666667], dtype=torch.float64)"),
    (dict(sci_mode=False), f32([1e-5, 1.]), "tensor([0.0000, 1.0000])"),
    (dict(sci_mode=True), f32([1.5, 2.]), "tensor([1.5000e+00, 2.0000e+00])"),
    # without a finite nonzero value torch never consults sci_mode
    (dict(sci_mode=True), f32([0., 0.]), "tensor([0., 0.])"),
    (dict(threshold=5), np.arange(10), "tensor([0, 1, 2,  ..., 7, 8, 9])"),
    (dict(threshold=5, edgeitems=1), np.arange(12.).reshape(3, 4),
     "tensor([[ 0.,  ...,  3.],\n        ...,\n        [ 8.,  ..., 11.]], dtype=torch.float64)"),
    (dict(edgeitems=0), np.arange(4.), "tensor([0., 1., 2., 3.], size=(4,), dtype=torch.float64)"),
    (dict(edgeitems=0, threshold=3), np.arange(6).reshape(2, 3), "tensor([...], size=(2, 3))"),
    (dict(threshold=0), np.array(5.), "tensor(5., dtype=torch.float64)"),
    (dict(linewidth=40), np.arange(20.),
     "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,\n         6.,  7.,  8.,  9., 10., 11.,\n"
     "        12., 13., 14., 15., 16., 17.,\n        18., 19.], dtype=torch.float64)"),
    (dict(linewidth=40), np.arange(12.).reshape(2, 6) * 1000.5,
     "tensor([[    0.0000,  1000.5000,\n          2001.0000,  3001.5000,\n"
     "          4002.0000,  5002.5000],\n        [ 6003.0000,  7003.5000,\n"
     "          8004.0000,  9004.5000,\n         10005.0000, 11005.5000]],\n"
     "       dtype=torch.float64)"),
    (dict(profile="short"), np.arange(2000) * 3, "tensor([   0,    3,  ..., 5994, 5997])"),
    (dict(profile="short"), f32([1.23456, 7.5]), "tensor([1.23, 7.50])"),
]


@pytest.mark.parametrize("name, array, grad, expected", EXPECTED, ids=[c[0] for c in EXPECTED])
def test_repr_matches_torch_output(name, array, grad, expected):
    t = make(array, grad)
    assert repr(t) == expected
    assert str(t) == expected


@pytest.mark.parametrize("options, array, expected", EXPECTED_WITH_OPTIONS,
                         ids=[str(c[0]) for c in EXPECTED_WITH_OPTIONS])
def test_repr_under_print_options(options, array, expected):
    printing.set_printoptions(**options)
    assert repr(make(array)) == expected


def test_full_profile_prints_every_element():
    printing.set_printoptions(profile="full")
    text = repr(make(np.arange(1100) % 7))
    assert "..." not in text
    assert text.count("\n") == 45  # 1100 one-digit values, 24 to a line
    assert text.endswith("3, 4, 5, 6, 0])")


def test_default_dtype_float64_shows_float32():
    graphc.set_default_dtype(graphc.float64)
    assert repr(make(np.array([1., 2.5]))) == "tensor([1.0000, 2.5000])"
    assert repr(make(f32([1., 2.5]))) == "tensor([1.0000, 2.5000], dtype=torch.float32)"
    assert repr(make(np.zeros(0, np.float32))) == "tensor([], dtype=torch.float32)"
    assert repr(make(np.zeros(0))) == "tensor([])"


def test_get_printoptions_defaults_and_profiles():
    assert printing.get_printoptions() == dict(
        precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None)
    printing.set_printoptions(profile="full", precision=6)
    assert printing.get_printoptions() == dict(
        precision=6, threshold=inf, edgeitems=3, linewidth=80, sci_mode=None)
    printing.set_printoptions(profile="short")
    assert printing.get_printoptions() == dict(
        precision=2, threshold=1000, edgeitems=2, linewidth=80, sci_mode=None)


def test_set_printoptions_resets_sci_mode_when_left_out():
    printing.set_printoptions(sci_mode=True)
    assert printing.get_printoptions()["sci_mode"] is True
    printing.set_printoptions(precision=3)
    assert printing.get_printoptions()["sci_mode"] is None
    assert printing.get_printoptions()["precision"] == 3


def test_options_round_trip_through_get_printoptions():
    printing.set_printoptions(precision=7, linewidth=50, sci_mode=False)
    saved = printing.get_printoptions()
    printing.set_printoptions(profile="default")
    printing.set_printoptions(**saved)
    assert printing.get_printoptions() == saved


def test_grad_fn_name_method_is_used_when_present():
    class CppFunction:
        def name(self):
            return "torch::autograd::AddBackward0"

    t = make(f32([1.]), "leaf")
    t._grad_fn = CppFunction()
    assert repr(t) == "tensor([1.], grad_fn=<AddBackward0>)"


def test_tensor_subclass_uses_its_class_name():
    class MyTensor(graphc.Tensor):
        pass

    t = make(f32([1., 2.]))
    t.__class__ = MyTensor
    assert repr(t) == "MyTensor([1., 2.])"


def test_tensor_contents_override():
    t = make(f32([1., 2.]), "leaf")
    assert printing.format_tensor(t, tensor_contents="[...]") == "tensor([...], requires_grad=True)"


def test_views_print_their_own_elements():
    base = np.arange(24.).reshape(4, 6)
    strided = graphc.from_numpy(base[:, 1::2].T)
    assert repr(strided) == repr(make(np.ascontiguousarray(base[:, 1::2].T)))
    assert repr(strided).startswith("tensor([[ 1.,  7., 13., 19.],")


def test_large_tensor_formats_only_the_elements_it_shows(monkeypatch):
    t = make(np.random.default_rng(0).random((1000, 1000), dtype=np.float32))
    formatted = []
    original = printing._ElementFormat.__call__
    monkeypatch.setattr(printing._ElementFormat, "__call__",
                        lambda self, value: formatted.append(value) or original(self, value))
    text = repr(t)
    assert text.count("...") == 7  # six shown rows with a gap, and the row of gaps
    assert len(formatted) == 36  # the 6 x 6 corners, not a million elements


# ------------------------------------------------------------------ storages

STORAGES = [
    (f32([0.1, 1e-5, nan, -2.5]),
     " 0.10000000149011612\n 9.999999747378752e-06\n nan\n -2.5\n"
     "[torch.storage.TypedStorage(dtype=torch.float32, device=cpu) of size 4]"),
    (np.array([0.1, 1e-5], np.float16),
     " 0.0999755859375\n 1.0013580322265625e-05\n"
     "[torch.storage.TypedStorage(dtype=torch.float16, device=cpu) of size 2]"),
    (np.array([True, False]),
     " True\n False\n[torch.storage.TypedStorage(dtype=torch.bool, device=cpu) of size 2]"),
    (np.array([1, 2], np.int32),
     " 1\n 2\n[torch.storage.TypedStorage(dtype=torch.int32, device=cpu) of size 2]"),
    (f32([]), " \n[torch.storage.TypedStorage(dtype=torch.float32, device=cpu) of size 0]"),
    (np.arange(6, dtype=np.float32),
     " 0.0\n 1.0\n 2.0\n 3.0\n 4.0\n 5.0\n"
     "[torch.storage.TypedStorage(dtype=torch.float32, device=cpu) of size 6]"),
]


@pytest.mark.parametrize("array, expected", STORAGES)
def test_storage_printing(array, expected):
    storage = make(array).storage()
    assert str(storage) == expected
    assert repr(storage) == expected


def test_untyped_storage_printing():
    storage = make(np.array([1, 2], np.int16)).untyped_storage()
    assert str(storage) == " 1\n 0\n 2\n 0\n[torch.storage.UntypedStorage(device=cpu) of size 4]"


# ------------------------------------------------------------------ against torch itself


def _torch_tensor(torch, array, grad=None):
    t = torch.from_numpy(np.array(array))
    if grad is not None:
        t.requires_grad_(True)
    if grad == "mul":
        t = t * 1
    return t


def _torch_repr(torch, array, grads, options=None):
    """What torch prints for `array` (as a leaf or a non-leaf where grads says so) under
    `options` (print options, and "default" for the default dtype)."""
    options = dict(options or {})
    default = options.pop("default", None)
    previous_default = torch.get_default_dtype()
    torch.set_printoptions(**options)
    if default:
        torch.set_default_dtype(getattr(torch, default))
    try:
        return [repr(_torch_tensor(torch, array, grad)) for grad in grads]
    finally:
        torch.set_printoptions(profile="default")
        torch.set_default_dtype(previous_default)


def _torch_storage_str(torch, array):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(torch.from_numpy(np.array(array)).storage())


def test_expected_strings_are_torchs():
    for name, array, grad, expected in EXPECTED:
        oracle.assert_same_as_torch(name, [expected],
                                    lambda torch: _torch_repr(torch, array, [grad]))
    for index, (options, array, expected) in enumerate(EXPECTED_WITH_OPTIONS):
        oracle.assert_same_as_torch(f"with options {index}", [expected],
                                    lambda torch: _torch_repr(torch, array, [None], options))
    for index, (array, expected) in enumerate(STORAGES):
        oracle.assert_same_as_torch(f"storage {index}", expected,
                                    lambda torch: _torch_storage_str(torch, array))


def _random_arrays(rng, dtype):
    """Arrays of many shapes and magnitudes (with nan/inf and integer-valued variants)."""
    shapes = [(), (0,), (0, 3), (1,), (5,), (3, 4), (2, 3, 4), (2, 1, 3, 2), (40,), (1001,),
              (30, 40), (5, 6, 50), (7, 300), (2, 2, 2, 2, 2)]
    for shape in shapes:
        if dtype == np.bool_:
            yield rng.random(shape) > 0.5
            continue
        if np.issubdtype(dtype, np.integer):
            info = np.iinfo(dtype)
            for bound in (10, 1000, 10 ** 12):
                yield np.array(rng.integers(max(info.min, -bound), min(info.max, bound), shape),
                               dtype=dtype)
            continue
        for scale in (1, 1e-5, 1e9, 100, 0.5):
            with np.errstate(over="ignore"):  # float16 overflows to inf, which is wanted
                values = np.array(rng.standard_normal(shape) * scale).astype(dtype)
            yield values
            if values.size > 2:
                yield np.round(values)
                special = values.reshape(-1).copy()
                special[0], special[-1] = np.nan, -np.inf
                yield special.reshape(shape)


DTYPES = [np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8, np.uint8,
          np.bool_]
LAYOUT_OPTIONS = [{}, dict(edgeitems=1, threshold=50), dict(linewidth=37), dict(profile="short")]
FLOAT_OPTIONS = [dict(precision=2), dict(sci_mode=True), dict(sci_mode=False)]
RANDOM_CASES = [(dtype, options) for dtype in DTYPES for options in LAYOUT_OPTIONS] + [
    (dtype, options) for dtype in (np.float32, np.float64, np.float16) for options in FLOAT_OPTIONS]


@pytest.mark.parametrize("dtype, options", RANDOM_CASES,
                         ids=[f"{np.dtype(d).name}-{o}" for d, o in RANDOM_CASES])
def test_random_tensors_match_torch(dtype, options):
    rng = np.random.default_rng(1234)
    printing.set_printoptions(**options)
    for index, array in enumerate(_random_arrays(rng, dtype)):
        grads = [None, "leaf", "mul"] if array.dtype.kind == "f" else [None]
        oracle.assert_same_as_torch(f"array {index} {array.shape}",
                                    [repr(make(array, grad)) for grad in grads],
                                    lambda torch: _torch_repr(torch, array, grads, options))


SPECIAL_VALUES = [
    np.array([-0., 1.]), np.array([0., -0.]), np.array([-0., 0.5]), np.array([nan]),
    np.array([nan, inf, -inf]), np.array([1e300, -1e-300, 3.]), np.array([9.99996, 1.]),
    np.array([99999.5, 0.5]), np.array([1e8, 1.]), np.array([1.1e8, 2.]), np.array([1e-4, 1e-3]),
    np.array([9e-5, 0.1]), np.array([-5., 0., nan]), np.array([1.5, -inf]),
    np.array([65504., 6e-8, -1.], np.float16), np.array([np.iinfo(np.int64).min, 5]),
    np.array(-7, np.int8), np.array(nan), np.array(-inf), np.arange(100.).reshape(10, 10) * 1e-3,
]


@pytest.mark.parametrize("default", ["float32", "float64"])
@pytest.mark.parametrize("options", [{}, dict(precision=0), dict(precision=8), dict(edgeitems=0),
                                     dict(threshold=0), dict(linewidth=1),
                                     dict(threshold=10, edgeitems=0), dict(profile="full")],
                         ids=str)
def test_special_values_match_torch(options, default):
    printing.set_printoptions(**options)
    graphc.set_default_dtype(getattr(graphc, default))
    with np.errstate(over="ignore"):
        as_float32 = [np.array(a, np.float32) for a in SPECIAL_VALUES[:14]]
    for index, array in enumerate(SPECIAL_VALUES + as_float32):
        grads = [None, "leaf", "mul"] if array.dtype.kind == "f" else [None]
        oracle.assert_same_as_torch(f"array {index}", [repr(make(array, grad)) for grad in grads],
                                    lambda torch: _torch_repr(torch, array, grads,
                                                              dict(options, default=default)))
