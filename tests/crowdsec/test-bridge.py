#!/usr/bin/env python3
"""test-bridge: nfsentry-crowdsec run whole against stand-ins for the daemon and the LAPI
(fakes.py), without root: start-up pull to `fleet`, stale fleet bans lifted, a local ban
published with its evidence token and a fleet ban not published back, deletions idempotent,
the LAPI down then back (queue kept across a restart of the bridge), a refused body dropped
but a 500 "database is locked" retried,
an expired token renewed, lost events resynchronised from `bans`, no secret in the log.

  test-bridge.py BUILT-NFSENTRY-CROWDSEC"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fakes import FakeDaemon, FakeLapi, Tap, stop  # noqa: E402

PASSWORD, API_KEY = "S3cret-machine-pw", "K3y-bouncer-0123456789"
tap = Tap()
check, waits = tap.check, tap.waits


def dec(i, value, scope="Ip", dur="1h", typ="ban"):
    return {"duration": dur, "id": i, "origin": "cscli", "scenario": "test", "scope": scope, "type": typ, "value": value}


def main():
    exe = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="test-bridge.")
    sock = os.path.join(tmp, "control.sock")
    state = os.path.join(tmp, "state")
    creds = os.path.join(tmp, "creds")
    conf = os.path.join(tmp, "crowdsec.conf")
    log = os.path.join(tmp, "bridge.log")
    daemon = FakeDaemon(sock)
    lapi = FakeLapi("m1", PASSWORD, API_KEY)
    with open(creds, "w") as f:
        f.write("[machine]\nid = m1\npassword = %s\n[bouncer]\napi_key = %s\n" % (PASSWORD, API_KEY))
    os.chmod(creds, 0o600)
    with open(conf, "w") as f:
        f.write("[lapi]\nurl = http://127.0.0.1:%d\ncredentials = %s\ntimeout = 5s\n"
                "[publish]\nbatch = 1s\n[apply]\nupdate_frequency = 1s\n"
                "[daemon]\ncontrol_socket = %s\nstate_dir = %s\nlog_level = debug\n" % (lapi.port, creds, sock, state))

    # What the LAPI holds at start, and what the daemon holds: a fleet ban the LAPI no longer
    # has (deleted while the bridge was away), and a local ban not yet published.
    lapi.startup = {"new": [dec(1, "203.0.113.5"), dec(2, "2001:db8:5::/64", "Range", "3h59m59.5s"),
                            dec(3, "203.0.113.6", typ="captcha"), dec(4, "FR", scope="Country")],
                    "deleted": None}
    daemon.bans = [{"address": "198.51.100.99", "origin": "crowdsec", "detector": "manual", "seconds_left": 100, "timeout": 200},
                   {"address": "192.0.2.50", "origin": "nfsentry", "detector": "scan", "seconds_left": 500, "timeout": 600},
                   {"address": "192.0.2.51", "origin": "crowdsec", "detector": "manual", "seconds_left": 500, "timeout": 600}]

    # An event that comes in the same read as the answer to `watch`.
    daemon.greeting = [{"event": "ban", "seq": 1, "origin": "nfsentry", "address": "192.0.2.60", "detector": "scan",
                        "seconds": 600, "until": int(time.time()) + 600, "events": 10}]

    def start():
        return subprocess.Popen([exe, "-c", conf], stdout=subprocess.DEVNULL, stderr=open(log, "a"))

    bridge = start()
    try:
        # Apply, start-up: Ip and Range bans to `fleet`, other types and scopes ignored, the
        # stale fleet ban lifted; the fleet ban the LAPI still has is not lifted.
        waits(lambda: "203.0.113.5" in daemon.fleet_bans(), "start-up pull: the Ip decision reaches `fleet`")
        check("2001:db8:5::/64" in daemon.fleet_bans(), "the IPv6 Range too")
        ban = [b for r in daemon.fleet for b in r["ban"] if b["address"] == "203.0.113.5"]
        check(ban and 3590 <= ban[0]["seconds"] <= 3600, "with its remaining duration (%s)" % (ban[0]["seconds"] if ban else None))
        check("203.0.113.6" not in daemon.fleet_bans(), "a captcha decision is not applied")
        check("198.51.100.99" in daemon.fleet_unbans(), "a fleet ban the LAPI no longer holds is lifted at start-up")
        check(lapi.pulls and lapi.pulls[0] is True, "the first pull is startup=true")

        # Publish: the local ban the daemon held is published (resync from `bans`), the fleet's
        # never.
        waits(lambda: any(a["source"]["value"] == "192.0.2.50" for a in lapi.alerts),
              "a local ban held before the bridge started is published")
        waits(lambda: any(a["source"]["value"] == "192.0.2.60" for a in lapi.alerts),
              "an event read with the answer to `watch` is not left in the buffer")
        daemon.greeting = []
        check(not any(a["source"]["value"] in ("192.0.2.51", "198.51.100.99") for a in lapi.alerts),
              "the daemon's fleet bans are not published back")

        # A ban as it happens, then its evidence within the batch window.
        now = int(time.time())
        daemon.push({"event": "ban", "seq": 2, "origin": "nfsentry", "address": "192.0.2.7", "detector": "scan",
                     "seconds": 3600, "until": now + 3600, "events": 42})
        daemon.push({"event": "evidence", "seq": 3, "address": "192.0.2.7", "token": "00aa11bb"})
        daemon.push({"event": "ban", "seq": 4, "origin": "crowdsec", "address": "203.0.113.5", "detector": "manual",
                     "seconds": 3600, "until": now + 3600, "events": 0})
        daemon.push({"event": "ban", "seq": 5, "origin": "nfsentry", "address": "2001:db8:7::/64", "detector": "scan",
                     "seconds": 600, "until": now + 600, "events": 11})
        if waits(lambda: [a for a in lapi.alerts if a["source"]["value"] == "192.0.2.7"], "a watched ban is published"):
            a = [a for a in lapi.alerts if a["source"]["value"] == "192.0.2.7"][0]
            d = a["decisions"][0]
            check(a["scenario"] == "nfsentry/scan" and d["origin"] == "nfsentry" and d["type"] == "ban" and
                  d["scope"] == "Ip" and a["events_count"] == 42, "scenario, origin, type, scope, events_count")
            check("00aa11bb" in a["message"], "the evidence token that came within the batch is in the message")
            secs = int(d["duration"].rstrip("s"))
            check(3590 <= secs <= 3600, "the decision lasts what is left of the ban (%ds)" % secs)
        waits(lambda: any(a["source"]["value"] == "2001:db8:7::/64" and a["source"]["scope"] == "Range" for a in lapi.alerts),
              "an IPv6 prefix ban is published as a Range")
        time.sleep(1.5)
        check(not any(a["source"]["value"] == "203.0.113.5" for a in lapi.alerts), "a ban of origin crowdsec is not published back")
        check(lapi.logins == 1, "one login for all of it (%d)" % lapi.logins)
        bridge.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        check(bridge.poll() is None, "SIGHUP does not end it")

        # This host's own decision comes back in the stream (as the LAPI does): not applied
        # again as the fleet's; another host's nfsentry decision is.
        left = now + 3600 - int(time.time())
        own = dict(dec(30, "192.0.2.7", dur="%dm%ds" % (left // 60, left % 60)), origin="nfsentry", scenario="nfsentry/scan")
        other = dict(dec(31, "192.0.2.77", dur="1h"), origin="nfsentry", scenario="nfsentry/scan")
        asked = len(daemon.fleet)
        lapi.stream.append({"new": [own, other], "deleted": None})
        waits(lambda: "192.0.2.77" in daemon.fleet_bans(), "another host's nfsentry decision is applied")
        check("192.0.2.7" not in daemon.fleet_bans(), "this host's own decision, back from the stream, is not")

        # The stream, as crowdsec 1.4.6 sends it (per value, not per decision): a second
        # decision on a held value; its deletion, which the stream does not report at all;
        # the first deleted, reported with its id only: the value has no decision left, lifted
        # (the map still held id 10: it must not keep the ban); the same deletion repeated
        # (nothing more); then repeated again in the pull that brings a new decision on the
        # value: it stays banned with the new one.
        lapi.stream += [{"new": [dec(10, "203.0.113.5", dur="2h")], "deleted": None},
                        {"new": None, "deleted": None},
                        {"new": None, "deleted": [dec(1, "203.0.113.5", dur="-1s")]},
                        {"new": None, "deleted": [dec(1, "203.0.113.5", dur="-13.99ms")]},
                        {"new": [dec(11, "203.0.113.5", dur="30m")], "deleted": [dec(1, "203.0.113.5", dur="-2s")]}]

        def bans_of(v):
            return [b["seconds"] for r in daemon.fleet for b in r.get("ban", []) if b["address"] == v]
        waits(lambda: not lapi.stream and len(bans_of("203.0.113.5")) >= 3, "five pulls of changes")
        check(daemon.fleet_unbans().count("203.0.113.5") == 1,
              "the value is lifted once, when the stream reports it deleted (unbans: %s)" % daemon.fleet_unbans())
        longer = bans_of("203.0.113.5")
        check(len(longer) == 3 and longer[1] > 3600, "a longer decision on a held value extends it (%s)" % longer)
        check(len(longer) == 3 and 1700 <= longer[2] <= 1800, "deleted and new in the same pull: banned again with the new decision (%s)" % longer)
        last = [r for r in daemon.fleet if "203.0.113.5" in [b["address"] for b in r.get("ban", [])] + r.get("unban", [])][-1]
        check("203.0.113.5" not in last.get("unban", []), "and not unbanned in that pull (%s)" % last)

        # The LAPI refuses a body (HTTP 500): dropped, not resent.
        lapi.fail_alerts, lapi.fail_status = 1, 500
        posts = lapi.posts
        daemon.push({"event": "ban", "seq": 6, "origin": "nfsentry", "address": "192.0.2.8", "detector": "scan",
                     "seconds": 600, "until": int(time.time()) + 600, "events": 10})
        waits(lambda: lapi.posts > posts, "the refused alert was tried")
        time.sleep(2.5)
        check(lapi.posts == posts + 1 and not any(a["source"]["value"] == "192.0.2.8" for a in lapi.alerts),
              "a refused body is dropped, not sent again (%d posts)" % (lapi.posts - posts))

        # crowdsec 1.4.6 under a burst: HTTP 500 "database is locked" is the LAPI's trouble,
        # not a refusal of the body: kept, sent again after the backoff, published once.
        # 1.4.6 is not atomic per batch: the first alert of it was taken before the 500; the
        # bridge asks which (GET /v1/alerts) and sends only the other again.
        lapi.fail_alerts, lapi.fail_status, lapi.fail_after = 1, 500, 1
        lapi.fail_message = "unable to create alerts: error while updating decisions: database is locked"
        posts = lapi.posts
        for seq, addr in ((13, "192.0.2.12"), (15, "192.0.2.14")):
            daemon.push({"event": "ban", "seq": seq, "origin": "nfsentry", "address": addr, "detector": "scan",
                         "seconds": 600, "until": int(time.time()) + 600, "events": 10})
        waits(lambda: all(any(a["source"]["value"] == v for a in lapi.alerts) for v in ("192.0.2.12", "192.0.2.14")),
              "a batch answered 500 database is locked is sent again and taken")
        time.sleep(1.5)
        check(lapi.posts == posts + 2 and all(sum(a["source"]["value"] == v for a in lapi.alerts) == 1
                                              for v in ("192.0.2.12", "192.0.2.14")),
              "each published once, after one retry (%d posts)" % (lapi.posts - posts))
        check(getattr(lapi, "held_asked", 0) == 1, "the bridge asked the LAPI which alerts it had taken")
        lapi.fail_after = 0
        # A 500 naming the body (an invalid address, as 1.4.6 words it): dropped.
        lapi.fail_alerts = 1
        lapi.fail_message = "unable to create alerts: invalid addr/range not-an-ip : invalid address: not-an-ip"
        posts = lapi.posts
        daemon.push({"event": "ban", "seq": 14, "origin": "nfsentry", "address": "192.0.2.13", "detector": "scan",
                     "seconds": 600, "until": int(time.time()) + 600, "events": 10})
        waits(lambda: lapi.posts > posts, "the refused alert was tried")
        time.sleep(2.5)
        check(lapi.posts == posts + 1 and not any(a["source"]["value"] == "192.0.2.13" for a in lapi.alerts),
              "500 invalid addr/range: dropped, not sent again (%d posts)" % (lapi.posts - posts))
        lapi.fail_message = "validation failure list:\n0.capacity in body is required"

        # An expired token: log in again, the alert goes.
        lapi.expire_token = True
        daemon.push({"event": "ban", "seq": 7, "origin": "manual", "address": "192.0.2.9", "detector": "manual",
                     "seconds": 600, "until": int(time.time()) + 600, "events": 0})
        waits(lambda: any(a["source"]["value"] == "192.0.2.9" for a in lapi.alerts), "after a 401 it logs in again and publishes")
        check(lapi.logins == 2, "a second login (%d)" % lapi.logins)

        # Taken back before it went out: an unban by hand cancels it; the fleet lifting its
        # own ban of the same address does not.
        lapi.fail_alerts, lapi.fail_status = 10 ** 6, 503
        t = int(time.time())
        daemon.push({"event": "ban", "seq": 9, "origin": "nfsentry", "address": "192.0.2.20", "detector": "scan",
                     "seconds": 600, "until": t + 600, "events": 10})
        daemon.push({"event": "unban", "seq": 10, "origin": "nfsentry", "address": "192.0.2.20", "why": "manual"})
        daemon.push({"event": "ban", "seq": 11, "origin": "nfsentry", "address": "192.0.2.21", "detector": "scan",
                     "seconds": 600, "until": t + 600, "events": 10})
        daemon.push({"event": "unban", "seq": 12, "origin": "crowdsec", "address": "192.0.2.21", "why": "fleet"})
        time.sleep(1.5)
        lapi.fail_alerts = 0
        waits(lambda: any(a["source"]["value"] == "192.0.2.21" for a in lapi.alerts),
              "a ban whose address the fleet unbanned is still published")
        check(not any(a["source"]["value"] == "192.0.2.20" for a in lapi.alerts), "a ban lifted by hand before it went out is not")

        # The LAPI down (503): the ban waits; the bridge stops and starts again; the LAPI is
        # back: it goes out. Nothing lost.
        lapi.fail_alerts, lapi.fail_status = 10 ** 6, 503
        daemon.push({"event": "ban", "seq": 8, "origin": "nfsentry", "address": "192.0.2.10", "detector": "scan",
                     "seconds": 900, "until": int(time.time()) + 900, "events": 12})
        posts = lapi.posts
        waits(lambda: lapi.posts > posts, "the alert was tried while the LAPI answers 503")
        bridge.send_signal(signal.SIGTERM)
        try:
            rc = bridge.wait(10)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "SIGTERM: exits 0 (%s)" % rc)
        pending = open(os.path.join(state, "pending.jsonl")).read()
        check("192.0.2.10" in pending, "the unpublished ban is in pending.jsonl")
        check(oct(os.stat(os.path.join(state, "pending.jsonl")).st_mode & 0o777) == "0o600", "pending.jsonl is 0600")
        lapi.fail_alerts = 0
        daemon.bans = []
        bridge = start()
        waits(lambda: any(a["source"]["value"] == "192.0.2.10" for a in lapi.alerts),
              "after a restart, with the LAPI back, the queued ban is published")
        check(sum(a["source"]["value"] == "192.0.2.7" for a in lapi.alerts) == 1, "what was published is not published again")

        # Lost events: the bans the daemon holds are read again and the new local one goes out.
        daemon.bans = [{"address": "192.0.2.11", "origin": "nfsentry", "detector": "scan", "seconds_left": 300, "timeout": 600}]
        daemon.push({"event": "lost", "count": 5000})
        waits(lambda: any(a["source"]["value"] == "192.0.2.11" for a in lapi.alerts), "after lost events, `bans` is read again")

        # The daemon restarts: the watch reconnects, and the apply side pulls startup=true again.
        pulls = len(lapi.pulls)
        daemon.drop_watchers()
        waits(lambda: daemon.requests.count("watch") >= 3, "the watch reconnects after the daemon went away")
        waits(lambda: True in lapi.pulls[pulls:], "and the next pull is startup=true")

        # The daemon refuses `fleet`: logged, and the next pull starts over.
        daemon.refuse_fleet = "permission denied"
        asked = len(daemon.fleet)
        lapi.stream.append({"new": [dec(20, "203.0.113.20")], "deleted": None})
        waits(lambda: len(daemon.fleet) > asked + 1, "pulls whose `fleet` the daemon refused")
        lapi.startup["new"].append(dec(20, "203.0.113.20"))
        pulls, asked = len(lapi.pulls), len(daemon.fleet)
        daemon.refuse_fleet = None
        waits(lambda: "203.0.113.20" in [b["address"] for r in daemon.fleet[asked:] for b in r.get("ban", [])],
              "after a refusal, the decision reaches the daemon when it takes `fleet` again")
        check(lapi.pulls[pulls:pulls + 1] == [True], "through a startup=true pull (%s)" % lapi.pulls[pulls:])
    finally:
        stop(bridge)
        daemon.stop()
        lapi.stop()
    text = open(log).read()
    check(PASSWORD not in text and API_KEY not in text and "tok1" not in text, "no secret in the log")
    check("publish" in text, "the log is there (%d lines)" % text.count("\n"))
    if tap.failed:
        sys.stdout.write("# " + text.replace("\n", "\n# ") + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
