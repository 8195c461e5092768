"""exercise06_evaluation: realistic mistakes (edits of the reference, and the checks each must lose) and
correct alternatives in other styles (code appended to the reference; full marks)."""

PRED_LINE = "            preds = [model(inputs.to(device)).argmax(dim=1) for inputs, _ in loader]"

MISTAKES = {
    "predict_leaves_eval_mode": (
        [("    finally:\n        model.train(was_training)", "    finally:\n        pass")],
        {"predict_modes": "left the model in eval mode"}),
    "predict_forces_train_mode": (
        [("        model.train(was_training)", "        model.train()")],
        {"predict_modes": "switched the model to train mode"}),
    "predict_without_eval": (
        [("    model.eval()\n", "")],
        {"predict_modes": "train mode while predicting", "predict_values": "dropout was active"}),
    "predict_records_graph": (
        [("        with torch.no_grad():\n", "        if True:\n")],
        {"predict_no_graph": "recording a graph"}),
    "predict_switches_grad_off": (
        [("        with torch.no_grad():\n", "        torch.set_grad_enabled(False)\n        if True:\n")],
        {"predict_no_graph": "still switched off"}),
    "predict_only_last_batch": (
        [("    return torch.cat(preds)", "    return preds[-1]")],
        {"predict_values": "only the last batch", "api": "shape (10,)"}),
    "predict_reverse_concat": (
        [("    return torch.cat(preds)", "    return torch.cat(preds[::-1])")],
        {"predict_values": "reverse order"}),
    "predict_in_dataset_order": (
        [(PRED_LINE, "            preds = [model(loader.dataset[:][0].to(device)).argmax(dim=1)]")],
        {"predict_values": "dataset's order"}),
    "predict_float_classes": (
        [("    return torch.cat(preds)", "    return torch.cat(preds).float()")],
        {"api": "long tensor"}),
    "predict_ignores_device": (
        [(PRED_LINE, PRED_LINE.replace("inputs.to(device)", "inputs"))],
        {"predict_device": "move each batch"}),
    "report_classes_up_to_max": (
        [("    classes = torch.unique(torch.cat([preds, targets]))",
          "    classes = torch.arange(int(torch.cat([preds, targets]).max()) + 1)")],
        {"report_class_set": "0 to the largest label"}),
    "report_classes_of_targets": (
        [("    classes = torch.unique(torch.cat([preds, targets]))", "    classes = torch.unique(targets)")],
        {"report_class_set": "only the classes in targets"}),
    "report_nan_for_zero_division": (
        [("        p = tp / predicted if predicted else 0.0\n        r = tp / actual if actual else 0.0",
          "        p = (torch.tensor(tp) / torch.tensor(predicted)).item()\n"
          "        r = (torch.tensor(tp) / torch.tensor(actual)).item()"),
         ("        f1s.append(2 * p * r / (p + r) if p + r else 0.0)",
          "        f1s.append(2 * p * r / (p + r) if p + r == p + r and p + r else p + r)")],
        {"report_class_set": "returned NaN"}),
    "report_divides_by_zero": (
        [("        p = tp / predicted if predicted else 0.0", "        p = tp / predicted")],
        {"report_class_set": "ZeroDivisionError"}),
    "report_skips_undefined_classes": (
        [("        p = tp / predicted if predicted else 0.0\n        r = tp / actual if actual else 0.0\n"
          "        precisions.append(p)\n        recalls.append(r)\n"
          "        f1s.append(2 * p * r / (p + r) if p + r else 0.0)\n    n = len(classes)\n",
          "        if not predicted or not actual:\n            continue\n"
          "        p = tp / predicted\n        r = tp / actual\n"
          "        precisions.append(p)\n        recalls.append(r)\n"
          "        f1s.append(2 * p * r / (p + r) if p + r else 0.0)\n    n = len(f1s)\n")],
        {"report_class_set": "only the classes in both"}),
    "report_f1_from_macro_averages": (
        [('        "f1": sum(f1s) / n,',
          '        "f1": 2 * sum(precisions) * sum(recalls) / n / (sum(precisions) + sum(recalls)),')],
        {"report_values": "computed from the macro precision"}),
    "report_micro_average": (
        [('        "precision": sum(precisions) / n,\n        "recall": sum(recalls) / n,',
          '        "precision": (preds == targets).float().mean().item(),\n'
          '        "recall": (preds == targets).float().mean().item(),')],
        {"report_values": "micro averaging", "report_class_set": "micro averaging"}),
    "report_returns_tensors": (
        [('        "accuracy": (preds == targets).float().mean().item(),',
          '        "accuracy": (preds == targets).float().mean(),')],
        {"api": "python float"}),
    "stop_one_call_late": (
        [("        return self.bad_calls >= self.patience", "        return self.bad_calls > self.patience")],
        {"early_stopping_patience": "one call too late", "early_stopping_min_delta": "too late"}),
    "stop_counter_not_reset": (
        [("            self.bad_calls = 0\n", "")],
        {"early_stopping_patience": "not reset", "early_stopping_min_delta": "not reset"}),
    "stop_only_once": (
        [("        return self.bad_calls >= self.patience", "        return self.bad_calls == self.patience")],
        {"early_stopping_patience": "keep returning true", "early_stopping_min_delta": "keep returning true"}),
    "ties_count_as_improvement": (
        [("        if self.best - val_loss > self.min_delta:", "        if self.best - val_loss >= self.min_delta:")],
        {"early_stopping_patience": "equal to the best"}),
    "min_delta_ignored": (
        [("        if self.best - val_loss > self.min_delta:", "        if val_loss < self.best:")],
        {"early_stopping_min_delta": "min_delta was ignored"}),
    "best_weights_by_reference": (
        [("            self.best_state = copy.deepcopy(model.state_dict())",
          "            self.best_state = model.state_dict()")],
        {"early_stopping_best_weights": "share memory"}),
    "best_model_by_reference": (
        [("            self.best_state = copy.deepcopy(model.state_dict())", "            self.best_state = model"),
         ("        model.load_state_dict(self.best_state)", "        model.load_state_dict(self.best_state.state_dict())")],
        {"early_stopping_best_weights": "left the model's weights as they were"}),
    "saves_every_call": (
        [("            self.best_state = copy.deepcopy(model.state_dict())\n        else:\n",
          "        else:\n            self.best_state = copy.deepcopy(model.state_dict())\n")],
        {"early_stopping_best_weights": "weights of call"}),
    "min_delta_without_default": (
        [("    def __init__(self, patience, min_delta=0.0):", "    def __init__(self, patience, min_delta):")],
        {"api": "does not match", "early_stopping_patience": "", "early_stopping_best_weights": ""}),
}

