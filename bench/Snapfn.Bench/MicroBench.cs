using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Snapfn.Platform;
using Snapfn.Vmm;

namespace Snapfn.Bench;

/// <summary>One measured quantity of the micro-benchmarks, with how it was obtained.</summary>
public sealed record MicroResult(string Name, double Value, string Unit, string Detail);

/// <summary>
/// The VMM's own figures, each measured in one run against its reference: guest compute speed against the same
/// kernel run natively, the hypercall round trip, the first touch of a guest page, boot-to-ready time, restore
/// latency, and cold vanilla against cached against a fresh boot.
/// </summary>
public sealed class MicroBench
{
    private readonly FunctionCatalog _catalog;
    private readonly SnapfnHome _home;
    private readonly Action<string> _progress;
    private static readonly MicroVmOptions _options = new() { Timeout = TimeSpan.FromMinutes(5) };

    public MicroBench(FunctionCatalog catalog, SnapfnHome home, Action<string> progress)
    {
        _catalog = catalog;
        _home = home;
        _progress = progress;
    }

    public List<MicroResult> Results { get; } = [];

    public void RunAll(int restores)
    {
        Compute();
        Hypercalls();
        FirstTouch();
        Boot();
        Restore(restores);
        ColdVersusCached("hello-world", """{"name":"Ada"}""");
        ColdVersusCached("memfill", "");
    }

    private static double Measure(MicroVm vm, string input)
    {
        var run = vm.Invoke(Encoding.UTF8.GetBytes(input));
        return BootRun.Ms(run.EnteredAt, run.StoppedAt);
    }

    private MicroVm Boot(string function)
    {
        var vm = MicroVm.Boot(ElfImage.Load(_catalog.Get(function).CodePath), _options);
        vm.RunToReady();
        return vm;
    }

