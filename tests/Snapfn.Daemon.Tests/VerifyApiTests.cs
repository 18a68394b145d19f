namespace Snapfn.Daemon.Tests;

/// <summary>POST /functions/{name}/verify against the shared daemon.</summary>
[Collection("daemon")]
public sealed class VerifyApiTests
{
    private readonly DaemonFixture _fixture;

    public VerifyApiTests(DaemonFixture fixture)
    {
        _fixture = fixture;
    }

    [Fact]
    public async Task A_snapshot_just_taken_verifies_with_its_digest()
    {
        Kvm.Require();
        await _fixture.EnsureSnapshotAsync("hello-world");
        var text = await _fixture.Daemon.PostTextAsync("functions/hello-world/verify", "");
        var result = System.Text.Json.JsonDocument.Parse(text).RootElement;
        Assert.True(result.GetProperty("ok").GetBoolean());
        Assert.StartsWith("xxh128:", result.GetProperty("digest").GetString());
        Assert.True(result.GetProperty("bytes_read").GetUInt64() > 0);
    }

    [Fact]
    public async Task An_unknown_function_is_a_404()
    {
        using var response = await _fixture.Daemon.PostAsync("functions/no-such-function/verify");
        await RunningDaemon.ProblemAsync(response, 404, "unknown-function");
    }
}
