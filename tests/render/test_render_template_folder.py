"""An override template reads nothing outside the workspace's templates/ folder."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from facturier.core.errors import FacturierError
from facturier.render.pdf import BUNDLED_SAMPLE, BUNDLED_TEMPLATES, PdfRenderer, check_template
from facturier.render.template_folder import TemplateFolderError

SECRET = "TOPSECRET-4242"


def _leaking_template(folder: Path, read: str) -> None:
    """The bundled template, with the content of `read` printed in the footer of every page."""
    text = (BUNDLED_TEMPLATES / "invoice.typ").read_text(encoding="utf-8")
    text = text.replace("  view.document_title\n", f'  view.document_title + read("{read}")\n', 1)
    assert f'read("{read}")' in text
    folder.mkdir(exist_ok=True)
    (folder / "invoice.typ").write_text(text, encoding="utf-8")


def _render(folder: Path) -> str:
    record = json.loads(BUNDLED_SAMPLE.read_text(encoding="utf-8"))
    pdf = PdfRenderer(folder).render(record)
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text(SECRET, encoding="utf-8")
    return secret


def test_a_file_kept_in_the_templates_folder_can_be_read(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    _leaking_template(folder, "note.txt")
    (folder / "note.txt").write_text("kept-here", encoding="utf-8")
    assert "kept-here" in _render(folder)


def test_a_symlink_to_a_file_outside_is_refused(tmp_path: Path, outside: Path) -> None:
    folder = tmp_path / "templates"
    _leaking_template(folder, "secret.txt")
    (folder / "secret.txt").symlink_to(outside)
    with pytest.raises(TemplateFolderError, match=r"templates/secret.txt: a symbolic link") as caught:
        _render(folder)
    assert SECRET not in str(caught.value)
    assert isinstance(caught.value, FacturierError)


def test_a_symlinked_folder_inside_templates_is_refused(tmp_path: Path, outside: Path) -> None:
    folder = tmp_path / "templates"
    _leaking_template(folder, "assets/secret.txt")
    (folder / "assets").symlink_to(outside.parent, target_is_directory=True)
    with pytest.raises(TemplateFolderError, match=r"templates/assets: a symbolic link"):
        _render(folder)


def test_a_symlinked_template_file_is_refused_not_skipped(tmp_path: Path) -> None:
    real = tmp_path / "mine.typ"
    real.write_text((BUNDLED_TEMPLATES / "invoice.typ").read_text(encoding="utf-8"), encoding="utf-8")
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "invoice.typ").symlink_to(real)
    with pytest.raises(TemplateFolderError, match=r"templates/invoice.typ: a symbolic link"):
        PdfRenderer(folder)


def test_a_link_made_after_the_renderer_is_refused_at_the_next_compile(tmp_path: Path, outside: Path) -> None:
    folder = tmp_path / "templates"
    _leaking_template(folder, "secret.txt")
    (folder / "secret.txt").write_text("harmless", encoding="utf-8")
    renderer = PdfRenderer(folder)
    (folder / "secret.txt").unlink()
    (folder / "secret.txt").symlink_to(outside)
    record = json.loads(BUNDLED_SAMPLE.read_text(encoding="utf-8"))
    with pytest.raises(TemplateFolderError):
        renderer.render(record)


def test_check_reports_the_link_as_a_problem_of_the_file(tmp_path: Path, outside: Path) -> None:
    folder = tmp_path / "templates"
    _leaking_template(folder, "secret.txt")
    (folder / "secret.txt").symlink_to(outside)
    problems = check_template(folder)
    assert len(problems) == 1
    assert problems[0].startswith("templates/secret.txt: (file): a symbolic link")


def test_local_typst_packages_outside_the_folder_are_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "data" / "typst" / "packages" / "local" / "leak" / "0.1.0"
    package.mkdir(parents=True)
    (package / "typst.toml").write_text('[package]\nname = "leak"\nversion = "0.1.0"\nentrypoint = "lib.typ"\n',
                                        encoding="utf-8")
    (package / "lib.typ").write_text(f'#let leaked = "{SECRET}"\n', encoding="utf-8")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # where Typst looks for @local
    folder = tmp_path / "templates"
    folder.mkdir()
    text = (BUNDLED_TEMPLATES / "invoice.typ").read_text(encoding="utf-8")
    (folder / "invoice.typ").write_text('#import "@local/leak:0.1.0": leaked\n#leaked\n' + text, encoding="utf-8")
    with pytest.raises(FacturierError, match="package not found"):
        _render(folder)
