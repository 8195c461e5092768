"""Hidden checks for exercise06_evaluation."""

import torch

from grader.checks import FLOAT32, ROUNDING, Mistake, check, close, expect, expect_close
from grader.suites.trusted_side import check_devices, graph_mistake, mixed_devices, tensor_of
from grader.suites.worker_side import Described

REPORT_KEYS = ("accuracy", "precision", "recall", "f1")


# ---------------------------------------------------------------- helpers (trusted side)

def _logits(X, w):
    """The probe's classifier in eval mode (dropout off), recomputed here."""
    h = torch.relu(X @ w["0.weight"].T + w["0.bias"])
    return h @ w["3.weight"].T + w["3.bias"]


def _predict_run(student, start_training=True):
    """predict_call's data, or a Mistake when predict raised."""
    got = student.run("predict_call", start_training=start_training)
    error = got.error
    if error:
        hint = (": squeeze() made the predictions of a batch of one sample 0-dim; keep each batch's "
                "predictions 1-D (argmax(dim=1) alone)") if "zero-dim" in error else ""
        raise Mistake(f"predict raised {error} on a loader whose last batch holds a single sample{hint}")
    return got


def _predictions(got):
    return tensor_of(got.out, "the predictions", dtype=None)


def _scalar(desc: Described):
    """A described value as a Python number, or None."""
    if desc.is_tensor:
        values = desc.values
        return float(values.reshape(-1)[0]) if values is not None and values.numel() == 1 else None
    return float(desc.value) if desc.value is not None else None


def _macro(preds, targets, classes, nan_for_zero=False, skip_zero=False):
    """Per-class precision/recall/F1 averaged over `classes` (trusted re-computation)."""
    ps, rs, fs = [], [], []
    for c in classes:
        tp = int(((preds == c) & (targets == c)).sum())
        predicted, actual = int((preds == c).sum()), int((targets == c).sum())
        p = tp / predicted if predicted else None
        r = tp / actual if actual else None
        f = 2 * p * r / (p + r) if p is not None and r is not None and p + r else None
        if f is None and p is not None and r is not None:
            f = 0.0
        ps.append(p), rs.append(r), fs.append(f)

    def avg(values):
        if skip_zero:
            values = [v for v in values if v is not None]
        elif nan_for_zero:
            if any(v is None for v in values):
                return float("nan")
        values = [0.0 if v is None else v for v in values]
        return sum(values) / len(values) if values else 0.0

    return {"precision": avg(ps), "recall": avg(rs), "f1": avg(fs)}


def _report_values(got, case):
    expect(got.type == "dict", f"classification_report should return a dict, not a {got.type}")
    values = {}
    for key in REPORT_KEYS:
        expect(key in got.values, f"classification_report's dict has no key {key!r} "
               f"(expected keys {', '.join(map(repr, REPORT_KEYS))})")
        values[key] = _scalar(got.values[key])
        expect(values[key] is not None, f"classification_report[{key!r}] should be a float")
    return values


def _same(values, want, keys=("precision", "recall", "f1")):
    return all(close(values[k], want[k], tol=FLOAT32) for k in keys)


def _stop_sim(losses, patience, min_delta=0.0, variant=()):
    """What step should return (variant=()) or what a submission with the known mistakes in
    `variant` (names of STOP_MISTAKES) returns."""
    best, bad, stop, out = float("inf"), 0, False, []
    for loss in losses:
        improved = (best - loss >= min_delta) if "ties" in variant else (best - loss > min_delta)
        if improved:
            best = loss
            if "no_reset" not in variant:
                bad = 0
        else:
            bad += 1
        if "late" in variant:
            now = bad > patience
        elif "early" in variant:
            now = bad >= patience - 1
        elif "once" in variant:
            now = bad == patience
        else:
            now = bad >= patience
        stop = (stop or now) if "latched" in variant else now
        out.append(stop)
    return out


def _signals(got):
    out = []
    for d in got:
        v = _scalar(d) if d.is_tensor else d.value
        expect(v is not None, f"EarlyStopping.step should return a bool, not a {d.type}")
        out.append(bool(v))
    return out


