"""Packages are found here, not listed by hand: each top-level folder maps into one namespace.

``server/`` installs as ``claude_health.server``, ``tools/`` as ``claude_health.tools`` and
``config_templates/`` as ``claude_health.config_templates``, with every subpackage below them.
Everything else about the project is in pyproject.toml.
"""

from setuptools import find_packages, setup

FOLDERS = {
    "server": "claude_health.server",
    "tools": "claude_health.tools",
    "config_templates": "claude_health.config_templates",
}

packages = []
package_dir = {}
for folder, name in FOLDERS.items():
    packages.append(name)
    package_dir[name] = folder
    packages.extend(f"{name}.{sub}" for sub in find_packages(where=folder))

setup(packages=packages, package_dir=package_dir)
