"""RetinaFace on ONNX Runtime: the file setup converts from the shipped TensorFlow graph finds
the same faces, and the conversion's own steps (canonical naming, the resize rewrite) change
nothing but names."""

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from app.pipeline import models
from app.pipeline.boxes import iou_matrix

ROOT = Path(__file__).resolve().parents[2]
FACE = cv2.cvtColor(cv2.imread(str(ROOT / "tests" / "data" / "face.png")), cv2.COLOR_BGR2RGB)


def install_models():
    spec = importlib.util.spec_from_file_location("install_models", ROOT / "scripts" / "install_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(model: onnx.ModelProto, feeds: dict) -> list:
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)


def faces_frame() -> np.ndarray:
    """720x1280, a seeded textured background (for weak false detections) and the test face
    at 24, 48, 96 and 200 px."""
    rng = np.random.default_rng(7)
    frame = cv2.GaussianBlur(rng.integers(0, 256, (720, 1280, 3), dtype=np.uint8), (0, 0), 3)
    for (x, y), side in zip(((60, 80), (300, 300), (600, 120), (900, 400)), (24, 48, 96, 200)):
        frame[y:y + side, x:x + side] = cv2.resize(FACE, (side, side), interpolation=cv2.INTER_AREA)
    return frame


@pytest.mark.models
def test_same_faces_as_the_shipped_tensorflow_graph(retinaface):
    """The ONNX file finds what the frozen graph it came from finds (its NMS floor lowered to
    0.1 in memory, as Veil ran it before): the same faces, boxes within 0.01 px, scores within
    1e-4, at the sizes the photo passes use."""
    from app.pipeline.detect import detect_resized
    from app.pipeline.retinaface import shipped_graph

    shipped = shipped_graph(min_score=0.1)
    frame = faces_frame()
    for side in (640, 1280, 2560):
        theirs = detect_resized(shipped, frame, side)
        ours = retinaface.detect(frame, side)
        assert len(ours) == len(theirs) > 0
        order = iou_matrix(theirs.xyxy, ours.xyxy).argmax(axis=1)
        np.testing.assert_allclose(ours.xyxy[order], theirs.xyxy, atol=0.01)
        np.testing.assert_allclose(ours.score[order], theirs.score, atol=1e-4)
    found = retinaface.detect(frame, 1280)
    centres = (found.xyxy[:, :2] + found.xyxy[:, 2:]) / 2
    for (x0, y0), side in zip(((300, 300), (600, 120), (900, 400)), (48, 96, 200)):
        inside = ((centres >= [x0, y0]) & (centres <= [x0 + side, y0 + side])).all(axis=1)
        assert found.score[inside].max() >= 0.85


@pytest.mark.models
def test_score_floor_lets_weaker_faces_through(retinaface):
    """The graph's NMS once dropped everything under 0.5; the converted graph takes the floor
    as an input: at 0.1 it reports faces under 0.5 (the 24-px face, at 2x) as well as every
    face of a 0.6 floor."""
    from app.pipeline.retinaface import RetinaFace

    frame = faces_frame()
    strict = RetinaFace(min_score=0.6).detect(frame, 2560)
    loose = retinaface.detect(frame, 2560)
    assert loose.score.min() >= 0.1 and strict.score.min() >= 0.6
    assert ((loose.score > 0.1) & (loose.score < 0.5)).any()
    assert (iou_matrix(strict.xyxy, loose.xyxy).max(axis=1) > 0.99).all()


def test_canonical_onnx_depends_only_on_the_graph():
    """Two files of one computation, named and ordered differently (a repeated node, an
    initializer under two names), come out as the same bytes, and compute what they did."""
    canonical_onnx = install_models().canonical_onnx
    weight = np.arange(6, dtype=np.float32).reshape(2, 3)

    def model(names, order):
        w1, w2, a, b, c = names
        nodes = {
            "mul": helper.make_node("Mul", ["x", w1], [a], name=f"{a}_mul"),
            "relu": helper.make_node("Relu", [a], [b], name=f"{b}_relu"),
            "relu_again": helper.make_node("Relu", [a], [c], name=f"{c}_relu"),  # the same as relu
            "add": helper.make_node("Add", [b, c], ["t"], name="add"),
            "sub": helper.make_node("Sub", ["t", w2], ["y"], name=f"{w2}_sub"),
        }
        graph = helper.make_graph(
            [nodes[k] for k in order], "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
            [numpy_helper.from_array(weight, w1), numpy_helper.from_array(weight, w2)])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])

    first = model(("w1", "w2", "a", "b", "c"), ["mul", "relu", "relu_again", "add", "sub"])
    second = model(("k", "j", "p", "q", "r"), ["mul", "relu_again", "relu", "add", "sub"])
    assert first.SerializeToString() != second.SerializeToString()
    one, two = canonical_onnx(first), canonical_onnx(second)
    assert one.SerializeToString() == two.SerializeToString()
    assert len(one.graph.node) == 4 and len(one.graph.initializer) == 1
    x = np.linspace(-3, 3, 6, dtype=np.float32).reshape(2, 3)
    expected = 2 * np.maximum(x * weight, 0) - weight
    for m in (first, one):
        np.testing.assert_array_equal(run(m, {"x": x})[0], expected)


def test_half_pixel_rewrite_picks_the_same_pixels():
    """The rewritten nearest resize reads the same source pixels as TensorFlow's half-pixel
    nearest (tf2onnx's 'tf_half_pixel_for_nn', 'floor'), for whole and fractional scales."""
    set_nearest_half_pixel = install_models().set_nearest_half_pixel
    rng = np.random.default_rng(1)
    for (h, w), (out_h, out_w) in (((5, 7), (10, 14)), ((5, 7), (13, 9)), ((6, 4), (17, 4)), ((8, 8), (3, 5))):
        node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="nearest",
                                nearest_mode="floor", coordinate_transformation_mode="tf_half_pixel_for_nn")
        graph = helper.make_graph(
            [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, h, w])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            [numpy_helper.from_array(np.array([1, 1, out_h, out_w], np.int64), "sizes")])
        before = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        after = onnx.ModelProto()
        after.CopyFrom(before)
        set_nearest_half_pixel(after.graph.node[0])
        x = rng.random((1, 1, h, w), dtype=np.float32)
        rows = np.minimum(((np.arange(out_h) + 0.5) * h / out_h).astype(int), h - 1)
        cols = np.minimum(((np.arange(out_w) + 0.5) * w / out_w).astype(int), w - 1)
        np.testing.assert_array_equal(run(after, {"x": x})[0], x[:, :, rows][:, :, :, cols])
        np.testing.assert_array_equal(run(after, {"x": x})[0], run(before, {"x": x})[0])
