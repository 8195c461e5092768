TITLE = "A denoising autoencoder"
MODULE = "autoencoder"
API = [
    "class AutoEncoder(in_dim, hidden_dim, latent_dim)",
    "corrupt(x, noise_std, generator)",
    "denoising_step(model, x, optimizer, noise_std, generator)",
]
