"""Indexing: __getitem__/__setitem__ and the gather/scatter family, against numpy and values
checked with PyTorch (the seed's outputs are real PyTorch outputs)."""
import warnings

import numpy as np
import pytest

import graphc as torch
import oracle


def arange(*shape, dtype=torch.int64):
    n = int(np.prod(shape)) if shape else 1
    return torch.arange(n).to(dtype).view(*shape)


def np_arange(*shape):
    return np.arange(int(np.prod(shape))).reshape(shape)


def shares_memory(a, b):
    return np.shares_memory(a.numpy(), b.numpy())


# ================================================================== basic indexing: views

BASIC_KEYS = [
    0, -1, 2, (1, 2), (1, 2, 3), (slice(None), 1), slice(1, None), slice(None, None, 2),
    (Ellipsis, 0), (None, 0), (0, None, slice(1, 3)), (Ellipsis, None), Ellipsis, None,
    (slice(0, 2), Ellipsis, 1), (slice(-10, 2), slice(5, 10)), (slice(2, 1),), (-3, -4, -5),
    (slice(None), slice(None, None, 3), None, slice(1, 4, 2)),
]


@pytest.mark.parametrize("key", BASIC_KEYS, ids=repr)
def test_basic_key_matches_numpy_and_is_a_view(key):
    x = arange(3, 4, 5)
    result = x[key]
    expected = np_arange(3, 4, 5)[key]
    assert result.shape == expected.shape
    assert result.tolist() == np.asarray(expected).tolist()
    if result.numel():
        assert shares_memory(result, x)
    x.zero_()
    assert result._version == x._version == 1  # views share the version counter


def test_plain_int_and_slice_views_write_through():
    x = torch.zeros(3, 4)
    row, column = x[1], x[:, 2]
    x[1, 2] = 5.0
    assert row.tolist() == [0.0, 0.0, 5.0, 0.0]
    assert column.tolist() == [0.0, 5.0, 0.0]
    row[0] = 7.0
    assert x[1, 0].item() == 7.0
    assert x._version == row._version == 2


def test_zero_dim_int_tensor_acts_as_an_int():
    x = arange(3, 3)
    assert x[torch.tensor(1)].tolist() == [3, 4, 5]
    assert shares_memory(x[torch.tensor(1)], x)
    assert x[0, torch.tensor(2, dtype=torch.int8)].item() == 2
    assert x[np.int64(2), 1].item() == 7


def test_scalar_results_are_zero_dim_views():
    x = arange(4)
    element = x[2]
    assert element.shape == () and element.item() == 2
    x[2] = 9
    assert element.item() == 9


def test_slices_with_tensor_and_numpy_bounds():
    x = arange(9)
    assert x[torch.tensor(2):torch.tensor(5)].tolist() == [2, 3, 4]
    assert x[::torch.tensor(2)].tolist() == [0, 2, 4, 6, 8]
    assert x[np.int64(6):].tolist() == [6, 7, 8]


def test_basic_indexing_of_zero_dim_tensors():
    s = torch.tensor(5.0)
    assert s[...].shape == () and s[None].shape == (1,)
    assert s[True].tolist() == [5.0] and s[False].shape == (0,)


def test_getitem_returns_a_view_even_for_a_full_key():
    x = arange(2, 3)
    alias = x[...]
    assert alias is not x and shares_memory(alias, x)


# ================================================================== advanced indexing

ADVANCED_KEYS = [
    [0, 2], [[0, 1], [1, 2]], ([0, 2],), ([1, 2], [0, 3]), (slice(None), [0, 3]),
    (slice(None), [3, 0], [1, 1]), ([0, 1], slice(None), [0, 1]), ([[0], [2]], [1, 2, 3]),
    (Ellipsis, [0, 4]), ([2, 0], Ellipsis, [1]), ([-1, -3], -1), (slice(1, None), [0, 1]),
    (None, [0, 1]), ([0, 1], None, slice(None), [0, 1]), ([],), ([0, 1], [[0], [1], [2]]),
]


def _numpy_key(key):
    def convert(entry):
        return np.array(entry, dtype=np.int64) if isinstance(entry, list) else entry
    return tuple(convert(k) for k in key) if isinstance(key, tuple) else convert(key)


