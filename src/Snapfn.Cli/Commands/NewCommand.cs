using System.CommandLine;
using Snapfn.Platform;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn new`: a user function folder from the template (C, SDK headers, a build file).</summary>
public static class NewCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "the function's name: lower-case letters, digits and inner dashes" };
        var directory = new Option<string?>("--dir") { Description = "the folder to create (default: ./NAME)" };
        var command = new Command("new", "create a function folder from the template") { name, directory };
        command.SetAction(parse =>
        {
            var functionName = parse.GetValue(name)!;
            var project = FunctionProject.Create(parse.GetValue(directory) ?? functionName, functionName, GuestSdk.Default());
            Console.WriteLine($"created {project.Directory}");
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
