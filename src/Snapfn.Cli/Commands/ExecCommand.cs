using System.CommandLine;
using Snapfn.Linux;
using Snapfn.Platform;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn exec -- PROGRAM ARGS...`: run an unmodified Linux program in a micro-VM, its system calls
/// served by the VMM, its files from a read-only runtime root; exits with the program's status.</summary>
public static class ExecCommand
{
    public static Command Create()
    {
        var runtime = new Option<string?>("--runtime") { Description = "the runtime root to run in (default: python; see `snapfn runtimes`)" };
        var root = new Option<string?>("--root") { Description = "a directory to use as the read-only root instead of a runtime" };
        var packages = new Option<string?>("--packages") { Description = "comma-separated Debian packages to add to the runtime's root (e.g. python3-numpy)" };
        var memory = new Option<int>("--memory") { Description = "guest memory in MiB", DefaultValueFactory = _ => 1024 };
        var timeout = new Option<double>("--timeout") { Description = "seconds the program may run", DefaultValueFactory = _ => 300 };
        var strace = new Option<bool>("--strace") { Description = "print every system call, its arguments and result to stderr" };
        var program = new Argument<string[]>("program") { Description = "the program's path inside the root, then its arguments", Arity = ArgumentArity.OneOrMore };
        var command = new Command("exec", "run a Linux program (e.g. /usr/bin/python3) in a micro-VM") { runtime, root, packages, memory, timeout, strace, program };
        command.SetAction(parse =>
        {
            var argv = parse.GetValue(program)!;
            if (!argv[0].StartsWith('/'))
                throw new UsageException($"the program must be an absolute path inside the root, e.g. /usr/bin/python3 (got '{argv[0]}')");
            var extra = parse.GetValue(packages)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
            var (rootDirectory, interrupted) = RuntimeRoots.Resolve(parse.GetValue(runtime), parse.GetValue(root), extra);
            if (interrupted is { } code)
                return code;
            var vm = VmOptions.From(parse.GetValue(memory), parse.GetValue(timeout)) with { Name = "exec", Log = null };
            using var stdout = Console.OpenStandardOutput();
            using var stderr = Console.OpenStandardError();
            using var stdin = Console.OpenStandardInput();
            var options = new ProcessOptions
            {
                RootDirectory = rootDirectory,
                Program = argv[0],
                Arguments = argv,
                Environment = (ScriptRuntime.Find(parse.GetValue(runtime)) ?? ScriptRuntime.Python).Environment,
                VdsoPath = Path.Combine(FunctionCatalog.Default().GuestDirectory, "vdso.so") is var vdso && File.Exists(vdso) ? vdso : null,
                StandardInput = stdin,
                StandardOutput = bytes => stdout.Write(bytes),
                StandardError = bytes => stderr.Write(bytes),
                Strace = parse.GetValue(strace) ? Console.Error : null,
                Warning = line => Console.Error.WriteLine(line),
                Vm = vm,
            };
            using var process = LinuxProcess.Start(options);
            var exit = process.Run();
            stdout.Flush();
            if (exit.Note is { } note)
                Console.Error.WriteLine($"snapfn: {note}");
            else if (exit.Signal is { } signal)
                Console.Error.WriteLine($"snapfn: the program was stopped by signal {signal}");
            return exit.ShellStatus;
        });
        return command;
    }
}
