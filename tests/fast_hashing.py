"""Cheaper Argon2 parameters for tests that add many users (the shipped defaults cost about 0.2 s a
hash on a busy 2-core machine); one test checks the defaults themselves."""

import pytest
from argon2 import PasswordHasher

from pricing.access import passwords

CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def fast_hashing(monkeypatch):
    monkeypatch.setattr(passwords, "_HASHER", CHEAP)
