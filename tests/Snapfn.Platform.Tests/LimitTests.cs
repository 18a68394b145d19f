using System.Text;

namespace Snapfn.Platform.Tests;

/// <summary>The error-text bound, the invocation log that applies it, and the turns for deploys.</summary>
public sealed class LimitTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("snapfn-limits-");

    [Fact]
    public void Error_text_is_cut_at_a_character_boundary_with_how_much_was_left_out()
    {
        Assert.Equal("short", ErrorText.Bound("short", 16));
        Assert.Equal("abcdefgh… (2 bytes more)", ErrorText.Bound("abcdefghij", 8));
        // "é" is two bytes and "€" three: the cut never splits one (7 bytes: "abcdef", then no room for "é").
        Assert.Equal("abcdef… (5 bytes more)", ErrorText.Bound("abcdefé€", 7));
        var pairs = string.Concat(Enumerable.Repeat("😀", 10));
        var cut = ErrorText.Bound(pairs, 10);
        Assert.StartsWith("😀😀… (32 bytes more)", cut, StringComparison.Ordinal);
    }

    [Fact]
    public void A_16_MB_error_is_stored_truncated_in_the_invocation_log()
    {
        var database = RegistryDatabase.Open(new SnapfnHome(_dir.FullName));
        using var log = new InvocationLog(database);
        var error = "Traceback: " + new string('E', 16 << 20);

        var id = log.Append(new InvocationLogEntry
        {
            Function = "f", Mode = "vanilla", StartedAt = DateTimeOffset.UtcNow, Error = error, InputBytes = 1, OutputBytes = 0, TotalMs = 1,
        });

        var stored = log.Recent("f", 1).Single(e => e.Id == id).Error!;
        Assert.True(Encoding.UTF8.GetByteCount(stored) < ErrorText.DefaultMaxBytes + 64, $"stored {stored.Length} characters");
        Assert.StartsWith("Traceback: EEEE", stored, StringComparison.Ordinal);
        Assert.EndsWith($"… ({Encoding.UTF8.GetByteCount(error) - ErrorText.DefaultMaxBytes} bytes more)", stored, StringComparison.Ordinal);
    }

    [Fact]
    public void A_deploy_beyond_the_concurrent_limit_waits_its_bound_then_is_refused_as_retryable()
    {
        using var gate = new DeployGate(new DeployLimits { MaxConcurrent = 2, Wait = TimeSpan.Zero });
        using (gate.Enter())
        using (gate.Enter())
        {
            Assert.Equal(0, gate.Free);
            var e = Assert.Throws<LimitExceededException>(() => gate.Enter());
            Assert.Equal("concurrent-deploys", e.Limit);
            Assert.NotNull(e.RetryAfter);
            Assert.Contains("--max-concurrent-deploys", e.Message, StringComparison.Ordinal);
        }
        Assert.Equal(2, gate.Free);
        using (gate.Enter())
            Assert.Equal(1, gate.Free);
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
