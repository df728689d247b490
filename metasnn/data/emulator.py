"""Embedded event-sensor emulator: the ``synthetic`` data source.

Two generators write recordings in the *original raw formats and layouts*, so the real readers
and builders run unchanged on them:

* :func:`emulate_nmnist` — real handwritten digits (scikit-learn's bundled ``load_digits``,
  8×8) upsampled to a ~18-pixel glyph with sharpened strokes (MNIST: 20×20 inside 28×28), placed
  on the 34×34 ATIS sensor and moved along N-MNIST's three-saccade triangle (~100 ms per
  saccade). Written as ``Train|Test/<digit>/NNNNN.bin``. Train and test recordings use disjoint
  source images. Its defaults are fitted to the shipped real recordings (``EMULATION.md``).
* :func:`emulate_asldvs` — 24 hand-sign-like classes (palm + forearm + finger configuration,
  one per letter) with per-recording affine jitter, thickness and motion, on the 240×180
  DAVIS sensor for ~100 ms. Written as ``<letter>/<letter>_NNNN.mat``.

Both go through one DVS pixel model, :func:`dvs_events`: per-pixel log-intensity reference,
ON/OFF events when the change crosses a per-pixel threshold (Gaussian mismatch), linear
interpolation of crossing times inside a simulation step, a refractory period, Poisson
background activity and a small latency jitter. Everything is drawn from one seeded
``numpy.random.Generator`` per recording (seeded by ``(seed, dataset, split, class, index)``),
so a file does not depend on how many others were generated. See ``EMULATION.md`` for how the
emulation differs from real recordings.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from metasnn.data.events import ASL_LETTERS, ASLDVS_SENSOR, NMNIST_SENSOR, SensorSpec, make_events
from metasnn.data.formats import write_asldvs_mat, write_nmnist_bin

__all__ = [
    "DVSModel",
    "dvs_events",
    "NMNISTEmulation",
    "ASLDVSEmulation",
    "saccade_offsets",
    "emulate_nmnist_recording",
    "emulate_nmnist_events",
    "render_glyph",
    "emulate_asldvs_recording",
    "emulate_nmnist",
    "emulate_asldvs",
]


@dataclass(frozen=True)
class DVSModel:
    """Parameters of the DVS pixel model.

    Attributes
    ----------
    threshold : float
        Mean contrast threshold (change of natural-log intensity per event), ON and OFF.
    threshold_mismatch : float
        Standard deviation of the per-pixel threshold, relative to ``threshold``.
    refractory_us : int
        A pixel emits no event within this time after its previous event (crossings are lost).
    noise_rate_hz : float
        Background-activity rate per pixel (random polarity, uniform in time).
    latency_jitter_us : float
        Standard deviation of a Gaussian delay added to every event time.
    on_threshold_ratio : float
        ON threshold divided by OFF threshold (1: symmetric).
    noise_on_fraction : float
        Share of background-activity events that are ON.
    photoreceptor_tau_us : float
        Photoreceptor low-pass time constant at intensity 1; it scales as 1 / intensity, so dark
        pixels respond slowly (0: no low-pass, the pixel follows the movie instantly).
    random_reference : bool
        Start each pixel's reference at a random point within one threshold of its first level
        (as after an arbitrary history) instead of exactly at it. With ``False`` every pixel that
        returns to its starting level fires its last crossing at exactly that instant.
    exact_crossing_times : bool
        Interpolate crossing times on the ramp from the previous step's level to the new level.
        ``False`` keeps the original approximation (the ramp is taken to start at the reference),
        which places crossings late in each simulation step; the ASL-DVS emulation was tuned with it.

    The defaults of the last five fields reproduce the original pixel model bit for bit (the ASL-DVS
    emulation uses them); the N-MNIST emulation sets them from the real recordings (``EMULATION.md``).
    """

    threshold: float = 0.25
    threshold_mismatch: float = 0.05
    refractory_us: int = 1000
    noise_rate_hz: float = 0.2
    latency_jitter_us: float = 150.0
    on_threshold_ratio: float = 1.0
    noise_on_fraction: float = 0.5
    photoreceptor_tau_us: float = 0.0
    random_reference: bool = False
    exact_crossing_times: bool = False


def _record_rng(seed: int, *key: object) -> np.random.Generator:
    """A generator that depends only on ``seed`` and ``key`` (stable across runs and platforms)."""
    words = [seed & 0xFFFFFFFF] + [zlib.crc32(str(k).encode()) for k in key]
    return np.random.default_rng(np.random.SeedSequence(words))


def dvs_events(
    log_frames: np.ndarray,
    times_us: np.ndarray,
    model: DVSModel,
    rng: np.random.Generator,
    pixel_x: np.ndarray,
    pixel_y: np.ndarray,
    sensor: SensorSpec,
    duration_us: int,
) -> np.ndarray:
    """Convert a log-intensity movie into DVS events.

    Parameters
    ----------
    log_frames : ndarray, shape (S, P)
        Log intensity of P pixels at S instants ``times_us`` (increasing).
    pixel_x, pixel_y : ndarray, shape (P,)
        Sensor coordinates of the P simulated pixels.
    sensor : SensorSpec
        The whole sensor (background noise covers all of it, not only the simulated pixels).
    duration_us : int
        Recording length; noise events and jitter stay inside ``[0, duration_us)``.

    Returns
    -------
    ndarray
        Events (:data:`metasnn.data.events.EVENT_DTYPE`), sorted by time.
    """
    steps, pixels = log_frames.shape
    thresholds = model.threshold * np.clip(1.0 + model.threshold_mismatch * rng.standard_normal(pixels), 0.3, None)
    asymmetric = model.on_threshold_ratio != 1.0
    on_thresholds = thresholds * model.on_threshold_ratio if asymmetric else thresholds
    if model.photoreceptor_tau_us > 0:
        log_frames = _photoreceptor(log_frames, times_us, model.photoreceptor_tau_us)
    reference = log_frames[0].copy()
    if model.random_reference:
        u = rng.uniform(-1.0, 1.0, pixels)
        reference -= u * np.where(u > 0, on_thresholds, thresholds)  # level - reference in (-OFF, +ON) threshold
    last_fire = np.full(pixels, -np.inf)
    out_pix: list[np.ndarray] = []
    out_t: list[np.ndarray] = []
    out_p: list[np.ndarray] = []
    refractory = float(model.refractory_us)
    for s in range(1, steps):
        delta = log_frames[s] - reference
        step_thresholds = np.where(delta > 0, on_thresholds, thresholds) if asymmetric else thresholds
        count = np.floor(np.abs(delta) / step_thresholds).astype(np.int64)
        active = np.flatnonzero(count)
        if active.size == 0:
            continue
        n = count[active]
        d = delta[active]
        c = step_thresholds[active]
        step_start = times_us[s - 1]
        step_len = times_us[s] - step_start
        owner = np.repeat(np.arange(active.size), n)
        j = np.arange(owner.size) - np.repeat(np.cumsum(n) - n, n) + 1
        if model.exact_crossing_times:
            # the j-th crossing (j = 1..n) of the linear ramp from the previous level to the new one
            before = (log_frames[s - 1] - reference)[active] * np.sign(d)  # signed along this step's direction
            frac = (j * c[owner] - before[owner]) / np.maximum(np.abs(d[owner]) - before[owner], 1e-12)
            t = step_start + step_len * np.clip(frac, 0.0, 1.0)
        else:
            # the j-th crossing of a linear ramp from the reference to the new level
            crossed_since = step_len * (1.0 - j * c[owner] / np.abs(d[owner]))  # how long before step end
            t = step_start + step_len - crossed_since
        # refractory: keep crossings at least `refractory` after the previous kept one of the pixel
        keep = np.ones(owner.size, dtype=bool)
        prev = last_fire[active]
        first = np.cumsum(n) - n
        if refractory > 0:
            for k in range(int(n.max())):
                sel = np.flatnonzero(n > k)
                idx = first[sel] + k
                ok = t[idx] >= prev[sel] + refractory
                keep[idx] = ok
                prev[sel] = np.where(ok, t[idx], prev[sel])
        last_fire[active] = prev
        reference[active] += np.sign(d) * n * c
        kept = np.flatnonzero(keep)
        out_pix.append(active[owner[kept]])
        out_t.append(t[kept])
        out_p.append((d[owner[kept]] > 0).astype(np.int8))
    pix = np.concatenate(out_pix) if out_pix else np.zeros(0, np.int64)
    t = np.concatenate(out_t) if out_t else np.zeros(0)
    pol = np.concatenate(out_p) if out_p else np.zeros(0, np.int8)
    x = pixel_x[pix]
    y = pixel_y[pix]
    # background activity over the whole sensor
    n_noise = rng.poisson(model.noise_rate_hz * sensor.width * sensor.height * duration_us * 1e-6)
    flat = rng.integers(0, sensor.width * sensor.height, n_noise)
    x = np.concatenate([x, flat % sensor.width])
    y = np.concatenate([y, flat // sensor.width])
    t = np.concatenate([t, rng.uniform(0, duration_us, n_noise)])
    if model.noise_on_fraction == 0.5:
        noise_pol = rng.integers(0, 2, n_noise).astype(np.int8)
    else:
        noise_pol = (rng.random(n_noise) < model.noise_on_fraction).astype(np.int8)
    pol = np.concatenate([pol, noise_pol])
    t = t + np.abs(rng.normal(0.0, model.latency_jitter_us, t.size))
    t = np.clip(np.round(t), 0, duration_us - 1).astype(np.int64)
    order = np.argsort(t, kind="stable")
    return make_events(x[order], y[order], t[order], pol[order])


def _photoreceptor(log_frames: np.ndarray, times_us: np.ndarray, tau_us: float) -> np.ndarray:
    """First-order low-pass of each pixel's log intensity, time constant ``tau_us / intensity``."""
    out = np.empty_like(log_frames)
    out[0] = log_frames[0]
    for s in range(1, len(log_frames)):
        rate = (times_us[s] - times_us[s - 1]) * np.exp(out[s - 1]) / tau_us
        out[s] = out[s - 1] + (1.0 - np.exp(-rate)) * (log_frames[s] - out[s - 1])
    return out


