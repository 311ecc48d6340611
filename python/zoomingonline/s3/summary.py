"""What the upload of one store did: :class:`UploadSummary`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["UploadSummary"]


@dataclass
class UploadSummary:
    """What :func:`~zoomingonline.s3.upload_store` did (or, in a dry run, would do).

    Attributes
    ----------
    store : Path
        The local store.
    bucket, key : str
        Where it went: ``s3://bucket/key/``.
    url, viewer_url : str
        The store's URL and the viewer link that opens it.
    objects, bytes : int
        Objects (files) and bytes of the local store.
    uploaded, uploaded_bytes : int
        Objects uploaded (in a dry run: that would be).
    skipped, skipped_bytes : int
        Objects already in the bucket with the same size and checksum.
    failed : dict of str to str
        Objects that could not be uploaded, with the reason.
    missing, different : list of str
        Keys that the final listing lacks or holds with another size or checksum.
    extra : list of str
        Keys in the bucket under the store that the local store does not have (left
        alone, unless the upload was asked to delete them).
    deleted : list of str
        Those of them deleted after the upload was verified (in a dry run: that would be).
    cors, public : str
        What became of the bucket's CORS rule and public read: ``"set"``, ``"already
        set"``, ``"would be set"`` (dry run), ``"not asked"`` or ``"not set: <why>"``.
    verified : bool
        The final listing matched the local store.
    dry_run : bool
        Nothing was changed.
    warnings : list of str
        What did not go as asked without failing the upload (e.g. ``--public`` refused).
    seconds : float
        Wall time.
    """

    store: Path
    bucket: str
    key: str
    url: str
    viewer_url: str
    objects: int = 0
    bytes: int = 0
    uploaded: int = 0
    uploaded_bytes: int = 0
    skipped: int = 0
    skipped_bytes: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    cors: str = "not asked"
    public: str = "not asked"
    verified: bool = False
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True if the bucket holds the whole store (or, in a dry run, nothing failed)."""
        if self.dry_run:
            return not self.failed
        return self.verified and not self.failed

    def problem(self) -> str | None:
        """One line saying what is wrong, or None."""
        if self.ok:
            return None
        parts = []
        if self.failed:
            key, why = next(iter(self.failed.items()))
            parts.append(f"{len(self.failed)} objects failed (first: {key}: {why})")
        if self.missing:
            parts.append(f"{len(self.missing)} missing (first: {self.missing[0]})")
        if self.different:
            parts.append(f"{len(self.different)} different (first: {self.different[0]})")
        what = "; ".join(parts or ["not verified"])
        where = f"s3://{self.bucket}/{self.key}/"
        return f"{where} incomplete: {what}; run the same command again to resume"
