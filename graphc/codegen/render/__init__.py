"""Renderers of scheduled kernels for targets other than the C backend's own template."""
