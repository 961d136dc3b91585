"""scikit-learn's callback API (sklearn.callback, 1.9+): one task per epoch, snapshots for scoring, stop requests,
and the gradient-flow callback. Where scikit-learn has no callback API, the estimator has no set_callbacks."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from residual_mlp import ResidualMLPClassifier, callbacks

if not callbacks.AVAILABLE:  # the oldest supported scikit-learn: the API is absent, and everything else works
    def test_without_the_callback_api_there_is_no_set_callbacks():
        assert not hasattr(ResidualMLPClassifier(), "set_callbacks")
        X, y = load_iris(return_X_y=True)
        assert ResidualMLPClassifier(n_hidden=8, max_iter=2, random_state=0).fit(X, y).n_iter_ == 2
else:
    from sklearn.callback import ProgressBar, ScoringMonitor
    from sklearn.pipeline import make_pipeline as sk_make_pipeline

    from residual_mlp.callbacks import GradientFlow

    @pytest.fixture(scope="module")
    def iris():
        X, y = load_iris(return_X_y=True)
        return StandardScaler().fit_transform(X), np.array(["setosa", "versicolor", "virginica"])[y]

    def small(**kw):
        return ResidualMLPClassifier(**{"n_hidden": 16, "max_iter": 5, "lr_schedule": "constant", "random_state": 0,
                                        **kw})

    class Recorder:
        """Records every hook call: (hook, task name, task id, parent task name, has a snapshot)."""

        def __init__(self, stop_after=None):
            self.calls, self.snapshots, self.stop_after = [], [], stop_after

        def setup(self, estimator, context):
            self.calls.append(("setup", context.task_name))

        def teardown(self, estimator, context):
            self.calls.append(("teardown", context.task_name))

        def on_fit_task_begin(self, estimator, context, *, X=None, fitted_estimator=None):
            self.calls.append(("begin", context.task_name, context.task_id, X is not None))

        def on_fit_task_end(self, estimator, context, *, X=None, y=None, fitted_estimator=None):
            self.calls.append(("end", context.task_name, context.task_id, fitted_estimator is not None))
            if context.task_name == "epoch" and fitted_estimator is not None:
                self.snapshots.append(fitted_estimator)
                return self.stop_after is not None and len(self.snapshots) >= self.stop_after
            return False

    def test_fit_is_one_task_with_one_subtask_per_epoch(iris):
        X, y = iris
        rec = Recorder()
        est = small().set_callbacks(rec).fit(X, y)
        names = [c[:3] for c in rec.calls]
        assert names[0] == ("setup", "fit") and names[-1] == ("teardown", "fit")
        assert names[1] == ("begin", "fit", 0)
        epochs = [c for c in rec.calls if c[1] == "epoch"]
        # each epoch begins when the previous one ends; the one begun after the last epoch ends empty
        assert [c[:3] for c in epochs] == [(h, "epoch", k) for k in range(6) for h in ("begin", "end")]
        assert [c[3] for c in epochs if c[0] == "end"] == [True] * 5 + [False]
        assert rec.calls[-2] == ("end", "fit", 0, True)
        assert len(rec.snapshots) == est.n_iter_ == 5

    def test_each_snapshot_holds_its_epochs_weights(iris):
        X, y = iris
        rec = Recorder()
        est = small().set_callbacks(rec).fit(X, y)
        for k, snap in enumerate(rec.snapshots, start=1):
            # the same run stopped after k epochs (constant rate: the schedule does not depend on max_iter)
            alone = small(max_iter=k).fit(X, y)
            for W, V in zip(snap.params_, alone.params_):
                np.testing.assert_array_equal(W, V)
            np.testing.assert_array_equal(snap.predict_proba(X), alone.predict_proba(X))
        for W, V in zip(rec.snapshots[-1].params_, est.params_):
            np.testing.assert_array_equal(W, V)

    def test_callbacks_change_nothing_in_training(iris):
        X, y = iris
        plain = small().fit(X, y)
        watched = small().set_callbacks(Recorder(), ScoringMonitor(scoring="accuracy"), GradientFlow()).fit(X, y)
        for W, V in zip(plain.params_, watched.params_):
            np.testing.assert_array_equal(W, V)
        assert plain.loss_curve_ == watched.loss_curve_

    def test_scoring_monitor_scores_every_epoch(iris):
        X, y = iris
        monitor = ScoringMonitor(scoring=["accuracy", "neg_log_loss"])
        small().set_callbacks(monitor).fit(X, y)
        log = monitor.get_logs()
        rows = [r for r in log.data if r["task_name"] == "epoch"]
        assert len(rows) == 5
        for k, row in enumerate(rows, start=1):
            alone = small(max_iter=k).fit(X, y)
            assert row["accuracy"] == pytest.approx(alone.score(X, y), abs=0)
            assert row["neg_log_loss"] == pytest.approx(
                -np.mean(-np.log(alone.predict_proba(X)[np.arange(len(y)), np.searchsorted(alone.classes_, y)])),
                rel=1e-12)

    def test_a_callback_asking_to_stop_ends_training_after_that_epoch(iris):
        X, y = iris
        rec = Recorder(stop_after=3)
        est = small(max_iter=20).set_callbacks(rec).fit(X, y)
        assert est.n_iter_ == 3 and est.stop_reason_ == "stopped"
        assert est.history_["message"] == "stopped at epoch 3, as the callback asked"
        for W, V in zip(est.params_, small(max_iter=3).fit(X, y).params_):
            np.testing.assert_array_equal(W, V)

    @pytest.mark.parametrize("options", [dict(optimizer="lbfgs", max_iter=8), dict(recipe="seed", max_iter=4),
                                         dict(early_stopping=True, max_iter=6)])
    def test_every_training_mode_reports_its_epochs(iris, options):
        X, y = iris
        monitor = ScoringMonitor(scoring="accuracy")
        est = small(**options).set_callbacks(monitor)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # few epochs, on purpose
            est.fit(X, y)
        rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
        assert len(rows) == est.n_iter_ > 0
        assert rows[-1]["accuracy"] == est.score(X, y) or est.stop_reason_ == "early_stopping"

    def test_partial_fit_is_one_task(iris):
        X, y = iris
        rec = Recorder()
        est = small().set_callbacks(rec)
        est.partial_fit(X, y, classes=np.unique(y))
        est.partial_fit(X, y)
        ends = [c for c in rec.calls if c[0] == "end"]
        assert ends == [("end", "partial_fit", 0, True)] * 2

    def test_gradient_flow_equals_record_flow(iris):
        X, y = iris
        flow = GradientFlow()
        small().set_callbacks(flow).fit(X, y)
        recorded = small().fit(X, y, record_flow=True).history_["flow"]
        assert len(flow.records) == 5
        assert list(flow.as_frame().columns[:2]) == ["epoch", "dW1_path1"]
        for k, (mine, ref) in enumerate(zip(flow.records, recorded), start=1):
            mine = dict(mine)
            assert mine.pop("epoch") == k
            assert mine == pytest.approx(ref, rel=1e-12, nan_ok=True)
        assert flow.path1_share("dW2") == pytest.approx([r["dW2_path1_share"] for r in recorded], rel=1e-12)

    def test_gradient_flow_in_a_pipeline_sees_the_encoded_input(iris):
        X, y = iris
        raw = X * 10 + 3  # the pipeline's scaler gives the classifier standardized input
        flow = GradientFlow()
        pipe = sk_make_pipeline(StandardScaler(), small().set_callbacks(flow)).fit(raw, y)
        recorded = small().fit(StandardScaler().fit_transform(raw), y, record_flow=True).history_["flow"]
        assert [r["t_active"] for r in flow.records] == pytest.approx([r["t_active"] for r in recorded])
        assert pipe.score(raw, y) > 0.8

    def test_the_progress_bar_runs_through_a_pipeline(iris, capsys):
        X, y = iris
        pipe = sk_make_pipeline(StandardScaler(), small(max_iter=3))
        pipe.set_callbacks(ProgressBar())
        pipe.fit(X, y)
        assert pipe[-1].n_iter_ == 3
        assert "ResidualMLPClassifier" in capsys.readouterr().out

    def test_hooks_get_the_data_as_given_so_scoring_a_table_warns_nothing(iris):
        import pandas as pd
        import scipy.sparse as sp

        X, y = iris
        frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
        monitor, flow = ScoringMonitor(scoring="accuracy"), GradientFlow()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "X does not have valid feature names"
            est = small(max_iter=3).set_callbacks(monitor, flow).fit(frame, y)
        assert [r["accuracy"] for r in monitor.get_logs().data if r["task_name"] == "epoch"][-1] == est.score(frame, y)
        # sparse input: the flow statistics are summed over blocks, equal to the dense ones
        sparse_flow = GradientFlow()
        small(max_iter=3).set_callbacks(sparse_flow).fit(sp.csr_matrix(X), y)
        for mine, dense in zip(sparse_flow.records, flow.records):
            assert mine == pytest.approx(dense, rel=1e-10, nan_ok=True)

    def test_callbacks_stay_out_of_model_files_and_the_model_keeps_them(iris, tmp_path):
        import residual_mlp

        X, y = iris
        monitor, flow = ScoringMonitor(scoring="accuracy"), GradientFlow()
        pipe = sk_make_pipeline(StandardScaler(), small(max_iter=2).set_callbacks(monitor, flow))
        pipe.set_callbacks(ProgressBar())
        pipe.fit(X, y)
        residual_mlp.save_model(pipe, tmp_path / "m.skops")
        again = residual_mlp.load_model(tmp_path / "m.skops")  # no callback type in the file
        np.testing.assert_array_equal(again.predict_proba(X), pipe.predict_proba(X))
        assert not hasattr(again[-1], "_skl_callbacks") and not hasattr(again, "_skl_callbacks")
        assert pipe[-1]._skl_callbacks == [monitor, flow] and len(pipe._skl_callbacks) == 1
        pipe[-1].save(tmp_path / "e.skops")
        assert not hasattr(ResidualMLPClassifier.load(tmp_path / "e.skops"), "_skl_callbacks")

    def test_an_interrupt_in_a_hook_ends_the_epoch_task_once(iris):
        X, y = iris

        class Interrupting(Recorder):
            def on_fit_task_end(self, estimator, context, *, X=None, y=None, fitted_estimator=None):
                super().on_fit_task_end(estimator, context, X=X, y=y, fitted_estimator=fitted_estimator)
                if context.task_name == "epoch" and context.task_id == 1:
                    raise KeyboardInterrupt

        rec = Interrupting()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = small(max_iter=5).set_callbacks(rec).fit(X, y)
        assert est.stop_reason_ == "interrupted" and est.n_iter_ == 2
        ends = [c[:3] for c in rec.calls if c[0] == "end"]
        assert ends == [("end", "epoch", 0), ("end", "epoch", 1), ("end", "fit", 0)]

    def test_a_fit_refused_at_its_input_tells_no_callback_and_a_diverged_one_ends_its_tasks(iris):
        X, y = iris
        flow = GradientFlow()
        est = small(max_iter=3).set_callbacks(flow).fit(X, y)
        with pytest.raises(ValueError, match="sample_weight is zero for every row"):
            est.fit(X, y, sample_weight=np.zeros(len(y)))
        assert len(flow.records) == 3  # the records of the fit the estimator still holds

        from residual_mlp.errors import Diverged

        rec = Recorder()
        with pytest.raises(Diverged):
            small(max_iter=20, lr=1e6, optimizer="gd").set_callbacks(rec).fit(X * 1e3, y)
        begins = [c[1:3] for c in rec.calls if c[0] == "begin"]
        ends = [c[1:3] for c in rec.calls if c[0] == "end"]
        assert sorted(begins) == sorted(ends) and ends[-1] == ("fit", 0)  # every task begun has ended
