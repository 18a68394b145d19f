using System.Diagnostics;
using System.Globalization;

namespace Snapfn.Cluster;

/// <summary>
/// A NATS cluster of <c>n</c> nats-server processes on loopback, JetStream on, each node with its own store under
/// one scratch folder: what the cluster tests and <c>snapfn bench --experiment cluster</c> run against. In
/// production the cluster is the operator's (deploy/ has Kubernetes manifests); this type is never used there.
/// Disposing stops every server and deletes the folder, so nothing it started outlives it.
/// </summary>
public sealed class LocalNatsCluster : IAsyncDisposable
{
    /// <summary>Requests larger than NATS's default 1 MiB payload carry function inputs and outputs (daemon limit).</summary>
    public const int MaxPayloadBytes = 8 * 1024 * 1024;

    private static readonly TimeSpan _readyTimeout = TimeSpan.FromSeconds(30);

    private readonly List<Node> _nodes;
    private readonly string _folder;

    private LocalNatsCluster(string folder, List<Node> nodes)
    {
        _folder = folder;
        _nodes = nodes;
    }

    /// <summary>The client URL of each node, in node order (nats://127.0.0.1:port).</summary>
    public IReadOnlyList<string> ClientUrls => _nodes.Select(n => n.ClientUrl).ToList();

    /// <summary>All client URLs joined with commas, as <c>snapfn serve --nats</c> takes them.</summary>
    public string ClientUrlList => string.Join(',', ClientUrls);

    /// <summary>Starts <paramref name="nodes"/> servers under a new folder in <paramref name="parent"/> (default: the
    /// temp folder) and waits until each reports JetStream healthy.</summary>
    public static Task<LocalNatsCluster> StartAsync(int nodes = 3, string? parent = null, CancellationToken ct = default) =>
        StartAsync(nodes, parent, advertise: true, ct);

    /// <summary><see cref="StartAsync(int, string?, CancellationToken)"/>; <paramref name="advertise"/> false: the
    /// servers do not tell their clients of each other (<c>no_advertise</c>), so a client reconnects only to the server
    /// it was given (tests of a client cut off until its server returns).</summary>
    public static async Task<LocalNatsCluster> StartAsync(int nodes, string? parent, bool advertise, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(nodes, 1);
        var binary = NatsServerBinary.Require();
        var folder = Directory.CreateTempSubdirectory("snapfn-nats-").FullName;
        if (parent is not null)
        {
            Directory.Delete(folder);
            folder = Path.Combine(parent, Path.GetFileName(folder));
            Directory.CreateDirectory(folder);
        }
        var ports = LoopbackPorts.Free(nodes * 3);
        var list = new List<Node>();
        var cluster = new LocalNatsCluster(folder, list);
        try
        {
            for (var i = 0; i < nodes; i++)
            {
                var node = new Node(i, ports[i * 3], ports[i * 3 + 1], ports[i * 3 + 2], folder);
                node.WriteConfig(ports.Where((_, k) => k % 3 == 2).ToList(), advertise);
                list.Add(node);
            }
            foreach (var node in list)
            {
                node.Start(binary);
            }
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            foreach (var node in list)
            {
                await node.WaitReadyAsync(http, _readyTimeout, ct).ConfigureAwait(false);
            }
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Kills node <paramref name="index"/> (SIGKILL), as a machine that dies would vanish.</summary>
    public void Kill(int index) => _nodes[index].Kill();

    /// <summary>Kills node <paramref name="index"/> and waits until its process is gone (its clients are cut off).</summary>
    public async Task StopAsync(int index)
    {
        _nodes[index].Kill();
        await _nodes[index].WaitExitAsync().ConfigureAwait(false);
    }

    /// <summary>Starts stopped node <paramref name="index"/> again on its ports and store, and waits until JetStream is
    /// healthy on it (a restarted server: clients that were cut off reconnect).</summary>
    public async Task StartAgainAsync(int index, CancellationToken ct = default)
    {
        _nodes[index].Start(NatsServerBinary.Require());
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await _nodes[index].WaitReadyAsync(http, _readyTimeout, ct).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            node.Kill();
        }
        foreach (var node in _nodes)
        {
            await node.WaitExitAsync().ConfigureAwait(false);
        }
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A store file still being closed by a dying server; the temp folder is the OS's to clean then.
        }
    }

