# SPDX-License-Identifier: MIT
"""Event-camera and tactile data: readers on the real files, frame binning, and the datasets.

Readers are checked against slow per-record decoders written here from the format
descriptions, and against the counts recorded in ``shared/datasets/events/README.md``.
Formats without a real file (AEDAT 3.1, SHD HDF5, the DVS Gesture layouts) are checked on
files this module writes.
"""
from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from dfasim.flows.datasets import DatasetError, describe_datasets, load_dataset, paths
from dfasim.flows.datasets import braille, dvs_gesture, nmnist, shd
from dfasim.flows.datasets.paths import Search
from dfasim.flows.datasets._safe_pickle import safe_load
from dfasim.flows.datasets._split import stratified_split
from dfasim.flows.datasets.events import (bin_indices, events_to_frames, make_events,
                                          pool_frames, read_aedat4, read_aedat31, read_atis_bin,
                                          read_events, read_prophesee_dat, read_stmnist_mat)


def _events_root() -> Path:
    for d in paths.resolve_data_dirs():
        if (d / "events" / "README.md").is_file():
            return d / "events"
    pytest.skip("shared/datasets/events is not beside this checkout")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(paths.ENV_VAR, raising=False)


@pytest.fixture
def no_bundled(monkeypatch):
    monkeypatch.setattr(paths, "repo_root", lambda: None)


def _one_line(exc: pytest.ExceptionInfo, name: object) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and str(name) in msg, msg
    return msg


# ------------------------------------------------------------------ slow reference decoders
def _slow_atis(path: Path) -> list[tuple[int, int, int, int]]:
    data = path.read_bytes()
    out, extra = [], 0
    for k in range(0, len(data), 5):
        b0, b1, b2, b3, b4 = data[k:k + 5]
        if b1 == 240:
            extra += 8192
            continue
        out.append((b0, b1, ((b2 & 127) << 16 | b3 << 8 | b4) + extra, b2 >> 7))
    return out


def _as_tuples(ev: np.ndarray) -> list[tuple[int, int, int, int]]:
    return list(zip(ev["x"].tolist(), ev["y"].tolist(), ev["t"].tolist(), ev["p"].tolist()))


