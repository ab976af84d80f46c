"""Sample service delivered by this project: a small Twelve-Factor Flask API.

Every setting comes from the environment (factor III); nothing is read from files:
  PORT        port to listen on (default 8080)
  HOST        address to bind (default 0.0.0.0, i.e. all addresses inside the container)
  GREETING    greeting returned by / (default "Hello")
  APP_ENV     name of the deploy environment (default "development")
  RELEASE_ID  id of the release (build + config) this process runs (default "unreleased")
  SECRET_KEY  secret used by Flask for signing; never printed or returned

Logs go to stdout/stderr as an event stream (factor XI); SIGTERM stops the server at once
(factor IX).
"""

import json
import os
import signal
import sys

from flask import Flask, Response, jsonify
from werkzeug.serving import WSGIRequestHandler, make_server


class RequestHandler(WSGIRequestHandler):
    """Logs each request to stderr, except the health probes that come every few seconds."""

    def log_request(self, code="-", size="-"):
        if self.path != "/healthz":
            super().log_request(code, size)


def settings_from_env(environ=os.environ):
    """Reads every setting from the environment, with defaults for local runs."""
    return {
        "host": environ.get("HOST", "0.0.0.0"),
        "port": int(environ.get("PORT", "8080")),
        "greeting": environ.get("GREETING", "Hello"),
        "app_env": environ.get("APP_ENV", "development"),
        "release_id": environ.get("RELEASE_ID", "unreleased"),
        "secret_key": environ.get("SECRET_KEY", ""),
    }


def create_app(settings):
    app = Flask(__name__)
    # The secret only configures Flask; it is never logged or returned.
    app.config["SECRET_KEY"] = settings["secret_key"] or None

    @app.get("/")
    def index():
        return jsonify(
            message=f"{settings['greeting']} from the delivery sample app",
            greeting=settings["greeting"],
            release_id=settings["release_id"],
            app_env=settings["app_env"],
            secret_configured=bool(settings["secret_key"]),
        )

    @app.get("/healthz")
    def healthz():
        return Response("ok", status=200, mimetype="text/plain")

    return app


def main():
    settings = settings_from_env()
    app = create_app(settings)
    server = make_server(
        settings["host"], settings["port"], app, threaded=True, request_handler=RequestHandler
    )

    def stop(signum, _frame):
        print(json.dumps({"event": "stopping", "signal": signum}), flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(
        json.dumps(
            {
                "event": "starting",
                "release_id": settings["release_id"],
                "app_env": settings["app_env"],
                "port": settings["port"],
            }
        ),
        flush=True,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
