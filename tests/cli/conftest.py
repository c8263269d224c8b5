"""Fixtures of the CLI tests; ``runner`` itself is in ``tests.cli.invoke``."""

import pytest

from tests.cli.invoke import runner


@pytest.fixture
def xingtu(database_url):
    return runner(database_url)
