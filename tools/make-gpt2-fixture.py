#!/usr/bin/env python3
"""Writes the GPT-2 fixture tests/nn/gpt2_hf_test.cpp reads: a tiny, randomly
initialised Hugging Face GPT2LMHeadModel saved by `transformers` itself
(save_pretrained: model.safetensors and config.json), and its logits for a
fixed input (logits.safetensors: "input_ids" int64 [2, 16] and "logits"
float32 [2, 16, vocab]).

Every parameter is drawn anew (layer-norm gains near 1, everything else
N(0, 0.1), biases included), so a tensor loaded under the wrong name, or
without the Conv1D transpose, changes the logits well beyond the test's
1e-4.

    /var/tmp/modern-torch/run python3 -m pip install transformers safetensors
    /var/tmp/modern-torch/run python3 tools/make-gpt2-fixture.py [OUT_DIR]

OUT_DIR defaults to tests/data/gpt2_tiny. The files are committed, so the
test needs no Python.
"""
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data",
                                                             "gpt2_tiny")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(1234)
    config = GPT2Config(vocab_size=97, n_positions=32, n_embd=32, n_layer=2, n_head=4,
                        activation_function="gelu_new", resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        layer_norm_epsilon=1e-5, tie_word_embeddings=True, bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".ln_" in name or name.startswith("transformer.ln_f"):
                p.copy_((1.0 if name.endswith("weight") else 0.0) + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.1 * torch.randn_like(p))
    model.save_pretrained(out, safe_serialization=True)
    if os.path.exists(os.path.join(out, "generation_config.json")):
        os.remove(os.path.join(out, "generation_config.json"))  # sampling defaults: not what the test reads
    for f in ("model.safetensors", "config.json"):
        os.chmod(os.path.join(out, f), 0o644)
    ids = torch.randint(0, config.vocab_size, (2, 16), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        logits = model(ids).logits.float().contiguous()
    save_file({"input_ids": ids.contiguous(), "logits": logits}, os.path.join(out, "logits.safetensors"))
    os.chmod(os.path.join(out, "logits.safetensors"), 0o644)
    print(f"wrote {out}: {sum(p.numel() for p in model.parameters())} parameters, logits {list(logits.shape)}, "
          f"max |logit| {logits.abs().max().item():.3f}")


if __name__ == "__main__":
    main()
