"""Procedural street scenes: a synthetic stand-in for Cityscapes labels <-> photo.

The paper's first task (CycleGAN Section 5.1, Cityscapes; data in Section 7.1) translates
semantic label maps of street scenes (19 train classes, official colours) to photos and back.
The real data needs a registered account, so the embedded default profile uses this generator.

Each scene is a forward-looking street view with perspective: a road converging to a
vanishing point, sidewalks and grass strips, façades (buildings, vegetation, walls, fences)
whose tops follow the perspective, a far skyline, and objects standing on the ground and
scaled with their depth: cars, trucks, buses, trams (train), pedestrians, cyclists and
motorcyclists (rider + bicycle / motorcycle), parked bicycles, trees, poles with traffic signs
and traffic lights, and sometimes the ego vehicle's bonnet (ignore, 255).

The paired "photo" is rendered from the same geometry with per-instance colours drawn from
*overlapping* per-class distributions (grey road, grey buildings, grey cars, grey poles...),
per-class textures (lane markings, paving joints, windows in perspective, foliage, cloud,
car windows and wheels, clothing), lighting (exposure, white balance, façade and ground
shadows, contact shadows), sensor noise and blur.  A pixel's colour alone therefore does not
identify its class; the texture and the context do, so label -> photo and photo -> label are
learnable but not trivial.

Everything is deterministic given the ``numpy.random.Generator`` passed in; the dataset
writer derives one generator per image from ``(seed, split, index)``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageFilter

from cyclebench.datasets.palette import CLASS_IDS, IGNORE_ID

ROAD, SIDEWALK, BUILDING, WALL, FENCE = (CLASS_IDS[n] for n in
                                         ("road", "sidewalk", "building", "wall", "fence"))
POLE, LIGHT, SIGN = CLASS_IDS["pole"], CLASS_IDS["traffic light"], CLASS_IDS["traffic sign"]
VEG, TERRAIN, SKY = CLASS_IDS["vegetation"], CLASS_IDS["terrain"], CLASS_IDS["sky"]
PERSON, RIDER, CAR, TRUCK = (CLASS_IDS[n] for n in ("person", "rider", "car", "truck"))
BUS, TRAIN, MOTO, BIKE = (CLASS_IDS[n] for n in ("bus", "train", "motorcycle", "bicycle"))
EGO = IGNORE_ID

GENERATOR_VERSION = "synthetic-cityscapes/1"

# Photo styles: how an instance's pixels are textured (independent of its class id so that
# e.g. a tree trunk and a hedge share the foliage style).
(ST_FLAT, ST_ROAD, ST_SIDEWALK, ST_FACADE, ST_FOLIAGE, ST_TERRAIN, ST_SKY, ST_VEHICLE,
 ST_BOXVEH, ST_PERSON, ST_POLE, ST_SIGN, ST_LIGHT, ST_FENCE, ST_WALL, ST_WHEELED,
 ST_EGO) = range(17)
N_STYLES = 17


@lru_cache(maxsize=8)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy.setflags(write=False)
    xx.setflags(write=False)
    return yy, xx


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Value noise with features of about ``cell`` pixels, unit-ish variance, float32 HxW."""
    gh, gw = max(2, int(np.ceil(h / cell)) + 1), max(2, int(np.ceil(w / cell)) + 1)
    small = rng.standard_normal((gh, gw), dtype=np.float32)
    img = Image.fromarray(small, mode="F").resize((w, h), Image.Resampling.BICUBIC)
    return np.asarray(img)


# ---------------------------------------------------------------------------------------------
# colour distributions (RGB in [0, 1]); deliberately overlapping between classes
def _grey(rng, lo, hi, tint=0.03):
    g = rng.uniform(lo, hi)
    return np.clip(g + rng.uniform(-tint, tint, 3), 0, 1)


def _pick(rng, options, jitter=0.06):
    c = np.array(options[rng.integers(len(options))], dtype=np.float64)
    return np.clip(c * rng.uniform(1 - jitter, 1 + jitter) + rng.uniform(-jitter, jitter, 3) / 2,
                   0, 1)


_VEHICLE_PAINT = [(0.9, 0.9, 0.9), (0.7, 0.7, 0.72), (0.45, 0.46, 0.48), (0.12, 0.12, 0.13),
                  (0.6, 0.1, 0.1), (0.15, 0.22, 0.5), (0.2, 0.3, 0.25), (0.55, 0.5, 0.4),
                  (0.3, 0.3, 0.32), (0.8, 0.75, 0.6)]
_FACADE = [(0.75, 0.7, 0.6), (0.6, 0.35, 0.28), (0.85, 0.84, 0.8), (0.55, 0.55, 0.55),
           (0.4, 0.4, 0.42), (0.8, 0.72, 0.5), (0.65, 0.6, 0.55), (0.3, 0.3, 0.3),
           (0.7, 0.55, 0.45), (0.5, 0.55, 0.6)]
_CLOTHES = [(0.1, 0.1, 0.12), (0.2, 0.2, 0.3), (0.5, 0.1, 0.1), (0.15, 0.3, 0.55),
            (0.8, 0.8, 0.78), (0.45, 0.4, 0.3), (0.3, 0.45, 0.3), (0.6, 0.6, 0.62),
            (0.7, 0.5, 0.2), (0.35, 0.2, 0.35)]
_SIGN = [(0.8, 0.12, 0.1), (0.12, 0.3, 0.7), (0.92, 0.8, 0.15), (0.9, 0.9, 0.9)]
_TRAM = [(0.85, 0.85, 0.82), (0.75, 0.15, 0.12), (0.9, 0.75, 0.2), (0.2, 0.35, 0.6)]
_BUS = [(0.9, 0.8, 0.2), (0.9, 0.9, 0.88), (0.2, 0.35, 0.65), (0.7, 0.15, 0.12)]


