"""Read a workspace's TOML files, validate them, and collect every problem before failing."""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from facturier.config.clients import BatchClientConfig, ClientConfig
from facturier.config.fields import check_vat_rate
from facturier.config.mail import env_label
from facturier.config.models import FacturierConfig
from facturier.config.pricing import pricing_problems
from facturier.config.problems import (
    FILE_KEY,
    format_problem,
    invisible_text_problems,
    problems_from_error,
)
from facturier.config.scaffold import PLACEHOLDER_SIREN
from facturier.config.vat_situation import vat_situation_warnings
from facturier.core.errors import ConfigError

if TYPE_CHECKING:
    import tomllib

CONFIG_FILE = "facturier.toml"
CLIENTS_DIR = "clients"
BATCH_CLIENTS_DIR = "batch_clients"
# Patterns as text, compiled by `re` (and cached there) at their first use: a configuration read
# from its cache validates nothing and compiles none of them (issue 23, start-up).
CLIENT_ID = r"[a-z0-9][a-z0-9_-]*"
# Journal entries name the seller "issuer" for direct invoices, so no batch client may use it.
RESERVED_IDS = frozenset({"issuer"})
_TOML_POSITION = r"^(?P<reason>.*?) \(at line (?P<line>\d+), column (?P<column>\d+)\)$"

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Workspace:
    """A validated workspace: its root directory and every configuration file, parsed."""

    root: Path
    config: FacturierConfig
    clients: dict[str, ClientConfig]
    batch_clients: dict[str, BatchClientConfig]


@dataclass
class _Loader:
    """Accumulates models and problems while reading one workspace."""

    root: Path
    # The bytes of files already read (`config_inputs`), validated as they were read.
    contents: dict[Path, bytes] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # What does not stop a run but is probably a mistake (shown by `check`, never fatal).
    warnings: list[str] = field(default_factory=list)
    # Ids (file stems) per directory, valid or not: id collisions are checked on file names.
    ids: dict[str, set[str]] = field(default_factory=dict)

    def relative(self, path: Path) -> str:
        """The path as shown in problems: relative to the workspace, with forward slashes."""
        return path.relative_to(self.root).as_posix()

    def file_problem(self, path: Path, message: str) -> None:
        """Record a problem about a whole file."""
        self.problems.append(format_problem(self.relative(path), FILE_KEY, message))

    def read_toml(self, path: Path) -> dict[str, Any] | None:
        """Parse one TOML file, or record why it cannot be parsed."""
        import tomllib  # here: a command that finds the configuration cached never parses TOML (~6 ms)

        try:
            # Windows editors (Notepad) save UTF-8 with a BOM, which tomllib refuses.
            raw = self.contents[path] if path in self.contents else path.read_bytes()
            text = raw.removeprefix(codecs.BOM_UTF8).decode("utf-8")
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            self.file_problem(path, toml_error_message(exc))
        except UnicodeDecodeError:
            self.file_problem(path, "not valid UTF-8 text")
        except OSError as exc:
            self.file_problem(path, f"cannot read: {exc.strerror}")
        return None

    def validate(self, path: Path, model: type[ModelT]) -> ModelT | None:
        """Parse and validate one file into a model, recording every problem."""
        data = self.read_toml(path)
        if data is None:
            return None
        invisible = invisible_text_problems(self.relative(path), data)
        self.problems.extend(invisible.values())
        try:
            item = model.model_validate(data)
        except ValidationError as exc:
            self.problems.extend(problems_from_error(self.relative(path), exc, model, set(invisible)))
            return None
        return None if invisible else item

    def load_dir(self, name: str, model: type[ModelT]) -> dict[str, ModelT]:
        """Validate every `<id>.toml` of a directory; the file stem is the id."""
        directory = self.root / name
        if not directory.is_dir():
            return {}
        self._ignored_files(directory)
        loaded: dict[str, ModelT] = {}
        for path in sorted(directory.glob("*.toml")):
            if not path.is_file():  # a folder, a link to nothing: a client would silently vanish
                what = "a folder" if path.is_dir() else "a link to nothing" if path.is_symlink() else "not a file"
                self.file_problem(path, f"{what}, not a configuration file: remove it or make it the "
                                        f"{name[:-1].replace('_', ' ')}'s .toml file")
                continue
            self.ids.setdefault(name, set()).add(path.stem)
            if not re.fullmatch(CLIENT_ID, path.stem):
                self.file_problem(path, bad_id_message(path.stem))
            item = self.validate(path, model)
            if item is not None:
                loaded[path.stem] = item
        return loaded


    def _ignored_files(self, directory: Path) -> None:
        """Warn about `acme.TOML`-like files: read nowhere, so a client silently disappears."""
        for path in sorted(directory.iterdir()):
            if path.suffix.lower() == ".toml" and path.suffix != ".toml":
                message = (f"ignored: only names ending in lowercase .toml are read; "
                           f"rename it {path.stem}.toml")
                self.warnings.append(format_problem(self.relative(path), FILE_KEY, message))


