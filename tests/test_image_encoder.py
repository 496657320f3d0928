"""The encoder's in-place inference path against its plain functional path."""
import pytest
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


def test_rel_pos_views_equal_the_gathered_terms():
    from sam_core.modeling.rel_pos import rel_pos_terms, rel_pos_views

    torch.manual_seed(3)
    q = torch.randn(2, 3, 5 * 7, 8)
    for rows_h, rows_w in ((9, 13), (4, 21)):  # 9 and 21 are resized to 2*5-1 and 2*7-1
        table_h, table_w = torch.randn(rows_h, 8), torch.randn(rows_w, 8)
        bias_h, bias_w = rel_pos_terms(q, table_h, table_w, (5, 7))
        view_h, view_w = rel_pos_views(q, table_h, table_w, (5, 7), {})
        torch.testing.assert_close(view_h.reshape(bias_h.shape), bias_h, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(view_w.reshape(bias_w.shape), bias_w, rtol=1e-5, atol=1e-5)


def test_window_index_follows_window_partition():
    from sam_core.modeling.image_encoder import _window_index, window_partition

    b, h, w, window = 2, 9, 12, 5
    grid = torch.arange(b * h * w, dtype=torch.float32).view(b, h, w, 1) + 1
    windows, _ = window_partition(grid, window)  # zero rows are padding
    order = torch.zeros(windows.numel())
    order[_window_index({}, (b, h, w), window, grid.device)] = grid.reshape(-1)
    torch.testing.assert_close(order, windows.reshape(-1), rtol=0, atol=0)


def test_concurrent_calls_do_not_share_a_workspace_and_release_frees_the_kept_one():
    from concurrent.futures import ThreadPoolExecutor

    encoder = _encoder(seed=4)
    images = [torch.randn(1, 3, 256, 256) for _ in range(2)]
    with torch.enable_grad():
        expected = [encoder(image).detach() for image in images]

    def encode(i: int) -> torch.Tensor:
        with torch.inference_mode():
            return encoder(images[i % 2])

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(encode, range(12)))
    for i, result in enumerate(results):
        torch.testing.assert_close(result, expected[i % 2], rtol=1e-5, atol=1e-5)
    assert encoder._workspace  # kept for the next image
    encoder.release_workspace()
    assert not encoder._workspace
    with torch.inference_mode():
        torch.testing.assert_close(encoder(images[0]), expected[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", ["onednn", "default"])  # oneDNN: one head at a time
def test_global_attention_in_row_chunks_matches_sdpa(monkeypatch, backend):
    from sam_core.modeling import image_encoder
    from sam_core.utils import gemm

    encoder = _encoder(seed=5)
    image = torch.randn(1, 3, 256, 256)
    with torch.enable_grad():
        expected = encoder(image).detach()
    # The tiny grid (16x16) is below the size that takes the chunked path: lower it, and
    # make chunks of 3 grid rows (4 heads x 16 columns x 256 keys x 4 bytes each), 5 + 1.
    monkeypatch.setattr(image_encoder, "CHUNKED_MIN_TOKENS", 0)
    monkeypatch.setattr(image_encoder, "CHUNK_BYTES", 4 * 16 * 256 * 4 * 3)
    monkeypatch.setattr(gemm, "MIN_ROUTED_MACS", 0)  # the tiny products go to oneDNN too
    calls = []
    real = image_encoder.attend_in_row_chunks
    monkeypatch.setattr(image_encoder, "attend_in_row_chunks", lambda *a: calls.append(1) or real(*a))
    with torch.inference_mode(), gemm.use_cpu_backend(backend):
        chunked = encoder(image)
    assert calls  # the global block went through it
    torch.testing.assert_close(chunked, expected, rtol=1e-5, atol=1e-5)
