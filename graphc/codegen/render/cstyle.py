"""One C-style renderer of the kernel IR (codegen/kernel.py), after tinygrad's cstyle.py: the
statements and expressions print the same in every C-like language, and a `Dialect` holds what
differs (how a parallel loop is spread over threads, how an error stops the kernel, the kernel's
signature). render/c.py and render/cuda.py are the two dialects."""
from .. import kernel as k

# C's precedence, tightest last: a child binding looser than its parent is parenthesised
_PRECEDENCE = {"||": 1, "&&": 2, "==": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4,
               "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}
_SELECT, _UNARY, _ATOM = 0, 7, 8
# the bitwise operators of 64-bit words built from two 32-bit ones: | between == and &&, << between
# the comparisons and + (its right operand binds tighter)
_PRECEDENCE.update({"|": 2.5, "<<": 4.5})


class Dialect:
    """What one C-like target changes. `parallel(loop, body_lines)` returns the lines of a
    parallel loop (a plain for loop when the target spreads nothing)."""
    name = None
    float_suffix = "f"

    def literal(self, const):
        value = const.value
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, int) and const.ctype in ("uint32_t", "uint64_t"):
            return f"{value}u"  # an unsigned literal: a span up to 2^64 - 1
        if isinstance(value, int) and const.ctype not in ("float", "double"):
            return str(value) if value >= -2 ** 63 else f"({value + 1} - 1)"
        text = repr(float(value))
        if text in ("inf", "-inf", "nan"):
            return {"inf": "INFINITY", "-inf": "(-INFINITY)", "nan": "NAN"}[text]
        return text + (self.float_suffix if const.ctype == "float" else "")

    def parameters(self, parameters):
        """A kernel's parameter list (kernel.Parameter): C99's `restrict` pointers (a dialect
        without the word defines it)."""
        return ", ".join(f"{'' if p.written else 'const '}{p.ctype} *restrict {p.name}"
                         if p.pointer else f"{p.ctype} {p.name}" for p in parameters)

    def arguments(self, arguments):
        """A call's arguments (kernel expressions)."""
        return ", ".join(self.expression(a) for a in arguments)

    def formula(self, text):
        """A fused formula's text (printed in C's spellings when it was lowered) in this
        language's."""
        return text

    def loop_header(self, loop, stop):
        return [f"for (int64_t {loop.var} = {self.expression(k.as_expr(loop.start))}; "
                f"{loop.var} < {stop}; {loop.var}++) {{"]

    def parallel(self, loop, stop):
        """Lines before a parallel loop's header that spread it over threads."""
        raise NotImplementedError

    def stop_call(self, check, release):
        """The lines stopping the kernel with `check`'s error report."""
        raise NotImplementedError

    # ---------------------------------------------------------------- expressions

    def expression(self, e, parent=-1):
        text, precedence = self._expression(e)
        return f"({text})" if precedence < parent else text

    def _expression(self, e):
        if isinstance(e, k.Var):
            return e.name, _ATOM
        if isinstance(e, k.Const):
            text = self.literal(e)
            return text, _ATOM if not text.startswith("-") else _UNARY
        if isinstance(e, k.Load):
            return f"{e.buffer}[{self.expression(e.index)}]", _ATOM
        if isinstance(e, k.Member):
            return f"{self.expression(e.base, _ATOM)}.{e.field}", _ATOM
        if isinstance(e, k.Binary):
            precedence = _PRECEDENCE[e.op]
            # the right operand of - / % binds tighter than its parent: a - (b - c); an &&
            # under || is parenthesised for the reader (and for gcc's -Wparentheses)
            left = precedence + 2 if e.op == "||" else precedence
            right = max(left, precedence + (e.op in "-/%" or e.op in ("<", "<=", ">", ">=", "<<")))
            return (f"{self.expression(e.left, left)} {e.op} "
                    f"{self.expression(e.right, right)}"), precedence
        if isinstance(e, k.Unary):
            return f"{e.op}{self.expression(e.operand, _ATOM)}", _UNARY
        if isinstance(e, k.Call):
            arguments = ", ".join(self.expression(k.as_expr(a)) for a in e.arguments)
            return f"{e.function}({arguments})", _ATOM
        if isinstance(e, k.Select):
            # a condition of && or || in parentheses, as a reader expects
            return (f"{self.expression(e.condition, _PRECEDENCE['<'])} ? "
                    f"{self.expression(e.then, _SELECT + 1)} : "
                    f"{self.expression(e.otherwise, _SELECT)}"), _SELECT
        if isinstance(e, k.Cast):
            return f"({e.ctype}){self.expression(e.value, _ATOM)}", _UNARY
        if isinstance(e, k.Formula):
            return self.formula(e.text), _SELECT
        if isinstance(e, k.Address):
            if e.offset is None:
                return f"&{e.name}", _UNARY
            if e.offset == k.Const(0):
                return e.name, _ATOM
            return f"{e.name} + {self.expression(e.offset, 6)}", 5
        raise TypeError(f"not a kernel expression: {e!r}")

    # ---------------------------------------------------------------- statements

    def statements(self, body, release, pad=""):
        lines = []
        for s in body:
            lines += [pad + line for line in self.statement(s, release)]
        return lines

    def statement(self, s, release):
        x = self.expression
        if isinstance(s, k.Let):
            qualifier = "" if s.mutable else "const "
            return [f"{qualifier}{s.ctype} {s.name} = {x(s.value)};"]
        if isinstance(s, k.Assign):
            return [f"{x(s.target)} {s.op} {x(s.value)};"]
        if isinstance(s, k.Store):
            return [f"{s.buffer}[{x(s.index)}] {s.op} {x(s.value)};"]
        if isinstance(s, k.Do):
            return [f"{x(s.value)};"]
        if isinstance(s, k.Break):
            return ["break;"]
        if isinstance(s, k.Check):
            return [f"if ({x(s.condition)}) {{",
                    *["    " + line for line in self.stop_call(s, release)], "}"]
        if isinstance(s, k.If):
            lines = [f"if ({x(s.condition)}) {{", *self.statements(s.then, release, "    ")]
            if s.otherwise:
                lines += ["} else {", *self.statements(s.otherwise, release, "    ")]
            return lines + ["}"]
        if isinstance(s, k.Loop):
            stop = x(k.as_expr(s.stop))
            stoppable = any(isinstance(inner, (k.Check, k.Break)) for inner in k.walk(s.body))
            lines = self.parallel(s, stop) if s.kind == k.PARALLEL and not stoppable else []
            header = self.loop_header(s, stop)
            if s.comment:
                header[-1] += f"  /* {s.comment} */"
            return lines + header + self.statements(s.body, release, "    ") + ["}"]
        if isinstance(s, k.Array):
            return [f"{s.ctype} {s.name}[{s.count}];"]
        raise TypeError(f"not a kernel statement: {s!r}")

    # ---------------------------------------------------------------- kernels

    def body(self, kernel):
        """The lines of a kernel's body: scratch allocated, the statements (dead Lets dropped),
        scratch freed; `return 0` ends a kernel that can stop the call."""
        body = without_dead_lets(kernel.body)
        names = [name for _, name, _ in kernel.scratch]
        release = [f"free({name});" for name in names]
        lines = []
        if kernel.scratch:
            lines += [f"{ctype} *{name} = ({ctype} *)malloc({max(count, 1)} * sizeof *{name});"
                      for ctype, name, count in kernel.scratch]
            missing = [k.Var(name).eq(k.Const("NULL")) for name in names]
            condition = missing[0]
            for other in missing[1:]:
                condition = condition.or_(other)
            failed = k.Check(condition, k.ErrorKind.ALLOCATION_FAILED,
                             value=sum(count for _, _, count in kernel.scratch))
            lines += self.statement(failed, release)
        lines += self.statements(body, release)
        lines += release
        return lines


