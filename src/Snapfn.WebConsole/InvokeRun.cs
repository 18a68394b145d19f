using System.Globalization;
using System.Text.Json;

namespace Snapfn.WebConsole;

/// <summary>A part of an invocation's time, as the time-split bar draws it.</summary>
public sealed record TimePart(string Name, double Ms);

/// <summary>One invocation the Invoke page made: its answer, where its time went and the path that served it.</summary>
public sealed record InvokeRun(int Number, string Output, string OutputEncoding, string Served, double TotalMs, double WallMs,
    IReadOnlyList<TimePart> Parts, string? Degraded, IReadOnlyDictionary<string, double> Counters)
{
    public static InvokeRun From(int number, ApiAnswer answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var json = answer.Json is { ValueKind: JsonValueKind.Object } o ? o : default;
        string Text(string name) => json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : "";
        double Number(string name) => json.ValueKind == JsonValueKind.Object && json.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0;
        var counters = new Dictionary<string, double>(StringComparer.Ordinal);
        if (json.ValueKind == JsonValueKind.Object && json.TryGetProperty("counters", out var c) && c.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in c.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number))
                counters[p.Name] = p.Value.GetDouble();
        }
        var total = Number("total_ms");
        var served = Header(answer, "Snapfn-Path") ?? Header(answer, "Snapfn-Mode") ?? Text("mode");
        var degraded = Text("degraded");
        return new InvokeRun(number, Text("output"), Text("output_encoding"), served, total, answer.WallMs,
            Split(answer, Number("restore_ms"), Number("execute_ms"), total), degraded.Length > 0 ? degraded : null, counters);
    }

    /// <summary>The daemon's Server-Timing entries when it sends them (queue, restore's parts, execute); otherwise
    /// restore and execute from the answer, the rest of the daemon's total, and what the round trip added.</summary>
    internal static IReadOnlyList<TimePart> Split(ApiAnswer answer, double restore, double execute, double total)
    {
        var parts = new List<TimePart>();
        if (Header(answer, "Server-Timing") is { } timing)
        {
            foreach (var metric in timing.Split(','))
            {
                var fields = metric.Split(';', StringSplitOptions.TrimEntries);
                var dur = fields.Skip(1).FirstOrDefault(f => f.StartsWith("dur=", StringComparison.Ordinal));
                if (fields[0].Length > 0 && fields[0] != "total" &&
                    double.TryParse(dur?[4..], NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms >= 0)
                    parts.Add(new TimePart(fields[0], ms));
            }
            if (parts.Count > 0)
                return parts;
        }
        parts.Add(new TimePart("restore", restore));
        parts.Add(new TimePart("execute", execute));
        if (total - restore - execute > 0.01)
            parts.Add(new TimePart("other", total - restore - execute));
        if (answer.WallMs - total > 0.01)
            parts.Add(new TimePart("queue + HTTP", answer.WallMs - total));
        return parts;
    }

    private static string? Header(ApiAnswer answer, string name) =>
        answer.Headers is { } h && h.TryGetValues(name, out var values) ? string.Join(",", values) : null;
}
