# SPDX-License-Identifier: MIT
"""Heteroscedastic Gaussian-process noise model: conductance reached for a target, fitted to data.

Model (a "chained" GP, Saul et al., AISTATS 2016): for a target ``g`` (µS) and an optional
condition ``c`` (a small set of read conditions, e.g. before/after a retention bake), the reached
conductance is ``g + m_r + s_r * y`` with standardised deviation

    y | g, c ~ N(f(u, c), exp(2 h(u, c))),   u = (g - g_lo) / (g_hi - g_lo),

where ``f`` (mean) and ``h`` (log spread) are two independent GPs with RBF kernels (ARD over
``u`` and the condition index), each a sparse variational GP (GPyTorch ``ApproximateGP``) on a
fixed grid of inducing inputs. The expected log-likelihood has a closed form
(``E[exp(-2h)] = exp(-2 m_h + 2 v_h)``), so the evidence lower bound is optimised with Adam on
mini-batches; an "epoch" is one shuffled pass over the training set (the DFA_Sim paper fits for
100 epochs). Sparse inputs keep the cost linear in the number of samples (6920 samples, 100
epochs: about 15 s on one CPU core), where an exact GP works on the 6920 x 6920 kernel matrix in
every step.

After fitting, the bias ``mean - g`` and the predictive spread
``std = s_r * sqrt(v_f + E[exp(2h)])`` (device spread plus the small uncertainty of the mean) are
tabulated on a dense grid over the fitted target range; :meth:`GPRNoiseModel.mean_std`
interpolates them linearly (10^6 draws in about 0.15 s on two CPU cores). Outside the fitted
range the bias and the spread are held at their edge values (the mean keeps following the
target).
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

__all__ = ["FORMAT", "VERSION", "GPRNoiseModel", "heldout_metrics"]

#: Identifies a saved GPR noise model; :meth:`GPRNoiseModel.load` refuses anything else.
FORMAT = "dfasim.noise.gpr"
#: Layout version of the saved file; bump on any incompatible change.
VERSION = 1

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
    """Mean GP ``f`` and log-spread GP ``h`` of the standardised deviation."""

    def __init__(self, n_conditions: int) -> None:
        super().__init__()
        self.n_conditions = n_conditions
        inducing = _inputs(torch.linspace(0.0, 1.0, N_INDUCING, dtype=torch.float64)
                           .repeat(n_conditions),
                           torch.arange(n_conditions).repeat_interleave(N_INDUCING),
                           n_conditions)
        self.f = _LatentGP(inducing.clone())
        self.h = _LatentGP(inducing.clone())
        self.double()

    def elbo(self, x: torch.Tensor, y: torch.Tensor, n_total: int) -> torch.Tensor:
        """Evidence lower bound per training sample (mini-batch estimate)."""
        qf, qh = self.f(x), self.h(x)
        mf, vf, mh, vh = qf.mean, qf.variance, qh.mean, qh.variance
        # E_q[log N(y | f, exp(2h))] in closed form for independent Gaussian f and h.
        ell = (-0.5 * math.log(2 * math.pi) - mh
               - 0.5 * ((y - mf) ** 2 + vf) * torch.exp(-2.0 * mh + 2.0 * vh))
        kl = (self.f.variational_strategy.kl_divergence()
              + self.h.variational_strategy.kl_divergence())
        return ell.mean() - kl / n_total

    @torch.no_grad()
    def predict(self, x: torch.Tensor, chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
        """Predictive mean and variance of the standardised deviation."""
        self.eval()
        means, variances = [], []
        for i in range(0, len(x), chunk):
            qf, qh = self.f(x[i:i + chunk]), self.h(x[i:i + chunk])
            means.append(qf.mean)
            variances.append(qf.variance + torch.exp(2.0 * qh.mean + 2.0 * qh.variance))
        return torch.cat(means), torch.cat(variances)


def _inputs(u: torch.Tensor, cond: torch.Tensor, n_conditions: int) -> torch.Tensor:
    """GP input rows: ``[u]`` for one condition, ``[u, c]`` (c = condition index) for several."""
    u = u.to(torch.float64).reshape(-1, 1)
    if n_conditions == 1:
        return u
    return torch.cat([u, cond.to(torch.float64).reshape(-1, 1)], dim=1)


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


def _fit_tables(x: torch.Tensor, y: torch.Tensor, k: int, g_lo: float, g_hi: float,
                r_mean: float, r_std: float, epochs: int, seed: int, batch_size: int, lr: float,
                n_grid: int, callback: Callable[[int, float], None] | None
                ) -> tuple[_HeteroscedasticGP, float, list[torch.Tensor], list[torch.Tensor]]:
    """Optimise the ELBO with Adam on shuffled mini-batches, then tabulate bias and spread."""
    n = len(y)
    # fork_rng: any randomness inside GPyTorch is seeded without touching the caller's RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        gen = torch.Generator().manual_seed(seed)
        gp = _HeteroscedasticGP(k)
        gp.train()
        opt = torch.optim.Adam(gp.parameters(), lr=lr)
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

        g_grid = torch.linspace(g_lo, g_hi, n_grid, dtype=torch.float64)
        u_grid = (g_grid - g_lo) / (g_hi - g_lo)
        bias, std = [], []
        for c in range(k):
            m, v = gp.predict(_inputs(u_grid, torch.full_like(u_grid, c), k))
            bias.append(r_mean + r_std * m)
            std.append(r_std * v.sqrt())
    return gp, loss_val, bias, std


class GPRNoiseModel(NoiseModel):
    """Conductance noise fitted by a heteroscedastic GP, served from interpolation tables.

    Build with :meth:`fit` or :meth:`load`. ``mean_std`` uses the model's current condition
    (:attr:`condition`, by default the one named ``default_condition`` at fit time); use
    :meth:`with_condition` for another.

    Attributes
    ----------
    conditions : tuple of str
        Names of the read conditions (the GP's second input), e.g. ``("prebake", "postbake")``.
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

    # ---------------------------------------------------------------- the GP itself
    def _module(self) -> _HeteroscedasticGP:
        if self._gp is None:
            gp = _HeteroscedasticGP(len(self.conditions))
            gp.f.load_state_dict(self.gp_state["f"])
            gp.h.load_state_dict(self.gp_state["h"])
            self._gp = gp.eval()
        return self._gp

    def gp_mean_std(self, g: torch.Tensor, condition: str | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and std (µS) evaluated on the GP directly (slow; the tables come from this)."""
        k = self._cond if condition is None else self.conditions.index(condition)
        g64 = g.detach().to(torch.float64).flatten().cpu()
        st = self.gp_state
        u = (g64 - self.g_lo) / (self.g_hi - self.g_lo)
        x = _inputs(u, torch.full_like(u, k), len(self.conditions))
        m, v = self._module().predict(x)
        mean = g64 + st["r_mean"] + st["r_std"] * m
        std = st["r_std"] * v.sqrt()
        return mean.reshape(g.shape), std.reshape(g.shape)

    # ---------------------------------------------------------------- fitting
    @classmethod
    def fit(cls, g_target: torch.Tensor, g_actual: torch.Tensor, *,
            condition: torch.Tensor | None = None, conditions: tuple[str, ...] = ("default",),
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
            Condition names; with one condition the GP has the target as its only input.
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
        if condition is None:
            if k != 1:
                raise ValueError("pass condition= (one index per sample) for several conditions")
            cond = torch.zeros(n, dtype=torch.long)
        else:
            cond = torch.as_tensor(condition).to(torch.long).flatten().cpu()
            if cond.numel() != n or int(cond.min()) < 0 or int(cond.max()) >= k:
                raise ValueError(f"condition must hold {n} indices in [0, {k})")
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
        x = _inputs((g_t - g_lo) / (g_hi - g_lo), cond, k)
        y = (resid - r_mean) / r_std

        t0 = time.perf_counter()
        threads = torch.get_num_threads()
        # One thread: the per-step tensors are tiny (512 x 48), so threading only adds overhead
        # (10x slower on a busy 2-core machine), and the result does not depend on core count.
        torch.set_num_threads(1)
        try:
            gp, loss_val, bias, std = _fit_tables(x, y, k, g_lo, g_hi, r_mean, r_std, epochs,
                                                  seed, batch_size, lr, n_grid, callback)
        finally:
            torch.set_num_threads(threads)
        fit_seconds = time.perf_counter() - t0

        gp_state = {"f": _plain_state(gp.f), "h": _plain_state(gp.h),
                    "r_mean": r_mean, "r_std": r_std,
                    "hyper": {"mean": _hyper(gp.f), "log_std": _hyper(gp.h)},
                    "n_inducing": N_INDUCING, "lengthscale_min": LENGTHSCALE_MIN}
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
        if data.get("version") != VERSION:
            raise ValueError(f"noise model file {path} has version {data.get('version')}, "
                             f"this dfasim reads version {VERSION}")
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


def heldout_metrics(model: GPRNoiseModel, g_target: torch.Tensor, g_actual: torch.Tensor,
                    condition: torch.Tensor | None = None) -> dict[str, float]:
    """Held-out quality of a noise model's mean and spread.

    Returns
    -------
    dict
        ``n``; ``r2`` of the predicted mean vs the reached conductance; ``coverage_1sigma`` and
        ``coverage_2sigma``, fractions of points within ±1σ / ±2σ of the mean (0.683 / 0.954 for
        a calibrated Gaussian); ``nll``, mean Gaussian negative log-likelihood (nats/sample);
        ``rmse_us``.
    """
    g_t = torch.as_tensor(g_target).to(torch.float64)
    g_a = torch.as_tensor(g_actual).to(torch.float64)
    mean, std = model.mean_std_at(g_t, condition)
    r = g_a - mean
    ss_tot = float(((g_a - g_a.mean()) ** 2).sum())
    z = r.abs() / std.clamp(min=1e-12)
    nll = 0.5 * math.log(2 * math.pi) + torch.log(std.clamp(min=1e-12)) + 0.5 * z ** 2
    return {"n": int(g_t.numel()),
            "r2": 1.0 - float((r ** 2).sum()) / ss_tot if ss_tot > 0 else float("nan"),
            "coverage_1sigma": float((z <= 1.0).double().mean()),
            "coverage_2sigma": float((z <= 2.0).double().mean()),
            "nll": float(nll.mean()),
            "rmse_us": float(r.pow(2).mean().sqrt())}
