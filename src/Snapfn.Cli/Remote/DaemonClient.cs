using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Snapfn.Daemon;
using Snapfn.Daemon.Contracts;
using Snapfn.Platform.Errors;

namespace Snapfn.Cli.Remote;

/// <summary>The daemon said no: its problem+json, as one line for the user, classified by the problem's error code
/// (so that `snapfn invoke --server` exits as the local command would), else by its status.</summary>
public sealed class DaemonRequestException : Exception, IClassifiedError
{
    public DaemonRequestException(int status, string message, string? error = null) : base(message)
    {
        Status = status;
        Error = error;
    }

    public DaemonRequestException() { }

    public DaemonRequestException(string message) : base(message) { }

    public DaemonRequestException(string message, Exception innerException) : base(message, innerException) { }

    public int Status { get; }

    /// <summary>The problem's <c>error</c> code; null when the answer had none (or there was no answer).</summary>
    public string? Error { get; }

    public ErrorCode Code => ErrorCode.Find(Error) ?? Status switch
    {
        0 => ErrorCode.DaemonUnreachable,
        401 => ErrorCode.Unauthorized,
        404 => ErrorCode.UnknownFunction,
        409 => ErrorCode.Conflict,
        413 => ErrorCode.BodyTooLarge,
        504 => ErrorCode.GuestTimeout,
        >= 400 and < 500 => ErrorCode.InvalidRequest,
        502 => ErrorCode.FunctionFailed,
        _ => ErrorCode.HostError,
    };
}

/// <summary>
/// The CLI's side of the daemon's HTTP API, over TCP or a Unix socket. Synchronous (HttpClient.Send), like the
/// local commands it stands in for.
/// </summary>
public sealed class DaemonClient : IDisposable
{
    private const string OctetStream = "application/octet-stream";
    private readonly HttpClient _http;

