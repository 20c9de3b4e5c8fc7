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
