using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using Snapfn.Platform;
using Snapfn.Platform.Errors;

namespace Snapfn.Cluster.Serving;

/// <summary>
/// What a worker answers for one invocation: its result (output and timings) or its classified error, and which worker
/// it was. Carried two ways with the same fields: as a NATS reply (fields in headers, the output as the body; an error
/// as a JSON body, since its text may hold line breaks a header cannot), and as an asynchronous result in the results
/// bucket (<see cref="Encode"/>: a length-prefixed JSON of the fields, then the output or the error's JSON). Everything read back is
/// checked as coming from a stranger: numbers parsed and bounded, texts bounded, an unknown error code is ours.
/// </summary>
public sealed record WorkerAnswer
{
    /// <summary>Longest text kept from a field (a degraded note, a path); an error's message has its own bound.</summary>
    private const int MaxFieldChars = 512;
    private const int MaxMetaBytes = 16 * 1024;

    public required string Worker { get; init; }

    public InvocationResult? Result { get; init; }

    public ClassifiedError? Error { get; init; }

    public TimeSpan? RetryAfter { get; init; }

    /// <summary>How long the worker spent making the function local (<see cref="IFunctionReplicas.EnsureLocalAsync"/>); 0
    /// when it held it already.</summary>
    public double FetchMs { get; init; }

    /// <summary>The workers that took this invocation before (a delivery of the asynchronous stream) and vanished
    /// without answering, oldest first; empty when there were none.</summary>
    public IReadOnlyList<string> RetriedFrom { get; init; } = [];

    /// <summary>Most ids <see cref="RetriedFrom"/> keeps (the first ones): a bound on what travels and is stored.</summary>
    public const int MaxRetriedFrom = 16;

    /// <summary>The result, or the error as the exception a front door throws.</summary>
    public InvocationResult ResultOrThrow() =>
        Result ?? throw new ClusterInvocationException(Error ?? new ClassifiedError(ErrorCode.Internal, $"worker {Worker} answered neither a result nor an error"), RetryAfter, Worker);

