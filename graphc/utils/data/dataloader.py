"""graphc.utils.data.DataLoader: batches from a dataset, in this process or in worker processes.

As torch's: a sampler (sequential, shuffled, or given) yields indices, a BatchSampler groups them,
the dataset's samples are fetched and collated. Every iterator first draws a 64-bit base seed
from `generator` (graphc's default generator when None), then the shuffled order, so the batches
of num_workers=0 and num_workers>0 are the same. With workers, worker i seeds Python's `random`
and graphc's default generator with base_seed + i (and numpy's global generator from both), so
random ops inside a dataset's __getitem__ are reproducible; batches come back in order; an
exception in a worker is raised again here naming the worker and quoting its traceback.

Worker processes start with a safe method (forkserver where the platform has it, else spawn):
never fork a process whose OpenMP and BLAS threads are running. So the dataset, collate_fn and
worker_init_fn must be picklable (module-level classes and functions), as with torch's spawn.
"""
import itertools
import multiprocessing
import pickle
import queue
import warnings
import weakref

from . import _worker
from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "get_worker_info"]

get_worker_info = _worker.get_worker_info

_LIVENESS_POLL_SECONDS = 5.0   # without a timeout, how often a waiting loader checks its workers
_JOIN_SECONDS = 5.0


class _InfiniteConstantSampler(Sampler):
    """The sampler of an IterableDataset: the dataset itself decides what comes next."""

    def __iter__(self):
        while True:
            yield None


def _default_context():
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        # workers forked from a server that has imported graphc start in milliseconds
        context.set_forkserver_preload(["graphc"])
        return context
    return multiprocessing.get_context("spawn")


class DataLoader:
    __initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set "
                             "prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order
        self._is_iterable = isinstance(dataset, IterableDataset)
        if self._is_iterable:
            if shuffle not in {False, None}:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None:
            if self._is_iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self.__initialized = True
        self._iterator = None

    @property
    def multiprocessing_context(self):
        return self.__multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context):
        if context is not None:
            if self.num_workers <= 0:
                raise ValueError("multiprocessing_context can only be used with multi-process "
                                 "loading (num_workers > 0), but got "
                                 f"num_workers={self.num_workers}")
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError("multiprocessing_context option should specify a valid "
                                     f"start method in {methods!r}, but got "
                                     f"multiprocessing_context={context!r}")
                context = multiprocessing.get_context(context)
            if not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError("multiprocessing_context option should be a valid context "
                                "object or a string specifying the start method, but got "
                                f"multiprocessing_context={context}")
        self.__multiprocessing_context = context

    def __setattr__(self, attribute, value):
        if self.__initialized and attribute in ("batch_size", "batch_sampler", "sampler",
                                                "drop_last", "dataset", "persistent_workers"):
            raise ValueError(f"{attribute} attribute should not be set after "
                             f"{self.__class__.__name__} is initialized")
        super().__setattr__(attribute, value)

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self):
        if self.num_workers == 0:
            return _SingleProcessIterator(self)
        if not self.persistent_workers:
            return _MultiProcessIterator(self)
        if self._iterator is None:
            self._iterator = _MultiProcessIterator(self)
        else:
            self._iterator._reset(self)
        return self._iterator

    def __len__(self):
        if self._is_iterable:
            length = len(self.dataset)
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else \
                    -(-length // self.batch_size)
            return length
        return len(self._index_sampler)


class _BaseIterator:
    def __init__(self, loader):
        from ... import empty, int64
        self._loader = loader
        self._is_iterable = loader._is_iterable
        self._auto_collation = loader._auto_collation
        if loader.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=3)
        # drawn before the sampler's order, as torch does, so that both depend on the seed
        self._base_seed = int(empty((), dtype=int64).random_(generator=loader.generator).item())
        self._reset(loader)

    def _reset(self, loader):
        self._sampler_iter = iter(_InfiniteConstantSampler() if self._is_iterable
                                  else loader._index_sampler)

    def _next_index(self):
        return next(self._sampler_iter)

    def __iter__(self):
        return self

    def __next__(self):
        return self._next_data()

    def __len__(self):
        return len(self._loader)


class _SingleProcessIterator(_BaseIterator):
    def __init__(self, loader):
        super().__init__(loader)
        self._fetcher = _worker.make_fetcher(self._is_iterable, loader.dataset,
                                             self._auto_collation, loader.collate_fn,
                                             loader.drop_last)

    def _next_data(self):
        index = self._next_index()
        return self._fetcher.fetch(self._loader.batch_size if self._is_iterable else index)


