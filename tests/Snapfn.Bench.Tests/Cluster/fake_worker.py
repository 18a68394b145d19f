# A stand-in for `snapfn serve --nats` in ClusterExperimentTests (the real worker needs KVM): the HTTP API the cluster
# experiment uses, answering with the headers and metrics the real worker sends (src/Snapfn.Daemon/FunctionEndpoints.cs
# WriteHeaders, DaemonMetrics.ReplicaFetched; docs/cluster.md). It does not join NATS: the worker whose front door takes
# a request "runs" it, and an asynchronous result is kept in a folder beside the workers' homes, which any front door
# reads, as the results bucket would be. It keeps no invocation log (registry.db).
import json, os, sys, threading, uuid
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlparse

args = sys.argv[1:]
worker = args[args.index("--worker-id") + 1]
listen = urlparse(args[args.index("--listen") + 1])
# The daemon writes its token into its home at start; the bench reads it from there.
with open(os.path.join(os.environ["SNAPFN_HOME"], "token"), "w") as f:
    f.write("stand-in-token-" + "x" * 32 + "\n")
# The results "bucket": one file per invocation id, in the scratch folder all the workers' homes are in.
results = os.path.join(os.path.dirname(os.path.abspath(os.environ["SNAPFN_HOME"])), "stand-in-results")
os.makedirs(results, exist_ok=True)
# Per function: outcome -> count of "EnsureLocalAsync" calls, as snapfn_cluster_replica_fetches_total counts them.
fetches = {}
lock = threading.Lock()

def ensure_local(function):
    """The worker makes the function local before each run: w1 deployed it (held), the others fetch it once."""
    with lock:
        counts = fetches.setdefault(function, {})
        outcome = "local" if worker == "w1" or "fetched" in counts else "fetched"
        counts[outcome] = counts.get(outcome, 0) + 1
        return "0" if outcome == "local" else "42"

def metrics():
    """Prometheus text as prometheus-net writes it: HELP and TYPE lines, a histogram's buckets, sum and count."""
    lines = ["# HELP snapfn_cluster_replica_fetches_total Times this worker made a function local before running it, by outcome.",
             "# TYPE snapfn_cluster_replica_fetches_total counter"]
    with lock:
        snapshot = {f: dict(c) for f, c in fetches.items()}
    for f in sorted(snapshot):
        for outcome, n in sorted(snapshot[f].items()):
            lines.append(f'snapfn_cluster_replica_fetches_total{{function="{f}",outcome="{outcome}"}} {n}')
    fetched = [f for f in sorted(snapshot) if "fetched" in snapshot[f]]
    lines += ["# HELP snapfn_cluster_replica_fetch_chunks_total Chunks of functions' artifacts fetched from the object store.",
              "# TYPE snapfn_cluster_replica_fetch_chunks_total counter"]
    lines += [f'snapfn_cluster_replica_fetch_chunks_total{{function="{f}"}} 7' for f in fetched]
    lines += ["# HELP snapfn_cluster_replica_fetch_bytes_total Bytes of functions' artifacts fetched from the object store.",
              "# TYPE snapfn_cluster_replica_fetch_bytes_total counter"]
    lines += [f'snapfn_cluster_replica_fetch_bytes_total{{function="{f}"}} 7340032' for f in fetched]
    lines += ["# HELP snapfn_cluster_replica_fetch_seconds How long making a function local took, when this worker did not hold it.",
              "# TYPE snapfn_cluster_replica_fetch_seconds histogram"]
    for f in fetched:
        lines.append(f'snapfn_cluster_replica_fetch_seconds_sum{{function="{f}"}} 0.042')
        lines.append(f'snapfn_cluster_replica_fetch_seconds_count{{function="{f}"}} 1')
        lines.append(f'snapfn_cluster_replica_fetch_seconds_bucket{{function="{f}",le="0.032"}} 0')
        lines.append(f'snapfn_cluster_replica_fetch_seconds_bucket{{function="{f}",le="0.064"}} 1')
        lines.append(f'snapfn_cluster_replica_fetch_seconds_bucket{{function="{f}",le="+Inf"}} 1')
    return ("\n".join(lines) + "\n").encode()

class Handler(BaseHTTPRequestHandler):
    # Keep-alive, as Kestrel: the client's pooled connections stay open between requests.
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = urlparse(self.path).path
        if path == "/healthz":
            return self.answer(200, b'{"status":"ok"}')
        if path == "/metrics":
            return self.answer(200, metrics(), {"Content-Type": "text/plain; version=0.0.4"})
        if path.startswith("/invocations/"):
            id = path[len("/invocations/"):]
            try:
                uuid.UUID(id)
                with open(os.path.join(results, id)) as f:
                    stored = json.load(f)
            except (ValueError, OSError):
                return self.answer(404, b'{"error":"unknown-invocation"}', {"Content-Type": "application/problem+json"})
            return self.answer(200, b"output", stored)
        return self.answer(404)

    def do_POST(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        parts = url.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "functions" and parts[2] == "snapshot":
            return self.answer(200, json.dumps({"function": parts[1], "boot_ms": 100.0, "init_ms": 200.0, "write_ms": 50.0}).encode())
        if len(parts) == 3 and parts[0] == "functions" and parts[2] == "invoke":
            id = str(uuid.uuid4())
            # Every answer names its worker and what making the function local cost it (0: it held it).
            headers = {"Snapfn-Worker": worker, "Snapfn-Invocation-Id": id, "Snapfn-Fetch-Ms": ensure_local(parts[1])}
            if "async=1" in url.query:
                # Written whole under a temporary name, then renamed: a front door never reads half an answer.
                temporary = os.path.join(results, f".{id}.tmp")
                with open(temporary, "w") as f:
                    json.dump(headers, f)
                os.rename(temporary, os.path.join(results, id))
                location = f"/invocations/{id}"
                body = json.dumps({"invocation_id": id, "status": "pending", "location": location}).encode()
                return self.answer(202, body, {"Snapfn-Invocation-Id": id, "Location": location, "Content-Type": "application/json"})
            return self.answer(200, b"output", headers)
        return self.answer(404)

class Server(ThreadingHTTPServer):
    # The default backlog of 5 refuses connections under the burst; Kestrel's is far larger.
    request_queue_size = 128
    daemon_threads = True

Server((listen.hostname, listen.port), Handler).serve_forever()
