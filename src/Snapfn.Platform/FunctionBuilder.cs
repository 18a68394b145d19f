using System.Diagnostics;
using Snapfn.Vmm;

namespace Snapfn.Platform;

/// <summary>What `snapfn build` produced.</summary>
public sealed record FunctionBuild(string ElfPath, long Bytes, string Sha256, double BuildMs);

/// <summary>
/// Builds a user function folder into a guest ELF through the SDK's Makefile (target user-function), so the
/// compiler flags, runtime objects and link script are the built-in functions' own; then validates the ELF.
/// </summary>
public static class FunctionBuilder
{
    public static FunctionBuild Build(FunctionProject project, GuestSdk sdk)
    {
        ArgumentNullException.ThrowIfNull(project);
        ArgumentNullException.ThrowIfNull(sdk);
        sdk.EnsurePresent();
        // make splits its command line on whitespace and expands '$': such paths would build something else.
        foreach (var path in new[] { project.Directory, project.ElfPath })
        {
            if (path.Any(c => char.IsWhiteSpace(c) || c is '$' or '#' or '\'' or '"' or '\\' or ':'))
                throw new FunctionProjectException($"cannot build in '{path}': make cannot handle spaces or $ # ' \" \\ : in paths; move the folder");
        }
        if (!Directory.EnumerateFiles(project.Directory, "*.c").Any())
            throw new FunctionProjectException($"{project.Directory} has no .c file to build");

        var start = Stopwatch.GetTimestamp();
        var info = new ProcessStartInfo("make")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-s", "-C", sdk.Root, "user-function", $"USER_DIR={project.Directory}", $"USER_ELF={project.ElfPath}" })
            info.ArgumentList.Add(argument);
        using var make = Process.Start(info) ?? throw new FunctionProjectException("could not start make");
        var stdout = make.StandardOutput.ReadToEndAsync();
        var stderr = make.StandardError.ReadToEndAsync();
        make.WaitForExit();
        var output = (stdout.Result + stderr.Result).Trim();
        if (make.ExitCode != 0)
            throw new FunctionProjectException($"building {project.Name} failed (make exited with {make.ExitCode}):\n{output}");

        var bytes = File.ReadAllBytes(project.ElfPath);
        var elf = ElfImage.Parse(bytes, project.ElfPath);
        elf.CheckFits((ulong)project.Manifest.MemoryMib << 20, project.Name);
        return new FunctionBuild(project.ElfPath, bytes.Length, elf.Sha256, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }
}