class _MultiProcessIterator(_BaseIterator):
    """Workers fetch whole batches; prefetch_factor tasks per worker are in flight, handed out
    round robin; results are reordered by task number."""

    def __init__(self, loader):
        self._num_workers = loader.num_workers
        self._prefetch_factor = loader.prefetch_factor
        self._persistent = loader.persistent_workers
        self._timeout = loader.timeout
        context = loader.multiprocessing_context or _default_context()
        self._result_queue = context.Queue()
        self._done_event = context.Event()
        self._index_queues, self._workers = [], []
        self._first_epoch = True
        super().__init__(loader)   # draws the base seed: before the workers need it
        for worker_id in range(self._num_workers):
            index_queue = context.Queue()
            index_queue.cancel_join_thread()
            worker = context.Process(
                target=_worker.worker_loop, daemon=True,
                args=(self._is_iterable, loader.dataset, index_queue, self._result_queue,
                      self._done_event, self._auto_collation, loader.collate_fn,
                      loader.drop_last, loader.batch_size, self._base_seed,
                      loader.worker_init_fn, worker_id, self._num_workers))
            worker.start()
            self._index_queues.append(index_queue)
            self._workers.append(worker)
        # stops the workers when this iterator is collected (a loop left by break) or at exit
        self._shutdown = weakref.finalize(self, _shutdown_workers, self._workers,
                                          self._index_queues, self._result_queue,
                                          self._done_event)
        self._start_epoch()

    def _reset(self, loader):
        super()._reset(loader)
        if getattr(self, "_workers", None) and not self._first_epoch:
            for index_queue in self._index_queues:
                index_queue.put(_worker.ResumeIteration())
            acknowledged = 0
            while acknowledged < self._num_workers:
                _, data = self._get_data()
                if isinstance(data, _worker.ResumeIteration):
                    acknowledged += 1
            self._start_epoch()

    def _start_epoch(self):
        self._first_epoch = False
        self._send_index = 0       # the next task's number
        self._received_index = 0   # the task whose batch is returned next
        self._task_info = {}       # task number -> (worker id,) or (worker id, batch)
        self._worker_active = [True] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self):
        try:
            index = self._next_index()
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._worker_cycle)
            if self._worker_active[worker_id]:
                break
        else:
            return
        self._index_queues[worker_id].put((self._send_index, index))
        self._task_info[self._send_index] = (worker_id,)
        self._send_index += 1

    def _get_data(self):
        while True:
            try:
                wait = self._timeout if self._timeout > 0 else _LIVENESS_POLL_SECONDS
                task_index, payload = self._result_queue.get(timeout=wait)
                return task_index, pickle.loads(payload)
            except queue.Empty:
                if self._timeout > 0:
                    raise RuntimeError(
                        f"DataLoader timed out after {self._timeout} seconds") from None
                dead = [w.pid for w in self._workers if not w.is_alive()]
                if dead:
                    self._shutdown()
                    pids = ", ".join(str(pid) for pid in dead)
                    raise RuntimeError(
                        f"DataLoader worker (pid(s) {pids}) exited unexpectedly") from None

    def _next_data(self):
        while True:
            while self._received_index < self._send_index:
                info = self._task_info.get(self._received_index)
                if info is not None and (len(info) == 2 or self._worker_active[info[0]]):
                    break
                # a task given to a worker whose iterable ran out never comes back
                self._task_info.pop(self._received_index, None)
                self._received_index += 1
            else:
                if not self._persistent:
                    self._shutdown()
                raise StopIteration
            if len(self._task_info[self._received_index]) == 2:
                data = self._task_info.pop(self._received_index)[1]
                self._received_index += 1
                return self._process(data)
            task_index, data = self._get_data()
            if isinstance(data, _worker.IterableDatasetStopIteration):
                self._worker_active[data.worker_id] = False
                self._try_put_index()
                continue
            if task_index != self._received_index:
                self._task_info[task_index] += (data,)
                continue
            del self._task_info[task_index]
            self._received_index += 1
            return self._process(data)

    def _process(self, data):
        self._try_put_index()
        if isinstance(data, _worker.ExceptionWrapper):
            data.reraise()
        return data


def _shutdown_workers(workers, index_queues, result_queue, done_event):
    done_event.set()
    for index_queue in index_queues:
        try:
            index_queue.put(None)
        except (OSError, ValueError):
            pass   # already closed
    for worker in workers:
        worker.join(timeout=_JOIN_SECONDS)
        if worker.is_alive():
            worker.terminate()
            worker.join()
    for index_queue in index_queues:
        index_queue.close()
    result_queue.cancel_join_thread()
    result_queue.close()
