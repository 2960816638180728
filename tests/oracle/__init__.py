"""PyTorch 2.13's answers for the tests that compare graphc with torch: live or recorded.

A test asks `answer(case, compute)`: `compute(torch)` is run where torch is importable, and read
back from `tests/oracle/<test module>.json` (written by `tests/oracle/regenerate.py`) where it is
not; either way the test receives the same decoded form (`RecordedTensor`, `Raised`, plain
Python values), so one test body serves both. A case is keyed by the test's node name (with its
parameters) and the `case` label the test gives it. Without torch, a case with no recorded answer
fails: a new test cannot silently skip. With torch, every live answer must equal the recorded
one: a stale recording fails too.

Twin tests (`torch_twin`, the autograd tests that run the same program on graphc and on torch)
record that torch passed them, with a digest of the test's source and parameters; without torch
the twin passes only if that digest is current, that is, if torch 2.13 passed this exact test.

GRAPHC_TORCH_ORACLE selects the mode: unset (live where torch is importable, recorded where
not), "recorded" (read the recording even with torch), "record" (live, and write the recording).
"""
import builtins
import hashlib
import importlib
import inspect
import json
import os
import pathlib

import numpy as np
import pytest

FOLDER = pathlib.Path(__file__).resolve().parent
MODE_VARIABLE = "GRAPHC_TORCH_ORACLE"
REGENERATE = "PYTHONPATH=. <python with torch 2.13> tests/oracle/regenerate.py"


def _torch_or_none():
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def mode():
    chosen = os.environ.get(MODE_VARIABLE, "")
    if chosen not in ("", "recorded", "record"):
        raise ValueError(f"{MODE_VARIABLE}={chosen!r}: expected 'recorded' or 'record'")
    if chosen == "recorded" or (chosen == "" and _torch_or_none() is None):
        return "recorded"
    if _torch_or_none() is None:
        raise RuntimeError(f"{MODE_VARIABLE}=record needs torch")
    return chosen or "live"


# ------------------------------------------------------------------ encoding torch's answers


class RecordedTensor:
    """A torch tensor as recorded: dtype (the string torch prints, 'torch.float32'), shape and
    values; `numpy()` and `tolist()` rebuild them."""

    def __init__(self, dtype, shape, values):
        self.dtype, self.shape, self._values = f"torch.{dtype}", tuple(shape), values

    def numpy(self):
        return np.array(self._values, dtype=self.dtype.split(".")[1]).reshape(self.shape)

    def tolist(self):
        return self.numpy().tolist()

    def item(self):
        return self.numpy().item()

    def __repr__(self):
        return f"RecordedTensor({self.dtype}, {self.shape}, {self._values})"


class Raised:
    """torch raised: its exception's class name, the nearest builtin class it derives from
    (torch's own classes derive from RuntimeError and friends) and its message."""

    def __init__(self, name, builtin, message):
        self.name, self.message, self.type = name, message, getattr(builtins, builtin)

    def __repr__(self):
        return f"{self.name}({self.message!r})"

    def __str__(self):
        return self.message


def _nearest_builtin(error_type):
    return next(k.__name__ for k in error_type.__mro__ if getattr(builtins, k.__name__, None) is k)


