using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Snapfn.LoadBench;
using Snapfn.Platform;

// Usage: Snapfn.LoadBench [--function hello-world] [--modes warm,faasnap] [--concurrency 1,2,8] [--seconds 5] [--warmup 2]
// Starts `snapfn serve` (a separate process) on a free loopback port with a fresh $SNAPFN_HOME, snapshots and records
// the function over HTTP, then measures each (mode, concurrency) against the daemon and, right after, in process
// through FunctionService (what `snapfn invoke` runs): one run, the same machine state, ratios comparable.
// It measures the daemon's own overhead per mode (?mode=); the load of issue 21, the platform picking the path, is
// `snapfn bench --experiment load` (bench/Snapfn.Bench/Load).
var function = Arg("--function", "hello-world");
var modes = Arg("--modes", "warm,faasnap").Split(',');
var levels = Arg("--concurrency", "1,2,8").Split(',').Select(int.Parse).ToArray();
var seconds = double.Parse(Arg("--seconds", "5"), CultureInfo.InvariantCulture);
var warmup = double.Parse(Arg("--warmup", "2"), CultureInfo.InvariantCulture);
var input = Encoding.UTF8.GetBytes("""{"name":"Ada"}""");

var home = Directory.CreateTempSubdirectory("snapfn-loadbench-").FullName;
// A private copy of the built-in ELFs: a rebuild of guest/build mid-run would invalidate the snapshot.
var guests = Path.Combine(home, "guests");
Directory.CreateDirectory(guests);
foreach (var elf in Directory.EnumerateFiles(FunctionCatalog.Default().GuestDirectory, "*.elf"))
    File.Copy(elf, Path.Combine(guests, Path.GetFileName(elf)));
Environment.SetEnvironmentVariable("SNAPFN_GUEST_DIR", guests);
var port = FreePort();
var url = $"http://127.0.0.1:{port}";
var daemon = StartDaemon(home, url);
var results = new List<CellResult>();
try
{
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = new Uri(url + "/") };
    await WaitHealthyAsync(http, daemon);
    // The daemon wants its token on every request, loopback included; it wrote it at start.
    var token = File.ReadAllText(Path.Combine(home, "token")).Trim();
    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    await PostAsync(http, $"functions/{function}/snapshot", []);
    foreach (var recorded in modes.Where(m => Snapfn.Snapshots.Backends.RestoreModes.RecordedNames.Contains(m)))
        await PostAsync(http, $"functions/{function}/record?mode={recorded}", input);

    Environment.SetEnvironmentVariable("SNAPFN_HOME", home);
    using var local = FunctionService.OpenDefault();
    foreach (var mode in modes)
    {
        foreach (var concurrency in levels)
        {
            var endpoint = new IPEndPoint(IPAddress.Loopback, port);
            var viaDaemon = LoadCell.Run(mode, "daemon", concurrency, TimeSpan.FromSeconds(warmup), TimeSpan.FromSeconds(seconds), () =>
                new RawHttpConnection(endpoint, $"/functions/{function}/invoke?mode={mode}", input, token).Send);
            results.Add(viaDaemon);
            Print(viaDaemon);
            // What `snapfn invoke --mode` runs: FunctionServer.Invoke on the calling thread (registry read, instance turn and log included).
            var request = new InvokeRequest(function, input) { Mode = mode, Timeout = TimeSpan.FromSeconds(60) };
            var inProcess = LoadCell.Run(mode, "in-process", concurrency, TimeSpan.FromSeconds(warmup), TimeSpan.FromSeconds(seconds), () =>
                () => local.Server.Invoke(request));
            results.Add(inProcess);
            Print(inProcess);
        }
    }
}
finally
{
    using (var kill = Process.Start("kill", ["-TERM", daemon.Id.ToString(CultureInfo.InvariantCulture)]))
        kill.WaitForExit();
    daemon.WaitForExit(30_000);
    try
    {
        Directory.Delete(home, recursive: true);
    }
    catch (IOException)
    {
    }
}

Console.WriteLine();
Console.WriteLine($"{function}: daemon over loopback HTTP vs in process (FunctionService, as `snapfn invoke`), {seconds:0} s per cell, {Environment.ProcessorCount} cores");
Console.WriteLine("| mode | conc | daemon inv/s | daemon p50 ms | daemon p99 ms | in-proc inv/s | in-proc p50 ms | in-proc p99 ms | p50 overhead ms | throughput ratio |");
Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
foreach (var group in results.GroupBy(r => (r.Mode, r.Concurrency)))
{
    var d = group.Single(r => r.Path == "daemon");
    var p = group.Single(r => r.Path == "in-process");
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {d.Mode} | {d.Concurrency} | {d.PerSecond:0} | {d.P50Ms:0.000} | {d.P99Ms:0.000} | {p.PerSecond:0} | {p.P50Ms:0.000} | {p.P99Ms:0.000} | {d.P50Ms - p.P50Ms:0.000} | {d.PerSecond / p.PerSecond:0.00} |"));
}
var outFile = Path.Combine(Directory.GetCurrentDirectory(), "bench-results", $"daemon-load-{DateTime.UtcNow:yyyyMMddTHHmmss}.json");
Directory.CreateDirectory(Path.GetDirectoryName(outFile)!);
File.WriteAllText(outFile, JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
Console.WriteLine($"raw results: {outFile}");
return 0;

static void Print(CellResult r) => Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{r.Mode,-8} {r.Path,-10} c={r.Concurrency}: {r.Requests} requests, {r.PerSecond:0} inv/s, p50 {r.P50Ms:0.000} ms, p99 {r.P99Ms:0.000} ms"));

static async Task PostAsync(HttpClient http, string path, byte[] body)
{
    using var content = new ByteArrayContent(body);
    content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
    using var response = await http.PostAsync(path, content);
    if (!response.IsSuccessStatusCode)
        throw new InvalidOperationException($"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    // Read the output as a client would.
    _ = await response.Content.ReadAsByteArrayAsync();
}

static Process StartDaemon(string home, string url)
{
    var info = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardError = true };
    info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "snapfn.dll"));
    foreach (var a in new[] { "serve", "--listen", url })
        info.ArgumentList.Add(a);
    info.Environment["SNAPFN_HOME"] = home;
    info.Environment["SNAPFN_GUEST_DIR"] = Environment.GetEnvironmentVariable("SNAPFN_GUEST_DIR");
    var process = Process.Start(info)!;
    process.ErrorDataReceived += (_, e) =>
    {
        if (e.Data is { } line && (line.Contains("warn", StringComparison.Ordinal) || line.Contains("fail", StringComparison.Ordinal)))
            Console.Error.WriteLine("[daemon] " + line);
    };
    process.BeginErrorReadLine();
    return process;
}

static async Task WaitHealthyAsync(HttpClient http, Process daemon)
{
    for (var i = 0; i < 600; i++)
    {
        if (daemon.HasExited)
            throw new InvalidOperationException($"snapfn serve exited with {daemon.ExitCode}");
        try
        {
            using var response = await http.GetAsync("healthz");
            if (response.IsSuccessStatusCode)
                return;
        }
        catch (HttpRequestException)
        {
        }
        await Task.Delay(100);
    }
    throw new TimeoutException("snapfn serve did not become healthy");
}

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

string Arg(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
