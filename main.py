"""Digit recognizer: draw a digit and watch a convolutional neural network think.

    uv run main.py                      start the app (optionally: a model or drawing to open)
    uv run main.py predict PATH...      classify images, stroke files, folders, - (stdin)
    uv run main.py --help               every sub-command

What runs is decided in ``gui/launch.py`` (the same function as the ``digit-recognizer`` command).
"""

import sys

from gui.launch import main

if __name__ == "__main__":
    sys.exit(main())
