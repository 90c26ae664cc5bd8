#!/usr/bin/env python3
"""Soak with faults (issue 19, part 4): drives a scripts/cluster.sh cluster
through its balancer while faults are injected, then checks that nothing a
client was told had happened was lost or applied twice.

Load: USERS simulated village verifiers (each signs in with a demo village
account and, household after household, saves with think time, sometimes saves
again, uploads the front photo through the presigned URL and submits; every
save and submit carries an idempotency key and is retried with the same key
until it is answered, on network errors, 5xx, INTERNAL, UNAVAILABLE and
RATE_LIMITED, as a phone's outbox should; an UNAUTHENTICATED answer is followed by a new sign-in
and the same request); APPROVERS loops approving SUBMITTED records with the
township accounts (approvals carry no key: a retry refused as stale is settled
by reading the record back); one county board subscribed over graphql-ws
(`progressChanged`) that reconnects whenever it is cut.

Faults, one at a time on a schedule: SIGKILL of one `api` process every
KILL_EVERY seconds, at a moment (within KILL_WAIT s) when the clients have
mutations in flight, restarted KILL_DOWN seconds later by `cluster.sh start`
(which starts only what is missing); one `pg_ctl restart -m fast` of the
private PostgreSQL; S3_OUTAGE seconds without s3s-fs (stopped, then started
again by `cluster.sh start` with the same command and root).

Checks at the end (exit status 1 when one fails): every acknowledged save,
submit, approval and photo is in the database as acknowledged; one audit event
per acknowledged change and one idempotency row per key (no duplicates from
retries); `api audit-verify`; `api recount` finds 0 counters drifted; no
INTERNAL error and no uncoded error; no valid token refused during a fault;
the live board caught up within BOARD_CATCHUP_LIMIT s after every fault and
equals the database's figures at the end.

Run it through scripts/soak/run.sh, which sets every variable read below.
"""

import asyncio
import collections
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import traceback
import uuid
from pathlib import Path

import aiohttp
import psycopg
import websockets
from PIL import Image
from websockets.asyncio.client import connect as ws_connect

# ---------------------------------------------------------------- settings

ENV = os.environ
BASE = ENV.get("SOAK_BASE_URL", "http://127.0.0.1:28080")
WS_URL = BASE.replace("http", "ws", 1) + "/graphql/ws"
DURATION = float(ENV.get("DURATION", "600"))
USERS = int(ENV.get("USERS", "20"))
APPROVERS = int(ENV.get("APPROVERS", "3"))
KILL_EVERY = float(ENV.get("KILL_EVERY", "60"))
KILL_DOWN = float(ENV.get("KILL_DOWN", "5"))
KILL_WAIT = float(ENV.get("KILL_WAIT", "5"))  # at most this long for mutations in flight before a kill
PG_RESTART_AT = float(ENV.get("PG_RESTART_AT", str(round(DURATION * 0.35))))
S3_OUTAGE_AT = float(ENV.get("S3_OUTAGE_AT", str(round(DURATION * 0.64))))
S3_OUTAGE = float(ENV.get("S3_OUTAGE", "30"))
PASSWORD = ENV.get("APP_DEMO_PASSWORD", "Gucheng-2020")
SEED = int(ENV.get("SEED", "19"))
BOARD_CATCHUP_LIMIT = float(ENV.get("BOARD_CATCHUP_LIMIT", "10"))  # "within seconds"
GIVE_UP_AFTER = 300.0  # a logical operation retried this long is reported as lost

ROOT = Path(__file__).resolve().parents[2]
SOAK_DIR = Path(ENV.get("SOAK_DIR", "/var/tmp/hsv-soak"))
STATE = Path(ENV.get("HSV_CLUSTER_DIR", str(SOAK_DIR / "cluster")))
API_BIN = ENV["API_BIN"]
DATABASE_URL = ENV["DATABASE_URL"]
PGBIN = ENV["PGBIN"]
PGDATA = ENV["PGDATA"]
STATS_URL = "http://" + ENV.get("STATS_BIND", "127.0.0.1:28084") + "/;csv"
API_PORTS = ENV.get("API_PORTS", "28081 28082 28083").split()
S3_BIND = ENV.get("S3_BIND", "127.0.0.1:28090")

T0 = time.monotonic()  # moved to the start of the load


def now() -> float:
    """Seconds since the load started."""
    return time.monotonic() - T0


def log(msg: str) -> None:
    print(f"[{now():7.1f}s] {msg}", flush=True)


# ---------------------------------------------------------------- GraphQL text

SIGN_IN = """mutation SignIn($username: String!, $password: String!) {
  signIn(username: $username, password: $password) { accessToken account { id username role region { id } } } }"""
CANDIDATES = """query Households($filter: HouseholdFilter!) {
  households(first: 200, filter: $filter) { nodes { id code findings(open: true) { rule } } } }"""
SAVE = """mutation SaveVerification($input: SaveVerificationInput!) {
  saveVerification(input: $input) { id status version } }"""
REQUEST_UPLOAD = """mutation RequestPhotoUpload($householdId: ID!, $contentType: String!, $size: Int!, $practice: Boolean!) {
  requestPhotoUpload(householdId: $householdId, kind: FRONT_PANORAMA, contentType: $contentType, size: $size, practice: $practice) {
    id uploadUrl method contentType } }"""
CONFIRM_UPLOAD = """mutation ConfirmPhotoUpload($ticketId: ID!) { confirmPhotoUpload(ticketId: $ticketId) { id } }"""
SUBMIT = """mutation SubmitVerification($id: ID!, $version: Int!, $idempotencyKey: String) {
  submitVerification(id: $id, version: $version, idempotencyKey: $idempotencyKey) { id status version } }"""
QUEUE = """query ReviewQueue($filter: HouseholdFilter!) {
  households(first: 50, filter: $filter) { nodes { id verification(practice: false) { id version status } } } }"""
APPROVE = """mutation ApproveVerification($id: ID!, $version: Int!, $idempotencyKey: String) {
  approveVerification(id: $id, version: $version, idempotencyKey: $idempotencyKey) { id status version } }"""
READBACK = """query Household($id: ID!) {
  household(id: $id) { verification(practice: false) { id status version approvedBy { username } } } }"""
FIGURES = "households submitted approved byStatus { status count }"
BOARD = "query Board($r: ID!) { progress(regionId: $r) { " + FIGURES + " } }"
LIVE = "subscription ProgressLive($r: ID!) { progressChanged(regionId: $r) { " + FIGURES + " } }"

# Answers a phone's outbox sends again (same idempotency key): UNAVAILABLE (a database or
# photo store away for a moment, from commit cc5e37b on) and RATE_LIMITED say how long to wait.
TRANSIENT_CODES = {"INTERNAL", "RATE_LIMITED", "UNAVAILABLE"}


# ---------------------------------------------------------------- statistics

class Stats:
    def __init__(self):
        self.attempts = []  # (t, op, latency s, outcome)
        self.logical = []  # (op, t_first, t_done, attempts, outcome, t_first_failure)
        self.refusals = collections.Counter()  # (op, code, reason) of answers given up on
        self.errors = []  # (t, op, code, reason, message) of every coded error answer
        self.crashes = []

    def record(self, t, op, latency, outcome):
        self.attempts.append((t, op, latency, outcome))


