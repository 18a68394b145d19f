using System.Globalization;
using System.Text.Json;

namespace Snapfn.Bench;

/// <summary>How every report writes its numbers: results.json's settings, and the text of a figure that may be
/// missing (a mode that did not run: NaN).</summary>
public static class ReportFormat
{
    /// <summary>Indented, snake_case names (results.json's keys).</summary>
    public static JsonSerializerOptions Json { get; } = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The figure in <paramref name="format"/>, or "–" when there is none.</summary>
    public static string Figure(double value, string format = "0.00") =>
        double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "–";

    /// <summary>The figure, or null in JSON when there is none.</summary>
    public static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
