"""scikit-learn's own common estimator checks, on the default estimator and two variants.

The variants keep max_iter small and the network narrow so that the whole file runs in seconds.
"""
import inspect

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from residual_mlp import ResidualMLPClassifier

ESTIMATORS = [
    ResidualMLPClassifier(n_hidden=16, max_iter=30, lr=1e-2, batch_size=None),
    ResidualMLPClassifier(n_hidden=16, max_iter=30, optimizer="lbfgs", weight_decay=1e-3),
    ResidualMLPClassifier(n_hidden=16, max_iter=30, lr=1e-2, early_stopping=True, validation_fraction=0.2),
    ResidualMLPClassifier(n_hidden=16, max_iter=30, lr=1e-2, batch_size=8),
]

# the same check on dense and on sparse X (sparse input trains the same steps, see sparse.py)
SAMPLE_WEIGHT_CHECKS = ("check_sample_weight_equivalence_on_dense_data",
                        "check_sample_weight_equivalence_on_sparse_data")


def expected_failed_checks(estimator):
    """Checks that cannot pass for a variant, with the reason."""
    if estimator.early_stopping:
        return {check: "the held-out validation set is drawn from the rows: a row repeated k times can land on "
                "both sides of the split, a row of weight k on one side only, so the two fits differ"
                for check in SAMPLE_WEIGHT_CHECKS}
    batch_size = estimator.training_options()["batch_size"]
    if estimator.optimizer != "lbfgs" and batch_size is not None and batch_size < 15:
        return {check: "mini-batches of 8 rows: a row repeated k times spreads over several batches (and shifts "
                "the others), a row of weight k sits in one, so the sequence of steps differs; with full "
                "batches (the first estimator here) weights and repetitions give the same fit"
                for check in SAMPLE_WEIGHT_CHECKS}
    return {}


# an expected failure that passes is an error (scikit-learn 1.7+; 1.6 has no xfail_strict)
STRICT = {"xfail_strict": True} if "xfail_strict" in inspect.signature(parametrize_with_checks).parameters else {}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks, **STRICT)
def test_sklearn_compatible(estimator, check):
    check(estimator)
