using Snapfn.Snapshots.Recording;
using Snapfn.Vmm;

namespace Snapfn.Snapshots.Backends;

/// <summary>
/// Guest memory that starts empty (anonymous, registered with userfaultfd) and is filled page by page by a
/// <see cref="FaultServer"/> reading the snapshot memory file: the base of REAP's record and restore.
/// </summary>
public class UffdMemory : RestoredMemory
{
    protected UffdMemory(GuestMemory memory, UserFaultFd uffd, FaultServer server) : base(memory)
    {
        Uffd = uffd;
        Server = server;
        server.OnFailure = e => StopGuest($"serving a page from the snapshot failed: {e.Message}");
    }

    protected UserFaultFd Uffd { get; }

    protected FaultServer Server { get; }

    /// <summary>Registers <paramref name="target"/> (fresh anonymous memory: every first touch is a missing page)
    /// with userfaultfd and starts the server.</summary>
    protected static (GuestMemory Memory, UserFaultFd Uffd, FaultServer Server) Create(Snapshot snapshot, MemoryMapping target, bool logFaults)
    {
        SnapshotMapping.CheckTarget(snapshot, target);
        var uffd = new UserFaultFd(target.Address, target.Length);
        try
        {
            var server = new FaultServer(uffd, target.Address, target.Length, snapshot.MemoryPath, logFaults);
            // The VMM's pages are installed, not written: a host write to a missing page would wait for the server.
            return (new GuestMemory(target, uffd.Copy), uffd, server);
        }
        catch
        {
            uffd.Dispose();
            throw;
        }
    }

    public override void AfterRun() => Server.Stop();

    public override IReadOnlyDictionary<string, double> Counters => new Dictionary<string, double>
    {
        ["uffd_faults"] = Server.PagesServed,
        ["uffd_serve_ms"] = Server.ServeMilliseconds,
    };

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Server.Dispose();
            Uffd.Dispose();
        }
        base.Dispose(disposing);
    }
}
