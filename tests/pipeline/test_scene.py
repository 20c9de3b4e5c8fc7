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

    from app.pipeline.scene import frame_signature_yuv420

    image = draw_frame(160, 118, 0, [Square(10, 10, 40)], background=60)
    frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
    from_rgb = frame_signature(frame.to_ndarray(format="rgb24"))
    from_yuv = frame_signature_yuv420(frame.to_ndarray())
    assert np.abs(from_rgb - from_yuv).sum() / 2 < 0.15
    assert not is_scene_cut(from_rgb, from_yuv)