def _shifted(padded: np.ndarray, offsets: np.ndarray, height: int, width: int, pad: int) -> np.ndarray:
    """Bilinear translation of ``padded`` by each (dx, dy) in ``offsets``: returns (S, height, width).

    Output pixel (y, x) at step s samples the image at (y - dy_s, x - dx_s); ``pad`` must exceed
    the largest shift.
    """
    out = np.empty((len(offsets), height, width))
    for s, (dx, dy) in enumerate(offsets):
        sx, sy = pad - dx, pad - dy
        ix, iy = int(np.floor(sx)), int(np.floor(sy))
        fx, fy = sx - ix, sy - iy
        a = padded[iy : iy + height, ix : ix + width]
        b = padded[iy : iy + height, ix + 1 : ix + 1 + width]
        c = padded[iy + 1 : iy + 1 + height, ix : ix + width]
        d = padded[iy + 1 : iy + 1 + height, ix + 1 : ix + 1 + width]
        out[s] = (1 - fy) * ((1 - fx) * a + fx * b) + fy * ((1 - fx) * c + fx * d)
    return out


# ----------------------------------------------------------------------------------------------
# N-MNIST-like
# ----------------------------------------------------------------------------------------------


def _nmnist_dvs() -> DVSModel:
    # measured on the 800 shipped real Train recordings (EMULATION.md, "Emulator against real recordings")
    return DVSModel(threshold=0.39, on_threshold_ratio=0.97, noise_rate_hz=0.35, noise_on_fraction=0.05,
                    photoreceptor_tau_us=1500.0, random_reference=True, exact_crossing_times=True)


