"""The Cityscapes train-id palette: 19 evaluation classes, colours and colour <-> id maps.

CycleGAN (Zhu et al., ICCV 2017, Section 5.1.1) evaluates Cityscapes labels <-> photo on the
19 "train" classes of the Cityscapes benchmark, with every other label ignored (train id 255).
The X domain of the task is the *colour* label map drawn with the official Cityscapes colours;
the photo -> label direction is scored by mapping each generated pixel to the nearest of those
colours in RGB (the procedure the authors describe; pix2pix Section 4.2 for the metrics).

Everything here is taken from ``cityscapesscripts.helpers.labels`` (the official definitions),
not re-typed, so it cannot drift from the benchmark:

- :data:`CLASS_NAMES`, :data:`CLASS_COLORS`: train ids 0..18 in order.
- :data:`IGNORE_ID` = 255 and :data:`IGNORE_COLOR` = black.
- :data:`LABELID_TO_TRAINID`: 256-entry ``uint8`` lookup table (labelIds PNG -> train ids);
  :data:`LABEL_IDS`: the ids a labelIds PNG may hold (:func:`labelids_to_trainids` refuses
  any other value).
- :func:`colorize`: train ids -> RGB colour label map.
- :func:`nearest_palette`: RGB -> train ids, nearest palette colour (vectorised).
"""

from __future__ import annotations

import numpy as np
from cityscapesscripts.helpers.labels import labels as _CS_LABELS

NUM_CLASSES = 19
IGNORE_ID = 255
IGNORE_COLOR = (0, 0, 0)

_train = sorted((lab for lab in _CS_LABELS if 0 <= lab.trainId < 255), key=lambda l: l.trainId)
if [lab.trainId for lab in _train] != list(range(NUM_CLASSES)):  # pragma: no cover - upstream
    raise RuntimeError("cityscapesscripts does not define train ids 0..18 as expected")

CLASS_NAMES: tuple[str, ...] = tuple(lab.name for lab in _train)
CLASS_COLORS = np.array([lab.color for lab in _train], dtype=np.uint8)  # (19, 3)
CLASS_COLORS.setflags(write=False)
CLASS_IDS: dict[str, int] = {name: i for i, name in enumerate(CLASS_NAMES)}

# labelId (0..33 in the gtFine_labelIds PNGs) -> train id; everything else -> 255.
LABELID_TO_TRAINID = np.full(256, IGNORE_ID, dtype=np.uint8)
for _lab in _CS_LABELS:
    if 0 <= _lab.id < 256:
        LABELID_TO_TRAINID[_lab.id] = _lab.trainId if 0 <= _lab.trainId < 255 else IGNORE_ID
LABELID_TO_TRAINID.setflags(write=False)
# the label ids a gtFine_labelIds PNG may hold (0..33; license plate has id -1, no pixels)
LABEL_IDS: frozenset[int] = frozenset(lab.id for lab in _CS_LABELS if 0 <= lab.id < 256)
_LABEL_ID_ARRAY = np.array(sorted(LABEL_IDS), dtype=np.int64)

# train id -> colour; 255 and every id without a class -> black.
_TRAINID_TO_COLOR = np.zeros((256, 3), dtype=np.uint8)
_TRAINID_TO_COLOR[:NUM_CLASSES] = CLASS_COLORS
_VALID_IDS = np.zeros(256, dtype=bool)
_VALID_IDS[:NUM_CLASSES] = True
_VALID_IDS[IGNORE_ID] = True

# The full set of gtFine colours (all 34 labels): void colours map to 255.  Used to read colour
# label maps that were drawn with *every* Cityscapes colour (gtFine_color, pix2pix archives).
_full: dict[tuple[int, int, int], int] = {}
for _lab in _CS_LABELS:
    if _lab.id < 0:
        continue  # license plate shares the car colour and has no labelId image value
    tid = _lab.trainId if 0 <= _lab.trainId < 255 else IGNORE_ID
    # a colour shared by a train class and a void class (pole / polegroup) keeps the train id
    if _full.get(tuple(_lab.color), IGNORE_ID) == IGNORE_ID:
        _full[tuple(_lab.color)] = tid
_FULL_COLORS = np.array(list(_full.keys()), dtype=np.uint8)
_FULL_IDS = np.array(list(_full.values()), dtype=np.uint8)