def _colour(rng: np.random.Generator, style: int) -> np.ndarray:
    if style == ST_ROAD:
        return _grey(rng, 0.25, 0.5)
    if style == ST_SIDEWALK:
        if rng.random() < 0.3:
            return _pick(rng, [(0.6, 0.45, 0.42), (0.65, 0.6, 0.5)])
        return _grey(rng, 0.4, 0.72)
    if style == ST_FACADE:
        return _pick(rng, _FACADE, 0.12)
    if style == ST_FOLIAGE:
        return _pick(rng, [(0.22, 0.38, 0.14), (0.3, 0.45, 0.2), (0.16, 0.28, 0.12),
                           (0.45, 0.42, 0.18), (0.35, 0.5, 0.3)], 0.15)
    if style == ST_TERRAIN:
        return _pick(rng, [(0.4, 0.52, 0.25), (0.5, 0.45, 0.32), (0.35, 0.45, 0.28),
                           (0.55, 0.55, 0.35)], 0.12)
    if style == ST_SKY:
        if rng.random() < 0.4:
            return _grey(rng, 0.7, 0.9, 0.02)
        return _pick(rng, [(0.5, 0.65, 0.88), (0.6, 0.72, 0.9), (0.45, 0.6, 0.8)], 0.08)
    if style in (ST_VEHICLE, ST_WHEELED):
        return _pick(rng, _VEHICLE_PAINT, 0.1)
    if style == ST_BOXVEH:
        return _pick(rng, _BUS + _TRAM + _VEHICLE_PAINT[:3], 0.1)
    if style == ST_PERSON:
        return _pick(rng, _CLOTHES, 0.15)
    if style == ST_POLE:
        return _pick(rng, [(0.5, 0.5, 0.5), (0.35, 0.36, 0.38), (0.2, 0.25, 0.2),
                           (0.6, 0.6, 0.6)], 0.1)
    if style == ST_SIGN:
        return _pick(rng, _SIGN, 0.08)
    if style == ST_LIGHT:
        return _grey(rng, 0.08, 0.25)
    if style == ST_FENCE:
        return _pick(rng, [(0.4, 0.4, 0.42), (0.25, 0.3, 0.25), (0.45, 0.35, 0.25),
                           (0.6, 0.6, 0.6)], 0.1)
    if style == ST_WALL:
        return _pick(rng, [(0.6, 0.6, 0.58), (0.7, 0.65, 0.55), (0.45, 0.45, 0.45),
                           (0.55, 0.4, 0.35)], 0.1)
    if style == ST_EGO:
        return _grey(rng, 0.05, 0.3)
    return _grey(rng, 0.2, 0.8)


# ---------------------------------------------------------------------------------------------
class _Scene:
    """Label map + instance map under construction, plus one record per instance."""

    def __init__(self, rng: np.random.Generator, h: int, w: int):
        self.rng, self.h, self.w = rng, h, w
        self.label = np.full((h, w), SKY, dtype=np.uint8)
        self.inst = np.zeros((h, w), dtype=np.int32)
        # per instance: style, colour(3), top, left, height, width, param
        self.style: list[int] = []
        self.colour: list[np.ndarray] = []
        self.box: list[tuple[float, float, float, float]] = []
        self.param: list[float] = []
        self.contact_shadows: list[tuple[float, float, float, float]] = []
        self.new(ST_SKY, (0, 0, h, w))

    def new(self, style, box, colour=None, param=0.0) -> int:
        self.style.append(style)
        self.colour.append(_colour(self.rng, style) if colour is None else np.asarray(colour))
        self.box.append(tuple(float(v) for v in box))
        self.param.append(float(param))
        return len(self.style) - 1

    # --- primitives (clipped to the image; only the bounding box is touched) ----------------
    def _window(self, top, bottom, left, right):
        t, b = max(int(np.floor(top)), 0), min(int(np.ceil(bottom)), self.h)
        l, r = max(int(np.floor(left)), 0), min(int(np.ceil(right)), self.w)
        if b <= t or r <= l:
            return None
        return slice(t, b), slice(l, r)

    def _put(self, win, mask, cls, iid):
        if win is None:
            return
        lab, ins = self.label[win], self.inst[win]
        if mask is None:
            lab[...] = cls
            ins[...] = iid
        else:
            lab[mask] = cls
            ins[mask] = iid

    def rect(self, top, bottom, left, right, cls, iid):
        # at least one pixel wide/high so that far objects do not vanish
        if right - left < 1:
            c = (left + right) / 2
            left, right = c - 0.5, c + 0.5
        if bottom - top < 1:
            c = (top + bottom) / 2
            top, bottom = c - 0.5, c + 0.5
        self._put(self._window(top, bottom, left, right), None, cls, iid)

    def ellipse(self, cy, cx, ry, rx, cls, iid, ring: float = 0.0):
        ry, rx = max(ry, 0.6), max(rx, 0.6)
        win = self._window(cy - ry, cy + ry + 1, cx - rx, cx + rx + 1)
        if win is None:
            return
        yy, xx = _grid(self.h, self.w)
        d = ((yy[win] + 0.5 - cy) / ry) ** 2 + ((xx[win] + 0.5 - cx) / rx) ** 2
        mask = d <= 1.0
        if ring > 0:
            mask &= d >= (1.0 - ring) ** 2
        self._put(win, mask, cls, iid)

    def trapezoid(self, top, bottom, cx, half_top, half_bottom, cls, iid):
        win = self._window(top, bottom, cx - max(half_top, half_bottom),
                           cx + max(half_top, half_bottom))
        if win is None:
            return
        yy, xx = _grid(self.h, self.w)
        f = np.clip((yy[win] + 0.5 - top) / max(bottom - top, 1e-3), 0, 1)
        half = half_top + (half_bottom - half_top) * f
        self._put(win, np.abs(xx[win] + 0.5 - cx) <= np.maximum(half, 0.5), cls, iid)

    def line(self, y0, x0, y1, x1, width, cls, iid):
        win = self._window(min(y0, y1) - width, max(y0, y1) + width + 1,
                           min(x0, x1) - width, max(x0, x1) + width + 1)
        if win is None:
            return
        yy, xx = _grid(self.h, self.w)
        py, px = yy[win] + 0.5 - y0, xx[win] + 0.5 - x0
        dy, dx = y1 - y0, x1 - x0
        n2 = max(dy * dy + dx * dx, 1e-6)
        s = np.clip((py * dy + px * dx) / n2, 0, 1)
        d2 = (py - s * dy) ** 2 + (px - s * dx) ** 2
        self._put(win, d2 <= max(width / 2, 0.5) ** 2, cls, iid)


