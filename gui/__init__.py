"""The Qt layer: widgets only. The maths lives in ``model/``; ``main.py`` wires and starts."""
