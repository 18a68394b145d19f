using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Snapfn.Daemon;
using Snapfn.Linux.Roots;
using Snapfn.Platform;
using Snapfn.Platform.Errors;

namespace Snapfn.Fuzz.Targets;

/// <summary>
/// The daemon's HTTP API: one daemon in this process (<see cref="DaemonHost.Build"/> over a scratch SNAPFN_HOME,
/// Kestrel replaced by ASP.NET Core's in-memory TestServer, so every request goes through the real middleware and
/// endpoints without a socket). An input decodes into one request — method, path from known routes and mutated
/// pieces, query, Host, Origin, Sec-Fetch-Site, Content-Type, Content-Length, Authorization, Accept, body — see
/// <see cref="Decode"/>. Invariants: never a 500 (a bug of ours reached the client); every other non-2xx answer is
/// problem+json whose <c>type</c> is <c>urn:snapfn:problem:CODE</c> with <c>error</c> a known code; without the
/// right token only GET /healthz gets a 2xx and the registry (its functions, their code, snapshots, recordings) stays
/// as it was;
/// a foreign Host or a cross-site browser request never gets a 2xx, nor a method the answering endpoint does not declare; GET /healthz still answers 200; nothing is
/// written beside the scratch home. The registry holds one ELF function, "fz", before every input (put back after an
/// input changed it), so that invoke, snapshot, record and verify reach the platform. Without KVM invoke and
/// snapshot answer kvm-unavailable (503): documented, fine.
/// </summary>
public sealed class HttpApiTarget : FuzzTarget, IDisposable
{
    private static readonly string[] _methods = ["GET", "POST", "DELETE", "PUT", "HEAD", "OPTIONS", "PATCH", "TRACE", "get", "FUZZ", "POST ", ""];

    private static readonly string[] _routes =
    [
        "/functions", "/functions/{n}", "/functions/{n}/invoke", "/functions/{n}/snapshot", "/functions/{n}/record",
        "/functions/{n}/verify", "/healthz", "/metrics", "/openapi.json", "/invocations", "/", "/functions/{n}/{n}",
        "/healthz/", "/FUNCTIONS", "//functions", "/functions/",
    ];

    private static readonly string[] _names =
    [
        FunctionName, "other", "..", "%2e%2e", "a%2Fb", "%00", "", new string('a', 300), "A-b_c.1", "-x", "x y", "%C3%A9",
        "..%2F..%2Fetc", "hello", "%", "%ZZ",
    ];

    private static readonly string[] _queryKeys =
        ["mode", "timeout", "memory_mib", "scan_ms", "async", "name", "gap_pages", "cold", "description", "limit", "function", "MODE"];

    private static readonly string[] _queryValues =
    [
        "", "0", "-1", "1", "1e309", "NaN", "Infinity", "-0", "2147483648", "99999999999999999999", "reap", "faasnap",
        "vanilla", "warm", "true", "x", "%00", FunctionName, new string('9', 400), "0.0000001", "300", "301", "60000",
        "%FF", "64", "1024", "\u00e9",
    ];

    private static readonly (string? Value, bool Foreign)[] _hosts =
    [
        (null, false), ("localhost", false), ("127.0.0.1", false), ("evil.example", true), ("[::1]", false), ("0x7f.1", true),
        ("localhost:8080", false), ("127.1", true), ("localhost.evil.example", true), ("127.0.0.1.nip.io", true), ("[::1", true), ("", false),
    ];

    private static readonly (string? Value, bool CrossSite)[] _origins =
        [(null, false), ("http://localhost", false), ("http://evil.example", true), ("null", true), ("https://localhost", true)];

    private static readonly (string? Value, bool CrossSite)[] _fetchSites =
        [(null, false), ("same-origin", false), ("cross-site", true), ("same-site", true), ("none", false), ("CROSS-SITE", true)];

