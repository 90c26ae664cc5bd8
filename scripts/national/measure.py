#!/usr/bin/env python3
"""Latency and size figures on the national data set (issue 19), or on the
demo county for comparison. Python 3.11, standard library only; psql on PATH.

National (after scripts/national/run.sh):
    scripts/national/measure.py --db hsv_national
Demo county (4,553 households) on a fresh PostgreSQL database, loaded by
`api serve-demo`, the same measurements:
    scripts/national/measure.py --demo --db hsv_national_demo [--drop]

It starts the release api binary (API_BIN, else the path in
/tmp/hsv-release-ready) on the database with rate limits off, signs in the
bench accounts and measures, over HTTP on loopback:
  - progress boards at nation, province, county, township and village level,
    sequential, then a small concurrent run (boards; the county page);
  - a county's household page (first page, a deeper page by cursor, and the
    first page with the campaign named in the filter) as its ADMIN;
  - a verifier's household list (their village) and saveVerification;
  - one county's poverty-list import (multipart upload) while two verifiers
    of other counties keep saving, with their latency before and during it;
  - database and table sizes.
Prints a summary and writes every figure as JSON (--out).
"""

import argparse
import http.client
import json
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

PG_BASE = os.environ.get("PG_BASE", "postgres://postgres@127.0.0.1:5432")
JWT_SECRET = "national-bench-secret-at-least-32-chars"

BOARD = """query Board($r: ID) { progress(regionId: $r) {
  households submitted approved byStatus { status count } milestones { kind state } } }"""
PAGE = """query Page($f: HouseholdFilter, $after: String, $first: Int) {
  households(first: $first, after: $after, filter: $f) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { node { id code headName village { name } expectedPath verification { status path } } } } }"""
WALK = """query Walk($f: HouseholdFilter, $after: String) {
  households(first: 500, after: $after, filter: $f) { pageInfo { hasNextPage endCursor } } }"""
OPEN = """query Open($f: HouseholdFilter) {
  households(first: 500, filter: $f) { edges { node { id verification { version status } } } } }"""
SAVE = """mutation Save($i: SaveVerificationInput!) { saveVerification(input: $i) { id status version } }"""
IMPORT = """mutation Import($kind: ImportKind!, $file: Upload!, $c: ID) {
  importReferenceFile(kind: $kind, file: $file, campaignId: $c) {
    kind encoding rows accepted alreadyImported created updated unchanged superseded
    importId errors { row column reason code } flagged { rule count } notOnPovertyList } }"""
POVERTY_HEADER = "户编号,户主姓名,证件号码,乡镇,行政村,家庭人口数,联系电话,脱贫年度"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def psql(db, sql, *, raw=False):
    out = subprocess.run(
        ["psql", f"{PG_BASE}/{db}", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True, capture_output=True, text=True,
    ).stdout
    if raw:
        return out
    return [line.split("|") for line in out.splitlines() if line]


def pct(xs, p):
    """The p-th percentile (nearest rank) of a list of numbers."""
    s = sorted(xs)
    if not s:
        return None
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def summary(ms):
    return {
        "n": len(ms),
        "p50": round(pct(ms, 50), 2), "p95": round(pct(ms, 95), 2), "p99": round(pct(ms, 99), 2),
        "mean": round(statistics.fmean(ms), 2), "max": round(max(ms), 2),
    }


class GraphQLError(Exception):
    pass


class Client:
    """One keep-alive HTTP connection; one per thread."""

    def __init__(self, port, token=None):
        self.port, self.token = port, token
        self.conn = None

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=900)
        return self.conn

    def request(self, body, headers):
        for attempt in (1, 2):
            try:
                c = self._conn()
                c.request("POST", "/graphql", body=body, headers=headers)
                r = c.getresponse()
                data = r.read()
                return r.status, data
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError

    def timed(self, body, headers):
        """Sends one request; returns (milliseconds, data). Errors raise."""
        t = time.perf_counter()
        status, data = self.request(body, headers)
        ms = (time.perf_counter() - t) * 1000
        doc = json.loads(data)
        if doc.get("errors"):
            raise GraphQLError(f"HTTP {status}: {json.dumps(doc['errors'], ensure_ascii=False)[:600]}")
        return ms, doc["data"]

    def gql(self, query, variables=None):
        """Runs one operation; returns (milliseconds, data). Errors raise."""
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        headers = {"content-type": "application/json", "accept": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        return self.timed(body, headers)

    def upload(self, query, variables, file_var, name, content):
        boundary = "----hsv" + uuid.uuid4().hex
        ops = json.dumps({"query": query, "variables": {**variables, file_var: None}})
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{ops}\r\n',
            f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n'
            + json.dumps({"0": [f"variables.{file_var}"]}) + "\r\n",
            f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n",
        ]
        body = "".join(parts).encode() + content + f"\r\n--{boundary}--\r\n".encode()
        headers = {
            "content-type": f"multipart/form-data; boundary={boundary}",
            "authorization": f"Bearer {self.token}",
            "graphql-preflight": "1",
        }
        return self.timed(body, headers)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def api_bin():
    b = os.environ.get("API_BIN")
    if not b and os.path.exists("/tmp/hsv-release-ready"):
        b = open("/tmp/hsv-release-ready").read().strip().splitlines()[0]
    if not b or not os.access(b, os.X_OK):
        sys.exit(f"no api binary (API_BIN={b!r})")
    return b


