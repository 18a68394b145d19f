using Snapfn.Platform.AutoRecording;

namespace Snapfn.Platform.Tests;

/// <summary>The sample input a snapfn.json may name: a file of the function's own folder, nothing else (the folder
/// and its snapfn.json come from a client).</summary>
public sealed class SampleInputTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-sample-");

    private string Folder(string manifest, params (string Name, string Text)[] files)
    {
        File.WriteAllText(Path.Combine(_dir.FullName, "snapfn.json"), manifest);
        foreach (var (name, text) in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(_dir.FullName, name))!);
            File.WriteAllText(Path.Combine(_dir.FullName, name), text);
        }
        return _dir.FullName;
    }

    [Fact]
    public void A_declared_file_of_the_folder_is_read_and_none_declared_is_null()
    {
        Assert.Equal("{\"n\": 3}"u8.ToArray(), SampleInput.Read(Folder("""{"runtime": "python", "sample_input": "in/a.json"}""", ("in/a.json", "{\"n\": 3}")), 100));
        Assert.Null(SampleInput.Read(Folder("""{"runtime": "python"}"""), 100));
        Assert.Null(SampleInput.Read(Path.Combine(_dir.FullName, "no-manifest-here"), 100));
    }

    [Theory]
    [InlineData("""{"sample_input": "../x"}""", "inside the function's folder")]
    [InlineData("""{"sample_input": "a/./b"}""", "inside the function's folder")]
    [InlineData("""{"sample_input": "/etc/passwd"}""", "relative path")]
    [InlineData("""{"sample_input": ""}""", "relative path")]
    [InlineData("""{"sample_input": 3}""", "must be a string")]
    [InlineData("""{"sample_input": "nothing.json"}""", "not a file in the function's folder")]
    [InlineData("""{"sample_input": "big.json"}""", "more than the 4 an input may be")]
    public void A_declaration_that_does_not_name_a_small_file_of_the_folder_is_refused_saying_why(string manifest, string expected)
    {
        var folder = Folder(manifest, ("big.json", "12345"));
        var e = Assert.Throws<InvalidRequestException>(() => SampleInput.Read(folder, 4));
        Assert.Contains("sample_input", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_symbolic_link_out_of_the_folder_is_refused()
    {
        var folder = Folder("""{"sample_input": "link/passwd"}""");
        Directory.CreateSymbolicLink(Path.Combine(folder, "link"), "/etc");
        var e = Assert.Throws<InvalidRequestException>(() => SampleInput.Read(folder, 1 << 20));
        Assert.Contains("symbolic link", e.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
