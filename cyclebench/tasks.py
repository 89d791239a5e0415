"""The two benchmark tasks of the paper (Section 7.1) and their translation directions.

Each task has a domain X and a domain Y.  ``G: X -> Y`` implements the ``x2y`` direction and
``F: Y -> X`` the ``y2x`` direction.  For Cityscapes, X = labels and Y = photos (so the paper's
"forward cycle" ``F(G(x)) ~ x`` starts from labels); for maps, X = map and Y = aerial photo.

On disk every task uses ``<data_root>/<split>/<domain>/<name>.png`` with split in
``{train, val}``; files with the same name in the two domains are a pair.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    name: str
    x: str  # domain name of X (folder name on disk)
    y: str  # domain name of Y
    x2y: str  # direction name of G: X -> Y
    y2x: str  # direction name of F: Y -> X
    has_labels: bool  # whether segmentation ground truth (train ids) exists

    @property
    def directions(self) -> tuple[str, str]:
        return (self.x2y, self.y2x)

    def resolve_direction(self, direction: str) -> str:
        """Map a direction name (``label2photo``...) or ``x2y``/``y2x`` to ``x2y``/``y2x``."""
        if direction in ("x2y", self.x2y):
            return "x2y"
        if direction in ("y2x", self.y2x):
            return "y2x"
        raise ValueError(
            f"unknown direction {direction!r} for task {self.name!r}; "
            f"expected one of {self.directions}"
        )

    def source_domain(self, direction: str) -> str:
        return self.x if self.resolve_direction(direction) == "x2y" else self.y

    def target_domain(self, direction: str) -> str:
        return self.y if self.resolve_direction(direction) == "x2y" else self.x


TASKS: dict[str, Task] = {
    "cityscapes": Task("cityscapes", x="label", y="photo", x2y="label2photo", y2x="photo2label",
                       has_labels=True),
    "maps": Task("maps", x="map", y="photo", x2y="map2photo", y2x="photo2map", has_labels=False),
}

# Extra folders a Cityscapes-like task has next to its two domains.
TRAINID_DIR = "trainid"  # uint8 single-channel PNG, values 0..18 and 255 (ignore), eval size
TRAINID_FULL_DIR = "trainid_full"  # val only: labels at the original (full) resolution


def get_task(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {sorted(TASKS)}") from None


def all_directions() -> list[str]:
    return [d for t in TASKS.values() for d in t.directions]
