using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Snapfn.Cli.Remote;
using Snapfn.Platform;

namespace Snapfn.Daemon.Tests;

public sealed class SecurityTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static ByteArrayContent Zip(params (string Name, string Content)[] files)
    {
        using var stream = new MemoryStream();
        using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                using var writer = new StreamWriter(zip.CreateEntry(name).Open());
                writer.Write(content);
            }
        }
        var body = new ByteArrayContent(stream.ToArray());
        body.Headers.ContentType = new MediaTypeHeaderValue("application/zip");
        return body;
    }

    private static ByteArrayContent Octets(string text)
    {
        var body = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(text));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return body;
    }

    /// <summary>A body that must not be read.</summary>
    private sealed class UnreadableStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new InvalidOperationException("the body was read");
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

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
        Assert.Throws<InvalidRequestException>(() => ListenAddress.Parse(listen));
    }

    [Fact]
    public async Task On_loopback_every_request_but_healthz_needs_the_token_and_an_anonymous_deploy_changes_nothing()
    {
        using var home = new TempDirectory();
        await using var daemon = await RunningDaemon.StartAsync(home.Path);
        var tokenPath = Path.Combine(home.Path, AccessToken.FileName);

        using (var deploy = new HttpRequestMessage(HttpMethod.Post, "functions?name=intruder") { Content = Zip(("main.py", "def handle(r):\n    return r\n")) })
        {
            using var response = await daemon.Anonymous.SendAsync(deploy, Cancel);
            await RunningDaemon.ProblemAsync(response, 401, "unauthorized");
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
        using (var invoke = new HttpRequestMessage(HttpMethod.Post, "functions/hello-world/invoke") { Content = Octets("{}") })
            await RunningDaemon.ProblemAsync(await daemon.Anonymous.SendAsync(invoke, Cancel), 401, "unauthorized");
        foreach (var path in new[] { "functions", "metrics", "openapi.json", "invocations" })
            await RunningDaemon.ProblemAsync(await daemon.Anonymous.GetAsync(path, Cancel), 401, "unauthorized");
        using (var wrong = new HttpRequestMessage(HttpMethod.Get, "functions"))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", daemon.Token[..^1] + (daemon.Token[^1] == 'A' ? 'B' : 'A'));
            await RunningDaemon.ProblemAsync(await daemon.Anonymous.SendAsync(wrong, Cancel), 401, "unauthorized");
        }
        using (var health = await daemon.Anonymous.GetAsync("healthz", Cancel))
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using (var metrics = await daemon.Http.GetAsync("metrics", Cancel))
            Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Throws<UnknownFunctionException>(() => daemon.Service.Get("intruder"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(tokenPath));
        Assert.True(daemon.Token.Length >= 43, "32 random bytes, base64url");
    }

    [Theory]
    [InlineData("example.com")]
    [InlineData("example.com:8080")]
    [InlineData("localhost.example.com")]
    [InlineData("127.0.0.1.nip.io")]
    public async Task A_request_for_a_foreign_host_is_refused_even_with_the_token(string host)
    {
        using var home = new TempDirectory();
        await using var daemon = await RunningDaemon.StartAsync(home.Path);
        using var request = new HttpRequestMessage(HttpMethod.Get, "functions");
        request.Headers.Host = host;

        using var response = await daemon.Http.SendAsync(request, Cancel);

        var problem = await RunningDaemon.ProblemAsync(response, 421, "foreign-host");
        Assert.Contains("--allowed-host", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_name_given_with_allowed_host_is_served()
    {
        using var home = new TempDirectory();
        await using var daemon = await RunningDaemon.StartAsync(home.Path, new DaemonOptions { Listen = "http://127.0.0.1:0", AllowedHosts = ["snapfn.internal"] });
        using var request = new HttpRequestMessage(HttpMethod.Get, "functions");
        request.Headers.Host = "snapfn.internal:8080";

        using var response = await daemon.Http.SendAsync(request, Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>What a page on another site can make the operator's browser send (it would hold no token; the
    /// test sends one, to show that the refusal does not depend on it). Nothing may be deployed.</summary>
    [Theory]
    [InlineData("Origin", "http://evil.example", "application/octet-stream", 403, "cross-site")]
    [InlineData("Origin", "null", "application/octet-stream", 403, "cross-site")]
    [InlineData("Sec-Fetch-Site", "cross-site", "application/octet-stream", 403, "cross-site")]
    [InlineData("Sec-Fetch-Site", "same-site", "application/octet-stream", 403, "cross-site")]
    [InlineData(null, null, "text/plain", 415, "unsupported-media-type")]
    [InlineData(null, null, "application/x-www-form-urlencoded", 415, "unsupported-media-type")]
    [InlineData(null, null, "multipart/form-data; boundary=x", 415, "unsupported-media-type")]
    [InlineData(null, null, null, 415, "unsupported-media-type")]
    [InlineData(null, null, "image/png", 415, "unsupported-media-type")]
    public async Task A_cross_site_deploy_is_refused_and_deploys_nothing(string? header, string? value, string? type, int status, string error)
    {
        using var home = new TempDirectory();
        await using var daemon = await RunningDaemon.StartAsync(home.Path);
        var body = Zip(("main.py", "def handle(r):\n    return b'pwned'\n"));
        body.Headers.ContentType = type is null ? null : MediaTypeHeaderValue.Parse(type);
        using var request = new HttpRequestMessage(HttpMethod.Post, "functions?name=planted") { Content = body };
        if (header is not null)
            request.Headers.TryAddWithoutValidation(header, value);

        using var response = await daemon.Http.SendAsync(request, Cancel);

        await RunningDaemon.ProblemAsync(response, status, error);
        Assert.Throws<UnknownFunctionException>(() => daemon.Service.Get("planted"));
    }

    [Fact]
    public async Task The_daemons_own_origin_and_a_same_origin_fetch_are_served()
    {
        using var home = new TempDirectory();
        await using var daemon = await RunningDaemon.StartAsync(home.Path);
        using var request = new HttpRequestMessage(HttpMethod.Get, "functions");
        request.Headers.TryAddWithoutValidation("Origin", daemon.Address.TrimEnd('/'));
        request.Headers.TryAddWithoutValidation("Sec-Fetch-Site", "same-origin");

        using var response = await daemon.Http.SendAsync(request, Cancel);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_huge_announced_body_is_refused_at_once_over_the_wire()
    {
        using var home = new TempDirectory();
        await using var daemon = await RunningDaemon.StartAsync(home.Path);
        var uri = new Uri(daemon.Address);
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(uri.Host, uri.Port, Cancel);
        var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
            $"POST /functions/hello-world/invoke HTTP/1.1\r\nHost: {uri.Authority}\r\nAuthorization: Bearer {daemon.Token}\r\n" +
            $"Content-Type: application/octet-stream\r\nContent-Length: {1L << 40}\r\n\r\n{{}}"), Cancel);
        using var reader = new StreamReader(stream);

        var status = await reader.ReadLineAsync(Cancel);

        Assert.StartsWith("HTTP/1.1 413 ", status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_body_buffer_grows_with_what_arrives_not_with_what_is_announced()
    {
        var sizes = new List<int>();
        const long limit = 32L << 20;

        var body = await RequestBody.ReadAsync(new MemoryStream("{}"u8.ToArray()), limit - 1, limit, "the input", "-", Cancel, sizes.Add);

        Assert.Equal("{}"u8.ToArray(), body);
        Assert.True(sizes.Max() <= 16 * 1024, $"allocated {sizes.Max()} bytes for a 2-byte body");
        // Over the limit: refused before a byte is read (the stream would throw if read).
        await Assert.ThrowsAsync<RequestTooLargeException>(() =>
            RequestBody.ReadAsync(new UnreadableStream(), 1L << 40, limit, "the input", "-", Cancel, sizes.Add));
        // A body that really is large grows the buffer to what came, and one byte over the limit is refused.
        var exact = await RequestBody.ReadAsync(new MemoryStream(new byte[100_000]), null, 100_000, "the input", "-", Cancel);
        Assert.Equal(100_000, exact.Length);
        await Assert.ThrowsAsync<RequestTooLargeException>(() =>
            RequestBody.ReadAsync(new MemoryStream(new byte[100_001]), null, 100_000, "the input", "-", Cancel));
    }

    [Fact]
    public async Task Deploys_beyond_the_concurrent_limit_get_503_with_Retry_After()
    {
        using var home = new TempDirectory();
        await using var daemon = await RunningDaemon.StartAsync(home.Path, new DaemonOptions
        {
            Listen = "http://127.0.0.1:0",
            Deploys = new DeployLimits { MaxConcurrent = 1, Wait = TimeSpan.Zero },
        });
        using (daemon.Service.Deploys.Enter())
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "functions?name=queued") { Content = Zip(("main.py", "def handle(r):\n    return r\n")) };
            using var response = await daemon.Http.SendAsync(request, Cancel);

            var problem = await RunningDaemon.ProblemAsync(response, 503, "busy");
            Assert.Contains("--max-concurrent-deploys", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.NotNull(response.Headers.RetryAfter?.Delta);
        }
        Assert.Equal(1, daemon.Service.Deploys.Free);
    }

    [Fact]
    public async Task A_zip_with_duplicate_entries_or_too_many_packages_is_refused_with_400_before_apt_runs()
    {
        using var home = new TempDirectory();
        await using var daemon = await RunningDaemon.StartAsync(home.Path);
        var duplicate = Zip(("main.py", "def handle(r):\n    return r\n"), ("main.py", "def handle(r):\n    return b'other'\n"));
        using (var response = await daemon.Http.PostAsync("functions?name=twice", duplicate, Cancel))
        {
            var problem = await RunningDaemon.ProblemAsync(response, 400, "invalid-request");
            Assert.Contains("twice", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        var names = string.Join(", ", Enumerable.Range(0, 2001).Select(i => $"\"pkg{i}\""));
        var many = Zip(("main.py", "def handle(r):\n    return r\n"), ("snapfn.json", $$"""{"runtime": "python", "packages": [{{names}}]}"""));
        using (var response = await daemon.Http.PostAsync("functions?name=many", many, Cancel))
        {
            var problem = await RunningDaemon.ProblemAsync(response, 400, "limit-exceeded");
            Assert.Contains("--max-packages", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        Assert.Throws<UnknownFunctionException>(() => daemon.Service.Get("twice"));
        Assert.Throws<UnknownFunctionException>(() => daemon.Service.Get("many"));
        // Nothing was installed or booted: not even the python root that compiling the code would need.
        Assert.False(Directory.Exists(Path.Combine(home.Path, "roots")), "a root was built for a refused deploy");
    }

    [Fact]
    public async Task An_error_whose_text_the_client_chose_is_answered_and_logged_cut_to_the_bound()
    {
        using var home = new TempDirectory();
        await using var daemon = await RunningDaemon.StartAsync(home.Path);
        // The refusal names the entry, and an entry's name may be 64 KiB long.
        var name = "../" + new string('n', 60_000);

        using var response = await daemon.Http.PostAsync("functions?name=long", Zip(("main.py", ""), (name, "")), Cancel);

        var detail = (await RunningDaemon.ProblemAsync(response, 400, "invalid-request")).GetProperty("detail").GetString()!;
        Assert.True(detail.Length < ErrorText.DefaultMaxBytes + 64, $"a detail of {detail.Length} characters");
        Assert.Matches(@"… \(\d+ bytes more\)$", detail);
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

        using (var anonymous = new DaemonClient("unix:" + socket, token: null))
            Assert.Equal(401, Assert.Throws<DaemonRequestException>(() => anonymous.List()).Status);
        using var client = new DaemonClient("unix:" + socket, daemon.Token);
        var functions = client.List();

        Assert.Contains(functions, f => f.Name == "hello-world" && f.Kind == "builtin");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));
    }
}
