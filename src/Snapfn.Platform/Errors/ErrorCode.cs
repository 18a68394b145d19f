namespace Snapfn.Platform.Errors;

/// <summary>
/// A stable, kebab-case name for one kind of failure, with its <see cref="ErrorKind"/> and a short title. The name is
/// the daemon's problem <c>error</c> (and the end of its <c>type</c>, <c>urn:snapfn:problem:NAME</c>), the metrics'
/// error label, and what the CLI reads back from a daemon: clients may switch on it, so a name never changes
/// meaning. Every code is one of the static members here.
/// </summary>
public sealed class ErrorCode
{
    private static readonly List<ErrorCode> _all = [];

    private ErrorCode(string name, ErrorKind kind, string title)
    {
        Name = name;
        Kind = kind;
        Title = title;
        _all.Add(this);
    }

    public string Name { get; }

    public ErrorKind Kind { get; }

    public string Title { get; }

    // The request's fault.
    public static readonly ErrorCode InvalidRequest = new("invalid-request", ErrorKind.Request, "Invalid request");
    public static readonly ErrorCode BadRequest = new("bad-request", ErrorKind.Request, "Bad request");
    public static readonly ErrorCode InvalidFunction = new("invalid-function", ErrorKind.Request, "Function folder or build unusable");
    public static readonly ErrorCode UnknownFunction = new("unknown-function", ErrorKind.Request, "Unknown function");
    /// <summary>No asynchronous invocation has this id (or its result outlived its TTL).</summary>
    public static readonly ErrorCode UnknownInvocation = new("unknown-invocation", ErrorKind.Request, "Unknown invocation");
    public static readonly ErrorCode Conflict = new("conflict", ErrorKind.Request, "Conflict");
    public static readonly ErrorCode LimitExceeded = new("limit-exceeded", ErrorKind.Request, "Limit exceeded");
    public static readonly ErrorCode BodyTooLarge = new("body-too-large", ErrorKind.Request, "Request body too large");
    public static readonly ErrorCode Unauthorized = new("unauthorized", ErrorKind.Request, "Unauthorized");
    public static readonly ErrorCode ForeignHost = new("foreign-host", ErrorKind.Request, "Host not served here");
    public static readonly ErrorCode CrossSite = new("cross-site", ErrorKind.Request, "Cross-site request");
    public static readonly ErrorCode UnsupportedMediaType = new("unsupported-media-type", ErrorKind.Request, "Unsupported Content-Type");
    /// <summary>The function runs its max_instances VMs and its queue is full or the request waited its bound: the
    /// same request may succeed later (HTTP: 429 with Retry-After). The client's rate, not the host, is at fault.</summary>
    public static readonly ErrorCode TooManyRequests = new("too-many-requests", ErrorKind.Request, "Too many requests for the function");

    // The function's fault.
    public static readonly ErrorCode FunctionFailed = new("function-failed", ErrorKind.Function, "Function failed");
    public static readonly ErrorCode GuestAborted = new("guest-aborted", ErrorKind.Function, "Function aborted the request");
    public static readonly ErrorCode GuestCrashed = new("guest-crashed", ErrorKind.Function, "Function crashed");
    public static readonly ErrorCode GuestExited = new("guest-exited", ErrorKind.Function, "Function's program exited");
    public static readonly ErrorCode GuestProtocol = new("guest-protocol", ErrorKind.Function, "Function broke the guest protocol");
    public static readonly ErrorCode GuestDeadlock = new("guest-deadlock", ErrorKind.Function, "Function would wait forever");
    public static readonly ErrorCode GuestTimeout = new("guest-timeout", ErrorKind.Function, "Function timed out");
    public static readonly ErrorCode ElfUnusable = new("elf-unusable", ErrorKind.Function, "Function ELF unusable");
    public static readonly ErrorCode ProgramUnusable = new("program-unusable", ErrorKind.Function, "Function's program cannot be loaded");

    // The snapshot's fault.
    public static readonly ErrorCode SnapshotUnusable = new("snapshot-unusable", ErrorKind.Snapshot, "Snapshot or recording missing or unusable");

    // The host's fault.
    public static readonly ErrorCode KvmUnavailable = new("kvm-unavailable", ErrorKind.Host, "KVM unavailable");
    public static readonly ErrorCode RuntimeUnavailable = new("runtime-unavailable", ErrorKind.Host, "Runtime root cannot be built");
    public static readonly ErrorCode GuestStopped = new("guest-stopped", ErrorKind.Host, "Guest stopped by the host");
    public static readonly ErrorCode DiskFull = new("disk-full", ErrorKind.Host, "Host disk full");
    public static readonly ErrorCode HostError = new("host-error", ErrorKind.Host, "Host error");
    /// <summary>A capacity the host is at for now (its memory budget for VMs, concurrent deploys): the same request
    /// may succeed later (HTTP: 503 with Retry-After).</summary>
    public static readonly ErrorCode Busy = new("busy", ErrorKind.Host, "Host busy");
    public static readonly ErrorCode DaemonUnreachable = new("daemon-unreachable", ErrorKind.Host, "Daemon unreachable");
    /// <summary>In a cluster: the worker serving a request stopped answering mid-request and the request was not sent
    /// again (HTTP: 502, the gateway's answer for an upstream that vanished).</summary>
    public static readonly ErrorCode WorkerLost = new("worker-lost", ErrorKind.Host, "Worker lost mid-request");
    /// <summary>In a cluster: no worker listens for invocations (HTTP: 503).</summary>
    public static readonly ErrorCode NoWorkers = new("no-workers", ErrorKind.Host, "No worker in the cluster");

    // Ours.
    public static readonly ErrorCode Internal = new("internal", ErrorKind.Bug, "Internal error");

    /// <summary>Every code, in declaration order.</summary>
    public static IReadOnlyList<ErrorCode> All => _all;

    /// <summary>The code named <paramref name="name"/> (as a daemon's problem carries it), or null.</summary>
    public static ErrorCode? Find(string? name) => _all.Find(c => c.Name == name);

    public override string ToString() => Name;
}
