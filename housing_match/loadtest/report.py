"""Figures from the ledger and the reconciliation: the JSON document and the printed table."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from housing_match.loadtest.reconcile import Baseline, Check
from housing_match.loadtest.traffic import SUCCESS, Kind, Ledger


def percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), so p99 of few samples
    is not simply the maximum."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class LoadReport:
    config: dict[str, Any]
    duration_s: float
    kinds: dict[str, dict[str, Any]]
    hold_conflicts: int
    server_errors: int
    transport_errors: int
    unexpected: int
    unexpected_examples: list[dict[str, Any]]
    checks: list[Check]
    server_log_tail: str = ""
    setup: dict[str, Any] = field(default_factory=dict)
    client_cpu_s: float = 0.0
    # Kept for inspection (and for tests that tamper with the books); not in the JSON.
    ledger: Ledger | None = None
    baseline: Baseline | None = None

    @property
    def requests(self) -> int:
        return sum(int(kind["requests"]) for kind in self.kinds.values())

    @property
    def reconciled(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def passed(self) -> bool:
        return self.reconciled and not (
            self.server_errors or self.transport_errors or self.unexpected
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "config": self.config,
            "setup": self.setup,
            "duration_s": round(self.duration_s, 3),
            "client_cpu_s": round(self.client_cpu_s, 1),
            "requests": self.requests,
            "rps": round(self.requests / self.duration_s, 1) if self.duration_s else 0.0,
            "kinds": self.kinds,
            "hold_conflicts": self.hold_conflicts,
            "errors": {
                "server_5xx": self.server_errors,
                "transport": self.transport_errors,
                "unexpected_status": self.unexpected,
                "examples": self.unexpected_examples,
                "server_log_tail": self.server_log_tail,
            },
            "reconciliation": {
                "passed": self.reconciled,
                "checks": [check.as_json() for check in self.checks],
            },
        }


def build_report(
    ledger: Ledger,
    checks: list[Check],
    *,
    baseline: Baseline,
    config: dict[str, Any],
    setup: dict[str, Any],
    server_log_tail: str,
) -> LoadReport:
    duration = max(ledger.finished - ledger.started, 1e-9)
    kinds: dict[str, dict[str, Any]] = {}
    for kind in Kind:
        samples = [sample for sample in ledger.samples if sample.kind is kind]
        if not samples:
            continue
        latencies = [sample.latency_ms for sample in samples]
        statuses = Counter(
            "transport" if sample.status is None else str(sample.status) for sample in samples
        )
        kinds[kind.value] = {
            "requests": len(samples),
            "ok": statuses.get(str(SUCCESS[kind]), 0),
            "rps": round(len(samples) / duration, 2),
            "p50_ms": round(percentile(latencies, 0.50), 1),
            "p95_ms": round(percentile(latencies, 0.95), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1),
            "statuses": dict(sorted(statuses.items())),
        }
    server_errors = sum(1 for s in ledger.samples if s.status is not None and s.status >= 500)
    transport = sum(1 for sample in ledger.samples if sample.status is None)
    return LoadReport(
        config=config,
        setup=setup,
        duration_s=duration,
        kinds=kinds,
        hold_conflicts=len(ledger.conflicts),
        server_errors=server_errors,
        transport_errors=transport,
        unexpected=len(ledger.unexpected),
        unexpected_examples=[
            {"kind": item.kind.value, "status": item.status, "detail": item.detail}
            for item in ledger.unexpected[:10]
        ],
        checks=checks,
        server_log_tail=server_log_tail,
        client_cpu_s=ledger.client_cpu_s,
        ledger=ledger,
        baseline=baseline,
    )


def summary(report: LoadReport) -> str:
    lines = [
        f"{report.requests} requests in {report.duration_s:.1f} s "
        f"= {report.requests / report.duration_s:.1f} req/s "
        f"({report.config['clients']} clients, {report.config['uvicorn_workers']} uvicorn "
        f"worker(s); the clients used {report.client_cpu_s:.1f} s of CPU)",
        "",
        f"{'kind':<18}{'requests':>9}{'ok':>8}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}  statuses",
    ]
    for name, kind in report.kinds.items():
        statuses = " ".join(f"{code}×{count}" for code, count in kind["statuses"].items())
        lines.append(
            f"{name:<18}{kind['requests']:>9}{kind['ok']:>8}{kind['rps']:>8.1f}"
            f"{kind['p50_ms']:>9.1f}{kind['p95_ms']:>9.1f}{kind['p99_ms']:>9.1f}  {statuses}"
        )
    lines += [
        "",
        f"409 hold conflicts on referrals (expected, not errors): {report.hold_conflicts}",
        f"5xx: {report.server_errors}   transport errors: {report.transport_errors}   "
        f"other unexpected answers: {report.unexpected}",
        "",
        "reconciliation (client answers vs database rows):",
    ]
    for check in report.checks:
        mark = "ok  " if check.ok else "FAIL"
        line = (
            f"  {mark} {check.name:<53} expected {check.expected!s:>7}  found {check.actual!s:>7}"
        )
        lines.append(line + (f"  ({check.detail})" if check.detail else ""))
    for example in report.unexpected_examples:
        lines.append(f"  unexpected {example['kind']} {example['status']}: {example['detail']}")
    lines += ["", "PASSED" if report.passed else "FAILED"]
    return "\n".join(lines)
