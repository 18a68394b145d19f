using Snapfn.Fuzz.Targets;

namespace Snapfn.Fuzz;

/// <summary>Every target, by name.</summary>
public static class FuzzTargets
{
    public static IReadOnlyList<string> Names { get; } = ["state-file", "recording", "manifest", "deploy-zip", "syscalls", "http-api", "hypercall", "cluster"];

    /// <summary>A new harness for <paramref name="name"/> (a harness may hold set-up such as a scratch folder; dispose it).</summary>
    public static FuzzTarget Create(string name) => name switch
    {
        "state-file" => new StateFileTarget(),
        "recording" => new RecordingTarget(),
        "manifest" => new ManifestTarget(),
        "deploy-zip" => new DeployZipTarget(),
        "syscalls" => new SyscallTarget(),
        "http-api" => new HttpApiTarget(),
        "hypercall" => new HypercallTarget(),
        "cluster" => new ClusterTarget(),
        _ => throw new ArgumentException($"no fuzz target '{name}'; the targets are: {string.Join(", ", Names)}", nameof(name)),
    };
}