@pytest.mark.parametrize("key", ADVANCED_KEYS, ids=repr)
def test_advanced_key_matches_numpy_and_copies(key):
    x = arange(3, 4, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = x[key]
    numpy_key = _numpy_key(key)
    if isinstance(key, list) and key and isinstance(key[0], list):
        numpy_key = tuple(np.array(k) for k in key)  # torch reads a nested list as a tuple
    expected = np_arange(3, 4, 5)[numpy_key]
    assert result.shape == expected.shape
    assert result.tolist() == expected.tolist()
    assert result.dtype is torch.int64
    if result.numel():
        assert not shares_memory(result, x)


@pytest.mark.parametrize("index_dtype", [torch.int64, torch.int32])
def test_index_tensors(index_dtype):
    x = arange(4, 3)
    index = torch.tensor([[3, 0], [1, 1]], dtype=index_dtype)
    assert x[index].tolist() == np_arange(4, 3)[[[3, 0], [1, 1]]].tolist()
    assert x[:, torch.tensor([2, 0], dtype=index_dtype)].tolist() == [[2, 0], [5, 3], [8, 6],
                                                                      [11, 9]]


def test_integers_are_selected_before_advanced_indices():
    # numpy gives shape (2, 4) here; torch applies the int first: (4, 2)
    x = arange(3, 4, 5)
    result = x[0, :, [0, 1]]
    assert result.shape == (4, 2)
    assert result.tolist() == np_arange(3, 4, 5)[0][:, [0, 1]].tolist()
    assert x[[0, 1], 0, [0, 1]].tolist() == [0, 21]


def test_separated_advanced_indices_go_first():
    x = arange(3, 4, 5)
    assert x[[0, 1], :, [0, 1]].shape == (2, 4)
    assert x[[0, 1], None, [0, 1]].shape == (2, 1, 5)
    assert x[:, [0, 1], [0, 1]].shape == (3, 2)
    assert x[None, [1, 0]].shape == (1, 2, 4, 5)


def test_boolean_masks():
    x = arange(3, 4)
    values = np_arange(3, 4)
    mask = x > 5
    assert x[mask].tolist() == values[values > 5].tolist()
    rows = torch.tensor([True, False, True])
    assert x[rows].tolist() == values[[0, 2]].tolist()
    assert x[:, torch.tensor([False, True, True, False])].tolist() == values[:, 1:3].tolist()
    assert x[[True, False, True]].tolist() == values[[0, 2]].tolist()
    assert x[rows, [0, 1]].tolist() == [0, 9]


def test_mask_covers_its_dims_then_the_pointer_moves_on():
    x = arange(3, 4, 5)
    values = np_arange(3, 4, 5)
    mask = np.zeros((3, 4), dtype=bool)
    mask[0, 1] = mask[2, 3] = True
    assert x[torch.tensor(mask), 0].tolist() == values[mask][:, 0].tolist()
    assert x[torch.tensor(mask), None, 1].shape == (2, 1)


def test_uint8_masks_are_deprecated_but_work():
    x = arange(3)
    with pytest.warns(UserWarning, match="uint8 is now deprecated"):
        result = x[torch.tensor([1, 0, 1], dtype=torch.uint8)]
    assert result.tolist() == [0, 2]


def test_python_bools_add_a_dimension():
    x = arange(2, 2)
    assert x[True].shape == (1, 2, 2) and x[False].shape == (0, 2, 2)
    assert x[True, 1].tolist() == [[2, 3]]
    assert x[:, [0, 1], True].shape == (2, 2)  # the new dim is indexed along with [0, 1]
    assert x[torch.tensor(True)].shape == (1, 2, 2)


def test_lists_of_floats_are_truncated_and_empty_lists_are_long():
    x = arange(3, 2)
    assert x[[1.5]].tolist() == [[2, 3]]
    assert x[[]].shape == (0, 2)


def test_nested_list_is_read_as_a_tuple_with_a_warning():
    x = arange(3, 3)
    with pytest.warns(UserWarning, match="non-tuple sequence"):
        result = x[[[0, 1], [1, 2]]]
    assert result.tolist() == [1, 5]


def test_numpy_arrays_and_ranges_index_like_tensors():
    x = arange(3, 3)
    assert x[np.array([[0, 1], [1, 2]])].shape == (2, 2, 3)
    assert x[range(2)].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert x[np.array([True, False, True])].tolist() == [[0, 1, 2], [6, 7, 8]]


def test_empty_results_do_not_check_indices():
    empty = torch.zeros(0, 3)
    assert empty[:, [5]].shape == (0, 1)
    with pytest.raises(IndexError, match="index is out of bounds for dimension with size 0"):
        empty[[0]]


# ================================================================== the seed's examples


def test_seed_advanced_indexing():
    x = torch.arange(0, 27).view(3, 3, 3)
    assert x[[1, 2], [1, 2], [2, 0]].tolist() == [14, 24]
    assert x[[2, 1, 0], [0], [1]].tolist() == [19, 10, 1]
    assert x[[0, 2], ...].tolist() == [[[0, 1, 2], [3, 4, 5], [6, 7, 8]],
                                       [[18, 19, 20], [21, 22, 23], [24, 25, 26]]]
    assert x[:, [0, 2], :].tolist() == [[[0, 1, 2], [6, 7, 8]], [[9, 10, 11], [15, 16, 17]],
                                        [[18, 19, 20], [24, 25, 26]]]
    last = [[[0, 2], [3, 5], [6, 8]], [[9, 11], [12, 14], [15, 17]],
            [[18, 20], [21, 23], [24, 26]]]
    assert x[..., [0, 2]].tolist() == last
    # two Ellipses: torch lets each skip the unindexed dims; the result is x[..., [0, 2]]
    assert x[..., [0, 2], ...].tolist() == last


def test_two_ellipses_around_an_int():
    x = torch.arange(0, 27).view(3, 3, 3)
    assert x[..., 0, ...].tolist() == np_arange(3, 3, 3)[..., 0].tolist()
    assert x[..., None, ...].shape == (3, 3, 3, 1)


def test_seed_gather_and_scatter_diagonals():
    a = torch.arange(0, 16).float().view(4, 4)
    index = torch.LongTensor([[0, 1, 2, 3]])
    assert a.gather(0, index).tolist() == [[0.0, 5.0, 10.0, 15.0]]
    assert a.gather(1, index.t()).tolist() == [[0.0], [5.0], [10.0], [15.0]]
    index = torch.LongTensor([[3, 2, 1, 0]])
    assert a.gather(0, index).tolist() == [[12.0, 9.0, 6.0, 3.0]]
    assert a.gather(1, index.t()).tolist() == [[3.0], [6.0], [9.0], [12.0]]
    index1 = torch.LongTensor([[0, 1, 2, 3], [3, 2, 1, 0]])
    b1 = a.gather(0, index1)
    assert b1.tolist() == [[0.0, 5.0, 10.0, 15.0], [12.0, 9.0, 6.0, 3.0]]
    index2 = torch.LongTensor([[0, 1, 2, 3], [3, 2, 1, 0]]).t()
    b2 = a.gather(1, index2)
    assert b2.tolist() == [[0.0, 3.0], [5.0, 6.0], [10.0, 9.0], [15.0, 12.0]]
    c = torch.zeros(4, 4)
    diagonals = [[0.0, 0.0, 0.0, 3.0], [0.0, 5.0, 6.0, 0.0], [0.0, 9.0, 10.0, 0.0],
                 [12.0, 0.0, 0.0, 15.0]]
    assert c.scatter(0, index1, b1).tolist() == diagonals
    assert c.scatter(1, index2, b2).tolist() == diagonals
    assert c.tolist() == [[0.0] * 4] * 4


def test_seed_masked_select_equivalence():
    a = torch.tensor([[0.5, 2.0], [3.0, -1.0]])
    assert a[a > 1].tolist() == a.masked_select(a > 1).tolist() == [2.0, 3.0]
    assert a[torch.LongTensor([0, 1])].tolist() == a.tolist()


# ================================================================== getitem errors


@pytest.mark.parametrize("key, error, message", [
    (5, IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    (-4, IndexError, "index -4 is out of bounds for dimension 0 with size 3"),
    ((0, 5), IndexError, "index 5 is out of bounds for dimension 1 with size 4"),
    ((Ellipsis, 7), IndexError, "index 7 is out of bounds for dimension 1 with size 4"),
    ((None, 5), IndexError, "index 5 is out of bounds for dimension 1 with size 3"),
    ((0, 0, 0), IndexError, "too many indices for tensor of dimension 2"),
    (([0], [0], [0]), IndexError, "too many indices for tensor of dimension 2"),
    ([5], IndexError, "index 5 is out of bounds for dimension 0 with size 3"),
    ((slice(None), [4]), IndexError, "index 4 is out of bounds for dimension 0 with size 4"),
    (([0], [4]), IndexError, "index 4 is out of bounds for dimension 1 with size 4"),
    (slice(None, None, -1), ValueError, "step must be greater than zero"),
    (slice(None, None, 0), ValueError, "slice step cannot be zero"),
    (1.5, IndexError, r"only integers, slices \(`:`\), ellipsis \(`...`\), None and long or "
                      r"byte Variables are valid indices \(got float\)"),
    (np.True_, IndexError, r"\(got numpy.bool\)"),
    ("a", TypeError, "new\\(\\): invalid data type 'str'"),
    (torch.tensor([1.0]), IndexError, "tensors used as indices must be long, int, byte or bool"),
    (torch.tensor([1], dtype=torch.int16), IndexError, "tensors used as indices must be long"),
    (torch.tensor([True, False]), IndexError,
     r"The shape of the mask \[2\] at index 0 does not match the shape of the indexed tensor "
     r"\[3, 4\] at index 0"),
    ((torch.tensor([0, 1]), torch.tensor([0, 1, 2])), IndexError,
     r"shape mismatch: indexing tensors could not be broadcast together with shapes \[2\], \[3\]"),
    (slice(1.5, None), TypeError, "slice indices must be integers"),
], ids=repr)
def test_getitem_errors(key, error, message):
    with pytest.raises(error, match=message):
        arange(3, 4)[key]


def test_zero_dim_getitem_errors():
    s = torch.tensor(5.0)
    with pytest.raises(IndexError, match="invalid index of a 0-dim tensor"):
        s[0]
    with pytest.raises(IndexError, match="index 1 is out of bounds for dimension 0 with size 0"):
        s[1]
    with pytest.raises(IndexError, match=r"slice\(\) cannot be applied to a 0-dim tensor"):
        s[:]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 0"):
        s[0,]
    with pytest.raises(IndexError, match="too many indices for tensor of dimension 0"):
        s[torch.tensor([0])]


def test_out_of_range_reports_the_first_bad_element():
    x = arange(2, 2)
    with pytest.raises(IndexError, match="index -3 is out of bounds for dimension 1 with size 2"):
        x[[0, -2], [-3, 0]]


# ================================================================== __setitem__


def test_setitem_broadcasts_scalars_and_tensors():
    x = torch.zeros(3, 4)
    x[0] = 1.5
    x[:, 1] = torch.tensor([10.0, 20.0, 30.0])
    x[2] = torch.tensor([[[1.0, 2.0, 3.0, 4.0]]])  # leading 1s are dropped
    x[1:, 2:] = torch.tensor([7.0, 8.0])
    expected = np.zeros((3, 4))
    expected[0] = 1.5
    expected[:, 1] = [10.0, 20.0, 30.0]
    expected[2] = [1.0, 2.0, 3.0, 4.0]
    expected[1:, 2:] = [7.0, 8.0]
    assert x.tolist() == expected.tolist()


def test_setitem_casts_to_the_target_dtype():
    x = torch.zeros(3, dtype=torch.int64)
    x[0] = 2.7
    x[1:] = torch.tensor([-1.9, 3.5])
    assert x.tolist() == [2, -1, 3]
    flags = torch.zeros(3, dtype=torch.bool)
    flags[0] = 5
    assert flags.tolist() == [True, False, False]
    small = torch.zeros(2, dtype=torch.uint8)
    small[0] = -1
    assert small.tolist() == [255, 0]


@pytest.mark.parametrize("dtype, value, name", [
    (torch.uint8, 300, "uint8_t"), (torch.uint8, -256, "uint8_t"), (torch.int8, 128, "int8_t"),
    (torch.int32, 2.0 ** 31, "int"), (torch.int64, float("nan"), "int64_t"),
    (torch.float32, 1e300, "float"),
])
def test_setitem_refuses_numbers_that_overflow(dtype, value, name):
    x = torch.zeros(2, dtype=dtype)
    with pytest.raises(RuntimeError, match=f"value cannot be converted to type {name} without "
                                           f"overflow"):
        x[0] = value
    with pytest.raises(RuntimeError, match="without overflow"):
        x[[0]] = value


def test_setitem_errors():
    x = torch.zeros(3, 4)
    with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(4\) must match the "
                                           r"existing size \(3\) at non-singleton dimension 0"):
        x[0] = torch.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="the number of sizes provided"):
        x[:, 0] = torch.tensor([[1.0], [2.0], [3.0]])
    with pytest.raises(RuntimeError, match=r"shape mismatch: value tensor of shape \[3\] cannot be "
                                           r"broadcast to indexing result of shape \[2, 4\]"):
        x[[0, 2]] = torch.tensor([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match="Index put requires the source and destination dtypes "
                                           "match, got Float for the destination and Long"):
        x[[0, 2]] = torch.tensor([1, 2, 3, 4])
    with pytest.raises(TypeError, match="can't assign a str to a torch.FloatTensor"):
        x[0] = "a"
    with pytest.raises(TypeError, match="can't assign a numpy.float32 to a torch.FloatTensor"):
        x[0] = np.float32(1.0)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 0 with size 3"):
        x[5] = 1.0
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1] = 1.0


