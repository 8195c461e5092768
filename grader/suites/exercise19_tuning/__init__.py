"""exercise19_tuning: what the grader needs to know of the exercise."""

TITLE = "Regularisation, schedules and hyperparameter search"
MODULE = "tuning"
API = [
    "l2_penalty(model, weight)",
    "class Dropout(p=0.5)",
    "train_with_schedule(model, loader, loss_fn, optimizer, scheduler, epochs)",
    "grid_search(grid, objective)",
    "random_search(space, n_trials, objective, seed=0)",
]
