"""graphc.utils.data: datasets, random_split, samplers, collation and the DataLoader, in this
process and with worker processes (against numpy, torch's rules and num_workers=0)."""
import collections
import gc
import os
import time
import warnings

import numpy as np
import pytest

import graphc
from graphc.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                               IterableDataset, RandomSampler, SequentialSampler, Subset,
                               SubsetRandomSampler, TensorDataset, default_collate,
                               default_convert, get_worker_info, random_split)


def _table(n=10):
    return TensorDataset(graphc.arange(2.0 * n).reshape(n, 2), graphc.arange(n))


def _as_lists(batches):
    """Batches as nested Python lists (tensors by value), for comparisons."""
    def convert(value):
        if isinstance(value, graphc.Tensor):
            return ("tensor", str(value.dtype), value.tolist())
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value
    return [convert(batch) for batch in batches]


# ---------------------------------------------------------------- datasets

def test_tensor_dataset_subset_and_concat():
    table = _table(5)
    x, y = table[3]
    assert x.tolist() == [6.0, 7.0] and y.tolist() == 3 and len(table) == 5
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(graphc.zeros(3), graphc.zeros(4))
    subset = Subset(table, [4, 0, 2])
    assert len(subset) == 3 and subset[0][1].tolist() == 4
    assert [s[1].tolist() for s in subset.__getitems__([2, 1])] == [2, 0]
    both = ConcatDataset([table, subset])
    assert len(both) == 8 and both.cumulative_sizes == [5, 8]
    assert [both[i][1].tolist() for i in (4, 5, -1, -8)] == [4, 4, 2, 0]
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset"):
        both[-9]
    assert len(table + subset) == 8
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(NotImplementedError, match="should implement __getitem__"):
        Dataset()[0]


