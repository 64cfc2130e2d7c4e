#!/usr/bin/env python3
"""Hostile load on one skiff-site, with its defaults: how much memory the site holds while many
clients send large bundles at once, and how it answers a flood of wrong tokens.

Usage: Tools/hostile/load.py [--bin .build/release] [--clients 24,100] [--bundle-mib 30] [--guesses 2000]
                             [--serve-option=--body-memory --serve-option=64 ...]

Sets up a scratch site (init, tenant, host, writer token) and a local repository whose objects
(random data, backed up with `skiff backup`) make one valid bundle of about --bundle-mib MiB;
then, for each client count, sends that bundle from that many connections at once and reports
the answers, the time and the site's peak RSS (VmHWM, from the start of that round's server);
then sends --guesses wrong tokens from one address and counts the 401 and 429 answers.
Everything runs on 127.0.0.1 and is removed at the end.
"""
import argparse
import collections
import hashlib
import http.client
import os
import pathlib
import shutil
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time


def run(*args, **kwargs):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, **kwargs).stdout


def peak_rss_mib(pid):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Site:
    def __init__(self, binary, data, options=()):
        self.process = subprocess.Popen([binary, "serve", "--data", data, "--listen", "127.0.0.1:0", "--log-level", "error", *options],
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("listening on"):
            raise SystemExit(f"skiff-site did not start: {line}")
        self.port = int(line.rsplit(":", 1)[1])

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=60)


def request(port, method, path, token, body=None, headers=None):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=600)
    try:
        all_headers = {"Authorization": f"Bearer {token}"}
        all_headers.update(headers or {})
        connection.request(method, path, body=body, headers=all_headers)
        answer = connection.getresponse()
        answer.read()
        return answer.status
    except OSError as error:
        return f"error: {error.__class__.__name__}"
    finally:
        connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin", default=".build/release")
    parser.add_argument("--clients", default="24,100")
    parser.add_argument("--bundle-mib", type=int, default=30)
    parser.add_argument("--guesses", type=int, default=2000)
    parser.add_argument("--serve-option", action="append", default=[], help="more `skiff-site serve` options (default: none, the defaults)")
    options = parser.parse_args()
    binaries = pathlib.Path(options.bin).resolve()
    skiff, site_binary = binaries / "skiff", binaries / "skiff-site"
    work = pathlib.Path(tempfile.mkdtemp(prefix="skiff-hostile-"))
    environment = dict(os.environ, SKIFF_PASSPHRASE="hostile load")
    try:
        os.chdir(work)
        run(skiff, "key", "create-tenant", "--out", "tenant.restore-key", "--public-out", "tenant.pub", env=environment)
        run(skiff, "key", "create-host", "--restore-key", "tenant.restore-key", "--host", "web1", "--out", "host.key", env=environment)
        pathlib.Path("host.cert").write_text(run(skiff, "key", "export", "--host-certificate", "--host-key", "host.key", env=environment))
        data = work / "data"
        data.mkdir()
        for index in range(options.bundle_mib // 4 + 1):
            (data / f"random-{index}.bin").write_bytes(os.urandom(4 << 20))
        repository = work / "repo"
        run(skiff, "init", "--repo", repository, "--restore-key", "tenant.restore-key", "--host-key", "host.key", env=environment)
        run(skiff, "backup", data, "--repo", repository, "--host-key", "host.key", env=environment)
        objects = sorted((p for p in (repository / "objects").rglob("*") if p.is_file()), key=lambda p: -p.stat().st_size)
        if not objects:
            raise SystemExit(f"no objects in {repository}: skiff backup failed")
        bundle = bytearray()
        for path in objects:
            content = path.read_bytes()
            if len(bundle) + 36 + len(content) > options.bundle_mib << 20:
                continue
            bundle += hashlib.sha256(content).digest() + struct.pack(">I", len(content)) + content
        print(f"bundle: {len(bundle) / 1048576:.1f} MiB")

        site_data = str(work / "site")
        run(site_binary, "init", "--data", site_data, "--name", "127.0.0.1")
        run(site_binary, "tenant", "add", "acme", "--data", site_data, "--key", "tenant.pub")
        run(site_binary, "host", "add", "--data", site_data, "--certificate", "host.cert")
        run(site_binary, "token", "create", "--data", site_data, "--role", "writer", "--tenant", "acme", "--host", "web1", "--out", "writer.token")
        token = pathlib.Path("writer.token").read_text().strip()
        tenant = next(line.split()[1] for line in run(site_binary, "tenant", "list", "--data", site_data).splitlines())
        path = f"/v1/tenants/{tenant}/objects"

        for clients in [int(c) for c in options.clients.split(",")]:
            site = Site(site_binary, site_data, options.serve_option)
            answers = []
            lock = threading.Lock()

            def send():
                status = request(site.port, "POST", path, token, body=bytes(bundle),
                                 headers={"Content-Type": "application/vnd.skiff.object-bundle"})
                with lock:
                    answers.append(status)

            started = time.time()
            threads = [threading.Thread(target=send) for _ in range(clients)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.time() - started
            print(f"{clients} clients x {len(bundle) / 1048576:.0f} MiB: {elapsed:.1f} s, answers {dict(collections.Counter(answers))}, "
                  f"site peak RSS {peak_rss_mib(site.process.pid):.0f} MiB")
            site.stop()

        site = Site(site_binary, site_data)
        good_before = request(site.port, "GET", f"/v1/tenants/{tenant}/seals", token)
        statuses = collections.Counter()
        started = time.time()
        for guess in range(options.guesses):
            statuses[request(site.port, "GET", f"/v1/tenants/{tenant}/seals", f"skt_guess{guess}")] += 1
        elapsed = time.time() - started
        print(f"{options.guesses} wrong tokens from one address in {elapsed:.1f} s: {dict(statuses)}; "
              f"a good token before them: {good_before}, after them: {request(site.port, 'GET', f'/v1/tenants/{tenant}/seals', token)}")
        site.stop()
    finally:
        os.chdir("/")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