class _Street:
    """Camera and street geometry: ground point (s metres lateral, depth t) -> pixel."""

    def __init__(self, rng: np.random.Generator, h: int, w: int):
        self.h, self.w = h, w
        self.y_h = h * rng.uniform(0.36, 0.48)  # horizon row
        self.G = h - self.y_h  # ground rows
        self.x_v = w * rng.uniform(0.4, 0.6)  # vanishing point column
        self.road_half = rng.uniform(4.5, 8.0)  # metres from the centre line to the curb
        self.ppm = w * rng.uniform(0.32, 0.55) / self.road_half  # pixels per metre at t = 1
        self.side = {}
        for sgn in (-1, 1):
            sw = rng.uniform(1.8, 4.5)
            te = rng.uniform(1.0, 4.0) if rng.random() < 0.35 else 0.0
            self.side[sgn] = dict(sw=sw, te=te, facade=self.road_half + sw + te)

    def px(self, s: float, t: float) -> tuple[float, float]:
        """(row, column) of the ground point at lateral offset s (m) and depth parameter t."""
        return self.y_h + t * self.G, self.x_v + s * self.ppm * t

    def scale(self, t: float) -> float:
        return self.ppm * t  # pixels per metre at depth t


def _facades(sc: _Scene, st: _Street, rng: np.random.Generator):
    """Buildings / vegetation / walls / fences along both sides, and the far skyline."""
    h, w = sc.h, sc.w
    xs = np.arange(w, dtype=np.float32) + 0.5
    # far skyline just above the horizon (buildings, some trees)
    edges = np.cumsum(rng.uniform(0.01, 0.05, 64) * w)
    edges = edges[edges < w]
    seg = np.searchsorted(edges, xs)
    nseg = len(edges) + 1
    heights = rng.uniform(0.0, 0.16, nseg) * h * (rng.random(nseg) < 0.85)
    kinds = rng.random(nseg) < 0.8  # building else vegetation
    ids = np.array([sc.new(ST_FACADE if k else ST_FOLIAGE, (st.y_h - hh, 0, max(hh, 1), w),
                           param=rng.uniform(0.5, 1.5)) for k, hh in zip(kinds, heights)])
    sc.skyline = set(ids.tolist())
    yy, _ = _grid(h, w)
    top = st.y_h - heights[seg]
    mask = (yy >= top[None, :]) & (yy < st.y_h + 1)
    cls = np.where(kinds, BUILDING, VEG).astype(np.uint8)[seg]
    sc.label[mask] = np.broadcast_to(cls[None, :], (h, w))[mask]
    sc.inst[mask] = np.broadcast_to(ids[seg][None, :], (h, w))[mask]

    st.facade_cols = {}
    for sgn in (-1, 1):
        fac = st.side[sgn]["facade"]
        cols = xs[xs < st.x_v] if sgn < 0 else xs[xs >= st.x_v]
        if cols.size == 0:
            continue
        t = np.abs(cols - st.x_v) / (fac * st.ppm)  # depth parameter of the façade column
        t = np.maximum(t, 1e-4)
        z = 1.0 / t
        # façade segments along the street (in z = 1/t units, about 4-5 m each unit)
        bounds = np.cumsum(rng.uniform(1.0, 4.0, 400))
        bounds = bounds[bounds < 80]
        nb = len(bounds) + 1
        segi = np.searchsorted(bounds, z)
        kind = rng.choice(3, size=nb, p=[0.68, 0.2, 0.12])  # building, vegetation, open
        height_m = np.where(kind == 0, rng.uniform(6, 28, nb), rng.uniform(4, 11, nb))
        front = rng.choice(3, size=nb, p=[0.72, 0.14, 0.14])  # none, wall, fence
        front_h = rng.uniform(0.9, 2.4, nb)
        ground = st.y_h + t * st.G
        pxm = t * st.ppm
        top = ground - height_m[segi] * pxm
        # tree crowns are not flat: bumpy tops for vegetation segments
        bumps = np.abs(np.sin(cols * rng.uniform(0.15, 0.4) + rng.uniform(0, 6.3))) * 1.5
        top = top - np.where(kind[segi] == 1, bumps * pxm, 0.0)
        seg_ids = np.zeros(nb, dtype=np.int64)
        fr_ids = np.zeros(nb, dtype=np.int64)
        for i in range(nb):
            if kind[i] != 2:
                sty = ST_FACADE if kind[i] == 0 else ST_FOLIAGE
                seg_ids[i] = sc.new(sty, (0, 0, 1, 1), param=rng.uniform(0.6, 1.6))
            if front[i]:
                fr_ids[i] = sc.new(ST_WALL if front[i] == 1 else ST_FENCE, (0, 0, 1, 1),
                                   param=rng.uniform(0.5, 1.5))
        c0, c1 = int(cols[0]), int(cols[-1]) + 1
        sub_y = yy[:, c0:c1]
        k = kind[segi]
        in_f = (sub_y >= top[None, :]) & (sub_y < ground[None, :]) & (k != 2)[None, :]
        cls = np.where(k == 0, BUILDING, VEG).astype(np.uint8)
        lab, ins = sc.label[:, c0:c1], sc.inst[:, c0:c1]
        lab[in_f] = np.broadcast_to(cls[None, :], lab.shape)[in_f]
        ins[in_f] = np.broadcast_to(seg_ids[segi][None, :], ins.shape)[in_f]
        ftop = ground - front_h[segi] * pxm
        fr = front[segi]
        in_w = (sub_y >= ftop[None, :]) & (sub_y < ground[None, :]) & (fr != 0)[None, :]
        fcls = np.where(fr == 1, WALL, FENCE).astype(np.uint8)
        lab[in_w] = np.broadcast_to(fcls[None, :], lab.shape)[in_w]
        ins[in_w] = np.broadcast_to(fr_ids[segi][None, :], ins.shape)[in_w]
        st.facade_cols[sgn] = dict(c0=c0, c1=c1, t=t, z=z, ground=ground, bounds=bounds,
                                   kind=kind, height_m=height_m)


