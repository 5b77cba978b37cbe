"""Fixtures of the dispatch tests: the example scenarios of data/scenarios, one test per file."""

from __future__ import annotations

import pytest

from tests.dispatch.builders import EXAMPLE_FILES, load_example


@pytest.fixture(params=EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def example_scenario(request) -> dict:
    return load_example(request.param)
