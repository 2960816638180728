"""Shape ops: views (and their strides, offsets and storage sharing), reshapes, joins and splits.

Strides and offsets below are the ones torch reports for the same calls (hand-checked); values
are compared with numpy. The torch tests run chains of views on both libraries and compare
sizes, strides, offsets, contiguity and values (torch's answers live, or recorded in tests/oracle).
"""
import warnings

import numpy as np
import pytest

import graphc
import oracle

# storage_offset() of a tensor whose storage is empty needs a fix in graphc/tensor.py (the lead's
# file); the diff is in the report of the change that added these tests


def arange(*shape):
    n = int(np.prod(shape))
    return graphc.arange(n).reshape(*shape)


def layout(t):
    return tuple(t.shape), t.stride(), t.storage_offset()


def shares_storage(a, b):
    return a.storage().data_ptr() == b.storage().data_ptr()


# ------------------------------------------------------------------ view and reshape


def test_view_infers_one_dim_and_shares_storage():
    a = arange(2, 3, 4)
    v = a.view(-1, 4)
    assert layout(v) == ((6, 4), (4, 1), 0)
    assert a.view(6, -1).shape == (6, 4)
    assert a.view((4, 6)).shape == (4, 6)
    assert a.view(graphc.Size([24])).shape == (24,)
    v.fill_(7)
    assert a.numpy().ravel().tolist() == [7] * 24
    assert shares_storage(a, v)
    assert graphc.tensor(5).view(1, 1).shape == (1, 1)
    assert graphc.tensor([5]).view(()).shape == ()


def test_view_errors():
    a = arange(2, 3, 4)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        a.view(-1, -1)
    with pytest.raises(RuntimeError, match=r"shape '\[5, -1\]' is invalid for input of size 24"):
        a.view(5, -1)
    with pytest.raises(RuntimeError, match=r"shape '\[7\]' is invalid for input of size 24"):
        a.view(7)
    with pytest.raises(RuntimeError, match=r"invalid shape dimension -2 at index 0 of shape "
                                           r"\[-2, 12\]"):
        a.view(-2, 12)
    with pytest.raises(RuntimeError, match="unspecified dimension size -1 can be any value"):
        graphc.zeros(0, 3).view(0, -1)
    with pytest.raises(TypeError):
        a.view(2.0, 12)


def test_view_needs_compatible_strides():
    m = arange(2, 3)
    message = ("view size is not compatible with input tensor's size and stride \\(at least one "
               "dimension spans across two contiguous subspaces\\). Use .reshape\\(...\\) instead.")
    with pytest.raises(RuntimeError, match=message):
        m.t().view(6)
    a = arange(2, 3, 4)
    with pytest.raises(RuntimeError, match=message):
        a.permute(1, 0, 2).view(3, 8)
    with pytest.raises(RuntimeError, match=message):
        a.narrow(2, 1, 3).view(2, 9)
    # splitting or keeping dims that stay contiguous is fine
    assert layout(m.t().view(3, 2, 1)) == ((3, 2, 1), (1, 3, 3), 0)
    assert layout(m.t().view(1, 3, 2)) == ((1, 3, 2), (3, 1, 3), 0)
    assert layout(a.permute(1, 0, 2).view(3, 2, 2, 2)) == ((3, 2, 2, 2), (4, 12, 2, 1), 0)
    assert layout(a.narrow(1, 1, 2).view(2, 8)) == ((2, 8), (12, 1), 4)


def test_view_of_empty_tensors_has_row_major_strides():
    assert graphc.zeros(0, 3).view(-1, 3).stride() == (3, 1)
    assert graphc.zeros(0, 3).view(-1).shape == (0,)
    assert graphc.zeros(0, 3).stride() == (3, 1)
    assert graphc.zeros(3, 0).stride() == (1, 1)


