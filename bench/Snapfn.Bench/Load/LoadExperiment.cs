using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Snapfn.Bench.Cluster;
using Snapfn.Cluster;
using Snapfn.Platform;
using Snapfn.Vmm;

namespace Snapfn.Bench.Load;

/// <summary>
/// The load experiment (issue 21): a real <c>snapfn serve</c> in a fresh SNAPFN_HOME (its python roots linked to the
/// user's, as the cluster experiment's workers', <see cref="WorkerHome"/>), py-hello-world's folder deployed with
/// <c>snapfn deploy --server</c> as a user deploys it (the deploy takes the snapshot; nothing is recorded by hand),
/// then each level of <see cref="LoadSettings.Levels"/> clients by <see cref="LoadClient"/>, with the daemon's
/// /metrics read before, during and after. It needs guests: <see cref="RequireGuests"/> refuses before anything starts
/// on a machine without KVM, unless the emulated CPU was chosen (<c>SNAPFN_CPU=soft</c>), which makes the run a trial
/// labelled as such (<see cref="ExperimentCpu"/>). Whatever happens (an error, Ctrl-C), the daemon is stopped and its
/// home deleted.
/// </summary>
public sealed class LoadExperiment(LoadSettings requested, string snapfnDll, FunctionCatalog catalog)
{
    private static readonly TimeSpan _readyTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan _deployTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan _stopGrace = TimeSpan.FromSeconds(20);
    /// <summary>One /healthz, /metrics or /functions request: a daemon that takes the connection and never answers
    /// must not hold the run.</summary>
    private static readonly TimeSpan _probeTimeout = TimeSpan.FromSeconds(10);

    private readonly List<string> _notes = [];

    public bool Partial { get; private set; }

    /// <summary>What the machine must have before anything starts, and the CPU the guests will run on; a seam for tests.</summary>
    internal Func<ExperimentCpu> RequireMachine { get; init; } = RequireGuests;

    /// <summary>The CPU the daemon's guests will run on: KVM, or the emulated CPU when <c>SNAPFN_CPU=soft</c> chose it (a
    /// trial). Refuses, saying what is missing and naming <c>SNAPFN_CPU=soft</c>, on a machine without KVM otherwise.
    /// Nothing has been started when this throws.</summary>
    public static ExperimentCpu RequireGuests() =>
        KvmRequirement.RequireGuests("the load experiment", "the daemon it measures restores a micro-VM for every request");

