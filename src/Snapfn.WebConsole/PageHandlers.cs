using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Snapfn.WebConsole.Pages;

namespace Snapfn.WebConsole;

/// <summary>The Functions, Deploy, Invoke and Metrics pages: each reads or acts through the daemon's API.</summary>
internal static class PageHandlers
{
    private static readonly byte[] _elfMagic = [0x7f, (byte)'E', (byte)'L', (byte)'F'];
    private static readonly byte[] _zipMagic = [(byte)'P', (byte)'K', 3, 4];
    private const string PythonManifestTemplate = "{\"runtime\": \"python\"}";

    public static async Task<IResult> Functions(HttpContext http, DaemonApi api, ConsoleOptions options)
    {
        var functions = await api.GetAsync("functions", http.RequestAborted);
        var log = await api.GetAsync($"invocations?limit={options.InvocationLogWindow}", http.RequestAborted);
        var invocations = LoggedInvocation.Parse(log.Json);
        return ConsoleEndpoints.Page<FunctionsPage>(new
        {
            Tokens = ConsoleEndpoints.Tokens(http),
            Rows = FunctionRow.Parse(functions.Json, invocations),
            Problem = functions.Problem ?? log.Problem,
            LogWindow = invocations.Count,
            Now = DateTimeOffset.UtcNow,
        });
    }

    public static IResult DeployForm(HttpContext http, string? name) =>
        ConsoleEndpoints.Page<DeployPage>(new { Tokens = ConsoleEndpoints.Tokens(http), Name = name ?? "", Manifest = PythonManifestTemplate });

    /// <summary>Packs what the browser sent as the CLI's `deploy` does (a zip of the function's folder; an ELF as it
    /// is), sends it to POST /functions, then takes the snapshot when asked; each step is shown with its outcome.</summary>
    public static async Task<IResult> Deploy(HttpContext http, DaemonApi api, ILoggerFactory loggers, IFormFileCollection files,
        [FromForm] string? name, [FromForm] string? manifest, [FromForm(Name = "memory_mib")] string? memoryMib,
        [FromForm] string? snapshot)
    {
        name = (name ?? "").Trim();
        var steps = new List<DeployStep>();
        ApiProblem? problem = null;
        JsonElement? registered = null;
        var (body, contentType, packing) = Pack(files, manifest);
        if (name.Length == 0)
            packing = "give the function a name (lower-case letters, digits and dashes)";
        if (body is null || name.Length == 0)
        {
            problem = new ApiProblem(400, "bad-request", "Bad Request", packing);
        }
        else
        {
            steps.Add(new DeployStep("pack", packing, true));
            var query = $"functions?name={Uri.EscapeDataString(name)}" +
                (int.TryParse(memoryMib, NumberStyles.None, CultureInfo.InvariantCulture, out var mib) ? $"&memory_mib={mib}" : "");
            var answer = await api.PostAsync(query, body, contentType, http.RequestAborted);
            if (answer.Problem is { } p)
            {
                problem = p;
                steps.Add(new DeployStep("check and register", p.AsCliWouldSay, false));
            }
            else
            {
                registered = answer.Json;
                steps.Add(new DeployStep("check and register", $"registered '{name}' ({Show.Ms(answer.WallMs)}): " +
                    (contentType == "application/zip" ? "its files and snapfn.json are valid, its modules compile and its packages are installed" : "the ELF is a valid Snapfn guest"), true));
                if (snapshot is "on" or "true")
                {
                    var taken = await api.PostAsync($"functions/{Uri.EscapeDataString(name)}/snapshot", [], "application/octet-stream", http.RequestAborted);
                    problem = taken.Problem;
                    steps.Add(new DeployStep("snapshot", taken.Problem?.AsCliWouldSay ?? $"snapshot taken after init() ({Show.Ms(taken.WallMs)})", taken.Ok));
                }
            }
        }
        var logger = loggers.CreateLogger("Snapfn.WebConsole");
        if (logger.IsEnabled(LogLevel.Information))
            ConsoleLog.Deployed(logger, name, problem?.AsCliWouldSay ?? "registered");
        return ConsoleEndpoints.Page<DeployPage>(new
        {
            Tokens = ConsoleEndpoints.Tokens(http), Name = name, Manifest = manifest ?? PythonManifestTemplate, Steps = steps,
            Problem = problem, Registered = registered,
        }, problem is null ? StatusCodes.Status200OK : (problem.Status is >= 400 and < 600 ? problem.Status : StatusCodes.Status502BadGateway));
    }