def test_view_as_dtype():
    f = graphc.tensor([1.0])
    assert f.view(graphc.int32).tolist() == [1065353216]
    x = graphc.zeros(2, 3)
    assert x.view(graphc.int16).shape == (2, 6)
    assert x.t().view(graphc.int32).shape == (3, 2)
    with pytest.raises(RuntimeError, match="self.size\\(-1\\) must be divisible by 2"):
        x.view(graphc.float64)
    with pytest.raises(RuntimeError, match="self.stride\\(-1\\) must be 1"):
        x.t().view(graphc.int16)


def test_reshape_views_when_possible_and_copies_otherwise():
    a = arange(2, 3, 4)
    r = a.reshape(4, 6)
    assert shares_storage(a, r) and r._base is (a if a._base is None else a._base)
    r.fill_(1)
    assert a.numpy().ravel().tolist() == [1] * 24
    m = arange(2, 3)
    copied = m.t().reshape(6)
    assert copied.tolist() == [0, 3, 1, 4, 2, 5] and copied.stride() == (1,)
    assert not shares_storage(m, copied) and copied._base is None
    assert m.t().reshape_as(graphc.zeros(6)).shape == (6,)
    assert a.reshape(-1).shape == (24,)
    with pytest.raises(RuntimeError, match=r"shape '\[5, 5\]' is invalid for input of size 24"):
        a.reshape(5, 5)
    with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
        a.reshape(-1, -1)
    assert a.view_as(graphc.zeros(4, 6)).shape == (4, 6)


def test_resize_grows_and_shrinks():
    t = graphc.tensor([1.0, 2.0])
    assert t.resize_(2, 3) is t
    assert t.shape == (2, 3) and t.tolist()[0][:2] == [1.0, 2.0]  # the old data is a prefix
    s = graphc.tensor([1.0, 2.0, 3.0])
    assert s.resize_(2).tolist() == [1.0, 2.0]
    assert s.untyped_storage().nbytes() == 12  # shrinking keeps the storage
    assert graphc.tensor([1.0, 2.0, 3.0, 4.0]).resize_(2, 2).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert graphc.tensor([1.0, 2.0, 3.0, 4.0]).resize_as_(graphc.zeros(2, 2)).shape == (2, 2)
    with pytest.raises(RuntimeError):
        graphc.tensor([1.0]).resize_(-1)
    empty = graphc.empty(0)
    empty.resize_(2, 3)
    assert empty.shape == (2, 3) and empty.is_contiguous()


def test_deprecated_out_of_place_resize():
    t = graphc.tensor([1.0, 2.0, 3.0, 4.0])
    with pytest.warns(UserWarning, match="non-inplace resize is deprecated"):
        r = t.resize(2, 2)
    assert r.tolist() == [[1.0, 2.0], [3.0, 4.0]] and t.shape == (4,) and shares_storage(t, r)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match=r"requested resize to 3 \(3 elements in total\), "
                                               r"but the given tensor has a size of 4 \(4 "
                                               r"elements\)"):
            t.resize(3)


# ------------------------------------------------------------------ squeeze, unsqueeze, flatten


def test_squeeze():
    x = graphc.zeros(1, 2, 1, 3)
    assert x.squeeze().shape == (2, 3) and x.squeeze().stride() == (3, 1)
    assert x.squeeze(0).shape == (2, 1, 3)
    assert x.squeeze(1).shape == (1, 2, 1, 3)  # not size 1: no-op
    assert x.squeeze(-2).shape == (1, 2, 3)
    assert x.squeeze((0, 2)).shape == (2, 3)
    assert x.squeeze((0, 1)).shape == (2, 1, 3)
    assert x.squeeze(()).shape == (1, 2, 1, 3)
    assert graphc.squeeze(x, 0).shape == (2, 1, 3)
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                                         r"\[-2, 1\], but got 2\)"):
        graphc.zeros(1, 2).squeeze(2)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        graphc.zeros(1, 2, 1).squeeze((0, 0))
    scalar = graphc.tensor(1.0)
    assert scalar.squeeze().shape == () and scalar.squeeze(0).shape == ()
    assert scalar.squeeze(-1).shape == ()
    assert shares_storage(x, x.squeeze())