ALTERNATIVES = {
    "predict_inference_mode_loop": '''
def predict(model, loader, device="cpu"):
    mode = model.training
    model.train(False)
    out = []
    with torch.inference_mode():
        for batch in loader:
            x = batch[0].to(device)
            out.extend(model(x).argmax(1).tolist())
    model.train(mode)
    return torch.tensor(out, dtype=torch.long)
''',
    "predict_cat_as_you_go": '''
def predict(model, loader, device="cpu"):
    restore_train = model.training
    model.eval()
    result = torch.empty(0, dtype=torch.long, device=device)
    for inputs, targets in loader:
        with torch.no_grad():
            logits = model(inputs.to(device))
        result = torch.cat([result, torch.max(logits, dim=1).indices])
    if restore_train:
        model.train()
    return result.cpu()
''',
    "predict_on_a_deep_copy": '''
def predict(model, loader, device="cpu"):
    frozen = copy.deepcopy(model).eval()
    with torch.no_grad():
        return torch.cat([frozen(x.to(device)).argmax(-1) for x, _ in loader])
''',
    "report_confusion_matrix": '''
def classification_report(preds, targets):
    classes, inverse = torch.unique(torch.cat([preds, targets]), return_inverse=True)
    k = len(classes)
    p_idx, t_idx = inverse[: len(preds)], inverse[len(preds):]
    cm = torch.bincount(t_idx * k + p_idx, minlength=k * k).reshape(k, k).double()
    tp = cm.diag()
    precision = torch.where(cm.sum(0) > 0, tp / cm.sum(0).clamp(min=1), torch.zeros_like(tp))
    recall = torch.where(cm.sum(1) > 0, tp / cm.sum(1).clamp(min=1), torch.zeros_like(tp))
    denom = precision + recall
    f1 = torch.where(denom > 0, 2 * precision * recall / denom.clamp(min=1e-12), torch.zeros_like(tp))
    return {"accuracy": float((preds == targets).double().mean()),
            "precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean())}
''',
    "early_stopping_clone_and_none": '''
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        self.patience, self.min_delta = patience, min_delta
        self.best_loss = None
        self.wait = 0
        self.saved = None

    def step(self, val_loss, model):
        if self.best_loss is None or val_loss < self.best_loss - self.min_delta:
            self.best_loss = val_loss
            self.wait = 0
            self.saved = {name: t.detach().clone() for name, t in model.state_dict().items()}
            return False
        self.wait += 1
        return self.wait >= self.patience

    def restore(self, model):
        with torch.no_grad():
            for name, t in model.state_dict().items():
                t.copy_(self.saved[name])
''',
    "early_stopping_deepcopy_model": '''
class EarlyStopping:
    def __init__(self, patience, min_delta=0.0):
        self.patience = patience
        self.min_delta = min_delta
        self.best = float("inf")
        self.count = 0
        self.best_model = None

    def step(self, val_loss, model):
        improved = val_loss < self.best - self.min_delta
        if improved:
            self.best, self.count = val_loss, 0
            self.best_model = copy.deepcopy(model)
        else:
            self.count += 1
        return bool(self.count >= self.patience)

    def restore(self, model):
        model.load_state_dict(self.best_model.state_dict())
''',
}
