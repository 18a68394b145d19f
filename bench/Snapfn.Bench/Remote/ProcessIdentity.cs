using System.Diagnostics;
using System.Globalization;

namespace Snapfn.Bench.Remote;

/// <summary>
/// A process named by its pid and its start time since boot: a pid alone may have been reused by the time a
/// later run looks at it, the pair may not.
/// </summary>
internal readonly record struct ProcessIdentity(int Id, long StartTicks)
{
    public static ProcessIdentity Self => new(Environment.ProcessId, StartTicksOf(Environment.ProcessId) ?? 0);

    /// <summary>True if this very process is still running (a zombie counts as gone).</summary>
    public bool IsAlive => Stat(Id) is { } stat && stat.StartTicks == StartTicks && stat.State != 'Z';

    /// <summary>Field 22 of /proc/PID/stat, or null if there is no such process.</summary>
    public static long? StartTicksOf(int id) => Stat(id)?.StartTicks;

    /// <summary>SIGKILL if it is still this process; true once it is gone.</summary>
    public bool Kill(TimeSpan timeout)
    {
        if (!IsAlive)
            return true;
        try
        {
            using var process = Process.GetProcessById(Id);
            process.Kill();
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            // Exited meanwhile.
        }
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (IsAlive && Stopwatch.GetTimestamp() < deadline)
            Thread.Sleep(10);
        return !IsAlive;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Id} {StartTicks}");

    public static ProcessIdentity? Parse(string text)
    {
        var parts = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length >= 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            ? new ProcessIdentity(id, ticks)
            : null;
    }

    private static (char State, long StartTicks)? Stat(int id)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{id.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        // The command name (field 2) is in parentheses and may hold spaces or ')': the fields after it start
        // after the last ')'. Field 3 is the state, field 22 the start time.
        var close = text.LastIndexOf(')');
        if (close < 0)
            return null;
        var fields = text[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 19 && fields[0].Length == 1 && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            ? (fields[0][0], ticks)
            : null;
    }
}
