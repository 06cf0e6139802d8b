"""The limiter: Anthropic's per-class RPM / ITPM / OTPM buckets, mirrored client-side.

``Limiter.open(url)`` picks a store by URL; ``try_acquire`` debits all buckets or none;
``reconcile`` settles a reservation with the real usage; ``observe_headers`` lets the server's
``anthropic-ratelimit-*`` headers overwrite the local estimate (server truth wins).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from claude_health.tools.limiter import headers as header_parsing
from claude_health.tools.limiter.bucket import ALLOW, ALLOWED, IMPOSSIBLE, State, Verdict, decide, level
from claude_health.tools.limiter.clock import ClockLike
from claude_health.tools.limiter.models import (
    BucketStatus,
    ClassStatus,
    Decision,
    EventInfo,
    LimiterStatus,
)
from claude_health.tools.limiter.orglimits import OrgLimits
from claude_health.tools.limiter.resolve import URL_ENV, LimiterConfig, resolve_config
from claude_health.tools.limiter.stores import Event, Store, StoreError, Sync, open_store
from claude_health.tools.limiter.table import (
    DIMENSIONS,
    BucketLimits,
    LimitsDataError,
    LimitTable,
    Tier,
    class_of,
    clean_model,
    load_table,
)

logger = logging.getLogger(__name__)

Bound = Callable[[Sequence[float]], Verdict | None]
"""A store's decision over one plan's buckets: ``amounts -> verdict``, ``None`` when stale."""

MAX_TOKENS_ARG = 10**9
ENDPOINTS = ("messages", "count_tokens", "batches", "other")
# "other": the Models and Admin APIs (key liveness checks). No per-minute limit is published for
# them; claude-health paces its own calls at this rate, and a 429's retry-after holds them.
OTHER_RPM = 60
SPEND_LIMIT_CODES = {"enforced_spend_limit_reached", "contract_spend_limit_reached"}


class LimiterUnavailable(RuntimeError):
    """The chosen store cannot be used and no fallback was allowed; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything about one (model, endpoint, speed) that does not change between decisions."""

    model: str
    bucket: str
    label: str
    keys: tuple[str, ...]
    dims: tuple[str, ...]
    caps: tuple[float, ...]
    sources: tuple[str, ...]
    hold_key: str
    cache_reads_count: bool
    patterns: tuple[str, ...] = ()


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS_ARG:
        raise ValueError(f"{name} must be a whole number from 0 to {MAX_TOKENS_ARG}, got {value!r}")
    return value


# -- the public surface checks its arguments here, once: a wrong type is a ValueError that says
# which argument and what it must be, never an AttributeError or TypeError from deep inside.


def _check_plan_args(model: object, endpoint: object, fast: object) -> None:
    if not isinstance(model, str):
        raise ValueError(
            f"model must be a model ID string such as 'claude-sonnet-4-5', got {type(model).__name__}"
        )
    if not isinstance(endpoint, str) or endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint must be one of {', '.join(ENDPOINTS)}, got {endpoint!r}"[:200])
    if not isinstance(fast, bool):
        raise ValueError(f"fast must be True or False, got {type(fast).__name__}")


def _check_response_args(headers: object, status_code: object, error_code: object) -> None:
    if headers is not None and not isinstance(headers, Mapping):
        raise ValueError(f"headers must be a mapping of header names to values, got {type(headers).__name__}")
    if status_code is not None and (
        isinstance(status_code, bool) or not isinstance(status_code, int) or not 100 <= status_code <= 599
    ):
        raise ValueError(f"status_code must be an HTTP status from 100 to 599, got {status_code!r}"[:200])
    if error_code is not None and not isinstance(error_code, str):
        raise ValueError(f"error_code must be a string, got {type(error_code).__name__}")


def _usage_value(usage: Mapping[str, Any], name: str) -> int:
    value = usage.get(name) or 0
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_TOKENS_ARG:
        raise ValueError(f"usage.{name} must be a non-negative number, got {value!r}")
    return int(value)


def open_store_for(
    config: LimiterConfig, *, fallback: str | None = "auto", clock: ClockLike | None = None
) -> tuple[Store, list[str]]:
    """The store ``config`` names, or its fallback, with every warning the limiter should carry.

    ``fallback``: ``"memory"``, ``"sqlite"`` or ``None`` (raise :class:`LimiterUnavailable`);
    ``"auto"`` falls back to memory for SQLite problems and raises for Redis (a team store
    silently going local would hide the problem).
    """
    warnings = list(config.warnings)
    target = config.url
    try:
        store = open_store(target, clock=clock)
    except StoreError as exc:
        mode = fallback
        if mode == "auto":
            mode = None if target.startswith(("redis", "rediss", "unix")) else "memory"
        if mode is None:
            raise LimiterUnavailable(
                f"{exc}. Fix the store, or open the limiter with fallback='sqlite' (this machine "
                f"only) or fallback='memory' (this process only), or set {URL_ENV}."
            ) from None
        alt = config.default_sqlite if mode == "sqlite" else "memory://"
        try:
            store = open_store(alt, clock=clock)
        except StoreError as again:
            store = open_store("memory://", clock=clock)
            warnings.append(f"{again}; using memory:// instead")
        message = f"{exc}; falling back to {store.url}: buckets are not shared with other processes"
        if store.url.startswith("sqlite"):
            message = f"{exc}; falling back to {store.url}: buckets are shared on this machine only"
        logger.warning(message)
        warnings.append(message)
    warnings.extend(store.warnings)
    return store, warnings


class Limiter:
    """One organization's rate-limit buckets in one store. Thread-safe; share one per process."""

    def __init__(
        self,
        store: Store,
        *,
        tier: str,
        tier_source: str,
        overrides: Mapping[str, BucketLimits],
        table: LimitTable | None = None,
        namespace: str = "org",
        output_reservation: bool = True,
        warnings: list[str] | None = None,
        org_limits: OrgLimits | None = None,
    ) -> None:
        self.store = store
        # model -> (its messages plan, the store's decision over the plan's buckets).
        self._bound: dict[str, tuple[Plan, Bound]] = {}
        self.table = table or load_table()
        self.tier: Tier = self.table.tier(tier)
        self.tier_source = tier_source
        self.overrides = dict(overrides)
        self.namespace = namespace
        self.output_reservation = output_reservation
        self.warnings = list(warnings or [])
        # The organisation's limits from the Admin API (``limits --sync``): above the tier tables,
        # below the user's overrides.
        self.org_limits = org_limits
        self._org: Mapping[str, BucketLimits] = org_limits.by_name if org_limits else {}
        self._plans: dict[tuple[str, str, bool], Plan] = {}
        self._message_plans: dict[str, Plan] = {}  # the common case, keyed by model alone
        self._members_overridden: dict[str, list[str]] = {}
        for name in self.overrides:
            try:
                mc = class_of(clean_model(name), self.table)
            except ValueError:
                continue
            if mc is not None and name != mc.id:
                self._members_overridden.setdefault(mc.id, []).append(name)

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        tier: str | None = None,
        limits: Mapping[str, Mapping[str, int]] | None = None,
        env: Mapping[str, str] | None = None,
        home: Path | None = None,
        namespace: str = "org",
        fallback: str | None = "auto",
        output_reservation: bool = True,
        clock: ClockLike | None = None,
        read_config: bool = True,
    ) -> Limiter:
        """Open the limiter: resolve its configuration (:func:`.resolve.resolve_config`), then open
        a store for it (:func:`open_store_for`).

        ``url``: ``memory://``, ``sqlite:///PATH`` or ``redis://HOST:PORT/DB``; default
        ``$CLAUDE_HEALTH_LIMITER_URL``, then ``store`` in limits.toml, then the shared SQLite
        state file. ``tier``: start/build/scale/tier-1..4 (default: limits.toml, then "start").
        ``limits``: ``{model-or-class: {"rpm": .., "itpm": .., "otpm": ..}}``, overriding the
        tables. ``fallback``: what to do when the store cannot open -- ``"memory"``,
        ``"sqlite"`` or ``None`` (raise :class:`LimiterUnavailable`); ``"auto"`` falls back to
        memory for SQLite problems and raises for Redis (a team store silently going local
        would hide the problem).
        """
        env = dict(os.environ) if env is None else dict(env)
        home = home if home is not None else Path(env.get("HOME") or Path.home())
        config = resolve_config(url, tier=tier, limits=limits, env=env, home=home, read_config=read_config)
        return cls.for_config(
            config, namespace=namespace, fallback=fallback, output_reservation=output_reservation, clock=clock
        )

    @classmethod
    def for_config(
        cls,
        config: LimiterConfig,
        *,
        namespace: str = "org",
        fallback: str | None = "auto",
        output_reservation: bool = True,
        clock: ClockLike | None = None,
    ) -> Limiter:
        """The limiter of a resolved configuration, on the store it names (or its fallback)."""
        store, warnings = open_store_for(config, fallback=fallback, clock=clock)
        return cls(
            store,
            tier=config.tier,
            tier_source=config.tier_source,
            overrides=config.overrides,
            table=config.table,
            namespace=namespace,
            output_reservation=output_reservation,
            warnings=warnings,
            org_limits=config.org_limits,
        )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Limiter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plans: which buckets a request touches -----------------------------------------------

    def _override(self, *names: str) -> BucketLimits | None:
        found: BucketLimits | None = None
        for name in names:  # least specific first; later names win
            value = self.overrides.get(name)
            if value is not None:
                found = value if found is None else found.merged(value)
        return found

    def plan(self, model: str, endpoint: str = "messages", fast: bool = False) -> Plan:
        _check_plan_args(model, endpoint, fast)  # every public method but try_acquire's hot path
        cached = self._plans.get((model, endpoint, fast))
        if cached is not None:
            return cached
        ns = self.namespace
        if endpoint != "messages":
            cap, label = {
                "count_tokens": (self.tier.count_tokens_rpm, "Token counting (separate RPM)"),
                "batches": (self.tier.batches_rpm, "Message Batches API"),
                "other": (OTHER_RPM, "Models and Admin APIs (claude-health's own pace)"),
            }[endpoint]
            override = self._override(endpoint)
            org = self._org.get(endpoint)
            if org is not None and org.rpm:
                cap = org.rpm
            limit = override.rpm if override and override.rpm else cap
            plan = Plan(
                model=clean_model(model) if model else "",
                bucket=endpoint,
                label=label,
                keys=(f"{ns}|{endpoint}|rpm",),
                dims=("rpm",),
                caps=(float(limit or 0),),
                sources=(
                    "claude-health pace"
                    if endpoint == "other" and not (override and override.rpm)
                    else self.org_limits.source
                    if self.org_limits and org is not None and org.rpm and not (override and override.rpm)
                    else self._source(override is not None and bool(override.rpm), limit),
                ),
                hold_key=f"{ns}|{endpoint}|hold",
                cache_reads_count=False,
            )
        else:
            mid = clean_model(model)
            mc = class_of(mid, self.table)
            base = mc.id if mc else f"model:{mid}"
            bucket = f"fast:{base}" if fast else base
            published = None if (fast or mc is None) else self.tier.classes.get(mc.id)
            org = None if fast else self._org.get(mc.id if mc else mid)
            # A model that shares a class bucket sets the limits of that shared bucket.
            names = [mc.id, *self._members_overridden.get(mc.id, ())] if mc else [mid]
            override = self._override(*names)
            if fast:
                override = self._override(bucket, f"fast:{mid}")
            merged = (published or BucketLimits()).merged(org or BucketLimits())
            merged = merged.merged(override or BucketLimits())
            caps = tuple(float(merged.get(d) or 0) for d in DIMENSIONS)
            sources = tuple(
                "override"
                if override is not None and override.get(d) is not None
                else self.org_limits.source
                if self.org_limits and org is not None and org.get(d) is not None
                else self._source(False, merged.get(d))
                for d in DIMENSIONS
            )
            label = mc.label if mc else f"{mid} (no published limits: learned from response headers)"
            plan = Plan(
                model=mid,
                bucket=bucket,
                label=("Fast mode: " + label) if fast else label,
                keys=tuple(f"{ns}|{bucket}|{d}" for d in DIMENSIONS),
                dims=DIMENSIONS,
                caps=caps,
                sources=sources,
                hold_key=f"{ns}|{bucket}|hold",
                cache_reads_count=bool(mc and mc.cache_read_counts),
                patterns=mc.members if mc else (mid,),
            )
        if len(self._plans) > 10_000:  # hostile callers cycling model names must not grow memory
            self._plans.clear()
            self._message_plans.clear()
            self._bound.clear()
        self._plans[(model, endpoint, fast)] = plan
        if endpoint == "messages" and not fast:
            self._message_plans[model] = plan
        return plan

    def _source(self, overridden: bool, limit: int | float | None) -> str:
        if overridden:
            return "override"
        if limit:
            return f"tier {self.tier.id} ({self.tier.as_of})"
        return "headers"

    # -- decisions -------------------------------------------------------------------------------

    def try_acquire(
        self,
        model: str,
        input_tokens: int,
        max_output_tokens: int,
        cache_read_tokens: int = 0,
        *,
        endpoint: str = "messages",
        fast: bool = False,
    ) -> Decision:
        """Admit one request now (debiting RPM, ITPM and OTPM together) or say how long to wait.

        ``input_tokens``: uncached input plus cache writes; ``cache_read_tokens`` count toward
        ITPM only for the classes marked so (Haiku 3.5, Haiku 3). ``max_output_tokens`` is
        reserved against OTPM and settled by :meth:`reconcile`.
        """
        if endpoint != "messages" or fast:
            return self._acquire_other(
                model, input_tokens, max_output_tokens, cache_read_tokens, endpoint, fast
            )
        # The hot path (see bench/limiter_decisions.py): one dict lookup for the plan, one
        # chained comparison per argument, one store call.
        try:
            plan, acquire = self._bound[model]
        except (KeyError, TypeError):  # a new model, or not a string at all: plan() says which
            plan, acquire = self._bind(model)
        if not (
            type(input_tokens) is type(max_output_tokens) is type(cache_read_tokens) is int
            and 0 <= input_tokens <= MAX_TOKENS_ARG
            and 0 <= max_output_tokens <= MAX_TOKENS_ARG
            and 0 <= cache_read_tokens <= MAX_TOKENS_ARG
        ):
            _count("input_tokens", input_tokens)
            _count("max_output_tokens", max_output_tokens)
            _count("cache_read_tokens", cache_read_tokens)
        itpm = input_tokens + cache_read_tokens if plan.cache_reads_count else input_tokens
        otpm = max_output_tokens if self.output_reservation else 0
        amounts = (1, itpm, otpm, itpm + otpm)
        verdict = acquire(amounts)
        while verdict is None:  # the store's bound decision went stale (a capacity was learned)
            plan, acquire = self._bind(model)
            verdict = acquire(amounts)
        if verdict is ALLOWED or verdict[0] == ALLOW:
            return Decision(True, 0.0, None, plan.model, plan.bucket, itpm, otpm, False, "", False, endpoint)
        return self._refusal(plan, verdict[0], verdict[1], verdict[2], amounts, False, endpoint)

    def _bind(self, model: str) -> tuple[Plan, Bound]:
        """The messages plan of ``model`` and the store's decision over its buckets, cached."""
        _check_plan_args(model, "messages", False)
        plan = self._message_plans.get(model) or self.plan(model)
        bind = getattr(self.store, "bind", None)  # memory:// compiles one; the others need none
        if bind is not None:
            acquire: Bound = bind(plan.keys, plan.caps, plan.hold_key)
        else:
            store_acquire, keys, caps, hold = self.store.acquire, plan.keys, plan.caps, plan.hold_key

            def acquire(amounts: Sequence[float]) -> Verdict | None:
                return store_acquire(keys, caps, amounts, hold)

        self._bound[model] = (plan, acquire)
        return plan, acquire

    def _amounts(
        self, plan: Plan, endpoint: str, input_tokens: int, max_output_tokens: int, cache_read_tokens: int
    ) -> tuple[int, int, tuple[float, ...]]:
        """What one request debits: (ITPM, OTPM, per-bucket amounts in the plan's key order)."""
        if endpoint != "messages":
            return 0, 0, (1,)
        _count("input_tokens", input_tokens)
        _count("max_output_tokens", max_output_tokens)
        _count("cache_read_tokens", cache_read_tokens)
        itpm = input_tokens + cache_read_tokens if plan.cache_reads_count else input_tokens
        otpm = max_output_tokens if self.output_reservation else 0
        return itpm, otpm, (1, itpm, otpm, itpm + otpm)

    def _acquire_other(
        self,
        model: str,
        input_tokens: int,
        max_output_tokens: int,
        cache_read_tokens: int,
        endpoint: str,
        fast: bool,
    ) -> Decision:
        """:meth:`try_acquire` for fast mode and for the token-counting and batches endpoints."""
        plan = self.plan(model, endpoint, fast)
        itpm, otpm, amounts = self._amounts(
            plan, endpoint, input_tokens, max_output_tokens, cache_read_tokens
        )
        status, wait, index = self.store.acquire(plan.keys, plan.caps, amounts, plan.hold_key)
        if status == ALLOW:
            return Decision(True, 0.0, None, plan.model, plan.bucket, itpm, otpm, False, "", fast, endpoint)
        return self._refusal(plan, status, wait, index, amounts, fast, endpoint)

    def _refusal(
        self,
        plan: Plan,
        status: int,
        wait: float,
        index: int,
        amounts: tuple[float, ...],
        fast: bool,
        endpoint: str,
    ) -> Decision:
        if index < 0:
            return Decision(
                False,
                wait,
                "retry-after",
                plan.model,
                plan.bucket,
                fast=fast,
                endpoint=endpoint,
                message=f"The API asked to wait (retry-after) for {plan.label}: {wait:.1f} s left.",
            )
        dim = plan.dims[index]
        if status == IMPOSSIBLE:
            cap = self._capacity(plan, index)
            return Decision(
                False,
                0.0,
                dim,
                plan.model,
                plan.bucket,
                impossible=True,
                fast=fast,
                endpoint=endpoint,
                message=self._impossible_message(plan, dim, amounts[index], cap),
            )
        return Decision(
            False,
            wait,
            dim,
            plan.model,
            plan.bucket,
            fast=fast,
            endpoint=endpoint,
            message=f"{dim.upper()} of {plan.label} is exhausted: this request fits in {wait:.1f} s.",
        )

    def _capacity(self, plan: Plan, index: int) -> float:
        states, _, _ = self.store.snapshot(plan.keys[index : index + 1], plan.hold_key)
        st = states[0]
        return st.capacity if st is not None and st.learned else plan.caps[index]

    @staticmethod
    def _impossible_message(plan: Plan, dim: str, amount: float, cap: float) -> str:
        head = (
            f"This request can never fit: it needs {amount:,.0f} {dim.upper()} but {plan.label} "
            f"allows {cap:,.0f} per minute."
        )
        if dim == "otpm":
            return (
                f"{head} Lower max_tokens to at most {cap:,.0f}, or send it through the Message Batches API."
            )
        if dim == "itpm":
            if plan.cache_reads_count:
                return (
                    f"{head} Shorten or split the prompt, or use the Message Batches API "
                    "(cache reads count toward ITPM for this model)."
                )
            return (
                f"{head} Put the stable prefix behind a cache breakpoint (cache reads do not count "
                "toward ITPM), shorten or split the prompt, or use the Message Batches API."
            )
        if dim == "tpm":
            return f"{head} Lower max_tokens or shorten the prompt, or use the Message Batches API."
        return f"{head} Raise the limit (a higher tier) or check the override file."

    # -- after the response -------------------------------------------------------------------

    def reconcile(self, decision: Decision, usage: Mapping[str, Any] | None) -> None:
        """Settle an allowed decision with the response's ``usage`` (``None``: the request failed).

        The output reservation is returned, and ITPM is corrected from the estimate to
        ``input_tokens + cache_creation_input_tokens`` (+ cache reads where they count).
        """
        if not isinstance(decision, Decision):
            raise ValueError(f"decision must be what try_acquire returned, got {type(decision).__name__}")
        if not decision.allowed or decision.endpoint != "messages":
            return
        plan = self.plan(decision.model, "messages", decision.fast)
        if usage is None:
            d_in, d_out = 0.0, -decision.reserved_output
        else:
            actual_in, actual_out = self._actual(plan, usage)
            d_in, d_out = actual_in - decision.reserved_input, actual_out - decision.reserved_output
        if d_in or d_out:
            self.store.adjust(plan.keys[1:], plan.caps[1:], (d_in, d_out, d_in + d_out))

    def record_usage(
        self, model: str, usage: Mapping[str, Any], *, fast: bool = False, skip: tuple[str, ...] = ()
    ) -> None:
        """Charge a request that did not go through :meth:`try_acquire` (another client's call)."""
        plan = self.plan(model, "messages", fast)
        actual_in, actual_out = self._actual(plan, usage)
        amounts = {"rpm": 1.0, "itpm": actual_in, "otpm": actual_out, "tpm": actual_in + actual_out}
        picked = [i for i, d in enumerate(plan.dims) if d not in skip]
        if picked:
            self.store.adjust(
                [plan.keys[i] for i in picked],
                [plan.caps[i] for i in picked],
                [amounts[plan.dims[i]] for i in picked],
            )

    @staticmethod
    def _actual(plan: Plan, usage: Mapping[str, Any]) -> tuple[float, float]:
        if not isinstance(usage, Mapping):
            raise ValueError("usage must be an object like the API's usage field")
        tokens_in = _usage_value(usage, "input_tokens") + _usage_value(usage, "cache_creation_input_tokens")
        if plan.cache_reads_count:
            tokens_in += _usage_value(usage, "cache_read_input_tokens")
        return float(tokens_in), float(_usage_value(usage, "output_tokens"))

    def observe_headers(
        self,
        model: str,
        headers: Mapping[str, str] | None,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        fast: bool = False,
        endpoint: str = "messages",
    ) -> header_parsing.HeaderInfo:
        """Re-synchronise buckets from a response's headers; a 429's ``retry-after`` holds the class.

        Learned limits are kept in the store, so a model with no published limit is limited by
        what the server reported. Returns what was read (``ignored`` lists unreadable headers).
        """
        _check_response_args(headers, status_code, error_code)
        info = header_parsing.parse(headers)
        plan = self.plan(model, endpoint, fast)
        standard = self.plan(model, endpoint, False) if fast else plan
        items: list[Sync] = []
        for (variant, dim), reading in info.buckets.items():
            if endpoint != "messages" and (variant or dim != "rpm"):
                continue
            if variant == "fast":
                bucket = self.plan(model, endpoint, True).bucket
            elif variant == "priority":
                bucket = f"priority:{standard.bucket}"
            else:
                bucket = standard.bucket
            items.append(Sync(f"{self.namespace}|{bucket}|{dim}", float(reading.limit), reading.level()))
        hold = None
        limited = status_code in (429, 529) or (status_code is None and info.retry_after is not None)
        if info.retry_after is not None and info.retry_after > 0 and limited:
            hold = (plan.hold_key, info.retry_after)
        if items or hold:
            self.store.sync(items, hold)
        kind = None
        if error_code in SPEND_LIMIT_CODES:
            kind = "spend_limit"
        elif status_code == 429:
            kind = "429"
        elif status_code == 529:
            kind = "overloaded"
        if kind is not None:
            detail = (error_code or "")[:100]
            if info.retry_after is not None:
                detail = f"{detail} retry-after {info.retry_after:g}s".strip()
            self.store.record_event(Event(kind, plan.model or endpoint, time.time(), detail))
        return info

    def record_response(
        self,
        model: str,
        headers: Mapping[str, str] | None,
        usage: Mapping[str, Any] | None,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        fast: bool = False,
        reserved: tuple[float, float] | None = None,
    ) -> header_parsing.HeaderInfo:
        """A response seen by another client: headers re-sync what they cover, usage charges the rest.

        ``reserved`` = (input, output) tokens a :meth:`try_acquire` for this request debited
        (``check_request`` returns them): they are settled instead of charged twice.
        """
        if reserved is not None and not (
            isinstance(reserved, tuple | list)
            and len(reserved) == 2
            and all(
                not isinstance(v, bool) and isinstance(v, int | float) and 0 <= v <= MAX_TOKENS_ARG
                for v in reserved
            )
        ):
            raise ValueError(f"reserved must be (input, output) token counts from 0 to {MAX_TOKENS_ARG}")
        if usage is not None and not isinstance(usage, Mapping):
            raise ValueError("usage must be an object like the API's usage field")
        info = self.observe_headers(model, headers, status_code=status_code, error_code=error_code, fast=fast)
        covered = tuple(dim for (variant, dim) in info.buckets if variant == ("fast" if fast else ""))
        ok = status_code is None or status_code < 400
        if reserved is not None:
            # Settle a check_request reservation for the buckets the headers did not re-sync.
            plan = self.plan(model, "messages", fast)
            actual_in, actual_out = self._actual(plan, usage) if (usage is not None and ok) else (0.0, 0.0)
            if usage is None or not ok:
                actual_in = reserved[0]  # a failed request keeps its input charge, returns its output
            deltas = {"itpm": actual_in - reserved[0], "otpm": actual_out - reserved[1]}
            deltas["tpm"] = deltas["itpm"] + deltas["otpm"]
            picked = [i for i, d in enumerate(plan.dims) if d in deltas and d not in covered and deltas[d]]
            if picked:
                self.store.adjust(
                    [plan.keys[i] for i in picked],
                    [plan.caps[i] for i in picked],
                    [deltas[plan.dims[i]] for i in picked],
                )
        elif usage is not None and ok:
            self.record_usage(model, usage, fast=fast, skip=covered)
        return info

    def would_admit(
        self,
        model: str,
        input_tokens: int,
        max_output_tokens: int,
        cache_read_tokens: int = 0,
        *,
        endpoint: str = "messages",
        fast: bool = False,
    ) -> Decision:
        """What :meth:`try_acquire` would answer now, without debiting anything."""
        plan = self.plan(model, endpoint, fast)
        itpm, otpm, amounts = self._amounts(
            plan, endpoint, input_tokens, max_output_tokens, cache_read_tokens
        )
        states, hold_left, now = self.store.snapshot(plan.keys, plan.hold_key)
        (status, wait, index), _ = decide(plan.caps, amounts, states, now, hold_left)
        if status == ALLOW:
            return Decision(
                True, 0.0, None, plan.model, plan.bucket, itpm, otpm, fast=fast, endpoint=endpoint
            )
        return self._refusal(plan, status, wait, index, amounts, fast, endpoint)

    # -- status ---------------------------------------------------------------------------------

    def status(self, model: str | None = None) -> LimiterStatus:
        """Every bucket's limit, what is available now and where the numbers come from."""
        plans: list[Plan] = []
        if model is not None:
            plans.append(self.plan(model))
            if class_of(plans[0].model, self.table) is not None and any(
                mc.fast_mode for mc in self.table.classes.values() if mc.id == plans[0].bucket
            ):
                plans.append(self.plan(model, fast=True))
        else:
            for cid in self.table.classes:
                if cid in self.tier.classes or cid in self.overrides or cid in self._org:
                    plans.append(self._class_plan(cid))
            for name in [*self.overrides, *self._org]:
                if name not in self.table.classes and name not in ENDPOINTS and not name.startswith("fast:"):
                    try:
                        plans.append(self.plan(name))
                    except ValueError:
                        continue
            plans.append(self.plan("", "count_tokens"))
            plans.append(self.plan("", "batches"))
            plans.append(self.plan("", "other"))
        unique: dict[str, Plan] = {}
        for p in plans:  # one row per shared bucket, in table order
            unique.setdefault(p.bucket, p)
        classes = [self._class_status(p) for p in unique.values()]
        events = [
            EventInfo(
                kind=e.kind, model=e.model, at=datetime.fromtimestamp(e.at, UTC).isoformat(), detail=e.detail
            )
            for e in self.store.events(time.time() - 86400)
        ]
        return LimiterStatus(
            store=self.store.url,
            tier=self.tier.id,
            tier_label=self.tier.label,
            tier_source=self.tier_source,
            table_as_of=self.tier.as_of,
            output_reservation=self.output_reservation,
            classes=classes,
            count_tokens_rpm=self.tier.count_tokens_rpm,
            batches_rpm=self.tier.batches_rpm,
            batch_queue=self.tier.batch_queue,
            monthly_spend_cap_usd=self.tier.monthly_spend_cap_usd,
            recent_events=events[-50:],
            warnings=list(self.warnings) + list(self.org_limits.notes if self.org_limits else ()),
            org_limits=self.org_limits.source if self.org_limits else None,
        )

    def _class_plan(self, cid: str) -> Plan:
        """The plan of a class, built from its first member model ID."""
        mc = self.table.classes[cid]
        plan = self.plan(mc.members[0])
        if plan.bucket != cid:
            raise LimitsDataError(f"limits.json: {mc.members[0]} does not match class {cid}'s patterns")
        return plan

    def _class_status(self, plan: Plan) -> ClassStatus:
        states, hold_left, now = self.store.snapshot(plan.keys, plan.hold_key)
        buckets: list[BucketStatus] = []
        for dim, cap, source, st in zip(plan.dims, plan.caps, plan.sources, states, strict=True):
            limit = st.capacity if st is not None and st.learned else cap
            if st is not None and st.learned:
                source = "server headers"
            if not limit:
                if dim == "tpm":
                    continue
                buckets.append(
                    BucketStatus(
                        dimension=dim,
                        limit=None,
                        available=None,
                        used_fraction=None,
                        full_in_seconds=None,
                        source="unknown until a response's headers report it",
                    )
                )
                continue
            have = level(st, limit, now) if st is not None else limit
            buckets.append(
                BucketStatus(
                    dimension=dim,
                    limit=limit,
                    available=round(have, 1),
                    used_fraction=round(max(0.0, 1 - have / limit), 4),
                    full_in_seconds=round(max(0.0, (limit - have) * 60 / limit), 2),
                    source=source,
                )
            )
        return ClassStatus(
            bucket=plan.bucket,
            label=plan.label,
            models=list(plan.patterns),
            buckets=buckets,
            retry_after=round(hold_left, 2),
            cache_reads_count=plan.cache_reads_count,
        )

    def recent_events(self, seconds: float = 3600.0) -> list[Event]:
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= 1e10:
            raise ValueError(f"seconds must be a number from 0 to 1e10, got {seconds!r}"[:200])
        return self.store.events(time.time() - seconds)


__all__ = ["Decision", "Limiter", "LimiterUnavailable", "State"]