def test_unsqueeze():
    m = arange(2, 3)
    assert layout(m.unsqueeze(0)) == ((1, 2, 3), (6, 3, 1), 0)
    assert layout(m.unsqueeze(1)) == ((2, 1, 3), (3, 3, 1), 0)
    assert layout(m.unsqueeze(-1)) == ((2, 3, 1), (3, 1, 1), 0)
    assert m.unsqueeze(2).shape == (2, 3, 1)
    assert m.unsqueeze(-3).shape == (1, 2, 3)
    assert m.t().unsqueeze(1).stride() == (1, 6, 3)
    assert graphc.tensor(1.0).unsqueeze(0).stride() == (1,)
    with pytest.raises(IndexError, match=r"expected to be in range of \[-3, 2\], but got 3"):
        m.unsqueeze(3)


def test_flatten_and_unflatten():
    a = arange(2, 3, 4)
    assert a.flatten().tolist() == list(range(24))
    assert a.flatten(1).shape == (2, 12)
    assert a.flatten(0, 1).shape == (6, 4)
    assert a.flatten(-2, -1).shape == (2, 12)
    assert graphc.tensor(1.0).flatten().shape == (1,)
    assert a.flatten(1, 1) is a  # nothing merges: the input itself
    one = graphc.tensor([1, 2])
    assert one.flatten() is one
    assert shares_storage(a, a.flatten())
    assert arange(2, 3).t().flatten()._base is None  # a copy
    with pytest.raises(RuntimeError, match="flatten\\(\\) has invalid args: start_dim cannot "
                                           "come after end_dim"):
        a.flatten(2, 1)
    assert a.unflatten(2, (2, 2)).shape == (2, 3, 2, 2)
    assert a.unflatten(-1, (2, -1)).shape == (2, 3, 2, 2)
    assert a.unflatten(0, graphc.Size([1, 2])).shape == (1, 2, 3, 4)
    with pytest.raises(RuntimeError, match=r"unflatten: Provided sizes \[3, 2\] don't multiply up "
                                           r"to the size of dim 2 \(4\) in the input tensor"):
        a.unflatten(2, (3, 2))


# ------------------------------------------------------------------ permutations


def test_permute_transpose_t():
    a = arange(2, 3, 4)
    p = a.permute(2, 0, 1)
    assert layout(p) == ((4, 2, 3), (1, 12, 4), 0)
    np.testing.assert_array_equal(p.numpy(), np.transpose(a.numpy(), (2, 0, 1)))
    assert a.permute((2, 0, 1)).shape == (4, 2, 3)
    assert a.permute(-1, 0, 1).shape == (4, 2, 3)
    assert a.transpose(0, 2).stride() == (1, 4, 12)
    assert a.transpose(-1, -2).stride() == (12, 1, 4)
    assert a.swapdims(0, 1).shape == (3, 2, 4) and a.swapaxes(0, 1).shape == (3, 2, 4)
    with pytest.raises(RuntimeError, match="number of dimensions in the tensor input does not "
                                           "match the length of the desired ordering"):
        a.permute(0, 1)
    with pytest.raises(RuntimeError, match="permute\\(\\): duplicate dims are not allowed."):
        a.permute(0, 0, 1)
    with pytest.raises(IndexError):
        a.transpose(0, 3)
    m = arange(2, 3)
    assert m.t().stride() == (1, 3) and m.T.stride() == (1, 3)
    assert graphc.tensor([1, 2]).t().tolist() == [1, 2]
    assert graphc.tensor(1).t().shape == ()
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions, but "
                                           "self is 3D"):
        a.t()
    assert a.mT.shape == (2, 4, 3)
    with pytest.warns(UserWarning, match="The use of `x.T` on tensors of dimension other than 2"):
        assert a.T.shape == (4, 3, 2)
    assert shares_storage(a, p)


