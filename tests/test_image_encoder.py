"""The encoder's in-place inference path against its plain functional path."""
import torch

from sam_core.modeling.image_encoder import ImageEncoderViT


def _encoder(seed: int = 0) -> ImageEncoderViT:
    torch.manual_seed(seed)
    encoder = ImageEncoderViT(img_size=256, embed_dim=64, depth=3, num_heads=4, global_attn_indexes=(1,))
    with torch.no_grad():
        # Meta's zero-initialised pos_embed / rel_pos would hide layout bugs; strong rel_pos
        # tables make every attention bias row matter.
        for name, p in encoder.named_parameters():
            if "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) * (0.5 if "rel_pos" in name else 0.05))
    return encoder.eval()


def test_in_place_path_matches_functional_path():
    encoder = _encoder()
    image = torch.randn(1, 3, 256, 256)
    with torch.enable_grad():
        functional = encoder(image).detach()  # autograd on: no workspace, no in-place updates
    with torch.inference_mode():
        in_place = encoder(image)
    assert in_place.shape == (1, 256, 16, 16)
    torch.testing.assert_close(in_place, functional, rtol=1e-5, atol=1e-5)


def test_in_place_path_handles_padded_windows_and_reuses_buffers():
    # 16x16 tokens with window 14 -> padded to 28x28: the merge must crop exactly.
    encoder = _encoder(seed=1)
    images = [torch.randn(1, 3, 256, 256), torch.randn(1, 3, 256, 256)]
    with torch.inference_mode():
        first, second = (encoder(image) for image in images)
        again = encoder(images[0])
    with torch.enable_grad():
        expected = [encoder(image).detach() for image in images]
    torch.testing.assert_close(first, expected[0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(second, expected[1], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(again, first, rtol=0, atol=0)


def test_global_attention_in_blocks_of_query_rows(monkeypatch):
    from sam_core.modeling import image_encoder

    encoder = _encoder(seed=2)
    image = torch.randn(1, 3, 256, 256)
    with torch.inference_mode():
        whole = encoder(image)
        # 4 heads x 256 keys x 4 bytes per query row: blocks of 48 query rows (three grid rows), six blocks
        monkeypatch.setattr(image_encoder, "BIAS_BYTES", 4 * 256 * 4 * 48)
        blocked = encoder(image)
    torch.testing.assert_close(blocked, whole, rtol=1e-5, atol=1e-5)
