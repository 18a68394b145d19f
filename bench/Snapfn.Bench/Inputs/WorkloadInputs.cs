using System.Collections.Concurrent;
using System.Text;
using Snapfn.Platform;

namespace Snapfn.Bench.Inputs;

/// <summary>The paper's two inputs per function: A records (reap, faasnap), B tests, so working-set drift counts.</summary>
public enum InputSet
{
    A,
    B,
}

/// <summary>
/// A function's inputs A and B, made here in C#, deterministically (the same bytes on every call): the test
/// guests' are written inline; the workloads' come from the generators in Inputs/, which follow
/// guest/functions/WORKLOADS.md. The files in guest/functions/&lt;name&gt;/inputs/ serve the native C tests only.
/// </summary>
public static class WorkloadInputs
{
    private static readonly Dictionary<string, (string A, string B)> _inline = new(StringComparer.Ordinal)
    {
        ["hello-world"] = ("""{"name":"Alice"}""", """{"name":"Bob"}"""),
        ["touch"] = ("""{"seed":1}""", """{"seed":2}"""),
    };

    private static readonly Dictionary<string, Func<InputSet, byte[]>> _generated = new(StringComparer.Ordinal)
    {
        ["read-list"] = ParameterInputs.ReadList,
        ["mmap"] = ParameterInputs.Mmap,
        ["json"] = JsonDocumentInputs.Json,
        ["aes"] = TextInputs.Aes,
        ["html"] = ParameterInputs.Html,
        ["matmul"] = ParameterInputs.Matmul,
        ["pagerank"] = ParameterInputs.Pagerank,
        ["compression"] = set => set == InputSet.A ? TextInputs.CompressionA() : JsonDocumentInputs.Json(InputSet.B),
        ["image"] = JpegInputs.Image,
        ["video"] = MotionJpegInputs.Video,
        ["recognition"] = JpegInputs.Recognition,
    };

    // The pictures take a moment to render and encode; the bench asks for each input more than once.
    private static readonly ConcurrentDictionary<(string, InputSet), Lazy<byte[]>> _made = new();

    /// <summary>The Python suite's functions (py-NAME) take the inputs of the C function NAME: the formats agree.</summary>
    public const string PythonPrefix = "py-";

    /// <summary>The Node.js suite's functions (node-NAME) take the inputs of the C function NAME, as the Python ones.</summary>
    public const string NodePrefix = "node-";

    /// <summary>The C functions the Node.js suite has written in JavaScript.</summary>
    public static IReadOnlyList<string> NodeFunctions { get; } = ["hello-world", "json"];

    /// <summary>The functions that have built-in inputs, in name order.</summary>
    public static IReadOnlyList<string> Functions { get; } =
        [.. _inline.Keys.Concat(_generated.Keys).SelectMany(name => new[] { name, PythonPrefix + name })
            .Concat(NodeFunctions.Select(name => NodePrefix + name)).Order(StringComparer.Ordinal)];

    /// <summary>The C function whose inputs <paramref name="function"/> takes.</summary>
    internal static string Source(string function) =>
        function.StartsWith(PythonPrefix, StringComparison.Ordinal) ? function[PythonPrefix.Length..]
        : function.StartsWith(NodePrefix, StringComparison.Ordinal) ? function[NodePrefix.Length..]
        : function;

    /// <summary>Whether <paramref name="function"/> has built-in inputs (it need not be in the catalog).</summary>
    public static bool Has(FunctionCatalog catalog, string function)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(function);
        function = Source(function);
        return _inline.ContainsKey(function) || _generated.ContainsKey(function);
    }

    /// <summary>Input <paramref name="set"/> of <paramref name="function"/>: a new array, the same bytes on every call.</summary>
    public static byte[] Get(FunctionCatalog catalog, string function, InputSet set)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(function);
        ArgumentOutOfRangeException.ThrowIfNotEqual(Enum.IsDefined(set), true, nameof(set));
        var source = Source(function);
        if (_inline.TryGetValue(source, out var inline))
            return Encoding.UTF8.GetBytes(set == InputSet.A ? inline.A : inline.B);
        if (!_generated.TryGetValue(source, out var generate))
            throw new ArgumentException($"function '{function}' has no built-in inputs (functions with inputs A and B: {string.Join(", ", Functions)}); give one with --input FILE");
        return [.. _made.GetOrAdd((source, set), key => new Lazy<byte[]>(() => generate(key.Item2))).Value];
    }
}
