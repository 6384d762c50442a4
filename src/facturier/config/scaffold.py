"""`facturier init DIR`: write a commented, valid starter workspace from packaged templates."""

from __future__ import annotations

from pathlib import Path

from facturier.core.errors import FacturierError

# Template inside the package -> path inside the new workspace.
SCAFFOLD_FILES = {
    "facturier.toml": "facturier.toml",
    "example-client.toml": "clients/example-client.toml",
}
EMPTY_DIRS = ("clients", "batch_clients", "templates")
# The example SIREN of the scaffold (valid checksum, so the new workspace passes `check`);
# `check` warns while it is still there.
PLACEHOLDER_SIREN = "123456782"


def scaffold_text(name: str) -> str:
    """The text of one packaged scaffold template."""
    from importlib import resources  # here: only `init` and `check` read templates (issue 23, start-up)

    template = resources.files("facturier.config").joinpath("scaffold", name)
    return template.read_text(encoding="utf-8")


def scaffold_workspace(dest: Path) -> None:
    """Create a starter workspace in dest; refuse to overwrite any existing file."""
    dest = Path(dest)
    if (dest / "facturier.toml").exists():
        raise FacturierError(f"{dest} already has a facturier.toml; refusing to overwrite it")
    existing = [target for target in SCAFFOLD_FILES.values() if (dest / target).exists()]
    if existing:
        raise FacturierError(f"{dest / existing[0]} already exists; refusing to overwrite it")
    if dest.exists() and not dest.is_dir():
        raise FacturierError(f"{dest} exists and is not a directory")
    for directory in EMPTY_DIRS:
        (dest / directory).mkdir(parents=True, exist_ok=True)
    for template, target in SCAFFOLD_FILES.items():
        # Exclusive creation: never clobber a file that appeared since the check above.
        with (dest / target).open("x", encoding="utf-8") as handle:
            handle.write(scaffold_text(template))