    private sealed class Node(int index, int clientPort, int monitorPort, int routePort, string folder)
    {
        private Process? _process;
        private readonly string _dir = Path.Combine(folder, $"n{index + 1}");

        public string ClientUrl => $"nats://127.0.0.1:{clientPort}";

        private string ConfigPath => Path.Combine(_dir, "nats.conf");

        private string LogPath => Path.Combine(_dir, "nats.log");

        public void WriteConfig(IReadOnlyList<int> routePorts, bool advertise)
        {
            Directory.CreateDirectory(Path.Combine(_dir, "jetstream"));
            var routes = string.Join(", ", routePorts.Select(p => $"\"nats-route://127.0.0.1:{p}\""));
            var config = string.Create(CultureInfo.InvariantCulture, $$"""
                server_name: "n{{index + 1}}"
                listen: "127.0.0.1:{{clientPort}}"
                http: "127.0.0.1:{{monitorPort}}"
                max_payload: {{MaxPayloadBytes}}
                jetstream {
                  store_dir: "{{Path.Combine(_dir, "jetstream")}}"
                  max_memory_store: 64MB
                  max_file_store: 4GB
                }
                cluster {
                  name: "snapfn-local"
                  listen: "127.0.0.1:{{routePort}}"
                  routes: [{{routes}}]
                  no_advertise: {{(advertise ? "false" : "true")}}
                }
                """);
            File.WriteAllText(ConfigPath, config);
        }

        public void Start(string binary)
        {
            var start = new ProcessStartInfo(binary)
            {
                ArgumentList = { "-c", ConfigPath, "-l", LogPath },
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            _process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {binary}");
            // Drained so a chatty server never blocks on a full pipe; the log file has the same lines.
            _process.OutputDataReceived += (_, _) => { };
            _process.ErrorDataReceived += (_, _) => { };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        /// <summary>Polls the monitoring port's /healthz, which in nats-server 2.9 answers 200 only once JetStream is
        /// enabled and current with its meta leader.</summary>
        public async Task WaitReadyAsync(HttpClient http, TimeSpan timeout, CancellationToken ct)
        {
            var deadline = Stopwatch.StartNew();
            var url = new Uri($"http://127.0.0.1:{monitorPort}/healthz");
            while (true)
            {
                if (_process is { HasExited: true })
                {
                    throw new InvalidOperationException(
                        $"nats-server n{index + 1} exited at start (code {_process.ExitCode}): {Tail()}");
                }
                try
                {
                    using var response = await http.GetAsync(url, ct).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
                catch (TaskCanceledException) when (!ct.IsCancellationRequested)
                {
                    // This poll timed out; try again until the deadline.
                }
                if (deadline.Elapsed > timeout)
                {
                    throw new TimeoutException($"nats-server n{index + 1} was not healthy after {timeout.TotalSeconds:0} s: {Tail()}");
                }
                await Task.Delay(100, ct).ConfigureAwait(false);
            }
        }

        public void Kill()
        {
            try
            {
                if (_process is { HasExited: false })
                {
                    _process.Kill();
                }
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }
        }

        public async Task WaitExitAsync()
        {
            if (_process is null)
            {
                return;
            }
            await _process.WaitForExitAsync().ConfigureAwait(false);
            _process.Dispose();
            _process = null;
        }

        private string Tail()
        {
            try
            {
                var lines = File.ReadAllLines(LogPath);
                return string.Join(" | ", lines.TakeLast(5));
            }
            catch (IOException)
            {
                return "(no log)";
            }
        }
    }
}
