using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Snapfn.Platform;

namespace Snapfn.Cluster.Serving;

/// <summary>
/// A worker's stable id: a NATS subject token (lower-case letters, digits, inner dashes), made once from the host name
/// and six random hex digits and kept in <c>$SNAPFN_HOME/worker-id</c>, so that a restarted worker is the same worker
/// (its placement entries and log lines keep their name) while two workers on one host (two homes) differ.
/// </summary>
public static partial class WorkerId
{
    public const string FileName = "worker-id";

    public static bool IsValid(string id) => id is { Length: > 0 and <= 64 } && Pattern().IsMatch(id);

    /// <summary>The id in <paramref name="home"/>, made and written (temporary name, flush, rename) on first use.</summary>
    public static string LoadOrCreate(SnapfnHome home)
    {
        ArgumentNullException.ThrowIfNull(home);
        var path = Path.Combine(home.Path, FileName);
        if (File.Exists(path))
        {
            var kept = File.ReadAllText(path).Trim();
            if (!IsValid(kept))
                throw new InvalidOperationException($"{path} holds no usable worker id ('{kept}'): delete it and start again to make a new one");
            return kept;
        }
        Directory.CreateDirectory(home.Path);
        var id = FromHost(Environment.MachineName);
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            file.Write(System.Text.Encoding.ASCII.GetBytes(id + "\n"));
            file.Flush(flushToDisk: true);
        }
        try
        {
            // Another worker on the same home may have made one first: the first rename wins, both read it back.
            File.Move(temporary, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temporary);
        }
        return File.ReadAllText(path).Trim();
    }

    /// <summary>The host name folded into a subject token, with a random suffix.</summary>
    internal static string FromHost(string host)
    {
        var folded = Unsafe().Replace((host ?? "").ToLowerInvariant(), "-").Trim('-');
        if (folded.Length > 48)
            folded = folded[..48].Trim('-');
        var suffix = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        return folded.Length == 0 ? $"worker-{suffix}" : $"{folded}-{suffix}";
    }

    [GeneratedRegex("^[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex Pattern();

    [GeneratedRegex("[^a-z0-9]+")]
    private static partial Regex Unsafe();
}