def toml_error_message(exc: tomllib.TOMLDecodeError) -> str:
    """`invalid TOML at line N: reason (column C)` from tomllib's message."""
    match = re.match(_TOML_POSITION, str(exc))
    if match is None:
        return f"invalid TOML: {exc}"
    reason = match["reason"][:1].lower() + match["reason"][1:]
    return f"invalid TOML at line {match['line']}: {reason} (column {match['column']})"


def bad_id_message(stem: str) -> str:
    """Why a file name cannot be a client id."""
    return (
        f"{stem!r} is not a valid id: the file name must match [a-z0-9][a-z0-9_-]* "
        "(lowercase letters, digits, _ and -), e.g. acme.toml"
    )


def _id_problems(loader: _Loader) -> None:
    """Ids are file names: one id must mean one client, and "issuer" names the issuer."""
    batch_ids = loader.ids.get(BATCH_CLIENTS_DIR, set())
    client_ids = loader.ids.get(CLIENTS_DIR, set())
    batch_dir = loader.root / BATCH_CLIENTS_DIR
    for batch_id in sorted(batch_ids & RESERVED_IDS):
        loader.file_problem(batch_dir / f"{batch_id}.toml", f"{batch_id!r} is reserved; rename it")
    # Both kinds share data/credit_notes/<id>/, so an id may not be used twice.
    for shared in sorted(client_ids & batch_ids):
        message = f"id {shared!r} is also used by {CLIENTS_DIR}/{shared}.toml"
        loader.file_problem(batch_dir / f"{shared}.toml", message)


def _franchise_problems(loader: _Loader, config: FacturierConfig | None,
                        clients: dict[str, ClientConfig]) -> None:
    """An issuer in franchise en base cannot charge VAT, so no client may ask for it."""
    if config is None or config.issuer.vat_regime != "franchise":
        return
    message = 'the issuer is in franchise (vat_regime = "franchise") and cannot charge VAT'
    for client_id, client in sorted(clients.items()):
        if client.vat_regime == "standard":
            path = f"{CLIENTS_DIR}/{client_id}.toml"
            loader.problems.append(format_problem(path, "vat_regime", message))


def _line_rate_problems(loader: _Loader, config: FacturierConfig | None,
                        clients: dict[str, ClientConfig]) -> None:
    """A client line is sold by the issuer, so its rate must be one of the issuer's country."""
    if config is None:
        return
    for client_id, client in sorted(clients.items()):
        for index, line in enumerate(client.lines):
            if line.vat_rate is None:
                continue
            try:
                check_vat_rate(line.vat_rate, config.issuer.country)
            except ValueError as exc:
                path = f"{CLIENTS_DIR}/{client_id}.toml"
                loader.problems.append(format_problem(path, f"lines[{index}].vat_rate", str(exc)))


