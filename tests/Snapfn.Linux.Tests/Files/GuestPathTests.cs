using Snapfn.Linux.Files;

namespace Snapfn.Linux.Tests.Files;

public sealed class GuestPathTests
{
    [Theory]
    [InlineData("/", "a/b", "/a/b")]
    [InlineData("/usr", "lib", "/usr/lib")]
    [InlineData("/usr/lib", "../bin//./python3", "/usr/bin/python3")]
    [InlineData("/usr", "/etc/../../..//x", "/x")]
    [InlineData("/tmp", "../../../../etc/passwd", "/etc/passwd")]
    [InlineData("/a", ".", "/a")]
    [InlineData("/", "..", "/")]
    public void Combine_normalises_and_never_climbs_above_the_root(string directory, string path, string expected) =>
        Assert.Equal(expected, GuestPath.Combine(directory, path));

    [Fact]
    public void Split_gives_parent_and_name()
    {
        Assert.Equal(("/tmp", "x"), GuestPath.Split("/tmp/x"));
        Assert.Equal(("/", "tmp"), GuestPath.Split("/tmp"));
        Assert.Null(GuestPath.Split("/"));
    }

    [Fact]
    public void IsUnder_matches_whole_components()
    {
        Assert.True(GuestPath.IsUnder("/tmp/a", "/tmp"));
        Assert.True(GuestPath.IsUnder("/tmp", "/tmp"));
        Assert.False(GuestPath.IsUnder("/tmpx", "/tmp"));
        Assert.True(GuestPath.IsUnder("/anything", "/"));
    }
}
