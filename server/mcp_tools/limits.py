"""MCP adapter for the rate limiter: ``limit_status``, ``check_request`` and ``record_response``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, Field

from claude_health.server.mcp_tools._common import ProjectDir, clean_doc, lean, workspace_for
from claude_health.tools.admin.models import RateLimitSync
from claude_health.tools.findings import Finding, Summary
from claude_health.tools.limiter.models import ClassStatus, LimiterStatus

if TYPE_CHECKING:
    from claude_health.tools.limiter.core import Limiter

MAX_TOKENS = 10**9
MAX_HEADER_VALUE = 200

Model = Annotated[
    str,
    Field(min_length=1, max_length=200, description="Model ID as sent to the API, e.g. claude-opus-4-8."),
]
Tokens = Annotated[int, Field(ge=0, le=MAX_TOKENS)]


class LimitStatusResult(BaseModel):
    limits: LimiterStatus
    idle: dict[str, dict[str, float | None]] | None = Field(
        default=None,
        description="Model classes nobody used recently, as class -> per-minute limits (brief detail); "
        'ask with `model` or detail="full" for their buckets.',
    )
    findings: list[Finding]
    summary: Summary
    admin: RateLimitSync | None = Field(
        default=None, description="With admin_sync: what the Admin API reported and now seeds the limiter."
    )


def _active(cls: ClassStatus) -> bool:
    """In use: a bucket partly spent, a retry-after hold, or limits learned beyond the tier table."""
    return cls.retry_after > 0 or any(
        (b.used_fraction or 0) > 0 or not b.source.startswith(("tier ", "admin api")) for b in cls.buckets
    )


def _brief(status: LimiterStatus) -> tuple[LimiterStatus, dict[str, dict[str, float | None]]]:
    idle = {c.bucket: {b.dimension: b.limit for b in c.buckets} for c in status.classes if not _active(c)}
    return status.model_copy(update={"classes": [c for c in status.classes if _active(c)]}), idle


class CheckRequestResult(BaseModel):
    allowed: bool = Field(description="True: send the request now (its tokens are reserved).")
    retry_after_seconds: float = Field(description="When not allowed and not impossible: wait this long.")
    binding: str | None = Field(
        default=None, description="The bucket that decides: rpm, itpm, otpm, tpm or retry-after."
    )
    impossible: bool = Field(
        description="The request alone exceeds a bucket: change it, waiting will not help."
    )
    message: str = Field(description="What binds and what to change.")
    bucket: str = Field(description="Model class whose shared buckets were used.")
    reserved_input_tokens: float = Field(
        description="Pass back to record_response to settle the reservation."
    )
    reserved_output_tokens: float = Field(
        description="Pass back to record_response to settle the reservation."
    )
    store: str = Field(description="Where the shared buckets live.")


class RecordResponseResult(BaseModel):
    synced_buckets: list[str] = Field(description="Buckets re-synchronised from the headers.")
    retry_after_seconds: float | None = None
    ignored_headers: list[str] = Field(
        default_factory=list, description="Rate-limit headers that were unreadable."
    )
    store: str


@contextmanager
def _limiter(project_dir: str | None) -> Iterator[Limiter]:
    from claude_health.tools.limiter.core import Limiter, LimiterUnavailable

    ws = workspace_for(project_dir)
    try:
        lim = Limiter.open(env=ws.env, home=ws.home, fallback="sqlite")
    except (LimiterUnavailable, ValueError) as exc:
        raise ToolError(f"the limiter cannot open its store: {exc}") from None
    try:
        yield lim
    except ValueError as exc:
        raise ToolError(str(exc)) from None
    except RuntimeError as exc:  # StoreError: the store failed mid-call
        raise ToolError(f"the limiter store failed: {exc}") from None
    finally:
        lim.close()


def register(server: MCPServer) -> None:
    @server.tool(
        name="limit_status",
        title="Rate-limit buckets and headroom",
        annotations=ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=True),
    )
    @clean_doc
    def limit_status(
        model: Annotated[
            str | None,
            Field(
                default=None, max_length=200, description="Only this model's class (e.g. claude-opus-4-8)."
            ),
        ] = None,
        admin_sync: Annotated[
            bool,
            Field(
                description="true only when the user asks for their organisation's real limits: fetch "
                "them from the Anthropic Admin API first (network; needs ANTHROPIC_ADMIN_KEY) and seed "
                "the limiter."
            ),
        ] = False,
        workspace: Annotated[
            str | None,
            Field(
                default=None,
                max_length=100,
                description="With admin_sync: seed with this workspace's limits.",
            ),
        ] = None,
        project_dir: ProjectDir = None,
        detail: Annotated[
            Literal["brief", "full"],
            Field(description="brief: full buckets only for classes in use; full: every model class."),
        ] = "brief",
    ) -> Annotated[CallToolResult, LimitStatusResult]:
        """Show the Anthropic API rate-limit buckets (requests, input and output tokens per minute) that
        every claude-health session on this machine (or team, with Redis) shares: each limit, what is
        available now, when it is full again, and whether it comes from the tier table, the user's
        override or the server's own headers. Also recent 429s and the spend-limit state. Call it when
        the user hits 429 / rate-limit errors, asks how much headroom is left, or which tier applies.
        Offline unless admin_sync is true."""
        from claude_health.tools.limiter.check import open_for_report, run_check

        ws = workspace_for(project_dir)
        synced = None
        if admin_sync:
            from claude_health.tools.admin.credential import AdminKeyError
            from claude_health.tools.admin.service import sync_limits

            try:
                synced = sync_limits(ws.env, ws.home, workspace=workspace)
            except (AdminKeyError, ValueError) as exc:
                raise ToolError(f"admin_sync: {exc}") from None
        elif workspace is not None:
            raise ToolError("workspace needs admin_sync=true")
        outcome = run_check(ws)
        try:
            lim = open_for_report(ws)
        except Exception as exc:  # the findings already name the store problem
            raise ToolError(f"the limiter cannot open its store: {exc}") from None
        try:
            status = lim.status(model)
        except ValueError as exc:
            raise ToolError(f"model: {exc}") from None
        finally:
            lim.close()
        findings = outcome.findings + (synced.findings if synced else [])
        idle = None
        if model is None and detail == "brief":
            status, idle = _brief(status)
        return lean(
            LimitStatusResult(
                limits=status,
                idle=idle or None,
                findings=findings,
                summary=Summary.of(findings),
                admin=synced.sync if synced else None,
            )
        )

    @server.tool(
        name="check_request",
        title="May this API request go now?",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
        ),
    )
    @clean_doc
    def check_request(
        model: Model,
        input_tokens: Annotated[
            int, Field(ge=0, le=MAX_TOKENS, description="Uncached input + cache writes.")
        ],
        max_tokens: Annotated[int, Field(ge=0, le=MAX_TOKENS, description="The request's max_tokens.")],
        cache_read_tokens: Annotated[
            int, Field(ge=0, le=MAX_TOKENS, description="Tokens expected to be read from the prompt cache.")
        ] = 0,
        endpoint: Annotated[
            Literal["messages", "count_tokens", "batches"], Field(description="Which API bucket to use.")
        ] = "messages",
        fast: Annotated[bool, Field(description="The request uses speed: fast (fast-mode buckets).")] = False,
        reserve: Annotated[
            bool, Field(description="Reserve the tokens when allowed (false: only ask, debit nothing).")
        ] = True,
        project_dir: ProjectDir = None,
    ) -> CheckRequestResult:
        """Ask the shared rate limiter whether a Claude API request fits now. Answers allowed (and
        reserves its request, input tokens and max_tokens of output in the shared buckets), wait N
        seconds naming the binding bucket, or impossible (the request alone exceeds a per-minute limit:
        lower max_tokens, use prompt caching, or batch). Call it before sending an API request yourself,
        then call record_response with the response headers and usage so every client sees one picture."""
        with _limiter(project_dir) as lim:
            if reserve:
                d = lim.try_acquire(
                    model, input_tokens, max_tokens, cache_read_tokens, endpoint=endpoint, fast=fast
                )
            else:
                d = lim.would_admit(
                    model, input_tokens, max_tokens, cache_read_tokens, endpoint=endpoint, fast=fast
                )
            return CheckRequestResult(
                allowed=d.allowed,
                retry_after_seconds=round(d.retry_after, 3),
                binding=d.binding,
                impossible=d.impossible,
                message=d.message or ("Allowed: reserved." if reserve else "Allowed now (nothing reserved)."),
                bucket=d.bucket,
                reserved_input_tokens=d.reserved_input if reserve else 0,
                reserved_output_tokens=d.reserved_output if reserve else 0,
                store=lim.store.url,
            )

    @server.tool(
        name="record_response",
        title="Report an API response to the shared limiter",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
        ),
    )
    @clean_doc
    def record_response(
        model: Model,
        headers: Annotated[
            dict[str, str],
            Field(max_length=200, description="Response headers (anthropic-ratelimit-*, retry-after ...)."),
        ],
        usage: Annotated[
            dict[str, int] | None,
            Field(default=None, max_length=20, description="The response's usage object (token counts)."),
        ] = None,
        status_code: Annotated[
            int | None, Field(default=None, ge=100, le=599, description="HTTP status.")
        ] = None,
        error_code: Annotated[
            str | None, Field(default=None, max_length=100, description="error.details.error_code, if any.")
        ] = None,
        fast: Annotated[bool, Field(description="The request used speed: fast.")] = False,
        reserved_input_tokens: Tokens = 0,
        reserved_output_tokens: Tokens = 0,
        project_dir: ProjectDir = None,
    ) -> RecordResponseResult:
        """Report a Claude API response (its headers and usage) so the shared buckets follow the
        server's truth: anthropic-ratelimit-* headers re-synchronise them, retry-after on a 429 holds the
        model class, a spend-limit 429 is remembered for the doctor. Call it after every API request you
        made yourself (pass back reserved_*_tokens from check_request to settle the reservation)."""
        relevant = {
            k: v[:MAX_HEADER_VALUE]
            for k, v in headers.items()
            if k.lower().startswith(("anthropic-", "retry-after"))
        }
        reserved = None
        if reserved_input_tokens or reserved_output_tokens:
            reserved = (float(reserved_input_tokens), float(reserved_output_tokens))
        with _limiter(project_dir) as lim:
            info = lim.record_response(
                model,
                relevant,
                usage,
                status_code=status_code,
                error_code=error_code,
                fast=fast,
                reserved=reserved,
            )
            return RecordResponseResult(
                synced_buckets=sorted(f"{variant or 'standard'}:{dim}" for variant, dim in info.buckets),
                retry_after_seconds=info.retry_after,
                ignored_headers=info.ignored,
                store=lim.store.url,
            )