    /// <summary>The command that starts the daemon: this CLI's <c>snapfn serve</c> on <paramref name="url"/>, in
    /// <paramref name="home"/>.</summary>
    public ProcessStartInfo DaemonCommand(string home, string url)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
        foreach (var arg in new[] { snapfnDll, "serve", "--listen", url })
            start.ArgumentList.Add(arg);
        Isolate(start, home);
        return start;
    }

    /// <summary>The command that deploys <paramref name="folder"/> to the daemon, as a user types it.</summary>
    public ProcessStartInfo DeployCommand(string home, string folder, string url, string token)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false };
        foreach (var arg in new[] { snapfnDll, "deploy", folder, "--server", url, "--token", token })
            start.ArgumentList.Add(arg);
        Isolate(start, home);
        return start;
    }

    private void Isolate(ProcessStartInfo start, string home)
    {
        start.Environment["SNAPFN_HOME"] = home;
        start.Environment["SNAPFN_GUEST_DIR"] = catalog.GuestDirectory;
        start.Environment.Remove("SNAPFN_SERVER");
        start.Environment.Remove("SNAPFN_TOKEN");
    }

    /// <summary>Runs the experiment in <paramref name="scratch"/> (the daemon's home and the function's folder, deleted
    /// when it ends). Cancelled (Ctrl-C), it stops at once and returns what the levels measured so far.</summary>
    public async Task<LoadRun> RunAsync(string scratch, string sharedHome, Action<string> progress, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(progress);
        var cpu = RequireMachine();
        // The emulated CPU's trial runs longer levels (LoadSettings.ForCpu says why); the settings it ran are recorded.
        var settings = requested.ForCpu(cpu);
        settings.Validate();
        if (cpu.Caveat is { } caveat)
            progress(caveat);
        Directory.CreateDirectory(scratch);
        var root = Directory.CreateDirectory(Path.Combine(Path.GetFullPath(scratch), $"load-{Guid.NewGuid():N}"[..13])).FullName;
        var home = Path.Combine(root, "home");
        var levels = new List<LoadLevelRun>();
        var deploy = new List<string>();
        WorkerProcess? daemon = null;
        using var http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = settings.Levels.Max() + 4,
            PooledConnectionLifetime = TimeSpan.FromMinutes(10),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        try
        {
            WorkerHome.Prepare(home, sharedHome);
            var url = $"http://127.0.0.1:{LoopbackPorts.Free(1)[0]}";
            progress($"starting snapfn serve on {url} with a fresh SNAPFN_HOME");
            daemon = WorkerProcess.Start(new WorkerSpec(0, "daemon", home, url, NatsUrls: ""), DaemonCommand(home, url));
            var baseUri = new Uri(url + "/");
            await daemon.WaitHealthyAsync(http, "snapfn serve", _readyTimeout, _probeTimeout, reason => new LoadRunException(reason), ct).ConfigureAwait(false);
            var token = (await File.ReadAllTextAsync(Path.Combine(home, "token"), ct).ConfigureAwait(false)).Trim();

            var folder = WriteFunctionFolder(root);
            progress($"snapfn deploy {settings.Function} (py-hello-world's code): the deploy takes the snapshot");
            deploy.AddRange(await DeployAsync(home, folder, url, token, ct).ConfigureAwait(false));
            using var function = await ReadFunctionAsync(http, baseUri, token, ct).ConfigureAwait(false);
            if (function?.RootElement.TryGetProperty("snapshot", out var snapshot) is not true || snapshot.ValueKind != JsonValueKind.Object)
                throw new LoadRunException($"the deploy of {settings.Function} took no snapshot, so every request would be refused: {string.Join(" / ", deploy)}");
            deploy.Add(Snapshot(snapshot));

            var client = new LoadClient(http, new Uri(baseUri, $"functions/{settings.Function}/invoke"), token, settings);
            foreach (var clients in settings.Levels)
            {
                progress(string.Create(CultureInfo.InvariantCulture,
                    $"{clients} client(s): {settings.Warmup.TotalSeconds:0.#} s warm-up, then {settings.Duration.TotalSeconds:0.#} s measured"));
                levels.Add(await RunLevelAsync(settings, http, client, baseUri, token, clients, ct).ConfigureAwait(false));
                if (ct.IsCancellationRequested)
                    break;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // What was measured is returned; nothing is left running below.
        }
        finally
        {
            Partial = ct.IsCancellationRequested;
            if (daemon is not null)
            {
                progress("stopping the daemon");
                if (daemon.HasExited)
                    Note($"the daemon had exited before the end of the run; its last lines: {daemon.Tail()}");
                await daemon.StopAsync(_stopGrace).ConfigureAwait(false);
                daemon.Dispose();
            }
            Delete(root);
        }
        return new LoadRun { Settings = settings, Cpu = cpu, Deploy = deploy, Levels = levels, Notes = _notes };
    }

    private async Task<LoadLevelRun> RunLevelAsync(LoadSettings settings, HttpClient http, LoadClient client, Uri baseUri, string token, int clients, CancellationToken ct)
    {
        var before = await ScrapeAsync(http, baseUri, token, ct).ConfigureAwait(false);
        double peakBusy = before?.Instance("busy") ?? 0, peakQueued = before?.Instance("queued") ?? 0;
        using var levelDone = CancellationTokenSource.CreateLinkedTokenSource(ct);
        // /metrics every ScrapeInterval while the clients run: the instance gauges have no peak of their own.
        var watcher = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    await Task.Delay(settings.ScrapeInterval, levelDone.Token).ConfigureAwait(false);
                    if (await ScrapeAsync(http, baseUri, token, levelDone.Token).ConfigureAwait(false) is { } now)
                    {
                        peakBusy = Math.Max(peakBusy, now.Instance("busy"));
                        peakQueued = Math.Max(peakQueued, now.Instance("queued"));
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // The level has ended.
            }
        }, CancellationToken.None);
        LoadLevelSamples samples;
        try
        {
            samples = await client.RunLevelAsync(clients, ct).ConfigureAwait(false);
        }
        finally
        {
            await levelDone.CancelAsync().ConfigureAwait(false);
            await watcher.ConfigureAwait(false);
        }
        var after = ct.IsCancellationRequested ? null : await ScrapeAsync(http, baseUri, token, ct).ConfigureAwait(false);
        if (after is not null)
        {
            peakBusy = Math.Max(peakBusy, after.Instance("busy"));
            peakQueued = Math.Max(peakQueued, after.Instance("queued"));
        }
        using var function = ct.IsCancellationRequested ? null : await ReadFunctionAsync(http, baseUri, token, ct).ConfigureAwait(false);
        return new LoadLevelRun(samples, before, after, peakBusy, peakQueued, function is null ? null : AutoRecording(function.RootElement));
    }

    /// <summary>The function's folder as <c>snapfn new</c> would have made it, with py-hello-world's code: its files,
    /// and a snapfn.json naming it <see cref="LoadSettings.Function"/> (py-hello-world is the built-in's name).</summary>
    private string WriteFunctionFolder(string root)
    {
        var source = Path.Combine(catalog.FunctionsDirectory, LoadSettings.SourceFunction);
        var folder = Path.Combine(root, requested.Function);
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.EnumerateFiles(source))
            File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
        // The built-in's snapfn.json has no name (a built-in is named by its folder); a user's folder must have one.
        var manifest = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(source, FunctionManifest.FileName)))?.AsObject()
            ?? throw new LoadRunException($"{source}/{FunctionManifest.FileName} is not a JSON object");
        manifest["name"] = requested.Function;
        File.WriteAllText(Path.Combine(folder, FunctionManifest.FileName), manifest.ToJsonString() + "\n");
        return folder;
    }

    private async Task<IReadOnlyList<string>> DeployAsync(string home, string folder, string url, string token, CancellationToken ct)
    {
        var start = DeployCommand(home, folder, url, token);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        using var process = Process.Start(start) ?? throw new LoadRunException($"could not start {start.FileName} for snapfn deploy");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_deployTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            throw new LoadRunException($"snapfn deploy did not finish within {_deployTimeout.TotalMinutes:0} min");
        }
        var lines = (await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (process.ExitCode != 0)
            throw new LoadRunException($"snapfn deploy exited with {process.ExitCode}: {string.Join(" / ", lines)}");
        return lines;
    }

    private static string Snapshot(JsonElement snapshot)
    {
        string Field(string name) => snapshot.TryGetProperty(name, out var v) ? v.ToString() : "?";
        return $"snapshot {Field("snapshot_id")}: {Field("data_pages")} data pages, {Field("memory_mib")} MiB of guest memory";
    }

    /// <summary>"recorded (first-invocation); recordings: faasnap, reap": the function's automatic recording state.</summary>
    internal static string AutoRecording(JsonElement function)
    {
        var recordings = function.TryGetProperty("recordings", out var list) && list.ValueKind == JsonValueKind.Array
            ? string.Join(", ", list.EnumerateArray().Select(r => r.TryGetProperty("mode", out var m) ? m.GetString() : null).Where(m => m is not null))
            : "";
        var state = "no automatic recording";
        if (function.TryGetProperty("auto_recording", out var auto) && auto.ValueKind == JsonValueKind.Object)
        {
            string? Text(string name) => auto.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            state = Text("state") ?? "?";
            if (Text("trigger") is { } trigger)
                state += $" ({trigger})";
            if (Text("reason") is { } reason)
                state += $": {reason}";
        }
        return $"{state}; recordings: {(recordings.Length == 0 ? "none" : recordings)}";
    }

    private async Task<string?> GetAsync(HttpClient http, Uri uri, string token, string what, CancellationToken ct)
    {
        try
        {
            using var probe = CancellationTokenSource.CreateLinkedTokenSource(ct);
            probe.CancelAfter(_probeTimeout);
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request, probe.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(probe.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
                return body;
            Note($"{what} answered HTTP {(int)response.StatusCode}: {(body.Length > 300 ? body[..300] + "…" : body)}");
        }
        catch (HttpRequestException e)
        {
            Note($"{what} could not be read: {e.Message}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            Note($"{what} did not answer within {_probeTimeout.TotalSeconds:0} s");
        }
        return null;
    }

    private async Task<DaemonReading?> ScrapeAsync(HttpClient http, Uri baseUri, string token, CancellationToken ct) =>
        await GetAsync(http, new Uri(baseUri, "metrics"), token, "/metrics", ct).ConfigureAwait(false) is { } text
            ? DaemonReading.Parse(text, requested.Function)
            : null;

    private async Task<JsonDocument?> ReadFunctionAsync(HttpClient http, Uri baseUri, string token, CancellationToken ct) =>
        await GetAsync(http, new Uri(baseUri, $"functions/{requested.Function}"), token, $"GET /functions/{requested.Function}", ct).ConfigureAwait(false) is { } text
            ? JsonDocument.Parse(text)
            : null;

    private static void Delete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // A file still being closed by the daemon that just stopped; the folder is under the results' scratch.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private void Note(string note)
    {
        lock (_notes)
            _notes.Add(note);
    }
}
