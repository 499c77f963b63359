"""How well a model reads a labelled set: MNIST's test files, pendigits writers, or a folder.

Every source ends in an :class:`EvalResult` (true and predicted class indices), which gives the
accuracy, per-class accuracy and the confusion matrix, as text or as one JSON-able dict.
Inputs are read and classified a batch at a time (``model.pictures.inputs_from_files``), so a
folder of any size costs the memory of one batch, and a bad file is reported and skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

BATCH = 256  # inputs read, preprocessed and classified together


@dataclass
class EvalResult:
    """``labels``: ``(n,)`` true class indices; ``predicted``: ``(n,)``, -1 where there was no answer."""

    name: str
    labels: np.ndarray
    predicted: np.ndarray
    class_names: list[str] = field(default_factory=lambda: [str(d) for d in range(10)])
    # per input: "digit" | "unsure" | "not a digit" (model/confidence.py), "" where there was no answer
    status: np.ndarray | None = None

    @property
    def accuracy(self) -> float:
        return float((self.labels == self.predicted).mean()) if len(self.labels) else float("nan")

    def confusion(self) -> np.ndarray:
        """``(K, K)`` counts: rows true class, columns answer (inputs with no answer are not counted)."""
        k = len(self.class_names)
        answered = self.predicted >= 0
        return np.bincount(self.labels[answered] * k + self.predicted[answered], minlength=k * k).reshape(k, k)

    def no_answer(self) -> np.ndarray:
        """``(K,)`` per true class: inputs that held nothing to read (a blank picture, an empty drawing)."""
        return np.bincount(self.labels[self.predicted < 0], minlength=len(self.class_names))

    def per_class(self) -> dict[str, float]:
        """Accuracy per class name, for the classes present in ``labels``."""
        return {
            name: round(float((self.predicted[self.labels == i] == i).mean()), 4)
            for i, name in enumerate(self.class_names)
            if (self.labels == i).any()
        }

    def summary(self) -> dict:
        return {
            "n": int(len(self.labels)),
            "accuracy": round(self.accuracy, 5),
            "errors": int((self.labels != self.predicted).sum()),
            "per_class": self.per_class(),
            "classes": list(self.class_names),
            "confusion": self.confusion().tolist(),
            "no_answer": self.no_answer().tolist(),
            **({"confidence": self.sure_summary()} if self.status is not None else {}),
        }

    def sure_summary(self) -> dict:
        """Accuracy on the answers the model was sure of, and how many it flagged ("unsure", "not a digit")."""
        status = np.asarray(self.status)
        sure = status == "digit"
        right = self.labels == self.predicted
        return {
            "sure": int(sure.sum()),
            "accuracy_on_sure": round(float(right[sure].mean()), 5) if sure.any() else None,
            "unsure": int((status == "unsure").sum()),
            "not_a_digit": int((status == "not a digit").sum()),
            "flagged": round(float((~sure).mean()), 5) if len(status) else None,
            "errors_flagged": int((~sure & ~right).sum()),
        }

    def report(self) -> str:
        right = int((self.labels == self.predicted).sum())
        lines = [f"{self.name}: accuracy {self.accuracy * 100:.2f}% ({right}/{len(self.labels)})"]
        lines.append("  per class: " + "  ".join(f"{c}:{acc * 100:.1f}%" for c, acc in self.per_class().items()))
        table = np.concatenate([self.confusion(), self.no_answer()[:, None]], axis=1)
        width = max(5, max(len(c) for c in self.class_names) + 1, len(str(table.max())) + 1)
        label_w = max(len(c) for c in self.class_names)
        lines.append("  confusion (rows: true class, columns: answer, '-' = nothing to read):")
        lines.append("    " + " " * (label_w + 2) + "".join(f"{c:>{width}}" for c in [*self.class_names, "-"]))
        for name, row in zip(self.class_names, table):
            lines.append(f"    {name:>{label_w}}: " + "".join(f"{v:>{width}}" for v in row))
        if self.status is not None and len(self.labels):
            c = self.sure_summary()
            on_sure = "-" if c["accuracy_on_sure"] is None else f"{c['accuracy_on_sure'] * 100:.2f}%"
            lines.append(
                f"  sure answers: {c['sure']}/{len(self.labels)}, accuracy on them {on_sure}; flagged "
                f"{c['flagged'] * 100:.1f}% ({c['unsure']} unsure, {c['not_a_digit']} not a digit), "
                f"catching {c['errors_flagged']} of the {int((self.labels != self.predicted).sum())} errors"
            )
        return "\n".join(lines)


def class_index(class_names: Sequence[str], label: object) -> int | None:
    """The index of ``label`` (a class name, or an int naming a class) in ``class_names``, else None."""
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        label = str(int(label))
    if not isinstance(label, str):
        return None
    try:
        return list(class_names).index(label)
    except ValueError:
        return None


def _digit_indices(class_names: Sequence[str], labels: np.ndarray, source: str) -> np.ndarray:
    from model.data.readers import DataError

    lookup = {d: class_index(class_names, d) for d in np.unique(labels).tolist()}
    missing = sorted(d for d, i in lookup.items() if i is None)
    if missing:
        raise DataError(
            f"{source} is labelled with digits {missing}, which are not among the model's classes "
            f"({', '.join(class_names[:12])}{', ...' if len(class_names) > 12 else ''})."
        )
    return np.array([lookup[d] for d in labels.tolist()], np.int64)


def classify(predictor, inputs: Sequence[np.ndarray | None]) -> np.ndarray:
    """``(28, 28)`` inputs (``None``: nothing to read) -> predicted class indices, -1 for None or a non-finite output."""
    return classify_answers(predictor, inputs)[0]


def classify_answers(predictor, inputs: Sequence[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`classify` and each answer's status ("digit", "unsure", "not a digit"; "" without an answer)."""
    status = np.full(len(inputs), "", dtype=object)
    if hasattr(predictor, "predict_answers"):
        idx = [i for i, x in enumerate(inputs) if x is not None]
        try:
            probs, verdicts = predictor.predict_answers(np.stack([inputs[i] for i in idx])) if idx else (None, [])
            if probs is not None and np.isfinite(probs).all():
                predicted = np.full(len(inputs), -1, np.int64)
                predicted[idx] = probs.argmax(1)
                status[idx] = [v.status for v in verdicts]
                return predicted, status
        except ValueError:
            pass  # a NaN output somewhere: classify one by one below, without statuses
    return _classify(predictor, inputs), status


