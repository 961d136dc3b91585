"""Labels stay what they were: texts are never merged, numbers map to texts by one documented rule."""
import numpy as np
import pytest

from residual_mlp import ResidualMLPClassifier
from residual_mlp.labels import as_classes, class_index, looks_continuous


def test_texts_that_read_as_the_same_number_stay_distinct_classes():
    texts = np.array(["01234", "1234", "5", "5.0", "12345678901234567890", "12345678901234567891", "١"],
                     dtype=object)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(70, 3))
    y = np.repeat(texts, 10)
    est = ResidualMLPClassifier(n_hidden=8, max_iter=2, random_state=0).fit(X, y)
    assert sorted(est.classes_.tolist()) == sorted(texts.tolist())
    assert len(est.classes_) == 7
    assert all(type(label) is str for label in est.predict(X))


def test_numbers_map_to_the_one_class_whose_text_reads_as_that_number():
    classes = np.array(["1.5", "2.5", "3.5"], dtype=object)
    np.testing.assert_array_equal(as_classes(classes, np.array([2.5, 1.5])), ["2.5", "1.5"])
    np.testing.assert_array_equal(class_index(classes, np.array([3.5, 1.5, 2.5])), [2, 0, 1])
    with pytest.raises(ValueError, match="4.5"):
        class_index(classes, np.array([4.5]))
    with pytest.raises(ValueError, match="ambiguous"):
        class_index(np.array(["5", "5.0", "x"], dtype=object), np.array([5]))


def test_a_model_with_text_classes_continues_training_on_numeric_labels():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    y_text = np.array(["1.5", "2.5", "3.5"], dtype=object)[np.arange(60) % 3]
    est = ResidualMLPClassifier(n_hidden=8, max_iter=3, random_state=0).fit(X, y_text)
    y_numbers = np.array([1.5, 2.5, 3.5])[np.arange(60) % 3]
    est.partial_fit(X, y_numbers)                       # was: "Unknown label type: continuous"
    est.set_params(warm_start=True).fit(X, y_numbers)
    assert est.score(X, y_numbers) == est.score(X, y_text)
    assert est.n_iter_ == 3 + 1 + 3


def test_continuous_targets_are_recognised():
    assert looks_continuous(np.linspace(0, 1, 50).astype(str), 50)
    assert not looks_continuous(np.arange(10).astype(str), 1797)
    assert not looks_continuous(np.array(["a", "b"]), 10)


def test_label_texts_map_to_numeric_classes_exactly():
    """A CSV's label texts against a model with numeric classes (trained on NPZ or Parquet): the number each
    reads as, integers compared exactly."""
    classes = np.array([0, 10, 10**17 + 1])
    texts = np.array(["10", "10.0", "100000000000000001", "0"], dtype=object)
    assert as_classes(classes, texts).tolist() == [10, 10, 10**17 + 1, 0]
    assert class_index(classes, texts).tolist() == [1, 1, 2, 0]
    with pytest.raises(ValueError, match="not among the classes"):
        class_index(classes, np.array(["100000000000000000"], dtype=object))   # one float64 apart from 10**17+1
    with pytest.raises(ValueError, match="label 'ten' is not a number"):
        class_index(classes, np.array(["ten"]))
    assert class_index(np.array([0.5, 1.5]), np.array(["1.5", "0.5"])).tolist() == [1, 0]


def test_a_text_that_is_no_class_but_reads_as_a_number_finds_its_class():
    classes = np.array(["0.0", "1.0"], dtype=object)  # a float label column written as text
    np.testing.assert_array_equal(class_index(classes, np.array(["1", "0", "1.0"], dtype=object)), [1, 0, 1])
    exact = np.array(["01234", "1234"], dtype=object)  # a text that is a class always means that class
    np.testing.assert_array_equal(class_index(exact, np.array(["1234", "01234"], dtype=object)), [1, 0])
    with pytest.raises(ValueError, match="ambiguous"):
        class_index(np.array(["5", "5.0", "x"], dtype=object), np.array(["05"], dtype=object))


