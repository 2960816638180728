"""torch's refusals to write through memory that an operand also reads, or that one element of
the written tensor shares with another (aten/src/ATen/MemoryOverlap.cpp).

numpy would buffer `x[1:] += x[:-1]` and give the result of a clone first; torch refuses it,
so graphc refuses it too, with torch's messages and torch's reach: only operands that are dense
(elements filling their memory span without gaps, in some order of dims) are compared, by their
spans; strided views of one storage (`x[::2]` against `x[1::2]`) are not, as in torch.
"""
import numpy as np

__all__ = ["INTERNAL_OVERLAP_MESSAGE", "PARTIAL_OVERLAP_MESSAGE", "has_internal_overlap",
           "is_dense", "check_no_overlap"]

INTERNAL_OVERLAP_MESSAGE = (
    "unsupported operation: more than one element of the written-to tensor refers to a single "
    "memory location. Please clone() the tensor before performing the operation.")
PARTIAL_OVERLAP_MESSAGE = (
    "unsupported operation: some elements of the input tensor and the written-to tensor refer "
    "to a single memory location. Please clone() the tensor before performing the operation.")

_may_share_memory = np.may_share_memory


def has_internal_overlap(array):
    """Whether two elements of `array` are one memory location (an expanded dim)."""
    return any(stride == 0 and n > 1 for n, stride in zip(array.shape, array.strides))


def is_dense(array):
    """True when the elements of `array` fill their memory without gaps or overlap, in some
    order of dims (torch's is_non_overlapping_and_dense)."""
    shape, strides = array.shape, array.strides
    expected = array.itemsize
    for d in sorted(range(len(shape)), key=lambda d: strides[d]):
        if shape[d] == 1:
            continue
        if strides[d] != expected:
            return False
        expected *= shape[d]
    return True


def _span(array):
    start = array.__array_interface__["data"][0]
    return start, start + array.nbytes


def check_no_overlap(written, read, allow_identical=True):
    """Raise torch's RuntimeError when the array an op writes and one it reads partly share
    memory. `allow_identical`: the same elements in the same layout (`x.add_(x)`, a view of
    all of x) are accepted, as torch's in-place ops do; index_put_/index_add_ refuse them."""
    if not _may_share_memory(written, read):  # a bounds check, fast: the common answer
        return
    if not written.size or not read.size or not (is_dense(written) and is_dense(read)):
        return  # torch: too hard to tell, allowed
    if allow_identical and _span(written) == _span(read) and written.strides == read.strides:
        return
    raise RuntimeError(PARTIAL_OVERLAP_MESSAGE)
