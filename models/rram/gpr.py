# SPDX-License-Identifier: MIT
"""Heteroscedastic Gaussian-process noise model: conductance reached for a target, fitted to data.

Model (a "chained" GP, Saul et al., AISTATS 2016): for a target ``g`` (µS) and a device
condition ``c`` described by numeric features ``x_c`` (e.g. bake time and temperature, endurance
cycles; or, without features, the condition's index), the reached conductance is
``g + m_r + s_r * y`` with standardised deviation

    y | g, c ~ N(f(u, x_c), exp(2 h(u, x_c))),   u = (g - g_lo) / (g_hi - g_lo),

or, with ``likelihood="student_t"``, a Student-t of ``nu`` degrees of freedom (fitted) with
location ``f`` and scale ``exp(h)``. ``f`` (mean) and ``h`` (log spread) are two independent GPs
with RBF kernels (ARD over ``u`` and every feature), each a sparse variational GP (GPyTorch
``ApproximateGP``) on a fixed grid of inducing inputs: ``N_INDUCING`` values of ``u`` at each
distinct feature vector seen in training. Because the features are numeric, a condition without
training samples is predicted from its neighbours in feature space (leave-one-condition-out).
The Gaussian expected log-likelihood has a closed form (``E[exp(-2h)] = exp(-2 m_h + 2 v_h)``);
the Student-t one is computed by Gauss-Hermite quadrature over ``f`` and ``h``. The evidence
lower bound is optimised with Adam on mini-batches; an "epoch" is one shuffled pass over the
training set (the DFA_Sim paper fits for 100 epochs). Sparse inputs keep the cost linear in the
number of samples (6920 samples, 100 epochs, one condition: about 15 s on one CPU core; the
measured data's six distinct condition feature vectors, 144 inducing inputs, about 3x that),
where an exact GP works on the 6920 x 6920 kernel matrix in every step.

After fitting, the bias ``mean - g`` and the predictive spread
``std = s_r * sqrt(v_f + E[exp(2h)] * k)`` (device spread plus the small uncertainty of the mean;
``k = 1`` for a Gaussian, ``nu / (nu - 2)``, the variance of a unit-scale t, for Student-t) are
tabulated on a dense grid over the fitted target range; :meth:`GPRNoiseModel.mean_std`
interpolates them linearly (10^6 draws in about 0.15 s on two CPU cores). Outside the fitted
range the bias and the spread are held at their edge values (the mean keeps following the
target). A Student-t model serves a location-scale t with that std (the small uncertainty of
the mean folded into the scale, a moment-matched approximation); :meth:`GPRNoiseModel.sample`
maps the standard-normal device personality ``z`` through the t quantile function, so a device
keeps its rank in the distribution.
"""
from __future__ import annotations

import contextlib
import copy
import math
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

with warnings.catch_warnings():
    # linear_operator (GPyTorch's backend) decorates functions with torch.jit.script, which
    # torch >= 2.10 deprecates at import time; the warning concerns that package, not this code.
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated",
                            category=DeprecationWarning)
    import gpytorch

from .noise import NoiseModel

__all__ = ["FORMAT", "VERSION", "LIKELIHOODS", "GPRNoiseModel", "heldout_metrics",
           "normal_scores"]

#: Identifies a saved GPR noise model; :meth:`GPRNoiseModel.load` refuses anything else.
FORMAT = "dfasim.noise.gpr"
#: Layout version of the saved file; bump on any incompatible change. Version 2 adds condition
#: features, the inducing inputs and the likelihood; version-1 files (index conditions, Gaussian)
#: are still read.
VERSION = 2
#: Likelihoods of the standardised deviation: Gaussian, or Student-t with fitted degrees of freedom.
LIKELIHOODS = ("gaussian", "student_t")
#: Initial degrees of freedom of the Student-t (chosen: 10 is close to Gaussian, so the fit only
#: makes the tails heavier where the data ask for it) and its floor (the variance is finite only
#: above 2; 2.1 chosen).
_NU_INIT, _NU_MIN = 10.0, 2.1
#: Gauss-Hermite points per latent (f and h) of the Student-t expected log-likelihood (chosen:
#: 12 x 12 nodes integrate the log-density of a smooth t to < 1e-4 nats on test cases).
_N_QUADRATURE = 12
#: Standard-normal range and points of the z -> Student-t quantile table used for sampling
#: (chosen: |z| > 8.5 has probability 2e-17).
_Z_TABLE_MAX, _Z_TABLE_N = 8.5, 4097

