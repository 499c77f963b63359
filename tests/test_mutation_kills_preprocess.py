"""centre_of_mass on known images: survivors of ``mutmut run`` over model/preprocess.py (docs/MUTATION.md)
showed the other tests never pin its coordinates, only compare it with itself."""

from __future__ import annotations

import numpy as np
import pytest

from model.data.preprocess import centre_of_mass


def test_one_bright_pixel_has_its_centre_in_the_middle_of_that_pixel():
    image = np.zeros((7, 9))
    image[3, 5] = 2.0
    assert centre_of_mass(image) == (5.5, 3.5)  # (x, y): column first, pixel centres at +0.5


def test_the_centre_is_the_intensity_weighted_mean_on_a_wide_image():
    image = np.zeros((4, 10))
    image[0, 0], image[3, 9] = 1.0, 3.0
    x, y = centre_of_mass(image)
    assert x == pytest.approx((0.5 * 1 + 9.5 * 3) / 4) and y == pytest.approx((0.5 * 1 + 3.5 * 3) / 4)
