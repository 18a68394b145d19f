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
        var snapshot = new Option<bool>("--snapshot") { Description = "take the snapshot right after registering" };
        var server = new ServerOptions();
        var command = new Command("deploy", "build a function folder and register it") { directory, noBuild, snapshot };
        server.AddTo(command);
        command.SetAction(parse =>
        {
            var project = FunctionProject.Open(parse.GetValue(directory)!);
            byte[] elf;
            if (project.Manifest.IsPython)
            {
                // A Python function is sent as a zip of its folder; the platform checks that it compiles.
                elf = PythonPackage.Pack(project.Directory);
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
            using var client = server.Connect(parse);
            FunctionResponse registered;
            SnapshotResponse? taken = null;
            if (client is not null)
            {
                registered = client.Register(project.Name, elf, manifest.MemoryMib, manifest.Description, ElfSettings(manifest));
                if (parse.GetValue(snapshot))
                    taken = client.Snapshot(project.Name, null, 300);
            }
            else
            {
                using var service = LocalPlatform.Open();
                registered = FunctionResponse.From(service.Register(project.Name, elf, manifest.MemoryMib, manifest.Description, settings: ElfSettings(manifest)));
                if (parse.GetValue(snapshot))
                    taken = SnapshotResponse.From(project.Name, service.TakeSnapshot(project.Name, null, TimeSpan.FromSeconds(300)));
            }
            var where = client is null ? "locally" : $"on {client.Server}";
            Console.WriteLine($"deployed {registered.Name} {where}: {registered.MemoryMib} MiB, sha256 {registered.ElfSha256[..12]}");
            if (taken is not null)
                Console.WriteLine($"  snapshot taken: boot {taken.BootMs:0.0} ms, init {taken.InitMs:0.0} ms, write {taken.WriteMs:0.0} ms");
            else
                Console.WriteLine($"next: snapfn snapshot {registered.Name}{(client is null ? "" : " --server " + client.Server)}");
            return 0;
        });
        return command;
    }

    /// <summary>keep_state and max_instances travel with the request for an ELF; a Python function's zip carries its
    /// snapfn.json, which the platform reads them from.</summary>
    private static FunctionSettings? ElfSettings(FunctionManifest manifest) => manifest.IsPython ? null : manifest.Settings;
}