def _pricing_problems(loader: _Loader, clients: dict[str, ClientConfig]) -> None:
    """Metered lines, tiers, discounts and dates: every problem of every block (config/pricing.py)."""
    for client_id, client in sorted(clients.items()):
        path = f"{CLIENTS_DIR}/{client_id}.toml"
        for key, message in pricing_problems(client):
            loader.problems.append(format_problem(path, key, message))


def _placeholder_warnings(loader: _Loader, config: FacturierConfig | None,
                          batch: dict[str, BatchClientConfig]) -> None:
    """The identity `facturier init` writes is valid on purpose, so only a warning can catch it."""
    sellers: list[tuple[str, str, str | None]] = [
        (CONFIG_FILE, "issuer.siren", config.issuer.siren if config else None)]
    sellers += [(f"{BATCH_CLIENTS_DIR}/{bid}.toml", "siren", cfg.siren)
                for bid, cfg in sorted(batch.items())]
    for file, key, siren in sellers:
        if siren == PLACEHOLDER_SIREN:
            loader.warnings.append(format_problem(file, key, (
                f"{PLACEHOLDER_SIREN} is the example SIREN written by `facturier init`: replace "
                "the example identity (name, address, SIREN, VAT number, email) with your own "
                "before issuing a real invoice")))


def _einvoicing_problems(loader: _Loader, config: FacturierConfig | None, clients: dict[str, ClientConfig],
                         batch: dict[str, BatchClientConfig]) -> None:
    """Numbering templates a transmitting seller uses must give numbers the reform accepts."""
    from facturier.config.einvoicing import einvoicing_checks

    problems, warnings = einvoicing_checks(config, dict(batch), dict(clients))
    loader.problems += [format_problem(*p) for p in problems]
    loader.warnings += [format_problem(*w) for w in warnings]


def config_files(root: Path) -> list[Path]:
    """What the loader looks at, in its order: facturier.toml, then each `*.toml` entry of the
    client folders by name (a folder or a dangling link there is a problem it reports)."""
    files = [root / CONFIG_FILE]
    for name in (CLIENTS_DIR, BATCH_CLIENTS_DIR):
        if (root / name).is_dir():
            files.extend(sorted((root / name).glob("*.toml")))
    return files


NOT_A_FILE = b"\x00not a regular file\x00"  # what an entry that is no file counts as, for the cache key


def config_inputs(root: Path) -> dict[Path, bytes] | None:
    """The bytes of every file the loader reads, or None when one cannot be read (the loader says why)."""
    try:
        return {path: path.read_bytes() if path.is_file() else NOT_A_FILE for path in config_files(root)}
    except OSError:
        return None


def _collect(root: Path, contents: dict[Path, bytes] | None = None) -> tuple[Workspace | None, list[str], list[str]]:
    """Validate the whole workspace: (Workspace or None when any problem, problems, warnings).

    `contents` are files already read (`config_inputs`): those bytes are what is validated.
    """
    config_path = root / CONFIG_FILE
    if not config_path.is_file():
        return None, [format_problem(CONFIG_FILE, FILE_KEY, not_a_workspace_message(root))], []
    loader = _Loader(root=root, contents=contents or {})
    config = loader.validate(config_path, FacturierConfig)
    clients = loader.load_dir(CLIENTS_DIR, ClientConfig)
    batch = loader.load_dir(BATCH_CLIENTS_DIR, BatchClientConfig)
    _id_problems(loader)
    _franchise_problems(loader, config, clients)
    _line_rate_problems(loader, config, clients)
    _pricing_problems(loader, clients)
    _placeholder_warnings(loader, config, batch)
    _einvoicing_problems(loader, config, clients, batch)
    loader.warnings += [format_problem(*w) for w in vat_situation_warnings(config, clients, batch)]
    if loader.problems or config is None:
        return None, loader.problems, loader.warnings
    workspace = Workspace(root=root, config=config, clients=clients, batch_clients=batch)
    return workspace, [], loader.warnings


