using System.Text;
using Snapfn.Interop;
using Snapfn.Linux;
using Snapfn.Linux.Files;
using Snapfn.Platform.Logs;
using Snapfn.Snapshots;
using Snapfn.Snapshots.Tests;
using Snapfn.Tests;
using Snapfn.Vmm;

namespace Snapfn.Platform.Tests;

/// <summary>
/// Issue 21, function logs, without KVM: a stand-in invocation (<see cref="FunctionServer.RunInvocation"/>) writes
/// through the very sinks a Linux program's fds 1 and 2 write to (<see cref="StreamFile"/> over
/// <see cref="LinuxGuest.ProcessFor"/>), and the lines must come back from the store under the invocation's id.
/// </summary>
public sealed class FunctionLogTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-logs-");

    private FunctionService Service(FunctionLogLimits? limits = null)
    {
        var service = new FunctionService(new SnapfnHome(Path.Combine(_dir.FullName, "home")), new FunctionCatalog(Path.Combine(_dir.FullName, "no-builtins")),
            new FunctionServiceOptions { FunctionLogs = limits ?? new FunctionLogLimits() });
        return service;
    }

    /// <summary>Registers <paramref name="name"/> with snapshot files made by hand on disk (no VM): a restore path's
    /// plan leases its snapshot's memory file when the request is admitted, so one must exist.</summary>
    private static void Register(FunctionService service, string name)
    {
        HandmadeSnapshot.Take(service.Home.SnapshotFolder(name), FunctionRegistry.Sha256Of(GuestBuild.ElfPath("hello-world")), HandmadeSnapshot.Marked(name));
        service.Register(name, File.ReadAllBytes(GuestBuild.ElfPath("hello-world")), 512, "test");
    }

    /// <summary>A run that writes <paramref name="write"/>'s bytes to the guest's stdout and stderr the way a Linux
    /// program's write(1, …) and write(2, …) reach the host, then answers "ok" (or throws <paramref name="fail"/>).</summary>
    private static Func<InvocationPlan, MicroVmOptions, CancellationToken, InvocationResult> Run(
        Action<StreamFile, StreamFile> write, Exception? fail = null, bool coldStart = true) => (request, options, _) =>
    {
        var process = new LinuxGuest(new ProcessOptions { RootDirectory = "/nonexistent", Program = "/bin/true", Arguments = ["true"] }, "sha")
            .ProcessFor(options);
        var stdout = new StreamFile("/dev/stdout", Libc.O_WRONLY, process.StandardOutput, 0x11);
        var stderr = new StreamFile("/dev/stderr", Libc.O_WRONLY, process.StandardError, 0x12);
        write(stdout, stderr);
        if (fail is not null)
            throw fail;
        return new InvocationResult
        {
            Function = request.Function.Info.Name, Mode = request.Mode, Output = "ok"u8.ToArray(), RestoreMs = 1, ExecuteMs = 2, TotalMs = 3,
            CachedPagesBefore = 0, Counters = new Dictionary<string, double>(), ColdStart = coldStart,
        };
    };

    private static InvocationResult Invoke(FunctionService service, string name, string mode = "vanilla") =>
        service.Invoke(name, mode, [], cold: false, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

    private static string Text(FunctionLogLine line) => Encoding.UTF8.GetString(line.Bytes);

    [Fact]
    public void A_functions_output_lines_are_kept_under_its_invocation_id_with_stream_path_and_phase()
    {
        using var service = Service();
        Register(service, "printer");
        service.Server.RunInvocation = Run((stdout, stderr) =>
        {
            stdout.Write("hello\nwor"u8);
            stderr.Write("warning: x\n"u8);
            stdout.Write("ld\n\n"u8);
            stdout.Write("no newline at the end"u8);
        });
        var result = Invoke(service, "printer", "cached");
        Assert.True(InvocationId.IsValid(result.InvocationId), result.InvocationId);

        var lines = service.Logs.Page("printer", before: null, limit: 100).Reverse().ToList();
        Assert.Equal(["hello", "warning: x", "world", "", "no newline at the end"], lines.Select(Text));
        Assert.Equal(["stdout", "stderr", "stdout", "stdout", "stdout"], lines.Select(l => l.Stream));
        Assert.All(lines, l =>
        {
            Assert.Equal(result.InvocationId, l.InvocationId);
            Assert.Equal("mode-cached", l.Path); // the path that served it (ServePath.Name)
            Assert.Equal(FunctionLogPhase.Invoke, l.Phase);
            Assert.Equal("printer", l.Function);
        });
        // The invocation log's row carries the same id.
        Assert.Equal(result.InvocationId, service.Log.Recent("printer", 1).Single().InvocationId);
    }

    [Fact]
    public void A_failed_invocations_output_is_kept_under_the_id_the_caller_gave()
    {
        using var service = Service();
        Register(service, "crasher");
        service.Server.RunInvocation = Run((_, stderr) => stderr.Write("Traceback (most recent call last):\n  boom\n"u8),
            fail: new FunctionFailedException("the function raised ValueError", null));
        var id = InvocationId.New();
        Assert.Throws<FunctionFailedException>(() =>
            service.Invoke("crasher", "vanilla", [], cold: false, TimeSpan.FromSeconds(10), id, TestContext.Current.CancellationToken));
        var lines = service.Logs.Page("crasher", null, 10);
        Assert.Equal(["  boom", "Traceback (most recent call last):"], lines.Select(Text));
        Assert.All(lines, l => Assert.Equal(id, l.InvocationId));
        var entry = service.Log.Recent("crasher", 1).Single();
        Assert.Equal(id, entry.InvocationId);
        Assert.False(entry.Succeeded);
    }

    [Fact]
    public void Bytes_that_are_not_text_are_stored_as_written()
    {
        using var service = Service();
        Register(service, "binary");
        byte[] hostile = [0x1b, (byte)'[', (byte)'2', (byte)'J', 0xff, 0xfe, 0, (byte)'\r', 0xe2, 0x80, 0xae];
        service.Server.RunInvocation = Run((stdout, _) => stdout.Write([.. hostile, (byte)'\n']));
        Invoke(service, "binary");
        Assert.Equal(hostile, service.Logs.Page("binary", null, 1).Single().Bytes);
    }

    [Fact]
    public void A_flood_of_output_is_truncated_with_a_note_not_stored_whole()
    {
        using var service = Service(new FunctionLogLimits { MaxBytesPerInvocation = 1024, MaxLinesPerInvocation = 100 });
        Register(service, "flood");
        const int total = 8 << 20;
        service.Server.RunInvocation = Run((stdout, _) =>
        {
            var chunk = new byte[64 * 1024];
            Array.Fill(chunk, (byte)'a');
            for (var written = 0; written < total; written += chunk.Length)
                stdout.Write(chunk);
        });
        Invoke(service, "flood");
        var lines = service.Logs.Page("flood", null, 1000).Reverse().ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal(1024, lines[0].Bytes.Length);
        Assert.Equal("snapfn", lines[1].Stream);
        Assert.Contains($"{total - 1024} bytes of output dropped", Text(lines[1]), StringComparison.Ordinal);
        Assert.Contains("function-log-per-invocation", Text(lines[1]), StringComparison.Ordinal);
    }

    [Fact]
    public void A_flood_of_empty_lines_stops_at_the_line_bound()
    {
        using var service = Service(new FunctionLogLimits { MaxBytesPerInvocation = 1 << 20, MaxLinesPerInvocation = 50 });
        Register(service, "newlines");
        service.Server.RunInvocation = Run((stdout, _) =>
        {
            var newlines = new byte[100_000];
            Array.Fill(newlines, (byte)'\n');
            stdout.Write(newlines);
        });
        Invoke(service, "newlines");
        var lines = service.Logs.Page("newlines", null, 1000);
        Assert.Equal(51, lines.Count); // 50 kept and the note
        Assert.Contains("99950 bytes of output dropped (99950 lines whole)", Text(lines[0]), StringComparison.Ordinal);
    }

    [Fact]
    public void A_function_keeps_its_newest_lines_within_its_bound_and_others_are_untouched()
    {
        var limits = new FunctionLogLimits { MaxBytesPerInvocation = 1024, MaxLinesPerInvocation = 16, MaxBytesPerFunction = 4096 };
        using var service = Service(limits);
        Register(service, "chatty");
        Register(service, "quiet");
        var n = 0;
        service.Server.RunInvocation = (request, options, cancel) => Run((stdout, _) =>
        {
            var line = new byte[500];
            Array.Fill(line, (byte)('a' + n % 26));
            stdout.Write([.. line, (byte)'\n']);
        })(request, options, cancel);
        Invoke(service, "quiet");
        var quiet = service.Logs.Page("quiet", null, 10).Single().Id;
        for (n = 0; n < 20; n++)
            Invoke(service, "chatty");

        var kept = service.Logs.Page("chatty", null, 1000);
        // 564 bytes a line counted (500 + the row's 64): 7 fit in 4096.
        Assert.Equal(7, kept.Count);
        Assert.True(kept.Sum(l => FunctionLogStore.Cost(l.Bytes.Length)) <= limits.MaxBytesPerFunction);
        Assert.Equal(Enumerable.Range(13, 7).Reverse().Select(i => (byte)('a' + i % 26)), kept.Select(l => l.Bytes[0]));
        Assert.Equal(quiet, service.Logs.Page("quiet", null, 10).Single().Id);
    }

    [Fact]
    public void Pages_come_newest_first_and_before_continues_where_a_page_ended()
    {
        using var service = Service();
        Register(service, "pager");
        var i = 0;
        service.Server.RunInvocation = (request, options, cancel) => Run((stdout, _) =>
        {
            for (var k = 0; k < 5; k++)
                stdout.Write(Encoding.ASCII.GetBytes($"line {i++}\n"));
        })(request, options, cancel);
        for (var r = 0; r < 3; r++)
            Invoke(service, "pager");

        var seen = new List<string>();
        long? before = null;
        while (true)
        {
            var page = service.Logs.Page("pager", before, 4);
            seen.AddRange(page.Select(Text));
            Assert.True(page.Zip(page.Skip(1)).All(p => p.First.Id > p.Second.Id), "a page is newest first");
            if (page.Count < 4)
                break;
            before = page[^1].Id;
        }
        Assert.Equal(Enumerable.Range(0, 15).Reverse().Select(k => $"line {k}"), seen);
        Assert.Equal(["line 13", "line 14"], service.Logs.After("pager", service.Logs.Page("pager", null, 3)[^1].Id, 10).Select(Text));
    }

    [Fact]
    public void Deleting_a_function_deletes_its_lines()
    {
        using var service = Service();
        Register(service, "gone");
        service.Server.RunInvocation = Run((stdout, _) => stdout.Write("bye\n"u8));
        Invoke(service, "gone");
        Assert.Single(service.Logs.Page("gone", null, 10));
        service.Delete("gone");
        Assert.Empty(service.Logs.Page("gone", null, 10));
    }

    [Fact]
    public void A_warm_vms_output_goes_to_the_invocation_it_serves_now()
    {
        // The switch a VM kept between requests writes through: pointed at each invocation's capture in turn.
        using var service = Service();
        var first = service.Logs.Capture("warm-fn", InvocationId.New());
        var second = service.Logs.Capture("warm-fn", InvocationId.New());
        var process = new LinuxGuest(new ProcessOptions { RootDirectory = "/nonexistent", Program = "/bin/true", Arguments = ["true"] }, "sha")
            .ProcessFor(new MicroVmOptions { Output = first });
        var vmOutput = Assert.IsType<GuestOutputSwitch>(process.Vm.Output);
        process.StandardOutput!("one\n"u8);
        vmOutput.Target = second;
        process.StandardOutput!("two\n"u8);
        first.Complete("warm");
        second.Complete("warm");
        Assert.Equal(["two", "one"], service.Logs.Page("warm-fn", null, 10).Select(Text));
        Assert.Equal([second.InvocationId, first.InvocationId], service.Logs.Page("warm-fn", null, 10).Select(l => l.InvocationId));
    }

    [Fact]
    public void Followers_get_new_lines_in_order_and_one_that_falls_behind_is_dropped()
    {
        using var service = Service(new FunctionLogLimits { FollowerBufferLines = 3, MaxFollowers = 2 });
        using var fast = service.Logs.Feed.Follow("f");
        using var slow = service.Logs.Feed.Follow("f");
        Assert.Throws<LimitExceededException>(() => service.Logs.Feed.Follow("g"));

        var capture = service.Logs.Capture("f", InvocationId.New());
        capture.Write(GuestOutputKind.Stdout, "1\n2\n"u8);
        capture.Complete("vanilla");
        var got = new List<string>();
        while (fast.Lines.TryRead(out var line))
            got.Add(Text(line));
        Assert.Equal(["1", "2"], got);

        capture = service.Logs.Capture("f", InvocationId.New());
        capture.Write(GuestOutputKind.Stdout, "3\n4\n"u8);
        capture.Complete("vanilla");
        Assert.True(slow.Dropped, "a follower 4 lines behind with room for 3 is dropped");
        Assert.False(fast.Dropped);
        Assert.Equal(1, service.Logs.Feed.Followers);
        using var another = service.Logs.Feed.Follow("g"); // the dropped one's place is free
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
