"""Learning-rate schedule of CycleGAN (Zhu et al., ICCV 2017, Section 7.1).

"We keep the same learning rate for the first 100 epochs and linearly decay the rate to zero
over the next 100 epochs."  We follow the *current* official implementation
(``networks.get_scheduler``, policy ``linear``)::

    factor(epoch) = 1 - max(0, epoch + epoch_count - n_epochs) / (n_epochs_decay + 1)

with ``epoch`` 0-based and the factor applied at the **start** of each epoch.  With 100 + 100
epochs: epochs 0..99 train at the full rate, epoch 100 at ``1 - 1/101``, epoch ``100 + k`` at
``1 - (k+1)/101``, and the last epoch (199) at ``1/101``; the rate would reach zero only at a
201st epoch, which is never run.  (Older official code stepped the scheduler at the end of the
epoch, shifting the ramp by one; SPEC.md "LR schedule detail" -- we pick the current rule.)
``epoch_count`` is the official ``--epoch_count`` (starting-epoch offset); keep it 0 here since
the trainer resumes from checkpoints with the true epoch index instead.
"""

from __future__ import annotations


def lr_factor(epoch: int, n_epochs: int, n_epochs_decay: int, epoch_count: int = 0) -> float:
    """Multiplier of the initial learning rate during 0-based ``epoch``."""
    if epoch < 0:
        raise ValueError(f"epoch must be >= 0, got {epoch}")
    if n_epochs < 0 or n_epochs_decay < 0:
        raise ValueError(f"n_epochs and n_epochs_decay must be >= 0, got {n_epochs}, {n_epochs_decay}")
    return 1.0 - max(0, epoch + epoch_count - n_epochs) / float(n_epochs_decay + 1)


def set_lr(optimizer, lr: float) -> None:
    """Set every parameter group's learning rate (no scheduler object: the rate is a pure
    function of the epoch, so resuming needs only the epoch index)."""
    for group in optimizer.param_groups:
        group["lr"] = lr
