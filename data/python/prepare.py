"""Builds the Python corpus of Frank (2022): the .py files of its four repositories.

The paper: Frank, "Generating Python with Character Level LSTMs" (2022).

    python data/python/prepare.py [options of `charlstm corpus python`]

Writes data/python/input.txt (about the size of the repositories' Python source).
Each archive is downloaded once into the cache (~/.cache/charlstm, or --cache DIR);
running again reads it from there. Extra options are passed on, e.g. --force to
replace input.txt or --lowercase as the paper trained.
"""

import subprocess
import sys
from pathlib import Path

# Frank's paper, appendix A, as archives of their default branches.
ARCHIVES = [
    "https://github.com/keon/algorithms/archive/refs/heads/master.zip",
    "https://github.com/geekcomputers/Python/archive/refs/heads/master.zip",
    "https://github.com/AtsushiSakai/PythonRobotics/archive/refs/heads/master.zip",
    "https://github.com/TheAlgorithms/Python/archive/refs/heads/master.zip",
]


def main(argv: list[str]) -> int:
    out = Path(__file__).resolve().parent / "input.txt"
    command = [sys.executable, "-m", "charlstm.cli.main", "corpus", "python", *ARCHIVES]
    return subprocess.call([*command, "--out", str(out), *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
