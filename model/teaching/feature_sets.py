"""A whole model's channel features, computed in the background, saved, loaded and cached.

The bundled model's ship in ``resources/mnist_cnn.features.npz``; any other model's are computed
once (with progress and cancel) and cached per model file (sha256) in the user's cache folder.
:mod:`model.teaching.features` holds the maths (top patches, activation maximisation)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.data.paths import user_cache_dir
from model.teaching.features import (
    BATCH,
    BUNDLED_FEATURES,
    FEATURES_VERSION,
    MNIST_TEST,
    Cancelled,
    K,
    _as_batch,
    _maps_function,
    _plane,
    field_grid,
    input_range,
    map_layers,
    maximize_channels,
    model_hash,
    patches_for,
    top_activations,
    unit_values,
)


@dataclass
class LayerFeatures:
    """What every channel of one layer looks for (arrays over channels, ``k`` patches each).

    ``values``/``index``/``row``/``col``: ``(c, k)`` the strongest units over the images;
    ``patches``: ``(c, k, fh, fw)`` their receptive-field crops (input range); ``field``:
    ``(fh, fw)``; ``optimised``: ``(c, h, w)`` an optimised input per channel for the unit at
    ``centre`` and ``optimised_values`` ``(c,)`` what the model gives for it there;
    ``best_values`` ``(c,)`` the best activation over the images at that same unit.
    """

    name: str
    kind: str
    shape: tuple[int, int, int]
    field: tuple[int, int]
    values: np.ndarray
    index: np.ndarray
    row: np.ndarray
    col: np.ndarray
    patches: np.ndarray
    centre: tuple[int, int] = (0, 0)
    optimised: np.ndarray | None = None
    optimised_values: np.ndarray | None = None
    best_values: np.ndarray | None = None
    window: tuple[int, int, int, int] = (0, 0, 0, 0)  # the centre unit's field on the input, clipped
    extra: dict = field(default_factory=dict)

    @property
    def channels(self) -> int:
        return int(self.shape[2])


def compute_features(
    keras_model,
    images: np.ndarray,
    k: int = K,
    optimise: bool = True,
    value_range: tuple[float, float] | None = None,
    progress: Callable[[str, int, int], object] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[LayerFeatures]:
    """Top patches (and optimised inputs) of every channel of every conv and pooling layer.

    ``images``: ``(n, h, w[, 1])`` in the model's input form. ``progress(stage, done, total)``
    with stage ``"patches"`` (images done) or ``"optimise"`` (layers done); ``cancelled()``
    returning True stops with ``Cancelled``.
    """
    layers = map_layers(keras_model)
    if not layers:
        return []
    names = [layer.name for layer in layers]
    images = _as_batch(keras_model, images)
    tops = top_activations(
        keras_model,
        images,
        names,
        k,
        progress=None if progress is None else lambda d, t: progress("patches", d, t),
        cancelled=cancelled,
    )
    # The best value at each map's centre over the same images: what the optimised input is compared with.
    run = _maps_function(keras_model, names)
    centres = [(int(layer.output.shape[1]) // 2, int(layer.output.shape[2]) // 2) for layer in layers]
    best = [np.full(int(layer.output.shape[-1]), -np.inf, np.float32) for layer in layers]
    best_at = [np.zeros(int(layer.output.shape[-1]), np.int64) for layer in layers]
    for start in range(0, len(images), BATCH):
        if cancelled is not None and cancelled():
            raise Cancelled
        for i, (out, (r, c)) in enumerate(zip(run(images[start : start + BATCH]), centres, strict=True)):
            here = out[:, r, c, :]
            arg = np.argmax(here, axis=0)
            top = here[arg, np.arange(here.shape[1])]
            better = top > best[i]
            best[i][better], best_at[i][better] = top[better], arg[better] + start
    result = []
    for i, layer in enumerate(layers):
        if cancelled is not None and cancelled():
            raise Cancelled
        grid = field_grid(keras_model, layer.name)
        t = tops[layer.name]
        patches = np.stack(
            [np.stack([p.patch for p in patches_for(t, c, images, grid)]) for c in range(t.values.shape[0])]
        ).astype(np.float32)
        feats = LayerFeatures(
            layer.name,
            type(layer).__name__,
            tuple(int(d) for d in layer.output.shape[1:4]),
            grid.size,
            t.values,
            t.index,
            t.row,
            t.col,
            patches,
            centres[i],
            best_values=best[i],
            window=grid.window(*centres[i]),
        )
        if optimise:
            low, high = input_range(keras_model) if value_range is None else value_range
            _optimise(keras_model, feats, (low, high), images[best_at[i]], cancelled)
        result.append(feats)
        if progress is not None:
            progress("optimise", i + 1, len(layers))
    return result


def _on_grid(images: np.ndarray, low: float, high: float) -> np.ndarray:
    """Pixels rounded to the 8-bit grid the features file stores."""
    return (low + np.round((images - low) / (high - low) * 255) / 255 * (high - low)).astype(np.float32)


def _optimise(
    keras_model,
    feats: LayerFeatures,
    value_range: tuple[float, float],
    best_digits: np.ndarray,
    cancelled: Callable[[], bool] | None = None,
) -> None:
    """Fill ``feats.optimised``/``optimised_values``: from noise first; a channel whose climb stays
    below its best digit climbs again from that digit (a start it answers to) and keeps the better.

    ``extra["from_noise"]`` keeps the values of the climb from noise (what ``maximize`` gives).
    """
    r, c = feats.centre
    low, high = value_range
    channels = np.arange(feats.channels)

    def climb(starts):
        imgs, _ = maximize_channels(
            keras_model, feats.name, None, r, c, value_range=value_range, starts=starts, cancelled=cancelled
        )
        imgs = _on_grid(imgs, low, high)  # the values are the model's for exactly the stored pixels
        return imgs, unit_values(keras_model, feats.name, imgs, r, c)[channels, channels]

    imgs, vals = climb(None)
    feats.extra["from_noise"] = vals.copy()
    short = vals < feats.best_values
    if short.any():
        again, again_vals = climb(best_digits)
        take = short & (again_vals > vals)
        imgs[take], vals[take] = again[take], again_vals[take]
    feats.optimised, feats.optimised_values = np.asarray([_plane(im) for im in imgs], np.float32), vals


_ARRAYS = ("values", "index", "row", "col", "patches", "optimised", "optimised_values", "best_values")


@dataclass
class FeatureSet:
    """A model's features over one set of images, ready to show.

    ``source``: ``"mnist-test"``, ``"mnist-sample"`` or ``"handwriting"``. ``drawings``: the
    ``(28, 28)`` drawings (float32 in [0, 1], white on black) of the images that appear among the
    top patches, by image index; ``strokes``: for the user's stored digits, their strokes.
    ``model_sha256``: the model file's hash; ``scale``: the top of the model's input range.
    """

    layers: list[LayerFeatures]
    source: str
    drawings: dict[int, np.ndarray] = field(default_factory=dict)
    strokes: dict[int, list] = field(default_factory=dict)
    model_sha256: str = ""
    scale: float = 1.0
    note: str = ""

    def layer(self, name: str) -> LayerFeatures | None:
        return next((f for f in self.layers if f.name == name), None)


def used_images(layers: list[LayerFeatures]) -> np.ndarray:
    """The sorted image indices that appear among the top patches of ``layers``."""
    if not layers:
        return np.zeros(0, np.int64)
    return np.unique(np.concatenate([f.index.ravel() for f in layers]))


def save_features(path: str | os.PathLike, features: FeatureSet) -> None:
    """Write ``features`` (not its strokes) to a compressed ``.npz`` keyed by the model file's sha256.

    Patches, optimised inputs and drawings are stored as uint8 (``pixel / scale * 255``): exact
    for MNIST's 8-bit digits; :func:`compute_features` puts optimised inputs on that grid, so
    their stored values are the model's for the stored pixels.
    """
    scale = features.scale
    used = used_images(features.layers)
    arrays: dict[str, np.ndarray] = {
        "version": np.array(FEATURES_VERSION),
        "model_sha256": np.array(features.model_sha256),
        "source": np.array(features.source),
        "note": np.array(features.note),
        "scale": np.array(scale, np.float32),
        "layers": np.array([f.name for f in features.layers]),
    }
    if used.size and all(int(i) in features.drawings for i in used):
        arrays["drawing_index"] = used.astype(np.int32)
        arrays["drawings"] = np.round(np.clip([features.drawings[int(i)] for i in used], 0, 1) * 255).astype(np.uint8)
    for i, f in enumerate(features.layers):
        p = f"l{i}_"
        arrays[p + "kind"] = np.array(f.kind)
        arrays[p + "shape"] = np.array(f.shape, np.int32)
        arrays[p + "field"] = np.array(f.field, np.int32)
        arrays[p + "centre"] = np.array(f.centre, np.int32)
        arrays[p + "window"] = np.array(f.window, np.int32)
        for name in _ARRAYS:
            value = getattr(f, name)
            if value is None:
                continue
            if name in {"patches", "optimised"}:
                value = np.round(np.clip(np.asarray(value) / scale, 0, 1) * 255).astype(np.uint8)
            elif name in {"index", "row", "col"}:
                value = np.asarray(value).astype(np.int32)
            arrays[p + name] = np.asarray(value)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def load_features(path: str | os.PathLike, model_sha256: str | None = None) -> FeatureSet | None:
    """A ``FeatureSet`` saved by :func:`save_features`; ``None`` if missing, unreadable, or for another model."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["version"]) != FEATURES_VERSION:
                return None
            if model_sha256 is not None and str(z["model_sha256"]) != model_sha256:
                return None
            scale = float(z["scale"])
            layers = []
            for i, name in enumerate(z["layers"]):
                p = f"l{i}_"
                kw = {}
                for key in _ARRAYS:
                    if p + key in z:
                        value = z[p + key]
                        if key in {"patches", "optimised"}:
                            value = value.astype(np.float32) / 255 * scale
                        elif key in {"index", "row", "col"}:
                            value = value.astype(np.int64)
                        kw[key] = value
                layers.append(
                    LayerFeatures(
                        str(name),
                        str(z[p + "kind"]),
                        tuple(int(d) for d in z[p + "shape"]),
                        tuple(int(d) for d in z[p + "field"]),
                        centre=tuple(int(d) for d in z[p + "centre"]),
                        window=tuple(int(d) for d in z[p + "window"]),
                        **kw,
                    )
                )
            drawings = {}
            if "drawing_index" in z:
                images = z["drawings"].astype(np.float32) / 255
                drawings = {int(i): images[j] for j, i in enumerate(z["drawing_index"])}
            return FeatureSet(layers, str(z["source"]), drawings, {}, str(z["model_sha256"]), scale, str(z["note"]))
    except (OSError, KeyError, ValueError, EOFError):
        return None


def cache_path(model_sha256: str, source: str = MNIST_TEST) -> Path:
    """Where a model's features over ``source`` images are cached: the user's cache folder, by content hash."""
    return user_cache_dir() / "features" / f"{model_sha256}-{source}.npz"


def find_features(model_sha256: str, source: str = MNIST_TEST) -> FeatureSet | None:
    """Saved features of the model with this hash: the shipped file for the bundled model, else the cache."""
    for path in (BUNDLED_FEATURES, cache_path(model_sha256, source)):
        if path.is_file():
            found = load_features(path, model_sha256)
            if found is not None and found.source == source:
                return found
    return None


def features_for(
    model_path: str | os.PathLike,
    source: str = MNIST_TEST,
    progress: Callable[[str, int, int], object] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> FeatureSet:
    """Compute (or find) a model file's features over ``source``: ``"mnist-test"`` or ``"handwriting"``.

    MNIST test comes from :func:`model.paths.default_mnist_dir`; without it, the 1,200 MNIST
    training digits shipped in ``resources/mnist_replay.npz`` stand in (``source`` then says
    ``"mnist-sample"``). MNIST results are cached in the user's cache folder by the model
    file's sha256. The user's stored digits (``model.handwriting``) are not cached (the store
    changes); their optimised inputs come from the MNIST results when there are any.
    Raises ``Cancelled``, ``ValueError`` (no digits), ``ModelError``.
    """
    from model.nets.inference import Predictor

    sha = model_hash(model_path)
    if source != "handwriting":
        found = find_features(sha, MNIST_TEST) or find_features(sha, "mnist-sample")
        if found is not None:
            return found
    predictor = Predictor(model_path, feature_maps=False)
    strokes: dict[int, list] = {}
    note = ""
    if source == "handwriting":
        from model.data.handwriting import HandwritingStore
        from model.data.preprocess import strokes_to_input

        drawings = []
        for d in HandwritingStore().drawings():
            x = strokes_to_input(d.strokes)
            if x is not None:
                strokes[len(drawings)] = d.strokes
                drawings.append(x)
        if not drawings:
            raise ValueError("You have no stored digits yet: label some with Handwriting ▸ Label my digits, then look again.")
        drawings = np.asarray(drawings, np.float32)
    else:
        from model.data.paths import default_mnist_dir
        from model.data.readers import load_mnist_test

        folder = default_mnist_dir()
        if folder is not None:
            x, _ = load_mnist_test(folder)
        else:
            from model.training.tune import REPLAY_FILE

            with np.load(REPLAY_FILE) as z:
                x = z["x"]
            source = "mnist-sample"
            note = f"MNIST's test files were not found; these are the {len(x):,} MNIST training digits shipped with the app."
        drawings = x.astype(np.float32) / 255
    images = predictor.prepare(drawings)
    optimise = source != "handwriting"
    layers = compute_features(
        predictor.model, images, optimise=optimise, value_range=predictor.input_range, progress=progress, cancelled=cancelled
    )
    if not optimise:
        mnist = find_features(sha, MNIST_TEST) or find_features(sha, "mnist-sample")
        for f in layers:
            g = mnist.layer(f.name) if mnist is not None else None
            if g is not None:
                f.optimised, f.optimised_values, f.best_values = g.optimised, g.optimised_values, g.best_values
    used = used_images(layers)
    result = FeatureSet(layers, source, {int(i): drawings[int(i)] for i in used}, strokes, sha, predictor.input_range[1], note)
    if source != "handwriting":
        try:
            save_features(cache_path(sha, source), result)
        except OSError:
            pass  # a read-only cache only costs the next opening the same wait
    return result