    /// <summary>The same C kernel, compiled with the same gcc and -O2, in the guest and in a native process.</summary>
    private void Compute()
    {
        _progress("compute: guest against native");
        const long n = 200_000_000;
        var native = CompileNative();
        using var vm = Boot("microbench");
        var guest = new List<double>();
        var host = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            guest.Add(Measure(vm, $$"""{"op":"compute","n":{{n}}}"""));
            host.Add(RunNative(native, n));
        }
        var ratio = Stats.Median(guest) / Stats.Median(host);
        Results.Add(new MicroResult("compute_guest_over_native", ratio, "x",
            string.Create(CultureInfo.InvariantCulture, $"median of 5 alternating runs, {n:N0} iterations: guest {Stats.Median(guest):0.0} ms, native {Stats.Median(host):0.0} ms")));
    }

    private void Hypercalls()
    {
        _progress("hypercall round trip");
        const int n = 100_000;
        using var vm = Boot("microbench");
        Measure(vm, $$"""{"op":"hypercall","n":1000}""");
        var calls = Enumerable.Range(0, 3).Select(_ => Measure(vm, $$"""{"op":"hypercall","n":{{n}}}""")).ToList();
        var empty = Enumerable.Range(0, 3).Select(_ => Measure(vm, """{"op":"hypercall","n":0}""")).ToList();
        var us = (Stats.Median(calls) - Stats.Median(empty)) * 1000 / n;
        Results.Add(new MicroResult("hypercall_round_trip", us, "us", $"{n:N0} LOG hypercalls in one request, median of 3, minus an empty request"));
    }

    private void FirstTouch()
    {
        _progress("first touch of a guest page");
        const int n = 50_000;
        var touched = new List<double>();
        var none = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            using (var vm = Boot("microbench"))
                touched.Add(Measure(vm, $$"""{"op":"touch","n":{{n}}}"""));
            using (var vm = Boot("microbench"))
                none.Add(Measure(vm, """{"op":"touch","n":0}"""));
        }
        var us = (Stats.Median(touched) - Stats.Median(none)) * 1000 / n;
        Results.Add(new MicroResult("first_touch_per_page", us, "us", $"{n:N0} fresh heap pages written once in a new VM, median of 3, minus 0 pages"));
    }

    private void Boot()
    {
        _progress("boot to ready: hello-world");
        var elf = ElfImage.Load(_catalog.Get("hello-world").CodePath);
        var times = new List<double>();
        for (var i = 0; i < 25; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var vm = MicroVm.Boot(elf, _options);
            var ready = vm.RunToReady();
            if (i >= 5)
                times.Add(BootRun.Ms(start, ready.StoppedAt));
        }
        Results.Add(new MicroResult("boot_to_ready_p50", Stats.Median(times), "ms", "hello-world, 2 GiB guest, 20 boots after 5 warm-ups, ELF already parsed"));
        Results.Add(new MicroResult("boot_to_ready_p99", Stats.Percentile(times, 99), "ms", "same runs"));
    }

    private void Restore(int count)
    {
        _progress($"restore latency: {count} restores of a 2 GiB guest");
        var function = _catalog.Get("hello-world");
        var snapshots = new SnapshotService(_home);
        snapshots.Take(function, _options);
        using var invoker = new Invoker(snapshots);
        var input = Encoding.UTF8.GetBytes("""{"name":"Ada"}""");
        var restore = new List<double>();
        for (var i = 0; i < count + 10; i++)
        {
            var result = invoker.Invoke(new InvocationRequest(function, "vanilla", input, Cold: false), _options);
            if (i >= 10)
                restore.Add(result.RestoreMs);
        }
        Results.Add(new MicroResult("restore_p50", Stats.Median(restore), "ms", $"hello-world 2 GiB snapshot, vanilla, file cached, {count} restores after 10 warm-ups (restore_ms: invocation start to first guest instruction)"));
        Results.Add(new MicroResult("restore_p99", Stats.Percentile(restore, 99), "ms", "same runs"));
    }

    /// <summary>Cold vanilla, cached and a fresh boot (ELF load, init, request), alternated, 5 of each.</summary>
    private void ColdVersusCached(string name, string input)
    {
        _progress($"cold vanilla vs cached vs fresh boot: {name}");
        var function = _catalog.Get(name);
        var snapshots = new SnapshotService(_home);
        snapshots.Take(function, _options);
        using var invoker = new Invoker(snapshots);
        var bytes = Encoding.UTF8.GetBytes(input);
        var cold = new List<double>();
        var cached = new List<double>();
        var boot = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            cold.Add(invoker.Invoke(new InvocationRequest(function, "vanilla", bytes, Cold: true), _options).TotalMs);
            cached.Add(invoker.Invoke(new InvocationRequest(function, "cached", bytes, Cold: false), _options).TotalMs);
            boot.Add(BootRun.Run(function, bytes, _options).TotalMs);
        }
        var detail = string.Create(CultureInfo.InvariantCulture,
            $"medians of 5: vanilla cold {Stats.Median(cold):0.00} ms, cached {Stats.Median(cached):0.00} ms, fresh boot {Stats.Median(boot):0.00} ms");
        Results.Add(new MicroResult($"{name}_vanilla_cold_over_cached", Stats.Median(cold) / Stats.Median(cached), "x", detail));
        Results.Add(new MicroResult($"{name}_fresh_boot_over_cached", Stats.Median(boot) / Stats.Median(cached), "x", detail));
    }

    private string CompileNative()
    {
        var source = Path.GetFullPath(Path.Combine(_catalog.GuestDirectory, "..", "..", "bench", "native", "compute.c"));
        var output = Path.Combine(Path.GetTempPath(), $"snapfn-compute-{Environment.ProcessId}");
        Exec("gcc", $"-O2 -o {output} {source}");
        return output;
    }

    private static double RunNative(string program, long n)
    {
        using var document = JsonDocument.Parse(Exec(program, n.ToString(CultureInfo.InvariantCulture)));
        return document.RootElement.GetProperty("ms").GetDouble();
    }

    private static string Exec(string program, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} failed: {error}");
        return output;
    }
}
