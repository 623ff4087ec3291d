#!/usr/bin/env python3
"""Load and verification for the logd fault tests (tests/logd-faults.test.sh).

  logd_load.py load URLFILE TOKENFILE OUT STOPFILE [THREADS]
      Writers post single events (/v1/add) and batches (/v1/add-batch, some with
      ?wait=checkpoint) over keep-alive connections to the URL in URLFILE (re-read
      after a connection fails, so logd may move or restart), and a poller reads
      /checkpoint, until STOPFILE exists. Every acknowledged entry goes to OUT/acks
      (one JSON line: index, leaf_hash, event), every distinct checkpoint note seen
      to OUT/notes/N, and the count of each answer (status and error text) to
      OUT/answers.json.
  logd_load.py verify OUT ENTRIES_JSON
      ENTRIES_JSON is `tlog entries --json` of the final log (each entry checked
      against the signed tree by tlog). Checks that every acknowledged index holds
      the acknowledged entry (its leaf hash: the exact bytes) with the acknowledged
      event, and that no event was logged twice. Prints "# ..." lines and the
      verdict; exit 0 only when all hold.
"""
import http.client
import json
import os
import random
import re
import sys
import threading
import time
import urllib.parse


def read(path):
    with open(path) as f:
        return f.read().strip()


class Client:
    def __init__(self, urlfile):
        self.urlfile = urlfile
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        if self.conn is None:
            u = urllib.parse.urlparse(read(self.urlfile))
            self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        try:
            self.conn.request(method, path, body=body, headers=headers or {})
            r = self.conn.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return r.status, data
        except (OSError, http.client.HTTPException):
            self.close()
            return None, b""

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Load:
    def __init__(self, urlfile, token, out, stopfile):
        self.urlfile, self.token, self.out, self.stopfile = urlfile, token, out, stopfile
        self.lock = threading.Lock()
        self.next_id = 0
        self.acks = open(os.path.join(out, "acks"), "a")
        self.notes = set()
        self.answers = {}
        os.makedirs(os.path.join(out, "notes"), exist_ok=True)

    def stopped(self):
        return os.path.exists(self.stopfile)

    def ids(self, n):
        with self.lock:
            first = self.next_id
            self.next_id += n
        return range(first, first + n)

    def answer(self, status, data):
        key = str(status)
        if status not in (200, None):
            try:
                key += " " + re.sub(r"[0-9]+", "N", json.loads(data)["error"])
            except (ValueError, KeyError, TypeError):
                key += " (no JSON error)"
        with self.lock:
            self.answers[key] = self.answers.get(key, 0) + 1

    def note(self, text):
        with self.lock:
            if text in self.notes:
                return
            self.notes.add(text)
            n = len(self.notes)
        with open(os.path.join(self.out, "notes", str(n)), "w") as f:
            f.write(text)

    def writer(self, seed):
        rnd = random.Random(seed)
        c = Client(self.urlfile)
        hdrs = {"Authorization": "Bearer " + self.token, "Content-Type": "application/json"}
        while not self.stopped():
            op = rnd.randrange(10)
            n = 1 if op < 6 else rnd.randrange(1, 21)
            # Canonical already (keys sorted, compact): logd logs these bytes.
            evs = ['{"id":%d,"pad":"%s","type":"fault"}' % (i, "x" * rnd.randrange(40))
                   for i in self.ids(n)]
            if op < 6:
                path, body = "/v1/add", evs[0]
            else:
                path, body = "/v1/add-batch", "[" + ",".join(evs) + "]"
                if op == 9:
                    path += "?wait=checkpoint"
            status, data = c.request("POST", path, body.encode(), hdrs)
            self.answer(status, data)
            if status != 200:
                time.sleep(0.005 if status else 0.05)
                continue
            j = json.loads(data)
            results = j["results"] if "results" in j else [j]
            lines = "".join(json.dumps({"index": r["index"], "leaf_hash": r["leaf_hash"], "event": e}) + "\n"
                            for r, e in zip(results, evs))
            with self.lock:
                self.acks.write(lines)
                self.acks.flush()
            if j.get("checkpoint"):
                self.note(j["checkpoint"])
        c.close()

    def poller(self):
        c = Client(self.urlfile)
        while not self.stopped():
            status, data = c.request("GET", "/checkpoint")
            if status == 200:
                self.note(data.decode())
            time.sleep(0.01)
        c.close()

    def run(self, nthreads):
        ts = [threading.Thread(target=self.writer, args=(i,)) for i in range(nthreads)]
        ts.append(threading.Thread(target=self.poller))
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.acks.close()
        with open(os.path.join(self.out, "answers.json"), "w") as f:
            json.dump(self.answers, f, indent=1, sort_keys=True)


def verify(out, entries_json):
    with open(entries_json) as f:
        entries = json.load(f)
    by_index = {e["index"]: e for e in entries}
    ok = True
    if sorted(by_index) != list(range(len(entries))):
        print("# the entries are not indices 0..%d" % (len(entries) - 1))
        ok = False
    acks = [json.loads(l) for l in open(os.path.join(out, "acks"))]
    bad = 0
    for a in acks:
        e = by_index.get(a["index"])
        # tlog checked each leaf hash against the signed tree; the acknowledged leaf
        # hash is then the exact bytes, and the entry must carry the event sent.
        if (e is None or e["leaf_hash"] != a["leaf_hash"] or not isinstance(e["entry"], dict)
                or json.dumps(e["entry"]["event"], separators=(",", ":"), sort_keys=True) != a["event"]):
            bad += 1
            if bad <= 5:
                print("# acknowledged index %d lost or changed" % a["index"])
    seen, twice = set(), 0
    for e in entries:
        ev = e["entry"].get("event") if isinstance(e["entry"], dict) else None
        if isinstance(ev, dict) and ev.get("type") == "fault":
            if ev["id"] in seen:
                twice += 1
            seen.add(ev["id"])
    print("# %d acknowledged entries, %d entries in the log, %d lost or changed, %d logged twice"
          % (len(acks), len(entries), bad, twice))
    return ok and bad == 0 and twice == 0 and len(acks) > 0


def main():
    if len(sys.argv) >= 6 and sys.argv[1] == "load":
        urlfile, tokenfile, out, stopfile = sys.argv[2:6]
        n = int(sys.argv[6]) if len(sys.argv) > 6 else 4
        Load(urlfile, read(tokenfile), out, stopfile).run(n)
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "verify":
        return 0 if verify(sys.argv[2], sys.argv[3]) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
