using Snapfn.Platform;

namespace Snapfn.Cluster.Serving;

/// <summary>
/// The stand-in <see cref="IFunctionReplicas"/> a node uses until the artifact store's implementation is plugged in
/// (<see cref="ClusterNode.StartAsync"/>'s <c>replicas</c> factory): the cluster is what this node has. Publishing does
/// nothing, and a worker asked for a function it lacks says so instead of fetching it.
/// </summary>
public sealed class NodeLocalReplicas(FunctionService service, string worker) : IFunctionReplicas
{
    public Task<IReadOnlyList<ClusterFunction>> ListAsync(CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<ClusterFunction>>(service.List().Where(f => f.Kind == FunctionKind.User).Select(Record).ToList());

    public Task<ClusterFunction?> FindAsync(string name, CancellationToken ct) =>
        Task.FromResult(service.List().FirstOrDefault(f => f.Kind == FunctionKind.User && f.Name == name) is { } f ? Record(f) : null);

    public Task PublishAsync(string name, CancellationToken ct) => Task.CompletedTask;

    public Task<ReplicaFetch> EnsureLocalAsync(string name, CancellationToken ct)
    {
        if (service.List().All(f => f.Name != name))
            throw new UnknownFunctionException($"function '{name}' is not on worker {worker}, and this node has no artifact store to fetch it from: deploy it here, " +
                "or run a build whose cluster fetches artifacts");
        return Task.FromResult(new ReplicaFetch(true, 0, 0, TimeSpan.Zero, false, null));
    }

    private static ClusterFunction Record(RegisteredFunction f) =>
        new(f.Name, 0, Directory.Exists(f.ElfPath) && PythonFunction.IsPythonFolder(f.ElfPath) ? "python" : "native", Retryable: true, f.Snapshot is not null);
}
