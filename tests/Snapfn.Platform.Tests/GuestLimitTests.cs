using Snapfn.Linux.Files;
using Snapfn.Linux.Roots;
using Snapfn.Snapshots;

namespace Snapfn.Platform.Tests;

/// <summary>The /tmp quota and the channel frame set in <see cref="FunctionServiceOptions.Guests"/> reach the process
/// options every VM of a Python function is started and restored with. No VM runs: the program's options are read.</summary>
public sealed class GuestLimitTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-guestlimits-");

    /// <summary>A home sharing the machine's python root (built once, as the Linux tests build it), with the
    /// built-in functions of guest/.</summary>
    private FunctionService Service(GuestLimits? guests)
    {
        var shared = ScriptFunctionHome.SharedState;
        new RootBuilder(shared).Ensure(Runtimes.Python);
        Directory.CreateSymbolicLink(Path.Combine(_dir.FullName, "roots"), Path.Combine(shared, "roots"));
        Directory.CreateSymbolicLink(Path.Combine(_dir.FullName, "apt"), Path.Combine(shared, "apt"));
        return new FunctionService(new SnapfnHome(_dir.FullName), FunctionCatalog.Default(),
            guests is null ? new FunctionServiceOptions() : new FunctionServiceOptions { Guests = guests });
    }

    private static Linux.ProcessOptions ProcessOf(FunctionService service) =>
        Assert.IsType<LinuxGuest>(service.Snapshots.Program(service.Get("py-hello-world").Info)).Process;

    [Fact]
    public void The_limits_set_for_the_service_are_the_process_options_of_its_python_functions()
    {
        var guests = new GuestLimits { Tmp = new TmpQuota(1L << 30, 123), MaxChannelFrameBytes = 48 << 20 };
        using var service = Service(guests);
        var process = ProcessOf(service);
        Assert.Equal(new TmpQuota(1L << 30, 123), process.TmpQuota);
        Assert.Equal(48 << 20, process.MaxChannelFrame);
    }

    [Fact]
    public void Without_a_setting_they_are_the_documented_defaults()
    {
        using var service = Service(null);
        var process = ProcessOf(service);
        Assert.Equal(TmpQuota.Default, process.TmpQuota);
        Assert.Equal(ChannelFile.DefaultMaxFrame, process.MaxChannelFrame);
    }

    [Fact]
    public void A_channel_frame_limit_out_of_range_is_refused_when_the_service_starts()
    {
        var home = new SnapfnHome(_dir.FullName);
        foreach (var bytes in new[] { 0, -1, GuestLimits.MaxChannelFrameCeiling + 1 })
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => new FunctionService(home, new FunctionCatalog(Path.Combine(_dir.FullName, "none")),
                new FunctionServiceOptions { Guests = new GuestLimits { MaxChannelFrameBytes = bytes } }));
            Assert.Contains("channel frame limit must be between 1 byte and 1024 MiB", e.Message, StringComparison.Ordinal);
        }
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