def _fmt(flags):
    return "[" + ", ".join("T" if f else "F" for f in flags) + "]"


# ---------------------------------------------------------------- api

@check("api")
def test_api(student):
    """predict, classification_report and EarlyStopping exist with the README's signatures and return types"""
    student.expect_api()
    got = _predict_run(student)
    tensor_of(got.out, "predict's result", dtype=None)
    shape, dtype = got.out.shape, got.out.dtype
    expect(shape == [9], f"predict should return one class per sample, a 1-D tensor of shape (9,) "
           f"for a loader over 9 samples, got shape {tuple(shape)}")
    expect(dtype == "torch.int64", f"predict should return class indices as a long tensor "
           f"(torch.int64, what argmax gives), got {dtype}")
    rep = student.run("report_call", case="simple")
    expect(rep.type == "dict", f"classification_report should return a dict, not a {rep.type}")
    for key in REPORT_KEYS:
        expect(key in rep.values, f"classification_report's dict has no key {key!r}")
        d = rep.values[key]
        expect(not d.is_tensor and d.type == "float",
               f"classification_report[{key!r}] should be a Python float (use .item()), "
               f"not a {'tensor' if d.is_tensor else d.type}")
    for d in student.run("stop_signals", losses=[1.0, 2.0], patience=1):
        expect(not d.is_tensor and d.type == "bool",
               f"EarlyStopping.step should return a bool, not a {'tensor' if d.is_tensor else d.type}")


# ---------------------------------------------------------------- predict

@check("values", points=2)
def test_predict_values(student):
    """predict returns the argmax class of every sample, batches concatenated in loader order"""
    got = _predict_run(student)
    preds = _predictions(got)
    X, order, bs = got.X, got.order, got.batch_size
    by_sample = _logits(X, got.weights).argmax(dim=1)
    want = by_sample[order]
    expect(preds.dim() == 1, f"predict should return a 1-D tensor of class indices, got shape {tuple(preds.shape)}")
    if preds.shape == want.shape and torch.equal(preds.long(), want):
        return
    batches = [want[i:i + bs] for i in range(0, len(want), bs)]
    if preds.shape == batches[-1].shape and torch.equal(preds.long(), batches[-1]):
        raise Mistake("predict returned only the last batch's predictions: collect every batch's "
                      "predictions in a list and torch.cat them")
    if preds.numel() == len(want) and torch.equal(preds.long(), by_sample):
        raise Mistake("predictions are in the dataset's order, not the loader's: iterate over the "
                      "loader and concatenate its batches in the order it yields them")
    if preds.numel() == len(want) and torch.equal(preds.long(), torch.cat(batches[::-1])):
        raise Mistake("the batches were concatenated in reverse order: append each batch's "
                      "predictions, then torch.cat the list")
    expect(preds.numel() == len(want), f"predict returned {preds.numel()} predictions for a loader "
           f"over {len(want)} samples")
    if len(got.calls) and not all(not c.dropout_training for c in got.calls):
        raise Mistake("predictions differ from the model in eval mode: dropout was active while "
                      "predicting (call model.eval() first)")
    raise Mistake("predict's classes differ from the argmax over dim 1 of the model's outputs "
                  f"(expected {want.tolist()}, got {preds.tolist()})")


@check("modes", points=2)
def test_predict_modes(student):
    """predict runs the model in eval mode and leaves it in the mode it was in before"""
    for start in (True, False):
        got = _predict_run(student, start)
        calls = got.calls
        expect(calls, "predict never called the model")
        expect(all(not c.training and not c.dropout_training for c in calls),
               "the model was in train mode while predicting (dropout active): call model.eval() "
               "before the loop")
        before = "train" if start else "eval"
        after = "train" if got.training_after else "eval"
        if start:
            expect(got.training_after and got.dropout_training_after,
                   "predict left the model in eval mode; it was in train mode before the call: "
                   "remember model.training and restore it with model.train(was_training)")
        else:
            expect(not got.training_after and not got.dropout_training_after,
                   "predict switched the model to train mode although it was in eval mode before "
                   "the call: restore the mode it had (model.train(was_training)), do not force "
                   "model.train()")
        expect(before == after, f"the model was in {before} mode before predict and in {after} mode after it")


