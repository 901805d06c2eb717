"""Packaging: every data file under pipeline/ is declared in setup.cfg, so an installed capcode has it."""

import configparser
import fnmatch
from pathlib import Path

ROOT = Path(__file__).parent.parent


def package_data_patterns() -> dict:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    data = config["options.package_data"]
    return {package: [p.strip() for p in value.replace("\n", ",").split(",") if p.strip()]
            for package, value in data.items()}


def test_every_data_file_in_the_package_is_declared_as_package_data():
    patterns = package_data_patterns()
    undeclared = []
    for path in sorted((ROOT / "pipeline").rglob("*")):
        if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
            continue
        relative = path.relative_to(ROOT)
        package = ".".join(relative.parent.parts)
        if not any(fnmatch.fnmatch(path.name, p) for p in patterns.get(package, ())):
            undeclared.append(relative.as_posix())
    assert not undeclared, f"add these to [options.package_data] in setup.cfg: {undeclared}"


def test_packages_are_found_as_namespaces_so_data_folders_raise_no_setuptools_warning():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    assert config["options"]["packages"].strip() == "find_namespace:"
    assert {"pipeline.codebooks", "pipeline.schemas"} <= set(package_data_patterns())
