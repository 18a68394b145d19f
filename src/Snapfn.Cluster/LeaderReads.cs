using System.Collections.Concurrent;
using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using NATS.Net;

namespace Snapfn.Cluster;

/// <summary>A stored message read from its stream's leader: its content, its sequence (a key-value entry's revision)
/// and when the server stored it.</summary>
public sealed record LeaderValue(byte[] Value, ulong Revision, DateTimeOffset Stored);

/// <summary>
/// Reads that must see every acknowledged write, the cluster's one way to make them. NATS.Net reads a key-value entry
/// with JetStream's direct get, which any replica of the bucket may answer, one that has not yet applied a write
/// another node has just made: a miss where there is a value, or an older revision (a function's previous version).
/// These reads instead ask the stream's leader (<c>$JS.API.STREAM.MSG.GET</c>), which acknowledged every write the
/// cluster accepted. Used for every read whose answer matters: function records, manifests, asynchronous results,
/// and the object store's entries the chunk collector compares and deletes. Placement, a hint rewritten every few
/// seconds, is read through a watch and needs none of this.
/// </summary>
public sealed class LeaderReads
{
    private const string OperationHeader = "KV-Operation";
    private readonly INatsJSContext _js;
    private readonly ConcurrentDictionary<string, INatsJSStream> _streams = new(StringComparer.Ordinal);

    public LeaderReads(INatsConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _js = connection.CreateJetStreamContext();
    }

    /// <summary>The latest value of <paramref name="key"/> in key-value bucket <paramref name="bucket"/>, or null when
    /// it has none or its latest entry is a delete or purge marker.</summary>
    public Task<LeaderValue?> GetKeyAsync(string bucket, string key, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        ArgumentNullException.ThrowIfNull(key);
        return GetLastAsync("KV_" + bucket, $"$KV.{bucket}.{key}", ct);
    }

    /// <summary>The last message on <paramref name="subject"/> in <paramref name="stream"/>, or null when there is none
    /// or it is a key-value delete or purge marker.</summary>
    public async Task<LeaderValue?> GetLastAsync(string stream, string subject, CancellationToken ct)
    {
        StreamMsgGetResponse answer;
        try
        {
            var handle = await StreamAsync(stream, ct).ConfigureAwait(false);
            answer = await handle.GetAsync(new StreamMsgGetRequest { LastBySubj = subject }, ct).ConfigureAwait(false);
        }
        catch (NatsJSApiException e) when (e.Error.Code == 404)
        {
            return null;
        }
        if (IsDeleteMarker(answer.Message.Hdrs))
            return null;
        return new LeaderValue(answer.Message.Data.ToArray(), answer.Message.Seq, answer.Message.Time);
    }

    /// <summary>Whether a stored message's headers (base64 of the NATS header block, as the stream API returns them)
    /// mark a key-value delete or purge.</summary>
    internal static bool IsDeleteMarker(string? headers)
    {
        if (string.IsNullOrEmpty(headers))
            return false;
        string block;
        try
        {
            block = Encoding.UTF8.GetString(Convert.FromBase64String(headers));
        }
        catch (FormatException)
        {
            return false;
        }
        foreach (var line in block.Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals(OperationHeader, StringComparison.OrdinalIgnoreCase))
                return line.AsSpan(colon + 1).Trim() is "DEL" or "PURGE";
        }
        return false;
    }

    private async Task<INatsJSStream> StreamAsync(string stream, CancellationToken ct)
    {
        if (_streams.TryGetValue(stream, out var known))
            return known;
        var handle = await _js.GetStreamAsync(stream, cancellationToken: ct).ConfigureAwait(false);
        return _streams.GetOrAdd(stream, handle);
    }
}
