"""Convert MediaPipe 0.10.21's face networks to the ONNX files tamis ships (run once).

tamis runs MediaPipe's BlazeFace (full and short range) and Face Mesh with attention
through ONNX Runtime (src/tamis/detectors/facenets.py), so that a plain `pip install tamis`
works on numpy 2 without mediapipe (which pins numpy below 2 and pulls jax). The weights
are MediaPipe's (Apache-2.0), unchanged; this script only changes their container:

  1. extract  (in a venv with mediapipe==0.10.21): copy the three .tflite files out of the
     wheel (SHA-256 checked), read the face mesh graph's landmark refinement maps, and
     record MediaPipe's own results on reference images (tests/data/faces_mediapipe.json).
  2. convert  (in a venv with tensorflow-cpu, tf2onnx, ai-edge-litert): densify the
     full-range model's sparse weights (DENSIFY is not an ONNX op), cut the mesh model
     around its three MediaPipe custom ops (run in numpy by tamis), convert each piece
     with tf2onnx, check every ONNX output against LiteRT on the original .tflite, and
     write src/tamis/detectors/face_models/ with a MANIFEST.json of SHA-256s and versions.
  3. verify   (in tamis's own venv): tests/test_faces_port.py compares tamis with the
     recorded MediaPipe results.

    python3 -m venv /tmp/mp && /tmp/mp/bin/pip install mediapipe==0.10.21 opencv-python-headless
    /tmp/mp/bin/python scripts/convert_face_models.py extract --work /tmp/facework
    python3 -m venv /tmp/conv && /tmp/conv/bin/pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 \
        ai-edge-litert==2.3.0 onnxruntime
    /tmp/conv/bin/python scripts/convert_face_models.py convert --work /tmp/facework
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "tamis" / "detectors" / "face_models"
SOURCES = {  # file in the mediapipe 0.10.21 wheel -> its SHA-256 (as tamis recorded it before)
    "modules/face_detection/face_detection_full_range_sparse.tflite":
        "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    "modules/face_detection/face_detection_short_range.tflite":
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    "modules/face_landmark/face_landmark_with_attention.tflite":
        "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4",
}
#: The mesh graph's refinement of the 468-point mesh by the lips, eye and iris outputs, in
#: the network's output order: (output, z refinement). Their index maps come from the graph.
REFINEMENT_Z = ["copy", "none", "none", "none", "average", "average"]
#: Iris depth is the mean depth of these eye-contour points (the graph's z_refinement).
IRIS_Z_FROM = {4: [33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157, 173],
               5: [263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384, 398]}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- 1. extract (mediapipe venv) -----------------------------------------------------------------

def extract(work: Path) -> None:
    import mediapipe

    work.mkdir(parents=True, exist_ok=True)
    root = Path(mediapipe.__file__).parent
    for rel, digest in SOURCES.items():
        got = sha256(root / rel)
        if got != digest:
            sys.exit(f"{rel}: SHA-256 {got}, expected {digest}: not mediapipe 0.10.21's file")
        shutil.copy(root / rel, work / Path(rel).name)
    maps = _refinement_maps(root / "modules/face_landmark/face_landmark_front_cpu.binarypb")
    (work / "refinement.json").write_text(json.dumps(maps))
    print(f"copied {len(SOURCES)} networks and {len(maps)} refinement maps to {work}")


def _refinement_maps(graph: Path) -> list[list[int]]:
    """The indexes_mapping of each LandmarksRefinementCalculator refinement, in order."""
    import importlib
    import pkgutil

    import mediapipe.calculators
    from mediapipe.framework import calculator_pb2
    from mediapipe.python._framework_bindings import validated_graph_config

    for m in pkgutil.walk_packages(mediapipe.calculators.__path__, "mediapipe.calculators."):
        if m.name.endswith("_pb2"):
            importlib.import_module(m.name)
    from mediapipe.calculators.util import landmarks_refinement_calculator_pb2 as refinement_pb2

    v = validated_graph_config.ValidatedGraphConfig()
    v.initialize(binary_graph_path=str(graph))
    config = calculator_pb2.CalculatorGraphConfig()
    config.ParseFromString(v.binary_config)
    for node in config.node:
        if "LandmarksRefinement" in node.calculator:
            opts = node.options.Extensions[refinement_pb2.LandmarksRefinementCalculatorOptions.ext]
            return [list(r.indexes_mapping) for r in opts.refinement]
    sys.exit(f"{graph}: no LandmarksRefinementCalculator")


# -- 2. convert (tensorflow + tf2onnx + LiteRT venv) -----------------------------------------------

def convert(work: Path) -> None:
    import numpy as np

    facenets = _facenets()

    OUT.mkdir(parents=True, exist_ok=True)
    full = work / "face_detection_full_range_sparse.tflite"
    dense = work / "face_detection_full_range_dense.tflite"
    _densify(full, dense)
    _tf2onnx(dense, OUT / "blazeface_full_range.onnx")
    _tf2onnx(work / "face_detection_short_range.tflite", OUT / "blazeface_short_range.onnx")
    steps = _split(work / "face_landmark_with_attention.tflite", work)
    for step in steps["steps"]:
        if "segment" in step:
            i = step["segment"]
            _tf2onnx(work / f"mesh_segment{i}.tflite", OUT / f"face_mesh_attention.{i}.onnx")
    maps = json.loads((work / "refinement.json").read_text())
    steps["refinement"] = [{"indexes": m, "z": z, **({"z_from": IRIS_Z_FROM[k]} if k in IRIS_Z_FROM else {})}
                           for k, (m, z) in enumerate(zip(maps, REFINEMENT_Z))]
    (OUT / "face_mesh_attention.json").write_text(json.dumps(steps, indent=1) + "\n")

    # Every converted network against LiteRT on its original file.
    rng = np.random.default_rng(0)
    worst = {}
    for name, src, size, lo in (("blazeface_full_range", full, 192, -1.0),
                                ("blazeface_short_range", work / "face_detection_short_range.tflite", 128, -1.0)):
        x = rng.uniform(lo, 1.0, (1, size, size, 3)).astype(np.float32)
        worst[name] = _max_diff(_litert(src, x), _ort(OUT / f"{name}.onnx", x))
    x = rng.uniform(0.0, 1.0, (1, 192, 192, 3)).astype(np.float32)
    sessions = {s["segment"]: _session(OUT / f"face_mesh_attention.{s['segment']}.onnx")
                for s in steps["steps"] if "segment" in s}
    ours = facenets.SegmentedNetwork(steps, sessions)(x)
    theirs = _litert_with_custom_ops(work / "face_landmark_with_attention.tflite", x, facenets.CUSTOM_OPS)
    worst["face_mesh_attention"] = max(float(np.abs(a.ravel() - b.ravel()).max()) for a, b in zip(ours, theirs))
    for name, diff in worst.items():
        print(f"{name}: max |ONNX - LiteRT| = {diff:.2e}")
        if diff > 1e-3:
            sys.exit(f"{name}: the converted network differs from the original")
    _manifest(worst)


def _facenets():
    """tamis's facenets module, loaded from its file (this venv has no tamis installed)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("facenets", ROOT / "src/tamis/detectors/facenets.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["facenets"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _max_diff(a: list, b: list) -> float:
    import numpy as np

    a = sorted(a, key=lambda t: t.shape)
    b = sorted(b, key=lambda t: t.shape)
    return max(float(np.abs(x - y).max()) for x, y in zip(a, b))


