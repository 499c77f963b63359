"""Saving a trained model: atomically, with the layer table and the evaluation its card records."""

from __future__ import annotations

import glob
import os
import shlex
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from model.data.paths import RESOURCES


def layer_table(model) -> list[dict]:
    """One row per layer: name, Keras class, output shape, parameters (and padding/strides where they apply)."""
    rows = []
    for layer in model.layers:
        try:
            shape = list(layer.output.shape[1:])
        except (AttributeError, ValueError):
            shape = None
        row = {"name": layer.name, "type": type(layer).__name__, "output_shape": shape, "params": int(layer.count_params())}
        if hasattr(layer, "padding") and hasattr(layer, "strides"):
            row.update(padding=layer.padding, strides=list(layer.strides))
        rows.append(row)
    return rows


def save_model_atomically(model, out: Path) -> None:
    """Save to a temporary file next to ``out`` and rename it, so ``out`` is never half-written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.{int(time.time() * 1000)}.tmp.keras")
    try:
        model.save(tmp)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


class OutputError(ValueError):
    """An output cannot be written (a folder, not writable, in use); the message says which and why."""


def check_output(out: Path) -> None:
    """Refuse, before any work, an output that cannot be written: ``out`` or its card a folder, or a folder not writable.

    Creates the missing folders (as saving would) and a temporary file in the last one, so a train of
    half an hour cannot end in a traceback at the save.
    """
    from model.nets.card import card_path

    out = Path(out)
    for path in (out, card_path(out)):
        if path.is_dir():
            raise OutputError(f"{path} is a folder; give a file name ending in .keras")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=f".{out.stem}.", suffix=".check"):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write to {out.parent}: {exc.strerror or exc}") from exc


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold ``out`` for one writer: a second ``tune``/``train`` to the same file is refused, not both saved.

    An exclusive create of ``.NAME.lock`` beside ``out`` holding the process id; a lock left by a
    process that no longer runs (kill -9) is taken over.
    """
    lock = Path(out).with_name(f".{Path(out).name}.lock")
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _alive(pid):
                raise OutputError(
                    f"{out} is being written by another run (process {pid}); wait for it or choose another --out"
                ) from None
            if pid == os.getpid():
                raise OutputError(f"{out} is already being written by this program; choose another --out") from None
            lock.unlink(missing_ok=True)  # left behind by a process that is gone
            continue
        except OSError as exc:
            raise OutputError(f"cannot write to {lock.parent}: {exc.strerror or exc}") from exc
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        break
    else:
        raise OutputError(f"{out} is locked by {lock}; remove it if no other run is writing {out}")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def save_model_and_card(model, out: Path, card: dict, evaluate: Callable[[Path], dict] | None = None) -> dict:
    """Write ``out`` and its card as a pair, or neither; returns the card written.

    Both go to hidden temporary files beside ``out`` first. ``evaluate(temporary_model_path)``, if
    given, runs then (the temporary card already holds ``card``, feeding keys included) and its
    result becomes the card's ``evaluation``. Then the card is renamed over the old card, then the
    model over the old model: an interruption before the renames (Ctrl+C during the evaluation, an
    exception, a full disk) leaves the old pair untouched and no temporary file; only a kill between
    the two renames (microseconds) can leave the new card beside the old model.
    """
    from model.nets.card import card_path

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.{int(time.time() * 1000)}.tmp.keras")
    tmp_card = card_path(tmp)
    try:
        model.save(tmp)
        _write_json(tmp_card, card)
        if evaluate is not None:
            card = {**card, "evaluation": evaluate(tmp)}
            _write_json(tmp_card, card)
        os.replace(tmp_card, card_path(out))
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
        tmp_card.unlink(missing_ok=True)
    return card


def remove_stale_temporaries(out: Path) -> list[Path]:
    """Remove the temporary files of ``out`` left by a run that was killed (kill -9); returns them.

    Only ``.STEM.PID.MILLISECONDS.tmp.keras`` (and its ``.json``) whose process no longer runs.
    """
    removed = []
    for tmp in Path(out).parent.glob(f".{glob.escape(Path(out).stem)}.*.*.tmp.*"):
        parts = tmp.name[len(Path(out).stem) + 2 :].split(".")
        if len(parts) == 4 and parts[0].isdigit() and parts[2] == "tmp" and not _alive(int(parts[0])):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _write_json(path: Path, document: dict) -> None:
    import json

    from model.data.readers import write_atomically

    write_atomically(path, (json.dumps(document, indent=2) + "\n").encode())


def _display_path(path: Path) -> str:
    """``path`` relative to the project when it lies inside it (as the card's commands are run from there)."""
    try:
        return str(Path(path).resolve().relative_to(RESOURCES.parent))
    except ValueError:
        return str(path)


def evaluate_for_card(
    model_path: Path, data_dir: str | None, pendigits: str | None, writers: list[int] | None, shown: Path | None = None
) -> dict:
    """The numbers ``main.py evaluate`` reports, recorded in the card with the commands that give them.

    ``shown``: the path the commands name (the final one, when ``model_path`` is a temporary file).
    """
    from model.nets.evaluate import evaluate_mnist, evaluate_pendigits
    from model.nets.inference import Predictor

    predictor = Predictor(model_path)
    model_arg = f"--model {shlex.quote(_display_path(shown or model_path))}"
    result = {}
    if data_dir:
        r = evaluate_mnist(predictor, data_dir)
        result["mnist_test"] = {**r.summary(), "command": f"uv run main.py evaluate {model_arg} --data {data_dir}"}
    if pendigits and writers:
        r = evaluate_pendigits(predictor, pendigits, writers)
        spec = f"{writers[0]}-{writers[-1]}"
        per_writer = {}
        for w in writers:
            rw = evaluate_pendigits(predictor, pendigits, [w])
            per_writer[str(w)] = round(rw.accuracy, 5)
        result["pendigits_heldout_writers"] = {
            **r.summary(),
            "writers": writers,
            "per_writer": per_writer,
            "note": "writers never used for training or tuning; rendered through strokes_to_input",
            "command": f"uv run main.py evaluate {model_arg} --data {pendigits} --writers {spec}",
        }
    return result
