"""How long compiling takes: warm and cold starts of the seed's step, and a large graph (an RNN
unrolled over 100 steps, forward and backward), each in a fresh process with an empty or a
warm cache. The build's share (the C compiler) is shown beside the total.

Baselines in the same run: the eager call of the same function (what a first call costs without
compiling), and torch.compile of the same RNN when torch is importable and --torch-compile is
given (it takes minutes on 2 cores).

Run: python benchmarks/compile_time.py [--torch-compile]
"""
import json
import os
import subprocess
import sys
import tempfile
import textwrap

# runs in a fresh process: times import, the first call and the build, prints them as JSON
PROBE = textwrap.dedent("""
    import json, sys, time
    started = time.perf_counter()
    import graphc
    from graphc.codegen import toolchain
    imported = time.perf_counter()
    build = [0.0]
    original = toolchain.compile_library
    def timed(*args, **kwargs):
        begin = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            build[0] += time.perf_counter() - begin
    toolchain.compile_library = timed
    import graphc.codegen.cache as cache
    cache.compile_library = timed
    WORKLOAD
    begin = time.perf_counter()
    eager_result = function(*arguments)
    eager = time.perf_counter() - begin
    compiled = graphc.compile(function)
    begin = time.perf_counter()
    compiled(*arguments)
    first = time.perf_counter() - begin
    print(json.dumps({"import": imported - started, "first": first, "build": build[0],
                      "eager": eager, "origin": compiled._latest.origin,
                      "kernels": compiled.source().count("static void kernel")}))
""")

# the seed's step as the other benchmarks time it (benchmarks/seed_steps.py)
SEED_STEP = textwrap.dedent(f"""
    sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})
    from seed_steps import regression_step
    function, arguments = regression_step(graphc)[0], ()
""")

RNN = textwrap.dedent("""
    graphc.manual_seed(0)
    W = graphc.randn(32, 32, requires_grad=True); U = graphc.randn(16, 32, requires_grad=True)
    def function(xs):
        h = graphc.zeros(4, 32)
        for t in range(100):
            h = (xs[t] @ U + h @ W).tanh()
        loss = h.sum()
        loss.backward()
        return loss
    arguments = (graphc.randn(100, 4, 16),)
""")

# the same RNN for torch.compile: the graphc workload with torch's names, timed the same way
TORCH_RNN = "import time, torch\n" + RNN.replace("graphc", "torch") + textwrap.dedent("""
    compiled = torch.compile(function)
    begin = time.perf_counter()
    compiled(*arguments)
    print(time.perf_counter() - begin)
""")


def probe(workload, cache):
    code = PROBE.replace("WORKLOAD", workload.strip())
    env = dict(os.environ, GRAPHC_CACHE_DIR=cache)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=1800)
    if run.returncode:
        raise SystemExit(run.stderr)
    return json.loads(run.stdout.splitlines()[-1])


def main():
    print(f"{'workload':32} {'start':6} {'import':>8} {'1st call':>9} {'of it: cc':>10} "
          f"{'eager call':>11} {'functions':>9}")
    for name, workload in (("seed step (section 2.4)", SEED_STEP),
                           ("RNN unrolled 100 steps + bwd", RNN)):
        with tempfile.TemporaryDirectory() as cache:
            for start in ("cold", "warm"):
                r = probe(workload, cache)
                print(f"{name:32} {start:6} {r['import'] * 1e3:6.0f}ms {r['first'] * 1e3:7.0f}ms "
                      f"{r['build'] * 1e3:8.0f}ms {r['eager'] * 1e3:9.1f}ms {r['kernels']:9d}"
                      f"   (library {r['origin']})")
    if "--torch-compile" in sys.argv:
        run = subprocess.run([sys.executable, "-c", TORCH_RNN], capture_output=True, text=True,
                             timeout=3600)
        if run.returncode == 0:
            print(f"{'torch.compile, same RNN':32} {'cold':6} {'':8} "
                  f"{float(run.stdout.split()[-1]) * 1e3:7.0f}ms")
        else:
            print("torch.compile: not importable or failed")


if __name__ == "__main__":
    main()
