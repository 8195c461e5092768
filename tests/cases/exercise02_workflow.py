"""exercise02_workflow: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

PERM = "    order = torch.randperm(len(X), generator=generator)\n"
SPLIT_RETURN = "    return X[train_idx], y[train_idx], X[test_idx], y[test_idx]"
FIT_STEP = "        optimizer.step()\n        losses.append(loss.item())\n"

MISTAKES = {
    # --- split
    "split_y_not_shuffled": (
        [(SPLIT_RETURN, "    return X[train_idx], y[n_test:], X[test_idx], y[:n_test]")],
        {"split_partition": "no longer paired"}),
    "split_train_is_everything": (
        [("order[:n_test], order[n_test:]", "order[:n_test], order")],
        {"split_partition": "share"}),
    "split_drops_a_row": (
        [("order[:n_test], order[n_test:]", "order[:n_test], order[n_test + 1:]")],
        {"split_partition": "neither"}),
    "split_with_replacement": (
        [(PERM, "    order = torch.randint(len(X), (len(X),), generator=generator)\n")],
        {"split_partition": "more than once"}),
    "split_rounds_up": (
        [("    n_test = int(len(X) * test_fraction)", "    n_test = -int(-len(X) * test_fraction // 1)")],
        {"split_sizes": "rounded down, not up"}),
    "split_rounds": (
        [("    n_test = int(len(X) * test_fraction)", "    n_test = round(len(X) * test_fraction)")],
        {"split_sizes": "do not round"}),
    "split_swaps_train_and_test": (
        [(SPLIT_RETURN, "    return X[test_idx], y[test_idx], X[train_idx], y[train_idx]")],
        {"split_sizes": "swapped"}),
    "split_not_seeded": (
        [(PERM, "    order = torch.randperm(len(X))\n")],
        {"split_reproducible": "different splits"}),
    "split_generator_made_once": (
        [("def split(X, y, test_fraction=0.2, seed=0):", "_GEN = torch.Generator().manual_seed(0)\n\n\n"
          "def split(X, y, test_fraction=0.2, seed=0):"),
         (PERM, "    order = torch.randperm(len(X), generator=_GEN)\n")],
        {"split_reproducible": "different splits"}),
    "split_seed_ignored": (
        [("torch.Generator().manual_seed(seed)", "torch.Generator().manual_seed(42)")],
        {"split_depends_on_seed": "same test set for every seed"}),
    "split_not_shuffled": (
        [(PERM, "    order = torch.arange(len(X))\n")],
        {"split_depends_on_seed": "does not shuffle"}),
    # --- LinearModel
    "linear_model_squeezes": (
        [("        return self.linear(x)", "        return self.linear(x).squeeze(1)")],
        {"api": "shape (7,)", "linear_model": "shape (7,)", "workflow_learns": ""}),
    "linear_model_hidden_layer": (
        [("        self.linear = nn.Linear(in_features, 1)",
          "        self.linear = nn.Sequential(nn.Linear(in_features, 8), nn.ReLU(), nn.Linear(8, 1))")],
        {"linear_model": "parameters", "workflow_learns": "held-out"}),
    "linear_model_fixed_features": (
        [("        self.linear = nn.Linear(in_features, 1)", "        self.linear = nn.Linear(3, 1)")],
        {"api": "mat1 and mat2", "linear_model": "in_features, not a fixed number",
         "load_round_trip": "mat1 and mat2"}),
    # --- loss and optimizer
    "loss_summed": (
        [("    return nn.MSELoss(), ", "    return nn.MSELoss(reduction=\"sum\"), ")],
        {"loss_is_mse": "summed", "workflow_learns": ""}),
    "loss_l1": (
        [("    return nn.MSELoss(), ", "    return nn.L1Loss(), ")],
        {"loss_is_mse": "absolute"}),
    "loss_unreduced": (
        [("    return nn.MSELoss(), ", "    return nn.MSELoss(reduction=\"none\"), ")],
        {"loss_is_mse": "one number", "workflow_learns": ""}),
    "optimizer_fixed_lr": (
        [("torch.optim.SGD(model.parameters(), lr=lr)", "torch.optim.SGD(model.parameters(), lr=0.01)")],
        {"optimizer_is_sgd": "learning rate is 0.01", "workflow_learns": ""}),
    "optimizer_momentum": (
        [("torch.optim.SGD(model.parameters(), lr=lr)", "torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)")],
        {"optimizer_is_sgd": "momentum"}),
    "optimizer_adam": (
        [("torch.optim.SGD(model.parameters(), lr=lr)", "torch.optim.Adam(model.parameters(), lr=lr)")],
        {"optimizer_is_sgd": "adam"}),
    "optimizer_weight_decay": (
        [("torch.optim.SGD(model.parameters(), lr=lr)", "torch.optim.SGD(model.parameters(), lr=lr, weight_decay=0.1)")],
        {"optimizer_is_sgd": "weight decay", "workflow_learns": "held-out"}),
    "optimizer_last_layer_only": (
        [("torch.optim.SGD(model.parameters(), lr=lr)", "torch.optim.SGD(list(model.parameters())[-2:], lr=lr)")],
        {"optimizer_is_sgd": "unchanged"}),
    # --- fit
    "fit_loss_after_step": (
        [(FIT_STEP, "        optimizer.step()\n        losses.append(loss_fn(model(X), y).item())\n")],
        {"fit_trajectory": "after it"}),
    "fit_no_zero_grad": (
        [("        optimizer.zero_grad()\n        loss.backward()", "        loss.backward()")],
        {"fit_trajectory": "never cleared", "workflow_learns": ""}),
    "fit_zero_grad_between_backward_and_step": (
        [("        optimizer.zero_grad()\n        loss.backward()\n        optimizer.step()\n",
          "        loss.backward()\n        optimizer.zero_grad()\n        optimizer.step()\n")],
        {"fit_trajectory": "did not change the parameters", "workflow_learns": ""}),
    "fit_no_train_mode": (
        [("    model.train()\n    losses = []", "    losses = []")],
        {"fit_train_mode": "model.train()"}),
    "fit_returns_tensors": (
        [("        losses.append(loss.item())", "        losses.append(loss.detach())")],
        {"api": "python floats"}),
    "fit_step_per_sample": (
        [("        loss = loss_fn(model(X), y)\n        optimizer.zero_grad()\n        loss.backward()\n" + FIT_STEP,
          "        for i in range(len(X)):\n            loss = loss_fn(model(X[i:i + 1]), y[i:i + 1])\n"
          "            optimizer.zero_grad()\n            loss.backward()\n            optimizer.step()\n"
          "        losses.append(loss.item())\n")],
        {"fit_trajectory": "one full-batch step per epoch", "workflow_learns": ""}),
    "fit_hard_codes_mse": (
        [("        loss = loss_fn(model(X), y)\n        optimizer.zero_grad()",
          "        loss = ((model(X) - y) ** 2).mean()\n        optimizer.zero_grad()")],
        {"fit_trajectory": "loss_fn it is given"}),
    # --- evaluate
    "evaluate_no_eval_mode": (
        [("    model.eval()\n    with torch.no_grad():\n        return loss_fn",
          "    with torch.no_grad():\n        return loss_fn")],
        {"evaluate_eval_mode": "model.eval()"}),
    "evaluate_with_graph": (
        [("    with torch.no_grad():\n        return loss_fn(model(X), y).item()",
          "    return loss_fn(model(X), y).item()")],
        {"evaluate_no_graph": "torch.no_grad()"}),
    "evaluate_grad_off_for_good": (
        [("    with torch.no_grad():\n        return loss_fn(model(X), y).item()",
          "    torch.set_grad_enabled(False)\n    return loss_fn(model(X), y).item()")],
        {"evaluate_no_graph": "still switched off"}),
    "evaluate_returns_tensor": (
        [("        return loss_fn(model(X), y).item()", "        return loss_fn(model(X), y)")],
        {"api": "python float"}),
    # --- save / load
    "save_whole_model": (
        [("    torch.save(model.state_dict(), path)", "    torch.save(model, path)")],
        {"save_state_dict_file": "weights_only=true"}),
    "save_wrapped_state_dict": (
        [("    torch.save(model.state_dict(), path)", "    torch.save({\"model\": model.state_dict()}, path)")],
        {"save_state_dict_file": "wraps"}),
    "save_wrong_path": (
        [("    torch.save(model.state_dict(), path)", "    torch.save(model.state_dict(), str(path) + \".pt\")")],
        {"save_state_dict_file": "did not write"}),
    "load_untrained": (
        [("    model.load_state_dict(torch.load(path, weights_only=True))\n", "")],
        {"load_round_trip": "does not compute what the saved one did"}),
    "load_returns_state_dict": (
        [("    model.load_state_dict(torch.load(path, weights_only=True))\n    return model",
          "    return torch.load(path, weights_only=True)")],
        {"load_round_trip": "should return a linearmodel", "api": "should return a linearmodel"}),
    "load_ignores_in_features": (
        [("    model = LinearModel(in_features)\n    model.load", "    model = LinearModel(2)\n    model.load")],
        {"load_round_trip": "loading state_dict", "api": "loading state_dict"}),
}

ALTERNATIVES = {
    "split_numpy_and_global_seed": '''
import numpy as np


def split(X, y, test_fraction=0.2, seed=0):
    idx = np.random.RandomState(seed).permutation(len(X))
    cut = len(X) - int(len(X) * test_fraction)
    train, test = torch.as_tensor(idx[:cut]), torch.as_tensor(idx[cut:])
    return X.index_select(0, train), y.index_select(0, train), X.index_select(0, test), y.index_select(0, test)
''',
    "split_manual_seed_and_masks": '''
def split(X, y, test_fraction=0.2, seed=0):
    torch.manual_seed(seed)
    n_test = int(len(X) * test_fraction)
    is_test = torch.zeros(len(X), dtype=torch.bool)
    is_test[torch.randperm(len(X))[:n_test]] = True
    return X[~is_test], y[~is_test], X[is_test], y[is_test]
''',
    "own_parameters_and_functional_loss": '''
class LinearModel(nn.Module):
    def __init__(self, in_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_features, 1) * 0.1)
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return x @ self.weight + self.bias


def make_loss_and_optimizer(model, lr):
    optimizer = torch.optim.SGD(params=list(model.parameters()), lr=lr, momentum=0.0)
    return torch.nn.functional.mse_loss, optimizer
''',
    "fit_zero_grad_after_step_and_set_to_none": '''
def fit(model, X, y, loss_fn, optimizer, epochs):
    model.train(True)
    history = []
    optimizer.zero_grad(set_to_none=True)
    for epoch in range(epochs):
        prediction = model(X)
        loss = loss_fn(prediction, y)
        history.append(float(loss.detach()))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return history
''',
    "evaluate_inference_mode_restoring_mode": '''
def evaluate(model, X, y, loss_fn):
    was_training = model.training
    model.train(False)
    with torch.inference_mode():
        value = float(loss_fn(model(X), y))
    model.train(was_training)
    return value
''',
    "save_copies_and_load_with_map_location": '''
def save(model, path):
    state = {name: t.detach().clone() for name, t in model.state_dict().items()}
    with open(path, "wb") as f:
        torch.save(state, f)


def load(path, in_features):
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = LinearModel(in_features=in_features)
    model.load_state_dict(state, strict=True)
    return model.eval()
''',
}
