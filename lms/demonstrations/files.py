"""Evidence files: the type is read from the content (never trusted from the name), sizes and
a per-person quota are enforced, files live under random names in LMS_UPLOAD_DIR (outside any
static folder) and are served only through a view that checks who is asking."""

from __future__ import annotations

import hashlib
import io
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from lms.demonstrations.models import EvidenceFile
from lms.extensions import db


class UploadRefused(ValueError):
    """An upload we will not keep; the message names the file and says why."""


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str
    label: str


PDF = FileType("application/pdf", "pdf", "a PDF")
PNG = FileType("image/png", "png", "a PNG image")
JPEG = FileType("image/jpeg", "jpg", "a JPEG image")
GIF = FileType("image/gif", "gif", "a GIF image")
TEXT = FileType("text/plain; charset=utf-8", "txt", "plain text")
DOCX = FileType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "docx",
    "a Word document",
)
XLSX = FileType(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "an Excel workbook"
)
PPTX = FileType(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "pptx",
    "a PowerPoint presentation",
)
ACCEPTED = "PDF, PNG, JPEG, GIF, plain text or CSV, Word, Excel or PowerPoint"

#: What each name ending claims; a file whose content is another accepted type is refused, so a
#: name never disguises what a file is.
EXTENSIONS: dict[str, FileType] = {
    "pdf": PDF,
    "png": PNG,
    "jpg": JPEG,
    "jpeg": JPEG,
    "gif": GIF,
    "txt": TEXT,
    "csv": TEXT,
    "md": TEXT,
    "docx": DOCX,
    "xlsx": XLSX,
    "pptx": PPTX,
}

_OFFICE_PARTS = {"word/": DOCX, "xl/": XLSX, "ppt/": PPTX}


def detect(content: bytes) -> FileType | None:
    """The accepted type `content` is, judged by its bytes alone; None for anything else."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if content.startswith(b"PK\x03\x04"):
        try:
            names = zipfile.ZipFile(io.BytesIO(content)).namelist()
        except (zipfile.BadZipFile, ValueError):
            return None
        if "[Content_Types].xml" not in names:
            return None
        for prefix, kind in _OFFICE_PARTS.items():
            if any(name.startswith(prefix) for name in names):
                return kind
        return None
    if b"\x00" in content:
        return None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    # Markup would be plain text to us, but a browser told otherwise might run it.
    if re.search(r"<\s*(script|html|svg|iframe)\b", text[:4096], re.IGNORECASE):
        return None
    return TEXT


def safe_name(name: str | None, fallback: str = "evidence") -> str:
    """A display and download name with no path, no control characters and no leading dots:
    `../../etc/passwd` becomes `etc_passwd`."""
    name = unicodedata.normalize("NFC", name or "")
    # Every path part that is empty, "." or ".." goes; the rest are joined, never followed.
    parts = [part for part in re.split(r"[/\\]+", name) if part.strip(" .")]
    name = "_".join(parts)
    name = "".join(ch if ch.isprintable() and ch not in '<>:"|?*' else "_" for ch in name)
    name = name.strip(" .")
    return name[:150] or fallback


def _extension(name: str) -> str:
    return name.rsplit(".", 1)[1].lower() if "." in name else ""


def used_bytes(user_id: int) -> int:
    """What a person keeps: each stored file once, however many submissions refer to it."""
    sizes = (
        select(EvidenceFile.stored_name, func.max(EvidenceFile.size).label("size"))
        .where(EvidenceFile.user_id == user_id)
        .group_by(EvidenceFile.stored_name)
        .subquery()
    )
    return int(db.session.scalar(select(func.coalesce(func.sum(sizes.c.size), 0))) or 0)


def upload_dir() -> Path:
    return Path(current_app.config["LMS_UPLOAD_DIR"])


def path_of(stored_name: str) -> Path:
    if not re.fullmatch(r"[a-z0-9]{32}\.[a-z]{3,4}", stored_name):
        raise ValueError("not a stored file name")
    return upload_dir() / stored_name[:2] / stored_name


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def check(name: str, content: bytes, user_id: int, pending: int = 0) -> FileType:
    """The file's type, or UploadRefused saying why. `pending` counts bytes of other files in
    the same request, which count against the quota too."""
    limit = current_app.config["LMS_EVIDENCE_FILE_MAX_BYTES"]
    if not content:
        raise UploadRefused(f"“{name}” is empty.")
    if len(content) > limit:
        raise UploadRefused(
            f"“{name}” is {_megabytes(len(content))}; a file may be at most {_megabytes(limit)}."
        )
    kind = detect(content)
    if kind is None:
        raise UploadRefused(
            f"“{name}” is not a file type we accept (judged by its content, not its name). "
            f"Accepted: {ACCEPTED}."
        )
    claimed = EXTENSIONS.get(_extension(name))
    if _extension(name) and claimed is not kind:
        said = claimed.label if claimed else f"a .{_extension(name)} file"
        raise UploadRefused(
            f"“{name}” is named as {said} but its content is {kind.label}. Rename it or upload "
            "the file you meant."
        )
    quota = current_app.config["LMS_EVIDENCE_QUOTA_BYTES"]
    used = used_bytes(user_id) + pending
    if used + len(content) > quota:
        raise UploadRefused(
            f"“{name}” would take your evidence files over your {_megabytes(quota)} quota "
            f"({_megabytes(used)} used). Remove files you no longer need from your drafts."
        )
    return kind


def store(content: bytes, kind: FileType) -> tuple[str, str]:
    """Write the file under a random name; returns (stored name, sha256)."""
    stored = f"{secrets.token_hex(16)}.{kind.extension}"
    path = path_of(stored)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return stored, hashlib.sha256(content).hexdigest()


def remove_if_unused(stored_name: str) -> None:
    """Delete a stored file once no evidence row refers to it (after a flush)."""
    still = db.session.scalar(
        select(func.count())
        .select_from(EvidenceFile)
        .where(EvidenceFile.stored_name == stored_name)
    )
    if not still:
        path_of(stored_name).unlink(missing_ok=True)
