using System.ComponentModel;
using System.Diagnostics;

namespace Snapfn.Linux.Roots;

/// <summary>What a tool printed (stdout and stderr, interleaved as they arrived) and how it exited.</summary>
internal sealed record ToolResult(int ExitCode, IReadOnlyList<string> Output)
{
    /// <summary>apt's error lines without their "E: ".</summary>
    public IReadOnlyList<string> Errors => Output.Where(l => l.StartsWith("E: ", StringComparison.Ordinal)).Select(l => l[3..].Trim()).ToList();

    public string Tail(int lines) => string.Join('\n', Output.TakeLast(lines)).Trim();
}

/// <summary>Runs the Debian tools a build needs (apt-get, dpkg-deb, the root's own python), cancellably.</summary>
internal static class ToolProcess
{
    /// <summary>The tool's path on $PATH, or null: a missing tool is reported as such, not as a failed start.</summary>
    public static string? Find(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH");
        foreach (var dir in (string.IsNullOrEmpty(path) ? "/usr/bin:/bin" : path).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    public static ToolResult Run(string tool, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken,
        Action<ProcessStartInfo>? configure = null, Action<string>? onLine = null)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        configure?.Invoke(info);

        var output = new List<string>();
        using var process = new Process { StartInfo = info };
        // The two handlers run on different threads: one lock keeps the lines in order and onLine serialised.
        DataReceivedEventHandler received = (_, e) =>
        {
            if (e.Data is null)
                return;
            lock (output)
            {
                output.Add(e.Data);
                onLine?.Invoke(e.Data);
            }
        };
        process.OutputDataReceived += received;
        process.ErrorDataReceived += received;
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new RootBuildException($"could not run {tool}: {e.Message}", e);
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using (cancellationToken.Register(() => Kill(process)))
        {
            if (!process.WaitForExit(timeout))
            {
                Kill(process);
                process.WaitForExit();
                cancellationToken.ThrowIfCancellationRequested();
                throw new RootBuildException($"{Path.GetFileName(tool)} did not finish within {timeout.TotalMinutes:0} minutes; it was stopped");
            }
            // The parameterless wait also drains the redirected output.
            process.WaitForExit();
        }
        cancellationToken.ThrowIfCancellationRequested();
        lock (output)
            return new ToolResult(process.ExitCode, output.ToList());
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }
}
