"""IMP+: unrestricted IMP (SPEC §6) — the full dense run, retraining on top of it (so it costs more than dense
training).  Everything else is IMP's (:mod:`.imp`)."""
from __future__ import annotations

from ..config import dense_config
from .imp import IMP
from .registry import register


@register
class IMPPlus(IMP):
    name = "imp_plus"
    label = "IMP+"
    color = "#56B4E9"      # Okabe & Ito sky blue
    marker = "diamond"
    order = 20
    fits_budget = False    # retrains on top of the full dense run
    search = {}
    reference = "Zimmer et al. 2023 (unrestricted IMP)"
    authors_code = "strategies/pretrainedStrategies.py: IMP (retraining on top of the full dense run)"
    differences = ""

    @classmethod
    def reference_config(cls, cfg, hparams):
        return dense_config(cfg)
