using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Snapfn.Interop;

namespace Snapfn.Linux.Roots;

/// <summary>One Debian package extracted into a root, and the SHA-256 of the .deb it came from.</summary>
public sealed record RootPackage(string Name, string Version, string Architecture, string Sha256);

/// <summary>
/// A finished root's manifest.json: what was asked for, exactly what was extracted, and whether the Python
/// bytecode was made. The root exists only once this file does (it is written last, then the folder renamed).
/// </summary>
public sealed record RootManifest
{
    public const string FileName = "manifest.json";
    public const int CurrentFormat = 1;

    /// <summary><see cref="Bytecode"/>: every python3.x in the root has its .pyc files.</summary>
    public const string BytecodeCompiled = "compiled";

    /// <summary><see cref="Bytecode"/>: compiling failed; <see cref="Notes"/> says why.</summary>
    public const string BytecodeFailed = "failed";

    /// <summary><see cref="Bytecode"/>: the root has no Python.</summary>
    public const string BytecodeNone = "none";

    private static readonly JsonSerializerOptions _json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public int Format { get; init; } = CurrentFormat;

    public required string Id { get; init; }

    /// <summary>The packages the root was asked for, sorted (its <see cref="RootKey"/>).</summary>
    public required IReadOnlyList<string> Requested { get; init; }

    /// <summary>The whole dependency closure, sorted by name.</summary>
    public required IReadOnlyList<RootPackage> Packages { get; init; }

    /// <summary><see cref="HashPackages"/> of <see cref="Packages"/>: equal for roots with the same contents.</summary>
    public required string PackagesSha256 { get; init; }

    /// <summary>The Debian suite the packages came from, e.g. bookworm.</summary>
    public required string Suite { get; init; }

    public required DateTimeOffset Created { get; init; }

    public string Bytecode { get; init; } = BytecodeNone;

    /// <summary>What a reader should know about this root, e.g. why its bytecode is missing.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>SHA-256 over one line "name version architecture sha256\n" per package, sorted by name.</summary>
    public static string HashPackages(IEnumerable<RootPackage> packages)
    {
        ArgumentNullException.ThrowIfNull(packages);
        var text = new StringBuilder();
        foreach (var p in packages.OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Architecture, StringComparer.Ordinal))
            text.Append(p.Name).Append(' ').Append(p.Version).Append(' ').Append(p.Architecture).Append(' ').Append(p.Sha256).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    public string ToJson() => JsonSerializer.Serialize(this, _json) + "\n";

    public static RootManifest Parse(string json, string path)
    {
        RootManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<RootManifest>(json, _json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path} is not a valid root manifest: {e.Message}", e);
        }
        if (manifest is null)
            throw new InvalidDataException($"{path} is empty");
        if (manifest.Format != CurrentFormat)
            throw new InvalidDataException($"{path} has format {manifest.Format}; this snapfn reads format {CurrentFormat}");
        if (manifest.PackagesSha256 != HashPackages(manifest.Packages))
            throw new InvalidDataException($"{path}: packages_sha256 does not match its package list");
        return manifest;
    }

    public static RootManifest Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Writes to a temporary name, flushes it to disk and renames it, so a crash leaves no torn manifest.</summary>
    public void Write(string path) => DurableFile.Replace(path, Encoding.UTF8.GetBytes(ToJson()));
}
