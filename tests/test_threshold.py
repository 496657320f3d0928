"""``sam_core.utils.threshold``: numpy's comparison on the CPU gives torch's masks exactly."""
import torch

from sam_core.utils.threshold import greater, greater_into


def test_greater_into_a_block_of_a_larger_mask_equals_torch_gt_nan_and_ties_included():
    values = torch.randn(3, 7, 11)
    values[0, 0, :4] = torch.tensor([float("nan"), 0.0, -0.0, 0.25])
    out = torch.ones(3, 20, 11, dtype=torch.bool)
    greater_into(values, 0.25, out[:, 5:12])
    assert torch.equal(out[:, 5:12], values > 0.25)
    assert out[:, :5].all() and out[:, 12:].all()  # rows around the block untouched


def test_greater_of_non_float32_or_strided_values_agrees_with_torch():
    values = torch.randn(4, 9, dtype=torch.float64)
    assert torch.equal(greater(values, 0.1), values > 0.1)
    strided = torch.randn(9, 4).t()
    assert torch.equal(greater(strided, -0.3), strided > -0.3)
    assert greater(torch.randn(2, 3, dtype=torch.bfloat16), 0.0).dtype == torch.bool


def test_greater_of_logits_that_require_grad():
    values = torch.randn(5, 6, requires_grad=True)
    assert torch.equal(greater(values * 2, 0.0), values.detach() * 2 > 0.0)
