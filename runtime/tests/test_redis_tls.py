"""launch-worker on a Celery queue over TLS (``rediss://``), driven by the real ``celery`` package.

Needs the TLS port of scripts/test's redis-server (``LAUNCH_WORKER_TEST_REDISS``) and the
certificates scripts/test-redis made for it (``LAUNCH_WORKER_TEST_TLS_DIR``: ``ca.crt``,
``other-ca.crt``, ``client.crt``, ``client.key``, ``server.crt``, ``server.key``), besides what
test_redis_celery.py needs; skipped without them, except under ``CI=true``, where a missing one
fails. Every wait polls; nothing sleeps for timing.
"""

import os
import signal
import ssl
import subprocess
import uuid
from pathlib import Path

import redis
from celery import Celery

from conftest import require

# bundles, queue and workers are test_redis_celery.py's fixtures, shared.
from test_redis_celery import EXECUTABLE, REDIS_URL, TASK, Worker, _free_port, bundles, eventually, queue, workers

REDISS_URL = os.environ.get("LAUNCH_WORKER_TEST_REDISS")
TLS = Path(os.environ.get("LAUNCH_WORKER_TEST_TLS_DIR", "/nonexistent"))

require(
    REDIS_URL and REDISS_URL and TLS.is_dir(),
    "set LAUNCH_WORKER_TEST_REDIS, LAUNCH_WORKER_TEST_REDISS and LAUNCH_WORKER_TEST_TLS_DIR (scripts/test does)",
)


def tls_app(broker, **ssl_options):
    """A Celery producer whose broker and result backend both speak TLS with ``ssl_options``."""
    options = {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": str(TLS / "ca.crt"), **ssl_options}
    app = Celery("test-producer-tls", broker=broker, backend=broker)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_use_ssl=options,
        redis_backend_use_ssl=options,
    )
    return app


def serve_fails(tmp_path, bundle, url, *extra):
    """Runs ``serve`` that must fail, and returns its exit status and what it printed."""
    child = subprocess.run(
        [EXECUTABLE, "serve", bundle, "--queue", url, "--ready-file", tmp_path / "never.ready", *extra],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert not (tmp_path / "never.ready").exists()
    return child.returncode, child.stdout + child.stderr


def test_celery_over_rediss_with_an_acl_user_and_a_password_file(tmp_path, bundles, queue, workers):
    user, password = f"lw-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    admin = redis.Redis.from_url(REDIS_URL)
    admin.acl_setuser(user, enabled=True, passwords=[f"+{password}"], keys=["*"], channels=["*"], commands=["+@all"])
    try:
        password_file = tmp_path / "password"
        password_file.write_text(password + "\n")
        broker = REDISS_URL.replace("rediss://", f"rediss://{user}@") + f"?ssl_ca_certs={TLS / 'ca.crt'}"
        worker = Worker(tmp_path, bundles / "function", broker, queue, "--redis-password-file", password_file)
        workers.append(worker)
        result = tls_app(REDISS_URL).send_task(TASK, args=[{"args": {"x": 2, "y": 3}}, False], queue=queue)
        assert result.get(timeout=60) == {"result": '{"sum": 5}'}
        assert worker.stop() == 0

        password_file.write_text("wrong\n")
        status, output = serve_fails(tmp_path, bundles / "function", f"{broker}&queue={queue}",
                                     "--redis-password-file", password_file)
        assert status != 0 and "Redis refused the password" in output
        assert "bundle loaded" not in output
    finally:
        admin.acl_deluser(user)


def test_a_ca_that_did_not_sign_the_server_fails_naming_certificate_verification_before_the_bundle_loads(
        tmp_path, bundles, queue):
    url = f"{REDISS_URL}?queue={queue}&ssl_ca_certs={TLS / 'other-ca.crt'}"
    status, output = serve_fails(tmp_path, bundles / "function", url)
    assert status == 2
    assert "certificate verification failed (CERTIFICATE_VERIFY_FAILED)" in output
    assert "bundle loaded" not in output


def test_tls_files_that_cannot_be_used_stop_serve_before_the_bundle_loads(tmp_path, bundles, queue):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    for query, problem in [
        (f"ssl_ca_certs={tmp_path / 'missing.pem'}", f"ssl_ca_certs={tmp_path / 'missing.pem'} does not exist"),
        (f"ssl_ca_certs={junk}", f"ssl_ca_certs={junk} holds no PEM certificate"),
        (f"ssl_certfile={TLS / 'client.crt'}&ssl_keyfile={junk}", f"ssl_keyfile={junk} holds no PEM private key"),
    ]:
        status, output = serve_fails(tmp_path, bundles / "function", f"{REDISS_URL}?queue={queue}&{query}")
        assert status == 2 and problem in output, output
        assert "bundle loaded" not in output


def test_ssl_cert_reqs_none_serves_the_self_signed_server_and_warns(tmp_path, bundles, queue, workers):
    worker = Worker(tmp_path, bundles / "function", f"{REDISS_URL}?ssl_cert_reqs=none", queue)
    workers.append(worker)
    result = tls_app(REDISS_URL).send_task(TASK, args=[{"args": {"x": 1, "y": 1}}, False], queue=queue)
    assert result.get(timeout=60) == {"result": '{"sum": 2}'}
    assert worker.output().count("ssl_cert_reqs=none: the Redis broker's certificate is not verified") == 1


def start_tls_server(tmp_path, port, cert, key, auth_clients="no"):
    """A redis-server of the test's own on ``port``, TLS only (``--tls-auth-clients``
    ``auth_clients``), answering a PING once up."""
    server = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--dir", tmp_path,
         "--save", "", "--appendonly", "no", "--tls-cert-file", cert, "--tls-key-file", key,
         "--tls-ca-cert-file", TLS / "ca.crt", "--tls-auth-clients", auth_clients],
        stdout=(tmp_path / "redis.log").open("ab"), stderr=subprocess.STDOUT,
    )
    probe = redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_cert_reqs="none",
                        ssl_certfile=str(TLS / "client.crt"), ssl_keyfile=str(TLS / "client.key"))

    def answers():
        try:
            return probe.ping()
        except redis.exceptions.ConnectionError:
            return False

    eventually(answers, what="the TLS redis-server to answer")
    return server