def test_setitem_with_index_tensors_and_masks():
    x = torch.zeros(3, 4)
    x[[0, 2]] = torch.tensor([1.0, 2.0, 3.0, 4.0])
    x[torch.tensor([1]), torch.tensor([3])] = 9.0
    expected = np.zeros((3, 4))
    expected[[0, 2]] = [1.0, 2.0, 3.0, 4.0]
    expected[1, 3] = 9.0
    assert x.tolist() == expected.tolist()
    x[x > 2] = -1.0
    expected[expected > 2] = -1.0
    assert x.tolist() == expected.tolist()
    x[torch.tensor([True, False, True])] = torch.tensor([5.0, 6.0, 7.0, 8.0])
    expected[[0, 2]] = [5.0, 6.0, 7.0, 8.0]
    assert x.tolist() == expected.tolist()


def test_mask_assignment_of_one_value_ignores_its_dtype():
    # torch routes a one-element value with a single mask through masked_fill_
    x = torch.zeros(3)
    x[torch.tensor([True, False, True])] = torch.tensor(5)
    assert x.tolist() == [5.0, 0.0, 5.0]
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks, but got "
                                           "mask with dtype unsigned char"):
        x[torch.tensor([1, 0, 1], dtype=torch.uint8)] = 1.0


def test_setitem_duplicate_indices_last_write_wins():
    x = torch.zeros(3)
    x[[0, 0, 0]] = torch.tensor([1.0, 2.0, 3.0])
    assert x.tolist() == [3.0, 0.0, 0.0]


