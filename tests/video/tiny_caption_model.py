"""Build a tiny randomly initialised ViT-GPT2 captioning model locally (no downloads)."""

from __future__ import annotations

from pathlib import Path

WORDS = ["a", "red", "blue", "green", "screen", "sign", "with", "text", "person", "room"]


def build_tiny_caption_model(folder: Path) -> Path:
    """Save a VisionEncoderDecoder (1-layer ViT + 1-layer GPT-2), tokenizer and processor."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        GPT2Config,
        PreTrainedTokenizerFast,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
        ViTConfig,
        ViTImageProcessor,
    )

    specials = ["<pad>", "<s>", "</s>", "<unk>"]
    vocab = {token: i for i, token in enumerate(specials + WORDS)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
    )
    encoder = ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    decoder = GPT2Config(
        vocab_size=len(vocab),
        n_positions=64,
        n_embd=32,
        n_layer=1,
        n_head=2,
        bos_token_id=vocab["<s>"],
        eos_token_id=vocab["</s>"],
        pad_token_id=vocab["<pad>"],
    )
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    config.decoder_start_token_id = vocab["<s>"]
    config.pad_token_id = vocab["<pad>"]
    config.eos_token_id = vocab["</s>"]
    torch.manual_seed(0)
    model = VisionEncoderDecoderModel(config=config)
    model.generation_config.decoder_start_token_id = vocab["<s>"]
    model.generation_config.pad_token_id = vocab["<pad>"]
    model.generation_config.eos_token_id = vocab["</s>"]
    # Random weights would often stop at once; force a few real words so the test can check
    # that generated ids travel through decoding into the caption text.
    model.generation_config.min_new_tokens = 3
    model.generation_config.suppress_tokens = [vocab[t] for t in ("<pad>", "<s>", "<unk>")]
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder
