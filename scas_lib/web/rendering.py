"""Rendering the pages' Jinja2 templates (``templates/``) in the visitor's language.

The pages (:mod:`~scas_lib.web.pages`) and the error handlers (:mod:`~scas_lib.web.errors`)
both render through here, so neither imports the other.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from scas_lib.web.texts import Language, page_texts, pick_language, visitor_error

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def app_root(request: Request) -> str:
    """The app's path prefix (``/scas``), for links and script addresses."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def request_language(request: Request) -> Language:
    """The language the visitor asked for (``?lang=``) or their browser prefers."""
    return pick_language(request.query_params.get("lang"), request.headers.get("accept-language"))


def render(request: Request, template: str, **values: Any) -> HTMLResponse:
    """``template`` rendered with the app's root, the visitor's language and its texts."""
    language: Language = values.pop("language", None) or request_language(request)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "root": app_root(request),
            "language": language,
            "t": page_texts(language),
            "operator_sign_in": operator_sign_in(request),
            **values,
        },
    )


def operator_sign_in(request: Request) -> str:
    """How operators sign in to this app: ``token`` (`scas serve`) or ``airflow``."""
    return str(getattr(request.app.state, "operator_sign_in", "token"))


def error_page(request: Request, code: str, message: str) -> str:
    """An error as a short page in the visitor's language (how errors.py answers an error
    on a page), with the way back to the front door; an operator page opened signed out
    shows the sign-in form, which comes back to it."""
    language = request_language(request)
    template = TEMPLATES.get_template("error.html")
    root = app_root(request)
    inner = request.url.path[len(root) :] if request.url.path.startswith(root) else "/"
    query = f"?{request.url.query}" if request.url.query else ""
    wrong_token = inner.startswith("/sign-in")  # the form again, to the same page
    if wrong_token:
        inner, query = request.query_params.get("next", "/"), ""
    return template.render(
        operator_sign_in=operator_sign_in(request),
        next_path=inner + query,
        wrong_token=wrong_token,
        root=root,
        language=language,
        t=page_texts(language),
        code=code,
        message=visitor_error(code, language) or message,
    )


def script_json(data: object) -> str:
    """``data`` as JSON for a ``<script type="application/json">`` element: a text holding
    ``</script>`` cannot end the element."""
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
