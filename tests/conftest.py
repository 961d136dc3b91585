"""Test-wide settings."""
import os

# scikit-learn's estimator checks include an array-API check that scipy only allows when this is set
# before scipy is first imported; without it that check would be skipped.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
