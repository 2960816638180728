"""Record torch's answers for every test that asks the oracle (tests/oracle/__init__.py).

Run from the repository root with a Python that has torch 2.13 and pytest:
    PYTHONPATH=. /tmp/torchvenv/bin/python tests/oracle/regenerate.py
It finds the cases by running, in record mode, every test module that imports the oracle (so no
case list is kept by hand), and rewrites tests/oracle/<module>.json for each of them. graphc's
own failures do not stop the recording: torch's answers do not depend on them.
"""
import os
import pathlib
import subprocess
import sys

TESTS = pathlib.Path(__file__).resolve().parents[1]


def modules_using_the_oracle():
    return sorted(str(path.relative_to(TESTS.parent)) for path in TESTS.glob("test_*.py")
                  if "import oracle" in path.read_text(encoding="utf-8"))


def main():
    try:
        import torch
    except ImportError:
        sys.exit("regenerate.py records torch's answers: run it with a Python that has torch")
    print(f"recording torch {torch.__version__}'s answers")
    environment = dict(os.environ, GRAPHC_TORCH_ORACLE="record")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               *modules_using_the_oracle()]
    completed = subprocess.run(command, cwd=TESTS.parent, env=environment)
    if completed.returncode not in (0, 1):  # 1: some graphc tests failed, the answers are in
        sys.exit(completed.returncode)


if __name__ == "__main__":
    main()
