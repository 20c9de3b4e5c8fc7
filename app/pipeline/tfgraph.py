"""Frozen TensorFlow graphs (FaceNet; setup converts RetinaFace's to ONNX): import TensorFlow quietly, load a graph
file (optionally patched in memory first) and open a session on it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def import_tensorflow():
    """Import TensorFlow without its start-up banner on stderr (oneDNN notices written by C++
    logging before TF_CPP_MIN_LOG_LEVEL applies); Python errors still propagate."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return tf


def frozen_graph_session(path: Path, threads: int, patch: Callable | None = None):
    """(graph, session) for the frozen graph in ``path``; ``patch(graph_def)`` edits it in
    memory before import (the file on disk, and so its SHA-256, never changes)."""
    tf = import_tensorflow()
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(Path(path).read_bytes())
    if patch is not None:
        patch(graph_def)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    config = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=threads,
                                      inter_op_parallelism_threads=1)
    return graph, tf.compat.v1.Session(graph=graph, config=config)