def test_movedim():
    a = arange(2, 3, 4)
    assert a.movedim(0, 2).shape == (3, 4, 2)
    assert a.movedim((0, 1), (2, 0)).shape == (3, 4, 2)
    assert a.movedim(-1, 0).stride() == (1, 12, 4)
    assert a.moveaxis(0, -1).shape == (3, 4, 2)
    assert graphc.movedim(a, 1, 0).shape == (3, 2, 4)
    with pytest.raises(RuntimeError, match=r"movedim: repeated dim in `source` \(\[0, 0\]\)"):
        a.movedim((0, 0), (1, 2))
    with pytest.raises(RuntimeError, match="should contain the same number of dims as "
                                           "destination"):
        a.movedim((0, 1), (1,))


# ------------------------------------------------------------------ expand, contiguous, clone


def test_expand_shares_memory_with_zero_strides():
    base = graphc.tensor([1, 2])
    e = base.expand(3, 2)
    assert layout(e) == ((3, 2), (0, 1), 0)
    assert e.tolist() == [[1, 2]] * 3
    base.fill_(5)
    assert e.tolist() == [[5, 5]] * 3  # no copy
    assert graphc.tensor([[1], [2]]).expand(-1, 3).stride() == (1, 0)
    assert base.expand(2, 3, 2).stride() == (0, 0, 1)
    assert base.expand((3, 2)).shape == (3, 2)
    assert base.expand_as(graphc.zeros(3, 2)).stride() == (0, 1)
    assert graphc.tensor([[1, 2]]).expand(0, 2).shape == (0, 2)
    assert not e.is_contiguous()
    with pytest.raises(RuntimeError, match=r"The expanded size of the tensor \(3\) must match the "
                                           r"existing size \(2\) at non-singleton dimension 1"):
        base.expand(3, 3)
    with pytest.raises(RuntimeError, match=r"the number of sizes provided \(1\) must be greater "
                                           r"or equal to the number of dimensions in the tensor "
                                           r"\(2\)"):
        graphc.tensor([[1, 2]]).expand(2)
    with pytest.raises(RuntimeError, match="isn't allowed in a leading, non-existing dimension 0"):
        base.expand(-1, 2)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        graphc.zeros(1).expand(3).add_(1)


def test_contiguous_copies_only_when_needed():
    m = arange(2, 3)
    assert m.contiguous() is m
    c = m.t().contiguous()
    assert layout(c) == ((3, 2), (2, 1), 0)
    assert c.tolist() == [[0, 3], [1, 4], [2, 5]]
    assert not shares_storage(m, c)
    expected = {"row-major": (m, True), "transposed": (m.t(), False),
                "expanded": (graphc.tensor([1, 2]).expand(3, 2), False),
                "size-1 transposed": (graphc.zeros(1, 3).t(), True),
                "size-1 expanded": (graphc.zeros(2, 1).expand(2, 1), True),
                "sliced rows": (arange(4, 3).narrow(0, 1, 2), True),
                "sliced columns": (arange(4, 3).narrow(1, 0, 2), False)}
    for name, (tensor, contiguous) in expected.items():
        assert tensor.is_contiguous() is contiguous, name
    assert graphc.zeros(2, 3).expand(2, 2, 3).contiguous().stride() == (6, 3, 1)


def test_clone_preserves_dense_layouts():
    m = arange(2, 3)
    assert m.t().clone().stride() == (1, 3)  # preserve_format
    assert arange(2, 3, 4).permute(2, 0, 1).clone().stride() == (1, 12, 4)
    assert graphc.tensor([1, 2]).expand(3, 2).clone().stride() == (2, 1)  # not dense
    assert graphc.zeros(4, 6).narrow(1, 0, 3).clone().stride() == (3, 1)
    assert m.t().clone(memory_format=graphc.contiguous_format).stride() == (2, 1)
    c = m.clone()
    c.fill_(0)
    assert m.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert m.t().clone().tolist() == [[0, 3], [1, 4], [2, 5]]


