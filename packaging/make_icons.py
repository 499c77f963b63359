"""Draw the app icon with Qt and write it in the formats each platform wants.

    uv run packaging/make_icons.py            (re)write resources/icons/digit-recognizer.{png,ico,icns}

The icon is a hand-drawn white "7" on a dark 28x28 drawing grid, with a stack of three
feature-map tiles in the corner: "draw a digit and watch a CNN think". It is drawn as vectors at
every size the platforms ask for (not scaled down from one bitmap), so the 16 px Windows icon is
as sharp as the 256 px one; the smallest sizes drop the grid, which would only be noise there.

``.ico`` and ``.icns`` are written here rather than by Qt's image plugins: those store a single
size, and both formats are simple containers of PNG files.
"""

from __future__ import annotations

import math
import struct
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
NAME = "digit-recognizer"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# (OSType, pixel size); PNG payloads are valid for every one of these types since macOS 10.7.
ICNS_TYPES = (("icp4", 16), ("icp5", 32), ("icp6", 64), ("ic07", 128), ("ic08", 256), ("ic09", 512), ("ic10", 1024))

BACKGROUND_TOP = "#263248"
BACKGROUND_BOTTOM = "#10151f"
GRID = "#ffffff"
INK = "#f7f9fc"
# Feature-map tiles: a few viridis stops, the colormap the app's feature-map panel uses.
VIRIDIS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")


def _viridis(t: float):
    from PySide6.QtGui import QColor

    t = min(max(t, 0.0), 1.0) * (len(VIRIDIS) - 1)
    i = min(int(t), len(VIRIDIS) - 2)
    a, b, f = QColor(VIRIDIS[i]), QColor(VIRIDIS[i + 1]), t - i
    return QColor(
        round(a.red() + (b.red() - a.red()) * f),
        round(a.green() + (b.green() - a.green()) * f),
        round(a.blue() + (b.blue() - a.blue()) * f),
    )


def _seven(scale: float = 1.0, dx: float = 0.0, dy: float = 0.0):
    """The "7" as a path in the 256-unit design space: a slightly wavy top bar and a curved stem."""
    from PySide6.QtGui import QPainterPath

    def p(x: float, y: float):
        from PySide6.QtCore import QPointF

        return QPointF(dx + x * scale, dy + y * scale)

    path = QPainterPath(p(62, 76))
    path.cubicTo(p(100, 66), p(150, 72), p(188, 64))
    path.cubicTo(p(160, 104), p(130, 150), p(112, 206))
    return path