class Api:
    def __init__(self, db, command, work, password=None):
        self.port = free_port()
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": f"{PG_BASE}/{db}", "APP_BIND": f"127.0.0.1:{self.port}",
            "APP_DATA_DIR": os.path.join(work, "data"), "APP_JWT_SECRET": JWT_SECRET, "APP_LOG": "warn",
            "APP_ACCESS_TOKEN_TTL": "7200", "APP_RATE_LIMIT_ACCOUNT": "0", "APP_RATE_LIMIT_TOKEN": "0",
            "APP_RATE_LIMIT_ANONYMOUS": "0", "APP_REQUEST_TIMEOUT": "900",
        })
        if password:
            env["APP_DEMO_PASSWORD"] = password
        self.log = open(os.path.join(work, "api.log"), "w")
        t = time.perf_counter()
        self.proc = subprocess.Popen([api_bin(), command], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        while True:
            if self.proc.poll() is not None:
                sys.exit(f"api exited: see {self.log.name}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() - t > 600:
                sys.exit("api not ready after 600 s")
            time.sleep(0.2)
        self.ready_s = time.perf_counter() - t

    def memory(self):
        out = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS", "VmHWM")):
                    k, v = line.split(":")
                    out[k] = round(int(v.split()[0]) / 1024, 1)
        return out

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def sign_in(port, username, password):
    _, d = Client(port).gql(
        "mutation($u: String!, $p: String!) { signIn(username: $u, password: $p) { accessToken mustChangePassword } }",
        {"u": username, "p": password},
    )
    return d["signIn"]["accessToken"]


BUDGET_S = 120.0  # most seconds one sequential figure may take (set by --budget)


def timed(fn, n, warm, at_least=5):
    """`warm` untimed calls, then up to `n` timed ones: fewer (at least
    `at_least`) when they would take more than BUDGET_S, so a slow request
    still gets a figure."""
    t = time.perf_counter()
    for _ in range(warm):
        fn()
        if time.perf_counter() - t > BUDGET_S / 4:
            break
    out, t = [], time.perf_counter()
    while len(out) < n and (len(out) < at_least or time.perf_counter() - t < BUDGET_S):
        out.append(fn())
    return out


# --- the measurements ---------------------------------------------------------------------

def boards(port, tokens, regions, n, warm):
    out = {}
    for level, (who, region) in regions.items():
        c = Client(port, tokens[who])
        check = c.gql(BOARD, {"r": region})[1]["progress"]
        ms = timed(lambda: c.gql(BOARD, {"r": region})[0], n, warm)
        out[level] = {"as": who, "households": check["households"], **summary(ms)}
        log(f"board {level:9} ({who}): {check['households']:>9} households  p50 {out[level]['p50']} ms  p99 {out[level]['p99']} ms")
    return out


def pages(port, token, county, n, warm, deep_offset):
    c = Client(port, token)
    f = {"regionId": county}
    first = c.gql(PAGE, {"f": f, "first": 50})[1]["households"]
    total = first["totalCount"]
    out = {"totalCount": total}
    ms = timed(lambda: c.gql(PAGE, {"f": f, "first": 50})[0], n, warm)
    out["first"] = summary(ms)
    # A deeper page: walk 500 at a time to about deep_offset, then time 50 after that cursor.
    after, walked = None, 0
    while walked + 500 <= min(deep_offset, max(0, total - 50)):
        pi = c.gql(WALK, {"f": f, "after": after})[1]["households"]["pageInfo"]
        after, walked = pi["endCursor"], walked + 500
    ms = timed(lambda: c.gql(PAGE, {"f": f, "after": after, "first": 50})[0], n, warm)
    out["deep"] = {"offset": walked, **summary(ms)}
    log(f"page: {total} households in the county; first p50 {out['first']['p50']} ms, after {walked} p50 {out['deep']['p50']} ms")
    return out


def page_in_campaign(port, token, county, campaign, n, warm):
    """The county's first page with the campaign named in the filter, as a client can ask."""
    c = Client(port, token)
    v = {"f": {"regionId": county, "campaignId": campaign}, "first": 50}
    total = c.gql(PAGE, v)[1]["households"]["totalCount"]
    ms = timed(lambda: c.gql(PAGE, v)[0], n, warm)
    out = {"totalCount": total, **summary(ms)}
    log(f"page with campaignId: p50 {out['p50']} ms  p99 {out['p99']} ms")
    return out


class Saver:
    """Saves drafts on a village's not-yet-submitted households, round robin."""

    def __init__(self, port, token, village):
        self.c = Client(port, token)
        d = self.c.gql(OPEN, {"f": {"regionId": village, "status": ["NOT_STARTED", "DRAFT"]}})[1]
        self.households = [
            [e["node"]["id"], (e["node"]["verification"] or {}).get("version", 0)]
            for e in d["households"]["edges"]
        ]
        if not self.households:
            raise SystemExit(f"no open household in village {village}")
        self.i = 0

    def save(self):
        h = self.households[self.i % len(self.households)]
        self.i += 1
        i = {"householdId": h[0], "version": h[1], "practice": False, "idempotencyKey": str(uuid.uuid4()),
             "path": "APPRAISED", "appraisal": {"confirmedOnSite": True},
             "houseFacts": {"structure": "砖混", "floors": 1, "floorArea": 86.5, "yearBuilt": 1998, "occupants": 3}}
        ms, d = self.c.gql(SAVE, {"i": i})
        h[1] = d["saveVerification"]["version"]
        return ms


def village_list(port, token, village, n, warm):
    """The verifier's first screen: the village's households, 50 a page, with the total."""
    c = Client(port, token)
    v = {"f": {"regionId": village}, "first": 50}
    total = c.gql(PAGE, v)[1]["households"]["totalCount"]
    ms = timed(lambda: c.gql(PAGE, v)[0], n, warm)
    out = {"totalCount": total, **summary(ms)}
    log(f"village list ({total} households): p50 {out['p50']} ms  p99 {out['p99']} ms")
    # The same list filtered by status, as the app's "not yet done" tab asks.
    v = {"f": {"regionId": village, "status": ["NOT_STARTED", "DRAFT"]}, "first": 50}
    ms = timed(lambda: c.gql(PAGE, v)[0], n, 1, at_least=3)
    out["open_only"] = summary(ms)
    log(f"village list, NOT_STARTED/DRAFT only: p50 {out['open_only']['p50']} ms over {len(ms)} requests")
    return out


def saves(port, token, village, n, warm):
    t = time.perf_counter()
    s = Saver(port, token, village)
    setup_ms = (time.perf_counter() - t) * 1000
    ms = timed(s.save, n, warm)
    out = {"open_households": len(s.households), "open_list_ms": round(setup_ms, 1), **summary(ms)}
    log(f"save: p50 {out['p50']} ms  p99 {out['p99']} ms over {len(s.households)} households")
    return out


def poverty_csv(db, county_uuid, campaign, changed_share, seed):
    rows = psql(db, f"""SELECT household_code, head_name, id_number, township_name, village_name,
        household_size, phone, exit_year FROM reference_records
        WHERE campaign_id = '{campaign.split(":", 1)[1]}' AND county_id = '{county_uuid}' AND source = 'POVERTY'
          AND current ORDER BY row_number, household_code""")
    rng = random.Random(seed)
    changed = 0
    lines = [POVERTY_HEADER]
    for r in rows:
        if rng.random() < changed_share:  # a new phone number: the row and its household update
            r[6] = "1" + rng.choice("35789") + f"{rng.randrange(10**9):09d}"
            changed += 1
        lines.append(",".join(r))
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"), len(rows), changed


def import_under_load(port, tokens, db, county_uuid, campaign, savers, baseline_s, after_s, changed_share):
    content, rows, changed = poverty_csv(db, county_uuid, campaign, changed_share, seed=time.time_ns())
    log(f"import: {rows} rows, {len(content)} bytes, {changed} phone numbers changed; savers: {', '.join(savers)}")
    stop = threading.Event()
    samples = {u: [] for u in savers}
    errors = []

    ready = {u: Saver(port, tokens[u], v) for u, v in savers.items()}

    def run(user, village):
        try:
            s = ready[user]
            while not stop.is_set():
                t = time.perf_counter()
                ms = s.save()
                samples[user].append((t, ms))
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(f"{user}: {e}")

    threads = [threading.Thread(target=run, args=(u, v)) for u, v in savers.items()]
    for t in threads:
        t.start()
    time.sleep(baseline_s)
    c = Client(port, tokens["county_admin"])
    t0 = time.perf_counter()
    ms, d = c.upload(IMPORT, {"kind": "POVERTY", "c": campaign}, "file", "poverty-households.csv", content)
    t1 = time.perf_counter()
    time.sleep(after_s)
    stop.set()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit("saver failed: " + "; ".join(errors))
    rep = d["importReferenceFile"]
    if not rep["accepted"]:
        raise SystemExit("import refused: " + json.dumps(rep["errors"][:5], ensure_ascii=False))
    before = [ms_ for u in savers for (t, ms_) in samples[u] if t + ms_ / 1000 < t0]
    during = [ms_ for u in savers for (t, ms_) in samples[u] if t < t1 and t + ms_ / 1000 > t0]
    out = {
        "rows": rows, "bytes": len(content), "changed_rows": changed, "import_ms": round(ms, 1),
        "report": {k: rep[k] for k in ("rows", "created", "updated", "unchanged", "superseded", "encoding")},
        "flagged": rep["flagged"],
        "savers_before": summary(before) if before else None,
        "savers_during": summary(during) if during else None,
    }
    log(f"import: {ms / 1000:.2f} s ({rep['updated']} updated, {rep['unchanged']} unchanged); "
        f"savers p50 {out['savers_before'] and out['savers_before']['p50']} ms before, "
        f"{out['savers_during'] and out['savers_during']['p50']} ms during (max "
        f"{out['savers_during'] and out['savers_during']['max']} ms, {len(during)} saves)")
    return out


def concurrent(port, tokens, kinds, clients, seconds):
    """`clients` threads for `seconds`, each cycling through `kinds` (name, user, query, variables)."""
    res = {k[0]: [] for k in kinds}
    stop = time.perf_counter() + seconds
    errors = []

    def run(n):
        cs = {who: Client(port, tokens[who]) for _, who, _, _ in kinds}
        i = n
        try:
            while time.perf_counter() < stop:
                name, who, q, v = kinds[i % len(kinds)]
                res[name].append(cs[who].gql(q, v)[0])
                i += 1
        except Exception as e:  # noqa: BLE001
            errors.append(str(e))

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t
    if errors:
        raise SystemExit("concurrent run failed: " + errors[0])
    total = sum(len(v) for v in res.values())
    out = {"clients": clients, "seconds": round(wall, 1), "requests": total, "req_per_s": round(total / wall, 1),
           "all": summary([x for v in res.values() for x in v]),
           "by_kind": {k: summary(v) for k, v in res.items() if v}}
    log(f"concurrent {'/'.join(sorted(res))[:60]}: {clients} clients, {out['req_per_s']} req/s, "
        f"p50 {out['all']['p50']} ms, p99 {out['all']['p99']} ms")
    return out


def sizes(db):
    total = int(psql(db, "SELECT pg_database_size(current_database())")[0][0])
    hh = int(psql(db, "SELECT count(*) FROM households")[0][0])
    tables = psql(db, """SELECT c.relname, c.reltuples::bigint, pg_table_size(c.oid), pg_indexes_size(c.oid),
        pg_total_relation_size(c.oid) FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace
        ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 12""")
    per_m = 1e6 / hh if hh else 0
    out = {"households": hh, "database_bytes": total, "database_bytes_per_million": round(total * per_m),
           "tables": {t[0]: {"rows": int(t[1]) if int(t[1]) >= 0 else None, "table_bytes": int(t[2]), "index_bytes": int(t[3]),
                             "total_bytes": int(t[4])} for t in tables}}
    log(f"size: {total / 2**30:.2f} GiB for {hh} households, {total * per_m / 2**30:.3f} GiB per million")
    return out


# --- setups --------------------------------------------------------------------------------

def national_setup(db):
    """Accounts and regions made by generate.sql."""
    acc = {r[0]: r[1:] for r in psql(db, """SELECT a.username, r.id, r.code, r.level, r.path FROM accounts a
        JOIN regions r ON r.id = a.region_id""")}
    county = acc["county_admin"]
    verifiers = sorted(u for u, a in acc.items() if a[2] == "VILLAGE")
    bench_v = [u for u in verifiers if acc[u][3].startswith(county[3])]
    others = [u for u in verifiers if u not in bench_v]
    township = psql(db, f"SELECT id FROM regions WHERE parent_id = '{county[0]}' ORDER BY code LIMIT 1")[0][0]
    regions = {
        "nation": ("national_supervisor", "Region:" + acc["national_supervisor"][0]),
        "province": ("province_supervisor", "Region:" + acc["province_supervisor"][0]),
        "county": ("county_supervisor", "Region:" + county[0]),
        "township": ("county_supervisor", "Region:" + township),
        "village": ("county_supervisor", "Region:" + acc[bench_v[0]][0]),
    }
    return {
        "regions": regions, "county_uuid": county[0], "county_code": county[1],
        "verifier": bench_v[0], "verifier_village": "Region:" + acc[bench_v[0]][0],
        "savers": {u: "Region:" + acc[u][0] for u in others[:2]},
        "users": ["national_supervisor", "province_supervisor", "county_admin", "county_supervisor"] + verifiers,
    }


def demo_setup(db):
    """The demo's own accounts, plus a province SUPERVISOR (the demo has no nation)."""
    psql(db, """INSERT INTO accounts (id, username, display_name, phone, role, region_id, password_hash,
        must_change_password, disabled, password_changed_at, last_sign_in_at, session_epoch, created_at, updated_at)
        SELECT md5('hsv-account-province_supervisor')::uuid, 'province_supervisor', '河北省扶贫开发领导小组', NULL,
               'SUPERVISOR', r.id, a.password_hash, false, false, NULL, NULL, 0, now(), now()
        FROM accounts a, regions r WHERE a.username = 'admin' AND r.code = '130000000000'
        ON CONFLICT (username) DO NOTHING""")
    reg = {r[0]: r[1] for r in psql(db, "SELECT code, id FROM regions")}
    village, t = "131126100200", "131126100000"
    savers = {"v131126105200": "Region:" + reg["131126105200"], "v131126110200": "Region:" + reg["131126110200"]}
    return {
        "regions": {
            "province": ("province_supervisor", "Region:" + reg["130000000000"]),
            "county": ("county_supervisor", "Region:" + reg["131126000000"]),
            "township": ("county_supervisor", "Region:" + reg[t]),
            "village": ("county_supervisor", "Region:" + reg[village]),
        },
        "county_uuid": reg["131126000000"], "county_code": "131126000000",
        "verifier": "v" + village, "verifier_village": "Region:" + reg[village], "savers": savers,
        "users": ["province_supervisor", "admin", "supervisor", "v" + village] + list(savers),
        "aliases": {"county_admin": "admin", "county_supervisor": "supervisor"},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", default="hsv_national")
    ap.add_argument("--demo", action="store_true", help="load the demo county into a fresh database --db and measure it")
    ap.add_argument("--drop", action="store_true", help="with --demo: replace the database if it exists")
    ap.add_argument("--password", default=os.environ.get("BENCH_PASSWORD", "National-bench-2020"))
    ap.add_argument("-n", type=int, default=300, help="timed requests per sequential figure")
    ap.add_argument("--warm", type=int, default=20)
    ap.add_argument("--saves", type=int, default=200)
    ap.add_argument("--deep", type=int, default=4000, help="offset of the deeper page")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--changed", type=float, default=0.05, help="share of import rows with a changed phone")
    ap.add_argument("--budget", type=float, default=120, help="most seconds per sequential figure")
    ap.add_argument("--only", help="comma-separated parts: boards,page,village,save,import,concurrent,size")
    ap.add_argument("--out", help="JSON file for the figures")
    a = ap.parse_args()
    global BUDGET_S
    BUDGET_S = a.budget

    work = tempfile.mkdtemp(prefix="hsv-measure.")
    results = {"db": a.db, "demo": a.demo, "started": time.strftime("%Y-%m-%d %H:%M:%S"), "cores": os.cpu_count(),
               "loadavg_start": os.getloadavg(), "api_bin": api_bin()}
    if a.demo:
        exists = psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{a.db}'")
        if exists:
            if not a.drop:
                sys.exit(f"database {a.db} exists: pass --drop to replace it")
            psql("postgres", f"DROP DATABASE {a.db} WITH (FORCE)")
        psql("postgres", f"CREATE DATABASE {a.db}")
        api = Api(a.db, "serve-demo", work, a.password)
        # Statistics and visibility map as autovacuum would leave them (it may
        # be off on a test server; the national set is vacuumed by generate.sql).
        psql(a.db, "VACUUM (ANALYZE)")
        setup = demo_setup(a.db)
    else:
        api = Api(a.db, "serve", work)
        setup = national_setup(a.db)
    try:
        log(f"api ready in {api.ready_s:.1f} s on port {api.port}")
        results["api_ready_s"] = round(api.ready_s, 2)
        tokens = {u: sign_in(api.port, u, a.password) for u in setup["users"]}
        for alias, u in setup.get("aliases", {}).items():
            tokens[alias] = tokens[u]
        campaign = "Campaign:" + psql(a.db, "SELECT id FROM campaigns ORDER BY created_at DESC LIMIT 1")[0][0]
        county = "Region:" + setup["county_uuid"]
        results["county"] = setup["county_code"]
        only = set(a.only.split(",")) if a.only else None
        want = lambda part: only is None or part in only  # noqa: E731
        if want("boards"):
            results["boards"] = boards(api.port, tokens, setup["regions"], a.n, a.warm)
        if want("page"):
            results["page"] = pages(api.port, tokens["county_admin"], county, a.n, a.warm, a.deep)
            results["page_in_campaign"] = page_in_campaign(api.port, tokens["county_admin"], county, campaign,
                                                           a.n, a.warm)
        if want("village"):
            results["village_list"] = village_list(api.port, tokens[setup["verifier"]], setup["verifier_village"],
                                                   a.n, a.warm)
        if want("save"):
            results["save"] = saves(api.port, tokens[setup["verifier"]], setup["verifier_village"], a.saves, 10)
        if want("import"):
            results["import"] = import_under_load(api.port, tokens, a.db, setup["county_uuid"], campaign,
                                                  setup["savers"], 10, 5, a.changed)
        if want("concurrent"):
            board_kinds = [("board " + lvl, who, BOARD, {"r": r}) for lvl, (who, r) in setup["regions"].items()]
            page_kinds = [("county page", "county_admin", PAGE, {"f": {"regionId": county}, "first": 50})]
            results["concurrent_boards"] = concurrent(api.port, tokens, board_kinds, a.clients, a.seconds)
            results["concurrent_pages"] = concurrent(api.port, tokens, page_kinds, a.clients // 2, a.seconds)
        results["api_memory_mb"] = api.memory()
    finally:
        api.stop()
        shutil.rmtree(work, ignore_errors=True)
    results["loadavg_end"] = os.getloadavg()
    if not a.only or "size" in a.only.split(","):
        results["size"] = sizes(a.db)
    text = json.dumps(results, ensure_ascii=False, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
