using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Snapfn.Platform;

namespace Snapfn.Daemon;

/// <summary>
/// Where the daemon listens: an http:// URL (an IP address or localhost, and a port; 0 picks a free one) or a Unix
/// socket (unix:/path or an absolute path). Whether it is local decides whether requests need the bearer token.
/// </summary>
public sealed class ListenAddress
{
    private ListenAddress(string text, IPAddress? address, bool anyHost, int port, string? socketPath)
    {
        Text = text;
        Address = address;
        AnyHost = anyHost;
        Port = port;
        SocketPath = socketPath;
    }

    public string Text { get; }

    public IPAddress? Address { get; }

    /// <summary>localhost: both loopback addresses.</summary>
    public bool AnyHost { get; }

    public int Port { get; }

    public string? SocketPath { get; }

    /// <summary>Only this machine can connect: a loopback address, localhost, or a Unix socket (mode 0600).</summary>
    public bool IsLocal => SocketPath is not null || AnyHost || (Address is not null && IPAddress.IsLoopback(Address));

    public static ListenAddress Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.StartsWith("unix:", StringComparison.Ordinal) || text.StartsWith('/'))
        {
            var path = text.StartsWith("unix:", StringComparison.Ordinal) ? text["unix:".Length..] : text;
            if (!Path.IsPathFullyQualified(path))
                throw new InvalidRequestException($"--listen {text}: a Unix socket needs an absolute path (unix:/run/snapfn.sock)");
            return new ListenAddress(text, null, false, 0, path);
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.AbsolutePath != "/" || uri.Query.Length > 0)
            throw new InvalidRequestException($"--listen {text}: give http://ADDRESS:PORT (https is not served; put a proxy in front) or unix:/path/to.sock");
        // Uri fills in port 80 when none is given; a daemon should not land there by accident.
        var trimmed = text.TrimEnd('/');
        var port = trimmed[(trimmed.LastIndexOf(':') + 1)..];
        if (port.Length == 0 || !port.All(char.IsAsciiDigit))
            throw new InvalidRequestException($"--listen {text}: give the port, e.g. http://127.0.0.1:8080");
        if (uri.Host == "localhost")
            return new ListenAddress(text, null, true, uri.Port, null);
        var host = uri.Host.Trim('[', ']');
        if (host is "*" or "+")
            return new ListenAddress(text, IPAddress.IPv6Any, false, uri.Port, null);
        if (!IPAddress.TryParse(host, out var address))
            throw new InvalidRequestException($"--listen {text}: '{uri.Host}' is not an IP address; use 127.0.0.1, 0.0.0.0, [::1] or localhost");
        return new ListenAddress(text, address, false, uri.Port, null);
    }

    public void Apply(KestrelServerOptions kestrel)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        if (SocketPath is not null)
        {
            // A socket file left by a daemon that was killed would make the bind fail.
            if (File.Exists(SocketPath) && (File.GetAttributes(SocketPath) & FileAttributes.Directory) == 0)
                File.Delete(SocketPath);
            kestrel.ListenUnixSocket(SocketPath);
        }
        else if (AnyHost)
        {
            kestrel.ListenLocalhost(Port);
        }
        else
        {
            kestrel.Listen(Address!, Port);
        }
    }
}
