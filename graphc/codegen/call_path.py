"""The Python side of a compiled call, rendered as source for one specialisation.

A call is: guard check → one native call → outputs and write-backs (DESIGN.md). Written as
generic loops over a specialisation's tables, as graphc.compile first does, that costs ~5 µs of
interpreter work per call: several times the native code of a small training step. Rendered
for one signature (no loops, key tuples or dicts; every constant a global of the generated
function), the same work takes ~2 µs. graphc.compile renders this function for the signature
it last met, and it becomes the compiled function's own `__call__`; its guard raises Miss,
before anything has happened, for any call it was not written for, and the generic path
(`CompiledFunction._call`) takes over.

`compiled.call_source()` shows the latest one.
"""


class Miss(Exception):
    """The guard rejected the call: nothing was done, the generic path takes it."""


class NativeFailure(Miss):
    """The native call failed (a bad index, a singular matrix) having changed nothing; `error`
    is the exception eager code raises there. The generic path runs the function eagerly."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error

# reading a rebound or emptied name, or a value of another type, rejects the call (and gives a
# captured source no value: compile._Source)
GUARD_FAILURES = (AttributeError, IndexError, KeyError, TypeError, ValueError)

_ABSENT = object()


def item_of(mapping, key):
    """`mapping[key]` for a dict keyed by tensors (an optimizer's state), by identity: a
    missing key raises KeyError (a defaultdict would insert it)."""
    value = dict.get(mapping, key, _ABSENT)
    if value is _ABSENT:
        raise KeyError("a tensor key")
    return value


def _bound(out, source):
    """A source's expression (compile._Source) with its ROOT, ITEM and KEY names made globals
    of the rendered function and ARGS its arguments; names inside string keys stay."""
    import io
    import tokenize
    names = {name: out.constant(name.rstrip("0123456789") or name, value)
             for name, value in source.names.items()}
    names["ARGS"] = "args"
    expression, pieces, end = source.expression, [], 0  # one line
    for token in tokenize.generate_tokens(io.StringIO(expression).readline):
        if token.type == tokenize.NAME and token.string in names:
            start = token.start[1]
            pieces += [expression[end:start], names[token.string]]
            end = token.end[1]
    return "".join(pieces) + expression[end:]


class Writer:
    """Lines of Python, with the objects they use kept as named globals."""

    def __init__(self):
        self.lines, self.namespace = [], {"Miss": Miss}
        self.apart = None  # the name of the path's flag: its arrays were last found apart

    def constant(self, label, value):
        for name, known in self.namespace.items():
            if name.startswith(label) and known is value:
                return name
        name = f"{label}{sum(1 for key in self.namespace if key.startswith(label))}"
        self.namespace[name] = value
        return name

    def add(self, line, depth=1):
        self.lines.append("    " * depth + line)


def _tensor_guard(out, expression, value, state, depth, slot=None):
    """Rejects unless the tensor `expression` has the signature and .grad of `state` (a
    compile key entry: (signature, grad id)). The metadata is compared only when its array is
    not the one last seen there (numpy arrays never change shape or dtype in place). `slot`: (index,
    ARRAYS, SLOTS, ADDRESS, FFI) names of the native input this tensor is, whose pointer is
    updated with the array."""
    (_, shape, strides, dtype, requires_grad), grad = state  # grad: has one (or is this id)
    if slot is None:
        index, seen = 0, out.constant("SEEN", [value._data])
    else:
        index, seen = slot[0], slot[1]
    out.add(f"if {expression}._data is not {seen}[{index}]:", depth)
    out.add(f"data = {expression}._data", depth + 1)
    # the dtype too: a tensor's dtype is its array's (one numpy dtype per graphc dtype), so
    # the array last seen there has the dtype last seen there
    out.add(f"if type({expression}) is not {out.constant('TYPE', type(value))} "
            f"or data.shape != {shape!r} or data.strides != {strides!r} "
            f"or {expression}._dtype is not {out.constant('DTYPE', dtype)}:", depth + 1)
    out.add("raise Miss", depth + 2)
    out.add(f"{seen}[{index}] = data", depth + 1)
    out.add(f"{out.apart}[0] = False", depth + 1)  # a new array: aliasing checked again
    if slot is not None:
        out.add(f"{slot[2]}[{index}] = {slot[3]}({slot[4]}, data)", depth + 1)
    if grad is None or grad is False:
        grad_check = f"{expression}._grad is not None"
    elif grad is True:
        grad_check = f"{expression}._grad is None"
    else:
        grad_check = f"{expression}._grad is not {out.constant('GRAD', value._grad)}"
    out.add(f"if {expression}._requires_grad {'is not' if requires_grad else 'is'} True "
            f"or {grad_check}:", depth)
    out.add("raise Miss", depth + 1)


def render(function_name, key, args, numbers, sources, sourced, fixed, grad_mode_state,
           specialisation, signature_of, alias_pattern):
    """The source and globals of `call_<name>(args, kwargs)` for the signature `key`.

    key, args, sourced: a call's signature (compile.CompiledFunction._key), its arguments and
    the tensors its sources held, which match it; numbers: ((name, reader), value) pairs for
    the numbers the function reads from closures and globals; sources: compile._Source, where
    captured tensors are read on every call; fixed: the captured tensors held by identity.
    `specialisation` has `render_call` (its steps are written out) or is called after the
    guard as `specialisation(args, kwargs, sourced)`; alias_pattern: compile.alias_pattern."""
    out = Writer()
    out.apart = out.constant("APART", [False])  # this path's arrays were last found apart
    arguments, _, grad_enabled, _, source_states, _, _, aliases = key
    native = hasattr(specialisation, "render_call")
    # a native specialisation's inputs: their pointers are updated by the guard
    slot_of = specialisation.input_slots(out) if native else lambda kind, which: None
    all_fixed = fixed
    if native:
        fixed = [tensor for index, tensor, _ in specialisation.plan if index is None]
    out.add(f"def call_{''.join(c if c.isalnum() else '_' for c in function_name)}"
            f"(self, *args, **kwargs):", 0)
    out.add('"""The guard, then the call (graphc/codegen/call_path.py)."""')
    out.add("try:")
    out.add(f"if kwargs or {f'len(args) != {len(args)}' if args else 'args'}:", 2)
    out.add("raise Miss", 3)
    names = [f"a{i}" for i in range(len(args))]
    if args:
        out.add(f"{', '.join(names)}{',' if len(args) == 1 else ''} = args", 2)
    for name, value, signature in zip(names, args, arguments):
        if signature[0] == "tensor":
            _tensor_guard(out, name, value, (signature, value._grad is not None), 2,
                          slot_of("argument", int(name[1:])))
        elif signature[0] == "value":
            out.add(f"if type({name}) is not {out.constant('TYPE', signature[1])} "
                    f"or {name} != {out.constant('VALUE', signature[2])}:", 2)
            out.add("raise Miss", 3)
        else:
            out.add(f"if {out.constant('SIGNATURE', signature_of)}({name}) != "
                    f"{out.constant('EXPECTED', signature)}:", 2)
            out.add("raise Miss", 3)
    out.add(f"if {out.constant('GRAD_MODE', grad_mode_state)}.enabled is not "
            f"{grad_enabled!r}:", 2)
    out.add("raise Miss", 3)
    for source, value in numbers:
        out.add(f"number = {_bound(out, source)}  # {source.label}", 2)
        out.add(f"if type(number) is not {out.constant('TYPE', type(value))} "
                f"or number != {out.constant('VALUE', value)}:", 2)
        out.add("raise Miss", 3)
    captured, bound = [], {}  # bound: a source's expression -> the local holding it
    for index, (source, value, state) in enumerate(zip(sources, sourced, source_states)):
        expression = _bound(out, source)
        # `w.grad` reads the `w` found above (the guard runs no code that could rebind it)
        within = max((known for known in bound if expression.startswith(known)
                      and expression[len(known):len(known) + 1] in (".", "[")),
                     key=len, default=None)
        bound[expression] = f"s{index}"
        if within is not None:
            expression = bound[within] + expression[len(within):]
        out.add(f"s{index} = {expression}  # {source.label}", 2)
        _tensor_guard(out, f"s{index}", value, state, 2, slot_of("source", index))
        captured.append(f"s{index}")
    for tensor in fixed:
        name = out.constant("FIXED", tensor)
        slot = slot_of("fixed", tensor)
        data = (out.constant("FIXED_DATA", tensor._data) if slot is None
                else f"{slot[1]}[{slot[0]}]")  # a new array: a new key, the generic path
        out.add(f"if {name}._data is not {data} "
                f"or ({name}._requires_grad is True) is not {tensor._requires_grad is True!r}:",
                2)
        out.add("raise Miss", 3)
        grad = "None" if tensor._grad is None else out.constant("GRAD", tensor._grad)
        out.add(f"if {name}._grad is not {grad}:", 2)
        out.add("raise Miss", 3)
    # which of these tensors are one array (compile.alias_pattern): the trace read them as one
    tensors = [name for name, signature in zip(names, arguments) if signature[0] == "tensor"]
    tensors += captured + [out.constant("FIXED", tensor) for tensor in all_fixed]
    if tensors and aliases is None:
        # the arrays were found apart since any of them was last replaced: only an array not
        # seen before can alias another
        out.add(f"if not {out.apart}[0]:", 2)
        out.add(f"if len({{{', '.join(f'id({t}._data)' for t in tensors)}}}) != "
                f"{len(tensors)}:", 3)
        out.add("raise Miss", 4)
        out.add(f"{out.apart}[0] = True", 3)
    elif tensors:
        out.add(f"if {out.constant('ALIASES', alias_pattern)}([{', '.join(tensors)}]) != "
                f"{aliases!r}:", 2)
        out.add("raise Miss", 3)
    out.add(f"except {out.constant('FAILURES', GUARD_FAILURES)}:")
    out.add("raise Miss", 2)
    if native:
        specialisation.render_call(out, names, captured, fixed)
    else:
        out.add(f"return {out.constant('SPECIALISATION', specialisation)}(args, kwargs, "
                f"[{', '.join(captured)}])")
    # a refused call goes to the generic path, after the lock is let go: the specialisation's
    # slots and buffers serve one call at a time (the native call releases the GIL)
    body = out.lines[2:]
    if native:
        lock = out.constant("LOCK", specialisation.lock)
        body = [f"    {lock}.acquire()", "    try:"] + ["    " + line for line in body] + [
            "    except Miss:", "        pass", "    finally:", f"        {lock}.release()"]
    else:
        body = ["    try:"] + ["    " + line for line in body] + [
            "    except Miss:", "        pass"]
    out.lines[2:] = body + ["    return self._call(args, kwargs)"]
    return "\n".join(out.lines) + "\n", out.namespace


def build(source, namespace):
    """The function that `render` wrote."""
    code = compile(source, "<graphc call path>", "exec")
    exec(code, namespace)  # noqa: S102  (graphc's own generated code, from render above)
    return next(value for name, value in namespace.items() if name.startswith("call_"))
