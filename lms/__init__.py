"""A learning-management system for marketing teams adopting marketing-technology platforms.

`create_app` is the only place an application is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from lms.config import build_config

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application; `config` overrides what the environment says (tests use it)."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.update(build_config(instance, config))

    from lms import (
        models,  # noqa: F401  (every model registered before anything queries)
        security,
    )
    from lms.extensions import csrf, db, login_manager, migrate

    # Access is checked before CSRF, so an anonymous visitor is sent to sign in, not told off.
    security.init_app(app)
    db.init_app(app)
    migrate.init_app(
        app, db, directory=str(ROOT / "migrations"), compare_type=True, render_as_batch=True
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from lms.accounts.loader import load_user
    from lms.learning import operations  # noqa: F401  (hears passed knowledge checks)
    from lms.privacy import handlers  # noqa: F401  (registers personal-data handlers)

    login_manager.user_loader(load_user)

    from lms.accounts.views import bp as accounts_bp
    from lms.admin.views import bp as admin_bp
    from lms.adoption.records_views import bp as records_bp
    from lms.adoption.views import bp as adoption_bp
    from lms.api.pages import bp as tokens_bp
    from lms.api.views import bp as api_bp
    from lms.api.xapi import bp as xapi_bp
    from lms.assessments.views import bp as assessments_bp
    from lms.certificates.views import bp as certificates_bp
    from lms.cohorts.views import bp as cohorts_bp
    from lms.curricula.views import bp as curricula_bp
    from lms.dashboard.views import bp as dashboard_bp
    from lms.demonstrations.views import bp as demonstrations_bp
    from lms.feedback.views import bp as feedback_bp
    from lms.learning.views import bp as learning_bp
    from lms.main.views import bp as main_bp
    from lms.main.views import register_error_pages
    from lms.metrics.views import bp as metrics_bp
    from lms.reports.views import bp as reports_bp
    from lms.transcripts.views import bp as transcripts_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(curricula_bp)
    app.register_blueprint(learning_bp)
    app.register_blueprint(assessments_bp)
    app.register_blueprint(demonstrations_bp)
    app.register_blueprint(feedback_bp)
    app.register_blueprint(certificates_bp)
    app.register_blueprint(cohorts_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(transcripts_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(adoption_bp, url_prefix="/adoption")
    app.register_blueprint(records_bp, url_prefix="/records")
    app.register_blueprint(tokens_bp)
    from lms.adoption.utilisation_views import bp as utilisation_bp

    app.register_blueprint(utilisation_bp, url_prefix="/utilisation")
    # Token-authenticated, cookie-free: no CSRF token to send, nothing for CSRF to steal.
    csrf.exempt(api_bp)
    csrf.exempt(xapi_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(xapi_bp, url_prefix="/xapi")
    register_error_pages(app)

    from lms import ratelimits

    ratelimits.init_app(app)

    from lms.templating import init_app as init_templating

    init_templating(app)

    from lms.cli import register_commands

    register_commands(app)
    return app
