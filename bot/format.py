"""Plain-text replies, shared by every face. Platform adapters escape and split them.

User-controlled text (token names and symbols) goes through ``clean`` first: control
characters and line breaks are removed and the length is capped, so a name cannot forge extra
lines of a reply. Markup escaping is the adapters' job (HTML for Telegram, markdown for Discord).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from datetime import datetime

from engine.views import (
    CLASS_SHORT,
    CLASSES,
    AlertView,
    InsightsReport,
    KolProfile,
    Prediction,
    StatusReport,
    TrackedKol,
    TrainReport,
    usd,
)

MAX_NAME = 40


def clean(text: str, limit: int = MAX_NAME) -> str:
    """User-controlled text made safe for one line: no control characters, capped length."""
    kept = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text)
    kept = " ".join(kept.split())
    return kept if len(kept) <= limit else kept[: limit - 1] + "…"


def pct(value: float | None, digits: int = 0) -> str:
    if value is None or math.isnan(value):
        return "n/a"
    return f"{100 * value:.{digits}f}%"


def metric_text(value: float | int | None) -> str:
    """A metric for a table ("n/a" for NaN or absent)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return str(value) if isinstance(value, int) else f"{value:.4f}"


def when(ts: datetime | None) -> str:
    return "never" if ts is None else ts.strftime("%Y-%m-%d %H:%M UTC")


def probabilities(probs: Sequence[float]) -> str:
    return " | ".join(
        f"{CLASS_SHORT[name]} {100 * p:.1f}%" for name, p in zip(CLASSES, probs, strict=True)
    )


def token_title(symbol: str, name: str) -> str:
    return f"${clean(symbol, 16)} ({clean(name)})"


def links(mint: str) -> str:
    return f"https://dexscreener.com/solana/{mint} · https://solscan.io/token/{mint}"


MAY_REPEAT = "Resent after a restart: this alert may have arrived already."


def alert(view: AlertView) -> str:
    """An alert's text; one that may have been delivered before the sender died says so first."""
    dh = "n/a" if view.diamond_hand_score is None else f"{view.diamond_hand_score:.0f}"
    lines = [MAY_REPEAT] if view.maybe_delivered else []
    lines += [
        f"ALERT {token_title(view.symbol, view.name)}  conviction {view.score} "
        f"(rules {view.rule_score} + ML {view.score - view.rule_score})",
        f"Diamond Hand KOL {clean(view.kol_name)} [{view.kol_tier}] bought · DH score {dh}",
        f"Bought {when(view.alert_ts)} · signal opened {when(view.signal_ts)} at {usd(view.entry_mcap)} mcap",
    ]
    if view.probabilities:
        lines.append("Odds: " + probabilities(view.probabilities))
    lines.extend(f"  {i}. {r}" for i, r in enumerate(view.reasons, 1))
    lines.append(f"Mint {view.mint}")
    lines.append(links(view.mint))
    return "\n".join(lines)


def prediction(p: Prediction) -> str:
    s = p.score
    lines = [
        f"{token_title(p.symbol, p.name)} · {p.mint}",
        f"As of {when(p.as_of)} · model {s.model_version or 'none'}",
        f"Conviction {s.total} (rules {s.rule} + ML boost {s.boost})",
    ]
    if s.probabilities is not None and s.predicted is not None:
        lines.append("Odds: " + probabilities(s.probabilities))
        lines.append(f"Most likely: {CLASSES[s.predicted]} ({CLASS_SHORT[CLASSES[s.predicted]]})")
    if s.reasons:
        lines.append("Top reasons:")
        lines.extend(f"  {i}. {r.text}" for i, r in enumerate(s.reasons, 1))
    if p.signal_ts is not None:
        ended = "" if p.outcome_label is None else f", ended {CLASSES[p.outcome_label]}"
        lines.append(f"Signal opened {when(p.signal_ts)}{ended}")
    return "\n".join(lines)


