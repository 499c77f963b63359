"""The drawing canvas: mouse, touch and tablet pen; strokes kept as data, painted by Qt.

Strokes are stored in *paper* coordinates, a square that fills the widget's shorter side, with
(0, 0) top-left and (1, 1) bottom-right, so a resize re-lays the same drawing out. Painting
follows Qt's painter example: round-cap, round-join pens, drawn into a cached pixmap. Each pen
move paints only its new segment into that pixmap and repaints only the rectangle around it, so
the cost of a move does not grow with the length of the stroke (bench/stroke_cost.py); when the
stroke ends, the pixmap is redrawn once with the stroke as one path (smooth joins).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from model.data.preprocess import MAX_POINTS_PER_STROKE

Point = tuple[float, float, float]  # x, y in paper coordinates; pressure 0-1

INK = QColor(255, 255, 255)
PAPER = QColor(18, 18, 22)
HINT = "Draw a digit"  # shown on the empty paper
STORE_HINT = "then type it (0-9) to store it"  # under HINT while the canvas has the keyboard focus
FOCUS_RING = QColor(60, 150, 255)  # the canvas has the keyboard focus: typed digits land here
PEN_FRACTION = 0.045  # on-screen pen width as a fraction of the paper side, at pressure 0.5
DIGIT_BOX = QColor(140, 170, 255, 90)  # the light box around each digit of a written number
DIGIT_BOX_SELECTED = QColor(250, 160, 40, 200)  # ... and around the one the panels show
CLICK_SLOP = 4.0  # pixels the mouse may move on a digit's box and still be a click, not a stroke


class DrawingCanvas(QWidget):
    """A square drawing surface. ``strokes_changed`` fires on every new point, undo, redo and clear."""

    strokes_changed = Signal()
    stroke_finished = Signal()
    digit_clicked = Signal(int)  # index (left to right) of the digit whose box or answer was clicked

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents, True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip(
            "Draw a digit here with the mouse, a finger or a pen.\n"
            "Type 0-9 while the blue ring shows to store the drawing with that label.\n"
            "Ctrl+Z undo · Ctrl+Shift+Z redo · Esc clear"
        )
        self._strokes: list[list[Point]] = []
        self._current: list[Point] | None = None
        self._history: list[tuple[str, object]] = []  # ("add", stroke) | ("clear", strokes)
        self._future: list[tuple[str, object]] = []
        self._cache: QPixmap | None = None  # the paper and the finished strokes
        self._live: QPixmap | None = None  # transparent; the stroke being drawn, segment by segment
        self._current_xy = np.empty((256, 2), np.float64)  # its points as an array, grown by doubling
        self._touch_id: int | None = None
        self._picture = None  # an opened picture shown on the paper instead of strokes
        self._arrays: list[np.ndarray] | None = None  # finished strokes as arrays, rebuilt on change
        # The digits of a written number: boxes in paper units, answers, the one the panels show.
        self._digit_boxes: list[tuple[float, float, float, float]] = []
        self._digit_labels: list[str] = []
        self._selected_digit = -1
        self._press: tuple[QPointF, int] | None = None  # a press on a digit's box: a click or a stroke?

    # --- data --------------------------------------------------------------------------------

    def strokes(self) -> list[np.ndarray]:
        """All strokes, the one being drawn included: ``(n, 2)`` float arrays in paper units, y down."""
        if self._arrays is None:
            self._arrays = [np.asarray(s, dtype=np.float64)[:, :2] for s in self._strokes]
        out = list(self._arrays)
        if self._current:
            out.append(self._current_xy[: len(self._current)].copy())
        return out

    def is_empty(self) -> bool:
        return not self._strokes and not self._current

    def stroke_count(self) -> int:
        return len(self._strokes)

    def set_strokes(self, strokes: list[np.ndarray]) -> None:
        """Replace the drawing with ``strokes`` (any units; fitted onto the paper). Undoable."""
        if not strokes:
            self.clear()
            return
        pts = np.concatenate([np.asarray(s, float)[:, :2] for s in strokes])
        lo, hi = pts.min(0), pts.max(0)
        extent = max(float((hi - lo).max()), 1e-9)
        centre = (lo + hi) / 2
        fitted = [
            [(float(x), float(y), 0.5) for x, y in ((np.asarray(s, float)[:, :2] - centre) * (0.7 / extent) + 0.5)]
            for s in strokes
        ]
        self._push(("clear", self._strokes))
        self._strokes = fitted
        self._changed()

    def set_picture(self, image) -> None:
        """Show a ``QImage`` on the paper (an opened picture), or ``None`` to go back to strokes."""
        if image is None and self._picture is None:
            return
        self._picture = image
        self._cache = None
        self.update()

    def set_digit_boxes(self, boxes: list, labels: list[str], selected: int = -1) -> None:
        """Show a light box (``(x0, y0, x1, y1)`` in paper units) and its answer under each digit of a number.

        ``selected``: the digit the panels show, outlined in the answer's colour; no boxes: none shown.
        """
        boxes = [tuple(float(v) for v in b) for b in boxes]
        if boxes == self._digit_boxes and list(labels) == self._digit_labels and selected == self._selected_digit:
            return
        before = [self.digit_rect(k) for k in range(len(self._digit_boxes))]
        self._digit_boxes, self._digit_labels, self._selected_digit = boxes, list(labels), selected
        # Repaint only around the boxes that were and are: a pen move must not repaint the paper.
        for rect in before + [self.digit_rect(k) for k in range(len(boxes))]:
            self.update(rect.adjusted(-22, -3, 22, 3).toAlignedRect())

    def digit_boxes(self) -> list[tuple[float, float, float, float]]:
        return list(self._digit_boxes)

    def digit_rect(self, index: int) -> QRectF:
        """The widget rectangle of digit ``index``'s box (padded as painted), its answer below it included."""
        x0, y0, x1, y1 = self._digit_boxes[index]
        pad = 0.015
        top_left, bottom_right = self.to_widget(x0 - pad, y0 - pad), self.to_widget(x1 + pad, y1 + pad)
        rect = QRectF(top_left, bottom_right)
        return rect.adjusted(0, 0, 0, self._label_height())

    def _label_height(self) -> float:
        return max(14.0, self.paper_rect().width() / 24)

    def _digit_at(self, pos: QPointF) -> int:
        for k in range(len(self._digit_boxes)):
            if self.digit_rect(k).contains(pos):
                return k
        return -1

    # --- editing -----------------------------------------------------------------------------

    def clear(self) -> None:
        if self.is_empty():
            return
        self._current = None
        self._push(("clear", self._strokes))
        self._strokes = []
        self._changed()

    def undo(self) -> None:
        if not self._history:
            return
        op, payload = self._history.pop()
        if op == "add":
            self._strokes.pop()
        else:
            self._strokes, payload = payload, self._strokes
        self._future.append((op, payload))
        self._changed()

    def redo(self) -> None:
        if not self._future:
            return
        op, payload = self._future.pop()
        if op == "add":
            self._strokes.append(payload)
        else:
            self._strokes, payload = payload, self._strokes
        self._history.append((op, payload))
        self._changed()

    def _push(self, op: tuple[str, object]) -> None:
        self._history.append(op)
        self._future.clear()

    def _changed(self) -> None:
        self._cache = None
        self._arrays = None
        self.update()
        self.strokes_changed.emit()

    # --- geometry ----------------------------------------------------------------------------

    def paper_rect(self) -> QRectF:
        side = min(self.width(), self.height()) - 2
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def to_paper(self, pos: QPointF) -> tuple[float, float]:
        r = self.paper_rect()
        return (pos.x() - r.x()) / r.width(), (pos.y() - r.y()) / r.height()

    def to_widget(self, x: float, y: float) -> QPointF:
        r = self.paper_rect()
        return QPointF(r.x() + x * r.width(), r.y() + y * r.height())

    # --- input -------------------------------------------------------------------------------

    def _begin(self, pos: QPointF, pressure: float = 0.5) -> None:
        hint_shown = self.is_empty() and self._picture is None
        x, y = self.to_paper(pos)
        self._current = [(x, y, pressure)]
        self._current_xy[0] = (x, y)
        self._paint_segment(self._current[0], self._current[0])
        if hint_shown:
            self.update()  # the hint text goes away
        self.strokes_changed.emit()

    def _extend(self, pos: QPointF, pressure: float = 0.5) -> None:
        if self._current is None:
            return
        x, y = self.to_paper(pos)
        last = self._current[-1]
        if abs(x - last[0]) + abs(y - last[1]) < 1e-4:
            return  # no movement: nothing new to show or recognise
        if len(self._current) >= MAX_POINTS_PER_STROKE:  # a runaway stroke is cut, never a frozen GUI
            self._end()
            self._begin(pos, pressure)
            return
        self._current.append((x, y, pressure))
        n = len(self._current)
        if n > len(self._current_xy):
            self._current_xy = np.concatenate([self._current_xy, np.empty_like(self._current_xy)])
        self._current_xy[n - 1] = (x, y)
        self._paint_segment(self._current[-2], self._current[-1])
        self.strokes_changed.emit()

    def _end(self) -> None:
        if self._current is None:
            return
        stroke, self._current = self._current, None
        self._strokes.append(stroke)
        self._arrays = None
        self._push(("add", stroke))
        # Paint the stroke into the cache as one path (segment by segment, antialiased edges overlap
        # at every joint) and wipe the live layer: once per stroke, so it does not add up per move.
        if self._cache is not None and self._live is not None:
            painter = QPainter(self._cache)
            self._paint_stroke(painter, stroke)
            painter.end()
            self._live.fill(Qt.GlobalColor.transparent)
        else:
            self._cache = None
        self.update()
        # The drawing itself did not change on release (the points were reported as they came),
        # so no strokes_changed: that would only queue a second, identical inference.
        self.stroke_finished.emit()

    def mousePressEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            index = self._digit_at(event.position()) if len(self._digit_boxes) > 1 else -1
            if index >= 0:
                self._press = (event.position(), index)  # a click selects that digit; a drag draws
            else:
                self._begin(event.position())
        event.accept()

    def mouseMoveEvent(self, event):
        if event.buttons() & Qt.MouseButton.LeftButton:
            if self._press is not None:
                start, _ = self._press
                if (event.position() - start).manhattanLength() < CLICK_SLOP:
                    event.accept()
                    return
                self._press = None
                self._begin(start)
            self._extend(event.position())
        event.accept()

    def mouseReleaseEvent(self, event):
        if event.button() == Qt.MouseButton.LeftButton:
            if self._press is not None:
                _, index = self._press
                self._press = None
                self.digit_clicked.emit(index)
                event.accept()
                return
            self._extend(event.position())
            self._end()
        event.accept()

    def tabletEvent(self, event):
        # Accepting tablet events stops Qt from also synthesising mouse events for the pen.
        pressure = float(event.pressure()) if event.pressure() > 0 else 0.5
        kind = event.type()
        if kind == QEvent.Type.TabletPress:
            self._begin(event.position(), pressure)
        elif kind == QEvent.Type.TabletMove:
            if event.buttons() & Qt.MouseButton.LeftButton or self._current is not None:
                self._extend(event.position(), pressure)
        elif kind == QEvent.Type.TabletRelease:
            self._end()
        event.accept()

    def event(self, event):
        kind = event.type()
        if kind in (QEvent.Type.TouchBegin, QEvent.Type.TouchUpdate, QEvent.Type.TouchEnd, QEvent.Type.TouchCancel):
            points = event.points()
            if kind == QEvent.Type.TouchBegin and points:
                self._touch_id = points[0].id()
                self._begin(points[0].position())
            else:
                for p in points:  # one finger draws; the others are ignored
                    if p.id() == self._touch_id:
                        self._extend(p.position())
                if kind in (QEvent.Type.TouchEnd, QEvent.Type.TouchCancel):
                    self._end()
                    self._touch_id = None
            event.accept()
            return True
        return super().event(event)

    # --- painting ----------------------------------------------------------------------------

    def _pen(self, pressure: float) -> QPen:
        width = self.paper_rect().width() * PEN_FRACTION * (0.6 + 0.8 * pressure)
        return QPen(INK, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)

    def _paint_stroke(self, painter: QPainter, stroke: list[Point]) -> None:
        painter.setClipRect(self.paper_rect())  # ink stays on the paper
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pressures = {round(p[2], 2) for p in stroke}
        if len(pressures) <= 1:
            # Uniform width: one path, so joins are smooth.
            painter.setPen(self._pen(stroke[0][2]))
            path = QPainterPath(self.to_widget(stroke[0][0], stroke[0][1]))
            for x, y, _ in stroke[1:]:
                path.lineTo(self.to_widget(x, y))
            if len(stroke) == 1:
                painter.drawPoint(self.to_widget(stroke[0][0], stroke[0][1]))
            else:
                painter.drawPath(path)
            return
        for a, b in zip(stroke, stroke[1:], strict=False):  # pen pressure varies the width segment by segment
            painter.setPen(self._pen((a[2] + b[2]) / 2))
            painter.drawLine(self.to_widget(a[0], a[1]), self.to_widget(b[0], b[1]))

    def _rebuild_cache(self) -> None:
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(int(self.width() * ratio), int(self.height() * ratio))
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(self.palette().window().color())
        painter = QPainter(pixmap)
        painter.fillRect(self.paper_rect(), PAPER)
        if self._picture is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            size = self._picture.size().scaled(self.paper_rect().size().toSize(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRectF(0, 0, size.width(), size.height())
            target.moveCenter(self.paper_rect().center())
            painter.drawImage(target, self._picture)
        for stroke in self._strokes:
            self._paint_stroke(painter, stroke)
        painter.end()
        self._cache = pixmap
        self._live = QPixmap(pixmap.size())
        self._live.setDevicePixelRatio(ratio)
        self._live.fill(Qt.GlobalColor.transparent)
        if self._current:
            painter = QPainter(self._live)
            self._paint_stroke(painter, self._current)
            painter.end()

    def _paint_segment(self, a: Point, b: Point) -> None:
        """Paint the segment ``a -> b`` of the stroke being drawn into the live layer; repaint around it."""
        pa, pb = self.to_widget(a[0], a[1]), self.to_widget(b[0], b[1])
        if self._live is not None and self._cache is not None and self._cache.deviceIndependentSize().toSize() == self.size():
            painter = QPainter(self._live)
            painter.setClipRect(self.paper_rect())  # ink stays on the paper
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(self._pen((a[2] + b[2]) / 2))
            if a is b:
                painter.drawPoint(pa)
            else:
                painter.drawLine(pa, pb)
            painter.end()
        else:
            self._cache = None  # the next paint rebuilds it, the stroke being drawn included
        margin = self.paper_rect().width() * PEN_FRACTION * 1.5 + 2
        self.update(QRectF(pa, pb).normalized().adjusted(-margin, -margin, margin, margin).toAlignedRect())

    def paintEvent(self, event):  # noqa: N802 (Qt override)
        if self._cache is None or self._cache.deviceIndependentSize().toSize() != self.size():
            self._rebuild_cache()
        painter = QPainter(self)
        rect = event.rect()
        ratio = self._cache.devicePixelRatio()
        source = QRectF(rect.x() * ratio, rect.y() * ratio, rect.width() * ratio, rect.height() * ratio)
        painter.drawPixmap(QRectF(rect), self._cache, source)
        if self._current:
            painter.drawPixmap(QRectF(rect), self._live, source)
        if len(self._digit_boxes) > 1:
            self._paint_digit_boxes(painter, QRectF(rect))
        if self.is_empty() and self._picture is None:
            painter.setPen(QColor(150, 150, 160))
            font = painter.font()
            font.setPointSizeF(max(10.0, self.paper_rect().width() / 22))
            painter.setFont(font)
            painter.drawText(self.paper_rect(), Qt.AlignmentFlag.AlignCenter, HINT)
            if self.hasFocus():
                font.setPointSizeF(max(8.0, font.pointSizeF() * 0.55))
                painter.setFont(font)
                below = self.paper_rect().adjusted(0, self.paper_rect().height() * 0.16, 0, 0)
                painter.drawText(below, Qt.AlignmentFlag.AlignCenter, STORE_HINT)
        if self.hasFocus():  # a visible focus ring: typing a digit stores the drawing only while it is here
            painter.setPen(QPen(FOCUS_RING, 3))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(self.paper_rect().adjusted(1.5, 1.5, -1.5, -1.5))
        painter.end()

    def _paint_digit_boxes(self, painter: QPainter, area: QRectF) -> None:
        # Plain 1.5 px rectangles, only those in the repainted area: antialiased rounded ones cost
        # ~2 ms each in software, on every pen move.
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        font = painter.font()
        font.setPointSizeF(max(8.0, self._label_height() * 0.6))
        font.setBold(True)
        painter.setFont(font)
        for k, label in enumerate(self._digit_labels[: len(self._digit_boxes)]):
            rect = self.digit_rect(k)
            if not rect.adjusted(-20, -2, 20, 2).intersects(area):
                continue
            box = rect.adjusted(0, 0, 0, -self._label_height())
            colour = DIGIT_BOX_SELECTED if k == self._selected_digit else DIGIT_BOX
            painter.setPen(QPen(colour, 1.5))
            painter.drawRect(box)
            painter.setPen(colour if k == self._selected_digit else QColor(190, 200, 235))
            below = QRectF(box.left() - 20, box.bottom(), box.width() + 40, self._label_height())
            painter.drawText(below, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, label)

    def focusInEvent(self, event):  # noqa: N802 (Qt override)
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event):  # noqa: N802 (Qt override)
        super().focusOutEvent(event)
        self.update()

    def resizeEvent(self, event):
        self._cache = None
        super().resizeEvent(event)
