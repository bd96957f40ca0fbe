"""Self-supervised objectives: SimCLR's NT-Xent (Riggi et al. 2024) and DINO (Lastufka et al.).

>>> import torch
>>> from radiolib.ssl import NTXentLoss, cosine_schedule
>>> float(NTXentLoss(0.5)(torch.eye(4), torch.eye(4))) < 1.0
True
>>> round(cosine_schedule(0, 100, 0.996, 1.0), 3)
0.996
"""

from radiolib.ssl.callbacks import count_mse_callback
from radiolib.ssl.checkpoint import load_checkpoint, load_pretrained, save_checkpoint
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
from radiolib.ssl.schedules import cosine_schedule, teacher_temperature, update_momentum
from radiolib.ssl.simclr import SimCLR
from radiolib.ssl.train import TrainResult, build_method, train

__all__ = ["DINOLoss", "NTXentLoss", "cosine_schedule", "teacher_temperature", "update_momentum"]
__all__ += ["CODE_DIFFERENCES", "DINO", "DINOConfig", "ImageTensors", "ResumableSampler",
            "ScaledTiles", "SimCLR", "SimCLRConfig", "TrainResult", "build_method", "config_table",
            "count_mse_callback", "dataset_for", "differences_table", "init_distributed",
            "load_checkpoint", "load_config", "load_pretrained", "paper_settings", "run_local",
            "save_checkpoint",
            "train"]
__all__.sort()
