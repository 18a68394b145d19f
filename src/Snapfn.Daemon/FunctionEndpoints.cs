using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Snapfn.Cluster.Serving;
using Snapfn.Daemon.Contracts;
using Snapfn.Platform;
using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Daemon;

/// <summary>The /functions API: registry, snapshots, recordings and invocations.</summary>
internal static class FunctionEndpoints
{
    private const string OctetStream = "application/octet-stream";
    private const string Zip = "application/zip";
    private const string Json = "application/json";
    // The types a body may have, enforced by CrossSiteGuard from this metadata: none that a web page may send
    // without a CORS preflight (text/plain, form encoding), so no page can deploy or run code here.
    private const string InputRemedy = "a function's input is at most the guest's I/O buffer; send large data another way";
    private const string ClusterInputRemedy = "in a cluster an input travels in one NATS message (limit 'cluster-payload', the servers' max_payload less 16 KiB); " +
        "send less, or raise max_payload in every nats-server's configuration";
    private static readonly TimeSpan _snapshotTimeout = TimeSpan.FromSeconds(300);
    private static readonly TimeSpan _recordTimeout = TimeSpan.FromSeconds(120);

    public static void Map(IEndpointRouteBuilder app)
    {
        var functions = app.MapGroup("/functions").WithTags("functions");
        functions.MapGet("", List).WithName("ListFunctions").WithSummary("The registered functions, built-in and user");
        functions.MapGet("/{name}", Get).WithName("GetFunction").WithSummary("One function with its snapshot and recordings")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        functions.MapPost("", Register).WithName("RegisterFunction")
            .WithSummary("Registers a user function and takes its snapshot: body = guest ELF built with the Snapfn SDK, or a zip of a Python function's folder (main.py); " +
                "?name=&memory_mib=&description=&keep_state=&max_instances= (a zip's snapfn.json gives the last two when they are absent); ?snapshot=false stores it " +
                "without a snapshot. A snapshot that cannot be taken (no KVM, init() failed) does not fail the deploy: snapshot_error says why")
            .Accepts<byte[]>(OctetStream, Zip).Produces<FunctionResponse>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        functions.MapDelete("/{name}", Delete).WithName("DeleteFunction").WithSummary("Removes a user function with its snapshot and recordings")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        functions.MapPost("/{name}/snapshot", Snapshot).WithName("TakeSnapshot")
            .WithSummary("Boots the function, runs init() and saves its snapshot; ?memory_mib= overrides the registered size")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status502BadGateway).ProducesProblem(StatusCodes.Status504GatewayTimeout);
        functions.MapPost("/{name}/verify", Verify).WithName("VerifySnapshot")
            .WithSummary("Checks the snapshot's whole memory file (and recordings) against the digest written with it")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        functions.MapPost("/{name}/record", Record).WithName("Record")
            .WithSummary("Records the working set (mode=reap) or loading set (mode=faasnap) of one run; body = input A")
            .Accepts<byte[]>(OctetStream, Json)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        functions.MapPost("/{name}/invoke", Invoke).WithName("Invoke")
            .WithSummary("Runs one request: body = input, response = output. The platform picks the path (an idle VM of a function that keeps state, else a restore in the fastest recorded mode, else cached or vanilla); ?mode= overrides it. Snapfn-Path says which served it, Server-Timing what it cost (queue, restore, execute); JSON with Accept: application/json. On a node of a cluster (--nats) it runs on a worker the cluster picks (Snapfn-Worker says which); ?async=1 or Prefer: respond-async queues it instead: 202, Location: /invocations/{id}")
            .Accepts<byte[]>(OctetStream, Json).Produces<byte[]>(StatusCodes.Status200OK, OctetStream).Produces<InvocationResponse>(StatusCodes.Status200OK, "application/json")
            .Produces<AsyncInvocationResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status502BadGateway).ProducesProblem(StatusCodes.Status504GatewayTimeout);
    }

    private static async Task<List<FunctionResponse>> List(FunctionService service, HttpContext http)
    {
        var local = service.List().Select(f => FunctionResponse.From(f, service.AutoRecordStatus(f))).ToList();
        if (ClusterEndpoints.Of(http) is not { } cluster)
            return local;
        // On a node of a cluster: this node's built-ins, then every function deployed to the cluster (what this node
        // knows of it where it holds it, the cluster's record in any case).
        var byName = local.ToDictionary(f => f.Name, StringComparer.Ordinal);
        var list = local.Where(f => f.Kind == "builtin").ToList();
        foreach (var function in await cluster.Replicas.ListAsync(http.RequestAborted))
        {
            var here = byName.TryGetValue(function.Name, out var known);
            list.Add((known ?? new FunctionResponse
            {
                Name = function.Name, Kind = "user", Description = "", Runtime = function.Runtime, MemoryMib = 0, ElfSha256 = "", IsTestGuest = false,
                RegisteredAt = default, Recordings = [],
            }) with { Cluster = ClusterSummary.From(function, here) });
        }
        return list;
    }

    private static FunctionResponse Get(string name, FunctionService service)
    {
        var function = service.Get(name);
        return FunctionResponse.From(function, service.AutoRecordStatus(function));
    }

    private static async Task<IResult> Register(HttpContext http, FunctionService service, InvocationGate gate, DaemonMetrics metrics,
        DaemonOptions options, ILoggerFactory loggers,
        [FromQuery] string? name, [FromQuery(Name = "memory_mib")] int? memoryMib, [FromQuery] string? description,
        [FromQuery(Name = "keep_state")] bool? keepState, [FromQuery(Name = "max_instances")] int? maxInstances, [FromQuery] bool? snapshot)
    {
        if (string.IsNullOrEmpty(name))
            throw new InvalidRequestException("give the function's name: POST /functions?name=NAME&memory_mib=MIB with the ELF as the body");
        ProblemContext.Set(http, "function", name);
        var elf = await RequestBody.ReadAsync(http.Request, options.MaxDeployBytes, "the function's ELF or zip",
            "raise it with `snapfn serve --max-deploy-mib N`", http.RequestAborted);
        if (elf.Length == 0)
            throw new InvalidRequestException("the body is empty: send the function's ELF (application/octet-stream), built with `snapfn build`, or a zip of a Python function's folder");
        // A Python deploy waits for its turn here, without holding a request thread meanwhile.
        using var turn = FunctionPackage.IsPackage(elf) ? await service.Deploys.EnterAsync(http.RequestAborted) : null;
        // Given here (an ELF has no snapfn.json in it), or null: a Python package's snapfn.json says.
        var settings = keepState is null && maxInstances is null ? null : new FunctionSettings { KeepState = keepState ?? false, MaxInstances = maxInstances };
        var registered = service.Register(name, elf, memoryMib ?? FunctionManifest.DefaultMemoryMiB, description, turn, settings);
        DaemonLog.Registered(Log(loggers), name, elf.Length, registered.MemoryMib, registered.ElfSha256);
        if (snapshot is false)
        {
            await PublishAsync(http, name);
            return TypedResults.Created($"/functions/{name}", FunctionResponse.From(registered, service.AutoRecordStatus(registered)));
        }
        // Deploy takes the snapshot (issue 21); one that cannot be taken is reported, the deploy stands.
        var taken = await gate.RunAsync(() => DeploySnapshot.Take(service, registered.Name, Timeout(null, DeploySnapshot.Timeout, options), http.RequestAborted),
            http.RequestAborted);
        metrics.Snapshot(name, ok: taken.Taken is not null);
        SnapshotFailure? failure = null;
        if (taken.Taken is { } outcome)
        {
            DaemonLog.SnapshotTaken(Log(loggers), name, outcome.Taken.BootMs, outcome.Taken.InitMs, outcome.Taken.WriteMs);
        }
        else if (taken.Failure is { } error)
        {
            var problem = Problem.For(error);
            failure = new SnapshotFailure(problem.Error, problem.Detail);
            DaemonLog.DeployedWithoutSnapshot(Log(loggers), name, error.Message);
        }
        await PublishAsync(http, name);
        var now = service.Get(registered.Name);
        return TypedResults.Created($"/functions/{name}", FunctionResponse.From(now, service.AutoRecordStatus(now)) with { SnapshotError = failure });
    }

    private static async Task<Microsoft.AspNetCore.Http.HttpResults.NoContent> Delete(string name, HttpContext http, FunctionService service, ILoggerFactory loggers)
    {
        // On a node of a cluster, from the cluster too: every node drops its copy (ClusterNode.DeleteAsync).
        if (ClusterEndpoints.Of(http) is { } cluster)
            await cluster.DeleteAsync(name, http.RequestAborted);
        else
            service.Delete(name);
        DaemonLog.Deleted(Log(loggers), name);
        return TypedResults.NoContent();
    }

    private static async Task<SnapshotResponse> Snapshot(string name, HttpContext http, FunctionService service, InvocationGate gate,
        DaemonMetrics metrics, DaemonOptions options, ILoggerFactory loggers,
        [FromQuery(Name = "memory_mib")] int? memoryMib, [FromQuery] double? timeout)
    {
        ProblemContext.Set(http, "function", name);
        var limit = Timeout(timeout, _snapshotTimeout, options);
        var function = service.Get(name);
        try
        {
            var outcome = await gate.RunAsync(() => service.TakeSnapshot(function.Name, memoryMib, limit), http.RequestAborted);
            metrics.Snapshot(name, ok: true);
            DaemonLog.SnapshotTaken(Log(loggers), name, outcome.Taken.BootMs, outcome.Taken.InitMs, outcome.Taken.WriteMs);
            await PublishAsync(http, name);
            return SnapshotResponse.From(name, outcome);
        }
        catch (Exception e) when (Problem.From(e) is not { IsAboutTheRequest: true })
        {
            metrics.Snapshot(name, ok: false);
            throw;
        }
    }

    private static async Task<VerifyResponse> Verify(string name, HttpContext http, FunctionService service, InvocationGate gate)
    {
        ProblemContext.Set(http, "function", name);
        var function = service.Get(name);
        // It reads the whole memory file: bounded like the other heavy operations.
        return VerifyResponse.From(await gate.RunAsync(() => service.VerifySnapshot(function.Name), http.RequestAborted));
    }

    private static async Task<RecordingResponse> Record(string name, HttpContext http, FunctionService service, InvocationGate gate,
        DaemonMetrics metrics, DaemonOptions options, ILoggerFactory loggers,
        [FromQuery] string? mode, [FromQuery(Name = "gap_pages")] int? gapPages, [FromQuery(Name = "scan_ms")] double? scanMs, [FromQuery] double? timeout)
    {
        ProblemContext.Set(http, "function", name);
        ProblemContext.Set(http, "mode", mode);
        if (mode is null || !FunctionService.RecordModes.Contains(mode))
            throw new InvalidRequestException($"give ?mode= one of {string.Join(", ", FunctionService.RecordModes)}");
        if (gapPages < 0 || (scanMs is not null && !(scanMs > 0 && scanMs <= 60_000)))
            throw new InvalidRequestException("gap_pages must be >= 0 and scan_ms above 0 and at most 60000");
        var limit = Timeout(timeout, _recordTimeout, options);
        var function = service.Get(name);
        var input = await RequestBody.ReadAsync(http.Request, (long)GuestLayout.IoBufferSize, "the input", InputRemedy, http.RequestAborted);
        var faasnap = new FaasnapRecordOptions();
        faasnap = faasnap with
        {
            GapPages = gapPages is { } gap ? (ulong)gap : faasnap.GapPages,
            ScanInterval = scanMs is { } scan ? TimeSpan.FromMilliseconds(scan) : faasnap.ScanInterval,
        };
        try
        {
            var outcome = await gate.RunAsync(() => service.Record(function.Name, mode, input, limit, faasnap), http.RequestAborted);
            metrics.Recording(name, mode, ok: true);
            DaemonLog.Recorded(Log(loggers), mode, name, outcome.Result.Pages, outcome.Result.Regions);
            await PublishAsync(http, name);
            return RecordingResponse.From(name, outcome);
        }
        catch (Exception e) when (Problem.From(e) is not { IsAboutTheRequest: true })
        {
            metrics.Recording(name, mode, ok: false);
            throw;
        }
    }

    private static async Task<IResult> Invoke(string name, HttpContext http, FunctionService service, InvocationGate gate,
        DaemonMetrics metrics, DaemonOptions options, [FromQuery] string? mode, [FromQuery] bool? cold, [FromQuery] double? timeout,
        [FromQuery(Name = "async")] string? asynchronous)
    {
        ProblemContext.Set(http, "function", name);
        if (mode is not null)
            ProblemContext.Set(http, "mode", mode);
        var limit = Timeout(timeout, options.DefaultInvokeTimeout, options);
        var cluster = ClusterEndpoints.Of(http);
        var wantsAsync = ClusterEndpoints.WantsAsync(http.Request, asynchronous);
        // In a cluster the input travels in one NATS message: read no more than that.
        var input = cluster is null
            ? await RequestBody.ReadAsync(http.Request, (long)GuestLayout.IoBufferSize, "the input", InputRemedy, http.RequestAborted)
            : await RequestBody.ReadAsync(http.Request, cluster.FrontDoor.MaxInputBytes, "the input", ClusterInputRemedy, http.RequestAborted);
        var start = Stopwatch.GetTimestamp();
        // The invocation's id (a header on every answer, errors included: its log lines are kept under it),
        // its span, and the wait for the function's turn and a slot of the gate as the span's first child.
        var invocationId = InvocationIdentity.Assign(http);
        using var span = Platform.Telemetry.InvocationTelemetry.StartInvocation(name, Platform.Telemetry.InvocationTelemetry.HttpTrigger);
        span?.SetTag("http.request.method", http.Request.Method);
        span?.SetTag("http.route", "/functions/{name}/invoke");
        var request = new InvokeRequest(name, input) { Mode = mode, Cold = cold ?? false, Timeout = limit, InvocationId = invocationId };
        if (wantsAsync)
            return await ClusterEndpoints.SubmitAsync(http, cluster, request);
        InvocationResult result;
        Cluster.Serving.RoutedInvocation? routed = null;
        using (metrics.TrackInFlight())
        {
            var path = mode is null ? "" : ServePath.Override(mode).Name;
            var modeLabel = mode ?? "";
            try
            {
                if (cluster is not null)
                {
                    // Over NATS, to whichever worker the cluster picks (this node's own included): FrontDoor.
                    routed = await cluster.FrontDoor.InvokeAsync(request, http.RequestAborted);
                    result = routed.Result;
                }
                else
                {
                    // Resolved once here, into its plan: the function's turn (its queue waits without a thread), then a
                    // slot of the daemon's gate. A client that goes away, or a daemon past its shutdown drain, stops the
                    // guest instead of leaving it running.
                    using var admission = await service.Server.AdmitAsync(request, http.RequestAborted);
                    path = admission.Plan.Path.Name;
                    modeLabel = admission.Plan.Mode;
                    result = await gate.RunAsync(() =>
                    {
                        Platform.Telemetry.InvocationTelemetry.QueueWait(start);
                        return service.Server.Run(admission, http.RequestAborted);
                    }, http.RequestAborted);
                }
            }
            catch (Exception e) when (Problem.From(e) is not { IsAboutTheRequest: true } && !http.RequestAborted.IsCancellationRequested)
            {
                metrics.Failed(name, modeLabel, path, Problem.From(e).Error, Stopwatch.GetElapsedTime(start).TotalSeconds);
                throw;
            }
            catch (Exception e) when (e is FunctionThrottledException or ClusterInvocationException { Code.Name: "too-many-requests" })
            {
                metrics.Throttled(name);
                throw;
            }
        }
        metrics.Succeeded(result, Stopwatch.GetElapsedTime(start).TotalSeconds);
        // Snapfn-Invocation-Id: set as the response starts (InvocationIdentity), on errors too.
        WriteHeaders(http.Response, result, routed is null ? null : new RoutedBy(routed.Worker, routed.FetchMs, routed.RetriedFrom));
        if (WantsJson(http.Request))
            return TypedResults.Json(InvocationResponse.From(result), DaemonHost.Json);
        return TypedResults.Bytes(result.Output, OctetStream);
    }

    /// <summary>In a cluster: the worker that ran an invocation, the milliseconds it spent making the function local
    /// first (0: it held it), and the workers that took the invocation before it and vanished.</summary>
    internal sealed record RoutedBy(string Worker, double FetchMs, IReadOnlyList<string> RetriedFrom);

    /// <summary>The headers of an invocation's answer: the path that served it, its timings, and in a cluster the
    /// worker that ran it (docs/cluster.md, "Reply headers").</summary>
    internal static void WriteHeaders(HttpResponse response, InvocationResult result, RoutedBy? routed)
    {
        var headers = response.Headers;
        headers["Snapfn-Path"] = result.Path;
        headers["Snapfn-Mode"] = result.Mode;
        headers["Snapfn-Queue-Ms"] = Ms(result.QueueMs);
        headers["Snapfn-Restore-Ms"] = Ms(result.RestoreMs);
        headers["Snapfn-Execute-Ms"] = Ms(result.ExecuteMs);
        headers["Snapfn-Total-Ms"] = Ms(result.TotalMs);
        if (routed is not null)
        {
            headers[Cluster.Serving.WireHeaders.Worker] = routed.Worker;
            headers[Cluster.Serving.WireHeaders.FetchMs] = Ms(routed.FetchMs);
            if (routed.RetriedFrom.Count > 0)
                headers[Cluster.Serving.WireHeaders.RetriedFrom] = string.Join(',', routed.RetriedFrom);
        }
        headers["Server-Timing"] = ServerTiming.Of(result);
    }

    /// <summary>After a change on this node (deploy, snapshot, recording): into the cluster's artifact and metadata
    /// stores, so that every worker serves the new version.</summary>
    private static async Task PublishAsync(HttpContext http, string name)
    {
        if (ClusterEndpoints.Of(http) is { } cluster)
            await cluster.Replicas.PublishAsync(name, http.RequestAborted);
    }

    private static ILogger Log(ILoggerFactory loggers) => loggers.CreateLogger("Snapfn.Daemon.Functions");

    internal static bool WantsJson(HttpRequest request) =>
        request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) && a.Quality is not 0);

    private static TimeSpan Timeout(double? seconds, TimeSpan fallback, DaemonOptions options)
    {
        if (seconds is null)
            return fallback < options.MaxTimeout ? fallback : options.MaxTimeout;
        if (!(seconds > 0) || seconds > options.MaxTimeout.TotalSeconds)
            throw new InvalidRequestException($"timeout must be a number of seconds above 0 and at most {options.MaxTimeout.TotalSeconds:0} (got {seconds})");
        return TimeSpan.FromSeconds(seconds.Value);
    }

    private static string Ms(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
