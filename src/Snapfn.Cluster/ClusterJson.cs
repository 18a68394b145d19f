using System.Text.Json;
using System.Text.Json.Serialization;
using Snapfn.Cluster.Artifacts;

namespace Snapfn.Cluster;

/// <summary>How Snapfn writes and reads what it keeps in the cluster's key-value buckets (manifests, function records):
/// snake_case, no unknown fields (a record from another build fails loudly rather than losing a field), shallow.</summary>
internal static class ClusterJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        MaxDepth = 8,
    };

    /// <summary>Reads a document kept in a bucket, named <paramref name="what"/> in errors: one longer than a manifest may
    /// be is refused before it is parsed (<see cref="Platform.LimitExceededException"/>), a malformed or empty one with
    /// <see cref="ArtifactException"/> ending in <paramref name="remedy"/>. Its fields are the caller's to check.</summary>
    public static T Read<T>(ReadOnlySpan<byte> json, string what, ArtifactLimits limits, string remedy = "")
        where T : class
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (json.Length > limits.MaxManifestBytes)
            throw limits.ManifestTooLarge(what, json.Length);
        T? document;
        try
        {
            document = JsonSerializer.Deserialize<T>(json, Options);
        }
        catch (JsonException e)
        {
            throw new ArtifactException($"{what} is not valid: {e.Message}{remedy}", e);
        }
        return document ?? throw new ArtifactException($"{what} is empty{remedy}");
    }
}
