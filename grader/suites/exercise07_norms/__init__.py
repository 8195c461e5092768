TITLE = "BatchNorm and LayerNorm from scratch"
MODULE = "norms"
API = [
    "class BatchNorm1d(num_features, eps=1e-5, momentum=0.1)",
    "class LayerNorm(normalized_shape, eps=1e-5)",
]
