TITLE = "Autograd basics"
MODULE = "autograd_basics"
API = [
    "gradient(f, x)",
    "fit_line(x, y, lr=0.1, steps=100)",
    "predict_no_grad(model, x)",
]