    private static readonly string?[] _contentTypes =
    [
        null, "application/octet-stream", "application/zip", "application/json", "text/plain", "multipart/form-data; boundary=x",
        ";;;", "application/octet-stream; charset=\u0001", "APPLICATION/ZIP", "application/x-www-form-urlencoded", "text/plain;x=application/zip", "*/*",
    ];

    private static readonly string?[] _accepts = [null, "application/json", "application/json;q=0", "*/*", "q=;;", "text/html"];

    private const string FunctionName = "fz";
    private readonly string _scratch;
    private readonly string _home;
    private readonly string _planted;
    private readonly byte[] _plantedToken = RandomNumberGenerator.GetBytes(32);
    private readonly string _token;
    private readonly WebApplication _app;
    private readonly TestServer _server;
    private readonly FunctionService _service;
    private string _registered;

    public HttpApiTarget()
    {
        _scratch = FuzzScratch.Create("http");
        _home = Directory.CreateDirectory(Path.Combine(_scratch, "home")).FullName;
        _planted = Path.Combine(_scratch, "planted");
        File.WriteAllBytes(_planted, _plantedToken);
        FakePythonRoot();
        var guests = Directory.CreateDirectory(Path.Combine(_scratch, "no-built-ins")).FullName;
        _app = DaemonHost.Build(new DaemonOptions { Listen = "http://127.0.0.1:0", HomePath = _home, GuestDirectory = guests },
            _ => { }, host => host.UseTestServer());
        _app.StartAsync().GetAwaiter().GetResult();
        _server = (TestServer)_app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>();
        _service = _app.Services.GetRequiredService<FunctionService>();
        _token = File.ReadAllText(Path.Combine(_home, AccessToken.FileName)).Trim();
        _registered = Reset();
    }

    /// <summary>The registry as the invariants compare it: every user function with its code, size, time, snapshot
    /// and recordings.</summary>
    private string Registry() => string.Join("\n", _service.List().Where(f => f.Kind == FunctionKind.User).Select(f =>
        $"{f.Name} {f.ElfSha256} {f.MemoryMib} {f.Description} {f.RegisteredAt:O} {f.Snapshot?.SnapshotId} {f.Recordings.Count}"));

    /// <summary>Back to one user function, <see cref="FunctionName"/> (an ELF, so that invoke, snapshot, record and
    /// verify reach the platform), after an input that changed the registry; its state as <see cref="Registry"/>.</summary>
    private string Reset()
    {
        foreach (var function in _service.List().Where(f => f.Kind == FunctionKind.User))
            _service.Delete(function.Name);
        _service.Register(FunctionName, Elf(), FunctionManifest.DefaultMemoryMiB, "kept by the fuzzer");
        return Registry();
    }

    public override string Name => "http-api";

    public override string Description => "one HTTP request to an in-process daemon (TestServer): middleware, routing, endpoints";

    /// <summary>A Python deploy's syntax check builds (with apt, over the network) the python root first: a harness
    /// must not, so the home holds an empty root under the python runtime's key. Without KVM the check then stops
    /// where it boots its VM (kvm-unavailable); with KVM, at the python3 the empty root lacks.</summary>
    private void FakePythonRoot()
    {
        var key = Runtimes.Python.Key;
        var folder = new RootBuilder(_home).FolderOf(key);
        Directory.CreateDirectory(Path.Combine(folder, RootBuilder.TreeName));
        File.WriteAllText(Path.Combine(folder, RootManifest.FileName), new RootManifest
        {
            Id = key.Id,
            Requested = [.. key.Packages],
            Packages = [],
            PackagesSha256 = RootManifest.HashPackages([]),
            Suite = "none (made by the HTTP fuzzer)",
            Created = DateTimeOffset.UnixEpoch,
        }.ToJson());
    }

    /// <summary>One request as an input describes it.</summary>
    private sealed record FuzzRequest(string Method, string Path, string Query, List<(string Name, string Value)> Headers, byte[] Body,
        bool Authorized, bool Foreign, bool CrossSite);

