import numpy as np
import pytest

from app.pipeline.redact import cell_px_for, mosaic, redact_frame, shape_mask
from app.pipeline.types import RedactOptions, RedactShape, RedactStyle
from tests.media import texture


def frame(h=120, w=160):
    return np.ascontiguousarray(np.tile(texture(160, 3), (1, 1, 1))[:h, :w])


def changed(a, b):
    return np.any(a != b, axis=2)


@pytest.mark.parametrize("style", list(RedactStyle))
@pytest.mark.parametrize("shape", list(RedactShape))
def test_redact_changes_only_pixels_inside_the_shape(style, shape):
    image = frame()
    box = np.array([40.0, 30.0, 100.0, 90.0])
    out = redact_frame(image, [box], RedactOptions(style=style, shape=shape))
    mask = np.zeros(image.shape[:2], bool)
    mask[30:90, 40:100] = shape_mask(box, (40, 30, 100, 90), shape)
    assert not changed(image, out)[~mask].any()
    # Nearly every pixel of a textured region inside the shape changes.
    assert changed(image, out)[mask].mean() > 0.9
    assert out is not image and np.shares_memory(out, image) is False


def test_redact_does_not_modify_its_input():
    image = frame()
    before = image.copy()
    redact_frame(image, [np.array([10.0, 10.0, 50.0, 50.0])], RedactOptions())
    assert np.array_equal(image, before)


def test_mosaic_face_spans_at_most_eight_cells():
    box_w = 97
    cell = cell_px_for(box_w, 60, 8)
    assert box_w / cell <= 8
    region = texture(97, 5)
    out = mosaic(region, cell)
    # Count distinct cells along the top row: runs of equal colour.
    row = out[0]
    runs = 1 + np.count_nonzero(np.any(row[1:] != row[:-1], axis=1))
    assert runs <= 8


def test_mosaic_cells_are_exact_means():
    region = np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3)
    out = mosaic(region, 2)
    assert np.array_equal(out[0, 0], np.rint(region[:2, :2].reshape(-1, 3).mean(axis=0)).astype(np.uint8))
    assert np.array_equal(out[0, 0], out[1, 1])


def test_pixelate_box_smaller_than_block():
    image = frame()
    box = np.array([51.0, 51.0, 54.0, 53.0])  # 3x2 px, cells of 2 px
    out = redact_frame(image, [box], RedactOptions(shape=RedactShape.BOX))
    assert changed(image, out)[51:53, 51:54].any()
    assert len(np.unique(out[51:53, 51:54].reshape(-1, 3), axis=0)) <= 2  # two cells at most
    assert not changed(image, out)[:51].any()


def test_sub_pixel_box_still_hides_its_pixel():
    image = frame()
    out = redact_frame(image, [np.array([10.2, 10.2, 10.6, 10.6])],
                       RedactOptions(style=RedactStyle.SOLID))
    assert (out[10, 10] == 0).all()


@pytest.mark.parametrize("box", [[-30, -20, 40, 50], [130, 90, 200, 160], [-10, 50, 170, 70]])
def test_redact_box_crossing_frame_edges(box):
    image = frame()
    out = redact_frame(image, [np.array(box, float)], RedactOptions(style=RedactStyle.SOLID,
                                                                    shape=RedactShape.BOX))
    x1, y1 = max(box[0], 0), max(box[1], 0)
    x2, y2 = min(box[2], 160), min(box[3], 120)
    assert (out[y1:y2, x1:x2] == 0).all()
    assert out.shape == image.shape


def test_box_entirely_outside_frame_changes_nothing():
    image = frame()
    out = redact_frame(image, [np.array([200.0, 200.0, 240.0, 240.0])], RedactOptions())
    assert np.array_equal(out, image)


def test_overlapping_boxes_hide_their_union():
    image = frame()
    boxes = [np.array([20.0, 20.0, 80.0, 80.0]), np.array([60.0, 40.0, 120.0, 100.0])]
    out = redact_frame(image, boxes, RedactOptions(shape=RedactShape.BOX))
    union = np.zeros(image.shape[:2], bool)
    union[20:80, 20:80] = True
    union[40:100, 60:120] = True
    diff = changed(image, out)
    assert diff[union].mean() > 0.9
    assert not diff[~union].any()


def test_blur_destroys_fine_detail():
    image = frame()
    out = redact_frame(image, [np.array([0.0, 0.0, 160.0, 120.0])],
                       RedactOptions(style=RedactStyle.BLUR, shape=RedactShape.BOX))
    detail_before = np.abs(np.diff(image.astype(int), axis=1)).mean()
    detail_after = np.abs(np.diff(out.astype(int), axis=1)).mean()
    assert detail_after < detail_before / 10


@pytest.mark.parametrize("style", list(RedactStyle))
@pytest.mark.parametrize("h", [40, 42])  # 42: chroma rows (21) do not fill whole luma rows
def test_redact_yuv420_hides_luma_and_chroma_inside_only(style, h):
    from app.pipeline.redact import redact_yuv420

    rng = np.random.default_rng(0)
    w = 64
    planes = rng.integers(0, 256, (h * 3 // 2, w), dtype=np.uint8)
    out = redact_yuv420(planes, [np.array([10.0, 8.0, 30.0, 28.0])],
                        RedactOptions(style=style, shape=RedactShape.BOX))
    luma_changed = out[:h] != planes[:h]
    assert luma_changed[8:28, 10:30].mean() > 0.9 and not luma_changed[:8].any()
    assert not luma_changed[:, 30:].any()
    chroma = (h // 2) * (w // 2)
    u_before = planes.reshape(-1)[h * w:h * w + chroma].reshape(h // 2, w // 2)
    u_after = out.reshape(-1)[h * w:h * w + chroma].reshape(h // 2, w // 2)
    assert (u_after != u_before)[4:14, 5:15].mean() > 0.9
    assert not (u_after != u_before)[:, 15:].any()
    if style == RedactStyle.SOLID:
        assert (out[8:28, 10:30] == 16).all() and (u_after[4:14, 5:15] == 128).all()


def test_small_face_gets_cells_of_at_least_eight_px():
    # A 24-px box would get 3-px cells from "8 cells across"; tiny cells keep a small face's
    # outline, so cells never go under min_cell_px (8 by default).
    assert cell_px_for(24, 24, 8) == 3
    assert cell_px_for(24, 24, 8, RedactOptions().min_cell_px) == 8
    image = texture(64, 9)
    out = redact_frame(image, [np.array([20.0, 20.0, 44.0, 44.0])], RedactOptions(shape=RedactShape.BOX))
    row = out[30, 20:44]
    runs = 1 + np.count_nonzero(np.any(row[1:] != row[:-1], axis=1))
    assert runs == 3  # 24 px in cells of 8
    with pytest.raises(ValueError, match="min_cell_px"):
        RedactOptions(min_cell_px=1)
