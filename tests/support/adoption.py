"""Hand-made adoption fixtures: a programme whose one module teaches a few features."""

from __future__ import annotations

from sqlalchemy import insert

from lms.adoption.models import Feature, Platform, feature_modules
from lms.curricula.models import Module, Programme
from lms.extensions import db


def programme_teaching_features(
    slug: str, kind: str, count: int = 2
) -> tuple[Programme, Module, list[Feature]]:
    """A programme `slug` with one module that teaches features F1…F`count` of one platform.
    Flushed, not committed."""
    programme = Programme(
        slug=slug,
        kind=kind,
        title="Platform",
        summary="s",
        source="t",
        version="1.0.0",
        content_hash="h",
        gates={},
    )
    db.session.add(programme)
    db.session.flush()
    module = Module(programme_id=programme.id, slug="m", position=1, title="M")
    platform = Platform(slug="pl", name="Platform")
    db.session.add_all([module, platform])
    db.session.flush()
    features = [
        Feature(
            platform_id=platform.id,
            slug=f"f{n}",
            position=n,
            name=f"F{n}",
            description="",
            iri=f"https://example.com/f{n}",
        )
        for n in range(1, count + 1)
    ]
    db.session.add_all(features)
    db.session.flush()
    db.session.execute(
        insert(feature_modules), [{"feature_id": f.id, "module_id": module.id} for f in features]
    )
    return programme, module, features