#: Points of the interpolation tables over the fitted range (4096: linear-interpolation error of
#: a smooth curve is ~(range/4096)^2 * curvature / 8, far below the fitted spread).
N_GRID = 4096
#: Inducing inputs per condition, equally spaced in u in [0, 1] (spacing 1/23 < LENGTHSCALE_MIN).
N_INDUCING = 24
#: Smallest kernel length-scale, in units of the fitted range: the model may not resolve features
#: finer than 1/20 of the window (a 4-bit device has levels 1/15 apart), so it interpolates
#: smoothly between programmed levels instead of falling back to the prior there.
LENGTHSCALE_MIN = 0.05
#: Mini-batch size (samples) and peak Adam learning rate of the ELBO fit, cosine-decayed to 0
#: (chosen so that 100 epochs of 6920 samples, 1400 steps, reach the per-level sample spread of
#: synthetic data within its sampling error; a constant rate overestimated it by ~10 %).
BATCH_SIZE = 512
LEARNING_RATE = 0.03
#: Initial hyper-parameters (standardised units): length-scale 0.3 of the range, output scale
#: 0.1, constant spread exp(0) = the overall residual std.
_INIT_LENGTHSCALE, _INIT_OUTPUTSCALE = 0.3, 0.1


class _LatentGP(gpytorch.models.ApproximateGP):
    """One latent function: sparse variational GP with constant mean and ARD RBF kernel."""

    def __init__(self, inducing: torch.Tensor) -> None:
        # mean_init_std=0: no random perturbation of the variational mean (determinism).
        q = gpytorch.variational.CholeskyVariationalDistribution(inducing.shape[0],
                                                                 mean_init_std=0.0)
        strategy = gpytorch.variational.VariationalStrategy(self, inducing, q,
                                                            learn_inducing_locations=False)
        super().__init__(strategy)
        self.mean_module = gpytorch.means.ConstantMean()
        self.covar_module = gpytorch.kernels.ScaleKernel(gpytorch.kernels.RBFKernel(
            ard_num_dims=inducing.shape[1],
            lengthscale_constraint=gpytorch.constraints.GreaterThan(LENGTHSCALE_MIN)))
        self.covar_module.base_kernel.lengthscale = _INIT_LENGTHSCALE
        self.covar_module.outputscale = _INIT_OUTPUTSCALE

    def forward(self, x: torch.Tensor) -> gpytorch.distributions.MultivariateNormal:
        return gpytorch.distributions.MultivariateNormal(self.mean_module(x),
                                                         self.covar_module(x))


