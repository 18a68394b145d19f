using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using Snapfn.Cluster;
using Snapfn.Cluster.Artifacts;
using Snapfn.Cluster.Metadata;
using Snapfn.Cluster.Serving;
using Snapfn.Platform;
using Snapfn.Platform.Errors;

namespace Snapfn.Fuzz.Targets;

/// <summary>
/// What another node, or a tampered NATS server, hands a node of a cluster, fed straight to the parsers (no NATS
/// server): the first byte picks the family, the rest is the message.
/// <list type="bullet">
/// <item>0, an artifact's manifest from the manifests bucket (<see cref="ArtifactManifest.Parse"/>): allowed
/// <see cref="ArtifactException"/>, or <see cref="LimitExceededException"/> naming an artifact limit.</item>
/// <item>1, a function's record from the functions bucket (<see cref="FunctionRecord.Parse"/>): the same.</item>
/// <item>2, a stored asynchronous result (<see cref="WorkerAnswer.Decode"/>): never throws.</item>
/// <item>3, a worker's reply to a front door, headers and body (<see cref="WorkerAnswer.FromReply"/>): never throws.</item>
/// <item>4, an invocation request as a worker reads it: subject, headers and body (<see cref="InvocationRequestWire"/>):
/// allowed <see cref="InvalidRequestException"/>.</item>
/// <item>5, the pending marker of an asynchronous result, the workers that took it (<see cref="WorkerAnswer.WorkerIds"/>).</item>
/// <item>6, a placement entry, key and value (<see cref="PlacementTable.Read"/>): never throws.</item>
/// </list>
/// Headers are written as text in the input, one <c>Key: value</c> a line, then an empty line, then the body.
/// Invariants: what is accepted has every field within its documented bound (docs/limits.md "Cluster artifacts";
/// what a node would hand the platform is what the platform accepts), and where a writer exists, what was accepted
/// is written again, read again and gives the same.
/// </summary>
public sealed class ClusterTarget : FuzzTarget
{
    private const int Families = 7;

    /// <summary>The digests the seeds' manifests give, so that their ids match.</summary>
    private static readonly string _stateDigest = Convert.ToHexStringLower(SHA256.HashData("fuzz state"u8));
    private static readonly string _codeDigest = Convert.ToHexStringLower(SHA256.HashData("fuzz code"u8));

    private static readonly string[] _artifactIds =
    [
        "state." + _stateDigest, "code." + _codeDigest, "memory." + _stateDigest, "state." + _codeDigest, "STATE." + _stateDigest,
        "state." + _stateDigest.ToUpperInvariant(), "", "state.", "recording-reap." + _stateDigest,
    ];

    private static readonly string[] _keys = ["py-hello", "hello", "fz", "", "..", "a.b", "Hello", new('a', 65), "a-"];

    private static readonly ArtifactLimits _defaultLimits = new();

    /// <summary>Small limits, so that the bounds are reached by small inputs.</summary>
    private static readonly ArtifactLimits _smallLimits = new() { MaxFileBytes = 3 << 20, MaxManifestBytes = 2048, MaxCodeBytes = 1 << 20 };

    /// <summary>The error-text bounds a daemon takes (`--max-error-text-kib` 1-1024).</summary>
    private static readonly int[] _maxErrorBytes = [ErrorText.DefaultMaxBytes, 1 << 10, 1 << 20];

    /// <summary>What a node writes into an error of its own about an answer it cannot read: a sentence and a worker's
    /// name (at most 512 characters, 3 bytes each in UTF-8).</summary>
    private const int OwnErrorBytes = 3 * MaxFieldChars + 256;

    private static readonly TimeSpan[] _maxTimeouts = [TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(1)];

    /// <summary>Longest text <see cref="WorkerAnswer"/> keeps from a field.</summary>
    private const int MaxFieldChars = 512;

    /// <summary>What <see cref="ErrorText.Bound"/> adds to a cut text: "… (N bytes more)".</summary>
    private const int BoundSuffixBytes = 40;

    public override string Name => "cluster";

    public override string Description => "what a cluster node reads from NATS: manifests, function records, replies, requests, stored results, placement";

