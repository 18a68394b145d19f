using System.CommandLine;
using Snapfn.Platform;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn new`: a user function folder from a template (C with SDK headers and a build file, Python or Node.js).</summary>
public static class NewCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "the function's name: lower-case letters, digits and inner dashes" };
        var directory = new Option<string?>("--dir") { Description = "the folder to create (default: ./NAME)" };
        var runtime = new Option<string>("--runtime") { Description = "c, python or node", DefaultValueFactory = _ => FunctionManifest.NativeRuntime };
        var command = new Command("new", "create a function folder from the template") { name, directory, runtime };
        command.SetAction(parse =>
        {
            var functionName = parse.GetValue(name)!;
            var project = FunctionProject.Create(parse.GetValue(directory) ?? functionName, functionName, GuestSdk.Default(), parse.GetValue(runtime)!);
            Console.WriteLine($"created {project.Directory}");
            if (ScriptRuntime.Find(project.Manifest.Runtime) is { } language)
            {
                Console.WriteLine(language == ScriptRuntime.Python
                    ? "  main.py      init() and handle(request: bytes) -> bytes"
                    : "  index.js     exports.init() and exports.handle(request: Buffer) -> Buffer");
                Console.WriteLine($"  {FunctionManifest.FileName}  name, runtime and guest memory ({project.Manifest.MemoryMib} MiB)");
                Console.WriteLine($"next: snapfn deploy {project.Directory} && snapfn snapshot {functionName}");
                return 0;
            }
            Console.WriteLine($"  main.c       snapfn_init() and snapfn_handle()");
            Console.WriteLine($"  {FunctionManifest.FileName}  name and guest memory ({project.Manifest.MemoryMib} MiB)");
            Console.WriteLine($"  Makefile     `make` builds through the SDK, like `snapfn build`");
            Console.WriteLine($"  {FunctionProject.SdkCopyFolder}  the SDK headers, to read");
            Console.WriteLine($"next: snapfn build {project.Directory} && snapfn deploy {project.Directory}");
            return 0;
        });
        return command;
    }
}