def _aedat31_bytes(packets: list[tuple[int, int, list]], event_size: int = 8) -> bytes:
    """Header + packets ``(eventType, tsOverflow, [(x, y, p, ts), ...])``."""
    out = [b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"]
    for etype, overflow, events in packets:
        n = len(events)
        out.append(struct.pack("<hhiiiiii", etype, 1, event_size, 4, overflow, n, n, n))
        for x, y, p, ts in events:
            word = (x << 17) | (y << 2) | (p << 1) | 1
            out.append(struct.pack("<II", word, ts) + b"\0" * (event_size - 8))
    return b"".join(out)


# ------------------------------------------------------------------ readers on the real files
def test_nmnist_bin_matches_slow_decoder_and_readme():
    path = _events_root() / "tonic_test_data" / "sample_nmnist.bin"
    ev = read_atis_bin(path)
    assert _as_tuples(ev) == _slow_atis(path)
    assert len(ev) == 4325 and int(ev["p"].sum()) == 2145
    assert (int(ev["t"][0]), int(ev["t"][-1])) == (654, 311175)
    assert ev["x"].max() <= 33 and ev["y"].max() <= 33


def test_nmnist_small_files_match_slow_decoder():
    root = _events_root() / "nmnist_slayer" / "NMNISTsmall"
    for name in ("1.bs2", "60001.bs2"):
        assert _as_tuples(read_events(root / name)) == _slow_atis(root / name)


DVS_CLIP_COUNTS = {1: 63471, 2: 84260, 3: 113063, 4: 151879, 5: 181179, 6: 124244, 7: 159617,
                   8: 101288, 9: 141773, 10: 85936}


def test_dvs_clips_counts_and_one_clip_decoded_slowly():
    root = _events_root() / "dvs128_clips_slayer"
    for k, n in DVS_CLIP_COUNTS.items():
        ev = read_atis_bin(root / f"{k}.bs2")
        assert len(ev) == n
        assert ev["x"].max() <= 127 and ev["y"].max() <= 127
        assert np.all(np.diff(ev["t"]) >= 0)
    assert _as_tuples(read_atis_bin(root / "1.bs2")) == _slow_atis(root / "1.bs2")


def test_atis_overflow_marker_and_truncated(tmp_path):
    rec = [(3, 4, 0x80, 0, 10), (0, 240, 0, 0, 0), (5, 6, 0x00, 0, 20)]
    path = tmp_path / "ovf.bin"
    path.write_bytes(bytes(b for r in rec for b in r))
    ev = read_atis_bin(path)
    assert _as_tuples(ev) == [(3, 4, 10, 1), (5, 6, 20 + 8192, 0)] == _slow_atis(path)
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(DatasetError, match="multiple of the 5-byte record") as exc:
        read_atis_bin(path)
    _one_line(exc, path)


def test_aedat4_real_file():
    ev = read_aedat4(_events_root() / "tonic_test_data" / "sample.aedat4")
    assert len(ev) == 111954 and int(ev["p"].sum()) == 55023
    assert (ev["x"].min(), ev["x"].max(), ev["y"].min(), ev["y"].max()) == (0, 319, 0, 239)
    assert np.all(np.diff(ev["t"]) >= 0)
    assert round((int(ev["t"][-1]) - int(ev["t"][0])) / 1e6, 4) == 0.5899


def test_aedat4_bad_magic_and_truncated(tmp_path):
    src = (_events_root() / "tonic_test_data" / "sample.aedat4").read_bytes()
    bad = tmp_path / "bad.aedat4"
    bad.write_bytes(b"#!AER-DAT3.1\r\n" + src[14:1000])
    with pytest.raises(DatasetError, match="AER-DAT4.0") as exc:
        read_aedat4(bad)
    _one_line(exc, bad)
    cut = tmp_path / "cut.aedat4"
    cut.write_bytes(src[:500_000])
    with pytest.raises(DatasetError) as exc:
        read_aedat4(cut)
    _one_line(exc, cut)


def test_prophesee_dat_matches_slow_decoder(tmp_path):
    path = _events_root() / "tonic_test_data" / "sample_ncars.dat"
    data = path.read_bytes()
    pos = 0
    while data[pos:pos + 1] == b"%":
        pos = data.index(b"\n", pos) + 1
    assert data[pos + 1] == 8
    slow = []
    for k in range(pos + 2, len(data), 8):
        ts, word = struct.unpack_from("<II", data, k)
        slow.append((word & 0x3FFF, (word >> 14) & 0x3FFF, ts, int((word >> 28) > 0)))
    ev = read_prophesee_dat(path)
    assert _as_tuples(ev) == slow
    assert len(ev) == 2009 and ev["x"].max() <= 77 and ev["y"].max() <= 41
    assert (int(ev["t"][0]), int(ev["t"][-1])) == (0, 99952)
    cut = tmp_path / "cut.dat"
    cut.write_bytes(data[:-3])
    with pytest.raises(DatasetError, match="multiple of 8") as exc:
        read_prophesee_dat(cut)
    _one_line(exc, cut)
    wrong = tmp_path / "wrong.dat"
    wrong.write_bytes(data[:pos + 1] + bytes([12]) + data[pos + 2:])
    with pytest.raises(DatasetError, match="event size 12"):
        read_prophesee_dat(wrong)


def test_stmnist_mat():
    pytest.importorskip("scipy")
    ev = read_stmnist_mat(_events_root() / "tonic_test_data" / "sample_stmnist.mat")
    assert len(ev) == 2346 and int(ev["p"].sum()) == 1601
    taxel = ev["y"].astype(int) * 10 + ev["x"]
    assert (taxel.min(), taxel.max()) == (35, 87)
    assert np.all(np.diff(ev["t"]) >= 0)
    assert (round(ev["t"][0] / 1e6, 4), round(ev["t"][-1] / 1e6, 4)) == (0.1966, 0.8957)


def test_aedat31_fixture(tmp_path):
    packets = [(1, 0, [(3, 5, 1, 100), (127, 0, 0, 200)]),
               (2, 0, [(9, 9, 1, 250)]),                      # special events: skipped
               (1, 1, [(0, 127, 1, 5)])]                      # after a timestamp overflow
    path = tmp_path / "user01_led.aedat"
    path.write_bytes(_aedat31_bytes(packets))
    ev = read_aedat31(path)
    assert _as_tuples(ev) == [(3, 5, 100, 1), (127, 0, 200, 0), (0, 127, 5 + (1 << 31), 1)]
    wide = tmp_path / "wide.aedat"                            # 12-byte event records
    wide.write_bytes(_aedat31_bytes(packets, event_size=12))
    assert _as_tuples(read_aedat31(wide)) == _as_tuples(ev)


@pytest.mark.parametrize("damage, match", [
    (lambda b: b[:-3], "past the end"),
    (lambda b: b[:-len(b) + 70], "truncated packet header"),
    (lambda b: b.replace(b"#!END-HEADER\r\n", b"#"), "END-HEADER"),
    (lambda b: b"#!AER-DAT2.0" + b[12:], "AER-DAT3"),
])
def test_aedat31_corrupt(tmp_path, damage, match):
    path = tmp_path / "bad.aedat"
    path.write_bytes(damage(_aedat31_bytes([(1, 0, [(1, 2, 1, 3)] * 4)])))
    with pytest.raises(DatasetError, match=match) as exc:
        read_aedat31(path)
    _one_line(exc, path)


# ------------------------------------------------------------------ frames
def _slow_split(t: np.ndarray, n_frames: int, split_by: str) -> list[np.ndarray]:
    """spikingjelly's segment indices, written with per-frame masks."""
    n = len(t)
    if split_by == "number":
        di = n // n_frames
        bounds = [(i * di, (i + 1) * di if i < n_frames - 1 else n) for i in range(n_frames)]
    else:
        dt = (t[-1] - t[0]) // n_frames
        idx = np.arange(n)
        bounds = []
        for i in range(n_frames):
            t_l = dt * i + t[0]
            masked = idx[(t >= t_l) & (t < t_l + dt)] if i < n_frames - 1 else idx[t >= t_l]
            bounds.append((masked[0], masked[-1] + 1) if len(masked) else (0, 0))
    return [np.arange(a, b) for a, b in bounds]


@pytest.mark.parametrize("split_by", ["time", "number"])
def test_frames_match_spikingjelly_segments(split_by):
    ev = read_atis_bin(_events_root() / "nmnist_slayer" / "NMNISTsmall" / "1.bs2")
    frames = events_to_frames(ev, (34, 34), 7, split_by)
    assert frames.shape == (7, 2, 34, 34) and frames.sum() == len(ev)
    for i, seg in enumerate(_slow_split(ev["t"], 7, split_by)):
        want = np.zeros((2, 34, 34))
        np.add.at(want, (ev["p"][seg], ev["y"][seg], ev["x"][seg]), 1)
        np.testing.assert_array_equal(frames[i], want)


def test_time_window_bins_and_bad_arguments():
    ev = make_events([0, 1, 2, 3], [0, 0, 0, 0], [0, 499, 500, 1000], [1, 1, 0, 1])
    np.testing.assert_array_equal(bin_indices(ev["t"], 2, "time", (0, 1000)), [0, 0, 1, -1])
    frames = events_to_frames(ev, (1, 4), 2, t_range=(0, 1000))
    assert frames.sum() == 3 and frames[1, 0, 0, 2] == 1
    with pytest.raises(ValueError, match="split_by"):
        bin_indices(ev["t"], 2, "count")
    with pytest.raises(ValueError, match="outside the 1 x 3 sensor"):
        events_to_frames(ev, (1, 3), 2)


def test_pad_and_pool_on_a_real_dvs_clip():
    ev = read_atis_bin(_events_root() / "dvs128_clips_slayer" / "4.bs2")
    full = events_to_frames(ev, (128, 128), 5, t_range=(0, 1_450_000))
    pooled = events_to_frames(ev, (128, 128), 5, t_range=(0, 1_450_000), pool=7, pad=6)
    assert pooled.shape == (5, 2, 20, 20)
    np.testing.assert_array_equal(pooled, pool_frames(full, 7, 6))
    assert pooled.sum() == full.sum() == np.sum(ev["t"] < 1_450_000)
    by_count = events_to_frames(ev, (128, 128), 8, "number", pool=4)
    assert by_count.shape == (8, 2, 32, 32)
    assert by_count.reshape(8, -1).sum(1).tolist() == [len(ev) // 8] * 7 + [
        len(ev) - 7 * (len(ev) // 8)]


# ------------------------------------------------------------------ datasets
NMNIST_TRAIN_CLASSES = [97, 116, 99, 93, 105, 92, 94, 117, 87, 100]
NMNIST_TEST_CLASSES = [8, 14, 8, 11, 14, 7, 10, 15, 2, 11]


def test_nmnist_offline_subset():
    root = _events_root() / "nmnist_slayer" / "NMNISTsmall"
    ds = load_dataset("nmnist", timesteps=4)
    assert ds.x_train.shape == (1000, 4, 2312) and ds.x_test.shape == (100, 4, 2312)
    assert ds.frame_shape == (2, 34, 34) and ds.kind == "sequence"
    assert np.bincount(ds.y_train).tolist() == NMNIST_TRAIN_CLASSES
    assert np.bincount(ds.y_test).tolist() == NMNIST_TEST_CLASSES
    assert ds.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    ev = read_atis_bin(root / "60001.bs2")
    np.testing.assert_array_equal(ds.x_test[0].reshape(4, 2, 34, 34),
                                  events_to_frames(ev, (34, 34), 4))
    assert ds.x_train.sum() + ds.x_test.sum() == 4_518_827    # every event, once


def test_nmnist_official_layout(tmp_path):
    small = _events_root() / "nmnist_slayer" / "NMNISTsmall"
    for split, names in (("Train", [("1", 5), ("2", 0)]), ("Test", [("60001", 7)])):
        for d in range(10):
            (tmp_path / "NMNIST" / split / str(d)).mkdir(parents=True)
        for name, digit in names:
            (tmp_path / "NMNIST" / split / str(digit) / f"{name}.bin").write_bytes(
                (small / f"{name}.bs2").read_bytes())
    ds = load_dataset("nmnist", data_dir=tmp_path, timesteps=3, split_by="number")
    assert ds.y_train.tolist() == [0, 5] and ds.y_test.tolist() == [7]
    assert "official layout" in ds.source
    info = nmnist.probe(Search("nmnist", tmp_path))
    assert (info["train"], info["test"]) == (2, 1)


def test_nmnist_missing_and_bad_options(tmp_path, no_bundled):
    with pytest.raises(DatasetError, match="NMNISTsmall") as exc:
        load_dataset("nmnist", data_dir=tmp_path)
    _one_line(exc, tmp_path)
    with pytest.raises(DatasetError, match="no option 'frames'"):
        load_dataset("nmnist", frames=3)
    with pytest.raises(DatasetError, match="split_by"):
        load_dataset("nmnist", split_by="count")


def test_braille_analog_pipesdfa_setting():
    _events_root()                      # skips where the offline copies are absent
    ds = load_dataset("braille")
    assert ds.x_train.shape == (1080, 152, 4) and ds.x_test.shape == (270, 152, 4)
    assert ds.n_classes == 27 and ds.class_names[0] == "Space"
    assert np.bincount(ds.y_test, minlength=27).tolist() == [10] * 27
    # Standardised with train statistics before the linear x2 upsampling, which keeps the
    # mean and can only shrink the spread.
    x = ds.x_train.astype(np.float64)
    assert np.allclose(x.mean(axis=(0, 1)), 0, atol=0.02)
    assert np.all((x.std(axis=(0, 1)) > 0.85) & (x.std(axis=(0, 1)) < 1.0 + 1e-6))
    # First and last upsampled steps are the recorded ones, standardised with train stats.
    raw = safe_load(_events_root() / "braille" / braille.FILE, "braille")
    y = np.array([braille.CLASS_NAMES.index(r["letter"]) for r in raw])
    rec = np.stack([r["taxel_data"][:76, list(braille.TAXELS)] for r in raw])
    train, _ = stratified_split(y, 270, 0)
    mean, std = rec[train].mean(axis=(0, 1)), rec[train].std(axis=(0, 1))
    np.testing.assert_allclose(ds.x_train[:, 0], (rec[train, 0] - mean) / std, atol=1e-5)
    np.testing.assert_allclose(ds.x_train[:, -1], (rec[train, -1] - mean) / std, atol=1e-5)
    again = load_dataset("braille")
    np.testing.assert_array_equal(again.y_test, ds.y_test)
    other = load_dataset("braille", seed=1)
    assert not np.array_equal(other.y_test, ds.y_test) or not np.array_equal(
        other.x_test, ds.x_test)


def test_braille_spikes_counts_every_spike():
    _events_root()                      # skips where the offline copies are absent
    ds = load_dataset("braille_spikes", timesteps=50)
    assert ds.x_train.shape == (4320, 50, 24) and ds.x_test.shape == (1080, 50, 24)
    assert ds.frame_shape == (2, 12)
    assert ds.x_train.sum() + ds.x_test.sum() == 221_107
    assert np.bincount(ds.y_train, minlength=27).tolist() == [160] * 27
    raw = safe_load(_events_root() / "braille" / "data_braille_letters_th10", "braille")
    y = np.array([braille.CLASS_NAMES.index(r["letter"]) for r in raw])
    first = raw[stratified_split(y, 1080, 0)[0][0]]["events"]
    slow = np.zeros((50, 2, 12))
    for taxel, (on, off) in enumerate(first):
        for pol, times in ((1, on), (0, off)):
            for t in times:
                slow[min(int(t / 1.3 * 50), 49), pol, taxel] += 1
    np.testing.assert_array_equal(ds.x_train[0].reshape(50, 2, 12), slow)


class _Evil:
    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def test_restricted_unpickler_refuses_code(tmp_path):
    target = tmp_path / "pwned"
    evil = _Evil()
    evil.target = str(target)
    path = tmp_path / braille.FILE
    path.write_bytes(gzip.compress(pickle.dumps([evil])))
    with pytest.raises(DatasetError, match="not allowed") as exc:
        safe_load(path, "braille")
    _one_line(exc, path)
    assert not target.exists()
    with pytest.raises(DatasetError, match="not allowed"):
        load_dataset("braille", data_dir=tmp_path)
    ok = tmp_path / "ok.pkl"
    ok.write_bytes(pickle.dumps([{"a": np.arange(3.0)}]))
    np.testing.assert_array_equal(safe_load(ok, "x")[0]["a"], [0, 1, 2])


def _gesture_events(rng, start: int, end: int, n: int) -> list[tuple[int, int, int, int]]:
    ts = np.sort(rng.integers(start, end, n))
    return [(int(rng.integers(128)), int(rng.integers(128)), int(rng.integers(2)), int(t))
            for t in ts]


def test_dvs_gesture_official_layout(tmp_path, no_bundled):
    rng = np.random.default_rng(0)
    root = tmp_path / "DvsGesture"
    root.mkdir()
    segments = {"user01_fluorescent": [(1, 1000, 5000), (2, 6000, 9000)],
                "user22_led": [(8, 1000, 4000), (9, 3500, 8000)],     # overlap, class 9
                "user24_led": [(11, 2000, 7000)]}
    for trial, segs in segments.items():
        events = _gesture_events(rng, 0, 10_000, 400)
        (root / f"{trial}.aedat").write_bytes(_aedat31_bytes([(1, 0, events[:150]),
                                                              (1, 0, events[150:])]))
        (root / f"{trial}_labels.csv").write_text(
            "class,startTime_usec,endTime_usec\n" + "".join(f"{c},{a},{b}\n" for c, a, b in segs))
    assert dvs_gesture.read_segments(root / "user22_led_labels.csv") == [
        (7, 1000, 4000), (8, 4000, 8000)]
    ds = load_dataset("dvs_gesture", data_dir=tmp_path, timesteps=4, pool=1)
    assert ds.x_train.shape == (4, 4, 2 * 128 * 128) and ds.x_test.shape == (1, 4, 32768)
    assert ds.y_train.tolist() == [0, 1, 7, 8] and ds.y_test.tolist() == [10]
    ev = read_aedat31(root / "user22_led.aedat")
    seg = ev[(ev["t"] >= 4000) & (ev["t"] < 8000)]
    np.testing.assert_array_equal(ds.x_train[3].reshape(4, 2, 128, 128),
                                  events_to_frames(seg, (128, 128), 4, t_range=(4000, 8000)))
    pooled = load_dataset("dvs_gesture", data_dir=tmp_path, timesteps=2, pool=7, pad=6)
    assert pooled.frame_shape == (2, 20, 20) and pooled.x_train.shape == (4, 2, 800)
    # The official trial lists win over the user-number rule.
    (root / "trials_to_train.txt").write_text("user24_led.aedat\n")
    (root / "trials_to_test.txt").write_text("user01_fluorescent.aedat\n")
    swapped = load_dataset("dvs_gesture", data_dir=tmp_path, timesteps=2)
    assert swapped.y_train.tolist() == [10] and swapped.y_test.tolist() == [0, 1]
    (root / "user30_natural.aedat").write_bytes(_aedat31_bytes([(1, 0, [(200, 5, 1, 10)])]))
    (root / "user30_natural_labels.csv").write_text("class,startTime_usec,endTime_usec\n3,0,99\n")
    (root / "trials_to_test.txt").write_text("user30_natural.aedat\n")
    with pytest.raises(DatasetError, match="outside the 128 x 128 sensor") as exc:
        load_dataset("dvs_gesture", data_dir=tmp_path)
    _one_line(exc, "user30_natural.aedat")
    (root / "user24_led_labels.csv").write_text("class,startTime_usec,endTime_usec\n12,1,2\n")
    with pytest.raises(DatasetError, match="outside 1..11") as exc:
        load_dataset("dvs_gesture", data_dir=tmp_path)
    _one_line(exc, "user24_led_labels.csv")


def test_dvs_gesture_precut_npy_layout(tmp_path, no_bundled):
    rng = np.random.default_rng(1)
    for split, trial, classes in (("Train", "user01_fluorescent", (0, 3)),
                                  ("Test", "user25_led", (10,))):
        folder = tmp_path / f"ibmGesture{split}" / trial
        folder.mkdir(parents=True)
        for c in classes:
            ev = np.array(_gesture_events(rng, 0, 1450, 200), dtype=np.float64)
            np.save(folder / f"{c}.npy", ev[:, [0, 1, 2, 3]])
    ds = load_dataset("dvs_gesture", data_dir=tmp_path, timesteps=5)
    assert ds.x_train.shape == (2, 5, 2048) and ds.y_train.tolist() == [0, 3]
    assert ds.y_test.tolist() == [10] and ds.x_train.sum() == 400
    info = dvs_gesture.probe(Search("dvs_gesture", tmp_path))
    assert info["available"] and (info["train"], info["test"]) == (2, 1)
    np.save(tmp_path / "ibmGestureTest" / "user25_led" / "10.npy", np.zeros((3, 3)))
    with pytest.raises(DatasetError, match="N x 4") as exc:
        load_dataset("dvs_gesture", data_dir=tmp_path)
    _one_line(exc, "10.npy")


def test_shd_hdf5(tmp_path, no_bundled):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(2)
    want = {}
    for split, n in (("train", 6), ("test", 3)):
        times, units = [], []
        for _ in range(n):
            k = int(rng.integers(5, 40))
            times.append(np.sort(rng.uniform(0, 1.5, k)).astype(np.float16))
            units.append(rng.integers(0, 700, k).astype(np.uint16))
        labels = rng.integers(0, 20, n).astype(np.uint8)
        with h5py.File(tmp_path / f"shd_{split}.h5", "w") as f:
            f.create_dataset("spikes/times", data=np.array(times, dtype=object),
                             dtype=h5py.vlen_dtype(np.float16))
            f.create_dataset("spikes/units", data=np.array(units, dtype=object),
                             dtype=h5py.vlen_dtype(np.uint16))
            f.create_dataset("labels", data=labels)
        want[split] = (times, units, labels)
    ds = load_dataset("shd", data_dir=tmp_path)
    assert ds.x_train.shape == (6, 100, 700) and ds.x_test.shape == (3, 100, 700)
    times, units, labels = want["train"]
    np.testing.assert_array_equal(ds.y_train, labels)
    slow = np.zeros((100, 700))
    for t, u in zip(times[0].astype(np.float64), units[0]):
        if t < 1.4:
            slow[int(np.floor(t * 100 / 1.4)), u] += 1
    np.testing.assert_array_equal(ds.x_train[0], slow)
    info = shd.probe(Search("shd", tmp_path))
    assert info["available"] and (info["train"], info["test"]) == (6, 3)
    (tmp_path / "shd_test.h5").write_bytes(b"not hdf5")
    with pytest.raises(DatasetError, match="not a readable HDF5") as exc:
        load_dataset("shd", data_dir=tmp_path)
    _one_line(exc, "shd_test.h5")


def test_data_list_names_the_event_datasets(tmp_path, no_bundled):
    info = {d["name"]: d for d in describe_datasets(tmp_path)}
    for name in ("nmnist", "braille", "braille_spikes", "dvs_gesture", "shd"):
        assert not info[name]["available"] and info[name]["note"]


def test_data_list_finds_the_bundled_event_files():
    _events_root()
    with_bundle = {d["name"]: d for d in describe_datasets()}
    for name in ("nmnist", "braille", "braille_spikes"):
        assert with_bundle[name]["available"] and "events" in with_bundle[name]["where"]
