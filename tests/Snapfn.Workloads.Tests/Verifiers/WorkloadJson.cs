using System.Text.Json;

namespace Snapfn.Workloads.Tests.Verifiers;

/// <summary>
/// WORKLOADS.md's json, the C suite's: every member as written, duplicates included, and each number as its text.
/// A C function copies a number's characters through, so its text is what is compared and printed.
/// </summary>
public sealed class WorkloadJson : JsonDialect
{
    public static WorkloadJson Rules { get; } = new();

    private WorkloadJson()
    {
    }

    protected override IReadOnlyList<(string Name, JsonElement Value)> Members(JsonElement value) =>
        [.. value.EnumerateObject().Select(m => (m.Name, m.Value))];

    protected override void AssertSameNumber(JsonElement expected, JsonElement actual, string path) =>
        Assert.True(expected.GetRawText() == actual.GetRawText(), $"{path}: {actual.GetRawText()}, expected {expected.GetRawText()}");

    protected override string Number(JsonElement value) => value.GetRawText();
}
