using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Snapfn.WebConsole;

/// <summary>An answer of the daemon's API: its JSON (or raw body), or the problem it answered with.</summary>
public sealed record ApiAnswer(int Status, JsonElement? Json, ApiProblem? Problem, HttpResponseHeaders? Headers, double WallMs)
{
    public bool Ok => Problem is null;
}

/// <summary>A problem+json answer, as the CLI shows it: "the daemon answered STATUS: DETAIL" with the error code.</summary>
public sealed record ApiProblem(int Status, string Error, string Title, string Detail)
{
    public string AsCliWouldSay => $"the daemon answered {Status} {Title}: {Detail}";
}

/// <summary>
/// The console is a client of the daemon's HTTP API, as the CLI is: every deploy, invocation and listing goes through
/// the same endpoints, validation, limits, metrics and error model, sent over the daemon's own socket with its
/// token. The console adds pages, not another way into the platform.
/// </summary>
public sealed class DaemonApi : IDisposable
{
    private readonly IServer _server;
    private readonly Func<AuthenticationHeaderValue> _token;
    private readonly Lock _lock = new();
    private HttpClient? _http;

    public DaemonApi(IServer server, Func<AuthenticationHeaderValue> token)
    {
        _server = server;
        _token = token;
    }

    public async Task<ApiAnswer> GetAsync(string path, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return await SendAsync(request, cancel);
    }

    public async Task<ApiAnswer> PostAsync(string path, byte[] body, string contentType, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return await SendAsync(request, cancel);
    }

    /// <summary>A streamed answer (Server-Sent Events), for the caller to copy and dispose.</summary>
    public async Task<HttpResponseMessage> OpenStreamAsync(string path, long? lastEventId, CancellationToken cancel)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is { } id)
            request.Headers.Add("Last-Event-ID", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.Authorization = _token();
        return await Client().SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel);
    }

    private async Task<ApiAnswer> SendAsync(HttpRequestMessage request, CancellationToken cancel)
    {
        request.Headers.Authorization = _token();
        var start = Stopwatch.GetTimestamp();
        HttpResponseMessage response;
        try
        {
            response = await Client().SendAsync(request, cancel);
        }
        catch (HttpRequestException e)
        {
            return new ApiAnswer(0, null, new ApiProblem(0, "unreachable", "API unreachable",
                $"the console could not reach the daemon's API ({e.Message}); is the daemon listening on a socket?"), null, 0);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancel);
            var wall = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            var status = (int)response.StatusCode;
            JsonElement? json = null;
            try
            {
                if (text.Length > 0 && (response.Content.Headers.ContentType?.MediaType?.EndsWith("json", StringComparison.OrdinalIgnoreCase) ?? false))
                    json = JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
                json = null;
            }
            if (response.IsSuccessStatusCode)
                return new ApiAnswer(status, json, null, response.Headers, wall);
            string Field(string name) => json is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
                ? v.GetString() ?? "" : "";
            var detail = Field("detail");
            return new ApiAnswer(status, json, new ApiProblem(status, Field("error"), response.ReasonPhrase ?? Field("title"),
                detail.Length > 0 ? detail : "(no details)"), response.Headers, wall);
        }
    }

    /// <summary>One client for the daemon's lifetime, to the first address it listens on (a wildcard becomes loopback;
    /// a Unix socket is dialled as such).</summary>
    private HttpClient Client()
    {
        lock (_lock)
        {
            if (_http is not null)
                return _http;
            var address = _server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new HttpRequestException("the daemon reports no address it listens on");
            var handler = new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false };
            Uri baseAddress;
            const string unix = "http://unix:";
            if (address.StartsWith(unix, StringComparison.OrdinalIgnoreCase))
            {
                var socket = address[unix.Length..];
                handler.ConnectCallback = async (_, cancel) =>
                {
                    var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancel);
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
            else
            {
                var uri = new UriBuilder(address.Replace("://+:", "://127.0.0.1:", StringComparison.Ordinal).Replace("://*:", "://127.0.0.1:", StringComparison.Ordinal));
                if (uri.Host is "0.0.0.0")
                    uri.Host = "127.0.0.1";
                else if (uri.Host is "[::]" or "::")
                    uri.Host = "[::1]";
                uri.Path = "/";
                baseAddress = uri.Uri;
            }
            // Invocations and deploys have their own time limits in the daemon; a log stream follows until the page goes.
            _http = new HttpClient(handler) { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
            return _http;
        }
    }

    public void Dispose() => _http?.Dispose();
}