def _classify(predictor, inputs: Sequence[np.ndarray | None]) -> np.ndarray:
    predicted = np.full(len(inputs), -1, np.int64)
    idx = [i for i, x in enumerate(inputs) if x is not None]
    if not idx:
        return predicted
    try:
        probs = predictor.predict_probabilities(np.stack([inputs[i] for i in idx]))
    except ValueError:  # e.g. a NaN output refused for the whole batch: find which inputs cause it
        probs = np.full((len(idx), len(predictor.class_names)), np.nan, np.float32)
        for j, i in enumerate(idx):
            try:
                probs[j] = predictor.predict_probabilities(inputs[i][None])[0]
            except ValueError:
                pass
    ok = np.isfinite(probs).all(axis=1)
    predicted[np.asarray(idx)[ok]] = probs[ok].argmax(1)
    return predicted


def _save_misreads(directory: Path | None, result_names: Sequence[str], inputs, labels, predicted, tags) -> None:
    if directory is None:
        return
    from model.data.readers import write_png

    for x, t, p, tag in zip(inputs, labels, predicted, tags):
        if t == p or x is None:
            continue
        answer = "none" if p < 0 else _safe(result_names[p])
        name = f"true-{_safe(result_names[t])}_read-{answer}_{_safe(tag)}.png"
        write_png(directory / name, np.round(np.clip(x, 0, 1) * 255).astype(np.uint8))


