using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Snapfn.Linux.Roots;

/// <summary>
/// Makes the .pyc files that Debian's postinst would (its packages ship none, and without them every start
/// compiles the standard library again). Runs the root's own interpreter on the host through the root's own
/// loader and libraries, so the bytecode matches the interpreter the guest runs; the .pyc files record the
/// paths the guest sees (/usr/lib/python3.11/json/__init__.py) and are timestamp-checked, Python's default.
/// </summary>
internal static partial class BytecodeCompiler
{
    private static readonly TimeSpan _timeout = TimeSpan.FromMinutes(10);

    public sealed record Outcome(string Bytecode, string? Note);

    public static Outcome Compile(string root, IProgress<RootProgress>? progress, CancellationToken cancellationToken)
    {
        var usrBin = Path.Combine(root, "usr", "bin");
        var versions = Directory.Exists(usrBin)
            ? Directory.EnumerateFiles(usrBin, "python3.*").Select(Path.GetFileName).OfType<string>()
                .Where(n => Interpreter().IsMatch(n) && File.Exists(Path.Combine(root, "usr", "lib", n, "os.py"))).Order(StringComparer.Ordinal).ToList()
            : [];
        if (versions.Count == 0)
            return new Outcome(RootManifest.BytecodeNone, null);
        if (RuntimeInformation.OSArchitecture != Architecture.X64)
            return Failed(progress, $"the host is {RuntimeInformation.OSArchitecture}, so it cannot run the root's x86-64 python to compile its bytecode");
        var loader = RootTree.Resolve(root, "/lib64/ld-linux-x86-64.so.2");
        if (loader is null)
            return Failed(progress, "the root has no /lib64/ld-linux-x86-64.so.2 to run its python with");

        foreach (var python in versions)
        {
            progress?.Report(new RootProgress(RootPhase.CompilingBytecode, $"compiling the bytecode of {python}'s standard library"));
            var directories = new[] { Path.Combine(root, "usr", "lib", python), Path.Combine(root, "usr", "lib", "python3", "dist-packages") }
                .Where(Directory.Exists).ToList();
            var arguments = new List<string>
            {
                // --inhibit-cache: the host's /etc/ld.so.cache lists the host's libraries, not the root's.
                "--inhibit-cache", "--library-path", $"{root}/lib/x86_64-linux-gnu:{root}/usr/lib/x86_64-linux-gnu",
                // -S: site.py would import sitecustomize, which links to /etc, i.e. to the host's.
                Path.Combine(usrBin, python), "-S", "-m", "compileall", "-q", "-j", "0",
                // Strip the host prefix and put '/' back: the recorded source paths are the guest's.
                "-s", root, "-p", "/",
            };
            if (Exclusions(root, directories) is { } exclude)
                arguments.AddRange(["-x", exclude]);
            arguments.AddRange(directories);

            ToolResult result;
            try
            {
                result = ToolProcess.Run(loader, arguments, _timeout, cancellationToken, info =>
                {
                    // Nothing of the caller's Python environment (PYTHONPYCACHEPREFIX would put the .pyc elsewhere,
                    // SOURCE_DATE_EPOCH would switch to hash-checked .pyc).
                    info.Environment.Clear();
                    info.Environment["PATH"] = "/usr/bin:/bin";
                    // The C locale is built into libc: no host locale files read with the root's libc.
                    info.Environment["LC_ALL"] = "C";
                    info.Environment["PYTHONCOERCECLOCALE"] = "0";
                    info.Environment["PYTHONUTF8"] = "1";
                    info.Environment["PYTHONHOME"] = Path.Combine(root, "usr");
                    info.Environment["PYTHONNOUSERSITE"] = "1";
                });
            }
            catch (RootBuildException e)
            {
                return Failed(progress, $"{python} could not be run to compile its bytecode: {e.Message}");
            }
            if (result.ExitCode != 0)
                return Failed(progress, $"{python} -m compileall exited with {result.ExitCode}: {result.Tail(3)}");
        }
        return new Outcome(RootManifest.BytecodeCompiled, null);
    }

    private static Outcome Failed(IProgress<RootProgress>? progress, string reason)
    {
        var note = $"no Python bytecode: {reason}; the standard library compiles on every start";
        progress?.Report(new RootProgress(RootPhase.CompilingBytecode, note, IsWarning: true));
        return new Outcome(RootManifest.BytecodeFailed, note);
    }

    /// <summary>
    /// A compileall -x pattern for the .py links that lead out of the root on the host (sitecustomize.py points at
    /// /etc/python3.11/sitecustomize.py): compiled here they would be the host's files. Null if there are none.
    /// </summary>
    private static string? Exclusions(string root, IEnumerable<string> directories)
    {
        var links = directories.SelectMany(RootTree.Entries)
            .Where(e => e.Name.EndsWith(".py", StringComparison.Ordinal) && e.Attributes.HasFlag(FileAttributes.ReparsePoint) && RootTree.LeavesRoot(root, e))
            .Select(e => PythonEscape(e.FullName))
            .ToList();
        return links.Count == 0 ? null : $"^(?:{string.Join('|', links)})$";
    }

    /// <summary>Python's re.escape for a path: every metacharacter behind a backslash.</summary>
    private static string PythonEscape(string text)
    {
        var escaped = new StringBuilder(text.Length * 2);
        foreach (var c in text)
        {
            if (@"\.^$*+?{}[]|()-#&~ ".Contains(c, StringComparison.Ordinal))
                escaped.Append('\\');
            escaped.Append(c);
        }
        return escaped.ToString();
    }

    [GeneratedRegex(@"^python3\.\d+$")]
    private static partial Regex Interpreter();
}