def test_setitem_writes_through_views_and_bumps_the_version_once():
    x = torch.zeros(3, 4)
    column = x[:, 1]
    version = x._version
    x[[0, 2], 1] = 5.0
    assert column.tolist() == [5.0, 0.0, 5.0]
    assert x._version == version + 1
    x.t()[0] = torch.tensor([1.0, 2.0, 3.0])
    assert x[:, 0].tolist() == [1.0, 2.0, 3.0]


def test_setitem_false_true_none_and_ellipsis():
    x = torch.zeros(2, 2)
    version = x._version
    x[False] = 1.0
    assert x.tolist() == [[0.0, 0.0], [0.0, 0.0]] and x._version == version
    x[True] = 1.0
    assert x.tolist() == [[1.0, 1.0], [1.0, 1.0]]
    x[None] = torch.tensor([2.0, 3.0])
    assert x.tolist() == [[2.0, 3.0], [2.0, 3.0]]
    x[...] = 4
    assert x.tolist() == [[4.0, 4.0], [4.0, 4.0]]


def test_setitem_refuses_partially_overlapping_sources():
    x = torch.arange(5.0)
    with pytest.raises(RuntimeError, match="some elements of the input tensor and the written-to "
                                           "tensor refer to a single memory location"):
        x[1:] = x[:-1]
    x[:] = x  # the same memory is fine
    assert x.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_setitem_on_expanded_tensors():
    row = torch.zeros(3).expand(2, 3)
    row[0] = 1.0  # one row of an expanded tensor has no aliasing elements
    assert row.tolist() == [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        torch.zeros(1).expand(3)[...] = 2.0


# ================================================================== index_put_


def test_index_put_accumulates_duplicates():
    x = torch.zeros(2, 2)
    x.index_put_((torch.tensor([0, 0]), torch.tensor([1, 1])), torch.tensor([1.0, 2.0]),
                 accumulate=True)
    assert x.tolist() == [[0.0, 3.0], [0.0, 0.0]]
    x.index_put_((torch.tensor([0, 0]), torch.tensor([1, 1])), torch.tensor([1.0, 2.0]))
    assert x.tolist() == [[0.0, 2.0], [0.0, 0.0]]
    rows = torch.zeros(2, 2).index_put_([torch.tensor([0, 0])], torch.tensor([1.0, 2.0]),
                                        accumulate=True)
    assert rows.tolist() == [[2.0, 4.0], [0.0, 0.0]]


def test_index_put_out_of_place_and_errors():
    x = torch.zeros(3)
    result = torch.index_put(x, (torch.tensor([0, 2]),), torch.tensor(3.0))
    assert result.tolist() == [3.0, 0.0, 3.0] and x.tolist() == [0.0, 0.0, 0.0]
    reference = np.zeros(3)
    np.add.at(reference, [1, 1, 2], [1.0, 2.0, 4.0])
    summed = x.index_put((torch.tensor([1, 1, 2]),), torch.tensor([1.0, 2.0, 4.0]), True)
    assert summed.tolist() == reference.tolist()
    with pytest.raises(IndexError, match=r"too many indices for tensor of dimension 1 \(got 2\)"):
        x.index_put_((torch.tensor([0]), torch.tensor([0])), torch.tensor(1.0))
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
        x.index_put_((torch.tensor([3]),), torch.tensor(1.0), accumulate=True)
    with pytest.raises(TypeError, match="expected Tensor as element 0 in argument 0, but got int"):
        x.index_put_((0,), torch.tensor(1.0))


# ================================================================== selection functions


def test_index_select():
    x = arange(3, 4, dtype=torch.float32)
    assert x.index_select(1, torch.tensor([3, 0, 0])).tolist() == \
        np_arange(3, 4)[:, [3, 0, 0]].tolist()
    assert torch.index_select(x, 0, torch.tensor([2], dtype=torch.int32)).tolist() == \
        [[8.0, 9.0, 10.0, 11.0]]
    assert x.index_select(-1, torch.tensor(2)).shape == (3, 1)
    assert torch.tensor(3.0).index_select(0, torch.tensor([0])).shape == ()


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.index_select(1, torch.tensor([3, 0], dtype=torch.int16)), RuntimeError,
     "index_select\\(\\): Expected dtype int32 or int64 for index"),
    (lambda x: x.index_select(1, torch.tensor([[0]])), IndexError,
     "index_select\\(\\): Index is supposed to be a vector"),
    (lambda x: x.index_select(1, torch.tensor([4])), RuntimeError,
     "INDICES element is out of DATA bounds, id=4 axis_dim=4"),
    (lambda x: x.index_select(0, torch.tensor([-1])), IndexError, "index out of range in self"),
    (lambda x: x.index_select(2, torch.tensor([0])), IndexError, "Dimension out of range"),
    (lambda x: x.index_select(0, [0]), TypeError,
     "index_select\\(\\): argument 'index' \\(position 2\\) must be Tensor, not list"),
])
def test_index_select_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(arange(3, 4, dtype=torch.float32))


