"""Importing TensorFlow without its start-up chatter.

``import tensorflow`` prints "oneDNN custom operations are on", CPU-feature notices and absl's
"All log messages before absl::InitializeLog()" straight to file descriptor 2 from C++, before
``TF_CPP_MIN_LOG_LEVEL`` can filter the absl lines. They are noise to a user of the command line,
so :func:`import_tensorflow` points fd 2 at a temporary file during the import and restores it
afterwards; if the import fails, what TensorFlow printed is replayed so nothing is lost.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading

_lock = threading.Lock()
# What TensorFlow prints at import that says nothing to a user; anything else printed to fd 2
# while it was pointed away (another thread's warning, say) is written back afterwards.
_CHATTER = (
    "oneDNN custom operations",
    "All log messages before absl::InitializeLog",
    "cpu_feature_guard",
    "This TensorFlow binary is optimized",
    "To enable the following instructions",
    "port.cc:",
)


def _replay(sink, everything: bool) -> None:
    sink.seek(0)
    text = sink.read().decode("utf-8", "replace")
    lines = [ln for ln in text.splitlines(keepends=True) if everything or not any(c in ln for c in _CHATTER)]
    if lines:
        try:
            sys.stderr.write("".join(lines))
            sys.stderr.flush()
        except (OSError, ValueError):
            pass


def import_tensorflow(verbose: bool = False):
    """Import and return the ``tensorflow`` module; quiet unless ``verbose`` (or already imported)."""
    verbose = verbose or os.environ.get("TF_CPP_MIN_LOG_LEVEL") == "0"
    if "tensorflow" in sys.modules or verbose:
        import tensorflow as tf

        return tf
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _lock:
        if "tensorflow" in sys.modules:
            import tensorflow as tf

            return tf
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        try:
            saved = os.dup(2)
        except OSError:  # no fd 2 at all (some frozen Windows apps): nothing to silence
            import tensorflow as tf

            return tf
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                import tensorflow as tf
            except BaseException as exc:
                os.dup2(saved, 2)
                os.close(saved)
                if isinstance(exc, Exception):  # a failed import: what TensorFlow said may explain it
                    _replay(sink, everything=True)
                raise
            os.dup2(saved, 2)
            os.close(saved)
            _replay(sink, everything=False)
        # TensorFlow's Python-side warnings ("N out of the last M calls ... triggered tf.function
        # retracing" after a few model switches in one window, say) are for developers too; errors stay.
        import logging

        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        return tf


def runtime_versions() -> str:
    """``"TensorFlow x, Keras y (backend z)"``, importing them quietly (the self-test's check)."""
    tf = import_tensorflow()
    import keras

    return f"TensorFlow {tf.__version__}, Keras {keras.__version__} (backend {keras.backend.backend()})"
