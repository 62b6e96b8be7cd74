"""A certificate as an Open Badges 3.0 credential (an OpenBadgeCredential in the W3C Verifiable
Credentials 2.0 data model). Unsigned for now: the public verify page is the proof; a signed
proof (Data Integrity eddsa-rdfc-2022) can be added without changing this structure."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app, url_for

from lms.certificates.models import Certificate
from lms.core.timeutil import as_utc

CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]


def _iso(moment: Any) -> str:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _base() -> str:
    return current_app.config["LMS_BASE_URL"].rstrip("/")


def credential(certificate: Certificate, email: str, organisation_name: str) -> dict[str, Any]:
    """The credential: the holder is identified by a salted hash of their e-mail address, so the
    file names nobody to whoever merely finds it."""
    verify = _base() + url_for("certificates.verify", code=certificate.code)
    salt = hashlib.sha256(f"{certificate.code}:{current_app.secret_key}".encode()).hexdigest()[:16]
    identity = "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()
    requirements = [item.get("label", item.get("requirement", "")) for item in certificate.evidence]
    achievement_id = (
        f"{_base()}/achievements/{certificate.programme.slug}/{certificate.stage_id}"
        f"/v{certificate.programme_version.split('.')[0]}"
    )
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": verify,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"{certificate.stage_name}: {certificate.programme_title}",
        "issuer": {"id": _base() + "/", "type": ["Profile"], "name": organisation_name},
        "validFrom": _iso(certificate.issued_at),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "identityHash": identity,
                    "salt": salt,
                }
            ],
            "achievement": {
                "id": achievement_id,
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": f"{certificate.stage_name}: {certificate.programme_title}",
                "description": (
                    f"Completed {certificate.programme_title} "
                    f"(version {certificate.programme_version})."
                    if certificate.completes_programme
                    else f"Passed the {certificate.stage_name} stage of "
                    f"{certificate.programme_title} (version {certificate.programme_version})."
                ),
                "criteria": {
                    "narrative": (
                        "Every requirement that completes the programme met:\n"
                        if certificate.completes_programme
                        else "Every requirement of the stage's gate met:\n"
                    )
                    + "\n".join(f"- {text}" for text in requirements)
                },
                "version": certificate.programme_version,
            },
        },
        "evidence": [
            {
                "type": ["Evidence"],
                "name": item.get("label", ""),
                "narrative": "Exempted with a recorded reason." if item.get("exempt") else "Met.",
            }
            for item in certificate.evidence
        ],
    }
    if certificate.expires_at is not None:
        document["validUntil"] = _iso(certificate.expires_at)
    return document