def test_masked_select_broadcasts():
    x = arange(3, 4, dtype=torch.float32)
    assert x.masked_select(x > 5).tolist() == [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]
    columns = torch.tensor([True, False, False, True])
    assert x.masked_select(columns).tolist() == np_arange(3, 4)[:, [0, 3]].reshape(-1).tolist()
    assert torch.tensor([1.0, 2.0]).masked_select(
        torch.tensor([[True, False], [True, True]])).tolist() == [1.0, 1.0, 2.0]
    with pytest.raises(RuntimeError, match="masked_select: expected BoolTensor for mask"):
        x.masked_select((x > 5).byte())
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of "
                                           r"tensor b \(4\) at non-singleton dimension 1"):
        x.masked_select(torch.tensor([True, False, True]))


def test_masked_fill():
    x = arange(2, 3, dtype=torch.float32)
    filled = x.masked_fill(x > 2, -1.0)
    assert filled.tolist() == [[0.0, 1.0, 2.0], [-1.0, -1.0, -1.0]]
    assert x.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert x.long().masked_fill(x > 2, 2.7).tolist() == [[0, 1, 2], [2, 2, 2]]
    assert x.masked_fill(x > 2, torch.tensor(7)).dtype is torch.float32
    broadcast = torch.tensor([1.0, 2.0]).masked_fill(torch.tensor([[True, False],
                                                                   [False, True]]), 0.0)
    assert broadcast.tolist() == [[0.0, 2.0], [1.0, 0.0]]
    version = x._version
    assert x.masked_fill_(x < 1, 9.0) is x
    assert x.tolist() == [[9.0, 1.0, 2.0], [3.0, 4.0, 5.0]] and x._version == version + 1


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.masked_fill((x > 0).long(), 1.0), RuntimeError,
     "masked_fill_ only supports boolean masks, but got mask with dtype long int"),
    (lambda x: x.masked_fill(x > 0, torch.tensor([1.0])), RuntimeError,
     r"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with 1 "
     r"dimension\(s\)"),
    (lambda x: x.masked_fill_(torch.ones(2, 2, 3, dtype=torch.bool), 0.0), RuntimeError,
     r"output with shape \[2, 3\] doesn't match the broadcast shape \[2, 2, 3\]"),
    (lambda x: x.byte().masked_fill(x > 0, 300), RuntimeError,
     "value cannot be converted to type uint8_t without overflow"),
    (lambda x: x.masked_fill([True], 1.0), TypeError, "invalid combination of arguments"),
])
def test_masked_fill_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(arange(2, 3, dtype=torch.float32))


def test_nonzero_argwhere_and_where():
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]])
    assert x.nonzero().tolist() == np.argwhere(x.numpy()).tolist()
    assert x.nonzero().dtype is torch.int64
    rows, columns = x.nonzero(as_tuple=True)
    assert rows.tolist() == [0, 1, 2] and columns.tolist() == [0, 1, 0]
    assert torch.argwhere(x).tolist() == [[0, 0], [1, 1], [2, 0]]
    assert [t.tolist() for t in torch.where(x > 1)] == [[1, 2], [1, 0]]
    assert torch.tensor(5.0).nonzero().shape == (1, 0)
    assert torch.tensor(0.0).nonzero().shape == (0, 0)
    assert [t.tolist() for t in torch.tensor(5.0).nonzero(as_tuple=True)] == [[0]]
    assert torch.tensor([float("nan"), 0.0]).nonzero().tolist() == [[0]]


# ================================================================== gather / scatter


def test_gather_matches_take_along_axis():
    rng = np.random.default_rng(0)
    values = rng.standard_normal((3, 4, 5)).astype(np.float32)
    x = torch.from_numpy(values)
    for dim in range(3):
        index = rng.integers(0, values.shape[dim], size=(3, 4, 5))
        expected = np.take_along_axis(values, index, axis=dim)
        assert np.array_equal(x.gather(dim, torch.from_numpy(index)).numpy(), expected)


def test_gather_with_a_smaller_index_and_zero_dims():
    x = arange(4, 4, dtype=torch.float32)
    assert x.gather(1, torch.tensor([[1], [0]])).tolist() == [[1.0], [4.0]]
    assert x.gather(0, torch.zeros(5, 1, dtype=torch.int64)).shape == (5, 1)
    assert x.gather(0, torch.tensor([[0, 1]], dtype=torch.int32)).tolist() == [[0.0, 5.0]]
    assert torch.tensor([5.0, 6.0]).gather(0, torch.tensor(1)).item() == 6.0
    assert x.gather(-1, torch.tensor([[3]])).tolist() == [[3.0]]


@pytest.mark.parametrize("call, error, message", [
    (lambda a: a.gather(0, torch.tensor([[4, 0, 0, 0]])), RuntimeError,
     "index 4 is out of bounds for dimension 0 with size 4"),
    (lambda a: a.gather(1, torch.tensor([[-1]])), RuntimeError,
     "index -1 is out of bounds for dimension 1 with size 4"),
    (lambda a: a.gather(0, torch.tensor([[0.0]])), RuntimeError,
     r"gather\(\): Expected dtype int32/int64 for index"),
    (lambda a: a.gather(0, torch.tensor([0, 1])), RuntimeError,
     "Index tensor must have the same number of dimensions as input tensor"),
    (lambda a: a.gather(0, torch.zeros(1, 5, dtype=torch.int64)), RuntimeError,
     r"Size does not match at dimension 1 expected index \[1, 5\] to be no larger than self "
     r"\[4, 4\] apart from dimension 0"),
    (lambda a: a.gather(2, torch.tensor([[0]])), IndexError, "Dimension out of range"),
    (lambda a: a.gather(0, [0]), TypeError, "must be Tensor, not list"),
])
def test_gather_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(torch.arange(16.0).view(4, 4))