@dataclass(frozen=True)
class NMNISTEmulation:
    """How N-MNIST-like recordings are made; the defaults are fitted to the shipped real recordings.

    Times are microseconds from the start of the recording, lengths are sensor pixels, intensities
    are relative to the white stroke (1). See ``EMULATION.md`` for what each value was fitted to.
    """

    dvs: DVSModel = field(default_factory=_nmnist_dvs)
    # the three moves of the image on the sensor: (start, end) of each, cosine-eased in between
    saccade_windows_us: tuple[tuple[int, int], ...] = ((12_000, 86_000), (113_000, 183_000), (222_000, 294_000))
    saccade_jitter_us: int = 4000  # each start and end moves by up to this much per recording
    triangle_px: tuple[tuple[float, float], ...] = ((0.0, 0.0), (2.5, 6.0), (6.5, 0.0))  # then back to the first
    duration_us: tuple[int, int] = (304_000, 316_000)  # recording length, uniform in [low, high)
    glyph_px: float = 17.5  # glyph height (MNIST: a 20x20 box inside 28x28)
    glyph_aspect: float = 1.15  # glyph width / height scale relative to the load_digits image
    glyph_size_jitter: float = 0.1  # relative, per recording
    stroke_edges: tuple[float, float] = (0.4, 0.7)  # smoothstep of the upsampled image: thinner, sharper strokes
    glyph_center_px: tuple[float, float] = (14.2, 15.5)  # (x, y) of the glyph's centre of mass at the first vertex
    position_jitter_px: float = 1.0  # per recording, in x and y
    background: float = 0.12  # monitor black level relative to a white stroke
    file_polarity_on: int = 0  # the value of the p bit written for a brightness increase (see EMULATION.md)
    step_us: int = 2000
    train_image_fraction: float = 0.7  # first 70% of each class's load_digits images feed Train/