def _session(path: Path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _ort(path: Path, x):
    s = _session(path)
    return s.run(None, {s.get_inputs()[0].name: x})


def _litert(path: Path, x):
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def _tf2onnx(src: Path, dst: Path) -> None:
    subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--tflite", str(src), "--output", str(dst),
                    "--opset", "13"], check=True, capture_output=True)


def _densify(src: Path, dst: Path) -> None:
    """The full-range model keeps its convolution weights sparse, behind DENSIFY ops: run it
    once, and store each DENSIFY's output as a constant instead."""
    import flatbuffers
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_path=str(src), experimental_preserve_all_tensors=True,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.zeros((1, 192, 192, 3), np.float32))
    it.invoke()
    buf = src.read_bytes()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(buf, 0))
    graph, kept = model.subgraphs[0], []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) != schema.BuiltinOperator.DENSIFY:
            kept.append(op)
            continue
        out = op.outputs[0]
        b = schema.BufferT()
        b.data = np.frombuffer(it.get_tensor(out).tobytes(), np.uint8)
        model.buffers.append(b)
        graph.tensors[out].buffer = len(model.buffers) - 1
        graph.tensors[out].sparsity = None
        graph.tensors[op.inputs[0]].buffer = 0
        graph.tensors[op.inputs[0]].sparsity = None
    graph.operators = kept
    builder = flatbuffers.Builder(len(buf) * 4)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    dst.write_bytes(bytes(builder.Output()))


