"""The loaded network layer by layer, where its parameters sit, and the lesson's MLP next to it.

Shows a ``model.teaching.Architecture``: every layer's output shape and parameter count (the
convolutions highlighted), how the parameters split between convolutions and dense layers, and the
lesson's 784-128-10 fully connected network (101,770 parameters) with both models' accuracies as
measured on their cards ("not measured" where a card has no number).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from model.nets.architecture import MLP_PARAMS
from model.teaching.jobs import MLP_FIRST_LAYER, Architecture, LayerRow

from .widgets import fit_to_screen, message_label

CONV_FILL = QColor(255, 246, 218)
DENSE_FILL = QColor(222, 236, 255)


def _shape(shape: tuple[int | None, ...]) -> str:
    """``(14, 14, 8)`` -> ``14×14×8``; a size the model leaves open reads ``?``."""
    return "×".join("?" if d is None else str(d) for d in shape)


def _accuracy(value: float | None) -> str:
    return "not measured" if value is None else f"{value * 100:.2f}%"


def _share(part: int, total: int) -> str:
    return f"{part / total * 100:.1f}%" if total else "–"


class ArchitectureDialog(QDialog):
    """Each layer's output shape and parameters, and the comparison with the lesson's MLP."""

    COLUMNS = ["layer", "type", "output shape", "parameters", "share"]
    COMPARISON = ["", "this network", "lesson's MLP"]

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("architecture_dialog")
        self.setWindowTitle("Architecture and parameters")
        self.architecture: Architecture | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            "A convolution reuses one small filter at every position of the image, so its parameters do not grow with the "
            "image. A fully connected (Dense) layer has one weight per input per output: the lesson's 784-128-10 network "
            f"spends {MLP_FIRST_LAYER:,} of its {MLP_PARAMS:,} parameters on its first layer alone."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.strip_area = QScrollArea()
        self.strip_area.setWidgetResizable(True)
        self.strip_area.setFixedHeight(104)
        self.strip_area.setFrameShape(QFrame.Shape.NoFrame)
        layout.addWidget(self.strip_area)
        self.message = message_label()
        layout.addWidget(self.message)
        tables = QHBoxLayout()
        self.table = _table("architecture_table", self.COLUMNS)
        self.table.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        tables.addWidget(self.table, 0)
        self.comparison = _table("architecture_comparison", self.COMPARISON)
        self.comparison.setToolTip("The lesson's fully connected network: 784 pixels → 128 → 10 digits")
        tables.addWidget(self.comparison, 1)
        layout.addLayout(tables, 1)
        self.summary = QLabel(objectName="architecture_summary")
        self.summary.setWordWrap(True)
        font = QFont(self.summary.font())
        font.setPointSize(font.pointSize() + 1)
        self.summary.setFont(font)
        self.summary.setStyleSheet("QLabel { background: #fff6da; border: 1px solid #e0c060; padding: 6px; }")
        layout.addWidget(self.summary)
        fit_to_screen(self, 980, 640)
        self.show_message("Counting the parameters…")

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def set_architecture(self, arch: Architecture) -> None:
        self.architecture = arch
        self.show_message("")
        total = arch.total
        rows = [("input", "image", _shape(arch.input_shape), "0", "", None)]
        rows += [(r.name, r.kind, _shape(r.output_shape), f"{r.params:,}", _share(r.params, total), r.group) for r in arch.rows]
        rows.append(("total", "", "", f"{total:,}", "100%" if total else "", "total"))
        _fill(self.table, rows)

        conv, dense = arch.params_in("convolution"), arch.params_in("dense")
        other = total - conv - dense
        mlp = arch.mlp_total
        comparison = [
            ("parameters", f"{total:,}", f"{mlp:,}", "total"),
            ("in convolutions", f"{conv:,} ({_share(conv, total)})", "0", "convolution"),
            ("in dense layers", f"{dense:,} ({_share(dense, total)})", f"{mlp:,} (100%)", "dense"),
        ]
        if other:
            comparison.append(("in other layers", f"{other:,} ({_share(other, total)})", "0", None))
        for label, value in arch.accuracies.items():
            comparison.append((f"accuracy: {label}", _accuracy(value), _accuracy(arch.mlp_accuracies.get(label)), None))
        _fill(self.comparison, [(a, b, c, "", "", g) for a, b, c, g in comparison], columns=3)

        ratio = mlp / total if total else 0.0
        size = (
            f"{ratio:.1f}× fewer parameters than the lesson's MLP ({total:,} against {mlp:,})"
            if ratio > 1
            else f"{total:,} parameters, {total / mlp:.1f}× the lesson's MLP ({mlp:,})"
        )
        key = next(iter(arch.accuracies), None)
        ours, theirs = arch.accuracies.get(key), arch.mlp_accuracies.get(key)
        if ours is not None and theirs is not None:
            errors = f"; on the {key} it makes {(1 - ours) * 100:.2f}% errors against the MLP's {(1 - theirs) * 100:.2f}%"
        else:
            errors = "; accuracy: " + ", ".join(f"{name} {_accuracy(v)}" for name, v in (("this network", ours), ("MLP", theirs)))
        self.summary.setText(
            f"This network has {size}{errors}. {_share(conv, total)} of its parameters are in "
            f"convolutions (highlighted), {_share(dense, total)} in dense layers (blue)."
        )
        self._build_strip(arch.input_shape, arch.rows)

    def _build_strip(self, input_shape: tuple[int, ...], rows: list[LayerRow]) -> None:
        strip = QWidget()
        layout = QHBoxLayout(strip)
        layout.setContentsMargins(2, 2, 2, 2)

        def box(title: str, kind: str, shape: str, params: str, fill: QColor | None) -> QLabel:
            label = QLabel(f"<b>{title}</b><br>{kind}<br>{shape}<br><span style='color:#555'>{params}</span>")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            colour = fill.name() if fill is not None else "#f4f4f4"
            label.setStyleSheet(
                f"QLabel {{ border: 1px solid #999; border-radius: 4px; padding: 3px 6px; background: {colour}; }}"
            )
            return label

        layout.addWidget(box("input", "image", _shape(input_shape), "", None))
        for row in rows:
            layout.addWidget(QLabel("→"))
            layout.addWidget(box(row.name, row.kind, _shape(row.output_shape), f"{row.params:,} params", _fill_for(row.group)))
        layout.addStretch(1)
        self.strip_area.setWidget(strip)


def _fill_for(group: str | None) -> QColor | None:
    return {"convolution": CONV_FILL, "dense": DENSE_FILL}.get(group or "")


def _table(name: str, columns: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


def _fill(table: QTableWidget, rows: list[tuple], columns: int | None = None) -> None:
    """``rows``: tuples of cell texts and, last, the row's group (its colour; "total" is bold)."""
    table.setRowCount(len(rows))
    bold = QFont(table.font())
    bold.setBold(True)
    for r, (*texts, group) in enumerate(rows):
        for c, text in enumerate(texts[: columns or len(texts)]):
            item = QTableWidgetItem(text)
            if c >= 1 and (columns or c >= 3):
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if group == "total":
                item.setFont(bold)
            fill = _fill_for(group)
            if fill is not None:
                item.setBackground(fill)
            table.setItem(r, c, item)
