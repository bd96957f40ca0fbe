import io
import os
import pickle
import subprocess

import numpy as np
import pytest

from radiolib.data import safe_load
from radiolib.errors import DataError


class _Touch:
    """A crafted object whose unpickling would run a shell command creating a file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


class _Popen:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (subprocess.Popen, (["touch", str(self.path)],))


@pytest.mark.parametrize("attack", [_Touch, _Popen])
@pytest.mark.parametrize("protocol", [2, 4])
def test_crafted_pickle_is_rejected_not_executed(tmp_path, attack, protocol):
    marker = tmp_path / "pwned"
    payload = tmp_path / "data_batch_1"
    payload.write_bytes(pickle.dumps({"data": attack(marker), "labels": [0]}, protocol=protocol))
    # sanity: the standard unpickler would run it
    assert not marker.exists()
    with pytest.raises(DataError, match=r"refusing to unpickle (posix|os|subprocess)\.\w+"):
        safe_load(payload)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["eval", "exec", "getattr", "__import__", "open"])
def test_dangerous_builtins_are_refused(name):
    crafted = b"cbuiltins\n" + name.encode() + b"\n(S'1'\ntR."
    with pytest.raises(DataError, match=f"refusing to unpickle builtins.{name}"):
        safe_load(io.BytesIO(crafted))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_cifar_style_batch_round_trips(protocol):
    batch = {
        "batch_label": "training batch 1 of 8",
        "labels": [0, 1, 1],
        "data": [np.arange(4, dtype=np.uint8).reshape(2, 2)] * 3,
        "filenames": [np.str_("x/100_1.000_+2.000.png")] * 3,
        "stack": np.ones((3, 4), dtype=np.float32),
        "count": np.int64(3),
    }
    loaded = safe_load(io.BytesIO(pickle.dumps(batch, protocol=protocol)))
    assert loaded["labels"] == [0, 1, 1]
    np.testing.assert_array_equal(loaded["data"][2], batch["data"][2])
    np.testing.assert_array_equal(loaded["stack"], batch["stack"])
    assert str(loaded["filenames"][0]) == "x/100_1.000_+2.000.png" and loaded["count"] == 3


def test_real_mirabest_meta_loads(shared_data, tmp_path):
    import tarfile

    with tarfile.open(shared_data / "mirabest" / "batches.tar.gz") as tar:
        tar.extractall(tmp_path, members=[tar.getmember("batches/batches.meta")], filter="data")
    meta = safe_load(tmp_path / "batches" / "batches.meta")
    assert meta["label_names"] == ["FRI", "FRII"] and meta["num_vis"] == 22500


def test_truncated_or_missing_file_is_a_data_error(tmp_path):
    path = tmp_path / "cut"
    path.write_bytes(pickle.dumps({"a": np.zeros(10)})[:20])
    with pytest.raises(DataError, match="cannot unpickle"):
        safe_load(path)
    with pytest.raises(DataError, match="cannot read pickle"):
        safe_load(tmp_path / "missing")
