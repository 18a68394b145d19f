using System.CommandLine;
using Snapfn.Cli.Remote;
using Snapfn.Daemon.Contracts;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn snapshot`: boot a function, run init(), and save the VM as its snapshot (locally or on a daemon).</summary>
public static class SnapshotCommand
{
    public static Command Create()
    {
        var function = new Argument<string>("function") { Description = "the function to snapshot" };
        var memory = new Option<int?>("--memory") { Description = "guest memory in MiB (default: the function's registered size; 2048 for built-ins)" };
        var timeout = new Option<double>("--timeout") { Description = "seconds init() may run", DefaultValueFactory = _ => 300 };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var server = new ServerOptions();
        var command = new Command("snapshot", "take (or retake) a function's snapshot after its init()") { function, memory, timeout, json };
        server.AddTo(command);
        command.SetAction(parse =>
        {
            var name = parse.GetValue(function)!;
            var seconds = parse.GetValue(timeout);
            if (!(seconds > 0))
                throw new UsageException($"--timeout must be a positive number of seconds (got {seconds})");
            SnapshotResponse taken;
            using (var client = server.Connect(parse))
            {
                if (client is not null)
                {
                    taken = client.Snapshot(name, parse.GetValue(memory), seconds);
                }
                else
                {
                    using var service = LocalPlatform.Open();
                    taken = SnapshotResponse.From(name, service.TakeSnapshot(name, parse.GetValue(memory), TimeSpan.FromSeconds(seconds)));
                }
            }
            if (parse.GetValue(json))
            {
                OutputWriter.WriteJson(new
                {
                    function = taken.Function,
                    folder = taken.Folder,
                    state_file = taken.StateFile,
                    memory_file = taken.MemoryFile,
                    apparent_bytes = taken.ApparentBytes,
                    allocated_bytes = taken.AllocatedBytes,
                    data_pages = taken.DataPages,
                    boot_ms = taken.BootMs,
                    init_ms = taken.InitMs,
                    write_ms = taken.WriteMs,
                });
            }
            else
            {
                Console.WriteLine($"snapshot of {taken.Function} in {taken.Folder}");
                Console.WriteLine($"  state:  {taken.StateFile}");
                Console.WriteLine($"  memory: {taken.MemoryFile}: {taken.ApparentBytes >> 20} MiB apparent, " +
                                  $"{taken.AllocatedBytes / (1024.0 * 1024):0.0} MiB allocated ({taken.DataPages} data pages)");
                Console.WriteLine($"  boot {taken.BootMs:0.0} ms, init {taken.InitMs:0.0} ms, write {taken.WriteMs:0.0} ms");
            }
            return 0;
        });
        return command;
    }
}