    /// <summary>The body POST /functions takes: one ELF as it is; one zip as it is (its snapfn.json replaced by the
    /// form's, when given); otherwise a zip of the files (a folder's common top directory dropped) with the form's
    /// snapfn.json. The daemon checks the package (paths, sizes, the manifest, syntax); this only packs it.</summary>
    internal static (byte[]? Body, string ContentType, string Said) Pack(IFormFileCollection files, string? manifest)
    {
        manifest = string.IsNullOrWhiteSpace(manifest) ? null : manifest;
        var uploads = files.Where(f => f.Length > 0 || f.FileName.Length > 0).ToList();
        if (uploads.Count == 0)
            return (null, "", "choose the function's files (main.py and its modules) or a zip of its folder");
        if (uploads.Count == 1)
        {
            var only = Read(uploads[0]);
            if (only.AsSpan().StartsWith(_elfMagic))
                return (only, "application/octet-stream", $"sent the ELF {uploads[0].FileName} ({Show.Bytes(only.Length)}) as it is");
            if (only.AsSpan().StartsWith(_zipMagic))
                return manifest is null
                    ? (only, "application/zip", $"sent the zip {uploads[0].FileName} ({Show.Bytes(only.Length)}) as it is")
                    : (WithManifest(only, manifest), "application/zip", $"sent the zip {uploads[0].FileName} with the snapfn.json written here");
        }
        var named = uploads.Select(f => (Name: f.FileName.Replace('\\', '/').TrimStart('/'), File: f)).ToList();
        // A folder chosen in the browser names its files "folder/main.py": the package holds the folder's contents.
        var tops = named.Select(n => n.Name.Split('/')[0]).Distinct(StringComparer.Ordinal).ToList();
        if (tops.Count == 1 && named.All(n => n.Name.Contains('/', StringComparison.Ordinal)))
            named = named.Select(n => (n.Name[(tops[0].Length + 1)..], n.File)).ToList();
        if (manifest is null && !named.Any(n => n.Name == "snapfn.json"))
            return (null, "", "a Python function needs its snapfn.json: write it in the box (at least {\"runtime\": \"python\"}) or add the file");
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (entryName, file) in named)
            {
                if (manifest is not null && entryName == "snapfn.json")
                    continue;
                using var entry = zip.CreateEntry(entryName, CompressionLevel.Fastest).Open();
                file.CopyTo(entry);
            }
            if (manifest is not null)
            {
                using var entry = zip.CreateEntry("snapfn.json").Open();
                entry.Write(Encoding.UTF8.GetBytes(manifest));
            }
        }
        var count = named.Count + (manifest is not null && !named.Any(n => n.Name == "snapfn.json") ? 1 : 0);
        return (buffer.ToArray(), "application/zip", $"packed {count} files into a zip of {Show.Bytes(buffer.Length)}");
    }

    private static byte[] WithManifest(byte[] zipBytes, string manifest)
    {
        using var output = new MemoryStream();
        using (var source = new ZipArchive(new MemoryStream(zipBytes), ZipArchiveMode.Read))
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var e in source.Entries.Where(e => e.FullName != "snapfn.json"))
            {
                using var from = e.Open();
                using var to = zip.CreateEntry(e.FullName, CompressionLevel.Fastest).Open();
                from.CopyTo(to);
            }
            using var m = zip.CreateEntry("snapfn.json").Open();
            m.Write(Encoding.UTF8.GetBytes(manifest));
        }
        return output.ToArray();
    }

    private static byte[] Read(IFormFile file)
    {
        using var stream = new MemoryStream();
        file.CopyTo(stream);
        return stream.ToArray();
    }

    public static async Task<IResult> InvokeForm(HttpContext http, DaemonApi api, ConsoleAccess access, string? function)
    {
        var functions = await api.GetAsync("functions", http.RequestAborted);
        return ConsoleEndpoints.Page<InvokePage>(new
        {
            Tokens = ConsoleEndpoints.Tokens(http), Functions = Names(functions.Json), Modes = access.Modes,
            Form = new InvokeForm(function ?? "", "", "{\"name\": \"Ada\"}", 1, false, true),
        });
    }

    /// <summary>Runs the request N times through POST /functions/{name}/invoke, one after the other, and shows the
    /// last answer, each run's time split and the latencies.</summary>
    public static async Task<IResult> Invoke(HttpContext http, DaemonApi api, ConsoleAccess access, ConsoleOptions options,
        [FromForm] string? function, [FromForm] string? mode, [FromForm] string? body, [FromForm] string? runs,
        [FromForm] string? cold, [FromForm] string? json)
    {
        var form = new InvokeForm((function ?? "").Trim(), (mode ?? "").Trim(), body ?? "",
            int.TryParse(runs, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 1, cold is "on" or "true", json is "on" or "true");
        var functions = await api.GetAsync("functions", http.RequestAborted);
        var results = new List<InvokeRun>();
        ApiProblem? problem = null;
        if (form.Function.Length == 0)
            problem = new ApiProblem(400, "bad-request", "Bad Request", "choose a function to invoke");
        else if (form.Runs < 1 || form.Runs > options.MaxInvokeRuns)
            problem = new ApiProblem(400, "bad-request", "Bad Request",
                $"runs must be 1 to {options.MaxInvokeRuns} (the console's limit; ConsoleOptions.MaxInvokeRuns, `snapfn serve --console-max-runs N`)");
        else if (form.Mode.Length > 0 && !access.Modes.Contains(form.Mode))
            problem = new ApiProblem(400, "bad-request", "Bad Request", $"mode must be one of {string.Join(", ", access.Modes)} or left to the daemon");
        else
        {
            var input = Encoding.UTF8.GetBytes(form.Body);
            var path = $"functions/{Uri.EscapeDataString(form.Function)}/invoke?" +
                (form.Mode.Length > 0 ? $"mode={Uri.EscapeDataString(form.Mode)}&" : "") + (form.Cold ? "cold=true" : "");
            for (var i = 0; i < form.Runs && problem is null; i++)
            {
                var answer = await api.PostAsync(path.TrimEnd('?', '&'), input, form.Json ? "application/json" : "application/octet-stream", http.RequestAborted);
                if (answer.Problem is { } p)
                    problem = p;
                else
                    results.Add(InvokeRun.From(i + 1, answer));
            }
        }
        return ConsoleEndpoints.Page<InvokePage>(new
        {
            Tokens = ConsoleEndpoints.Tokens(http), Functions = Names(functions.Json), Modes = access.Modes, Form = form,
            Runs = results, Problem = problem,
        });
    }

    public static async Task<IResult> Metrics(HttpContext http, DaemonApi api, ConsoleOptions options, string? function)
    {
        var log = await api.GetAsync($"invocations?limit={options.InvocationLogWindow}", http.RequestAborted);
        var all = LoggedInvocation.Parse(log.Json);
        var now = DateTimeOffset.UtcNow;
        var hour = all.Where(i => i.StartedAt >= now.AddHours(-1)).ToList();
        return ConsoleEndpoints.Page<MetricsPage>(new
        {
            Tokens = ConsoleEndpoints.Tokens(http), Invocations = hour, Function = function ?? "", Now = now, Problem = log.Problem,
            // The window is the log's newest entries: when all of them fall in the hour, older ones of the hour are not seen.
            Truncated = all.Count >= options.InvocationLogWindow && all.Count == hour.Count,
        });
    }

    private static List<string> Names(JsonElement? functions) =>
        functions is { ValueKind: JsonValueKind.Array } a
            ? a.EnumerateArray().Select(f => f.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "").Where(n => n.Length > 0).ToList()
            : [];
}

/// <summary>One step of a deploy as the Deploy page lists it.</summary>
public sealed record DeployStep(string Name, string Said, bool Ok);

/// <summary>What the Invoke page's form holds.</summary>
public sealed record InvokeForm(string Function, string Mode, string Body, int Runs, bool Cold, bool Json);
