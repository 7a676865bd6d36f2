"""The scripts in benchmarks/ are run by hand, never by the suite (they time
things, and need the machine alone). This checks only that each one still
imports what it names from charlstm: a rename in the library must not leave a
benchmark broken until someone next runs it."""

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

# Loads every script as a module (its `main` is not called), in one process.
SCRIPT = """
import importlib.util, sys
from pathlib import Path
folder = Path(sys.argv[1])
sys.path.insert(0, str(folder))  # gpu.py imports train_fast_path from here
for path in sorted(folder.glob("*.py")):
    spec = importlib.util.spec_from_file_location(f"bench_{path.stem}", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    print(path.name)
"""


def test_every_benchmark_script_imports():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(BENCHMARKS)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    scripts = sorted(p.name for p in BENCHMARKS.glob("*.py"))
    assert done.stdout.split() == scripts