    public static WorkerAnswer Failed(string worker, Exception exception, int maxErrorBytes)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var error = ErrorClassifier.Classify(exception);
        // A bug's text stays in the worker's log, as a daemon keeps its own; the front door learns where to look.
        error = error.Kind == ErrorKind.Bug
            ? error with { Message = $"worker {worker} failed unexpectedly ({exception.GetType().Name}); its log has the details" }
            : error with { Message = ErrorText.Bound(error.Message, maxErrorBytes) };
        var retry = (exception as IRetryAfter ?? exception.InnerException as IRetryAfter)?.RetryAfter;
        return new WorkerAnswer { Worker = worker, Error = error, RetryAfter = retry };
    }

    /// <summary>The fields as text pairs (headers of a NATS reply; the JSON of <see cref="Encode"/>).</summary>
    public Dictionary<string, string> Fields()
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal) { [WireHeaders.Worker] = Worker, [WireHeaders.FetchMs] = Ms(FetchMs) };
        if (RetriedFrom.Count > 0)
            fields[WireHeaders.RetriedFrom] = string.Join(',', RetriedFrom.Take(MaxRetriedFrom));
        if (Result is { } r)
        {
            fields[WireHeaders.Outcome] = "ok";
            fields[WireHeaders.Function] = r.Function;
            fields[WireHeaders.Mode] = r.Mode;
            fields[WireHeaders.RestoreMs] = Ms(r.RestoreMs);
            fields[WireHeaders.ExecuteMs] = Ms(r.ExecuteMs);
            fields[WireHeaders.TotalMs] = Ms(r.TotalMs);
            fields[WireHeaders.QueueMs] = Ms(r.QueueMs);
            fields[WireHeaders.CachedPages] = r.CachedPagesBefore.ToString(CultureInfo.InvariantCulture);
            fields[WireHeaders.ColdStart] = r.ColdStart ? "1" : "0";
            if (r.Path is { } path)
                fields[WireHeaders.Path] = path;
            if (r.InvocationId is { } id)
                fields[WireHeaders.InvocationId] = id;
            if (r.Degraded is { } degraded)
                fields[WireHeaders.Degraded] = Clean(degraded);
        }
        else
        {
            fields[WireHeaders.Outcome] = "error";
        }
        return fields;
    }

    /// <summary>The NATS reply: fields as headers, the output (or the error's JSON) as the body.</summary>
    public (NatsHeaders Headers, byte[] Body) ToReply()
    {
        var headers = new NatsHeaders { [WireHeaders.Reply] = WireHeaders.Done };
        foreach (var (key, value) in Fields())
            headers[key] = value;
        return (headers, Result?.Output ?? ErrorJson());
    }

    public static WorkerAnswer FromReply(NatsHeaders? headers, byte[]? body, int maxErrorBytes)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        if (headers is not null)
        {
            foreach (var (key, values) in headers)
                fields[key] = values.ToString();
        }
        return FromFields(fields, body ?? [], maxErrorBytes);
    }

    /// <summary>For the results bucket: [4-byte big-endian length][JSON of the fields][the body of the reply: the
    /// output, or the error's JSON]. The fields are bounded texts, so the header stays far below its bound.</summary>
    public byte[] Encode()
    {
        var meta = JsonSerializer.SerializeToUtf8Bytes(Fields());
        var output = Result?.Output ?? ErrorJson();
        var bytes = new byte[4 + meta.Length + output.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, meta.Length);
        meta.CopyTo(bytes, 4);
        output.CopyTo(bytes, 4 + meta.Length);
        return bytes;
    }

    /// <summary>The size <see cref="Encode"/> adds to the output, bounded: what a result store must leave room for.</summary>
    public static int EnvelopeAllowance => MaxMetaBytes + 4;

    public static WorkerAnswer Decode(ReadOnlySpan<byte> bytes, int maxErrorBytes)
    {
        if (bytes.Length < 4)
            return Garbled("a stored result shorter than its header");
        var length = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (length < 2 || length > MaxMetaBytes || length > bytes.Length - 4)
            return Garbled($"a stored result whose header claims {length} bytes");
        Dictionary<string, string>? fields;
        try
        {
            fields = JsonSerializer.Deserialize<Dictionary<string, string>>(bytes.Slice(4, length));
        }
        catch (JsonException e)
        {
            return Garbled($"a stored result whose header is not JSON ({e.Message})");
        }
        if (fields is null)
            return Garbled("a stored result with an empty header");
        return FromFields(fields, bytes[(4 + length)..].ToArray(), maxErrorBytes);
    }

    private static WorkerAnswer FromFields(Dictionary<string, string> fields, byte[] body, int maxErrorBytes)
    {
        var worker = Text(fields, WireHeaders.Worker) ?? "(unnamed worker)";
        var fetch = Number(fields, WireHeaders.FetchMs);
        var retriedFrom = WorkerIds(fields.GetValueOrDefault(WireHeaders.RetriedFrom));
        if (Text(fields, WireHeaders.Outcome) == "ok")
        {
            var result = new InvocationResult
            {
                Function = Text(fields, WireHeaders.Function) ?? "",
                Mode = Text(fields, WireHeaders.Mode) ?? "",
                Output = body,
                RestoreMs = Number(fields, WireHeaders.RestoreMs),
                ExecuteMs = Number(fields, WireHeaders.ExecuteMs),
                TotalMs = Number(fields, WireHeaders.TotalMs),
                QueueMs = Number(fields, WireHeaders.QueueMs),
                CachedPagesBefore = (long)Number(fields, WireHeaders.CachedPages),
                ColdStart = Text(fields, WireHeaders.ColdStart) != "0",
                Path = Text(fields, WireHeaders.Path),
                InvocationId = Text(fields, WireHeaders.InvocationId) is { } id && InvocationId.IsValid(id) ? id : null,
                Degraded = Text(fields, WireHeaders.Degraded),
                // The mode's counters stay in the worker's invocation log and metrics; they do not travel.
                Counters = new Dictionary<string, double>(),
            };
            return new WorkerAnswer { Worker = worker, Result = result, FetchMs = fetch, RetriedFrom = retriedFrom };
        }
        var (error, retry) = ParseError(body, worker, maxErrorBytes);
        return new WorkerAnswer { Worker = worker, Error = error, RetryAfter = retry, FetchMs = fetch, RetriedFrom = retriedFrom };
    }

    private byte[] ErrorJson()
    {
        var error = Error ?? new ClassifiedError(ErrorCode.Internal, "no error");
        return JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string?>
        {
            ["code"] = error.Code.Name,
            ["message"] = error.Message,
            ["remedy"] = error.Remedy?.Action.ToString(),
            ["remedy_function"] = error.Remedy?.Function,
            ["remedy_mode"] = error.Remedy?.Mode,
            ["retry_after_ms"] = RetryAfter is { } retry ? Ms(retry.TotalMilliseconds) : null,
        });
    }

    private static (ClassifiedError Error, TimeSpan? RetryAfter) ParseError(byte[] body, string worker, int maxErrorBytes)
    {
        Dictionary<string, string?>? json = null;
        try
        {
            // A message of maxErrorBytes escapes to at most six times as many (\u0001).
            json = body.Length <= MaxMetaBytes + (long)maxErrorBytes * 6 ? JsonSerializer.Deserialize<Dictionary<string, string?>>(body) : null;
        }
        catch (JsonException)
        {
        }
        if (json is null || ErrorCode.Find(json.GetValueOrDefault("code")) is not { } code)
            return (new ClassifiedError(ErrorCode.Internal, $"worker {worker} answered an error this node cannot read"), null);
        var message = ErrorText.Bound(json.GetValueOrDefault("message") ?? code.Title, maxErrorBytes);
        ErrorRemedy? remedy = null;
        if (Enum.TryParse<RemedyAction>(json.GetValueOrDefault("remedy"), ignoreCase: false, out var action) && Enum.IsDefined(action))
        {
            var function = json.GetValueOrDefault("remedy_function") is { } f && FunctionName.IsValid(f) ? f : null;
            var mode = json.GetValueOrDefault("remedy_mode") is { } m && FunctionService.Modes.Contains(m) ? m : null;
            remedy = new ErrorRemedy(action, function, mode);
        }
        TimeSpan? retry = double.TryParse(json.GetValueOrDefault("retry_after_ms"), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms is >= 0 and <= 3_600_000
            ? TimeSpan.FromMilliseconds(ms) : null;
        return (new ClassifiedError(code, message, remedy), retry);
    }

    /// <summary>The valid worker ids of a comma-separated list read from a stranger, distinct, at most
    /// <see cref="MaxRetriedFrom"/>; anything else in it is dropped.</summary>
    public static IReadOnlyList<string> WorkerIds(string? list) => list is null
        ? []
        : [.. list.Split(',', MaxRetriedFrom + 1, StringSplitOptions.TrimEntries).Take(MaxRetriedFrom).Where(Serving.WorkerId.IsValid).Distinct(StringComparer.Ordinal)];

    private static WorkerAnswer Garbled(string what) =>
        new() { Worker = "(unknown)", Error = new ClassifiedError(ErrorCode.Internal, $"the results bucket holds {what}") };

    private static string? Text(Dictionary<string, string> fields, string key) =>
        fields.TryGetValue(key, out var value) && value.Length > 0 ? Clean(value) : null;

    private static double Number(Dictionary<string, string> fields, string key) =>
        fields.TryGetValue(key, out var value) && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && double.IsFinite(n) && n >= 0 ? n : 0;

    /// <summary>Bounded, without control characters (a header value cannot hold a line break).</summary>
    private static string Clean(string text)
    {
        var bounded = text.Length > MaxFieldChars ? text[..MaxFieldChars] : text;
        return string.Create(bounded.Length, bounded, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
                span[i] = char.IsControl(source[i]) ? ' ' : source[i];
        });
    }

    private static string Ms(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
