using System.CommandLine;
using Snapfn.Cli.Remote;
using Snapfn.Daemon.Contracts;
using Snapfn.Platform;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn deploy`: build a function folder (or pack a Python one) and register it, on a daemon or in the
/// local registry.</summary>
public static class DeployCommand
{
    public static Command Create()
    {
        var directory = new Argument<string>("dir") { Description = "the function folder (made by `snapfn new`)", DefaultValueFactory = _ => "." };
        var noBuild = new Option<bool>("--no-build") { Description = "register the ELF already built instead of building first" };
        // Deploy takes the snapshot (issue 21); --snapshot stays accepted for scripts written before that.
        var snapshot = new Option<bool>("--snapshot") { Description = "take the snapshot right after registering (the default)", Hidden = true };
        var noSnapshot = new Option<bool>("--no-snapshot") { Description = "register only: take the snapshot later with `snapfn snapshot`" };
        var server = new ServerOptions();
        var command = new Command("deploy", "build a function folder, register it and take its snapshot") { directory, noBuild, snapshot, noSnapshot };
        server.AddTo(command);
        command.SetAction(parse =>
        {
            var project = FunctionProject.Open(parse.GetValue(directory)!);
            byte[] elf;
            if (project.Manifest.IsScript)
            {
                // A script function is sent as a zip of its folder; the platform checks that it compiles.
                elf = FunctionPackage.Pack(project.Directory);
            }
            else
            {
                if (!parse.GetValue(noBuild))
                    FunctionBuilder.Build(project, GuestSdk.Default());
                else if (!File.Exists(project.ElfPath))
                    throw new UsageException($"{project.ElfPath} does not exist: build it with `snapfn build {project.Directory}` or drop --no-build");
                elf = File.ReadAllBytes(project.ElfPath);
            }
            var manifest = project.Manifest;
            var takeSnapshot = !parse.GetValue(noSnapshot);
            if (takeSnapshot is false && parse.GetValue(snapshot))
                throw new UsageException("--snapshot and --no-snapshot contradict each other: give one");
            using var client = server.Connect(parse);
            FunctionResponse registered;
            string? snapshotError = null;
            if (client is not null)
            {
                registered = client.Register(project.Name, elf, manifest.MemoryMib, manifest.Description, takeSnapshot, ElfSettings(manifest));
                snapshotError = registered.SnapshotError?.Detail;
            }
            else
            {
                using var service = LocalPlatform.Open();
                var stored = service.Register(project.Name, elf, manifest.MemoryMib, manifest.Description, settings: ElfSettings(manifest));
                if (takeSnapshot && DeploySnapshot.Take(service, project.Name, DeploySnapshot.Timeout).Failure is { } failure)
                    snapshotError = CliErrors.Describe(failure);
                registered = FunctionResponse.From(takeSnapshot ? service.Get(stored.Name) : stored);
            }
            var where = client is null ? "locally" : $"on {client.Server}";
            Console.WriteLine($"deployed {registered.Name} {where}: {registered.MemoryMib} MiB, sha256 {registered.ElfSha256[..12]}");
            var suffix = client is null ? "" : " --server " + client.Server;
            if (registered.Snapshot is { } taken && takeSnapshot && snapshotError is null)
                Console.WriteLine($"  snapshot taken: {taken.DataPages} data pages ({taken.AllocatedBytes >> 20} MiB on disk)");
            else if (snapshotError is not null)
                // The function is stored: a deploy stands without its snapshot, and says how to take it later.
                Console.Error.WriteLine($"snapfn: warning: {snapshotError}");
            else
                Console.WriteLine($"next: snapfn snapshot {registered.Name}{suffix}");
            return 0;
        });
        return command;
    }

    /// <summary>keep_state and max_instances travel with the request for an ELF; a Python function's zip carries its
    /// snapfn.json, which the platform reads them from.</summary>
    private static FunctionSettings? ElfSettings(FunctionManifest manifest) => manifest.IsScript ? null : manifest.Settings;
}
