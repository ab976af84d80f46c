"""Tests of app.py: both endpoints, every setting from the environment, the release id in the
answer, the request log and the start/stop lines. Flask's test client, no socket is opened."""

import io
import json
import os
import signal
import sys
import unittest
from contextlib import redirect_stdout
from pathlib import Path
from unittest import mock

# app.py sits beside this directory. Put it first on sys.path, so that `import app` finds the
# module whichever directory the tests are discovered from (from the repository root, `app`
# would otherwise be the app/ directory as a namespace package).
APP_DIR = str(Path(__file__).resolve().parent.parent)
if sys.path[:1] != [APP_DIR]:
    sys.path.insert(0, APP_DIR)

import app as service  # noqa: E402  (after the path set-up above)

# Flask keeps only a weak reference from a test response to its app: the apps made here live
# as long as the test run, so that `client_for(...).get("/").get_json()` can read the answer.
_APPS = []


def client_for(environ):
    """A test client of the app made from exactly these environment variables."""
    with mock.patch.dict(os.environ, environ, clear=True):
        settings = service.settings_from_env()
    app = service.create_app(settings)
    _APPS.append(app)
    return app.test_client()


class SettingsFromEnvTest(unittest.TestCase):
    def test_defaults_for_a_local_run(self):
        self.assertEqual(
            service.settings_from_env({}),
            {
                "host": "0.0.0.0",
                "port": 8080,
                "greeting": "Hello",
                "app_env": "development",
                "release_id": "unreleased",
                "secret_key": "",
            },
        )

    def test_every_setting_comes_from_the_environment(self):
        environ = {
            "HOST": "127.0.0.1",
            "PORT": "9090",
            "GREETING": "Hej",
            "APP_ENV": "staging",
            "RELEASE_ID": "r-1234abcd",
            "SECRET_KEY": "s3cret-value",
        }
        self.assertEqual(
            service.settings_from_env(environ),
            {
                "host": "127.0.0.1",
                "port": 9090,
                "greeting": "Hej",
                "app_env": "staging",
                "release_id": "r-1234abcd",
                "secret_key": "s3cret-value",
            },
        )

    def test_reads_os_environ_by_default(self):
        with mock.patch.dict(os.environ, {"APP_ENV": "review", "PORT": "8181"}, clear=True):
            settings = service.settings_from_env()
        self.assertEqual((settings["app_env"], settings["port"]), ("review", 8181))

    def test_a_port_that_is_not_a_number_stops_the_start(self):
        with self.assertRaises(ValueError):
            service.settings_from_env({"PORT": "http"})


class IndexTest(unittest.TestCase):
    def test_answers_json_with_the_release_id_and_the_environment(self):
        res = client_for({"RELEASE_ID": "r-5f3a9c", "APP_ENV": "production", "GREETING": "Hi"}).get("/")
        self.assertEqual(res.status_code, 200)
        self.assertEqual(res.mimetype, "application/json")
        self.assertEqual(
            res.get_json(),
            {
                "message": "Hi from the delivery sample app",
                "greeting": "Hi",
                "release_id": "r-5f3a9c",
                "app_env": "production",
                "secret_configured": False,
            },
        )

    def test_defaults_when_nothing_is_set(self):
        body = client_for({}).get("/").get_json()
        self.assertEqual(body["release_id"], "unreleased")
        self.assertEqual(body["app_env"], "development")
        self.assertEqual(body["message"], "Hello from the delivery sample app")

    def test_says_whether_a_secret_is_set_and_never_returns_it(self):
        secret = "do-not-print-me-0x5eed"
        res = client_for({"SECRET_KEY": secret, "SECRET_API_TOKEN": "other-secret-value"}).get("/")
        self.assertIs(res.get_json()["secret_configured"], True)
        self.assertNotIn(secret, res.get_data(as_text=True))
        self.assertNotIn("other-secret-value", res.get_data(as_text=True))
        # Only the setting the app knows counts: another SECRET_* variable configures nothing.
        self.assertIs(client_for({"SECRET_API_TOKEN": "x"}).get("/").get_json()["secret_configured"], False)

    def test_the_secret_configures_flask_only_when_set(self):
        self.assertEqual(service.create_app(service.settings_from_env({"SECRET_KEY": "k"})).config["SECRET_KEY"], "k")
        self.assertIsNone(service.create_app(service.settings_from_env({})).config["SECRET_KEY"])

    def test_only_get(self):
        self.assertEqual(client_for({}).post("/").status_code, 405)


class HealthTest(unittest.TestCase):
    def test_healthz_is_plain_ok(self):
        res = client_for({"RELEASE_ID": "r-1"}).get("/healthz")
        self.assertEqual(res.status_code, 200)
        self.assertEqual(res.mimetype, "text/plain")
        self.assertEqual(res.get_data(as_text=True), "ok")

    def test_unknown_paths_are_404(self):
        self.assertEqual(client_for({}).get("/health").status_code, 404)


class RequestLogTest(unittest.TestCase):
    """RequestHandler leaves the health probes out of the request log."""

    def logged(self, path):
        handler = service.RequestHandler.__new__(service.RequestHandler)  # no socket needed
        handler.path = path
        with mock.patch("werkzeug.serving.WSGIRequestHandler.log_request") as parent:
            handler.log_request(200, 2)
        return parent.call_args_list

    def test_health_probes_are_not_logged(self):
        self.assertEqual(self.logged("/healthz"), [])

    def test_other_requests_are_logged(self):
        self.assertEqual(self.logged("/"), [mock.call(200, 2)])


class MainTest(unittest.TestCase):
    """main() with the server and the signal handlers replaced: nothing listens."""

    def run_main(self, environ):
        out = io.StringIO()
        handlers = {}
        with mock.patch.dict(os.environ, environ, clear=True), mock.patch.object(
            service, "make_server"
        ) as make_server, mock.patch.object(service.signal, "signal", side_effect=lambda s, h: handlers.__setitem__(s, h)), redirect_stdout(out):
            service.main()
        return make_server, handlers, out.getvalue()

    def test_prints_one_start_line_with_the_release_and_serves_on_the_port(self):
        make_server, _, out = self.run_main({"RELEASE_ID": "r-42", "APP_ENV": "staging", "PORT": "9000", "HOST": "127.0.0.1"})
        self.assertEqual(json.loads(out), {"event": "starting", "release_id": "r-42", "app_env": "staging", "port": 9000})
        args, kwargs = make_server.call_args
        self.assertEqual(args[:2], ("127.0.0.1", 9000))
        self.assertIs(kwargs["request_handler"], service.RequestHandler)
        make_server.return_value.serve_forever.assert_called_once_with()

    def test_sigterm_and_sigint_stop_at_once(self):
        _, handlers, _ = self.run_main({})
        self.assertEqual(set(handlers), {signal.SIGTERM, signal.SIGINT})
        out = io.StringIO()
        with redirect_stdout(out), self.assertRaises(SystemExit) as stopped:
            handlers[signal.SIGTERM](signal.SIGTERM, None)
        self.assertEqual(stopped.exception.code, 0)
        self.assertEqual(json.loads(out.getvalue()), {"event": "stopping", "signal": int(signal.SIGTERM)})


if __name__ == "__main__":
    unittest.main()
