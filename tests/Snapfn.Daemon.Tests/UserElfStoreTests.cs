using Snapfn.Platform;

namespace Snapfn.Daemon.Tests;

/// <summary>A deleted function's code folder goes with its last version, also when that version was still leased (a
/// background recording, an invocation) at the delete; a deploy of the same name meanwhile keeps its folder.</summary>
public sealed class UserElfStoreTests
{
    [Fact]
    public void A_deleted_functions_folder_goes_when_the_last_lease_on_its_code_ends()
    {
        using var home = new TempDirectory();
        var store = new UserElfStore(new SnapfnHome(home.Path));
        var path = store.Store("fn", "aa", [1, 2, 3]);
        var folder = Path.GetDirectoryName(path)!;

        var lease = store.Leases.Acquire(path);
        store.Prune("fn", keep: null);
        Assert.True(File.Exists(path)); // still in use

        lease.Dispose();
        Assert.False(File.Exists(path));
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public void A_deploy_of_the_same_name_before_the_lease_ends_keeps_its_folder()
    {
        using var home = new TempDirectory();
        var store = new UserElfStore(new SnapfnHome(home.Path));
        var old = store.Store("fn", "aa", [1]);
        var lease = store.Leases.Acquire(old);
        store.Prune("fn", keep: null);

        var redeployed = store.Store("fn", "bb", [2]);
        lease.Dispose();

        Assert.False(File.Exists(old));
        Assert.True(File.Exists(redeployed));
    }
}
