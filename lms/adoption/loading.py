"""Loading the feature catalogue: platforms and features matched by id, never deleted."""

from __future__ import annotations

from sqlalchemy import delete, select

from lms.adoption.models import Feature, FeatureAlias, Platform
from lms.core.timeutil import now_utc
from lms.curricula import schema
from lms.curricula.models import Module, Programme
from lms.extensions import db


def load_feature_catalogue(document: schema.FeatureCatalogue) -> None:
    modules = {
        f"{programme_slug}/{module.slug}": module
        for module, programme_slug in db.session.execute(
            select(Module, Programme.slug).join(Programme, Programme.id == Module.programme_id)
        )
    }
    platforms = {p.slug: p for p in db.session.scalars(select(Platform))}
    features = {f.slug: f for f in db.session.scalars(select(Feature))}
    now = now_utc()
    seen_platforms, seen_features = set(), set()
    for source in document.platforms:
        platform = platforms.get(source.id) or Platform(slug=source.id)
        db.session.add(platform)
        platform.name = source.name
        platform.retired_at = None
        seen_platforms.add(source.id)
        db.session.flush()
        # The catalogue's names replace its old ones and any an admin mapped before the
        # catalogue named them (the names are unique per platform).
        catalogue_names = {
            name
            for item in source.features
            for name in (item.id, item.name.casefold(), *(a.casefold() for a in item.aliases))
        }
        db.session.execute(
            delete(FeatureAlias).where(
                FeatureAlias.platform_id == platform.id,
                (FeatureAlias.source == "catalogue") | FeatureAlias.name.in_(catalogue_names),
            )
        )
        for position, item in enumerate(source.features, start=1):
            feature = features.get(item.id) or Feature(slug=item.id)
            db.session.add(feature)
            feature.platform = platform
            feature.position = position
            feature.name = item.name
            feature.description = item.description
            feature.iri = f"{document.iri_base}{source.id}/{item.id}"
            feature.retired_at = None
            feature.modules = [modules[ref] for ref in item.taught_by if ref in modules]
            seen_features.add(item.id)
            db.session.flush()
            for name in {item.id, item.name.casefold(), *(a.casefold() for a in item.aliases)}:
                db.session.add(
                    FeatureAlias(
                        platform_id=platform.id,
                        name=name,
                        feature_id=feature.id,
                        source="catalogue",
                    )
                )
        db.session.flush()
    for slug, platform in platforms.items():
        if slug not in seen_platforms:
            platform.retired_at = platform.retired_at or now
    for slug, feature in features.items():
        if slug not in seen_features:
            feature.retired_at = feature.retired_at or now