def test_repeat():
    base = graphc.tensor([1, 2])
    assert base.repeat(2, 2).tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    assert base.repeat((2,)).tolist() == [1, 2, 1, 2]
    m = arange(2, 3)
    np.testing.assert_array_equal(m.repeat(2, 1, 3).numpy(), np.tile(m.numpy(), (2, 1, 3)))
    assert m.repeat(0, 1).shape == (0, 3)
    assert graphc.tensor(3).repeat(2, 2).tolist() == [[3, 3], [3, 3]]
    assert graphc.tensor([[1, 2], [3, 4]]).repeat(2, 1, 1).shape == (2, 2, 2)
    with pytest.raises(RuntimeError, match="Number of dimensions of repeat dims can not be smaller "
                                           "than number of dimensions of tensor"):
        m.repeat(2)
    with pytest.raises(RuntimeError, match=r"Trying to create tensor with negative dimension -2: "
                                           r"\[-2, 3\]"):
        m.repeat(-1, 1)


# ------------------------------------------------------------------ joining


def test_cat():
    m = arange(2, 3)
    assert graphc.cat([m, m]).tolist() == [[0, 1, 2], [3, 4, 5], [0, 1, 2], [3, 4, 5]]
    assert graphc.cat((m, m), 1).shape == (2, 6)
    assert graphc.cat([m, m], -1).shape == (2, 6)
    assert graphc.concat([m, m]).shape == (4, 3) and graphc.concatenate([m, m]).shape == (4, 3)
    promoted = graphc.cat([graphc.tensor([1]), graphc.tensor([1.5])])
    assert promoted.dtype is graphc.float32 and promoted.tolist() == [1.0, 1.5]
    assert graphc.cat([graphc.tensor([1], dtype=graphc.int8),
                       graphc.tensor([1], dtype=graphc.uint8)]).dtype is graphc.int16
    assert graphc.cat([graphc.tensor([True]), graphc.tensor([2])]).dtype is graphc.int64
    assert graphc.cat((m,)).stride() == (3, 1)
    out = graphc.zeros(4, 3, dtype=graphc.float64)
    assert graphc.cat([m, m], out=out) is out and out.dtype is graphc.float64
    assert out.tolist()[3] == [3.0, 4.0, 5.0]


def test_cat_skips_legacy_empty_tensors_but_promotes_them():
    m = arange(2, 3)
    assert graphc.cat([graphc.zeros(0), m]).shape == (2, 3)
    assert graphc.cat([graphc.zeros(0, dtype=graphc.float64), m]).dtype is graphc.float64
    assert graphc.cat([graphc.zeros(0, 3), m]).shape == (2, 3)
    both = graphc.cat([graphc.zeros(0), graphc.zeros(0, dtype=graphc.float64)])
    assert both.shape == (0,) and both.dtype is graphc.float64


def test_cat_errors():
    m = arange(2, 3)
    with pytest.raises(ValueError, match="expected a non-empty list of Tensors"):
        graphc.cat([])
    with pytest.raises(RuntimeError, match="Sizes of tensors must match except in dimension 0. "
                                           "Expected size 3 but got size 2 for tensor number 1 "
                                           "in the list."):
        graphc.cat([m, graphc.zeros(2, 2)])
    with pytest.raises(RuntimeError, match="Expected size 2 but got size 3 for tensor number 1"):
        graphc.cat([graphc.zeros(0, 2), m])
    with pytest.raises(RuntimeError, match="Tensors must have same number of dimensions: got 2 "
                                           "and 1"):
        graphc.cat([m, graphc.tensor([1, 2, 3])])
    with pytest.raises(RuntimeError, match=r"zero-dimensional tensor \(at position 0\) cannot be "
                                           r"concatenated"):
        graphc.cat([graphc.tensor(1), graphc.tensor(2)])
    with pytest.raises(IndexError):
        graphc.cat([m, m], 2)
    with pytest.raises(TypeError, match="expected Tensor as element 1 in argument 0, but got int"):
        graphc.cat([m, 1])


