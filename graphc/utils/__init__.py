"""graphc.utils: torch.utils counterparts. `graphc.utils.data` is imported on first use (it
brings multiprocessing, which `import graphc` should not pay for)."""
import importlib

__all__ = ["data"]


def __getattr__(name):
    if name == "data":
        return importlib.import_module(".data", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
