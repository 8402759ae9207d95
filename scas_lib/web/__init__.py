"""The web app for the people at the venue: kiosk, visitor page and the REST API under them.

One FastAPI app (:func:`scas_lib.web.app.create_app`), served two ways from the same code:
``scas serve`` (uvicorn, mounted at ``/scas``) and inside Airflow's API server through the
plugin in ``plugins/scas_web_plugin.py`` (``fastapi_apps`` with ``url_prefix="/scas"``).

Layout, one module per audience so the operator console and the big screen can be added
beside them: ``api.py`` (JSON routers: kiosk, visitor, operator), ``pages.py`` (HTML pages:
kiosk, visitor), ``auth.py`` (the dependencies that say who is asking: a kiosk token, a
visitor page token, an operator), ``context.py`` (the servers and models the app works
with), ``errors.py`` (every error as JSON ``{code, message}`` or a page, never a stack
trace), ``texts.py`` (what visitors read, in Chinese and English), ``templates/`` and
``static/`` (shipped in the package: no CDN, venues are often offline).

Every request calls the same stage functions as the ``scas`` command
(:func:`scas_lib.visitors.stage.enroll_visitor`, :func:`~scas_lib.visitors.stage.forget_visitor`).
"""
