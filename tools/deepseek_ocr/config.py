"""Sizes of DeepSeek-OCR: released values as defaults, plus the `tiny` preset.

Used by every other module of this reference; `to_json`/`from_json` write and
read the `deepseek_ocr` block of the tiny checkpoints' config.json.
"""
import dataclasses
from dataclasses import dataclass, field


@dataclass
class SamConfig:
    """SAM-base ViTDet + neck + the two stride-2 compressor convolutions."""
    img_size: int = 1024          # native size: pos_embed is (img_size/patch)^2
    patch_size: int = 16
    width: int = 768
    depth: int = 12
    heads: int = 12
    mlp_ratio: int = 4
    window_size: int = 14
    global_attn_indexes: tuple = (2, 5, 8, 11)
    neck_channels: int = 256
    compressor_channels: tuple = (512, 1024)
    eps: float = 1e-6


@dataclass
class ClipConfig:
    """CLIP-L taking the compressed SAM map as patch embeddings."""
    hidden: int = 1024
    layers: int = 24
    heads: int = 16
    ffn: int = 4096
    image_size: int = 224         # native grid = image_size / patch_size = 16
    patch_size: int = 14
    eps: float = 1e-5


@dataclass
class TextConfig:
    """DeepSeek-MoE (v1 layout, MHA) decoder."""
    vocab_size: int = 129280
    hidden: int = 1280
    layers: int = 12
    heads: int = 10
    head_dim: int = 128
    intermediate: int = 6848      # dense layers (< first_k_dense_replace)
    first_k_dense_replace: int = 1
    n_routed_experts: int = 64
    n_shared_experts: int = 2
    moe_intermediate: int = 896
    top_k: int = 6
    routed_scaling_factor: float = 1.0
    norm_topk_prob: bool = False
    rope_theta: float = 10000.0
    rms_eps: float = 1e-6
    max_position_embeddings: int = 8192
    bos_id: int = 0
    eos_id: int = 1
    pad_id: int = 2


@dataclass
class OcrConfig:
    sam: SamConfig = field(default_factory=SamConfig)
    clip: ClipConfig = field(default_factory=ClipConfig)
    text: TextConfig = field(default_factory=TextConfig)
    image_token_id: int = 128815

    @property
    def projector_in(self):
        return self.clip.hidden + self.sam.compressor_channels[-1]

    def to_json(self):
        return dataclasses.asdict(self)

    @staticmethod
    def from_json(d):
        def mk(cls, v):
            v = dict(v)
            for f in dataclasses.fields(cls):
                if isinstance(f.default, tuple) and f.name in v:
                    v[f.name] = tuple(v[f.name])
            return cls(**v)
        return OcrConfig(sam=mk(SamConfig, d["sam"]), clip=mk(ClipConfig, d["clip"]),
                         text=mk(TextConfig, d["text"]), image_token_id=d["image_token_id"])


def released():
    return OcrConfig()


def tiny():
    """Small widths, the real image sizes, windows, vocabulary and token ids.

    SAM keeps img_size 1024 / window 14, so 512, 640 and 1280 views interpolate
    the absolute and global relative positions, and every view pads windows.
    CLIP keeps its 16x16 native grid, so all but Base/Gundam-global interpolate.
    """
    return OcrConfig(
        sam=SamConfig(width=32, depth=4, heads=2, global_attn_indexes=(1, 3),
                      neck_channels=16, compressor_channels=(24, 32)),
        clip=ClipConfig(hidden=32, layers=2, heads=2, ffn=64),
        text=TextConfig(hidden=16, layers=3, heads=2, head_dim=8, intermediate=32,
                        n_routed_experts=8, n_shared_experts=2, moe_intermediate=8, top_k=3),
    )


PRESETS = {"released": released, "tiny": tiny}
