"""Box generators: counts match the formulas, coverage at borders, MGCLS overlaps, banner sizes."""

from __future__ import annotations

import numpy as np
import pytest

from radiolib.tiling import (
    banner_boxes,
    box_sums,
    hulk_boxes,
    hulk_starts,
    mgcls_boxes,
    mgcls_starts,
    n_hulk_tiles,
    n_mgcls_tiles,
)

SHAPES = [(256, 256), (300, 300), (1000, 1000), (700, 600), (255, 4000), (513, 384), (4096, 257),
          (2000, 3617), (3617, 3617), (1, 1), (0, 10)]
GRIDS = [(256, 0.5), (256, 0.0), (128, 0.25), (64, 0.75), (100, 0.5)]


def coverage(shape, boxes) -> np.ndarray:
    count = np.zeros(shape, np.int32)
    for x0, y0, x1, y1 in boxes:
        count[y0:y1, x0:x1] += 1
    return count


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("size", "overlap"), GRIDS)
def test_hulk_count_matches_formula_and_boxes_are_full_tiles(shape, size, overlap):
    boxes = hulk_boxes(shape, size, overlap)
    assert len(boxes) == n_hulk_tiles(shape, size, overlap)
    assert boxes.dtype == np.int64 and boxes.shape == (len(boxes), 4)
    if len(boxes):
        assert (boxes[:, 2:] - boxes[:, :2] == size).all()
        assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= shape[1]).all()
        assert (boxes[:, 3] <= shape[0]).all()
        assert len(np.unique(boxes, axis=0)) == len(boxes)  # no tile duplicated
        order = np.lexsort((boxes[:, 0], boxes[:, 1]))
        assert (order == np.arange(len(boxes))).all()  # row-major, for streaming


@pytest.mark.parametrize("shape", [s for s in SHAPES if min(s) >= 64 and max(s) <= 2000])
@pytest.mark.parametrize(("size", "overlap"), GRIDS)
def test_hulk_covers_every_pixel_and_duplicates_only_at_the_far_border(shape, size, overlap):
    boxes = hulk_boxes(shape, size, overlap)
    if min(shape) < size:
        assert len(boxes) == 0
        return
    count = coverage(shape, boxes)
    assert count.min() >= 1  # no pixel lost at any border
    stride = round(size * (1 - overlap))
    for n in shape:
        starts = hulk_starts(n, size, overlap)
        regular = np.arange(0, n - size + 1, stride)  # the designed windows
        designed = coverage((1, n), [(s, 0, s + size, 1) for s in regular])[0]
        line = coverage((1, n), [(s, 0, s + size, 1) for s in starts])[0]
        # identical to the design except under the one edge-aligned window, which adds 1
        edge = starts[-1] if len(starts) > len(regular) else n
        np.testing.assert_array_equal(line[:edge], designed[:edge])
        assert (line[edge:] - designed[edge:] <= 1).all()
        assert len(starts) <= len(regular) + 1 and (line >= 1).all()
    # the 2-D count is the outer product of the per-axis counts
    lines = [coverage((1, n), [(s, 0, s + size, 1) for s in hulk_starts(n, size, overlap)])[0]
             for n in shape]
    np.testing.assert_array_equal(count, np.outer(*lines))


def test_hulk_defaults_are_riggi_256_half_overlap():
    np.testing.assert_array_equal(hulk_starts(1000), [0, 128, 256, 384, 512, 640, 744])
    assert n_hulk_tiles((1000, 1000)) == 49
    assert n_hulk_tiles((300, 300)) == 4  # 0 and the edge-aligned 44


@pytest.mark.parametrize(("size", "overlap", "match"), [(0, 0.5, "size"), (256, 1.0, "overlap"),
                                                        (256, -0.1, "overlap")])
def test_hulk_rejects_bad_parameters(size, overlap, match):
    with pytest.raises(ValueError, match=match):
        hulk_boxes((1000, 1000), size, overlap)


@pytest.mark.parametrize("n", [255, 256, 257, 500, 512, 700, 900, 1000, 1010, 1024, 1030, 3617,
                               3600, 4096, 4100, 7938])