def _split(src: Path, work: Path) -> dict:
    """Cut a .tflite around its CUSTOM ops into built-in-only segments (written to ``work``
    as mesh_segment<i>.tflite) and return the steps that run them in order."""
    import flatbuffers
    import flatbuffers.flexbuffers as flex
    from ai_edge_litert import schema_py_generated as schema

    buf = src.read_bytes()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(buf, 0))
    g, codes = model.subgraphs[0], model.operatorCodes
    custom = [max(codes[op.opcodeIndex].builtinCode, codes[op.opcodeIndex].deprecatedBuiltinCode)
              == schema.BuiltinOperator.CUSTOM for op in g.operators]
    const = {i for i, t in enumerate(g.tensors) if model.buffers[t.buffer].data is not None
             and len(model.buffers[t.buffer].data)}
    last_use: dict[int, int] = {}
    for i, op in enumerate(g.operators):
        for t in op.inputs:
            if t >= 0:
                last_use[t] = max(last_use.get(t, -1), i)
    for t in g.outputs:
        last_use[t] = 1 << 30
    name = lambda t: g.tensors[t].name.decode()  # noqa: E731
    steps, i, n, segment = [], 0, len(g.operators), 0
    while i < n:
        if custom[i]:
            op = g.operators[i]
            opts = flex.Loads(bytes(op.customOptions)) if op.customOptions is not None else {}
            steps.append({"custom": codes[op.opcodeIndex].customCode.decode(), "options": opts,
                          "inputs": [name(t) for t in op.inputs], "outputs": [name(t) for t in op.outputs]})
            i += 1
            continue
        j = i
        while j < n and not custom[j]:
            j += 1
        produced = {t for op in g.operators[i:j] for t in op.outputs}
        inputs = []
        for op in g.operators[i:j]:
            for t in op.inputs:
                if t >= 0 and t not in produced and t not in const and t not in inputs:
                    inputs.append(t)
        outputs = sorted(t for t in produced if last_use.get(t, -1) >= j)
        sub = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(buf, 0))
        sg = sub.subgraphs[0]
        sg.operators, sg.inputs, sg.outputs = sg.operators[i:j], inputs, outputs
        sub.signatureDefs = None
        builder = flatbuffers.Builder(len(buf) + 1024)
        builder.Finish(sub.Pack(builder), file_identifier=b"TFL3")
        (work / f"mesh_segment{segment}.tflite").write_bytes(bytes(builder.Output()))
        steps.append({"segment": segment, "inputs": [name(t) for t in inputs], "outputs": [name(t) for t in outputs]})
        segment += 1
        i = j
    return {"input": name(g.inputs[0]), "outputs": [name(t) for t in g.outputs], "steps": steps}


def _litert_with_custom_ops(src: Path, x, ops: dict):
    """The original mesh network, its segments run by LiteRT and its custom ops by ``ops``."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    work = src.parent
    steps = _split(src, work)
    env = {steps["input"]: x}
    for step in steps["steps"]:
        if "segment" in step:
            it = Interpreter(model_path=str(work / f"mesh_segment{step['segment']}.tflite"))
            it.allocate_tensors()
            ins = {d["name"]: d["index"] for d in it.get_input_details()}
            for nm in step["inputs"]:
                it.set_tensor(ins[nm], np.ascontiguousarray(env[nm], np.float32))
            it.invoke()
            env.update({d["name"]: it.get_tensor(d["index"]) for d in it.get_output_details()})
        else:
            env[step["outputs"][0]] = ops[step["custom"]](step["options"], *[env[nm] for nm in step["inputs"]])
    return [env[nm] for nm in steps["outputs"]]


def _manifest(diffs: dict) -> None:
    import importlib.metadata as md

    files = {p.name: sha256(p) for p in sorted(OUT.glob("*.onnx")) + [OUT / "face_mesh_attention.json"]}
    tools = {d: md.version(d) for d in ("tensorflow-cpu", "tf2onnx", "ai-edge-litert", "onnx") if _has(d)}
    (OUT / "MANIFEST.json").write_text(json.dumps({
        "source": "mediapipe 0.10.21 (PyPI wheel), Apache-2.0", "sources_sha256": SOURCES,
        "files_sha256": files, "converted_with": tools, "max_abs_diff_vs_litert": diffs}, indent=1) + "\n")


def _has(dist: str) -> bool:
    import importlib.metadata as md

    try:
        md.version(dist)
        return True
    except md.PackageNotFoundError:
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("step", choices=["extract", "convert"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/tamis-facework"))
    args = ap.parse_args()
    (extract if args.step == "extract" else convert)(args.work)


if __name__ == "__main__":
    main()
