using Snapfn.Cli;
using Snapfn.Platform;
using Snapfn.Snapshots;

namespace Snapfn.Daemon.Tests;

/// <summary>The CLI's exit codes, from the error's kind: 0 done, 1 a failure (the function's, the snapshot's, the
/// host's), 2 the request's fault (a usage error), 70 a bug of ours;
/// a failure is one line on stderr, never a stack trace. Alone in its collection: it swaps Console.Error.</summary>
[Collection("console")]
public sealed class CliExitCodeTests
{
    public static TheoryData<Func<Exception>, int> Cases => new()
    {
        { () => new UsageException("bad flag"), CliErrors.Usage },
        { () => new InvalidRequestException("bad name"), CliErrors.Usage },
        // A function's failure, locally or reported by a daemon, is a failure, not a usage error or a bug.
        { () => new Linux.FunctionFailedException("ValueError: no", null), CliErrors.Failure },
        { () => new Linux.ProgramExitedException(new Linux.ProgramExit(3, null, null), "while serving a request", ""), CliErrors.Failure },
        { () => new Cli.Remote.DaemonRequestException(502, "the daemon answered 502 Bad Gateway: ValueError: no", "function-failed"), CliErrors.Failure },
        { () => new Cli.Remote.DaemonRequestException(400, "the daemon answered 400 Bad Request: bad name", "invalid-request"), CliErrors.Usage },
        { () => new LimitExceededException("guest-memory-per-vm", "too much", "raise it"), CliErrors.Usage },
        { () => new SnapshotInvalidException("take it again"), CliErrors.Failure },
        { () => new IOException("record it again"), CliErrors.Failure },
        { () => new Vmm.GuestTimeoutException(TimeSpan.FromSeconds(1)), CliErrors.Failure },
        { () => new InvalidOperationException("a bug"), CliErrors.Internal },
        // A plain ArgumentException reaching the edge is an edge that did not check a value first: ours.
        { () => new ArgumentException("unknown mode 'x'"), CliErrors.Internal },
        { () => new ArgumentNullException("x"), CliErrors.Internal },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Each_failure_has_its_exit_code_and_one_line(Func<Exception> make, int code)
    {
        var stderr = new StringWriter();
        var saved = Console.Error;
        Console.SetError(stderr);
        try
        {
            Assert.Equal(code, CliErrors.Guard(() => throw make()));
        }
        finally
        {
            Console.SetError(saved);
        }
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("snapfn: ", lines[0], StringComparison.Ordinal);
        Assert.Equal(0, CliErrors.Guard(() => 0));
    }

    [Fact]
    public void A_timeout_names_the_cli_option_that_raises_it() =>
        Assert.Equal("snapfn: guest did not finish within 3 s and was stopped; raise --timeout if it needs longer",
            StderrOf(new Vmm.GuestTimeoutException(TimeSpan.FromSeconds(3))));

    [Fact]
    public void A_bad_snapshot_or_recording_names_the_cli_command_that_fixes_it()
    {
        Assert.Equal("snapfn: snapshot memory file m is missing: take the snapshot with `snapfn snapshot f`",
            StderrOf(new SnapshotInvalidException("snapshot memory file m is missing", SnapshotRemedy.TakeSnapshot("f"))));
        Assert.Equal("snapfn: reap recording 'r' is truncated: record it with `snapfn record f --mode reap`",
            StderrOf(new SnapshotInvalidException("reap recording 'r' is truncated", SnapshotRemedy.Record("f", "reap"))));
    }

    [Fact]
    public void A_bad_elf_and_a_retryable_root_build_get_the_cli_remedy()
    {
        Assert.Equal("snapfn: the ELF of 'f' is truncated; build it with `snapfn build DIR`",
            StderrOf(new InvalidRequestException("the ELF of 'f' is truncated", new Vmm.ElfFormatException("truncated")), CliErrors.Usage));
        Assert.Equal("snapfn: no lists: check network access to deb.debian.org, then run the command again",
            StderrOf(new Linux.Roots.RootBuildException("no lists: check network access to deb.debian.org") { Retryable = true }));
        // Not retryable (a tool missing): nothing to repeat, the message alone.
        Assert.Equal("snapfn: dpkg-deb not found", StderrOf(new Linux.Roots.RootBuildException("dpkg-deb not found")));
    }

    private static string StderrOf(Exception failure, int code = CliErrors.Failure)
    {
        var stderr = new StringWriter();
        var saved = Console.Error;
        Console.SetError(stderr);
        try
        {
            Assert.Equal(code, CliErrors.Guard(() => throw failure));
        }
        finally
        {
            Console.SetError(saved);
        }
        return stderr.ToString().Trim();
    }
}

/// <summary>Tests that replace Console.Error run with nothing else in parallel.</summary>
[CollectionDefinition("console", DisableParallelization = true)]
public sealed class ConsoleSwappingTests;