def saccade_offsets(times_us: np.ndarray, cfg: NMNISTEmulation, windows_us: np.ndarray | None = None) -> np.ndarray:
    """Image offset (dx, dy) in pixels at each time: three cosine-eased moves along the triangle.

    ``windows_us`` (shape (3, 2): start and end of each move) defaults to ``cfg.saccade_windows_us``;
    before the first move the image rests at the first vertex, between moves at the reached one.
    """
    verts = np.asarray(cfg.triangle_px + (cfg.triangle_px[0],), dtype=float)
    windows = np.asarray(cfg.saccade_windows_us if windows_us is None else windows_us, dtype=float)
    t = np.asarray(times_us, dtype=float)
    out = np.repeat(verts[:1], t.size, axis=0)
    for k, (start, end) in enumerate(windows):
        phase = np.clip((t - start) / (end - start), 0.0, 1.0)
        ease = 0.5 - 0.5 * np.cos(np.pi * phase)  # velocity peaks mid-move, as on the real recordings
        out += (verts[k + 1] - verts[k]) * ease[:, None]
    return out


_DIGITS_CACHE: dict[str, np.ndarray] = {}


def bundled_digits_path() -> Path:
    """scikit-learn's bundled ``digits.csv.gz`` (what ``load_digits`` reads), found without importing sklearn."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None or spec.origin is None:  # pragma: no cover - sklearn is a dependency
        raise ImportError("scikit-learn is required for the synthetic N-MNIST source")
    return Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"


def _digit_images() -> tuple[np.ndarray, np.ndarray]:
    """``load_digits().images / 16`` and ``.target``, read directly (importing sklearn takes seconds)."""
    if not _DIGITS_CACHE:
        table = np.loadtxt(bundled_digits_path(), delimiter=",")
        _DIGITS_CACHE["images"] = table[:, :64].reshape(-1, 8, 8) / 16.0
        _DIGITS_CACHE["target"] = table[:, 64].astype(np.int64)
    return _DIGITS_CACHE["images"], _DIGITS_CACHE["target"]


def digit_image_pool(digit: int, split: str, cfg: NMNISTEmulation) -> np.ndarray:
    """Indices into ``load_digits`` used for ``digit`` recordings of ``split`` ('train' / 'test'); disjoint."""
    _, target = _digit_images()
    idx = np.flatnonzero(target == digit)
    cut = int(round(cfg.train_image_fraction * idx.size))
    return idx[:cut] if split == "train" else idx[cut:]


def render_glyph(image: np.ndarray, rng: np.random.Generator, cfg: NMNISTEmulation) -> np.ndarray:
    """The 8x8 ``image`` (0..1) as a glyph of ``cfg.glyph_px`` (±jitter) rows: cubic upsampling, then a
    smoothstep between ``cfg.stroke_edges`` that thins the blurred strokes and sharpens their edges."""
    from scipy.ndimage import zoom

    height = cfg.glyph_px * rng.uniform(1.0 - cfg.glyph_size_jitter, 1.0 + cfg.glyph_size_jitter)
    glyph = zoom(image, (height / 8.0, height * cfg.glyph_aspect / 8.0), order=3)
    lo, hi = cfg.stroke_edges
    s = np.clip((glyph - lo) / (hi - lo), 0.0, 1.0)
    return s * s * (3.0 - 2.0 * s)


def emulate_nmnist_recording(image: np.ndarray, rng: np.random.Generator, cfg: NMNISTEmulation) -> np.ndarray:
    """One N-MNIST-like recording of an 8x8 ``image`` (values 0..1)."""
    from scipy.ndimage import center_of_mass

    width, height = NMNIST_SENSOR.width, NMNIST_SENSOR.height
    glyph = render_glyph(image, rng, cfg)
    gy, gx = glyph.shape
    cy, cx = center_of_mass(glyph) if glyph.sum() > 0 else ((gy - 1) / 2, (gx - 1) / 2)
    jitter = rng.uniform(-cfg.position_jitter_px, cfg.position_jitter_px, 2)
    ox = max(0, int(round(cfg.glyph_center_px[0] + jitter[0] - cx)))
    oy = max(0, int(round(cfg.glyph_center_px[1] + jitter[1] - cy)))
    canvas = np.zeros((height, width))
    part = glyph[: height - oy, : width - ox]
    canvas[oy : oy + part.shape[0], ox : ox + part.shape[1]] = part
    intensity = cfg.background + (1.0 - cfg.background) * canvas
    pad = 10
    padded = np.pad(intensity, pad, constant_values=cfg.background)
    duration = int(rng.integers(*cfg.duration_us))
    windows = np.asarray(cfg.saccade_windows_us, dtype=float)
    windows = windows + rng.uniform(-cfg.saccade_jitter_us, cfg.saccade_jitter_us, windows.shape)
    times = np.arange(0, duration, cfg.step_us, dtype=np.float64)
    frames = _shifted(padded, saccade_offsets(times, cfg, windows), height, width, pad)
    log_frames = np.log(frames).reshape(len(times), -1)
    yy, xx = np.divmod(np.arange(height * width), width)
    events = dvs_events(log_frames, times, cfg.dvs, rng, xx, yy, NMNIST_SENSOR, duration)
    if cfg.file_polarity_on == 0:
        events["p"] = 1 - events["p"]
    return events


def emulate_nmnist_events(split: str, digit: int, index: int, seed: int = 0, cfg: NMNISTEmulation | None = None) -> np.ndarray:
    """The recording :func:`emulate_nmnist` writes as ``Train|Test/<digit>/<index + 1>.bin`` (same events, in memory)."""
    cfg = cfg or NMNISTEmulation()
    images, _ = _digit_images()
    pool = digit_image_pool(digit, split, cfg)
    return emulate_nmnist_recording(images[pool[index % pool.size]], _record_rng(seed, "nmnist", split, digit, index), cfg)


def emulate_nmnist(
    out_dir: str | Path,
    train_per_class: int,
    test_per_class: int,
    seed: int = 0,
    cfg: NMNISTEmulation | None = None,
    progress: Callable | None = None,
) -> dict[str, dict[str, list[str]]]:
    """Write ``Train/<d>/NNNNN.bin`` and ``Test/<d>/NNNNN.bin`` under ``out_dir``.

    Returns the file lists ``{"train": {"0": [relative paths...]}, "test": {...}}``.
    """
    cfg = cfg or NMNISTEmulation()
    out_dir = Path(out_dir)
    jobs = [(split, folder, d, i) for split, folder, n in (("train", "Train", train_per_class), ("test", "Test", test_per_class))
            for d in range(10) for i in range(n)]
    files: dict[str, dict[str, list[str]]] = {"train": {str(d): [] for d in range(10)}, "test": {str(d): [] for d in range(10)}}
    iterator = progress(jobs, "emulate N-MNIST") if progress else jobs
    for split, folder, digit, i in iterator:
        events = emulate_nmnist_events(split, digit, i, seed, cfg)
        rel = f"{folder}/{digit}/{i + 1:05d}.bin"
        write_nmnist_bin(out_dir / rel, events)
        files[split][str(digit)].append(rel)
    return files


# ----------------------------------------------------------------------------------------------
# ASL-DVS-like
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ASLDVSEmulation:
    """How ASL-DVS-like recordings are made."""

    dvs: DVSModel = field(default_factory=lambda: DVSModel(threshold=0.2, noise_rate_hz=0.5, refractory_us=500))
    duration_us: int = 100_000
    step_us: int = 2000
    background: float = 0.25
    hand: float = 0.8
    shift_px: tuple[float, float] = (3.0, 8.0)  # range of the hand's displacement over the recording


def _hand_pose(letter_index: int) -> dict:
    """The fixed finger configuration of one class (deterministic in the letter index)."""
    rng = np.random.default_rng(np.random.SeedSequence([20190, letter_index]))
    # 4 fingers x {folded, half, extended} + thumb {in, side, out}: 24 distinct patterns chosen once
    patterns = _HAND_PATTERNS[letter_index]
    return {
        "fingers": patterns[:4],
        "thumb": patterns[4],
        "rotation_deg": float((letter_index * 37) % 60 - 30),
        "spread_deg": float(rng.uniform(4, 14)),
    }


def _make_patterns() -> list[tuple[int, ...]]:
    rng = np.random.default_rng(424242)
    seen: set[tuple[int, ...]] = set()
    out: list[tuple[int, ...]] = []
    while len(out) < 24:
        pattern = tuple(int(v) for v in rng.integers(0, 3, 5))
        if pattern not in seen:
            seen.add(pattern)
            out.append(pattern)
    return out


_HAND_PATTERNS = _make_patterns()


def _capsule_distance(px: np.ndarray, py: np.ndarray, a: tuple[float, float], b: tuple[float, float]) -> np.ndarray:
    ax, ay = a
    bx, by = b
    vx, vy = bx - ax, by - ay
    h = np.clip(((px - ax) * vx + (py - ay) * vy) / max(vx * vx + vy * vy, 1e-9), 0.0, 1.0)
    return np.hypot(px - ax - h * vx, py - ay - h * vy)


def render_hand(letter_index: int, rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Hand-like mask (0..1) of class ``letter_index`` with random affine jitter and thickness."""
    pose = _hand_pose(letter_index)
    scale = rng.uniform(0.85, 1.15)
    thick = rng.uniform(0.8, 1.25)
    angle = np.deg2rad(pose["rotation_deg"] + rng.uniform(-8, 8))
    cx = width / 2 + rng.uniform(-20, 20)
    cy = height / 2 + rng.uniform(-12, 12) - 5
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    # hand coordinates: rotate/scale the sensor grid into the hand frame (u right, v up)
    dx, dy = (xx - cx) / scale, (yy - cy) / scale
    u = np.cos(angle) * dx + np.sin(angle) * dy
    v = np.sin(angle) * dx - np.cos(angle) * dy
    # palm (ellipse) and forearm
    palm = np.hypot(u / 24.0, v / 27.0) - 1.0
    field_ = palm * 22.0
    arm = _capsule_distance(u, v, (0.0, -20.0), (0.0, -140.0)) - 15.0 * thick
    field_ = np.minimum(field_, arm)
    lengths = {0: 9.0, 1: 22.0, 2: 38.0}
    spread = pose["spread_deg"]
    for k, state in enumerate(pose["fingers"]):
        base = (-16.0 + 10.5 * k, 22.0)
        phi = np.deg2rad(90.0 + spread * (1.5 - k))
        length = lengths[state] * (0.85 + 0.1 * (k in (1, 2)))
        tip = (base[0] + length * np.cos(phi), base[1] + length * np.sin(phi))
        field_ = np.minimum(field_, _capsule_distance(u, v, base, tip) - 5.0 * thick)
    thumb_angle = {0: 60.0, 1: 135.0, 2: 170.0}[pose["thumb"]]
    tb = (-20.0, 0.0)
    phi = np.deg2rad(thumb_angle)
    tip = (tb[0] + 28.0 * np.cos(phi), tb[1] + 28.0 * np.sin(phi))
    field_ = np.minimum(field_, _capsule_distance(u, v, tb, tip) - 6.0 * thick)
    return 1.0 / (1.0 + np.exp(np.clip(field_ * scale / 0.8, -50, 50)))


