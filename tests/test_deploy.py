"""The production profile: gunicorn's config, one-line logs, the deploy checks, and the
nginx site in deploy/ run for real in front of a stand-in app server.

Helpers here (free_port, production_env, nginx_main_config, running, wait_until_up) are
shared with tests/test_multi_server.py.
"""

import http.server
import json
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX = "/usr/sbin/nginx"
SECRET = "Yt5-Qm2_Lp8Vc3Nr6Bx1Zk4Hs7Dw0Fj9Ga2Ue5Io8Ty1Rb4En7Mc0"
# One event per line: a time, a level, the process, the logger, the message.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ \[\d+\] [\w.]+: ")


def needs(available: bool, what: str) -> None:
    """Skip without a component, except in CI, where a skip would hide a broken setup."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is required when CI=true")
    pytest.skip(f"{what} is not available")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def example_env() -> dict:
    """The variables deploy/bytepress.env.example sets (comments and blanks left out)."""
    pairs = (
        line.split("=", 1)
        for line in (DEPLOY / "bytepress.env.example").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return {name.strip(): value.strip() for name, value in pairs}


def production_env(tmp_path: Path, **overrides) -> dict:
    """This process's environment without the site's settings, then the example
    production file's, with a real key and the files in ``tmp_path``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_", "BYTEPRESS_", "AWS_", "MEDIA_"))
        and key not in {"SITE_URL", "WEB_CONCURRENCY", "GUNICORN_TIMEOUT"}
    }
    env.update(example_env())
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=SECRET,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        MEDIA_ROOT=str(tmp_path / "media"),
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


def manage(env, *args, check=True):
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check:
        assert result.returncode == 0, f"manage.py {args[0]}: {result.stdout}{result.stderr}"
    return result


