namespace Snapfn.Cluster;

/// <summary>Where Debian's <c>nats-server</c> is. Snapfn does not ship one: <c>scripts/nats-deps</c> installs the
/// Debian package (it puts the binary in /usr/sbin, which is not on every user's PATH).</summary>
public static class NatsServerBinary
{
    private static readonly string[] _fixed = ["/usr/sbin/nats-server", "/usr/bin/nats-server"];

    /// <summary>The path of nats-server, or null with <paramref name="reason"/> saying how to install it.</summary>
    public static string? Find(out string reason)
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "nats-server"));
        foreach (var candidate in onPath.Concat(_fixed))
        {
            if (File.Exists(candidate))
            {
                reason = "";
                return candidate;
            }
        }
        reason = "nats-server is not installed: run ./scripts/nats-deps (Debian's package nats-server), "
            + "or apt-get install nats-server";
        return null;
    }

    /// <summary>The path of nats-server; throws with what to do when it is missing.</summary>
    public static string Require() =>
        Find(out var reason) ?? throw new InvalidOperationException(reason);
}
