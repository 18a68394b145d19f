using System.Net;
using System.Net.Http.Headers;
using Snapfn.Cli.Remote;

namespace Snapfn.Daemon.Tests;

public sealed class SecurityTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("http://127.0.0.1:8080", true)]
    [InlineData("http://[::1]:8080", true)]
    [InlineData("http://localhost:8080", true)]
    [InlineData("unix:/run/snapfn.sock", true)]
    [InlineData("/run/snapfn.sock", true)]
    [InlineData("http://0.0.0.0:8080", false)]
    [InlineData("http://[::]:8080", false)]
    [InlineData("http://192.168.1.5:8080", false)]
    public void Only_loopback_and_unix_sockets_count_as_local(string listen, bool local)
    {
        Assert.Equal(local, ListenAddress.Parse(listen).IsLocal);
    }

    [Theory]
    [InlineData("http://127.0.0.1")]
    [InlineData("https://127.0.0.1:8443")]
    [InlineData("http://example.com:8080")]
    [InlineData("unix:relative.sock")]
    [InlineData("127.0.0.1:8080")]
    public void Listen_addresses_that_cannot_be_served_are_refused(string listen)
    {
        Assert.Throws<Platform.InvalidRequestException>(() => ListenAddress.Parse(listen));
    }

    [Fact]
    public async Task With_a_token_required_requests_without_it_get_401_problem_json()
    {
        using var home = new TempDirectory();
        await using var daemon = await RunningDaemon.StartAsync(home.Path, new DaemonOptions { Listen = "http://127.0.0.1:0", RequireToken = true });
        var tokenPath = Path.Combine(home.Path, AccessToken.FileName);
        var token = (await File.ReadAllTextAsync(tokenPath, Cancel)).Trim();

        using (var anonymous = await daemon.Http.GetAsync("functions", Cancel))
        {
            await RunningDaemon.ProblemAsync(anonymous, 401, "unauthorized");
            Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);
        }
        using (var wrong = new HttpRequestMessage(HttpMethod.Get, "functions"))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token[..^1] + (token[^1] == 'A' ? 'B' : 'A'));
            using var response = await daemon.Http.SendAsync(wrong, Cancel);
            await RunningDaemon.ProblemAsync(response, 401, "unauthorized");
        }
        using (var right = new HttpRequestMessage(HttpMethod.Get, "functions"))
        {
            right.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await daemon.Http.SendAsync(right, Cancel);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using (var health = await daemon.Http.GetAsync("healthz", Cancel))
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenPath));
        Assert.True(token.Length >= 43, "32 random bytes, base64url");
    }

    [Fact]
    public async Task The_token_is_made_once_and_kept_across_restarts()
    {
        using var home = new TempDirectory();
        await using (await RunningDaemon.StartAsync(home.Path))
        {
        }
        var first = await File.ReadAllTextAsync(Path.Combine(home.Path, AccessToken.FileName), Cancel);
        await using (await RunningDaemon.StartAsync(home.Path))
        {
        }
        Assert.Equal(first, await File.ReadAllTextAsync(Path.Combine(home.Path, AccessToken.FileName), Cancel));
    }

    [Fact]
    public async Task Listens_on_a_unix_socket_that_only_its_owner_can_use_and_the_cli_client_talks_to_it()
    {
        using var home = new TempDirectory();
        var socket = home.Combine("d.sock");
        await using var daemon = await RunningDaemon.StartAsync(home.Path, new DaemonOptions { Listen = "unix:" + socket });

        using var client = new DaemonClient("unix:" + socket, token: null);
        var functions = client.List();

        Assert.Contains(functions, f => f.Name == "hello-world" && f.Kind == "builtin");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));
    }
}
