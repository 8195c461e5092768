"""Names vulture (tests/test_code_quality.py) reports unused in grader/ that are used by name
from outside: click commands, pytest hooks, the protocols of rich, IPython, zipfile and
nbformat, enum members looked up by value, a signal handler's parameters. vulture reads
this file alongside grader/ (it is never imported); each line marks one name as used.

Findings in grader/suites/ are not listed: the test checks only the code outside the suites
(hidden tests are found by pytest and probes by the worker, both by name)."""

from vulture.whitelist_utils import Whitelist

_ = Whitelist()

# grader/cli.py: click commands, registered by their decorators
_.exercise_cmd
_.render_cmd
_.batch_cmd
_.merge_cmd
_.report_cmd
_.init_course_cmd
_.gradescope_bundle_cmd
_.doctor_cmd
_.list_cmd
_.new_cmd
_.audit_cmd
_.notebook_cmd
_.references_build_cmd
_.references_check_cmd

# grader/plugin.py: pytest hooks of GradingPlugin
_.pytest_collectreport
_.pytest_collection_modifyitems
_.pytest_runtest_makereport

# grader/render/progress.py: rich.progress.Progress calls it for what to draw
_.get_renderables

# grader/notebook_magic.py: IPython shows a result by its _repr_html_; nbformat writes a
# cell's execution_count
_._repr_html_
_.execution_count

# grader/course.py: zipfile.ZipFile.writestr reads ZipInfo.compress_type
_.compress_type

# grader/scorecard.py: Category members, read by iterating the enum (checks.CATEGORIES) and
# named by value in the suites (@check("values"))
_.VALUES
_.GRADIENTS
_.LOSS_DECREASE
_.DEVICE
_.CHECKPOINT
_.MODES

# grader/live.py: signal.signal calls the handler with (signum, frame)
_.signum
