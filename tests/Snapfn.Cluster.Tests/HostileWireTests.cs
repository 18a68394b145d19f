using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using Snapfn.Cluster.Serving;
using Snapfn.Platform;
using Snapfn.Platform.Errors;

namespace Snapfn.Cluster.Tests;

/// <summary>
/// Whatever reaches a worker over NATS, or a front door from a worker or the results bucket, is checked as a stranger's:
/// malformed headers and subjects are refused with the platform's own errors, a garbled answer becomes an error of
/// ours rather than a crash or a trusted value.
/// </summary>
[Collection(ServingTestGroup.Name)]
public sealed class HostileWireTests(ServingClusterFixture fixture)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, string, string> BadRequests => new()
    {
        { "snapfn.invoke.hostile", WireHeaders.TimeoutMs, "abc", "Snapfn-Timeout-Ms must be a whole number" },
        { "snapfn.invoke.hostile", WireHeaders.TimeoutMs, "999999999999", "Snapfn-Timeout-Ms must be a whole number" },
        { "snapfn.invoke.hostile", WireHeaders.TimeoutMs, "-5", "Snapfn-Timeout-Ms must be a whole number" },
        { "snapfn.invoke.hostile", WireHeaders.RequestMode, "../../etc", "unknown mode '../../etc'" },
        { "snapfn.invoke.hostile", WireHeaders.InvocationId, "not-a-uuid", "is not an invocation id" },
        { "snapfn.invoke.Not_A_Name", WireHeaders.Attempt, "1", "names no valid function" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task A_worker_refuses_a_malformed_request_with_the_platforms_error(string subject, string header, string value, string message)
    {
        await fixture.Cluster.DeployAsync("hostile");
        await using var nats = new NatsConnection(NatsOpts.Default with { Url = fixture.Cluster.Nats.ClientUrls[0] });
        var reply = await nats.RequestAsync<byte[], byte[]>(subject, "x"u8.ToArray(), new NatsHeaders { [header] = value }, cancellationToken: Cancel);

        Assert.Equal(WireHeaders.Done, reply.Headers![WireHeaders.Reply].ToString());
        var answer = WorkerAnswer.FromReply(reply.Headers, reply.Data, 4096);
        Assert.Equal(ErrorCode.InvalidRequest, answer.Error!.Code);
        Assert.Contains(message, answer.Error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Cluster.Runtime.Runs, r => r.Function == "hostile");
    }

    [Fact]
    public async Task A_worker_named_among_those_that_refused_a_request_declines_it_at_once_without_running_it()
    {
        await fixture.Cluster.DeployAsync("hostile");
        await using var nats = new NatsConnection(NatsOpts.Default with { Url = fixture.Cluster.Nats.ClientUrls[0] });
        var headers = new NatsHeaders { [WireHeaders.InvocationId] = InvocationId.New(), [WireHeaders.RefusedBy] = "w9,w2" };
        var reply = await nats.RequestAsync<byte[], byte[]>(ClusterWorker.OwnPrefix("w2") + "hostile", "x"u8.ToArray(), headers, cancellationToken: Cancel);

        Assert.Equal(WireHeaders.Done, reply.Headers![WireHeaders.Reply].ToString());
        var answer = WorkerAnswer.FromReply(reply.Headers, reply.Data, 4096);
        Assert.Equal(ErrorCode.Busy, answer.Error!.Code);
        Assert.Equal("w2", answer.Worker);
        Assert.Contains("refused this request a moment ago", answer.Error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Cluster.Runtime.Runs, r => r.Function == "hostile");
    }

    [Fact]
    public void A_retried_from_list_keeps_only_worker_ids_and_a_bounded_number_of_them()
    {
        var headers = new NatsHeaders
        {
            [WireHeaders.Outcome] = "error", [WireHeaders.Worker] = "w1",
            [WireHeaders.RetriedFrom] = "w2, ../x,W3,w2," + string.Join(',', Enumerable.Range(0, 100).Select(i => $"n{i}")),
        };
        var answer = WorkerAnswer.FromReply(headers, JsonSerializer.SerializeToUtf8Bytes(new { code = "function-failed", message = "x" }), 4096);
        Assert.Equal("w2", answer.RetriedFrom[0]);
        Assert.DoesNotContain("../x", answer.RetriedFrom);
        Assert.DoesNotContain("W3", answer.RetriedFrom);
        Assert.True(answer.RetriedFrom.Count <= WorkerAnswer.MaxRetriedFrom);
        Assert.Equal(answer.RetriedFrom.Distinct().Count(), answer.RetriedFrom.Count);
        // Through the results bucket's encoding too.
        var stored = WorkerAnswer.Decode(answer.Encode(), 4096);
        Assert.Equal(answer.RetriedFrom, stored.RetriedFrom);
    }

    [Fact]
    public void A_garbled_answer_is_an_error_of_ours_never_a_trusted_value()
    {
        var headers = new NatsHeaders
        {
            [WireHeaders.Outcome] = "error", [WireHeaders.Worker] = "w1",
        };
        var unknownCode = WorkerAnswer.FromReply(headers, JsonSerializer.SerializeToUtf8Bytes(new { code = "launch-missiles", message = "x" }), 4096);
        Assert.Equal(ErrorCode.Internal, unknownCode.Error!.Code);
        var notJson = WorkerAnswer.FromReply(headers, "\0\0{"u8.ToArray(), 4096);
        Assert.Equal(ErrorCode.Internal, notJson.Error!.Code);

        var huge = WorkerAnswer.FromReply(headers, JsonSerializer.SerializeToUtf8Bytes(new
        {
            code = "function-failed", message = new string('m', 10_000), remedy = "Record", remedy_function = "../x", remedy_mode = "rm -rf", retry_after_ms = "1e300",
        }), 4096);
        Assert.Equal(ErrorCode.FunctionFailed, huge.Error!.Code);
        Assert.True(Encoding.UTF8.GetByteCount(huge.Error.Message) <= 4096 + 64, $"{huge.Error.Message.Length} characters kept");
        Assert.Null(huge.Error.Remedy!.Function);
        Assert.Null(huge.Error.Remedy.Mode);
        Assert.Null(huge.RetryAfter);
        // A body far beyond any bounded error is not even parsed.
        var flood = WorkerAnswer.FromReply(headers, JsonSerializer.SerializeToUtf8Bytes(new { code = "function-failed", message = new string('m', 1_000_000) }), 4096);
        Assert.Equal(ErrorCode.Internal, flood.Error!.Code);

        var ok = new NatsHeaders
        {
            [WireHeaders.Outcome] = "ok", [WireHeaders.Worker] = "w2", [WireHeaders.TotalMs] = "NaN", [WireHeaders.RestoreMs] = "-4",
            [WireHeaders.InvocationId] = "../../x", [WireHeaders.Degraded] = new string('d', 10_000),
        };
        var result = WorkerAnswer.FromReply(ok, "out"u8.ToArray(), 4096).Result!;
        Assert.Equal(0, result.TotalMs);
        Assert.Equal(0, result.RestoreMs);
        Assert.Null(result.InvocationId);
        Assert.True(result.Degraded!.Length <= 512);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0, 0 })]
    [InlineData(new byte[] { 0x7f, 0xff, 0xff, 0xff, (byte)'{', (byte)'}' })]
    [InlineData(new byte[] { 0, 0, 0, 2, (byte)'[', (byte)']' })]
    [InlineData(new byte[] { 0, 0, 0, 3, (byte)'{', (byte)'x', (byte)'}' })]
    public void A_garbled_stored_result_reads_as_an_error(byte[] stored)
    {
        var answer = WorkerAnswer.Decode(stored, 4096);
        Assert.Null(answer.Result);
        Assert.Equal(ErrorCode.Internal, answer.Error!.Code);
    }

    [Fact]
    public void The_workers_that_refused_a_request_travel_with_it_bounded()
    {
        var request = new InvokeRequest("f", []) { InvocationId = InvocationId.New() };
        var headers = InvocationRequestWire.ToHeaders(request, attempt: 1, ["w2", "w3"]);
        Assert.True(InvocationRequestWire.RefusedBy(headers, "w2"));
        Assert.True(InvocationRequestWire.RefusedBy(headers, "w3"));
        Assert.False(InvocationRequestWire.RefusedBy(headers, "w1"));
        Assert.False(InvocationRequestWire.RefusedBy(InvocationRequestWire.ToHeaders(request, attempt: 1), "w2"));
        // A hostile header: only the first MaxRefusedBy ids are read, whatever follows.
        var many = new NATS.Client.Core.NatsHeaders
        {
            [WireHeaders.RefusedBy] = string.Join(',', Enumerable.Range(0, 10_000).Select(i => $"x{i}")) + ",w1",
        };
        Assert.True(InvocationRequestWire.RefusedBy(many, "x15"));
        Assert.False(InvocationRequestWire.RefusedBy(many, "x16"));
        Assert.False(InvocationRequestWire.RefusedBy(many, "w1"));
    }

    [Fact]
    public void An_answer_survives_the_results_bucket_unchanged()
    {
        var answer = new WorkerAnswer
        {
            Worker = "w3", FetchMs = 12.5,
            Result = new InvocationResult
            {
                Function = "f", Mode = "faasnap", Output = [0, 1, 2, 255], RestoreMs = 1.25, ExecuteMs = 2, TotalMs = 3.25, CachedPagesBefore = 9, Path = "cold-faasnap",
                QueueMs = 0.5, InvocationId = InvocationId.New(), ColdStart = false, Degraded = "line one\nline two", Counters = new Dictionary<string, double>(),
            },
        };
        var back = WorkerAnswer.Decode(answer.Encode(), 4096);
        Assert.Equal(answer.Result.Output, back.Result!.Output);
        Assert.Equal(answer.Result with { Output = back.Result.Output, Counters = back.Result.Counters, Degraded = "line one line two" }, back.Result);
        Assert.Equal(12.5, back.FetchMs);

        var failed = WorkerAnswer.Failed("w1", new LimitExceededException("host-memory-budget", "no room", "raise it", TimeSpan.FromSeconds(3)), 4096);
        var failedBack = WorkerAnswer.Decode(failed.Encode(), 4096);
        Assert.Equal(ErrorCode.Busy, failedBack.Error!.Code);
        Assert.Equal(ErrorRemedy.Retry, failedBack.Error.Remedy);
        Assert.Equal(TimeSpan.FromSeconds(3), failedBack.RetryAfter);
        Assert.Equal(failed.Error!.Message, failedBack.Error.Message);

        // A guest chooses its error's text: the worst to escape, at the bound, still reads back whole.
        var nasty = WorkerAnswer.Failed("w1", new Snapfn.Linux.FunctionFailedException(new string('\u0001', 4000) + "\"end", null), 4096);
        var nastyBack = WorkerAnswer.Decode(nasty.Encode(), 4096);
        Assert.Equal(ErrorCode.FunctionFailed, nastyBack.Error!.Code);
        Assert.Equal(nasty.Error!.Message, nastyBack.Error.Message);
    }
}
