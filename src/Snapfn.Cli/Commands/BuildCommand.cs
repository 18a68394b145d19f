using System.CommandLine;
using Snapfn.Platform;

namespace Snapfn.Cli.Commands;

/// <summary>`snapfn build`: compile a function folder against the guest SDK into a validated ELF.</summary>
public static class BuildCommand
{
    public static Command Create()
    {
        var directory = new Argument<string>("dir") { Description = "the function folder (made by `snapfn new`)", DefaultValueFactory = _ => "." };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var command = new Command("build", "build a function folder into a guest ELF") { directory, json };
        command.SetAction(parse =>
        {
            var project = FunctionProject.Open(parse.GetValue(directory)!);
            if (ScriptRuntime.Find(project.Manifest.Runtime) is { } language)
            {
                // Nothing to compile ahead: check that every module compiles, with the runtime's own interpreter.
                FunctionPackage.CheckSyntax(project.Directory, SnapfnHome.Default(), language);
                Console.WriteLine($"{project.Manifest.Name} is a {language.Language} function: nothing to build, its modules compile; deploy it with `snapfn deploy {project.Directory}`");
                return 0;
            }
            var build = FunctionBuilder.Build(project, GuestSdk.Default());
            if (parse.GetValue(json))
                OutputWriter.WriteJson(new { function = project.Manifest.Name, elf = build.ElfPath, bytes = build.Bytes, sha256 = build.Sha256, build_ms = build.BuildMs });
            else
                Console.WriteLine($"built {project.Manifest.Name}: {build.ElfPath} ({build.Bytes} bytes, sha256 {build.Sha256[..12]}) in {build.BuildMs:0} ms");
            return 0;
        });
        return command;
    }
}
