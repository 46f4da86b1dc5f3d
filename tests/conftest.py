"""Shared test set-up: numpy raises on any floating-point slip; paths to the shipped data."""

from pathlib import Path

import numpy as np
import pytest

np.seterr(all="raise")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA
