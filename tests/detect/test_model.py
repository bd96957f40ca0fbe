"""The detector: SimCLR weights in its trunk, frozen stages stay put, checkpoints, forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.ops.misc import FrozenBatchNorm2d

from radiolib.detect import (
    DetectionImage,
    build_detector,
    load_detect_config,
    load_detector,
    predict,
    recalibrate_norms,
    save_detector,
    train_detector,
)
from radiolib.errors import ConfigError, DataError
from radiolib.ssl import ImageTensors, SimCLRConfig, train
from radiolib.ssl.checkpoint import load_checkpoint

TINY_SSL = dict(image_size=32, epochs=1, batch_size=8, warmup_epochs=0, proj_hidden_dim=32,
                proj_out_dim=16, log_every=1, num_workers=0)
#: Few proposals and a small batch, so that a step takes about a second on a CPU.
FAST = dict(image_size=64, batch_size=2, rpn_pre_nms_top_n_train=200,
            rpn_post_nms_top_n_train=100, rpn_pre_nms_top_n_test=100,
            rpn_post_nms_top_n_test=50, box_batch_size_per_image=32,
            rpn_batch_size_per_image=64)


@pytest.fixture(scope="module")
def simclr_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("simclr")
    data = ImageTensors(torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(3)))
    train(SimCLRConfig(**TINY_SSL), data, out_dir=out, max_steps=1, progress=False)
    return out


def toy_images(n=4, size=64, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    out = []
    for _ in range(n):
        pix = rng.normal(0, 1e-4, (size, size)).astype(np.float32)
        masks, labels = [], []
        for label, sigma in ((2, 1.5), (3, 4.0)):  # a COMPACT and an EXTENDED blob
            x, y = rng.uniform(12, size - 12, 2)
            blob = np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
            pix += (5e-3 * blob).astype(np.float32)
            masks.append(blob > 0.1)
            labels.append(label)
        out.append(DetectionImage(pix, np.array(masks), np.array(labels), np.array([50., 50.]),
                                  np.array([1, 2])))
    return out


def test_trunk_holds_the_simclr_weights(simclr_run):
    config = load_detect_config().replace(**FAST)
    model = build_detector(config, simclr_run, device="cpu")
    saved = load_checkpoint(simclr_run / "checkpoint.pt")["model"]
    trunk = model.backbone.body
    for name in ("conv1.weight", "layer1.0.conv1.weight", "layer4.1.conv2.weight",
                 "layer3.0.bn1.running_var"):
        ours = trunk.state_dict()[name]
        theirs = next(v for k, v in saved.items() if k.endswith("backbone." + name))
        torch.testing.assert_close(ours, theirs)
    random_model = build_detector(config, "random:resnet18", device="cpu")
    assert not torch.equal(random_model.backbone.body.conv1.weight, trunk.conv1.weight)


def test_frozen_stages_do_not_move_and_the_rest_does(simclr_run):
    config = load_detect_config().replace(**FAST, trainable_layers=1)  # layer4 only
    model = build_detector(config, simclr_run, device="cpu")
    before = {k: v.detach().clone() for k, v in model.named_parameters()}  # weights, not stats
    losses = train_detector(model, toy_images(2), config, steps=1, progress=False)
    assert np.isfinite(losses["loss"]).all()
    after = dict(model.named_parameters())
    for k in before:
        if k.startswith(("backbone.body.conv1", "backbone.body.bn1", "backbone.body.layer1",
                         "backbone.body.layer2", "backbone.body.layer3")):
            torch.testing.assert_close(after[k], before[k], msg=k)
    assert not torch.equal(after["backbone.body.layer4.0.conv1.weight"],
                           before["backbone.body.layer4.0.conv1.weight"])
    assert not torch.equal(after["roi_heads.box_predictor.cls_score.weight"],
                           before["roi_heads.box_predictor.cls_score.weight"])


def test_recalibrated_norms_normalise_a_trunk_whose_statistics_do_not_fit(simclr_run):
    config = load_detect_config().replace(**FAST)
    trunk = build_detector(config, simclr_run, device="cpu").backbone.body
    for m in trunk.modules():  # statistics far from the activations, as after a short SSL run
        if isinstance(m, FrozenBatchNorm2d):
            m.running_var.mul_(0.25)  # each norm doubles what it passes on
    x = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert trunk(x)["3"].abs().mean() > 100
        assert recalibrate_norms(trunk, x) == 20  # every batch norm of a ResNet18
        seen = {}
        hooks = [m.register_forward_pre_hook(
            lambda mod, a, key=name: seen.__setitem__(key, a[0]))
            for name, m in trunk.named_modules() if isinstance(m, FrozenBatchNorm2d)]
        out = trunk(x)
        for h in hooks:
            h.remove()
    assert out["3"].abs().mean() < 10
    for name, m in trunk.named_modules():  # each norm holds the statistics of its own input
        if isinstance(m, FrozenBatchNorm2d):
            torch.testing.assert_close(m.running_mean, seen[name].mean(dim=(0, 2, 3)))
            torch.testing.assert_close(m.running_var, seen[name].var(dim=(0, 2, 3),
                                                                     unbiased=False))


@pytest.mark.slow
def test_training_from_a_short_simclr_run_stays_finite_and_learns(simclr_run):
    config = load_detect_config().replace(**FAST, trainable_layers=5, warmup_steps=4)
    model = build_detector(config, simclr_run, device="cpu")
    losses = train_detector(model, toy_images(4), config, steps=10, progress=False)["loss"]
    assert np.isfinite(losses).all() and losses.max() < 100
    assert losses.iloc[-3:].mean() < losses.iloc[:3].mean()


def test_forward_pass_and_checkpoint_round_trip(tmp_path):
    config = load_detect_config().replace(**FAST)
    model = build_detector(config, "random:resnet18", device="cpu")
    images = toy_images(2)
    out = predict(model, images, config)
    assert len(out) == 2 and out[0]["masks"].shape[1:] == (64, 64)
    assert out[0]["masks"].dtype == bool and len(out[0]["labels"]) == len(out[0]["scores"])
    path = save_detector(tmp_path / "detector.pt", model, config, init="random:resnet18")
    again, config2 = load_detector(tmp_path, device="cpu")
    assert config2 == config
    for a, b in zip(out, predict(again, images, config2), strict=True):
        np.testing.assert_array_equal(a["labels"], b["labels"])
    torch.save({"format": "radiolib.detect/0", "model": {}}, path)
    with pytest.raises(DataError, match="retrain the detector with this version"):
        load_detector(path)
    with pytest.raises(DataError, match="no detector at"):
        load_detector(tmp_path / "none.pt")


def test_a_dino_or_resnet50_backbone_is_refused():
    with pytest.raises(ConfigError, match="3-channel ResNet18"):
        build_detector(load_detect_config().replace(**FAST), "random:resnet50", device="cpu")


def test_config_is_checked_and_paper_values_match_published_rows():
    from radiolib.published import published_rows

    config = load_detect_config()
    rows = {r["key"]: r for r in published_rows()}
    assert set(config.provenance) == set(config.to_dict())  # every key says where it comes from
    for key, entry in config.provenance.items():
        refs = entry.get("ref")
        if refs is None:
            continue
        value = getattr(config, key)
        values = list(value) if isinstance(value, tuple) else [value]
        refs = refs if isinstance(refs, list) else [refs]
        assert values == [rows[r]["value"] for r in refs], key
    with pytest.raises(ConfigError, match="unknown detector config key"):
        load_detect_config({"method": "maskrcnn", "bogus": 1})
    with pytest.raises(ConfigError, match="'iou_threshold'"):
        config.replace(iou_threshold=1.5)


def test_heads_cut_at_the_score_threshold_keep_the_same_detections():
    from radiolib.detect.mosaic import for_catalogue

    config = load_detect_config().replace(**FAST, box_detections_per_img=10)
    model = build_detector(config, "random:resnet18", device="cpu").eval()
    images = toy_images(3)
    low = predict(model, images, config)
    scores = np.concatenate([p["scores"] for p in low])
    threshold = float(np.quantile(scores, 0.6))  # untrained heads: scores close together
    config = config.replace(score_threshold=threshold)
    cut = predict(for_catalogue(model, config), images, config)
    assert (scores < threshold).any() and (scores >= threshold).any()
    for a, b in zip(low, cut, strict=True):
        keep = a["scores"] > threshold
        assert len(b["scores"]) == keep.sum()
        np.testing.assert_allclose(b["scores"], a["scores"][keep], rtol=1e-6)
        np.testing.assert_array_equal(b["labels"], a["labels"][keep])
        np.testing.assert_array_equal(b["masks"], a["masks"][keep])