def emulate_asldvs_recording(letter_index: int, rng: np.random.Generator, cfg: ASLDVSEmulation) -> np.ndarray:
    """One ASL-DVS-like recording of class ``letter_index`` (0..23)."""
    width, height = ASLDVS_SENSOR.width, ASLDVS_SENSOR.height
    mask = render_hand(letter_index, rng, height, width)
    intensity = cfg.background + (cfg.hand - cfg.background) * mask
    # texture: fixed-pattern illumination so that flat regions are not perfectly uniform
    intensity *= np.exp(0.03 * rng.standard_normal(intensity.shape))
    times = np.arange(0, cfg.duration_us + 1, cfg.step_us, dtype=np.float64)
    direction = rng.uniform(0, 2 * np.pi)
    amplitude = rng.uniform(*cfg.shift_px)
    phase = times / cfg.duration_us
    wobble = 0.8 * np.sin(2 * np.pi * (phase * rng.uniform(1.0, 3.0) + rng.uniform()))
    offsets = np.stack([amplitude * phase * np.cos(direction) + wobble, amplitude * phase * np.sin(direction) - 0.5 * wobble], 1)
    # only simulate pixels near the hand (plus motion margin): events cannot happen elsewhere
    rows = np.flatnonzero(mask.max(1) > 1e-3)
    cols = np.flatnonzero(mask.max(0) > 1e-3)
    margin = int(np.ceil(amplitude + 3))
    y0, y1 = max(0, rows[0] - margin), min(height, rows[-1] + margin + 1)
    x0, x1 = max(0, cols[0] - margin), min(width, cols[-1] + margin + 1)
    pad = margin + 2
    padded = np.pad(intensity, pad, mode="edge")[y0 : y1 + 2 * pad, x0 : x1 + 2 * pad]
    frames = _shifted(padded, offsets, y1 - y0, x1 - x0, pad)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    log_frames = np.log(frames).reshape(len(times), -1)
    return dvs_events(log_frames, times, cfg.dvs, rng, xx.reshape(-1), yy.reshape(-1), ASLDVS_SENSOR, cfg.duration_us)


