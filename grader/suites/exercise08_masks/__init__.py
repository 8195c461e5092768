TITLE = "Padding and attention masks"
MODULE = "masks"
API = [
    "padding_mask(lengths, max_len=None)",
    "causal_mask(T)",
    "masked_mean(x, pad_mask)",
    "class SequenceClassifier(vocab_size, d_model, n_heads, num_classes, pad_idx=0)",
]