class _HeteroscedasticGP(torch.nn.Module):
    """Mean GP ``f`` and log-spread GP ``h`` of the standardised deviation (and Student-t dof)."""

    def __init__(self, inducing: torch.Tensor, likelihood: str = "gaussian") -> None:
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        self.likelihood = likelihood
        self.f = _LatentGP(inducing.clone())
        self.h = _LatentGP(inducing.clone())
        # nu = _NU_MIN + exp(raw): Adam's steps then change nu - _NU_MIN by a factor, so nu moves
        # from _NU_INIT to 3 in a few hundred steps (an additive parameter took thousands).
        raw = math.log(_NU_INIT - _NU_MIN)
        self.raw_nu = torch.nn.Parameter(torch.tensor(raw, dtype=torch.float64),
                                         requires_grad=likelihood == "student_t")
        self.double()

    @property
    def nu(self) -> torch.Tensor:
        """Student-t degrees of freedom (unused by the Gaussian likelihood)."""
        return _NU_MIN + torch.exp(self.raw_nu)

    def _expected_loglik(self, y, mf, vf, mh, vh) -> torch.Tensor:
        if self.likelihood == "gaussian":
            # E_q[log N(y | f, exp(2h))] in closed form for independent Gaussian f and h.
            return (-0.5 * math.log(2 * math.pi) - mh
                    - 0.5 * ((y - mf) ** 2 + vf) * torch.exp(-2.0 * mh + 2.0 * vh))
        nodes, weights = _gauss_hermite(_N_QUADRATURE, y.dtype, y.device)
        f = mf[:, None, None] + torch.sqrt(2.0 * vf)[:, None, None] * nodes[None, :, None]
        h = mh[:, None, None] + torch.sqrt(2.0 * vh)[:, None, None] * nodes[None, None, :]
        logp = _student_t_logpdf(y[:, None, None], f, h, self.nu)
        w = (weights[:, None] * weights[None, :]) / math.pi
        return (logp * w).sum(dim=(1, 2))

    def elbo(self, x: torch.Tensor, y: torch.Tensor, n_total: int) -> torch.Tensor:
        """Evidence lower bound per training sample (mini-batch estimate)."""
        qf, qh = self.f(x), self.h(x)
        ell = self._expected_loglik(y, qf.mean, qf.variance, qh.mean, qh.variance)
        kl = (self.f.variational_strategy.kl_divergence()
              + self.h.variational_strategy.kl_divergence())
        return ell.mean() - kl / n_total

    @torch.no_grad()
    def predict(self, x: torch.Tensor, chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
        """Predictive mean and variance of the standardised deviation."""
        self.eval()
        nu = float(self.nu.detach())
        k = nu / (nu - 2.0) if self.likelihood == "student_t" else 1.0
        means, variances = [], []
        for i in range(0, len(x), chunk):
            qf, qh = self.f(x[i:i + chunk]), self.h(x[i:i + chunk])
            means.append(qf.mean)
            variances.append(qf.variance + k * torch.exp(2.0 * qh.mean + 2.0 * qh.variance))
        return torch.cat(means), torch.cat(variances)


def _gauss_hermite(n: int, dtype: torch.dtype, device: torch.device
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights of ``int exp(-x^2) g(x) dx ~ sum w_i g(x_i)``."""
    import numpy as np

    x, w = np.polynomial.hermite.hermgauss(n)
    return (torch.as_tensor(x, dtype=dtype, device=device),
            torch.as_tensor(w, dtype=dtype, device=device))


def _student_t_logpdf(y: torch.Tensor, loc: torch.Tensor, log_scale: torch.Tensor,
                      nu: torch.Tensor) -> torch.Tensor:
    """log of the location-scale Student-t density."""
    t = (y - loc) * torch.exp(-log_scale)
    return (torch.lgamma((nu + 1) / 2) - torch.lgamma(nu / 2) - 0.5 * torch.log(nu * math.pi)
            - log_scale - (nu + 1) / 2 * torch.log1p(t * t / nu))


def _inducing(features: torch.Tensor) -> torch.Tensor:
    """``N_INDUCING`` values of u in [0, 1] at every row of ``features`` (distinct rows)."""
    u = torch.linspace(0.0, 1.0, N_INDUCING, dtype=torch.float64)
    if features.shape[1] == 0:
        return u.reshape(-1, 1)
    rows = torch.unique(features.to(torch.float64), dim=0)
    return torch.cat([u.repeat(len(rows)).reshape(-1, 1),
                      rows.repeat_interleave(N_INDUCING, dim=0)], dim=1)


def _inputs(u: torch.Tensor, cond: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """GP input rows ``[u, features[c]]`` (``[u]`` when there are no features)."""
    u = u.to(torch.float64).reshape(-1, 1)
    if features.shape[1] == 0:
        return u
    return torch.cat([u, features.to(torch.float64)[cond.to(torch.long).flatten()]], dim=1)


def _index_features(n_conditions: int) -> torch.Tensor:
    """Features of conditions without numeric features: their index (none for one condition).

    A categorical index cannot predict an unseen condition; it is kept for files of version 1
    and for callers that only name conditions.
    """
    if n_conditions == 1:
        return torch.zeros(1, 0, dtype=torch.float64)
    return torch.arange(n_conditions, dtype=torch.float64).reshape(-1, 1)


@torch.no_grad()
def _hyper(gp: _LatentGP) -> dict[str, Any]:
    """Readable kernel hyper-parameters (standardised units; the state dict holds raw values)."""
    k = gp.covar_module
    return {"constant": float(gp.mean_module.constant),
            "outputscale": float(k.outputscale),
            "lengthscale": [float(v) for v in k.base_kernel.lengthscale.flatten()]}


def _plain_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _plain(obj: Any, where: str = "model") -> Any:
    """``obj`` as built-in containers, numbers, strings and tensors (``weights_only`` loads)."""
    if obj is None or type(obj) in (bool, int, float, str):
        return obj
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    for base in (bool, int, float, str):  # subclasses, e.g. numpy.float64, TorchVersion
        if isinstance(obj, base):
            return base(obj)
    if isinstance(obj, dict):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v, where) for v in obj]
    if hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:  # numpy scalar
        return obj.item()
    raise TypeError(f"{where}: cannot store a {type(obj).__name__} in a noise model file")


def _fit_tables(x: torch.Tensor, y: torch.Tensor, features: torch.Tensor,
                trained: torch.Tensor, likelihood: str, g_lo: float, g_hi: float,
                r_mean: float, r_std: float, epochs: int, seed: int, batch_size: int, lr: float,
                n_grid: int, callback: Callable[[int, float], None] | None
                ) -> tuple[_HeteroscedasticGP, float, list[torch.Tensor], list[torch.Tensor]]:
    """Optimise the ELBO with Adam on shuffled mini-batches, then tabulate bias and spread.

    Inducing inputs sit at the features of the conditions in ``trained`` only; the tables cover
    every row of ``features``, trained or not.
    """
    n = len(y)
    # fork_rng: any randomness inside GPyTorch is seeded without touching the caller's RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        gp = _HeteroscedasticGP(_inducing(features[trained]), likelihood)
        gp.train()
        opt = torch.optim.Adam([p for p in gp.parameters() if p.requires_grad], lr=lr)
        # Cosine decay to zero: a constant rate leaves mini-batch noise in the final parameters,
        # which inflates the fitted spread (the residuals absorb it).
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=epochs * math.ceil(n / batch_size))
        loss_val = float("nan")
        for epoch in range(epochs):
            perm = torch.randperm(n, generator=gen)
            total = 0.0
            for i in range(0, n, batch_size):
                idx = perm[i:i + batch_size]
                opt.zero_grad(set_to_none=True)
                loss = -gp.elbo(x[idx], y[idx], n)
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
            loss_val = total / n
            if not math.isfinite(loss_val):
                raise ValueError(f"GP fit diverged (loss {loss_val}) in epoch {epoch + 1}")
            if callback is not None:
                callback(epoch + 1, loss_val)
        bias, std = _tabulate(gp, features, g_lo, g_hi, r_mean, r_std, n_grid)
    return gp, loss_val, bias, std


def _tabulate(gp: _HeteroscedasticGP, features: torch.Tensor, g_lo: float, g_hi: float,
              r_mean: float, r_std: float, n_grid: int
              ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Bias (mean - g) and std (µS) of every condition on ``n_grid`` targets over the range."""
    g_grid = torch.linspace(g_lo, g_hi, n_grid, dtype=torch.float64)
    u_grid = (g_grid - g_lo) / (g_hi - g_lo)
    bias, std = [], []
    for c in range(len(features)):
        m, v = gp.predict(_inputs(u_grid, torch.full_like(u_grid, c), features))
        bias.append(r_mean + r_std * m)
        std.append(r_std * v.sqrt())
    return bias, std


def _t_quantile_table(nu: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Standard-normal grid and the unit-variance Student-t quantiles of the same probability."""
    import numpy as np
    from scipy import special

    z = np.linspace(-_Z_TABLE_MAX, _Z_TABLE_MAX, _Z_TABLE_N)
    q = special.stdtrit(nu, special.ndtr(z)) * math.sqrt((nu - 2.0) / nu)
    return torch.from_numpy(z), torch.from_numpy(q)


class GPRNoiseModel(NoiseModel):
    """Conductance noise fitted by a heteroscedastic GP, served from interpolation tables.

    Build with :meth:`fit` or :meth:`load`. ``mean_std`` uses the model's current condition
    (:attr:`condition`, by default the one named ``default_condition`` at fit time); use
    :meth:`with_condition` for another.

    Attributes
    ----------
    conditions : tuple of str
        Names of the device conditions, e.g. ``("e1/prebake", "e1/postbake", ...)``.
    condition_features : Tensor, shape (n_conditions, n_features)
        The GP's condition inputs (scaled as the caller passed them to :meth:`fit`).
    feature_names : tuple of str
        Names of the feature columns (``("condition_index",)`` for index conditions).
    likelihood : str
        ``"gaussian"`` or ``"student_t"``; :attr:`nu` is the fitted Student-t dof.
    g_lo, g_hi : float
        Fitted target range (µS); the tables cover it.
    meta : dict
        Fit description (source, window, sample counts, metrics, ...), saved with the model.
    """

    def __init__(self, g_lo: float, g_hi: float, bias: torch.Tensor, std: torch.Tensor,
                 conditions: tuple[str, ...], default_condition: str, gp_state: dict[str, Any],
                 fit_info: dict[str, Any], meta: dict[str, Any] | None = None) -> None:
        if not g_hi > g_lo:
            raise ValueError(f"empty fitted range [{g_lo}, {g_hi}] µS")
        if bias.shape != std.shape or bias.shape[0] != len(conditions) or bias.shape[1] < 2:
            raise ValueError("tables must have shape (n_conditions, n_grid >= 2)")
        if default_condition not in conditions:
            raise ValueError(f"default condition {default_condition!r} not in {conditions}")
        self.g_lo, self.g_hi = float(g_lo), float(g_hi)
        self.bias_table = bias.to(torch.float64)
        self.std_table = std.to(torch.float64)
        self.conditions = tuple(conditions)
        self.default_condition = default_condition
        self.gp_state = gp_state
        self.fit_info = fit_info
        self.meta = dict(meta or {})
        self._cond = self.conditions.index(default_condition)
        self._cache: dict[tuple[torch.dtype, torch.device], tuple[torch.Tensor, ...]] = {}
        self._gp: _HeteroscedasticGP | None = None
        feats = gp_state.get("condition_features")
        self.condition_features = (_index_features(len(self.conditions)) if feats is None
                                   else torch.as_tensor(feats, dtype=torch.float64))
        if self.condition_features.shape[0] != len(self.conditions):
            raise ValueError("condition_features must have one row per condition")
        self.feature_names = tuple(gp_state.get(
            "feature_names", ("condition_index",) * self.condition_features.shape[1]))
        self.likelihood = str(gp_state.get("likelihood", "gaussian"))
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"unknown likelihood {self.likelihood!r}")
        self.nu = float(gp_state.get("nu", math.inf))
        if self.likelihood == "student_t" and not self.nu > 2.0:
            raise ValueError(f"Student-t needs nu > 2, got {self.nu}")
        self._z_table: tuple[torch.Tensor, torch.Tensor] | None = None

    # ---------------------------------------------------------------- serving
    @property
    def condition(self) -> str:
        """The condition ``mean_std`` and ``sample`` use."""
        return self.conditions[self._cond]

    def with_condition(self, name: str) -> GPRNoiseModel:
        """The same model serving condition ``name`` (tables are shared, not copied)."""
        if name not in self.conditions:
            raise ValueError(f"unknown condition {name!r}; this model has {self.conditions}")
        other = copy.copy(self)
        other._cond = self.conditions.index(name)
        return other

    def _tables(self, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, ...]:
        key = (dtype, device)
        if key not in self._cache:
            self._cache[key] = (self.bias_table.to(device=device, dtype=dtype).flatten(),
                                self.std_table.to(device=device, dtype=dtype).flatten())
        return self._cache[key]

    def _interp(self, g: torch.Tensor, cond: torch.Tensor | int) -> tuple[torch.Tensor, ...]:
        dtype = g.dtype if g.is_floating_point() else torch.float32
        g = g.to(dtype)
        bias, std = self._tables(dtype, g.device)
        n = self.bias_table.shape[1]
        t = ((g - self.g_lo) * ((n - 1) / (self.g_hi - self.g_lo))).clamp_(0.0, n - 1)
        i0 = t.long().clamp_(0, n - 2)  # NaN targets land on 0 and stay NaN through w
        w = t - i0.to(dtype)
        if isinstance(cond, torch.Tensor):
            i0 = i0 + cond.to(device=g.device, dtype=torch.long) * n
        elif cond:
            i0 = i0 + cond * n
        b = torch.lerp(bias[i0], bias[i0 + 1], w)
        s = torch.lerp(std[i0], std[i0 + 1], w)
        return g + b, s

    def mean_std(self, g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std (µS) of the reached conductance for targets ``g`` (µS), any shape.

        Linear interpolation of the tables; outside ``[g_lo, g_hi]`` the bias (mean - g) and
        the std of the nearest edge are used.
        """
        return self._interp(g, self._cond)

    def mean_std_at(self, g: torch.Tensor, condition: torch.Tensor | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Like :meth:`mean_std`, with a per-element condition index (into ``conditions``)."""
        return self._interp(g, self._cond if condition is None else condition)

    def sample(self, g: torch.Tensor, z: torch.Tensor | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Conductance reached for target ``g``; a Student-t model maps ``z`` to t quantiles.

        ``z`` is the device's standard-normal personality (drawn if not given); the Student-t
        model uses ``mean + std * q(z)`` with ``q`` the unit-variance t quantile of probability
        ``Phi(z)`` (interpolated from a table). Clamped at zero, as in :class:`NoiseModel`.
        """
        if self.likelihood == "gaussian":
            return super().sample(g, z, generator)
        mean, std = self.mean_std(g)
        if z is None:
            z = torch.randn(g.shape, generator=generator, dtype=g.dtype).to(g.device)
        if self._z_table is None:
            self._z_table = _t_quantile_table(self.nu)
        grid, q = (t.to(device=mean.device, dtype=mean.dtype) for t in self._z_table)
        pos = ((z.to(mean.dtype) + _Z_TABLE_MAX) * ((len(grid) - 1) / (2 * _Z_TABLE_MAX)))
        pos = pos.clamp(0.0, len(grid) - 1)
        i0 = pos.long().clamp(0, len(grid) - 2)
        tq = torch.lerp(q[i0], q[i0 + 1], pos - i0.to(mean.dtype))
        return torch.clamp(mean + std * tq, min=0.0)

    # ---------------------------------------------------------------- the GP itself
    def _module(self) -> _HeteroscedasticGP:
        if self._gp is None:
            inducing = self.gp_state.get("inducing")
            inducing = (_inducing(self.condition_features) if inducing is None
                        else torch.as_tensor(inducing, dtype=torch.float64))
            gp = _HeteroscedasticGP(inducing, self.likelihood)
            gp.f.load_state_dict(self.gp_state["f"])
            gp.h.load_state_dict(self.gp_state["h"])
            if self.likelihood == "student_t":
                with torch.no_grad():
                    gp.raw_nu.fill_(math.log(self.nu - _NU_MIN))
            self._gp = gp.eval()
        return self._gp

    def gp_mean_std(self, g: torch.Tensor, condition: str | None = None,
                    features: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std (µS) evaluated on the GP directly (slow; the tables come from this).

        ``features`` (one row, the scaling of :attr:`condition_features`) predicts a condition
        the model has no table for; otherwise ``condition`` (default: the current one) is used.
        """
        g64 = g.detach().to(torch.float64).flatten().cpu()
        if features is None:
            k = self._cond if condition is None else self.conditions.index(condition)
            feats = self.condition_features
        else:
            feats = torch.as_tensor(features, dtype=torch.float64).reshape(1, -1)
            if feats.shape[1] != self.condition_features.shape[1]:
                raise ValueError(f"need {self.condition_features.shape[1]} features, "
                                 f"got {feats.shape[1]}")
            k = 0
        st = self.gp_state
        u = (g64 - self.g_lo) / (self.g_hi - self.g_lo)
        x = _inputs(u, torch.full_like(u, k), feats)
        m, v = self._module().predict(x)
        mean = g64 + st["r_mean"] + st["r_std"] * m
        std = st["r_std"] * v.sqrt()
        return mean.reshape(g.shape), std.reshape(g.shape)

    # ---------------------------------------------------------------- fitting
    @classmethod
    def fit(cls, g_target: torch.Tensor, g_actual: torch.Tensor, *,
            condition: torch.Tensor | None = None, conditions: tuple[str, ...] = ("default",),
            condition_features: torch.Tensor | None = None,
            feature_names: tuple[str, ...] | None = None, likelihood: str = "gaussian",
            default_condition: str | None = None, epochs: int = 100, seed: int = 0,
            batch_size: int = BATCH_SIZE, lr: float = LEARNING_RATE, n_grid: int = N_GRID,
            meta: dict[str, Any] | None = None,
            callback: Callable[[int, float], None] | None = None) -> GPRNoiseModel:
        """Fit the heteroscedastic GP to target -> reached pairs (µS) and tabulate it.

        Parameters
        ----------
        g_target, g_actual : Tensor, shape (n,)
            Target and reached conductance (µS).
        condition : Tensor of int, shape (n,), optional
            Index into ``conditions`` per sample; required when there are several conditions.
        conditions : tuple of str
            Condition names. Conditions without training samples are allowed when
            ``condition_features`` is given: their tables are predicted from the features.
        condition_features : Tensor, shape (len(conditions), n_features), optional
            Numeric description of every condition (e.g. bake minutes / 30, log10 endurance
            cycles / 4), in units comparable to the target's [0, 1] range (the kernel
            length-scales start at 0.3 and stay >= ``LENGTHSCALE_MIN``). Without it, one
            condition has no condition input and several use their index (which cannot
            predict an unseen condition).
        feature_names : tuple of str, optional
            Names of the feature columns (stored with the model).
        likelihood : str
            ``"gaussian"`` or ``"student_t"`` (heavy tails, dof fitted).
        default_condition : str, optional
            Condition served by ``mean_std``; default the last one.
        epochs : int
            Shuffled passes over the data (100 in the DFA_Sim paper).
        seed : int
            Seeds the mini-batch order; initial values are fixed, so the same data and seed
            give bit-identical tables on the same machine and thread count.
        batch_size, lr : int, float
            Adam mini-batch size and learning rate.
        n_grid : int
            Table points over the fitted range.
        meta : dict, optional
            Stored with the model.
        callback : callable, optional
            ``callback(epoch, loss)`` after each epoch (1-based epoch, mean negative ELBO).
        """
        g_t = torch.as_tensor(g_target).detach().to(torch.float64).flatten().cpu()
        g_a = torch.as_tensor(g_actual).detach().to(torch.float64).flatten().cpu()
        n, k = g_t.numel(), len(conditions)
        if g_a.numel() != n or n < 2:
            raise ValueError(f"need two tensors of equal length >= 2, got {n} and {g_a.numel()}")
        if not (torch.isfinite(g_t).all() and torch.isfinite(g_a).all()):
            raise ValueError("conductances must be finite")
        if k < 1 or len(set(conditions)) != k:
            raise ValueError(f"conditions must be distinct names, got {conditions}")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if condition is None:
            if k != 1:
                raise ValueError("pass condition= (one index per sample) for several conditions")
            cond = torch.zeros(n, dtype=torch.long)
        else:
            cond = torch.as_tensor(condition).to(torch.long).flatten().cpu()
            if cond.numel() != n or int(cond.min()) < 0 or int(cond.max()) >= k:
                raise ValueError(f"condition must hold {n} indices in [0, {k})")
        if condition_features is None:
            features = _index_features(k)
            names = ("condition_index",) * features.shape[1]
            if len(torch.unique(cond)) != k:
                raise ValueError("every condition needs training samples when it has no "
                                 "condition_features to be predicted from")
        else:
            features = torch.as_tensor(condition_features).detach().to(torch.float64).cpu()
            if features.ndim != 2 or features.shape[0] != k:
                raise ValueError(f"condition_features must have shape ({k}, n_features), got "
                                 f"{tuple(features.shape)}")
            if not torch.isfinite(features).all():
                raise ValueError("condition_features must be finite")
            names = tuple(feature_names) if feature_names is not None else tuple(
                f"feature_{i}" for i in range(features.shape[1]))
            if len(names) != features.shape[1]:
                raise ValueError(f"{len(names)} feature names for {features.shape[1]} features")
        trained = torch.zeros(k, dtype=torch.bool)
        trained[cond] = True
        if epochs < 1 or batch_size < 1 or n_grid < 2:
            raise ValueError("epochs, batch_size must be >= 1 and n_grid >= 2")
        default_condition = conditions[-1] if default_condition is None else default_condition
        if default_condition not in conditions:
            raise ValueError(f"default condition {default_condition!r} not in {conditions}")
        g_lo, g_hi = float(g_t.min()), float(g_t.max())
        if not g_hi > g_lo:
            raise ValueError("targets must span a range (at least two distinct values)")

        # Standardise: u in [0, 1] over the fitted range, deviation with zero mean and unit std.
        resid = g_a - g_t
        r_mean, r_std = float(resid.mean()), float(resid.std())
        r_std = r_std if r_std > 0 else 1.0
        x = _inputs((g_t - g_lo) / (g_hi - g_lo), cond, features)
        y = (resid - r_mean) / r_std

        t0 = time.perf_counter()
        threads = torch.get_num_threads()
        # One thread: the per-step tensors are tiny (512 x 48), so threading only adds overhead
        # (10x slower on a busy 2-core machine), and the result does not depend on core count.
        torch.set_num_threads(1)
        try:
            gp, loss_val, bias, std = _fit_tables(x, y, features, trained, likelihood, g_lo,
                                                  g_hi, r_mean, r_std, epochs, seed, batch_size,
                                                  lr, n_grid, callback)
        finally:
            torch.set_num_threads(threads)
        fit_seconds = time.perf_counter() - t0

        gp_state = {"f": _plain_state(gp.f), "h": _plain_state(gp.h),
                    "r_mean": r_mean, "r_std": r_std,
                    "hyper": {"mean": _hyper(gp.f), "log_std": _hyper(gp.h)},
                    "n_inducing": N_INDUCING, "lengthscale_min": LENGTHSCALE_MIN,
                    "inducing": gp.f.variational_strategy.inducing_points.detach().clone(),
                    "condition_features": features, "feature_names": list(names),
                    "trained_conditions": [c for c, t in zip(conditions, trained.tolist()) if t],
                    "likelihood": likelihood}
        if likelihood == "student_t":
            gp_state["nu"] = float(gp.nu.detach())
        fit_info = {"epochs": epochs, "seed": seed, "batch_size": batch_size, "lr": lr,
                    "n_train": n, "n_grid": n_grid, "final_loss": loss_val,
                    "fit_seconds": fit_seconds,
                    "gpytorch": str(gpytorch.__version__), "torch": str(torch.__version__)}
        model = cls(g_lo, g_hi, torch.stack(bias), torch.stack(std), tuple(conditions),
                    default_condition, gp_state, fit_info, meta)
        model._gp = gp.eval()
        return model

    # ---------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> None:
        """Write a torch file of plain tensors and dicts (atomic rename into place)."""
        payload = {"format": FORMAT, "version": VERSION,
                   "g_lo_us": self.g_lo, "g_hi_us": self.g_hi,
                   "bias_us": self.bias_table.clone(), "std_us": self.std_table.clone(),
                   "conditions": list(self.conditions),
                   "default_condition": self.default_condition,
                   "gp": _plain(self.gp_state, "gp"), "fit": _plain(self.fit_info, "fit"),
                   "meta": _plain(self.meta, "meta")}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        try:
            torch.save(payload, tmp)
            os.replace(tmp, path)
        except BaseException:
            # A failed or interrupted write leaves neither a half file nor its temporary.
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike) -> GPRNoiseModel:
        """Read a file written by :meth:`save`.

        Raises
        ------
        FileNotFoundError
            No such file.
        ValueError
            One line: unreadable file, foreign format, other version, missing or bad fields.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"noise model file {path} does not exist")
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for a damaged archive
            raise ValueError(f"noise model file {path} is corrupt or not a torch file "
                             f"({type(exc).__name__})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"noise model file {path} has format {got!r}, expected {FORMAT!r}")
        if data.get("version") not in (1, VERSION):
            raise ValueError(f"noise model file {path} has version {data.get('version')}, "
                             f"this dfasim reads versions 1 and {VERSION}")
        try:
            model = cls(data["g_lo_us"], data["g_hi_us"], data["bias_us"], data["std_us"],
                        tuple(data["conditions"]), data["default_condition"], data["gp"],
                        data["fit"], data["meta"])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"noise model file {path} is incomplete or inconsistent "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0][:80]})") from None
        if not (torch.isfinite(model.bias_table).all() and torch.isfinite(model.std_table).all()
                and (model.std_table >= 0).all()):
            raise ValueError(f"noise model file {path} has non-finite or negative table entries")
        return model


def normal_scores(model: GPRNoiseModel, g_target: torch.Tensor, g_actual: torch.Tensor,
                  condition: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Residuals' normal scores under the model, their log-density, and the predicted mean.

    For a Gaussian model the score is ``(actual - mean) / std``. For a Student-t model it is
    ``Phi^-1(F_t(.))`` of the standardised residual (probability-integral transform), so that in
    both cases a calibrated model gives standard-normal scores: ``|z| <= 1`` is the model's
    central 68.3 % interval, ``|z| <= 2`` its 95.4 % interval.

    Returns
    -------
    z, log_density, mean : Tensor of float64
        Normal score, log predictive density (per µS) and predicted mean (µS), per sample.
    """
    g_t = torch.as_tensor(g_target).to(torch.float64)
    g_a = torch.as_tensor(g_actual).to(torch.float64)
    mean, std = model.mean_std_at(g_t, condition)
    std = std.clamp(min=1e-12)
    e = (g_a - mean) / std
    if model.likelihood == "gaussian":
        return e, -0.5 * math.log(2 * math.pi) - torch.log(std) - 0.5 * e ** 2, mean
    import numpy as np
    from scipy import special

    nu = model.nu
    scale = std * math.sqrt((nu - 2.0) / nu)  # the t's scale for this std
    t = ((g_a - mean) / scale).numpy()
    # Normal score from the smaller tail probability (keeps precision far out in the tails).
    tail = special.stdtr(nu, -np.abs(t))
    z = torch.from_numpy(np.sign(t) * -special.ndtri(tail))
    logp = (math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi)
            - torch.log(scale) - (nu + 1) / 2 * torch.log1p(torch.from_numpy(t) ** 2 / nu))
    return z, logp, mean


def heldout_metrics(model: GPRNoiseModel, g_target: torch.Tensor, g_actual: torch.Tensor,
                    condition: torch.Tensor | None = None) -> dict[str, float]:
    """Held-out quality of a noise model's mean and spread.

    Returns
    -------
    dict
        ``n``; ``r2`` of the predicted mean vs the reached conductance; ``r2_deviation``, the
        same for the deviation ``reached - target`` (what the noise model predicts beyond the
        target itself); ``coverage_1sigma`` and ``coverage_2sigma``, fractions of points whose
        normal score (:func:`normal_scores`) is within ±1 / ±2 (0.683 / 0.954 when calibrated;
        for a Gaussian model: within ±1σ / ±2σ of the mean); ``z_std``, the std of the normal
        scores (1 when calibrated); ``frac_beyond_3sigma`` (0.0027 when calibrated); ``nll``,
        mean negative log predictive density (nats/sample, µS); ``rmse_us``.
    """
    g_t = torch.as_tensor(g_target).to(torch.float64)
    g_a = torch.as_tensor(g_actual).to(torch.float64)
    z, logp, mean = normal_scores(model, g_t, g_a, condition)
    r = g_a - mean
    dev = g_a - g_t
    ss_tot = float(((g_a - g_a.mean()) ** 2).sum())
    ss_dev = float(((dev - dev.mean()) ** 2).sum())
    ss_res = float((r ** 2).sum())
    az = z.abs()
    return {"n": int(g_t.numel()),
            "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
            "r2_deviation": 1.0 - ss_res / ss_dev if ss_dev > 0 else float("nan"),
            "coverage_1sigma": float((az <= 1.0).double().mean()),
            "coverage_2sigma": float((az <= 2.0).double().mean()),
            "z_std": float(z.std()) if z.numel() > 1 else float("nan"),
            "frac_beyond_3sigma": float((az > 3.0).double().mean()),
            "nll": float(-logp.mean()),
            "rmse_us": float(r.pow(2).mean().sqrt())}