def _check_ids(trainid: np.ndarray) -> None:
    bad = ~_VALID_IDS[trainid]
    if bad.any():
        values = sorted(set(np.unique(trainid[bad]).tolist()))[:10]
        raise ValueError(f"train id array contains values outside 0..18 and 255: {values}")


def colorize(trainid: np.ndarray) -> np.ndarray:
    """HxW train ids (uint8, 0..18 or 255) -> HxWx3 uint8 colour label map (ignore = black)."""
    trainid = np.asarray(trainid)
    if trainid.dtype != np.uint8:
        if trainid.size and (trainid.min() < 0 or trainid.max() > 255):
            raise ValueError("train id array has values outside 0..255")
        trainid = trainid.astype(np.uint8)
    _check_ids(trainid)
    return _TRAINID_TO_COLOR[trainid]


def labelids_to_trainids(labelids: np.ndarray, source: str = "labelIds array") -> np.ndarray:
    """Cityscapes labelIds (``*_gtFine_labelIds.png`` values) -> train ids (uint8, 255 ignore).

    Only the Cityscapes label ids (:data:`LABEL_IDS`, 0..33) are accepted: any other value (an
    instance id, a value > 33, a negative value) raises ``ValueError`` naming ``source`` (the
    file) and the unknown ids, rather than silently becoming void (255).
    """
    labelids = np.asarray(labelids)
    if labelids.size:
        lo, hi = int(labelids.min()), int(labelids.max())
        if lo < 0 or hi > 255:  # instance ids etc.: report them without a 65536-bin count
            flat = labelids.ravel()
            outside = flat[(flat < 0) | (flat > 255)]
            unknown = np.unique(outside)
            count = int(outside.size)
        else:  # one linear pass (np.unique would sort every pixel of a 1024x2048 frame)
            counts = np.bincount(labelids.ravel().astype(np.intp), minlength=256)
            counts[_LABEL_ID_ARRAY] = 0
            unknown = np.flatnonzero(counts)
            count = int(counts.sum())
        if unknown.size:
            shown = ", ".join(str(int(v)) for v in unknown[:10])
            more = ", ..." if unknown.size > 10 else ""
            raise ValueError(
                f"{source}: unknown Cityscapes label ids {shown}{more} ({count} of "
                f"{labelids.size} pixels); labelIds maps hold only the ids "
                f"{min(LABEL_IDS)}..{max(LABEL_IDS)} of cityscapesscripts' labels")
    return LABELID_TO_TRAINID[labelids.astype(np.uint8)]


def _nearest(rgb: np.ndarray, colors: np.ndarray, ids: np.ndarray, chunk: int) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim < 1 or rgb.shape[-1] != 3:
        raise ValueError(f"expected an ...x3 RGB array, got shape {rgb.shape}")
    flat = rgb.reshape(-1, 3).astype(np.float32)
    pal = colors.astype(np.float32)  # (K, 3)
    # argmin ||p - c||^2 = argmin (||c||^2 - 2 p.c): one small matmul per chunk.  All values are
    # integers below 2^24, so float32 is exact and ties resolve to the lowest index.
    bias = (pal**2).sum(axis=1)  # (K,)
    out = np.empty(flat.shape[0], dtype=np.uint8)
    for start in range(0, flat.shape[0], chunk):
        block = flat[start:start + chunk]
        score = bias[None, :] - 2.0 * (block @ pal.T)
        out[start:start + chunk] = ids[np.argmin(score, axis=1)]
    return out.reshape(rgb.shape[:-1])


_TRAIN_IDS = np.arange(NUM_CLASSES, dtype=np.uint8)


def nearest_palette(rgb: np.ndarray, include_void: bool = False,
                    chunk: int = 1 << 18) -> np.ndarray:
    """...x3 RGB (any numeric dtype, 0..255) -> ... uint8 train ids of the nearest colour.

    With ``include_void=False`` (photo -> label scoring) every pixel gets one of the 19 train
    ids.  With ``include_void=True`` the candidates are all 34 Cityscapes label colours and a
    pixel nearest to a void colour (black, parking, ground, ...) gets 255: use it to recover
    train ids from colour maps drawn with the full gtFine palette.
    """
    if include_void:
        return _nearest(rgb, _FULL_COLORS, _FULL_IDS, chunk)
    return _nearest(rgb, CLASS_COLORS, _TRAIN_IDS, chunk)
