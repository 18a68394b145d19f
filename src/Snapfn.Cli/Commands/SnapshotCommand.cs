using System.CommandLine;
using Snapfn.Platform;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn snapshot`: boot a function, run init(), and save the VM as its snapshot.</summary>
public static class SnapshotCommand
{
    public static Command Create()
    {
        var function = new Argument<string>("function") { Description = "the function to snapshot" };
        var memory = new Option<int>("--memory") { Description = "guest memory in MiB", DefaultValueFactory = _ => 2048 };
        var timeout = new Option<double>("--timeout") { Description = "seconds init() may run", DefaultValueFactory = _ => 300 };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var command = new Command("snapshot", "take (or retake) a function's snapshot after its init()") { function, memory, timeout, json };
        command.SetAction(parse =>
        {
            var info = FunctionCatalog.Default().Get(parse.GetValue(function)!);
            var taken = new SnapshotService(SnapfnHome.Default()).Take(info, VmOptions.From(parse.GetValue(memory), parse.GetValue(timeout)));
            if (parse.GetValue(json))
            {
                OutputWriter.WriteJson(new
                {
                    function = info.Name,
                    folder = taken.Info.Folder,
                    state_file = taken.Info.StatePath,
                    memory_file = taken.Info.MemoryPath,
                    apparent_bytes = taken.Info.ApparentBytes,
                    allocated_bytes = taken.Info.AllocatedBytes,
                    data_pages = taken.Info.DataPages,
                    boot_ms = taken.BootMs,
                    init_ms = taken.InitMs,
                    write_ms = taken.WriteMs,
                });
            }
            else
            {
                Console.WriteLine($"snapshot of {info.Name} in {taken.Info.Folder}");
                Console.WriteLine($"  state:  {taken.Info.StatePath}");
                Console.WriteLine($"  memory: {taken.Info.MemoryPath}: {taken.Info.ApparentBytes >> 20} MiB apparent, " +
                                  $"{taken.Info.AllocatedBytes / (1024.0 * 1024):0.0} MiB allocated ({taken.Info.DataPages} data pages)");
                Console.WriteLine($"  boot {taken.BootMs:0.0} ms, init {taken.InitMs:0.0} ms, write {taken.WriteMs:0.0} ms");
            }
            return 0;
        });
        return command;
    }
}
