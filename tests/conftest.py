"""Hooks of the torch oracle (tests/oracle): each test's answers are keyed by its name; a twin
test's torch variant without torch checks the recording instead of running; in record mode the
answers given and the twins torch passed are written out at the end of the session."""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import oracle  # noqa: E402


@pytest.fixture(autouse=True)
def _oracle_test_name(request):
    oracle.start_test(request.node)


def _is_torch_twin(item):
    return getattr(getattr(item, "callspec", None), "params", {}).get("lib") == "torch"


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Without torch, the recording stands in for a twin's torch variant (its body needs torch)."""
    if _is_torch_twin(pyfuncitem) and isinstance(pyfuncitem.funcargs["lib"], oracle.RecordedTwin):
        oracle.check_twin_verified(pyfuncitem)
        return True
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """A live twin that passed: recorded in record mode, else its recording must be current."""
    result = yield
    if _is_torch_twin(item) and not isinstance(item.funcargs["lib"], oracle.RecordedTwin):
        if oracle.mode() == "record":
            oracle.record_twin_passed(item)
        else:
            oracle.check_twin_verified(item)
    return result


def pytest_sessionfinish(session):
    if oracle.mode() == "record":
        for module in oracle.RECORDING.write():
            print(f"\noracle: wrote tests/oracle/{module}.json")
