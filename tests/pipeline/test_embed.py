import numpy as np
import pytest

from app.pipeline import models
from app.pipeline.embed import FaceNetEmbedder, check_crops, l2_normalise, standardise
from app.pipeline.errors import ModelError


def test_standardise_fixed_range():
    crops = np.array([0, 127, 128, 255], np.uint8).reshape(1, 1, 4, 1)
    out = standardise(crops)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.ravel(), [-127.5 / 128, -0.5 / 128, 0.5 / 128, 127.5 / 128])


def test_l2_normalise_unit_rows_and_zero_rows():
    out = l2_normalise(np.array([[3.0, 4.0], [0.0, 0.0]]))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0]])


@pytest.mark.parametrize("shape, dtype", [((160, 160, 3), np.uint8), ((2, 112, 112, 3), np.uint8),
                                          ((2, 160, 160, 3), np.float32)])
def test_check_crops_rejects_bad_input(shape, dtype):
    with pytest.raises(ValueError, match="crops_rgb"):
        check_crops(np.zeros(shape, dtype))


def test_embedder_missing_model_names_fix(tmp_path):
    with pytest.raises(ModelError, match="make setup"):
        FaceNetEmbedder(models_dir=tmp_path)


def test_embedder_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        FaceNetEmbedder(batch_size=0)


@pytest.fixture(scope="module")
def facenet_pair():
    try:
        models.model_path(models.FACENET)
    except ModelError as error:
        pytest.skip(f"FaceNet is not installed here: {error}")
    single, batched = FaceNetEmbedder(batch_size=1), FaceNetEmbedder(batch_size=16)
    yield single, batched
    single.close()
    batched.close()


@pytest.mark.models
def test_facenet_batched_graph_matches_frozen_graph(facenet_pair):
    single, batched = facenet_pair
    rng = np.random.default_rng(0)
    crops = rng.integers(0, 256, (19, 160, 160, 3), dtype=np.uint8)  # 16 + a partial batch
    a, b = single.embed(crops), batched.embed(crops)
    assert a.shape == b.shape == (19, 512) and b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(a, b, atol=1e-4)
    assert batched.embed(np.zeros((0, 160, 160, 3), np.uint8)).shape == (0, 512)


@pytest.mark.models
@pytest.mark.parametrize("turns", [1, 2, 3])
def test_lying_face_found_on_a_turned_frame_embeds_like_the_upright_face(facenet_pair, centerface, turns):
    """--only / --keep for a person lying down: the turned pass's landmarks, turned back, align
    the face upright, so its embedding matches the upright face's (a mirrored face's landmarks
    would give a mirrored crop)."""
    from pathlib import Path

    import cv2

    from app.pipeline.align import align_face
    from app.pipeline.detect import detect_turned

    _, embedder = facenet_pair
    face = cv2.cvtColor(cv2.imread(str(Path(__file__).parents[1] / "data" / "face.png")), cv2.COLOR_BGR2RGB)
    upright = centerface.detect(face, 640)
    lying = np.ascontiguousarray(np.rot90(face, -turns))  # upright on the frame turned `turns` quarters
    found = detect_turned(centerface, lying, turns, 640)
    assert len(upright) == len(found) == 1
    a, b = embedder.embed(np.stack([align_face(face, upright.landmarks[0]),
                                    align_face(lying, found.landmarks[0])]))
    assert float(a @ b) > 0.95