def test_boolean_classes_are_named_by_any_spelling_of_the_boolean():
    """A CSV's True/False label column gives the classes "False" and "True": true/false in any case, yes/no
    and 1/0 (as numbers or text) name them."""
    classes = np.array(["False", "True"], dtype=object)
    given = np.array(["true", "FALSE", "True", "yes", "no", "1", "0", "1.0", " false "], dtype=object)
    assert class_index(classes, given).tolist() == [1, 0, 1, 1, 0, 1, 0, 1, 0]
    assert class_index(classes, np.array([1.0, 0.0, 1.0])).tolist() == [1, 0, 1]
    assert class_index(classes, np.array([1, 0])).tolist() == [1, 0]
    assert class_index(classes, np.array([True, False])).tolist() == [1, 0]
    assert as_classes(classes, np.array(["yes", "0"], dtype=object)).tolist() == ["True", "False"]
    lower = np.array(["false", "true"], dtype=object)                  # written in lower case
    assert class_index(lower, np.array(["True", "FALSE"], dtype=object)).tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"label 2\.0 is not among the classes \['False', 'True'\], which are "
                                         r"booleans"):
        class_index(classes, np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"y holds labels \['maybe'\] that are not among the classes"):
        class_index(classes, np.array(["true", "maybe"], dtype=object))


def test_bool_classes_take_text_labels():
    classes = np.array([False, True])                                   # a Parquet or NumPy bool column
    assert class_index(classes, np.array(["true", "False", "no", "1"], dtype=object)).tolist() == [1, 0, 0, 1]
    assert class_index(classes, np.array([1, 0])).tolist() == [1, 0]
    with pytest.raises(ValueError, match="label 'maybe' is not among the classes"):
        class_index(classes, np.array(["maybe"]))


def test_other_text_classes_are_not_case_folded():
    for classes, label in ((["No", "Yes"], "yes"), (["cat", "dog"], "Cat"), (["0", "1", "true"], "True")):
        with pytest.raises(ValueError, match="not among the classes"):
            class_index(np.array(classes, dtype=object), np.array([label], dtype=object))
    # a spelling two classes share is ambiguous, and refused
    with pytest.raises(ValueError, match=r"label 'TRUE' is ambiguous: the classes \['True', 'true'\]"):
        class_index(np.array(["False", "True", "true"], dtype=object), np.array(["TRUE"], dtype=object))
    # exact texts still name their own class
    assert class_index(np.array(["False", "True", "true"], dtype=object),
                       np.array(["true", "True"], dtype=object)).tolist() == [2, 1]


def test_whole_numbers_and_their_float_spellings_name_the_same_class():
    assert class_index(np.array([1, 2, 3]), np.array([1.0, 3.0])).tolist() == [0, 2]
    assert class_index(np.array([1, 2, 3]), np.array(["1.0", "3"], dtype=object)).tolist() == [0, 2]
    assert class_index(np.array([1.0, 2.0]), np.array([2, 1])).tolist() == [1, 0]
    assert class_index(np.array(["1", "2"], dtype=object), np.array([2.0, 1.0])).tolist() == [1, 0]
    assert class_index(np.array(["1", "2"], dtype=object), np.array(["2.0", "1"], dtype=object)).tolist() == [1, 0]
    with pytest.raises(ValueError, match="not among the classes"):
        class_index(np.array([1, 2, 3]), np.array([1.5]))


def test_score_matches_boolean_labels_as_the_command_line_does():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(60, 3))
    truth = X[:, 0] > 0
    y_text = np.where(truth, "True", "False").astype(object)            # as a CSV file's labels
    est = ResidualMLPClassifier(n_hidden=8, max_iter=5, random_state=0).fit(X, y_text)
    expected = est.score(X, y_text)
    assert est.score(X, np.where(truth, "true", "false").astype(object)) == expected
    assert est.score(X, truth.astype(float)) == expected
    assert est.score(X, truth) == expected


def test_evaluate_takes_boolean_labels_in_any_spelling(tmp_path, capsys):
    import pandas as pd

    from residual_mlp import cli

    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    frame["label"] = frame["a"] > 0                                     # written as True/False
    frame.to_csv(tmp_path / "train.csv", index=False)
    model = tmp_path / "m.skops"
    assert cli.main(["train", "--data", str(tmp_path / "train.csv"), "--epochs", "3", "--hidden", "4", "--quiet",
                     "--out", str(model)]) == 0
    capsys.readouterr()
    reports = []
    for spelling in ({True: "True", False: "False"}, {True: "true", False: "false"}, {True: 1, False: 0},
                     {True: "yes", False: "no"}):
        path = tmp_path / "eval.csv"
        frame.assign(label=frame["label"].map(spelling)).to_csv(path, index=False)
        assert cli.main(["evaluate", "--model", str(model), "--data", str(path)]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        reports.append(out[out.index("loss"):])
    assert reports[1:] == reports[:1] * 3
    frame.assign(label=frame["label"].map({True: "sure", False: "no"})).to_csv(path, index=False)
    assert cli.main(["evaluate", "--model", str(model), "--data", str(path)]) == 2
    assert "that are not among the classes ['False', 'True']" in capsys.readouterr().err
