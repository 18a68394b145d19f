using Snapfn.Linux.Roots;

namespace Snapfn.Platform.Tests;

/// <summary>Issue 24: a function folder in either script language (Python, Node.js) goes through one code path: the
/// template `snapfn new` copies, the package a deploy sends, the language its snapfn.json names, the built-in
/// functions. Without KVM: nothing here boots a guest.</summary>
public sealed class ScriptFunctionTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-script-");

    public void Dispose() => _dir.Delete(recursive: true);

    public static TheoryData<string, string, string> Languages => new()
    {
        { "python", "main.py", "__pycache__/\n" },
        { "node", "index.js", "node_modules/\n" },
    };

    [Theory]
    [MemberData(nameof(Languages))]
    public void Snapfn_new_makes_a_folder_of_the_language_that_reads_back_as_it(string runtime, string main, string ignored)
    {
        var project = FunctionProject.Create(Path.Combine(_dir.FullName, "fn"), "greeter", GuestSdk.Default(), runtime);
        Assert.True(project.Manifest.IsScript);
        Assert.Equal(runtime, project.Manifest.Runtime);
        Assert.True(File.Exists(Path.Combine(project.Directory, main)));
        Assert.Equal(ignored, File.ReadAllText(Path.Combine(project.Directory, ".gitignore")));
        Assert.Equal(runtime, ScriptFunction.LanguageOrNull(project.Directory)?.Name);
        Assert.Equal(runtime, ScriptFunction.Language(project.Directory).Name);
        Assert.Equal(ScriptRuntime.Find(runtime)!.Root.Packages, ScriptFunction.Runtime(project.Directory).Packages);

        // The package a deploy sends unpacks into the same folder.
        var target = Path.Combine(_dir.FullName, "unpacked");
        FunctionPackage.Unpack(FunctionPackage.Pack(project.Directory), target);
        Assert.Equal(runtime, ScriptFunction.LanguageOrNull(target)?.Name);
    }

    [Fact]
    public void A_runtime_that_is_not_a_language_is_refused_naming_the_ones_there_are()
    {
        var e = Assert.Throws<InvalidRequestException>(() => FunctionProject.Create(Path.Combine(_dir.FullName, "x"), "x", GuestSdk.Default(), "ruby"));
        Assert.Contains("c, python, node", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_is_a_script_function_only_with_its_languages_main_file()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, "f")).FullName;
        File.WriteAllText(Path.Combine(folder, "snapfn.json"), """{"runtime": "node"}""");
        File.WriteAllText(Path.Combine(folder, "main.py"), "def handle(r):\n    return r\n");
        Assert.Null(ScriptFunction.LanguageOrNull(folder)); // node wants index.js
        File.WriteAllText(Path.Combine(folder, "index.js"), "exports.handle = (r) => r;\n");
        Assert.Equal(ScriptRuntime.Node, ScriptFunction.LanguageOrNull(folder));
        File.WriteAllText(Path.Combine(folder, "snapfn.json"), """{"runtime": "c"}""");
        Assert.Null(ScriptFunction.LanguageOrNull(folder));
        Assert.Throws<InvalidRequestException>(() => ScriptFunction.Language(folder));
    }

    [Fact]
    public void A_package_needs_one_of_the_languages_main_files()
    {
        var e = Assert.Throws<InvalidRequestException>(() =>
            FunctionPackage.Unpack(FunctionZip.Of(("lib.js", "")), Path.Combine(_dir.FullName, "a")));
        Assert.Contains("no main.py (Python) or index.js (Node.js) at its top", e.Message, StringComparison.Ordinal);
        FunctionPackage.Unpack(FunctionZip.Of(("index.js", "exports.handle = (r) => r;"), ("snapfn.json", """{"runtime": "node"}""")),
            Path.Combine(_dir.FullName, "b"));
        Assert.Equal(ScriptRuntime.Node, ScriptFunction.LanguageOrNull(Path.Combine(_dir.FullName, "b")));
    }

    [Fact]
    public void The_built_in_node_functions_are_script_functions_on_the_node_runtime()
    {
        var catalog = FunctionCatalog.Default();
        foreach (var name in new[] { "node-hello-world", "node-json" })
        {
            var function = catalog.Get(name);
            Assert.Equal(FunctionRuntime.Script, function.Runtime);
            Assert.Equal(ScriptRuntime.Node, ScriptFunction.Language(function.CodePath));
            Assert.Contains(function, catalog.List());
        }
        Assert.Equal(ScriptRuntime.Python, ScriptFunction.Language(catalog.Get("py-hello-world").CodePath));
        Assert.Equal(["nodejs"], Runtimes.Find("node")!.Packages);
        Assert.Equal("/snapfn/node", ScriptRuntime.Node.ShimMount);
        Assert.True(File.Exists(Path.Combine(GuestPrograms.ShimDirectory(ScriptRuntime.Node), ScriptRuntime.Node.ShimFile)));
    }
}
