"""DINOLoss against a plain re-implementation of DINO's loss (main_dino.py, as Lastufka et al.)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from radiolib.ssl import DINOLoss


class ReferenceDINOLoss:
    """DINO's DINOLoss written plainly: chunked outputs, loops over (teacher, student) crops."""

    def __init__(self, out_dim, ncrops, teacher_temp=0.04, student_temp=0.1, momentum=0.9):
        self.ncrops, self.teacher_temp, self.student_temp = ncrops, teacher_temp, student_temp
        self.momentum = momentum
        self.center = torch.zeros(1, out_dim)

    def __call__(self, student_output, teacher_output, temp=None):
        temp = self.teacher_temp if temp is None else temp
        student_out = (student_output / self.student_temp).chunk(self.ncrops)
        teacher_out = F.softmax((teacher_output - self.center) / temp, dim=-1).detach().chunk(2)
        total, terms = 0.0, 0
        for iq, q in enumerate(teacher_out):
            for v in range(len(student_out)):
                if v == iq:
                    continue
                total += torch.sum(-q * F.log_softmax(student_out[v], dim=-1), dim=-1).mean()
                terms += 1
        batch_center = teacher_output.sum(dim=0, keepdim=True) / len(teacher_output)
        self.center = self.center * self.momentum + batch_center * (1 - self.momentum)
        return total / terms


@pytest.mark.parametrize("n_local", [0, 2, 8])
def test_matches_dino_reference_over_steps_with_centring(n_local):
    g = torch.Generator().manual_seed(n_local)
    b, k = 4, 32
    ours, ref = DINOLoss(k), ReferenceDINOLoss(k, 2 + n_local)
    for step, temp in enumerate([0.04, 0.05, None]):
        teacher = [torch.randn(b, k, generator=g) * 3 for _ in range(2)]
        student = [torch.randn(b, k, generator=g) for _ in range(2 + n_local)]
        got = ours(teacher, student, teacher_temp=temp)
        want = ref(torch.cat(student), torch.cat(teacher), temp)
        torch.testing.assert_close(got, want, msg=f"step {step}")
        torch.testing.assert_close(ours.center, ref.center)
    assert "center" in ours.state_dict()


def test_gradients_flow_to_the_student_only():
    teacher = [torch.randn(3, 16, requires_grad=True) for _ in range(2)]
    student = [torch.randn(3, 16, requires_grad=True) for _ in range(4)]
    DINOLoss(16)(teacher, student).backward()
    assert all(t.grad is None for t in teacher)
    assert all(s.grad is not None and s.grad.abs().sum() > 0 for s in student)


def test_same_view_pairs_are_skipped():
    """With identical teacher and student global outputs, only cross-view terms count."""
    loss = DINOLoss(8, teacher_temp=0.1, student_temp=0.1, center_momentum=1.0)
    a, b = torch.eye(8)[:2] * 10, torch.eye(8)[2:4] * 10
    value = loss([a, b], [a, b])
    p_a, p_b = F.softmax(a / 0.1, -1), F.softmax(b / 0.1, -1)
    cross = (-(p_a * F.log_softmax(b / 0.1, -1)).sum(-1).mean()
             - (p_b * F.log_softmax(a / 0.1, -1)).sum(-1).mean()) / 2
    torch.testing.assert_close(value, cross)
    assert value > 50  # far from the near-zero self-pair terms


def test_center_moves_towards_the_teacher_mean():
    loss = DINOLoss(4, center_momentum=0.9)
    loss([torch.ones(2, 4), torch.ones(2, 4) * 3], [torch.zeros(2, 4)] * 3)
    np.testing.assert_allclose(loss.center.numpy(), np.full((1, 4), 0.2), rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [(dict(out_dim=0), "^out_dim must be"),
                                           (dict(teacher_temp=0), "^teacher_temp must be"),
                                           (dict(student_temp=-1), "^student_temp must be"),
                                           (dict(center_momentum=1.5), "center_momentum")])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DINOLoss(**{"out_dim": 8, **kwargs})


def test_defaults_and_smallest_valid_arguments():
    """DINO's defaults (65536 prototypes, 0.04 / 0.1, centre momentum 0.9); 1 prototype and a
    centre momentum of 0 (the centre is the last batch mean) are valid."""
    loss = DINOLoss()
    assert (loss.out_dim, loss.teacher_temp, loss.student_temp, loss.center_momentum) == \
        (65536, 0.04, 0.1, 0.9) and loss.center.shape == (1, 65536)
    assert DINOLoss(1).center.shape == (1, 1)
    fresh = DINOLoss(4, center_momentum=0.0)
    fresh([torch.ones(2, 4), torch.ones(2, 4) * 3], [torch.zeros(2, 4)] * 3)
    np.testing.assert_allclose(fresh.center.numpy(), np.full((1, 4), 2.0))


def test_one_teacher_output_is_compared_with_the_other_crops():
    """One global crop for the teacher: its target against every student crop but the first."""
    g = torch.Generator().manual_seed(3)
    teacher = torch.randn(4, 8, generator=g)
    student = [torch.randn(4, 8, generator=g) for _ in range(3)]
    value = DINOLoss(8)([teacher], student)
    target = F.softmax(teacher / 0.04, -1)
    terms = [-(target * F.log_softmax(s / 0.1, -1)).sum(-1).mean() for s in student[1:]]
    torch.testing.assert_close(value, sum(terms) / 2)


def test_more_teacher_outputs_than_student_crops():
    """Three teacher targets, two student crops: target t meets every crop s != t (pairs
    (0, 1), (1, 0), (2, 0), (2, 1)); the third target has no crop of its own to skip."""
    g = torch.Generator().manual_seed(4)
    teacher = [torch.randn(4, 8, generator=g) for _ in range(3)]
    student = [torch.randn(4, 8, generator=g) for _ in range(2)]
    value = DINOLoss(8)(teacher, student)
    targets = [F.softmax(t / 0.04, -1) for t in teacher]
    pairs = [(0, 1), (1, 0), (2, 0), (2, 1)]
    terms = [-(targets[t] * F.log_softmax(student[s] / 0.1, -1)).sum(-1).mean() for t, s in pairs]
    torch.testing.assert_close(value, sum(terms) / len(pairs))


def test_mismatched_outputs_are_rejected():
    with pytest.raises(ValueError, match=r"\(B, 8\)"):
        DINOLoss(8)([torch.randn(2, 8)] * 2, [torch.randn(2, 8), torch.randn(3, 8)])
    with pytest.raises(ValueError, match="at least"):
        DINOLoss(8)([], [torch.randn(2, 8)] * 2)
    with pytest.raises(ValueError, match=r"all outputs must be \(B, 8\)"):  # another out_dim
        DINOLoss(8)([torch.randn(2, 6)] * 2, [torch.randn(2, 6)] * 3)