@pytest.mark.parametrize("max_overlap", [10, 0, 40])
def test_mgcls_overlap_is_bounded_and_count_is_closest(n, max_overlap):
    size = 256
    starts = mgcls_starts(n, size, max_overlap)
    assert n_mgcls_tiles((n, n), size, max_overlap) == len(starts) ** 2
    assert len(mgcls_boxes((n, n), size, max_overlap)) == len(starts) ** 2
    if n < size:
        assert len(starts) == 0
        return
    assert (starts >= 0).all() and (starts + size <= n).all()
    steps = np.diff(starts)
    assert (size - steps <= max_overlap).all()  # overlap of neighbours
    if len(starts) > 1:
        assert starts[0] == 0 and starts[-1] == n - size
        assert steps.max() - steps.min() <= 1  # evenly spread
    k = len(starts)
    assert k in (n // size, -(-n // size))  # floor or ceil of n / size
    if k == n // size and k != -(-n // size) and k >= 1:  # one more crop would overlap too much
        assert -(-((k + 1) * size - n) // k) > max_overlap


def test_mgcls_examples():
    np.testing.assert_array_equal(mgcls_starts(1000), [0, 248, 496, 744])  # 4 crops, 8 px overlap
    np.testing.assert_array_equal(mgcls_starts(900), [0, 322, 644])  # 3 crops, 66 px gaps
    np.testing.assert_array_equal(mgcls_starts(300), [22])  # one crop, centred
    cover = coverage((1, 900), [(s, 0, s + 256, 1) for s in mgcls_starts(900)])[0]
    assert cover.max() == 1 and (cover == 0).sum() == 900 - 3 * 256  # remainder in the gaps


def test_banner_boxes_are_centred_and_sized():
    x, y, extent = np.array([50.2, 10.0, 399.4]), np.array([60.7, 5.0, 200.0]), [40, 4, 1000]
    boxes = banner_boxes(x, y, extent, factor=1.5, min_size=32, shape=(400, 400))
    side = boxes[:, 2] - boxes[:, 0]
    np.testing.assert_array_equal(side, [60, 32, 400])  # 1.5x, the minimum, capped at the image
    np.testing.assert_array_equal(side, boxes[:, 3] - boxes[:, 1])
    centre = (boxes[:, :2] + boxes[:, 2:] - 1) / 2
    assert np.abs(centre - np.stack([x, y], 1)).max() <= 1.0
    assert boxes[1, 0] < 0  # sticks out of the image: read as NaN, counted in nan_fraction


def test_banner_boxes_reject_bad_input():
    with pytest.raises(ValueError, match="finite"):
        banner_boxes([np.nan], [1.0], [10.0])
    with pytest.raises(ValueError, match="min_size"):
        banner_boxes([1.0], [1.0], [10.0], min_size=0)


def test_box_sums_match_brute_force():
    rng = np.random.default_rng(1)
    mask = rng.random((97, 131)) < 0.3
    boxes = np.array([[0, 0, 131, 97], [10, 20, 30, 40], [-5, -5, 10, 10], [120, 90, 200, 200],
                      [200, 200, 300, 300]])
    expected = [mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)].sum()
                for x0, y0, x1, y1 in boxes]
    np.testing.assert_array_equal(box_sums(mask, boxes), expected)


# ---------------------------------------------------------------- edges found by `make mutate`
def test_mgcls_defaults_are_lastufka_256_and_10_px():
    """n = 991: 4 crops would overlap by ceil(33 / 3) = 11 px > 10, so 3 crops (with gaps)."""
    assert len(mgcls_starts(991)) == 3 and len(mgcls_starts(991, 256, 11)) == 4
    assert n_mgcls_tiles((991, 991)) == 9 and n_mgcls_tiles((991, 991), 256, 11) == 16
    boxes = mgcls_boxes((991, 991))
    assert len(boxes) == 9 and boxes.dtype == np.int64
    assert (boxes[:, 2:] - boxes[:, :2] == 256).all()
    np.testing.assert_array_equal(mgcls_starts(301), [22])  # one crop centred: (301 - 256) // 2
    assert mgcls_starts(301).dtype == np.int64


@pytest.mark.parametrize(("size", "max_overlap"), [(0, 10), (256, -1)])
def test_mgcls_rejects_bad_parameters(size, max_overlap):
    with pytest.raises(ValueError, match="need size >= 1 and max_overlap >= 0"):
        mgcls_starts(1000, size, max_overlap)


def test_mgcls_smallest_valid_parameters():
    np.testing.assert_array_equal(mgcls_starts(4, 1, 0), [0, 1, 2, 3])  # 1-px crops, no overlap


def test_banner_boxes_exact():
    """Defaults 1.5x and 32 px; centre pixel round(x), start centre - side // 2; int64."""
    boxes = banner_boxes([50.2, 10.0, 399.4], [60.7, 5.0, 200.0], [40, 4, 1000],
                         shape=(400, 400))
    np.testing.assert_array_equal(boxes, [[20, 31, 80, 91], [-6, -11, 26, 21],
                                          [199, 0, 599, 400]])
    assert boxes.dtype == np.int64
    # a NaN extent gets the minimum side; a 1-pixel image caps every side at 1
    np.testing.assert_array_equal(banner_boxes([5.0], [5.0], [np.nan], min_size=1),
                                  [[5, 5, 6, 6]])
    np.testing.assert_array_equal(banner_boxes([0.0], [0.0], [10.0], shape=(1, 1)),
                                  [[0, 0, 1, 1]])
    # the smallest valid parameters are accepted
    np.testing.assert_array_equal(banner_boxes([5.0], [5.0], [4.0], factor=0.5, min_size=1),
                                  [[4, 4, 6, 6]])