@check("modes")
def test_predict_no_graph(student):
    """predict runs the model without recording a graph"""
    got = _predict_run(student, False)
    calls = got.calls
    expect(calls, "predict never called the model")
    message = graph_mistake([c.facts for c in calls], "predict")
    expect(message is None, message)
    expect(got.grad_enabled_after, "autograd is still switched off after predict returned: use "
           "`with torch.no_grad():` so it is switched back on")


@check("device")
def test_predict_device(student):
    """predict moves every batch to the device it is given and makes no tensor on another one"""
    for device in check_devices(student):
        got = student.run("predict_device", device=device)
        calls, error = got.calls, got.error
        expect(calls, "predict never called the model" + (f" (it raised {error})" if error else ""))
        seen = sorted({c.device.split(":")[0] for c in calls})
        expect(seen == [device], f"with device={device!r} the model received inputs on {', '.join(seen)}: "
               f"move each batch with inputs.to(device)")
        if mixed_devices(error):
            raise Mistake(f"with device={device!r} predict raised {error}: a tensor made on the default device "
                          "(cpu), e.g. an empty tensor the predictions are concatenated onto, met the model's "
                          "outputs; collect them in a list and torch.cat it, or create it on the outputs' device")
        expect(not error or device == "meta", f"with device={device!r} predict raised {error}")


# ---------------------------------------------------------------- classification_report

@check("values", points=2)
def test_report_values(student):
    """classification_report: accuracy and macro precision, recall and F1"""
    for case in ("simple", "binary"):
        got = student.run("report_call", case=case)
        values = _report_values(got, case)
        preds, targets = got.preds, got.targets
        classes = torch.unique(torch.cat([preds, targets])).tolist()
        want = _macro(preds, targets, classes)
        acc = (preds == targets).double().mean().item()
        expect_close(values["accuracy"], acc, "accuracy should be the fraction of predictions equal "
                     f"to the target ({acc:.4f})")
        if _same(values, want):
            continue
        if close(values["precision"], acc) and close(values["recall"], acc) and not close(want["precision"], acc):
            raise Mistake("precision and recall equal the accuracy: that is micro averaging; "
                          "compute them per class and take the plain mean over classes (macro)")
        counts = [int((targets == c).sum()) for c in classes]
        weighted = {k: sum(n * v for n, v in zip(counts, _per_class(preds, targets, classes)[k])) / sum(counts)
                    for k in ("precision", "recall", "f1")}
        if _same(values, weighted) and not _same(want, weighted):
            raise Mistake("the averages are weighted by class frequency; macro averaging weights "
                          "every class equally")
        expect_close(values["precision"], want["precision"],
                     "macro precision is wrong: per class, TP / (number predicted as that class), "
                     "then the mean over classes")
        expect_close(values["recall"], want["recall"],
                     "macro recall is wrong: per class, TP / (number of targets of that class), "
                     "then the mean over classes")
        p, r = values["precision"], values["recall"]
        if p + r and close(values["f1"], 2 * p * r / (p + r)):
            raise Mistake("f1 was computed from the macro precision and recall; macro F1 is the "
                          "mean of the per-class F1 scores")
        expect_close(values["f1"], want["f1"], "macro F1 is wrong: the mean over classes of "
                     "2·P·R / (P + R) per class")


def _per_class(preds, targets, classes):
    out = {"precision": [], "recall": [], "f1": []}
    for c in classes:
        m = _macro(preds, targets, [c])
        for k in out:
            out[k].append(m[k])
    return out


