"""The whole DeepSeek-OCR model: DeepEncoder + projector + image layout + decoder.

state_dict() keys are the released checkpoint names; load()/save() read and
write safetensors. Used by make_tiny.py, compare_transformers.py and tests.
"""
import json
import pathlib

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from .config import OcrConfig
from .text import DecoderLayer, RMSNorm
from .vision import ClipEncoder, Projector, SamEncoder


class OcrInner(nn.Module):
    def __init__(self, cfg: OcrConfig):
        super().__init__()
        t = cfg.text
        self.sam_model = SamEncoder(cfg.sam)
        self.vision_model = ClipEncoder(cfg.clip)
        self.projector = Projector(cfg.projector_in, t.hidden)
        self.image_newline = nn.Parameter(torch.zeros(t.hidden))
        self.view_seperator = nn.Parameter(torch.zeros(t.hidden))   # checkpoint spelling
        self.embed_tokens = nn.Embedding(t.vocab_size, t.hidden)
        self.layers = nn.ModuleList(DecoderLayer(t, i) for i in range(t.layers))
        self.norm = RMSNorm(t.hidden, t.rms_eps)


class DeepseekOcr(nn.Module):
    def __init__(self, cfg: OcrConfig):
        super().__init__()
        self.cfg = cfg
        self.model = OcrInner(cfg)
        self.lm_head = nn.Linear(cfg.text.hidden, cfg.text.vocab_size, bias=False)

    # ---- vision -------------------------------------------------------
    @torch.no_grad()
    def encode_views(self, px):
        """px [N,3,S,S] -> dict(sam [N,g*g,C], clip [N,g*g,C], projected [N,g*g,H])."""
        dt = self.lm_head.weight.dtype
        m = self.model
        sam = m.sam_model(px.to(dt))                            # [N,C,g,g]
        clip = m.vision_model(sam)[:, 1:]                       # class token dropped
        sam_seq = sam.flatten(2).transpose(1, 2)
        proj = m.projector(torch.cat([clip, sam_seq], dim=-1))
        return dict(sam=sam_seq, clip=clip, projected=proj)

    @torch.no_grad()
    def image_embeddings(self, global_px, tiles_px=None, grid=(1, 1)):
        """Image-token embeddings in sequence order.

        global_px [1,3,B,B]; tiles_px [tw*th,3,T,T] row-major, grid=(tw,th).
        Order: tiles re-tiled into a (q*th)x(q*tw) map, each row + newline; then
        the global q x q map, each row + newline; then view_seperator.
        """
        m = self.model
        nl, sep = m.image_newline, m.view_seperator
        parts = []
        feats = {}
        if tiles_px is not None and grid[0] * grid[1] > 1:
            tw, th = grid
            loc = self.encode_views(tiles_px)
            feats["tiles"] = loc
            p = loc["projected"]
            q = int(round(p.shape[1] ** 0.5))
            h = p.shape[-1]
            p = p.view(th, tw, q, q, h).permute(0, 2, 1, 3, 4).reshape(th * q, tw * q, h)
            p = torch.cat([p, nl.expand(th * q, 1, h)], dim=1).reshape(-1, h)
            parts.append(p)
        glo = self.encode_views(global_px)
        feats["global"] = glo
        g = glo["projected"][0]
        q = int(round(g.shape[0] ** 0.5))
        h = g.shape[-1]
        g = torch.cat([g.view(q, q, h), nl.expand(q, 1, h)], dim=1).reshape(-1, h)
        parts += [g, sep[None]]
        return torch.cat(parts, dim=0), feats

    # ---- decoder ------------------------------------------------------
    @torch.no_grad()
    def embed(self, input_ids, image_embs=None):
        x = self.model.embed_tokens(input_ids)
        mask = input_ids == self.cfg.image_token_id
        n = int(mask.sum())
        if n:
            if image_embs is None or image_embs.shape[0] != n:
                raise ValueError(f"{n} <image> tokens but {None if image_embs is None else image_embs.shape[0]} "
                                 "image embeddings")
            x = x.clone()
            x[mask] = image_embs.to(x.dtype)
        return x

    @torch.no_grad()
    def logits(self, x, positions=None):
        """Logits (f32) at `positions` (default: the last one) of the sequence x [T,H]."""
        for layer in self.model.layers:
            x = layer(x)
        x = x[-1:] if positions is None else x[positions]
        return self.lm_head(self.model.norm(x)).float()

    @torch.no_grad()
    def generate(self, input_ids, image_embs, n_tokens, stop_at_eos=False):
        """Greedy decoding (argmax, ties to the lowest id); recomputes the whole prefix each step."""
        x = self.embed(input_ids, image_embs)
        out = []
        first = None
        for _ in range(n_tokens):
            lg = self.logits(x)[-1]
            if first is None:
                first = lg
            tok = int(torch.argmax(lg))
            out.append(tok)
            if stop_at_eos and tok == self.cfg.text.eos_id:
                break
            x = torch.cat([x, self.model.embed_tokens(torch.tensor([tok]))], dim=0)
        return out, first

    # ---- files --------------------------------------------------------
    def save(self, directory, dtype=torch.bfloat16):
        d = pathlib.Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        sd = {k: (v.to(dtype) if v.is_floating_point() else v).contiguous() for k, v in self.state_dict().items()}
        save_file(sd, str(d / "model.safetensors"), metadata={"format": "pt"})
        (d / "config.json").write_text(json.dumps(hf_style_config(self.cfg, dtype), indent=2) + "\n")

    @staticmethod
    def load(directory, dtype=torch.float32):
        d = pathlib.Path(directory)
        cfg = OcrConfig.from_json(json.loads((d / "config.json").read_text())["deepseek_ocr_reference"])
        m = DeepseekOcr(cfg)
        sd = load_file(str(d / "model.safetensors"))
        missing, unexpected = m.load_state_dict(sd, strict=False)
        if missing or unexpected:
            raise ValueError(f"{d}/model.safetensors: missing {missing[:5]} unexpected {unexpected[:5]}")
        return m.to(dtype).eval()


