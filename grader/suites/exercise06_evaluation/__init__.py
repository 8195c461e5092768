TITLE = "Evaluation, modes and early stopping"
MODULE = "evaluation"
API = [
    "predict(model, loader, device='cpu')",
    "classification_report(preds, targets)",
    "class EarlyStopping(patience, min_delta=0.0)",
]
