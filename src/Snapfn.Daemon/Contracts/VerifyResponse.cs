using Snapfn.Snapshots;

namespace Snapfn.Daemon.Contracts;

/// <summary>POST /functions/{name}/verify: the fields of `snapfn verify --json` (a mismatch is a 409 problem naming the ranges).</summary>
public sealed record VerifyResponse
{
    public required string Function { get; init; }
    public required string MemoryFile { get; init; }
    public required bool Ok { get; init; }
    public required string Digest { get; init; }
    public required ulong BytesRead { get; init; }
    public required double Ms { get; init; }
    public required IReadOnlyList<string> Recordings { get; init; }

    public static VerifyResponse From(MemoryVerification result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new VerifyResponse
        {
            Function = result.Function, MemoryFile = result.MemoryPath, Ok = result.Ok, Digest = result.Digest, BytesRead = result.BytesRead,
            Ms = result.Milliseconds, Recordings = [.. result.Recordings.Select(r => r.Kind)],
        };
    }
}
