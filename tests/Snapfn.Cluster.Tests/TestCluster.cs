using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Snapfn.Cluster.Serving;
using Snapfn.Daemon;
using Snapfn.Platform;

namespace Snapfn.Cluster.Tests;

/// <summary>
/// Three Snapfn daemons in this process, each with its own SNAPFN_HOME, its own worker id (w1, w2, w3) and its own
/// NATS server of a fresh three-node cluster, on ASP.NET Core's in-memory server; their invocations are answered by
/// <see cref="FakeRuntime"/> through the platform's run seam (no KVM), their artifacts by <see cref="FakeReplicas"/>.
/// Each harness starts its own NATS cluster: the queue group, the stream and the buckets are cluster-wide, and
/// another test's workers must not answer this one's requests.
/// </summary>
internal sealed class TestCluster : IAsyncDisposable
{
    private readonly LocalNatsCluster _nats;

    private TestCluster(LocalNatsCluster nats, List<Node> nodes, FakeReplicas replicas, FakeRuntime runtime)
    {
        _nats = nats;
        Nodes = nodes;
        Replicas = replicas;
        Runtime = runtime;
    }

    public IReadOnlyList<Node> Nodes { get; }

    public FakeReplicas Replicas { get; }

    public FakeRuntime Runtime { get; }

    public LocalNatsCluster Nats => _nats;

    public static byte[] Elf => File.ReadAllBytes(Snapfn.Tests.GuestBuild.ElfPath("hello-world"));

    /// <summary>Timings short enough for tests: a vanished worker is noticed after 1.5 s, an async request redelivered after 1.5 s.</summary>
    public static ClusterServingOptions Options(string urls, string worker) => new()
    {
        NatsUrls = urls,
        WorkerId = worker,
        HeartbeatInterval = TimeSpan.FromMilliseconds(100),
        HeartbeatTimeout = TimeSpan.FromMilliseconds(1500),
        AcceptTimeout = TimeSpan.FromSeconds(3),
        AsyncAckWait = TimeSpan.FromMilliseconds(1500),
        PlacementInterval = TimeSpan.FromSeconds(2),
        Replicas = 3,
    };

    /// <param name="fakeRuntime">False: the platform's real invocation path (KVM tests).</param>
    /// <param name="sockets">Kestrel on a loopback port instead of the in-memory server (for the CLI's client).</param>
    public static async Task<TestCluster> StartAsync(bool fakeRuntime = true, bool sockets = false)
    {
        if (NatsServerBinary.Find(out var reason) is null)
            Assert.Skip(reason);
        var nats = await LocalNatsCluster.StartAsync(3);
        var replicas = new FakeReplicas { TakesSnapshots = !fakeRuntime };
        var runtime = new FakeRuntime();
        var nodes = new List<Node>();
        try
        {
            for (var i = 0; i < 3; i++)
                nodes.Add(await Node.StartAsync(Options(nats.ClientUrls[i], $"w{i + 1}"), replicas, fakeRuntime ? runtime : null, sockets));
            return new TestCluster(nats, nodes, replicas, runtime);
        }
        catch
        {
            foreach (var node in nodes)
                await node.DisposeAsync();
            await nats.DisposeAsync();
            throw;
        }
    }

    public Node Worker(string id) => Nodes.Single(n => n.WorkerId == id);