@check("values", points=2)
def test_report_class_set(student):
    """classification_report averages over the classes in preds or targets; 0/0 counts as 0"""
    for case in ("sparse", "two_only"):
        got = student.run("report_call", case=case)
        values = _report_values(got, case)
        preds, targets = got.preds, got.targets
        in_either = torch.unique(torch.cat([preds, targets])).tolist()
        want = _macro(preds, targets, in_either)
        if _same(values, want):
            continue
        if any(v != v for v in values.values()):
            raise Mistake("classification_report returned NaN: a class that is never predicted "
                          "(or never a target) gives 0/0, which must count as 0")
        wrong_sets = {
            "every class from 0 to the largest label": list(range(max(in_either) + 1)),
            "only the classes in targets": torch.unique(targets).tolist(),
            "only the classes in preds": torch.unique(preds).tolist(),
            "only the classes in both preds and targets (a 0/0 must count as 0, not drop the class)":
                sorted(set(preds.tolist()) & set(targets.tolist())),
        }
        for name, classes in wrong_sets.items():
            if _same(values, _macro(preds, targets, classes)) and not _same(want, _macro(preds, targets, classes)):
                raise Mistake(f"the macro averages run over {name}; average over the classes "
                              "that appear in preds or in targets")
        acc = (preds == targets).double().mean().item()
        if close(values["precision"], acc) and close(values["recall"], acc):
            raise Mistake("precision and recall equal the accuracy: that is micro averaging; "
                          "compute them per class and take the plain mean over classes (macro)")
        if _same(values, _macro(preds, targets, in_either, skip_zero=True)):
            raise Mistake("classes whose precision or recall is 0/0 were left out of the average; "
                          "count a 0/0 as 0 and keep the class in the mean")
        raise Mistake(f"macro precision/recall/F1 differ from scikit-learn's (zero_division=0) on "
                      f"preds={preds.tolist()}, targets={targets.tolist()}: expected "
                      f"{want['precision']:.4f}/{want['recall']:.4f}/{want['f1']:.4f}, got "
                      f"{values['precision']:.4f}/{values['recall']:.4f}/{values['f1']:.4f}")


# ---------------------------------------------------------------- EarlyStopping

PATIENCE_CASES = [
    (2, [1.0, 0.9, 0.95, 0.97, 0.99, 0.8, 0.85, 0.86]),
    (1, [1.0, 1.0, 0.5, 0.5, 0.5, 0.4]),
    (3, [2.0, 2.5, 2.4, 1.5, 1.6, 1.7, 1.8, 1.9]),
    (2, [1.0, 1.1, 0.9, 1.0, 0.8, 0.9, 0.95, 0.7]),  # bad calls apart never add up to patience
]
MIN_DELTA_CASES = [
    (2, 0.1, [1.0, 0.95, 0.92, 0.7, 0.65, 0.62, 0.61]),
    (1, 0.5, [3.0, 2.0, 1.8, 1.2, 1.0]),
    (2, 0.1, [1.0, 1.05, 0.8, 0.85, 0.6, 0.65, 0.7, 0.3]),
]

STOP_MISTAKES = {
    "late": "step returned True one call too late: stop once the number of calls without "
            "improvement reaches patience (>=, not >)",
    "early": "step returned True one call too early: stop when the number of calls without "
             "improvement reaches patience, not patience - 1",
    "once": "step returned True only on the call where patience was reached; it should keep "
            "returning True while there is still no improvement",
    "no_reset": "the count of calls without improvement was not reset to 0 when the loss improved",
    "latched": "once step returned True it kept returning True after the loss improved again: the stop "
               "signal was never reset (return count >= patience on every call, not a flag set once)",
    "ties": "a loss equal to the best so far was counted as an improvement; only a decrease of more "
            "than min_delta is one",
}
# single mistakes first, then the pairs written together in a well-known snippet
STOP_VARIANTS = [("late",), ("early",), ("once",), ("no_reset",), ("latched",), ("ties",),
                 ("latched", "ties"), ("no_reset", "ties")]


def _stop_message(variant):
    return "; and ".join(STOP_MISTAKES[v] for v in variant)


