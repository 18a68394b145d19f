using Snapfn.Linux.Roots;

namespace Snapfn.Linux.Tests.Roots;

public sealed class RootKeyTests
{
    [Fact]
    public void Order_and_duplicates_do_not_change_the_key()
    {
        var a = RootKey.For(["python3", "python3-numpy"]);
        var b = RootKey.For(["python3-numpy", "python3", "python3-numpy"]);
        Assert.Equal(a, b);
        Assert.Equal(a.Id, b.Id);
        Assert.Equal(["python3", "python3-numpy"], b.Packages);
    }

    [Fact]
    public void Different_sets_have_different_ids()
    {
        Assert.NotEqual(RootKey.For(["python3"]).Id, RootKey.For(["python3", "python3-numpy"]).Id);
    }

    [Fact]
    public void The_id_is_the_first_16_hex_digits_of_sha256_over_the_layout_and_the_sorted_names()
    {
        // printf 'layout 3\npython3\npython3-numpy' | sha256sum
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("layout 3\npython3\npython3-numpy"u8))[..16];
        var key = RootKey.For(["python3-numpy", "python3"]);
        Assert.Equal(expected, key.Id);
        Assert.Matches("^[0-9a-f]{16}$", key.Id);
    }

    [Theory]
    [InlineData("Python3")]
    [InlineData("python*")]
    [InlineData("p")]
    [InlineData("-python3")]
    [InlineData("python3 ")]
    public void Names_that_apt_would_read_as_patterns_or_options_are_refused(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => RootKey.For([name]));
        Assert.Contains("not a Debian package name", e.Message);
    }

    [Fact]
    public void An_empty_list_is_refused()
    {
        Assert.Throws<ArgumentException>(() => RootKey.For([]));
    }

    [Fact]
    public void The_python_runtime_is_python3()
    {
        Assert.Same(Runtimes.Python, Runtimes.Find("python"));
        Assert.Equal(["python3"], Runtimes.Python.Packages);
        Assert.Equal(RootKey.For(["python3", "python3-numpy"]), Runtimes.Python.With(["python3-numpy"]).Key);
    }
}
