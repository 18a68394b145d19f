using System.Text.Json;
using System.Text.Json.Serialization;

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
}