def used_names(statements):
    """Every variable name an expression of `statements` reads."""
    found = set()

    def visit(expression):
        for e in k.sub_expressions(expression):
            if isinstance(e, (k.Var, k.Address)):
                found.add(e.name)
            elif isinstance(e, k.Formula):
                found.update(e.reads)
    for s in k.walk(statements):
        for field in getattr(s, "__dataclass_fields__", ()):
            value = getattr(s, field)
            if isinstance(value, k.Expr):
                visit(value)
            elif field in ("stop", "start", "value", "size", "dim") and value is not None:
                visit(k.as_expr(value))
            if isinstance(s, k.Store) and field == "buffer":
                found.add(value)
    return found


def without_dead_lets(statements):
    """`statements` without the Lets nothing reads (index variables of dims a kernel does not
    address), repeated until none is left."""
    while True:
        used = used_names(statements)
        dead = {s.name for s in k.walk(statements) if isinstance(s, k.Let) and s.name not in used}
        if not dead:
            return statements
        statements = _drop(statements, dead)


def _drop(statements, dead):
    import dataclasses
    kept = []
    for s in statements:
        if isinstance(s, k.Let) and s.name in dead:
            continue
        if isinstance(s, k.Loop):
            s = dataclasses.replace(s, body=tuple(_drop(s.body, dead)))
        elif isinstance(s, k.If):
            s = dataclasses.replace(s, then=tuple(_drop(s.then, dead)),
                                    otherwise=tuple(_drop(s.otherwise, dead)))
        kept.append(s)
    return kept
