"""The run Config document: one frozen dataclass per section, each default written once, composed by ``RunConfig``.

A run's config crosses the sandbox boundary as JSON, so what a run stores and its sections read is
``resolve_config(user)``: the user's partial document merged onto these defaults, with every key present (a
default left to the time the run has, such as a time budget, is absent rather than null). The ranges a user may
set are validated once, at the API (``api.schemas.ConfigSchema``, whose fields a test keeps equal to these).
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from typing import Any


@dataclass(frozen=True)
class DriftConfig:
    """The drift scenarios swept (features x kinds x severities), the power resamples and the section's budget."""

    features: str | tuple[str, ...] = "all"  # "all" or feature names
    kinds: tuple[str, ...] = ("mean_shift", "scale", "category_shift", "missing")
    severities: tuple[float, ...] = (0.5, 1.0, 2.0)
    resamples: int = 20  # power resamples per scenario
    max_seconds: float = 60.0  # the section's time budget (and never more than 40% of what the run has left)
    tests: dict[str, str] = field(default_factory=dict)  # column or all/numeric/categorical -> stat test
    test_thresholds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ExplainConfig:
    """How many rows are explained, which ones, and against how many background rows."""

    max_samples: int = 200
    background: int = 100
    rows: str = "auto"  # auto (current, else the sample, else generated) | current | sample | synthetic


@dataclass(frozen=True)
class PerformanceConfig:
    """Time budgets of latency timing and the error scan; unset, each is a share of the time the run has left."""

    latency_budget_s: float | None = None
    error_budget_s: float | None = None
    latency_precision: float = 0.05  # stop timing a batch size once its p50 and p95 are known to +-5%


@dataclass(frozen=True)
class RobustnessConfig:
    """The edge cases' time budget; unset, a share of the time the run has left."""

    budget_s: float | None = None


@dataclass(frozen=True)
class QualityConfig:
    """Bootstrap resamples behind the quality metrics' confidence intervals, and the classes' display names."""

    n_boot: int = 1000
    class_names: dict[str, str] | None = None  # the model's class -> the name shown


@dataclass(frozen=True)
class RunConfig:
    """A run's options: the data generated, the batch sizes timed, the time limit, gates, and each section's own."""

    n_samples: int = 1000
    seed: int = 0
    generator: str = "independent"
    batch_sizes: tuple[int, ...] = (1, 10, 100, 1000)
    timeout_s: float = 300
    thresholds: dict[str, dict[str, Any]] = field(default_factory=dict)  # gates: metric path -> bounds
    drift: DriftConfig = field(default_factory=DriftConfig)
    explain: ExplainConfig = field(default_factory=ExplainConfig)
    performance: PerformanceConfig = field(default_factory=PerformanceConfig)
    robustness: RobustnessConfig = field(default_factory=RobustnessConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document: lists for tuples, unset (None) options left out."""
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


# section name -> its dataclass (the nested documents merged key by key)
SECTIONS: dict[str, type] = {f.name: f.default_factory for f in fields(RunConfig) if is_dataclass(f.default_factory)}
DEFAULT_CONFIG: dict[str, Any] = RunConfig().to_dict()


def resolve_config(user: dict[str, Any] | None) -> dict[str, Any]:
    """The defaults overlaid with the user's fields (a section's dict is merged key by key; ``thresholds`` and
    anything else replace the default whole)."""
    merged = copy.deepcopy(DEFAULT_CONFIG)
    for key, value in (user or {}).items():
        if isinstance(value, dict) and key in SECTIONS:
            merged[key] = {**merged[key], **copy.deepcopy(value)}
        else:
            merged[key] = copy.deepcopy(value)
    return merged
