import shutil

import pytest

from app.pipeline import models
from app.pipeline.errors import ModelError


def test_missing_model_names_file_and_fix(tmp_path):
    with pytest.raises(ModelError) as caught:
        models.model_path(models.CENTERFACE, tmp_path)
    message = str(caught.value)
    assert "centerface-dynamic.onnx" in message and "make setup" in message


def test_altered_model_is_refused(tmp_path):
    (tmp_path / models.FACENET.name).write_bytes(b"not the real graph")
    with pytest.raises(ModelError, match="SHA-256"):
        models.model_path(models.FACENET, tmp_path)


@pytest.mark.models
def test_installed_models_verify(centerface, tmp_path):
    assert models.verify_models() == {m.name: m.sha256 for m in models.ALL_MODELS}
    # A copy with one byte changed is refused even though its size is right.
    original = models.model_path(models.CENTERFACE_ORIGINAL)
    copy = tmp_path / original.name
    shutil.copy(original, copy)
    data = bytearray(copy.read_bytes())
    data[1000] ^= 0xFF
    copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="altered"):
        models.model_path(models.CENTERFACE_ORIGINAL, tmp_path)
