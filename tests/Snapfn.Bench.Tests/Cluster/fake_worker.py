# A stand-in for `snapfn serve --nats` in ClusterExperimentTests (the real worker needs KVM): the HTTP API the cluster
# experiment uses, answering as docs/cluster.md says a worker answers. It does not join NATS; an asynchronous result
# is answered by whichever front door is asked (the id says which worker "ran" it), as the results bucket would.
import json, os, sys, threading, uuid
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlparse

args = sys.argv[1:]
worker = args[args.index("--worker-id") + 1]
listen = urlparse(args[args.index("--listen") + 1])
# The daemon writes its token into its home at start; the bench reads it from there.
with open(os.path.join(os.environ["SNAPFN_HOME"], "token"), "w") as f:
    f.write("stand-in-token-" + "x" * 32 + "\n")
fetched = set()
lock = threading.Lock()

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
            text = ""
            if worker != "w1":
                for f in sorted(fetched):
                    text += f'snapfn_cluster_replica_fetches_total{{function="{f}",outcome="fetched"}} 1\n'
                    text += f'snapfn_cluster_replica_fetch_chunks_total{{function="{f}"}} 7\n'
                    text += f'snapfn_cluster_replica_fetch_bytes_total{{function="{f}"}} 7340032\n'
                    text += f'snapfn_cluster_replica_fetch_seconds_sum{{function="{f}"}} 0.042\n'
            return self.answer(200, text.encode())
        if path.startswith("/invocations/"):
            id = path[len("/invocations/"):]
            return self.answer(200, b"output", {"Snapfn-Worker": id.split("-")[0], "Snapfn-Invocation-Id": id})
        return self.answer(404)

    def do_POST(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        parts = url.path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "functions" and parts[2] == "snapshot":
            return self.answer(200, json.dumps({"function": parts[1], "boot_ms": 100.0, "init_ms": 200.0, "write_ms": 50.0}).encode())
        if len(parts) == 3 and parts[0] == "functions" and parts[2] == "invoke":
            id = f"{worker}-{uuid.uuid4().hex}"
            if "async=1" in url.query:
                return self.answer(202, json.dumps({"invocation_id": id}).encode(), {"Snapfn-Invocation-Id": id, "Location": f"/invocations/{id}"})
            headers = {"Snapfn-Worker": worker, "Snapfn-Invocation-Id": id}
            with lock:
                if worker != "w1" and parts[1] not in fetched:
                    fetched.add(parts[1])
                    headers["Snapfn-Fetch-Ms"] = "42"
            return self.answer(200, b"output", headers)
        return self.answer(404)

class Server(ThreadingHTTPServer):
    # The default backlog of 5 refuses connections under the burst; Kestrel's is far larger.
    request_queue_size = 128
    daemon_threads = True

Server((listen.hostname, listen.port), Handler).serve_forever()