    public override void Run(ReadOnlySpan<byte> input)
    {
        var request = Decode(input);
        // Kestrel answers 400 itself, before any of the daemon's code, for a request line with a control character
        // or a path that decodes to NUL: such a request never reaches the in-memory server either.
        if ((request.Path + request.Query).Any(char.IsControl) || request.Path.Contains("%00", StringComparison.Ordinal))
            return;
        try
        {
            var (status, contentType, body) = Send(request, out var methods);
            Check(request, status, contentType, body);
            // The API's endpoints each declare their methods; one that declares none answers any (DELETE /metrics).
            if (status is >= 200 and < 300 && !(methods?.Contains(request.Method, StringComparer.OrdinalIgnoreCase) ?? false))
                throw new InvariantViolatedException($"{status} for {Describe(request)} from an endpoint that does not declare {request.Method}");
            var (health, _, healthBody) = Send(new FuzzRequest("GET", "/healthz", "", [], [], false, false, false));
            if (health != StatusCodes.Status200OK)
                throw new InvariantViolatedException($"GET /healthz answered {health} after {Describe(request)}: {Encoding.UTF8.GetString(healthBody)}");
            if (!request.Authorized && Registry() != _registered)
                throw new InvariantViolatedException($"{Describe(request)} without the token changed the registry:\n{_registered}\nbecame\n{Registry()}");
            CheckContained(request);
        }
        finally
        {
            if (Registry() != _registered)
                _registered = Reset();
        }
    }

    private (int Status, string? ContentType, byte[] Body) Send(FuzzRequest request) => Send(request, out _);

    /// <param name="methods">The methods the endpoint that answered declares (null: none, or no endpoint).</param>
    private (int Status, string? ContentType, byte[] Body) Send(FuzzRequest request, out IReadOnlyList<string>? methods)
    {
        var context = _server.SendAsync(http =>
        {
            http.Request.Method = request.Method;
            http.Request.Path = PathString.FromUriComponent(request.Path);
            http.Request.QueryString = new QueryString(request.Query);
            foreach (var (name, value) in request.Headers)
                http.Request.Headers[name] = value;
            http.Request.Body = new MemoryStream(request.Body, writable: false);
        }).GetAwaiter().GetResult();
        methods = context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>()?.HttpMethods;
        using var buffer = new MemoryStream();
        context.Response.Body.CopyTo(buffer);
        return (context.Response.StatusCode, context.Response.ContentType, buffer.ToArray());
    }

    private static void Check(FuzzRequest request, int status, string? contentType, byte[] body)
    {
        if (status == StatusCodes.Status500InternalServerError)
            throw new InvariantViolatedException($"500 for {Describe(request)}: {Encoding.UTF8.GetString(body)}");
        var ok = status is >= 200 and < 300;
        // The web console answers browsers, with its own session (no fuzzed request has one): without it only its
        // login page and its static files answer 2xx, and a page it will not show redirects to its login.
        var console = PathString.FromUriComponent(request.Path).StartsWithSegments("/console", StringComparison.OrdinalIgnoreCase, out var rest);
        if (console && ok && !request.Foreign && !request.CrossSite && (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) &&
            (rest.StartsWithSegments("/login", StringComparison.OrdinalIgnoreCase) || rest.StartsWithSegments("/assets", StringComparison.OrdinalIgnoreCase)))
            return;
        if (console && status is >= 300 and < 400)
        {
            if (request.Foreign || request.CrossSite)
                throw new InvariantViolatedException($"{status} for a foreign or cross-site request: {Describe(request)}");
            return;
        }
        if (ok && !request.Authorized && !IsHealth(request))
            throw new InvariantViolatedException($"{status} without the token for {Describe(request)}");
        if (ok && request.Foreign)
            throw new InvariantViolatedException($"{status} for a foreign Host: {Describe(request)}");
        if (ok && request.CrossSite)
            throw new InvariantViolatedException($"{status} for a cross-site request: {Describe(request)}");
        if (ok || request.Method == "HEAD")
            return;
        if (contentType is null || !contentType.StartsWith("application/problem+json", StringComparison.Ordinal))
            throw new InvariantViolatedException($"{status} answered as {contentType ?? "no type"}, not problem+json, for {Describe(request)}: {Encoding.UTF8.GetString(body)}");
        string? type, error;
        try
        {
            using var json = JsonDocument.Parse(body);
            type = json.RootElement.TryGetProperty("type", out var t) ? t.GetString() : null;
            error = json.RootElement.TryGetProperty("error", out var e) ? e.GetString() : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new InvariantViolatedException($"{status} with a problem body that is not JSON with string type and error for {Describe(request)}", e);
        }
        if (error is null || ErrorCode.Find(error) is null || type != Problem.TypePrefix + error)
            throw new InvariantViolatedException($"{status} with type '{type}' and error '{error}' (not a known code) for {Describe(request)}: {Encoding.UTF8.GetString(body)}");
    }