def _ground(sc: _Scene, st: _Street):
    """Road, sidewalks and grass strips below the façades (perspective ground plane)."""
    h, w = sc.h, sc.w
    r0 = int(np.ceil(st.y_h))
    yy, xx = _grid(h, w)
    gy, gx = yy[r0:], xx[r0:]
    t = np.maximum((gy + 0.5 - st.y_h) / st.G, 1e-4)
    s = (gx + 0.5 - st.x_v) / (st.ppm * t)
    lab, ins = sc.label[r0:], sc.inst[r0:]
    road_id = sc.new(ST_ROAD, (st.y_h, 0, st.G, w), param=sc.rng.uniform(0, 1))
    st.road_id = road_id
    area = np.zeros(s.shape, dtype=np.int8)  # 0 facade/unchanged, 1 road, 2 sidewalk, 3 terrain
    for sgn in (-1, 1):
        sd = st.side[sgn]
        ss = s * sgn
        onside = ss >= 0
        area[onside & (ss < st.road_half)] = 1
        area[onside & (ss >= st.road_half) & (ss < st.road_half + sd["sw"])] = 2
        area[onside & (ss >= st.road_half + sd["sw"]) & (ss < sd["facade"])] = 3
    for sgn in (-1, 1):
        onside = (s * sgn) >= 0
        sw_id = sc.new(ST_SIDEWALK, (st.y_h, 0, st.G, w), param=sc.rng.uniform(0.6, 1.4))
        te_id = sc.new(ST_TERRAIN, (st.y_h, 0, st.G, w), param=sc.rng.uniform(0.6, 1.4))
        m = onside & (area == 2)
        lab[m], ins[m] = SIDEWALK, sw_id
        m = onside & (area == 3)
        lab[m], ins[m] = TERRAIN, te_id
    m = area == 1
    lab[m], ins[m] = ROAD, road_id


def _vehicle(sc, st, s, t, kind, rng):
    k = st.scale(t)
    by, bx = st.px(s, t)
    if kind == CAR:
        wm, hm, style = rng.uniform(1.65, 1.95), rng.uniform(1.35, 1.6), ST_VEHICLE
    elif kind == TRUCK:
        wm, hm, style = rng.uniform(2.3, 2.6), rng.uniform(2.8, 3.8), ST_BOXVEH
    elif kind == BUS:
        wm, hm, style = 2.55, rng.uniform(3.0, 3.4), ST_BOXVEH
    else:  # TRAIN (tram)
        wm, hm, style = 2.65, rng.uniform(3.3, 3.7), ST_BOXVEH
    W, H = wm * k, hm * k
    top, left = by - H, bx - W / 2
    param = {CAR: 0.0, TRUCK: 1.0, BUS: 2.0, TRAIN: 3.0}[kind]
    iid = sc.new(style, (top, left, H, W), param=param)
    if kind == CAR:
        cab = top + 0.42 * H
        sc.trapezoid(top, cab, bx, 0.32 * W, 0.45 * W, CAR, iid)
        sc.rect(cab, by - 0.1 * H, left, left + W, CAR, iid)
        for wx in (left + 0.05 * W, left + 0.78 * W):
            sc.rect(by - 0.12 * H, by, wx, wx + 0.17 * W, CAR, iid)
    else:
        sc.rect(top, by - 0.08 * H, left, left + W, kind, iid)
        for wx in (left + 0.04 * W, left + 0.8 * W):
            sc.rect(by - 0.1 * H, by, wx, wx + 0.16 * W, kind, iid)
        if kind == TRAIN:  # pantograph
            sc.line(top, bx - 0.2 * W, top - 0.35 * H, bx + 0.1 * W, max(1, 0.03 * W), TRAIN, iid)
    sc.contact_shadows.append((by - 0.03 * H, left - 0.05 * W, 0.1 * H + 1, 1.1 * W))


def _person(sc, st, s, t, rng, cls=PERSON, base=0.0):
    """A standing person (or a rider's upper body when base > 0 metres above the ground)."""
    k = st.scale(t)
    by, bx = st.px(s, t)
    hm = rng.uniform(1.55, 1.9)
    H = hm * k
    top = by - (base * k) - H if cls == PERSON else by - base * k - 0.95 * H
    iid = sc.new(ST_PERSON, (top, bx - 0.25 * k, (by - base * k) - top, 0.5 * k),
                 param=rng.uniform(0, 1))
    head_r = 0.11 * k
    sc.ellipse(top + head_r, bx, head_r * 1.1, head_r, cls, iid)
    tb = top + 2 * head_r
    if cls == PERSON:
        sc.trapezoid(tb, tb + 0.38 * H, bx, 0.18 * k, 0.22 * k, cls, iid)
        sc.rect(tb + 0.36 * H, by, bx - 0.17 * k, bx - 0.02 * k, cls, iid)
        sc.rect(tb + 0.36 * H, by, bx + 0.02 * k, bx + 0.17 * k, cls, iid)
        sc.contact_shadows.append((by - 0.02 * k, bx - 0.3 * k, 0.08 * k + 1, 0.6 * k))
    else:
        sc.trapezoid(tb, by - base * k + 0.1 * k, bx, 0.18 * k, 0.24 * k, cls, iid)
    return iid


