import os
from pathlib import Path

import pytest


@pytest.fixture
def real_dir() -> Path:
    value = os.environ.get("REAL_DATA_DIR")
    if not value or not Path(value).is_dir():
        pytest.skip("REAL_DATA_DIR is not set to the folder of real official files")
    return Path(value)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "registry.db"
