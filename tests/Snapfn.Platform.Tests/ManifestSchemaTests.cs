namespace Snapfn.Platform.Tests;

/// <summary>snapfn.json's one schema (<see cref="FunctionManifest"/>), read as a function folder's and as a Python
/// package's: the serving fields, sample_input, and errors that say what to fix.</summary>
public sealed class ManifestSchemaTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-manifest-");

    private const string Path_ = "/fn/snapfn.json";

    [Fact]
    public void The_serving_fields_and_the_sample_input_are_read_in_both_places()
    {
        const string json = """{"name": "counter", "runtime": "python", "keep_state": true, "max_instances": 4, "sample_input": "samples/a.json"}""";
        var project = FunctionManifest.Parse(json, Path_);
        var package = FunctionManifest.ParsePackage(json, Path_);
        foreach (var manifest in new[] { project, package })
        {
            Assert.True(manifest.KeepState);
            Assert.Equal(4, manifest.MaxInstances);
            Assert.Equal("samples/a.json", manifest.SampleInput);
            Assert.Equal(new FunctionSettings { KeepState = true, MaxInstances = 4 }, manifest.Settings);
        }
        var plain = FunctionManifest.ParsePackage("""{"runtime": "python"}""", Path_);
        Assert.Equal(FunctionSettings.Default, plain.Settings);
        Assert.Null(plain.Name);
        // Written back as read: the defaults are left out, the rest round-trips.
        Assert.Equal(project, FunctionManifest.Parse(project.ToJson(), Path_));
        Assert.DoesNotContain("keep_state", new FunctionManifest { Name = "x" }.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public void Retryable_is_true_unless_the_function_says_false_and_is_written_only_when_given()
    {
        var plain = FunctionManifest.ParsePackage("""{"runtime": "python"}""", Path_);
        var once = FunctionManifest.ParsePackage("""{"runtime": "python", "retryable": false}""", Path_);

        Assert.True(plain.IsRetryable);
        Assert.False(once.IsRetryable);
        Assert.True(FunctionManifest.Parse("""{"name": "fn", "retryable": true}""", Path_).IsRetryable);
        Assert.DoesNotContain("retryable", new FunctionManifest { Name = "x" }.ToJson(), StringComparison.Ordinal);
        Assert.Equal(once, FunctionManifest.ParsePackage(once.ToJson(), Path_));
    }

    public static TheoryData<string, string> WrongFields => new()
    {
        { """{"runtime": "python", "keep_state": "yes"}""", "\"keep_state\" must be true or false, not a string" },
        { """{"runtime": "python", "max_instances": 0}""", "\"max_instances\" must be a whole number between 1 and 256, not a number" },
        { """{"runtime": "python", "max_instances": 257}""", "between 1 and 256" },
        { """{"runtime": "python", "max_instances": 2.5}""", "between 1 and 256" },
        { """{"runtime": "python", "sample_input": "../secret"}""", "\"sample_input\" must be the path of a file in the function's folder" },
        { """{"runtime": "python", "sample_input": "/etc/passwd"}""", "the path of a file in the function's folder" },
        { """{"runtime": "python", "sample_input": 3}""", "the path of a file in the function's folder" },
        { """{"runtime": "python", "keepstate": true}""", "unknown field \"keepstate\": its fields are name, runtime, memory_mib, description, packages, keep_state, max_instances, retryable, sample_input" },
        { """{"runtime": "python", "retryable": "no"}""", "\"retryable\" must be true or false, not a string" },
        { """{"runtime": "ruby"}""", "\"runtime\" must be \"python\" or \"node\", not \"ruby\"" },
        { """{"runtime": "python", "packages": "python3-numpy"}""", "\"packages\" must be a list of Debian package names, not a string" },
        { """{"runtime": "python", "name": "Not A Name"}""", "'Not A Name' is not a valid function name" },
    };

    [Theory]
    [MemberData(nameof(WrongFields))]
    public void A_wrong_field_is_refused_naming_the_file_the_field_and_what_it_must_be(string json, string says)
    {
        var e = Assert.Throws<InvalidRequestException>(() => FunctionManifest.ParsePackage(json, Path_));
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
        Assert.Contains(Path_, e.Message, StringComparison.Ordinal);
        // The same check in a function folder, as the folder's error.
        if (!json.Contains("ruby", StringComparison.Ordinal))
            Assert.Contains(says, Assert.Throws<FunctionProjectException>(() => FunctionManifest.Parse(json.Replace("{", """{"name": "fn", """, StringComparison.Ordinal), Path_)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_function_folder_needs_a_name_and_a_runtime_of_c_python_or_node()
    {
        Assert.Contains("has no \"name\"", Assert.Throws<FunctionProjectException>(() => FunctionManifest.Parse("""{"runtime": "c"}""", Path_)).Message, StringComparison.Ordinal);
        Assert.Contains("\"runtime\" must be \"c\", \"python\" or \"node\", not \"go\"",
            Assert.Throws<FunctionProjectException>(() => FunctionManifest.Parse("""{"name": "fn", "runtime": "go"}""", Path_)).Message, StringComparison.Ordinal);
        Assert.Equal(FunctionManifest.NativeRuntime, FunctionManifest.Parse("""{"name": "fn"}""", Path_).Runtime);
        var node = FunctionManifest.Parse("""{"name": "fn", "runtime": "node"}""", Path_);
        Assert.True(node.IsScript);
        Assert.Equal(ScriptRuntime.Node, ScriptFunction.LanguageOf(node));
        Assert.False(FunctionManifest.Parse("""{"name": "fn"}""", Path_).IsScript);
        Assert.Equal(ScriptRuntime.Python, ScriptFunction.LanguageOf(FunctionManifest.ParsePackage("{}", Path_)));
    }

    [Fact]
    public void The_sample_input_is_read_from_the_folder_within_its_bound()
    {
        var folder = _dir.FullName;
        Directory.CreateDirectory(Path.Combine(folder, "samples"));
        File.WriteAllText(Path.Combine(folder, "samples", "a.json"), """{"name": "Ada"}""");
        var manifest = FunctionManifest.ParsePackage("""{"runtime": "python", "sample_input": "samples/a.json"}""", Path_);
        Assert.Equal("""{"name": "Ada"}"""u8.ToArray(), manifest.ReadSampleInput(folder));
        Assert.Null(FunctionManifest.ParsePackage("""{"runtime": "python"}""", Path_).ReadSampleInput(folder));

        var missing = manifest with { SampleInput = "samples/none.json" };
        Assert.Contains("which is not a file of the function's folder", Assert.Throws<InvalidRequestException>(() => missing.ReadSampleInput(folder)).Message, StringComparison.Ordinal);
        File.WriteAllBytes(Path.Combine(folder, "big.bin"), new byte[FunctionManifest.MaxSampleInputBytes + 1]);
        var big = manifest with { SampleInput = "big.bin" };
        Assert.Contains("more than the 1048576", Assert.Throws<InvalidRequestException>(() => big.ReadSampleInput(folder)).Message, StringComparison.Ordinal);
        File.CreateSymbolicLink(Path.Combine(folder, "link.json"), "/etc/hostname");
        var link = manifest with { SampleInput = "link.json" };
        Assert.Throws<InvalidRequestException>(() => link.ReadSampleInput(folder));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