def test_stack():
    a, b = graphc.tensor([1, 2]), graphc.tensor([3, 4])
    assert graphc.stack([a, b]).tolist() == [[1, 2], [3, 4]]
    assert graphc.stack([a, b], 1).tolist() == [[1, 3], [2, 4]]
    m = arange(2, 3)
    stacked = graphc.stack([m, m], -1)
    assert stacked.shape == (2, 3, 2)
    np.testing.assert_array_equal(stacked.numpy(), np.stack([m.numpy()] * 2, -1))
    assert graphc.stack([graphc.tensor([1]), graphc.tensor([1.5])]).dtype is graphc.float32
    assert graphc.stack([graphc.tensor(1), graphc.tensor(2)]).tolist() == [1, 2]
    with pytest.raises(RuntimeError, match=r"stack expects each tensor to be equal size, but got "
                                           r"\[2\] at entry 0 and \[1\] at entry 1"):
        graphc.stack([a, graphc.tensor([3])])
    with pytest.raises(RuntimeError, match="stack expects a non-empty TensorList"):
        graphc.stack([])
    with pytest.raises(IndexError):
        graphc.stack([m, m], 3)
    assert graphc.hstack([graphc.tensor([1, 2]), graphc.tensor([3])]).tolist() == [1, 2, 3]
    assert graphc.vstack([a, b]).tolist() == [[1, 2], [3, 4]]


# ------------------------------------------------------------------ splitting and selecting


def pieces(parts):
    return [p.tolist() for p in parts]


def test_split():
    five = graphc.arange(5)
    parts = five.split(2)
    assert pieces(parts) == [[0, 1], [2, 3], [4]]
    assert [p.storage_offset() for p in parts] == [0, 2, 4]
    assert all(shares_storage(five, p) for p in parts)
    assert pieces(five.split([1, 4])) == [[0], [1, 2, 3, 4]]
    assert pieces(graphc.split(five, 2)) == [[0, 1], [2, 3], [4]]
    assert pieces(five.split(10)) == [[0, 1, 2, 3, 4]]
    m = arange(2, 3)
    columns = m.split(2, 1)
    assert pieces(columns) == [[[0, 1], [3, 4]], [[2], [5]]]
    assert [c.stride() for c in columns] == [(3, 1), (3, 1)]
    assert len(graphc.zeros(0).split(2)) == 1
    with pytest.raises(RuntimeError, match=r"split_with_sizes expects split_sizes to sum exactly "
                                           r"to 5 \(input tensor's size at dimension 0\), but got "
                                           r"split_sizes=\[1, 3\]"):
        five.split([1, 3])
    with pytest.raises(RuntimeError, match="split_size can only be 0 if dimension size is 0, but "
                                           "got dimension size of 5"):
        five.split(0)


@pytest.mark.parametrize("size,chunks,expected", [
    (5, 3, [2, 2, 1]), (6, 4, [2, 2, 2]), (6, 3, [2, 2, 2]), (3, 5, [1, 1, 1]),
    (10, 4, [3, 3, 3, 1]), (7, 7, [1] * 7), (0, 2, [0, 0]), (1, 2, [1])])
def test_chunk_sizes_match_torch(size, chunks, expected):
    """torch: pieces of ceil(size / chunks), so sometimes fewer than `chunks` pieces."""
    assert [p.numel() for p in graphc.arange(size).chunk(chunks)] == expected


def test_chunk_errors():
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0, got: 0"):
        graphc.arange(3).chunk(0)


