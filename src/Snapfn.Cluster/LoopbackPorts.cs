using System.Net;
using System.Net.Sockets;

namespace Snapfn.Cluster;

/// <summary>Free TCP ports on loopback, for the servers a test or the cluster bench starts.</summary>
public static class LoopbackPorts
{
    /// <summary><paramref name="count"/> ports from the kernel, all held open until all are chosen so that no two are
    /// the same. Another process may still take one before its server binds it; the servers then fail to start, loudly.</summary>
    public static List<int> Free(int count)
    {
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }
            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }
}
