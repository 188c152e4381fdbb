#!/usr/bin/env python3
"""Quantizes an HF model directory with GPTQModel (PyPI `gptqmodel`) on the CPU.

The format cross-check of issue 4 item 6: the C++ loader must read a checkpoint
written by a third-party GPTQ implementation, not only ours. Calibrates on the
same local text as quantize_model.py. Called by make_test_models.sh.
Usage: gptqmodel_quantize.py --model-dir IN --out OUT [--group-size 64]
"""
import argparse
import os
import pathlib
import shutil

import corpus
from quantize_model import TOKENIZER_FILES, calibration_ids


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--group-size", type=int, default=64)
    parser.add_argument("--calib-samples", type=int, default=64)
    parser.add_argument("--calib-len", type=int, default=128)
    args = parser.parse_args()

    # GPTQModel sizes its CPU pool from the core count; on a 2-core machine that is
    # 1 worker, fewer than its model loader asks for.
    os.environ.setdefault("GPTQMODEL_CPU_WORKERS", "2")
    from gptqmodel import GPTQModel, QuantizeConfig  # imported late: heavy, optional

    ids = calibration_ids(args.model_dir, args.calib_samples, args.calib_len, corpus.calibration_text())
    calibration = [{"input_ids": row.tolist(), "attention_mask": [1] * len(row)} for row in ids]
    config = QuantizeConfig(bits=4, group_size=args.group_size, desc_act=True, sym=True, format="gptq",
                            device="cpu")
    model = GPTQModel.load(args.model_dir, config)
    model.quantize(calibration, batch_size=8)
    model.save(args.out)
    for name in TOKENIZER_FILES:  # keep our tokenizer files exactly (GPTQModel may rewrite them)
        if (pathlib.Path(args.model_dir) / name).exists():
            shutil.copy(pathlib.Path(args.model_dir) / name, pathlib.Path(args.out) / name)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
