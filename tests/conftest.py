import os

import pytest

from support import REPO_ROOT, TEST_CACHE

os.environ.setdefault("TAO_SKILL_BANK_CACHE", str(TEST_CACHE))


@pytest.fixture
def bank_root():
    return REPO_ROOT
