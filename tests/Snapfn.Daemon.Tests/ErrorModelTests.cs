using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Snapfn.Bench.Remote;
using Snapfn.Cli;
using Snapfn.Cli.Remote;
using Snapfn.Interop;
using Snapfn.Linux;
using Snapfn.Linux.Files;
using Snapfn.Linux.Loader;
using Snapfn.Linux.Memory;
using Snapfn.Linux.Roots;
using Snapfn.Linux.Syscalls;
using Snapfn.Platform;
using Snapfn.Platform.Errors;
using Snapfn.Snapshots;
using Snapfn.Vmm;

namespace Snapfn.Daemon.Tests;

/// <summary>
/// The one error model: every exception type Snapfn defines is classified (its code, and so its kind), and the CLI's
/// exit code and the daemon's status both follow from that classification. A new exception type fails
/// <see cref="Every_exception_type_of_Snapfn_is_in_the_table"/> until it is classified and added here.
/// </summary>
public sealed partial class ErrorModelTests
{
    /// <summary>One instance of each exception type, with the code it must be classified as.</summary>
    private static readonly (Exception Sample, ErrorCode Code)[] _table =
    [
        (new SyscallException("ioctl(KVM_RUN)", 5), ErrorCode.HostError),
        (new SyscallException("write(memory file)", 28), ErrorCode.DiskFull),
        (new KvmUnavailableException("/dev/kvm is missing"), ErrorCode.KvmUnavailable),
        (new GuestCrashedException("triple fault", default, 0), ErrorCode.GuestCrashed),
        (new GuestTimeoutException(TimeSpan.FromSeconds(1)), ErrorCode.GuestTimeout),
        (new GuestAbortedException("refusing"), ErrorCode.GuestAborted),
        (new GuestProtocolException("unknown hypercall 9"), ErrorCode.GuestProtocol),
        (new GuestStoppedException("a page could not be served"), ErrorCode.GuestStopped),
        (new ElfFormatException("truncated"), ErrorCode.ElfUnusable),
        (new GuestAddressException("outside"), ErrorCode.GuestProtocol),
        (new ProgramLoadException("/bin/x is not an ELF executable"), ErrorCode.ProgramUnusable),
        (new ChannelException("two result frames"), ErrorCode.GuestProtocol),
        (new BadAddressException(0x1000, 8), ErrorCode.Internal),
        (new RootBuildException("dpkg-deb not found"), ErrorCode.RuntimeUnavailable),
        (new ProgramExitedException(new ProgramExit(3, null, null), "while serving a request", ""), ErrorCode.GuestExited),
        (new FunctionFailedException("ValueError: no", null), ErrorCode.FunctionFailed),
        (new ProcessRestoreException("the root changed"), ErrorCode.SnapshotUnusable),
        (new SyscallErrorException(14), ErrorCode.Internal),
        (new ProgramDeadlockException(0x1000), ErrorCode.GuestDeadlock),
        (new Snapfn.Linux.Threads.ThreadBlockedException(), ErrorCode.Internal), // a thread switch's, inside the Linux layer only
        (new ChannelFrameTooLargeException(1UL << 30, 32 << 20), ErrorCode.FunctionFailed),
        (new TmpSnapshotException("the function's /tmp holds a FIFO at /tmp/x"), ErrorCode.FunctionFailed),
        (new SnapshotStateException("had pipe:[65537] open"), ErrorCode.FunctionFailed),
        (new SyscallFailedException("mmap(0x0, 0x1000)", new InvalidOperationException("a handler's bug")), ErrorCode.Internal),
        (new ProgramCrashedException(new GuestCrashedException("page fault", default, 0), "read(0x3, 0x0, 0x0) = 0"), ErrorCode.GuestCrashed),
        (new SnapshotInvalidException("state file truncated", SnapshotRemedy.TakeSnapshot("f")), ErrorCode.SnapshotUnusable),
        (new FunctionProjectException("no snapfn.json"), ErrorCode.InvalidFunction),
        (new LimitExceededException("guest-memory-per-vm", "65536 MiB asked", "raise --max-guest-mib"), ErrorCode.LimitExceeded),
        (new FunctionThrottledException("max-instances", "'f' runs its 8 instances", "raise max_instances", TimeSpan.FromSeconds(1)), ErrorCode.TooManyRequests),
        (new InvalidRequestException("bad name"), ErrorCode.InvalidRequest),
        (new FunctionConflictException("a built-in"), ErrorCode.Conflict),
        (new UnknownFunctionException("nope", ["hello-world"]), ErrorCode.UnknownFunction),
        (new RequestTooLargeException("too big"), ErrorCode.BodyTooLarge),
        (new UsageException("bad flag"), ErrorCode.InvalidRequest),
        (new DaemonRequestException(502, "the daemon answered 502", "function-failed"), ErrorCode.FunctionFailed),
        (new RemoteStorageException(RemoteStorageStep.Machine, "no /dev/fuse"), ErrorCode.HostError),
        // A cluster's: what the worker answered, carried back as it was classified there; or the cluster's own.
        (new Snapfn.Cluster.Serving.ClusterInvocationException(new ClassifiedError(ErrorCode.WorkerLost, "worker w2 went silent")), ErrorCode.WorkerLost),
        (new Snapfn.Cluster.Serving.ClusterInvocationException(new ClassifiedError(ErrorCode.TooManyRequests, "max-instances"), TimeSpan.FromSeconds(1)), ErrorCode.TooManyRequests),
        (new Snapfn.Cluster.Serving.ClusterUnavailableException("cannot reach NATS"), ErrorCode.HostError),
        (new Snapfn.Cluster.Artifacts.ArtifactException("chunk 3 is not what its name says"), ErrorCode.SnapshotUnusable),
        (new Snapfn.Bench.Cluster.ClusterRunException("worker w2 did not start"), ErrorCode.HostError),
        (new Snapfn.Bench.Load.LoadRunException("the deploy took no snapshot"), ErrorCode.HostError),
    ];

