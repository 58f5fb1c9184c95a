#!/usr/bin/env python3
"""Checks the ONNX files of `hwnas export RUN_DIR --onnx` in onnxruntime.

For every onnx/*.onnx of each run directory given: the ONNX checker (full
check, with shape inference), then onnxruntime on the batch stored beside it in
<file>.test.json, compared with burn's logits stored there. Prints the largest
absolute difference per file and fails when one exceeds --tolerance (1e-4).

Runs only where `onnx` and `onnxruntime` are installed (pip install onnx
onnxruntime); the Rust tests do the same check in tract without Python.

    python3 experiments/benches/onnx_check.py runs/quickstart-s0-*/
"""
import argparse
import glob
import json
import os
import sys

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
except ImportError as e:  # pragma: no cover
    print(f"skipped: {e} (pip install onnx onnxruntime)")
    sys.exit(0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dirs", nargs="+")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    worst = 0.0
    files = 0
    for run in args.run_dirs:
        for path in sorted(glob.glob(os.path.join(run, "onnx", "*.onnx"))):
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=True)
            with open(path[: -len(".onnx")] + ".test.json") as f:
                vec = json.load(f)
            x = np.asarray(vec["input"], dtype=np.float32).reshape(vec["input_shape"])
            want = np.asarray(vec["output"], dtype=np.float32).reshape(vec["output_shape"])
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
            diff = float(np.max(np.abs(got - want)))
            meta = {p.key: p.value for p in model.metadata_props}
            print(f"{path}: max |onnxruntime - burn| = {diff:.2e}  ({meta.get('architecture', '?')}; {meta.get('weights', '?')})")
            worst = max(worst, diff)
            files += 1
    if files == 0:
        print("no onnx/*.onnx found: run `hwnas export RUN_DIR --onnx` first")
        return 1
    print(f"{files} files, worst difference {worst:.2e} (tolerance {args.tolerance:g})")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
