using System.Text;

namespace Snapfn.Bench.Remote;

/// <summary>One line of /proc/self/mounts, its octal escapes (\040 for a space) decoded.</summary>
public sealed record MountEntry(string Source, string MountPoint, string FileSystemType, string Options);

/// <summary>The mounts this process sees (its mount namespace), read from /proc/self/mounts.</summary>
public static class MountTable
{
    public static IReadOnlyList<MountEntry> Read() => Parse(File.ReadAllText("/proc/self/mounts"));

    /// <summary>The mount at exactly <paramref name="mountPoint"/> (the last one if stacked), or null.</summary>
    public static MountEntry? At(string mountPoint)
    {
        var path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(mountPoint));
        return Read().LastOrDefault(m => m.MountPoint == path);
    }

    /// <summary>The mounts strictly below <paramref name="directory"/>, deepest first (the order to unmount them in).</summary>
    public static IReadOnlyList<MountEntry> Below(string directory)
    {
        var prefix = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory)) + "/";
        return Read().Where(m => m.MountPoint.StartsWith(prefix, StringComparison.Ordinal))
            .OrderByDescending(m => m.MountPoint.Length).ToList();
    }

    public static IReadOnlyList<MountEntry> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var entries = new List<MountEntry>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            if (fields.Length >= 4)
                entries.Add(new MountEntry(Unescape(fields[0]), Unescape(fields[1]), Unescape(fields[2]), Unescape(fields[3])));
        }
        return entries;
    }

    /// <summary>The kernel writes space, tab, newline and backslash in a path as \ and three octal digits.</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
            return field;
        var bytes = new List<byte>(field.Length);
        var raw = Encoding.UTF8.GetBytes(field);
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\\' && i + 3 < raw.Length && IsOctal(raw[i + 1]) && IsOctal(raw[i + 2]) && IsOctal(raw[i + 3]))
            {
                bytes.Add((byte)(((raw[i + 1] - '0') << 6) | ((raw[i + 2] - '0') << 3) | (raw[i + 3] - '0')));
                i += 3;
            }
            else
            {
                bytes.Add(raw[i]);
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool IsOctal(byte b) => b is >= (byte)'0' and <= (byte)'7';
}
