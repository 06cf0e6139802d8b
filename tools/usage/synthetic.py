"""Synthetic Claude Code transcript trees, shaped like real ones, for tests and benchmarks.

Records follow real transcripts: streamed assistant snapshots sharing ``message.id`` and
``requestId`` with growing ``output_tokens``, subagent files under ``<session>/subagents/``
marked ``isSidechain``, bulky tool results, ``progress``, ``system`` and
``file-history-snapshot`` lines. Deterministic for a given seed.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-6", "claude-haiku-4-5-20251001")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def assistant_record(
    *,
    session: str,
    msg_id: str,
    request_id: str | None,
    at: datetime,
    model: str = MODELS[0],
    input_tokens: int = 3,
    output_tokens: int = 10,
    cache_5m: int = 0,
    cache_1h: int = 0,
    cache_read: int = 0,
    sidechain: bool = False,
    agent_id: str | None = None,
    text: str = "ok",
    stop_reason: str | None = "end_turn",
    speed: str | None = None,
) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_5m + cache_1h,
        "cache_read_input_tokens": cache_read,
        "cache_creation": {"ephemeral_5m_input_tokens": cache_5m, "ephemeral_1h_input_tokens": cache_1h},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }
    if speed:
        usage["speed"] = speed
    record: dict[str, Any] = {
        "parentUuid": str(uuid.uuid4()),
        "isSidechain": sidechain,
        "userType": "external",
        "cwd": "/home/user/project",
        "sessionId": session,
        "version": "2.1.39",
        "gitBranch": "main",
    }
    if agent_id:
        record["agentId"] = agent_id
    record.update(
        {
            "message": {
                "model": model,
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "content": [{"type": "text", "text": text}],
                "stop_reason": stop_reason,
                "stop_sequence": None,
                "usage": usage,
            },
            "type": "assistant",
            "uuid": str(uuid.uuid4()),
            "timestamp": iso(at),
        }
    )
    if request_id is not None:
        record["requestId"] = request_id
    return record


def user_record(session: str, at: datetime, text: str, *, sidechain: bool = False) -> dict[str, Any]:
    return {
        "parentUuid": None,
        "isSidechain": sidechain,
        "userType": "external",
        "cwd": "/home/user/project",
        "sessionId": session,
        "version": "2.1.39",
        "type": "user",
        "message": {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": text}],
        },
        "uuid": str(uuid.uuid4()),
        "timestamp": iso(at),
    }


def line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":")) + "\n"


@dataclass
class TreeStats:
    files: int = 0
    bytes: int = 0
    responses: int = 0


def write_tree(
    root: Path,
    *,
    size_bytes: int,
    seed: int = 7,
    end: datetime | None = None,
    days: int = 30,
    projects: int = 6,
) -> TreeStats:
    """Write ``root/projects/<project>/<session>.jsonl`` (+ subagents) until about ``size_bytes``."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    end = end or datetime.now(UTC)
    start = end - timedelta(days=days)
    stats = TreeStats()
    project_names = [f"-home-user-work-proj{i}" for i in range(projects)]
    filler = "x" * 4096
    counter = 0
    while stats.bytes < size_bytes:
        project = rng.choice(project_names)
        session = str(uuid.UUID(int=rng.getrandbits(128)))
        base = root / "projects" / project
        base.mkdir(parents=True, exist_ok=True)
        # Real file sizes are skewed: most are small, a few are large.
        target = int(min(8_000_000, rng.lognormvariate(11.6, 1.1)))
        at = start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))
        subagent = rng.random() < 0.15
        path = base / f"{session}.jsonl"
        agent_id = None
        if subagent:
            agent_id = f"a{rng.getrandbits(24):06x}"
            path = base / session / "subagents" / f"agent-{agent_id}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
        chunks: list[str] = [
            line({"type": "file-history-snapshot", "messageId": str(uuid.uuid4()), "snapshot": {}})
        ]
        written = len(chunks[0])
        model = rng.choice(MODELS)
        while written < target and at < end:
            at += timedelta(seconds=rng.uniform(2, 240))
            if at >= end:
                break
            counter += 1
            msg_id = f"msg_{seed:02d}{counter:010d}"
            req_id = f"req_{seed:02d}{counter:010d}"
            final_out = rng.randint(20, 3000)
            c5, c1 = rng.choice([(rng.randint(0, 20000), 0), (0, rng.randint(0, 20000))])
            cr = rng.randint(0, 150000)
            snaps = rng.randint(1, 3)
            for s in range(snaps):
                out = final_out if s == snaps - 1 else rng.randint(1, 12)
                rec = assistant_record(
                    session=session,
                    msg_id=msg_id,
                    request_id=req_id,
                    at=at + timedelta(milliseconds=400 * s),
                    model=model,
                    input_tokens=rng.randint(1, 10),
                    output_tokens=out,
                    cache_5m=c5,
                    cache_1h=c1,
                    cache_read=cr,
                    sidechain=subagent,
                    agent_id=agent_id,
                    stop_reason="tool_use" if s == snaps - 1 else None,
                )
                chunks.append(line(rec))
            stats.responses += 1
            chunks.append(
                line(user_record(session, at, filler[: rng.randint(200, 4096)], sidechain=subagent))
            )
            if rng.random() < 0.05:
                chunks.append(line({"type": "system", "content": "compacted", "timestamp": iso(at)}))
            if rng.random() < 0.2:
                chunks.append(
                    line({"type": "progress", "data": {"type": "hook_progress"}, "timestamp": iso(at)})
                )
            written += sum(len(c) for c in chunks[-3:])
        text = "".join(chunks)
        path.write_text(text, encoding="utf-8")
        stats.files += 1
        stats.bytes += len(text.encode())
    return stats
