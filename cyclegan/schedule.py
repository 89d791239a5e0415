"""Learning-rate schedule of CycleGAN (Zhu et al., ICCV 2017, Section 7.1).

"We keep the same learning rate for the first 100 epochs and linearly decay the rate to zero
over the next 100 epochs."  The official ``networks.get_scheduler`` (policy ``linear``) uses::

    lambda_rule(e) = 1 - max(0, e + opt.epoch_count - n_epochs) / (n_epochs_decay + 1)

with ``opt.epoch_count = 1`` by default.  The current official
``train.py`` steps the scheduler at the *start* of each epoch (so 1-based epoch 100 already
decays and epoch 200 trains at lr 0, a wasted epoch); older code stepped it at the end of each
epoch, i.e. evaluated ``lambda_rule`` at the 0-based epoch index.  **We pick the older rule**,
evaluated once at the start of each 0-based epoch ``e``::

    lr_factor(e) = 1 - max(0, e + epoch_count + 1 - n_epochs) / (n_epochs_decay + 1)

(our ``epoch_count`` is the number of epochs already done before ``e = 0``, default 0, which is
the official ``--epoch_count 1``).  With 100 + 100 epochs: epochs 0..99 train at the full rate,
epoch 100 at ``1 - 1/101``, epoch ``100 + k`` at ``1 - (k+1)/101`` and the last epoch (199) at
``1/101``; every epoch trains, and the rate would reach zero only at a 201st epoch.
"""

from __future__ import annotations


def lr_factor(epoch: int, n_epochs: int, n_epochs_decay: int, epoch_count: int = 0) -> float:
    """Multiplier of the initial learning rate during 0-based ``epoch`` (see module doc)."""
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    if n_epochs < 0 or n_epochs_decay < 0:
        raise ValueError(f"n_epochs and n_epochs_decay must be >= 0, got {n_epochs}, "
                         f"{n_epochs_decay}")
    return 1.0 - max(0, epoch + epoch_count + 1 - n_epochs) / float(n_epochs_decay + 1)


def set_lr(optimizer, lr: float) -> None:
    """Set every parameter group's learning rate (no scheduler object: the rate is a pure
    function of the epoch, so resuming needs only the epoch index)."""
    for group in optimizer.param_groups:
        group["lr"] = lr
