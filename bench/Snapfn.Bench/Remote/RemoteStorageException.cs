namespace Snapfn.Bench.Remote;

/// <summary>The step of setting up or tearing down the loopback storage that failed.</summary>
public enum RemoteStorageStep
{
    /// <summary>This machine cannot run it: no FUSE device, not root, not Linux on x86-64.</summary>
    Machine,

    /// <summary>sshfs, socat or sftp-server could not be downloaded (deb.debian.org unreachable, no apt).</summary>
    Tools,

    /// <summary>An earlier run left a mount or a process that cannot be removed.</summary>
    StaleCleanup,

    Server,
    Mount,

    /// <summary>Mounted, but a file written on one side was not seen on the other.</summary>
    Check,
    TearDown,
}

/// <summary>The loopback remote storage could not be set up or torn down; the message says which step failed,
/// why (with the tool's last lines of output where a tool failed) and what to do. <see cref="Step"/> tells what
/// the machine lacks (<see cref="RemoteStorageStep.Machine"/>, <see cref="RemoteStorageStep.Tools"/>) from what
/// went wrong once it had everything.</summary>
public sealed class RemoteStorageException : Exception, Platform.Errors.IClassifiedError
{
    public RemoteStorageException(RemoteStorageStep step, string message) : base(message)
    {
        Step = step;
    }

    public RemoteStorageException(RemoteStorageStep step, string message, Exception innerException) : base(message, innerException)
    {
        Step = step;
    }

    public RemoteStorageException() { }

    public RemoteStorageException(string message) : base(message) { }

    public RemoteStorageException(string message, Exception innerException) : base(message, innerException) { }

    public RemoteStorageStep Step { get; }

    /// <summary>True if the machine lacks something the storage needs, rather than something failing.</summary>
    public bool IsMachineUnsupported => Step is RemoteStorageStep.Machine or RemoteStorageStep.Tools;

    /// <summary>The machine's doing either way: what it lacks, or a tool that failed on it.</summary>
    public Platform.Errors.ErrorCode Code => Platform.Errors.ErrorCode.HostError;
}
