"""gradcheck / gradgradcheck: analytical gradients against central finite differences."""
__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when an analytical gradient disagrees with the numerical one."""


def _as_tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _differentiable_outputs(function, inputs):
    from ..tensor import Tensor
    outputs = _as_tuple(function(*inputs))
    return [o for o in outputs if isinstance(o, Tensor) and o.requires_grad]


def _numerical_jacobian(function, inputs, index, output_count, eps):
    """d outputs / d inputs[index] by central differences, one column per input element."""
    from ..tensor import Tensor
    target = inputs[index]
    data = target._data
    columns = []
    for position in range(target.numel()):
        coordinate = _unravel(position, target.shape)
        original = data[coordinate].item()
        values = []
        for step in (eps, -eps):
            data[coordinate] = original + step
            outputs = [o for o in _as_tuple(function(*inputs)) if isinstance(o, Tensor)]
            values.append([o._data.astype("float64").reshape(-1) for o in outputs[:output_count]])
        data[coordinate] = original
        columns.append([(plus - minus) / (2 * eps) for plus, minus in zip(*values)])
    return columns


def _unravel(position, shape):
    coordinate = []
    for size in reversed(shape):
        coordinate.append(position % size)
        position //= size
    return tuple(reversed(coordinate))


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False, check_forward_ad=False,
              check_backward_ad=True, fast_mode=False, masked=None):
    """True when every analytical d output / d input matches finite differences."""
    from ..tensor import Tensor
    from .engine import grad as autograd_grad
    inputs = _as_tuple(inputs)
    differentiable = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not differentiable:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but none of the them have requires_grad=True.")
    outputs = _differentiable_outputs(func, inputs)
    for index in differentiable:
        numerical = _numerical_jacobian(func, inputs, index, len(outputs), eps)
        for output_index, output in enumerate(outputs):
            flat_size = output.numel()
            for element in range(flat_size):
                from ..api.creation import zeros
                seed = zeros(output.shape, dtype=output.dtype)  # row-major: flat index = element
                seed._data.reshape(-1)[element] = 1
                fresh = _differentiable_outputs(func, inputs)[output_index]
                (analytical,) = autograd_grad(fresh, inputs[index], seed, allow_unused=True)
                row = analytical._data.astype("float64").reshape(-1) if analytical is not None else None
                for position, column in enumerate(numerical):
                    expected = float(column[output_index][element])
                    got = 0.0 if row is None else float(row[position])
                    if abs(got - expected) > atol + rtol * abs(expected):
                        message = (f"Jacobian mismatch for output {output_index} with respect to "
                                   f"input {index},\nnumerical:{expected}\nanalytical:{got}\n"
                                   f"(at output element {element}, input element {position})")
                        if raise_exception:
                            raise GradcheckError(message)
                        return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False, masked=False):
    """gradcheck of the function that maps (inputs, grad_outputs) to the input gradients."""
    from ..tensor import Tensor
    from ..random import manual_seed, get_rng_state, set_rng_state
    from ..api.random_ops import randn_like
    from .engine import grad as autograd_grad
    inputs = _as_tuple(inputs)
    outputs = _differentiable_outputs(func, inputs)
    if grad_outputs is None:
        state = get_rng_state()
        manual_seed(0)
        grad_outputs = tuple(randn_like(o, dtype=o.dtype).requires_grad_() for o in outputs)
        set_rng_state(state)
    grad_outputs = _as_tuple(grad_outputs)
    count = len(inputs)
    differentiable = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]

    def first_derivatives(*values):
        primal, cotangents = values[:count], values[count:]
        outs = _differentiable_outputs(func, primal)
        grads = autograd_grad(outs, [primal[i] for i in differentiable], cotangents,
                              create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivatives, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