def _diagnose_stops(runs):
    """runs: [(flags, losses, patience, min_delta)] of one check. A Mistake naming the known mistake
    that explains every run (else the first run's), or the first wrong run."""
    wrong = [r for r in runs if r[0] != _stop_sim(*r[1:])]
    if not wrong:
        return
    for flags, losses, patience, min_delta in wrong:
        expect(len(flags) == len(losses), "step did not return one value per call")
    if all(r[3] for r in runs) and all(f == _stop_sim(l, p, 0.0) for f, l, p, _ in runs):
        raise Mistake("min_delta was ignored: a decrease of at most min_delta is no improvement (it "
                      "counts towards patience)")
    for variant in STOP_VARIANTS:
        if all(f == _stop_sim(l, p, d, variant) for f, l, p, d in runs):
            raise Mistake(_stop_message(variant))
    flags, losses, patience, min_delta = wrong[0]
    for variant in STOP_VARIANTS:
        if flags == _stop_sim(losses, patience, min_delta, variant):
            raise Mistake(_stop_message(variant))
    context = f"patience={patience}" + (f", min_delta={min_delta}" if min_delta else "") + f", losses={losses}"
    raise Mistake(f"wrong stop signals for {context}: expected {_fmt(_stop_sim(losses, patience, min_delta))}, "
                  f"got {_fmt(flags)}")


@check("values", points=2)
def test_early_stopping_patience(student):
    """EarlyStopping.step is True once `patience` calls in a row bring no improvement"""
    runs = [(_signals(student.run("stop_signals", losses=losses, patience=patience)), losses, patience, 0.0)
            for patience, losses in PATIENCE_CASES]
    _diagnose_stops(runs)


@check("values")
def test_early_stopping_min_delta(student):
    """EarlyStopping counts a decrease of at most min_delta as no improvement"""
    runs = [(_signals(student.run("stop_signals", losses=losses, patience=patience, min_delta=min_delta)),
             losses, patience, min_delta) for patience, min_delta, losses in MIN_DELTA_CASES]
    _diagnose_stops(runs)


def _which_call(state, seen):
    for i, s in enumerate(seen):
        if close(state, s, tol=ROUNDING):
            return i
    return None


@check("checkpoint", points=2)
def test_early_stopping_best_weights(student):
    """EarlyStopping keeps a copy of the best weights that later training leaves alone; restore loads it"""
    for losses in ([1.0, 0.8, 0.9, 0.85, 0.95], [0.5, 0.7, 0.6]):
        best = min(range(len(losses)), key=losses.__getitem__)
        # parameters given new memory: even a reference would still hold the right values
        got = student.run("best_weights", losses=losses, replace_params=True)
        after, seen = got.after_restore, got.seen
        expect(set(after) == set(seen[best]), "restore changed which tensors the model's state_dict has")
        if not close(after, seen[best], tol=ROUNDING):
            if close(after, got.before_restore, tol=ROUNDING):
                raise Mistake("restore(model) left the model's weights as they were: keep a copy of "
                              "the best state_dict and load it with model.load_state_dict")
            i = _which_call(after, seen)
            if i is not None:
                raise Mistake(f"restore brought back the weights of call {i + 1}, but the best loss "
                              f"was at call {best + 1} (losses {losses})")
            raise Mistake("after restore the model's weights are none of those it had at any call")
        # parameters updated in place, as optimizer.step() does
        got = student.run("best_weights", losses=losses, replace_params=False)
        after, seen = got.after_restore, got.seen
        if not close(after, seen[best], tol=ROUNDING):
            if close(after, got.before_restore, tol=ROUNDING):
                raise Mistake("the saved best weights changed when training went on: state_dict() "
                              "returns tensors that share memory with the parameters; store a copy "
                              "(copy.deepcopy(model.state_dict()) or clone every tensor)")
            raise Mistake("the weights restored after in-place training are not those of the best call")
        expect(got.param_types == ["Parameter"] and got.requires_grad,
               "after restore the model's parameters are no longer trainable nn.Parameters: load the "
               "copy with model.load_state_dict instead of replacing them")