def test_banner_boxes_reject_a_factor_of_zero():
    with pytest.raises(ValueError, match="factor > 0"):
        banner_boxes([1.0], [1.0], [10.0], factor=0.0)


def test_box_sums_of_boxes_outside_the_image_and_of_float_values():
    mask = np.ones((10, 12), bool)
    outside = [[-20, 2, -10, 8], [2, -20, 8, -10], [15, 2, 30, 8], [2, 15, 8, 30]]
    sums = box_sums(mask, outside)
    np.testing.assert_array_equal(sums, [0, 0, 0, 0])
    assert sums.dtype.kind == "i"  # counts stay integers
    # float values are summed in float64: 1 + 1 + 1 under 1e8 is not lost to float32 rounding
    values = np.array([[1e8], [1.0], [1.0], [1.0]], np.float32)
    assert box_sums(values, [[0, 1, 1, 4]])[0] == 3.0


def test_count_in_boxes_at_the_pixel_edges():
    """Box (x0, y0, x1, y1) holds x0 - 1/2 <= x < x1 - 1/2, and likewise in y."""
    from radiolib.tiling import count_in_boxes

    box = [[10, 20, 14, 24]]
    for x, y, inside in [(9.5, 20.0, True), (13.49, 23.49, True), (13.5, 21.0, False),
                         (9.49, 21.0, False), (11.0, 19.5, True), (11.0, 23.5, False),
                         (11.0, 19.49, False)]:
        counts = count_in_boxes([x], [y], box)
        assert counts.tolist() == [int(inside)], (x, y)
        assert counts.dtype == np.int64
    x, y = [11.0, 12.0, 30.0, 11.0], [21.0, 22.0, 21.0, 40.0]
    np.testing.assert_array_equal(count_in_boxes(x, y, [[10, 20, 14, 24], [0, 0, 100, 100]]),
                                  [2, 4])


@pytest.mark.parametrize("shape", [(-1, 300), (300, -1), (-5, -5)])
def test_negative_shapes_are_rejected(shape):
    for make in (hulk_boxes, mgcls_boxes, n_hulk_tiles, n_mgcls_tiles):
        with pytest.raises(ValueError, match=r"shape must be non-negative, got \("):
            make(shape)


@pytest.mark.parametrize("shape", [(0, 300), (300, 0), (0, 0)])
def test_an_empty_axis_gives_no_box(shape):
    assert hulk_boxes(shape).shape == (0, 4) and n_hulk_tiles(shape) == 0
    assert mgcls_boxes(shape).shape == (0, 4) and n_mgcls_tiles(shape) == 0
    assert hulk_starts(0).dtype == np.int64  # an empty axis still has integer starts


def test_shapes_with_leading_axes_use_the_last_two():
    """A cube's shape (channels, ny, nx), as ``data.shape`` gives it, tiles its image plane."""
    np.testing.assert_array_equal(hulk_boxes((3, 600, 500)), hulk_boxes((600, 500)))
    np.testing.assert_array_equal(mgcls_boxes((2, 1, 991, 700)), mgcls_boxes((991, 700)))
    assert n_hulk_tiles((3, 600, 500)) == n_hulk_tiles((600, 500)) == 12


@pytest.mark.parametrize(("n", "size", "overlap"), [(5, 1, 0.0), (6, 3, 0.9), (9, 2, 0.5)])
def test_hulk_smallest_sizes_and_strides(n, size, overlap):
    """1-px windows are valid; a stride rounding to 0 pixels is 1 (every start, never stuck)."""
    stride = max(1, round(size * (1 - overlap)))
    expected = list(range(0, n - size + 1, stride))  # plain loop; here all end at the edge
    assert expected[-1] == n - size
    np.testing.assert_array_equal(hulk_starts(n, size, overlap), expected)
    assert n_hulk_tiles((n, n), size, overlap) == len(expected) ** 2


def test_hulk_boxes_and_mgcls_counts_default_to_256_px():
    boxes = hulk_boxes((1000, 1000))
    assert len(boxes) == 49 and (boxes[:, 2:] - boxes[:, :2] == 256).all()
    assert n_mgcls_tiles((256, 256)) == 1 and n_mgcls_tiles((255, 256)) == 0


def test_box_sums_of_fractional_float_values_match_a_loop():
    """Fractions are summed as floats (an integer integral image would truncate them)."""
    values = np.random.default_rng(3).uniform(0, 1, (9, 11))
    boxes = [[0, 0, 11, 9], [2, 3, 7, 8], [-3, -3, 4, 2], [5, 5, 20, 20]]
    expected = [values[max(y0, 0):y1, max(x0, 0):x1].sum() for x0, y0, x1, y1 in boxes]
    np.testing.assert_allclose(box_sums(values, boxes), expected, rtol=1e-12)
