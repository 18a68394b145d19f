using Snapfn.Snapshots;

namespace Snapfn.Platform.Tests;

/// <summary>Which path serves a request, for each combination of the facts the policy decides from (issue 21, item 1).</summary>
public sealed class ServingPolicyTests
{
    private static ServingFacts Facts(bool snapshot = true, bool keepState = false, bool idle = false, bool reset = false,
        string[]? recordings = null, bool cached = false, string? mode = null) => new()
    {
        Function = "fn",
        RequestedMode = mode,
        HasSnapshot = snapshot,
        KeepState = keepState,
        IdleInstance = idle,
        CanResetInPlace = reset,
        ValidRecordings = recordings ?? [],
        SnapshotCached = () => cached,
    };

    private static readonly (string Expected, ServingFacts Facts)[] _cases =
    [
        // The caller's mode wins over everything, an idle VM and a missing snapshot included.
        ("mode-reap", Facts(mode: "reap", keepState: true, idle: true, recordings: ["faasnap"])),
        ("mode-warm", Facts(mode: "warm", snapshot: false)),
        ("mode-vanilla", Facts(mode: "vanilla", recordings: ["faasnap", "reap"], cached: true)),
        // An idle VM of a function that keeps state is reused as it is.
        ("kept", Facts(keepState: true, idle: true, recordings: ["faasnap"])),
        ("kept", Facts(keepState: true, idle: true, snapshot: false)),
        // A function that does not keep state never reuses a VM until reset in place exists; then it is reset.
        ("cold-faasnap", Facts(idle: true, recordings: ["faasnap"])),
        ("reset", Facts(idle: true, reset: true, recordings: ["faasnap"])),
        ("kept", Facts(keepState: true, idle: true, reset: true)),
        // No idle VM: the fastest recorded mode with a valid recording; faasnap before reap.
        ("cold-faasnap", Facts(recordings: ["reap", "faasnap"])),
        ("cold-faasnap", Facts(recordings: ["faasnap"], cached: true)),
        ("cold-reap", Facts(recordings: ["reap"], cached: true)),
        ("cold-faasnap", Facts(keepState: true, recordings: ["faasnap"])),
        // No recording: cached when the snapshot is in the page cache, else vanilla.
        ("cold-cached", Facts(cached: true)),
        ("cold-vanilla", Facts()),
        ("cold-vanilla", Facts(keepState: true)),
        // Recordings of modes the policy does not rank do not count.
        ("cold-vanilla", Facts(recordings: ["faasnap-hot"])),
    ];

    [Fact]
    public void The_path_follows_from_the_facts()
    {
        for (var i = 0; i < _cases.Length; i++)
        {
            var (expected, facts) = _cases[i];
            var path = ServingPolicy.Decide(facts).Name;
            Assert.True(path == expected, $"case {i}: {path}, not {expected}");
        }
    }

    [Fact]
    public void No_snapshot_and_no_mode_is_refused_saying_how_to_take_one()
    {
        var e = Assert.Throws<SnapshotInvalidException>(() => ServingPolicy.Decide(Facts(snapshot: false, recordings: ["faasnap"])));
        Assert.Contains("'fn' has no snapshot", e.Message, StringComparison.Ordinal);
        Assert.Equal(SnapshotRemedy.TakeSnapshot("fn"), e.Remedy);
    }

    [Fact]
    public void The_page_cache_is_asked_only_when_no_recording_decides()
    {
        var asked = 0;
        var facts = Facts(recordings: ["reap"]) with { SnapshotCached = () => ++asked > 0 };
        Assert.Equal("cold-reap", ServingPolicy.Decide(facts).Name);
        Assert.Equal(0, asked);
        Assert.Equal("cold-cached", ServingPolicy.Decide(facts with { ValidRecordings = [] }).Name);
        Assert.Equal(1, asked);
    }

    [Fact]
    public void A_cached_path_restores_with_vanilla_and_counts_as_a_cold_start_and_a_kept_one_does_not()
    {
        var cached = ServingPolicy.Decide(Facts(cached: true));
        Assert.Equal("vanilla", cached.Mode);
        Assert.True(cached.IsColdStart);
        Assert.False(ServingPolicy.Decide(Facts(keepState: true, idle: true)).IsColdStart);
        Assert.False(ServingPolicy.Decide(Facts(mode: "warm")).IsColdStart);
        Assert.True(ServingPolicy.Decide(Facts(mode: "reap")).IsColdStart);
    }
}
