"""Exercise 15: a denoising autoencoder.

Fill in the class and the two functions below. Read README.md first; run `grade exercise15` to grade.
"""

import torch
import torch.nn.functional as F
from torch import nn


class AutoEncoder(nn.Module):
    """An MLP autoencoder: encode (N, in_dim) -> (N, latent_dim), decode (N, latent_dim) -> (N, in_dim).

    The layers are your choice (e.g. Linear-ReLU-Linear for each half), as long as hidden_dim is
    the width of the hidden layer(s), encode ends at latent_dim features and decode ends at
    in_dim features with no activation after its last layer. forward(x) = decode(encode(x)).
    """

    def __init__(self, in_dim, hidden_dim, latent_dim):
        super().__init__()
        # TODO: build the encoder (in_dim -> hidden_dim -> latent_dim) and the decoder
        #       (latent_dim -> hidden_dim -> in_dim), e.g. two nn.Sequential attributes.
        raise NotImplementedError("TODO: AutoEncoder.__init__")

    def encode(self, x):
        """(N, in_dim) -> the latent code (N, latent_dim)."""
        raise NotImplementedError("TODO: AutoEncoder.encode")

    def decode(self, z):
        """(N, latent_dim) -> the reconstruction (N, in_dim)."""
        raise NotImplementedError("TODO: AutoEncoder.decode")

    def forward(self, x):
        """decode(encode(x))."""
        raise NotImplementedError("TODO: AutoEncoder.forward")


def corrupt(x, noise_std, generator):
    """x plus Gaussian noise (mean 0, standard deviation noise_std) drawn with `generator`.

    Returns a new tensor of x's shape and dtype; x itself is not modified. All the randomness
    comes from `generator` (a torch.Generator), never from torch's global random state.
    """
    # TODO: draw standard normal noise of x's shape from the generator (generator=generator),
    #       scale it by noise_std and add it to x, without changing x in place.
    raise NotImplementedError("TODO: corrupt")


def denoising_step(model, x, optimizer, noise_std, generator):
    """One optimization step of denoising: reconstruct the CLEAN x from corrupt(x, noise_std, generator).

    The loss is the mean squared error between model(noisy) and x. Returns the loss as a
    Python float.
    """
    # TODO: clear the gradients; noisy = corrupt(...); loss = MSE(model(noisy), clean x);
    #       backward; step; return the loss as a float.
    raise NotImplementedError("TODO: denoising_step")
