using System.Security.Cryptography;
using Snapfn.Platform;

namespace Snapfn.Fuzz.Targets;

/// <summary>
/// A deployed Python function's zip as the daemon takes it (<see cref="FunctionPackage.Unpack"/>, then the runtime
/// its snapfn.json names), unpacked into a scratch folder (<see cref="FuzzScratch"/>). Besides the allowed
/// <see cref="InvalidRequestException"/>, the harness checks that nothing was written beside the target folder
/// (a planted file there keeps its random token) and that only regular files and folders came out.
/// </summary>
public sealed class DeployZipTarget : FuzzTarget, IDisposable
{
    private readonly string _scratch;
    private readonly string _planted;
    private readonly byte[] _token = RandomNumberGenerator.GetBytes(32);
    private long _runs;

    public DeployZipTarget()
    {
        _scratch = FuzzScratch.Create("zip");
        _planted = Path.Combine(_scratch, "planted");
        File.WriteAllBytes(_planted, _token);
    }

    public override string Name => "deploy-zip";

    public override string Description => "FunctionPackage.Unpack into a scratch folder, then ScriptFunction.Runtime of what came out";

    public override void Run(ReadOnlySpan<byte> input)
    {
        var run = Path.Combine(_scratch, (_runs++).ToString(System.Globalization.CultureInfo.InvariantCulture));
        var folder = Path.Combine(run, "function");
        Directory.CreateDirectory(run);
        try
        {
            try
            {
                FunctionPackage.Unpack(input.ToArray(), folder);
                _ = ScriptFunction.Runtime(folder);
            }
            catch (Exception e) when (e is InvalidRequestException or LimitExceededException)
            {
            }
            CheckContained(run, folder);
        }
        finally
        {
            Directory.Delete(run, recursive: true);
        }
    }

    private void CheckContained(string run, string folder)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(run))
        {
            if (entry != folder)
                throw new InvariantViolatedException($"unpacking wrote '{entry}', outside the function's folder");
        }
        foreach (var entry in Directory.EnumerateFileSystemEntries(_scratch))
        {
            if (entry != run && entry != _planted)
                throw new InvariantViolatedException($"unpacking wrote '{entry}', outside the function's folder");
        }
        if (!File.ReadAllBytes(_planted).AsSpan().SequenceEqual(_token))
            throw new InvariantViolatedException("unpacking changed a file beside the function's folder");
        if (!Directory.Exists(folder))
            return;
        var bytes = 0L;
        foreach (var path in Directory.EnumerateFileSystemEntries(folder, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is not null)
                throw new InvariantViolatedException($"unpacking made a symbolic link '{path}' -> '{info.LinkTarget}'");
            if (info.Exists)
                bytes += info.Length;
        }
        var limit = new DeployLimits().MaxUnpackedBytes;
        if (bytes > limit + 4096)
            throw new InvariantViolatedException($"unpacking wrote {bytes} bytes, more than the {limit} a package may hold");
    }

    public override IEnumerable<(string Name, byte[] Bytes)> Seeds()
    {
        var folder = Directory.CreateTempSubdirectory("snapfn-fuzz-seed-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(folder, ScriptRuntime.Python.MainFile), "def handle(request):\n    return request\n");
            yield return ("main-only", FunctionPackage.Pack(folder));
            File.WriteAllText(Path.Combine(folder, FunctionManifest.FileName),
                new FunctionManifest { Name = "py-fn", Runtime = FunctionManifest.PythonRuntime, Packages = ["python3-numpy"] }.ToJson());
            Directory.CreateDirectory(Path.Combine(folder, "lib"));
            File.WriteAllText(Path.Combine(folder, "lib", "util.py"), "X = 1\n");
            yield return ("with-manifest-and-module", FunctionPackage.Pack(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public void Dispose() => Directory.Delete(_scratch, recursive: true);
}
