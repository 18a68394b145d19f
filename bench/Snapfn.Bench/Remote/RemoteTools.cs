using System.Diagnostics;
using System.Runtime.InteropServices;
using Snapfn.Linux.Roots;

namespace Snapfn.Bench.Remote;

/// <summary>
/// The Debian tools the loopback storage runs — sshfs, fuse3's fusermount3, socat, OpenSSH's sftp-server and
/// util-linux's setsid — in a root built like a runtime's (<see cref="RootBuilder"/>: downloaded from
/// deb.debian.org with a private apt state, nothing installed on the host) and run on the host through that
/// root's own dynamic loader and libraries, so that the host's library versions do not matter.
/// </summary>
internal sealed class RemoteTools
{
    /// <summary>What the storage runs, each by the package that holds it (fuse3 and util-linux would come as
    /// dependencies anyway; they are named because their binaries are used).</summary>
    public static readonly IReadOnlyList<string> Packages = ["sshfs", "fuse3", "socat", "openssh-sftp-server", "util-linux"];

    private RemoteTools(string tree)
    {
        Tree = tree;
    }

    /// <summary>The root's tree (merged /usr).</summary>
    public string Tree { get; }

    public string Loader => Path.Combine(Tree, "usr", "lib64", "ld-linux-x86-64.so.2");

    public string LibraryDirectory => Path.Combine(Tree, "usr", "lib", "x86_64-linux-gnu");

    public string Sshfs => Path.Combine(Tree, "usr", "bin", "sshfs");

    public string Fusermount => Path.Combine(Tree, "usr", "bin", "fusermount3");

    public string Socat => Path.Combine(Tree, "usr", "bin", "socat");

    public string Setsid => Path.Combine(Tree, "usr", "bin", "setsid");

    /// <summary>sftp-server relative to <see cref="Tree"/>: see <see cref="SftpServerCommand"/>.</summary>
    public const string SftpServerInTree = "usr/lib/openssh/sftp-server";

    /// <summary>
    /// The command line socat execs for a connection, relative to <see cref="Tree"/> (socat's working directory):
    /// socat splits an EXEC command at spaces and gives ':', ',' and '!' meanings of its own, so an absolute path
    /// under a home holding any of them would break it. The loader's own <c>--library-path</c> is what keeps the
    /// host's libc out.
    /// </summary>
    public const string SftpServerCommand = "usr/lib64/ld-linux-x86-64.so.2 --library-path usr/lib/x86_64-linux-gnu " + SftpServerInTree;

    /// <summary>The tools' root, downloaded and extracted first if it is not there (once per state folder).</summary>
    /// <exception cref="RemoteStorageException">The root could not be built: the message says why (no network, no apt).</exception>
    public static RemoteTools Ensure(string stateDirectory, Action<string>? progress, CancellationToken cancellationToken)
    {
        if (RuntimeInformation.OSArchitecture != Architecture.X64)
            throw new RemoteStorageException(RemoteStorageStep.Machine, $"the loopback storage runs Debian's amd64 sshfs and socat; this machine is {RuntimeInformation.OSArchitecture}");
        var builder = new RootBuilder(stateDirectory);
        RuntimeRoot root;
        try
        {
            root = builder.Ensure(Packages, progress is null ? null : new Progress(progress), cancellationToken);
        }
        catch (RootBuildException e)
        {
            throw new RemoteStorageException(RemoteStorageStep.Tools, $"could not fetch {string.Join(", ", Packages)} from deb.debian.org into {builder.RootsDirectory}: {e.Message}", e);
        }
        var tools = new RemoteTools(root.RootDirectory);
        foreach (var file in new[] { tools.Loader, tools.Sshfs, tools.Fusermount, tools.Socat, tools.Setsid, Path.Combine(tools.Tree, SftpServerInTree) })
        {
            if (!File.Exists(file))
                throw new RemoteStorageException(RemoteStorageStep.Tools, $"the tools root {root.Id} has no {Path.GetRelativePath(tools.Tree, file)}: remove {Path.GetDirectoryName(tools.Tree)} and run again to rebuild it");
        }
        return tools;
    }

    /// <summary>
    /// Starts <paramref name="binary"/> from the root through the root's loader. In a session of its own
    /// (<paramref name="ownSession"/>, through setsid) the terminal's Ctrl-C reaches only the harness, which
    /// finishes the invocation in progress before it tears the storage down: sshfs would otherwise unmount at once.
    /// </summary>
    public ProcessStartInfo StartInfo(string binary, IEnumerable<string> arguments, bool ownSession)
    {
        var info = new ProcessStartInfo(Loader)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = Tree,
        };
        if (ownSession)
        {
            // A child of this process is not a process-group leader, so setsid(2) succeeds without forking and
            // the pid Process reports is the tool's own.
            AddLoaded(info, Setsid);
        }
        AddLoaded(info, binary);
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        return info;
    }

    private void AddLoaded(ProcessStartInfo info, string binary)
    {
        if (info.ArgumentList.Count > 0)
            info.ArgumentList.Add(Loader);
        info.ArgumentList.Add("--library-path");
        info.ArgumentList.Add(LibraryDirectory);
        info.ArgumentList.Add(binary);
    }

    private sealed class Progress(Action<string> report) : IProgress<RootProgress>
    {
        public void Report(RootProgress value)
        {
            if (value.Phase != RootPhase.Done)
                report($"remote storage tools: {value.Text}");
        }
    }
}
