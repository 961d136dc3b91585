"""Labels as the user wrote them, and the class indices the network trains on.

A model's classes are the sorted distinct labels of its training data (`classes_`). Labels read from
a CSV file are texts, kept exactly as written: "01234", "1234", "5" and "5.0" are four classes. When
the classes are texts and the labels given later are numbers (a user's `partial_fit(X, [1.5, 2.5])`
on a model trained from a CSV file), or texts that are no class but read as numbers ("1" against the
classes "0.0" and "1.0"), a number stands for the one class whose text reads as that number,
``float(text) == number``; a number that matches no class, or several, is an error. A text that is a
class always means that class.
The other way round (numeric classes, from an NPZ or Parquet file, and labels read as text from a
CSV file), a text stands for the number it reads as, exactly for integers: "10" and "10.0" are the
class 10, and "100000000000000001" is not 100000000000000000.
Boolean classes (a bool array, or the two texts true and false in any case, as a CSV file's True/False
column gives them) are named by any label that denotes the same boolean: True/False in any case,
yes/no in any case, and 1/0 as numbers (1.0, 0.0 too) or as text. Only these two classes are
matched this way; other texts are never case-folded, and a label that could name two classes (the
classes "True" and "true" and the label "TRUE") is an error.
"""
from __future__ import annotations

import numpy as np


def class_index(classes, y):
    """Class indices (N,) of the labels y in the sorted `classes`; ValueError for a label not among them."""
    y = as_classes(classes, y)
    index = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)  # (N,)
    unseen = classes[index] != y
    if np.any(unseen) and _is_text(classes):
        # a text that is no class but reads as a number ("1" where the classes are "0.0" and "1.0"): the one
        # class whose text reads as that number, by the rule above; a text that is a class matched exactly
        y = y.copy()
        for text in np.unique(y[unseen]).tolist():
            _refuse_two_booleans(classes, text)
            try:
                number = float(text)
            except (TypeError, ValueError):
                continue
            y[y == text] = _number_text(classes, number)
        index = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
        unseen = classes[index] != y
    if np.any(unseen):
        raise ValueError(f"y holds labels {_first(np.unique(y[unseen]))} that are not among the classes "
                         f"{_first(classes)}")
    return index


def as_classes(classes, y):
    """y (N,) in the type of `classes`: numbers mapped to text classes and booleans to boolean classes by
    the rules above, else as given."""
    classes, y = np.asarray(classes), np.asarray(y)
    booleans = _boolean_classes(classes)
    if booleans is not None and not (classes.dtype.kind == "b" and y.dtype.kind in "iufb"):
        return _as_booleans(classes, booleans, y)
    if _is_text(classes) and y.dtype.kind in "iufb":
        return _numbers_to_texts(classes, y)
    if _is_text(classes) and y.dtype.kind == "O":
        return np.array([v if isinstance(v, str) else _number_text(classes, v) for v in y.tolist()], dtype=object)
    if _is_text(classes):
        return y.astype(object)
    if classes.dtype.kind in "iufb" and (y.dtype.kind in "US" or (y.dtype.kind == "O" and y.size and
                                                                  isinstance(y.flat[0], str))):
        return _texts_to_numbers(classes, y)
    return y


_TRUTH = {"true": True, "false": False, "yes": True, "no": False}