def _two_wheeler(sc, st, s, t, kind, rng, facing):
    """Side view bicycle / motorcycle standing at (s, t); returns the saddle height (m)."""
    k = st.scale(t)
    by, bx = st.px(s, t)
    L = (1.7 if kind == BIKE else 2.0) * k
    r = (0.34 if kind == BIKE else 0.32) * k
    iid = sc.new(ST_WHEELED, (by - 1.1 * k, bx - L / 2, 1.1 * k, L), param=rng.uniform(0, 1))
    wheels = (bx - L / 2 + r, bx + L / 2 - r)
    lw = max(1.0, 0.05 * k)
    for cx in wheels:
        sc.ellipse(by - r, cx, r, r, kind, iid, ring=0.0 if kind == MOTO else max(0.18, lw / r))
    if kind == BIKE:
        sy = by - 0.95 * k
        sc.line(by - r, wheels[0], sy, bx - 0.1 * k * facing, lw, kind, iid)
        sc.line(by - r, wheels[1], sy, bx + 0.15 * k * facing, lw, kind, iid)
        sc.line(sy, bx - 0.25 * k, sy, bx + 0.3 * k, lw, kind, iid)
        sc.line(by - r, (wheels[0] + wheels[1]) / 2, sy, bx, lw, kind, iid)
        return 0.95
    sc.trapezoid(by - 0.95 * k, by - 0.3 * k, bx, 0.45 * k, 0.62 * k, kind, iid)
    return 0.8


def _pole(sc, st, s, t, rng):
    k = st.scale(t)
    by, bx = st.px(s, t)
    hm = rng.uniform(3.5, 8.0)
    top = by - hm * k
    iid = sc.new(ST_POLE, (top, bx - 0.1 * k, hm * k, 0.2 * k))
    sc.rect(top, by, bx - 0.09 * k, bx + 0.09 * k, POLE, iid)
    u = rng.random()
    if u < 0.45:  # traffic sign on the pole
        sid = sc.new(ST_SIGN, (top, bx - 0.4 * k, 0.8 * k, 0.8 * k), param=rng.integers(0, 3))
        cy = top + rng.uniform(0.4, 1.5) * k
        shape = rng.integers(3)
        r = rng.uniform(0.3, 0.45) * k
        if shape == 0:
            sc.ellipse(cy, bx, r, r, SIGN, sid)
        elif shape == 1:
            sc.rect(cy - r, cy + r, bx - r * 1.3, bx + r * 1.3, SIGN, sid)
        else:
            sc.trapezoid(cy - r, cy + r, bx, 0.1 * r, 1.1 * r, SIGN, sid)
        sc.box[sid] = (cy - r, bx - 1.3 * r, 2 * r, 2.6 * r)
    elif u < 0.8:  # traffic light
        lw, lh = rng.uniform(0.3, 0.42) * k, rng.uniform(0.8, 1.1) * k
        ly = top + rng.uniform(0.0, 1.0) * k
        lid = sc.new(ST_LIGHT, (ly, bx - lw / 2, lh, lw), param=rng.integers(0, 3))
        sc.rect(ly, ly + lh, bx - lw / 2, bx + lw / 2, LIGHT, lid)


def _tree(sc, st, s, t, rng):
    k = st.scale(t)
    by, bx = st.px(s, t)
    iid = sc.new(ST_FOLIAGE, (by - 8 * k, bx - 3 * k, 8 * k, 6 * k), param=rng.uniform(0.6, 1.6))
    trunk_h = rng.uniform(2.0, 3.5)
    sc.rect(by - trunk_h * k, by, bx - 0.14 * k, bx + 0.14 * k, VEG, iid)
    r = rng.uniform(1.6, 3.2)
    cy = by - (trunk_h + r * 0.8) * k
    for _ in range(3):
        sc.ellipse(cy + rng.uniform(-0.4, 0.4) * r * k, bx + rng.uniform(-0.5, 0.5) * r * k,
                   r * k * rng.uniform(0.7, 1.0), r * k * rng.uniform(0.7, 1.0), VEG, iid)
    sc.contact_shadows.append((by - 0.2 * k, bx - r * k, 0.5 * k + 1, 2 * r * k))


def _objects(sc: _Scene, st: _Street, rng: np.random.Generator):
    """Place every object on the ground plane and draw them from far to near."""
    rh = st.road_half
    todo: list[tuple[float, object]] = []  # (depth t, draw callable)

    def add(t, fn):
        todo.append((t, fn))

    t_lo = 0.06
    for _ in range(rng.poisson(3.5)):  # moving cars in lanes
        lane = rng.choice([-0.72, -0.25, 0.25, 0.72]) * rh
        t = rng.uniform(t_lo, 0.9)
        add(t, lambda s=lane, t=t: _vehicle(sc, st, s, t, CAR, rng))
    for sgn in (-1, 1):  # parked cars along the curbs
        for _ in range(rng.poisson(2.0)):
            t = rng.uniform(t_lo, 1.1)
            add(t, lambda s=sgn * (rh - 1.1), t=t: _vehicle(sc, st, s, t, CAR, rng))
    for kind, p in ((TRUCK, 0.45), (BUS, 0.4), (TRAIN, 0.25)):
        if rng.random() < p:
            s = (0.0 if kind == TRAIN else rng.choice([-0.55, 0.55])) * rh
            t = rng.uniform(t_lo, 0.75)
            add(t, lambda s=s, t=t, kind=kind: _vehicle(sc, st, s, t, kind, rng))
    for _ in range(rng.poisson(5.0)):  # pedestrians on the sidewalks
        sgn = rng.choice([-1, 1])
        sd = st.side[sgn]
        s = sgn * (rh + rng.uniform(0.3, max(0.4, sd["sw"] - 0.3)))
        t = rng.uniform(t_lo, 1.0)
        add(t, lambda s=s, t=t: _person(sc, st, s, t, rng))
    for _ in range(rng.poisson(1.2)):  # riders on bicycles / motorcycles
        kind = BIKE if rng.random() < 0.6 else MOTO
        sgn = rng.choice([-1, 1])
        s = sgn * (rh - rng.uniform(0.8, 2.0))
        t = rng.uniform(t_lo, 0.95)

        def rider(s=s, t=t, kind=kind, sgn=sgn):
            base = _two_wheeler(sc, st, s, t, kind, rng, facing=sgn)
            _person(sc, st, s, t, rng, cls=RIDER, base=base)
        add(t, rider)
    for _ in range(rng.poisson(1.0)):  # parked bicycles
        sgn = rng.choice([-1, 1])
        s = sgn * (rh + rng.uniform(0.3, st.side[sgn]["sw"]))
        t = rng.uniform(t_lo, 1.0)
        add(t, lambda s=s, t=t, sgn=sgn: _two_wheeler(sc, st, s, t, BIKE, rng, facing=sgn))
    for sgn in (-1, 1):  # poles with signs / lights at the curb, trees on the sidewalk
        for _ in range(rng.poisson(3.0)):
            t = rng.uniform(0.05, 1.2)
            add(t, lambda s=sgn * (rh + 0.35), t=t: _pole(sc, st, s, t, rng))
        for _ in range(rng.poisson(1.5)):
            t = rng.uniform(0.05, 1.0)
            s = sgn * (rh + st.side[sgn]["sw"] * rng.uniform(0.5, 0.9))
            add(t, lambda s=s, t=t: _tree(sc, st, s, t, rng))
    todo.sort(key=lambda it: it[0])
    for _, fn in todo:
        fn()


