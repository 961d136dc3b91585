"""An independent PyTorch twin of the network, written from the seed's forward equations alone.

Autograd gives its gradients; the library's hand-derived ones are compared against them. Nothing here
imports the library's maths: only plain arrays cross the boundary.
"""
import numpy as np
import torch


def to_torch(params, requires_grad=True):
    """Four float64 leaf tensors W1..W4 from any sequence of four arrays."""
    return [torch.tensor(np.asarray(W, dtype=np.float64), dtype=torch.float64, requires_grad=requires_grad)
            for W in params]


def forward(Ws, X):
    """The seed's forward pass, a row per sample; returns the logits theta (N, C)."""
    W1, W2, W3, W4 = Ws
    x = torch.as_tensor(np.asarray(X, dtype=np.float64))
    z = torch.relu(x)
    h = z @ W1.T
    s = h + x
    t = s @ W2.T
    p = torch.relu(t)
    q = p @ W3.T
    r = q + t
    theta = r @ W4.T
    return theta


def loss(Ws, X, y):
    """Mean cross-entropy L of the seed's Training Equations."""
    return torch.nn.functional.cross_entropy(forward(Ws, X), torch.as_tensor(np.asarray(y), dtype=torch.long))


def loss_and_grads(params, X, y):
    """(L, [dW1, dW2, dW3, dW4]) as float and numpy arrays, by autograd."""
    Ws = to_torch(params)
    L = loss(Ws, X, y)
    L.backward()
    return L.item(), [W.grad.numpy().copy() for W in Ws]


def train(params, X, y, make_optimizer, steps):
    """`steps` full-batch steps with a torch.optim optimizer; returns the weights after each step."""
    Ws = to_torch(params)
    opt = make_optimizer(Ws)
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        loss(Ws, X, y).backward()
        opt.step()
        trajectory.append([W.detach().numpy().copy() for W in Ws])
    return trajectory
