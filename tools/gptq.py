"""The project's GPTQ quantizer (Frantar et al., 2022) and round-to-nearest, in numpy float64.

Called per linear layer by quantize_model.py with the layer's weight [out, in]
and the Hessian accumulated from calibration inputs. Returns integer codes,
per-group scales/zeros and g_idx, exactly what gptq_checkpoint.py packs.
No torch: this runs at setup time on users' machines.
"""
from dataclasses import dataclass

import numpy as np


@dataclass
class QuantSpec:
    bits: int = 4
    group_size: int = 128      # -1: one group over all input columns
    sym: bool = True
    desc_act: bool = False     # act-order: quantize columns by decreasing Hessian diagonal
    damp_percent: float = 0.01
    v1_zeros: bool = False     # checkpoint_format gptq (v1) stores zero-1, so keep zero >= 1

    @property
    def maxq(self):
        return (1 << self.bits) - 1


@dataclass
class QuantizedLinear:
    codes: np.ndarray   # uint8 [out, in], original column order
    scales: np.ndarray  # float16 [groups, out]
    zeros: np.ndarray   # int32 [groups, out]
    g_idx: np.ndarray   # int32 [in]: group of each input column

    def dequantize(self):
        """Weight [out, in] float32 as a GPTQ kernel reconstructs it."""
        s = self.scales.astype(np.float32)[self.g_idx].T
        z = self.zeros.astype(np.float32)[self.g_idx].T
        return s * (self.codes.astype(np.float32) - z)


class HessianAccumulator:
    """H = 2/n * sum over calibration tokens of x x^T for one linear layer's input."""

    def __init__(self, columns):
        self.h = np.zeros((columns, columns), dtype=np.float64)
        self.count = 0

    def add(self, x):
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.h.shape[0])
        self.h += x.T @ x
        self.count += x.shape[0]

    def hessian(self):
        return 2.0 * self.h / max(self.count, 1)


def group_params(w, spec):
    """Scale and zero per row of w [rows, cols] (min/max over the columns, range including 0)."""
    xmin = np.minimum(w.min(axis=1), 0.0)
    xmax = np.maximum(w.max(axis=1), 0.0)
    if spec.sym:
        xmax = np.maximum(np.abs(xmin), xmax)
        xmin = np.where(xmin < 0, -xmax, xmin)
    flat = (xmin == 0) & (xmax == 0)
    xmin = np.where(flat, -1.0, xmin)
    xmax = np.where(flat, 1.0, xmax)
    scale = (xmax - xmin) / spec.maxq
    scale = scale.astype(np.float16).astype(np.float64)  # the stored precision
    scale = np.where(scale == 0, np.float64(np.finfo(np.float16).tiny), scale)
    if spec.sym:
        zero = np.full_like(scale, (spec.maxq + 1) // 2)
    else:
        zero = np.round(-xmin / scale)
    low = 1 if spec.v1_zeros else 0
    return scale, np.clip(zero, low, spec.maxq)


def quantize_column(w, scale, zero, maxq):
    """Integer codes and dequantized values of w with per-row scale/zero."""
    q = np.clip(np.round(w / scale) + zero, 0, maxq)
    return q, scale * (q - zero)


def _group_ids(columns, spec):
    """i // group_size; a last, shorter group when group_size does not divide columns
    (the format allows it: scales has ceil(in / group_size) rows)."""
    if spec.group_size == -1:
        return np.zeros(columns, dtype=np.int32)
    return (np.arange(columns) // spec.group_size).astype(np.int32)


def round_to_nearest(weight, spec):
    """Plain per-group round-to-nearest (no Hessian, no act-order)."""
    w = np.asarray(weight, dtype=np.float64)
    rows, columns = w.shape
    g_idx = _group_ids(columns, spec)
    groups = int(g_idx.max()) + 1
    codes = np.zeros((rows, columns), dtype=np.uint8)
    scales = np.zeros((groups, rows), dtype=np.float64)
    zeros = np.zeros((groups, rows), dtype=np.int64)
    for g in range(groups):
        cols = g_idx == g
        scale, zero = group_params(w[:, cols], spec)
        q, _ = quantize_column(w[:, cols], scale[:, None], zero[:, None], spec.maxq)
        codes[:, cols] = q
        scales[g], zeros[g] = scale, zero
    return QuantizedLinear(codes, scales.astype(np.float16), zeros.astype(np.int32), g_idx)


def gptq(weight, hessian, spec, block_size=128):
    """GPTQ of one linear layer. weight [out, in]; hessian [in, in] from HessianAccumulator.

    Column by column: quantize, divide the error by the diagonal of the upper
    Cholesky factor of H^-1 and push it onto the not-yet-quantized columns;
    updates beyond the current block are applied lazily once per block.
    """
    w = np.array(weight, dtype=np.float64)
    h = np.array(hessian, dtype=np.float64)
    rows, columns = w.shape
    dead = np.diag(h) == 0
    h[dead, dead] = 1.0
    w[:, dead] = 0.0

    perm = np.argsort(-np.diag(h), kind="stable") if spec.desc_act else np.arange(columns)
    w = w[:, perm]
    h = h[perm][:, perm]
    h[np.diag_indices(columns)] += spec.damp_percent * np.mean(np.diag(h))
    h_inv = np.linalg.inv(np.linalg.cholesky(h))          # L^-1
    h_inv = np.linalg.cholesky(h_inv.T @ h_inv).T          # upper factor U of H^-1 = U^T U

    group_size = columns if spec.group_size == -1 else spec.group_size
    block_size = group_size * max(1, block_size // group_size)  # groups never straddle blocks
    groups = -(-columns // group_size)
    codes = np.zeros((rows, columns), dtype=np.uint8)
    scales = np.zeros((groups, rows))
    zeros = np.zeros((groups, rows))
    for i1 in range(0, columns, block_size):
        i2 = min(i1 + block_size, columns)
        w_block = w[:, i1:i2].copy()
        err_block = np.zeros_like(w_block)
        h_inv_block = h_inv[i1:i2, i1:i2]
        for i in range(i2 - i1):
            column = i1 + i
            if column % group_size == 0:
                g = column // group_size
                scales[g], zeros[g] = group_params(w_block[:, i:i + group_size], spec)
            g = column // group_size
            q, deq = quantize_column(w_block[:, i], scales[g], zeros[g], spec.maxq)
            codes[:, column] = q
            err = (w_block[:, i] - deq) / h_inv_block[i, i]
            w_block[:, i:] -= np.outer(err, h_inv_block[i, i:])
            err_block[:, i] = err
        w[:, i2:] -= err_block @ h_inv[i1:i2, i2:]

    inverse = np.argsort(perm)
    g_idx = (np.arange(columns) // group_size).astype(np.int32)[inverse]
    return QuantizedLinear(codes[:, inverse], scales.astype(np.float16), zeros.astype(np.int32), g_idx)
