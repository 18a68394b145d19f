using Snapfn.Fuzz;

namespace Snapfn.Fuzz.Tests;

/// <summary>The harnesses' scratch folders go where `scripts/fuzz` says, so that the script can delete them after
/// AFL, which never lets a harness dispose of its own.</summary>
public sealed class FuzzScratchTests : IDisposable
{
    private readonly string _run = Directory.CreateTempSubdirectory("snapfn-fuzz-run-test-").FullName;

    [Fact]
    public void A_harness_s_folder_is_made_inside_the_run_s_folder_the_script_names()
    {
        var folder = FuzzScratch.Create("zip", name => name == FuzzScratch.Variable ? _run : null);
        Assert.Equal(_run, Path.GetDirectoryName(folder));
        Assert.True(Directory.Exists(folder));
        Assert.EndsWith($"snapfn-fuzz-zip-{Environment.ProcessId}", folder, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_run_s_folder_it_goes_to_shared_memory()
    {
        var folder = FuzzScratch.Create($"test-{Guid.NewGuid():N}", _ => null);
        try
        {
            Assert.Equal(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.TrimEndingDirectorySeparator(Path.GetTempPath()), Path.GetDirectoryName(folder));
        }
        finally
        {
            Directory.Delete(folder);
        }
    }

    public void Dispose() => Directory.Delete(_run, recursive: true);
}