    /// <summary>GET /healthz as ASP.NET Core matches it: methods and paths compare ignoring case.</summary>
    private static bool IsHealth(FuzzRequest request) =>
        HttpMethods.IsGet(request.Method) && PathString.FromUriComponent(request.Path) == new PathString("/healthz");

    private void CheckContained(FuzzRequest request)
    {
        foreach (var entry in Directory.EnumerateFileSystemEntries(_scratch))
        {
            if (entry != _home && entry != _planted && !entry.EndsWith("no-built-ins", StringComparison.Ordinal))
                throw new InvariantViolatedException($"{Describe(request)} wrote '{entry}' beside the daemon's home");
        }
        if (!File.ReadAllBytes(_planted).AsSpan().SequenceEqual(_plantedToken))
            throw new InvariantViolatedException($"{Describe(request)} changed a file beside the daemon's home");
    }

    private static string Describe(FuzzRequest r)
    {
        var text = $"{r.Method} {Shorten(r.Path)}{Shorten(r.Query)} [{string.Join("; ", r.Headers.Select(h => $"{h.Name}: {Shorten(h.Value)}"))}] body {r.Body.Length} bytes";
        return text;
    }

    private static string Shorten(string s) => s.Length <= 80 ? s : $"{s[..80]}...({s.Length})";