STATS = Stats()
ACKS = {"save": [], "submit": [], "approve": [], "photo": []}
ACK_EVENT = asyncio.Event()  # set on each counter-changing acknowledgement
ACK_TIMES = []  # when each counter-changing change was acknowledged
STOP = asyncio.Event()


IN_FLIGHT = {}  # attempt id → (operation, monotonic start)
MUTATIONS = {"SaveVerification", "SubmitVerification", "ApproveVerification", "ConfirmPhotoUpload",
             "RequestPhotoUpload"}


def mutations_in_flight(min_age):
    t = time.monotonic()
    return [op for op, t0 in IN_FLIGHT.values() if op in MUTATIONS and t - t0 >= min_age]


def is_transport(outcome: str) -> bool:
    return outcome.startswith(("transport:", "http:"))


class Result:
    def __init__(self, ok, data=None, error=None, code=None, attempts=1, last_wall=None):
        self.ok, self.data, self.error, self.code, self.attempts = ok, data, error, code, attempts
        self.last_wall = last_wall  # wall-clock start of the attempt that was answered

    @property
    def reason(self):
        return ((self.error or {}).get("extensions") or {}).get("reason")


class Client:
    """HTTP through the balancer; retries what a phone's outbox would retry."""

    def __init__(self, session: aiohttp.ClientSession):
        self.http = session

    async def attempt(self, op, query, variables, token):
        headers = {"content-type": "application/json", "accept": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        t, p0 = now(), time.perf_counter()
        body = None
        mark = object()
        IN_FLIGHT[id(mark)] = (op, time.monotonic())
        try:
            async with self.http.post(BASE + "/graphql", json={"query": query, "variables": variables,
                                                              "operationName": op},
                                      headers=headers, timeout=aiohttp.ClientTimeout(total=45)) as r:
                status, text = r.status, await r.text()
        except asyncio.TimeoutError:
            outcome = "transport:timeout"
        except aiohttp.ClientError as e:
            outcome = "transport:" + type(e).__name__
        else:
            try:
                body = json.loads(text)
            except ValueError:
                body = None
            if not isinstance(body, dict):
                outcome, body = f"http:{status}", None
            elif body.get("errors"):
                outcome = ((body["errors"][0].get("extensions") or {}).get("code")) or "NO_CODE"
            elif status >= 500 or "data" not in body:
                outcome = f"http:{status}"
            else:
                outcome = "ok"
        finally:
            IN_FLIGHT.pop(id(mark), None)
        STATS.record(t, op, time.perf_counter() - p0, outcome)
        if body and body.get("errors"):
            e = body["errors"][0]
            STATS.errors.append((round(t, 3), op, outcome, (e.get("extensions") or {}).get("reason"), e.get("message")))
        return outcome, body

    async def call(self, user, op, query, variables, token=None):
        first, n, resign, failed = now(), 0, 0, None
        while True:
            n += 1
            t_try, wall = now(), time.time()
            outcome, body = await self.attempt(op, query, variables, user.token if user else token)
            if outcome == "ok":
                STATS.logical.append((op, first, now(), n, "ok", failed))
                return Result(True, data=body["data"], attempts=n, last_wall=wall)
            err = body["errors"][0] if body and body.get("errors") else None
            if failed is None:
                failed = t_try
            if outcome == "UNAUTHENTICATED" and user and resign < 3:
                resign += 1
                await user.sign_in(self)
                continue
            if outcome in ("RATE_LIMITED", "UNAVAILABLE"):
                wait = float(((err or {}).get("extensions") or {}).get("retryAfterSeconds", 1))
            elif is_transport(outcome) or outcome in TRANSIENT_CODES:
                wait = min(2.0, 0.25 * 2 ** min(n - 1, 3)) * random.uniform(0.7, 1.3)
            else:
                STATS.logical.append((op, first, now(), n, outcome, failed))
                STATS.refusals[(op, outcome, (err or {}).get("extensions", {}).get("reason"), n > 1)] += 1
                return Result(False, error=err, code=outcome, attempts=n)
            if now() - first > GIVE_UP_AFTER:
                STATS.logical.append((op, first, now(), n, "GAVE_UP", failed))
                return Result(False, code="GAVE_UP", attempts=n)
            await asyncio.sleep(wait)


class User:
    def __init__(self, username):
        self.username, self.token, self.account_id, self.region_id, self.signed_at = username, None, None, None, -1e9

    async def sign_in(self, client: Client):
        r = await client.call(None, "SignIn", SIGN_IN, {"username": self.username, "password": PASSWORD})
        if not r.ok:
            raise RuntimeError(f"sign-in of {self.username} refused: {r.code} {r.error}")
        s = r.data["signIn"]
        self.token, self.account_id = s["accessToken"], raw(s["account"]["id"])
        self.region_id, self.signed_at = s["account"]["region"]["id"], now()

    async def fresh(self, client: Client):
        # Access tokens live 15 minutes: sign in again well before.
        if now() - self.signed_at > 600:
            await self.sign_in(client)


def raw(gid):
    """The UUID inside a global ID (`Type:uuid`), as the database stores it."""
    return gid.split(":")[-1] if gid else gid


def counter_ack(kind, **rec):
    rec["t"] = now()
    ACKS[kind].append(rec)
    if kind in ("save", "submit", "approve"):
        ACK_TIMES.append(rec["t"])
        ACK_EVENT.set()


def jpeg(seed: int) -> bytes:
    """640×480 (the size below which PHOTO_TOO_SMALL fires) of 16 px blocks:
    bright and sharp enough for the checks, a different dHash every time."""
    rnd = random.Random(seed)
    small = Image.new("RGB", (40, 30))
    small.putdata([tuple(40 + rnd.randrange(180) for _ in range(3)) for _ in range(40 * 30)])
    out = io.BytesIO()
    small.resize((640, 480), Image.NEAREST).save(out, "JPEG", quality=90)
    return out.getvalue()


async def think(rnd, lo, hi):
    await asyncio.sleep(rnd.uniform(lo, hi))


# ---------------------------------------------------------------- verifiers

async def upload_photo(client, user, rnd, hid, seed):
    body = jpeg(seed)
    for _ticket in range(5):
        r = await client.call(user, "RequestPhotoUpload", REQUEST_UPLOAD,
                              {"householdId": hid, "contentType": "image/jpeg", "size": len(body), "practice": False})
        if not r.ok:
            return False
        ticket = r.data["requestPhotoUpload"]
        first, n, put_ok, failed = now(), 0, False, None
        # PUT straight to the bucket by the presigned link, retried while S3 is away.
        while now() - first < 240:
            n += 1
            t, p0 = now(), time.perf_counter()
            try:
                async with client.http.put(ticket["uploadUrl"], data=body,
                                           headers={"content-type": ticket["contentType"]},
                                           timeout=aiohttp.ClientTimeout(total=30)) as resp:
                    await resp.read()
                    outcome = "ok" if 200 <= resp.status < 300 else f"http:{resp.status}"
            except asyncio.TimeoutError:
                outcome = "transport:timeout"
            except aiohttp.ClientError as e:
                outcome = "transport:" + type(e).__name__
            STATS.record(t, "PutPhoto", time.perf_counter() - p0, outcome)
            if outcome == "ok":
                put_ok = True
                break
            failed = t if failed is None else failed
            if outcome in ("http:403", "http:400"):
                break  # the link is no longer good: ask for a new ticket
            await asyncio.sleep(min(2.0, 0.25 * 2 ** min(n - 1, 3)) * rnd.uniform(0.7, 1.3))
        STATS.logical.append(("PutPhoto", first, now(), n, "ok" if put_ok else "GAVE_UP", failed))
        if not put_ok:
            continue
        c = await client.call(user, "ConfirmPhotoUpload", CONFIRM_UPLOAD, {"ticketId": ticket["id"]})
        if c.ok:
            counter_ack("photo", account=user.account_id, household=hid, ticket=ticket["id"],
                        photo=c.data["confirmPhotoUpload"]["id"], how="answer")
            return True
        if c.attempts > 1 and c.code == "CONFLICT" and c.reason == "UPLOAD_CONFIRMED":
            # An earlier attempt was applied and its answer lost: the ticket says it is confirmed.
            counter_ack("photo", account=user.account_id, household=hid, ticket=ticket["id"], photo=None,
                        how="already confirmed")
            return True
        if c.reason != "NOTHING_UPLOADED":
            return False
    return False


async def household_flow(client, user, rnd, hid, seq):
    await think(rnd, 2, 5)  # filling in the form
    key = str(uuid.uuid4())
    inp = {"householdId": hid, "version": 0, "practice": False, "path": "APPRAISED",
           "appraisal": {"confirmedOnSite": True}, "idempotencyKey": key,
           "houseFacts": {"structure": "砖混", "floors": 1, "floorArea": 86.5, "yearBuilt": 1998, "occupants": 3}}
    r = await client.call(user, "SaveVerification", SAVE, {"input": inp})
    if not r.ok:
        return
    v = r.data["saveVerification"]
    vid, version = v["id"], v["version"]
    counter_ack("save", account=user.account_id, key=key, vid=vid, version=version, status=v["status"], household=hid,
                attempts=r.attempts, last_wall=r.last_wall)
    if rnd.random() < 0.5 and not STOP.is_set():
        await think(rnd, 1, 3)  # a second look: more facts
        key = str(uuid.uuid4())
        inp = dict(inp, version=version, idempotencyKey=key, notes=f"复核 {seq}")
        r = await client.call(user, "SaveVerification", SAVE, {"input": inp})
        if not r.ok:
            return
        v = r.data["saveVerification"]
        version = v["version"]
        counter_ack("save", account=user.account_id, key=key, vid=vid, version=version, status=v["status"],
                    household=hid, attempts=r.attempts, last_wall=r.last_wall)
    if STOP.is_set():
        return
    if not await upload_photo(client, user, rnd, hid, rnd.getrandbits(48)):
        return
    if STOP.is_set():
        return
    await think(rnd, 1, 2)
    key = str(uuid.uuid4())
    r = await client.call(user, "SubmitVerification", SUBMIT, {"id": vid, "version": version, "idempotencyKey": key})
    if r.ok:
        s = r.data["submitVerification"]
        counter_ack("submit", account=user.account_id, key=key, vid=vid, version=s["version"], status=s["status"],
                    household=hid, attempts=r.attempts, last_wall=r.last_wall)


async def verifier(client, idx, villages):
    rnd = random.Random(SEED * 1000 + idx)
    await asyncio.sleep(rnd.uniform(0, 3))
    seq = 0
    for code in villages:
        if STOP.is_set():
            return
        user = User("v" + code)
        await user.sign_in(client)
        r = await client.call(user, "Households", CANDIDATES,
                              {"filter": {"status": ["NOT_STARTED"], "expectedPath": ["APPRAISED"]}})
        if not r.ok:
            continue
        # Households the reference data lets through: nothing open before anyone entered anything.
        todo = [n["id"] for n in r.data["households"]["nodes"] if not n["findings"]]
        rnd.shuffle(todo)
        for hid in todo:
            if STOP.is_set():
                return
            await user.fresh(client)
            seq += 1
            await household_flow(client, user, rnd, hid, seq)


# ---------------------------------------------------------------- approvers

async def approver(client, idx, townships):
    rnd = random.Random(SEED * 7000 + idx)
    users = [User("t" + c) for c in townships]
    for u in users:
        await u.sign_in(client)
    while not STOP.is_set():
        found = 0
        for u in users:
            if STOP.is_set():
                break
            await u.fresh(client)
            r = await client.call(u, "ReviewQueue", QUEUE, {"filter": {"status": ["SUBMITTED"]}})
            if not r.ok:
                continue
            if not r.data["households"]["nodes"]:
                await think(rnd, 0.5, 1)  # an empty queue: on to the next township
            for n in r.data["households"]["nodes"]:
                if STOP.is_set():
                    break
                v = n["verification"]
                if not v or v["status"] != "SUBMITTED":
                    continue
                found += 1
                await think(rnd, 0.2, 0.6)
                # One key per decision: a retry after a lost answer returns the first answer.
                key = f"approve-{idx}-{v['id']}-{v['version']}"
                a = await client.call(u, "ApproveVerification", APPROVE,
                                      {"id": v["id"], "version": v["version"], "idempotencyKey": key})
                if a.ok:
                    x = a.data["approveVerification"]
                    counter_ack("approve", account=u.account_id, username=u.username, vid=x["id"],
                                version=x["version"], status=x["status"], household=n["id"], how="answer")
                elif a.attempts > 1 and a.code in ("CONFLICT", "INVALID_TRANSITION"):
                    # With the key this should not happen (it is counted under "read back"):
                    # read the record back, as a reviewer reloads.
                    b = await client.call(u, "Household", READBACK, {"id": n["id"]})
                    w = b.data["household"]["verification"] if b.ok else None
                    if w and w["status"] == "APPROVED" and w["version"] == v["version"] + 1 \
                            and (w.get("approvedBy") or {}).get("username") == u.username:
                        counter_ack("approve", account=u.account_id, username=u.username, vid=w["id"],
                                    version=w["version"], status=w["status"], household=n["id"], how="read back")
        if not found:
            await asyncio.sleep(rnd.uniform(1, 2))


# ---------------------------------------------------------------- live board

def figures(p):
    by = {s["status"]: s["count"] for s in p["byStatus"]}
    return {"households": p["households"], "submitted": p["submitted"], "approved": p["approved"],
            "byStatus": by, "started": p["households"] - by.get("NOT_STARTED", 0)}


def covers(board, direct):
    """The board shows at least everything the direct answer shows. started,
    submitted and approved only grow in this soak (nothing is returned or
    reopened), so under continuing load this is "caught up"."""
    return all(board[k] >= direct[k] for k in ("started", "submitted", "approved"))


class Board:
    def __init__(self):
        self.updates = []  # (t, figures)
        self.connects = []  # (t of connection_ack, the api process HAProxy chose)
        self.drops = []  # (t, why, the api process it was on)
        self.errors = collections.Counter()
        self.changed = asyncio.Event()
        self.done = asyncio.Event()

    def dropped_since_connect(self):
        return bool(self.drops and self.connects and self.drops[-1][0] > self.connects[-1][0])

    @property
    def latest(self):
        return self.updates[-1][1] if self.updates else None

    async def run(self, client, user):
        backoff = 0.25
        while not self.done.is_set():
            try:
                async with ws_connect(WS_URL, subprotocols=["graphql-transport-ws"], open_timeout=10,
                                      ping_interval=10, ping_timeout=10, close_timeout=2) as ws:
                    await ws.send(json.dumps({"type": "connection_init",
                                              "payload": {"Authorization": f"Bearer {user.token}"}}))
                    ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if ack.get("type") != "connection_ack":
                        raise RuntimeError(f"no connection_ack: {ack}")
                    served = ws.response.headers.get("X-Served-By") if ws.response else None
                    self.connects.append((now(), served))
                    await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                              "payload": {"query": LIVE, "variables": {"r": user.region_id}}}))
                    backoff = 0.25
                    while True:
                        m = await self.next_message(ws)
                        if m is None:
                            return
                        if m.get("type") == "next":
                            p = m["payload"]
                            if p.get("errors"):
                                self.errors[(p["errors"][0].get("extensions") or {}).get("code", "NO_CODE")] += 1
                            if p.get("data") and p["data"].get("progressChanged"):
                                self.updates.append((now(), figures(p["data"]["progressChanged"])))
                                self.changed.set()
                        elif m.get("type") == "ping":
                            await ws.send(json.dumps({"type": "pong"}))
                        elif m.get("type") in ("error", "complete"):
                            raise RuntimeError(f"subscription ended: {m}")
            except websockets.ConnectionClosed as e:
                code = e.rcvd.code if e.rcvd else None
                self.drops.append((now(), f"closed {code}", self.connects[-1][1] if self.connects else None))
                if code in (4401, 4403):
                    await user.sign_in(client)
            except Exception as e:  # handshake refused (502/503), connection refused, timeouts
                self.drops.append((now(), type(e).__name__ + (f" {e}" if isinstance(e, RuntimeError) else ""), None))
            if self.done.is_set():
                return
            await asyncio.sleep(backoff)
            backoff = min(2.0, backoff * 2)

    async def next_message(self, ws):
        """The next message, or None once the soak is over."""
        recv = asyncio.ensure_future(ws.recv())
        done = asyncio.ensure_future(self.done.wait())
        try:
            fin, _ = await asyncio.wait({recv, done}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            done.cancel()
        if recv not in fin:
            recv.cancel()
            return None
        return json.loads(recv.result())

    async def wait_covering(self, direct, since, timeout):
        """Time of the first update at or after `since` that covers `direct`."""
        deadline = time.monotonic() + timeout
        i = 0
        while True:
            while i < len(self.updates):
                t, f = self.updates[i]
                i += 1
                if t >= since and covers(f, direct):
                    return t
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.changed.clear()
            if i < len(self.updates):
                continue
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                return None


async def direct_board(client, user):
    r = await client.call(user, "Board", BOARD, {"r": user.region_id})
    return (now(), figures(r.data["progress"])) if r.ok else (now(), None)


async def catch_up(client, user, board, fault):
    """After a fault has ended: wait for the first counter-changing change
    acknowledged after it, read the board directly, and time how long the
    subscribed board takes to show at least that."""
    end = fault["end"]
    while not ACK_TIMES or ACK_TIMES[-1] < end:
        ACK_EVENT.clear()
        try:
            await asyncio.wait_for(ACK_EVENT.wait(), 60)
        except asyncio.TimeoutError:
            fault["board"] = {"error": "no change acknowledged within 60 s of the fault's end"}
            return
    first_ack = next(t for t in ACK_TIMES if t >= end)
    t_q, d = await direct_board(client, user)
    if d is None:
        fault["board"] = {"error": "direct board query refused"}
        return
    t_s = await board.wait_covering(d, since=end, timeout=60)
    fault["board"] = {"first_ack_after_end": round(first_ack - end, 3),
                      "direct_query_after_end": round(t_q - end, 3),
                      "caught_up_after_end": None if t_s is None else round(t_s - end, 3),
                      "after_direct_query": None if t_s is None else round(t_s - t_q, 3)}


async def lag_sampler(client, user, board, samples):
    """Every 5 s: how long until the board shows what a direct query shows."""
    while not STOP.is_set():
        await asyncio.sleep(5)
        t_q, d = await direct_board(client, user)
        if d is None:
            continue
        t_s = await board.wait_covering(d, since=t_q - 30, timeout=30)
        samples.append((t_q, None if t_s is None else max(0.0, t_s - t_q)))


# ---------------------------------------------------------------- faults

def pid_of(name):
    """The pid cluster.sh recorded for `name`, if that process still runs its command."""
    f = STATE / "run" / f"{name}.pid"
    try:
        pid_s, marker = f.read_text().splitlines()[:2]
        pid = int(pid_s)
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        return pid if marker in cmd else None
    except (OSError, ValueError):
        return None


async def cluster_start():
    env = dict(ENV, HSV_DEMO="0")
    p = await asyncio.create_subprocess_exec(str(ROOT / "scripts/cluster.sh"), "start", env=env, cwd=str(ROOT),
                                             stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await p.communicate()
    with open(SOAK_DIR / "faults.log", "a") as f:
        f.write(f"--- cluster.sh start at {now():.1f}s (exit {p.returncode})\n{out.decode()}\n")
    if p.returncode != 0:
        raise RuntimeError(f"cluster.sh start failed: {out.decode()[-500:]}")


async def haproxy_servers(http):
    try:
        async with http.get(STATS_URL, timeout=aiohttp.ClientTimeout(total=2)) as r:
            text = await r.text()
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return {}
    lines = text.lstrip("# ").splitlines()
    cols = lines[0].split(",")
    out = {}
    for line in lines[1:]:
        row = dict(zip(cols, line.split(",")))
        if row.get("pxname") == "api" and row.get("svname") not in ("FRONTEND", "BACKEND"):
            out[row["svname"]] = (row.get("status", ""), int(row.get("scur") or 0))
    return out


async def wait_all_up(http, timeout=60):
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        s = await haproxy_servers(http)
        if s and all(v[0] == "UP" for v in s.values()):
            return now()
        await asyncio.sleep(0.2)
    return None


MEASURES = []


def ended(f, client, board_user, board):
    """The fault is over (its service answers again): start timing the board now."""
    f["end"] = now()
    MEASURES.append(asyncio.ensure_future(catch_up(client, board_user, board, f)))


async def fault_kill(http, i, board, m):
    name = f"api-{i}"
    pid = pid_of(name)
    if pid is None:
        raise RuntimeError(f"{name} is not running before its kill")
    # Kill it at a moment when the clients have changes in flight (at least two
    # mutations sent 20 ms ago or more, somewhere behind the balancer), waiting at
    # most KILL_WAIT seconds for one: a process that dies between requests teaches
    # nothing about lost answers. Which process holds them, HAProxy decides.
    t_wait = time.monotonic()
    while time.monotonic() - t_wait < KILL_WAIT and len(mutations_in_flight(0.02)) < 2:
        await asyncio.sleep(0.005)
    flying = mutations_in_flight(0.0)
    os.kill(pid, signal.SIGKILL)
    f = {"kind": "api SIGKILL", "target": f"{name} (pid {pid})", "start": now(),
         "mutations_in_flight": len(flying), "waited_for_mutations_s": round(time.monotonic() - t_wait, 2)}
    log(f"fault: SIGKILL {name} pid {pid}")
    await asyncio.sleep(KILL_DOWN)
    f["restart_cmd"] = now()
    await cluster_start()
    ended(f, *m)  # cluster.sh start returns once the new process answers /readyz
    f["new_pid"] = pid_of(name)
    f["all_up"] = await wait_all_up(http)
    log(f"fault: {name} back (pid {f['new_pid']}) after {f['end'] - f['start']:.1f}s")
    return f


async def fault_pg_restart(http, m):
    f = {"kind": "PostgreSQL restart", "target": "pg_ctl restart -m fast", "start": now()}
    log("fault: PostgreSQL restart -m fast")
    p = await asyncio.create_subprocess_exec("runuser", "-u", "postgres", "--", f"{PGBIN}/pg_ctl", "-D", PGDATA,
                                             "restart", "-m", "fast", "-w", "-t", "60",
                                             "-l", str(SOAK_DIR / "pg/server.log"),
                                             stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await p.communicate()
    if p.returncode != 0:
        raise RuntimeError(f"pg_ctl restart failed: {out.decode()}")
    ended(f, *m)
    f["all_up"] = await wait_all_up(http)
    log(f"fault: PostgreSQL accepting again after {f['end'] - f['start']:.1f}s")
    return f


async def reachable(addr):
    host, port = addr.rsplit(":", 1)
    try:
        _, w = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 1)
    except (OSError, asyncio.TimeoutError):
        return False
    w.close()
    return True


async def fault_s3(http, m):
    pid = pid_of("s3")
    if pid is None:
        raise RuntimeError("s3s-fs is not running before its outage")
    os.kill(pid, signal.SIGTERM)
    f = {"kind": "S3 outage", "target": f"s3s-fs (pid {pid}) stopped {S3_OUTAGE:.0f} s", "start": now()}
    for _ in range(50):
        if not Path(f"/proc/{pid}").exists():
            break
        await asyncio.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    while await reachable(S3_BIND):
        await asyncio.sleep(0.05)
    f["unreachable_from"] = now()
    log(f"fault: s3s-fs stopped (pid {pid}), unreachable after {f['unreachable_from'] - f['start']:.1f}s")
    await asyncio.sleep(max(0.0, S3_OUTAGE - (now() - f["unreachable_from"])))
    f["restart_cmd"] = now()
    await cluster_start()
    ended(f, *m)
    f["new_pid"] = pid_of("s3")
    f["target"] += f", unreachable {f['end'] - f['unreachable_from']:.1f} s"
    log(f"fault: s3s-fs back (pid {f['new_pid']}) after {f['end'] - f['start']:.1f}s")
    return f


async def fault_runner(http, client, board_user, board, faults):
    plan = [(KILL_EVERY * k, "kill", (k - 1) % len(API_PORTS) + 1) for k in range(1, int(DURATION // KILL_EVERY) + 1)
            if KILL_EVERY * k < DURATION - 10]
    if 0 <= PG_RESTART_AT < DURATION:
        plan.append((PG_RESTART_AT, "pg", None))
    if 0 <= S3_OUTAGE_AT < DURATION:
        plan.append((S3_OUTAGE_AT, "s3", None))
    plan.sort(key=lambda x: x[0])
    log("fault plan: " + ", ".join(f"{k}{'' if a is None else ' api-' + str(a)} at {t:.0f}s" for t, k, a in plan))
    m = (client, board_user, board)
    for at, kind, arg in plan:
        if STOP.is_set():
            break
        if now() < at:
            try:
                await asyncio.wait_for(STOP.wait(), at - now())
                break
            except asyncio.TimeoutError:
                pass
        f = await (fault_kill(http, arg, board, m) if kind == "kill" else fault_pg_restart(http, m) if kind == "pg"
                   else fault_s3(http, m))
        f["planned"] = at
        faults.append(f)
    if MEASURES:
        await asyncio.gather(*MEASURES)


# ---------------------------------------------------------------- checks

def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def db_checks():
    """Compares what the clients were told with what the database holds."""
    res = []

    def check(name, ok, detail):
        res.append({"check": name, "ok": bool(ok), "detail": detail})

    with psycopg.connect(DATABASE_URL, autocommit=True) as c:
        q = lambda sql, *a: c.execute(sql, a).fetchall()  # noqa: E731
        # Saves and submits: one idempotency row per acknowledged key, with the acknowledged result.
        idem, made = {}, {}
        for a, k, op, v, ver, at in q("select account_id, key, operation, verification_id, result_version, "
                                      "created_at from idempotency_keys"):
            idem[(str(a), k)] = (op, str(v), ver)
            made[(str(a), k)] = at.timestamp()
        # A retried keyed change whose key was stored before the answered attempt began:
        # an earlier, cut attempt had been applied and the retry got its result back.
        retried = [a for k in ("save", "submit") for a in ACKS[k] if a["attempts"] > 1]
        replayed = [a for a in retried if made.get((a["account"], a["key"]), 1e18) < a["last_wall"]]
        res.append({"check": "keyed changes retried (informative)", "ok": True,
                    "detail": f"{len(retried)} saves/submits needed more than one attempt; {len(replayed)} of them "
                              f"were answered from their idempotency key (an earlier attempt had been applied)"})
        dup_keys = q("select account_id, key, count(*) from idempotency_keys group by 1, 2 having count(*) > 1")
        bad = []
        for kind, op in (("save", "SAVE"), ("submit", "SUBMIT")):
            for a in ACKS[kind]:
                row = idem.get((a["account"], a["key"]))
                want = (op, raw(a["vid"]), a["version"])
                if row != want:
                    bad.append((kind, a["key"], row, want))
        acked_keys = {(a["account"], a["key"]) for k in ("save", "submit") for a in ACKS[k]}
        ours = {a["account"] for k in ("save", "submit") for a in ACKS[k]}
        unacked = [k for k in idem if k[0] in ours and k not in acked_keys]
        check("every acknowledged save/submit has its idempotency row with the acknowledged record and version",
              not bad, f"{len(ACKS['save'])} saves, {len(ACKS['submit'])} submits acknowledged; "
                       f"{len(bad)} missing or different" + (f": {bad[:3]}" if bad else ""))
        check("no idempotency key stored twice", not dup_keys, f"{len(dup_keys)} duplicated keys")
        check("no keyed change applied without its acknowledgement reaching the client",
              not unacked, f"{len(unacked)} keys in the database that no client saw acknowledged")

        # Audit events: exactly one per acknowledged change, at the acknowledged version.
        events = collections.defaultdict(list)
        for vid, action, ver in q("select entity_id, action, (after->>'version')::int from audit_events "
                                  "where action in ('VERIFICATION_SAVED','VERIFICATION_SUBMITTED',"
                                  "'VERIFICATION_APPROVED')"):
            events[(str(vid), action)].append(ver)
        acked = collections.defaultdict(list)
        for kind, action in (("save", "VERIFICATION_SAVED"), ("submit", "VERIFICATION_SUBMITTED"),
                             ("approve", "VERIFICATION_APPROVED")):
            for a in ACKS[kind]:
                acked[(raw(a["vid"]), action)].append(a["version"])
        mismatch = [(k, sorted(events.get(k, [])), sorted(v)) for k, v in acked.items()
                    if sorted(events.get(k, [])) != sorted(v)]
        extra = [k for k in events if k not in acked]
        dup_events = sum(len(v) - len(set(v)) for v in events.values())
        check("one audit event per acknowledged save, submit and approval (no duplicate from a retry)",
              not mismatch and not extra and not dup_events,
              f"{sum(len(v) for v in acked.values())} acknowledged, {sum(len(v) for v in events.values())} events; "
              f"{len(mismatch)} records differ, {len(extra)} records with events but no acknowledgement, "
              f"{dup_events} duplicate versions" + (f": {mismatch[:3]}" if mismatch else ""))

        # The records themselves: version and status of the last acknowledged change.
        rows = {str(i): (s, v, str(ab) if ab else None) for i, s, v, ab in
                q("select id, status::text, version, approved_by from verifications where practice = false")}
        last = {}
        for kind in ("save", "submit", "approve"):
            for a in ACKS[kind]:
                vid = raw(a["vid"])
                if vid not in last or a["version"] > last[vid]["version"]:
                    last[vid] = a
        wrong = []
        for vid, a in last.items():
            row = rows.get(vid)
            if row is None or row[0].upper() != a["status"] or row[1] != a["version"]:
                wrong.append((vid, row, a["status"], a["version"]))
        approvals_wrong = [a for a in ACKS["approve"]
                           if rows.get(raw(a["vid"]), (None, None, None))[2] != a["account"]]
        check("every acknowledged record is in the database at its acknowledged version and status",
              not wrong, f"{len(last)} records; {len(wrong)} differ" + (f": {wrong[:3]}" if wrong else ""))
        check("every acknowledged approval is recorded as approved by that township account",
              not approvals_wrong, f"{len(ACKS['approve'])} approvals; {len(approvals_wrong)} differ")

        # Photos: each acknowledged one recorded once, its objects in the bucket.
        photos = {str(i): (str(h), k, tk) for i, h, k, tk in
                  q("select id, household_id, object_key, thumbnail_key from photos where practice = false")}
        per_house = collections.Counter(h for h, _, _ in photos.values())
        acked_house = collections.Counter(raw(a["household"]) for a in ACKS["photo"])
        missing = [a for a in ACKS["photo"] if a["photo"] and raw(a["photo"]) not in photos]
        confirmed = {str(t) for (t,) in q("select id from photo_uploads where confirmed_at is not null")}
        replay_missing = [a for a in ACKS["photo"] if not a["photo"] and raw(a["ticket"]) not in confirmed]
        count_diff = [(h, per_house.get(h, 0), n) for h, n in acked_house.items() if per_house.get(h, 0) != n]
        extra_photos = [h for h in per_house if h not in acked_house]
        added = collections.Counter(str(h) for (h,) in q("select household_id from audit_events "
                                                         "where action = 'PHOTO_ADDED'"))
        ev_diff = [h for h in per_house if added.get(h, 0) != per_house[h]]
        bucket = STATE / "s3" / "hsv-photos"
        no_object = [i for i, (_, k, tk) in photos.items()
                     if not (bucket / k).is_file() or (tk and not (bucket / tk).is_file())]
        check("every acknowledged photo is recorded once, with one PHOTO_ADDED event and its objects in the bucket",
              not (missing or replay_missing or count_diff or extra_photos or ev_diff or no_object),
              f"{len(ACKS['photo'])} photos acknowledged ({sum(1 for a in ACKS['photo'] if not a['photo'])} "
              f"by a retry that found the ticket confirmed), {len(photos)} in the database; missing {len(missing)}, "
              f"unconfirmed tickets {len(replay_missing)}, households with another count {len(count_diff)}, "
              f"unacknowledged {len(extra_photos)}, event count differs {len(ev_diff)}, objects missing {len(no_object)}")
    return res


def run_tool(*args):
    env = dict(ENV, APP_DATA_DIR=str(STATE / "api-0"), APP_LOG="warn")
    p = subprocess.run([API_BIN, *args], env=env, capture_output=True, text=True, timeout=600)
    return p.returncode, (p.stdout + p.stderr).strip()


# ---------------------------------------------------------------- main

async def setup(client):
    admin = User("admin")
    await admin.sign_in(client)
    r = await client.call(admin, "Milestones", "query Milestones { milestones { id kind } }", {})
    look_back = next(m for m in r.data["milestones"] if m["kind"] == "LOOK_BACK")
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 30 * 86400))
    r = await client.call(admin, "UpdateMilestone",
                          "mutation UpdateMilestone($id: ID!, $e: DateTime) { updateMilestone(id: $id, endsAt: $e) "
                          "{ id } }", {"id": look_back["id"], "e": end})
    assert r.ok, r.error
    r = await client.call(admin, "Regions", "query Regions { regions(level: VILLAGE) { code parent { code } } }", {})
    by_township = collections.defaultdict(list)
    for v in sorted(r.data["regions"], key=lambda v: v["code"]):
        by_township[v["parent"]["code"]].append(v["code"])
    townships = sorted(by_township)
    # Villages interleaved across townships, so every approver has work from the start.
    order, i = [], 0
    while any(by_township.values()):
        t = townships[i % len(townships)]
        if by_township[t]:
            order.append(by_township[t].pop(0))
        i += 1
    return order, [t[:9] for t in townships]


async def machine_facts(http):
    facts = {"cores": os.cpu_count()}
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
        facts["cpu"] = cpu
        facts["memory_gib"] = round(int(next(line.split()[1] for line in open("/proc/meminfo")
                                                 if line.startswith("MemTotal"))) / 1024 / 1024, 1)
    except (OSError, StopIteration):
        pass
    try:
        async with http.get(f"http://127.0.0.1:{API_PORTS[0]}/metrics") as r:
            m = re.search(r"hsv_build_info\{([^}]*)\}", await r.text())
            facts["api_build"] = m.group(1) if m else None
    except aiohttp.ClientError:
        pass
    facts["api_bin"] = API_BIN
    facts["postgres"] = subprocess.run([f"{PGBIN}/postgres", "--version"], capture_output=True,
                                       text=True).stdout.strip()
    facts["load_before"] = open("/proc/loadavg").read().split()[:3]
    return facts


def summarize(faults, board, lag, facts, t_load_end, db_res, tools, final_board):
    ops = sorted({op for _, op, _, _ in STATS.attempts})
    by_op = {}
    for op in ops:
        xs = [(lat, o) for _, o2, lat, o in STATS.attempts if o2 == op]
        ok = [lat * 1000 for lat, o in xs if o == "ok"]
        by_op[op] = {"requests": len(xs), "ok": len(ok), "p50_ms": pct(ok, 50), "p99_ms": pct(ok, 99),
                     "max_ms": max(ok) if ok else None}
    codes = collections.Counter(o for _, _, _, o in STATS.attempts if o != "ok" and not is_transport(o))
    transport = collections.Counter(o for _, _, _, o in STATS.attempts if is_transport(o))
    # Each failed attempt belongs to the fault in force (the latest started before it, within 90 s).
    starts = sorted((f["start"], i) for i, f in enumerate(faults))

    def owner(t):
        o = None
        for s, i in starts:
            if s - 1 <= t:
                o = i
        return o if o is not None and t - faults[o]["start"] <= 90 else None

    per_fault = collections.defaultdict(collections.Counter)
    last_fail = {}
    outside = collections.Counter()
    for t, op, _, o in STATS.attempts:
        if o == "ok" or o not in TRANSIENT_CODES and not is_transport(o):
            continue
        i = owner(t)
        if i is not None:
            per_fault[i][f"{op} {o}"] += 1
            faults[i].setdefault("failures_at", []).append((round(t - faults[i]["start"], 3), op, o))
            last_fail[i] = max(last_fail.get(i, -1e9), t)
        else:
            outside[f"{op} {o}"] += 1
    retried = collections.defaultdict(list)
    for op, s, d, n, o, ff in STATS.logical:
        if ff is not None and o in ("ok", "GAVE_UP") and owner(ff) is not None:
            retried[owner(ff)].append((round(d - s, 3), op))
    for i, f in enumerate(faults):
        f["failed_attempts"] = dict(per_fault[i])
        f["clients_ok_again_after"] = round(last_fail[i] - f["start"], 3) if i in last_fail else 0.0
        # Logical operations (first try to answer) that met this fault and were retried through it.
        f["retried_operations"] = len(retried[i])
        f["longest_retried_operation"] = max(retried[i], default=None)
        firsts = {}
        for t, op, _, o in STATS.attempts:
            if o == "ok" and t >= f["start"] and op in ("SaveVerification", "SubmitVerification",
                                                         "ApproveVerification", "PutPhoto", "ConfirmPhotoUpload"):
                firsts.setdefault(op, round(t - f["start"], 3))
        f["first_success_after_start"] = firsts
    logical = collections.Counter(o for op, s, d, n, o, _ in STATS.logical)
    n_retried = sum(1 for op, s, d, n, o, _ in STATS.logical if n > 1)
    return {
        "machine": facts,
        "settings": {"duration_s": DURATION, "users": USERS, "approvers": APPROVERS, "kill_every_s": KILL_EVERY,
                     "kill_down_s": KILL_DOWN, "pg_restart_at_s": PG_RESTART_AT, "s3_outage_at_s": S3_OUTAGE_AT,
                     "s3_outage_s": S3_OUTAGE, "seed": SEED},
        "load_seconds": round(t_load_end, 1),
        "acknowledged": {k: len(v) for k, v in ACKS.items()},
        "acknowledged_how": {k: dict(collections.Counter(a["how"] for a in ACKS[k])) for k in ("approve", "photo")},
        "by_operation": by_op,
        "error_codes": dict(codes),
        "error_answers": STATS.errors,
        "transport_errors": dict(transport),
        "failed_attempts_outside_faults": dict(outside),
        "logical_operations": dict(logical),
        "retried_operations": n_retried,
        "refusals": [{"op": op, "code": c, "reason": r, "after_retry": rt, "count": n}
                     for (op, c, r, rt), n in STATS.refusals.items()],
        "faults": faults,
        "board": {"updates": len(board.updates), "connections": len(board.connects),
                  "served_by": [c[1] for c in board.connects],
                  "reconnected_after_s": [round(min((c[0] for c in board.connects if c[0] > d[0]), default=1e9)
                                                - d[0], 3) for d in board.drops],
                  "reconnects": max(0, len(board.connects) - 1), "drops": board.drops,
                  "subscription_errors": dict(board.errors),
                  "lag_samples": len(lag), "lag_p50_s": pct([x for _, x in lag if x is not None], 50),
                  "lag_p99_s": pct([x for _, x in lag if x is not None], 99),
                  "lag_max_s": max([x for _, x in lag if x is not None], default=None),
                  "lag_not_caught_up": sum(1 for _, x in lag if x is None), "final": final_board},
        "db_checks": db_res,
        "tools": tools,
        "crashes": STATS.crashes,
    }


def verdict(rep):
    checks = list(rep["db_checks"])

    def check(name, ok, detail):
        checks.append({"check": name, "ok": bool(ok), "detail": detail})

    rc, out = rep["tools"]["audit-verify"]
    check("api audit-verify: the chain is intact", rc == 0 and "intact" in out, out.splitlines()[-1] if out else "")
    rc, out = rep["tools"]["recount"]
    drifts = [int(x) for x in re.findall(r"(\d+) counters? drifted", out)]
    check("api recount: 0 counters drifted", rc == 0 and drifts and not any(drifts), out.replace("\n", " | "))
    codes = rep["error_codes"]
    check("no INTERNAL error and no error without a code", not codes.get("INTERNAL") and not codes.get("NO_CODE"),
          f"errors by code: {codes or 'none'}")
    refused = collections.Counter(f"{op}: {msg}" for _, op, code, reason, msg in rep["error_answers"]
                                  if code == "UNAUTHENTICATED")
    # The board's socket closed as if its token had expired (4401) or been revoked (4403).
    refused.update(f"board WebSocket {why} at {t:.1f} s" for t, why, _ in rep["board"]["drops"]
                   if why in ("closed 4401", "closed 4403"))
    # Every token the soak sends is fresh (signed in at most 10 minutes before) and never revoked:
    # an UNAUTHENTICATED answer or a 4401/4403 close is a fault told as "sign in again". The web
    # app signs the person out on UNAUTHENTICATED (web/src/gql.rs send_raw), so it is no
    # retryable error.
    check("no valid token refused (UNAUTHENTICATED, WebSocket 4401/4403) while a fault was on", not refused,
          dict(refused) if refused else "none")
    gave_up = rep["logical_operations"].get("GAVE_UP", 0)
    check("no operation given up (each retried one was answered)", not gave_up, f"{gave_up} given up")
    keyed_refused = [r for r in rep["refusals"] if r["after_retry"] and r["op"] in ("SaveVerification",
                                                                                     "SubmitVerification")]
    check("no keyed save or submit refused on a retry (the retry got the first answer)", not keyed_refused,
          str(keyed_refused) if keyed_refused else "none")
    late = [(f["kind"], f["target"], (f.get("board") or {})) for f in rep["faults"]
            if (f.get("board") or {}).get("caught_up_after_end") is None
            or f["board"]["caught_up_after_end"] > BOARD_CATCHUP_LIMIT]
    check(f"the live board caught up within {BOARD_CATCHUP_LIMIT:.0f} s after every fault", not late,
          f"{len(rep['faults'])} faults; late: {late}" if late else f"{len(rep['faults'])} faults")
    fb = rep["board"]["final"]
    check("at the end the board equals the database's figures", fb.get("equal"), str(fb))
    check("no task of the soak crashed", not rep["crashes"], str(rep["crashes"][:3]))
    return checks


def lro(f):
    x = f.get("longest_retried_operation")
    return "-" if not x else f"{x[0]:.1f} s ({x[1]})"


def print_report(rep, checks):
    print("\n================ soak report ================")
    m = rep["machine"]
    print(f"machine: {m.get('cores')} cores, {m.get('cpu')}, {m.get('memory_gib')} GiB; {m.get('postgres')}; "
          f"api {m.get('api_build')}; load average before {m.get('load_before')}, after {m.get('load_after')}")
    s = rep["settings"]
    print(f"duration {rep['load_seconds']} s of load, {s['users']} verifiers, {s['approvers']} approver loops")
    print(f"acknowledged: {rep['acknowledged']} ({rep['acknowledged_how']}); "
          f"retried logical operations: {rep['retried_operations']}")
    print("\n| operation | requests | ok | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|")
    f = lambda x: "-" if x is None else f"{x:.1f}"  # noqa: E731
    for op, x in sorted(rep["by_operation"].items(), key=lambda kv: -kv[1]["requests"]):
        print(f"| {op} | {x['requests']} | {x['ok']} | {f(x['p50_ms'])} | {f(x['p99_ms'])} | {f(x['max_ms'])} |")
    print(f"\nerrors by code: {rep['error_codes'] or 'none'}")
    for t, op, code, reason, message in rep["error_answers"]:
        print(f"  at {t:.1f} s {op}: {code} ({reason}) {message}")
    print(f"transport errors: {rep['transport_errors'] or 'none'}")
    print(f"failed attempts outside any fault: {rep['failed_attempts_outside_faults'] or 'none'}")
    print(f"refusals (coded answers not retried): {rep['refusals'] or 'none'}")
    print("\n| at | fault | mutations in flight (cluster) | service back after | all servers UP in HAProxy after | failed attempts | "
          "last failure after | retried ops (longest) | board: first change after end | board caught up after end "
          "(after the direct query) |\n|---|---|---|---|---|---|---|---|---|---|")
    for x in rep["faults"]:
        up = "-" if x.get("all_up") is None else f"{x['all_up'] - x['start']:.1f} s"
        b = x.get("board") or {}
        bc, bq, fa = b.get("caught_up_after_end"), b.get("after_direct_query"), b.get("first_ack_after_end")
        fails = ", ".join(f"{k}: {v}" for k, v in x["failed_attempts"].items()) or "0"
        print(f"| {x['start']:.0f} s | {x['kind']} {x['target']} | {x.get('mutations_in_flight', '-')} | "
              f"{x['end'] - x['start']:.1f} s | {up} | "
              f"{fails} | {max(0.0, x['clients_ok_again_after']):.1f} s | {x['retried_operations']} ({lro(x)}) | "
              f"{'-' if fa is None else f'{fa:.2f} s'} | "
              f"{b.get('error') or ('not within 60 s' if bc is None else f'{bc:.2f} s ({max(0.0, bq):.2f} s)')} |")
    b = rep["board"]
    ms = lambda x: "-" if x is None else f"{x * 1000:.0f} ms"  # noqa: E731
    print(f"\nboard: {b['updates']} updates, {b['connections']} connections ({b['reconnects']} reconnects) "
          f"on {b['served_by']}; drops {[(round(t, 1), why, on) for t, why, on in b['drops']]}, "
          f"reconnected after {b['reconnected_after_s']} s")
    print(f"board lag (direct query every 5 s → board shows at least as much): p50 {ms(b['lag_p50_s'])}, "
          f"p99 {ms(b['lag_p99_s'])}, max {ms(b['lag_max_s'])} over {b['lag_samples']} samples "
          f"({b['lag_not_caught_up']} not caught up in 30 s); final {b['final']}")
    print("\nchecks:")
    for c in checks:
        print(f"  [{'ok' if c['ok'] else 'FAIL'}] {c['check']}: {c['detail']}")


async def guarded(name, coro):
    try:
        return await coro
    except Exception as e:
        STATS.crashes.append(f"{name}: {type(e).__name__}: {e}")
        traceback.print_exc()


async def main():
    global T0
    random.seed(SEED)
    conn = aiohttp.TCPConnector(limit=200, keepalive_timeout=5)
    async with aiohttp.ClientSession(connector=conn) as http:
        client = Client(http)
        facts = await machine_facts(http)
        villages, townships = await setup(client)
        board_user = User("supervisor")
        await board_user.sign_in(client)
        board = Board()
        T0 = time.monotonic()
        log(f"load starts: {USERS} verifiers, {APPROVERS} approver loops, {DURATION:.0f} s, through {BASE}")
        board_task = asyncio.ensure_future(guarded("board", board.run(client, board_user)))
        workers = [asyncio.ensure_future(guarded(f"verifier {i}", verifier(client, i, villages[i::USERS])))
                   for i in range(USERS)]
        workers += [asyncio.ensure_future(guarded(f"approver {k}", approver(client, k, townships[k::APPROVERS])))
                    for k in range(APPROVERS)]
        lag = []
        sampler = asyncio.ensure_future(guarded("lag", lag_sampler(client, board_user, board, lag)))
        faults = []
        fault_task = asyncio.ensure_future(guarded("faults", fault_runner(http, client, board_user, board, faults)))

        async def progress():
            while not STOP.is_set():
                await asyncio.sleep(30)
                log(f"acknowledged {({k: len(v) for k, v in ACKS.items()})}, board "
                    f"{board.latest and {k: board.latest[k] for k in ('started', 'submitted', 'approved')}}")
        ticker = asyncio.ensure_future(progress())
        await asyncio.sleep(DURATION)
        STOP.set()
        t_load_end = now()
        log("load ends: letting operations in flight finish")
        _, late = await asyncio.wait(workers, timeout=GIVE_UP_AFTER + 60)
        for w in late:
            w.cancel()
            STATS.crashes.append("a worker did not finish its operation in flight")
        await asyncio.wait([fault_task, sampler], timeout=180)
        ticker.cancel()
        # At rest: the board must show exactly what the database holds.
        t_q, d = await direct_board(client, board_user)
        t_eq = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if board.latest == d:
                t_eq = now()
                break
            board.changed.clear()
            try:
                await asyncio.wait_for(board.changed.wait(), max(0.05, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass
        final_board = {"equal": t_eq is not None, "direct": {k: d[k] for k in ("started", "submitted", "approved")}
                       if d else None, "board": board.latest and {k: board.latest[k] for k in
                                                                  ("started", "submitted", "approved")}}
        board.done.set()
        await asyncio.wait([board_task], timeout=10)
    facts["load_after"] = open("/proc/loadavg").read().split()[:3]
    log("checking the database, the audit chain and the counters")
    try:
        db_res = db_checks()
    except Exception as e:  # the report must still come out
        traceback.print_exc()
        db_res = [{"check": "database checks ran", "ok": False, "detail": f"{type(e).__name__}: {e}"}]
    tools = {"audit-verify": run_tool("audit-verify"), "recount": run_tool("recount")}
    rep = summarize(faults, board, lag, facts, t_load_end, db_res, tools, final_board)
    checks = verdict(rep)
    rep["checks"] = checks
    (SOAK_DIR / "report.json").write_text(json.dumps(rep, ensure_ascii=False, indent=1, default=str))
    print_report(rep, checks)
    failed = [c for c in checks if not c["ok"]]
    print(f"\n{len(checks) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
