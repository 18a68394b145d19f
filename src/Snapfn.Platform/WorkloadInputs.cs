using System.Text;

namespace Snapfn.Platform;

/// <summary>The paper's two inputs per function: A records (reap, faasnap), B tests, so working-set drift counts.</summary>
public enum InputSet
{
    A,
    B,
}

/// <summary>
/// Where a function's inputs A and B come from: the test guests' are written here; the workloads' are the
/// files in guest/functions/&lt;name&gt;/inputs/, made deterministically by the generators that
/// guest/functions/WORKLOADS.md describes.
/// </summary>
public static class WorkloadInputs
{
    private static readonly Dictionary<string, (string A, string B)> _inline = new(StringComparer.Ordinal)
    {
        ["hello-world"] = ("""{"name":"Alice"}""", """{"name":"Bob"}"""),
        ["touch"] = ("""{"seed":1}""", """{"seed":2}"""),
    };

    public static bool Has(FunctionCatalog catalog, string function) =>
        _inline.ContainsKey(function) || InputFile(catalog, function, InputSet.A) is not null;

    public static byte[] Get(FunctionCatalog catalog, string function, InputSet set)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (_inline.TryGetValue(function, out var inline))
            return Encoding.UTF8.GetBytes(set == InputSet.A ? inline.A : inline.B);
        var file = InputFile(catalog, function, set)
            ?? throw new ArgumentException($"function '{function}' has no built-in input {set}; give one with --input");
        return File.ReadAllBytes(file);
    }

    private static string? InputFile(FunctionCatalog catalog, string function, InputSet set)
    {
        var folder = Path.Combine(catalog.GuestDirectory, "..", "functions", function, "inputs");
        if (!FunctionName.IsValid(function) || !Directory.Exists(folder))
            return null;
        var prefix = set == InputSet.A ? "a." : "b.";
        return Directory.EnumerateFiles(folder).Where(f => Path.GetFileName(f).StartsWith(prefix, StringComparison.Ordinal)).Order().FirstOrDefault();
    }
}