    /// <summary>Exceptions that are not Snapfn's but reach the edges.</summary>
    private static readonly (Exception Sample, ErrorCode Code)[] _framework =
    [
        (new IOException("disk error"), ErrorCode.HostError),
        (new FileNotFoundException("no such file", "/x"), ErrorCode.HostError),
        (new UnauthorizedAccessException("EACCES"), ErrorCode.HostError),
        (new InvalidOperationException("a bug"), ErrorCode.Internal),
        (new ArgumentException("an edge forgot to check"), ErrorCode.Internal),
        (new ArgumentNullException("x"), ErrorCode.Internal),
        (new AggregateException(new FunctionFailedException("raised", null)), ErrorCode.FunctionFailed),
        (new DaemonRequestException(0, "cannot reach the daemon"), ErrorCode.DaemonUnreachable),
        (new DaemonRequestException(404, "the daemon answered 404"), ErrorCode.UnknownFunction),
    ];

    public static TheoryData<string> Rows => [.. Enumerable.Range(0, _table.Length + _framework.Length).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))];

    [Fact]
    public void Every_exception_type_of_Snapfn_is_in_the_table()
    {
        var defined = SnapfnAssemblies()
            .SelectMany(a => a.GetTypes())
            .Where(t => typeof(Exception).IsAssignableFrom(t) && !t.IsAbstract)
            .Select(t => t.FullName!)
            .ToHashSet(StringComparer.Ordinal);
        var tabled = _table.Select(row => row.Sample.GetType().FullName!).ToHashSet(StringComparer.Ordinal);
        Assert.True(defined.Count >= 25, $"found only {defined.Count} exception types: is the assembly walk broken?");
        var missing = defined.Except(tabled).Order(StringComparer.Ordinal).ToList();
        Assert.True(missing.Count == 0, $"exception types without a classification test (add them to ErrorClassifier and to this table): {string.Join(", ", missing)}");
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Each_exception_has_its_code_and_the_cli_and_the_daemon_derive_from_it(string row)
    {
        var index = int.Parse(row, System.Globalization.CultureInfo.InvariantCulture);
        var (sample, code) = index < _table.Length ? _table[index] : _framework[index - _table.Length];
        var error = ErrorClassifier.Classify(sample);
        Assert.Same(code, error.Code);

        var exit = CliErrors.ExitCodeOf(error.Kind);
        var problem = Problem.From(sample);
        Assert.Equal(code.Name, problem.Error);
        Assert.Equal(Problem.TypePrefix + code.Name, problem.Type);
        Assert.Equal(Problem.StatusOf(code), problem.Status);
        AssertConsistent(code, exit, problem.Status);
        if (code.Kind == ErrorKind.Bug)
            Assert.DoesNotContain(sample.Message, problem.Detail, StringComparison.Ordinal);
        else
            Assert.StartsWith(error.Message, problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_code_is_kebab_case_unique_and_maps_consistently()
    {
        Assert.Equal(ErrorCode.All.Count, ErrorCode.All.Select(c => c.Name).Distinct(StringComparer.Ordinal).Count());
        foreach (var code in ErrorCode.All)
        {
            Assert.Matches(KebabCase(), code.Name);
            Assert.Same(code, ErrorCode.Find(code.Name));
            AssertConsistent(code, CliErrors.ExitCodeOf(code.Kind), Problem.StatusOf(code));
        }
        // Every kind has a code, so that every kind is reachable from an exception.
        Assert.Equal(Enum.GetValues<ErrorKind>().Order(), ErrorCode.All.Select(c => c.Kind).Distinct().Order());
    }

    [Fact]
    public void A_full_disk_is_the_hosts_fault_with_its_own_code()
    {
        // /dev/full fails every write with ENOSPC: the IOException .NET throws for it is classified by its errno.
        var full = Assert.ThrowsAny<IOException>(() =>
        {
            using var stream = new FileStream("/dev/full", FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1);
            stream.Write(new byte[4096]);
            stream.Flush();
        });
        Assert.Same(ErrorCode.DiskFull, ErrorClassifier.Classify(full).Code);
        Assert.Equal(StatusCodes.Status507InsufficientStorage, Problem.From(full).Status);
    }

    [Fact]
    public void A_function_failure_is_a_502_naming_the_function_and_a_bug_a_500_that_keeps_its_secrets()
    {
        var failed = Problem.From(new FunctionFailedException("ValueError: bad input", null));
        Assert.Equal((502, "urn:snapfn:problem:function-failed", "ValueError: bad input"), (failed.Status, failed.Type, failed.Detail));
        var bug = Problem.From(new InvalidOperationException("secret /root/path"));
        Assert.Equal(500, bug.Status);
        Assert.Equal("the daemon failed unexpectedly (InvalidOperationException); its log has the details", bug.Detail);
    }

    /// <summary>The rules the two maps keep between them: the request's fault is a usage error and a 4xx; the
    /// function's a failure and a 502/504, never a 500; a bad snapshot a failure and a 409; the host's a failure and a
    /// 5xx; ours exit 70 and a 500.</summary>
    private static void AssertConsistent(ErrorCode code, int exit, int status)
    {
        var expected = code.Kind switch
        {
            ErrorKind.Request => (CliErrors.Usage, status is >= 400 and < 500),
            ErrorKind.Function => (CliErrors.Failure, status is 502 or 504),
            ErrorKind.Snapshot => (CliErrors.Failure, status == 409),
            ErrorKind.Host => (CliErrors.Failure, status is >= 500 and < 600),
            _ => (CliErrors.Internal, status == 500),
        };
        Assert.True(exit == expected.Item1 && expected.Item2, $"{code.Name} ({code.Kind}): exit {exit}, status {status}");
    }

    /// <summary>The CLI's assembly and every Snapfn assembly it references, directly or not (the daemon, the bench,
    /// the platform and the layers below).</summary>
    private static List<Assembly> SnapfnAssemblies()
    {
        var found = new Dictionary<string, Assembly>(StringComparer.Ordinal);
        var pending = new Stack<Assembly>([typeof(CliErrors).Assembly]);
        while (pending.TryPop(out var assembly))
        {
            if (!found.TryAdd(assembly.GetName().Name!, assembly))
                continue;
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                if (reference.Name!.StartsWith("Snapfn.", StringComparison.Ordinal) && !found.ContainsKey(reference.Name))
                    pending.Push(Assembly.Load(reference));
            }
        }
        Assert.Contains("Snapfn.Interop", found.Keys);
        Assert.Contains("Snapfn.Daemon", found.Keys);
        return [.. found.Values];
    }

    [GeneratedRegex("^[a-z]+(-[a-z]+)*$")]
    private static partial Regex KebabCase();
}
