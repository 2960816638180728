"""Lowerings of draws: uniform, normal, bernoulli, exponential, randint, randperm and
multinomial, each taking the (seed, offset) its call claimed from the generator and computing
the numbers graphc.random's recipes give eager code, bit for bit. Philox blocks come from the
runtime's helpers (templates/c/elementwise.c.j2: graphc_philox, graphc_uniform_block,
graphc_normal_block, graphc_uniform53); element i of a draw is read from the stream words its
recipe assigns to it, so the blocks are independent and drawn in parallel."""
from ... import dtypes as _dt
from .. import kernel as k
from ..c_layout import _numel
from ..errors import ErrorKind
from . import entry, lowering

_RANDOM = ("uniform", "normal", "randperm", "bernoulli", "exponential", "randint",
           "multinomial")

_SEED, _OFFSET = k.Var("seed"), k.Var("offset")


def _bits(dtype):
    """Random bits per uniform of the draw's dtype (24: one word each, 53: two)."""
    return 24 if dtype is _dt.float32 else 53


def _word64(words, k_):
    """The 64-bit word of 32-bit words 2k and 2k + 1 (the high one first)."""
    high = k.Binary("<<", k.Cast("uint64_t", k.Load(words, 2 * k_)), k.Const(32))
    return k.Binary("|", high, k.Load(words, 2 * k_ + 1))


