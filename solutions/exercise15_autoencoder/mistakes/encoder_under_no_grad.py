# expect: autoencoder_gradients
# may fail: autoencoder_learns
# message: autoencoder_gradients: no gradient reaches encoder.0.weight
# message: autoencoder_learns: nothing detached
"""Reference solution: exercise15_autoencoder."""

import torch
import torch.nn.functional as F
from torch import nn


class AutoEncoder(nn.Module):
    """An MLP autoencoder: in_dim -> hidden_dim -> latent_dim -> hidden_dim -> in_dim."""

    def __init__(self, in_dim, hidden_dim, latent_dim):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(in_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden_dim),
            nn.ReLU(),
            nn.Linear(hidden_dim, in_dim),
        )

    def encode(self, x):
        """(N, in_dim) -> (N, latent_dim)."""
        with torch.no_grad():
            return self.encoder(x)

    def decode(self, z):
        """(N, latent_dim) -> (N, in_dim)."""
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))


def corrupt(x, noise_std, generator):
    """x plus Gaussian noise of standard deviation noise_std, drawn with generator; x is unchanged."""
    noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + noise_std * noise


def denoising_step(model, x, optimizer, noise_std, generator):
    """One step of reconstructing the clean x from corrupt(x); returns the MSE loss as a float."""
    optimizer.zero_grad()
    noisy = corrupt(x, noise_std, generator)
    loss = F.mse_loss(model(noisy), x)
    loss.backward()
    optimizer.step()
    return loss.item()
