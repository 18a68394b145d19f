using System.Net.Http.Headers;

namespace Snapfn.Daemon.Tests;

/// <summary>
/// What routing refuses by itself, before any endpoint (no such path, a method the path does not take, a Content-Type
/// the endpoint does not list), is answered in the error model like every other error: problem+json with one of its
/// codes. Found by the http-api fuzz target (fuzz/corpus/crashes/http-api); no KVM needed.
/// </summary>
public sealed class RoutingRefusalTests
{
    [Theory]
    [InlineData("GET", "/no-such-path", null, 404, "bad-request")]
    [InlineData("PUT", "/healthz", null, 405, "bad-request")]
    [InlineData("DELETE", "/metrics", null, 405, "bad-request")]
    [InlineData("POST", "/metrics", null, 405, "bad-request")]
    [InlineData("POST", "/functions/fz/invoke", "application/zip", 415, "unsupported-media-type")]
    public async Task A_request_routing_refuses_gets_a_problem_with_a_code(string method, string path, string? contentType, int status, string error)
    {
        using var home = new TempDirectory();
        await using var daemon = await RunningDaemon.StartAsync(home.Path);
        using var request = new HttpRequestMessage(new HttpMethod(method), path.TrimStart('/'));
        if (contentType is not null)
        {
            request.Content = new ByteArrayContent([]);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }
        using var response = await daemon.Http.SendAsync(request, TestContext.Current.CancellationToken);
        var problem = await RunningDaemon.ProblemAsync(response, status, error);
        Assert.Equal("urn:snapfn:problem:" + error, problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Metrics_still_answer_a_scrape()
    {
        using var home = new TempDirectory();
        await using var daemon = await RunningDaemon.StartAsync(home.Path);
        using var response = await daemon.Http.GetAsync("metrics", TestContext.Current.CancellationToken);
        Assert.Equal(200, (int)response.StatusCode);
    }
}