def test_unbind_narrow_select():
    m = arange(2, 3)
    assert pieces(m.unbind()) == [[0, 1, 2], [3, 4, 5]]
    columns = m.unbind(1)
    assert pieces(columns) == [[0, 3], [1, 4], [2, 5]]
    assert [layout(c) for c in columns] == [((2,), (3,), 0), ((2,), (3,), 1), ((2,), (3,), 2)]
    with pytest.raises(IndexError, match="Dimension specified as 0 but tensor has no dimensions"):
        graphc.tensor(1).unbind()
    assert layout(m.narrow(1, 1, 2)) == ((2, 2), (3, 1), 1)
    assert m.narrow(1, -2, 2).tolist() == [[1, 2], [4, 5]]
    assert m.narrow(1, 3, 0).shape == (2, 0)
    assert m.narrow(1, graphc.tensor(1), 2).shape == (2, 2)
    with pytest.raises(RuntimeError, match=r"start \(2\) \+ length \(2\) exceeds dimension size "
                                           r"\(3\)."):
        m.narrow(1, 2, 2)
    with pytest.raises(IndexError, match=r"start out of range \(expected to be in range of "
                                         r"\[-3, 3\], but got 4\)"):
        m.narrow(1, 4, 0)
    with pytest.raises(RuntimeError, match="narrow\\(\\): length must be non-negative."):
        m.narrow(1, 0, -1)
    with pytest.raises(RuntimeError, match="narrow\\(\\) cannot be applied to a 0-dim tensor."):
        graphc.tensor(1).narrow(0, 0, 1)
    assert layout(m.select(1, 2)) == ((2,), (3,), 2)
    assert m.select(1, -1).tolist() == [2, 5]
    with pytest.raises(IndexError, match=r"select\(\): index 3 out of range for tensor of size "
                                         r"\[2, 3\] at dimension 1"):
        m.select(1, 3)
    with pytest.raises(IndexError, match="index -3 out of range"):
        m.select(0, -3)
    with pytest.raises(IndexError, match="select\\(\\) cannot be applied to a 0-dim tensor."):
        graphc.tensor(1).select(0, 0)
    assert graphc.arange(7).tensor_split(3)[1].tolist() == [3, 4]
    assert pieces(graphc.arange(7).tensor_split([1, 5])) == [[0], [1, 2, 3, 4], [5, 6]]


def test_flip():
    m = arange(2, 3)
    assert m.flip(0).tolist() == [[3, 4, 5], [0, 1, 2]]
    assert m.flip(0, 1).tolist() == [[5, 4, 3], [2, 1, 0]]
    assert m.flip([1]).tolist() == [[2, 1, 0], [5, 4, 3]]
    assert graphc.flip(m, (0, 1)).tolist() == [[5, 4, 3], [2, 1, 0]]
    assert m.flip(-1).stride() == (3, 1)  # a copy, row-major
    assert graphc.tensor(1).flip(0).tolist() == 1
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times in the list of dims"):
        m.flip(0, 0)
    with pytest.raises(IndexError):
        m.flip(2)


def test_strides_and_offsets_of_view_chains():
    a = arange(2, 3, 4)
    assert (a.stride(), a.stride(-1), a.stride(0)) == ((12, 4, 1), 1, 12)
    with pytest.raises(IndexError, match=r"expected to be in range of \[-3, 2\], but got 3"):
        a.stride(3)
    assert a.select(0, 1).storage_offset() == 12
    assert a.narrow(2, 1, 2).storage_offset() == 1
    assert a.select(0, 1).select(0, 2).narrow(0, 1, 2).storage_offset() == 21
    assert a.select(0, 1).t().storage_offset() == 12
    assert layout(a.diagonal(0, 1, 2)) == ((2, 3), (12, 5), 0)
    m = arange(2, 3)
    assert layout(m.diagonal()) == ((2,), (4,), 0)
    assert layout(m.diagonal(1)) == ((2,), (4,), 1)
    strided = graphc.arange(6).as_strided((2, 2), (1, 2), 1)
    assert layout(strided) == ((2, 2), (1, 2), 1) and strided.tolist() == [[1, 3], [2, 4]]


def test_views_share_the_version_counter():
    a = arange(2, 3)
    v = a.t()
    version = a._version
    v.add_(1)
    assert a._version > version and a.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_storage_offset_of_empty_tensors_is_zero():
    assert graphc.zeros(0, 3).storage_offset() == 0
    assert graphc.zeros(0).split(2)[0].storage_offset() == 0


# ------------------------------------------------------------------ against torch


