"""Shared machinery for the reparameterised methods (DNW, CS, STR, DST).

These methods train latent dense weights ``w`` while every forward pass uses an *effective* weight ``f(w, ·)`` that
is (softly or hardly) sparse.  They are built on PyTorch's own tool for this, :mod:`torch.nn.utils.parametrize`:

* ``on_train_start`` registers one parametrization module on the ``weight`` of every prunable layer (the names in
  ``state.masks.names``).  The latent weight stays the very same ``Parameter`` object (``parametrizations.weight
  .original``), so the optimizer, its momentum buffers and ``state.masks.params`` keep referring to it (checked).
  Extra learnable tensors of a method (CS's mask logits, STR's thresholds, DST's thresholds) are ``nn.Parameter``s
  of the parametrization modules, hence part of the model's ``state_dict`` (checkpointed with it), and are added to
  ``state.optimizer`` as one extra parameter group with the weight decay the method's paper uses.  Because this runs
  before a checkpoint is loaded, resuming restores their values and their optimizer state.
* During training no mask is enforced in place (``after_backward``/``after_step`` do not touch weights or
  gradients): the parametrization *is* the mask.  After every epoch the current hard mask is stored in
  ``state.masks`` only so that the history's ``sparsity`` column shows the sparsity the method has reached so far.
* ``on_train_end`` computes the final hard mask, removes the parametrizations (leaving either the effective weights
  or the latent ones, per method) so the model has plain ``weight`` Parameters again, and leaves the mask in
  ``state.masks``; the common code then applies it, measures sparsity by counting zeros and exports the model.
"""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from torch.nn.utils import parametrize

from .base import Method


class ReparamMethod(Method):
    """Base class: register a parametrization per prunable weight, train, remove them at the end.

    Subclasses implement :meth:`make_parametrization` and :meth:`current_masks`, and may override
    :meth:`extra_weight_decay`, :meth:`final_masks` and :meth:`before_removal`.
    """

    explicit = False
    pruning_stable = True
    sparsity_agnostic = False
    needs_dense = False
    #: True: the weights left in the model are the effective ones f(w); False: the latent ones (masked afterwards)
    leave_parametrized: ClassVar[bool] = True

    def __init__(self, cfg, hparams):
        super().__init__(cfg, hparams)
        self.parts: list[nn.Module] = []                 # one parametrization module per prunable weight
        self.sites: list[tuple[nn.Module, str]] = []     # (module, tensor name) of each parametrized weight
        self.weights: list[nn.Parameter] = []            # the latent weights (== state.masks.params)

    # -- to implement -------------------------------------------------------------------------------------------
    def make_parametrization(self, index: int, name: str, weight: nn.Parameter) -> nn.Module:
        raise NotImplementedError

    @torch.no_grad()
    def current_masks(self) -> list[torch.Tensor]:
        """Boolean keep-masks that the forward pass applies right now."""
        raise NotImplementedError

    def extra_weight_decay(self, state) -> float:
        """Weight decay of the extra parameters (those of the parametrization modules)."""
        return 0.0

    def weight_l2(self) -> torch.Tensor:
        """``0.5 · wd · Σ w²`` over the latent prunable weights, ``wd`` the setting's weight decay: the term the
        authors' CS and DST add to the loss on top of the optimizer's weight decay."""
        return 0.5 * self.cfg.weight_decay * torch.stack([w.square().sum() for w in self.weights]).sum()

    @torch.no_grad()
    def final_masks(self, state) -> list[torch.Tensor]:
        return self.current_masks()

    def before_removal(self, state) -> None:
        """Last chance to switch the parametrizations to their final (hard) form."""

    # -- hooks ----------------------------------------------------------------------------------------------------
    def on_train_start(self, state):
        modules = dict(state.model.named_modules())
        self.weights = list(state.masks.params)
        for i, (name, weight) in enumerate(zip(state.masks.names, state.masks.params)):
            module_name, _, attr = name.rpartition(".")
            module = modules[module_name]
            part = self.make_parametrization(i, name, weight)
            parametrize.register_parametrization(module, attr, part)
            if getattr(module.parametrizations, attr).original is not weight:  # pragma: no cover - torch contract
                raise RuntimeError(f"{name}: the parametrization does not keep the original weight Parameter; the "
                                   f"optimizer would no longer train it")
            self.parts.append(part)
            self.sites.append((module, attr))
        extra = [p for part in self.parts for p in part.parameters()]
        if extra:
            state.optimizer.add_param_group({"params": extra, "weight_decay": self.extra_weight_decay(state)})

    def after_backward(self, state):
        """No gradient masking: the parametrization decides which weights get which gradient."""

    def after_step(self, state):
        """No in-place masking: the latent weights stay dense while training."""

    def on_epoch_end(self, state):
        state.masks.set(self.current_masks())  # reporting only: the history's sparsity column
        return {}

    @torch.no_grad()
    def on_train_end(self, state):
        masks = self.final_masks(state)
        self.before_removal(state)
        for (module, attr), weight in zip(self.sites, self.weights):
            parametrize.remove_parametrizations(module, attr, leave_parametrized=self.leave_parametrized)
            if getattr(module, attr) is not weight:  # pragma: no cover - torch contract (set_ into the original)
                raise RuntimeError(f"removing the parametrization replaced the weight Parameter of {module}; "
                                   f"state.masks.params would no longer point at the model's weights")
        self.parts, self.sites = [], []
        state.masks.set(masks)


def add_mask_parametrizations(state, make, method: str) -> tuple[list[nn.Module], list[torch.Tensor]]:
    """Register ``make(weight)`` — a parametrization module with a bool ``mask`` buffer — on the ``weight`` of every
    prunable layer (DPF, GMP with ``allow_recovering``): the mask is then part of the model's ``state_dict``
    (checkpointed), and ``parametrizations.weight.original`` stays the very Parameter the optimizer and
    ``state.masks`` hold.  Returns the modules and their mask buffers."""
    owners = dict(state.model.named_modules())
    modules, buffers = [], []
    for name, param in zip(state.masks.names, state.masks.params):
        module_name, _, attr = name.rpartition(".")
        module = owners[module_name]
        if attr != "weight" or module.weight is not param:
            raise RuntimeError(f"{method} expects {name} to be the weight of module {module_name!r}")
        parametrize.register_parametrization(module, "weight", make(param))
        if module.parametrizations.weight.original is not param:  # the optimizer must keep updating it
            raise RuntimeError(f"register_parametrization replaced the Parameter {name}")
        modules.append(module)
        buffers.append(module.parametrizations.weight[0].mask)
    return modules, buffers


def remove_mask_parametrizations(state, modules: list[nn.Module]) -> None:
    """Undo :func:`add_mask_parametrizations`: every layer's plain ``weight`` is its dense Parameter again."""
    for i, module in enumerate(modules):
        parametrize.remove_parametrizations(module, "weight", leave_parametrized=False)
        if module.weight is not state.masks.params[i]:  # not expected (torch keeps the Parameter); be safe
            state.masks.params[i] = module.weight
