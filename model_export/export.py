"""Torch module → ONNX file with LifeUp's metadata, checked against onnxruntime.

The legacy TorchScript exporter (``dynamo=False``) is used: on this model both exporters give the
same graph and parity (TOOLING.md §7), the legacy one in 0.1 s instead of 3.5 s and without
onnxscript's console noise, and its output is byte-stable for the same weights, which lets
``lifeup train`` reproduce the shipped file exactly.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import torch

from stream.scoring.autoencoder import ModelMeta, open_session
from stream.scoring.features import N_INPUTS

OPSET = 17
PRODUCER = "lifeup-train"


def export_onnx(model: torch.nn.Module, meta: ModelMeta, path: Path) -> Path:
    """Writes ``model`` with a dynamic batch dimension and ``meta`` as ``metadata_props``."""
    model.eval()
    example = torch.zeros(
        2, N_INPUTS, meta.grid.window_bins
    )  # batch >= 2: no size-1 specialisation
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=["x"],
            output_names=["recon"],
            dynamic_axes={"x": {0: "batch"}, "recon": {0: "batch"}},
        )
    proto = onnx.load(str(path))
    onnx.helper.set_model_props(proto, meta.to_props())
    proto.producer_name = PRODUCER
    proto.doc_string = "LifeUp window autoencoder; metadata_props carry everything needed to run it"
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, str(path))
    return path


def parity(model: torch.nn.Module, path: Path, x: npt.NDArray[np.float32]) -> float:
    """Largest absolute difference between torch and onnxruntime outputs on ``x``."""
    model.eval()
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = open_session(path).run(None, {"x": x})[0]
    return float(np.abs(expected - got).max())