def view_layout(tensor):
    """What the view tests compare: shape, strides, contiguity, storage offset and values."""
    offset = tensor.storage_offset() if tensor.numel() else None  # torch's is arbitrary when empty
    return (tuple(tensor.shape), tuple(tensor.stride()), tensor.is_contiguous(), offset,
            tensor.tolist())


CHAINS = {
    "t": lambda lib, x: x.flatten(0, 1).t(),
    "permute-view": lambda lib, x: x.permute(1, 0, 2).view(3, 2, 2, 2),
    "transpose-reshape": lambda lib, x: x.transpose(0, 2).reshape(4, 6),
    "narrow-select": lambda lib, x: x.narrow(2, 1, 3).select(1, 2),
    "squeeze-unsqueeze": lambda lib, x: x.unsqueeze(1).unsqueeze(-1).squeeze(1),
    "expand": lambda lib, x: x.select(2, 0).unsqueeze(0).expand(3, 2, 3),
    "expand-contiguous": lambda lib, x: x.select(2, 0).unsqueeze(0).expand(3, 2, 3).contiguous(),
    "diagonal": lambda lib, x: x.diagonal(1, 1, 2),
    "movedim": lambda lib, x: x.movedim(0, -1).narrow(0, 1, 2),
    "split": lambda lib, x: x.split(2, dim=2)[1],
    "chunk": lambda lib, x: x.chunk(2, dim=1)[1],
    "unbind": lambda lib, x: x.unbind(2)[3],
    "flatten-middle": lambda lib, x: x.permute(2, 0, 1).flatten(1),
    "clone-permuted": lambda lib, x: x.permute(2, 0, 1).clone(),
    "repeat": lambda lib, x: x.narrow(1, 0, 2).repeat(1, 2, 1),
    "flip": lambda lib, x: x.flip(1, 2),
    "cat": lambda lib, x: lib.cat([x, x.flip(1)], 1),
    "stack": lambda lib, x: lib.stack([x, x], 2).select(3, 1),
    "T-of-select": lambda lib, x: x.select(0, 1).T,
    "unflatten": lambda lib, x: x.unflatten(2, (2, 2)).permute(3, 2, 1, 0),
    "view-of-narrow-rows": lambda lib, x: x.narrow(1, 1, 2).view(2, 8),
    "reshape-of-narrow-cols": lambda lib, x: x.narrow(2, 1, 3).reshape(2, 9),
    "empty-narrow": lambda lib, x: x.narrow(2, 1, 0),
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_view_chains_match_torch(name):
    chain = CHAINS[name]
    def run(lib):
        return view_layout(chain(lib, lib.arange(24).reshape(2, 3, 4)))

    assert run(graphc) == oracle.answer(name, run)


def test_chunk_and_split_match_torch():
    def sizes(lib, size, how, count):
        return [p.numel() for p in getattr(lib.arange(size), how)(count)]

    for size in range(0, 12):
        for how, counts in (("chunk", range(1, 7)), ("split", range(1, 6))):
            for count in counts:
                case = f"arange({size}).{how}({count})"
                assert sizes(graphc, size, how, count) == oracle.answer(
                    case, lambda torch: sizes(torch, size, how, count)), case


def test_like_and_clone_layouts_match_torch():
    cases = [lambda lib: lib.zeros(2, 3).t(), lambda lib: lib.zeros(2, 3, 4).permute(2, 0, 1),
             lambda lib: lib.tensor([1.0, 2.0]).expand(3, 2),
             lambda lib: lib.zeros(4, 6).narrow(1, 0, 3), lambda lib: lib.zeros(1, 3).t(),
             lambda lib: lib.zeros(2, 1, 3).permute(1, 2, 0)]
    operations = {"clone": lambda lib, t: t.clone(), "contiguous": lambda lib, t: t.contiguous(),
                  "empty_like": lambda lib, t: lib.empty_like(t)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index, case in enumerate(cases):
            for label, operation in operations.items():
                theirs = oracle.answer(f"case {index} {label}",
                                       lambda torch: tuple(operation(torch, case(torch)).stride()))
                assert tuple(operation(graphc, case(graphc)).stride()) == theirs, (index, label)
