"""History buffer of generated images (Zhu et al., ICCV 2017, Section 4; Shrivastava et al.).

"To reduce model oscillation we update the discriminators using a history of generated images
rather than the ones produced by the latest generators.  We keep an image buffer that stores the
50 previously created images."  Semantics of the official ``util/image_pool.py``, per image:
while the pool is not full, store the image and return it; once full, with probability 0.5
return a random stored image and put the new one in its place, otherwise return the new one.

Unlike the official code, the randomness comes from the pool's own ``torch.Generator`` and
:meth:`ImagePool.state_dict` saves both the buffer and the generator state, so a resumed run
draws exactly what an uninterrupted one would.
"""

from __future__ import annotations

from typing import Any

import torch


class ImagePool:
    def __init__(self, pool_size: int = 50, seed: int = 0):
        if pool_size < 0:
            raise ValueError(f"pool_size must be >= 0, got {pool_size}")
        self.pool_size = int(pool_size)
        self.images: list[torch.Tensor] = []
        self.generator = torch.Generator()  # CPU generator: identical on every device
        self.generator.manual_seed(int(seed))

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """Return a batch the size of ``images`` drawn from the history (see module doc)."""
        if self.pool_size == 0:
            return images
        out = []
        for image in images.detach():
            image = image.unsqueeze(0)
            if len(self.images) < self.pool_size:
                self.images.append(image.clone())
                out.append(image)
                continue
            # Draws on the CPU generator (no device sync); same count of draws on both branches.
            p = torch.rand((), generator=self.generator).item()
            idx = int(torch.randint(0, self.pool_size, (), generator=self.generator))
            if p > 0.5:
                old = self.images[idx]
                self.images[idx] = image.clone()
                out.append(old)
            else:
                out.append(image)
        return torch.cat(out, 0)

    def state_dict(self) -> dict[str, Any]:
        return {
            "pool_size": self.pool_size,
            "images": [t.cpu() for t in self.images],
            "rng": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any], device: torch.device | str | None = None) -> None:
        if int(state["pool_size"]) != self.pool_size:
            raise ValueError(f"image pool size mismatch: checkpoint {state['pool_size']}, "
                             f"config {self.pool_size}")
        self.images = [t.to(device) if device is not None else t for t in state["images"]]
        self.generator.set_state(state["rng"])
