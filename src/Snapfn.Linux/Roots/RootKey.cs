using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Snapfn.Linux.Roots;

/// <summary>
/// What a root is built from: its packages sorted and de-duplicated, so that two functions listing the same set
/// in any order share one root. <see cref="Id"/> names the root's folder.
/// </summary>
public sealed partial class RootKey : IEquatable<RootKey>
{
    private RootKey(IReadOnlyList<string> packages, string id)
    {
        Packages = packages;
        Id = id;
    }

    public IReadOnlyList<string> Packages { get; }

    /// <summary>The first 16 hex digits of SHA-256 over the sorted names joined by '\n'.</summary>
    public string Id { get; }

    public static RootKey For(IEnumerable<string> packages)
    {
        ArgumentNullException.ThrowIfNull(packages);
        var sorted = packages.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (sorted.Length == 0)
            throw new ArgumentException("a runtime root needs at least one package", nameof(packages));
        foreach (var name in sorted)
        {
            // apt reads a name with '*', '?' or '[' as a pattern and installs whatever matches: only real names.
            if (!PackageName().IsMatch(name))
                throw new ArgumentException($"'{name}' is not a Debian package name (lower-case letters, digits and + - ., at least two characters)", nameof(packages));
        }
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(LayoutVersion + "\n" + string.Join('\n', sorted)));
        return new RootKey(sorted, Convert.ToHexStringLower(hash)[..16]);
    }

    /// <summary>Part of every id, so that a change to how roots are laid out (2: merged /usr; 3: alternatives)
    /// builds them anew.</summary>
    public const string LayoutVersion = "layout 3";

    public bool Equals(RootKey? other) => other is not null && other.Id == Id && other.Packages.SequenceEqual(Packages, StringComparer.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as RootKey);

    public override int GetHashCode() => Id.GetHashCode(StringComparison.Ordinal);

    public override string ToString() => $"{Id} ({string.Join(", ", Packages)})";

    /// <summary>Debian Policy §5.6.7.</summary>
    [GeneratedRegex("^[a-z0-9][a-z0-9+.-]+$")]
    private static partial Regex PackageName();
}
