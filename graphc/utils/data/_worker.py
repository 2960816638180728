"""What runs inside a DataLoader worker process, and what travels between it and the loader.

The protocol, over multiprocessing queues (our own processes, so pickle is fine here):
  loader -> worker (its own index queue): (task_index, indices) to fetch one batch (indices is
      None for an IterableDataset: the next batch of the worker's own iterator), ResumeIteration
      to start a new epoch (persistent workers), or None to stop.
  worker -> loader (one shared result queue), each result pickled by the worker itself:
      (task_index, batch), (task_index, ExceptionWrapper)
      when fetching raised, (task_index, IterableDatasetStopIteration) when a worker's copy of an
      iterable dataset is exhausted, and (None, ResumeIteration) to acknowledge a new epoch.
Tensors in a batch travel as their numpy data (graphc.Tensor pickles as an array, its dtype name
and requires_grad) and are rebuilt as graphc tensors in the loader's process.
"""
import dataclasses
import os
import pickle
import queue
import random
import sys
import traceback

import numpy as np

__all__ = ["WorkerInfo", "get_worker_info"]

_worker_info = None
_POLL_SECONDS = 1.0   # how often an idle worker checks that the loader is still there


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """What get_worker_info() returns inside a worker: its id, the number of workers, its seed
    (base_seed + id) and its own copy of the dataset."""
    id: int
    num_workers: int
    seed: int
    dataset: object


def get_worker_info():
    """The WorkerInfo of the current DataLoader worker process; None in the main process."""
    return _worker_info


class ExceptionWrapper:
    """An exception raised in a worker, carried to the loader with its traceback text."""

    def __init__(self, exc_info, where):
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        message = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        try:
            exception = self.exc_type(message)
        except Exception:
            raise RuntimeError(message) from None
        raise exception


@dataclasses.dataclass(frozen=True)
class IterableDatasetStopIteration:
    worker_id: int


@dataclasses.dataclass(frozen=True)
class ResumeIteration:
    pass


def numpy_seed(base_seed, worker_id):
    """The seed of numpy's global generator in a worker: distinct per worker and base seed."""
    return [worker_id, base_seed & 0xFFFFFFFF, (base_seed >> 32) & 0xFFFFFFFF]


class MapFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn

    def fetch(self, indices):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[indices])
        fetch_many = getattr(self.dataset, "__getitems__", None)
        samples = fetch_many(indices) if callable(fetch_many) else \
            [self.dataset[index] for index in indices]
        return self.collate_fn(samples)


class IterableFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.iterator = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, batch_size):
        """The next batch of batch_size samples (one sample without auto-collation)."""
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.iterator))
        samples = []
        for _ in range(batch_size):
            try:
                samples.append(next(self.iterator))
            except StopIteration:
                self.ended = True
                break
        if not samples or (self.drop_last and len(samples) < batch_size):
            raise StopIteration
        return self.collate_fn(samples)


def make_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last):
    kind = IterableFetcher if is_iterable else MapFetcher
    return kind(dataset, auto_collation, collate_fn, drop_last)


def _serialised(data, worker_id):
    """The pickled result, pickled here so that a batch that cannot be pickled becomes an error
    the loader raises (a multiprocessing queue would drop it in its feeder thread: a hang)."""
    try:
        return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return pickle.dumps(ExceptionWrapper(sys.exc_info(),
                                             f"in DataLoader worker process {worker_id}"))


def worker_loop(is_iterable, dataset, index_queue, result_queue, done_event, auto_collation,
                collate_fn, drop_last, batch_size, base_seed, init_fn, worker_id, num_workers):
    """The body of worker `worker_id`: seed, run init_fn, then fetch batches until told to stop."""
    global _worker_info
    parent = os.getppid()
    try:
        import graphc
        seed = base_seed + worker_id
        random.seed(seed)
        graphc.manual_seed(seed)
        np.random.seed(numpy_seed(base_seed, worker_id))
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        init_error = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = make_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:
            init_error = ExceptionWrapper(sys.exc_info(), f"in DataLoader worker process "
                                                          f"{worker_id}")
        exhausted = False
        while True:
            try:
                task = index_queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if done_event.is_set() or os.getppid() != parent:
                    return   # shut down, or the loader's process is gone
                continue
            if task is None:
                return
            if isinstance(task, ResumeIteration):
                result_queue.put((None, _serialised(task, worker_id)))
                exhausted = False
                fetcher = make_fetcher(is_iterable, dataset, auto_collation, collate_fn,
                                       drop_last)
                continue
            if done_event.is_set() or exhausted:
                continue   # the loader is shutting down, or this worker's stream has ended
            task_index, indices = task
            if init_error is not None:
                data, init_error = init_error, None
            else:
                try:
                    data = fetcher.fetch(batch_size if is_iterable else indices)
                except StopIteration if is_iterable else ():
                    data = IterableDatasetStopIteration(worker_id)
                    exhausted = True
                except Exception:
                    data = ExceptionWrapper(sys.exc_info(),
                                            f"in DataLoader worker process {worker_id}")
            result_queue.put((task_index, _serialised(data, worker_id)))
            del data
    except KeyboardInterrupt:
        pass   # the loader's process handles the interrupt
    finally:
        if done_event.is_set():
            result_queue.cancel_join_thread()
        result_queue.close()