def _ego(sc: _Scene, rng: np.random.Generator):
    """The ego vehicle's bonnet at the bottom (Cityscapes labels it void: train id 255)."""
    h, w = sc.h, sc.w
    ht = h * rng.uniform(0.05, 0.11)
    iid = sc.new(ST_EGO, (h - ht, 0, ht, w))
    yy, xx = _grid(h, w)
    r0 = int(h - ht)
    rel = (xx[r0:] - w / 2) / (w * 0.75)
    mask = yy[r0:] >= h - ht * (1 - rel**2)
    sc.label[r0:][mask] = EGO
    sc.inst[r0:][mask] = iid


def make_layout(rng: np.random.Generator, full_size: tuple[int, int]):
    """Build the scene geometry; returns (scene, street)."""
    h, w = int(full_size[0]), int(full_size[1])
    if h < 16 or w < 16:
        raise ValueError(f"full_size must be at least 16x16, got {full_size}")
    sc = _Scene(rng, h, w)
    st = _Street(rng, h, w)
    _facades(sc, st, rng)
    _ground(sc, st)
    _objects(sc, st, rng)
    if rng.random() < 0.35:
        _ego(sc, rng)
    return sc, st


# Brightness modulation amplitude per style (fine, mid, coarse noise): a constant, built once.
_MOD_AMP = np.zeros((N_STYLES, 3), dtype=np.float32)
_MOD_AMP[ST_ROAD] = (0.05, 0.05, 0.08)
_MOD_AMP[ST_SIDEWALK] = (0.04, 0.04, 0.06)
_MOD_AMP[ST_FACADE] = (0.03, 0.03, 0.05)
_MOD_AMP[ST_FOLIAGE] = (0.12, 0.3, 0.15)
_MOD_AMP[ST_TERRAIN] = (0.1, 0.08, 0.12)
_MOD_AMP[ST_SKY] = (0.005, 0.01, 0.06)
_MOD_AMP[ST_VEHICLE] = (0.02, 0.02, 0.02)
_MOD_AMP[ST_BOXVEH] = (0.02, 0.02, 0.02)
_MOD_AMP[ST_PERSON] = (0.04, 0.06, 0.0)
_MOD_AMP[ST_WALL] = (0.05, 0.05, 0.06)
_MOD_AMP[ST_FENCE] = (0.03, 0.03, 0.03)
_MOD_AMP[ST_POLE] = (0.02, 0.02, 0.02)
_MOD_AMP[ST_WHEELED] = (0.03, 0.02, 0.0)