def hf_style_config(cfg: OcrConfig, dtype):
    """config.json laid out like the released one (language_config etc.) plus our sizes."""
    t = cfg.text
    lang = dict(
        vocab_size=t.vocab_size, hidden_size=t.hidden, num_hidden_layers=t.layers,
        num_attention_heads=t.heads, num_key_value_heads=t.heads, head_dim=t.head_dim,
        intermediate_size=t.intermediate, moe_intermediate_size=t.moe_intermediate,
        n_routed_experts=t.n_routed_experts, n_shared_experts=t.n_shared_experts,
        num_experts_per_tok=t.top_k, first_k_dense_replace=t.first_k_dense_replace, moe_layer_freq=1,
        topk_method="greedy", n_group=1, topk_group=1, norm_topk_prob=t.norm_topk_prob,
        routed_scaling_factor=t.routed_scaling_factor, scoring_func="softmax", use_mla=False,
        kv_lora_rank=None, q_lora_rank=None, rope_theta=t.rope_theta, rope_scaling=None,
        rms_norm_eps=t.rms_eps, max_position_embeddings=t.max_position_embeddings,
        bos_token_id=t.bos_id, eos_token_id=t.eos_id, tie_word_embeddings=False,
        torch_dtype=str(dtype).replace("torch.", ""))
    return dict(
        model_type="deepseek_vl_v2", architectures=["DeepseekOCRForCausalLM"],
        language_config=lang,
        projector_config=dict(projector_type="linear", input_dim=cfg.projector_in, n_embed=t.hidden),
        tile_tag="2D", global_view_pos="head", candidate_resolutions=[[1024, 1024]],
        torch_dtype=str(dtype).replace("torch.", ""),
        deepseek_ocr_reference=cfg.to_json())
