"""The Qt-free core: data reading, preprocessing, the CNN, inference and explanation maths.

Nothing in this package imports PySide6 or pyqtgraph (``tests/test_architecture_rules.py``
checks it), and TensorFlow/Keras are imported inside the functions that need them, so that the
window can appear and preprocessing can run before TensorFlow has loaded.
"""
