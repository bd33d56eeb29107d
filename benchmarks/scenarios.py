"""Randomized fault scenarios per minute of wall time (the figures: ``scenarios.benchmark``).

    python3 benchmarks/scenarios.py --runs 40 --workers 2
"""

import sys
from pathlib import Path

# run as a script, this file's folder comes first on sys.path, and this file would hide the scenarios package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from scenarios.benchmark import main  # noqa: E402

if __name__ == "__main__":
    main()
