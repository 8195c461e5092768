"""Grade a whole class: every submission × exercise, in parallel, into a results folder.

    SUBMISSIONS/                      OUT/
      alice/        (a folder,          plan.json         shard i/N of which planned tasks
      bob.zip        a zip,             gradebook.csv     one row per student
      carol.ipynb    or one file)       summary.md/.json  distributions, problems, mistakes
                                        report.html       the class report, offline
                                        histogram.png     total scores (when matplotlib is there)
                                        scorecards/<student>/<exercise id>.json and .md

Also understood: a GitHub Classroom download (`gh classroom clone student-repos` makes
`<assignment>-submissions/<assignment>-<login>/`: the login is the student id) and a
Gradescope export (`submission_metadata.yml` next to `submission_<n>/` folders: the
submitter's sid, else e-mail, names the student).

Each of `jobs` processes keeps one warm `GradingSession` and grades through `grading.grade`, the
same code path as `grade exercise03`. The parent assigns one task at a time, writes each
scorecard atomically as it arrives, stops a grading process that overruns a generous
deadline or dies (that task gets an error scorecard, everyone else carries on), and on
Ctrl-C stops the processes and keeps what is done. Reports are built from the scorecards
on disk and the plan, so `--resume`, shards and `merge` give the same gradebook as one run.
Which planned tasks finished is never recorded: a scorecard on disk is a finished task.
"""


from grader.batch.discover import BatchError, Student, discover, unpack_zip
from grader.batch.plan import Plan, Task, parse_shard, plan, read_plan, reference_fingerprint, shard_of
from grader.batch.pool import grade_task, grade_tasks, problem_card
from grader.batch.results import MergeRefused, load_cards, merge, write_card, write_report, write_reports
from grader.batch.run import BatchResult, run_batch, usable_cpus
from grader.render.progress import PlainProgress, RichProgress, make_progress

__all__ = ["BatchError", "BatchResult", "MergeRefused", "PlainProgress", "Plan", "RichProgress",
           "Student", "Task", "discover", "grade_task", "grade_tasks",
           "load_cards", "make_progress", "merge", "parse_shard", "plan", "problem_card",
           "read_plan", "reference_fingerprint", "run_batch", "shard_of", "unpack_zip",
           "usable_cpus", "write_card", "write_report", "write_reports"]