def not_a_workspace_message(root: Path) -> str:
    """The message for a directory without facturier.toml (or with something else of that name)."""
    if (root / CONFIG_FILE).is_dir() or (root / CONFIG_FILE).is_symlink():
        return (f"{root / CONFIG_FILE} is a folder or a link to nothing, not the configuration file: "
                f"replace it with the workspace's {CONFIG_FILE}")
    return (f"{root} is not a Facturier workspace (no {CONFIG_FILE}); "
            "create one with `facturier init DIR`")


def check_workspace(root: Path) -> list[str]:
    """Every problem of the workspace as `file: key: message`; [] when it is valid."""
    return _collect(Path(root))[1]


def check_workspace_report(root: Path) -> tuple[list[str], list[str]]:
    """(problems, warnings) of the workspace, both as `file: key: message`; the warnings include
    every secret's environment variable that is not set where `check` runs."""
    workspace, problems, warnings = _collect(Path(root))
    if workspace is not None:
        from facturier.config.einvoicing import unset_platform_secrets

        warnings += unset_secrets(workspace.config)
        warnings += never_emailed_warnings(workspace)
        warnings += [format_problem(*w) for w in unset_platform_secrets(workspace.config,
                                                                         dict(workspace.batch_clients))]
    return problems, warnings


def never_emailed_warnings(workspace: Workspace) -> list[str]:
    """A warning where an auto-send client's invoice day comes after [schedule] send_day: each
    of its invoices is issued after the only day emails go out, so none is emailed by itself."""
    schedule = workspace.config.schedule
    late = [(client_id, client.invoice_day) for client_id, client in sorted(workspace.clients.items())
            if client.active and client.mode == "live" and client.options.auto_send
            and (client.invoice_day or schedule.invoice_day) > schedule.send_day]

    def warning(where: str, key: str, day: int, who: str) -> str:
        return format_problem(where, key, f"{day} is after [schedule] send_day ({schedule.send_day}), the only day "
                                          f"invoice emails go out: {who} never emailed automatically, though "
                                          f"options.auto_send = true; set it to {schedule.send_day} or before")

    warnings = [warning(f"clients/{cid}.toml", "invoice_day", day, "this client's invoices are")
                for cid, day in late if day is not None]
    by_default = [cid for cid, day in late if day is None]
    if by_default:
        warnings.append(warning(CONFIG_FILE, "schedule.invoice_day", schedule.invoice_day,
                                f"the invoices of {', '.join(by_default)} are"))
    return warnings


def unset_secrets(config: FacturierConfig) -> list[str]:
    """A warning per secret the configuration reads from an environment variable that is not set
    here (the command that needs it would fail: a cron job needs it in its environment too)."""
    mail, collections = config.mail, config.collections
    wanted = [
        ("mail.smtp.password_env", mail.smtp.password_env if mail.transport == "smtp" and mail.smtp else None),
        ("collections.imap.password_env",
         collections.imap.password_env if collections.drafts == "imap" and collections.imap else None),
        ("collections.slack.webhook_env", collections.slack.webhook_env if collections.slack else None),
        ("collections.payment_link.secret_key_env",
         collections.payment_link.secret_key_env
         if collections.payment_link and collections.payment_link.provider == "stripe" else None),
    ]
    return [format_problem(CONFIG_FILE, key, f"{env_label(name, 'this key')} is not set here: the commands that need "
                           "this secret will fail until it is (cron jobs need it in their environment)")
            for key, name in wanted if name and not os.environ.get(name)]


def load_workspace(root: Path) -> Workspace:
    """Load and validate the workspace; raise ConfigError listing every problem.

    A valid configuration is cached by content (`config/cache.py`): when every file holds the
    bytes the cache was made from, the validated models are read back instead of parsed.
    """
    from facturier.config.cache import ConfigCache

    root = Path(root)
    inputs = config_inputs(root) if (root / CONFIG_FILE).is_file() else None
    cache = ConfigCache(root, inputs) if inputs is not None else None
    if cache is not None and (cached := cache.load()) is not None:
        return cached
    workspace, problems, _ = _collect(root, inputs)
    if workspace is None:
        raise ConfigError(problems)
    if cache is not None:
        cache.save(workspace)
    return workspace