def test_random_split_lengths_fractions_and_generator():
    data = list(range(10))
    parts = random_split(data, [3, 7], generator=graphc.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(parts[0].indices + parts[1].indices) == data
    expected = graphc.randperm(10, generator=graphc.Generator().manual_seed(1)).tolist()
    assert parts[0].indices + parts[1].indices == expected
    again = random_split(data, [3, 7], generator=graphc.Generator().manual_seed(1))
    assert again[1].indices == parts[1].indices
    # floors 3, 3, 3 and the remaining element goes to the first split
    assert [len(p) for p in random_split(data, [0.33, 0.33, 0.34])] == [4, 3, 3]
    graphc.manual_seed(5)
    first = random_split(data, [0.5, 0.5])[0].indices
    graphc.manual_seed(5)
    assert random_split(data, [0.5, 0.5])[0].indices == first
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length"):
        random_split(data, [3, 3])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(data, [1.0, 0.0])


# ---------------------------------------------------------------- samplers

def test_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    sampler = RandomSampler(range(6), generator=graphc.Generator().manual_seed(3))
    assert list(sampler) == graphc.randperm(6, generator=graphc.Generator().manual_seed(3)).tolist()
    # without a generator: a fresh one seeded from the default generator, as torch does
    graphc.manual_seed(11)
    drawn = list(RandomSampler(range(6)))
    graphc.manual_seed(11)
    seed = graphc.empty((), dtype=graphc.int64).random_().item()
    assert drawn == graphc.randperm(6, generator=graphc.Generator().manual_seed(seed)).tolist()
    more = list(RandomSampler(range(4), num_samples=10, generator=graphc.Generator()))
    assert len(more) == 10 and sorted(more[:4]) == [0, 1, 2, 3] and sorted(more[4:8]) == [0, 1, 2, 3]
    with_replacement = RandomSampler(range(3), replacement=True, num_samples=70,
                                     generator=graphc.Generator().manual_seed(0))
    values = list(with_replacement)
    assert len(values) == len(with_replacement) == 70 and set(values) == {0, 1, 2}
    with pytest.raises(TypeError, match="replacement should be a boolean value, but got "
                                        "replacement=1"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but "
                                         "got num_samples=0"):
        RandomSampler(range(3), num_samples=0)
    subset = list(SubsetRandomSampler([10, 20, 30], generator=graphc.Generator().manual_seed(2)))
    order = graphc.randperm(3, generator=graphc.Generator().manual_seed(2)).tolist()
    assert subset == [[10, 20, 30][i] for i in order]
    assert list(BatchSampler(range(7), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(range(7), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, False)) == 3 and len(BatchSampler(range(7), 3, True)) == 2
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but "
                                         "got batch_size=0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value, but got "
                                         "drop_last=1"):
        BatchSampler(range(3), 2, 1)


# ---------------------------------------------------------------- collation

Point = collections.namedtuple("Point", "x y")


def test_default_collate_follows_torchs_rules():
    stacked = default_collate([graphc.tensor([1.0, 2.0]), graphc.tensor([3.0, 4.0])])
    assert stacked.tolist() == [[1.0, 2.0], [3.0, 4.0]] and stacked.dtype == graphc.float32
    ints, floats = default_collate([1, 2]), default_collate([0.5, 1.5])
    assert ints.dtype == graphc.int64 and ints.tolist() == [1, 2]
    assert floats.dtype == graphc.float64 and floats.tolist() == [0.5, 1.5]
    assert default_collate([True, False]).dtype == graphc.bool
    arrays = default_collate([np.ones(2, np.int32), np.zeros(2, np.int32)])
    assert arrays.dtype == graphc.int32 and arrays.tolist() == [[1, 1], [0, 0]]
    assert default_collate([np.float32(1), np.float32(2)]).dtype == graphc.float32
    assert default_collate(["a", "b"]) == ["a", "b"]
    transposed = default_collate([(1, "a"), (2, "b")])
    assert isinstance(transposed, list) and transposed[0].tolist() == [1, 2]
    assert transposed[1] == ("a", "b")
    nested = default_collate([{"x": 1.0, "y": [1, 2]}, {"x": 2.0, "y": [3, 4]}])
    assert nested["x"].tolist() == [1.0, 2.0]
    assert [t.tolist() for t in nested["y"]] == [[1, 3], [2, 4]]
    point = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(point, Point) and point.x.tolist() == [1, 3]
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors, numpy "
                                        "arrays, numbers, dicts or lists; found <class 'object'>"):
        default_collate([object()])
    with pytest.raises(TypeError, match="found <U1"):
        default_collate([np.array(["a"]), np.array(["b"])])
    converted = default_convert((np.arange(3), "s", {"k": np.float64(2.0)}))
    assert isinstance(converted, list) and converted[0].tolist() == [0, 1, 2]
    assert converted[1] == "s" and converted[2]["k"].tolist() == 2.0


