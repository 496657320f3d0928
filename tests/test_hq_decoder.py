"""HQ-SAM's decoder and the ViT's early feature against the official ``segment_anything_hq``, seeded weights."""
from __future__ import annotations

import pytest
import torch

from sam_core.bench.references_light import load_hq_reference
from sam_core.modeling import ImageEncoderViT
from sam_core.modeling.mask_decoder_hq import MaskDecoderHQ
from sam_core.modeling.prompt_encoder import PromptEncoder
from sam_core.testing import TINY_CONFIG, perturbed_state_dict

VIT_DIM = 96


def rel_err(ours: torch.Tensor, ref: torch.Tensor) -> float:
    return float((ours.double() - ref.double()).abs().max() / ref.double().abs().max())


@pytest.fixture(scope="module")
def decoders():
    """(ours, reference): prompt encoder and HQ decoder with one seeded state_dict."""
    load_hq_reference()
    from segment_anything_hq.modeling import MaskDecoderHQ as ReferenceHQ
    from segment_anything_hq.modeling import PromptEncoder as ReferencePrompts
    from segment_anything_hq.modeling import TwoWayTransformer

    with torch.random.fork_rng():  # the initial weights, which the perturbation keeps, whatever ran before
        torch.manual_seed(3)
        ours = torch.nn.ModuleDict({"prompt_encoder": PromptEncoder(), "mask_decoder": MaskDecoderHQ(vit_dim=VIT_DIM)})
    state = perturbed_state_dict(ours, seed=3)
    ours.load_state_dict(state, strict=True)
    ref = torch.nn.ModuleDict({
        "prompt_encoder": ReferencePrompts(embed_dim=256, image_embedding_size=(64, 64),
                                           input_image_size=(1024, 1024), mask_in_chans=16),
        "mask_decoder": ReferenceHQ(num_multimask_outputs=3, transformer=TwoWayTransformer(
            depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8), transformer_dim=256, iou_head_depth=3,
            iou_head_hidden_dim=256, vit_dim=VIT_DIM),
    })
    ref.load_state_dict(state, strict=True)
    return ours.eval(), ref.eval()


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("with_mask", [False, True])
@pytest.mark.parametrize("with_box", [False, True])
def test_decoder_matches_reference(decoders, batch, with_mask, with_box):
    ours, ref = decoders
    gen = torch.Generator().manual_seed(batch * 4 + with_mask * 2 + with_box)
    embedding = torch.randn(1, 256, 64, 64, generator=gen)
    early = torch.randn(1, 64, 64, VIT_DIM, generator=gen)
    points = (torch.rand(batch, 2, 2, generator=gen) * 1000, torch.tensor([[1, 0]] * batch))
    boxes = torch.tensor([[100.0, 150.0, 700.0, 600.0]] * batch) if with_box else None
    mask_input = torch.randn(batch, 1, 256, 256, generator=gen) * 3 if with_mask else None
    pe, decoder = ours["prompt_encoder"], ours["mask_decoder"]
    with torch.inference_mode():
        cache = decoder.build_image_cache(pe, embedding, early)
        features = pe.mask_downscaling.features(mask_input) if with_mask else None
        ref_sparse, ref_dense = ref["prompt_encoder"](points, boxes, mask_input)
        sparse, dense = pe(points, boxes, mask_input)
        for multimask in (True, False):
            for hq_only in (False, True):
                expected = ref["mask_decoder"](embedding, ref["prompt_encoder"].get_dense_pe(), ref_sparse, ref_dense,
                                               multimask, hq_only, [early])
                plain = decoder(embedding, pe.get_dense_pe(), sparse, dense, multimask, hq_only, early)
                fast = decoder.decode_cached_hq(cache, sparse, features, multimask, hq_only)
                for got in (plain, fast):
                    assert got[0].shape == expected[0].shape == (batch, 1, 256, 256)
                    assert got[1].shape == expected[1].shape == (batch, 1)
                    errors = rel_err(got[0], expected[0]), rel_err(got[1], expected[1])
                    assert max(errors) < 1e-4, (multimask, hq_only, got is fast, errors)


def test_vit_early_feature_matches_reference():
    """The tokens after the first global block, from both of the encoder's paths."""
    load_hq_reference()
    from segment_anything_hq.modeling import ImageEncoderViT as ReferenceViT

    config = TINY_CONFIG
    ours = ImageEncoderViT(img_size=256, embed_dim=config.embed_dim, depth=3, num_heads=config.num_heads,
                           global_attn_indexes=(1, 2))
    ref = ReferenceViT(img_size=256, embed_dim=config.embed_dim, depth=3, num_heads=config.num_heads,
                       norm_layer=lambda d: torch.nn.LayerNorm(d, eps=1e-6), qkv_bias=True, use_rel_pos=True,
                       global_attn_indexes=(1, 2), window_size=14, out_chans=256)
    state = perturbed_state_dict(ours, seed=4)
    ours.load_state_dict(state, strict=True)
    ref.load_state_dict(state, strict=True)
    x = torch.randn(1, 3, 256, 256)
    with torch.no_grad():
        expected, interm = ref(x)
    with torch.inference_mode():
        embedding, early = ours.forward_with_early(x)
        assert torch.equal(ours(x), embedding)
    with torch.enable_grad():
        plain_embedding, plain_early = ours.forward_with_early(x)
    assert early.shape == interm[0].shape == (1, 16, 16, config.embed_dim)
    for got in (early, plain_early.detach()):
        assert rel_err(got, interm[0]) < 1e-4
    for got in (embedding, plain_embedding.detach()):
        assert rel_err(got, expected) < 1e-4
