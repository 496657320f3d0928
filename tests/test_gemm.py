"""``sam_core.utils.gemm``: oneDNN's products equal torch's to fp32 rounding, on every path
the encoder and the decoder use, and the backend can be chosen."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from sam_core import SamPredictor
from sam_core.utils import gemm

BACKENDS = pytest.mark.parametrize("backend", gemm.BACKENDS)


def _close(actual: torch.Tensor, expected: torch.Tensor) -> None:
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5 * max(1.0, float(expected.abs().max())))


@BACKENDS
def test_linear_with_bias_residual_gelu_and_views_equals_torch(backend):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 300, 64, generator=g)
    weight = torch.randn(96, 64, generator=g)
    bias = torch.randn(96, generator=g)
    residual = torch.randn(2, 300, 96, generator=g)
    expected = F.linear(x, weight, bias)
    with torch.inference_mode(), gemm.use_cpu_backend(backend):
        _close(gemm.linear(x, weight, bias), expected)
        _close(gemm.linear(x, weight), F.linear(x, weight))
        _close(gemm.linear(x, weight, bias, residual=residual), expected + residual)
        _close(gemm.linear(x, weight, bias, residual=residual[:1]), expected + residual[:1])  # broadcast
        _close(gemm.linear(x, weight, bias, gelu=True), F.gelu(expected))
        kept = torch.empty(600, 96)
        result = gemm.linear(x.reshape(600, 64), weight, bias, gelu=True, out=kept)
        _close(result, F.gelu(expected).reshape(600, 96))
        transposed_weight = weight.t().contiguous().t()  # N x K with strides (1, N)
        _close(gemm.linear(x, transposed_weight, bias), expected)
        transposed_x = x[0].t().contiguous().t()  # a non-contiguous input is made contiguous
        _close(gemm.linear(transposed_x, weight, bias), expected[0])
    with pytest.raises(ValueError):
        gemm.linear(x, weight, bias, residual=residual, gelu=True)


@BACKENDS
def test_matmul_of_a_transposed_view_equals_torch(backend):
    g = torch.Generator().manual_seed(1)
    a = torch.randn(56, 256, generator=g)
    image = torch.randn(4096, 256, generator=g)
    with torch.inference_mode(), gemm.use_cpu_backend(backend):
        _close(gemm.matmul(a, image.t()), a @ image.t())
        weights = torch.softmax(torch.randn(56, 4096, generator=g), dim=-1)
        _close(gemm.matmul(weights, image), weights @ image)


@BACKENDS
def test_bmm_with_a_shared_or_per_item_operand_and_a_residual_equals_torch(backend):
    g = torch.Generator().manual_seed(2)
    a = torch.randn(3, 40, 256, generator=g)
    shared, per_item = torch.randn(1, 256, 300, generator=g), torch.randn(3, 256, 300, generator=g)
    residual = torch.randn(1, 40, 300, generator=g)
    with torch.inference_mode(), gemm.use_cpu_backend(backend):
        _close(gemm.bmm(a, shared), a @ shared)
        _close(gemm.bmm(a, per_item), a @ per_item)
        _close(gemm.bmm(a, shared, residual), a @ shared + residual)
        _close(gemm.bmm(a.transpose(1, 2).contiguous().transpose(1, 2), per_item, residual), a @ per_item + residual)
        _close(gemm.bmm(a[:1], per_item[:1], residual), a[:1] @ per_item[:1] + residual)


@BACKENDS
@pytest.mark.parametrize("rows", [5, gemm.CHUNK_ROWS, 2 * gemm.CHUNK_ROWS + 37])
def test_linear_into_and_add_linear_in_row_chunks(backend, rows):
    g = torch.Generator().manual_seed(rows)
    x = torch.randn(rows, 48, generator=g)
    weight, bias = torch.randn(80, 48, generator=g), torch.randn(80, generator=g)
    stream = torch.randn(rows, 80, generator=g)
    expected_stream = stream + F.linear(x, weight, bias)
    out = torch.full((rows, 80), float("nan"))
    with torch.inference_mode(), gemm.use_cpu_backend(backend):
        assert gemm.linear_into(x, weight, bias, out) is out
        assert gemm.add_linear_(stream, x, weight, bias) is stream
    _close(out, F.linear(x, weight, bias))
    _close(stream, expected_stream)


def test_a_product_that_needs_its_gradient_stays_with_torch():
    weight = torch.randn(8, 4, requires_grad=True)
    x = torch.randn(3, 4)
    with gemm.use_cpu_backend("onednn"):
        assert not gemm.routes(weight)
        y = gemm.linear(x, weight, gelu=True)
    y.sum().backward()
    expected = torch.autograd.grad(F.gelu(F.linear(x, weight)).sum(), weight)[0]
    _close(weight.grad, expected)


def test_backend_from_the_environment_and_forced(monkeypatch):
    monkeypatch.setenv(gemm.ENV_VAR, "default")
    assert gemm.cpu_backend() == "default"
    monkeypatch.setenv(gemm.ENV_VAR, "onednn")
    assert gemm.cpu_backend() == ("onednn" if gemm.onednn_available() else "default")
    with gemm.use_cpu_backend("default"):
        assert gemm.cpu_backend() == "default"
        assert not gemm.routes(torch.zeros(2, 2))
    monkeypatch.delenv(gemm.ENV_VAR)
    assert gemm.cpu_backend() in gemm.BACKENDS  # the machine's: oneDNN on AMD x86 CPUs
    monkeypatch.setattr(gemm, "_cpu_vendor", lambda: "GenuineIntel")
    gemm._machine_backend.cache_clear()
    try:
        assert gemm.cpu_backend() == "default"
    finally:
        gemm._machine_backend.cache_clear()
    with pytest.raises(ValueError, match="unknown CPU GEMM backend"):
        with gemm.use_cpu_backend("blas"):
            pass


def test_other_dtypes_stay_with_torch():
    with gemm.use_cpu_backend("onednn"):
        assert not gemm.routes(torch.zeros(2, 2, dtype=torch.bfloat16))
        assert not gemm.routes(torch.zeros(2, 2, dtype=torch.float64))


def test_encoder_and_decoder_agree_across_backends(tiny_sam, photo, monkeypatch):
    """The whole predictor (encoder, cached decoder, many-point prompts that project the
    image, a batch of two prompts with mask inputs) under each backend, every product of
    the oneDNN run on oneDNN (the tiny model's small ones too)."""
    monkeypatch.setattr(gemm, "MIN_ROUTED_MACS", 0)
    image = photo(300, 450, seed=3)
    points = np.array([[40, 60], [200, 100], [300, 250]] + [[10 * i, 7 * i] for i in range(1, 15)])
    labels = np.array([1, 0, 1] + [1] * 14)
    results = {}
    for backend in gemm.BACKENDS:
        with gemm.use_cpu_backend(backend):
            predictor = SamPredictor(tiny_sam)
            predictor.set_image(image)
            few = predictor.predict(point_coords=points[:3], point_labels=labels[:3], return_logits=True)
            many = predictor.predict(point_coords=points, point_labels=labels, multimask_output=False)
            coords = torch.as_tensor(predictor.transform.apply_coords(points[:4], image.shape[:2]), dtype=torch.float)
            with torch.inference_mode():
                low_res, iou = predictor.decode(
                    coords.view(2, 2, 2), torch.ones(2, 2, dtype=torch.int), None, torch.randn(
                        2, 1, 256, 256, generator=torch.Generator().manual_seed(0)), True)  # fmt: skip
            results[backend] = (predictor.features, few, many, low_res, iou)
    onednn, default = results["onednn"], results["default"]
    _close(onednn[0], default[0])
    for ours, theirs in zip(onednn[1], default[1]):
        _close(torch.as_tensor(ours), torch.as_tensor(theirs))
    agree = (onednn[2][0] == default[2][0]).mean()
    assert agree > 0.999
    _close(onednn[3], default[3])
    _close(onednn[4], default[4])


@BACKENDS
@pytest.mark.parametrize("act", [torch.nn.ReLU, torch.nn.GELU])
def test_token_mlps_through_gemm_equal_their_layers(backend, act):
    """SAM's MLPBlock and SAM 2's MLP send their linears to gemm: the same as the layers
    themselves, with and without autograd; a quantized MLPBlock keeps its own layers."""
    from sam_core.modeling.common import MLPBlock
    from sam_core.modeling.mask_decoder import MLP

    torch.manual_seed(0)
    block, mlp = MLPBlock(256, 2048, act).eval(), MLP(256, 2048, 256, num_layers=2).eval()
    x = torch.randn(1, 22, 256)
    expected_block = block.lin2(block.act(block.lin1(x))).detach()
    expected_mlp = mlp.layers[1](torch.relu(mlp.layers[0](x))).detach()
    with gemm.use_cpu_backend(backend):
        with torch.inference_mode():
            _close(block(x), expected_block)
            _close(mlp(x), expected_mlp)
        _close(block(x).detach(), expected_block)  # with autograd: torch's path, the activation not in place
        _close(mlp(x).detach(), expected_mlp)
    with warnings.catch_warnings():  # torch's note that its quantization API is deprecated
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic

        quantized = quantize_dynamic(block, {torch.nn.Linear}, dtype=torch.qint8)
    with torch.inference_mode():
        got = quantized(x)
        torch.testing.assert_close(got, quantized.lin2(quantized.act(quantized.lin1(x))))
        assert float((got - expected_block).abs().max()) < 0.1 * float(expected_block.abs().max())
