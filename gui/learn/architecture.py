"""Each layer's output shape and parameters, against a fully connected network."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
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

from .widgets import message_label


class ArchitectureDialog(QDialog):
    """Each layer's output shape and parameters, next to a fully connected network of the same width."""

    COLUMNS = ["layer", "type", "output shape", "parameters", "fully connected equivalent", "× more"]

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("architecture_dialog")
        self.setWindowTitle("Architecture and parameters")
        layout = QVBoxLayout(self)
        intro = QLabel("A convolution reuses one small filter at every position of the image, so its parameters do "
                       "not grow with the image. The right-hand column counts what a fully connected (Dense) layer "
                       "would need to produce the same number of values from the same input.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.strip_area = QScrollArea()
        self.strip_area.setWidgetResizable(True)
        self.strip_area.setFixedHeight(112)
        self.strip_area.setFrameShape(QFrame.Shape.NoFrame)
        layout.addWidget(self.strip_area)
        self.message = message_label()
        layout.addWidget(self.message)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("architecture_table")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        layout.addWidget(self.table, 1)
        self.summary = QLabel(objectName="architecture_summary")
        self.summary.setWordWrap(True)
        font = QFont(self.summary.font())
        font.setPointSize(font.pointSize() + 2)
        self.summary.setFont(font)
        self.summary.setStyleSheet("QLabel { background: #fff6da; border: 1px solid #e0c060; padding: 6px; }")
        layout.addWidget(self.summary)
        self.comparison = None
        self.resize(900, 700)
        self.show_message("Counting the parameters…")

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def set_comparison(self, input_shape: tuple[int, ...], comparison) -> None:
        """``comparison``: ``model.explain.ParameterComparison``."""
        self.comparison = comparison
        self.show_message("")
        rows = comparison.rows
        self.table.setRowCount(len(rows) + 2)
        bold = QFont(self.table.font())
        bold.setBold(True)

        def put(r: int, values: list[str], font: QFont | None = None, conv: bool = False) -> None:
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                if c >= 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if font is not None:
                    item.setFont(font)
                if conv:
                    item.setBackground(QColor(255, 246, 218))
                self.table.setItem(r, c, item)

        shape = "×".join(map(str, input_shape))
        put(0, ["input", "image", shape, "0", "0", ""])
        for i, row in enumerate(rows, start=1):
            ratio = f"{row.dense_params / row.params:,.0f}×" if row.params and row.dense_params != row.params else ""
            put(i, [row.name, row.kind, "×".join(map(str, row.output_shape)), f"{row.params:,}", f"{row.dense_params:,}", ratio],
                conv="Conv" in row.kind)
        put(len(rows) + 1, ["total", "", "", f"{comparison.total_params:,}", f"{comparison.total_dense_params:,}",
                            f"{comparison.ratio:,.0f}×"], bold)
        self.summary.setText(
            f"This CNN has {comparison.total_params:,} parameters. A fully connected network of the same width would "
            f"need {comparison.total_dense_params:,}: {comparison.ratio:,.0f} times as many. The convolutions "
            f"(highlighted rows) share each small filter across the whole image.")
        self._build_strip(input_shape, rows)

    def _build_strip(self, input_shape, rows) -> None:
        strip = QWidget()
        layout = QHBoxLayout(strip)
        layout.setContentsMargins(2, 2, 2, 2)

        def box(title: str, kind: str, shape: str, params: str, highlight: bool) -> QLabel:
            label = QLabel(f"<b>{title}</b><br>{kind}<br>{shape}<br><span style='color:#555'>{params}</span>")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("QLabel { border: 1px solid #999; border-radius: 4px; padding: 3px 6px; background: %s; }"
                                % ("#fff1c6" if highlight else "#f4f4f4"))
            return label

        layout.addWidget(box("input", "image", "×".join(map(str, input_shape)), "", False))
        for row in rows:
            layout.addWidget(QLabel("→"))
            layout.addWidget(box(row.name, row.kind, "×".join(map(str, row.output_shape)), f"{row.params:,} params",
                                 "Conv" in row.kind))
        layout.addStretch(1)
        self.strip_area.setWidget(strip)


