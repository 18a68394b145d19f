using System.Text.Json;

namespace Snapfn.WebConsole;

/// <summary>A function as the Functions page shows it, from GET /functions and the invocation log.</summary>
public sealed record FunctionRow
{
    public required string Name { get; init; }
    public required string Kind { get; init; }
    public required string Runtime { get; init; }
    public required string Version { get; init; }
    public required int MemoryMib { get; init; }
    public DateTimeOffset? RegisteredAt { get; init; }
    public long? SnapshotBytes { get; init; }
    public DateTimeOffset? SnapshotTakenAt { get; init; }
    public required IReadOnlyList<string> Recordings { get; init; }
    public required IReadOnlyDictionary<string, LatencySummary> ByMode { get; init; }
    /// <summary>Whatever else the API says about the function (instances once the serving side reports them), so
    /// that a column can be added without touching the parsing.</summary>
    public required JsonElement Raw { get; init; }

    public static IReadOnlyList<FunctionRow> Parse(JsonElement? functions, IReadOnlyList<LoggedInvocation> log)
    {
        if (functions is not { ValueKind: JsonValueKind.Array } array)
            return [];
        var byFunction = log.GroupBy(i => i.Function).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var rows = new List<FunctionRow>();
        foreach (var f in array.EnumerateArray())
        {
            static string Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : "";
            var name = Text(f, "name");
            var snapshot = f.TryGetProperty("snapshot", out var s) && s.ValueKind == JsonValueKind.Object ? s : (JsonElement?)null;
            var recordings = f.TryGetProperty("recordings", out var r) && r.ValueKind == JsonValueKind.Array
                ? r.EnumerateArray().Select(x => Text(x, "mode")).Where(m => m.Length > 0).ToList() : [];
            var invocations = byFunction.GetValueOrDefault(name) ?? [];
            rows.Add(new FunctionRow
            {
                Name = name,
                Kind = Text(f, "kind"),
                Runtime = Text(f, "runtime") is { Length: > 0 } runtime ? runtime : "?",
                Version = Text(f, "elf_sha256") is { Length: >= 12 } sha ? sha[..12] : Text(f, "elf_sha256"),
                MemoryMib = f.TryGetProperty("memory_mib", out var m) && m.TryGetInt32(out var mib) ? mib : 0,
                RegisteredAt = f.TryGetProperty("registered_at", out var at) && at.TryGetDateTimeOffset(out var registered) ? registered : null,
                SnapshotBytes = snapshot is { } sn && sn.TryGetProperty("allocated_bytes", out var b) && b.TryGetInt64(out var bytes) ? bytes : null,
                SnapshotTakenAt = snapshot is { } st && st.TryGetProperty("taken_at", out var t) && t.TryGetDateTimeOffset(out var taken) ? taken : null,
                Recordings = recordings,
                ByMode = invocations.GroupBy(i => i.Mode).OrderBy(g => g.Key, StringComparer.Ordinal)
                    .ToDictionary(g => g.Key, g => LatencySummary.Of(g), StringComparer.Ordinal),
                Raw = f.Clone(),
            });
        }
        return rows;
    }
}

/// <summary>How pages write sizes, ages and times.</summary>
public static class Show
{
    public static string Bytes(long? bytes) => bytes switch
    {
        null => "—",
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{bytes / 1024.0:0.#} KiB",
        < 1L << 30 => $"{bytes / (1024.0 * 1024):0.#} MiB",
        _ => $"{bytes / (1024.0 * 1024 * 1024):0.##} GiB",
    };

    public static string Age(DateTimeOffset? at, DateTimeOffset now)
    {
        if (at is null)
            return "—";
        var age = now - at.Value;
        return age.TotalSeconds < 90 ? $"{Math.Max(0, age.TotalSeconds):0} s ago"
            : age.TotalMinutes < 90 ? $"{age.TotalMinutes:0} min ago"
            : age.TotalHours < 48 ? $"{age.TotalHours:0} h ago"
            : $"{age.TotalDays:0} days ago";
    }

    public static string Ms(double? ms) => ms switch
    {
        null => "—",
        < 10 => $"{ms:0.00} ms",
        < 1000 => $"{ms:0.0} ms",
        _ => $"{ms / 1000:0.00} s",
    };
}