def kol(profile: KolProfile) -> str:
    st = profile.stats
    dh = (
        "n/a"
        if st.diamond_hand_score is None
        else f"{st.diamond_hand_score:.0f}/100 over {st.n_winners} winners"
    )
    hold = "n/a" if st.avg_hold_hours is None else f"{st.avg_hold_hours:.1f} h"
    lines = [
        f"{clean(profile.name)} [{profile.tier}] · {profile.wallet}",
        f"Positions {st.n_positions} ({st.n_closed} closed) · signals opened {profile.signals_triggered}",
        f"Win rate {pct(st.win_rate)} · 3x+ rate {pct(st.three_x_rate)} · avg hold {hold}",
        f"Realized PnL {st.total_pnl_sol:+.2f} SOL",
        f"Diamond Hand score {dh}" + (" · DIAMOND HAND" if profile.is_diamond_hand else ""),
    ]
    for f in profile.forecasts:
        how = "shrunk toward all KOLs" if f.method == "empirical_bayes" else "learned model"
        lines.append(
            f"Next {f.horizon_days} d 3x+ rate: {pct(f.estimate)} (95% {pct(f.low)}-{pct(f.high)}, {how})"
        )
    if profile.recent:
        lines.append("Recent positions:")
        for pos in profile.recent:
            mult = "open" if pos.multiple is None else f"{pos.multiple:.2f}x"
            peak = "" if pos.peak_multiple is None else f", peak {pos.peak_multiple:.1f}x"
            lines.append(
                f"  {when(pos.opened_at)} {pos.mint[:8]}… {pos.cost_sol:.2f} SOL -> {mult}{peak}"
            )
    return "\n".join(lines)


def insights(r: InsightsReport) -> str:
    source = f"from the weekly report of {r.week}" if r.week else "computed now"
    lines = [
        f"Insights from {r.n_signals} labeled signals · model {r.model_version or 'none'} · {source}"
    ]
    lines.append("Outcomes (share, 95% interval):")
    for c in r.class_rates:
        lines.append(
            f"  {CLASS_SHORT[c.name]:>8}: {c.count:5d} ({pct(c.count / r.n_signals, 1)}, {pct(c.ci[0], 1)}-{pct(c.ci[1], 1)})"
        )
    if r.top_features:
        lines.append("Top features (mean |SHAP|):")
        lines.extend(
            f"  {i}. {name} {value:.3f}" for i, (name, value) in enumerate(r.top_features[:5], 1)
        )
    for title, patterns in (("Winning patterns", r.winning), ("Losing patterns", r.losing)):
        if not patterns:
            lines.append(f"{title}: none significant at 95%")
            continue
        lines.append(f"{title} (reach >= 2x, vs base {pct(patterns[0].base_2x, 1)}):")
        for p in patterns:
            lo, hi = p.ci_2x
            lines.append(
                f"  {p.condition}: {p.wins_2x}/{p.n} = {pct(p.rate_2x, 1)} [{pct(lo, 1)}-{pct(hi, 1)}], "
                f"lift {p.lift_2x:.2f}, 10x+ {p.wins_10x}/{p.n}"
            )
    if r.chart_path is not None:
        lines.append(f"Chart: {r.chart_path}")
    return "\n".join(lines)


def train_report(r: TrainReport) -> str:
    m = r.metrics
    lines = [
        f"Trained {r.version} on {r.n_train} signals ({r.window[0][:10]} .. {r.window[1][:10]}), "
        f"holdout {r.n_holdout}",
        f"Holdout: log-loss {m['log_loss']:.4f} · accuracy {m['accuracy']:.3f} · "
        f"AUC 2x+ {m['auc_2x']:.3f} · AUC 10x+ {m['auc_10x']:.3f}",
    ]
    if r.champion_version and r.champion_metrics:
        c = r.champion_metrics
        lines.append(
            f"Champion {r.champion_version}: log-loss {c['log_loss']:.4f} · AUC 10x+ {c['auc_10x']:.3f}"
        )
    lines.append(r.reason)
    return "\n".join(lines)


def status(s: StatusReport) -> str:
    counts = " · ".join(f"{k} {v}" for k, v in s.counts.items())
    metrics = s.model_metrics
    model = s.model_version or "none (run /retrain)"
    if metrics:
        model += f" (holdout log-loss {metrics.get('log_loss', float('nan')):.4f})"
    lines = [f"Source {s.source} · data as of {when(s.as_of)}", counts, f"Model {model}"]
    if s.model_note:
        lines.append(f"Note: {s.model_note}")
    if s.jobs:
        lines.append("Jobs:")
        for job in s.jobs:
            result = (
                "not run yet"
                if job.last_run is None
                else f"{job.last_result} at {when(job.last_run)}"
            )
            lines.append(f"  {job.name}: {result} · next {when(job.next_run)}")
    return "\n".join(lines)


def tracked(kol: TrackedKol) -> str:
    return f"{kol.wallet}  [{kol.tier}]  {kol.trades} trades  {clean(kol.name)}"