def encode(value):
    """torch's answer as JSON-ready data: tensors, tuples (return types too), lists, dicts,
    numbers, strings and None."""
    if type(value).__name__ in ("Tensor", "Parameter") and hasattr(value, "detach"):
        value = value.detach()
        return {"tensor": str(value.dtype).split(".")[1], "shape": list(value.shape),
                "values": value.reshape(-1).tolist()}
    if isinstance(value, BaseException):
        return {"raised": type(value).__name__, "builtin": _nearest_builtin(type(value)),
                "message": str(value)}
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"dict": [[encode(k), encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if type(value).__name__ == "dtype" and str(value).startswith("torch."):
        return {"dtype": str(value)}
    raise TypeError(f"cannot record {type(value).__name__} {value!r}: return tensors or "
                    f"plain Python values from the torch computation")


def decode(data):
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "tensor" in data:
        return RecordedTensor(data["tensor"], data["shape"], data["values"])
    if "raised" in data:
        return Raised(data["raised"], data["builtin"], data["message"])
    if "tuple" in data:
        return tuple(decode(v) for v in data["tuple"])
    if "dtype" in data:
        return data["dtype"]
    return {decode(k): decode(v) for k, v in data["dict"]}


def _canonical(data):
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def digest(data):
    return hashlib.sha256(_canonical(data).encode()).hexdigest()[:16]


# ------------------------------------------------------------------ the recording


class _Recording:
    """The recorded answers of every test module, read on first use; in record mode, the
    answers given in this session, written out by `write`."""

    def __init__(self):
        self.loaded = {}
        self.fresh = {}

    def module(self, name):
        if name not in self.loaded:
            path = FOLDER / f"{name}.json"
            self.loaded[name] = json.loads(path.read_text()) if path.exists() else {}
        return self.loaded[name]

    def get(self, module, section, test, case):
        return self.module(module).get(section, {}).get(test, {}).get(case)

    def put(self, module, section, test, case, data):
        cases = self.fresh.setdefault(module, {}).setdefault(section, {}).setdefault(test, {})
        if case in cases and _canonical(cases[case]) != _canonical(data):
            raise AssertionError(f"{test}: case {case!r} recorded twice with different answers; "
                                 f"give the cases distinct labels")
        cases[case] = data

    def write(self):
        for module, sections in self.fresh.items():
            lines = []
            for section in sorted(sections):
                tests = sections[section]
                body = ",\n".join(f"  {json.dumps(test)}: {_canonical(tests[test])}"
                                  for test in sorted(tests))
                lines.append(f" {json.dumps(section)}: {{\n{body}\n }}")
            (FOLDER / f"{module}.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")
        return sorted(self.fresh)


RECORDING = _Recording()
_current = {}


def start_test(item):
    """Called for every test (tests/conftest.py): answers are keyed by the running test."""
    _current["module"] = pathlib.Path(str(item.fspath)).stem
    _current["test"] = item.name


def _where():
    if "test" not in _current:
        raise RuntimeError("oracle.answer is called from inside a test")
    return _current["module"], _current["test"]


def _stored_form(data, by_digest):
    return {"digest": digest(data)} if by_digest else data


def _torch_data(case, compute, by_digest):
    """The stored form of torch's answer for `case`, live or recorded, checked against the
    recording where both exist."""
    module, test = _where()
    chosen = mode()
    recorded = RECORDING.get(module, "answers", test, case)
    if chosen == "recorded":
        if recorded is None:
            pytest.fail(f"{module}::{test}: no recorded torch answer for case {case!r}; "
                        f"record it with `{REGENERATE}`", pytrace=False)
        return recorded, None
    torch = _torch_or_none()
    try:
        live = encode(compute(torch))
    except Exception as error:  # noqa: BLE001 (torch's exception is the answer)
        live = encode(error)
    stored = _stored_form(live, by_digest)
    if chosen == "record":
        RECORDING.put(module, "answers", test, case, stored)
    elif recorded is None or _canonical(recorded) != _canonical(stored):
        state = "no recorded answer" if recorded is None else f"recorded {recorded!r}"
        pytest.fail(f"{module}::{test}: case {case!r}: torch {torch.__version__} gives "
                    f"{live!r}, {state}; re-record with `{REGENERATE}`", pytrace=False)
    return stored, live


def answer(case, compute):
    """torch's answer to `compute(torch)` (decoded: RecordedTensor, Raised, tuples, lists,
    plain values), live where torch is importable, recorded where not."""
    return decode(_torch_data(case, compute, by_digest=False)[0])


def assert_same_as_torch(case, ours, compute):
    """`ours` (plain Python values: strings, lists, numbers) must be exactly what compute(torch)
    gives. Only a digest is recorded, for long answers such as printed tensors."""
    stored, live = _torch_data(case, compute, by_digest=True)
    if digest(encode(ours)) != stored["digest"]:
        shown = f"torch gives {live!r}" if live is not None else \
            f"torch's recorded answer has digest {stored['digest']}"
        raise AssertionError(f"case {case!r}: graphc gives {ours!r}, {shown}")


# ------------------------------------------------------------------ twins verified by torch


def _source_of(value):
    if callable(value):
        try:
            return inspect.getsource(value)
        except (OSError, TypeError):
            return repr(value)
    return repr(value)


def twin_digest(item):
    """What torch verified: the test's source and its parameters (lambdas by their source)."""
    parts = [inspect.getsource(item.function)]
    params = getattr(getattr(item, "callspec", None), "params", {})
    parts += [f"{name}={_source_of(value)}" for name, value in sorted(params.items())
              if name != "lib"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


class RecordedTwin:
    """Stands for torch in a twin test without torch: the test body is not run
    (tests/conftest.py); the recording must say torch passed this exact test."""


def torch_twin():
    """The `lib` of a twin test's torch variant: torch itself, or RecordedTwin."""
    return RecordedTwin() if mode() == "recorded" else importlib.import_module("torch")


def check_twin_verified(item):
    module, test = pathlib.Path(str(item.fspath)).stem, item.name
    recorded = RECORDING.get(module, "verified", test, "digest")
    if recorded is None:
        pytest.fail(f"{module}::{test}: torch never passed this twin; record it with "
                    f"`{REGENERATE}`", pytrace=False)
    if recorded != twin_digest(item):
        pytest.fail(f"{module}::{test}: the test changed since torch passed it; run it against "
                    f"torch again with `{REGENERATE}`", pytrace=False)


def record_twin_passed(item):
    module, test = pathlib.Path(str(item.fspath)).stem, item.name
    RECORDING.put(module, "verified", test, "digest", twin_digest(item))
