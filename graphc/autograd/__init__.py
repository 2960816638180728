"""graphc.autograd: grad modes now; the engine, Function and gradcheck build on them."""
from .grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled
