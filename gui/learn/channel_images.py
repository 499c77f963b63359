"""Learn ▸ What each channel looks for: channels drawn as pictures.

``grey_pixmap`` draws a patch, a mosaic or an optimised input with sharp pixels (a unit's field
outlined); ``mosaic`` puts a channel's nine strongest patches in one 3×3 image; ``layer_row`` is
one layer's row of channels in ``gui/learn/channels.py``'s ``ChannelsWindow``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from model.teaching.feature_sets import LayerFeatures
from model.teaching.numbers import fmt

PREVIEW_CHANNELS = 6  # channels per layer row: enough to see what a layer does, all rows on one screen
TILE_PX = 50


def grey_pixmap(image: np.ndarray, scale: float, px: int, box: tuple[int, int, int, int] | None = None) -> QPixmap:
    """A float image in ``[0, scale]`` as a ``px``-wide grey pixmap, sharp pixels; ``box`` outlined in orange."""
    a = np.ascontiguousarray(np.clip(np.asarray(image, np.float32) / (scale or 1.0), 0, 1) * 255, dtype=np.uint8)
    h, w = a.shape
    qimage = QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
    height = max(1, round(px * h / w))
    pixmap = QPixmap.fromImage(qimage).scaled(
        px, height, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.FastTransformation
    )
    if box is not None and box[1] > box[0] and box[3] > box[2]:
        r0, r1, c0, c1 = box
        sx, sy = px / w, height / h
        painter = QPainter(pixmap)
        painter.setPen(QPen(QColor("#ff9f1c"), 2))
        painter.drawRect(QRect(QPoint(round(c0 * sx), round(r0 * sy)), QPoint(round(c1 * sx) - 1, round(r1 * sy) - 1)))
        painter.end()
    return pixmap


def mosaic(patches: np.ndarray, gap: int = 1) -> np.ndarray:
    """``(9, fh, fw)`` patches -> one ``(3 fh + 2 gap, 3 fw + 2 gap)`` image, largest first, row by row."""
    n, fh, fw = patches.shape
    side = int(np.ceil(np.sqrt(n)))
    out = np.full((side * fh + (side - 1) * gap, side * fw + (side - 1) * gap), np.float32(patches.max() * 0.35))
    for i in range(n):
        r, c = divmod(i, side)
        out[r * (fh + gap) : r * (fh + gap) + fh, c * (fw + gap) : c * (fw + gap) + fw] = patches[i]
    return out


def layer_row(f: LayerFeatures, scale: float, buttons: dict[tuple[str, int], QToolButton], select) -> QWidget:
    """One layer's row: its title and its first ``PREVIEW_CHANNELS`` channels' patches, each a button
    (added to ``buttons`` under ``(layer, channel)``) whose click calls ``select(layer, channel)``."""
    row = QWidget(objectName=f"channels_row_{f.name}")
    v = QVBoxLayout(row)
    v.setContentsMargins(2, 2, 2, 2)
    v.setSpacing(1)
    h, w, c = f.shape
    shown = min(c, PREVIEW_CHANNELS)
    title = QLabel(
        f"<b>{f.name}</b> · sees <b>{f.field[0]}×{f.field[1]}</b> px · {f.kind} {h}×{w}"
        + (f" · {shown} of {c} channels" if shown < c else f" · {c} channels")
    )
    title.setToolTip(f"Each unit of {f.name} sees a {f.field[0]}×{f.field[1]} patch of the digit: its receptive field.")
    title.setWordWrap(True)
    v.addWidget(title)
    tiles = QHBoxLayout()
    tiles.setSpacing(3)
    for ch in range(shown):
        b = QToolButton(objectName=f"channels_tile_{f.name}_{ch}")
        b.setIcon(grey_pixmap(mosaic(f.patches[ch]), scale, TILE_PX))
        b.setIconSize(QSize(TILE_PX, TILE_PX))
        b.setCheckable(True)
        b.setAutoRaise(True)
        b.setToolTip(f"{f.name} channel {ch}: strongest value {fmt(float(f.values[ch, 0]), 3)}")
        b.clicked.connect(lambda _=False, name=f.name, ch=ch: select(name, ch))
        tiles.addWidget(b)
        buttons[(f.name, ch)] = b
    tiles.addStretch(1)
    v.addLayout(tiles)
    return row