# ---------------------------------------------------------------------------------------------
def _render(sc: _Scene, st: _Street, rng: np.random.Generator) -> np.ndarray:
    h, w = sc.h, sc.w
    yy, xx = _grid(h, w)
    n = len(sc.style)
    style = np.array(sc.style, dtype=np.int16)
    colour = np.stack(sc.colour).astype(np.float32)
    box = np.array(sc.box, dtype=np.float32)
    param = np.array(sc.param, dtype=np.float32)
    I, L = sc.inst, sc.label
    S = style[I]
    col = colour[I]  # HxWx3 base colour
    scale = h / 256.0

    # per-instance relative coordinates (u across, v down) inside the bounding box
    u = (xx - box[I, 1]) / np.maximum(box[I, 3], 1.0)
    v = (yy - box[I, 0]) / np.maximum(box[I, 2], 1.0)

    fine = rng.standard_normal((h, w), dtype=np.float32)
    mid = smooth_noise(rng, h, w, 3.0 * scale + 1)
    coarse = smooth_noise(rng, h, w, 20.0 * scale + 2)
    a = _MOD_AMP[S]
    gain = 1.0 + a[..., 0] * fine + a[..., 1] * mid + a[..., 2] * coarse

    def where(style_id):
        return S == style_id

    # --- road: asphalt, dashed centre line, lane lines, darker tyre tracks --------------------
    t_g = np.maximum((yy + 0.5 - st.y_h) / st.G, 1e-3)
    s_g = (xx + 0.5 - st.x_v) / (st.ppm * t_g)
    m = where(ST_ROAD)
    if m.any():
        s, z = s_g[m], 1.0 / t_g[m]
        px_w = 1.0 / (st.ppm * t_g[m])  # metres per pixel: keeps thin lines visible far away
        half = np.maximum(0.08, px_w * 0.6)
        dash = (z * 1.3 + sc.param[st.road_id]) % 1.0 < 0.5
        centre = (np.abs(s) < half) & dash
        lanes = (np.abs(np.abs(s) - st.road_half * 0.5) < half) & dash & (sc.param[st.road_id] > 0.4)
        edge = np.abs(np.abs(s) - (st.road_half - 0.3)) < half * 0.8
        paint = centre | lanes | edge
        c = col[m]
        c[paint] = np.array([0.85, 0.85, 0.8], np.float32) * rng.uniform(0.75, 1.0)
        track = np.abs(np.abs(s) - st.road_half * 0.25) < 0.5  # worn tyre tracks
        gain[m] *= np.where(track & ~paint, 0.92, 1.0)
        col[m] = c
    # --- sidewalk: paving joints in ground coordinates, bright curb --------------------------
    m = where(ST_SIDEWALK)
    if m.any():
        s, z = np.abs(s_g[m]), 1.0 / t_g[m]
        tile = param[I[m]] * 0.6
        joint = ((s / tile) % 1.0 < 0.08) | ((z * 6.0 / tile) % 1.0 < 0.1)
        curb = s - st.road_half < 0.25
        gain[m] *= np.where(curb, 1.25, np.where(joint, 0.82, 1.0))
    # --- façades: windows in perspective (floors of ~3 m, bays along the street) -------------
    m = where(ST_FACADE)
    if m.any():
        idx = np.flatnonzero(m.ravel())
        ry, rx = np.divmod(idx, w)
        is_win = np.zeros(idx.size, bool)
        bay_p = param[I.ravel()[idx]]
        for sgn, fc in getattr(st, "facade_cols", {}).items():
            sel = (rx >= fc["c0"]) & (rx < fc["c1"]) & (ry > 0)
            if not sel.any():
                continue
            ci = rx[sel] - fc["c0"]
            tt, zz, gr = fc["t"][ci], fc["z"][ci], fc["ground"][ci]
            hgt = (gr - ry[sel]) / (st.ppm * tt)  # metres above the ground
            along = zz * 4.5 / (3.0 * bay_p[sel])  # bays of ~3 m
            floor = hgt / 3.1
            win = ((along % 1.0) > 0.3) & ((along % 1.0) < 0.8) & ((floor % 1.0) > 0.35) \
                & ((floor % 1.0) < 0.85) & (hgt > 1.0)
            shop = (hgt < 3.0) & (hgt > 0.4) & ((along % 1.0) > 0.15) & ((along % 1.0) < 0.9)
            ww = win | (shop & (bay_p[sel] > 1.1))
            is_win[np.flatnonzero(sel)[ww]] = True
        # far skyline: a coarse window grid in image space
        skyline = np.zeros(n, bool)
        skyline[list(getattr(sc, "skyline", ()))] = True
        far = ~is_win & skyline[I.ravel()[idx]]
        if far.any():
            per = max(2.0, 3.0 * scale)
            far_w = far & ((rx / per) % 1.0 < 0.45) & ((ry / per) % 1.0 < 0.45)
            is_win |= far_w & (bay_p > 0.9)
        glass = np.array([0.2, 0.25, 0.3], np.float32) * np.float32(rng.uniform(0.6, 1.6))
        glass[2] += 0.05  # windows reflect the sky
        win_idx = idx[is_win]
        col.reshape(-1, 3)[win_idx] = glass * (1 + 0.2 * fine.ravel()[win_idx, None])
    # --- foliage: blotchy leaves, darker inside; terrain: grainy with patches ---------------
    m = where(ST_FOLIAGE)
    if m.any():
        leaves = np.clip(0.5 + 0.5 * mid[m] + 0.3 * fine[m], 0.2, 1.2)
        col[m] = col[m] * leaves[:, None] + np.float32(0.05) * (leaves[:, None] - 0.5) * \
            np.array([0.6, 1.0, 0.2], np.float32)
    m = where(ST_TERRAIN)
    if m.any():
        patch = coarse[m] > 0.6
        col[m] = np.where(patch[:, None], col[m] * np.array([1.1, 0.95, 0.8], np.float32), col[m])
    # --- sky: brighter towards the horizon, clouds from coarse noise -------------------------
    m = where(ST_SKY)
    if m.any():
        f = np.clip(yy[m] / max(st.y_h, 1.0), 0, 1)
        cloud = np.clip(coarse[m] * 0.6 + mid[m] * 0.2 - 0.2, 0, 1) * rng.uniform(0.2, 1.0)
        c = col[m] * (0.85 + 0.25 * f[:, None])
        col[m] = c * (1 - cloud[:, None]) + np.float32(0.92) * cloud[:, None]
    # --- vehicles: windows, lights, wheels, bumper --------------------------------------------
    m = where(ST_VEHICLE)
    if m.any():
        uu, vv = u[m], v[m]
        c = col[m]
        wind = (vv < 0.4) & (vv > 0.06) & (np.abs(uu - 0.5) < 0.36 - 0.1 * (0.4 - vv))
        c[wind] = np.array([0.12, 0.14, 0.17], np.float32) * (1 + 0.3 * (0.4 - vv[wind])[:, None])
        lights = (vv > 0.5) & (vv < 0.62) & ((uu < 0.17) | (uu > 0.83))
        c[lights] = np.array([0.75, 0.08, 0.05], np.float32)
        plate = (vv > 0.68) & (vv < 0.77) & (np.abs(uu - 0.5) < 0.1)
        c[plate] = np.array([0.92, 0.92, 0.9], np.float32)
        low = vv > 0.86
        c[low] = np.array([0.06, 0.06, 0.07], np.float32)
        col[m] = c
        gain[m] *= 1.0 + 0.15 * (0.5 - vv)  # glossy: lit from above
    m = where(ST_BOXVEH)
    if m.any():
        uu, vv, kind = u[m], v[m], param[I[m]]
        c = col[m]
        band = (vv > 0.12) & (vv < 0.45) & (kind >= 2)  # bus / tram rear windows
        c[band & (np.abs(uu - 0.5) < 0.42)] = np.array([0.1, 0.12, 0.15], np.float32)
        stripe = (vv > 0.55) & (vv < 0.62) & (kind == 3)
        c[stripe] = c[stripe][:, ::-1] * 0.7
        panels = (kind == 1) & ((uu * 5) % 1.0 < 0.06)  # truck box panel seams
        c[panels] *= 0.7
        lights = (vv > 0.7) & (vv < 0.78) & ((uu < 0.12) | (uu > 0.88))
        c[lights] = np.array([0.8, 0.15, 0.05], np.float32)
        c[vv > 0.9] = np.array([0.06, 0.06, 0.07], np.float32)
        col[m] = c
    # --- people: skin head, shirt, trousers ---------------------------------------------------
    m = where(ST_PERSON)
    if m.any():
        vv, pp = v[m], param[I[m]]
        c = col[m]
        skin = np.stack([0.55 + 0.35 * pp, 0.4 + 0.25 * pp, 0.3 + 0.2 * pp], 1).astype(np.float32)
        head = vv < 0.13
        c[head] = skin[head]
        legs = vv > 0.55
        trous = np.stack([0.15 + 0.2 * (1 - pp), 0.15 + 0.15 * pp, 0.2 + 0.3 * pp], 1)
        c[legs] = trous[legs].astype(np.float32)
        col[m] = c
    # --- poles, signs, lights, wheels ---------------------------------------------------------
    m = where(ST_POLE)
    if m.any():
        gain[m] *= 0.8 + 0.4 * np.clip(u[m], 0, 1)  # cylinder shading
    m = where(ST_SIGN)
    if m.any():
        du, dv = u[m] - 0.5, v[m] - 0.5
        rim = np.maximum(np.abs(du) * 2, np.abs(dv) * 2) > 0.78
        inner = (np.abs(du) < 0.15) & (np.abs(dv) < 0.25)
        c = col[m]
        c[rim] = np.array([0.92, 0.92, 0.9], np.float32)
        c[inner] = 1.0 - c[inner]
        col[m] = c
    m = where(ST_LIGHT)
    if m.any():
        vv, uu, state = v[m], u[m], param[I[m]]
        lamp = np.floor(np.clip(vv, 0, 0.999) * 3)
        ring = ((vv * 3) % 1.0 - 0.5) ** 2 + (uu - 0.5) ** 2 < 0.09
        lit = ring & (lamp == state)
        lamp_col = np.array([[0.95, 0.2, 0.1], [0.95, 0.75, 0.1], [0.2, 0.9, 0.4]], np.float32)
        c = col[m]
        c[lit] = lamp_col[state[lit].astype(int)]
        c[ring & ~lit] = 0.3
        col[m] = c
    m = where(ST_FENCE)
    if m.any():
        per = max(2.0, 4.0 * scale)
        bars = ((xx[m] / per) % 1.0 < 0.35) | ((yy[m] / (per * 1.5)) % 1.0 < 0.25)
        gain[m] *= np.where(bars, 1.15, 0.55)
    m = where(ST_WALL)
    if m.any():
        per = max(2.0, 5.0 * scale)
        gain[m] *= np.where((yy[m] / per) % 1.0 < 0.12, 0.85, 1.0)
    m = where(ST_WHEELED)
    if m.any():
        vv = v[m]
        c = col[m]
        c[vv > 0.55] = c[vv > 0.55] * 0.35 + 0.04  # tyres and chain are dark
        col[m] = c
    m = where(ST_EGO)
    if m.any():
        f = np.clip(v[m], 0, 1)
        gain[m] *= 0.7 + 0.8 * np.exp(-((u[m] - 0.5) ** 2) / 0.02) * (1 - f)  # reflection

    # --- lighting: façade/ground shadow on the sun side, contact shadows ---------------------
    sun = rng.choice([-1, 1])
    sunny = rng.random() < 0.7
    if sunny:
        fc = getattr(st, "facade_cols", {}).get(-sun)
        # the façade facing away from the sun is in shade
        shade = (S == ST_FACADE) & ((xx < st.x_v) if -sun < 0 else (xx >= st.x_v)) & (yy > st.y_h)
        gain[shade] *= 0.65
        if fc is not None:
            shadow_len = rng.uniform(0.2, 1.0) * st.road_half * 2
            ground = (L == ROAD) | (L == SIDEWALK) | (L == TERRAIN)
            gs = ground & ((s_g * -sun) > st.side[-sun]["facade"] - shadow_len)
            # only where a building stands at that depth on the shading side
            z = 1.0 / t_g[gs]
            seg = np.searchsorted(fc["bounds"], z)
            tall = fc["kind"][seg] == 0
            idx = np.flatnonzero(gs.ravel())[tall]
            gain.ravel()[idx] *= 0.55
    ground = (L == ROAD) | (L == SIDEWALK) | (L == TERRAIN)
    for top, left, hh, ww in sc.contact_shadows:
        win = sc._window(top, top + hh, left, left + ww)
        if win is None:
            continue
        g = ground[win]
        gain[win][g] *= 0.45
    col *= gain[..., None]

    # --- camera: exposure, white balance, vignette, noise, blur ------------------------------
    exposure = rng.uniform(0.7, 1.25)
    wb = rng.uniform(0.9, 1.1, 3).astype(np.float32)
    vign = 1.0 - 0.35 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)
    col *= (exposure * vign)[..., None] * wb
    col += rng.standard_normal((h, w, 3), dtype=np.float32) * np.float32(rng.uniform(0.01, 0.03))
    img = np.clip(col * 255.0 + 0.5, 0, 255).astype(np.uint8)
    radius = rng.uniform(0.3, 0.9) * max(scale, 0.25)
    img = np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(radius)))
    return img


def render_scene(rng: np.random.Generator, full_size=(256, 512)):
    """One street scene at ``full_size`` (H, W): (train ids HxW uint8, photo HxWx3 uint8)."""
    sc, st = make_layout(rng, full_size)
    photo = _render(sc, st, rng)
    return sc.label.copy(), photo