def _safe(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", str(text))[:80] or "_"


def evaluate_mnist(predictor, directory: str | os.PathLike, errors_dir: Path | None = None) -> EvalResult:
    """The official 10,000-image MNIST test set, fed as MNIST prepared it (no re-processing)."""
    from model.data.readers import DataError, load_mnist_test

    x, y = load_mnist_test(directory)
    if x.shape[1:] != (28, 28):
        raise DataError(f"The IDX images in {directory} are {x.shape[1]}x{x.shape[2]}; MNIST's are 28x28.")
    labels = _digit_indices(predictor.class_names, y, str(directory))
    inputs = x.astype(np.float32) / 255.0
    predicted, status = classify_answers(predictor, list(inputs))
    _save_misreads(errors_dir, predictor.class_names, inputs, labels, predicted, [f"test{i:05d}" for i in range(len(x))])
    return EvalResult("MNIST test set", labels, predicted, list(predictor.class_names), status)


def evaluate_pendigits(
    predictor, path: str | os.PathLike, writers: Sequence[int] | None = None, errors_dir: Path | None = None
) -> EvalResult:
    """Pen-tablet digits of the given writers, rendered through the canvas's strokes-to-input path."""
    from model.data.preprocess import strokes_to_input
    from model.data.readers import read_pendigits

    chosen = None if writers is None else set(writers)
    digits = [d for d in read_pendigits(path) if chosen is None or d.writer in chosen]
    inputs = [strokes_to_input(d.strokes) for d in digits]
    labels = _digit_indices(predictor.class_names, np.array([d.label for d in digits], np.int64), str(path))
    predicted, status = classify_answers(predictor, inputs)
    tags = [f"writer{d.writer}_{i:05d}" for i, d in enumerate(digits)]
    _save_misreads(errors_dir, predictor.class_names, inputs, labels, predicted, tags)
    who = "all writers" if writers is None else f"writers {_span(list(writers))}"
    return EvalResult(f"pendigits ({who})", labels, predicted, list(predictor.class_names), status)


def _span(writers: list[int]) -> str:
    ws = sorted(writers)
    if not ws:
        return "none"
    return f"{ws[0]}-{ws[-1]}" if ws == list(range(ws[0], ws[-1] + 1)) else ",".join(map(str, ws))


_DIGITS = tuple(str(d) for d in range(10))


def label_of(path: Path, doc_label: object) -> int | None:
    """A digit file's label 0-9: its ``"label"`` key, else a parent folder named 0-9, else a ``N_`` filename prefix."""
    label = class_label_of(path, doc_label, [str(d) for d in range(10)])
    return int(label) if label is not None and label in _DIGITS else None


def class_label_of(path: Path, doc_label: object, class_names: Sequence[str]) -> str | None:
    """An input's class name: a stroke file's ``"label"``, else its parent folder's name if that is
    a class name (``3/``, ``cat/``), else a ``N_`` or ``N-`` filename prefix naming a class."""
    if doc_label is not None:
        return str(doc_label)
    if path.parent.name in class_names:
        return path.parent.name
    head = re.split(r"[_-]", path.stem, maxsplit=1)[0]
    if head in class_names and head != path.stem:
        return head
    return None


def _walk_error(exc: OSError) -> str:
    """One line for a folder that could not be listed (unreadable, a path over PATH_MAX, ...)."""
    name = str(exc.filename or "")
    shown = name if len(name) <= 160 else f"{name[:60]}...{name[-80:]} ({len(name):,} characters)"
    return f"{shown}: cannot be listed: {exc.strerror or exc}"


def supported_paths(directory: str | os.PathLike, problems: list[str] | None = None) -> list[str]:
    """Every image and stroke file under ``directory`` (recursively, symlinked folders not followed), sorted.

    Hidden files and folders are skipped. Sorted by path components (``a/b.png`` before ``a-b.png``
    the way a file manager lists them), as strings: 10,000 files take milliseconds. A folder that
    cannot be listed (no permission, a path longer than PATH_MAX) is one line in ``problems``, never
    skipped silently.
    """
    from model.data.pictures import IMAGE_SUFFIXES, STROKE_SUFFIXES

    suffixes = set(IMAGE_SUFFIXES) | set(STROKE_SUFFIXES)
    found = []
    report = (lambda exc: problems.append(_walk_error(exc))) if problems is not None else None
    for root, dirs, files in os.walk(directory, onerror=report):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(root, f) for f in files if not f.startswith(".") and os.path.splitext(f)[1].lower() in suffixes)
    return sorted(found, key=lambda p: p.split(os.sep))


def supported_files(directory: str | os.PathLike, problems: list[str] | None = None) -> list[Path]:
    """:func:`supported_paths` as ``Path`` objects."""
    return [Path(p) for p in supported_paths(directory, problems)]