@contextmanager
def running(args, *, log: Path, env=None):
    """A server process writing to ``log``, always stopped whatever the test does."""
    with log.open("w") as output:
        process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def wait_until_up(url: str, process, seconds: float = 40, context=None) -> None:
    """Until ``url`` answers anything at all (a 404 or 400 counts), within ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5, context=context):
                return
        except urllib.error.HTTPError as answer:
            answer.close()
            return
        except OSError:
            if process.poll() is not None:
                pytest.fail(f"{url}: the server exited with {process.returncode}")
            if time.monotonic() > deadline:
                pytest.fail(f"{url} did not answer within {seconds} s")
            time.sleep(0.2)


def gunicorn(env, port: int, log: Path):
    env = {**env, "BYTEPRESS_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"}
    return running(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py"],
        env=env,
        log=log,
    )


def nginx_main_config(tmp_path: Path, site: str) -> Path:
    """An nginx.conf that runs without root: pid, logs and temporary files in
    ``tmp_path``, in the foreground, around one site's server blocks."""
    temp = tmp_path / "nginx-temp"
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (temp / name).mkdir(parents=True, exist_ok=True)
    # As root, workers would run as "nobody" and could not read pytest's private folders.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"""
        {user}
        daemon off;
        worker_processes 1;
        pid {tmp_path}/nginx.pid;
        error_log {tmp_path}/nginx-error.log warn;
        events {{ worker_connections 256; }}
        http {{
            types {{ text/css css; image/png png; image/webp webp; text/plain txt; }}
            default_type application/octet-stream;
            access_log {tmp_path}/nginx-access.log;
            client_body_temp_path {temp}/body;
            proxy_temp_path {temp}/proxy;
            fastcgi_temp_path {temp}/fastcgi;
            uwsgi_temp_path {temp}/uwsgi;
            scgi_temp_path {temp}/scgi;
            {site}
        }}
        """
    )
    return config


def start_nginx(tmp_path: Path, config: Path):
    return running(
        [NGINX, "-p", str(tmp_path), "-c", str(config)],
        log=tmp_path / "nginx-stdout.log",
    )


# --- gunicorn's config file ---------------------------------------------------------


def gunicorn_settings(**env) -> subprocess.CompletedProcess:
    code = (
        "import json, runpy; c = runpy.run_path('config/gunicorn.py'); "
        "print(json.dumps({k: c[k] for k in ('bind', 'workers', 'timeout', 'accesslog', "
        "'errorlog', 'wsgi_app', 'control_socket_disable')}))"
    )
    clean = {k: v for k, v in os.environ.items() if k not in {"WEB_CONCURRENCY", "BYTEPRESS_BIND"}}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_gunicorn_defaults_are_local_with_workers_from_the_cpu_count():
    result = gunicorn_settings()
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["bind"] == ["127.0.0.1:8000"]
    assert loaded["workers"] == min(2 * os.cpu_count() + 1, 12)
    assert loaded["timeout"] == 30
    assert loaded["accesslog"] == loaded["errorlog"] == "-"
    assert loaded["wsgi_app"] == "config.wsgi:application"
    assert loaded["control_socket_disable"] is True


def test_gunicorn_bind_and_workers_come_from_the_environment():
    result = gunicorn_settings(WEB_CONCURRENCY="3", BYTEPRESS_BIND="unix:/run/bp.sock")
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["workers"] == 3
    assert loaded["bind"] == ["unix:/run/bp.sock"]


@pytest.mark.parametrize("value", ["many", "0", "-2"])
def test_a_bad_worker_count_is_one_clear_line(value):
    result = gunicorn_settings(WEB_CONCURRENCY=value)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Bytepress configuration error: WEB_CONCURRENCY must be a whole number above 0."
    )


# --- the production profile -----------------------------------------------------------


def test_deploy_check_is_clean_under_the_production_profile(tmp_path):
    """The settings of deploy/bytepress.env.example pass `check --deploy` untouched."""
    env = production_env(tmp_path)
    assert env["DJANGO_SECURE_PROXY_SSL_HEADER"] == "1"
    manage(env, "migrate", "--noinput", "-v0")
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_an_error_and_its_traceback_are_one_line_on_stdout(tmp_path):
    env = production_env(tmp_path)
    manage(env, "migrate", "--noinput", "-v0")
    result = manage(
        env,
        "shell",
        "-v0",
        "-c",
        "import logging\n"
        "try:\n    1 / 0\n"
        "except ZeroDivisionError:\n"
        "    logging.getLogger('blog.test').exception('Failed for\\nposter')",
    )
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    assert LOG_LINE.match(lines[0]), lines[0]
    assert "ERROR" in lines[0] and "blog.test: Failed for\\nposter" in lines[0]
    assert "\\nTraceback (most recent call last):\\n" in lines[0]
    assert lines[0].endswith("ZeroDivisionError: division by zero")
    assert result.stderr == ""


def test_gunicorn_serves_the_site_and_logs_one_line_per_event(tmp_path):
    port = free_port()
    env = production_env(
        tmp_path, SITE_URL=f"http://127.0.0.1:{port}", DJANGO_ALLOWED_HOSTS="127.0.0.1"
    )
    env["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    log = tmp_path / "gunicorn.log"
    with gunicorn(env, port, log) as server:
        wait_until_up(f"http://127.0.0.1:{port}/", server)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
            assert response.status == 200
            assert "no-store" not in response.headers["Cache-Control"]
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=10)
        assert missing.value.code == 404
        time.sleep(0.5)  # the access log is written after the response
    lines = log.read_text().splitlines()
    assert lines and all(LOG_LINE.match(line) for line in lines), lines
    assert any("gunicorn.error: Listening at: http://127.0.0.1" in line for line in lines)
    assert any("gunicorn.access:" in line and '"GET / HTTP/1.1" 200' in line for line in lines)
    assert any("django.request: Not Found: /no-such-page/" in line for line in lines)


# --- the nginx site -------------------------------------------------------------------


class EchoHeaders(http.server.BaseHTTPRequestHandler):
    """A stand-in app server: answers with the request's headers and body size as JSON."""

    def _answer(self):
        size = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(size)
        body = json.dumps({"headers": dict(self.headers), "size": size}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def self_signed_certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=blog.example.org", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def deploy_site(tmp_path: Path, *, http_port, https_port, app_port, cert, key) -> str:
    """deploy/nginx-bytepress.conf with this machine's ports and folders, as shipped
    otherwise (each replacement must find its text, so the file cannot drift away)."""
    site = (DEPLOY / "nginx-bytepress.conf").read_text()
    replacements = {
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{app_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl;",
        "listen [::]:443 ssl http2;": "",
        "/etc/letsencrypt/live/blog.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/blog.example.org/privkey.pem": str(key),
        "/srv/bytepress/": f"{tmp_path}/",
    }
    for old, new in replacements.items():
        assert old in site, f"{old!r} is no longer in the nginx site"
        site = site.replace(old, new)
    return site


@pytest.fixture
def deployed_nginx(tmp_path):
    needs(Path(NGINX).is_file(), NGINX)
    needs(shutil.which("openssl") is not None, "openssl")
    app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), EchoHeaders)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    http_port, https_port = free_port(), free_port()
    cert, key = self_signed_certificate(tmp_path)
    site = deploy_site(
        tmp_path,
        http_port=http_port,
        https_port=https_port,
        app_port=app.server_address[1],
        cert=cert,
        key=key,
    )
    (tmp_path / "staticfiles" / "css").mkdir(parents=True)
    (tmp_path / "staticfiles" / "css" / "site.0123456789ab.css").write_text("body{}")
    (tmp_path / "staticfiles" / "favicon.txt").write_text("icon")
    (tmp_path / "media" / "images").mkdir(parents=True)
    (tmp_path / "media" / "images" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with start_nginx(tmp_path, nginx_main_config(tmp_path, site)) as server:
        origin = f"https://127.0.0.1:{https_port}"
        wait_until_up(origin + "/static/favicon.txt", server, context=context)
        yield {"origin": origin, "http": f"http://127.0.0.1:{http_port}", "context": context}
    app.shutdown()
    app.server_close()


def fetch(nginx, path, *, data=None, headers=None):
    request = urllib.request.Request(
        nginx["origin"] + path,
        data=data,
        headers={"Host": "blog.example.org", **(headers or {})},
    )
    return urllib.request.urlopen(request, timeout=30, context=nginx["context"])


def test_nginx_forwards_the_scheme_host_and_client_to_the_app(deployed_nginx):
    with fetch(deployed_nginx, "/bytes/") as response:
        seen = {k.lower(): v for k, v in json.load(response)["headers"].items()}
    assert seen["x-forwarded-proto"] == "https"
    assert seen["x-forwarded-host"] == "blog.example.org"
    assert seen["host"] == "blog.example.org"
    assert seen["x-forwarded-for"] == "127.0.0.1"


def test_nginx_redirects_plain_http_to_https(deployed_nginx):
    request = urllib.request.Request(
        deployed_nginx["http"] + "/bytes/?p=2", headers={"Host": "blog.example.org"}
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.build_opener(NoRedirect).open(request, timeout=10)
    assert answer.value.code == 301
    assert answer.value.headers["Location"] == "https://blog.example.org/bytes/?p=2"


def test_nginx_keeps_hashed_static_files_for_a_year(deployed_nginx):
    with fetch(deployed_nginx, "/static/css/site.0123456789ab.css") as response:
        assert response.read() == b"body{}"
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    with fetch(deployed_nginx, "/static/favicon.txt") as response:
        assert response.headers["Cache-Control"] == "public, max-age=3600"


def test_nginx_serves_media_with_nosniff(deployed_nginx):
    with fetch(deployed_nginx, "/media/images/a.png") as response:
        assert response.read().startswith(b"\x89PNG")
        assert response.headers["Content-Type"] == "image/png"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "public, max-age=2592000"


def test_nginx_lets_a_10_mb_upload_through_and_stops_bigger_ones(deployed_nginx):
    with fetch(deployed_nginx, "/admin/markdownx/upload/", data=b"x" * 11_000_000) as response:
        assert json.load(response)["size"] == 11_000_000
    with pytest.raises(urllib.error.HTTPError) as answer:
        fetch(deployed_nginx, "/admin/markdownx/upload/", data=b"x" * 13_000_000)
    assert answer.value.code == 413