    /// <summary>Deploys <paramref name="function"/> (hello-world's ELF, no snapshot) through node <paramref name="node"/>.</summary>
    public async Task DeployAsync(string function, int node = 0, string query = "", bool snapshot = false)
    {
        using var content = new ByteArrayContent(Elf);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await Nodes[node].Http.PostAsync($"functions?name={function}&snapshot={(snapshot ? "true" : "false")}&{query}", content, TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    public async ValueTask DisposeAsync()
    {
        Runtime.ReleaseAll();
        foreach (var node in Nodes)
            await node.DisposeAsync();
        await _nats.DisposeAsync();
    }

    /// <summary>One daemon of the cluster.</summary>
    internal sealed class Node : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly string _home;

        private Node(WebApplication app, string home, string worker)
        {
            _app = app;
            _home = home;
            WorkerId = worker;
            Service = app.Services.GetRequiredService<FunctionService>();
            Cluster = app.Services.GetRequiredService<ClusterNode>();
            Token = File.ReadAllText(Path.Combine(home, AccessToken.FileName)).Trim();
            if (app.Services.GetRequiredService<IServer>() is TestServer server)
            {
                Http = server.CreateClient();
            }
            else
            {
                Url = DaemonHost.Addresses(app)[0];
                Http = new HttpClient { BaseAddress = new Uri(Url + "/") };
            }
            Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        }

        public string WorkerId { get; }

        public FunctionService Service { get; }

        public ClusterNode Cluster { get; }

        public HttpClient Http { get; }

        /// <summary>The node's bearer token.</summary>
        public string Token { get; }

        /// <summary>http://127.0.0.1:PORT when started on sockets.</summary>
        public string? Url { get; }

        public static async Task<Node> StartAsync(ClusterServingOptions cluster, FakeReplicas replicas, FakeRuntime? runtime, bool sockets)
        {
            var home = Directory.CreateTempSubdirectory("snapfn-cluster-").FullName;
            var guests = Directory.CreateDirectory(Path.Combine(home, "no-builtins")).FullName;
            var app = DaemonHost.Build(new DaemonOptions
            {
                Listen = "http://127.0.0.1:0",
                HomePath = home,
                GuestDirectory = runtime is null ? null : guests,
                // A second request for a busy function is refused at once (the 429 test), and nothing records by itself.
                Platform = new FunctionServiceOptions { Serving = new ServingOptions { MaxQueueLength = 0 }, AutoRecord = null },
                Cluster = cluster,
                Replicas = replicas.For,
            }, _ => { }, host =>
            {
                if (!sockets)
                    host.UseTestServer();
            });
            await app.StartAsync(TestContext.Current.CancellationToken);
            var node = new Node(app, home, cluster.WorkerId!);
            if (runtime is not null)
                node.Service.Server.RunInvocation = (plan, _, cancel) => runtime.Run(node.WorkerId, plan, cancel);
            return node;
        }

        /// <summary>Closes the node's NATS connection, as a worker killed mid-request vanishes: its heartbeats, acks
        /// and replies stop, its subscriptions go.</summary>
        public async Task VanishAsync() => await Cluster.Connection.DisposeAsync();

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            try
            {
                await _app.StopAsync(CancellationToken.None);
            }
            finally
            {
                await _app.DisposeAsync();
                try
                {
                    Directory.Delete(_home, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }
}

/// <summary>
/// Answers invocations in place of a VM: the output is "WORKER:INPUT" (so a test sees who ran it; an input starting
/// "fail" fails as a Python function that raised, with a two-line error; "throttle" is refused as at max_instances), every run is
/// counted per worker, and <see cref="HoldNext"/> makes the next run of a function wait for the test — a deterministic
/// "mid-request" for killing its worker.
/// </summary>
internal sealed class FakeRuntime
{
    private readonly ConcurrentDictionary<string, Hold> _holds = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Worker, string Function, string? InvocationId)> _runs = new();

    /// <summary>The output size of the next runs (0: "WORKER:INPUT").</summary>
    public int OutputBytes { get; set; }

    public IReadOnlyList<(string Worker, string Function, string? InvocationId)> Runs => _runs.ToList();

    /// <summary>The next run of <paramref name="function"/> (on any worker) blocks until <see cref="Hold.Release"/>;
    /// <see cref="Hold.Started"/> completes with the worker that runs it.</summary>
    public Hold HoldNext(string function) => _holds[function] = new Hold();

    public void ReleaseAll()
    {
        foreach (var hold in _holds.Values)
            hold.Release();
    }

    public InvocationResult Run(string worker, InvocationPlan plan, CancellationToken cancel)
    {
        var function = plan.Function.Info.Name;
        _runs.Enqueue((worker, function, plan.InvocationId));
        if (_holds.TryGetValue(function, out var hold) && hold.TryClaim(worker))
            hold.Wait(cancel);
        if (plan.Input.AsSpan().SequenceEqual("throttle"u8))
            throw new FunctionThrottledException("max-instances", $"function '{function}' runs its 1 instances and its queue is full", "raise max_instances", TimeSpan.FromSeconds(2));
        if (plan.Input.AsSpan().StartsWith("fail"u8))
            throw new Snapfn.Linux.FunctionFailedException("the function raised ValueError: bad input", "Traceback (most recent call last):\n  ValueError: bad input");
        var output = OutputBytes > 0 ? new byte[OutputBytes] : System.Text.Encoding.UTF8.GetBytes($"{worker}:{System.Text.Encoding.UTF8.GetString(plan.Input)}");
        return new InvocationResult
        {
            Function = function, Mode = plan.Mode, Output = output, RestoreMs = 1.5, ExecuteMs = 2.25, TotalMs = 3.75, CachedPagesBefore = 7,
            Counters = new Dictionary<string, double>(),
        };
    }

    internal sealed class Hold
    {
        private readonly TaskCompletionSource<string> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _claimed;

        public Task<string> Started => _started.Task;

        public bool TryClaim(string worker)
        {
            if (Interlocked.Exchange(ref _claimed, 1) != 0)
                return false;
            _started.SetResult(worker);
            return true;
        }

        public void Wait(CancellationToken cancel) => _released.Task.Wait(cancel);

        public void Release() => _released.TrySetResult();
    }
}

/// <summary>
/// The artifact side as a test double: a deploy's <see cref="IFunctionReplicas.PublishAsync"/> keeps the ELF and a
/// record; a worker's <see cref="IFunctionReplicas.EnsureLocalAsync"/> registers it locally with a snapshot record (no
/// files: the fake runtime restores nothing), as the real one fetches it from the object store.
/// </summary>
internal sealed class FakeReplicas
{
    private readonly ConcurrentDictionary<string, (byte[] Elf, FunctionSettings Settings, ClusterFunction Record)> _published = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Worker, string Function)> _fetches = new();
    private readonly ConcurrentBag<FunctionService> _nodes = [];
    private long _version;

    public IReadOnlyList<(string Worker, string Function)> Fetches => _fetches.ToList();

    /// <summary>True: a worker that lacks the function takes its own real snapshot (KVM tests), as the real artifact
    /// side does when it cannot use the published one; false: a snapshot record without files (the fake runtime).</summary>
    public bool TakesSnapshots { get; init; }

    public IFunctionReplicas For(NATS.Client.Core.INatsConnection nats, FunctionService service, string worker)
    {
        _nodes.Add(service);
        return new View(this, service, worker);
    }

    public void SetRetryable(string function, bool retryable) =>
        _published.AddOrUpdate(function, _ => throw new InvalidOperationException("deploy first"), (_, p) => (p.Elf, p.Settings, p.Record with { Retryable = retryable }));

    private sealed class View(FakeReplicas owner, FunctionService service, string worker) : IFunctionReplicas
    {
        private readonly Lock _lock = new();

        public Task<IReadOnlyList<ClusterFunction>> ListAsync(CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<ClusterFunction>>(owner._published.Values.Select(p => p.Record).OrderBy(r => r.Name, StringComparer.Ordinal).ToList());

        public Task<ClusterFunction?> FindAsync(string name, CancellationToken ct) =>
            Task.FromResult(owner._published.TryGetValue(name, out var p) ? p.Record : null);

        public Task PublishAsync(string name, CancellationToken ct)
        {
            var function = service.Get(name);
            var elf = File.ReadAllBytes(function.ElfPath);
            owner._published[name] = (elf, function.Settings, new ClusterFunction(name, Interlocked.Increment(ref owner._version), "native", Retryable: true, function.Snapshot is not null));
            return Task.CompletedTask;
        }

        /// <summary>Out of the published functions, and off every node at once (as the real side's watch does, a
        /// moment later).</summary>
        public Task<bool> DeleteAsync(string name, CancellationToken ct)
        {
            var inCluster = owner._published.TryRemove(name, out _);
            var here = false;
            foreach (var node in owner._nodes.Where(n => n.Find(name) is { Kind: FunctionKind.User }))
            {
                node.Delete(name);
                here |= node == service;
            }
            return Task.FromResult(inCluster || here);
        }

        public Task<ReplicaFetch> EnsureLocalAsync(string name, CancellationToken ct)
        {
            if (!owner._published.TryGetValue(name, out var published))
                throw new UnknownFunctionException($"function '{name}' is not deployed to the cluster");
            lock (_lock)
            {
                var here = service.List().FirstOrDefault(f => f.Name == name);
                var already = here is { Snapshot: not null };
                if (here is null)
                    service.Register(name, published.Elf, 512, "fetched", settings: published.Settings);
                if (!already && owner.TakesSnapshots)
                {
                    owner._fetches.Enqueue((worker, name));
                    service.TakeSnapshot(name, null, TimeSpan.FromMinutes(2));
                }
                else if (!already)
                {
                    owner._fetches.Enqueue((worker, name));
                    service.Registry.PutSnapshot(name, new SnapshotRecord
                    {
                        SnapshotId = Guid.NewGuid(), ElfSha256 = "e", StateSha256 = "s", MemoryFile = "memory", MemoryMib = 512, AllocatedBytes = 0, DataPages = 0,
                        TakenAt = DateTimeOffset.UtcNow,
                    });
                }
                return Task.FromResult(new ReplicaFetch(already, already ? 0 : 1, 0, TimeSpan.Zero, false, null));
            }
        }
    }
}