def _blocks(count, per_block, block, element, comment=None):
    """A parallel loop over the Philox blocks b of a draw of `count` values, `per_block` a
    block: `block` the statements filling the block's values, `element(i, k)` those of value k
    of block b (element i of the draw). The last block of a ragged draw stops at `count`."""
    blocks = -(-count // per_block)
    b, kk = k.Var("b"), k.Var("k")
    inner = [k.Let("i", "int64_t", b * per_block + kk)] + list(element(k.Var("i"), kk))
    bound, head = per_block, []
    if count % per_block:
        bound = k.Var("in_block")
        head = [k.Let("in_block", "int64_t", k.Select(
            b.lt(blocks - 1), k.Const(per_block), k.Const(count - (blocks - 1) * per_block)))]
    # threads are worth it by the values drawn, as for any loop over elements
    return k.Loop("b", blocks, tuple(block) + tuple(head) + (k.Loop("k", bound, tuple(inner)),),
                  k.PARALLEL, comment=comment, work=count)


def _philox_words(name="w"):
    """The four 32-bit words of Philox block b of the draw."""
    return [k.Array(name, "uint32_t", 4),
            k.Do(k.Call("graphc_philox", (_SEED, _OFFSET + k.Cast("uint64_t", k.Var("b")),
                                          k.Var(name))))]


def _draw(position, graph, node, target, types, draw, reads, body, summary, comment,
          scratch=()):
    ir = k.Kernel(node.op, list(reads), [target], body, scratch=list(scratch), draws=True,
                  comment=comment)
    return entry(position, graph, node, summary, ir, types, draw)


@lowering("uniform", "normal")
def uniform_or_normal(position, graph, node, target, layouts, pointer_of, types, draw):
    """uniform or normal numbers, a Philox block's worth at a time (Box-Muller pairs)."""
    count, attrs = _numel(node.shape), node.attrs
    bits = _bits(node.dtype)
    per_block = 4 if bits <= 32 else 2
    value = lambda kk: k.Load("values", kk)  # noqa: E731
    if node.op == "uniform" and (attrs["low"], attrs["high"]) != (0.0, 1.0):
        low, high = float(attrs["low"]), float(attrs["high"])
        value = lambda kk: k.Const(high - low) * k.Load("values", kk) + k.Const(low)  # noqa: E731
    elif node.op == "normal" and (attrs["mean"], attrs["std"]) != (0.0, 1.0):
        mean, std = float(attrs["mean"]), float(attrs["std"])
        value = lambda kk: k.Load("values", kk) * k.Const(std) + k.Const(mean)  # noqa: E731
    ctype = types.of(target)
    block = [k.Array("values", "double", 4),
             k.Do(k.Call(f"graphc_{node.op}_block", (_SEED, _OFFSET, k.Var("b"), bits,
                                                     k.Var("values"))))]
    body = [_blocks(count, per_block, block,
                    lambda i, kk: [k.Store(target, i, k.Cast(ctype, value(kk)))])]
    return _draw(position, graph, node, target, types, draw, [], body,
                 f"{node.op} draw {draw} ({count} values)",
                 f"element i of the draw, in row-major order (eager's numbers): block b gives "
                 f"elements b * {per_block} onwards")


@lowering("bernoulli", "exponential", "randint")
def word_draw(position, graph, node, target, layouts, pointer_of, types, draw):
    """bernoulli, exponential_ and randint from Philox words, as graphc.random specifies them:
    bernoulli compares word * 2^-32 with p (a number or a tensor of probabilities, each
    checked as eager checks them, in order); exponential_ is -log(1 - v) / lambd on the normal
    recipe's uniforms; randint is low + word % span (two words per value past a span of 2^32)."""
    shape = tuple(node.shape)
    count = _numel(shape)
    reads, checks = [], lambda i: []  # noqa: E731
    block = _philox_words()
    if node.op == "bernoulli":
        per_block, p = 4, node.inputs[0]
        if p in layouts:
            reads.append(pointer_of[p])
            layout, pointer = layouts[p], pointer_of[p]

            def checks(i):
                lets, index = k.multi_index(i, shape)
                p = k.Var("p")
                return lets + [
                    k.Let("p", "double", k.Cast("double", k.Load(pointer, k.strided(index,
                                                                                   *layout)))),
                    k.Check(p.ge(0).and_(p.le(1)).not_(), ErrorKind.BERNOULLI_P_OUT_OF_RANGE)]
            p = k.Var("p")
        else:
            p = k.Const(p)
        value = lambda kk: k.Select((k.Cast("double", k.Load("w", kk)) * k.Const(2.0 ** -32))  # noqa: E731
                                    .lt(p), k.Const(1), k.Const(0))
    elif node.op == "exponential":
        bits = _bits(node.dtype)
        per_block = 4 if bits <= 32 else 2
        lambd = float(node.attrs["lambd"])
        block = [k.Array("uniform", "double", 4),
                 k.Do(k.Call("graphc_uniform_block", (_SEED, _OFFSET, k.Var("b"), bits,
                                                      k.Var("uniform"))))]
        value = lambda kk: -k.Call("log", (k.Const(1.0) - k.Load("uniform", kk),)) / k.Const(lambd)  # noqa: E731
    else:
        low, span = int(node.attrs["low"]), int(node.attrs["high"]) - int(node.attrs["low"])
        per_block = 4 if span <= 1 << 32 else 2
        word = (lambda kk: k.Cast("uint64_t", k.Load("w", kk))) if span <= 1 << 32 else \
            (lambda kk: _word64("w", kk))
        drawn = word if span == 1 << 64 else (lambda kk: word(kk) % k.Const(span, "uint64_t"))
        value = lambda kk: k.Cast("int64_t", k.Cast("uint64_t", k.Const(low)) + drawn(kk))  # noqa: E731
    body = [_blocks(count, per_block, block,
                    lambda i, kk: checks(i) + [k.Store(target, i, value(kk))])]
    return _draw(position, graph, node, target, types, draw, reads, body,
                 f"{node.op} draw {draw} ({count} values)",
                 "element i of the draw, in row-major order: eager's numbers")


@lowering("randperm")
def randperm(position, graph, node, target, layouts, pointer_of, types, draw):
    """randperm(n): the indices stably sorted by one 64-bit Philox key each (graphc.random's
    recipe), through graphc_sort_keyed on (key, index) pairs (qsort on C, CUB on CUDA)."""
    n = node.attrs["n"]
    keyed = lambda i, field: k.Member(k.Load("keyed", i), field)  # noqa: E731
    keys = _blocks(n, 2, _philox_words(), lambda i, kk: [
        k.Assign(keyed(i, "key"), _word64("w", kk)), k.Assign(keyed(i, "index"), i)],
        comment="two keys per Philox block")
    i = k.Var("i")
    body = [keys,
            k.Do(k.Call("graphc_sort_keyed", (k.Var("keyed"), n))),
            k.Loop("i", n, (k.Store(target, i, keyed(i, "index")),), k.PARALLEL)]
    return _draw(position, graph, node, target, types, draw, [], body,
                 f"randperm draw {draw} ({n} values)", "keys, then one sort",
                 scratch=[("graphc_keyed", "keyed", n)])


@lowering("multinomial")
def multinomial(position, graph, node, target, layouts, pointer_of, types, draw):
    """multinomial, as graphc.random specifies it: every probability checked first (eager's
    RuntimeErrors, in eager's order), then per row either inverse-CDF sampling with
    replacement (the first cumulative sum above v * total, never past the last positive
    weight) or, without, the first `num_samples` of a stable sort by -log(1 - v) / p."""
    source = node.inputs[0]
    shape, strides, base = layouts[source]
    size = shape[-1]
    rows = _numel(shape[:-1])
    samples, replacement = node.attrs["num_samples"], node.attrs["replacement"]
    row_stride = strides[-2] if len(shape) == 2 else 0
    r, i, j = k.Var("r"), k.Var("i"), k.Var("j")
    p = k.Load(pointer_of[source], base + r * row_stride + i * strides[-1])
    total = k.Var("total")
    body = [  # checks in eager's order: every probability, then each row's sum
        k.Loop("e", rows * size, (k.Let("r", "int64_t", k.Var("e") // size),
                                  k.Let("i", "int64_t", k.Var("e") % size), k.Check(
            k.Call("isfinite", (k.Cast("double", p),)).not_().or_(p.lt(0)),
            ErrorKind.MULTINOMIAL_INVALID_PROBABILITY)), k.PARALLEL,
            comment="the checks eager makes first"),
        k.Loop("r", rows, (k.Let("total", "double", k.Const(0.0), mutable=True),
                           k.Loop("i", size, (k.Assign(total, p, "+="),)),
                           k.Check(total.gt(0).not_(), ErrorKind.MULTINOMIAL_NONPOSITIVE_SUM)),
               k.PARALLEL)]
    if replacement:
        scratch = [("double", "cumulative", size)]
        running, last, low, high = (k.Var(name) for name in ("running", "last_positive", "low",
                                                             "high"))
        middle = k.Var("middle")
        # the first cumulative sum above the threshold: a binary search of at most
        # bit_length(size) halvings
        search = k.Loop("step", size.bit_length(), (
            k.If(low.ge(high), (k.Break(),)),
            k.Let("middle", "int64_t", (low + high) // 2),
            k.If(k.Load("cumulative", middle).gt(k.Var("threshold")), (k.Assign(high, middle),),
                 (k.Assign(low, middle + 1),))))
        row = (k.Let("running", "double", k.Const(0.0), mutable=True),
               k.Let("last_positive", "int64_t", k.Const(0), mutable=True),
               k.Loop("i", size, (k.Assign(running, p, "+="),
                                  k.Store("cumulative", i, running),
                                  k.If(p.gt(0), (k.Assign(last, i),)))),
               k.Loop("j", samples, (
                   k.Let("v", "double", k.Call("graphc_uniform53",
                                               (_SEED, _OFFSET, r * samples + j))),
                   k.Let("threshold", "double", k.Var("v") * k.Load("cumulative", k.Const(size - 1))),
                   k.Let("low", "int64_t", k.Const(0), mutable=True),
                   k.Let("high", "int64_t", k.Const(size), mutable=True),
                   search,
                   k.Store(target, r * samples + j, k.Select(low.lt(last), low, last)))))
        body.append(k.Loop("r", rows, row))
    else:  # every row's keys, one sort of the rows, the first samples of each
        scratch = [("graphc_ranked", "lines", rows * size)]
        line = lambda at, field: k.Member(k.Load("lines", r * size + at), field)  # noqa: E731
        v = k.Var("v")
        body += [k.Loop("r", rows, (k.Loop("i", size, (
                     k.Let("v", "double", k.Call("graphc_uniform53",
                                                 (_SEED, _OFFSET, r * size + i))),
                     k.Assign(line(i, "value"), k.Select(
                         p.gt(0), -k.Call("log", (k.Const(1.0) - v,)) / p, k.Const("INFINITY"))),
                     k.Assign(line(i, "index"), i))),), k.PARALLEL, work=rows * size),
                 k.Do(k.Call("graphc_sort_lines", (k.Var("lines"), rows, size, 0))),
                 k.Loop("r", rows, (k.Loop("j", samples, (
                     k.Store(target, r * samples + j, line(j, "index")),)),), k.PARALLEL)]
    return _draw(position, graph, node, target, types, draw, [pointer_of[source]], body,
                 f"multinomial draw {draw} ({rows} x {samples}, "
                 f"{'with' if replacement else 'without'} replacement)",
                 "checks, then each row drawn", scratch=scratch)
