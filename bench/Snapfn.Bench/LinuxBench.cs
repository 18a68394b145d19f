using System.Diagnostics;
using System.Globalization;
using System.Text;
using Snapfn.Linux;
using Snapfn.Linux.Files;
using Snapfn.Linux.Roots;
using Snapfn.Platform;
using Snapfn.Vmm;

namespace Snapfn.Bench;

/// <summary>
/// The Linux system-call layer's figures, each against its reference in the same run: a trapped system call
/// against a hypercall (with and without sync regs), Debian's python3 starting in a VM against the same binary
/// on the host, and pure-Python compute in the VM against the host.
/// </summary>
public sealed class LinuxBench
{
    private const int Rounds = 7;
    private readonly FunctionCatalog _catalog;
    private readonly Action<string> _progress;
    private readonly string _root;

    private readonly SnapfnHome _home;

    public LinuxBench(FunctionCatalog catalog, SnapfnHome home, Action<string> progress)
    {
        ArgumentNullException.ThrowIfNull(home);
        _catalog = catalog;
        _home = home;
        _progress = progress;
        _progress("python runtime root (built on first use)");
        _root = new RootBuilder(home.Path).Ensure(Runtimes.Python).RootDirectory;
    }

    public List<MicroResult> Results { get; } = [];

    private string TestsDirectory => Path.Combine(_catalog.GuestDirectory, "linux-tests");

    private string? Vdso => Path.Combine(_catalog.GuestDirectory, "vdso.so") is var path && File.Exists(path) ? path : null;

    public void RunAll()
    {
        SyscallRoundTrip();
        ThreadCosts();
        PythonStartup();
        PythonCompute();
        PythonFunctionBoot();
    }

    /// <summary>py-hello-world booted as a function: VM, python3, the shim's imports and init(), to its first read of fd 3.</summary>
    private void PythonFunctionBoot()
    {
        _progress("py-hello-world: boot to READY");
        var program = GuestPrograms.For(_catalog.Get("py-hello-world"), _home);
        var boot = new List<double>();
        var init = new List<double>();
        long syscalls = 0;
        for (var i = 0; i < Rounds + 2; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var vm = program.Boot(new MicroVmOptions { Timeout = TimeSpan.FromMinutes(1), Name = "py-hello-world" });
            var ready = vm.RunToReady();
            if (i < 2)
                continue; // the first boots compile the layer's code paths
            boot.Add(BootRun.Ms(start, ready.EnteredAt));
            init.Add(BootRun.Ms(ready.EnteredAt, ready.StoppedAt));
            syscalls = ready.Exits;
        }
        Results.Add(new MicroResult("py_hello_world_boot_to_ready", Stats.Median(boot) + Stats.Median(init), "ms",
            string.Create(CultureInfo.InvariantCulture,
                $"medians of {Rounds}, 2 GiB guest: VM and loading {Stats.Median(boot):0.0} ms, python3 + shim + init() to the first read of fd 3 {Stats.Median(init):0.0} ms, {syscalls} VM exits")));
    }

