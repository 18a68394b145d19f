namespace Snapfn.Bench.Tests;

public sealed class MachineEffectsTests
{
    [Fact]
    public void Setting_the_read_ahead_puts_the_old_value_back_on_dispose()
    {
        var queue = Directory.CreateTempSubdirectory("snapfn-queue-").FullName;
        try
        {
            var device = new StorageDevice("fake", queue);
            File.WriteAllText(device.ReadAheadPath, "8192\n");
            using (MachineEffects.SetReadAhead(device, 128))
                Assert.Equal(128, device.ReadAheadKb);
            Assert.Equal(8192, device.ReadAheadKb);
            Assert.Throws<ArgumentOutOfRangeException>(() => MachineEffects.SetReadAhead(device, -1));
            Assert.Equal(8192, device.ReadAheadKb);
        }
        finally
        {
            Directory.Delete(queue, recursive: true);
        }
    }

    [Fact]
    public void A_path_on_a_pseudo_file_system_has_no_device()
    {
        Assert.Null(MachineEffects.DeviceOf("/proc/self"));
        Assert.Null(MachineEffects.DeviceOf("/sys/kernel"));
    }

    [Fact]
    public void A_path_that_does_not_exist_yet_is_on_the_device_of_its_nearest_folder()
    {
        var here = MachineEffects.DeviceOf(AppContext.BaseDirectory);
        var below = MachineEffects.DeviceOf(Path.Combine(AppContext.BaseDirectory, "no", "such", "folder"));
        Assert.Equal(here, below);
        if (here is not null)
            Assert.True(File.Exists(here.ReadAheadPath), here.ReadAheadPath);
    }

    [Fact]
    public void The_facts_line_states_the_read_ahead_when_the_device_is_known()
    {
        var facts = new MachineFacts("2 cores", "vda", 8192, SmallPages: true);
        Assert.Contains("read_ahead_kb 8192", facts.Line(), StringComparison.Ordinal);
        Assert.Contains("huge pages off", facts.Line(), StringComparison.Ordinal);
        Assert.Contains("no read-ahead stated", (facts with { SnapshotDevice = null, ReadAheadKb = null }).Line(), StringComparison.Ordinal);
    }
}