def _truth(value):
    """True or False when the label `value` denotes a boolean (see the module docstring), else None."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUTH:
            return _TRUTH[text]
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return {1.0: True, 0.0: False}.get(number)


def _boolean_classes(classes):
    """{False: class, True: class} when `classes` are the two booleans (bool, or the texts true and false in
    any case), else None."""
    if len(classes) != 2:
        return None
    if classes.dtype.kind == "b" or all(isinstance(c, (bool, np.bool_)) for c in classes.tolist()):
        return {bool(c): c for c in classes.tolist()}
    if not _is_text(classes):
        return None
    found = {}
    for text in classes.tolist():
        folded = text.strip().lower()
        if folded not in ("true", "false"):
            return None
        found[folded == "true"] = text
    return found if len(found) == 2 else None


def _as_booleans(classes, booleans, y):
    """y (N,) as the boolean classes `booleans` ({False: class, True: class}) name them.

    Bool classes: a label that denotes no boolean is a ValueError. Text classes: a text that is a class
    stays itself, another text that denotes no boolean stays as given (it is no class), a number that is
    not 0 or 1 is a ValueError.
    """
    text_classes = _is_text(classes)
    exact = set(classes.tolist()) if text_classes else set()
    mapped = {}
    values = y.tolist() if y.ndim else [y.item()]
    for value in values:
        key = (type(value), value)
        if key in mapped:
            continue
        truth = None if isinstance(value, str) and value in exact else _truth(value)
        if truth is not None:
            mapped[key] = booleans[truth]
        elif text_classes and isinstance(value, str):
            mapped[key] = value
        else:
            raise ValueError(f"label {value!r} is not among the classes {_first(classes)}, which are booleans "
                             f"(true/false, yes/no or 1/0 name them)")
    out = np.empty(len(values), dtype=classes.dtype if classes.dtype.kind == "b" else object)
    out[:] = [mapped[(type(v), v)] for v in values]
    return out.reshape(y.shape)


def _refuse_two_booleans(classes, label):
    """ValueError when the text `label`, true or false in some case, is no class but two or more classes spell
    it in other cases ("TRUE" against the classes "True" and "true")."""
    folded = label.strip().lower() if isinstance(label, str) else None
    if folded not in ("true", "false"):
        return
    spellings = [c for c in classes.tolist() if isinstance(c, str) and c.strip().lower() == folded]
    if len(spellings) > 1:
        raise ValueError(f"label {label!r} is ambiguous: the classes {spellings} all spell {folded}; give the "
                         f"label as one of them is written")


def _texts_to_numbers(classes, y):
    texts, inverse = np.unique(y.astype(str), return_inverse=True)
    values = np.empty(len(texts), dtype=object)
    for k, text in enumerate(texts.tolist()):
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"label {text!r} is not a number, but the classes are {_first(classes)}") from None
            if classes.dtype.kind in "iub" and value.is_integer():
                value = int(value)
        values[k] = value
    return values[inverse.reshape(y.shape)]


def _is_text(classes):
    return classes.dtype.kind in "US" or (classes.dtype.kind == "O" and all(isinstance(c, str) for c in classes))


def _class_numbers(classes):
    """{number: class text} for the classes whose text reads as a number; None marks a number read twice."""
    numbers = {}
    for text in classes.tolist():
        try:
            value = float(text)
        except ValueError:
            continue
        numbers[value] = None if value in numbers else text
    return numbers


def _numbers_to_texts(classes, y):
    numbers = _class_numbers(classes)
    out = np.empty(y.shape, dtype=object)
    for value in np.unique(y):
        out[y == value] = _lookup(numbers, value, classes)
    return out


def _number_text(classes, value):
    return _lookup(_class_numbers(classes), value, classes)


def _lookup(numbers, value, classes):
    key = float(value)
    if key not in numbers:
        raise ValueError(f"label {value!r} is not among the classes {_first(classes)} (no class text reads as "
                         f"that number)")
    if numbers[key] is None:
        texts = [c for c in classes.tolist() if _reads_as(c, key)]
        raise ValueError(f"label {value!r} is ambiguous: the classes {texts} all read as that number; give "
                         f"the label as text")
    return numbers[key]


def _reads_as(text, key):
    try:
        return float(text) == key
    except ValueError:
        return False


def _first(values, limit=12):
    values = list(np.asarray(values).tolist())
    shown = ", ".join(repr(v) for v in values[:limit])
    return "[" + shown + (f", ... ({len(values)} in all)" if len(values) > limit else "") + "]"


def looks_continuous(classes, n_rows):
    """Whether distinct labels look like a measured quantity rather than classes: all numbers, and many of
    them (more than 10 with fractions among them, or more than max(30, n_rows / 5))."""
    numbers = []
    for c in np.asarray(classes).tolist():
        try:
            numbers.append(float(c))
        except (TypeError, ValueError):
            return False
    fractional = any(not float(v).is_integer() for v in numbers if v == v)
    return (fractional and len(numbers) > 10) or len(numbers) > max(30, n_rows / 5)
