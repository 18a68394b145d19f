using Snapfn.Linux.Roots;

namespace Snapfn.Linux.Tests.Roots;

public sealed class RootTreeTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("snapfn-tree-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void An_absolute_link_resolves_inside_the_root_not_on_the_host()
    {
        Directory.CreateDirectory(Path.Combine(_root, "lib", "x86_64-linux-gnu"));
        File.WriteAllText(Path.Combine(_root, "lib", "x86_64-linux-gnu", "ld-linux-x86-64.so.2"), "loader");
        Directory.CreateDirectory(Path.Combine(_root, "lib64"));
        File.CreateSymbolicLink(Path.Combine(_root, "lib64", "ld-linux-x86-64.so.2"), "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
        Directory.CreateSymbolicLink(Path.Combine(_root, "up"), "../../../..");

        Assert.Equal(Path.Combine(_root, "lib", "x86_64-linux-gnu", "ld-linux-x86-64.so.2"), RootTree.Resolve(_root, "/lib64/ld-linux-x86-64.so.2"));
        // ".." stops at the root, as in the guest.
        Assert.Equal(Path.Combine(_root, "lib64"), RootTree.Resolve(_root, "/up/lib64"));
        Assert.Null(RootTree.Resolve(_root, "/etc/passwd"));
    }

    [Fact]
    public void A_link_loop_does_not_resolve()
    {
        File.CreateSymbolicLink(Path.Combine(_root, "a"), "/b");
        File.CreateSymbolicLink(Path.Combine(_root, "b"), "/a");
        Assert.Null(RootTree.Resolve(_root, "/a"));
    }

    [Fact]
    public void Walks_do_not_follow_links_out_of_the_root()
    {
        File.WriteAllBytes(Path.Combine(_root, "file"), new byte[1000]);
        Directory.CreateSymbolicLink(Path.Combine(_root, "usr"), "/usr");
        Assert.Equal(1000, RootTree.Size(_root));
        Assert.Equal(2, RootTree.Entries(_root).Count());
    }

    [Fact]
    public async Task The_lock_waits_for_its_holder()
    {
        var path = Path.Combine(_root, "x.lock");
        var waited = new TaskCompletionSource();
        var cancel = TestContext.Current.CancellationToken;
        Task second;
        using (ExclusiveLock.Acquire(path, null, cancel))
        {
            second = Task.Run(() => ExclusiveLock.Acquire(path, waited.SetResult, cancel).Dispose(), cancel);
            await waited.Task.WaitAsync(TimeSpan.FromSeconds(10), cancel);
            Assert.False(second.IsCompleted);
        }
        await second.WaitAsync(TimeSpan.FromSeconds(10), cancel);
    }
}
