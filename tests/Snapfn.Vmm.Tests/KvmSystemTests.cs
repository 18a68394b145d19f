namespace Snapfn.Vmm.Tests;

/// <summary>What a user sees where KVM cannot be used (these need no KVM: they point at other paths).</summary>
public sealed class KvmSystemTests
{
    [Fact]
    public void A_missing_device_says_the_machine_has_no_KVM()
    {
        var e = Assert.Throws<KvmUnavailableException>(() => KvmSystem.Open("/nonexistent/kvm"));
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void A_file_that_is_not_KVM_is_named_as_such()
    {
        var path = Path.GetTempFileName();
        try
        {
            var e = Assert.Throws<KvmUnavailableException>(() => KvmSystem.Open(path));
            Assert.Contains("is not a KVM device", e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
