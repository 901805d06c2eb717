"""Outputs as a folder of shards: one JSON Lines file per run of inputs, and a manifest.

For a study too large for one file, or made on a cluster, `capcode segment --shard-size N`
writes `--out` as a folder: `part-00000.jsonl`, `part-00001.jsonl`, ... (the units of N
transcripts each, in input order) and `manifest.json` naming every part with its transcripts,
unit count and SHA-256. The parts joined in their order are byte for byte the single file
the same run writes without --shard-size (`cat part-*.jsonl > fragments.jsonl`).

The folder is built beside its destination and renamed into place when complete; a folder
of shards from an earlier run is replaced, any other existing folder is refused.
"""

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from .errors import ConfigError, OutputError

SHARD_MANIFEST = "manifest.json"
FORMAT = "capcode shards"


def part_name(number: int) -> str:
    return f"part-{number:05d}.jsonl"


class ShardWriter:
    """Write the shards of one output folder; `close()` puts the folder in place, `abort()` removes it."""

    def __init__(self, folder, unit: str, command: str = "capcode segment"):
        self.folder = Path(folder)
        if self.folder.exists() and not _replaceable(self.folder):
            raise ConfigError(f"{self.folder}: exists and is not a folder of shards written by capcode; with "
                              "--shard-size, --out names a folder to create (or one capcode wrote before).")
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix=f".{self.folder.name}.", suffix=".tmp", dir=self.folder.parent))
        self.unit, self.command = unit, command
        self.parts = []

    def add(self, sources: list, text: str, count: int) -> None:
        """Write the next part: the JSON Lines `text` of the units of `sources`."""
        name = part_name(len(self.parts))
        data = text.encode("utf-8")
        try:
            with open(self.work / name, "wb") as handle:
                handle.write(data)
        except OSError as exc:
            raise OutputError(f"{self.folder / name}: cannot be written ({exc.strerror or exc}); nothing was "
                              "written.") from None
        self.parts.append({"file": name, "transcripts": list(sources), "units": count,
                           "sha256": hashlib.sha256(data).hexdigest()})

    def close(self) -> dict:
        """Write manifest.json and put the folder in place (replacing an earlier folder of shards)."""
        manifest = {"format": FORMAT, "command": self.command, "unit": self.unit,
                    "units": sum(part["units"] for part in self.parts),
                    "transcripts": sum(len(part["transcripts"]) for part in self.parts), "parts": self.parts}
        (self.work / SHARD_MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                                encoding="utf-8")
        os.chmod(self.work, 0o777 & ~_umask())
        old = None
        if self.folder.exists():
            old = self.folder.with_name(f".{self.folder.name}.{os.getpid()}.old")
            os.replace(self.folder, old)
        os.replace(self.work, self.folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return manifest

    def abort(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


def _replaceable(folder: Path) -> bool:
    """An existing --out folder may be replaced when it is empty or a folder of shards capcode wrote."""
    if not folder.is_dir():
        return False
    if not any(folder.iterdir()):
        return True
    with contextlib.suppress(OSError, ValueError):
        manifest = json.loads((folder / SHARD_MANIFEST).read_text(encoding="utf-8"))
        return isinstance(manifest, dict) and manifest.get("format") == FORMAT
    return False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_shard_manifest(folder) -> dict:
    """The manifest of a folder of shards."""
    return json.loads((Path(folder) / SHARD_MANIFEST).read_text(encoding="utf-8"))
