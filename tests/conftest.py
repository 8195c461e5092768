import os

import pytest

from grader.worker.client import Zygote

pytest_plugins = ["tests.harness"]


@pytest.fixture(scope="session", autouse=True)
def _private_reference_cache(tmp_path_factory):
    """Each test process computes reference results afresh, never from a user's cache."""
    os.environ["GRADER_CACHE_DIR"] = str(tmp_path_factory.mktemp("reference-cache"))


@pytest.fixture(scope="session")
def zygote():
    with Zygote() as z:
        yield z