def stop(server):
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)


def sum_over_mutual_tls(port, queue, x, y):
    """Sends ``add(x, y)`` to ``queue`` on the mutual-TLS server at ``port``, with the client
    certificate, and returns the answer."""
    app = tls_app(f"rediss://127.0.0.1:{port}/0", ssl_certfile=str(TLS / "client.crt"),
                  ssl_keyfile=str(TLS / "client.key"))
    return app.send_task(TASK, args=[{"args": {"x": x, "y": y}}, False], queue=queue).get(timeout=60)


def test_mutual_tls(tmp_path, bundles, queue, workers):
    port = _free_port()
    server = start_tls_server(tmp_path, port, TLS / "server.crt", TLS / "server.key", auth_clients="yes")
    try:
        broker = f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={TLS / 'ca.crt'}"
        status, output = serve_fails(tmp_path, bundles / "function", f"{broker}&queue={queue}")
        assert status == 2 and "it wants a client certificate it trusts" in output, output

        client = f"&ssl_certfile={TLS / 'client.crt'}&ssl_keyfile={TLS / 'client.key'}"
        workers.append(Worker(tmp_path, bundles / "function", broker + client, queue))
        assert sum_over_mutual_tls(port, queue, 4, 4) == {"result": '{"sum": 8}'}
    finally:
        stop(server)


def test_an_encrypted_client_key_with_its_passphrase_in_a_file(tmp_path, bundles, queue, workers):
    port = _free_port()
    server = start_tls_server(tmp_path, port, TLS / "server.crt", TLS / "server.key", auth_clients="yes")
    try:
        broker = (f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={TLS / 'ca.crt'}"
                  f"&ssl_certfile={TLS / 'client.crt'}&ssl_keyfile={TLS / 'client-encrypted.key'}")
        wrong = tmp_path / "wrong-passphrase"
        wrong.write_text("not it\n")
        status, output = serve_fails(tmp_path, bundles / "function", f"{broker}&queue={queue}",
                                     "--redis-ssl-password-file", wrong)
        assert status == 2 and "cannot be decrypted" in output and "not it" not in output, output

        status, output = serve_fails(tmp_path, bundles / "function", f"{broker}&queue={queue}",
                                     "--redis-ssl-password-file", tmp_path / "missing")
        assert status == 2 and "cannot read --redis-ssl-password-file" in output, output
        passphrase = tmp_path / "passphrase"
        passphrase.write_text("test passphrase\n")
        plain = f"{REDIS_URL}&queue={queue}" if "?" in REDIS_URL else f"{REDIS_URL}?queue={queue}"
        status, output = serve_fails(tmp_path, bundles / "function", plain, "--redis-ssl-password-file", passphrase)
        assert status == 2 and "is the passphrase of a rediss:// URL's ?ssl_keyfile=" in output, output

        workers.append(Worker(tmp_path, bundles / "function", broker, queue, "--redis-ssl-password-file", passphrase))
        assert sum_over_mutual_tls(port, queue, 4, 5) == {"result": '{"sum": 9}'}
    finally:
        stop(server)


def test_a_broker_that_comes_back_with_an_untrusted_certificate_is_logged_on_every_retry(
    tmp_path, bundles, queue, workers
):
    port = _free_port()
    server = start_tls_server(tmp_path, port, TLS / "server.crt", TLS / "server.key")
    try:
        worker = Worker(tmp_path, bundles / "function", f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={TLS / 'ca.crt'}",
                        queue)
        workers.append(worker)
        app = tls_app(f"rediss://127.0.0.1:{port}/0")
        assert app.send_task(TASK, args=[{"args": {"x": 1, "y": 2}}, False], queue=queue).get(timeout=60)
        stop(server)

        # The broker comes back with a certificate that no CA the worker trusts signed.
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "1", "-subj", "/CN=impostor", "-addext", "subjectAltName=IP:127.0.0.1",
             "-keyout", tmp_path / "impostor.key", "-out", tmp_path / "impostor.crt"],
            capture_output=True, check=True,
        )
        server = start_tls_server(tmp_path, port, tmp_path / "impostor.crt", tmp_path / "impostor.key")
        failure = "TLS with the Redis broker failed; retrying"
        eventually(lambda: worker.output().count(failure) >= 3, what="the worker to log each failed retry")
        lines = [line for line in worker.output().splitlines() if failure in line]
        assert all("CERTIFICATE_VERIFY_FAILED" in line and " error " in f" {line} " for line in lines), lines
        assert worker.process.poll() is None
        stop(server)

        server = start_tls_server(tmp_path, port, TLS / "server.crt", TLS / "server.key")
        result = app.send_task(TASK, args=[{"args": {"x": 3, "y": 4}}, False], queue=queue)
        assert result.get(timeout=60) == {"result": '{"sum": 7}'}
        assert "reconnected to Redis" in worker.output()
        assert worker.stop() == 0
    finally:
        stop(server)
