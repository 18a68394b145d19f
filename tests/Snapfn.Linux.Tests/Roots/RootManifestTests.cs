using Snapfn.Linux.Roots;

namespace Snapfn.Linux.Tests.Roots;

public sealed class RootManifestTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("snapfn-manifest-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static RootManifest Sample()
    {
        RootPackage[] packages =
        [
            new("libc6", "2.36-9+deb12u14", "amd64", new string('a', 64)),
            new("zlib1g", "1:1.2.13.dfsg-1", "amd64", new string('b', 64)),
        ];
        return new RootManifest
        {
            Id = RootKey.For(["python3"]).Id,
            Requested = ["python3"],
            Packages = packages,
            PackagesSha256 = RootManifest.HashPackages(packages),
            Suite = "bookworm",
            Created = new DateTimeOffset(2026, 12, 1, 8, 0, 0, TimeSpan.Zero),
            Bytecode = RootManifest.BytecodeFailed,
            Notes = ["no Python bytecode: test"],
        };
    }

    [Fact]
    public void A_written_manifest_reads_back_equal()
    {
        var path = Path.Combine(_directory, RootManifest.FileName);
        var written = Sample();
        written.Write(path);
        var read = RootManifest.Load(path);
        Assert.Equal(written.Id, read.Id);
        Assert.Equal(written.Requested, read.Requested);
        Assert.Equal(written.Packages, read.Packages);
        Assert.Equal(written.PackagesSha256, read.PackagesSha256);
        Assert.Equal(written.Suite, read.Suite);
        Assert.Equal(written.Created, read.Created);
        Assert.Equal(written.Bytecode, read.Bytecode);
        Assert.Equal(written.Notes, read.Notes);
        Assert.Equal([RootManifest.FileName], Directory.GetFiles(_directory).Select(Path.GetFileName));
        Assert.Contains("\"packages_sha256\"", File.ReadAllText(path));
    }

    [Fact]
    public void The_packages_hash_ignores_order_and_sees_every_field()
    {
        var packages = Sample().Packages;
        Assert.Equal(RootManifest.HashPackages(packages), RootManifest.HashPackages(packages.Reverse()));
        Assert.NotEqual(RootManifest.HashPackages(packages), RootManifest.HashPackages([packages[0] with { Version = "2.36-9+deb12u15" }, packages[1]]));
    }

    [Fact]
    public void A_manifest_whose_list_does_not_match_its_hash_is_refused()
    {
        var json = Sample().ToJson().Replace("2.36-9+deb12u14", "2.36-9+deb12u99", StringComparison.Ordinal);
        var e = Assert.Throws<InvalidDataException>(() => RootManifest.Parse(json, "manifest.json"));
        Assert.Contains("packages_sha256", e.Message);
    }

    [Fact]
    public void A_truncated_manifest_is_refused()
    {
        var json = Sample().ToJson();
        Assert.Throws<InvalidDataException>(() => RootManifest.Parse(json[..(json.Length / 2)], "manifest.json"));
    }
}
