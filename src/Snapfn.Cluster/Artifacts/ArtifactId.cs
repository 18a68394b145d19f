using System.Text.RegularExpressions;

namespace Snapfn.Cluster.Artifacts;

/// <summary>
/// An artifact's name in the manifests bucket: its role (code, state, memory, a recording's mode) and the SHA-256 of
/// its content, "state.3f2a…". Content-addressed, so publishing a file the cluster has is a no-op, and a manifest
/// is checked against the digest its id names; a key-value key allows these characters.
/// </summary>
public static partial class ArtifactId
{
    public static string Of(string role, string sha256)
    {
        var id = $"{role}.{sha256}";
        return IsValid(id) ? id : throw new ArgumentException($"'{role}' and '{sha256}' do not make an artifact id", nameof(role));
    }

    public static bool IsValid(string? id) => id is not null && Pattern().IsMatch(id);

    /// <summary>The SHA-256 an id names, or "" for something that is not an id.</summary>
    public static string DigestOf(string id) => IsValid(id) ? id[(id.LastIndexOf('.') + 1)..] : "";

    [GeneratedRegex(@"^[a-z][a-z0-9-]{0,31}\.[0-9a-f]{64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
