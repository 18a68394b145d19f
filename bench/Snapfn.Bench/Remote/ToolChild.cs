using System.ComponentModel;
using System.Diagnostics;

namespace Snapfn.Bench.Remote;

/// <summary>
/// A long-running tool the storage started (the server, sshfs): its pid and kernel start time (which together
/// name it even after the pid is reused), and the last lines it printed, kept for the message if it fails.
/// </summary>
internal sealed class ToolChild : IDisposable
{
    private const int KeptLines = 40;

    private readonly Process _process;
    private readonly Queue<string> _lines = new();
    private readonly Func<string, bool>? _awaited;
    private readonly ManualResetEventSlim _sawAwaited = new();
    private string? _awaitedLine;

    private ToolChild(string name, Process process, Func<string, bool>? awaited)
    {
        Name = name;
        _process = process;
        _awaited = awaited;
    }

    public string Name { get; }

    public int Id => _process.Id;

    /// <summary>The process's start time in clock ticks since boot (/proc/PID/stat field 22).</summary>
    public long StartTicks { get; private set; }

    public bool HasExited => _process.HasExited;

    /// <summary>Starts the tool; <paramref name="awaited"/> picks a line <see cref="WaitForLine"/> waits for. A tool
    /// that cannot be started fails <paramref name="step"/>.</summary>
    public static ToolChild Start(string name, RemoteStorageStep step, ProcessStartInfo info, Func<string, bool>? awaited = null)
    {
        var process = new Process { StartInfo = info };
        var child = new ToolChild(name, process, awaited);
        process.OutputDataReceived += child.Received;
        process.ErrorDataReceived += child.Received;
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            process.Dispose();
            throw new RemoteStorageException(step, $"could not run {name} ({info.FileName}): {e.Message}", e);
        }
        child.StartTicks = ProcessIdentity.StartTicksOf(process.Id) ?? 0;
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The awaited line once printed; null if the tool exited first or <paramref name="timeout"/> passed.</summary>
    public string? WaitForLine(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_sawAwaited.Wait(TimeSpan.FromMilliseconds(20), cancellationToken))
                return _awaitedLine;
            if (_process.HasExited)
                return _sawAwaited.IsSet ? _awaitedLine : null;
        }
        return null;
    }

    public bool WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
            return false;
        // The parameterless wait drains the redirected output, so that Tail has the tool's last words.
        _process.WaitForExit();
        return true;
    }

    public int ExitCode => _process.ExitCode;

    /// <summary>SIGKILL and wait; true once it is gone.</summary>
    public bool Kill(TimeSpan timeout)
    {
        try
        {
            _process.Kill();
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
        return WaitForExit(timeout);
    }

    /// <summary>The last <paramref name="lines"/> lines the tool printed, or a note that it printed nothing.</summary>
    public string Tail(int lines = 8)
    {
        lock (_lines)
            return _lines.Count == 0 ? "(it printed nothing)" : string.Join('\n', _lines.TakeLast(lines)).Trim();
    }

    public void Dispose()
    {
        _process.Dispose();
        _sawAwaited.Dispose();
    }

    private void Received(object sender, DataReceivedEventArgs e)
    {
        if (e.Data is null)
            return;
        lock (_lines)
        {
            _lines.Enqueue(e.Data);
            if (_lines.Count > KeptLines)
                _lines.Dequeue();
        }
        if (_awaited is not null && !_sawAwaited.IsSet && _awaited(e.Data))
        {
            _awaitedLine = e.Data;
            _sawAwaited.Set();
        }
    }
}