def test_collate_matches_torch():
    torch = pytest.importorskip("torch")
    samples = [(np.arange(3.0) + i, i, i * 0.5, "s", {"k": [i, i + 1]}, Point(i, -i))
               for i in range(3)]
    ours = DataLoader(samples, batch_size=3).__iter__().__next__()
    theirs = torch.utils.data.DataLoader(samples, batch_size=3).__iter__().__next__()

    def plain(value, lib):
        if isinstance(value, lib.Tensor):
            return (str(value.dtype), value.tolist())
        if isinstance(value, dict):
            return {k: plain(v, lib) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return (type(value).__name__, [plain(v, lib) for v in value])
        return value

    assert plain(ours, graphc) == plain(theirs, torch)


# ---------------------------------------------------------------- DataLoader in this process

def test_batches_shuffle_and_drop_last():
    table = _table(10)
    batches = list(DataLoader(table, batch_size=4))
    assert len(batches) == 3 == len(DataLoader(table, batch_size=4))
    np.testing.assert_array_equal(batches[2][0].numpy(), np.arange(16.0, 20.0).reshape(2, 2))
    assert [b[1].tolist() for b in DataLoader(table, batch_size=4, drop_last=True)] == \
        [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(table, batch_size=4, drop_last=True)) == 2
    graphc.manual_seed(0)
    first = [b[1].tolist() for b in DataLoader(table, batch_size=4, shuffle=True)]
    graphc.manual_seed(0)
    second = [b[1].tolist() for b in DataLoader(table, batch_size=4, shuffle=True)]
    assert first == second and sorted(sum(first, [])) == list(range(10))
    # the loader's generator: the base seed first, then the sampler's seed, as torch draws them
    generator = graphc.Generator().manual_seed(4)
    order = sum((b[1].tolist() for b in DataLoader(table, batch_size=4, shuffle=True,
                                                   generator=generator)), [])
    replay = graphc.Generator().manual_seed(4)
    graphc.empty((), dtype=graphc.int64).random_(generator=replay)
    assert order == graphc.randperm(10, generator=replay).tolist()


def test_sampler_batch_sampler_collate_fn_and_no_batching():
    table = _table(6)
    picked = DataLoader(table, batch_size=2, sampler=[5, 0, 3])
    assert [b[1].tolist() for b in picked] == [[5, 0], [3]]
    grouped = DataLoader(table, batch_sampler=[[1, 2, 3], [0]])
    assert [b[1].tolist() for b in grouped] == [[1, 2, 3], [0]] and len(grouped) == 2
    counted = DataLoader(table, batch_size=4, collate_fn=len)
    assert list(counted) == [4, 2]
    single = list(DataLoader(np.arange(3), batch_size=None))
    assert [s.tolist() for s in single] == [0, 1, 2] and single[0].shape == ()
    with pytest.warns(UserWarning, match="'pin_memory' argument is set as true"):
        assert len(list(DataLoader(table, batch_size=3, pin_memory=True))) == 2


class Countdown(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n


def test_iterable_dataset_batches():
    assert [b.tolist() for b in DataLoader(Countdown(5), batch_size=2)] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in DataLoader(Countdown(5), batch_size=2, drop_last=True)] == \
        [[0, 1], [2, 3]]
    assert len(DataLoader(Countdown(5), batch_size=2)) == 3
    assert list(DataLoader(Countdown(2), batch_size=None)) == [0, 1]   # ints stay ints


def test_loader_errors_match_torch():
    table = _table(4)
    cases = [
        (dict(num_workers=-1), "num_workers option should be non-negative"),
        (dict(timeout=-1), "timeout option should be non-negative"),
        (dict(prefetch_factor=2), "prefetch_factor option could only be specified in "
                                  "multiprocessing"),
        (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
        (dict(sampler=[0], shuffle=True), "sampler option is mutually exclusive with shuffle"),
        (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive "
                                                  "with batch_size, shuffle, sampler, and "
                                                  "drop_last"),
        (dict(batch_size=None, drop_last=True), "batch_size=None option disables "
                                                "auto-batching and is mutually exclusive with "
                                                "drop_last"),
        (dict(multiprocessing_context="spawn"), "multiprocessing_context can only be used "
                                                "with multi-process loading"),
        (dict(num_workers=1, multiprocessing_context="nope"), "should specify a valid start "
                                                              "method"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            DataLoader(table, **options)
    with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected "
                                         "unspecified shuffle option, but got shuffle=True"):
        DataLoader(Countdown(3), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        DataLoader(Countdown(3), sampler=[0])
    loader = DataLoader(table)
    with pytest.raises(ValueError, match="batch_size attribute should not be set after "
                                         "DataLoader is initialized"):
        loader.batch_size = 3
    assert get_worker_info() is None


def test_loader_errors_equal_torchs_messages():
    torch = pytest.importorskip("torch")
    options = [dict(num_workers=-1), dict(prefetch_factor=2), dict(persistent_workers=True),
               dict(sampler=[0], shuffle=True), dict(batch_sampler=[[0]], drop_last=True),
               dict(batch_size=None, drop_last=True)]
    for option in options:
        messages = []
        for loader in (DataLoader, torch.utils.data.DataLoader):
            with pytest.raises(ValueError) as caught:
                loader(list(range(4)), **option)
            messages.append(str(caught.value))
        assert messages[0] == messages[1]


# ---------------------------------------------------------------- worker processes
# Datasets and functions used in workers live at module level: workers are started with
# forkserver, so what they run is pickled.

class RandomRows(Dataset):
    """Sample i: (i, the worker's id, the worker's seed, a random number drawn in the worker)."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        info = get_worker_info()
        return index, info.id, info.seed, graphc.rand(1).item()


class Failing(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, index):
        if index == 3:
            raise ValueError(f"index {index} is broken")
        return index


class Slow(Dataset):
    def __len__(self):
        return 2

    def __getitem__(self, index):
        time.sleep(1.5)
        return index


class Pids(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        return os.getpid(), _INITIALISED_WORKER


_INITIALISED_WORKER = None


def _remember_worker(worker_id):
    global _INITIALISED_WORKER
    _INITIALISED_WORKER = worker_id


def _unpicklable(batch):
    return lambda: batch


def test_workers_give_the_batches_of_one_process():
    table = _table(11)
    for options in (dict(batch_size=3, shuffle=True), dict(batch_size=4, drop_last=True),
                    dict(batch_size=None), dict(batch_size=2, prefetch_factor=1)):
        graphc.manual_seed(9)
        single = {k: v for k, v in options.items() if k != "prefetch_factor"}
        expected = _as_lists(DataLoader(table, **single))
        graphc.manual_seed(9)
        assert _as_lists(DataLoader(table, num_workers=2, **options)) == expected


def test_workers_are_seeded_from_the_loaders_base_seed():
    generator = graphc.Generator().manual_seed(21)
    rows = list(DataLoader(RandomRows(), batch_size=2, num_workers=2, generator=generator))
    base_seed = graphc.empty((), dtype=graphc.int64).random_(
        generator=graphc.Generator().manual_seed(21)).item()
    draws = {}
    for indices, worker_ids, seeds, values in rows:
        assert indices.tolist()[0] // 2 % 2 == worker_ids.tolist()[0]   # batches round robin
        for worker_id, seed, value in zip(worker_ids.tolist(), seeds.tolist(), values.tolist()):
            assert seed == base_seed + worker_id
            draws.setdefault(worker_id, []).append(value)
    for worker_id, values in draws.items():
        replay = graphc.Generator().manual_seed(base_seed + worker_id)
        assert values == [graphc.rand(1, generator=replay).item() for _ in values]


def test_a_worker_exception_is_raised_naming_the_worker():
    with pytest.raises(ValueError) as caught:
        list(DataLoader(Failing(), batch_size=2, num_workers=2))
    message = str(caught.value)
    assert message.startswith("Caught ValueError in DataLoader worker process 1.\n"
                              "Original Traceback (most recent call last):")
    assert "index 3 is broken" in message and "__getitem__" in message
    with pytest.raises(Exception, match="in DataLoader worker process 0"):
        list(DataLoader(Failing(), batch_size=2, num_workers=1, collate_fn=_unpicklable))


def test_iterable_dataset_in_workers_split_by_worker_info():
    batches = [b.tolist() for b in DataLoader(Countdown(7), batch_size=2, num_workers=2)]
    # worker 0 yields 0 2 4 6, worker 1 yields 1 3 5; batches alternate between them
    assert batches == [[0, 2], [1, 3], [4, 6], [5]]


def test_stopping_early_or_dropping_the_loader_stops_the_workers():
    iterator = iter(DataLoader(_table(40), batch_size=2, num_workers=2))
    next(iterator)
    workers = list(iterator._workers)
    assert all(w.is_alive() for w in workers)
    for _ in DataLoader(_table(40), batch_size=2, num_workers=2):
        break
    del iterator
    gc.collect()
    assert not any(w.is_alive() for w in workers)


def test_persistent_workers_worker_init_fn_and_timeout():
    loader = DataLoader(Pids(), batch_size=None, num_workers=2, persistent_workers=True,
                        worker_init_fn=_remember_worker)
    first = [tuple(sample) for sample in loader]
    second = [tuple(sample) for sample in loader]
    assert first == second
    assert sorted({wid for _, wid in first}) == [0, 1]
    assert len({pid for pid, _ in first}) == 2 and os.getpid() not in {p for p, _ in first}
    workers = loader._iterator._workers
    del loader
    gc.collect()
    assert not any(w.is_alive() for w in workers)
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.2 seconds"):
        list(DataLoader(Slow(), batch_size=1, num_workers=1, timeout=0.2))
