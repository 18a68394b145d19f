using Snapfn.Linux.Roots;

namespace Snapfn.Linux.Tests.Roots;

/// <summary>Builds that cannot succeed say why and what to do, and leave no half root behind.</summary>
public sealed class RootFailureTests
{
    [Fact]
    public void A_package_that_does_not_exist_is_named()
    {
        DebianNetwork.Require();
        using var state = new TempState();
        var builder = new RootBuilder(state.Path);
        var e = Assert.Throws<RootBuildException>(() => builder.Ensure(["python3", "snapfn-no-such-package"], cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("snapfn-no-such-package", e.Message);
        Assert.DoesNotContain("python3,", e.Message);
        Assert.Contains("check the name", e.Message);
        Assert.Contains("network access to deb.debian.org", e.Message);
        Assert.Empty(state.Leftovers());
        Assert.False(builder.IsBuilt(["python3", "snapfn-no-such-package"]));
    }

    [Fact]
    public void An_unreachable_mirror_says_to_check_the_network_and_retry()
    {
        using var state = new TempState();
        // Port 9 (discard) on loopback: refused at once, no network needed.
        var sources = DebianSources.Bookworm with { Mirror = "http://127.0.0.1:9/debian", SecurityMirror = "http://127.0.0.1:9/debian-security" };
        var builder = new RootBuilder(state.Path, sources, acquireRetries: 0);
        var e = Assert.Throws<RootBuildException>(() => builder.Ensure(Runtimes.Python, cancellationToken: TestContext.Current.CancellationToken));
        Assert.StartsWith("could not download the Debian package lists from 127.0.0.1", e.Message);
        Assert.EndsWith("check network access to 127.0.0.1", e.Message);
        // The layer says what to check; the edge words how to repeat the request (CliErrors, Problem).
        Assert.True(e.Retryable);
        Assert.DoesNotContain("snapfn", e.Message);
        Assert.Empty(state.Leftovers());
    }

    [Fact]
    public void A_missing_keyring_is_named()
    {
        using var state = new TempState();
        var builder = new RootBuilder(state.Path, DebianSources.Bookworm with { Keyring = "/nonexistent/debian-archive-keyring.gpg" });
        var e = Assert.Throws<RootBuildException>(() => builder.Ensure(Runtimes.Python, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("/nonexistent/debian-archive-keyring.gpg not found", e.Message);
        Assert.Contains("install debian-archive-keyring", e.Message);
        Assert.Empty(state.Leftovers());
    }

    [Fact]
    public void A_cancelled_build_leaves_nothing()
    {
        using var state = new TempState();
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var builder = new RootBuilder(state.Path);
        Assert.ThrowsAny<OperationCanceledException>(() => builder.Ensure(Runtimes.Python, cancellationToken: cancel.Token));
        Assert.Empty(state.Leftovers());
    }
}
