"""server.json for the official MCP Registry, and the facts it shares with pyproject.toml and the README.

The registry's schema (2025-12-11, `docs/reference/server-json/server.schema.json` in
modelcontextprotocol/registry) is not vendored: no package on PyPI or npm ships it, and public
repositories' files are not committed here. The models below state, in our own code, the
constraints that schema documents for the fields server.json uses (read 2026-12-07): name
pattern and length, description length, no version ranges or "latest", the package shapes
per registryType (pypi: identifier + exact version; mcpb: a GitHub/GitLab release URL +
fileSha256), stdio transport, and no unknown fields where the schema forbids them.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import pytest
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, ValidationError

from claude_health.tools import __version__
from tests.external import REPO

SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
NAME_PATTERN = r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$"
RANGE = re.compile(r"^[\^~<>=]|[*xX]$|\.[*xX]\b|\|\|| - ")


def exact_version(value: str) -> str:
    if value == "latest" or RANGE.search(value):
        raise ValueError(f"{value!r} is a range or `latest`; the registry wants one exact version")
    return value


ExactVersion = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(exact_version)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Stdio(Strict):
    type: Literal["stdio"]


class Repository(Strict):
    url: HttpUrl
    source: str
    id: str | None = None
    subfolder: str | None = None


class Argument(Strict):
    type: Literal["positional", "named"]
    value: str | None = None
    valueHint: str | None = None
    name: str | None = None
    description: str | None = None
    isRequired: bool = False
    isRepeated: bool = False


class PypiPackage(Strict):
    registryType: Literal["pypi"]
    registryBaseUrl: HttpUrl | None = None
    identifier: str = Field(min_length=1)
    version: ExactVersion
    runtimeHint: str | None = None
    transport: Stdio
    packageArguments: list[Argument] = []
    runtimeArguments: list[Argument] = []
    fileSha256: str | None = Field(default=None, pattern=r"^[a-f0-9]{64}$")


class McpbPackage(Strict):
    registryType: Literal["mcpb"]
    identifier: HttpUrl
    version: ExactVersion | None = None
    fileSha256: str = Field(pattern=r"^[a-f0-9]{64}$")
    transport: Stdio


class ServerJson(Strict):
    schema_: Literal["https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"] = Field(
        alias="$schema"
    )
    name: str = Field(min_length=3, max_length=200, pattern=NAME_PATTERN)
    title: str | None = Field(default=None, min_length=1, max_length=100)
    description: str = Field(min_length=1, max_length=100)
    version: ExactVersion
    websiteUrl: HttpUrl | None = None
    repository: Repository | None = None
    packages: list[Annotated[PypiPackage | McpbPackage, Field(discriminator="registryType")]] = []


def server_json() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REPO / "server.json").read_text(encoding="utf-8"))
    return data


def pyproject() -> dict[str, Any]:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]  # type: ignore[no-any-return]


def test_server_json_meets_the_documented_schema() -> None:
    parsed = ServerJson.model_validate(server_json())
    assert parsed.schema_ == SCHEMA_URL
    assert {type(p) for p in parsed.packages} == {PypiPackage, McpbPackage}


@pytest.mark.parametrize(
    "change",
    [
        {"name": "claude-health"},  # no namespace
        {"name": "io.github.a/b/c"},  # two slashes
        {"description": "x" * 101},
        {"version": "latest"},
        {"version": "^0.1.0"},
        {"unknown": True},
    ],
)
def test_the_models_reject_what_the_schema_rejects(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ServerJson.model_validate({**server_json(), **change})


def test_a_package_with_latest_or_no_sha_is_rejected() -> None:
    data = server_json()
    pypi, mcpb = data["packages"]
    with pytest.raises(ValidationError):
        ServerJson.model_validate({**data, "packages": [{**pypi, "version": "latest"}, mcpb]})
    with pytest.raises(ValidationError):
        ServerJson.model_validate(
            {**data, "packages": [pypi, {k: v for k, v in mcpb.items() if k != "fileSha256"}]}
        )


def test_name_version_description_agree_with_pyproject() -> None:
    data, project = server_json(), pyproject()
    namespace, name = data["name"].split("/")
    assert name == project["name"]
    assert data["description"] == project["description"]
    # The version has one source: pyproject reads claude_health.tools.__version__.
    assert "version" not in project and "version" in project["dynamic"]
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["dynamic"]["version"] == {"attr": "claude_health.tools.__version__"}
    assert data["version"] == __version__
    homepage = project["urls"]["Homepage"]
    owner = urlsplit(homepage).path.strip("/").split("/")[0]
    assert namespace == f"io.github.{owner}"  # the registry proves GitHub namespaces by the owner
    assert data["repository"] == {"url": homepage, "source": "github"}
    assert data["websiteUrl"] == homepage


def test_pypi_package_runs_the_server_with_uvx() -> None:
    pypi = next(p for p in server_json()["packages"] if p["registryType"] == "pypi")
    assert pypi["identifier"] == pyproject()["name"]
    assert pypi["version"] == __version__
    assert pypi["runtimeHint"] == "uvx"
    assert pypi["transport"] == {"type": "stdio"}
    # `uvx claude-health` alone prints the help: the registry's client must add `serve`.
    assert [a.get("value") for a in pypi["packageArguments"]] == ["serve"]


def test_mcpb_package_is_the_release_asset_of_this_version() -> None:
    from claude_health.server.bundle import release_url

    mcpb = next(p for p in server_json()["packages"] if p["registryType"] == "mcpb")
    assert mcpb["identifier"] == release_url(__version__)
    assert urlsplit(mcpb["identifier"]).netloc == "github.com"
    assert mcpb["version"] == __version__
    # That its fileSha256 is this tree's bundle is checked in tests/test_distribution_bundle.py.


def test_readme_carries_the_registry_ownership_line() -> None:
    """The registry proves PyPI ownership by `mcp-name: <server name>` in the package description."""
    assert pyproject()["readme"] == "README.md"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"mcp-name: {server_json()['name']}" in readme
