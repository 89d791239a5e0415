"""Procedural city tiles: a synthetic stand-in for the maps <-> aerial photo task.

The paper's second task (CycleGAN Section 5.1, Table 1; data in Section 7.1) translates
Google Maps renderings to aerial photographs of the same place and back (pix2pix archive
``maps``: aerial left, map right).  This module draws one top-down city layout per tile and
renders it twice:

- the *map* (domain X): flat colours in the style of a web map: light land, white streets
  with grey casings, yellow/orange arterial roads, pale buildings, green parks, blue water;
- the *aerial photo* (domain Y): asphalt with lane markings and parked / moving cars, roofs
  of varied colour with a ridge and rooftop clutter, cast shadows from buildings and trees,
  grass and tree canopies in parks, water with ripples, plus exposure, colour cast, sensor
  noise and blur.

The layout: a slightly rotated street grid with irregular spacing (some arterials wider),
one diagonal avenue and sometimes a curved road, blocks split into lots with buildings,
parks and plazas, and sometimes a coastline or river with bridges.  Deterministic given the
``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

from cyclebench.datasets.synthetic_cityscapes import _grid, smooth_noise

GENERATOR_VERSION = "synthetic-maps/1"

LAND, ROAD, MAJOR, BUILDING, PARK, WATER, PLAZA = range(7)
AREA_NAMES = ("land", "road", "major_road", "building", "park", "water", "plaza")


def _lines(rng, lo, hi, extent, scale, p_major):
    """Grid line positions along one axis covering [-extent, extent], with widths."""
    start = -extent - rng.uniform(0, hi * scale)
    gaps = rng.uniform(lo, hi, 256) * scale
    pos = start + np.cumsum(gaps)
    pos = pos[pos < extent + hi * scale]
    major = rng.random(pos.size) < p_major
    width = np.where(major, rng.uniform(7, 10, pos.size), rng.uniform(3.5, 5.5, pos.size)) * scale
    return pos.astype(np.float32), width.astype(np.float32), major


def _nearest_line(coord, pos, width, major):
    """Per pixel: signed distance to the nearest grid line minus its half width, etc."""
    i = np.clip(np.searchsorted(pos, coord), 1, pos.size - 1)
    dl, dr = coord - pos[i - 1], pos[i] - coord
    left = dl - width[i - 1] / 2 < dr - width[i] / 2
    excess = np.where(left, dl - width[i - 1] / 2, dr - width[i] / 2)  # <0: on the road
    is_major = np.where(left, major[i - 1], major[i])
    frac = (coord - pos[i - 1]) / (pos[i] - pos[i - 1])
    return excess, is_major, i, frac


class MapLayout:
    """Area map (LAND..PLAZA), plus per-pixel block / lot indices and road geometry."""

    def __init__(self, rng: np.random.Generator, h: int, w: int):
        self.h, self.w = h, w
        scale = min(h, w) / 256.0
        self.scale = scale
        yy, xx = _grid(h, w)
        cy, cx = h / 2, w / 2
        ang = rng.uniform(-0.45, 0.45) if rng.random() < 0.6 else rng.uniform(-0.05, 0.05)
        ca, sa = np.cos(ang), np.sin(ang)
        u = (xx - cx) * ca + (yy - cy) * sa
        v = -(xx - cx) * sa + (yy - cy) * ca
        ext = 0.75 * max(h, w)
        pu = _lines(rng, 30, 70, ext, scale, 0.2)
        pv = _lines(rng, 30, 90, ext, scale, 0.2)
        eu, mu, iu, fu = _nearest_line(u, *pu)
        ev, mv, iv, fv = _nearest_line(v, *pv)
        road = (eu < 0) | (ev < 0)
        major = ((eu < 0) & mu) | ((ev < 0) & mv)
        casing = ~road & ((eu < 1.2 * scale) | (ev < 1.2 * scale))
        casing_major = casing & (((eu < 1.2 * scale) & mu) | ((ev < 1.2 * scale) & mv))
        # along-road coordinate (for lane dashes and cars)
        along = np.where(eu < ev, v, u)
        across = np.where(eu < ev, eu, ev)
        # a diagonal avenue and sometimes a curved road
        extra = []
        a2 = ang + rng.uniform(0.5, 1.0) * rng.choice([-1, 1])
        off = rng.uniform(-0.3, 0.3) * min(h, w)
        extra.append(((xx - cx) * np.cos(a2) + (yy - cy) * np.sin(a2), # along
                      -(xx - cx) * np.sin(a2) + (yy - cy) * np.cos(a2) - off, 8 * scale))
        if rng.random() < 0.5:
            a3 = rng.uniform(0, np.pi)
            s3 = (xx - cx) * np.cos(a3) + (yy - cy) * np.sin(a3)
            t3 = -(xx - cx) * np.sin(a3) + (yy - cy) * np.cos(a3)
            amp, per = rng.uniform(0.1, 0.3) * min(h, w), rng.uniform(0.5, 1.2) * max(h, w)
            t3 = t3 - amp * np.sin(2 * np.pi * s3 / per + rng.uniform(0, 6.3))
            extra.append((s3, t3 - rng.uniform(-0.2, 0.2) * min(h, w), 6 * scale))
        for s_al, dist, width in extra:
            e = np.abs(dist) - width / 2
            on = e < 0
            road |= on
            major |= on
            casing |= (e >= 0) & (e < 1.2 * scale)
            casing_major |= (e >= 0) & (e < 1.2 * scale)
            closer = on | (e < across)
            along = np.where(closer, s_al, along)
            across = np.where(closer, e, across)
        casing &= ~road

        # blocks -> lots -> buildings / parks / plazas
        nbu, nbv = pu[0].size + 1, pv[0].size + 1
        bkind = rng.choice(3, size=(nbu, nbv), p=[0.74, 0.17, 0.09])  # buildings, park, plaza
        nlu = rng.integers(1, 4, size=(nbu, nbv))
        nlv = rng.integers(1, 4, size=(nbu, nbv))
        bkind_px = bkind[iu, iv]
        lu = np.minimum((fu * nlu[iu, iv]).astype(np.int32), 2)
        lv = np.minimum((fv * nlv[iu, iv]).astype(np.int32), 2)
        gu = fu * nlu[iu, iv] - lu  # position inside the lot, 0..1
        gv = fv * nlv[iu, iv] - lv
        margins = rng.uniform(0.06, 0.3, size=(nbu, nbv, 3, 3, 4)).astype(np.float32)
        mg = margins[iu, iv, lu, lv]
        present = rng.random((nbu, nbv, 3, 3)) < 0.88
        inside = (gu > mg[..., 0]) & (gu < 1 - mg[..., 1]) & (gv > mg[..., 2]) & \
                 (gv < 1 - mg[..., 3]) & present[iu, iv, lu, lv]
        self.lot_id = ((iu * nbv + iv) * 9 + lu * 3 + lv).astype(np.int32)
        self.n_lots = nbu * nbv * 9
        self.lot_u, self.lot_v = gu, gv

        area = np.full((h, w), LAND, dtype=np.uint8)
        area[(bkind_px == 0) & inside] = BUILDING
        area[bkind_px == 1] = PARK
        area[bkind_px == 2] = PLAZA
        area[casing] = LAND
        # water: a coastline or a river, with bridges for major roads
        self.has_water = rng.random() < 0.4
        if self.has_water:
            coarse = smooth_noise(rng, h, w, 48 * scale + 2) * 12 * scale
            a4 = rng.uniform(0, 2 * np.pi)
            d = (xx - cx) * np.cos(a4) + (yy - cy) * np.sin(a4) + coarse
            if rng.random() < 0.5:
                water = d > rng.uniform(-0.2, 0.35) * min(h, w)
            else:
                water = np.abs(d - rng.uniform(-0.25, 0.25) * min(h, w)) < \
                    rng.uniform(0.08, 0.2) * min(h, w)
            area[water] = WATER
            keep = road & major
            road &= ~water | keep
            casing &= ~water | casing_major
        else:
            water = np.zeros((h, w), bool)
        area[road] = ROAD
        area[road & major] = MAJOR
        self.area = area
        self.casing = casing
        self.casing_major = casing_major & casing
        self.along, self.across = along, across
        self.block_kind = bkind_px
        self.bridge = road & water


def _render_map(lay: MapLayout, rng: np.random.Generator) -> np.ndarray:
    pal = np.array([
        (0.93, 0.92, 0.89),  # land
        (1.0, 1.0, 1.0),  # road
        (0.99, 0.87, 0.55),  # major road
        (0.88, 0.87, 0.84),  # building
        (0.78, 0.91, 0.73),  # park
        (0.67, 0.84, 0.99),  # water
        (0.96, 0.95, 0.93),  # plaza
    ], dtype=np.float32)
    # small variations between tiles (map style versions), flat within a tile
    pal = np.clip(pal + rng.uniform(-0.015, 0.015, (7, 1)).astype(np.float32), 0, 1)
    col = pal[lay.area]
    col[lay.casing] = (0.8, 0.79, 0.77)
    col[lay.casing_major] = (0.93, 0.68, 0.36)
    img = np.clip(col * 255 + 0.5, 0, 255).astype(np.uint8)
    return img


def _render_aerial(lay: MapLayout, rng: np.random.Generator) -> np.ndarray:
    h, w, scale = lay.h, lay.w, lay.scale
    area = lay.area
    fine = rng.standard_normal((h, w), dtype=np.float32)
    mid = smooth_noise(rng, h, w, 2.5 * scale + 1)
    coarse = smooth_noise(rng, h, w, 24 * scale + 2)
    col = np.empty((h, w, 3), np.float32)
    land = np.array([0.5, 0.5, 0.4], np.float32) * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    col[:] = land
    gain = 1 + 0.08 * fine + 0.1 * mid + 0.1 * coarse

    # roads: asphalt, dashed centre lines on major roads, cars
    road = (area == ROAD) | (area == MAJOR)
    asphalt = np.float32(rng.uniform(0.2, 0.33))
    col[road] = asphalt
    col[lay.casing] = np.float32(rng.uniform(0.55, 0.7))  # sidewalks / curbs along the roads
    dash = ((lay.along / (6 * scale)) % 1.0 < 0.5) & (np.abs(lay.across + 4 * scale) < 0.6 * scale)
    col[(area == MAJOR) & dash] = (0.75, 0.72, 0.55)
    # cars: short dark/bright rectangles along the roads
    cell = np.floor(lay.along / (5 * scale)).astype(np.int64)
    lane = np.floor((lay.across + 20 * scale) / (2 * scale)).astype(np.int64)
    hsh = (cell * 73856093) ^ (lane * 19349663) ^ int(rng.integers(1 << 30))
    hsh = (hsh * 2654435761) % 4096
    car = road & (hsh < 140) & ((lay.along / (5 * scale)) % 1.0 < 0.7)
    car_cols = np.array([(0.9, 0.9, 0.9), (0.1, 0.1, 0.1), (0.6, 0.1, 0.1), (0.2, 0.3, 0.6),
                         (0.6, 0.6, 0.6)], np.float32)
    col[car] = car_cols[hsh[car] % 5]

    # buildings: roofs per lot, a ridge, rooftop clutter, shadows
    roof_pal = np.array([(0.55, 0.55, 0.55), (0.75, 0.74, 0.72), (0.5, 0.3, 0.25),
                         (0.3, 0.3, 0.32), (0.85, 0.85, 0.83), (0.45, 0.42, 0.38)], np.float32)
    lot_col = roof_pal[rng.integers(0, len(roof_pal), lay.n_lots)] * \
        rng.uniform(0.85, 1.15, (lay.n_lots, 1)).astype(np.float32)
    lot_h = rng.uniform(1.0, 6.0, lay.n_lots).astype(np.float32) * scale  # shadow length (px)
    bld = area == BUILDING
    col[bld] = lot_col[lay.lot_id[bld]]
    ridge = np.where(lay.lot_u < 0.5, 0.85, 1.05).astype(np.float32)
    gain = np.where(bld, (1 + 0.03 * fine) * ridge * np.where(mid > 1.6, 0.7, 1.0), gain)
    # cast shadows: the building mask shifted along the sun direction
    sun = rng.uniform(0, 2 * np.pi)
    dy, dx = np.sin(sun), np.cos(sun)
    shadow = np.zeros((h, w), bool)
    for k in (0.5, 1.0, 1.6, 2.4):
        oy, ox = int(round(dy * k * 2 * scale)), int(round(dx * k * 2 * scale))
        src = bld & (lot_h[lay.lot_id] >= k * 2 * scale)
        shadow |= _shift(src, oy, ox)
    # parks: grass with tree canopies; trees along some streets
    park = area == PARK
    grass = np.array([0.35, 0.45, 0.25], np.float32) * rng.uniform(0.85, 1.15, 3).astype(np.float32)
    col[park] = grass
    trees = (park & (mid + 0.5 * coarse > 0.2)) | ((area == LAND) & (mid > 1.3))
    canopy = np.array([0.16, 0.26, 0.12], np.float32) * rng.uniform(0.8, 1.2)
    col[trees] = canopy
    gain = np.where(trees, 1 + 0.25 * fine + 0.35 * mid, gain)
    tree_sh = _shift(trees, int(round(dy * 3 * scale)), int(round(dx * 3 * scale)))
    shadow |= tree_sh & ~trees
    shadow &= ~bld
    plaza = area == PLAZA
    col[plaza] = np.float32(rng.uniform(0.55, 0.7))
    tiles = ((lay.along / (3 * scale)) % 1.0 < 0.1)
    gain = np.where(plaza & tiles, 0.9, gain)
    # water: dark, smooth, ripples
    water = area == WATER
    wcol = np.array([0.12, 0.22, 0.27], np.float32) * rng.uniform(0.8, 1.3, 3).astype(np.float32)
    col[water] = wcol
    gain = np.where(water, 1 + 0.04 * fine + 0.15 * coarse + 0.05 * np.sin(mid * 6), gain)
    shadow &= ~water
    gain = np.where(shadow, gain * 0.5, gain)
    col *= gain[..., None]

    exposure = rng.uniform(0.8, 1.2)
    cast = rng.uniform(0.92, 1.08, 3).astype(np.float32)
    col = col * np.float32(exposure) * cast + \
        rng.standard_normal(col.shape, dtype=np.float32) * np.float32(rng.uniform(0.01, 0.03))
    img = np.clip(col * 255 + 0.5, 0, 255).astype(np.uint8)
    radius = rng.uniform(0.3, 0.8) * max(scale, 0.25)
    return np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(radius)))


def _shift(mask: np.ndarray, oy: int, ox: int) -> np.ndarray:
    out = np.zeros_like(mask)
    h, w = mask.shape
    ys, yd = (slice(0, h - oy), slice(oy, h)) if oy >= 0 else (slice(-oy, h), slice(0, h + oy))
    xs, xd = (slice(0, w - ox), slice(ox, w)) if ox >= 0 else (slice(-ox, w), slice(0, w + ox))
    out[yd, xd] = mask[ys, xs]
    return out


def render_tile(rng: np.random.Generator, full_size=(256, 256)):
    """One tile at ``full_size`` (H, W): (map HxWx3 uint8, aerial photo HxWx3 uint8)."""
    h, w = int(full_size[0]), int(full_size[1])
    if h < 16 or w < 16:
        raise ValueError(f"full_size must be at least 16x16, got {full_size}")
    lay = MapLayout(rng, h, w)
    return _render_map(lay, rng), _render_aerial(lay, rng)
