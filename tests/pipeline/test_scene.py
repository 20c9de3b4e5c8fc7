import numpy as np

from app.pipeline.scene import frame_signature, is_scene_cut
from tests.media import Square, draw_frame


def test_moving_square_is_not_a_cut():
    a = frame_signature(draw_frame(160, 120, 0, [Square(10, 10, 40, vx=5)]))
    b = frame_signature(draw_frame(160, 120, 8, [Square(10, 10, 40, vx=5)]))
    assert not is_scene_cut(a, b)


def test_new_scene_is_a_cut():
    a = frame_signature(draw_frame(160, 120, 0, [Square(10, 10, 40)], background=30))
    image = np.zeros((120, 160, 3), np.uint8)
    image[..., 0] = 230
    b = frame_signature(image)
    assert is_scene_cut(a, b)


def test_first_frame_is_not_a_cut():
    assert not is_scene_cut(None, frame_signature(np.zeros((10, 10, 3), np.uint8)))


def test_yuv_signature_matches_rgb_signature():
    import av

    from app.pipeline.decode import yuv420_planes
    from app.pipeline.scene import frame_signature_yuv420

    image = draw_frame(160, 118, 0, [Square(10, 10, 40)], background=60)
    frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    from_rgb = frame_signature(frame.to_ndarray(format="rgb24"))
    from_yuv = frame_signature_yuv420(*yuv420_planes(frame))
    assert np.abs(from_rgb - from_yuv).sum() / 2 < 0.15
    assert not is_scene_cut(from_rgb, from_yuv)


def test_cut_found_at_1080p_and_a_moving_square_is_not_one():
    """The signature reads a sample of a large frame's pixels: a change of scene still counts,
    a square moving across the same background does not."""
    a = frame_signature(draw_frame(1920, 1080, 0, [Square(100, 100, 300, vx=40)], background=40))
    b = frame_signature(draw_frame(1920, 1080, 10, [Square(100, 100, 300, vx=40)], background=40))
    c = frame_signature(draw_frame(1920, 1080, 0, [Square(900, 500, 300)], background=200))
    assert not is_scene_cut(a, b)
    assert is_scene_cut(b, c)


def test_yuv420_planes_are_the_frame_pixels_without_row_padding():
    import av

    from app.pipeline.decode import yuv420_planes

    image = draw_frame(150, 86, 0, [Square(10, 10, 40)], background=60)  # rows padded by FFmpeg
    frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    packed = frame.to_ndarray()
    y, u, v = yuv420_planes(frame)
    assert y.shape == (86, 150) and u.shape == v.shape == (43, 75)
    assert frame.planes[0].line_size > 150
    chroma = 43 * 75
    flat = packed.reshape(-1)
    assert np.array_equal(y, flat[:86 * 150].reshape(86, 150))
    assert np.array_equal(u, flat[86 * 150:86 * 150 + chroma].reshape(43, 75))
    assert np.array_equal(v, flat[86 * 150 + chroma:].reshape(43, 75))
