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

from engine.service import score_parts
from engine.views import (
    CLASS_SHORT,
    CLASSES,
    AlertPerformance,
    AlertView,
    BandRate,
    FeedStatus,
    InsightsReport,
    KolForecast,
    KolProfile,
    PerformanceGroup,
    Prediction,
    Question,
    RankedKol,
    RuleStats,
    Score,
    StatusReport,
    ThreeXRecap,
    ThreeXReport,
    TrackedKol,
    TrainReport,
    WeeklyExtras,
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


def class_name(index_or_name: int | str) -> str:
    """An outcome class as people say it: "10–50x", never ``big_win``."""
    name = CLASSES[index_or_name] if isinstance(index_or_name, int) else index_or_name
    return CLASS_SHORT[name].replace("-", "–")


def probabilities(probs: Sequence[float]) -> str:
    return " | ".join(
        f"{class_name(name)} {100 * p:.1f}%" for name, p in zip(CLASSES, probs, strict=True)
    )


def token_title(symbol: str, name: str) -> str:
    return f"${clean(symbol, 16)} ({clean(name)})"


def links(mint: str, wallet: str | None = None) -> str:
    """Where a trader checks a token. The URL forms are the sites' own: DexScreener's
    ``/solana/<address>`` (the ``url`` its API gives each pair), Solscan's ``/token/<mint>`` and
    ``/account/<address>``, pump.fun's ``/coin/<mint>``, and Jupiter's swap page
    ``/swap/<input>-<output>`` (symbols or mints), here SOL to the token."""
    shown = [
        f"DexScreener https://dexscreener.com/solana/{mint}",
        f"Solscan https://solscan.io/token/{mint}",
    ]
    if wallet:
        shown.append(f"KOL wallet https://solscan.io/account/{wallet}")
    shown += [f"pump.fun https://pump.fun/coin/{mint}", f"Swap https://jup.ag/swap/SOL-{mint}"]
    return "\n".join(shown)


def reason_words(text: str) -> str:
    """A reason ("3 elite KOLs bought: +2.24 toward 10x+") in plain words with its direction."""
    what, _, weight = text.rpartition(": ")
    try:
        value = float(weight.split()[0])
    except (ValueError, IndexError):
        return text
    if not what:
        return text
    direction = "raises" if value > 0 else "lowers" if value < 0 else "does not move"
    return f"{what}: {direction} the odds of 10x+"


def ml_line(probs: Sequence[float] | None) -> str | None:
    """The ML term's two parts in points, so a score that the model lowered says why."""
    if not probs:
        return None
    boost, veto = score_parts(probs)
    line = f"ML term: +{boost:.1f} for the odds of 10x+"
    if veto > 0:
        line += f", -{veto:.1f} rug veto (<1.5x at {100 * probs[0]:.0f}%, over 50%)"
    return line


def ago(later: datetime | None, earlier: datetime | None) -> str:
    if later is None or earlier is None:
        return "n/a"
    hours = (later - earlier).total_seconds() / 3600
    return (
        f"{hours * 60:.0f} min"
        if hours < 1
        else f"{hours:.1f} h"
        if hours < 48
        else f"{hours / 24:.1f} d"
    )


MAY_REPEAT = "Resent after a restart: this alert may have arrived already."
# The outcome model's shapes (ml.outcome's names), in words.
SHAPES = {
    "aft": "aft (log-normal)",
    "aft+link": "aft through class curves learned from the data",
    "softprob": "softprob (six classes)",
}
NO_MODEL = "No promoted model (none has beaten the class-frequency prior yet): rule score only."


def alert(view: AlertView) -> str:
    """An alert's text; one that may have been delivered before the sender died says so first."""
    if view.followup is not None:
        return followup(view)
    dh = "n/a" if view.diamond_hand_score is None else f"{view.diamond_hand_score:.0f}"
    lines = [MAY_REPEAT] if view.maybe_delivered else []
    size = "" if view.buy_sol is None else f" {view.buy_sol:.2f} SOL"
    lines += [
        f"ALERT {token_title(view.symbol, view.name)}  conviction {view.score} "
        f"(rules {view.rule_score} + ML {view.score - view.rule_score})",
        f"Diamond Hand KOL {clean(view.kol_name)} [{view.kol_tier}] bought{size} · DH score {dh}",
        f"Bought {when(view.alert_ts)} · token {ago(view.alert_ts, view.token_created_at)} old "
        f"· signal opened {when(view.signal_ts)} at {usd(view.entry_mcap)} mcap",
    ]
    if view.mcap_now is not None:
        liquidity = "" if view.liquidity_usd is None else f" · liquidity {usd(view.liquidity_usd)}"
        lines.append(f"Market cap now {usd(view.mcap_now)} ({when(view.market_ts)}){liquidity}")
    if view.probabilities:
        lines.append("Odds: " + probabilities(view.probabilities))
        lines.append(ml_line(view.probabilities) or "")
        lines.extend(threex_score_lines(view))
    else:
        lines.append(NO_MODEL)
    lines.extend(f"  {i}. {reason_words(r)}" for i, r in enumerate(view.reasons, 1))
    lines.append(f"Mint {view.mint}")
    lines.append(links(view.mint, view.kol_wallet))
    return "\n".join(lines)


SEEN_IN = {"snapshot": "a market snapshot", "swap": "a swap's price"}


def followup(view: AlertView) -> str:
    """A follow-up of an alert: the token passed 2x / 5x / 10x its market cap at the alert,
    with the multiple, the time since the alert and the links."""
    f = view.followup
    assert f is not None
    lines = [MAY_REPEAT] if view.maybe_delivered else []
    lines += [
        f"FOLLOW-UP {token_title(view.symbol, view.name)} passed {f.multiple}x since the alert",
        f"Market cap {usd(f.mcap_usd)}: {f.mcap_usd / f.base_mcap:.1f}x the {usd(f.base_mcap)} "
        f"at the alert, {ago(f.ts, view.alert_ts)} after it "
        f"(seen {when(f.ts)} in {SEEN_IN.get(f.source, f.source)})",
        f"Alerted {when(view.alert_ts)}: Diamond Hand KOL {clean(view.kol_name)} "
        f"[{view.kol_tier}] bought · conviction {view.score}",
    ]
    if view.mcap_now is not None and view.market_ts is not None and view.market_ts > f.ts:
        lines.append(f"Market cap now {usd(view.mcap_now)} ({when(view.market_ts)})")
    lines.append(f"Mint {view.mint}")
    lines.append(links(view.mint, view.kol_wallet))
    return "\n".join(lines)


def score_lines(s: Score) -> list[str]:
    """A score: conviction and its parts, odds, the most likely class, reasons in words."""
    lines = [f"Conviction {s.total} (rules {s.rule} + ML {s.boost})"]
    if s.probabilities is not None and s.predicted is not None:
        lines.append("Odds: " + probabilities(s.probabilities))
        lines.append(ml_line(s.probabilities) or "")
        lines.append(f"Most likely: {class_name(s.predicted)}")
    else:
        lines.append(NO_MODEL)
    lines.extend(threex_score_lines(s))
    if s.reasons:
        lines.append("Top reasons:")
        lines.extend(f"  {i}. {reason_words(r.text)}" for i, r in enumerate(s.reasons, 1))
    return lines


def threex_score_lines(s: Score | AlertView) -> list[str]:
    """P(3x+) of the promoted 3x+ net with its threshold, beside the outcome model's own."""
    own = s.outcome_p_threex
    if s.threex_p is None:
        return [] if own is None else [f"P(3x+): outcome model {pct(own)}"]
    flag = "above" if s.threex_flag else "below"
    threshold = "" if s.threex_threshold is None else f" {s.threex_threshold:.3f}"
    line = f"P(3x+): 3x+ net {pct(s.threex_p)}, {flag} its threshold{threshold}" + (
        "" if own is None else f" · outcome model {pct(own)}"
    )
    return [line]


def prediction(p: Prediction) -> str:
    """For a token with a signal: the score stored then, the outcome if labeled, else a clearly
    labeled re-score of now. Without a signal: the score of now."""
    s = p.score
    lines = [f"{token_title(p.symbol, p.name)} · {p.mint}"]
    if p.at_signal is None or p.signal_ts is None:
        lines.append(f"As of {when(p.as_of)} (no signal yet) · model {s.model_version or 'none'}")
        return "\n".join(lines + score_lines(s))
    at = p.at_signal
    lines.append(f"At the signal, {when(p.signal_ts)} · model {at.model_version or 'none'}")
    lines += score_lines(at)
    if p.outcome_label is not None:
        multiple = "" if p.outcome_multiple is None else f" {p.outcome_multiple:.1f}x"
        lines.append(f"Outcome: ended{multiple}: {class_name(p.outcome_label)}")
        return "\n".join(lines)
    lines.append(
        f"Now, {ago(p.as_of, p.signal_ts)} later (live re-score, not labeled yet) · "
        f"model {s.model_version or 'none'}:"
    )
    lines += [f"  {line}" for line in score_lines(s)]
    return "\n".join(lines)


def kol(profile: KolProfile) -> str:
    st = profile.stats
    dh = (
        "n/a"
        if st.diamond_hand_score is None
        else f"{st.diamond_hand_score:.0f}/100 over {st.n_winners} winners"
    )
    hold = "n/a" if st.avg_hold_hours is None else f"{st.avg_hold_hours:.1f} h"
    lines = [f"{clean(profile.name)} [{profile.tier}] · {profile.wallet}"]
    if not profile.tracked:
        lines.append("NOT TRACKED: removed with /track remove; its past record only, no forecast")
    lines += [
        f"Positions {st.n_positions} ({st.n_closed} closed) · signals opened {profile.signals_triggered}",
        f"Win rate {pct(st.win_rate)} · 3x+ rate {pct(st.three_x_rate)} · avg hold {hold}",
        f"Realized PnL {st.total_pnl_sol:+.2f} SOL",
        f"Diamond Hand score {dh}" + (" · DIAMOND HAND" if profile.is_diamond_hand else ""),
    ]
    lines.extend(forecast_lines(profile))
    if profile.recent:
        lines.append("Recent positions:")
        for pos in profile.recent:
            mult = "open" if pos.multiple is None else f"{pos.multiple:.2f}x"
            peak = "" if pos.peak_multiple is None else f", peak {pos.peak_multiple:.1f}x"
            lines.append(
                f"  {when(pos.opened_at)} {pos.mint[:8]}… {pos.cost_sol:.2f} SOL -> {mult}{peak}"
            )
    return "\n".join(lines)


def forecast_lines(profile: KolProfile) -> list[str]:
    """The 3x+ rate forecasts: one line per horizon, or one line for both when they say the
    same (empirical Bayes gives a rate, the same whatever the horizon); none without history."""
    if profile.tracked and not profile.forecasts and profile.stats.n_closed == 0:
        return ["No forecast: no closed position yet"]
    shown = [(f, f"{pct(f.estimate)} (95% {pct(f.low)}-{pct(f.high)}") for f in profile.forecasts]
    if len(shown) > 1 and len({text for _, text in shown}) == 1:
        f, text = shown[0]
        days = " and ".join(str(g.horizon_days) for g, _ in shown)
        return [f"3x+ rate of the next positions, {days} d alike: {text}, {_method(f)})"]
    return [f"Next {f.horizon_days} d 3x+ rate: {text}, {_method(f)})" for f, text in shown]


def _method(f: KolForecast) -> str:
    return "shrunk toward all KOLs" if f.method == "empirical_bayes" else "learned model"


def insights(r: InsightsReport) -> str:
    source = f"from the weekly report of {r.week}" if r.week else "computed now"
    lines = [
        f"Insights from {r.n_signals} labeled signals · model {r.model_version or 'none'} · {source}"
    ]
    lines.append("Outcomes (share, 95% interval):")
    for c in r.class_rates:
        lines.append(
            f"  {class_name(c.name):>8}: {c.count:5d} ({pct(c.count / r.n_signals, 1)}, {pct(c.ci[0], 1)}-{pct(c.ci[1], 1)})"
        )
    if r.note:
        lines.append(f"Drivers and patterns: {r.note}")
        lines.extend(question_lines(r.questions))
        return "\n".join(lines)
    if r.top_features:
        lines.append(
            f"Top features (mean |SHAP|): drivers only, each raises the log-loss when "
            f"shuffled on {r.n_heldout} held-out signals (95% interval above 0):"
        )
        lines.extend(
            f"  {i}. {name} {value:.3f}" for i, (name, value) in enumerate(r.top_features[:5], 1)
        )
    elif r.model_version:
        lines.append(
            f"Drivers: none shown to matter on {r.n_heldout} held-out signals (95% intervals)"
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
    lines.extend(question_lines(r.questions))
    return "\n".join(lines)  # the chart goes with the reply as an image, never as a path


def _bands_text(rows: Sequence[BandRate]) -> str:
    return " · ".join(
        f"{b.label} {b.hits}/{b.n} = {pct(b.hits / b.n, 1)} [{pct(b.ci[0], 1)}-{pct(b.ci[1], 1)}]"
        for b in rows
    )


def question_lines(questions: Sequence[Question]) -> list[str]:
    """The five questions (engine.learning.questions): rates per band with counts and 95%
    intervals, or why the data cannot tell yet (and that such an answer has no chart)."""
    lines = []
    for q in questions:
        answer = q.note if q.note and not q.rows else _bands_text(q.rows)
        lines.append(f"{q.title} ({q.event}): {answer}{'' if q.charted else ' · no chart'}")
        if q.note and q.rows:
            lines.append(f"  {q.note}")
        if q.extra:
            lines.append(f"  {q.extra_event}: {_bands_text(q.extra)}")
    return lines


def weekly(r: InsightsReport, extras: WeeklyExtras) -> str:
    """The weekly post: the insights, what changed since the week before, the week's alerts and
    the latest backtest of the alert rule."""
    lines = [insights(r), ""]
    lines += changes(r, extras.previous)
    lines += ["", performance(extras.recap)]
    if extras.rules:
        lines += [
            "",
            "Backtest, walk-forward (the alert rule vs the rule alone and the model alone):",
        ]
        lines += [f"  {rule_line(rule)}" for rule in extras.rules]
    if extras.threex is not None:
        lines += ["", *threex_recap_lines(extras.threex)]
    return "\n".join(lines)


def threex_recap_lines(r: ThreeXRecap) -> list[str]:
    """The week's stored P(3x+), 3x+ net beside the outcome model, against what happened."""
    head = f"P(3x+) as stored at the signal, signals labeled in the last {r.days} d:"
    if r.n == 0:
        return [f"{head} none scored by a 3x+ net ({r.labeled} labeled)"]
    low, high = r.hit_ci
    return [
        f"{head} {r.n} of {r.labeled} labeled scored by both; {r.hits} reached 3x "
        f"({pct(r.hits / r.n)}, 95% CI {pct(low)}–{pct(high)})",
        f"  mean P(3x+): 3x+ net {pct(r.net_mean, 1)} · outcome model {pct(r.outcome_mean, 1)}"
        f" · log-loss {r.net_log_loss:.4f} vs {r.outcome_log_loss:.4f} (lower is better)",
    ]


def _share_5x(r: InsightsReport) -> float:
    wins = sum(c.count for c in r.class_rates if c.name != "rug" and c.name != "small_win")
    return wins / r.n_signals if r.n_signals else math.nan


def changes(now: InsightsReport, before: InsightsReport | None) -> list[str]:
    """What changed since the previous weekly report, in counts."""
    if before is None:
        return ["Since last week: no earlier report to compare with"]
    lines = [
        f"Since {before.week or 'the last report'}: {now.n_signals} labeled signals "
        f"({now.n_signals - before.n_signals:+d}) · model {now.model_version or 'none'} "
        f"(was {before.model_version or 'none'})"
    ]
    lines.append(f"  reached 5x+: {pct(_share_5x(now), 1)} (was {pct(_share_5x(before), 1)})")
    top_now = [name for name, _ in now.top_features[:3]]
    top_before = [name for name, _ in before.top_features[:3]]
    if top_now != top_before:
        lines.append(
            f"  top features: {', '.join(top_now) or 'none'} (were {', '.join(top_before) or 'none'})"
        )
    else:
        lines.append(f"  top features unchanged: {', '.join(top_now) or 'none'}")
    return lines


def performance(r: AlertPerformance) -> str:
    """/performance: sent alerts over a window, overall and per channel."""
    lines = [
        f"Alerts sent in the last {r.days} days (to {when(r.as_of)}), by their signal's outcome:"
    ]
    for g in [r.overall, *(c for c in r.channels if len(r.channels) > 1)]:
        lines.append(performance_line(g))
    return "\n".join(lines)


def performance_line(g: PerformanceGroup) -> str:
    if g.alerts == 0:
        return f"  {g.name}: no alert sent"
    head = f"  {g.name}: {g.alerts} alerts, {g.labeled} with an outcome"
    if g.labeled == 0:
        return head + " (labeled after the horizon)"

    def share(hits: int, ci: tuple[float, float]) -> str:
        return f"{hits}/{g.labeled} ({pct(ci[0])}-{pct(ci[1])})"

    best = "" if g.best is None else f" · best ${clean(g.best[0], 16)} {g.best[1]:.1f}x"
    worst = "" if g.worst is None else f" · worst ${clean(g.worst[0], 16)} {g.worst[1]:.2f}x"
    return (
        f"{head} · reached 2x {share(g.hits_2x, g.share_2x_ci)} · 10x "
        f"{share(g.hits_10x, g.share_10x_ci)} · rugs {share(g.rugs, g.rug_ci)}{best}{worst}"
    )


def leaderboard(kols: Sequence[RankedKol]) -> str:
    """/kols: the tracked KOLs by Diamond Hand score."""
    if not kols:
        return "no KOL has closed a position yet"
    lines = ["KOLs by Diamond Hand score (how much of a winner's run they keep):"]
    for i, k in enumerate(kols, 1):
        st = k.stats
        dh = "n/a" if st.diamond_hand_score is None else f"{st.diamond_hand_score:.0f}"
        lines.append(
            f"  {i}. {clean(k.name)} · DH {dh} · win rate {pct(st.win_rate)} · 3x+ "
            f"{pct(st.three_x_rate)} · {st.n_closed} closed · {k.wallet}"
        )
    return "\n".join(lines)


def rule_line(r: RuleStats) -> str:
    """One alert set of the backtest: alerts a day, 2x / 10x / rug shares with intervals."""

    def share(hits: int, value: float, ci: tuple[float, float]) -> str:
        return f"{hits} ({pct(value, 1)}, {pct(ci[0], 1)}-{pct(ci[1], 1)})"

    return (
        f"{r.name}: {r.alerts} alerts, {r.per_day:.1f}/day · reached 2x "
        f"{share(r.hits_2x, r.share_2x, r.share_2x_ci)} · 10x "
        f"{share(r.hits_10x, r.share_10x, r.share_10x_ci)} · rugs "
        f"{share(r.rugs, r.rug_share, r.rug_share_ci)}"
    )


def threex_lines(t: ThreeXReport) -> list[str]:
    """The 3x+ net's holdout numbers in /retrain's answer: precision and recall at its threshold
    with counts and intervals, its log-loss beside the base rate's and the outcome model's."""
    m = t.metrics
    if not m:
        return [t.reason]
    lines = [
        f"3x+ net {t.version}: AUC {m['auc']:.3f} · at threshold {m['threshold']:.3f} "
        f"precision {pct(m['precision'])} [{pct(m['precision_low'])}-{pct(m['precision_high'])}] "
        f"({m['true_positives']}/{m['n_flagged']}) · recall {pct(m['recall'])} "
        f"[{pct(m['recall_low'])}-{pct(m['recall_high'])}] ({m['true_positives']}/{m['n_pos']})",
        f"3x+ log-loss: net {m['log_loss']:.4f} · base rate {m['prior_log_loss']:.4f}"
        + (
            f" · outcome model's P(3x+) {m['outcome_log_loss']:.4f}"
            if "outcome_log_loss" in m
            else ""
        ),
    ]
    if "outcome_log_loss" in m and m["log_loss"] >= m["outcome_log_loss"]:
        lines.append(
            f"The 3x+ net does not beat the outcome model's own P(3x+) on this holdout "
            f"({m['log_loss']:.4f} vs {m['outcome_log_loss']:.4f})"
        )
    lines.append(t.reason)
    return lines


def train_report(r: TrainReport) -> str:
    m = r.metrics
    lines = [
        f"Trained {r.version} on {r.n_train} signals ({r.window[0][:10]} .. {r.window[1][:10]}), "
        f"holdout {r.n_holdout}",
        f"Holdout: log-loss {m['log_loss']:.4f} · accuracy {m['accuracy']:.3f} · "
        f"AUC 2x+ {m['auc_2x']:.3f} · AUC 10x+ {m['auc_10x']:.3f}",
    ]
    if r.prior_metrics:
        lines.append(
            f"Prior (class frequencies): log-loss {r.prior_metrics['log_loss']:.4f} · "
            f"AUC 2x+ {r.prior_metrics['auc_2x']:.3f} · AUC 10x+ {r.prior_metrics['auc_10x']:.3f}"
        )
    if r.champion_version and r.champion_metrics:
        c = r.champion_metrics
        lines.append(
            f"Champion {r.champion_version}: log-loss {c['log_loss']:.4f} · AUC 10x+ {c['auc_10x']:.3f}"
        )
    if r.threex is not None:
        lines.extend(threex_lines(r.threex))
    if r.objective:
        shape = SHAPES.get(r.objective, r.objective)
        lines.append(f"Shape chosen on validation rows: {shape}, prior weight {r.prior_weight:.2f}")
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
    if s.feed is not None:
        lines.extend(feed(s.feed))
    return "\n".join(lines)


def feed(f: FeedStatus) -> list[str]:
    """The live intake: push state, the poll's lag, RPC calls and credits per hour."""
    if f.push_mode == "none":
        push = "Push off (MOONBOT_PUSH_MODE): the poll is the only path"
    else:
        since = f" since {when(f.down_since)}" if f.down_since else ""
        push = (
            f"Push {f.push_mode}: {f.push_state}{since} · last notification "
            f"{when(f.last_notification)} · {f.notifications} received, {f.stored} stored, "
            f"{f.left_to_poll} left to the poll"
        )
    lines = [push]
    if f.fallback:
        lines.append("Push is down: polling often until it is back")
    lag = "no poll yet" if f.reconciliation_lag_s is None else f"{f.reconciliation_lag_s:.0f} s"
    lines.append(f"Reconciliation lag: {lag}")
    calls, credits = sum(f.calls_per_hour.values()), sum(f.credits_per_hour.values())
    budget = ""
    if f.credit_budget_per_month > 0:
        budget = f" of {f.credit_budget_per_month:,.0f}"
    lines.append(
        f"RPC: {calls:,.0f} calls/h, ~{credits:,.0f} credits/h "
        f"(~{credits * 24 * 30:,.0f}{budget} a month)"
    )
    lines.extend(
        f"  {method}: {n:,.0f}/h, ~{f.credits_per_hour.get(method, 0.0):,.0f} credits/h"
        for method, n in sorted(f.calls_per_hour.items(), key=lambda kv: -kv[1])
    )
    return lines


def tracked(kol: TrackedKol) -> str:
    return f"{kol.wallet}  [{kol.tier}]  {kol.trades} trades  {clean(kol.name)}"