def evaluate_folder(
    predictor,
    directory: str | os.PathLike,
    errors_dir: Path | None = None,
    on_problem: Callable[[str], None] | None = None,
    numbers: list | None = None,
) -> EvalResult:
    """Every labelled image and stroke file under ``directory`` (see :func:`label_of`).

    Files that cannot be read or carry no known label are passed to ``on_problem`` as one line
    each and left out; the rest are read, classified and counted a batch at a time. With a
    ``numbers`` list, files labelled with a whole number (``"label": "4071"``) are appended to it
    as ``(path, label)`` instead, for :func:`evaluate_numbers`.
    """
    from model.data.pictures import inputs_from_files, read_ahead

    names = list(predictor.class_names)
    report = on_problem or (lambda message: None)
    labels: list[int] = []
    predicted: list[np.ndarray] = []
    statuses: list[np.ndarray] = []
    unlisted: list[str] = []
    files = supported_files(directory, unlisted)
    for problem in unlisted:
        report(problem)
    chunks = [files[i : i + BATCH] for i in range(0, len(files), BATCH)]
    for chunk, loaded in zip(chunks, read_ahead(chunks, lambda c: inputs_from_files(c, with_labels=True))):
        inputs, truth, tags = [], [], []
        for path, item in zip(chunk, loaded):
            if isinstance(item, BaseException):
                report(_message(path, item))
                continue
            x, doc_label = item
            label = class_label_of(path, doc_label, names)
            index = None if label is None else class_index(names, label)
            if index is None and numbers is not None and is_number_label(label, names):
                numbers.append((path, label))
                continue
            if index is None:
                what = "no label" if label is None else f"label {label!r} is not one of the model's classes"
                report(
                    f"{path}: {what} (put it in a folder named after its class, e.g. {names[0]}/, "
                    f'or add "label" to a stroke file); skipped'
                )
                continue
            inputs.append(x)
            truth.append(index)
            tags.append(str(path.relative_to(directory).with_suffix("")))
        answers, status = classify_answers(predictor, inputs)
        _save_misreads(errors_dir, names, inputs, truth, answers, tags)
        labels.extend(truth)
        predicted.append(answers)
        statuses.append(status)
    return EvalResult(
        f"files in {directory}",
        np.array(labels, np.int64),
        np.concatenate(predicted) if predicted else np.zeros(0, np.int64),
        names,
        np.concatenate(statuses) if statuses else np.zeros(0, object),
    )


def is_number_label(label: object, class_names: Sequence[str]) -> bool:
    """True for a whole number's label: a string of 2 or more digits, each one of the model's classes."""
    return isinstance(label, str) and len(label) >= 2 and all(c in class_names for c in label)


def _message(path: Path | str, exc: BaseException) -> str:
    from model.data.pictures import describe_failure

    return describe_failure(str(path), exc)


def _common(a: str, b: str) -> int:
    """Length of the longest common subsequence of two digit strings (digits read right, in order)."""
    row = [0] * (len(b) + 1)
    for ca in a:
        prev = 0
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], prev + 1 if ca == cb else max(row[j], row[j - 1])
    return row[-1]


def evaluate_numbers(predictor, files: list, on_problem=None) -> dict:
    """Files labelled with whole numbers (``[(path, "4071"), ...]``) -> whole-number and per-digit accuracy.

    ``digit_accuracy``: digits read right (the longest common subsequence of the label and the
    answer, so a missed or extra digit costs one, not the rest) over the labels' digits;
    ``wrong_count``: numbers read with more or fewer digits than their label.
    """
    from model.data.segment import read_number_file

    names = list(predictor.class_names)
    report = on_problem or (lambda message: None)
    n = right = digits = digits_right = wrong_count = 0
    misread = []
    for path, label in files:
        try:
            reading = read_number_file(str(path), predictor)
        except Exception as exc:  # noqa: BLE001
            from model.data.pictures import describe_failure

            report(describe_failure(str(path), exc) + "; skipped")
            continue
        got = reading.text(names)
        n += 1
        right += got == label
        digits += len(label)
        digits_right += _common(label, got)
        wrong_count += len(got) != len(label)
        if got != label:
            misread.append({"path": str(path), "label": label, "read": got})
    return {
        "n": n,
        "accuracy": round(right / n, 5) if n else None,
        "digits": digits,
        "digit_accuracy": round(digits_right / digits, 5) if digits else None,
        "wrong_count": wrong_count,
        "misread": misread[:100],
    }


def number_report(result: dict) -> str:
    """The text ``evaluate`` prints for number files."""
    if not result["n"]:
        return "numbers: none could be read"
    lines = [
        f"numbers: {result['n']}, read entirely right: {100 * result['accuracy']:.2f}%",
        f"digits of those numbers: {result['digits']}, read right: {100 * result['digit_accuracy']:.2f}%"
        f" (numbers read with a wrong digit count: {result['wrong_count']})",
    ]
    lines += [f"  {m['path']}: {m['label']} read as {m['read'] or '-'}" for m in result["misread"][:20]]
    return "\n".join(lines)
