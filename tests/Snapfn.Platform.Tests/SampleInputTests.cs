namespace Snapfn.Platform.Tests;

/// <summary>The sample input a snapfn.json may name is a file of the function's own folder, nothing else (the folder
/// and its snapfn.json come from a client). Its shape, size and missing file: <see cref="ManifestSchemaTests"/>.</summary>
public sealed class SampleInputTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-sample-");

    [Fact]
    public void A_folder_on_the_way_that_is_a_symbolic_link_out_of_the_function_folder_is_refused()
    {
        Directory.CreateSymbolicLink(Path.Combine(_dir.FullName, "link"), "/etc");
        var manifest = FunctionManifest.ParsePackage("""{"runtime": "python", "sample_input": "link/passwd"}""", "snapfn.json");
        var e = Assert.Throws<InvalidRequestException>(() => manifest.ReadSampleInput(_dir.FullName));
        Assert.Contains("symbolic link", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_in_a_plain_subfolder_is_read()
    {
        Directory.CreateDirectory(Path.Combine(_dir.FullName, "in"));
        File.WriteAllText(Path.Combine(_dir.FullName, "in", "a.json"), "{\"n\": 3}");
        var manifest = FunctionManifest.ParsePackage("""{"runtime": "python", "sample_input": "in/a.json"}""", "snapfn.json");
        Assert.Equal("{\"n\": 3}"u8.ToArray(), manifest.ReadSampleInput(_dir.FullName));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
