using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Snapfn.Platform;

namespace Snapfn.Daemon.Tests;

/// <summary>The guard's decisions, request by request, without a server.</summary>
public sealed class CrossSiteGuardTests
{
    private readonly CrossSiteGuard _guard = new(["snapfn.internal"]);

    private static HttpRequest Request(string method, string host, string? contentType = null, long? length = null,
        IReadOnlyList<string>? accepts = null, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        var request = context.Request;
        request.Method = method;
        request.Scheme = "http";
        request.Host = new HostString(host);
        request.Path = "/functions";
        request.ContentType = contentType;
        request.ContentLength = length;
        foreach (var (name, value) in headers)
            request.Headers[name] = value;
        var metadata = accepts is null ? new EndpointMetadataCollection() : new EndpointMetadataCollection(new Accepts(accepts));
        context.SetEndpoint(new Endpoint(_ => Task.CompletedTask, metadata, "test"));
        return request;
    }

    [Theory]
    [InlineData("127.0.0.1:8080")]
    [InlineData("localhost:8080")]
    [InlineData("LOCALHOST")]
    [InlineData("[::1]:8080")]
    [InlineData("192.168.1.5:8080")]
    [InlineData("snapfn.internal")]
    [InlineData("SNAPFN.internal:443")]
    public void Addresses_localhost_and_allowed_names_are_served(string host)
    {
        Assert.Null(_guard.Check(Request("GET", host)));
    }

    [Theory]
    [InlineData("example.com")]
    [InlineData("evil.example:8080")]
    [InlineData("localhost.")]
    [InlineData("127.1")]
    [InlineData("0x7f.0.0.1")]
    [InlineData("2130706433")]
    [InlineData("snapfn.internal.evil.example")]
    public void Other_names_and_unusual_spellings_of_addresses_are_misdirected(string host)
    {
        Assert.Equal(421, _guard.Check(Request("GET", host))?.Status);
    }

    [Theory]
    [InlineData("Origin", "http://127.0.0.1:8080", null)]
    [InlineData("Origin", "http://127.0.0.1:8081", 403)]
    [InlineData("Origin", "https://127.0.0.1:8080", 403)]
    [InlineData("Origin", "http://evil.example", 403)]
    [InlineData("Origin", "null", 403)]
    [InlineData("Sec-Fetch-Site", "same-origin", null)]
    [InlineData("Sec-Fetch-Site", "none", null)]
    [InlineData("Sec-Fetch-Site", "same-site", 403)]
    [InlineData("Sec-Fetch-Site", "cross-site", 403)]
    public void Only_the_daemons_own_origin_is_served(string header, string value, int? status)
    {
        Assert.Equal(status, _guard.Check(Request("GET", "127.0.0.1:8080", headers: (header, value)))?.Status);
    }

    [Theory]
    [InlineData("application/octet-stream", 10L, null)]
    [InlineData("application/zip", 10L, null)]
    [InlineData("Application/Zip; charset=binary", 10L, null)]
    [InlineData("application/json", 10L, 415)]
    [InlineData("text/plain", 10L, 415)]
    [InlineData("text/plain; charset=utf-8", 0L, 415)]
    [InlineData("application/x-www-form-urlencoded", 10L, 415)]
    [InlineData("multipart/form-data; boundary=b", 10L, 415)]
    [InlineData(null, 10L, 415)]
    [InlineData(null, 0L, null)]
    [InlineData("application/octet-stream", 0L, null)]
    public void A_body_must_have_a_type_the_endpoint_documents(string? type, long length, int? status)
    {
        var request = Request("POST", "127.0.0.1:8080", type, length, ["application/octet-stream", "application/zip"]);

        Assert.Equal(status, _guard.Check(request)?.Status);
    }

    [Fact]
    public void An_endpoint_that_documents_no_body_takes_none_and_chunked_bodies_count()
    {
        Assert.Equal(415, _guard.Check(Request("POST", "localhost", "application/octet-stream", 3))?.Status);
        Assert.Null(_guard.Check(Request("POST", "localhost", null, 0)));
        var chunked = Request("POST", "localhost", null, null, ["application/octet-stream"], ("Transfer-Encoding", "chunked"));
        Assert.Equal(415, _guard.Check(chunked)?.Status);
    }

    [Theory]
    [InlineData("http://snapfn.internal")]
    [InlineData("snapfn.internal:8080")]
    [InlineData("snap fn")]
    [InlineData("")]
    public void Allowed_hosts_must_be_plain_names(string name)
    {
        Assert.Throws<InvalidRequestException>(() => new CrossSiteGuard([name]));
    }

    private sealed class Accepts(IReadOnlyList<string> types) : IAcceptsMetadata
    {
        public IReadOnlyList<string> ContentTypes => types;

        public Type? RequestType => typeof(byte[]);

        public bool IsOptional => false;
    }
}
