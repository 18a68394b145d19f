using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Snapfn.Platform;

namespace Snapfn.Daemon.Tests;

/// <summary>The real daemon, in this process, on a free loopback port (or the given address), until disposed.
/// <see cref="Http"/> sends the daemon's token, as the CLI does; <see cref="Anonymous"/> sends none.</summary>
public sealed class RunningDaemon : IAsyncDisposable
{
    private RunningDaemon(WebApplication app, string address, string token)
    {
        App = app;
        Address = address;
        Token = token;
        Http = Client(token);
        Anonymous = Client(null);
    }

    public WebApplication App { get; }

    public string Address { get; }

    /// <summary>The daemon's bearer token, from $SNAPFN_HOME/token.</summary>
    public string Token { get; }

    public HttpClient Http { get; }

    public HttpClient Anonymous { get; }

    public FunctionService Service => App.Services.GetRequiredService<FunctionService>();

    private HttpClient Client(string? token)
    {
        var http = new HttpClient { BaseAddress = new Uri(Address.TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(5) };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public static async Task<RunningDaemon> StartAsync(string home, DaemonOptions? options = null)
    {
        options = (options ?? new DaemonOptions { Listen = "http://127.0.0.1:0" }) with { HomePath = home };
        var app = DaemonHost.Build(options, _ => { });
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = DaemonHost.Addresses(app)[0];
        var token = (await File.ReadAllTextAsync(Path.Combine(home, AccessToken.FileName), TestContext.Current.CancellationToken)).Trim();
        return new RunningDaemon(app, address, token);
    }

    public async Task<HttpResponseMessage> PostAsync(string path, byte[]? body = null, string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body ?? []) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        if (accept is not null)
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        return await Http.SendAsync(request, TestContext.Current.CancellationToken);
    }

    public async Task<string> PostTextAsync(string path, string body)
    {
        using var response = await PostAsync(path, System.Text.Encoding.UTF8.GetBytes(body));
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {text}");
        return text;
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Http.GetAsync(path, TestContext.Current.CancellationToken);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Reads a problem+json answer and checks its status and error code.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, int status, string error)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(text).RootElement.Clone();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.Equal(error, problem.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        return problem;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Anonymous.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
