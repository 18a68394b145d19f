using System.IO.Compression;
using System.Text;

namespace Snapfn.Platform.Tests;

/// <summary>A Python function's package: what unpacking refuses, and a deploy through the function service.</summary>
public sealed class FunctionPackageTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-package-");

    private static byte[] Zip(params (string Name, string Content)[] files) => FunctionZip.Of(files);

    [Fact]
    public void A_folder_round_trips_through_pack_and_unpack_without_caches()
    {
        var source = Directory.CreateDirectory(Path.Combine(_dir.FullName, "src")).FullName;
        File.WriteAllText(Path.Combine(source, "main.py"), "def handle(r):\n    return r\n");
        Directory.CreateDirectory(Path.Combine(source, "lib", "__pycache__"));
        File.WriteAllText(Path.Combine(source, "lib", "util.py"), "X = 1\n");
        File.WriteAllText(Path.Combine(source, "lib", "__pycache__", "util.cpython-311.pyc"), "junk");
        var package = FunctionPackage.Pack(source);
        Assert.True(FunctionPackage.IsPackage(package));
        var target = Path.Combine(_dir.FullName, "out");
        FunctionPackage.Unpack(package, target);
        Assert.Equal("X = 1\n", File.ReadAllText(Path.Combine(target, "lib", "util.py")));
        Assert.False(Directory.Exists(Path.Combine(target, "lib", "__pycache__")));
        Assert.True(ScriptFunction.IsScriptFolder(target));
    }

    [Theory]
    [InlineData("../escape.py")]
    [InlineData("/etc/cron.d/x")]
    [InlineData("a/../../b.py")]
    public void Paths_that_leave_the_folder_are_refused(string name)
    {
        var package = Zip(("main.py", "def handle(r):\n    return r\n"), (name, "x"));
        var e = Assert.Throws<InvalidRequestException>(() => FunctionPackage.Unpack(package, Path.Combine(_dir.FullName, "out")));
        Assert.Contains("not a plain path", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_dir.FullName, "escape.py")));
    }

    [Fact]
    public void A_file_twice_or_in_the_way_of_a_folder_is_refused_before_anything_is_written()
    {
        const string main = "def handle(r):\n    return r\n";
        var cases = new (byte[] Package, string Says)[]
        {
            (Zip(("main.py", main), ("lib.py", "A = 1\n"), ("lib.py", "A = 2\n")), "'lib.py' twice"),
            (Zip(("main.py", main), ("main.py", "import os\n")), "'main.py' twice"),
            (Zip(("main.py", main), ("data", "x"), ("data/t.txt", "y")), "twice (or as a file and a folder)"),
            (Zip(("main.py", main), ("data/t.txt", "y"), ("data", "x")), "twice (or as a file and a folder)"),
            (Zip(("main.py", main), ("bad\u0001name.py", "")), "not a plain path"),
            (Zip(("main.py", main), (new string('a', 256) + ".py", "")), "not a plain path"),
        };
        foreach (var (package, says) in cases)
        {
            var target = Path.Combine(_dir.FullName, "out-" + Guid.NewGuid().ToString("n"));
            var e = Assert.Throws<InvalidRequestException>(() => FunctionPackage.Unpack(package, target));
            Assert.Contains(says, e.Message, StringComparison.Ordinal);
            Assert.False(Directory.Exists(target));
        }
    }

    [Fact]
    public void An_entry_that_cannot_be_read_is_the_packages_fault()
    {
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var writer = new StreamWriter(zip.CreateEntry("main.py", CompressionLevel.NoCompression).Open());
            writer.Write("def handle(r):\n    return r\n");
        }
        var package = stream.ToArray();
        // Say the entry is LZMA-compressed (method 14), in its local header and its central directory entry: a method
        // .NET cannot read, as a zip made by another tool may use.
        package[8] = 14;
        package[package.AsSpan().IndexOf("PK\x01\x02"u8) + 10] = 14;
        var e = Assert.Throws<InvalidRequestException>(() => FunctionPackage.Unpack(package, Path.Combine(_dir.FullName, "corrupt")));
        Assert.Contains("corrupt at 'main.py'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_package_without_main_py_or_that_is_no_zip_is_refused()
    {
        Assert.Contains("no main.py", Assert.Throws<InvalidRequestException>(() =>
            FunctionPackage.Unpack(Zip(("other.py", "")), Path.Combine(_dir.FullName, "a"))).Message, StringComparison.Ordinal);
        Assert.Contains("not a valid zip", Assert.Throws<InvalidRequestException>(() =>
            FunctionPackage.Unpack("PK\x03\x04garbage"u8.ToArray(), Path.Combine(_dir.FullName, "b"))).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("main.py", "main.py")]
    [InlineData("lib/util.py", "lib/util.py")]
    [InlineData("lib", "lib/util.py")]
    [InlineData("lib/util.py", "lib")]
    [InlineData("lib/", "lib")]
    public void A_path_given_twice_or_as_file_and_folder_is_refused_not_left_to_extraction_order(string first, string second)
    {
        var package = Zip(("main.py", "def handle(r):\n    return r\n"), (first, "A"), (second, "B"));

        var e = Assert.Throws<InvalidRequestException>(() => FunctionPackage.Unpack(package, Path.Combine(_dir.FullName, "out")));

        Assert.Contains("twice", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_package_with_more_files_than_the_limit_is_refused_before_its_entries_are_read()
    {
        var files = Enumerable.Range(0, 20).Select(i => ($"m{i}.py", "")).Prepend(("main.py", "")).ToArray();
        var limits = new DeployLimits { MaxFiles = 20 };

        var e = Assert.Throws<LimitExceededException>(() => FunctionPackage.Unpack(Zip(files), Path.Combine(_dir.FullName, "out"), limits));

        Assert.Equal("deploy-files", e.Limit);
        Assert.Contains("--max-deploy-files", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "out")));
        FunctionPackage.Unpack(Zip(files[..20]), Path.Combine(_dir.FullName, "fits"), limits);
    }

    [Fact]
    public void Sizes_and_the_compression_ratio_are_bounded_by_the_limits()
    {
        var big = new string('x', 2 << 20);
        var package = Zip(("main.py", ""), ("data.txt", big));
        void Refused(DeployLimits limits, string limit)
        {
            var e = Assert.Throws<LimitExceededException>(() => FunctionPackage.Unpack(package, Path.Combine(_dir.FullName, Guid.NewGuid().ToString("N")), limits));
            Assert.Equal(limit, e.Limit);
        }

        Refused(new DeployLimits { MaxFileBytes = 1 << 20 }, "deploy-file-size");
        Refused(new DeployLimits { MaxUnpackedBytes = 1 << 20 }, "deploy-unpacked-size");
        // 2 MiB of one letter deflates to a few KiB: a ratio in the hundreds.
        Refused(new DeployLimits(), "deploy-compression-ratio");
        FunctionPackage.Unpack(package, Path.Combine(_dir.FullName, "raised"), new DeployLimits { MaxCompressionRatio = 10_000 });
        Assert.Equal(big.Length, new FileInfo(Path.Combine(_dir.FullName, "raised", "data.txt")).Length);
    }

    [Fact]
    public void An_entry_never_unpacks_to_more_than_it_announces()
    {
        // A stored (uncompressed) entry whose announced size is patched down from 4096 to 16 bytes, in the local
        // header and in the central directory: the bytes that come out are counted, not the announcement believed.
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var writer = new StreamWriter(zip.CreateEntry("main.py", CompressionLevel.NoCompression).Open()))
                writer.Write("");
            using (var writer = new StreamWriter(zip.CreateEntry("data.bin", CompressionLevel.Optimal).Open()))
                writer.Write(new string('y', 4096));
        }
        var bytes = stream.ToArray();
        var patched = 0;
        for (var at = 0; at + 30 < bytes.Length; at++)
        {
            var signature = BitConverter.ToUInt32(bytes, at);
            var sizeAt = signature switch { 0x04034b50 => at + 22, 0x02014b50 => at + 24, _ => -1 };
            if (sizeAt > 0 && BitConverter.ToUInt32(bytes, sizeAt) == 4096)
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(sizeAt), 16u);
                patched++;
            }
        }
        Assert.Equal(2, patched);

        var written = Path.Combine(_dir.FullName, "out", "data.bin");
        try
        {
            FunctionPackage.Unpack(bytes, Path.Combine(_dir.FullName, "out"));
        }
        catch (InvalidRequestException e)
        {
            Assert.Contains("data.bin", e.Message, StringComparison.Ordinal);
        }

        // Refused, or cut at the announcement (ZipArchive stops there itself): never the 4096 bytes inside.
        Assert.True(!File.Exists(written) || new FileInfo(written).Length <= 16, $"{new FileInfo(written).Length} bytes written");
    }

    [Fact]
    public void A_manifest_that_is_not_an_object_or_lists_too_many_packages_is_refused()
    {
        var folder = Directory.CreateDirectory(Path.Combine(_dir.FullName, "fn")).FullName;
        File.WriteAllText(Path.Combine(folder, "snapfn.json"), "[1, 2]");
        Assert.Throws<InvalidRequestException>(() => ScriptFunction.Packages(folder));
        var names = string.Join(", ", Enumerable.Range(0, 2001).Select(i => $"\"pkg{i}\""));
        File.WriteAllText(Path.Combine(folder, "snapfn.json"), $$"""{"runtime": "python", "packages": [{{names}}]}""");

        var e = Assert.Throws<LimitExceededException>(() => ScriptFunction.Runtime(folder, new DeployLimits().MaxPackages));

        Assert.Equal("package-list", e.Limit);
        Assert.Contains("2001", e.Message, StringComparison.Ordinal);
        Assert.Contains("--max-packages", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_deployed_python_function_snapshots_and_runs_and_a_broken_redeploy_keeps_it()
    {
        using var home = new ScriptFunctionHome();
        using var service = new FunctionService(home.Home, new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")));
        service.Register("greeter", Zip(("main.py", "def handle(r):\n    return b'hi ' + r\n")), 512, "test");
        service.TakeSnapshot("greeter", null, TimeSpan.FromSeconds(60));
        Assert.Equal("hi ada", Encoding.UTF8.GetString(service.Server.Invoke(new InvokeRequest("greeter", "ada"u8.ToArray()) { Mode = "vanilla", Timeout = TimeSpan.FromSeconds(30) }, TestContext.Current.CancellationToken).Output));
        var e = Assert.Throws<InvalidRequestException>(() => service.Register("greeter", Zip(("main.py", "def handle(r)\n")), 512, "test"));
        Assert.Contains("main.py line 1: SyntaxError", e.Message, StringComparison.Ordinal);
        Assert.Equal("hi bo", Encoding.UTF8.GetString(service.Server.Invoke(new InvokeRequest("greeter", "bo"u8.ToArray()) { Mode = "warm", Timeout = TimeSpan.FromSeconds(30) }, TestContext.Current.CancellationToken).Output));
    }

    [Fact]
    public void A_package_debian_does_not_have_is_refused_at_deploy_naming_it()
    {
        using var home = new ScriptFunctionHome();
        using var service = new FunctionService(home.Home, new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")));
        var package = Zip(("main.py", "def handle(r):\n    return r\n"), ("snapfn.json", """{"runtime": "python", "packages": ["snapfn-no-such-package"]}"""));
        var e = Assert.Throws<InvalidRequestException>(() => service.Register("nopkg", package, 512, "test"));
        if (e.Message.Contains("network", StringComparison.OrdinalIgnoreCase) && !e.Message.Contains("snapfn-no-such-package", StringComparison.Ordinal))
            Assert.Skip($"deb.debian.org is not reachable: {e.Message}");
        Assert.Contains("snapfn-no-such-package", e.Message, StringComparison.Ordinal);
        Assert.Throws<UnknownFunctionException>(() => service.Get("nopkg"));
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