def _numpy_scatter(target, dim, index, values, ufunc=None):
    """Reference scatter: out[index[p] along dim, p elsewhere] = values[p]."""
    out = target.copy()
    for position in np.ndindex(*index.shape):
        destination = list(position)
        destination[dim] = index[position]
        value = values[position] if np.ndim(values) else values
        if ufunc is None:
            out[tuple(destination)] = value
        else:
            out[tuple(destination)] = ufunc(out[tuple(destination)], value)
    return out


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_scatter_matches_a_reference(dim):
    rng = np.random.default_rng(1)
    target = rng.standard_normal((4, 5))
    source = rng.standard_normal((3, 4))
    index = rng.integers(0, target.shape[dim], size=(3, 4))
    x, src, idx = (torch.from_numpy(a) for a in (target, source, index))
    assert np.array_equal(x.scatter(dim, idx, src).numpy(),
                          _numpy_scatter(target, dim % 2, index, source))
    assert np.allclose(x.scatter_add(dim, idx, src).numpy(),
                       _numpy_scatter(target, dim % 2, index, source, np.add))
    assert np.array_equal(x.scatter(dim, idx, 2.5).numpy(),
                          _numpy_scatter(target, dim % 2, index, 2.5))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated (torch warns once per process)
        multiplied = x.scatter(dim, idx, src, reduce="multiply")
    assert np.allclose(multiplied.numpy(),
                       _numpy_scatter(target, dim % 2, index, source, np.multiply))


