using System.Text;

namespace Snapfn.Linux.Files;

/// <summary>Paths as the program sees them: absolute, '/'-separated, without "." or ".." components.</summary>
public static class GuestPath
{
    /// <summary>
    /// <paramref name="path"/> made absolute against <paramref name="directory"/> and normalised lexically ("..",
    /// ".", repeated slashes; ".." at "/" stays there). Lexical ".." differs from the kernel's only after a
    /// symlink; either way the result is resolved inside the root, so it can never leave it.
    /// </summary>
    public static string Combine(string directory, string path)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(path);
        var parts = new List<string>();
        if (!path.StartsWith('/'))
            Push(parts, directory);
        Push(parts, path);
        if (parts.Count == 0)
            return "/";
        var result = new StringBuilder();
        foreach (var part in parts)
            result.Append('/').Append(part);
        return result.ToString();
    }

    /// <summary>The parent directory and last component of a normalised path ("/" has none: null).</summary>
    public static (string Parent, string Name)? Split(string path)
    {
        if (path == "/")
            return null;
        var slash = path.LastIndexOf('/');
        return (slash == 0 ? "/" : path[..slash], path[(slash + 1)..]);
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="prefix"/> or inside it.</summary>
    public static bool IsUnder(string path, string prefix) =>
        prefix == "/" || path == prefix || path.StartsWith(prefix + "/", StringComparison.Ordinal);

    private static void Push(List<string> parts, string path)
    {
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".")
                continue;
            if (part == "..")
            {
                if (parts.Count > 0)
                    parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(part);
        }
    }
}
