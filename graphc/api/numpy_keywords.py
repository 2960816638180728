"""numpy's names for torch's arguments: `axis=` for `dim=`, `keepdims=` for `keepdim=`.

torch's argument parser accepts them in every native function that has a `dim` (or `keepdim`)
argument: `x.sum(axis=1, keepdims=True)`, `x.cumsum(axis=0)`, `x.max(axis=1)`, `sort(axis=0)`...
The functions torch writes in Python (norm, split, unique) do not, nor do those whose argument
has another name (`flatten(start_dim)`, `roll(dims)`). `accept_numpy_keywords` wraps a public
function once, when graphc.api collects them, so the ops themselves only know torch's names.
"""
import functools
import inspect
import types

__all__ = ["accept_numpy_keywords"]

ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))
# written in Python in torch, so its parser never sees them
NOT_ALIASED = frozenset({"norm", "split", "unique", "unique_consecutive"})


def accept_numpy_keywords(name, function):
    """`function`, accepting numpy's names where it has torch's; unchanged if it has neither."""
    if not isinstance(function, types.FunctionType) or name in NOT_ALIASED:
        return function
    parameters = inspect.signature(function).parameters
    aliases = {alias: torch_name for alias, torch_name in ALIASES
               if torch_name in parameters and alias not in parameters}
    if not aliases:
        return function

    @functools.wraps(function)
    def with_numpy_keywords(*args, **kwargs):
        if kwargs:
            for alias, torch_name in aliases.items():
                if alias in kwargs:
                    if torch_name in kwargs:  # both spellings: torch's parser takes neither
                        raise TypeError(f"{name}() got an unexpected keyword argument '{alias}'")
                    kwargs[torch_name] = kwargs.pop(alias)
        return function(*args, **kwargs)

    return with_numpy_keywords