def test_scatter_forms_and_in_place():
    x = torch.zeros(3)
    assert x.scatter(0, torch.tensor([0, 0, 0]), torch.tensor([1.0, 2.0, 3.0])).tolist() == \
        [3.0, 0.0, 0.0]
    assert x.scatter(0, torch.tensor([2]), value=7.5).tolist() == [0.0, 0.0, 7.5]
    assert x.scatter(0, torch.tensor([1]), src=torch.tensor([4.0])).tolist() == [0.0, 4.0, 0.0]
    assert torch.zeros(2, dtype=torch.int64).scatter(0, torch.tensor([1]), 7.9).tolist() == [0, 7]
    assert x.scatter_(0, torch.tensor([1, 1]), 2.0, reduce="add") is x
    assert x.tolist() == [0.0, 4.0, 0.0]
    x.scatter_add_(0, torch.tensor([0, 2, 2]), torch.tensor([1.0, 2.0, 3.0]))
    assert x.tolist() == [1.0, 4.0, 5.0]
    assert torch.tensor(0.0).scatter(0, torch.tensor(0), torch.tensor(5.0)).item() == 5.0
    assert torch.zeros(2, 2).scatter(0, torch.zeros(0, 3, dtype=torch.int64), 1.0).tolist() == \
        [[0.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("call, error, message", [
    (lambda c: c.scatter(0, torch.tensor([[4]]), torch.ones(1, 1)), RuntimeError,
     "index 4 is out of bounds for dimension 0 with size 4"),
    (lambda c: c.scatter(0, torch.tensor([[0]]), torch.ones(1, 1, dtype=torch.float64)),
     RuntimeError, r"scatter\(\): Expected self.dtype to be equal to src.dtype"),
    (lambda c: c.scatter(0, torch.tensor([[0.0]]), 1.0), RuntimeError,
     r"scatter\(\): Expected dtype int32/int64 for index"),
    (lambda c: c.scatter(0, torch.tensor([0, 1]), torch.ones(2)), RuntimeError,
     "Index tensor must have the same number of dimensions as self tensor"),
    (lambda c: c.scatter(0, torch.tensor([[0]]), torch.tensor(3.0)), RuntimeError,
     "Index tensor must have the same number of dimensions as src tensor"),
    (lambda c: c.scatter(0, torch.tensor([[0, 1, 2, 3]]), torch.ones(1, 3)), RuntimeError,
     r"Expected index \[1, 4\] to be no larger than self \[4, 4\] apart from dimension 0 and to "
     r"be no larger size than src \[1, 3\]"),
    (lambda c: c.scatter(0, torch.tensor([[0]]), torch.ones(1, 1), reduce="max"), RuntimeError,
     "reduce argument must be either add or multiply."),
    (lambda c: c.scatter_add(0, torch.tensor([[-1]]), torch.ones(1, 1)), RuntimeError,
     "index -1 is out of bounds for dimension 0 with size 4"),
    (lambda c: c.scatter(0, torch.tensor([[0]])), TypeError, "invalid combination of arguments"),
])
def test_scatter_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(torch.zeros(4, 4))


@pytest.mark.parametrize("reduce, ufunc", [("sum", np.add), ("prod", np.multiply),
                                           ("amax", np.maximum), ("amin", np.minimum)])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_matches_a_reference(reduce, ufunc, include_self):
    rng = np.random.default_rng(2)
    target = rng.standard_normal((3, 4))
    source = rng.standard_normal((5, 4))
    index = rng.integers(0, 3, size=(5, 4))
    expected = target.copy()
    if not include_self:
        for position in np.ndindex(*index.shape):
            expected[index[position], position[1]] = \
                {"sum": 0.0, "prod": 1.0, "amax": -np.inf, "amin": np.inf}[reduce]
    expected = _numpy_scatter(expected, 0, index, source, ufunc)
    result = torch.from_numpy(target).scatter_reduce(0, torch.from_numpy(index),
                                                     torch.from_numpy(source), reduce,
                                                     include_self=include_self)
    assert np.allclose(result.numpy(), expected)


def test_scatter_reduce_mean_and_aliases():
    ones = torch.ones(3)
    index, source = torch.tensor([0, 0, 2]), torch.tensor([1.0, 2.0, 3.0])
    assert ones.scatter_reduce(0, index, source, "mean").tolist() == \
        pytest.approx([4.0 / 3.0, 1.0, 2.0])
    assert ones.scatter_reduce(0, index, source, "mean", include_self=False).tolist() == \
        [1.5, 1.0, 3.0]
    integers = torch.zeros(3, dtype=torch.int64)
    assert integers.scatter_reduce(0, torch.tensor([0, 0]), torch.tensor([-2, -5]), "mean",
                                   include_self=False).tolist() == [-4, 0, 0]  # rounds down
    assert ones.scatter_reduce(0, index, source, "max").tolist() == [2.0, 1.0, 3.0]
    x = torch.full((3,), 5.0)
    assert x.scatter_reduce_(0, torch.tensor([0, 0]), torch.tensor([2.0, 3.0]), "prod",
                             include_self=False) is x
    assert x.tolist() == [6.0, 5.0, 5.0]
    with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean, amax "
                                           "or amin, got foo"):
        ones.scatter_reduce(0, index, source, "foo")


# ================================================================== index_add / fill / copy


def test_index_add():
    x = torch.zeros(3, 2)
    source = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    expected = np.zeros((3, 2))
    np.add.at(expected, [0, 0, 2], 2 * source.numpy())
    assert x.index_add(0, torch.tensor([0, 0, 2]), source, alpha=2).tolist() == expected.tolist()
    columns = torch.zeros(2, 3).index_add(1, torch.tensor([2, 2], dtype=torch.int32),
                                          torch.ones(2, 2))
    assert columns.tolist() == [[0.0, 0.0, 2.0], [0.0, 0.0, 2.0]]
    assert x.index_add_(0, torch.tensor([1]), torch.ones(1, 2)) is x
    assert x.tolist() == [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    integers = torch.zeros(3, dtype=torch.int64)
    assert integers.index_add(0, torch.tensor([0]), torch.tensor([3]), alpha=1.5).tolist() == \
        [3, 0, 0]  # alpha is cast to the tensor's dtype first
    assert torch.tensor(1.0).index_add(0, torch.tensor([0]), torch.tensor(2.0)).item() == 3.0


@pytest.mark.parametrize("call, error, message", [
    (lambda: torch.zeros(3, 2).index_add(0, torch.tensor([0, 0, 3]), torch.ones(3, 2)),
     RuntimeError, "index 3 is out of bounds for dimension 0 with size 3"),
    (lambda: torch.zeros(3).index_add(0, torch.tensor([3]), torch.ones(1)), IndexError,
     "index out of range in self"),
    (lambda: torch.zeros(3).index_add(0, torch.tensor([0.0]), torch.ones(1)), RuntimeError,
     r"index_add_\(\): Expected dtype int32/int64 for index but got: Float"),
    (lambda: torch.zeros(3, 2).index_add(0, torch.tensor([0]), torch.ones(1, 2, dtype=torch.int64)),
     RuntimeError, r"index_add_\(\): self \(Float\) and source \(Long\) must have the same scalar "
                   r"type"),
    (lambda: torch.zeros(3, 2).index_add(0, torch.tensor([0, 0]), torch.ones(3, 2)),
     RuntimeError, r"index_add_\(\): Number of indices \(2\) should be equal to "
                   r"source.size\(dim\): \(3\), for dim: 0"),
    (lambda: torch.zeros(3, 2).index_add(0, torch.tensor([0]), torch.ones(1, 3)), RuntimeError,
     r"source tensor shape must match self tensor shape, excluding the specified dimension. Got "
     r"self.shape = \[3, 2\] source.shape = \[1, 3\]"),
    (lambda: torch.zeros(3).index_add(0, torch.tensor([[0]]), torch.ones(1)), IndexError,
     r"index_add_\(\): Index is supposed to be a vector"),
])
def test_index_add_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_index_fill():
    x = torch.zeros(3, 2)
    assert x.index_fill(1, torch.tensor([1]), 5).tolist() == [[0.0, 5.0]] * 3
    assert x.index_fill(1, torch.tensor([-1]), torch.tensor(2.0)).tolist() == [[0.0, 2.0]] * 3
    assert x.index_fill(0, torch.tensor(2), 1.0).tolist() == [[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]]
    assert torch.zeros(3, dtype=torch.int64).index_fill(0, torch.tensor([0]), 1.5).tolist() == \
        [1, 0, 0]
    assert x.index_fill_(0, torch.tensor([0, 2]), -1.0) is x
    assert x.tolist() == [[-1.0, -1.0], [0.0, 0.0], [-1.0, -1.0]]
    with pytest.raises(IndexError, match=r"index_fill_\(\): Expected dtype int64 for index."):
        x.index_fill(0, torch.tensor([0], dtype=torch.int32), 1.0)
    with pytest.raises(IndexError, match="index 2 is out of bounds for dimension 1 with size 2"):
        x.index_fill(1, torch.tensor([2]), 1.0)
    with pytest.raises(RuntimeError, match="index_fill_ only supports a 0-dimensional value "
                                           "tensor"):
        x.index_fill(1, torch.tensor([0]), torch.tensor([1.0]))
    with pytest.raises(RuntimeError, match="Index has to be a vector/scalar"):
        x.index_fill(1, torch.tensor([[0]]), 1.0)


def test_index_copy():
    x = torch.zeros(3, 2)
    source = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.index_copy(0, torch.tensor([2, 0]), source).tolist() == \
        [[3.0, 4.0], [0.0, 0.0], [1.0, 2.0]]
    assert x.index_copy(0, torch.tensor([1, 1]), source).tolist()[1] == [3.0, 4.0]
    assert x.index_copy_(1, torch.tensor([1]), torch.ones(3, 1)) is x
    assert x.tolist() == [[0.0, 1.0]] * 3
    assert torch.zeros(3).index_copy(0, torch.tensor(1), torch.tensor(5.0)).tolist() == \
        [0.0, 5.0, 0.0]
    with pytest.raises(RuntimeError, match=r"index_copy_\(\): Expected a long tensor for index, "
                                           r"but got Int"):
        x.index_copy(0, torch.tensor([0], dtype=torch.int32), torch.ones(1, 2))
    with pytest.raises(IndexError, match=r"index_copy_\(\): index 3 is out of bounds for "
                                         r"dimension 0 with size 3"):
        x.index_copy(0, torch.tensor([3]), torch.ones(1, 2))
    with pytest.raises(RuntimeError, match=r"Destination slice shape: 3 4 at dimension 1 and "
                                           r"source slice shape: 3 5 at dimension 0."):
        torch.zeros(3, 2, 4).index_copy(1, torch.tensor([0]), torch.ones(3, 1, 5))
    with pytest.raises(RuntimeError, match=r"self and source expected to have the same dtype, but "
                                           r"got \(self\) Float and \(source\) Long"):
        x.index_copy(0, torch.tensor([0]), torch.ones(1, 2, dtype=torch.int64))
    with pytest.raises(IndexError, match=r"Number of indices \(1\) should be equal to "
                                         r"source.size\(dim\) \(2\)"):
        x.index_copy(0, torch.tensor([0]), torch.ones(2, 2))


# ================================================================== take / put / take_along_dim


def test_take_and_put():
    x = arange(4, 4, dtype=torch.float32)
    assert x.take(torch.tensor([[0, 15], [-1, 3]])).tolist() == [[0.0, 15.0], [15.0, 3.0]]
    assert x.t().take(torch.tensor([1])).tolist() == [4.0]  # reads in the tensor's own order
    y = torch.zeros(2, 2)
    assert y.put_(torch.tensor([0, -1]), torch.tensor([1.0, 2.0])) is y
    assert y.tolist() == [[1.0, 0.0], [0.0, 2.0]]
    accumulated = torch.zeros(2, 2).put_(torch.tensor([0, 0]), torch.tensor([1.0, 2.0]),
                                         accumulate=True)
    assert accumulated.tolist() == [[3.0, 0.0], [0.0, 0.0]]
    transposed = torch.zeros(2, 3).t()
    transposed.put_(torch.tensor([1]), torch.tensor([7.0]))  # element 1 of the transposed view
    assert transposed.tolist() == [[0.0, 7.0], [0.0, 0.0], [0.0, 0.0]]
    assert torch.put(torch.zeros(3), torch.tensor([1]), torch.tensor([1.0])).tolist() == \
        [0.0, 1.0, 0.0]
    with pytest.raises(IndexError, match="out of range: tried to access index 16 on a tensor of "
                                         "16 elements."):
        x.take(torch.tensor([16]))
    with pytest.raises(RuntimeError, match=r"take\(\): Expected a long tensor for index, but got "
                                           r"Int"):
        x.take(torch.tensor([1], dtype=torch.int32))
    with pytest.raises(IndexError, match=r"take\(\): tried to take from an empty tensor"):
        torch.zeros(0).take(torch.tensor([0]))
    with pytest.raises(IndexError, match=r"put_\(\): Expected source and index to have the same "
                                         r"number of elements"):
        y.put_(torch.tensor([0, 1]), torch.tensor([1.0]))


def test_take_along_dim():
    x = arange(2, 3, dtype=torch.float32)
    assert torch.take_along_dim(x, torch.tensor([[0], [2]]), dim=1).tolist() == [[0.0], [5.0]]
    assert torch.take_along_dim(x, torch.tensor([[0, 1]]), dim=1).tolist() == \
        [[0.0, 1.0], [3.0, 4.0]]  # broadcast against the input
    assert torch.take_along_dim(x, torch.tensor([[-1]]), dim=1).tolist() == [[2.0], [5.0]]
    assert torch.take_along_dim(x, torch.tensor([0, 5])).tolist() == [0.0, 5.0]
    assert x.take_along_dim(torch.tensor([[1]]), 0).tolist() == [[3.0, 4.0, 5.0]]
    with pytest.raises(RuntimeError, match="dtype of indices should be Long but got Int"):
        torch.take_along_dim(x, torch.tensor([[0]], dtype=torch.int32), dim=1)
    with pytest.raises(RuntimeError, match="input and indices should have the same number of "
                                           "dimensions"):
        torch.take_along_dim(x, torch.tensor([0]), dim=1)


# ================================================================== in-place writes in general


@pytest.mark.parametrize("write", [
    lambda x: x.masked_fill_(x > 0, 1.0),
    lambda x: x.scatter_(0, torch.tensor([[0, 0, 0]]), 1.0),
    lambda x: x.scatter_add_(0, torch.tensor([[0, 0, 0]]), torch.ones(1, 3)),
    lambda x: x.index_add_(0, torch.tensor([0]), torch.ones(1, 3)),
    lambda x: x.index_fill_(0, torch.tensor([0]), 1.0),
    lambda x: x.index_copy_(0, torch.tensor([0]), torch.ones(1, 3)),
    lambda x: x.index_put_((torch.tensor([0]),), torch.tensor(1.0)),
    lambda x: x.put_(torch.tensor([0]), torch.tensor([1.0])),
])
def test_in_place_methods_write_through_views_and_bump_versions(write):
    base = torch.arange(12.0).view(2, 2, 3)
    view = base[1]
    version = base._version
    assert write(view) is view
    assert base._version == version + 1
    assert np.shares_memory(view.numpy(), base.numpy())
    assert base[0].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]


def test_indexing_functions_are_methods_and_namespace_functions():
    for name in ("index_select", "masked_select", "masked_fill", "nonzero", "argwhere", "gather",
                 "scatter", "scatter_add", "scatter_reduce", "index_add", "index_fill",
                 "index_copy", "take", "take_along_dim", "put", "index_put"):
        assert callable(getattr(torch, name)) and callable(getattr(torch.Tensor, name))
    for name in ("masked_fill_", "scatter_", "scatter_add_", "scatter_reduce_", "index_add_",
                 "index_fill_", "index_copy_", "index_put_", "put_"):
        assert callable(getattr(torch.Tensor, name))


# ================================================================== against PyTorch, when present


def test_random_keys_against_torch():
    rng = np.random.default_rng(3)
    for index in range(50):
        values = rng.integers(0, 100, size=(3, 4, 2))
        rows = rng.integers(-3, 3, size=2).tolist()
        mask = rng.random(4) < 0.5
        keys = {"rows, :, 1": (rows, slice(None), 1), "1:, mask": (slice(1, None), mask.tolist()),
                "0, rows[:1], None": (0, rows[:1], None)}
        for label, key in keys.items():
            theirs = oracle.answer(f"draw {index}: x[{label}]",
                                   lambda real: real.from_numpy(values)[key].tolist())
            assert torch.from_numpy(values)[key].tolist() == theirs, (label, key)
