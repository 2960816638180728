"""The C dialect of the C-style renderer: parallel loops through OpenMP (long ones only: a short
loop does not even enter the OpenMP runtime), errors stored in graphc_error and returned."""
from .. import kernel as k
from ..errors import report
from .cstyle import Dialect

__all__ = ["C"]


class CDialect(Dialect):
    name = "c"
    parallel_threshold = 65536  # iterations a loop needs before threads pay for themselves

    def parallel(self, loop, stop):
        """Lines before a parallel loop's header (C: OpenMP's pragma for long loops)."""
        count = loop.work if loop.work is not None else loop.stop
        count = count if isinstance(count, int) else None
        if count is not None and count <= self.parallel_threshold:
            return []
        return ["#pragma omp parallel for num_threads(threads) if(threads > 1)"]

    def stop_call(self, check, release):
        """The lines stopping the kernel with `check`'s error report."""
        fields = [self.expression(k.as_expr(f)) if f is not None else None
                  for f in (check.value, check.size, check.dim)]
        return release + report(check.kind, *fields) + ["return 1;"]


C = CDialect()
