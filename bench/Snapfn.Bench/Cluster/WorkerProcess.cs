using System.Diagnostics;
using System.Globalization;

namespace Snapfn.Bench.Cluster;

/// <summary>What one worker of the experiment is given: its id, its own SNAPFN_HOME, the address its HTTP API
/// (its front door) listens on, and the NATS cluster it joins.</summary>
public sealed record WorkerSpec(int Index, string Id, string Home, string ListenUrl, string NatsUrls);

/// <summary>
/// One worker process the experiment started (<c>snapfn serve --nats … --listen …</c>). Its output is kept, the last
/// <see cref="KeptLines"/> lines, for the report when it fails; <see cref="Kill"/> is the SIGKILL of a machine that
/// dies, <see cref="StopAsync"/> the SIGTERM of a service manager.
/// </summary>
public sealed class WorkerProcess : IDisposable
{
    public const int KeptLines = 200;

    private readonly Process _process;
    private readonly Queue<string> _lines = new();

    private WorkerProcess(WorkerSpec spec, Process process)
    {
        Spec = spec;
        _process = process;
        Pid = process.Id;
    }

    public WorkerSpec Spec { get; }

    public int Pid { get; }

    public bool HasExited => _process.HasExited;

    public static WorkerProcess Start(WorkerSpec spec, ProcessStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(start);
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName} for worker {spec.Id}");
        var worker = new WorkerProcess(spec, process);
        process.OutputDataReceived += (_, e) => worker.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    /// <summary>The last lines the worker wrote, for an error message.</summary>
    public string Tail(int lines = 10)
    {
        lock (_lines)
            return string.Join(Environment.NewLine, _lines.TakeLast(lines));
    }

    /// <summary>SIGKILL to the worker and anything it started: no drain, no goodbye, as a machine that loses power.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
                _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
    }

    /// <summary>SIGTERM, then SIGKILL if it has not stopped within <paramref name="grace"/>; returns when it has exited.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
            return;
        using (var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", Pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
        {
            if (term is not null)
                await term.WaitForExitAsync().ConfigureAwait(false);
        }
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Kill();
        }
        await WaitExitAsync().ConfigureAwait(false);
    }

    /// <summary>Waits until the process answers GET /healthz on its <see cref="WorkerSpec.ListenUrl"/> with 200, each
    /// probe bounded by <paramref name="probeTimeout"/> (a process that takes the connection and never answers must not
    /// hold the run). Throws what <paramref name="failed"/> makes of the reason — <paramref name="name"/> exited, or did
    /// not answer within <paramref name="readyTimeout"/> — with the process's last lines.</summary>
    public async Task WaitHealthyAsync(HttpClient http, string name, TimeSpan readyTimeout, TimeSpan probeTimeout,
        Func<string, Exception> failed, CancellationToken ct)
    {
        var waited = Stopwatch.StartNew();
        var healthz = new Uri(Spec.ListenUrl.TrimEnd('/') + "/healthz");
        while (true)
        {
            if (HasExited)
                throw failed($"{name} exited at start:{Environment.NewLine}{Tail()}");
            try
            {
                using var probe = CancellationTokenSource.CreateLinkedTokenSource(ct);
                probe.CancelAfter(probeTimeout);
                using var response = await http.GetAsync(healthz, probe.Token).ConfigureAwait(false);
                if (response.StatusCode == System.Net.HttpStatusCode.OK)
                    return;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // This probe went unanswered; the deadline below decides.
            }
            if (waited.Elapsed > readyTimeout)
                throw failed($"{name} did not answer /healthz within {readyTimeout.TotalSeconds:0} s:{Environment.NewLine}{Tail()}");
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Waits for the process to be gone (and reaped), however it ended.</summary>
    public Task WaitExitAsync() => _process.WaitForExitAsync();

    private void Keep(string? line)
    {
        if (line is null)
            return;
        lock (_lines)
        {
            _lines.Enqueue(line);
            while (_lines.Count > KeptLines)
                _lines.Dequeue();
        }
    }

    public void Dispose()
    {
        Kill();
        _process.WaitForExit();
        _process.Dispose();
    }
}