    /// <summary>The request an input describes: one byte a choice, each from a small list, then the body's bytes.</summary>
    private FuzzRequest Decode(ReadOnlySpan<byte> input)
    {
        var reader = new Reader(input);
        var method = _methods[reader.Byte() % _methods.Length];
        var name = reader.Byte() is var n && n >= 0xf0 ? reader.Text(n & 0xf) : _names[n % _names.Length];
        var route = reader.Byte() is var r && r >= 0xf0 ? "/" + reader.Text(r & 0xf) : _routes[r % _routes.Length].Replace("{n}", name, StringComparison.Ordinal);
        var query = new StringBuilder();
        var parameters = reader.Byte() % 4;
        for (var i = 0; i < parameters; i++)
        {
            var key = _queryKeys[reader.Byte() % _queryKeys.Length];
            var value = reader.Byte() is var v && v >= 0xf0 ? reader.Text(v & 0xf) : _queryValues[v % _queryValues.Length];
            query.Append(i == 0 ? '?' : '&').Append(key).Append('=').Append(value);
        }
        var headers = new List<(string, string)>();
        var (host, foreign) = _hosts[reader.Byte() % _hosts.Length];
        // Kestrel always has a Host for HTTP/1.1 (the in-memory server sets localhost when none is given).
        headers.Add(("Host", host ?? "localhost"));
        var (origin, crossOrigin) = _origins[reader.Byte() % _origins.Length];
        if (origin is not null)
            headers.Add(("Origin", origin));
        var (site, crossSite) = _fetchSites[reader.Byte() % _fetchSites.Length];
        if (site is not null)
            headers.Add(("Sec-Fetch-Site", site));
        if (_contentTypes[reader.Byte() % _contentTypes.Length] is { } type)
            headers.Add(("Content-Type", type));
        if (_accepts[reader.Byte() % _accepts.Length] is { } accept)
            headers.Add(("Accept", accept));
        var authorization = reader.Byte() % 8;
        var authorized = authorization is 0 or 1 or 2;
        switch (authorization)
        {
            case 0: headers.Add(("Authorization", "Bearer " + _token)); break;
            case 1: headers.Add(("Authorization", "bearer  " + _token + " ")); break;
            case 2: headers.Add(("Authorization", "Bearer " + _token)); break;
            case 3: headers.Add(("Authorization", "Bearer " + _token[..^1] + (_token[^1] == 'A' ? "B" : "A"))); break;
            case 4: headers.Add(("Authorization", "Basic " + _token)); break;
            case 5: headers.Add(("Authorization", "Bearer")); break;
            case 6: headers.Add(("Authorization", "Bearer " + _token + "x")); break;
            default: break;
        }
        var lengthChoice = reader.Byte() % 6;
        var body = (reader.Byte() % 5) switch
        {
            0 => [],
            1 => reader.Rest(),
            2 => Zip(reader.Byte(), reader.Rest()),
            3 => [.. Elf(), .. reader.Rest()],
            _ => Elf(),
        };
        switch (lengthChoice)
        {
            case 0: headers.Add(("Content-Length", body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))); break;
            case 1: headers.Add(("Content-Length", (body.Length + 10).ToString(System.Globalization.CultureInfo.InvariantCulture))); break;
            case 2: headers.Add(("Content-Length", "0")); break;
            case 3: headers.Add(("Content-Length", "1099511627776")); break;
            case 4: headers.Add(("Content-Length", "-1")); break;
            default: break;
        }
        return new FuzzRequest(method, route, query.ToString(), headers, body, authorized, foreign, crossOrigin || crossSite);
    }

    /// <summary>A zip as <see cref="FunctionPackage.Pack"/> writes one (deflated entries of a function's folder): main.py
    /// of the fuzz bytes, with a snapfn.json, an escaping name or a second file as <paramref name="shape"/> says.</summary>
    private static byte[] Zip(int shape, byte[] content)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            void Add(string name, ReadOnlySpan<byte> bytes)
            {
                using var stream = zip.CreateEntry(name, CompressionLevel.Fastest).Open();
                stream.Write(bytes);
            }
            Add((shape & 1) != 0 ? "../main.py" : ScriptRuntime.Python.MainFile, content);
            if ((shape & 2) != 0)
                Add(FunctionManifest.FileName, content);
            if ((shape & 4) != 0)
                Add(FunctionManifest.FileName, "{\"runtime\": \"python\", \"packages\": [\"python3-numpy\"]}"u8);
            if ((shape & 8) != 0)
                Add("lib/", []);
        }
        return buffer.ToArray();
    }

    /// <summary>The smallest ELF the daemon registers: one loadable, executable segment at the guests' base
    /// address holding a hlt.</summary>
    private static byte[] Elf()
    {
        const int header = 64, program = 56;
        var elf = new byte[header + program + 1];
        "\u007fELF"u8.CopyTo(elf);
        elf[4] = 2;
        elf[5] = 1;
        elf[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(16), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(18), 62);
        BinaryPrimitives.WriteUInt32LittleEndian(elf.AsSpan(20), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(elf.AsSpan(24), 0x200000 + header + program);
        BinaryPrimitives.WriteUInt64LittleEndian(elf.AsSpan(32), header);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(52), header);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(54), program);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(56), 1);
        var ph = elf.AsSpan(header);
        BinaryPrimitives.WriteUInt32LittleEndian(ph, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], 5);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], 0x200000);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[24..], 0x200000);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], (ulong)elf.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], (ulong)elf.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(ph[48..], 0x1000);
        elf[^1] = 0xf4;
        return elf;
    }

    private ref struct Reader(ReadOnlySpan<byte> input)
    {
        private ReadOnlySpan<byte> _rest = input;

        public int Byte()
        {
            if (_rest.IsEmpty)
                return 0;
            var b = _rest[0];
            _rest = _rest[1..];
            return b;
        }

        /// <summary>Up to <paramref name="length"/> bytes as Latin-1 text (any byte, control characters included).</summary>
        public string Text(int length)
        {
            var take = _rest[..Math.Min(length, _rest.Length)];
            _rest = _rest[take.Length..];
            return Encoding.Latin1.GetString(take);
        }

        public byte[] Rest()
        {
            var rest = _rest.ToArray();
            _rest = [];
            return rest;
        }
    }

    public override IEnumerable<(string Name, byte[] Bytes)> Seeds()
    {
        // method, name, route, query count, (key, value)*, host, origin, fetch-site, content type, accept, authorization, length, body
        static byte[] Seed(params int[] bytes) => [.. bytes.Select(b => (byte)b)];
        yield return ("healthz", Seed(0, 0, 6, 0, 0, 0, 0, 0, 0, 7, 5, 0));
        yield return ("list-functions", Seed(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0));
        yield return ("register-elf", Seed(1, 0, 0, 2, 5, 17, 2, 25, 1, 0, 0, 1, 0, 0, 0, 4));
        yield return ("register-elf-no-token", Seed(1, 0, 0, 1, 5, 17, 1, 0, 0, 1, 0, 7, 0, 4));
        yield return ("register-elf-foreign-host", Seed(1, 0, 0, 1, 5, 17, 3, 0, 0, 1, 0, 0, 0, 4));
        yield return ("register-zip", [.. Seed(1, 0, 0, 1, 5, 17, 0, 0, 0, 2, 0, 0, 0, 2, 0), .. "def handle(request):\n    return request\n"u8]);
        yield return ("register-text-plain", Seed(1, 0, 0, 1, 5, 17, 0, 0, 0, 4, 0, 0, 0, 1, 65, 66));
        yield return ("invoke", [.. Seed(1, 0, 2, 2, 0, 12, 1, 22, 0, 0, 0, 1, 1, 0, 0, 1), .. "{\"x\": 1}"u8]);
        yield return ("record-faasnap", Seed(1, 0, 4, 3, 0, 11, 3, 18, 6, 6, 0, 0, 0, 1, 0, 0, 0, 0));
        yield return ("snapshot", Seed(1, 0, 3, 1, 2, 25, 0, 0, 0, 0, 0, 0, 0, 0));
        yield return ("verify-dotdot", Seed(1, 3, 5, 0, 0, 0, 0, 0, 0, 0, 5, 0));
        yield return ("delete", Seed(2, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5, 0));
        yield return ("metrics", Seed(0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 5, 0));
        yield return ("openapi-cross-site", Seed(0, 0, 8, 0, 0, 2, 2, 0, 0, 0, 5, 0));
        yield return ("invocations-query", Seed(0, 0, 9, 2, 9, 8, 10, 7, 0, 0, 0, 0, 0, 0, 5, 0));
        yield return ("method-not-allowed", Seed(3, 0, 6, 0, 0, 0, 0, 0, 0, 0, 5, 0));
        yield return ("unknown-route", Seed(0, 0, 0xf4, 65, 66, 67, 68, 0, 0, 0, 0, 0, 0, 5, 0));
    }

    public void Dispose()
    {
        _app.StopAsync().GetAwaiter().GetResult();
        _server.Dispose();
        ((IDisposable)_app).Dispose();
        Directory.Delete(_scratch, recursive: true);
    }
}
