"""``radiolib embed``: features with ids and provenance, content cache, clear errors."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from radiolib.cli import main
from radiolib.errors import ConfigError, DataError
from radiolib.evaluate.embed import embed_inputs

BACKBONE = "random:resnet18_w32"


pytestmark = pytest.mark.usefixtures("one_thread")


def _pngs(folder, sizes, seed=0):
    rng = np.random.default_rng(seed)
    paths = []
    for i, size in enumerate(sizes):
        path = folder / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def test_embed_files_writes_features_ids_and_provenance(tmp_path):
    files = _pngs(tmp_path, [32, 32, 32])
    done = embed_inputs(BACKBONE, files, tmp_path / "f.npz", batch_size=2, progress=False)
    assert (done.n, done.reused) == (3, False)
    with np.load(done.path) as z:
        assert z["features"].shape == (3, 256) and z["features"].dtype == np.float32
        assert list(z["ids"]) == [str(p) for p in files]
        assert str(z["backbone"]) == BACKBONE and len(str(z["backbone_sha256"])) == 64
        assert json.loads(str(z["preprocessing"]))["scale"].startswith("per-image min-max")
        first = z["features"].copy()
    # batching does not change the numbers
    again = embed_inputs(BACKBONE, files, tmp_path / "g.npz", batch_size=3, progress=False)
    with np.load(again.path) as z:
        np.testing.assert_allclose(z["features"], first, rtol=1e-5, atol=1e-6)


def test_embed_is_cached_by_content(tmp_path):
    files = _pngs(tmp_path, [32, 32])
    out = tmp_path / "f.npz"
    embed_inputs(BACKBONE, files, out, progress=False)
    stamp = out.stat().st_mtime_ns
    assert embed_inputs(BACKBONE, files, out, progress=False).reused
    assert out.stat().st_mtime_ns == stamp
    assert not embed_inputs(BACKBONE, files, out, seed=1, progress=False).reused  # weights
    _pngs(tmp_path, [32, 32], seed=5)  # same names, new contents
    assert not embed_inputs(BACKBONE, files, out, seed=1, progress=False).reused
    assert not embed_inputs(BACKBONE, files, out, seed=1, resize=16, progress=False).reused


def test_mixed_sizes_need_a_resize(tmp_path):
    files = _pngs(tmp_path, [32, 40])
    with pytest.raises(DataError, match="different sizes.*--resize"):
        embed_inputs(BACKBONE, files, tmp_path / "f.npz", progress=False)
    assert not (tmp_path / "f.npz").exists()
    done = embed_inputs(BACKBONE, files, tmp_path / "f.npz", resize=24, progress=False)
    assert done.n == 2


def _tileset(folder, n):
    folder.mkdir()
    (folder / "fields.json").write_text(json.dumps({"storage": "tiles", "fields": {}}))
    rows = [{"tile": i, "field": "f", "x0": 0, "y0": 0, "x1": 16, "y1": 16, "ra": 0, "dec": 0,
             "nan_fraction": 0} for i in range(n)]
    pd.DataFrame(rows, columns=["tile", "field", "x0", "y0", "x1", "y1", "ra", "dec",
                                "nan_fraction"]).to_csv(folder / "index.csv", index=False)
    np.save(folder / "tiles.npy", np.random.default_rng(0).normal(size=(n, 16, 16))
            .astype(np.float32))
    return folder


def test_embed_a_tileset_and_refuse_an_empty_one(tmp_path):
    done = embed_inputs(BACKBONE, [_tileset(tmp_path / "ts", 3)], tmp_path / "f.npz",
                        progress=False)
    with np.load(done.path) as z:
        assert list(z["ids"]) == ["0", "1", "2"]
    with pytest.raises(DataError, match="TileSet has no tiles"):
        embed_inputs(BACKBONE, [_tileset(tmp_path / "empty", 0)], tmp_path / "e.npz",
                     progress=False)


def test_unknown_backbone_is_one_line_error(tmp_path, capsys):
    files = _pngs(tmp_path, [32])
    with pytest.raises(ConfigError, match="unknown architecture"):
        embed_inputs("random:resnet9000", files, tmp_path / "f.npz", progress=False)
    code = main(["embed", "--backbone", "no-such-backbone", str(files[0]), "--out",
                 str(tmp_path / "f.npz"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "radiolib embed: error:" in err
    assert not (tmp_path / "f.npz").exists()


def test_cli_embed_runs_and_reports_the_cache(tmp_path, capsys):
    files = _pngs(tmp_path, [32, 32])
    argv = ["embed", "--backbone", BACKBONE, *map(str, files), "--out",
            str(tmp_path / "f.npz"), "--quiet"]
    assert main(argv) == 0 and "2 embeddings" in capsys.readouterr().out
    assert main(argv) == 0 and "cached" in capsys.readouterr().out


def test_model_embeddings_are_cached_by_weights_and_content(tmp_path):
    import torch

    from radiolib.evaluate import model_embeddings
    from radiolib.models import feature_extractor
    torch.manual_seed(0)
    model = feature_extractor("resnet18", 1, image_size=16, device="cpu")
    x = torch.rand(3, 1, 16, 16)
    first = model_embeddings(model, x, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("emb-*.npy"))) == 1
    np.testing.assert_array_equal(model_embeddings(model, x, cache_dir=tmp_path), first)
    with torch.no_grad():
        model.backbone.fc = torch.nn.Identity()  # same weights: the same file
        next(model.parameters()).add_(1.0)  # other weights: embedded again, a second file
    second = model_embeddings(model, x, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("emb-*.npy"))) == 2 and not np.allclose(second, first)
