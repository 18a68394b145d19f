using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Snapfn.Bench;

/// <summary>What every report writes alike: results.json's settings and its leading fields (the experiment, the
/// command, the machine), report.md's heading, and the text of a figure that may be missing (a mode that did not
/// run: NaN).</summary>
public static class ReportFormat
{
    /// <summary>Indented, snake_case names (results.json's keys).</summary>
    public static JsonSerializerOptions Json { get; } = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The figure in <paramref name="format"/>, or "–" when there is none.</summary>
    public static string Figure(double value, string format = "0.00") =>
        double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "–";

    /// <summary>The figure, or null in JSON when there is none.</summary>
    public static double? Finite(double value) => double.IsFinite(value) ? value : null;

    /// <summary>Writes results.json: the experiment, the command line, whether it was interrupted and the machine's
    /// facts first, then <paramref name="body"/>'s own fields (snake_case, as everything else).</summary>
    public static void WriteJson(string path, string experiment, string commandLine, bool partial, MachineFacts machine, object body)
    {
        ArgumentNullException.ThrowIfNull(machine);
        var document = new JsonObject
        {
            ["experiment"] = experiment,
            ["command_line"] = commandLine,
            ["partial"] = partial,
            ["machine"] = machine.Description,
            ["snapshot_device"] = machine.SnapshotDevice,
            ["read_ahead_kb"] = machine.ReadAheadKb,
            ["small_pages"] = machine.SmallPages,
            ["full_memory_files"] = machine.FullMemoryFiles,
        };
        var fields = JsonSerializer.SerializeToNode(body, Json)!.AsObject();
        foreach (var (name, value) in fields.ToList())
        {
            fields.Remove(name);
            document[name] = value;
        }
        File.WriteAllText(path, document.ToJsonString(Json));
    }

    /// <summary>report.md's first lines: the title, whether the run was interrupted, the command and the machine.</summary>
    public static void Preamble(StringBuilder md, string title, string commandLine, bool interrupted, MachineFacts machine)
    {
        ArgumentNullException.ThrowIfNull(md);
        ArgumentNullException.ThrowIfNull(machine);
        md.AppendLine(CultureInfo.InvariantCulture, $"# {title}");
        md.AppendLine();
        if (interrupted)
            md.AppendLine("**Partial results: the run was interrupted.**\n");
        md.AppendLine(CultureInfo.InvariantCulture, $"- command: `{commandLine}`");
        md.AppendLine(CultureInfo.InvariantCulture, $"- machine: {machine.Line()}");
    }
}
