TITLE = "The PyTorch workflow"
MODULE = "workflow"
API = [
    "split(X, y, test_fraction=0.2, seed=0)",
    "class LinearModel(in_features)",
    "make_loss_and_optimizer(model, lr)",
    "fit(model, X, y, loss_fn, optimizer, epochs)",
    "evaluate(model, X, y, loss_fn)",
    "save(model, path)",
    "load(path, in_features)",
]
