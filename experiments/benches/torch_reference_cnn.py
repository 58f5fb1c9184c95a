#!/usr/bin/env python3
"""PyTorch twin of `hwnas bench`: trains the same reference CNN the same way.

The network is `nas_core::train::ReferenceCnn`: conv3x3 (3->16, padding 1, bias),
batch norm, ReLU, conv3x3 (16->32, stride 2, padding 1, bias), batch norm, ReLU,
global average pool, linear (32->10); cross-entropy loss, Adam (lr 1e-3), one fixed
batch of random 3x32x32 images, 2 untimed steps then the timed ones. Each step is
timed in three phases exactly as `hwnas bench` times them: forward with the loss
(and reading the loss value), backward, optimiser step.

    python3 experiments/benches/torch_reference_cnn.py --threads 2 --steps 20

prints one line in `hwnas bench`'s format (`--json` for a JSON object). Needs torch
(`pip install torch`); the comparison protocol is in the README ("Training speed").
"""

import argparse
import json
import sys
import time

try:
    import torch
    import torch.nn as nn
except ImportError:  # pragma: no cover - the script is optional
    sys.exit("torch_reference_cnn.py needs PyTorch: pip install torch")


class ReferenceCnn(nn.Module):
    def __init__(self, channels=3, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.head = nn.Linear(32, classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        x = torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.head(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's)")
    ap.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--json", action="store_true", help="print a JSON object")
    args = ap.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(7)
    model = ReferenceCnn()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    images = torch.randn(args.batch_size, 3, args.image_size, args.image_size)
    labels = torch.randint(0, 10, (args.batch_size,))

    def step():
        t0 = time.perf_counter()
        loss = loss_fn(model(images), labels)
        loss.item()
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        return t1 - t0, t2 - t1, t3 - t2

    for _ in range(args.warmup):
        step()
    f = b = o = 0.0
    for _ in range(args.steps):
        df, db, do = step()
        f, b, o = f + df, b + db, o + do
    n = args.steps
    step_s = (f + b + o) / n
    out = {
        "backend": "torch",
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "images_per_second": args.batch_size / step_s,
        "step_ms": step_s * 1e3,
        "forward_ms": f / n * 1e3,
        "backward_ms": b / n * 1e3,
        "optimizer_ms": o / n * 1e3,
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(
            "torch    torch {}: {:.0f} img/s ({:.1f} ms/step = forward {:.1f} + backward {:.1f} + optimizer {:.1f})".format(
                out["torch_version"], out["images_per_second"], out["step_ms"], out["forward_ms"],
                out["backward_ms"], out["optimizer_ms"],
            )
        )


if __name__ == "__main__":
    main()
