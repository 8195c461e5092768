TITLE = "Exporting a model with torch.export"
MODULE = "export"
API = [
    "export_model(model, example_input, path)",
    "load_exported(path)",
]