    private void SyscallRoundTrip()
    {
        _progress("system call round trip (getppid) against the hypercall");
        const int n = 20_000;
        var syscall = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var output = RunInVm("/tests/syscall-bench-static", [n.ToString(CultureInfo.InvariantCulture)], out _);
            syscall.Add(Value(output, "syscall_ns_per_call") / 1000);
        }
        var withSync = Hypercall(syncRegisters: true);
        var withoutSync = Hypercall(syncRegisters: false);
        Results.Add(new MicroResult("syscall_round_trip", Stats.Median(syscall), "us",
            string.Create(CultureInfo.InvariantCulture, $"{n:N0} raw getppid() in a static C program, timed inside the guest, median of 3; hypercall in the same run: {withSync:0.0} us with sync regs, {withoutSync:0.0} us without")));
        Results.Add(new MicroResult("hypercall_round_trip_sync_regs", withSync, "us", "LOG hypercalls, KVM storing the registers in the run page at every exit"));
        Results.Add(new MicroResult("hypercall_round_trip_no_sync_regs", withoutSync, "us", "the same, kvm_valid_regs = 0"));
    }

    /// <summary>Issue 24's targets: a thread start and join (≤ 100 µs) and a futex wake-to-run (≤ 50 µs), in the VM
    /// (threads on the VMM's scheduler, one vCPU) against the same static program run natively here.</summary>
    private void ThreadCosts()
    {
        _progress("thread start + join and futex wake-to-run: in a VM against the host");
        const int n = 2_000;
        var arguments = new[] { n.ToString(CultureInfo.InvariantCulture) };
        var vm = Enumerable.Range(0, 3).Select(_ => RunInVm("/tests/thread-bench-static", arguments, out long _)).ToList();
        var host = Enumerable.Range(0, 3).Select(_ => RunNatively(Path.Combine(TestsDirectory, "thread-bench-static"), arguments)).ToList();
        double Median(List<string> outputs, string key) => Stats.Median(outputs.Select(o => Value(o, key) / 1000).ToList());
        foreach (var (name, key, target) in new[] { ("thread_start_join", "thread_start_join_ns", 100), ("futex_wake_to_run", "futex_wake_to_run_ns", 50) })
        {
            Results.Add(new MicroResult(name, Median(vm, key), "us", string.Create(CultureInfo.InvariantCulture,
                $"{n:N0} rounds of guest/linux-tests/thread-bench.c in the VM, median of 3 (target ≤ {target} us); the same program on the host: {Median(host, key):0.0} us")));
        }
    }

    private static string RunNatively(string program, IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} exited with {process.ExitCode} on the host: {error}");
        return output.Trim();
    }

    private double Hypercall(bool syncRegisters)
    {
        const int n = 50_000;
        var options = new MicroVmOptions { Timeout = TimeSpan.FromMinutes(2), SyncRegisters = syncRegisters };
        using var vm = MicroVm.Boot(ElfImage.Load(_catalog.Get("microbench").CodePath), options);
        vm.RunToReady();
        double Request(int count)
        {
            var run = vm.Invoke(Encoding.UTF8.GetBytes($$"""{"op":"hypercall","n":{{count}}}"""));
            return BootRun.Ms(run.EnteredAt, run.StoppedAt);
        }
        Request(1000);
        var calls = Enumerable.Range(0, 3).Select(_ => Request(n)).ToList();
        var empty = Enumerable.Range(0, 3).Select(_ => Request(0)).ToList();
        return (Stats.Median(calls) - Stats.Median(empty)) * 1000 / n;
    }

    private void PythonStartup()
    {
        _progress("python3 -c pass: in a VM against the same binary on the host");
        var vm = new List<double>();
        var host = new List<double>();
        long syscalls = 0;
        for (var i = 0; i < Rounds; i++)
        {
            var start = Stopwatch.GetTimestamp();
            RunInVm("/usr/bin/python3", ["-c", "pass"], out syscalls);
            vm.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            start = Stopwatch.GetTimestamp();
            RunOnHost(["-c", "pass"]);
            host.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        Results.Add(new MicroResult("python_pass_vm_over_host", Stats.Median(vm) / Stats.Median(host), "x",
            string.Create(CultureInfo.InvariantCulture,
                $"medians of {Rounds} alternating runs: VM {Stats.Median(vm):0.0} ms (boot, load, run, {syscalls} system calls{(Vdso is null ? ", no vDSO" : "")}), host {Stats.Median(host):0.0} ms (process start included)")));
        Results.Add(new MicroResult("python_pass_syscalls", syscalls, "calls", "system calls python3 -c pass made in the VM"));
    }

    private void PythonCompute()
    {
        _progress("pure-Python loop: in a VM against the host");
        const string code = "import time\nt=time.perf_counter()\nsum(i*i for i in range(3_000_000))\nprint(time.perf_counter()-t)";
        var vm = new List<double>();
        var host = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            vm.Add(double.Parse(RunInVm("/usr/bin/python3", ["-c", code], out _), CultureInfo.InvariantCulture) * 1000);
            host.Add(double.Parse(RunOnHost(["-c", code]), CultureInfo.InvariantCulture) * 1000);
        }
        Results.Add(new MicroResult("python_compute_vm_over_host", Stats.Median(vm) / Stats.Median(host), "x",
            string.Create(CultureInfo.InvariantCulture, $"sum(i*i for i in range(3_000_000)) timed by time.perf_counter inside each, medians of 5 alternating: VM {Stats.Median(vm):0.0} ms, host {Stats.Median(host):0.0} ms")));
    }

    private string RunInVm(string program, IReadOnlyList<string> arguments, out long syscalls)
    {
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        using var process = LinuxProcess.Start(new ProcessOptions
        {
            RootDirectory = _root,
            Program = program,
            Arguments = [program, .. arguments],
            Mounts = Directory.Exists(TestsDirectory) ? [new RootMount("/tests", TestsDirectory, Writable: false)] : [],
            VdsoPath = Vdso,
            StandardOutput = bytes => stdout.Append(Encoding.UTF8.GetString(bytes)),
            StandardError = bytes => stderr.Append(Encoding.UTF8.GetString(bytes)),
            Vm = new MicroVmOptions { MemorySize = 1UL << 30, Timeout = TimeSpan.FromMinutes(2), Name = "bench" },
        });
        var exit = process.Run();
        syscalls = process.SyscallCount;
        if (exit.ShellStatus != 0)
            throw new InvalidOperationException($"{program} exited with {exit.ShellStatus} in the VM: {stderr}");
        return stdout.ToString().Trim();
    }

    /// <summary>The root's own python3.11 run on the host through the root's own loader: the same binary and libraries.</summary>
    private string RunOnHost(IReadOnlyList<string> arguments)
    {
        var info = new ProcessStartInfo(Path.Combine(_root, "lib64", "ld-linux-x86-64.so.2"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in (string[])["--library-path", $"{_root}/lib/x86_64-linux-gnu:{_root}/usr/lib/x86_64-linux-gnu", $"{_root}/usr/bin/python3.11", .. arguments])
            info.ArgumentList.Add(a);
        info.Environment["PYTHONHOME"] = Path.Combine(_root, "usr");
        info.Environment["PYTHONNOUSERSITE"] = "1";
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"python3.11 on the host exited with {process.ExitCode}: {error}");
        return output.Trim();
    }

    private static double Value(string output, string key)
    {
        foreach (var line in output.Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0] == key)
                return double.Parse(parts[1], CultureInfo.InvariantCulture);
        }
        throw new InvalidOperationException($"no '{key}' in the program's output: {output}");
    }
}
