"""Test-wide settings."""
import os
import sys
from pathlib import Path

# scikit-learn's estimator checks include an array-API check that scipy only allows when this is set
# before scipy is first imported; without it that check would be skipped.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# The benchmark suite's modules (benchmarks/realdata.py, benchmarks/suite.py) are imported by tests
# too; they stay out of the library.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
