namespace Snapfn.Linux.Roots;

/// <summary>
/// Where roots' packages come from. The project writes this sources list itself rather than using the host's,
/// so that a root does not depend on how the host is configured.
/// </summary>
public sealed record DebianSources(string Mirror, string SecurityMirror, string Suite, string Keyring)
{
    public static DebianSources Bookworm { get; } = new(
        "http://deb.debian.org/debian", "http://deb.debian.org/debian-security", "bookworm", "/usr/share/keyrings/debian-archive-keyring.gpg");

    /// <summary>The mirror's host name, for messages ("check network access to deb.debian.org").</summary>
    public string Host => Uri.TryCreate(Mirror, UriKind.Absolute, out var uri) ? uri.Host : Mirror;

    /// <summary>The suite, its updates and its security updates; component main only.</summary>
    public string SourcesList()
    {
        var options = $"[signed-by={Keyring}]";
        return $"""
            deb {options} {Mirror} {Suite} main
            deb {options} {Mirror} {Suite}-updates main
            deb {options} {SecurityMirror} {Suite}-security main

            """;
    }
}
