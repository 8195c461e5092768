TITLE = "Scaled dot-product and multi-head attention"
MODULE = "attention"
API = [
    "scaled_dot_product_attention(q, k, v, mask=None)",
    "class MultiHeadSelfAttention(d_model, n_heads)",
]
