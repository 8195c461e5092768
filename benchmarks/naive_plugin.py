"""The naive way to grade a class, the batch's baseline: a fresh pytest process per
submission running the same hidden suite, with nothing kept warm between submissions.

    python -m pytest grader/suites/exercise03_training_loop -c grader/suites/pytest.ini \\
        -p benchmarks.naive_plugin --exercise exercise03 --submission FILE
"""

from pathlib import Path


def pytest_addoption(parser):
    parser.addoption("--exercise", required=True)
    parser.addoption("--submission", required=True)


def pytest_configure(config):
    from grader import catalog
    from grader.plugin import GradingPlugin
    from grader.probing import SubmissionRunner
    from grader.references import ReferenceRunner
    from grader.worker.client import Zygote
    from grader.worker.limits import Limits

    exercise = catalog.get(config.getoption("exercise"))
    zygote = Zygote()
    config.add_cleanup(zygote.close)
    path = Path(config.getoption("submission")).resolve()
    config.pluginmanager.register(GradingPlugin(SubmissionRunner(zygote, exercise, path, Limits()),
                                                ReferenceRunner(zygote, exercise, Limits())))
