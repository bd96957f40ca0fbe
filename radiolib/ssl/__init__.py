"""Self-supervised pre-training: SimCLR (Riggi et al. 2024) and DINO (Lastufka et al. 2024).

Losses and schedules, the two methods (:class:`SimCLR`, :class:`DINO`), their configs, the
method registry (:mod:`~radiolib.ssl.registry`: build from a config, load a trained one), the
checkpoint format, the training loop and its train-once cache. Evaluation callbacks for the
loop live in :mod:`radiolib.evaluate`.

>>> import torch
>>> from radiolib.ssl import NTXentLoss, cosine_schedule
>>> float(NTXentLoss(0.5)(torch.eye(4), torch.eye(4))) < 1.0
True
>>> round(cosine_schedule(0, 100, 0.996, 1.0), 3)
0.996
"""

from radiolib.ssl.checkpoint import load_checkpoint, save_checkpoint
from radiolib.ssl.config import DINOConfig, SimCLRConfig, load_config
from radiolib.ssl.data import ImageTensors, ScaledTiles, dataset_for
from radiolib.ssl.differences import (
    CODE_DIFFERENCES,
    config_table,
    differences_table,
    paper_settings,
)
from radiolib.ssl.dino import DINO
from radiolib.ssl.dino_loss import DINOLoss
from radiolib.ssl.distributed import ResumableSampler, init_distributed, run_local
from radiolib.ssl.ntxent import NTXentLoss
from radiolib.ssl.registry import build_method, load_method, load_pretrained
from radiolib.ssl.schedules import cosine_schedule, teacher_temperature, update_momentum
from radiolib.ssl.simclr import SimCLR
from radiolib.ssl.train import TrainResult, train

__all__ = [
    "CODE_DIFFERENCES",
    "DINO",
    "DINOConfig",
    "DINOLoss",
    "ImageTensors",
    "NTXentLoss",
    "ResumableSampler",
    "ScaledTiles",
    "SimCLR",
    "SimCLRConfig",
    "TrainResult",
    "build_method",
    "config_table",
    "cosine_schedule",
    "dataset_for",
    "differences_table",
    "init_distributed",
    "load_checkpoint",
    "load_config",
    "load_method",
    "load_pretrained",
    "paper_settings",
    "run_local",
    "save_checkpoint",
    "teacher_temperature",
    "train",
    "update_momentum",
]