    public DaemonClient(string server, string? token)
    {
        ArgumentNullException.ThrowIfNull(server);
        Server = server;
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        Uri baseAddress;
        if (server.StartsWith("unix:", StringComparison.Ordinal) || server.StartsWith('/'))
        {
            var socket = server.StartsWith("unix:", StringComparison.Ordinal) ? server["unix:".Length..] : server;
            handler.ConnectCallback = async (_, cancellation) =>
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellation);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            };
            baseAddress = new Uri("http://localhost/");
        }
        else if (!Uri.TryCreate(server.TrimEnd('/') + "/", UriKind.Absolute, out baseAddress!) || baseAddress.Scheme != Uri.UriSchemeHttp)
        {
            throw new UsageException($"--server {server}: give http://HOST:PORT or unix:/path/to.sock");
        }
        // Snapshots of big functions take minutes; the daemon bounds every request with its own timeout.
        _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromMinutes(15) };
        if (!string.IsNullOrEmpty(token))
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public string Server { get; }

    /// <summary>Deletes a user function (on a node of a cluster: from the whole cluster).</summary>
    public void Delete(string name)
    {
        using var response = SendRaw(HttpMethod.Delete, $"functions/{Escape(name)}", null, "application/json");
    }

    public IReadOnlyList<FunctionResponse> List() => Send<List<FunctionResponse>>(HttpMethod.Get, "functions", null);

    /// <summary>Registers the function and, with <paramref name="snapshot"/>, snapshots it (a failed snapshot is in
    /// <see cref="FunctionResponse.SnapshotError"/>; the deploy stands).</summary>
    /// <param name="settings">keep_state and max_instances for an ELF; null leaves them to a zip's snapfn.json.</param>
    public FunctionResponse Register(string name, byte[] elf, int memoryMib, string description, bool snapshot = false,
        Snapfn.Platform.FunctionSettings? settings = null) =>
        Send<FunctionResponse>(HttpMethod.Post, $"functions?name={Escape(name)}&memory_mib={memoryMib}&description={Escape(description)}" +
            $"&snapshot={(snapshot ? "true" : "false")}" +
            (settings is null ? "" : $"&keep_state={(settings.KeepState ? "true" : "false")}") +
            (settings?.MaxInstances is { } max ? $"&max_instances={max}" : ""), elf);

    public SnapshotResponse Snapshot(string name, int? memoryMib, double timeoutSeconds) =>
        Send<SnapshotResponse>(HttpMethod.Post, $"functions/{Escape(name)}/snapshot?timeout={Number(timeoutSeconds)}" +
            (memoryMib is { } mib ? $"&memory_mib={mib}" : ""), null);

    public RecordingResponse Record(string name, string mode, byte[] input, int gapPages, double scanMs, double timeoutSeconds) =>
        Send<RecordingResponse>(HttpMethod.Post, $"functions/{Escape(name)}/record?mode={Escape(mode)}&gap_pages={gapPages}" +
            $"&scan_ms={Number(scanMs)}&timeout={Number(timeoutSeconds)}", input);

    /// <param name="mode">null to let the daemon choose the path.</param>
    public InvocationResponse Invoke(string name, string? mode, byte[] input, bool cold, double timeoutSeconds) =>
        Send<InvocationResponse>(HttpMethod.Post, InvokePath(name, mode, cold, timeoutSeconds), input);

    /// <summary>The raw output bytes (no JSON wrapping, no base64), and the path that served them (Snapfn-Path).</summary>
    public (byte[] Output, string? Path) InvokeRaw(string name, string? mode, byte[] input, bool cold, double timeoutSeconds)
    {
        using var response = SendRaw(HttpMethod.Post, InvokePath(name, mode, cold, timeoutSeconds), input, OctetStream);
        using var stream = response.Content.ReadAsStream();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return (buffer.ToArray(), response.Headers.TryGetValues("Snapfn-Path", out var paths) ? paths.FirstOrDefault() : null);
    }

    /// <summary>Queues an invocation on a node of a cluster (POST …/invoke?async=1): its id, to read its result with
    /// <see cref="Result"/>.</summary>
    public AsyncInvocationResponse Submit(string name, string? mode, byte[] input, double timeoutSeconds)
    {
        using var response = SendRaw(HttpMethod.Post, InvokePath(name, mode, cold: false, timeoutSeconds) + "&async=1", input, "application/json");
        using var stream = response.Content.ReadAsStream();
        return JsonSerializer.Deserialize<AsyncInvocationResponse>(stream, DaemonHost.Json)
               ?? throw new DaemonRequestException((int)response.StatusCode, $"the daemon at {Server} sent an empty answer to an asynchronous invocation");
    }

    /// <summary>An asynchronous invocation's result (GET /invocations/{id}): null while it is pending, else its output and
    /// the worker and path that served it; one that failed throws its problem as any request does.</summary>
    public (byte[] Output, string? Worker, string? Path)? Result(string id)
    {
        using var response = SendRaw(HttpMethod.Get, $"invocations/{Escape(id)}", null, OctetStream);
        if (response.StatusCode == HttpStatusCode.Accepted)
            return null;
        using var stream = response.Content.ReadAsStream();
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return (buffer.ToArray(), Header(response, "Snapfn-Worker"), Header(response, "Snapfn-Path"));
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>A page of the function's log lines, newest first (GET /functions/{name}/logs).</summary>
    public FunctionLogsResponse Logs(string name, long? before, int limit) =>
        Send<FunctionLogsResponse>(HttpMethod.Get, $"functions/{Escape(name)}/logs?limit={limit}" + (before is { } b ? $"&before={b}" : ""), null);

    /// <summary>Follows the function's log (Server-Sent Events) until <paramref name="cancel"/> or the daemon ends the
    /// stream: <paramref name="line"/> gets each line. Starts after line <paramref name="after"/> when given (a
    /// reconnect), else with the newest <paramref name="backlog"/> lines. Returns the last line's id and whether the
    /// daemon dropped this client for falling behind (then follow again from that id).</summary>
    public (long? Last, bool Dropped) Follow(string name, long? after, int backlog, Action<FunctionLogLineResponse> line, CancellationToken cancel)
    {
        ArgumentNullException.ThrowIfNull(line);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"functions/{Escape(name)}/logs?follow=1&limit={backlog}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (after is { } id)
            request.Headers.Add("Last-Event-ID", id.ToString(CultureInfo.InvariantCulture));
        HttpResponseMessage response;
        try
        {
            response = _http.Send(request, HttpCompletionOption.ResponseHeadersRead, cancel);
        }
        catch (HttpRequestException e)
        {
            throw new DaemonRequestException(0, $"cannot reach the Snapfn daemon at {Server}: {e.Message}; is `snapfn serve` running there?");
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
                throw Failure(response);
            // A synchronous read does not watch the token: cancelling closes the response, which ends the read.
            using var abort = cancel.Register(response.Dispose);
            using var reader = new StreamReader(response.Content.ReadAsStream(cancel));
            var last = after;
            string? kind = null;
            string? data = null;
            try
            {
                while (reader.ReadLine() is { } text)
                {
                    if (text.Length == 0)
                    {
                        if (kind == "dropped")
                            return (last, true);
                        if (kind == "line" && data is not null && JsonSerializer.Deserialize<FunctionLogLineResponse>(data, DaemonHost.Json) is { } parsed)
                        {
                            line(parsed);
                            last = parsed.Id;
                        }
                        (kind, data) = (null, null);
                    }
                    else if (text.StartsWith("event: ", StringComparison.Ordinal))
                        kind = text["event: ".Length..];
                    else if (text.StartsWith("data: ", StringComparison.Ordinal))
                        data = text["data: ".Length..];
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException && cancel.IsCancellationRequested)
            {
                // Ctrl+C.
            }
            return (last, false);
        }
    }

    public void Dispose() => _http.Dispose();

    private static string InvokePath(string name, string? mode, bool cold, double timeoutSeconds) =>
        $"functions/{Escape(name)}/invoke?timeout={Number(timeoutSeconds)}" + (mode is null ? "" : $"&mode={Escape(mode)}") + (cold ? "&cold=true" : "");

    private T Send<T>(HttpMethod method, string path, byte[]? body)
    {
        using var response = SendRaw(method, path, body, "application/json");
        using var stream = response.Content.ReadAsStream();
        return JsonSerializer.Deserialize<T>(stream, DaemonHost.Json)
               ?? throw new DaemonRequestException((int)response.StatusCode, $"the daemon at {Server} sent an empty answer to {method} /{path}");
    }

    private HttpResponseMessage SendRaw(HttpMethod method, string path, byte[]? body, string accept)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(OctetStream);
        }
        HttpResponseMessage response;
        try
        {
            response = _http.Send(request);
        }
        catch (HttpRequestException e)
        {
            throw new DaemonRequestException(0, $"cannot reach the Snapfn daemon at {Server}: {e.Message}; is `snapfn serve` running there?");
        }
        if (response.IsSuccessStatusCode)
            return response;
        using (response)
            throw Failure(response);
    }

    private static DaemonRequestException Failure(HttpResponseMessage response)
    {
        var status = (int)response.StatusCode;
        string? detail = null;
        string? error = null;
        try
        {
            using var stream = response.Content.ReadAsStream();
            using var problem = JsonDocument.Parse(stream);
            var root = problem.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                var title = root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                detail = root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : title;
                error = root.TryGetProperty("error", out var code) && code.ValueKind == JsonValueKind.String ? code.GetString() : null;
            }
        }
        catch (JsonException)
        {
            // Not problem+json (a proxy's page): the status line is all there is.
        }
        var reason = response.StatusCode == HttpStatusCode.Unauthorized && detail is null ? "unauthorized: pass --token" : detail;
        return new DaemonRequestException(status, $"the daemon answered {status} {response.ReasonPhrase}: {reason ?? "(no details)"}", error);
    }

    private static string Escape(string value) => Uri.EscapeDataString(value);

    private static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);
}
