"""Shared fixtures: the repository, its config, and small simulated recordings."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def config() -> dict:
    with open(ROOT / "config.yaml") as fh:
        return yaml.safe_load(fh)


@pytest.fixture()
def sim(config) -> dict:
    """A private copy of the simulation settings that a test may change."""
    return copy.deepcopy(config["simulation"])


@pytest.fixture(scope="session")
def realdata() -> Path:
    return ROOT / "data" / "amvoc-dev"
