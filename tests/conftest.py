import os

import pytest

from grader.worker.client import Zygote

pytest_plugins = ["tests.harness"]


@pytest.fixture(scope="session", autouse=True)
def _references_from_the_packs(tmp_path_factory):
    """Grade against the shipped reference packs, as a student's install does, so that every
    test that grades also proves the packs complete (a missing result is a grader error);
    live references, where a test asks for them, go to a private cache."""
    os.environ.setdefault("GRADER_REFERENCES", "pack")
    os.environ["GRADER_CACHE_DIR"] = str(tmp_path_factory.mktemp("reference-cache"))


@pytest.fixture(scope="session")
def zygote():
    with Zygote() as z:
        yield z