    public override void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length == 0)
            return;
        var rest = input[1..];
        switch (input[0] % Families)
        {
            case 0:
                Manifest(rest);
                break;
            case 1:
                Record(rest);
                break;
            case 2:
                StoredResult(rest);
                break;
            case 3:
                Reply(rest);
                break;
            case 4:
                Request(rest);
                break;
            case 5:
                Marker(rest);
                break;
            default:
                Placement(rest);
                break;
        }
    }

    // --- 0: an artifact's manifest -------------------------------------------------------------------------------

    private static void Manifest(ReadOnlySpan<byte> input)
    {
        var id = _artifactIds[Pick(input, 0, _artifactIds.Length)];
        var limits = Pick(input, 1, 2) == 0 ? _defaultLimits : _smallLimits;
        var json = Skip(input, 2);
        ArtifactManifest manifest;
        try
        {
            manifest = ArtifactManifest.Parse(json, id, limits);
        }
        catch (ArtifactException e)
        {
            Names(e, $"artifact '{id}'");
            return;
        }
        catch (LimitExceededException e)
        {
            ArtifactLimit(e);
            return;
        }
        CheckManifest(manifest, id, limits);
        var written = manifest.ToJson();
        ArtifactManifest again;
        try
        {
            again = ArtifactManifest.Parse(written, id, limits);
        }
        catch (Exception e) when (e is ArtifactException or LimitExceededException)
        {
            throw new InvariantViolatedException($"an accepted manifest, written again, is refused: {e.Message}", e);
        }
        if (!again.ToJson().AsSpan().SequenceEqual(written))
            throw new InvariantViolatedException("an accepted manifest, written again and read back, writes different JSON");
    }

    private static void CheckManifest(ArtifactManifest m, string id, ArtifactLimits limits)
    {
        if (!ArtifactId.IsValid(id) || m.Sha256 != ArtifactId.DigestOf(id))
            throw new InvariantViolatedException($"a manifest accepted under '{id}' gives digest '{m.Sha256}'");
        if (m.Size < 0 || m.Size > limits.MaxFileBytes)
            throw new InvariantViolatedException($"a manifest of {m.Size} bytes accepted (limit artifact-size: {limits.MaxFileBytes})");
        if (m.ChunkSize is < ArtifactLimits.MinChunkSize or > ArtifactLimits.MaxChunkSize || !int.IsPow2(m.ChunkSize))
            throw new InvariantViolatedException($"a chunk size of {m.ChunkSize} accepted");
        if (m.Mode is < 0 or > 0x1FF)
            throw new InvariantViolatedException($"permission bits {m.Mode} accepted");
        if (m.Chunks.Count > limits.MaxChunks(m.ChunkSize) || (long)m.Chunks.Count * m.ChunkSize < m.Size)
            throw new InvariantViolatedException($"{m.Chunks.Count} chunks of {m.ChunkSize} accepted for {m.Size} bytes");
        long total = 0;
        for (var i = 0; i < m.Chunks.Count; i++)
        {
            var chunk = m.Chunks[i];
            if (chunk is null || (chunk.Length != 0 && !IsSha256(chunk)))
                throw new InvariantViolatedException($"chunk {i} named '{chunk}' accepted");
            var length = m.LengthOf(i);
            if (length <= 0 || length > m.ChunkSize)
                throw new InvariantViolatedException($"chunk {i} of {length} bytes (chunk size {m.ChunkSize}, file {m.Size})");
            total += length;
        }
        if (total != m.Size)
            throw new InvariantViolatedException($"the chunks add up to {total} bytes, not the manifest's {m.Size}");
        if (m.Cpu is { } cpu)
            _ = CpuFeatures.Missing(cpu, CpuFeatures.Current);
    }

    // --- 1: a function's record ------------------------------------------------------------------------------------

    private static void Record(ReadOnlySpan<byte> input)
    {
        var key = _keys[Pick(input, 0, _keys.Length)];
        var limits = Pick(input, 1, 2) == 0 ? _defaultLimits : _smallLimits;
        var json = Skip(input, 2);
        FunctionRecord record;
        try
        {
            record = FunctionRecord.Parse(json, key, limits);
        }
        catch (ArtifactException e)
        {
            Names(e, $"function '{key}'");
            return;
        }
        catch (LimitExceededException e)
        {
            ArtifactLimit(e);
            return;
        }
        CheckRecord(record, key);
        var written = record.ToJson();
        FunctionRecord again;
        try
        {
            again = FunctionRecord.Parse(written, key, limits);
        }
        catch (Exception e) when (e is ArtifactException or LimitExceededException)
        {
            throw new InvariantViolatedException($"an accepted record, written again, is refused: {e.Message}", e);
        }
        if (!again.ToJson().AsSpan().SequenceEqual(written))
            throw new InvariantViolatedException("an accepted record, written again and read back, writes different JSON");
    }

    /// <summary>What a node does with a record (FunctionReplicas: register the code with its settings, adopt the
    /// snapshot and its recordings) must not be refused as the request's fault: a record is checked whole when read.</summary>
    private static void CheckRecord(FunctionRecord r, string key)
    {
        if (r.Format != FunctionRecord.CurrentFormat || r.Name != key || !FunctionName.IsValid(r.Name))
            throw new InvariantViolatedException($"a record of '{r.Name}' (format {r.Format}) accepted under '{key}'");
        if (r.Kind is not (FunctionRecord.UserKind or FunctionRecord.BuiltInKind) || (r.Kind == FunctionRecord.UserKind) != (r.Code is not null))
            throw new InvariantViolatedException($"kind '{r.Kind}' accepted with code '{r.Code}'");
        if (r.Runtime != FunctionManifest.NativeRuntime && ScriptRuntime.Find(r.Runtime) is null)
            throw new InvariantViolatedException($"runtime '{r.Runtime}' accepted");
        if (!IsSha256(r.CodeSha256) || (r.Code is not null && !ArtifactId.IsValid(r.Code)))
            throw new InvariantViolatedException("a code hash or artifact that is not one accepted");
        Platform(() => MemorySize.Check(r.MemoryMib, "memory_mib"), "its memory size");
        if (r.MaxInstances is { } max && FunctionSettings.CheckMaxInstances(max) is { } wrong)
            throw new InvariantViolatedException($"max_instances {max} accepted ({wrong})");
        if (r.Description is null || r.Description.Length > FunctionService.MaxDescriptionChars || r.Description.Any(char.IsControl))
            throw new InvariantViolatedException("a description the platform refuses accepted (one line of at most 500 characters)");
        if (r.PublishedBy is null)
            throw new InvariantViolatedException("a null publisher accepted");
        if (r.Snapshot is { } snapshot)
        {
            if (!ArtifactId.IsValid(snapshot.State) || !ArtifactId.IsValid(snapshot.Memory))
                throw new InvariantViolatedException($"a snapshot whose files are '{snapshot.State}' and '{snapshot.Memory}' accepted");
            Platform(() => MemorySize.Check(snapshot.MemoryMib, "memory_mib"), "its snapshot's memory size");
            if (snapshot.DataPages < 0 || snapshot.DataPages > (long)snapshot.MemoryMib << 8)
                throw new InvariantViolatedException($"a snapshot of {snapshot.MemoryMib} MiB with {snapshot.DataPages} data pages accepted");
        }
        if (r.Recordings is null || r.Recordings.Count > 16)
            throw new InvariantViolatedException("recordings that are not a list of at most 16 accepted");
        foreach (var recording in r.Recordings)
        {
            if (recording is null || !FunctionService.RecordModes.Contains(recording.Mode) || !ArtifactId.IsValid(recording.Artifact))
                throw new InvariantViolatedException($"a recording '{recording?.Mode}' of '{recording?.Artifact}' accepted");
            if (r.Snapshot is null)
                throw new InvariantViolatedException("recordings accepted without the snapshot they were made from");
            if (recording.Pages < 0 || recording.Regions < 0)
                throw new InvariantViolatedException($"a recording of {recording.Pages} pages in {recording.Regions} regions accepted");
        }
        if (r.Recordings.Select(x => x.Mode).Distinct().Count() != r.Recordings.Count)
            throw new InvariantViolatedException("two recordings of one mode accepted");
    }

    private static void Platform(Action check, string what)
    {
        try
        {
            check();
        }
        catch (InvalidRequestException e)
        {
            throw new InvariantViolatedException($"a record accepted whose {what} the platform refuses: {e.Message}", e);
        }
    }

    // --- 2, 3: answers --------------------------------------------------------------------------------------------

    private static void StoredResult(ReadOnlySpan<byte> input)
    {
        var maxError = _maxErrorBytes[Pick(input, 0, _maxErrorBytes.Length)];
        var answer = WorkerAnswer.Decode(Skip(input, 1), maxError);
        CheckAnswer(answer, maxError);
        var again = WorkerAnswer.Decode(answer.Encode(), maxError);
        CheckAnswer(again, maxError);
        SameAnswer(answer, again, maxError);
    }

    private static void Reply(ReadOnlySpan<byte> input)
    {
        var maxError = _maxErrorBytes[Pick(input, 0, _maxErrorBytes.Length)];
        var (headers, body) = Message(Skip(input, 1));
        var answer = WorkerAnswer.FromReply(headers, body, maxError);
        CheckAnswer(answer, maxError);
        var (replyHeaders, replyBody) = answer.ToReply();
        var again = WorkerAnswer.FromReply(replyHeaders, replyBody, maxError);
        CheckAnswer(again, maxError);
        SameAnswer(answer, again, maxError);
    }

    private static void CheckAnswer(WorkerAnswer a, int maxError)
    {
        Text(a.Worker, "the worker");
        if (a.Result is null == a.Error is null)
            throw new InvariantViolatedException("an answer with both a result and an error, or neither");
        Number(a.FetchMs, "the fetch time");
        if (a.RetriedFrom.Count > WorkerAnswer.MaxRetriedFrom || a.RetriedFrom.Any(w => !WorkerId.IsValid(w)) || a.RetriedFrom.Distinct().Count() != a.RetriedFrom.Count)
            throw new InvariantViolatedException($"retried-from list accepted: {string.Join(',', a.RetriedFrom)}");
        if (a.Result is { } r)
        {
            Text(r.Function, "the function");
            Text(r.Mode, "the mode");
            if (r.Path is { } path)
                Text(path, "the path");
            if (r.Degraded is { } degraded)
                Text(degraded, "the degraded note");
            if (r.InvocationId is { } id && !InvocationId.IsValid(id))
                throw new InvariantViolatedException($"invocation id '{id}' accepted");
            foreach (var (value, what) in new[] { (r.RestoreMs, "restore"), (r.ExecuteMs, "execute"), (r.TotalMs, "total"), (r.QueueMs, "queue"), (r.CachedPagesBefore, "cached pages") })
                Number(value, what);
        }
        if (a.Error is { } e)
        {
            if (ErrorCode.Find(e.Code.Name) != e.Code)
                throw new InvariantViolatedException($"error code '{e.Code.Name}' accepted");
            if (Encoding.UTF8.GetByteCount(e.Message) > Math.Max(maxError + BoundSuffixBytes, OwnErrorBytes))
                throw new InvariantViolatedException($"an error message of {Encoding.UTF8.GetByteCount(e.Message)} bytes kept (bound {maxError})");
            if (e.Remedy is { } remedy && (!Enum.IsDefined(remedy.Action) || (remedy.Function is { } f && !FunctionName.IsValid(f))
                || (remedy.Mode is { } m && !FunctionService.Modes.Contains(m))))
                throw new InvariantViolatedException($"remedy {remedy} accepted");
        }
        if (a.RetryAfter is { } retry && (retry < TimeSpan.Zero || retry > TimeSpan.FromHours(1)))
            throw new InvariantViolatedException($"a Retry-After of {retry} accepted");
    }

    /// <summary>What an answer says is what it says once written (stored or replied) and read again.</summary>
    private static void SameAnswer(WorkerAnswer a, WorkerAnswer b, int maxError)
    {
        var (fa, fb) = (a.Fields(), b.Fields());
        if (fa.Count != fb.Count || fa.Any(f => !fb.TryGetValue(f.Key, out var v) || v != f.Value))
            throw new InvariantViolatedException($"an answer written and read again changed: {JsonSerializer.Serialize(fa)} became {JsonSerializer.Serialize(fb)}");
        if (a.Result is { } ra && !ra.Output.AsSpan().SequenceEqual(b.Result!.Output))
            throw new InvariantViolatedException("an answer's output changed when written and read again");
        if (a.Error is { } ea && (ea.Code != b.Error!.Code || ea.Remedy != b.Error.Remedy || a.RetryAfter != b.RetryAfter
            || b.Error.Message != ErrorText.Bound(ea.Message, maxError)))
            throw new InvariantViolatedException($"an error written and read again changed: {ea} became {b.Error} (retry {a.RetryAfter} / {b.RetryAfter})");
    }

    // --- 4: a request ---------------------------------------------------------------------------------------------

    private static void Request(ReadOnlySpan<byte> input)
    {
        var maxTimeout = _maxTimeouts[Pick(input, 0, _maxTimeouts.Length)];
        var message = Skip(input, 1);
        var newline = message.IndexOf((byte)'\n');
        var subject = Encoding.UTF8.GetString(newline < 0 ? message : message[..newline]);
        var (headers, body) = Message(newline < 0 ? [] : message[(newline + 1)..]);
        var prefix = Pick(input, 0, 6) < 3 ? ClusterNames.InvokeSubjectPrefix : ClusterNames.AsyncSubjectPrefix;
        var function = InvocationRequestWire.FunctionOf(subject, prefix);
        if (function is not null && (!FunctionName.IsValid(function) || prefix + function != subject))
            throw new InvariantViolatedException($"subject '{subject}' read as function '{function}'");
        InvokeRequest request;
        try
        {
            request = InvocationRequestWire.Parse(function ?? "fz", headers, body, maxTimeout);
        }
        catch (InvalidRequestException)
        {
            return;
        }
        CheckRequest(request, maxTimeout);
        var again = InvocationRequestWire.Parse(request.Function, InvocationRequestWire.ToHeaders(request, attempt: 1), request.Input, maxTimeout);
        CheckRequest(again, maxTimeout);
        if (again.Timeout != request.Timeout || again.InvocationId != request.InvocationId || again.Mode != request.Mode || again.Cold != request.Cold)
            throw new InvariantViolatedException($"a request written and read again changed: {request} became {again}");
    }

    private static void CheckRequest(InvokeRequest r, TimeSpan maxTimeout)
    {
        if (r.Timeout < TimeSpan.FromMilliseconds(1) || r.Timeout > maxTimeout)
            throw new InvariantViolatedException($"a timeout of {r.Timeout} accepted (at most {maxTimeout})");
        if (!InvocationId.IsValid(r.InvocationId))
            throw new InvariantViolatedException($"invocation id '{r.InvocationId}' accepted");
        if (r.Mode is { } mode && !FunctionService.Modes.Contains(mode))
            throw new InvariantViolatedException($"mode '{mode}' accepted");
    }

    // --- 5, 6: the pending marker, placement ----------------------------------------------------------------------

    private static void Marker(ReadOnlySpan<byte> input)
    {
        var ids = WorkerAnswer.WorkerIds(Encoding.ASCII.GetString(input));
        if (ids.Count > WorkerAnswer.MaxRetriedFrom || ids.Any(w => !WorkerId.IsValid(w)) || ids.Distinct().Count() != ids.Count)
            throw new InvariantViolatedException($"the pending marker's workers read as {string.Join(',', ids)}");
    }

    private static void Placement(ReadOnlySpan<byte> input)
    {
        var deleted = Pick(input, 0, 4) == 3;
        var message = Skip(input, 1);
        var newline = message.IndexOf((byte)'\n');
        var key = Encoding.UTF8.GetString(newline < 0 ? message : message[..newline]);
        byte[]? value = deleted ? null : (newline < 0 ? [] : message[(newline + 1)..].ToArray());
        if (PlacementTable.Read(key, value) is not var (function, worker, holding))
            return;
        if (!FunctionName.IsValid(function) || !WorkerId.IsValid(worker) || key != $"{function}.{worker}")
            throw new InvariantViolatedException($"placement key '{key}' read as function '{function}', worker '{worker}'");
        if (holding is null)
            return;
        if (deleted || holding.Worker != worker || holding.Idle < 0 || holding.Score is < 0 or > 2)
            throw new InvariantViolatedException($"placement entry {holding} accepted under '{key}'{(deleted ? " for a deletion" : "")}");
    }

    // --- helpers --------------------------------------------------------------------------------------------------

    private static int Pick(ReadOnlySpan<byte> input, int at, int count) => at < input.Length ? input[at] % count : 0;

    private static ReadOnlySpan<byte> Skip(ReadOnlySpan<byte> input, int count) => input.Length > count ? input[count..] : [];

    /// <summary>Headers as text (<c>Key: value</c> lines up to an empty line; a key again adds a value, as on the wire),
    /// then the body. Lines NATS could not carry (no colon, an empty key) are left out.</summary>
    private static (NatsHeaders? Headers, byte[] Body) Message(ReadOnlySpan<byte> input)
    {
        var end = input.IndexOf("\n\n"u8);
        if (end < 0)
            return (null, input.ToArray());
        var headers = new NatsHeaders();
        foreach (var line in Encoding.UTF8.GetString(input[..end]).Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
                continue;
            var (key, value) = (line[..colon], line[(colon + 1)..].TrimStart(' '));
            if (key.Any(c => char.IsControl(c) || c == ' ') || value.Contains('\r', StringComparison.Ordinal))
                continue;
            headers[key] = headers.TryGetValue(key, out var values) ? Microsoft.Extensions.Primitives.StringValues.Concat(values, value) : value;
        }
        return (headers, input[(end + 2)..].ToArray());
    }

    private static void Names(ArtifactException e, string what)
    {
        // A refusal names what was refused (the operator finds it in the log) and says what to do.
        if (!e.Message.Contains(what, StringComparison.Ordinal))
            throw new InvariantViolatedException($"a refusal that does not name {what}: {e.Message}", e);
    }

    private static void ArtifactLimit(LimitExceededException e)
    {
        if (e.Limit is not ("artifact-manifest" or "artifact-size"))
            throw new InvariantViolatedException($"a refusal naming limit '{e.Limit}': {e.Message}", e);
    }

    private static void Text(string text, string what)
    {
        if (text is null || text.Length > MaxFieldChars || text.Any(char.IsControl))
            throw new InvariantViolatedException($"{what} kept as a text of {text?.Length} characters, or with a control character");
    }

    private static void Number(double value, string what)
    {
        if (!double.IsFinite(value) || value < 0)
            throw new InvariantViolatedException($"{what} read as {value}");
    }

    private static bool IsSha256(string? text) => text is { Length: 64 } && text.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    public override IEnumerable<(string Name, byte[] Bytes)> Seeds()
    {
        // 0: manifests under "state.<digest>" (id 0), with default limits (0) or small ones (1).
        var manifest = new ArtifactManifest
        {
            Size = (3L << 20) + 5, Sha256 = _stateDigest, Mode = 0x1a4, ChunkSize = ArtifactLimits.DefaultChunkSize,
            Chunks = [_codeDigest, ArtifactManifest.ZeroChunk, _stateDigest, _codeDigest],
            Cpu = new CpuFeatures(0x7ffafbff, 0xbfebfbff, 0x029c67af, 0x40000008, 0xbc000400, 0xf, 0x121, 0x2c100800),
        };
        yield return ("manifest-state", [0, 0, 0, .. manifest.ToJson()]);
        yield return ("manifest-empty-small-limits", [0, 0, 1, .. (manifest with { Size = 0, Chunks = [], Cpu = null, ChunkSize = ArtifactLimits.MinChunkSize }).ToJson()]);
        // 1: function records under "py-hello" (key 0) and "hello" (key 1).
        var record = new FunctionRecord
        {
            Name = "py-hello", Kind = FunctionRecord.UserKind, Runtime = "python", MemoryMib = 256, Description = "greets", KeepState = true,
            MaxInstances = 4, Retryable = false, CodeSha256 = _codeDigest, Code = "code." + _codeDigest,
            Snapshot = new SnapshotArtifacts { Id = new Guid("6c3f0b1e-0000-4000-8000-000000000003"), State = "state." + _stateDigest, Memory = "memory." + _stateDigest, MemoryMib = 256, DataPages = 1234 },
            Recordings = [new RecordingArtifact { Mode = FunctionService.RecordModes[0], Artifact = "recording." + _stateDigest, Pages = 99, Regions = 3, RecordedAt = DateTimeOffset.UnixEpoch }],
            PublishedBy = "node-a-1f2e3d", PublishedAt = DateTimeOffset.UnixEpoch.AddDays(20000),
        };
        yield return ("record-python-snapshot", [1, 0, 0, .. record.ToJson()]);
        yield return ("record-builtin", [1, 1, 0, .. new FunctionRecord { Name = "hello", Kind = FunctionRecord.BuiltInKind, Runtime = "c", MemoryMib = 128, CodeSha256 = _stateDigest }.ToJson()]);
        // 2: stored results: an answer, an error with a remedy and a retry.
        var result = new WorkerAnswer
        {
            Worker = "w1", FetchMs = 12.5, RetriedFrom = ["w2", "w3"],
            Result = new InvocationResult
            {
                Function = "py-hello", Mode = FunctionService.Modes.First(), Output = "{\"hello\": 1}"u8.ToArray(), RestoreMs = 1.25, ExecuteMs = 3, TotalMs = 5,
                QueueMs = 0.5, CachedPagesBefore = 10, ColdStart = true, Path = "restore", InvocationId = "0190a000-0000-7000-8000-000000000001", Degraded = "no recording",
                Counters = new Dictionary<string, double>(),
            },
        };
        var error = new WorkerAnswer
        {
            Worker = "w2", RetryAfter = TimeSpan.FromSeconds(2),
            Error = new ClassifiedError(ErrorCode.Busy, "worker w2 is handling 256 requests already\nline two", new ErrorRemedy(RemedyAction.TakeSnapshot, "py-hello", FunctionService.Modes.First())),
        };
        yield return ("stored-result", [2, 0, .. result.Encode()]);
        yield return ("stored-error", [2, 0, .. error.Encode()]);
        // 3: replies, as a worker sends them.
        yield return ("reply-done", [3, 0, .. Wire(result.ToReply())]);
        yield return ("reply-error", [3, 2, .. Wire(error.ToReply())]);
        // 4: requests, as a front door sends them.
        var request = new InvokeRequest("py-hello", "{\"name\": \"x\"}"u8.ToArray())
        {
            Mode = FunctionService.Modes.First(), Cold = true, Timeout = TimeSpan.FromSeconds(30), InvocationId = "0190a000-0000-7000-8000-000000000002",
        };
        yield return ("request", [4, 0, .. Encoding.UTF8.GetBytes(ClusterNames.InvokeSubjectPrefix + "py-hello\n"), .. Wire((InvocationRequestWire.ToHeaders(request, 2), request.Input))]);
        yield return ("request-async", [4, 3, .. Encoding.UTF8.GetBytes(ClusterNames.AsyncSubjectPrefix + "py-hello\n"), .. Wire((InvocationRequestWire.ToHeaders(request with { Mode = null, Cold = false }, 1), request.Input))]);
        // 5: a pending marker's list; 6: placement entries as a worker writes them, and a deletion.
        yield return ("marker", [5, .. "w1,w2, w3,,W4,w1,node-a-1f2e3d"u8]);
        yield return ("placement", [6, 0, .. Encoding.UTF8.GetBytes(PlacementPublisher.KeyOf("py-hello", "w1") + "\n"), .. JsonSerializer.SerializeToUtf8Bytes(new PlacementHolding("w1", 2, true))]);
        yield return ("placement-deleted", [6, 3, .. Encoding.UTF8.GetBytes(PlacementPublisher.KeyOf("py-hello", "w1") + "\n")]);
    }

    /// <summary>Headers and body in the input's text form.</summary>
    private static byte[] Wire((NatsHeaders Headers, byte[] Body) message)
    {
        var text = new StringBuilder();
        foreach (var (key, values) in message.Headers)
        {
            foreach (var value in values)
                text.Append(key).Append(": ").Append(value).Append('\n');
        }
        return [.. Encoding.UTF8.GetBytes(text.Append('\n').ToString()), .. message.Body];
    }
}