def render(size: int):
    """The icon as a ``size`` x ``size`` ARGB32 QImage (transparent outside the rounded square)."""
    from PySide6.QtCore import QPointF, QRectF, Qt
    from PySide6.QtGui import QBrush, QColor, QImage, QLinearGradient, QPainter, QPainterPath, QPen

    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / 256.0, size / 256.0)  # everything below is in a 256-unit design space
    unit = 256.0 / size  # one device pixel in design units

    # The tile: a rounded square with a little margin, as platform icon grids expect.
    margin = 8.0 if size >= 32 else 2.0
    tile = QRectF(margin, margin, 256 - 2 * margin, 256 - 2 * margin)
    radius = 48.0 if size >= 32 else 36.0
    shape = QPainterPath()
    shape.addRoundedRect(tile, radius, radius)
    gradient = QLinearGradient(QPointF(0, margin), QPointF(0, 256 - margin))
    gradient.setColorAt(0.0, QColor(BACKGROUND_TOP))
    gradient.setColorAt(1.0, QColor(BACKGROUND_BOTTOM))
    painter.fillPath(shape, QBrush(gradient))
    painter.setClipPath(shape)

    # The drawing canvas: a faint 28x28 grid, like the "what the network sees" view.
    canvas = QRectF(36, 36, 184, 184)
    if size >= 48:
        grid = QColor(GRID)
        grid.setAlphaF(0.07)
        painter.setPen(QPen(grid, unit))
        cell = canvas.width() / 28
        for i in range(29):
            painter.drawLine(QPointF(canvas.left() + i * cell, canvas.top()), QPointF(canvas.left() + i * cell, canvas.bottom()))
            painter.drawLine(QPointF(canvas.left(), canvas.top() + i * cell), QPointF(canvas.right(), canvas.top() + i * cell))

    # Feature maps: three stacked tiles at the bottom right, each a blurry viridis picture of the 7.
    if size >= 24:
        n = 6
        side = 56.0
        for k in range(3):
            x0, y0 = 146 + k * 15.0, 134 + k * 15.0
            rect = QRectF(x0, y0, side, side)
            frame = QPainterPath()
            frame.addRoundedRect(rect, 7, 7)
            painter.fillPath(frame, QColor("#0b0f16"))
            painter.save()
            painter.setClipPath(frame, Qt.ClipOperation.IntersectClip)
            cell = side / n
            for r in range(n):
                for c in range(n):
                    # A cheap "activation": closeness to the 7's bar (top) or stem (diagonal),
                    # different for each map so the stack reads as several channels.
                    u, v = (c + 0.5) / n, (r + 0.5) / n
                    bar = math.exp(-((v - 0.22) ** 2) / 0.02) * (0.3 < u + 0.15 * k)
                    stem = math.exp(-((u - (0.85 - 0.55 * v)) ** 2) / 0.025) * (v > 0.15)
                    value = 0.08 + 0.92 * (bar, stem, max(bar, stem))[k] * (0.6 + 0.4 * math.sin(3 * u + 2 * v + k) ** 2)
                    painter.fillRect(QRectF(x0 + c * cell, y0 + r * cell, cell + 0.5, cell + 0.5), _viridis(value))
            painter.restore()
            edge = QColor("#ffffff")
            edge.setAlphaF(0.28)
            painter.setPen(QPen(edge, max(1.5, unit)))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(frame)

    # The digit, with a soft shadow so it lifts off the maps it overlaps.
    pen_width = 26.0 if size >= 32 else 34.0
    seven = _seven(1.0, -12, 0) if size >= 24 else _seven(1.12, -18, -14)
    shadow = QColor("#000000")
    shadow.setAlphaF(0.45)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.setPen(QPen(shadow, pen_width + 8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
    painter.drawPath(seven.translated(3, 5))
    painter.setPen(QPen(QColor(INK), pen_width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
    painter.drawPath(seven)

    painter.setClipping(False)
    rim = QColor("#ffffff")
    rim.setAlphaF(0.10)
    painter.setPen(QPen(rim, max(2.0, unit)))
    painter.drawPath(shape)
    painter.end()
    return image.convertToFormat(QImage.Format.Format_ARGB32)


def png_bytes(image) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError("Qt could not encode a PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """A Windows .ico holding one PNG per size (Vista and later read PNG entries)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries, payload = b"", b""
    for s in sizes:
        data = pngs[s]
        # Width/height 0 means 256; 32 bits per pixel.
        entries += struct.pack("<BBBBHHII", s % 256, s % 256, 0, 0, 1, 32, len(data), offset + len(payload))
        payload += data
    return header + entries + payload


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """A macOS .icns: the 'icns' header, then one (type, length, PNG) element per size."""
    body = b"".join(kind.encode("ascii") + struct.pack(">I", 8 + len(pngs[s])) + pngs[s] for kind, s in ICNS_TYPES)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (fonts, pixmaps)
    sizes = sorted(set(ICO_SIZES) | {s for _, s in ICNS_TYPES})
    pngs = {s: png_bytes(render(s)) for s in sizes}
    ICONS.mkdir(parents=True, exist_ok=True)
    outputs = {
        ICONS / f"{NAME}.png": pngs[256],
        ICONS / f"{NAME}.ico": ico_bytes({s: pngs[s] for s in ICO_SIZES}),
        ICONS / f"{NAME}.icns": icns_bytes(pngs),
    }
    for path, data in outputs.items():
        path.write_bytes(data)
        print(f"wrote {path} ({len(data):,} bytes)")
    return 0


if __name__ == "__main__":
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.exit(main())
