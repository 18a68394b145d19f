using System.Diagnostics;
using Snapfn.Linux.Roots;

namespace Snapfn.Linux.Tests.Roots;

/// <summary>Builds the python root for real (~17 MB from deb.debian.org) into a state folder of its own.</summary>
public sealed class PythonRootTests
{
    [Fact]
    public async Task The_python_root_is_complete_and_built_once()
    {
        DebianNetwork.Require();
        var cancel = TestContext.Current.CancellationToken;
        using var state = new TempState();
        var first = new ProgressLog();
        var second = new ProgressLog();
        // Two builders of the same root at once: one builds, the other waits and opens it.
        var builds = new[] { first, second }.Select(log => Task.Run(() => new RootBuilder(state.Path).Ensure(Runtimes.Python, log, cancel), cancel)).ToArray();
        var roots = await Task.WhenAll(builds);
        var root = roots[0];
        Assert.Equal(root.Manifest.Created, roots[1].Manifest.Created);
        Assert.Equal(root.RootDirectory, roots[1].RootDirectory);
        Assert.Equal([root.Id], state.Leftovers());
        Assert.Equal(Path.Combine(state.Path, "roots", Runtimes.Python.Key.Id, "root"), root.RootDirectory);

        var tree = root.RootDirectory;
        Assert.Equal("python3.11", new FileInfo(Path.Combine(tree, "usr", "bin", "python3")).LinkTarget);
        var loader = RootTree.Resolve(tree, "/lib64/ld-linux-x86-64.so.2");
        Assert.NotNull(loader);
        Assert.StartsWith(tree + "/", loader);
        Assert.True(File.Exists(loader));
        foreach (var mountPoint in new[] { "tmp", "dev", "proc" })
            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(tree, mountPoint)));

        var pycache = Path.Combine(tree, "usr", "lib", "python3.11", "json", "__pycache__");
        Assert.Contains("__init__.cpython-311.pyc", Directory.GetFiles(pycache).Select(Path.GetFileName));
        Assert.Equal("/usr/lib/python3.11/json/__init__.py", EmbeddedSourcePath(tree, Path.Combine(pycache, "__init__.cpython-311.pyc")));
        // sitecustomize.py links to /etc: compiling it on the host would have compiled the host's file.
        Assert.False(File.Exists(Path.Combine(tree, "usr", "lib", "python3.11", "__pycache__", "sitecustomize.cpython-311.pyc")));

        var manifest = root.Manifest;
        Assert.Equal(["python3"], manifest.Requested);
        Assert.Equal(RootManifest.BytecodeCompiled, manifest.Bytecode);
        Assert.Contains(manifest.Packages, p => p.Name == "libc6" && p.Version.StartsWith("2.36", StringComparison.Ordinal) && p.Architecture == "amd64");
        Assert.Contains(manifest.Packages, p => p.Name == "python3.11" && p.Version.StartsWith("3.11", StringComparison.Ordinal));
        Assert.All(manifest.Packages, p => Assert.Matches("^[0-9a-f]{64}$", p.Sha256));
        Assert.Equal(manifest.PackagesSha256, RootManifest.Load(Path.Combine(state.Path, "roots", root.Id, RootManifest.FileName)).PackagesSha256);

        // Built: a third Ensure only opens it.
        var third = new ProgressLog();
        var again = new RootBuilder(state.Path).Ensure(Runtimes.Python, third, cancel);
        Assert.Equal(manifest.Created, again.Manifest.Created);
        Assert.Equal([RootPhase.Done], third.Reports.Select(r => r.Phase));
        var status = new RootBuilder(state.Path).Status(Runtimes.Python);
        Assert.True(status.IsBuilt);
        Assert.Equal(manifest.Packages.Count, status.InstalledPackages);
        Assert.InRange(status.SizeBytes ?? 0, 20L << 20, 400L << 20);
    }

    [Fact]
    public void The_shared_helper_gives_a_root_with_python()
    {
        DebianNetwork.Require();
        Assert.True(File.Exists(Path.Combine(PythonRoot.Directory, "usr", "bin", "python3.11")));
        Assert.Equal(Path.Combine(PythonRoot.StateDirectory, "roots", Runtimes.Python.Key.Id, "root"), PythonRoot.Directory);
    }

    /// <summary>co_filename of the module's code, read by the root's own python (run through its own loader).</summary>
    private static string EmbeddedSourcePath(string tree, string pyc)
    {
        var info = new ProcessStartInfo(RootTree.Resolve(tree, "/lib64/ld-linux-x86-64.so.2")!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--inhibit-cache", "--library-path", $"{tree}/lib/x86_64-linux-gnu:{tree}/usr/lib/x86_64-linux-gnu",
            Path.Combine(tree, "usr", "bin", "python3.11"), "-S", "-c", "import marshal, sys; print(marshal.loads(open(sys.argv[1], 'rb').read()[16:]).co_filename)", pyc })
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["PYTHONHOME"] = Path.Combine(tree, "usr");
        using var python = Process.Start(info)!;
        var output = python.StandardOutput.ReadToEnd();
        var error = python.StandardError.ReadToEnd();
        python.WaitForExit();
        Assert.True(python.ExitCode == 0, error);
        return output.Trim();
    }
}