def emulate_asldvs(
    out_dir: str | Path,
    per_class: int,
    seed: int = 0,
    cfg: ASLDVSEmulation | None = None,
    progress: Callable | None = None,
) -> dict[str, dict[str, list[str]]]:
    """Write ``<letter>/<letter>_NNNN.mat`` under ``out_dir``; returns ``{"all": {letter: [paths]}}``."""
    cfg = cfg or ASLDVSEmulation()
    out_dir = Path(out_dir)
    files: dict[str, dict[str, list[str]]] = {"all": {letter: [] for letter in ASL_LETTERS}}
    jobs = [(k, letter, i) for k, letter in enumerate(ASL_LETTERS) for i in range(per_class)]
    iterator = progress(jobs, "emulate ASL-DVS") if progress else jobs
    for k, letter, i in iterator:
        rng = _record_rng(seed, "asldvs", letter, i)
        events = emulate_asldvs_recording(k, rng, cfg)
        rel = f"{letter}/{letter}_{i + 1:04d}.mat"
        write_asldvs_mat(out_dir / rel, events)
        files["all"][letter].append(rel)
    return files


def emulation_parameters(cfg: NMNISTEmulation | ASLDVSEmulation) -> dict:
    """Plain-dict description of an emulation config (recorded in provenance)."""
    return asdict(cfg)
